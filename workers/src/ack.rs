//! `revoke case ack`: a person's confirmation of a manual step (placeholder while it is written).

use revoke_shared::config::Config;

/// Arguments of `revoke case ack`.
#[derive(clap::Args, Debug)]
pub struct AckArgs {}

/// An ack failure; `is_usage` means bad arguments or config (exit 2), else the job failed.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct AckError {
    msg: String,
    usage: bool,
}

impl AckError {
    pub fn is_usage(&self) -> bool {
        self.usage
    }
}

pub async fn run(_cfg: &Config, _args: &AckArgs, _emit: fn(&str)) -> Result<(), AckError> {
    Err(AckError {
        msg: "revoke case ack is not built yet".into(),
        usage: false,
    })
}

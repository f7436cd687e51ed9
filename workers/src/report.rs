//! `revoke report`: the audit report (placeholder while it is written in this work).

use revoke_shared::config::Config;

/// Arguments of `revoke report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {}

/// A report failure; `is_usage` means bad arguments or config (exit 2), else the job failed.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct ReportError {
    msg: String,
    usage: bool,
}

impl ReportError {
    pub fn is_usage(&self) -> bool {
        self.usage
    }
}

pub fn run(_cfg: &Config, _args: &ReportArgs, _emit: fn(&str)) -> Result<(), ReportError> {
    Err(ReportError {
        msg: "revoke report is not built yet".into(),
        usage: false,
    })
}

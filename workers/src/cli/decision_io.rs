//! What `revoke case ack --step` and `revoke review` share: reading the cases topic to decide
//! against what a person was shown, signing their record with their key, and publishing it on
//! the confirmations topic keyed by the case's identity.

use crate::cases::{read_case_log, CaseLog};
use crate::cli::error::CommandError;
use crate::cli::person_key::PersonKeyArgs;
use revoke_shared::config::Config;
use std::time::Duration;

/// The cases topic as the command sees it now.
pub async fn read_cases(cfg: &Config) -> Result<CaseLog, CommandError> {
    let reader_cfg = cfg.clone();
    tokio::task::spawn_blocking(move || read_case_log(&reader_cfg))
        .await
        .map_err(|e| CommandError::job(anyhow::anyhow!("reading the cases topic: {e}")))?
        .map_err(|e| {
            CommandError::job(anyhow::anyhow!(
                "reading {}: {e} (check --brokers and that `revoke topics create` ran)",
                cfg.topics.cases
            ))
        })
}

/// `record` as JSON, signed with `by`'s key when one is given (`--key-file` or the env).
pub fn signed<T: serde::Serialize>(
    record: &T,
    by: &str,
    key: &PersonKeyArgs,
    cfg: &Config,
) -> Result<serde_json::Value, CommandError> {
    let value = match key.signer(by, cfg)? {
        Some(signer) => signer.sign(record),
        None => serde_json::to_value(record),
    };
    value.map_err(|e| CommandError::job(anyhow::anyhow!("encoding the record: {e}")))
}

/// Publishes `record` (`what`, for the error) on the confirmations topic keyed by `identity`.
pub async fn publish(
    cfg: &Config,
    identity: &str,
    record: &serde_json::Value,
    what: &str,
) -> Result<(), CommandError> {
    let producer = revoke_shared::kafka::Producer::with_timeout(cfg, Duration::from_secs(30))
        .map_err(|e| CommandError::usage(anyhow::anyhow!(e.to_string())))?;
    let bytes = serde_json::to_vec(record)
        .map_err(|e| CommandError::job(anyhow::anyhow!("encoding the {what}: {e}")))?;
    producer
        .send_bytes(&cfg.topics.confirmations, identity, &bytes, &[], None)
        .await
        .map_err(|e| {
            CommandError::job(anyhow::anyhow!(
                "publishing the {what}: {e}; nothing was recorded, run the command again"
            ))
        })?;
    Ok(())
}

/// A free-text argument (`--by`, `--note`): trimmed, not empty, at most `max` bytes, no control
/// characters (exit 2 otherwise).
pub fn free_text(flag: &str, v: &str, max: usize) -> Result<String, CommandError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(CommandError::usage(anyhow::anyhow!("--{flag} is empty")));
    }
    if v.len() > max {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--{flag} is {} bytes, over {max}",
            v.len()
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--{flag} contains control characters (newlines included)"
        )));
    }
    Ok(v.to_string())
}

//! `[escalations]`: delivery of `revoke.escalations` to a webhook, and its checks.

use super::ConfigError;
use serde::{Deserialize, Serialize};

/// Delivery of `revoke.escalations` to a webhook (`revoke webhook`). Every delivery is retried
/// until the receiver answers 2xx: an escalation is never dropped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationsConfig {
    /// `http://` or `https://` URL each escalation is POSTed to as JSON. Required by
    /// `revoke webhook`; unused by every other command.
    pub webhook_url: Option<String>,
    /// Per attempt: connect, send and read the answer within this time, else it is a failed
    /// attempt (retried).
    pub webhook_timeout_ms: u64,
    /// Delay after the first failed attempt; doubles per attempt up to `webhook_max_backoff_ms`,
    /// with jitter (each delay is between half and all of the capped exponential).
    pub webhook_initial_backoff_ms: u64,
    pub webhook_max_backoff_ms: u64,
    /// After this many failed attempts of one escalation: one error log line, the delivery
    /// counts as stuck (`revoke_webhook_stuck`) and `/healthz` answers 503 until it is
    /// delivered. Retrying goes on.
    pub webhook_alert_after: u32,
    /// POSTs in flight at once (the others wait), so a burst does not flood the receiver.
    pub webhook_max_concurrent: usize,
    /// Environment variable holding a bearer token (`Authorization: Bearer …`).
    pub webhook_token_env: Option<String>,
    /// File holding the bearer token (trailing newline trimmed). At most one of the two.
    pub webhook_token_file: Option<String>,
    /// Environment variable holding an HMAC key: each request then carries
    /// `X-Revoke-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    pub webhook_signing_secret_env: Option<String>,
    /// File holding the HMAC key. At most one of the two.
    pub webhook_signing_secret_file: Option<String>,
}

impl Default for EscalationsConfig {
    fn default() -> Self {
        EscalationsConfig {
            webhook_url: None,
            webhook_timeout_ms: 5_000,
            webhook_initial_backoff_ms: 500,
            webhook_max_backoff_ms: 60_000,
            webhook_alert_after: 5,
            webhook_max_concurrent: 8,
            webhook_token_env: None,
            webhook_token_file: None,
            webhook_signing_secret_env: None,
            webhook_signing_secret_file: None,
        }
    }
}

impl EscalationsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |why: &str| Err(ConfigError::Invalid(format!("escalations.{why}")));
        if let Some(url) = &self.webhook_url {
            let lower = url.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
                // The URL itself is not repeated: it may carry a credential.
                return bad("webhook_url must be an http:// or https:// URL with a host");
            }
        }
        if self.webhook_timeout_ms == 0 {
            return bad("webhook_timeout_ms must be at least 1");
        }
        if self.webhook_initial_backoff_ms == 0 {
            return bad("webhook_initial_backoff_ms must be at least 1");
        }
        if self.webhook_max_backoff_ms < self.webhook_initial_backoff_ms {
            return bad("webhook_max_backoff_ms must be at least webhook_initial_backoff_ms");
        }
        if self.webhook_alert_after == 0 {
            return bad("webhook_alert_after must be at least 1");
        }
        if self.webhook_max_concurrent == 0 {
            return bad("webhook_max_concurrent must be at least 1");
        }
        if self.webhook_token_env.is_some() && self.webhook_token_file.is_some() {
            return bad("set webhook_token_env or webhook_token_file, not both");
        }
        if self.webhook_signing_secret_env.is_some() && self.webhook_signing_secret_file.is_some() {
            return bad("set webhook_signing_secret_env or webhook_signing_secret_file, not both");
        }
        Ok(())
    }
}

//! `[signals]`: the Shared Signals transmitter (`revoke signals`): its issuer, the keys SETs are
//! signed with, and the receiver streams, with the checks each must pass. Data only: reading the
//! keys and delivering lives in `revoke::signals`.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The event types a receiver can subscribe to, by their short names.
pub const SIGNAL_EVENTS: [&str; 3] = ["session-revoked", "credential-change", "account-disabled"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalsConfig {
    /// The transmitter's issuer: the `iss` of every SET and the base of its metadata
    /// (`<issuer>/.well-known/ssf-configuration`, the JWKS, poll and verification endpoints),
    /// so the URL at which receivers reach this process's metrics listener. Required by
    /// `revoke signals`.
    pub issuer: Option<String>,
    /// Signing keys: the first signs, all are published in the JWKS (rotation: add the new key
    /// first, keep the old one listed until receivers have fetched the JWKS again).
    pub keys: Vec<SignalKeyConfig>,
    /// One stream per receiver, by name (`[signals.receivers.<name>]`).
    pub receivers: BTreeMap<String, ReceiverConfig>,
    /// Per push attempt: connect, send and read the answer within this time.
    pub timeout_ms: u64,
    /// Delay after the first failed push; doubles up to `max_backoff_ms`, with jitter.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// After this many failed pushes of one SET: an error log line, `revoke_signals_stuck`
    /// and `/healthz` 503 until it is delivered. Retrying goes on.
    pub alert_after: u32,
    /// Pushes in flight at once, over all receivers.
    pub max_concurrent: usize,
    /// How many delivered SETs (receiver, jti) the process remembers, so a newer version of a
    /// case does not send them again.
    pub remembered: usize,
}

impl Default for SignalsConfig {
    fn default() -> Self {
        SignalsConfig {
            issuer: None,
            keys: Vec::new(),
            receivers: BTreeMap::new(),
            timeout_ms: 5_000,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            alert_after: 5,
            max_concurrent: 8,
            remembered: 100_000,
        }
    }
}

/// One signing key: its key id, algorithm, and where its PKCS#8 PEM private key lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalKeyConfig {
    pub kid: String,
    /// `ES256` (P-256) or `EdDSA` (Ed25519).
    pub alg: String,
    pub private_key_env: Option<String>,
    pub private_key_file: Option<String>,
}

/// One receiver stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// `push` (RFC 8935: we POST to `endpoint_url`) or `poll` (RFC 8936: it polls us).
    pub delivery: String,
    /// Push: the receiver's SET endpoint.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// The bearer token of this stream: sent with each push, and required from the receiver on
    /// the poll and verification endpoints. Required for `poll`.
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<String>,
    /// The `aud` of its SETs.
    pub aud: String,
    /// Subject identifier format (RFC 9493): `email`, `iss_sub` or `opaque`.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// `iss_sub`: the `iss` of the subject (the identity provider whose `sub` the receiver knows).
    #[serde(default)]
    pub subject_iss: Option<String>,
    /// `iss_sub` and `opaque`: which identity field is the `sub` / `id`: `employee_id`,
    /// `username` or `email`.
    #[serde(default = "default_subject_from")]
    pub subject_from: String,
    /// Event types it subscribes to (short names); all three when absent.
    #[serde(default = "default_events")]
    pub events: Vec<String>,
    /// Send `credential-change` for credentials CAEP's `credential_type` list has no value for
    /// (access keys, SSH keys, API tokens, client secrets) with this project's extension values
    /// — only for receivers that agreed to them.
    #[serde(default)]
    pub extension_credential_types: bool,
    /// Who runs the receiver: told when it does not accept within `sla_secs`.
    pub owner: ReceiverOwner,
    /// Seconds from the first delivery attempt of a case's SETs until they count as overdue.
    #[serde(default = "default_sla")]
    pub sla_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverOwner {
    pub name: String,
    pub contact: String,
}

fn default_subject() -> String {
    "email".into()
}
fn default_subject_from() -> String {
    "employee_id".into()
}
fn default_events() -> Vec<String> {
    SIGNAL_EVENTS.iter().map(|s| s.to_string()).collect()
}
fn default_sla() -> u64 {
    900
}

impl SignalsConfig {
    /// The section's own checks (also run by `Config::validate`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |why: String| Err(ConfigError::Invalid(format!("signals.{why}")));
        if let Some(iss) = &self.issuer {
            if !is_http_url(iss) || iss.contains(['?', '#']) {
                return bad(
                    "issuer must be an http:// or https:// URL with a host, no query or fragment"
                        .into(),
                );
            }
        }
        for (n, v) in [
            ("timeout_ms", self.timeout_ms),
            ("initial_backoff_ms", self.initial_backoff_ms),
            ("alert_after", self.alert_after as u64),
            ("max_concurrent", self.max_concurrent as u64),
            ("remembered", self.remembered as u64),
        ] {
            if v == 0 {
                return bad(format!("{n} must be at least 1"));
            }
        }
        if self.max_backoff_ms < self.initial_backoff_ms {
            return bad("max_backoff_ms must be at least initial_backoff_ms".into());
        }
        let mut kids = std::collections::BTreeSet::new();
        for (i, k) in self.keys.iter().enumerate() {
            if k.kid.trim().is_empty() {
                return bad(format!("keys[{i}].kid must not be empty"));
            }
            if !kids.insert(k.kid.as_str()) {
                return bad(format!("keys[{i}].kid {:?} is listed twice", k.kid));
            }
            if !matches!(k.alg.as_str(), "ES256" | "EdDSA") {
                return bad(format!("keys[{i}].alg must be ES256 or EdDSA"));
            }
            if k.private_key_env.is_some() == k.private_key_file.is_some() {
                return bad(format!(
                    "keys[{i}]: set exactly one of private_key_env and private_key_file"
                ));
            }
        }
        if !self.receivers.is_empty() && self.keys.is_empty() {
            return bad("keys: receivers are configured but no signing key".into());
        }
        for (name, r) in &self.receivers {
            r.validate(name)
                .or_else(|why| bad(format!("receivers.{name}.{why}")))?;
        }
        Ok(())
    }
}

impl ReceiverConfig {
    fn validate(&self, name: &str) -> Result<(), String> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("name: use letters, digits, - and _ (it is part of the poll URL)".into());
        }
        match self.delivery.as_str() {
            "push" => match &self.endpoint_url {
                Some(u) if is_http_url(u) => {}
                // The URL itself is not repeated: it may carry a credential.
                Some(_) => return Err("endpoint_url must be an http:// or https:// URL".into()),
                None => return Err("endpoint_url is required for push delivery".into()),
            },
            "poll" => {
                if self.token_env.is_none() && self.token_file.is_none() {
                    return Err(
                        "token_env/token_file: poll delivery needs the receiver's bearer token"
                            .into(),
                    );
                }
            }
            _ => return Err("delivery must be push or poll".into()),
        }
        if self.token_env.is_some() && self.token_file.is_some() {
            return Err("token_env/token_file: set one, not both".into());
        }
        if self.aud.trim().is_empty() {
            return Err("aud must not be empty".into());
        }
        match self.subject.as_str() {
            "email" | "opaque" => {}
            "iss_sub" if self.subject_iss.as_deref().is_some_and(|s| !s.is_empty()) => {}
            "iss_sub" => {
                return Err("subject_iss is required for the iss_sub subject format".into())
            }
            _ => return Err("subject must be email, iss_sub or opaque".into()),
        }
        if !matches!(
            self.subject_from.as_str(),
            "employee_id" | "username" | "email"
        ) {
            return Err("subject_from must be employee_id, username or email".into());
        }
        if self.events.is_empty() {
            return Err("events must name at least one event type".into());
        }
        if let Some(e) = self
            .events
            .iter()
            .find(|e| !SIGNAL_EVENTS.contains(&e.as_str()))
        {
            return Err(format!(
                "events: {e:?} is not one of {}",
                SIGNAL_EVENTS.join(", ")
            ));
        }
        if self.owner.name.trim().is_empty() || self.owner.contact.trim().is_empty() {
            return Err("owner needs a name and a contact".into());
        }
        if self.sla_secs == 0 {
            return Err("sla_secs must be at least 1".into());
        }
        Ok(())
    }
}

fn is_http_url(u: &str) -> bool {
    let lower = u.to_ascii_lowercase();
    lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

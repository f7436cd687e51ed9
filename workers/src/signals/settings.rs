//! `[signals]` read for `revoke signals`: the issuer, the signing keys, and each receiver with
//! its secret loaded. Errors name the key, never a secret.

use super::keys::SigningKey;
use revoke_shared::config::{ConfigError, ReceiverConfig, SignalsConfig};
use revoke_shared::contract::Owner;
use revoke_shared::secret::Secret;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Settings {
    /// `iss` of every SET, base of the metadata URLs, without a trailing `/`.
    pub issuer: String,
    /// The first signs; all are in the JWKS.
    pub keys: Vec<SigningKey>,
    pub receivers: BTreeMap<String, Receiver>,
    /// The receivers' config, as the planner reads it.
    pub plan_config: BTreeMap<String, ReceiverConfig>,
    pub timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub alert_after: u32,
    pub max_concurrent: usize,
    pub remembered: usize,
}

/// One receiver stream, ready to deliver to.
pub struct Receiver {
    pub name: String,
    pub push: Option<reqwest::Url>,
    /// The push URL as logs show it (no credentials or query).
    pub shown: String,
    pub token: Option<Secret>,
    pub owner: Owner,
    pub sla: Duration,
}

impl Receiver {
    pub fn via(&self) -> &'static str {
        if self.push.is_some() {
            "push"
        } else {
            "poll"
        }
    }
}

impl Settings {
    pub fn from_config(c: &SignalsConfig) -> Result<Settings, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid(why);
        c.validate()?;
        let issuer = c.issuer.as_deref().ok_or_else(|| {
            invalid("revoke signals needs signals.issuer: the URL receivers reach this process's metrics listener at".into())
        })?;
        if c.keys.is_empty() {
            return Err(invalid(
                "revoke signals needs at least one [[signals.keys]] signing key".into(),
            ));
        }
        if c.receivers.is_empty() {
            return Err(invalid(
                "revoke signals needs at least one [signals.receivers.<name>]".into(),
            ));
        }
        let keys = c
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| SigningKey::from_config(i, k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let mut receivers = BTreeMap::new();
        for (name, r) in &c.receivers {
            let at = format!("signals.receivers.{name}");
            let token = if r.token_env.is_some() || r.token_file.is_some() {
                let s = Secret::from_env_or_file(r.token_env.as_deref(), r.token_file.as_deref())
                    .map_err(|e| invalid(format!("{at}.token_env/token_file: {e}")))?;
                if s.expose().trim().is_empty() {
                    return Err(invalid(format!(
                        "{at}.token_env/token_file: the token is empty"
                    )));
                }
                Some(s)
            } else {
                None
            };
            let push = match (r.delivery.as_str(), r.endpoint_url.as_deref()) {
                ("push", Some(u)) => Some(
                    reqwest::Url::parse(u)
                        .map_err(|_| invalid(format!("{at}.endpoint_url is not a URL")))?,
                ),
                _ => None,
            };
            let shown = push
                .as_ref()
                .map(crate::webhook::shown_url)
                .unwrap_or_else(|| format!("poll:{name}"));
            receivers.insert(
                name.clone(),
                Receiver {
                    name: name.clone(),
                    push,
                    shown,
                    token,
                    owner: Owner {
                        name: r.owner.name.clone(),
                        contact: r.owner.contact.clone(),
                    },
                    sla: Duration::from_secs(r.sla_secs.max(1)),
                },
            );
        }
        let max_backoff = Duration::from_millis(c.max_backoff_ms.max(1));
        Ok(Settings {
            issuer: issuer.trim_end_matches('/').to_string(),
            keys,
            receivers,
            plan_config: c.receivers.clone(),
            timeout: Duration::from_millis(c.timeout_ms.max(1)),
            initial_backoff: Duration::from_millis(c.initial_backoff_ms.max(1)).min(max_backoff),
            max_backoff,
            alert_after: c.alert_after.max(1),
            max_concurrent: c.max_concurrent.max(1),
            remembered: c.remembered.max(1),
        })
    }

    /// The key that signs.
    pub fn signer(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn client(&self) -> Result<reqwest::Client, ConfigError> {
        crate::webhook::delivery_client(self.timeout, "signals")
    }

    /// `<issuer><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

//! `[escalations]` read for `revoke webhook`: the receiver's address (and how logs show it), the
//! timeouts, backoff and alert threshold, and the secrets it names.

use super::Settings;
use revoke_shared::config::{ConfigError, EscalationsConfig};
use revoke_shared::secret::Secret;
use std::time::Duration;

impl Settings {
    /// Checks the section and loads the secrets it names. Errors never contain a secret or the
    /// URL's query or credentials.
    pub fn from_config(c: &EscalationsConfig) -> Result<Settings, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid(why);
        let raw = c.webhook_url.as_deref().ok_or_else(|| {
            invalid(
                "revoke webhook needs escalations.webhook_url (or REVOKE_ESCALATIONS__WEBHOOK_URL): \
                 the http(s) address escalations are POSTed to"
                    .into(),
            )
        })?;
        let url = reqwest::Url::parse(raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                invalid(
                    "escalations.webhook_url is not an http:// or https:// URL with a host".into(),
                )
            })?;
        let secret = |what: &str, env: &Option<String>, file: &Option<String>| {
            if env.is_none() && file.is_none() {
                return Ok(None);
            }
            let s = Secret::from_env_or_file(env.as_deref(), file.as_deref())
                .map_err(|e| invalid(format!("escalations.{what}: {e}")))?;
            if s.expose().trim().is_empty() {
                return Err(invalid(format!("escalations.{what}: the secret is empty")));
            }
            Ok(Some(s))
        };
        let token = secret(
            "webhook_token_env/webhook_token_file",
            &c.webhook_token_env,
            &c.webhook_token_file,
        )?;
        let signing_key = secret(
            "webhook_signing_secret_env/webhook_signing_secret_file",
            &c.webhook_signing_secret_env,
            &c.webhook_signing_secret_file,
        )?;
        let max_backoff = Duration::from_millis(c.webhook_max_backoff_ms.max(1));
        Ok(Settings {
            shown: shown_url(&url),
            url,
            timeout: Duration::from_millis(c.webhook_timeout_ms.max(1)),
            initial_backoff: Duration::from_millis(c.webhook_initial_backoff_ms.max(1))
                .min(max_backoff),
            max_backoff,
            alert_after: c.webhook_alert_after.max(1),
            max_concurrent: c.webhook_max_concurrent.max(1),
            token,
            signing_key,
        })
    }

    /// The receiver's address as logs show it: scheme, host, port and path only.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    pub(super) fn client(&self) -> Result<reqwest::Client, ConfigError> {
        delivery_client(self.timeout, "webhook")
    }

    pub(super) fn token_over_plain_http(&self) -> bool {
        let host = self.url.host_str().unwrap_or("");
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback());
        self.token.is_some() && self.url.scheme() == "http" && !loopback
    }
}

/// `scheme://host[:port]/path` of `url`: no user, password, query or fragment, which may hold
/// credentials.
pub fn shown_url(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
    if let Some(p) = url.port() {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(url.path());
    s
}

/// The HTTP client of a delivery process (`what`: `webhook`, `signals`): `timeout` per attempt
/// and per connect, redirects not followed (a redirected POST may be replayed as a GET whose
/// answer proves nothing).
pub fn delivery_client(timeout: Duration, what: &str) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("revoke/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            ConfigError::Invalid(format!(
                "cannot build the {what} HTTP client: {}",
                e.without_url()
            ))
        })
}

//! What the three HTTP adapters (SCIM, GitLab, Vault) share about talking HTTP: the client they
//! build and what a redirect means to them.
//!
//! Every request of theirs carries a credential in a header (`Authorization: Bearer`,
//! `PRIVATE-TOKEN`, `X-Vault-Token`). A client that follows redirects re-sends custom headers
//! such as `PRIVATE-TOKEN` and `X-Vault-Token` to wherever the answer points (reqwest strips only
//! `Authorization`, `Cookie` and the like, and only when host or port change; a same-origin
//! redirect keeps even those). So no redirect is ever followed: a 3xx is a permanent error
//! that names the `Location`, for a person to fix the configured URL — the credential never
//! leaves for a place nobody configured.

use super::TargetError;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::time::Duration;

/// The client every HTTP adapter uses: the given timeouts, redirects never followed.
pub(crate) fn client(
    timeout: Duration,
    connect_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The error for a redirect answer (any 3xx), `None` for any other status. It names the status
/// and the `Location` (without any user:password in it), never a request header.
pub(crate) fn redirect_error(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<TargetError> {
    if !status.is_redirection() {
        return None;
    }
    let location = headers
        .get(reqwest::header::LOCATION)
        .map(|v| location_shown(&String::from_utf8_lossy(v.as_bytes())))
        .unwrap_or_else(|| "(no Location header)".into());
    Some(TargetError::Permanent(format!(
        "{what}: HTTP {} redirect to {location}, not followed (the credential is never sent where \
         the answer points) — set the configured URL to where the service really answers",
        status.as_u16()
    )))
}

/// A `Location` as shown in an error: userinfo removed, at most 300 characters.
fn location_shown(raw: &str) -> String {
    let shown = match reqwest::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() || !u.username().is_empty() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => raw.to_string(),
    };
    shown
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LOCATION};

    #[test]
    fn redirects_are_errors_naming_the_location() {
        let mut h = HeaderMap::new();
        h.insert(
            LOCATION,
            HeaderValue::from_static("http://u:pw@127.0.0.1:9/x"),
        );
        let e = redirect_error("reading", StatusCode::FOUND, &h).unwrap();
        let TargetError::Permanent(m) = e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains("HTTP 302") && m.contains("http://127.0.0.1:9/x"),
            "{m}"
        );
        assert!(!m.contains("pw"), "{m}");
        assert!(
            redirect_error("x", StatusCode::NOT_MODIFIED, &HeaderMap::new())
                .is_some_and(|e| e.to_string().contains("no Location"))
        );
        assert!(redirect_error("x", StatusCode::OK, &h).is_none());
        assert!(redirect_error("x", StatusCode::NOT_FOUND, &h).is_none());
    }
}

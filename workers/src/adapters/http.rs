//! What the three HTTP adapters (SCIM, GitLab, Vault) share about talking HTTP: the client they
//! build, the one call path every request takes (`send`: the rate gate, transport errors, the
//! server's rate-limit hint, redirects refused, the body read), how an error answer is classified
//! (`status_error`), and what a redirect means to them. What differs between the services — how
//! an error answer's text is read, and what a body that is not JSON becomes — is each adapter's
//! `Dialect`; which statuses a caller interprets itself (404 as "absent", Vault's 400) stays with
//! the adapter's own calls.
//!
//! Every request of theirs carries a credential in a header (`Authorization: Bearer`,
//! `PRIVATE-TOKEN`, `X-Vault-Token`). A client that follows redirects re-sends custom headers
//! such as `PRIVATE-TOKEN` and `X-Vault-Token` to wherever the answer points (reqwest strips only
//! `Authorization`, `Cookie` and the like, and only when host or port change; a same-origin
//! redirect keeps even those). So no redirect is ever followed: a 3xx is a permanent error
//! that names the `Location`, for a person to fix the configured URL — the credential never
//! leaves for a place nobody configured.

use super::limit::RateGate;
use super::TargetError;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What differs between the services' answers.
pub(crate) trait Dialect {
    /// Whether some of the service's errors come as text, not JSON (GitLab, Keycloak).
    const TEXT_ERRORS: bool = false;

    /// An answer's body: its JSON, `Null` when empty. A body that is not JSON is `Null`, or
    /// with `TEXT_ERRORS` the text, kept to at most 300 characters.
    fn body(bytes: &[u8]) -> Value {
        if bytes.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(bytes).unwrap_or_else(|_| match Self::TEXT_ERRORS {
            true => Value::String(String::from_utf8_lossy(bytes).chars().take(300).collect()),
            false => Value::Null,
        })
    }

    /// An error answer's message: what was being done, the status, the service's own error
    /// text, and on 401/403 what credential to check.
    fn message(what: &str, status: StatusCode, body: &Value) -> String;
}

/// A server answer: status, body (see `Dialect::body`), headers, and the pause its
/// `Retry-After` / `RateLimit-*` headers ask for.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: HeaderMap,
    pub(crate) hint: Option<Duration>,
}

impl Answer {
    /// The server's own clock at the answer (`Date` header).
    pub(crate) fn date(&self) -> Option<DateTime<Utc>> {
        self.headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// The error for an answer the caller did not expect, in the service's words.
    pub(crate) fn error<D: Dialect>(&self, what: &str) -> TargetError {
        status_error(
            self.status.as_u16(),
            D::message(what, self.status, &self.body),
            self.hint,
        )
    }
}

/// `base/<segments…>`, each segment percent-encoded, so an id from a target or from evidence
/// stays one segment and never escapes the path (`../x` is `..%2Fx`).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    {
        let mut p = url
            .path_segments_mut()
            .expect("base URLs are checked to be bases when the table is read");
        p.pop_if_empty();
        p.extend(segments);
    }
    url
}

/// An HTTP adapter: every request it sends passes the rate gate it keeps (`send`).
pub(crate) trait Gated: Sized {
    fn gate_mut(&mut self) -> &mut Option<Arc<RateGate>>;

    /// Sends every request through `gate` (the table's rate limit) and reports 429s to it.
    fn with_gate(mut self, gate: Option<Arc<RateGate>>) -> Self {
        *self.gate_mut() = gate;
        self
    }
}

/// Sends `req` — the one call path of the HTTP adapters: a pass from `gate` first; a transport
/// error is transient (reqwest's text without the URL; the credential is only ever a header);
/// the answer's rate-limit hint is fed back to the gate; a redirect is an error (`redirect_error`);
/// a rate limit (429, or 503 with a hint) is `RateLimited` and never an answer a caller
/// interprets (not even where 404 or 400 is). Every other answer is returned.
pub(crate) async fn send<D: Dialect>(
    req: reqwest::RequestBuilder,
    gate: &Option<Arc<RateGate>>,
    what: &str,
) -> Result<Answer, TargetError> {
    let pass = super::limit::pass(gate).await;
    let resp = req.send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        TargetError::Transient(format!("{what}: {kind}: {}", e.without_url()))
    })?;
    let status = resp.status();
    let hint = super::limit::header_hint(resp.headers(), status.as_u16());
    if let (Some(g), Some(p)) = (gate, &pass) {
        g.observe_http(p, status.as_u16(), hint);
    }
    if let Some(e) = redirect_error(what, status, resp.headers()) {
        return Err(e);
    }
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(|e| {
        TargetError::Transient(format!("{what}: reading the answer: {}", e.without_url()))
    })?;
    let body = D::body(&bytes);
    if revoke_shared::ratelimit::is_rate_limited(status.as_u16(), hint) {
        return Err(TargetError::rate_limited(
            D::message(what, status, &body),
            hint,
        ));
    }
    Ok(Answer {
        status,
        body,
        headers,
        hint,
    })
}

/// The error for a non-success answer with this message: `RateLimited` (carrying the pause the
/// headers asked for) on a rate limit, else as `classify_http_status` says.
pub(crate) fn status_error(status: u16, message: String, hint: Option<Duration>) -> TargetError {
    if revoke_shared::ratelimit::is_rate_limited(status, hint) {
        return TargetError::rate_limited(message, hint);
    }
    match classify_http_status(status) {
        ErrorClass::Transient => TargetError::Transient(message),
        ErrorClass::Permanent => TargetError::Permanent(message),
        ErrorClass::Ambiguous => TargetError::Ambiguous(message),
    }
}

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

//! The call path to the SCIM service: one request (bearer token, SCIM media type, rate gate,
//! redirects refused), error answers classified by status, and reading one user or group back.

use super::ScimTarget;
use crate::adapters::TargetError;
use reqwest::{Method, StatusCode, Url};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use serde_json::Value;

pub(super) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";

/// A server answer as `status` and parsed JSON body (`Null` when empty or not JSON).
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Value,
}

pub(super) fn error_for(what: &str, status: StatusCode, body: &Value) -> TargetError {
    let msg = message_for(what, status, body);
    match classify_http_status(status.as_u16()) {
        ErrorClass::Transient => TargetError::Transient(msg),
        ErrorClass::Permanent => TargetError::Permanent(msg),
        ErrorClass::Ambiguous => TargetError::Ambiguous(msg),
    }
}

/// What was being done, the status, and the server's SCIM error detail.
fn message_for(what: &str, status: StatusCode, body: &Value) -> String {
    let detail = body.get("detail").and_then(Value::as_str).unwrap_or("");
    let scim_type = body.get("scimType").and_then(Value::as_str).unwrap_or("");
    let mut msg = format!("{what}: HTTP {}", status.as_u16());
    if !scim_type.is_empty() {
        msg.push_str(&format!(" ({scim_type})"));
    }
    if !detail.is_empty() {
        let d: String = detail.chars().take(300).collect();
        msg.push_str(&format!(": {d}"));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        msg.push_str(" — check the SCIM token's validity and scopes");
    }
    msg
}

impl ScimTarget {
    /// `base/<segments…>`, each segment percent-encoded (ids never escape the path).
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        {
            let mut p = url
                .path_segments_mut()
                .expect("base_url checked to be a base");
            p.pop_if_empty();
            for s in segments {
                p.push(s);
            }
        }
        url
    }

    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        what: &str,
    ) -> Result<Answer, TargetError> {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header(
                reqwest::header::ACCEPT,
                "application/scim+json, application/json",
            );
        if let Some(b) = body {
            let bytes = serde_json::to_vec(&b)
                .map_err(|e| TargetError::Permanent(format!("{what}: encoding: {e}")))?;
            req = req
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(bytes);
        }
        let pass = crate::adapters::limit::pass(&self.gate).await;
        // reqwest's errors name the URL (never the token, which is only in a header).
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
        let hint = crate::adapters::limit::header_hint(resp.headers(), status.as_u16());
        if let (Some(g), Some(p)) = (&self.gate, &pass) {
            g.observe_http(p, status.as_u16(), hint);
        }
        if let Some(e) = crate::adapters::http::redirect_error(what, status, resp.headers()) {
            return Err(e);
        }
        let bytes = resp.bytes().await.map_err(|e| {
            TargetError::Transient(format!("{what}: reading the answer: {}", e.without_url()))
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        // A rate limit is never an answer a caller interprets (not even where 404 or 400 is).
        if revoke_shared::ratelimit::is_rate_limited(status.as_u16(), hint) {
            return Err(TargetError::rate_limited(
                message_for(what, status, &body),
                hint,
            ));
        }
        Ok(Answer { status, body })
    }

    /// Errors unless 2xx; returns the body.
    pub(super) fn ok(what: &str, a: Answer) -> Result<Value, TargetError> {
        if a.status.is_success() {
            Ok(a.body)
        } else {
            Err(error_for(what, a.status, &a.body))
        }
    }

    pub(super) async fn get_user(
        &self,
        uid: &str,
        what: &str,
    ) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(&["Users", uid]), None, what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::ok(what, a).map(Some)
    }

    pub(super) async fn get_group(
        &self,
        gid: &str,
        what: &str,
    ) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(&["Groups", gid]), None, what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::ok(what, a).map(Some)
    }
}

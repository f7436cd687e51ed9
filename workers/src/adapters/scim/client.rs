//! Requests to the SCIM service: one request (bearer token, SCIM media type) sent on the shared
//! call path (`http::send`), SCIM's error text (`Scim`), reading one user or group back, and
//! the one-operation PATCH every revoke and restore sends.

use super::ScimTarget;
use crate::adapters::http::{self, Answer, Dialect};
use crate::adapters::TargetError;
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";

/// SCIM's error answers: `detail` and `scimType` (RFC 7644 §3.12).
pub(super) struct Scim;

impl http::Dialect for Scim {
    /// What was being done, the status, and the server's SCIM error detail.
    fn message(what: &str, status: StatusCode, body: &Value) -> String {
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
}

pub(super) fn error_for(what: &str, status: StatusCode, body: &Value) -> TargetError {
    http::status_error(status.as_u16(), Scim::message(what, status, body), None)
}

impl ScimTarget {
    /// `base/<segments…>` (`http::join`).
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        http::join(&self.base, segments)
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
        http::send::<Scim>(req, &self.gate, what).await
    }

    /// Errors unless 2xx; returns the body.
    pub(super) fn ok(what: &str, a: Answer) -> Result<Value, TargetError> {
        if a.status.is_success() {
            Ok(a.body)
        } else {
            Err(error_for(what, a.status, &a.body))
        }
    }

    /// `GET base/<collection>/<id>` (`Users`, `Groups`); `None` on 404.
    pub(super) async fn get(
        &self,
        collection: &str,
        id: &str,
        what: &str,
    ) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(&[collection, id]), None, what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::ok(what, a).map(Some)
    }

    /// `PATCH base/<collection>/<id>` with one PatchOp operation (RFC 7644 §3.5.2).
    pub(super) async fn patch(
        &self,
        collection: &str,
        id: &str,
        op: Value,
        what: &str,
    ) -> Result<Answer, TargetError> {
        let body = json!({"schemas": [PATCH_OP], "Operations": [op]});
        self.call(Method::PATCH, self.url(&[collection, id]), Some(body), what)
            .await
    }
}

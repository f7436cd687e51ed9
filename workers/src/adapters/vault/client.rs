//! The call path to Vault's HTTP API: one request (the token only in `X-Vault-Token`, the
//! namespace header, the rate gate, redirects refused, error answers classified), `LIST`, and
//! reading the revoker's own token once (its accessor is never revoked).

use super::VaultTarget;
use crate::adapters::{Target, TargetError};
use reqwest::{Method, StatusCode};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use serde_json::Value;

impl VaultTarget {
    /// Reads the revoker's own token (`auth/token/lookup-self`): records its accessor (so it is
    /// never revoked) and, unless `principal` is configured, its display name as the principal.
    /// Call once after `from_table`; `discover` calls it too. Also a check that the token works.
    pub async fn resolve_principal(&self) -> Result<&str, TargetError> {
        if self.self_accessor.get().is_none() {
            let doing = "looking up the revoker's token";
            let (status, body) = self
                .call(Method::GET, "auth/token/lookup-self", None, doing)
                .await?;
            if status != StatusCode::OK || !body["data"].is_object() {
                return Err(TargetError::Permanent(format!(
                    "{doing} on vault {}: HTTP {} {} (check token_env/token_file)",
                    self.instance,
                    status.as_u16(),
                    body["errors"]
                )));
            }
            let data = &body["data"];
            let accessor = data["accessor"].as_str().unwrap_or_default().to_string();
            let _ = self.self_accessor.set(accessor.clone());
            let name = data["display_name"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("token");
            let _ = self.principal.set(format!("{name} (accessor {accessor})"));
        }
        Ok(self.principal())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.address)
    }

    /// One request; returns the status and JSON body (Null when empty) for 2xx and 404/400, which
    /// callers interpret; other statuses become errors classified by `classify_http_status`.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        doing: &str,
    ) -> Result<(StatusCode, Value), TargetError> {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("X-Vault-Token", self.token.expose());
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let pass = crate::adapters::limit::pass(&self.gate).await;
        let resp = req.send().await.map_err(|e| {
            // reqwest's message names the URL (no secret in it) and the cause.
            TargetError::Transient(format!(
                "{doing} on vault {}: {}",
                self.instance,
                e.without_url()
            ))
        })?;
        let status = resp.status();
        let hint = crate::adapters::limit::header_hint(resp.headers(), status.as_u16());
        if let (Some(g), Some(p)) = (&self.gate, &pass) {
            g.observe_http(p, status.as_u16(), hint);
        }
        let on_vault = format!("{doing} on vault {}", self.instance);
        if let Some(e) = crate::adapters::http::redirect_error(&on_vault, status, resp.headers()) {
            return Err(e);
        }
        let text = resp.text().await.map_err(|e| {
            TargetError::Transient(format!("{doing}: reading the answer: {}", e.without_url()))
        })?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status.is_success()
            || status == StatusCode::NOT_FOUND
            || status == StatusCode::BAD_REQUEST
        {
            return Ok((status, value));
        }
        let errors = value["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let msg = format!(
            "{doing} on vault {}: HTTP {} {}",
            self.instance,
            status.as_u16(),
            errors.trim()
        );
        if revoke_shared::ratelimit::is_rate_limited(status.as_u16(), hint) {
            // Vault's rate-limit quotas answer 429 (with `Retry-After` when configured to).
            return Err(TargetError::rate_limited(msg, hint));
        }
        let hint = match status.as_u16() {
            401 | 403 => " (check the revoker token's policy)",
            _ => "",
        };
        Err(match classify_http_status(status.as_u16()) {
            ErrorClass::Transient => TargetError::Transient(msg),
            ErrorClass::Permanent => TargetError::Permanent(format!("{msg}{hint}")),
            ErrorClass::Ambiguous => TargetError::Ambiguous(msg),
        })
    }

    /// A 400 where the caller expected success: the target refused the request.
    pub(super) fn refused(&self, doing: &str, v: &Value) -> TargetError {
        TargetError::Permanent(format!(
            "{doing} on vault {}: HTTP 400 {}",
            self.instance, v["errors"]
        ))
    }

    /// `LIST <path>`: the keys, or none when the path is empty (404).
    pub(super) async fn list(&self, path: &str, doing: &str) -> Result<Vec<String>, TargetError> {
        let (status, body) = self
            .call(Method::GET, &format!("{path}?list=true"), None, doing)
            .await?;
        match status {
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            StatusCode::BAD_REQUEST => Err(self.refused(doing, &body)),
            _ => Ok(body["data"]["keys"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()),
        }
    }
}

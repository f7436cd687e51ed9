//! Requests to Vault's HTTP API: one request (the token only in `X-Vault-Token`, the namespace
//! header) sent on the shared call path (`http::send`), Vault's error text (`Vault`), `LIST`, and
//! reading the revoker's own token once (its accessor is never revoked).

use super::VaultTarget;
use crate::adapters::http::{self, Dialect};
use crate::adapters::{RevokeResult, TargetError};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Vault's error answers: `{"errors": ["…"]}`.
pub(super) struct Vault;

impl Dialect for Vault {
    fn message(what: &str, status: StatusCode, body: &Value) -> String {
        let errors = body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let hint = match status.as_u16() {
            401 | 403 => " (check the revoker token's policy)",
            _ => "",
        };
        format!("{what}: HTTP {} {}{hint}", status.as_u16(), errors.trim())
    }
}

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
            self.principal
                .learn(format!("{name} (accessor {accessor})"));
        }
        Ok(self.principal.get())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.address)
    }

    /// One request on the shared call path (`http::send`); returns the status and JSON body (Null
    /// when empty) for 2xx and 404/400, which callers interpret; other statuses become errors
    /// (`http::status_error`).
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
        let on_vault = format!("{doing} on vault {}", self.instance);
        let a = http::send::<Vault>(req, &self.gate, &on_vault).await?;
        // Vault's callers interpret 404 (nothing there) and 400 (refused) themselves.
        if a.status.is_success()
            || a.status == StatusCode::NOT_FOUND
            || a.status == StatusCode::BAD_REQUEST
        {
            return Ok((a.status, a.body));
        }
        Err(a.error::<Vault>(&on_vault))
    }

    /// A 400 where the caller expected success: the target refused the request.
    pub(super) fn refused(&self, doing: &str, v: &Value) -> TargetError {
        TargetError::Permanent(format!(
            "{doing} on vault {}: HTTP 400 {}",
            self.instance, v["errors"]
        ))
    }

    /// A write that revokes: `Revoked`, unless Vault answers one of `refused_on` (then the
    /// target refused it, and its errors are named).
    pub(super) async fn revoking_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        doing: &str,
        refused_on: &[StatusCode],
    ) -> Result<RevokeResult, TargetError> {
        let (status, body) = self.call(method, path, body, doing).await?;
        if refused_on.contains(&status) {
            return Err(self.refused(doing, &body));
        }
        Ok(RevokeResult::Revoked { removed_at: None })
    }

    /// `GET` of an entity: its body, or None when it is gone (404 or 204).
    pub(super) async fn read_entity(
        &self,
        path: &str,
        doing: &str,
    ) -> Result<Option<Value>, TargetError> {
        let (status, body) = self.call(Method::GET, path, None, doing).await?;
        if status == StatusCode::NOT_FOUND || status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if status == StatusCode::BAD_REQUEST {
            return Err(self.refused(doing, &body));
        }
        Ok(Some(body))
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

//! Plain HTTP to OpenBao's API (`/v1/…`), as the tests seed and check it (not through the
//! adapter).

use serde_json::Value;
use std::time::Duration;

/// `method` on `addr/v1/path` with `token` (None: unauthenticated) and `body` as JSON, given
/// `timeout`: the status and the JSON body.
pub async fn request(
    http: &reqwest::Client,
    addr: &str,
    (method, path): (reqwest::Method, &str),
    token: Option<&str>,
    body: Option<Value>,
    timeout: Duration,
) -> (u16, Value) {
    let mut r = http
        .request(method, format!("{addr}/v1/{path}"))
        .timeout(timeout);
    if let Some(t) = token {
        r = r.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    crate::http_json::status_and_json(r, "OpenBao answers").await
}

//! Reading a peer's HTTP answer the way the tests check it: the status and a JSON body.

use serde_json::Value;

/// Sends `req`: the answer's status and its body as JSON (`Null` when the body is not JSON).
/// Panics with `unreachable` when the peer does not answer.
pub async fn status_and_json(req: reqwest::RequestBuilder, unreachable: &str) -> (u16, Value) {
    let resp = req.send().await.expect(unreachable);
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

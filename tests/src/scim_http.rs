//! Plain HTTP to a SCIM 2.0 server, as the tests seed and check it (not through the adapter).

use serde_json::Value;

/// A SCIM server's base URL (…/v2, no trailing slash) and the bearer token it accepts.
pub struct ScimHttp {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl ScimHttp {
    /// `base` with any trailing slash dropped.
    pub fn new(base: &str, token: impl Into<String>) -> ScimHttp {
        ScimHttp {
            base: base.trim_end_matches('/').to_string(),
            token: token.into(),
            http: reqwest::Client::new(),
        }
    }

    /// `method` on `base + path` with the bearer token and `body` as SCIM JSON: the status and
    /// the answer as JSON (`Null` when it is not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(b.to_string());
        }
        crate::http_json::status_and_json(req, "SCIM server reachable").await
    }

    /// `POST path` with `body`, which must answer 201 Created (`what` names it in the failure):
    /// the id of what was created.
    pub async fn create(&self, path: &str, body: Value, what: &str) -> String {
        let (s, v) = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(s, 201, "creating {what}: {v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// `GET path`, which must answer 200: the JSON body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (s, v) = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }
}

/// The user ids in a SCIM group's `members` (none when it has no members).
pub fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["value"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

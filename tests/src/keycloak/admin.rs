//! What an operator does through the admin REST API (`/admin/realms/{realm}/…`), as the
//! service-account client `revoke-admin` (client credentials grant).

use super::Keycloak;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Admin tokens live 5 minutes; one is reused for a minute.
const REUSE: Duration = Duration::from_secs(60);

impl Keycloak {
    /// An access token of the admin client (client credentials grant).
    pub async fn admin_token(&self) -> String {
        if let Some((t, at)) = self.admin_token.lock().unwrap().as_ref() {
            if at.elapsed() < REUSE {
                return t.clone();
            }
        }
        let form = [("grant_type", "client_credentials")];
        let (status, v) = self.oidc_post("token", &self.admin, &form).await;
        let token = v["access_token"].as_str().unwrap_or_else(|| {
            panic!("admin client {} gets no token: {status} {v}", self.admin.id)
        });
        *self.admin_token.lock().unwrap() = Some((token.to_string(), Instant::now()));
        token.to_string()
    }

    /// `method` on `/admin/realms/{realm}{path}` with `body` as JSON: status and JSON body
    /// (`Null` when empty).
    pub async fn admin_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/admin/realms/{}{path}", self.url, self.realm);
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(self.admin_token().await);
        if let Some(b) = body {
            req = req.json(&b);
        }
        crate::http_json::status_and_json(req, "Keycloak answers").await
    }

    /// Like `admin_call`, but the answer must be 2xx: its JSON body.
    async fn admin_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        let (status, v) = self.admin_call(method, path, body).await;
        assert!((200..300).contains(&status), "{what}: HTTP {status} {v}");
        v
    }

    /// Creates an enabled user with a (non-temporary) password and the `employee_id` attribute
    /// (declared in the realm's user profile); first and last name are set so that the profile
    /// is complete and a sign-in needs no further action. Returns the user's id.
    pub async fn create_user(
        &self,
        username: &str,
        email: &str,
        employee_id: &str,
        password: &str,
    ) -> String {
        let body = json!({
            "username": username, "email": email, "emailVerified": true, "enabled": true,
            "firstName": "Test", "lastName": username,
            "attributes": { "employee_id": [employee_id] },
            "credentials": [{ "type": "password", "value": password, "temporary": false }],
        });
        self.admin_ok(Method::POST, "/users", Some(body)).await;
        // The id is in the Location header; asking by exact username is as good and simpler.
        let found = self
            .admin_ok(
                Method::GET,
                &format!("/users?exact=true&username={username}"),
                None,
            )
            .await;
        let users = found.as_array().cloned().unwrap_or_default();
        assert_eq!(users.len(), 1, "exactly one user {username}: {found}");
        users[0]["id"].as_str().expect("user id").to_string()
    }

    /// The user representation of `user_id`.
    pub async fn user(&self, user_id: &str) -> Value {
        self.admin_ok(Method::GET, &format!("/users/{user_id}"), None)
            .await
    }

    /// Enables or disables `user_id` (the whole representation read and written back, so that
    /// nothing else changes).
    pub async fn set_enabled(&self, user_id: &str, enabled: bool) {
        let mut u = self.user(user_id).await;
        u["enabled"] = json!(enabled);
        self.admin_ok(Method::PUT, &format!("/users/{user_id}"), Some(u))
            .await;
    }

    /// The user's online (SSO) sessions; offline ones are not listed here.
    pub async fn sessions(&self, user_id: &str) -> Vec<Value> {
        let v = self
            .admin_ok(Method::GET, &format!("/users/{user_id}/sessions"), None)
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// The user's offline sessions for the client whose client id is `client_id`.
    pub async fn offline_sessions(&self, user_id: &str, client_id: &str) -> Vec<Value> {
        let uuid = self.client_uuid(client_id).await;
        let path = format!("/users/{user_id}/offline-sessions/{uuid}");
        let v = self.admin_ok(Method::GET, &path, None).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// The internal id of the client `client_id` (the admin API's paths take it).
    pub async fn client_uuid(&self, client_id: &str) -> String {
        let v = self
            .admin_ok(Method::GET, &format!("/clients?clientId={client_id}"), None)
            .await;
        let exact: Vec<&Value> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["clientId"] == client_id)
            .collect();
        assert_eq!(exact.len(), 1, "exactly one client {client_id}: {v}");
        exact[0]["id"].as_str().expect("client id").to_string()
    }

    /// `POST /users/{id}/logout`: ends the user's online sessions (not the offline ones).
    pub async fn logout(&self, user_id: &str) {
        self.admin_ok(Method::POST, &format!("/users/{user_id}/logout"), None)
            .await;
    }

    /// `DELETE /users/{id}/consents/{client_id}` (the client id, not its uuid): revokes the
    /// user's grant to the client, its offline sessions included.
    pub async fn revoke_consent(&self, user_id: &str, client_id: &str) {
        let path = format!("/users/{user_id}/consents/{client_id}");
        self.admin_ok(Method::DELETE, &path, None).await;
    }

    /// Deletes `user_id` (clean-up; tests' users have unique names, so this is optional).
    pub async fn delete_user(&self, user_id: &str) {
        self.admin_ok(Method::DELETE, &format!("/users/{user_id}"), None)
            .await;
    }
}

//! Keycloak (`tests/services/keycloak.sh`) as the tests seed and check it: plain HTTP to the
//! realm's OIDC endpoints (what a user and an application do, `oidc.rs`) and to its admin REST
//! API (what an operator does, `admin.rs`) — never through the adapter.
//!
//! Env (printed by `keycloak.sh start`, exported by the README's test command):
//! `REVOKE_TEST_KEYCLOAK_URL` (required, e.g. http://127.0.0.1:18480),
//! `REVOKE_TEST_KEYCLOAK_REALM` (revoke-test), `REVOKE_TEST_KEYCLOAK_ADMIN_CLIENT_ID` /
//! `_ADMIN_CLIENT_SECRET` (the service-account client the adapter uses, revoke-admin),
//! `REVOKE_TEST_KEYCLOAK_APP_CLIENT_ID` / `_APP_CLIENT_SECRET` (the application users sign in
//! to, test-app). The defaults are the test credentials fixed in
//! tests/services/keycloak/revoke-test-realm.json.

mod admin;
mod oidc;

pub use oidc::{Refused, Tokens};

use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One client of the realm: its client id and secret.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// The realm `realm` of the Keycloak at `url`.
pub struct Keycloak {
    pub url: String,
    pub realm: String,
    /// The confidential service-account client with the realm-management roles.
    pub admin: Client,
    /// The confidential application client users sign in to (direct access grants).
    pub app: Client,
    http: reqwest::Client,
    /// The admin client's access token and when it was fetched (reused for a minute).
    admin_token: Mutex<Option<(String, Instant)>>,
}

const SERVICE: &str =
    "needs Keycloak: run the README's test command (or tests/services/keycloak.sh start)";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

impl Keycloak {
    /// From the `REVOKE_TEST_KEYCLOAK_*` variables; panics with a clear message when the URL is
    /// not set.
    pub fn from_env() -> Keycloak {
        let url = std::env::var("REVOKE_TEST_KEYCLOAK_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("REVOKE_TEST_KEYCLOAK_URL is not set: {SERVICE}"));
        Keycloak::new(
            &url,
            &env_or("REVOKE_TEST_KEYCLOAK_REALM", "revoke-test"),
            Client {
                id: env_or("REVOKE_TEST_KEYCLOAK_ADMIN_CLIENT_ID", "revoke-admin"),
                secret: env_or(
                    "REVOKE_TEST_KEYCLOAK_ADMIN_CLIENT_SECRET",
                    "revoke-admin-test-secret",
                ),
            },
            Client {
                id: env_or("REVOKE_TEST_KEYCLOAK_APP_CLIENT_ID", "test-app"),
                secret: env_or(
                    "REVOKE_TEST_KEYCLOAK_APP_CLIENT_SECRET",
                    "test-app-test-secret",
                ),
            },
        )
    }

    pub fn new(url: &str, realm: &str, admin: Client, app: Client) -> Keycloak {
        Keycloak {
            url: url.trim_end_matches('/').to_string(),
            realm: realm.to_string(),
            admin,
            app,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("HTTP client"),
            admin_token: Mutex::new(None),
        }
    }

    /// `…/realms/{realm}/protocol/openid-connect/{what}`.
    fn oidc_url(&self, what: &str) -> String {
        format!(
            "{}/realms/{}/protocol/openid-connect/{what}",
            self.url, self.realm
        )
    }

    /// A form POST to the OIDC endpoint `what` as `client` (HTTP Basic): status and JSON body.
    async fn oidc_post(&self, what: &str, client: &Client, form: &[(&str, &str)]) -> (u16, Value) {
        let req = self
            .http
            .post(self.oidc_url(what))
            .basic_auth(&client.id, Some(&client.secret))
            .form(form);
        crate::http_json::status_and_json(req, "Keycloak answers").await
    }
}

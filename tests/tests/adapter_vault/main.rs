//! The vault adapter against a real OpenBao dev server (`tests/services/openbao.sh start`).
//!
//! Seeds through the HTTP API directly (never through the adapter), revokes a person, asserts by
//! asking OpenBao, runs again (idempotency), and checks that hostile identities revoke nothing.
//! Each run uses its own userpass mount, so runs on one server do not see each other's users.
//!
//! Env: `REVOKE_TEST_BAO_ADDR` (e.g. http://127.0.0.1:18200), `REVOKE_TEST_BAO_TOKEN` (root token).

use revoke::adapters::vault::VaultTarget;
use revoke::adapters::Target;
use revoke::restoration::RestoreOutcome;
use revoke_shared::contract::{ObjectOutcome, Outcome};
use revoke_tests::kit::{self, assert_outcome, employee, restore, revoke};
use serde_json::{json, Value};
use std::time::Duration;

mod lifecycle;
mod tokens;

struct Bao {
    addr: String,
    root: String,
    http: reqwest::Client,
}

impl Bao {
    fn from_env() -> Bao {
        let addr = std::env::var("REVOKE_TEST_BAO_ADDR")
            .expect("REVOKE_TEST_BAO_ADDR (run tests/services/openbao.sh start)");
        let root = std::env::var("REVOKE_TEST_BAO_TOKEN")
            .expect("REVOKE_TEST_BAO_TOKEN (the dev root token)");
        Bao {
            addr: addr.trim_end_matches('/').to_string(),
            root,
            http: reqwest::Client::new(),
        }
    }

    /// A request with `token` (None: unauthenticated); returns the status and the JSON body.
    async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let call = (method, path);
        let timeout = Duration::from_secs(10);
        revoke_tests::openbao_http::request(&self.http, &self.addr, call, token, body, timeout)
            .await
    }

    /// `GET <path>` as root: the status and the JSON body.
    async fn root_get(&self, path: &str) -> (u16, Value) {
        self.req(reqwest::Method::GET, path, Some(&self.root), None)
            .await
    }

    async fn root_post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self
            .req(reqwest::Method::POST, path, Some(&self.root), Some(body))
            .await;
        assert!((200..300).contains(&s), "POST {path}: HTTP {s} {v}");
        v
    }

    /// Adds `user` to the userpass `mount` with `password` and `policies` (comma-separated).
    async fn add_user(&self, mount: &str, user: &str, password: &str, policies: &str) {
        self.root_post(
            &format!("auth/{mount}/users/{user}"),
            json!({ "password": password, "token_policies": policies }),
        )
        .await;
    }

    /// Logs in through userpass where the login must work: (token, accessor, entity id); `what`
    /// says which login failed.
    async fn logs_in(
        &self,
        mount: &str,
        user: &str,
        password: &str,
        what: &str,
    ) -> (String, String, String) {
        self.login(mount, user, password).await.expect(what)
    }

    /// Logs in through userpass: (token, accessor, entity id), or None when login fails.
    async fn login(
        &self,
        mount: &str,
        user: &str,
        password: &str,
    ) -> Option<(String, String, String)> {
        let (s, v) = self
            .req(
                reqwest::Method::POST,
                &format!("auth/{mount}/login/{user}"),
                None,
                Some(json!({ "password": password })),
            )
            .await;
        if s != 200 {
            return None;
        }
        let a = &v["auth"];
        Some((
            a["client_token"].as_str()?.to_string(),
            a["accessor"].as_str()?.to_string(),
            a["entity_id"].as_str().unwrap_or_default().to_string(),
        ))
    }

    /// True when the token still authenticates (`lookup-self` answers 200).
    async fn token_valid(&self, token: &str) -> bool {
        self.req(
            reqwest::Method::GET,
            "auth/token/lookup-self",
            Some(token),
            None,
        )
        .await
        .0 == 200
    }

    async fn accessor_exists(&self, accessor: &str) -> bool {
        self.req(
            reqwest::Method::POST,
            "auth/token/lookup-accessor",
            Some(&self.root),
            Some(json!({ "accessor": accessor })),
        )
        .await
        .0 == 200
    }
}

/// The adapter from a complete config file's `[targets.vault]` table (through `Config::load`, as
/// the binary reads it).
fn vault_target(table_body: &str, instance: &str) -> VaultTarget {
    VaultTarget::from_table(&kit::target_table("vault", table_body), instance)
        .expect("vault config")
}

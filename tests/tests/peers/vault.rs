//! OpenBao: a userpass mount of this run, a login (token + entity) per person, and a bot token
//! every third person sponsors (`meta.owner` = their email).

use super::{env, ids_of, Person};
use revoke_shared::contract::ObjectEvidence;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
struct Seeded {
    accessors: Vec<String>,
    sponsored: Vec<String>,
    entity: String,
}

pub struct Bao {
    addr: String,
    root: String,
    mount: String,
    http: reqwest::Client,
    seeded: Mutex<HashMap<String, Seeded>>,
}

fn password(p: &Person) -> String {
    format!("pw-{}", p.employee_id)
}

impl Bao {
    pub async fn new(run: &str) -> Bao {
        let b = Bao {
            addr: env("REVOKE_TEST_BAO_ADDR")
                .trim_end_matches('/')
                .to_string(),
            root: env("REVOKE_TEST_BAO_TOKEN"),
            mount: format!("e2e{run}"),
            http: reqwest::Client::new(),
            seeded: Mutex::new(HashMap::new()),
        };
        let (s, v) = b
            .req(
                reqwest::Method::POST,
                &format!("sys/auth/{}", b.mount),
                true,
                Some(json!({"type": "userpass"})),
            )
            .await;
        assert!((200..300).contains(&s), "enabling userpass: {s} {v}");
        b
    }

    async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        as_root: bool,
        body: Option<Value>,
    ) -> (u16, Value) {
        let token = as_root.then_some(self.root.as_str());
        let call = (method, path);
        let timeout = Duration::from_secs(20);
        revoke_tests::openbao_http::request(&self.http, &self.addr, call, token, body, timeout)
            .await
    }

    async fn login(&self, p: &Person) -> Option<Value> {
        let (s, v) = self
            .req(
                reqwest::Method::POST,
                &format!("auth/{}/login/{}", self.mount, p.username),
                false,
                Some(json!({"password": password(p)})),
            )
            .await;
        (s == 200).then(|| v["auth"].clone())
    }

    pub async fn seed(&self, people: &[&Person]) {
        for (i, p) in people.iter().enumerate() {
            let (s, v) = self
                .req(
                    reqwest::Method::POST,
                    &format!("auth/{}/users/{}", self.mount, p.username),
                    true,
                    Some(json!({"password": password(p), "token_policies": "default"})),
                )
                .await;
            assert!(
                (200..300).contains(&s),
                "userpass user {}: {s} {v}",
                p.username
            );
            let auth = self.login(p).await.expect("seeded person logs in");
            let mut seeded = Seeded {
                accessors: vec![auth["accessor"].as_str().unwrap().to_string()],
                sponsored: Vec::new(),
                entity: auth["entity_id"].as_str().unwrap().to_string(),
            };
            if i % 3 == 0 {
                let (s, v) = self
                    .req(
                        reqwest::Method::POST,
                        "auth/token/create",
                        true,
                        Some(json!({"policies": ["default"], "no_parent": true, "display_name": "ci-bot", "meta": {"owner": p.email}})),
                    )
                    .await;
                assert_eq!(s, 200, "sponsored token: {v}");
                seeded
                    .sponsored
                    .push(v["auth"]["accessor"].as_str().unwrap().to_string());
            }
            self.seeded
                .lock()
                .unwrap()
                .insert(p.username.clone(), seeded);
        }
    }

    pub fn table(&self) -> String {
        format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{}\"\nowner_metadata_key = \"owner\"\n",
            self.addr, self.mount
        )
    }

    async fn accessor_alive(&self, accessor: &str) -> bool {
        self.req(
            reqwest::Method::POST,
            "auth/token/lookup-accessor",
            true,
            Some(json!({"accessor": accessor})),
        )
        .await
        .0 == 200
    }

    async fn entity_disabled(&self, id: &str) -> bool {
        let (s, v) = self
            .req(
                reqwest::Method::GET,
                &format!("identity/entity/id/{id}"),
                true,
                None,
            )
            .await;
        assert_eq!(s, 200, "entity {id}: {v}");
        v["data"]["disabled"] == json!(true)
    }

    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let seeded = self.seeded.lock().unwrap()[&p.username].clone();
        let mut tokens: Vec<String> = seeded
            .accessors
            .iter()
            .chain(&seeded.sponsored)
            .cloned()
            .collect();
        tokens.sort();
        assert_eq!(ids_of(objects, "token"), tokens, "{}", p.username);
        let sponsored: Vec<&str> = objects
            .iter()
            .filter(|o| o.sponsored)
            .map(|o| o.object_id.as_str())
            .collect();
        assert_eq!(
            sponsored, seeded.sponsored,
            "{}: sponsored tokens",
            p.username
        );
        assert_eq!(ids_of(objects, "entity"), vec![seeded.entity.clone()]);
        assert_eq!(
            ids_of(objects, "userpass_user"),
            vec![format!("{}/{}", self.mount, p.username)]
        );
        for a in &tokens {
            assert!(
                !self.accessor_alive(a).await,
                "{}: token {a} still valid",
                p.username
            );
        }
        assert!(
            self.entity_disabled(&seeded.entity).await,
            "{}: entity enabled",
            p.username
        );
        assert!(
            self.login(p).await.is_none(),
            "{} can still log in",
            p.username
        );
    }

    pub async fn check_untouched(&self, p: &Person) {
        let seeded = self.seeded.lock().unwrap()[&p.username].clone();
        for a in seeded.accessors.iter().chain(&seeded.sponsored) {
            assert!(
                self.accessor_alive(a).await,
                "{}: token {a} revoked",
                p.username
            );
        }
        assert!(!self.entity_disabled(&seeded.entity).await);
        assert!(
            self.login(p).await.is_some(),
            "{} cannot log in",
            p.username
        );
    }
}

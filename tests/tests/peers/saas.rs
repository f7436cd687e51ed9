//! scim2-server: one user per person and one group holding them all.

use super::{env, ids_of, Person};
use revoke_shared::contract::ObjectEvidence;
use revoke_tests::scim_http::ScimHttp;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Scim {
    scim: ScimHttp,
    run: String,
    /// username -> SCIM user id
    ids: Mutex<HashMap<String, String>>,
    group: Mutex<String>,
}

impl Scim {
    pub fn new(run: &str) -> Scim {
        Scim {
            scim: ScimHttp::new(&env("REVOKE_TEST_SCIM_URL"), env("REVOKE_TEST_SCIM_TOKEN")),
            run: run.to_string(),
            ids: Mutex::new(HashMap::new()),
            group: Mutex::new(String::new()),
        }
    }

    pub async fn seed(&self, people: &[&Person]) {
        let mut members = Vec::new();
        for p in people {
            let user = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": p.username,
                "externalId": p.employee_id,
                "emails": [{"value": p.email, "primary": true}],
                "active": true,
            });
            let what = format!("SCIM user {}", p.username);
            let id = self.scim.create("/Users", user, &what).await;
            members.push(json!({"value": id}));
            self.ids.lock().unwrap().insert(p.username.clone(), id);
        }
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("e2e-{}", self.run),
            "members": members,
        });
        *self.group.lock().unwrap() = self.scim.create("/Groups", group, "the SCIM group").await;
    }

    pub fn table(&self) -> String {
        format!(
            "base_url = \"{}\"\ntoken_env = \"REVOKE_TEST_SCIM_TOKEN\"\nprincipal = \"scim-e2e\"\n",
            self.scim.base
        )
    }

    fn id(&self, p: &Person) -> String {
        self.ids.lock().unwrap()[&p.username].clone()
    }

    async fn user(&self, id: &str) -> Value {
        self.scim.get_ok(&format!("/Users/{id}")).await
    }

    async fn members(&self) -> Vec<String> {
        let gid = self.group.lock().unwrap().clone();
        let g = self.scim.get_ok(&format!("/Groups/{gid}")).await;
        revoke_tests::scim_http::member_ids(&g)
    }

    /// The user's `active` at the SCIM server (the test's own client).
    pub async fn active(&self, p: &Person) -> bool {
        self.user(&self.id(p)).await["active"] == json!(true)
    }

    /// Another provisioning system sets the user active again.
    pub async fn reactivate(&self, p: &Person) {
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": true}],
        });
        let (s, v) = self
            .scim
            .send(
                reqwest::Method::PATCH,
                &format!("/Users/{}", self.id(p)),
                Some(patch),
            )
            .await;
        assert!((200..300).contains(&s), "PATCH active: {s} {v}");
    }

    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let id = self.id(p);
        let gid = self.group.lock().unwrap().clone();
        assert_eq!(
            ids_of(objects, "account"),
            vec![id.clone()],
            "{}",
            p.username
        );
        assert_eq!(
            ids_of(objects, "group_membership"),
            vec![format!("Groups/{gid}/members/{id}")],
            "{}",
            p.username
        );
        assert_eq!(objects.len(), 2, "{}: {objects:?}", p.username);
        assert_eq!(
            self.user(&id).await["active"],
            json!(false),
            "{} still active at the SCIM server",
            p.username
        );
        assert!(
            !self.members().await.contains(&id),
            "{} still in the group",
            p.username
        );
    }

    pub async fn check_untouched(&self, p: &Person) {
        let id = self.id(p);
        assert_eq!(
            self.user(&id).await["active"],
            json!(true),
            "{}",
            p.username
        );
        assert!(self.members().await.contains(&id), "{}", p.username);
    }
}

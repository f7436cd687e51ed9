//! moto (AWS IAM): an IAM user per person (named by username, tagged with the employee id), two
//! access keys, a console login profile, membership of this run's group.
//!
//! No sponsored IAM users here: a sponsored user asks a person for an ownership transfer
//! (`manual_required`), which the adapter test covers; this test expects every case closed.

use super::{env, ids_of, Person};
use aws_sdk_iam::Client;
use revoke_shared::contract::ObjectEvidence;
use std::collections::HashMap;
use std::sync::Mutex;

pub const KEY_ENV: &str = "REVOKE_E2E_AWS_KEY_ID";
pub const SECRET_ENV: &str = "REVOKE_E2E_AWS_SECRET";

pub struct Iam {
    url: String,
    group: String,
    client: Client,
    /// username -> access key ids
    keys: Mutex<HashMap<String, Vec<String>>>,
}

impl Iam {
    pub async fn new(run: &str) -> Iam {
        let url = env("REVOKE_TEST_MOTO_URL");
        // moto accepts any credentials; these are dummies, passed to the adapter by env name.
        std::env::set_var(KEY_ENV, "testing");
        std::env::set_var(SECRET_ENV, "testing-secret");
        let client = revoke_tests::moto::iam_client(&url, "e2e");
        let group = format!("e2e-{run}");
        client
            .create_group()
            .group_name(&group)
            .send()
            .await
            .expect("create group");
        Iam {
            url,
            group,
            client,
            keys: Mutex::new(HashMap::new()),
        }
    }

    pub async fn seed(&self, people: &[&Person]) {
        for p in people {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key("employee_id")
                .value(&p.employee_id)
                .build()
                .unwrap();
            self.client
                .create_user()
                .user_name(&p.username)
                .tags(tag)
                .send()
                .await
                .expect("create user");
            let mut keys = Vec::new();
            for _ in 0..2 {
                let k = self
                    .client
                    .create_access_key()
                    .user_name(&p.username)
                    .send()
                    .await
                    .expect("create access key");
                keys.push(k.access_key().unwrap().access_key_id().to_string());
            }
            self.client
                .create_login_profile()
                .user_name(&p.username)
                .password("Initial-Pw-123!")
                .send()
                .await
                .expect("login profile");
            self.client
                .add_user_to_group()
                .group_name(&self.group)
                .user_name(&p.username)
                .send()
                .await
                .expect("add to group");
            self.keys.lock().unwrap().insert(p.username.clone(), keys);
        }
    }

    pub fn table(&self) -> String {
        format!(
            "endpoint_url = \"{}\"\nregion = \"us-east-1\"\naccess_key_id_env = \"{KEY_ENV}\"\nsecret_access_key_env = \"{SECRET_ENV}\"\n",
            self.url
        )
    }

    async fn key_states(&self, user: &str) -> HashMap<String, String> {
        self.client
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .expect("list keys")
            .access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap_or_default().to_string(),
                    k.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn has_login_profile(&self, user: &str) -> bool {
        self.client
            .get_login_profile()
            .user_name(user)
            .send()
            .await
            .is_ok()
    }

    async fn groups(&self, user: &str) -> Vec<String> {
        revoke_tests::moto::group_names(&self.client, user).await
    }

    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let seeded = self.keys.lock().unwrap()[&p.username].clone();
        let in_evidence = ids_of(objects, "access_key");
        for k in &seeded {
            assert!(
                in_evidence.iter().any(|id| id.contains(k.as_str())),
                "{}: key {k} missing from evidence {in_evidence:?}",
                p.username
            );
        }
        for (k, state) in self.key_states(&p.username).await {
            assert_eq!(state, "Inactive", "{}: key {k} still active", p.username);
        }
        assert!(
            !self.has_login_profile(&p.username).await,
            "{}: login profile",
            p.username
        );
        assert!(
            self.groups(&p.username).await.is_empty(),
            "{}: groups",
            p.username
        );
        assert!(objects.iter().all(|o| !o.sponsored));
    }

    pub async fn check_untouched(&self, p: &Person) {
        let states = self.key_states(&p.username).await;
        assert_eq!(states.len(), 2);
        assert!(
            states.values().all(|s| s == "Active"),
            "{}: {states:?}",
            p.username
        );
        assert!(self.has_login_profile(&p.username).await);
        assert_eq!(self.groups(&p.username).await, vec![self.group.clone()]);
    }
}

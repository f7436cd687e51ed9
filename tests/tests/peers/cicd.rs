//! The GitLab API double (in-process; no GitLab installs from a package registry): per person
//! two PATs, an SSH key, Owner of a group, Maintainer of a project, and — sponsored, named by
//! `owner:<username>` — a project access token, a group access token and a deploy token.

use super::{ids_of, Person};
use revoke_shared::contract::ObjectEvidence;
use revoke_tests::gitlab::{GitlabDouble, SeededPerson, Source};
use std::collections::HashMap;
use std::sync::Mutex;

pub const TOKEN_ENV: &str = "REVOKE_E2E_GITLAB_TOKEN";

pub struct Gitlab {
    double: GitlabDouble,
    seeded: Mutex<HashMap<String, SeededPerson>>,
}

impl Gitlab {
    pub async fn start(_run: &str) -> Gitlab {
        let double = revoke_tests::gitlab::start().await;
        std::env::set_var(TOKEN_ENV, double.admin_token());
        Gitlab {
            double,
            seeded: Mutex::new(HashMap::new()),
        }
    }

    pub async fn seed(&self, people: &[&Person]) {
        for p in people {
            let s = self.double.seed_person(&p.username);
            self.seeded.lock().unwrap().insert(p.username.clone(), s);
        }
    }

    pub fn table(&self) -> String {
        format!(
            "base_url = \"{}\"\ntoken_env = \"{TOKEN_ENV}\"\n",
            self.double.url()
        )
    }

    /// The double itself, for tests that seed more than `seed` does (e.g. a user who is in no
    /// group, to forge a restore naming them).
    pub fn double(&self) -> &GitlabDouble {
        &self.double
    }

    fn person(&self, p: &Person) -> SeededPerson {
        self.seeded.lock().unwrap()[&p.username].clone()
    }

    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let s = self.person(p);
        let d = &self.double;
        assert_eq!(
            ids_of(objects, "account"),
            vec![format!("users/{}", s.user_id)],
            "{}: {objects:?}",
            p.username
        );
        assert_eq!(d.user_state(s.user_id).as_deref(), Some("blocked"));
        let mut pats: Vec<String> = s
            .pats
            .iter()
            .map(|(id, _)| format!("personal_access_tokens/{id}"))
            .collect();
        pats.sort();
        assert_eq!(
            ids_of(objects, "personal_access_token"),
            pats,
            "{}",
            p.username
        );
        for (id, secret) in &s.pats {
            assert!(
                !d.pat(*id).unwrap().active(),
                "{}: PAT {id} active",
                p.username
            );
            assert!(!d.token_works(secret), "{}: PAT {id} works", p.username);
        }
        assert_eq!(ids_of(objects, "ssh_key").len(), s.ssh_keys.len());
        assert!(
            d.ssh_keys_of(s.user_id).is_empty(),
            "{}: SSH keys",
            p.username
        );
        // The group keeps its other Owner (root); the person is gone from both.
        assert_eq!(d.member_level(Source::Group(s.group_id), s.user_id), None);
        assert_eq!(
            d.member_level(Source::Project(s.project_id), s.user_id),
            None
        );
        assert!(d.memberships_of(s.user_id).is_empty());
        // Sponsored: the bots' tokens no longer work, the deploy token is revoked.
        let sponsored: Vec<&ObjectEvidence> = objects.iter().filter(|o| o.sponsored).collect();
        assert_eq!(sponsored.len(), 3, "{}: {sponsored:?}", p.username);
        assert!(!d.token_works(&s.project_access_token.1));
        assert!(!d.token_works(&s.group_access_token.1));
        assert!(d.deploy_token(s.deploy_token.0).is_none_or(|t| t.revoked));
    }

    pub async fn check_untouched(&self, p: &Person) {
        let s = self.person(p);
        let d = &self.double;
        assert_eq!(d.user_state(s.user_id).as_deref(), Some("active"));
        assert!(s.pats.iter().all(|(_, secret)| d.token_works(secret)));
        assert_eq!(d.ssh_keys_of(s.user_id).len(), s.ssh_keys.len());
        assert_eq!(d.memberships_of(s.user_id).len(), 2);
        assert!(d.token_works(&s.project_access_token.1) && d.token_works(&s.group_access_token.1));
        assert!(d.deploy_token(s.deploy_token.0).is_some_and(|t| !t.revoked));
    }
}

//! Keycloak, the identity provider (a second `directory` instance, `[targets.directory.sso]
//! adapter = "keycloak"`): one user per person with the names the HR event carries (username,
//! email, the `employee_id` attribute the adapter matches on), each signed in to `test-app` once
//! online and once offline. Every check is plain HTTP at Keycloak (`revoke_tests::keycloak`).

use super::Person;
use revoke_shared::contract::ObjectEvidence;
use revoke_tests::keycloak::{Keycloak, Tokens};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Every seeded user's password.
pub const PASSWORD: &str = "Pw-for-tests-1";
/// The env var the `sso` table names for the adapter's client secret.
pub const SECRET_ENV: &str = "REVOKE_TEST_KC_E2E_SECRET";
/// Users seeded (and checked) at once.
const PARALLEL: usize = 8;

/// One seeded user: its Keycloak id and the tokens of its two sign-ins.
#[derive(Clone)]
struct Seeded {
    id: String,
    online: Tokens,
    offline: Tokens,
}

pub struct Idp {
    kc: Arc<Keycloak>,
    /// username -> seeded user
    users: Mutex<HashMap<String, Seeded>>,
}

/// `f` on every person, `PARALLEL` at a time; the results in the order of `people`.
async fn each<T, F, Fut>(kc: &Arc<Keycloak>, people: &[&Person], f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<Keycloak>, Person) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut out = Vec::with_capacity(people.len());
    for chunk in people.chunks(PARALLEL) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|p| tokio::spawn(f(kc.clone(), (*p).clone())))
            .collect();
        for t in tasks {
            out.push(t.await.expect("Keycloak task"));
        }
    }
    out
}

impl Idp {
    pub fn new() -> Idp {
        Idp {
            kc: Arc::new(Keycloak::from_env()),
            users: Mutex::new(HashMap::new()),
        }
    }

    pub async fn seed(&self, people: &[&Person]) {
        let seeded = each(&self.kc, people, |kc, p| async move {
            let id = kc
                .create_user(&p.username, &p.email, &p.employee_id, PASSWORD)
                .await;
            let online = kc.password_login(&p.username, PASSWORD, false).await;
            let offline = kc.password_login(&p.username, PASSWORD, true).await;
            Seeded {
                id,
                online: online.unwrap_or_else(|e| panic!("{} signs in: {e:?}", p.username)),
                offline: offline
                    .unwrap_or_else(|e| panic!("{} signs in offline: {e:?}", p.username)),
            }
        })
        .await;
        let mut users = self.users.lock().unwrap();
        for (p, s) in people.iter().zip(seeded) {
            users.insert(p.username.clone(), s);
        }
    }

    /// The `sso` instance table (the secret by env var, set here).
    pub fn table(&self) -> String {
        std::env::set_var(SECRET_ENV, &self.kc.admin.secret);
        format!(
            "adapter = \"keycloak\"\nbase_url = \"{}\"\nrealm = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_env = \"{SECRET_ENV}\"\nmatch_attribute = \"employee_id\"\n",
            self.kc.url, self.kc.realm, self.kc.admin.id
        )
    }

    fn seeded(&self, p: &Person) -> Seeded {
        self.users.lock().unwrap()[&p.username].clone()
    }

    /// The Keycloak id of `p`'s user.
    pub fn user_id(&self, p: &Person) -> String {
        self.seeded(p).id
    }

    /// `objects` are the `sso` instance's evidence, its prefix stripped: the person's session,
    /// offline session and account, all verified; and at Keycloak every sign-in is dead.
    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let s = self.seeded(p);
        let name = &p.username;
        let ids = |kind: &str| super::ids_of(objects, kind);
        // Every session the evidence names is this user's, the two sign-ins' among them (the
        // offline sign-in may list an online session of its own too).
        let mine = |kind: &str, under: &str, session: &str| {
            let v = ids(kind);
            assert!(
                v.iter()
                    .all(|o| o.starts_with(&format!("users/{}/{under}/", s.id)))
                    && v.iter().any(|o| o.ends_with(&format!("/{session}"))),
                "{name}: {kind} {session}: {objects:?}"
            );
        };
        mine("session", "sessions", &s.online.session);
        mine("offline_session", "offline-sessions", &s.offline.session);
        assert_eq!(
            ids("account"),
            vec![format!("users/{}", s.id)],
            "{name}: {objects:?}"
        );
        assert!(objects.iter().all(|o| o.verified), "{name}: {objects:?}");
        assert!(!objects.iter().any(|o| o.sponsored), "{name}: {objects:?}");

        let kc = &self.kc;
        let r = kc.refresh(&s.online.refresh).await;
        assert!(
            matches!(&r, Err(e) if e.error == "invalid_grant"),
            "{name}: online refresh after revocation: {r:?}"
        );
        let r = kc.refresh(&s.offline.refresh).await;
        assert!(
            matches!(&r, Err(e) if e.error == "invalid_grant"),
            "{name}: offline refresh after revocation: {r:?}"
        );
        assert!(
            !kc.introspect(&s.online.access).await,
            "{name}: the old access token is still active"
        );
        assert!(
            kc.sessions(&s.id).await.is_empty(),
            "{name}: sessions listed"
        );
        assert!(
            kc.offline_sessions(&s.id, &kc.app.id).await.is_empty(),
            "{name}: offline sessions listed"
        );
        assert_eq!(kc.user(&s.id).await["enabled"], json!(false), "{name}");
    }

    /// The bystander keeps everything: both refreshes work, the token is active, the sessions
    /// are listed, the account enabled.
    pub async fn check_untouched(&self, p: &Person) {
        let s = self.seeded(p);
        let kc = &self.kc;
        let name = &p.username;
        assert!(
            kc.introspect(&s.online.access).await,
            "{name}: bystander's token"
        );
        kc.refresh(&s.online.refresh)
            .await
            .unwrap_or_else(|e| panic!("{name}: bystander's refresh: {e:?}"));
        kc.refresh(&s.offline.refresh)
            .await
            .unwrap_or_else(|e| panic!("{name}: bystander's offline refresh: {e:?}"));
        assert!(!kc.sessions(&s.id).await.is_empty(), "{name}: sessions");
        assert!(
            !kc.offline_sessions(&s.id, &kc.app.id).await.is_empty(),
            "{name}: offline sessions"
        );
        assert_eq!(kc.user(&s.id).await["enabled"], json!(true), "{name}");
    }
}

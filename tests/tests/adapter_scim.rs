//! The SCIM 2.0 (saas) adapter against a real `scim2-server` (PyPI), started by the README's test
//! command (`tests/services/scim.sh start`), which passes `REVOKE_TEST_SCIM_URL` (…/v2) and
//! `REVOKE_TEST_SCIM_TOKEN`. Data is seeded and checked over plain HTTP, not through the adapter.

use revoke::adapters::scim::ScimTarget;
use revoke::restoration::RestoreOutcome;
use revoke::revocation::{revoke_identity, RevocationReport};
use revoke_shared::config::Config;
use revoke_shared::contract::{Identity, IdentityKind, ObjectEvidence, ObjectOutcome, Outcome};
use revoke_shared::metrics::Metrics;
use revoke_tests::kit::{assert_outcome, restore, revoked_evidence};
use revoke_tests::scim_http::ScimHttp;
use serde_json::{json, Value};

const IGNORE: &str = "needs scim2-server: run the README's test command";

/// The SCIM server, seeded and checked over plain HTTP.
struct Peer {
    scim: ScimHttp,
}

impl Peer {
    fn from_env() -> Peer {
        let base = std::env::var("REVOKE_TEST_SCIM_URL")
            .unwrap_or_else(|_| panic!("REVOKE_TEST_SCIM_URL unset: {IGNORE}"));
        let token =
            std::env::var("REVOKE_TEST_SCIM_TOKEN").unwrap_or_else(|_| "revoke-test-token".into());
        Peer {
            scim: ScimHttp::new(&base, token),
        }
    }

    async fn create_user(&self, user_name: &str, email: Option<&str>) -> String {
        let mut body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "active": true});
        if let Some(e) = email {
            body["emails"] = json!([{"value": e, "primary": true}]);
        }
        self.scim.create("/Users", body, user_name).await
    }

    async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members});
        self.scim
            .create("/Groups", body, &format!("group {name}"))
            .await
    }

    async fn user(&self, id: &str) -> Option<Value> {
        let (s, v) = self
            .scim
            .send(reqwest::Method::GET, &format!("/Users/{id}"), None)
            .await;
        match s {
            200 => Some(v),
            404 => None,
            _ => panic!("GET user {id}: {s} {v}"),
        }
    }

    async fn active(&self, id: &str) -> bool {
        let u = self.user(id).await.expect("user exists");
        u.get("active").and_then(Value::as_bool).unwrap_or(true)
    }

    async fn group(&self, id: &str) -> Value {
        self.scim.get_ok(&format!("/Groups/{id}")).await
    }

    async fn members(&self, gid: &str) -> Vec<String> {
        let g = self.group(gid).await;
        revoke_tests::scim_http::member_ids(&g)
    }
}

fn target(peer: &Peer, extra: &str) -> ScimTarget {
    let dir = std::env::temp_dir().join(format!("revoke-scim-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{}\n", peer.scim.token)).unwrap();
    let path = dir.join("revoke.toml");
    let toml = format!(
        "[targets.saas]\nbase_url = \"{}\"\ntoken_file = \"{}\"\nprincipal = \"scim-test-client\"\ntimeout_ms = 5000\n{extra}\n",
        peer.scim.base,
        token_file.display()
    );
    std::fs::write(&path, toml).unwrap();
    let cfg = Config::load(Some(&path), std::iter::empty()).expect("config loads");
    let t = ScimTarget::from_table(&cfg.targets["saas"], "saas").expect("adapter config");
    std::fs::remove_dir_all(&dir).ok();
    t
}

fn who(username: &str, email: Option<&str>) -> Identity {
    Identity {
        employee_id: format!("E-{username}"),
        email: email.map(String::from),
        username: Some(username.to_string()),
        kind: IdentityKind::Employee,
    }
}

use revoke_tests::quick_retries as policy;

async fn run(t: &ScimTarget, id: &Identity) -> RevocationReport {
    revoke_identity(t, id, "w1", &policy(), &Metrics::new()).await
}

fn sfx() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[tokio::test]
#[ignore = "needs scim2-server: run the README's test command"]
async fn deactivates_and_removes_memberships_idempotently() {
    let peer = Peer::from_env();
    let s = sfx();
    let ada_name = format!("ada-{s}");
    let ada_mail = format!("ada-{s}@example.org");
    let ada = peer.create_user(&ada_name, Some(&ada_mail)).await;
    let bob = peer.create_user(&format!("bob-{s}"), None).await;
    let weird_name = format!("we\"ird*{s}");
    let weird = peer.create_user(&weird_name, None).await;
    let eng = peer
        .create_group(&format!("engineering-{s}"), &[&ada, &bob, &weird])
        .await;

    let t = target(&peer, "");
    let first = run(&t, &who(&ada_name, Some(&ada_mail))).await;
    assert_outcome(&first, Outcome::Revoked);
    assert_eq!(first.objects.len(), 2, "{:?}", first.objects);
    for o in &first.objects {
        assert_eq!(o.outcome, ObjectOutcome::Revoked, "{o:?}");
        assert!(o.verified && o.removed_at.is_some(), "{o:?}");
        assert_eq!(o.actor.principal, "scim-test-client");
    }
    let account = first
        .objects
        .iter()
        .find(|o| o.object_kind == "account")
        .unwrap();
    assert_eq!(
        (account.object_id.as_str(), account.action.as_str()),
        (ada.as_str(), "deactivate")
    );
    assert!(first
        .objects
        .iter()
        .any(|o| o.object_kind == "group_membership" && o.action == "remove_membership"));

    // Checked on the server directly.
    assert!(!peer.active(&ada).await, "ada deactivated");
    assert!(peer.active(&bob).await, "bob untouched");
    assert!(peer.active(&weird).await, "weird untouched");
    let members = peer.members(&eng).await;
    assert!(!members.contains(&ada), "ada removed from the group");
    assert!(
        members.contains(&bob) && members.contains(&weird),
        "the others stay members"
    );

    // Second run: nothing to do, nothing changed.
    let ada_before = peer.user(&ada).await.unwrap()["meta"].clone();
    let group_before = peer.group(&eng).await["meta"].clone();
    let second = run(&t, &who(&ada_name, Some(&ada_mail))).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert!(
        second
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.verified),
        "{:?}",
        second.objects
    );
    assert_eq!(peer.user(&ada).await.unwrap()["meta"], ada_before);
    assert_eq!(peer.group(&eng).await["meta"], group_before);

    // Lookup by email finds the same (already inactive) account.
    let by_mail = run(
        &target(&peer, "match_attribute = \"emails\""),
        &who("unused", Some(&ada_mail)),
    )
    .await;
    assert_outcome(&by_mail, Outcome::AlreadyAbsent);
    assert!(by_mail
        .objects
        .iter()
        .any(|o| o.object_kind == "account" && o.object_id == ada));

    // Hostile usernames match nothing (filter values are escaped, ids percent-encoded).
    for name in ["*", "a*", "x) or (userName pr", "\"", "../", "\\", "bob-*"] {
        let r = run(&t, &who(name, None)).await;
        assert_eq!(r.outcome, Outcome::AlreadyAbsent, "{name}: {:?}", r.error);
        assert!(r.objects.is_empty(), "{name}: {:?}", r.objects);
    }
    assert!(peer.active(&bob).await && peer.active(&weird).await);
    assert!(peer.members(&eng).await.contains(&bob));

    // Restore from the first run's evidence (a rescind): ada is active and a member again.
    let restored = restore(&t, &who(&ada_name, None), &first.objects).await;
    assert_eq!(restored.len(), 2, "{restored:?}");
    assert!(
        restored
            .iter()
            .all(|r| r.outcome == RestoreOutcome::Restored),
        "{restored:?}"
    );
    assert_eq!(
        restored[0].object_kind, "account",
        "the account comes back first"
    );
    assert!(peer.active(&ada).await, "ada re-activated");
    assert!(
        peer.members(&eng).await.contains(&ada),
        "ada is a member again"
    );
    let again = restore(&t, &who(&ada_name, None), &first.objects).await;
    assert!(
        again
            .iter()
            .all(|r| r.outcome == RestoreOutcome::AlreadyPresent),
        "{again:?}"
    );
    // The second run's evidence (all already absent) restores nothing.
    assert!(restore(&t, &who(&ada_name, None), &second.objects)
        .await
        .is_empty());
    // Revoke her again so the rest of the test starts from the revoked state.
    assert_eq!(
        run(&t, &who(&ada_name, None)).await.outcome,
        Outcome::Revoked
    );

    // The user whose name holds `"` and `*` is found exactly.
    let r = run(&t, &who(&weird_name, None)).await;
    assert_outcome(&r, Outcome::Revoked);
    assert!(!peer.active(&weird).await);
    assert!(peer.active(&bob).await);
    assert_eq!(peer.members(&eng).await, vec![bob.clone()]);
}

#[tokio::test]
#[ignore = "needs scim2-server: run the README's test command"]
async fn delete_policy_deletes_the_account() {
    let peer = Peer::from_env();
    let s = sfx();
    let cy_name = format!("cy-{s}");
    let cy = peer.create_user(&cy_name, None).await;
    let dan = peer.create_user(&format!("dan-{s}"), None).await;
    let ops = peer.create_group(&format!("ops-{s}"), &[&cy, &dan]).await;

    let t = target(&peer, "policy = \"delete\"");
    let r = run(&t, &who(&cy_name, None)).await;
    assert_outcome(&r, Outcome::Revoked);
    assert!(r
        .objects
        .iter()
        .any(|o| o.object_kind == "account" && o.action == "delete" && o.verified));
    assert!(peer.user(&cy).await.is_none(), "cy deleted");
    assert!(peer.active(&dan).await);
    assert_eq!(peer.members(&ops).await, vec![dan.clone()]);

    let again = run(&t, &who(&cy_name, None)).await;
    assert_outcome(&again, Outcome::AlreadyAbsent);
    assert!(again.objects.is_empty());

    // A deleted account cannot be restored; the membership cannot come back without it.
    let restored = restore(&t, &who(&cy_name, None), &r.objects).await;
    let irreversible = |kind: &str| {
        let o = restored.iter().find(|o| o.object_kind == kind).unwrap();
        assert_eq!(o.outcome, RestoreOutcome::Irreversible, "{restored:?}");
        o
    };
    let account = irreversible("account");
    assert!(account.detail.contains("deleted"), "{}", account.detail);
    irreversible("group_membership");
    assert_eq!(peer.members(&ops).await, vec![dan.clone()]);
}

#[tokio::test]
#[ignore = "needs scim2-server: run the README's test command"]
async fn several_matches_need_a_person_and_bad_tokens_fail() {
    let peer = Peer::from_env();
    let s = sfx();
    let mail = format!("shared-{s}@example.org");
    let a = peer.create_user(&format!("twin1-{s}"), Some(&mail)).await;
    let b = peer.create_user(&format!("twin2-{s}"), Some(&mail)).await;
    let r = run(
        &target(&peer, "match_attribute = \"emails\""),
        &who("unused", Some(&mail)),
    )
    .await;
    assert_outcome(&r, Outcome::ManualRequired);
    assert!(r.objects.is_empty());
    assert!(
        peer.active(&a).await && peer.active(&b).await,
        "nothing revoked"
    );

    // A wrong token is a permanent failure, and the token never appears in the error.
    let bad = Peer {
        scim: ScimHttp::new(&peer.scim.base, "wrong-secret-token"),
    };
    let r = run(&target(&bad, ""), &who(&format!("twin1-{s}"), None)).await;
    assert_eq!(r.outcome, Outcome::Failed);
    let err = r.error.unwrap();
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("wrong-secret-token"), "{err}");
    assert!(peer.active(&a).await);
}

/// Hand-made evidence of an object the case never removed from the person restored, as a forged
/// or misdirected rescind would carry. `remove_membership` / `deactivate`, outcome revoked.
fn forged(object_kind: &str, object_id: &str, action: &str) -> ObjectEvidence {
    revoked_evidence(object_kind, object_id, action, "scim-test-client")
}

/// A restore is a grant: evidence naming ANOTHER user's id (bob's group membership and account),
/// restored for ada, is refused — bob is not added to the group nor re-activated at the server.
#[tokio::test]
#[ignore = "needs scim2-server: run the README's test command"]
async fn restore_refuses_objects_of_another_user() {
    let peer = Peer::from_env();
    let s = sfx();
    let ada_name = format!("ada-{s}");
    let ada = peer.create_user(&ada_name, None).await;
    let bob = peer.create_user(&format!("bob-{s}"), None).await;
    let admins = peer.create_group(&format!("admins-{s}"), &[&ada]).await;
    // Bob was deactivated by someone else; ada is revoked for real.
    let (st, v) = peer
        .scim
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{bob}"),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
        )
        .await;
    assert!(st == 200 || st == 204, "deactivating bob: {st} {v}");
    let t = target(&peer, "");
    assert_eq!(
        run(&t, &who(&ada_name, None)).await.outcome,
        Outcome::Revoked
    );

    let forged_evidence = [
        forged(
            "group_membership",
            &format!("Groups/{admins}/members/{bob}"),
            "remove_membership",
        ),
        forged("account", &bob, "deactivate"),
    ];
    let restored = restore(&t, &who(&ada_name, None), &forged_evidence).await;
    assert_eq!(restored.len(), 2, "{restored:?}");
    for r in &restored {
        assert_eq!(r.outcome, RestoreOutcome::Refused, "{r:?}");
        assert!(r.detail.contains(&bob), "{r:?}");
    }
    // At the server: bob still out of the group and inactive; ada untouched by the attempt.
    assert!(!peer.members(&admins).await.contains(&bob), "bob not added");
    assert!(!peer.active(&bob).await, "bob not re-activated");
    assert!(!peer.active(&ada).await, "ada still revoked");
    assert!(!peer.members(&admins).await.contains(&ada));
}

/// A SCIM server answering 302 to another port: the adapter follows nothing, the error names the
/// location, and the redirect target receives no request (so no bearer token).
#[tokio::test]
async fn redirects_are_not_followed_with_the_token() {
    let peer = revoke_tests::redirect::RedirectPeer::start().await;
    let scim = Peer {
        scim: ScimHttp::new(&format!("{}/v2", peer.redirecting), "scim-redirect-secret"),
    };
    let r = run(&target(&scim, ""), &who("ada", None)).await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    let err = r.error.unwrap();
    assert!(
        err.contains("302") && err.contains(&format!("{}/v2/Users", peer.sink)),
        "{err}"
    );
    assert!(!err.contains("scim-redirect-secret"), "{err}");
    assert!(
        !r.retryable,
        "a redirect is a configuration error, not retried"
    );
    assert_eq!(peer.received(), Vec::<String>::new());
}

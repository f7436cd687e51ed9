//! The vault adapter against a real OpenBao dev server (`tests/services/openbao.sh start`).
//!
//! Seeds through the HTTP API directly (never through the adapter), revokes a person, asserts by
//! asking OpenBao, runs again (idempotency), and checks that hostile identities revoke nothing.
//! Each run uses its own userpass mount, so runs on one server do not see each other's users.
//!
//! Env: `REVOKE_TEST_BAO_ADDR` (e.g. http://127.0.0.1:18200), `REVOKE_TEST_BAO_TOKEN` (root token).

use revoke::adapters::vault::VaultTarget;
use revoke::adapters::Target;
use revoke::restoration::{restore_identity, RestoreOutcome};
use revoke::revocation::revoke_identity;
use revoke_shared::contract::{Identity, IdentityKind, ObjectOutcome, Outcome};
use revoke_shared::metrics::Metrics;
use serde_json::{json, Value};
use std::time::Duration;

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
        let mut r = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr))
            .timeout(Duration::from_secs(10));
        if let Some(t) = token {
            r = r.header("X-Vault-Token", t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("OpenBao answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn root_post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self
            .req(reqwest::Method::POST, path, Some(&self.root), Some(body))
            .await;
        assert!((200..300).contains(&s), "POST {path}: HTTP {s} {v}");
        v
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

use revoke_tests::quick_retries as policy;

/// The adapter from a complete config file's `[targets.vault]` table (through `Config::load`, as
/// the binary reads it).
fn vault_target(table_body: &str, instance: &str) -> VaultTarget {
    let path = std::env::temp_dir().join(format!(
        "revoke-vault-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, format!("[targets.vault]\n{table_body}\n")).unwrap();
    let cfg = revoke_shared::Config::load(Some(&path), std::iter::empty()).expect("config loads");
    let _ = std::fs::remove_file(&path);
    VaultTarget::from_table(&cfg.targets["vault"], instance).expect("vault config")
}

fn person(employee_id: &str, username: Option<&str>) -> Identity {
    Identity {
        employee_id: employee_id.into(),
        email: None,
        username: username.map(str::to_string),
        kind: IdentityKind::Employee,
    }
}

#[tokio::test]
#[ignore = "needs OpenBao: run the README's test command"]
async fn vault_adapter_revokes_a_person_and_what_they_sponsor() {
    let bao = Bao::from_env();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mount = format!("up{}", &run[..10]);

    // --- seed, as an operator would, through the API ---------------------------------------
    bao.root_post(&format!("sys/auth/{mount}"), json!({ "type": "userpass" }))
        .await;
    bao.root_post(
        &format!("auth/{mount}/users/ada"),
        json!({ "password": "ada-pw-1", "token_policies": "default" }),
    )
    .await;
    bao.root_post(
        &format!("auth/{mount}/users/bob"),
        json!({ "password": "bob-pw-1", "token_policies": "default" }),
    )
    .await;
    let (ada_t1, ada_a1, ada_entity) = bao
        .login(&mount, "ada", "ada-pw-1")
        .await
        .expect("ada logs in");
    let (ada_t2, ada_a2, ada_entity2) = bao
        .login(&mount, "ada", "ada-pw-1")
        .await
        .expect("ada logs in again");
    assert!(
        !ada_entity.is_empty() && ada_entity == ada_entity2,
        "login creates one entity with a userpass alias"
    );
    let (bob_t, bob_a, _) = bao
        .login(&mount, "bob", "bob-pw-1")
        .await
        .expect("bob logs in");
    let owner_meta = format!("ada-{run}");
    let sponsored = bao
        .root_post(
            "auth/token/create",
            json!({ "policies": ["default"], "no_parent": true, "display_name": "ada-ci-bot", "meta": { "owner": owner_meta } }),
        )
        .await;
    let (spon_t, spon_a) = (
        sponsored["auth"]["client_token"]
            .as_str()
            .unwrap()
            .to_string(),
        sponsored["auth"]["accessor"].as_str().unwrap().to_string(),
    );
    // bob's own sponsored token must survive too.
    let bob_bot = bao
        .root_post("auth/token/create", json!({ "policies": ["default"], "no_parent": true, "meta": { "owner": format!("bob-{run}") } }))
        .await;
    let bob_bot_t = bob_bot["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    for t in [&ada_t1, &ada_t2, &bob_t, &spon_t, &bob_bot_t] {
        assert!(bao.token_valid(t).await);
    }

    // AppRole: a CI runner's secret id ada sponsors, and one bob sponsors.
    let approle = format!("ar{}", &run[..10]);
    bao.root_post(&format!("sys/auth/{approle}"), json!({ "type": "approle" }))
        .await;
    bao.root_post(
        &format!("auth/{approle}/role/ci-runner"),
        json!({ "token_policies": "default" }),
    )
    .await;
    let (_, role) = bao
        .req(
            reqwest::Method::GET,
            &format!("auth/{approle}/role/ci-runner/role-id"),
            Some(&bao.root),
            None,
        )
        .await;
    let role_id = role["data"]["role_id"].as_str().unwrap().to_string();
    let secret_id = |owner: String| {
        let path = format!("auth/{approle}/role/ci-runner/secret-id");
        let bao = &bao;
        async move {
            let v = bao
                .root_post(
                    &path,
                    json!({ "metadata": json!({ "owner": owner }).to_string() }),
                )
                .await;
            (
                v["data"]["secret_id"].as_str().unwrap().to_string(),
                v["data"]["secret_id_accessor"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        }
    };
    let (ada_sid, ada_sid_acc) = secret_id(owner_meta.clone()).await;
    let (bob_sid, _) = secret_id(format!("bob-{run}")).await;
    let approle_login = |sid: String| {
        let path = format!("auth/{approle}/login");
        let (bao, role_id) = (&bao, role_id.clone());
        async move {
            bao.req(
                reqwest::Method::POST,
                &path,
                None,
                Some(json!({ "role_id": role_id, "secret_id": sid })),
            )
            .await
            .1["auth"]["accessor"]
                .as_str()
                .map(str::to_string)
        }
    };
    // The runner's login token carries the secret id's metadata (owner = ada): sponsored too.
    let runner_a = approle_login(ada_sid.clone())
        .await
        .expect("ada's runner logs in");
    assert!(approle_login(bob_sid.clone()).await.is_some());

    // --- the adapter, configured as in docs/configuration.md --------------------------------
    let target = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{mount}\"\nowner_metadata_key = \"owner\"",
            bao.addr
        ),
        "test",
    );
    let principal = target
        .resolve_principal()
        .await
        .expect("revoker token works")
        .to_string();
    assert!(
        principal.starts_with("root") || principal.starts_with("token"),
        "{principal}"
    );
    assert!(
        !principal.contains(&bao.root),
        "principal must not contain the token"
    );

    // The sponsor is named by email in the token's metadata.
    let ada = Identity {
        email: Some(owner_meta.clone()),
        ..person(&format!("E-{run}"), Some("ada"))
    };
    let first = revoke_identity(&target, &ada, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        first.outcome,
        Outcome::Revoked,
        "{:?}\n{:#?}",
        first.error,
        first.objects
    );
    let ids = |kind: &str, sponsored: bool| -> Vec<String> {
        let mut v: Vec<String> = first
            .objects
            .iter()
            .filter(|o| o.object_kind == kind && o.sponsored == sponsored)
            .map(|o| o.object_id.clone())
            .collect();
        v.sort();
        v
    };
    let mut ada_accessors = vec![ada_a1.clone(), ada_a2.clone()];
    ada_accessors.sort();
    assert_eq!(ids("token", false), ada_accessors);
    let mut sponsored_tokens = vec![spon_a.clone(), runner_a.clone()];
    sponsored_tokens.sort();
    assert_eq!(ids("token", true), sponsored_tokens);
    assert_eq!(ids("entity", false), vec![ada_entity.clone()]);
    assert_eq!(ids("userpass_user", false), vec![format!("{mount}/ada")]);
    // The login's lease prefix is listed too; revoking the tokens by accessor already emptied it.
    assert_eq!(
        ids("lease_prefix", false),
        vec![format!("auth/{mount}/login/ada/")]
    );
    assert_eq!(
        ids("approle_secret_id", true),
        vec![format!("{approle}/ci-runner/{ada_sid_acc}")]
    );
    assert_eq!(first.objects.len(), 8, "{:#?}", first.objects);
    for o in &first.objects {
        let expected = if o.object_kind == "lease_prefix" {
            ObjectOutcome::AlreadyAbsent
        } else {
            ObjectOutcome::Revoked
        };
        assert_eq!(o.outcome, expected, "{o:?}");
        assert!(o.verified && o.removed_at.is_some(), "{o:?}");
        assert_eq!(o.actor.principal, principal);
    }
    // Evidence names accessors, never token values.
    let evidence = format!("{:?} {:?}", first.objects, first.error);
    for secret in [&ada_t1, &ada_t2, &spon_t, &bao.root] {
        assert!(
            !evidence.contains(secret.as_str()),
            "a token value leaked into evidence"
        );
    }

    // --- what OpenBao itself says ----------------------------------------------------------
    assert!(
        !bao.token_valid(&ada_t1).await && !bao.token_valid(&ada_t2).await,
        "ada's tokens still work"
    );
    assert!(!bao.accessor_exists(&ada_a1).await && !bao.accessor_exists(&ada_a2).await);
    assert!(
        !bao.token_valid(&spon_t).await && !bao.accessor_exists(&spon_a).await,
        "sponsored token still works"
    );
    assert!(
        bao.login(&mount, "ada", "ada-pw-1").await.is_none(),
        "ada can still log in"
    );
    let (s, _) = bao
        .req(
            reqwest::Method::GET,
            &format!("sys/leases/lookup/auth/{mount}/login/ada/?list=true"),
            Some(&bao.root),
            None,
        )
        .await;
    assert_eq!(s, 404, "leases left under ada's login path");
    let (s, user) = bao
        .req(
            reqwest::Method::GET,
            &format!("auth/{mount}/users/ada"),
            Some(&bao.root),
            None,
        )
        .await;
    assert_eq!(s, 404, "userpass user ada still there: {user}");
    let (s, entity) = bao
        .req(
            reqwest::Method::GET,
            &format!("identity/entity/id/{ada_entity}"),
            Some(&bao.root),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        entity["data"]["disabled"],
        json!(true),
        "entity not disabled"
    );
    assert!(
        bao.token_valid(&bob_t).await && bao.accessor_exists(&bob_a).await,
        "bob's token was revoked"
    );
    assert!(
        bao.token_valid(&bob_bot_t).await,
        "bob's sponsored token was revoked"
    );
    assert!(
        approle_login(ada_sid.clone()).await.is_none() && !bao.accessor_exists(&runner_a).await,
        "ada's sponsored AppRole secret id still logs in"
    );
    assert!(
        approle_login(bob_sid.clone()).await.is_some(),
        "bob's AppRole secret id was destroyed"
    );

    // --- again: nothing new to do, same end state ------------------------------------------
    let second = revoke_identity(&target, &ada, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        second.outcome,
        Outcome::AlreadyAbsent,
        "{:?}\n{:#?}",
        second.error,
        second.objects
    );
    assert!(second
        .objects
        .iter()
        .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none" && o.verified));
    let entity_time = |r: &revoke::revocation::RevocationReport| {
        r.objects
            .iter()
            .find(|o| o.object_kind == "entity")
            .and_then(|o| o.removed_at)
    };
    assert_eq!(
        entity_time(&first),
        entity_time(&second),
        "the entity's own update time is the removal time"
    );

    // --- restore (a rescind): the entity is re-enabled; tokens and the login cannot return ---
    let restored = restore_identity(
        &target,
        &ada,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    let outcome_of = |kind: &str| -> Vec<RestoreOutcome> {
        restored
            .iter()
            .filter(|r| r.object_kind == kind)
            .map(|r| r.outcome)
            .collect()
    };
    assert_eq!(
        outcome_of("entity"),
        vec![RestoreOutcome::Restored],
        "{restored:#?}"
    );
    assert_eq!(outcome_of("token"), vec![RestoreOutcome::Irreversible; 4]);
    assert_eq!(
        outcome_of("userpass_user"),
        vec![RestoreOutcome::Irreversible]
    );
    assert_eq!(
        outcome_of("approle_secret_id"),
        vec![RestoreOutcome::Irreversible]
    );
    assert!(
        outcome_of("lease_prefix").is_empty(),
        "it was already absent: not ours to restore"
    );
    let (_, entity) = bao
        .req(
            reqwest::Method::GET,
            &format!("identity/entity/id/{ada_entity}"),
            Some(&bao.root),
            None,
        )
        .await;
    assert_eq!(
        entity["data"]["disabled"],
        json!(false),
        "entity not re-enabled"
    );
    assert!(!bao.token_valid(&ada_t1).await, "a revoked token came back");
    let again = restore_identity(
        &target,
        &ada,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    assert!(again
        .iter()
        .filter(|r| r.object_kind == "entity")
        .all(|r| r.outcome == RestoreOutcome::AlreadyPresent));

    // --- identities that must not reach bob -------------------------------------------------
    for (i, name) in [
        "*",
        "a*",
        "../bob",
        "bob/..",
        "x)(uid=*",
        "\"",
        "../",
        "BOB/../bob",
    ]
    .into_iter()
    .enumerate()
    {
        let hostile = person(&format!("E-hostile-{i}-{run}"), Some(name));
        let r = revoke_identity(&target, &hostile, "w1", &policy(), &Metrics::new()).await;
        assert!(
            r.objects
                .iter()
                .all(|o| o.outcome != ObjectOutcome::Revoked),
            "identity {name:?} revoked something: {:#?}",
            r.objects
        );
        assert!(r.error.is_none(), "identity {name:?}: {:?}", r.error);
    }
    // The employee id is the fallback name, and is held to the same rules.
    let r = revoke_identity(
        &target,
        &person("../bob", None),
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    assert!(r.objects.is_empty(), "{:#?}", r.objects);
    assert!(
        bao.token_valid(&bob_t).await && bao.token_valid(&bob_bot_t).await,
        "bob lost a token"
    );
    assert!(
        bao.login(&mount, "bob", "bob-pw-1").await.is_some(),
        "bob can no longer log in"
    );

    // Revoking by lease prefix alone kills a login's token (the path for logins made after
    // discovery), and leaves other users' leases alone.
    bao.root_post(
        &format!("auth/{mount}/users/cy"),
        json!({ "password": "cy-pw-1", "token_policies": "default" }),
    )
    .await;
    bao.root_post(
        &format!("auth/{mount}/users/cyd"),
        json!({ "password": "cyd-pw-1", "token_policies": "default" }),
    )
    .await;
    let (cy_t, _, _) = bao
        .login(&mount, "cy", "cy-pw-1")
        .await
        .expect("cy logs in");
    let (cyd_t, _, _) = bao
        .login(&mount, "cyd", "cyd-pw-1")
        .await
        .expect("cyd logs in");
    let cy = person(&format!("E-cy-{run}"), Some("cy"));
    let held = target.discover(&cy).await.unwrap();
    let prefix = held
        .iter()
        .find(|h| h.object_kind == "lease_prefix")
        .expect("cy's login lease prefix is discovered");
    assert_eq!(prefix.object_id, format!("auth/{mount}/login/cy/"));
    assert!(!target.verify(&cy, prefix).await.unwrap().gone);
    assert_eq!(
        target.revoke(&cy, prefix).await.unwrap(),
        revoke::adapters::RevokeResult::Revoked { removed_at: None }
    );
    assert!(target.verify(&cy, prefix).await.unwrap().gone);
    assert!(
        !bao.token_valid(&cy_t).await,
        "cy's token survived its lease prefix's revocation"
    );
    assert!(
        bao.token_valid(&bob_t).await,
        "bob's token died with cy's lease prefix"
    );
    assert!(
        bao.token_valid(&cyd_t).await,
        "cyd's token died with cy's lease prefix (prefix without a trailing slash?)"
    );

    // A target that cannot be reached is a transient error, and names no token.
    let dead = vault_target(
        "address = \"http://127.0.0.1:9\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nprincipal = \"revoker\"\ntimeout_secs = 2",
        "dead",
    );
    match dead.discover(&ada).await {
        Err(e @ revoke::adapters::TargetError::Transient(_)) => {
            assert!(!e.to_string().contains(&bao.root))
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
    // A token without rights is refused permanently (403), not retried forever.
    std::env::set_var("REVOKE_TEST_BAO_WEAK_TOKEN", &bob_bot_t);
    let weak = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_WEAK_TOKEN\"",
            bao.addr
        ),
        "weak",
    );
    match weak.discover(&ada).await {
        Err(e @ revoke::adapters::TargetError::Permanent(_)) => {
            assert!(!e.to_string().contains(&bob_bot_t), "{e}")
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }

    // Clean up this run's data.
    bao.req(
        reqwest::Method::DELETE,
        &format!("sys/auth/{mount}"),
        Some(&bao.root),
        None,
    )
    .await;
    for t in [&bob_bot_t] {
        bao.req(
            reqwest::Method::POST,
            "auth/token/revoke",
            Some(&bao.root),
            Some(json!({ "token": t })),
        )
        .await;
    }
}

/// A fresh userpass mount with `ada` and `bob`, whose tokens may create child tokens.
async fn mount_with_people(bao: &Bao) -> String {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mount = format!("up{}", &run[..10]);
    bao.root_post(&format!("sys/auth/{mount}"), json!({ "type": "userpass" }))
        .await;
    let policy = format!("child-maker-{}", &run[..10]);
    let (s, v) = bao
        .req(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{policy}"),
            Some(&bao.root),
            Some(json!({ "policy": "path \"auth/token/create\" { capabilities = [\"create\", \"update\"] }" })),
        )
        .await;
    assert!((200..300).contains(&s), "policy: {s} {v}");
    for user in ["ada", "bob"] {
        bao.root_post(
            &format!("auth/{mount}/users/{user}"),
            json!({ "password": format!("{user}-pw"), "token_policies": format!("default,{policy}") }),
        )
        .await;
    }
    mount
}

/// A child token created with `parent`: (token, accessor).
async fn child_of(bao: &Bao, parent: &str) -> (String, String) {
    let (s, v) = bao
        .req(
            reqwest::Method::POST,
            "auth/token/create",
            Some(parent),
            Some(json!({})), // the parent's policies: a child can make a grandchild
        )
        .await;
    assert_eq!(s, 200, "creating a child token: {v}");
    (
        v["auth"]["client_token"].as_str().unwrap().to_string(),
        v["auth"]["accessor"].as_str().unwrap().to_string(),
    )
}

/// A user token with a child (and a grandchild) created with it: the evidence names each child
/// accessor as revoked with its parent, after the parent, read back gone — and OpenBao no longer
/// knows them. Bob's token and its child are untouched.
#[tokio::test]
#[ignore = "needs OpenBao: run the README's test command"]
async fn child_tokens_are_named_in_the_evidence() {
    let bao = Bao::from_env();
    let mount = mount_with_people(&bao).await;
    let (ada_t, ada_a, _) = bao.login(&mount, "ada", "ada-pw").await.unwrap();
    let (child_t, child_a) = child_of(&bao, &ada_t).await;
    let (_, grandchild_a) = child_of(&bao, &child_t).await;
    let (bob_t, _, _) = bao.login(&mount, "bob", "bob-pw").await.unwrap();
    let (bob_child_t, _) = child_of(&bao, &bob_t).await;

    let t = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{mount}\"\napprole_mounts = []",
            bao.addr
        ),
        "bao",
    );
    let r = revoke_identity(
        &t,
        &person("E-ada", Some("ada")),
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:#?}", r);
    let at = |acc: &str| {
        r.objects
            .iter()
            .position(|o| o.object_kind == "token" && o.object_id == acc)
            .unwrap_or_else(|| panic!("{acc} not in the evidence: {:#?}", r.objects))
    };
    for acc in [&child_a, &grandchild_a] {
        let o = &r.objects[at(acc)];
        assert_eq!(
            (o.action.as_str(), o.outcome, o.verified),
            ("revoke_with_parent", ObjectOutcome::Revoked, true),
            "{o:?}"
        );
        assert!(o.read_back.contains("revoked with its parent"), "{o:?}");
        assert!(at(acc) > at(&ada_a), "the parent is revoked first");
        assert!(!bao.accessor_exists(acc).await, "OpenBao still knows {acc}");
    }
    assert_eq!(r.objects[at(&ada_a)].action, "revoke");
    assert!(bao.token_valid(&bob_t).await && bao.token_valid(&bob_child_t).await);
}

/// A restore is a grant: evidence naming bob's (disabled) entity, restored for ada, is refused
/// and bob's entity stays disabled at OpenBao.
#[tokio::test]
#[ignore = "needs OpenBao: run the README's test command"]
async fn restore_refuses_another_persons_entity() {
    let bao = Bao::from_env();
    let mount = mount_with_people(&bao).await;
    let (_, _, ada_entity) = bao.login(&mount, "ada", "ada-pw").await.unwrap();
    let (_, _, bob_entity) = bao.login(&mount, "bob", "bob-pw").await.unwrap();
    bao.root_post(
        &format!("identity/entity/id/{bob_entity}"),
        json!({ "disabled": true }),
    )
    .await;
    let t = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{mount}\"\napprole_mounts = []\ndelete_userpass_user = false",
            bao.addr
        ),
        "bao",
    );
    let who = person("E-ada", Some("ada"));
    let r = revoke_identity(&t, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:#?}", r);
    let mut forged = r
        .objects
        .iter()
        .find(|o| o.object_kind == "entity")
        .cloned()
        .expect("ada's entity in the evidence");
    assert_eq!(forged.object_id, ada_entity);
    forged.object_id = bob_entity.clone();
    let restored = restore_identity(&t, &who, &[forged], "w1", &policy(), &Metrics::new()).await;
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].outcome, RestoreOutcome::Refused, "{restored:?}");
    let entity = |id: String| {
        let bao = &bao;
        async move {
            bao.req(
                reqwest::Method::GET,
                &format!("identity/entity/id/{id}"),
                Some(&bao.root),
                None,
            )
            .await
            .1["data"]["disabled"]
                .as_bool()
        }
    };
    assert_eq!(
        entity(bob_entity).await,
        Some(true),
        "bob's entity re-enabled"
    );
    assert_eq!(
        entity(ada_entity).await,
        Some(true),
        "ada's entity untouched"
    );
}

/// An OpenBao answering 302 to another port: the adapter follows nothing, the error names the
/// location, and the redirect target receives no request (so no `X-Vault-Token`).
#[tokio::test]
async fn redirects_are_not_followed_with_the_token() {
    let peer = revoke_tests::redirect::RedirectPeer::start().await;
    let var = format!("REVOKE_TEST_VAULT_REDIRECT_{}", std::process::id());
    std::env::set_var(&var, "s.vault-redirect-secret");
    let t = vault_target(
        &format!("address = \"{}\"\ntoken_env = \"{var}\"", peer.redirecting),
        "bao",
    );
    let e = t.discover(&person("E-ada", Some("ada"))).await.unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(e, revoke::adapters::TargetError::Permanent(_))
            && m.contains("302")
            && m.contains(&format!("{}/v1/auth/token/lookup-self", peer.sink)),
        "{m}"
    );
    assert!(!m.contains("vault-redirect-secret"), "{m}");
    assert_eq!(peer.received(), Vec::<String>::new());
}

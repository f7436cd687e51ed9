//! The Keycloak adapter (a `directory` instance with `adapter = "keycloak"`) against the real
//! Keycloak the README's test command starts (`tests/services/keycloak.sh`, realm `revoke-test`).
//! Built the way the worker builds it (`adapters::from_config`), it acts as the realm's
//! `revoke-admin` service account. Every proof is made at the peer with plain HTTP
//! (`revoke_tests::keycloak`), never through the adapter: before the revocation the leaver's
//! sign-in, refresh and offline refresh work and introspection says active; after it the refresh
//! and the offline refresh answer `invalid_grant`, introspection of the old access token says
//! inactive, a password sign-in fails, no session is listed, the sponsored service-account client
//! is disabled — and a bystander's sessions are untouched. A second run changes nothing; a
//! restore re-enables the account and the client only; a forged restore naming someone else's
//! account is refused and changes nothing.
//!
//! `race`: a sign-in between discovery and revocation is ended too, and a read-back that would
//! miss one answers not-gone. `sign_ins`: a sign-in after the removal (the account re-enabled by
//! hand) is what `sign_ins_since` reports, and nothing before it or of the bystander.
//!
//! Env: `REVOKE_TEST_KEYCLOAK_URL` and the other `REVOKE_TEST_KEYCLOAK_*` variables. Ignored
//! unless included (`--include-ignored`); the README's test command includes them.

mod race;
mod sign_ins;

use reqwest::Method;
use revoke::adapters::{from_config, Target};
use revoke::restoration::RestoreOutcome;
use revoke_shared::config::Config;
use revoke_shared::contract::{Identity, ObjectOutcome, Outcome, TargetKind};
use revoke_tests::keycloak::{Keycloak, Tokens};
use revoke_tests::kit::{assert_outcome, employee, restore, revoke, revoked_evidence};
use serde_json::{json, Value};
use std::sync::Arc;

const IGNORE: &str = "needs Keycloak: run the README's test command";
const PASSWORD: &str = "Pw-for-tests-1";
const SECRET_ENV: &str = "REVOKE_TEST_KC_ADAPTER_SECRET";

/// Someone with an account, signed in to the app once online and once offline.
struct Person {
    id: String,
    who: Identity,
    online: Tokens,
    offline: Tokens,
}

async fn person(kc: &Keycloak, username: &str) -> Person {
    let email = format!("{username}@example.test");
    let employee_id = format!("E-{username}");
    let id = kc
        .create_user(username, &email, &employee_id, PASSWORD)
        .await;
    let online = kc.password_login(username, PASSWORD, false).await;
    let offline = kc.password_login(username, PASSWORD, true).await;
    Person {
        id,
        who: employee(&employee_id, Some(username), Some(&email)),
        online: online.unwrap_or_else(|e| panic!("{username} signs in: {e:?}")),
        offline: offline.unwrap_or_else(|e| panic!("{username} signs in offline: {e:?}")),
    }
}

/// A tag unique to this run, and two people named `<a><tag>` and `<b><tag>x` (so that with
/// `a == b` the second shares the first's prefix).
async fn two_people(kc: &Keycloak, a: &str, b: &str) -> (String, Person, Person) {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let first = person(kc, &format!("{a}{tag}")).await;
    let second = person(kc, &format!("{b}{tag}x")).await;
    (tag, first, second)
}

/// A confidential client with a service account whose `owner` attribute names `owner`.
async fn sponsored_client(kc: &Keycloak, client_id: &str, owner: &str) -> String {
    let body = json!({
        "clientId": client_id, "enabled": true, "publicClient": false,
        "serviceAccountsEnabled": true, "standardFlowEnabled": false,
        "attributes": { "owner": owner },
    });
    let (status, v) = kc.admin_call(Method::POST, "/clients", Some(body)).await;
    assert_eq!(status, 201, "creating client {client_id}: {v}");
    kc.client_uuid(client_id).await
}

async fn client_enabled(kc: &Keycloak, uuid: &str) -> bool {
    let (status, v) = kc
        .admin_call(Method::GET, &format!("/clients/{uuid}"), None)
        .await;
    assert_eq!(status, 200, "GET client {uuid}: {v}");
    v["enabled"].as_bool().expect("enabled")
}

/// The adapter as the worker builds it: `[targets.directory.sso] adapter = "keycloak"`.
async fn target(kc: &Keycloak) -> Arc<dyn Target> {
    std::env::set_var(SECRET_ENV, &kc.admin.secret);
    let sso: toml::Table = format!(
        "adapter = \"keycloak\"\nbase_url = \"{}\"\nrealm = \"{}\"\nclient_id = \"{}\"\n\
         client_secret_env = \"{SECRET_ENV}\"\nmatch_attribute = \"employee_id\"\n",
        kc.url, kc.realm, kc.admin.id
    )
    .parse()
    .expect("TOML");
    let mut cfg = Config::default();
    let mut directory = toml::Table::new();
    directory.insert("sso".into(), toml::Value::Table(sso));
    cfg.targets.insert("directory".into(), directory);
    from_config(TargetKind::Directory, &cfg)
        .await
        .unwrap_or_else(|e| panic!("the keycloak adapter builds: {e}"))
}

fn kinds(objects: &[revoke_shared::contract::ObjectEvidence]) -> Vec<String> {
    let mut k: Vec<String> = objects.iter().map(|o| o.object_kind.clone()).collect();
    k.sort();
    k.dedup();
    k
}

/// Every proof that `p`'s access is gone, made at the peer.
async fn assert_gone(kc: &Keycloak, p: &Person, name: &str) {
    let r = kc.refresh(&p.online.refresh).await;
    assert!(
        matches!(&r, Err(e) if e.error == "invalid_grant"),
        "{name}: online refresh after revocation: {r:?}"
    );
    let r = kc.refresh(&p.offline.refresh).await;
    assert!(
        matches!(&r, Err(e) if e.error == "invalid_grant"),
        "{name}: offline refresh after revocation: {r:?}"
    );
    assert!(
        !kc.introspect(&p.online.access).await,
        "{name}: the old access token is still active"
    );
    let name_of = p.who.username.as_deref().unwrap();
    assert!(
        kc.password_login(name_of, PASSWORD, false).await.is_err(),
        "{name}: a password sign-in still works"
    );
    assert!(
        kc.sessions(&p.id).await.is_empty(),
        "{name}: sessions listed"
    );
    assert!(
        kc.offline_sessions(&p.id, &kc.app.id).await.is_empty(),
        "{name}: offline sessions listed"
    );
    assert_eq!(kc.user(&p.id).await["enabled"], json!(false), "{name}");
}

/// A bystander keeps everything: refresh, offline refresh, active token, listed sessions.
async fn assert_untouched(kc: &Keycloak, p: &Person) {
    assert!(kc.introspect(&p.online.access).await, "bystander's token");
    kc.refresh(&p.online.refresh)
        .await
        .unwrap_or_else(|e| panic!("bystander's refresh: {e:?}"));
    kc.refresh(&p.offline.refresh)
        .await
        .unwrap_or_else(|e| panic!("bystander's offline refresh: {e:?}"));
    assert!(!kc.sessions(&p.id).await.is_empty(), "bystander's sessions");
    assert_eq!(kc.user(&p.id).await["enabled"], json!(true));
}

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn keycloak_adapter_ends_every_session_and_restores_only_the_account() {
    let kc = Keycloak::from_env();
    // The bystander shares the leaver's prefix: exact matching must never reach it.
    let (tag, leaver, bystander) = two_people(&kc, "ada", "ada").await;
    let owner = leaver.who.username.clone().unwrap();
    let bot = sponsored_client(&kc, &format!("ci-bot-{tag}"), &owner).await;
    let other_bot = sponsored_client(&kc, &format!("ci-bot-{tag}x"), &format!("{owner}x")).await;
    assert!(kc.introspect(&leaver.online.access).await, "{IGNORE}");
    let t = target(&kc).await;

    let first = revoke(&*t, &leaver.who).await;
    assert_outcome(&first, Outcome::Revoked);
    assert_eq!(
        kinds(&first.objects),
        [
            "account",
            "consent",
            "offline_session",
            "service_account_client",
            "session"
        ],
        "{:#?}",
        first.objects
    );
    assert!(
        first
            .objects
            .iter()
            // Deleting the client's last offline session also ends its offline grant, so the
            // consent listed before may be gone by the time its turn comes.
            .all(|o| o.verified
                && (o.outcome == ObjectOutcome::Revoked
                    || (o.object_kind == "consent" && o.outcome == ObjectOutcome::AlreadyAbsent))),
        "{:#?}",
        first.objects
    );
    assert!(
        first
            .objects
            .iter()
            .filter(|o| o.object_kind == "service_account_client")
            .all(|o| o.sponsored),
        "the bot is sponsored"
    );
    assert_gone(&kc, &leaver, "leaver").await;
    assert!(!client_enabled(&kc, &bot).await, "the sponsored client");
    assert!(client_enabled(&kc, &other_bot).await, "another's client");
    assert_untouched(&kc, &bystander).await;

    // A second run: nothing left to change, still verified.
    let second = revoke(&*t, &leaver.who).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert!(
        second
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent),
        "{:#?}",
        second.objects
    );

    // The restore gives back the account and the client, never a session.
    let restored = restore(&*t, &leaver.who, &first.objects).await;
    for r in &restored {
        let expected = match r.object_kind.as_str() {
            "account" | "service_account_client" => RestoreOutcome::Restored,
            _ => RestoreOutcome::Irreversible,
        };
        assert_eq!(r.outcome, expected, "{r:?}");
    }
    let user = kc.user(&leaver.id).await;
    assert_eq!(user["enabled"], json!(true));
    // Disabling and re-enabling wrote the whole user back: the profile kept its attributes.
    assert_eq!(
        user["attributes"]["employee_id"],
        json!([format!("E-{owner}")]),
        "{user}"
    );
    assert!(client_enabled(&kc, &bot).await);
    let r = kc.refresh(&leaver.offline.refresh).await;
    assert!(r.is_err(), "a restore never revives a session: {r:?}");
    kc.password_login(&owner, PASSWORD, false)
        .await
        .unwrap_or_else(|e| panic!("the restored account signs in again: {e:?}"));
    assert_untouched(&kc, &bystander).await;
}

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn keycloak_adapter_refuses_a_forged_restore() {
    let kc = Keycloak::from_env();
    let (_, mallory, victim) = two_people(&kc, "mal", "vic").await;
    kc.set_enabled(&victim.id, false).await;
    let t = target(&kc).await;
    // Evidence naming the victim's (disabled) account, restored as mallory; and an id the
    // adapter never wrote.
    let forged = [
        revoked_evidence("account", &format!("users/{}", victim.id), "disable", "x"),
        revoked_evidence("account", "users/../../clients", "disable", "x"),
    ];
    let forged: Vec<_> = forged
        .into_iter()
        .map(|mut e| {
            e.object_id = format!("sso:{}", e.object_id);
            e
        })
        .collect();
    let restored = restore(&*t, &mallory.who, &forged).await;
    assert_eq!(restored.len(), 2, "{restored:?}");
    for r in &restored {
        assert_eq!(r.outcome, RestoreOutcome::Refused, "{r:?}");
    }
    assert_eq!(kc.user(&victim.id).await["enabled"], json!(false));
    let v: Value = kc.user(&mallory.id).await;
    assert_eq!(v["enabled"], json!(true));
}

//! The real Keycloak peer (`tests/services/keycloak.sh start`, realm `revoke-test` from
//! tests/services/keycloak/revoke-test-realm.json), checked with plain HTTP before any adapter uses
//! it. These tests pin the Keycloak 26.7 behaviour the coming identity-provider adapter relies on
//! (issue 13), so that a Keycloak upgrade that changes it fails here, with a plain message,
//! rather than as a puzzling adapter failure:
//!
//! - the realm works as the tests need it: a fresh user's password login, refresh grant and
//!   offline-token refresh succeed; introspection by the app says `active: true` (only because of
//!   the realm's audience mapper); login events are recorded (the watch for sign-ins after
//!   departure reads them); `employee_id` survives (the realm's user profile declares it —
//!   Keycloak 26 drops undeclared attributes) and finds the user exactly;
//! - `POST /users/{id}/logout` ends every online session (refresh → `invalid_grant`,
//!   introspection inactive, none listed) but not the offline sessions: they stay listed. It
//!   also sets the user's not-before time (whole seconds), so the tokens issued in an earlier
//!   second — offline ones included — are refused ("Stale token"), while an offline token
//!   issued afterwards (or in the same second) still refreshes. Logout alone therefore leaves
//!   live offline sessions behind;
//! - `DELETE /users/{id}/consents/{clientId}` (the client id, not its uuid) ends the offline
//!   session: none listed, the offline refresh answers `invalid_grant`;
//! - a disabled user's password login fails;
//! - a bystander's sessions, online and offline, are untouched throughout;
//! - username searches without `exact=true` are prefix matches (the adapter must ask exactly).
//!
//! Each run creates its own users (unique names), so runs share one server.
//!
//! Env: `REVOKE_TEST_KEYCLOAK_URL` and the other `REVOKE_TEST_KEYCLOAK_*` variables
//! (`revoke_tests::keycloak`). Ignored unless included (`--include-ignored`); the README's test
//! command starts Keycloak and includes them, and fails under `CI=true` when Keycloak does not
//! start.

use reqwest::Method;
use revoke_tests::keycloak::{Keycloak, Refused, Tokens};
use serde_json::Value;
use std::collections::BTreeSet;

const PASSWORD: &str = "Pw-for-tests-1";

/// A person with a password, signed in to the app once online and once offline.
struct Person {
    id: String,
    username: String,
    online: Tokens,
    offline: Tokens,
}

/// A short tag unique to this run.
fn run_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// Creates `username` and signs them in online and offline.
async fn person(kc: &Keycloak, username: &str, employee_id: &str) -> Person {
    let email = format!("{username}@example.test");
    let id = kc
        .create_user(username, &email, employee_id, PASSWORD)
        .await;
    let online = kc.password_login(username, PASSWORD, false).await;
    let offline = kc.password_login(username, PASSWORD, true).await;
    Person {
        id,
        username: username.to_string(),
        online: online.unwrap_or_else(|e| panic!("{username} signs in: {e:?}")),
        offline: offline.unwrap_or_else(|e| panic!("{username} signs in offline: {e:?}")),
    }
}

fn ids(sessions: &[Value]) -> BTreeSet<String> {
    sessions
        .iter()
        .map(|s| s["id"].as_str().expect("session id").to_string())
        .collect()
}

/// The refresh must be refused with `invalid_grant`; returns the description.
fn refused(answer: Result<Tokens, Refused>, what: &str) -> String {
    match answer {
        Ok(_) => panic!("{what}: expected invalid_grant, the grant succeeded"),
        Err(r) => {
            assert_eq!(r.error, "invalid_grant", "{what}: {r:?}");
            assert_eq!(r.status, 400, "{what}: {r:?}");
            r.description
        }
    }
}

/// The bystander's online and offline session ids.
async fn snapshot(kc: &Keycloak, p: &Person) -> (BTreeSet<String>, BTreeSet<String>) {
    let online = ids(&kc.sessions(&p.id).await);
    let offline = ids(&kc.offline_sessions(&p.id, &kc.app.id).await);
    (online, offline)
}

/// The bystander still has the sessions of `before` and their tokens still work.
async fn untouched(
    kc: &Keycloak,
    p: &Person,
    before: &(BTreeSet<String>, BTreeSet<String>),
    when: &str,
) {
    assert_eq!(
        &snapshot(kc, p).await,
        before,
        "bystander's sessions {when}"
    );
    let online = kc.refresh(&p.online.refresh).await;
    let online = online.unwrap_or_else(|e| panic!("bystander's refresh {when}: {e:?}"));
    assert!(
        kc.introspect(&online.access).await,
        "bystander's token active {when}"
    );
    let offline = kc.refresh(&p.offline.refresh).await;
    offline.unwrap_or_else(|e| panic!("bystander's offline refresh {when}: {e:?}"));
}

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn sessions_end_as_the_idp_adapter_expects() {
    let kc = Keycloak::from_env();
    let run = run_tag();
    let leaver = person(&kc, &format!("leaver-{run}"), &format!("E-L-{run}")).await;
    let bystander = person(&kc, &format!("bystander-{run}"), &format!("E-B-{run}")).await;
    let app = kc.app.id.clone();

    // --- before: everything works --------------------------------------------------------
    assert!(
        kc.introspect(&leaver.online.access).await,
        "a fresh token is active"
    );
    let fresh = kc
        .refresh(&leaver.online.refresh)
        .await
        .expect("refresh grant works");
    assert!(
        kc.introspect(&fresh.access).await,
        "a refreshed token is active"
    );
    let off = kc
        .refresh(&leaver.offline.refresh)
        .await
        .expect("offline refresh works");
    assert!(
        kc.introspect(&off.access).await,
        "an offline-refreshed token is active"
    );
    assert!(
        !kc.sessions(&leaver.id).await.is_empty(),
        "the online session is listed"
    );
    assert_eq!(
        kc.offline_sessions(&leaver.id, &app).await.len(),
        1,
        "the offline session is listed, per client"
    );
    let logins = kc
        .admin_call(
            Method::GET,
            &format!("/events?type=LOGIN&user={}", leaver.id),
            None,
        )
        .await;
    assert_eq!(logins.0, 200, "events readable: {logins:?}");
    assert_eq!(
        logins.1.as_array().map(Vec::len),
        Some(2),
        "both sign-ins recorded as LOGIN events: {}",
        logins.1
    );
    let before = snapshot(&kc, &bystander).await;
    assert!(
        !before.0.is_empty() && before.1.len() == 1,
        "bystander signed in: {before:?}"
    );

    // --- admin logout: online sessions end, offline ones stay listed ---------------------
    // Not-before is in whole seconds and a token issued in the same second is not stale:
    // the tokens are made older than the logout first.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    kc.logout(&leaver.id).await;
    let why = refused(
        kc.refresh(&leaver.online.refresh).await,
        "online refresh after logout",
    );
    assert!(
        !kc.introspect(&leaver.online.access).await,
        "introspection after logout"
    );
    assert!(
        !kc.introspect(&fresh.access).await,
        "introspection of the refreshed token after logout"
    );
    assert!(
        kc.sessions(&leaver.id).await.is_empty(),
        "no online session after logout ({why})"
    );
    assert_eq!(
        kc.offline_sessions(&leaver.id, &app).await.len(),
        1,
        "logout leaves the offline session listed"
    );
    // The not-before time set by the logout refuses the offline token issued before it …
    let stale = refused(
        kc.refresh(&leaver.offline.refresh).await,
        "old offline token after logout",
    );
    assert!(
        stale.contains("Stale token"),
        "the offline token is stale, not its session gone: {stale}"
    );
    untouched(&kc, &bystander, &before, "after the leaver's logout").await;

    // … but an offline token issued after the logout still refreshes: the offline session
    // is alive until its consent is revoked.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let late = kc
        .password_login(&leaver.username, PASSWORD, true)
        .await
        .expect("offline sign-in after logout");
    let late = kc
        .refresh(&late.refresh)
        .await
        .expect("an offline token issued after logout refreshes");
    assert!(
        kc.introspect(&late.access).await,
        "and its access token is active"
    );

    // --- consent revoked: the offline session ends -------------------------------------------
    kc.revoke_consent(&leaver.id, &app).await;
    refused(
        kc.refresh(&late.refresh).await,
        "offline refresh after the consent is revoked",
    );
    assert!(
        kc.offline_sessions(&leaver.id, &app).await.is_empty(),
        "no offline session after the consent is revoked"
    );
    // (the last online session of the late sign-in is gone with a logout, as above)
    kc.logout(&leaver.id).await;
    assert!(
        kc.sessions(&leaver.id).await.is_empty(),
        "no online session"
    );
    untouched(
        &kc,
        &bystander,
        &before,
        "after the leaver's consent is revoked",
    )
    .await;

    // --- disabled: a password login fails ----------------------------------------------------
    kc.set_enabled(&leaver.id, false).await;
    assert_eq!(
        kc.user(&leaver.id).await["enabled"],
        false,
        "the user reads back disabled"
    );
    refused(
        kc.password_login(&leaver.username, PASSWORD, false).await,
        "password login when disabled",
    );
    refused(
        kc.password_login(&leaver.username, PASSWORD, true).await,
        "offline login when disabled",
    );
    untouched(&kc, &bystander, &before, "after the leaver is disabled").await;

    kc.delete_user(&leaver.id).await;
    kc.delete_user(&bystander.id).await;
}

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn users_are_found_by_employee_id_and_exact_username() {
    let kc = Keycloak::from_env();
    let run = run_tag();
    let name = format!("ada-{run}");
    let eid = format!("E-{run}");
    let ada = kc
        .create_user(&name, &format!("{name}@example.test"), &eid, PASSWORD)
        .await;
    let ada2 = kc
        .create_user(
            &format!("{name}2"),
            &format!("{name}2@example.test"),
            &format!("{eid}2"),
            PASSWORD,
        )
        .await;

    let user = kc.user(&ada).await;
    assert_eq!(
        user["attributes"]["employee_id"],
        serde_json::json!([eid]),
        "employee_id kept: {user}"
    );

    let get = |path: String| {
        let kc = &kc;
        async move {
            let (s, v) = kc.admin_call(Method::GET, &path, None).await;
            assert_eq!(s, 200, "GET {path}: {v}");
            v.as_array()
                .expect("a list")
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(
        get(format!("/users?q=employee_id:{eid}")).await,
        BTreeSet::from([ada.clone()]),
        "an attribute search is exact (E-x does not find E-x2)"
    );
    assert_eq!(
        get(format!("/users?username={name}")).await,
        BTreeSet::from([ada.clone(), ada2.clone()]),
        "a username search without exact=true is a prefix match"
    );
    assert_eq!(
        get(format!("/users?username={name}&exact=true")).await,
        BTreeSet::from([ada.clone()]),
        "exact=true finds the one user"
    );
    kc.delete_user(&ada).await;
    kc.delete_user(&ada2).await;
}

//! Sign-ins after departure, read by the adapter from Keycloak's user events (`sign_ins_since`,
//! what the watch asks after a case closes). After the revocation another system gives the
//! account back (re-enabled by hand through the admin API) and the leaver signs in with a
//! password over plain HTTP: that sign-in is reported, with the session Keycloak gave it; nothing
//! from before the removal time is; a refused refresh is not a sign-in; the bystander's sign-ins
//! are never reported for the leaver; an identity with no user has none.

use super::*;
use chrono::Utc;
use revoke_tests::kit::employee;

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn a_sign_in_after_the_removal_is_reported_and_nothing_else() {
    let kc = Keycloak::from_env();
    let seeded = Utc::now();
    let (tag, leaver, bystander) = two_people(&kc, "watch", "watch").await;
    let t = target(&kc).await;
    assert_outcome(&revoke(&*t, &leaver.who).await, Outcome::Revoked);
    let removal = Utc::now();

    let none = t
        .sign_ins_since(&leaver.who, removal)
        .await
        .expect("events");
    assert_eq!(none, Some(vec![]), "no sign-in since the removal yet");
    // A refused refresh with the leaver's old token (a REFRESH_TOKEN_ERROR) is not a sign-in;
    // the bystander signing in is not the leaver's.
    assert!(kc.refresh(&leaver.online.refresh).await.is_err());
    let by_name = bystander.who.username.as_deref().unwrap();
    let by_late = kc
        .password_login(by_name, PASSWORD, false)
        .await
        .expect("bystander signs in");
    assert_eq!(
        t.sign_ins_since(&leaver.who, removal)
            .await
            .expect("events"),
        Some(vec![]),
        "neither a refusal nor the bystander's sign-in is the leaver's"
    );

    // Another system gives the account back; the leaver signs in.
    kc.set_enabled(&leaver.id, true).await;
    let name = leaver.who.username.as_deref().unwrap();
    let late = kc
        .password_login(name, PASSWORD, false)
        .await
        .expect("signs in again");
    let found = t
        .sign_ins_since(&leaver.who, removal)
        .await
        .expect("events")
        .expect("Keycloak keeps a sign-in log");
    assert_eq!(found.len(), 1, "{found:#?}");
    let s = &found[0];
    assert!(s.at >= removal && s.instance == "sso", "{s:?}");
    assert!(
        s.detail.starts_with("LOGIN")
            && s.detail.contains(&late.session)
            && s.detail.contains(&kc.app.id),
        "{s:?}"
    );
    assert!(!s.event_id.is_empty());

    // From before the removal: the seeding sign-ins are there, none of the bystander's.
    let all = t
        .sign_ins_since(&leaver.who, seeded)
        .await
        .expect("events")
        .expect("a log");
    let sessions_of = |v: &[revoke::adapters::SignIn], session: &str| {
        v.iter().filter(|s| s.detail.contains(session)).count()
    };
    for session in [
        &leaver.online.session,
        &leaver.offline.session,
        &late.session,
    ] {
        assert_eq!(sessions_of(&all, session), 1, "{session}: {all:#?}");
    }
    for session in [
        &bystander.online.session,
        &bystander.offline.session,
        &by_late.session,
    ] {
        assert_eq!(
            sessions_of(&all, session),
            0,
            "bystander's {session}: {all:#?}"
        );
    }
    assert!(all.iter().all(|s| s.at >= seeded));

    let nobody = employee(
        &format!("E-nobody{tag}"),
        Some(&format!("nobody{tag}")),
        None,
    );
    assert_eq!(
        t.sign_ins_since(&nobody, seeded).await.expect("lookup"),
        Some(vec![]),
        "no such user: no sign-in"
    );
    kc.set_enabled(&leaver.id, false).await;
}

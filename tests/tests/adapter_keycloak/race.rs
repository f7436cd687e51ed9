//! The race between discovery and revocation: the leaver signs in again (a password sign-in and
//! an offline grant) after the adapter listed what it holds and before anything is revoked. The
//! adapter's Target calls are made one by one (discover, then the sign-ins, then revoke and read
//! back each holding in discovery's order, as the revocation run makes them), so the window is
//! certain. Every session must be dead at Keycloak afterwards, proved with plain HTTP — also
//! after the account is re-enabled by hand, so a session only blocked by the disabled account,
//! not ended, is caught — and a read-back that would miss a session answers not-gone.

use super::*;
use revoke::adapters::Holding;

/// `p` signs in again, online and offline (the sign-ins discovery did not see).
async fn late_sign_ins(kc: &Keycloak, p: &Person) -> (Tokens, Tokens) {
    let name = p.who.username.as_deref().unwrap();
    let online = kc.password_login(name, PASSWORD, false).await;
    let offline = kc.password_login(name, PASSWORD, true).await;
    (
        online.unwrap_or_else(|e| panic!("the late sign-in works: {e:?}")),
        offline.unwrap_or_else(|e| panic!("the late offline sign-in works: {e:?}")),
    )
}

fn named(holdings: &[Holding], session: &str) -> bool {
    holdings
        .iter()
        .any(|h| h.object_id.ends_with(&format!("/{session}")))
}

/// Revokes and reads back each holding in order, as a run does; every read-back must be gone.
/// Returns the account's read-back detail.
async fn revoke_each(t: &dyn Target, who: &Identity, holdings: &[Holding]) -> String {
    let mut account = String::new();
    for h in holdings {
        t.revoke(who, h)
            .await
            .unwrap_or_else(|e| panic!("revoking {} {}: {e}", h.object_kind, h.object_id));
        let rb = t
            .verify(who, h)
            .await
            .unwrap_or_else(|e| panic!("reading back {} {}: {e}", h.object_kind, h.object_id));
        assert!(rb.gone, "{} {}: {}", h.object_kind, h.object_id, rb.detail);
        if h.object_kind == "account" {
            account = rb.detail;
        }
    }
    account
}

/// Every grant's refresh token is refused and its access token inactive; nothing is listed.
async fn all_dead(kc: &Keycloak, p: &Person, grants: &[&Tokens], when: &str) {
    for (i, g) in grants.iter().enumerate() {
        let r = kc.refresh(&g.refresh).await;
        assert!(
            matches!(&r, Err(e) if e.error == "invalid_grant"),
            "{when}: grant {i} (session {}) still refreshes: {r:?}",
            g.session
        );
        assert!(
            !kc.introspect(&g.access).await,
            "{when}: grant {i}'s access token is active"
        );
    }
    let listed = kc.sessions(&p.id).await;
    assert!(listed.is_empty(), "{when}: sessions listed: {listed:?}");
    let offline = kc.offline_sessions(&p.id, &kc.app.id).await;
    assert!(
        offline.is_empty(),
        "{when}: offline sessions listed: {offline:?}"
    );
}

/// `all_dead` while the account is disabled, and again once another system re-enables it by hand
/// (a session the disabled account only blocked, not ended, would refresh again then); the
/// bystander keeps everything.
async fn ended_not_only_blocked(kc: &Keycloak, p: &Person, grants: &[&Tokens], bystander: &Person) {
    assert_eq!(kc.user(&p.id).await["enabled"], json!(false));
    all_dead(kc, p, grants, "after revocation").await;
    kc.set_enabled(&p.id, true).await;
    all_dead(kc, p, grants, "after the account is re-enabled by hand").await;
    kc.set_enabled(&p.id, false).await;
    assert_untouched(kc, bystander).await;
}

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn a_sign_in_between_discovery_and_revocation_is_ended_too() {
    let kc = Keycloak::from_env();
    let (_, leaver, bystander) = two_people(&kc, "race", "race").await;
    let t = target(&kc).await;

    let holdings = t.discover(&leaver.who).await.expect("discovery");
    let (late, late_offline) = late_sign_ins(&kc, &leaver).await;
    assert!(
        !named(&holdings, &late.session) && !named(&holdings, &late_offline.session),
        "discovery ran before the late sign-ins"
    );
    let account = revoke_each(&*t, &leaver.who, &holdings).await;
    // The evidence names what the account's step ended beyond discovery's list.
    assert!(
        account.contains(&format!("session {}", late.session))
            && account.contains(&late_offline.session),
        "{account}"
    );

    let grants = [&leaver.online, &leaver.offline, &late, &late_offline];
    ended_not_only_blocked(&kc, &leaver, &grants, &bystander).await;
}

#[tokio::test]
#[ignore = "needs Keycloak: run the README's test command"]
async fn a_read_back_names_a_session_discovery_did_not_list() {
    let kc = Keycloak::from_env();
    let (_, leaver, bystander) = two_people(&kc, "miss", "miss").await;
    let t = target(&kc).await;

    let holdings = t.discover(&leaver.who).await.expect("discovery");
    let account = holdings
        .iter()
        .find(|h| h.object_kind == "account")
        .expect("the account is a holding")
        .clone();
    let (late, late_offline) = late_sign_ins(&kc, &leaver).await;
    // The account disabled, as the old order left it: disabled, the late sessions still there.
    kc.set_enabled(&leaver.id, false).await;
    let rb = t.verify(&leaver.who, &account).await.expect("read-back");
    assert!(
        !rb.gone && rb.detail.contains(&late.session) && rb.detail.contains(&late_offline.session),
        "a disabled account with sessions discovery did not list is not gone: {rb:?}"
    );
    // The account's step sweeps them: revoking it again converges.
    t.revoke(&leaver.who, &account).await.expect("revoke");
    let rb = t.verify(&leaver.who, &account).await.expect("read-back");
    assert!(rb.gone, "{rb:?}");
    // The rest of the run: what discovery listed, each ended by its own step.
    let rest: Vec<Holding> = holdings
        .into_iter()
        .filter(|h| h.object_kind != "account")
        .collect();
    revoke_each(&*t, &leaver.who, &rest).await;
    let grants = [&leaver.online, &leaver.offline, &late, &late_offline];
    ended_not_only_blocked(&kc, &leaver, &grants, &bystander).await;
}

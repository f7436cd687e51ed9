//! Unit tests of the account-first order and the account's read-back decision over what is
//! listed at Keycloak (`held_now`). No network.

use super::held_now::{account_read_back, holdings_in_order, HeldNow};
use super::KeycloakObject;
use crate::adapters::ObjectRef;
use serde_json::json;

fn held(sessions: &[&str], offline: &[(&str, &str)], consents: &[&str]) -> HeldNow {
    HeldNow {
        sessions: sessions.iter().map(|s| s.to_string()).collect(),
        offline: offline
            .iter()
            .map(|(c, s)| (c.to_string(), s.to_string()))
            .collect(),
        consents: consents.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn the_account_is_disabled_before_anything_else_is_ended() {
    let h = held(&["s1", "s2"], &[("app", "o1")], &["app"]);
    let order: Vec<String> = holdings_in_order("u", &h, vec!["bot".into()], true)
        .iter()
        .map(|o| format!("{} {}", o.kind(), o.id()))
        .collect();
    assert_eq!(
        order,
        [
            "account users/u",
            "session users/u/sessions/s1",
            "session users/u/sessions/s2",
            "offline_session users/u/offline-sessions/app/o1",
            "consent users/u/consents/app",
            "service_account_client clients/bot",
        ]
    );
    // Without disable_user there is no account step: nothing else moves.
    let without = holdings_in_order("u", &h, vec![], false);
    assert!(!without
        .iter()
        .any(|o| matches!(o, KeycloakObject::Account { .. })));
    assert_eq!(without.len(), 4);
    assert!(holdings_in_order("u", &HeldNow::default(), vec![], true)
        .iter()
        .all(|o| matches!(o, KeycloakObject::Account { .. })));
}

#[test]
fn what_discovery_did_not_list_is_unlisted() {
    let listed = held(&["s1"], &[("app", "s1")], &["app"]);
    let now = held(
        &["s1", "late"],
        &[("app", "s1"), ("app", "late")],
        &["app", "other"],
    );
    let extra = now.unlisted(&listed);
    assert_eq!(extra, held(&["late"], &[("app", "late")], &["other"]));
    assert_eq!(
        extra.named(),
        ["session late", "offline session app/late", "consent other"]
    );
    assert_eq!((now.len(), extra.len()), (6, 3));
    // An offline session is named by its client too: the same id under another client is new.
    let moved = held(&[], &[("web", "s1")], &[]).unlisted(&listed);
    assert_eq!(moved.offline.len(), 1);
    // What discovery listed and is gone now is nobody's concern here (its own holding proves it).
    assert!(HeldNow::default().unlisted(&listed).is_empty());
    // Nothing remembered: everything held counts.
    assert_eq!(now.unlisted(&HeldNow::default()), now);
}

#[test]
fn the_account_read_back_is_gone_only_when_disabled_and_nothing_unlisted_is_held() {
    let off = json!({"enabled": false});
    let on = json!({"enabled": true});
    let none = HeldNow::default();
    let late = held(&["late"], &[("app", "late-off")], &[]);

    let rb = account_read_back("u", Some(&off), 2, &none, &[]);
    assert!(rb.gone, "{rb:?}");
    assert!(
        rb.detail.contains("enabled=false") && rb.detail.contains("2 left"),
        "{}",
        rb.detail
    );

    // Disabled, but a session discovery never listed is alive: not gone, and named.
    let rb = account_read_back("u", Some(&off), 0, &late, &[]);
    assert!(!rb.gone);
    assert!(
        rb.detail.contains("session late") && rb.detail.contains("offline session app/late-off"),
        "{}",
        rb.detail
    );
    // Enabled is never gone, whatever the sessions.
    assert!(!account_read_back("u", Some(&on), 0, &none, &[]).gone);
    // A user whose `enabled` is missing or not a boolean is not proven disabled.
    assert!(!account_read_back("u", Some(&json!({})), 0, &none, &[]).gone);
    assert!(!account_read_back("u", Some(&json!({"enabled": "false"})), 0, &none, &[]).gone);
    // Deleted: gone.
    let rb = account_read_back("u", None, 0, &late, &[]);
    assert!(rb.gone && rb.detail.contains("404"), "{rb:?}");
    // What the step swept is named in the evidence.
    let rb = account_read_back("u", Some(&off), 0, &none, &["session late".into()]);
    assert!(
        rb.gone && rb.detail.contains("ended with the disable"),
        "{rb:?}"
    );
    assert!(rb.detail.contains("session late"), "{}", rb.detail);
}

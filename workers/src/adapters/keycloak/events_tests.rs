//! Unit tests of Keycloak's user events read as sign-ins (`events`): which events count, the
//! time filter the day-wide `dateFrom` needs, ids, details, and when paging may stop. No network.

use super::events::{date_from, reaches_before, sign_in, SIGN_IN_TYPES};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

const UID: &str = "u-1";

fn since() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 30, 0).unwrap()
}

fn event(kind: &str, at_ms: i64) -> Value {
    json!({
        "id": format!("ev-{kind}-{at_ms}"), "time": at_ms, "type": kind,
        "clientId": "test-app", "userId": UID, "sessionId": "sess-1",
        "ipAddress": "192.0.2.7", "details": {"grant_type": "password", "username": "ada"},
    })
}

#[test]
fn a_successful_sign_in_after_since_is_one() {
    let t = since().timestamp_millis();
    let s = sign_in(&event("LOGIN", t + 5), UID, "sso", since()).expect("a sign-in");
    assert_eq!(s.event_id, format!("ev-LOGIN-{}", t + 5));
    assert_eq!(s.instance, "sso");
    assert_eq!(s.at.timestamp_millis(), t + 5);
    assert_eq!(
        s.detail,
        "LOGIN to client test-app from 192.0.2.7 (session sess-1, grant password)"
    );
    // Exactly at `since` counts; a millisecond before does not (dateFrom is a whole day).
    assert!(sign_in(&event("LOGIN", t), UID, "sso", since()).is_some());
    assert!(sign_in(&event("LOGIN", t - 1), UID, "sso", since()).is_none());
    for kind in SIGN_IN_TYPES {
        assert!(
            sign_in(&event(kind, t), UID, "sso", since()).is_some(),
            "{kind}"
        );
    }
}

#[test]
fn refusals_other_users_and_other_types_are_not_sign_ins() {
    let t = since().timestamp_millis() + 1;
    for kind in [
        "LOGIN_ERROR",
        "REFRESH_TOKEN_ERROR",
        "LOGOUT",
        "CLIENT_LOGIN",
        "INTROSPECT_TOKEN",
        "REVOKE_GRANT",
    ] {
        assert!(
            sign_in(&event(kind, t), UID, "sso", since()).is_none(),
            "{kind}"
        );
    }
    let mut failed = event("LOGIN", t);
    failed["error"] = json!("user_disabled");
    assert!(sign_in(&failed, UID, "sso", since()).is_none());
    // Another user's event, whatever the server's filter did.
    assert!(sign_in(&event("LOGIN", t), "u-2", "sso", since()).is_none());
    let mut no_user = event("LOGIN", t);
    no_user["userId"] = Value::Null;
    assert!(sign_in(&no_user, UID, "sso", since()).is_none());
    let mut no_time = event("LOGIN", t);
    no_time["time"] = json!("yesterday");
    assert!(sign_in(&no_time, UID, "sso", since()).is_none());
}

#[test]
fn an_event_without_an_id_gets_a_stable_one() {
    let t = since().timestamp_millis() + 9;
    let mut e = event("REFRESH_TOKEN", t);
    e.as_object_mut().unwrap().remove("id");
    e["details"] = json!({});
    let a = sign_in(&e, UID, "sso", since()).unwrap();
    let b = sign_in(&e, UID, "sso", since()).unwrap();
    assert_eq!(a.event_id, format!("{t}:REFRESH_TOKEN:sess-1"));
    assert_eq!(a.event_id, b.event_id);
    assert_eq!(
        a.detail,
        "REFRESH_TOKEN to client test-app from 192.0.2.7 (session sess-1)"
    );
}

#[test]
fn date_from_is_the_day_before_so_no_time_zone_cuts_anything_off() {
    assert_eq!(date_from(since()), "2026-02-28");
    let late = Utc.with_ymd_and_hms(2026, 1, 1, 23, 59, 59).unwrap();
    assert_eq!(date_from(late), "2025-12-31");
}

#[test]
fn paging_stops_only_on_a_newest_first_page_reaching_before_since() {
    let t = since().timestamp_millis();
    let page = |times: &[i64]| times.iter().map(|&x| event("LOGIN", x)).collect::<Vec<_>>();
    assert!(reaches_before(&page(&[t + 20, t + 10, t - 1]), since()));
    assert!(!reaches_before(&page(&[t + 20, t + 10, t]), since()));
    // Oldest first (a server that ignored `direction`): the next page may hold newer ones.
    assert!(!reaches_before(&page(&[t - 50, t - 1, t + 10]), since()));
    assert!(!reaches_before(&page(&[t - 1, t + 10]), since()));
    assert!(!reaches_before(&[], since()));
}

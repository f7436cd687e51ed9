//! The terminations index (`people`) on its own: how its compact form (µs times, joined cases
//! kept apart, 64-bit rescind keys) keeps every rule a rescind is judged by.

use super::kit::{at, rescind, termination};
use crate::verifier::people::{rescind_key, Binding, People, KEPT_PER_PERSON};
use chrono::Duration;
use uuid::Uuid;

#[test]
fn a_rescind_issued_a_nanosecond_before_its_termination_never_binds_to_it() {
    let mut p = People::default();
    let mut t = termination("E1", "evt-1", at(0));
    t.time = at(10) + Duration::nanoseconds(500);
    p.note_termination(&t, t.case_id());
    let mut r = rescind("E1", "rsc-1", None);
    // The same microsecond as the termination, 1 ns earlier: issued before it.
    r.time = at(10) + Duration::nanoseconds(499);
    assert_eq!(p.bind(&r), Binding::Unknown);
    // A microsecond later it binds.
    r.time = at(10) + Duration::microseconds(1);
    assert_eq!(
        p.bind(&r),
        Binding::Term {
            own: t.case_id(),
            case: t.case_id()
        }
    );
}

#[test]
fn a_joined_termination_names_its_case_until_it_is_forgotten() {
    let mut p = People::default();
    let first = termination("E1", "evt-1", at(0));
    p.note_termination(&first, first.case_id());
    let second = termination("E1", "evt-2", at(5));
    p.note_termination(&second, first.case_id());
    assert_eq!(p.joined_into("E1", second.case_id()), Some(first.case_id()));
    assert_eq!(p.joined_into("E1", first.case_id()), None);
    assert_eq!(p.standing_cases("E1"), vec![first.case_id()]);
    assert!(p.case_stands_without("E1", first.case_id(), first.case_id()));
    // Rejecting the case ends the standing of both, the joined one included.
    p.mark_rejected("E1", first.case_id());
    assert!(p.standing_cases("E1").is_empty());
    // Later terminations push the oldest non-standing ones out, joined index and all.
    for i in 0..KEPT_PER_PERSON {
        let t = termination("E1", &format!("evt-later-{i}"), at(100 + i as i64));
        p.note_termination(&t, t.case_id());
    }
    assert_eq!(p.joined_into("E1", second.case_id()), None);
    assert_eq!(p.standing_cases("E1").len(), KEPT_PER_PERSON);
}

#[test]
fn a_rescind_that_took_effect_is_a_replay_by_its_key() {
    let mut p = People::default();
    let t = termination("E1", "evt-1", at(0));
    p.note_termination(&t, t.case_id());
    let r = rescind("E1", "rsc-1", Some("evt-1"));
    p.mark_rescinded("E1", t.case_id(), rescind_key(&r));
    assert_eq!(p.bind(&r), Binding::Replay);
    let other = rescind("E1", "rsc-2", Some("evt-1"));
    assert_ne!(
        p.bind(&other),
        Binding::Replay,
        "another rescind is not a replay"
    );
    assert!(p.standing_besides("E1", Uuid::nil()).is_empty());
}

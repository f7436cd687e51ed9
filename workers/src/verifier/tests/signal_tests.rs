//! Shared Signals deliveries in the case: merged per receiver (a union by jti, an accepted SET
//! stays accepted), an overdue receiver escalated once, duplicates and older news changing
//! nothing, and the case's state never changed by them.

use super::kit::*;
use crate::cases::escalation_is_open;
use DeliveryOutcome::{Delivered, Overdue};

fn signal(v: &mut Verifier, d: &SignalDelivery, closed: Option<&Case>, secs: i64) -> Vec<Effect> {
    v.apply(Input::Signal(d, closed), at(secs))
}

#[test]
fn a_delivery_is_recorded_and_a_closed_case_stays_closed() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let d = delivery(&closed, "crm", Delivered, &["j1", "j2"], 100);
    let case = sole_case(signal(&mut v, &d, Some(&closed), 101));
    assert_eq!(case.state, CaseState::Closed);
    assert_eq!(case.revision, closed.revision + 1);
    assert_eq!(case.signals, vec![d.clone()]);
    assert!(v.is_closed(&case.case_id), "kept as a marker only");
    // A duplicate, with the marker's record read back again: nothing.
    assert!(signal(&mut v, &d, Some(&case), 102).is_empty());

    // On a live case too, state untouched.
    let mut v = verifier();
    let ev = open_waiting_on_vault(&mut v);
    let live = v.case(&ev.case_id()).unwrap().clone();
    let d = delivery(&live, "crm", Delivered, &["j1"], 100);
    let case = sole_case(signal(&mut v, &d, None, 100));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.signals.len(), 1);
}

#[test]
fn overdue_escalates_once_to_the_receivers_owner_and_a_later_delivery_ends_it() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let late = delivery(&closed, "crm", Overdue, &["j1"], 100);
    let (case, esc) = case_and_escalation(signal(&mut v, &late, Some(&closed), 100));
    assert_eq!(
        case.state,
        CaseState::Closed,
        "evidence of delivery, not of revocation"
    );
    assert_eq!(esc.reason, EscalationReason::SignalUndelivered);
    assert_eq!(esc.owner, owner("app-team"));
    assert!(esc.targets.is_empty());
    assert!(esc.detail.contains("crm") && esc.detail.contains("j1") && esc.detail.contains("503"));
    assert!(escalation_is_open(&case, &case.escalations[0]));

    // Still overdue, with another SET: no second escalation for the receiver.
    let later = delivery(&closed, "crm", Overdue, &["j1", "j2"], 200);
    let case = sole_case(signal(&mut v, &later, Some(&case), 200));
    assert_eq!(case.escalations.len(), 1);
    assert_eq!(case.signals[0].sets.len(), 2);

    // Accepted at last: delivered, with the time; the escalation resolved.
    let ok = delivery(&closed, "crm", Delivered, &["j1", "j2"], 300);
    let case = sole_case(signal(&mut v, &ok, Some(&case), 300));
    assert_eq!(case.state, CaseState::Closed);
    assert_eq!(case.signals[0].outcome, Delivered);
    assert!(case.signals[0]
        .sets
        .iter()
        .all(|s| s.delivered_at == Some(at(300))));
    assert!(!escalation_is_open(&case, &case.escalations[0]));
}

/// Reordered: the receiver's acceptance arrives before the older overdue record. The overdue
/// news is older: nothing changes, nobody is escalated.
#[test]
fn an_overdue_record_after_the_delivery_changes_nothing() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let ok = delivery(&closed, "crm", Delivered, &["j1"], 300);
    let case = sole_case(signal(&mut v, &ok, Some(&closed), 300));
    let stale = delivery(&closed, "crm", Overdue, &["j1"], 100);
    assert!(signal(&mut v, &stale, Some(&case), 301).is_empty());
    // Even an overdue record stamped later cannot un-accept a SET: no escalation.
    let odd = delivery(&closed, "crm", Overdue, &["j1"], 400);
    let effects = signal(&mut v, &odd, Some(&case), 401);
    assert!(escalations_in(&effects).is_empty());
    let last = case_records(&effects).pop().unwrap();
    assert_eq!(last.signals[0].outcome, Delivered);
    assert_eq!(last.signals[0].sets[0].delivered_at, Some(at(300)));
}

#[test]
fn receivers_are_kept_apart_and_bad_deliveries_are_refused() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let a = delivery(&closed, "crm", Overdue, &["j1"], 100);
    let case = case_records(&signal(&mut v, &a, Some(&closed), 100))
        .pop()
        .unwrap();
    let b = delivery(&closed, "wiki", Overdue, &["j9"], 110);
    let effects = signal(&mut v, &b, Some(&case), 110);
    assert_eq!(
        escalations_in(&effects).len(),
        1,
        "once per (case, receiver)"
    );
    let case = case_records(&effects).pop().unwrap();
    assert_eq!(case.signals.len(), 2);

    let mut other = delivery(&closed, "crm", Delivered, &["j1"], 200);
    other.identity_id = "E2".into();
    assert_eq!(
        sole_refusal(signal(&mut v, &other, Some(&case), 200)),
        "identity_mismatch"
    );
    let mut stray = delivery(&closed, "crm", Delivered, &["j1"], 200);
    stray.case_id = Uuid::new_v4();
    assert_eq!(
        sole_refusal(signal(&mut v, &stray, None, 200)),
        "unknown_case"
    );
}

/// Deliveries live in the case record: a rebuild keeps the closed marker (at the latest
/// record's offset) and a replay afterwards changes nothing.
#[test]
fn deliveries_survive_a_rebuild() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let d = delivery(&closed, "crm", Overdue, &["j1"], 100);
    let with = case_records(&signal(&mut v, &d, Some(&closed), 100))
        .pop()
        .unwrap();
    let mut rebuilt = verifier();
    rebuilt.restore_at(closed.clone(), 5);
    rebuilt.restore_at(with.clone(), 9);
    assert!(rebuilt.is_closed(&closed.case_id));
    assert_eq!(
        rebuilt.closed_offset(&closed.case_id),
        Some(9),
        "the latest record"
    );
    assert!(signal(&mut rebuilt, &d, Some(&with), 200).is_empty());
}

//! Effective dates: a termination dated in the future waits `scheduled` and is handed over
//! when due; a rescind before then cancels it.

use super::kit::*;
use revoke_shared::metrics::VerifierNote;

// Effective dates: scheduled cases
// ---------------------------------------------------------------------------------------------

/// A fresh verifier that received at `t0` the termination `event_id` of `identity`, issued then
/// and due 600 s later; the event and what the verifier did with it.
fn received_due_in_600(identity: &str, event_id: &str) -> (Verifier, HrEvent, Vec<Effect>) {
    let mut v = verifier();
    let ev = dated(identity, event_id, 600);
    let effects = hr(&mut v, &ev, at(0));
    (v, ev, effects)
}

#[test]
fn scheduling_is_decided_by_the_event_alone() {
    assert!(dated("E1", "t1", 600).is_scheduled());
    // Within the slack of its own time, "effective now" is immediate.
    assert!(!dated("E1", "t1", 1).is_scheduled());
    assert!(!termination("E1", "t1", at(600)).is_scheduled());
    assert!(!rescind("E1", "r1", None).is_scheduled());
}

#[test]
fn a_future_termination_waits_scheduled_then_is_handed_over_when_due() {
    let (mut v, ev, effects) = received_due_in_600("E1", "t1");
    let case = sole_case(effects);
    assert_eq!(case.state, CaseState::Scheduled);
    assert_eq!(
        case.deadline,
        Some(at(600 + DEADLINE_SECS)),
        "the deadline counts from the effective time"
    );
    assert_eq!(v.open_count(), 1);

    // Before the effective time: nothing, not even a deadline check.
    assert!(tick(&mut v, at(599)).is_empty());

    // At the effective time: the termination goes to the workers and the case opens, once.
    let effects = tick(&mut v, at(600));
    let due = dues(&effects);
    assert_eq!(due.len(), 1, "{effects:?}");
    assert_eq!(
        due[0].case_id(),
        case.case_id,
        "the same case id: same source and event id"
    );
    assert_eq!(due[0].subject, "E1");
    assert_eq!(due[0].data.identity, ev.data.identity);
    assert_eq!(due[0].data.effective_at, Some(at(600)));
    assert_eq!(due[0].data.requested_by, ev.data.requested_by);
    assert!(
        !due[0].is_scheduled(),
        "a due event is never scheduled again"
    );
    let opened = case_records(&effects);
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].state, CaseState::Open);
    assert!(tick(&mut v, at(601)).is_empty(), "handed over once");

    // From here it is an ordinary case.
    let last = confirm_ok(&mut v, &ev, &ALL, 610);
    assert_eq!(case_records(&last)[0].state, CaseState::Closed);
}

#[test]
fn confirmations_while_scheduled_wait_for_the_effective_time() {
    let (mut v, ev, _) = received_due_in_600("E2", "t2");
    // A worker acted early (an old version, or by hand): recorded, but the case stays scheduled.
    let last = confirm_ok(&mut v, &ev, &ALL, 10);
    assert_eq!(case_records(&last)[0].state, CaseState::Scheduled);
    // When due, it is handed over (workers find nothing left) and closes at once.
    let effects = tick(&mut v, at(600));
    assert_eq!(dues(&effects).len(), 1);
    assert_eq!(case_records(&effects)[0].state, CaseState::Closed);
}

#[test]
fn a_rescind_before_the_effective_time_cancels_without_escalating() {
    let (mut v, _, _) = received_due_in_600("E3", "t3");
    let effects = hr(&mut v, &rescind("E3", "r3", Some("t3")), at(100));
    let cases = case_records(&effects);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].state, CaseState::Rescinded);
    assert_eq!(cases[0].rescinded_by.as_deref(), Some("hr:dave"));
    assert!(
        cases[0].escalations.is_empty(),
        "nothing was revoked: nobody to alert"
    );
    assert!(effects.iter().all(|e| !matches!(e, Effect::Escalate(_))));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Note {
            what: VerifierNote::CancelledBeforeEffective,
            ..
        }
    )));
    // Never handed to the workers.
    assert!(tick(&mut v, at(600)).is_empty());
    assert!(tick(&mut v, at(600 + DEADLINE_SECS + 1)).is_empty());
    assert_eq!(v.open_count(), 0);
}

#[test]
fn a_rescind_that_overtakes_a_dated_termination_keeps_it_from_ever_being_due() {
    let mut v = verifier();
    let ev = dated("E4", "t4", 600);
    // A confirmation made the case known before its termination; the rescind lands on it.
    conf(&mut v, &ok(&ev, Cicd, at(1)), at(1));
    let effects = hr(&mut v, &rescind("E4", "r4", Some("t4")), at(2));
    assert_eq!(case_records(&effects)[0].state, CaseState::Rescinded);
    let after = sole_case(hr(&mut v, &ev, at(3)));
    assert_eq!(
        after.state,
        CaseState::Rescinded,
        "the termination does not schedule it again"
    );
    assert!(
        tick(&mut v, at(700)).is_empty(),
        "never handed to the workers"
    );
}

#[test]
fn the_schedule_survives_a_restart() {
    let (_, _, effects) = received_due_in_600("E5", "t5");
    let case = sole_case(effects);
    // A new verifier rebuilt from the changelog alone still hands it over on time.
    let mut restored = verifier();
    restored.restore(case.clone());
    assert!(tick(&mut restored, at(300)).is_empty());
    let effects = tick(&mut restored, at(600));
    assert_eq!(dues(&effects).len(), 1);
    assert_eq!(dues(&effects)[0].case_id(), case.case_id);
    // And a restart after the hand-over does not hand it over again.
    let mut again = verifier();
    again.restore(case_records(&effects)[0].clone());
    assert!(dues(&tick(&mut again, at(601))).is_empty());
}

#[test]
fn a_dated_termination_seen_late_is_handed_over_at_the_first_tick() {
    // The verifier was down past the effective time: workers skipped the event (it is dated),
    // so the verifier must still hand it over, at once.
    let mut v = verifier();
    let ev = dated("E6", "t6", 600);
    let case = sole_case(hr(&mut v, &ev, at(900)));
    assert_eq!(case.state, CaseState::Scheduled);
    assert_eq!(dues(&tick(&mut v, at(901))).len(), 1);
}

// ---------------------------------------------------------------------------------------------

//! Restore reports after a rescind: recorded in the case, and what cannot come back is
//! escalated; reports for cases not rescinded are only notes.

use super::kit::*;

// Restore reports after a rescind
// ---------------------------------------------------------------------------------------------

#[test]
fn restore_reports_are_recorded_and_what_cannot_come_back_is_escalated() {
    use revoke_shared::contract::RestoreOutcome::{AlreadyPresent, Irreversible, Restored};
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Vault], 1);
    let effects = hr(&mut v, &rescind("E1", "r-1", Some("evt-1")), at(10));
    let reqs = restores_in(&effects);
    assert_eq!(
        reqs.iter().map(|r| r.target).collect::<Vec<_>>(),
        vec![Directory, Vault],
        "only targets that revoked something"
    );

    // Directory gives everything back: recorded, no escalation.
    let out = v.apply(
        Input::Restored(&report(&reqs[0], &[Restored, AlreadyPresent], at(11))),
        at(11),
    );
    let c = sole_case(out);
    assert_eq!(c.state, CaseState::Rescinded);
    assert_eq!(c.restored.len(), 1);
    assert_eq!(c.restored[0].target.kind, Directory);

    // Vault cannot give back a deleted token: its owner is told what is left.
    let r2 = report(&reqs[1], &[Restored, Irreversible], at(12));
    let (c, esc) = case_and_escalation(v.apply(Input::Restored(&r2), at(12)));
    assert_eq!(esc.reason, EscalationReason::RestoreIncomplete);
    assert_eq!(esc.targets, vec![Vault]);
    assert_eq!(esc.owner, owner("vault-team"));
    assert!(
        esc.detail.contains("obj-1") && esc.detail.contains("key deleted"),
        "{}",
        esc.detail
    );
    assert_eq!(c.state, CaseState::Rescinded);
    assert_eq!(c.restored.len(), 2);
    // The same report again changes nothing.
    assert!(v.apply(Input::Restored(&r2), at(13)).is_empty());
}

#[test]
fn a_rescind_after_close_reopens_the_case_as_rescinded_from_its_record() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let last = confirm_ok(&mut v, &ev, &ALL, 1);
    let closed = case_records(&last)[0].clone();
    assert_eq!(closed.state, CaseState::Closed);
    assert!(v.is_closed(&ev.case_id()));
    let r = rescind("E1", "r-1", None);
    assert_eq!(v.rescind_applies_to(&r), Some(ev.case_id()));

    // The shell hands the machine the closed record it read back from the changelog.
    let effects = v.apply(Input::RescindClosed(&r, &closed), at(100));
    let cases = case_records(&effects);
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(case.revision, closed.revision + 1);
    assert_eq!(
        case.closed_at, closed.closed_at,
        "both facts stay in the record"
    );
    assert_eq!(case.rescinded_by.as_deref(), Some("hr:dave"));
    assert_eq!(
        escalations_in(&effects)[0].reason,
        EscalationReason::RescindAfterRevocation
    );
    let reqs = restores_in(&effects);
    assert_eq!(
        reqs.iter().map(|r| r.target).collect::<Vec<_>>(),
        ALL.to_vec()
    );
    assert!(!v.is_closed(&ev.case_id()));
    // Twice: the second rescind is a replay, noted only.
    assert!(publishes_nothing(&hr(&mut v, &r, at(101))));

    // A rebuilt verifier ends rescinded whichever record it reads first.
    for order in [[&closed, case], [case, &closed]] {
        let mut rebuilt = verifier();
        for c in order {
            rebuilt.restore(c.clone());
        }
        assert!(!rebuilt.is_closed(&ev.case_id()));
        assert_eq!(
            rebuilt.case(&ev.case_id()).unwrap().state,
            CaseState::Rescinded
        );
    }
}

#[test]
fn restore_reports_for_cases_not_rescinded_are_only_notes() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory], 1);
    let fake = revoke_shared::contract::RestoreRequest {
        schema: "revoke.restore_request.v1".into(),
        request_id: uuid::Uuid::nil(),
        case_id: ev.case_id(),
        identity_id: "E1".into(),
        identity: ev.data.identity.clone(),
        target: Directory,
        rescinded_by: "x".into(),
        objects: Vec::new(),
        requested_at: at(2),
        confirmation: None,
        confirmation_signature: None,
    };
    let r = report(
        &fake,
        &[revoke_shared::contract::RestoreOutcome::Restored],
        at(2),
    );
    assert_eq!(
        sole_note(v.apply(Input::Restored(&r), at(2))).2,
        "restore_report_for_case_not_rescinded"
    );
    let mut unknown = r.clone();
    unknown.case_id = uuid::Uuid::new_v4();
    assert_eq!(
        sole_note(v.apply(Input::Restored(&unknown), at(3))).2,
        "restore_report_for_unknown_case"
    );
}

// ---------------------------------------------------------------------------------------------

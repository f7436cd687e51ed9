//! The replay rules on hand-made case records: each state a replay must not touch is refused
//! with its reason; a closed or live released case is re-driven through the targets it
//! required, the others skipped and named.

use super::*;
use crate::verifier::tests::kit::{self, at, open_and_close, policy, Cloud, Directory, Saas};
use revoke_shared::contract::{CaseReplay, ReplayRequest};
use uuid::Uuid;

fn closed() -> Case {
    let mut v = kit::verifier();
    open_and_close(&mut v, "E1", "evt-1").1
}

fn reason(r: Result<ReplayPlan, Skip>) -> &'static str {
    r.expect_err("refused").0
}

#[test]
fn a_closed_case_is_replayed_through_the_targets_it_required() {
    let c = closed();
    let all = judge(&c, &[], None, &policy(), at(100)).unwrap();
    assert_eq!(all.targets, TargetKind::ALL.to_vec());
    assert!(all.skipped.is_empty());
    let one = judge(&c, &[Directory, Directory], None, &policy(), at(100)).unwrap();
    assert_eq!(one.targets, vec![Directory], "asked twice, run once");
}

#[test]
fn a_target_the_case_did_not_require_is_skipped_and_named() {
    let mut c = closed();
    c.required_targets = vec![Directory, Saas];
    let p = judge(&c, &[Saas, Cloud], None, &policy(), at(100)).unwrap();
    assert_eq!(p.targets, vec![Saas]);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].target, Cloud);
    assert!(p.skipped[0].why.contains("not required"), "{:?}", p.skipped);
    assert_eq!(
        reason(judge(&c, &[Cloud], None, &policy(), at(100))),
        "replay_no_target"
    );
}

#[test]
fn a_rescinded_or_rejected_case_is_never_replayed() {
    let mut c = closed();
    c.state = CaseState::Rescinded;
    c.rescinded_by = Some("hr:dave".into());
    let (why, detail) = judge(&c, &[], None, &policy(), at(100)).unwrap_err();
    assert_eq!(why, "replay_case_rescinded");
    assert!(detail.contains("hr:dave"), "{detail}");
    c.state = CaseState::Rejected;
    assert_eq!(
        reason(judge(&c, &[], None, &policy(), at(100))),
        "replay_case_rejected"
    );
}

#[test]
fn the_guard_is_never_gone_around_and_nothing_happens_before_the_effective_time() {
    let mut c = closed();
    for s in [CaseState::Admitting, CaseState::Held] {
        c.state = s;
        assert_eq!(
            reason(judge(&c, &[], None, &policy(), at(100))),
            "replay_case_not_released"
        );
    }
    c.state = CaseState::Scheduled;
    assert_eq!(
        reason(judge(&c, &[], None, &policy(), at(100))),
        "replay_not_yet_effective"
    );
    // Open, but its effective time is still ahead (a case joined with a later date, a clock
    // behind): not before then either.
    c.state = CaseState::Open;
    c.effective_at = Some(at(500));
    assert_eq!(
        reason(judge(&c, &[], None, &policy(), at(100))),
        "replay_not_yet_effective"
    );
    assert!(judge(&c, &[], None, &policy(), at(500)).is_ok());
}

#[test]
fn a_case_without_its_termination_a_protected_identity_or_a_replay_case_is_refused() {
    let mut c = closed();
    c.state = CaseState::Pending;
    assert_eq!(
        reason(judge(&c, &[], None, &policy(), at(100))),
        "replay_no_termination"
    );
    let mut c = closed();
    c.event_id = None;
    assert_eq!(
        reason(judge(&c, &[], None, &policy(), at(100))),
        "replay_no_termination"
    );
    let c = closed();
    let protected = VerifierConfig {
        protected_identities: vec!["e1".into()],
        ..policy()
    };
    assert_eq!(
        reason(judge(&c, &[], None, &protected, at(100))),
        "replay_protected_identity"
    );
    let mut replay = closed();
    replay.replay = Some(Box::new(CaseReplay {
        of_case: c.case_id,
        of_state: CaseState::Closed,
        of_closed_at: c.closed_at,
        skipped: Vec::new(),
        authenticity: revoke_shared::contract::Authenticity::Unauthenticated,
        request: request(&c),
    }));
    assert_eq!(
        reason(judge(&replay, &[], None, &policy(), at(100))),
        "replay_of_replay"
    );
}

#[test]
fn one_replay_of_a_case_at_a_time() {
    let c = closed();
    let mut running = closed();
    running.case_id = Uuid::from_u128(99);
    running.replay = Some(Box::new(CaseReplay {
        of_case: c.case_id,
        of_state: CaseState::Closed,
        of_closed_at: c.closed_at,
        skipped: Vec::new(),
        authenticity: revoke_shared::contract::Authenticity::Unauthenticated,
        request: request(&c),
    }));
    for (state, under_way) in [
        (CaseState::Admitting, true),
        (CaseState::Held, true),
        (CaseState::Open, true),
        (CaseState::Closed, false),
        (CaseState::Escalated, false),
        (CaseState::Rejected, false),
        (CaseState::Rescinded, false),
    ] {
        running.state = state;
        assert_eq!(
            replay_in_progress(&running, c.case_id),
            under_way,
            "{state:?}"
        );
        assert!(!replay_in_progress(&running, Uuid::from_u128(1)));
    }
    running.state = CaseState::Held;
    let (why, detail) = judge(&c, &[], Some(&running), &policy(), at(100)).unwrap_err();
    assert_eq!(why, "replay_in_progress");
    assert!(detail.contains(&running.case_id.to_string()), "{detail}");
}

#[test]
fn a_live_released_case_may_be_replayed() {
    let mut v = kit::verifier();
    let (_, open) = kit::open(&mut v, "E2", "evt-2", at(0), at(0));
    assert!(judge(&open, &[Directory], None, &policy(), at(10)).is_ok());
    let mut escalated = open.clone();
    escalated.state = CaseState::Escalated;
    assert!(judge(&escalated, &[Directory], None, &policy(), at(10)).is_ok());
}

fn request(c: &Case) -> ReplayRequest {
    ReplayRequest {
        schema: revoke_shared::contract::REPLAY_REQUEST_SCHEMA.into(),
        replay_id: Uuid::from_u128(7),
        case_id: c.case_id,
        identity_id: c.identity_id.clone(),
        targets: Vec::new(),
        from: at(0),
        to: at(60),
        by: "alice".into(),
        at: at(90),
        note: None,
        signature: None,
    }
}

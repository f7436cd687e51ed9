//! A termination opens a case; verified confirmations close it, exactly once; an unverified
//! success keeps it open; confirmations that arrive before their termination wait for it.

use super::kit::*;

// ---------------------------------------------------------------------------------------------
// Termination opens a case
// ---------------------------------------------------------------------------------------------

/// A termination opens revision 1 with every required target pending and the HR facts copied;
/// the deadline runs from the (future) effective time.
#[test]
fn termination_opens_case_with_all_targets_pending() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(600));
    let case = sole_case(hr(&mut v, &ev, at(0)));

    assert_eq!(case.schema, CASE_SCHEMA);
    assert_eq!(case.case_id, ev.case_id());
    assert_eq!(case.case_id, case_id_for(SOURCE, "evt-1"));
    assert_eq!(case.identity_id, "E1");
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.revision, 1);
    assert_eq!(case.required_targets, ALL.to_vec());
    assert_eq!(
        case.targets.keys().copied().collect::<Vec<_>>(),
        ALL.to_vec()
    );
    assert!(case.targets.values().all(|s| *s == TargetStatus::pending()));
    assert_eq!(case.effective_at, Some(at(600)));
    assert_eq!(case.deadline, Some(at(600 + DEADLINE_SECS)));
    assert_eq!(case.identity.as_ref(), Some(&ev.data.identity));
    assert_eq!(case.event_id.as_deref(), Some("evt-1"));
    assert_eq!(case.source.as_deref(), Some(SOURCE));
    assert_eq!(case.reason.as_deref(), Some("resignation"));
    assert_eq!(case.requested_by.as_deref(), Some("hr:bob"));
    assert_eq!(case.approved_by.as_deref(), Some("mgr:carol"));
    assert_eq!((case.opened_at, case.updated_at), (at(0), at(0)));
    assert_eq!(case.closed_at, None);
    assert_eq!(case.rescinded_by, None);
    assert!(case.escalations.is_empty());

    assert_eq!(v.case(&case.case_id), Some(&case));
    assert!(!v.is_closed(&case.case_id));
    assert_eq!(v.open_count(), 1);
}

/// The deadline never starts before the verifier heard of the termination: a back-dated
/// effective time (or none at all) starts it at `now`.
#[test]
fn deadline_counts_from_now_when_effective_time_is_past_or_missing() {
    let mut v = verifier();
    let (_, case) = open(&mut v, "E1", "evt-1", at(0), at(900));
    assert_eq!(case.deadline, Some(at(900 + DEADLINE_SECS)));

    let mut ev = termination("E2", "evt-2", at(0));
    ev.data.effective_at = None;
    let case = sole_case(hr(&mut v, &ev, at(50)));
    assert_eq!(case.effective_at, None);
    assert_eq!(case.deadline, Some(at(50 + DEADLINE_SECS)));
}

/// A duplicate termination (same source and id) publishes nothing and changes nothing.
#[test]
fn duplicate_termination_is_silent() {
    let mut v = verifier();
    let (ev, case) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert!(hr(&mut v, &ev, at(10)).is_empty());
    assert!(hr(&mut v, &ev.clone(), at(20)).is_empty());
    assert_eq!(
        v.case(&case.case_id),
        Some(&case),
        "revision and updated_at untouched"
    );
    assert_eq!(v.open_count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------------------------

/// Each verified confirmation publishes one new revision; the last required one closes the case
/// with exactly one Case effect, after which nothing about the case is ever published again.
#[test]
fn verified_confirmations_close_the_case_exactly_once() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let id = ev.case_id();

    for (i, t) in ALL[..4].iter().enumerate() {
        let now = at(10 + i as i64);
        let c = ok(&ev, *t, now);
        let case = sole_case(conf(&mut v, &c, now));
        assert_eq!(case.state, CaseState::Open);
        assert_eq!(case.revision, 2 + i as u64);
        assert_eq!(case.updated_at, now);
        let s = &case.targets[t];
        assert_eq!(s.state, TargetState::Done);
        assert_eq!(s.outcome, Some(Outcome::Revoked));
        assert_eq!(s.confirmed_at, Some(now));
        assert_eq!(s.instance.as_deref(), Some("default"));
        assert_eq!(s.worker.as_deref(), Some(&c.worker));
        assert_eq!(s.objects, c.objects);
        assert_eq!(s.attempts, 1);
    }

    let last = ok(&ev, Cicd, at(20));
    let closed = sole_case(conf(&mut v, &last, at(20)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 6);
    assert_eq!(closed.closed_at, Some(at(20)));
    assert_eq!(closed.updated_at, at(20));
    assert!(closed
        .targets
        .values()
        .all(|s| s.state == TargetState::Done));
    assert!(closed.escalations.is_empty());
    assert_eq!(closed.time_to_close_ms(), Some(20_000));
    assert!(v.is_closed(&id));
    assert_eq!(v.case(&id), None, "closed cases are reduced to a marker");
    assert_eq!(v.open_count(), 0);

    // Nothing changes a closed case: duplicates, re-runs, failures, unverified news, the
    // termination again, or a tick long after the deadline.
    assert!(conf(&mut v, &last, at(30)).is_empty());
    assert!(conf(&mut v, &reemitted(&last, 60), at(80)).is_empty());
    assert!(conf(&mut v, &ok(&ev, Directory, at(90)), at(90)).is_empty());
    assert!(conf(&mut v, &failed(&ev, Vault, at(91)), at(91)).is_empty());
    assert!(conf(&mut v, &unverified(&ev, Saas, at(92)), at(92)).is_empty());
    assert!(conf(
        &mut v,
        &confirmation(&ev, Cloud, Outcome::ManualRequired, false, at(93)),
        at(93)
    )
    .is_empty());
    assert!(hr(&mut v, &ev, at(94)).is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
    assert!(v.is_closed(&id));
    assert_eq!(v.open_count(), 0);
}

/// `already_absent` with nothing to remove counts as verified, and time-to-revoke runs from
/// the effective time to the last removal (or to the confirmation when nothing was removed).
#[test]
fn time_to_revoke_is_measured_from_effective_time() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(100), at(0));

    let case = sole_case(conf(&mut v, &ok(&ev, Vault, at(191)), at(192)));
    assert_eq!(
        case.targets[&Vault].time_to_revoke_ms,
        Some(90_000),
        "removed_at is finished_at - 1s"
    );

    let mut absent = confirmation(&ev, Saas, Outcome::AlreadyAbsent, true, at(130));
    absent.objects.clear();
    let case = sole_case(conf(&mut v, &absent, at(131)));
    assert_eq!(case.targets[&Saas].state, TargetState::Done);
    assert_eq!(case.targets[&Saas].time_to_revoke_ms, Some(30_000));
    assert_eq!(case.targets[&Cloud].time_to_revoke_ms, None);
}

/// With a subset of targets required, the others neither block nor complete a close.
#[test]
fn only_required_targets_decide_closing() {
    let mut v = Verifier::new(VerifierConfig {
        required_targets: vec![Directory, Vault],
        ..policy()
    });
    let (ev, case) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(
        case.targets.keys().copied().collect::<Vec<_>>(),
        vec![Directory, Vault]
    );

    // A report from a target the policy does not require is recorded, but does not close.
    let case = sole_case(conf(&mut v, &ok(&ev, Saas, at(1)), at(1)));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.targets[&Saas].state, TargetState::Done);

    sole_case(conf(&mut v, &ok(&ev, Directory, at(2)), at(2)));
    let closed = sole_case(conf(&mut v, &ok(&ev, Vault, at(3)), at(3)));
    assert_eq!(closed.state, CaseState::Closed);
    assert!(v.is_closed(&ev.case_id()));
}

// ---------------------------------------------------------------------------------------------
// Unverified success
// ---------------------------------------------------------------------------------------------

/// A success whose read-back did not prove the access gone is `unverified`: not enough to
/// close, not a reason to escalate. A verified report for the same target later closes.
#[test]
fn unverified_success_keeps_case_open_without_escalation() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &ALL[..4], 1);

    let weak = unverified(&ev, Cicd, at(10));
    let case = sole_case(conf(&mut v, &weak, at(10)));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.revision, 6);
    assert_eq!(case.targets[&Cicd].state, TargetState::Unverified);
    assert_eq!(case.targets[&Cicd].outcome, Some(Outcome::Revoked));
    assert_eq!(case.targets[&Cicd].time_to_revoke_ms, None);
    assert_eq!(
        target_summary(&case)[&Cicd],
        "reported revoked but not verified"
    );
    assert!(case.escalations.is_empty());
    assert_eq!(case.closed_at, None);
    assert!(!v.is_closed(&ev.case_id()));

    // The same news again is a duplicate.
    assert!(conf(&mut v, &weak, at(11)).is_empty());
    assert!(conf(&mut v, &reemitted(&weak, 5), at(16)).is_empty());

    let closed = sole_case(conf(&mut v, &ok(&ev, Cicd, at(20)), at(20)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 7);
}

// ---------------------------------------------------------------------------------------------
// Confirmations before their termination
// ---------------------------------------------------------------------------------------------

/// Confirmations that arrive first are kept in a `pending` case that neither closes nor
/// escalates; the termination then evaluates it at once and closes it if all were verified.
#[test]
fn confirmations_before_termination_wait_then_close_at_once() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    let id = ev.case_id();

    for (i, t) in ALL.iter().enumerate() {
        let now = at(1 + i as i64);
        let case = sole_case(conf(&mut v, &ok(&ev, *t, now), now));
        assert_eq!(case.case_id, id);
        assert_eq!(case.identity_id, "E1");
        assert_eq!(case.state, CaseState::Pending);
        assert_eq!(case.revision, 1 + i as u64);
        assert_eq!(
            (case.event_id.as_ref(), case.deadline, case.effective_at),
            (None, None, None)
        );
        assert_eq!(case.opened_at, at(1), "first seen");
        assert_eq!(case.targets[t].state, TargetState::Done);
        assert_eq!(
            case.targets[t].time_to_revoke_ms, None,
            "no effective time yet"
        );
        assert_eq!(case.closed_at, None);
        assert!(case.escalations.is_empty());
    }
    assert!(!v.is_closed(&id));
    assert_eq!(v.open_count(), 1, "pending counts as open");
    assert!(tick(&mut v, at(100 * DEADLINE_SECS)).is_empty());

    let closed = sole_case(hr(&mut v, &ev, at(10)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 6);
    assert_eq!(closed.closed_at, Some(at(10)));
    assert_eq!(closed.event_id.as_deref(), Some("evt-1"));
    assert_eq!(closed.identity.as_ref(), Some(&ev.data.identity));
    assert_eq!(closed.deadline, Some(at(10 + DEADLINE_SECS)));
    assert_eq!(closed.opened_at, at(1));
    assert_eq!(
        closed.targets[&Directory].time_to_revoke_ms,
        Some(0),
        "removed 1s before finishing at +1s"
    );
    assert_eq!(closed.targets[&Cicd].time_to_revoke_ms, Some(4_000));
    assert!(v.is_closed(&id));
    assert_eq!(v.open_count(), 0);
    assert!(hr(&mut v, &ev, at(11)).is_empty());
}

/// A failure that arrived first is only acted on when the termination arrives.
#[test]
fn failure_before_termination_escalates_when_termination_arrives() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    let case = sole_case(conf(&mut v, &failed(&ev, Vault, at(1)), at(1)));
    assert_eq!(case.state, CaseState::Pending);
    assert_eq!(case.targets[&Vault].state, TargetState::Failed);
    sole_case(conf(&mut v, &ok(&ev, Saas, at(2)), at(2)));

    let (case, esc) = case_and_escalation(hr(&mut v, &ev, at(3)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.revision, 3);
    assert_eq!(esc.reason, EscalationReason::TargetFailed);
    assert_eq!(esc.targets, vec![Vault]);
    assert_eq!(esc.owner, owner("vault-team"));
    assert_escalation_recorded(&case, &esc);
}

/// Some confirmations first, then the termination: an open case carrying them, deadline set.
#[test]
fn partial_confirmations_before_termination_give_an_open_case() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    confirm_ok(&mut v, &ev, &[Directory, Cloud], 1);
    let case = sole_case(hr(&mut v, &ev, at(5)));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.revision, 3);
    assert_eq!(case.deadline, Some(at(5 + DEADLINE_SECS)));
    let done: Vec<TargetKind> = case
        .targets
        .iter()
        .filter(|(_, s)| s.state == TargetState::Done)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(done, vec![Directory, Cloud]);
    let closed = sole_case(confirm_ok(&mut v, &ev, &[Saas, Vault, Cicd], 10));
    assert_eq!(closed.state, CaseState::Closed);
}

// ---------------------------------------------------------------------------------------------

//! The closure review: a case where a person's word stood in for a read-back waits for a second
//! person's review, bound to the evidence digest; conflicts, stale digests and unsigned reviews
//! are refused; a rejection reopens and escalates; a review not made in time escalates.

use super::decision_kit::*;

#[test]
fn a_review_binds_to_the_evidence_and_a_second_person() {
    let mut v = reviewing(ClosureReview::Attested);
    let case = awaiting_review(&mut v);
    let digest = case.evidence_digest();
    let refused = |v: &mut Verifier, by: &str, d: &str| {
        sole_refusal(decide(
            v,
            &review(&case, ReviewVerdict::Accept, by, d, &[]),
            30,
        ))
    };
    assert_eq!(refused(&mut v, "carol", &digest), "decision_without_role");
    assert_eq!(
        refused(&mut v, "ian", &digest),
        "review_conflict_of_interest"
    );
    let stale = format!("sha256:{}", "0".repeat(64));
    assert_eq!(refused(&mut v, "rita", &stale), "review_evidence_changed");
    let (mut unsigned, mut raw) = review(&case, ReviewVerdict::Accept, "rita", &digest, &[]);
    raw.as_object_mut().unwrap().remove("signature");
    unsigned.signature = None;
    assert_eq!(
        sole_refusal(decide(&mut v, &(unsigned, raw), 30)),
        "decision_unsigned"
    );
    // The approver of the case's held batch may not review it either.
    let mut approved = v.case(&case.case_id).unwrap().clone();
    approved.guard = Some(Box::new(CaseGuard {
        decided_by: Some("alice".into()),
        ..CaseGuard::asked(at(0))
    }));
    approved.revision += 1;
    v.restore(approved.clone());
    let digest = approved.evidence_digest();
    assert_eq!(
        refused(&mut v, "alice", &digest),
        "review_conflict_of_interest"
    );
    assert_eq!(
        v.case(&case.case_id).unwrap().state,
        CaseState::AwaitingReview
    );

    // rita, on the evidence she saw: closed, with her review in the record.
    let ok = review(&case, ReviewVerdict::Accept, "rita", &digest, &[]);
    let closed = sole_case(decide(&mut v, &ok, 40));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.closed_at, Some(at(40)));
    let r = closed.review.as_ref().unwrap();
    assert_eq!(
        (r.verdict, r.by.as_deref(), r.authenticity),
        (
            Some(ReviewVerdict::Accept),
            Some("rita"),
            Some(Authenticity::Authenticated)
        )
    );
    assert_eq!(r.evidence_digest.as_deref(), Some(digest.as_str()));
    assert!(v.is_closed(&case.case_id));
    assert!(
        decide(&mut v, &ok, 41).is_empty(),
        "a replay changes nothing"
    );
}

#[test]
fn a_rejection_reopens_the_step_escalates_and_a_new_attestation_is_reviewed_again() {
    let mut v = reviewing(ClosureReview::Attested);
    let (case, no, (reopened, e)) = rejected_by_rita(&mut v, &[]);
    assert_eq!(reopened.state, CaseState::Escalated);
    let st = &reopened.steps[&STEP.to_string()];
    assert_eq!(st.state, TargetState::Pending);
    assert_eq!(
        st.superseded.len(),
        1,
        "carol's attestation stays as history"
    );
    assert_eq!(e.reason, EscalationReason::ReviewRejected);
    assert_eq!(e.steps, vec![STEP.to_string()]);
    assert_eq!(e.owner.name, "ian (person)");
    let r = reopened.review.as_ref().unwrap();
    assert_eq!(r.rejected.len(), 1);
    assert!(r.verdict.is_none());
    assert!(
        decide(&mut v, &no, 31).is_empty(),
        "a replay changes nothing"
    );
    // Replaying carol's attestation (or an acknowledgement made before the rejection) does not
    // re-attest what the reviewer set aside: dead-lettered, the step stays pending.
    let replayed = attestation(&case, STEP, "carol", Some("carol"), 20);
    assert_eq!(
        sole_refusal(attest(&mut v, &replayed, 31)),
        "evidence_before_rejection"
    );
    assert_eq!(
        v.case(&case.case_id).unwrap().steps[&STEP.to_string()].state,
        TargetState::Pending
    );
    // A review on the reopened case is refused; a new attestation brings it back.
    let early = review(
        &reopened,
        ReviewVerdict::Accept,
        "rita",
        &reopened.evidence_digest(),
        &[],
    );
    assert_eq!(
        sole_refusal(decide(&mut v, &early, 32)),
        "review_case_not_awaiting"
    );
    let again = sole_case(attest(
        &mut v,
        &attestation(&reopened, STEP, "carol", Some("carol"), 40),
        40,
    ));
    assert_eq!(again.state, CaseState::AwaitingReview);
    assert_eq!(again.review.as_ref().unwrap().rejected.len(), 1);
    assert_ne!(again.evidence_digest(), case.evidence_digest());
    // The old digest no longer fits; the new one does.
    let old = review(
        &again,
        ReviewVerdict::Accept,
        "rita",
        &case.evidence_digest(),
        &[],
    );
    assert_eq!(
        sole_refusal(decide(&mut v, &old, 41)),
        "review_evidence_changed"
    );
    let yes = review(
        &again,
        ReviewVerdict::Accept,
        "rita",
        &again.evidence_digest(),
        &[],
    );
    assert_eq!(sole_case(decide(&mut v, &yes, 42)).state, CaseState::Closed);
}

#[test]
fn a_rejection_names_only_what_the_case_has() {
    let mut v = reviewing(ClosureReview::Attested);
    let case = awaiting_review(&mut v);
    let d = case.evidence_digest();
    let bad = review(&case, ReviewVerdict::Reject, "rita", &d, &["shredding"]);
    assert_eq!(
        sole_refusal(decide(&mut v, &bad, 30)),
        "review_unknown_reopen"
    );
    // A verified target may be named too: it goes back to pending with the step.
    let both = review(&case, ReviewVerdict::Reject, "rita", &d, &["vault", STEP]);
    let (c, e) = case_and_escalation(decide(&mut v, &both, 31));
    assert_eq!(c.targets[&Vault].state, TargetState::Pending);
    assert_eq!(
        (e.targets.clone(), e.steps.clone()),
        (vec![Vault], vec![STEP.to_string()])
    );
}

#[test]
fn a_review_not_made_in_time_escalates_once_across_restarts() {
    let mut v = reviewing(ClosureReview::Attested);
    let case = awaiting_review(&mut v);
    assert!(publishes_nothing(&tick(&mut v, at(20 + 3599))));
    let (c, e) = case_and_escalation(tick(&mut v, at(20 + 3600)));
    assert_eq!(e.reason, EscalationReason::ReviewOverdue);
    assert_eq!(e.owner.name, "ian (person)");
    assert_eq!(
        c.state,
        CaseState::AwaitingReview,
        "still waiting for a reviewer"
    );
    assert_eq!(c.evidence_digest(), case.evidence_digest());
    assert!(publishes_nothing(&tick(&mut v, at(20 + 3700))));
    let mut again = reviewing(ClosureReview::Attested);
    again.restore(c);
    assert!(publishes_nothing(&tick(&mut again, at(20 + 7200))));
}

#[test]
fn closure_review_none_closes_and_all_reviews_even_verified_cases() {
    let mut none = reviewing(ClosureReview::None);
    let case = waiting_on_the_step(&mut none);
    let closed = sole_case(attest(
        &mut none,
        &attestation(&case, STEP, "carol", Some("carol"), 20),
        20,
    ));
    assert_eq!(closed.state, CaseState::Closed);

    let mut all = Verifier::new(VerifierConfig {
        closure_review: ClosureReview::All,
        ..policy()
    });
    let (ev, _) = open(&mut all, "E2", "evt-2", at(0), at(0));
    let waiting = sole_case(confirm_ok(&mut all, &ev, &ALL, 1));
    assert_eq!(waiting.state, CaseState::AwaitingReview);
    assert_eq!(
        waiting.review.as_ref().unwrap().why,
        "verifier.closure_review = all"
    );
    // Nothing attested: a rejection must name what to reopen. Free text is fine without
    // [[people]] or required signing: recorded as unauthenticated.
    let unsigned = |verdict| {
        let (mut r, mut raw) = review(&waiting, verdict, "rita", &waiting.evidence_digest(), &[]);
        raw.as_object_mut().unwrap().remove("signature");
        r.signature = None;
        (r, raw)
    };
    let (r, raw) = unsigned(ReviewVerdict::Reject);
    assert_eq!(
        sole_refusal(all.apply(Input::Review(&r, &raw), at(30))),
        "review_nothing_to_reopen"
    );
    let (r, raw) = unsigned(ReviewVerdict::Accept);
    let closed = sole_case(all.apply(Input::Review(&r, &raw), at(31)));
    assert_eq!(
        closed.review.unwrap().authenticity,
        Some(Authenticity::Unauthenticated)
    );
}

#[test]
fn a_reopened_target_is_not_closed_again_by_a_report_made_before_the_rejection() {
    let mut v = reviewing(ClosureReview::Attested);
    let (case, _, (reopened, _)) = rejected_by_rita(&mut v, &["vault"]);
    assert_eq!(
        reopened.targets[&TargetKind::Vault].state,
        TargetState::Pending
    );
    // The vault worker's report the reviewer saw, redelivered or replayed: refused.
    let ev = termination("E1", "evt-1", at(0));
    assert_eq!(
        sole_refusal(conf(&mut v, &ok(&ev, TargetKind::Vault, at(1)), at(31))),
        "evidence_before_rejection"
    );
    let still = v.case(&case.case_id).unwrap();
    assert_eq!(
        still.targets[&TargetKind::Vault].state,
        TargetState::Pending
    );
    // A new run's read-back counts: the case waits for its review again.
    let again = sole_case(conf(&mut v, &ok(&ev, TargetKind::Vault, at(50)), at(50)));
    assert_eq!(again.targets[&TargetKind::Vault].state, TargetState::Done);
    assert_eq!(again.state, CaseState::AwaitingReview);
}

/// E1's case brought to review, then rejected by rita at 30 s (reopening `reopen`, or every
/// attested part): the case before, the review, and the reopened case with its escalation.
fn rejected_by_rita(
    v: &mut Verifier,
    reopen: &[&str],
) -> (Case, (ReviewRecord, Value), (Case, Escalation)) {
    let case = awaiting_review(v);
    let no = review(
        &case,
        ReviewVerdict::Reject,
        "rita",
        &case.evidence_digest(),
        reopen,
    );
    let reopened = case_and_escalation(decide(v, &no, 30));
    (case, no, reopened)
}

//! Steps without an API (`[steps]`) and the closure review: a case opens with its identity
//! kind's steps pending, closes only when they are attested by a person with the `attester`
//! role under their own key, waits for a second person's review (bound to the evidence digest)
//! when a person's word stood in for a read-back, and escalates steps past their SLA, rejected
//! reviews and reviews not made in time.

use super::kit::*;
use crate::verifier::machine::Roster;
use revoke_shared::config::{ClosureReview, Person, Role, StepConfig};
use revoke_shared::contract::{
    Authenticity, CaseGuard, ReviewRecord, ReviewVerdict, StepAttestation, REVIEW_SCHEMA,
    STEP_ATTESTATION_SCHEMA,
};
use revoke_shared::signing::RecordSigner;
use serde_json::Value;

const STEP: &str = "device_return";

fn key(id: &str) -> RecordSigner {
    let seed = [id
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b)); 32];
    RecordSigner::from_seed(id, &seed)
}

fn person(id: &str, roles: &[Role]) -> Person {
    Person {
        id: id.into(),
        name: format!("{id} (person)"),
        contact: format!("{id}@example.com"),
        roles: roles.to_vec(),
        public_key: Some(key(id).public_key_text()),
        previous_public_keys: Vec::new(),
    }
}

/// carol attests, rita reviews, ian owns the step (and may review), alice approves and reviews,
/// mallory only reviews.
fn roster() -> Roster {
    let mut steps = BTreeMap::new();
    steps.insert(
        STEP.to_string(),
        StepConfig {
            description: "laptop and badge returned".into(),
            owner: "ian".into(),
            sla_secs: 600,
            required_by_kind: vec!["employee".into()],
        },
    );
    Roster {
        steps,
        people: vec![
            person("carol", &[Role::Attester]),
            person("rita", &[Role::Reviewer]),
            person("ian", &[Role::Owner, Role::Reviewer]),
            person("alice", &[Role::Approver, Role::Reviewer]),
            person("mallory", &[Role::Reviewer]),
        ],
        signing_required: true,
    }
}

fn reviewing(mode: ClosureReview) -> Verifier {
    let p = VerifierConfig {
        closure_review: mode,
        review_sla_secs: 3600,
        ..policy()
    };
    Verifier::new(p).with_roster(roster())
}

/// `by`'s attestation of `step` on `case`, signed by `signer` (none: unsigned).
fn attestation(
    case: &Case,
    step: &str,
    by: &str,
    signer: Option<&str>,
    secs: i64,
) -> (StepAttestation, Value) {
    let a = StepAttestation {
        schema: STEP_ATTESTATION_SCHEMA.into(),
        attestation_id: Uuid::new_v5(&case.case_id, format!("{step}{by}{secs}").as_bytes()),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        step: step.into(),
        by: by.into(),
        at: at(secs),
        note: "laptop in the IT cupboard, ticket IT-7".into(),
        signature: None,
    };
    sign(a, signer)
}

fn sign<T: serde::Serialize + serde::de::DeserializeOwned>(
    r: T,
    signer: Option<&str>,
) -> (T, Value) {
    let v = match signer {
        Some(s) => key(s).sign(&r).unwrap(),
        None => serde_json::to_value(&r).unwrap(),
    };
    (serde_json::from_value(v.clone()).unwrap(), v)
}

fn review(
    case: &Case,
    verdict: ReviewVerdict,
    by: &str,
    digest: &str,
    reopen: &[&str],
) -> (ReviewRecord, Value) {
    let r = ReviewRecord {
        schema: REVIEW_SCHEMA.into(),
        review_id: Uuid::new_v4(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        verdict,
        by: by.into(),
        at: at(100),
        evidence_digest: digest.into(),
        reopen: reopen.iter().map(|s| s.to_string()).collect(),
        note: Some("checked the ticket".into()),
        signature: None,
    };
    sign(r, Some(by))
}

fn attest(v: &mut Verifier, a: &(StepAttestation, Value), secs: i64) -> Vec<Effect> {
    v.apply(Input::StepAttestation(&a.0, &a.1), at(secs))
}

fn decide(v: &mut Verifier, r: &(ReviewRecord, Value), secs: i64) -> Vec<Effect> {
    v.apply(Input::Review(&r.0, &r.1), at(secs))
}

/// E1's case with every target verified and the step still pending.
fn waiting_on_the_step(v: &mut Verifier) -> Case {
    let (ev, opened) = open(v, "E1", "evt-1", at(0), at(0));
    assert_eq!(opened.steps[&STEP.to_string()].state, TargetState::Pending);
    let case = sole_case(confirm_ok(v, &ev, &ALL, 1));
    assert_eq!(case.state, CaseState::Open, "the step is still pending");
    case
}

/// E1's case, the step attested by carol: waiting for its review.
fn awaiting_review(v: &mut Verifier) -> Case {
    let case = waiting_on_the_step(v);
    let case = sole_case(attest(
        v,
        &attestation(&case, STEP, "carol", Some("carol"), 20),
        20,
    ));
    assert_eq!(case.state, CaseState::AwaitingReview);
    case
}

#[test]
fn a_case_opens_with_the_steps_its_identity_kind_requires() {
    let mut v = reviewing(ClosureReview::Attested);
    let (_, employee) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(employee.steps.keys().collect::<Vec<_>>(), vec![STEP]);
    let mut ev = termination("C1", "evt-2", at(0));
    ev.data.identity.kind = IdentityKind::Contractor;
    let contractor = sole_case(hr(&mut v, &ev, at(0)));
    assert!(
        contractor.steps.is_empty(),
        "device_return is for employees"
    );
}

#[test]
fn only_a_genuine_attesters_signed_word_makes_a_step_done() {
    let mut v = reviewing(ClosureReview::Attested);
    let case = waiting_on_the_step(&mut v);
    // Unsigned, signed by someone else in carol's name, by a person without the role, a byte
    // of the note changed after signing, a step the case does not have: refused, step pending.
    let unsigned = attestation(&case, STEP, "carol", None, 10);
    assert_eq!(
        sole_refusal(attest(&mut v, &unsigned, 10)),
        "decision_unsigned"
    );
    let foreign = attestation(&case, STEP, "carol", Some("mallory"), 11);
    assert_eq!(
        sole_refusal(attest(&mut v, &foreign, 11)),
        "decision_not_theirs"
    );
    let no_role = attestation(&case, STEP, "mallory", Some("mallory"), 12);
    assert_eq!(
        sole_refusal(attest(&mut v, &no_role, 12)),
        "decision_without_role"
    );
    let (a, mut altered) = attestation(&case, STEP, "carol", Some("carol"), 13);
    altered["note"] = "laptop kept by the leaver".into();
    let a = StepAttestation {
        note: "laptop kept by the leaver".into(),
        ..a
    };
    assert_eq!(
        sole_refusal(attest(&mut v, &(a, altered), 13)),
        "decision_bad_signature"
    );
    let unknown = attestation(&case, "shredding", "carol", Some("carol"), 14);
    assert_eq!(sole_refusal(attest(&mut v, &unknown, 14)), "unknown_step");
    assert_eq!(
        v.case(&case.case_id).unwrap().steps[&STEP.to_string()].state,
        TargetState::Pending
    );

    // carol's own signed word: the step is done on attested evidence, never verified.
    let genuine = attestation(&case, STEP, "carol", Some("carol"), 20);
    let done = sole_case(attest(&mut v, &genuine, 20));
    let st = &done.steps[&STEP.to_string()];
    assert_eq!(st.state, TargetState::Done);
    let o = &st.objects[0];
    assert_eq!(o.provenance, revoke_shared::contract::Provenance::Attested);
    assert!(!o.verified);
    assert_eq!(o.actor.principal, "carol");
    let kept = st.attestation.as_ref().unwrap();
    assert_eq!(kept.authenticity, Authenticity::Authenticated);
    assert_eq!(kept.record, genuine.0);
    // The record kept in the case verifies offline with carol's public key.
    let record = serde_json::to_value(&kept.record).unwrap();
    let people = roster().people;
    revoke_shared::signing::verify_record(&record, |s, k| {
        revoke_shared::signing::person_key(&people, s, k)
    })
    .unwrap();
    // Not closed: a person's word needs a second person.
    assert_eq!(done.state, CaseState::AwaitingReview);
    assert!(done.closed_at.is_none());
    assert_eq!(
        done.review.as_ref().unwrap().why,
        format!("attested: {STEP}")
    );
    // Again: nothing.
    assert!(attest(&mut v, &genuine, 21).is_empty());
}

#[test]
fn a_step_past_its_sla_escalates_to_its_owner_once() {
    let mut v = reviewing(ClosureReview::Attested);
    let case = waiting_on_the_step(&mut v);
    assert!(publishes_nothing(&tick(&mut v, at(599))));
    let (c, e) = case_and_escalation(tick(&mut v, at(600)));
    assert_eq!(e.reason, EscalationReason::SlaPassed);
    assert_eq!(
        (e.targets.len(), e.steps.clone()),
        (0, vec![STEP.to_string()])
    );
    assert_eq!(e.owner.name, "ian (person)");
    assert_eq!(e.owner.contact, "ian@example.com");
    assert_eq!(c.state, CaseState::Escalated);
    assert!(publishes_nothing(&tick(&mut v, at(601))));
    // A restarted verifier does not raise it again (the record is the case).
    let mut again = reviewing(ClosureReview::Attested);
    again.restore(c);
    assert!(publishes_nothing(&tick(&mut again, at(700))));
    // The deadline names the pending step too.
    let (c, e) = case_and_escalation(tick(&mut again, at(DEADLINE_SECS)));
    assert_eq!(e.reason, EscalationReason::DeadlinePassed);
    assert_eq!(e.steps, vec![STEP.to_string()]);
    assert_eq!(c.case_id, case.case_id);
}

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
    let case = awaiting_review(&mut v);
    let no = review(
        &case,
        ReviewVerdict::Reject,
        "rita",
        &case.evidence_digest(),
        &[],
    );
    let (reopened, e) = case_and_escalation(decide(&mut v, &no, 30));
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
fn a_second_termination_while_awaiting_review_joins_the_case() {
    let mut v = reviewing(ClosureReview::Attested);
    let case = awaiting_review(&mut v);
    let again = termination("E1", "evt-again", at(30));
    let effects = hr(&mut v, &again, at(30));
    let joined = case_records(&effects);
    assert_eq!(joined.len(), 1, "{effects:?}");
    assert_eq!(joined[0].case_id, case.case_id, "one person, one case");
    assert_eq!(joined[0].state, CaseState::AwaitingReview);
    assert_eq!(joined[0].joined.len(), 1);
}

//! Steps without an API (`[steps]`): a case opens with its identity kind's steps pending and
//! closes only when a person with the `attester` role attests them under their own key; a step
//! past its SLA escalates to its owner.

use super::decision_kit::*;

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

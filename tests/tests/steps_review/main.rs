//! Steps without an API and the closure review, end to end on the broker (real with
//! `REVOKE_TEST_KAFKA`, the README's test command; embedded otherwise): a simulated fleet with
//! `[signing] required`, `[[people]]` whose Ed25519 keys are generated here, and
//! `[steps.device_return]` for employees. Every outcome is read where it lands: the case record
//! on the cases topic, the escalations topic, the dead-letter topic.
//!
//! - A case opens with the step pending and does not close when every target is verified; at
//!   the step's SLA its owner (a person, by id) is escalated.
//! - Attestations that are unsigned, signed by someone else in the attester's name, made by a
//!   person without the `attester` role, or altered after signing are dead-lettered with their
//!   reason and the step stays pending; an unknown step is refused by the command.
//! - The attester's genuine, signed word makes the step done (attested, authenticated, the
//!   signature kept) and the case waits in `awaiting_review`, not closed.
//! - A review by the attester, by the approver of the case's held batch, without a signature or
//!   on a stale digest is refused; the command refuses a stale digest before publishing.
//! - A rejection reopens the step and escalates to its owner; a new attestation and a genuine
//!   review close the case. A review not made in time escalates `review_overdue`.
//! - Then, through the `revoke` binary, the evidence of the case alice approved verifies online
//!   and in an exported packet offline, her approval read from the guard log; the approval
//!   edited in or dropped from the packet is named (`evidence`).

mod evidence;
mod kit;

use kit::*;
use revoke_shared::contract::{
    Authenticity, BatchDecision, Case, CaseState, Decision, EscalationReason, GuardRecord,
    ReviewRecord, ReviewVerdict, StepAttestation, TargetState, REVIEW_SCHEMA,
    STEP_ATTESTATION_SCHEMA,
};
use revoke_tests::fleet_kit::simulated_fleet;
use revoke_tests::TestEnv;
use std::time::Duration;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(90);

fn step_state(c: &Case) -> TargetState {
    c.steps[&STEP.to_string()].state
}

/// Waits until `pick` holds for case `id` on the cases topic; returns its latest record.
async fn wait_case(env: &TestEnv, id: Uuid, what: &str, pick: impl Fn(&Case) -> bool) -> Case {
    let log = env
        .wait_cases(WAIT, |l| l.latest.get(&id).is_some_and(&pick))
        .await;
    let c = log.latest.get(&id).cloned();
    match c {
        Some(c) if pick(&c) => c,
        other => panic!(
            "[{}] case {id} never became {what}; last record: {:#?}",
            env.broker, other
        ),
    }
}

/// An attestation of `step` on `case` in `by`'s name, as `case ack --step` writes it.
fn attestation(case: &Case, step: &str, by: &str) -> StepAttestation {
    StepAttestation {
        schema: STEP_ATTESTATION_SCHEMA.into(),
        attestation_id: Uuid::new_v4(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        step: step.into(),
        by: by.into(),
        at: chrono::Utc::now(),
        note: "returned".into(),
        signature: None,
    }
}

#[test]
fn steps_are_attested_by_their_people_and_closure_needs_a_second_person() {
    let (env, keys) = setup();
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let leavers = env.leavers(2);
        let (ev_a, ev_b) = (leavers[0].clone(), leavers[1].clone());
        let (id_a, id_b) = (ev_a.case_id(), ev_b.case_id());
        let topic = env.cfg.topics.confirmations.clone();

        // A: released; every target verified, the step pending: not closed. Its SLA passes:
        // the step's owner (ian, named by person id) is told.
        publish(&env, std::slice::from_ref(&ev_a)).await;
        let a = wait_case(&env, id_a, "escalated for its step's SLA", |c| {
            c.targets.values().all(|t| t.state == TargetState::Done)
                && c.escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::SlaPassed)
        })
        .await;
        assert_eq!(a.state, CaseState::Escalated, "{a:#?}");
        assert_eq!(step_state(&a), TargetState::Pending);
        assert!(a.closed_at.is_none());
        let sla = escalations_of(&env, &a).await;
        let sla: Vec<_> = sla
            .iter()
            .filter(|e| e.reason == EscalationReason::SlaPassed)
            .collect();
        assert_eq!(sla.len(), 1, "{sla:#?}");
        assert_eq!(sla[0].steps, vec![STEP.to_string()]);
        assert_eq!(
            (sla[0].owner.name.as_str(), sla[0].owner.contact.as_str()),
            ("IAN Person", "ian@example.com")
        );

        // B: held by the guard (one release per window); alice approves it, signed.
        publish(&env, std::slice::from_ref(&ev_b)).await;
        let held = wait_case(&env, id_b, "held", |c| c.state == CaseState::Held).await;
        let batch = held.guard.as_ref().and_then(|g| g.batch.clone()).unwrap();
        let guard = {
            let cfg = env.cfg.clone();
            tokio::task::spawn_blocking(move || revoke::cli::guard::read_guard(&cfg))
                .await
                .unwrap()
                .unwrap()
        };
        let digest = guard.batch(&batch).unwrap().digest();
        let approval = GuardRecord::decision(BatchDecision {
            batch: batch.clone(),
            decision: Decision::Approve,
            by: "alice".into(),
            at: chrono::Utc::now(),
            note: Some("expected leaver".into()),
            digest: Some(digest),
            cases: Some(vec![id_b]),
        });
        let signed = keys.signer("alice").sign(&approval).unwrap();
        let guard_topic = env.cfg.topics.guard.clone();
        env.publish_raw_to(
            &guard_topic,
            Some(&batch),
            &serde_json::to_vec(&signed).unwrap(),
            &[],
        )
        .await;

        // Attestations that are not carol's own signed word: dead-lettered, the step pending.
        let unsigned = serde_json::to_value(attestation(&a, STEP, "carol")).unwrap();
        send(&env, &topic, &a.identity_id, &unsigned).await;
        let foreign = keys
            .signer("mallory")
            .sign(&attestation(&a, STEP, "carol"))
            .unwrap();
        send(&env, &topic, &a.identity_id, &foreign).await;
        let no_role = keys
            .signer("mallory")
            .sign(&attestation(&a, STEP, "mallory"))
            .unwrap();
        send(&env, &topic, &a.identity_id, &no_role).await;
        let mut altered = keys
            .signer("carol")
            .sign(&attestation(&a, STEP, "carol"))
            .unwrap();
        altered["note"] = "kept by the leaver".into();
        send(&env, &topic, &a.identity_id, &altered).await;
        let wrong_step = keys
            .signer("carol")
            .sign(&attestation(&a, "shredding", "carol"))
            .unwrap();
        send(&env, &topic, &a.identity_id, &wrong_step).await;
        for (reason, n) in [
            ("decision_unsigned", 1),
            ("decision_not_theirs", 1),
            ("decision_without_role", 1),
            ("decision_bad_signature", 1),
            ("unknown_step", 1),
        ] {
            let got = letters(&env, reason, n).await;
            assert_eq!(got.len(), n, "[{}] {reason} letters", env.broker);
            assert!(
                got[0].rejected_by.ends_with("revoke-verifier"),
                "{:?}",
                got[0]
            );
        }
        // The command refuses what it can tell: an unknown step (exit 2), a key not the
        // person's (exit 2), before publishing anything.
        let e = ack_step(&env, &a, "shredding", "carol", Some(keys.file("carol")))
            .await
            .unwrap_err();
        assert!(e.is_usage() && e.to_string().contains(STEP), "{e}");
        let e = ack_step(&env, &a, STEP, "carol", Some(keys.file("mallory")))
            .await
            .unwrap_err();
        assert!(e.is_usage(), "{e}");
        let still = env.case_log().await.latest[&id_a].clone();
        assert_eq!(step_state(&still), TargetState::Pending, "{still:#?}");
        assert_ne!(still.state, CaseState::Closed);

        // carol's own signed word: the step is done on attested evidence, and the case waits
        // for a second person.
        ack_step(&env, &a, STEP, "carol", Some(keys.file("carol")))
            .await
            .expect("carol's attestation");
        let a = wait_case(&env, id_a, "awaiting review", |c| {
            c.state == CaseState::AwaitingReview
        })
        .await;
        let st = &a.steps[&STEP.to_string()];
        assert_eq!(st.state, TargetState::Done);
        assert!(!st.objects[0].verified);
        let kept = st.attestation.as_ref().expect("the attestation is kept");
        assert_eq!(kept.authenticity, Authenticity::Authenticated);
        assert_eq!(kept.record.by, "carol");
        let record = serde_json::to_value(&kept.record).unwrap();
        let people = env.cfg.people.clone();
        revoke_shared::signing::verify_record(&record, |s, k| {
            revoke_shared::signing::person_key(&people, s, k)
        })
        .expect("the kept attestation verifies with carol's public key");
        assert!(a.closed_at.is_none());

        // Reviews: the attester's, an unsigned one, one on a stale digest: refused.
        let digest = a.evidence_digest();
        let stale = format!("sha256:{}", "0".repeat(64));
        let e = review(&env, &keys, &a, true, "rita", &stale)
            .await
            .unwrap_err();
        assert!(!e.is_usage() && e.to_string().contains(&digest), "{e}");
        review(&env, &keys, &a, true, "carol", &digest)
            .await
            .expect("published; the verifier decides");
        let mut raw = ReviewRecord {
            schema: REVIEW_SCHEMA.into(),
            review_id: Uuid::new_v4(),
            case_id: a.case_id,
            identity_id: a.identity_id.clone(),
            verdict: ReviewVerdict::Accept,
            by: "rita".into(),
            at: chrono::Utc::now(),
            evidence_digest: stale.clone(),
            reopen: Vec::new(),
            note: None,
            signature: None,
        };
        let stale_signed = keys.signer("rita").sign(&raw).unwrap();
        send(&env, &topic, &a.identity_id, &stale_signed).await;
        raw.evidence_digest = digest.clone();
        send(
            &env,
            &topic,
            &a.identity_id,
            &serde_json::to_value(&raw).unwrap(),
        )
        .await;
        assert_eq!(
            letters(&env, "review_conflict_of_interest", 1).await.len(),
            1
        );
        assert_eq!(letters(&env, "review_evidence_changed", 1).await.len(), 1);
        assert_eq!(letters(&env, "decision_unsigned", 2).await.len(), 2);
        let a_now = env.case_log().await.latest[&id_a].clone();
        assert_eq!(a_now.state, CaseState::AwaitingReview);

        // rita rejects: the step is pending again, its owner escalated; carol attests again and
        // rita accepts the new evidence: closed, her review in the record.
        review(&env, &keys, &a, false, "rita", &digest)
            .await
            .unwrap();
        let a = wait_case(&env, id_a, "reopened", |c| {
            c.escalations
                .iter()
                .any(|e| e.reason == EscalationReason::ReviewRejected)
        })
        .await;
        assert_eq!(a.state, CaseState::Escalated);
        assert_eq!(step_state(&a), TargetState::Pending);
        let rejected = escalations_of(&env, &a).await;
        let rejected: Vec<_> = rejected
            .iter()
            .filter(|e| e.reason == EscalationReason::ReviewRejected)
            .collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].owner.contact, "ian@example.com");
        assert_eq!(a.review.as_ref().unwrap().rejected.len(), 1);
        ack_step(&env, &a, STEP, "carol", Some(keys.file("carol")))
            .await
            .unwrap();
        let a = wait_case(&env, id_a, "awaiting review again", |c| {
            c.state == CaseState::AwaitingReview
        })
        .await;
        assert_ne!(a.evidence_digest(), digest, "new evidence, new digest");
        review(&env, &keys, &a, true, "rita", &a.evidence_digest())
            .await
            .unwrap();
        let a = wait_case(&env, id_a, "closed", |c| c.state == CaseState::Closed).await;
        let r = a.review.as_ref().unwrap();
        assert_eq!(
            (r.verdict, r.by.as_deref(), r.authenticity),
            (
                Some(ReviewVerdict::Accept),
                Some("rita"),
                Some(Authenticity::Authenticated)
            )
        );
        assert_eq!(
            r.evidence_digest.as_deref(),
            Some(a.evidence_digest().as_str())
        );

        // B, released by alice: attested by carol, it waits; alice (its approver) may not
        // review it; nobody does in time, so its owner hears; then rita closes it.
        let b = wait_case(&env, id_b, "released with every target done", |c| {
            c.targets.values().all(|t| t.state == TargetState::Done)
        })
        .await;
        assert_eq!(
            b.guard.as_ref().and_then(|g| g.decided_by.as_deref()),
            Some("alice")
        );
        ack_step(&env, &b, STEP, "carol", Some(keys.file("carol")))
            .await
            .unwrap();
        let b = wait_case(&env, id_b, "awaiting review", |c| {
            c.state == CaseState::AwaitingReview
        })
        .await;
        review(&env, &keys, &b, true, "alice", &b.evidence_digest())
            .await
            .unwrap();
        assert_eq!(
            letters(&env, "review_conflict_of_interest", 2).await.len(),
            2
        );
        let b = wait_case(&env, id_b, "escalated review_overdue", |c| {
            c.escalations
                .iter()
                .any(|e| e.reason == EscalationReason::ReviewOverdue)
        })
        .await;
        assert_eq!(b.state, CaseState::AwaitingReview, "still waiting");
        review(&env, &keys, &b, true, "rita", &b.evidence_digest())
            .await
            .unwrap();
        let b = wait_case(&env, id_b, "closed", |c| c.state == CaseState::Closed).await;
        assert_eq!(b.review.as_ref().unwrap().by.as_deref(), Some("rita"));

        fleet.stop().await.expect("graceful stop");
        evidence::verify_the_evidence_of(&env, &keys, &b, &signed);
    });
}

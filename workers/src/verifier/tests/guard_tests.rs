//! The verifier with the blast-radius guard on: nothing reaches the workers before the guard's
//! verdict; held cases wait for a person; the guard log judged by several verifier instances
//! releases exactly as many cases as one would.

use super::kit::*;
use crate::verifier::guard::{DecisionProof, Guard, Verdict};
use crate::verifier::machine::READMIT_SECS;
use revoke_shared::contract::{
    Admission, Authenticity, BatchDecision, Decision, GuardEntry, RecordSignature,
};

fn admissions(effects: &[Effect]) -> Vec<&Admission> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Admit(a) => Some(a),
            _ => None,
        })
        .collect()
}

fn held(batch: &str, opens: bool) -> Verdict {
    Verdict::Held {
        batch: batch.into(),
        why: "26 cases asked for release within 600 s".into(),
        opens_batch: opens,
    }
}

fn decided(batch: &str, d: Decision, at_: DateTime<Utc>) -> Verdict {
    Verdict::Decided {
        batch: batch.into(),
        why: "26 cases asked for release within 600 s".into(),
        decision: BatchDecision {
            batch: batch.into(),
            decision: d,
            by: "alice".into(),
            at: at_,
            note: Some("HR confirmed the reorg list".into()),
            digest: None,
            cases: None,
        },
        proof: Some(Box::new(alice_proof())),
    }
}

/// Alice's decision, proven hers: signed with her current key.
fn alice_proof() -> DecisionProof {
    DecisionProof {
        authenticity: Authenticity::Authenticated,
        signature: Some(RecordSignature {
            signer: "alice".into(),
            key_id: "ed25519:0011223344556677".into(),
            alg: "ed25519".into(),
            sig: "c2ln".into(),
        }),
        digest: format!("sha256:{}", "ab".repeat(32)),
    }
}

/// Opens a guarded case: admitting, one admission asked, nothing for the workers.
fn admit(v: &mut Verifier, identity: &str, now: DateTime<Utc>) -> (HrEvent, Case) {
    let ev = termination(identity, &format!("evt-{identity}"), now);
    let effects = hr(v, &ev, now);
    assert!(
        dues(&effects).is_empty(),
        "nothing is released before the verdict"
    );
    let asked = admissions(&effects);
    assert_eq!(asked.len(), 1, "{effects:?}");
    assert_eq!(asked[0].case_id, ev.case_id());
    assert_eq!(asked[0].targets, ALL.to_vec());
    let case = case_records(&effects).pop().unwrap();
    assert_eq!(case.state, CaseState::Admitting);
    assert_eq!(case.deadline, None, "the deadline starts at release");
    (ev, case)
}

#[test]
fn a_released_case_goes_to_the_workers_and_closes_as_usual() {
    let mut v = Verifier::new(guarded(25));
    let (ev, case) = admit(&mut v, "E1", at(0));
    let effects = v.apply(Input::Guard(&judged(&case, Verdict::Released)), at(1));
    assert_eq!(dues(&effects).len(), 1);
    assert_eq!(dues(&effects)[0].id, ev.id);
    let c = case_records(&effects).pop().unwrap();
    assert_eq!(c.state, CaseState::Open);
    assert_eq!(c.deadline, Some(at(1 + DEADLINE_SECS)));
    assert_eq!(c.guard.as_ref().unwrap().released_at, Some(at(1)));
    // The verdict again (a restarted verifier re-reading the log): nothing.
    assert!(v
        .apply(Input::Guard(&judged(&case, Verdict::Released)), at(2))
        .is_empty());
    let last = confirm_ok(&mut v, &ev, &ALL, 3);
    assert_eq!(sole_case(last).state, CaseState::Closed);
}

#[test]
fn a_held_batch_escalates_once_waits_without_a_deadline_and_an_approval_releases_with_evidence() {
    let mut v = Verifier::new(guarded(1));
    let (ev1, c1) = admit(&mut v, "E1", at(0));
    let (ev2, c2) = admit(&mut v, "E2", at(0));
    let (c1, esc) =
        case_and_escalation(v.apply(Input::Guard(&judged(&c1, held("hold-1", true))), at(1)));
    assert_eq!(c1.state, CaseState::Held);
    assert_eq!(esc.reason, EscalationReason::BlastRadiusHold);
    assert_eq!(esc.owner, owner("guard-desk"));
    assert!(
        esc.detail
            .contains("revoke approve hold-1 --digest DIGEST --by"),
        "{}",
        esc.detail
    );
    // The second case joins the batch quietly.
    let c2h = sole_case(v.apply(Input::Guard(&judged(&c2, held("hold-1", false))), at(1)));
    assert_eq!(c2h.state, CaseState::Held);
    assert_eq!(c2h.guard.as_ref().unwrap().batch.as_deref(), Some("hold-1"));
    // Hours pass: no deadline escalation for what was never released, nothing re-asked.
    let later = tick(&mut v, at(5 * DEADLINE_SECS));
    assert!(
        later.iter().all(
            |e| !matches!(e, Effect::Escalate(x) if x.reason == EscalationReason::DeadlinePassed)
                && !matches!(e, Effect::Admit(_) | Effect::Due(_))
        ),
        "{later:?}"
    );
    // Approval releases both, with the approval in each record.
    let approve_at = at(5 * DEADLINE_SECS + 10);
    for (ev, c) in [(&ev1, &c1), (&ev2, &c2h)] {
        let effects = v.apply(
            Input::Guard(&judged(c, decided("hold-1", Decision::Approve, approve_at))),
            approve_at,
        );
        assert_eq!(dues(&effects).len(), 1, "{effects:?}");
        let rec = case_records(&effects).pop().unwrap();
        let g = rec.guard.unwrap();
        assert_eq!(
            (
                g.decision,
                g.decided_by.as_deref(),
                g.decided_at,
                g.note.as_deref()
            ),
            (
                Some(Decision::Approve),
                Some("alice"),
                Some(approve_at),
                Some("HR confirmed the reorg list")
            )
        );
        // The proof goes into the evidence: authenticated, with the signature and the digest
        // that find and verify the logged decision offline.
        let proof = alice_proof();
        assert_eq!(g.decided_authenticity, Some(Authenticity::Authenticated));
        assert_eq!(g.decision_signature.as_deref(), proof.signature.as_ref());
        assert_eq!(g.decision_digest, Some(proof.digest));
        assert_eq!(g.released_at, Some(approve_at));
        assert_eq!(
            rec.deadline,
            Some(approve_at + Duration::seconds(DEADLINE_SECS))
        );
        let last = confirm_ok(&mut v, ev, &ALL, 5 * DEADLINE_SECS + 20);
        let closed = case_records(&last).pop().unwrap();
        assert_eq!(closed.state, CaseState::Closed);
    }
}

#[test]
fn a_rejected_case_ends_rejected_and_nothing_reaches_the_workers() {
    let mut v = Verifier::new(guarded(1));
    let (ev, c) = admit(&mut v, "E1", at(0));
    v.apply(Input::Guard(&judged(&c, held("hold-1", true))), at(1));
    let effects = v.apply(
        Input::Guard(&judged(&c, decided("hold-1", Decision::Reject, at(5)))),
        at(5),
    );
    assert!(dues(&effects).is_empty());
    let rec = case_records(&effects).pop().unwrap();
    assert_eq!(rec.state, CaseState::Rejected);
    assert!(rec.state.is_final());
    // The evidence says whether the rejection was proven the person's; a record that does not
    // say (free text, or written before decisions were checked) is unauthenticated.
    let shown = crate::cases::render(&rec);
    assert!(
        shown.contains("by alice (authenticated, held batch hold-1"),
        "{shown}"
    );
    let mut free_text = rec.clone();
    free_text.guard.as_mut().unwrap().decided_authenticity = None;
    let shown = crate::cases::render(&free_text);
    assert!(
        shown.contains("by alice (unauthenticated, held batch hold-1"),
        "{shown}"
    );
    assert!(
        shown.contains("rejected by alice (unauthenticated) at"),
        "{shown}"
    );
    assert_eq!(v.open_count(), 0);
    // A stray confirmation cannot close it, nor a later approval release it.
    let after = conf(&mut v, &ok(&ev, Directory, at(6)), at(6));
    assert!(case_records(&after)
        .iter()
        .all(|c| c.state == CaseState::Rejected));
    assert!(v
        .apply(
            Input::Guard(&judged(&c, decided("hold-1", Decision::Approve, at(7)))),
            at(7)
        )
        .is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
}

#[test]
fn a_rescind_before_release_cancels_and_a_later_verdict_changes_nothing() {
    for verdict_first in [None, Some(held("hold-1", true))] {
        let mut v = Verifier::new(guarded(1));
        let (_, c) = admit(&mut v, "E1", at(0));
        if let Some(h) = &verdict_first {
            v.apply(Input::Guard(&judged(&c, h.clone())), at(1));
        }
        let effects = hr(&mut v, &rescind("E1", "r-1", Some("evt-E1")), at(2));
        let rec = case_records(&effects).pop().unwrap();
        assert_eq!(rec.state, CaseState::Rescinded);
        assert!(
            effects
                .iter()
                .all(|e| !matches!(e, Effect::Restore(_) | Effect::Due(_))),
            "nothing was revoked, nothing to restore: {effects:?}"
        );
        for late in [
            Verdict::Released,
            decided("hold-1", Decision::Approve, at(3)),
        ] {
            assert!(v.apply(Input::Guard(&judged(&c, late)), at(3)).is_empty());
        }
    }
}

#[test]
fn a_scheduled_case_asks_the_guard_when_it_comes_due() {
    let mut v = Verifier::new(guarded(25));
    let ev = dated("E1", "evt-1", 3600);
    let c = sole_case(hr(&mut v, &ev, at(0)));
    assert_eq!(c.state, CaseState::Scheduled);
    let due = tick(&mut v, at(3600));
    assert!(dues(&due).is_empty());
    assert_eq!(admissions(&due).len(), 1);
    assert_eq!(case_records(&due)[0].state, CaseState::Admitting);
    let effects = v.apply(Input::Guard(&judged(&c, Verdict::Released)), at(3601));
    assert_eq!(dues(&effects).len(), 1);
}

#[test]
fn an_unanswered_admission_is_asked_again_and_survives_a_restart() {
    let mut v = Verifier::new(guarded(25));
    let (_, c) = admit(&mut v, "E1", at(0));
    assert!(admissions(&tick(&mut v, at(READMIT_SECS - 1))).is_empty());
    let again = tick(&mut v, at(READMIT_SECS));
    assert_eq!(admissions(&again).len(), 1);
    let rec = case_records(&again).pop().unwrap();
    assert!(
        admissions(&tick(&mut v, at(READMIT_SECS + 1))).is_empty(),
        "not every tick"
    );
    // A verifier restarted from the changelog still waits, and takes the verdict.
    let mut restarted = Verifier::new(guarded(25));
    restarted.restore(rec);
    let effects = restarted.apply(Input::Guard(&judged(&c, Verdict::Released)), at(20));
    assert_eq!(dues(&effects).len(), 1);
}

/// The shells of two verifier instances, each owning half the cases, apply the verdicts of one
/// guard log: the fleet releases the first 25 of a burst of 40 and holds 15 in one batch with
/// one escalation, exactly as one instance would; the approval releases the 15.
#[test]
fn two_instances_judging_one_log_release_exactly_the_limit() {
    let mut instances = [Verifier::new(guarded(25)), Verifier::new(guarded(25))];
    let mut guards = [Guard::new(guarded(25).guard), Guard::new(guarded(25).guard)];
    let mut log: Vec<GuardEntry> = Vec::new();
    let mut owner_of: HashMap<Uuid, usize> = HashMap::new();
    for i in 0..40 {
        let who = format!("E{i}");
        let ev = termination(&who, &format!("evt-{i}"), at(i));
        let inst = i as usize % 2;
        owner_of.insert(ev.case_id(), inst);
        for a in admissions(&hr(&mut instances[inst], &ev, at(i))) {
            log.push(GuardEntry::Admission(a.clone()));
        }
    }
    let mut released = 0;
    let mut held_cases = 0;
    let mut escalations = 0;
    let deliver = |log: &[GuardEntry],
                   from: usize,
                   instances: &mut [Verifier; 2],
                   guards: &mut [Guard; 2],
                   now: DateTime<Utc>| {
        let (mut dues_n, mut held_n, mut esc_n) = (0, 0, 0);
        for (g_i, g) in guards.iter_mut().enumerate() {
            for (o, entry) in log.iter().enumerate().skip(from) {
                for j in g.apply(o as i64, entry) {
                    if owner_of[&j.case_id] != g_i {
                        continue; // the other instance's case
                    }
                    let effects = instances[g_i].apply(Input::Guard(&j), now);
                    dues_n += dues(&effects).len();
                    held_n += case_records(&effects)
                        .iter()
                        .filter(|c| c.state == CaseState::Held)
                        .count();
                    esc_n += escalations_in(&effects).len();
                }
            }
        }
        (dues_n, held_n, esc_n)
    };
    let (d, h, e) = deliver(&log, 0, &mut instances, &mut guards, at(60));
    released += d;
    held_cases += h;
    escalations += e;
    assert_eq!((released, held_cases, escalations), (25, 15, 1));
    assert_eq!(guards[0].batches().len(), 1);
    let batch = guards[0].batches()[0].id.clone();
    assert_eq!(batch, "hold-25");
    log.push(GuardEntry::Decision(BatchDecision {
        batch,
        decision: Decision::Approve,
        by: "alice".into(),
        at: at(120),
        note: None,
        digest: None,
        cases: None,
    }));
    let (d, h, e) = deliver(&log, 40, &mut instances, &mut guards, at(120));
    assert_eq!((d, h, e), (15, 0, 0));
}

/// Forgetting a decided batch never lets a rejected case through. The owner of a case stopped
/// after the guard held it but before it wrote `held` (its record still says `admitting`); a
/// person rejected the batch; a week of traffic later the guard no longer lists the batch. The
/// instance that takes the case over looks its verdict up (as the shell does) and gets the
/// rejection; asking the guard again instead (the readmission) gets no new verdict, so nothing
/// reaches the workers either way.
#[test]
fn a_case_taken_over_after_its_rejected_batch_was_forgotten_stays_rejected() {
    let mut g = Guard::new(guarded(1).guard);
    let mut offset = 0;
    let mut log = |g: &mut Guard, e: GuardEntry| {
        offset += 1;
        g.apply(offset, &e)
    };
    let mut v = Verifier::new(guarded(1));
    let (_, first) = admit(&mut v, "E0", at(0));
    let (_, c) = admit(&mut v, "E1", at(1));
    for a in [&first, &c].map(|c| Admission {
        case_id: c.case_id,
        identity_id: c.identity_id.clone(),
        asks: revoke_shared::contract::AdmissionKind::Termination,
        targets: ALL.to_vec(),
        at: at(1),
    }) {
        log(&mut g, GuardEntry::Admission(a));
    }
    let batch = match g.verdict(
        &c.case_id,
        revoke_shared::contract::AdmissionKind::Termination,
    ) {
        Some(Verdict::Held { batch, .. }) => batch,
        other => panic!("{other:?}"),
    };
    // The owner stops here: its changelog holds `c` as admitting.
    log(
        &mut g,
        GuardEntry::Decision(BatchDecision {
            batch: batch.clone(),
            decision: Decision::Reject,
            by: "alice".into(),
            at: at(60),
            note: None,
            digest: None,
            cases: None,
        }),
    );
    let week = 7 * 24 * 3600;
    for hour in 1..=7 * 24 {
        let j = log(
            &mut g,
            GuardEntry::Admission(Admission {
                case_id: Uuid::from_u128(hour as u128),
                identity_id: format!("Q{hour}"),
                asks: revoke_shared::contract::AdmissionKind::Termination,
                targets: ALL.to_vec(),
                at: at(hour * 3600),
            }),
        );
        assert_eq!(j[0].verdict, Verdict::Released, "quiet traffic is released");
    }
    assert!(g.batch(&batch).is_none(), "the batch is no longer listed");

    // Taken over: the verdict looked up is the person's rejection.
    let mut taker = Verifier::new(guarded(1));
    taker.restore(c.clone());
    let asks = taker.waiting_for_guard(&c.case_id).unwrap();
    let verdict = g.verdict(&c.case_id, asks).expect("still known");
    let effects = taker.apply(Input::Guard(&judged(&c, verdict)), at(week));
    assert!(dues(&effects).is_empty());
    assert_eq!(
        case_records(&effects).pop().unwrap().state,
        CaseState::Rejected
    );

    // Asking again instead: the guard judges a case once, even a week later.
    let mut asker = Verifier::new(guarded(1));
    asker.restore(c.clone());
    let again = tick(&mut asker, at(week + READMIT_SECS));
    let asked = admissions(&again);
    assert_eq!(asked.len(), 1);
    assert!(log(&mut g, GuardEntry::Admission(asked[0].clone())).is_empty());
    assert!(dues(&again).is_empty());
}

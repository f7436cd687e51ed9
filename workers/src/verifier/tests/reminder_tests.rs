//! Held batches are never forgotten: the case that opened a held batch reminds the guard's owner
//! every `verifier.guard.remind_after_secs` until a person decides, each reminder once, across a
//! restart.

use super::kit::*;
use crate::verifier::guard::Verdict;
use revoke_shared::contract::{BatchDecision, Decision};

const HOUR: i64 = 3600;

/// A case of `identity` held in `hold-1` at `at(1)`; the opener carries the batch's escalation.
fn held(v: &mut Verifier, identity: &str, opens: bool) -> Case {
    let ev = termination(identity, &format!("evt-{identity}"), at(0));
    let admitting = case_records(&hr(v, &ev, at(0))).pop().unwrap();
    let held = Verdict::Held {
        batch: "hold-1".into(),
        why: "2 people asked".into(),
        opens_batch: opens,
    };
    let c = case_records(&v.apply(Input::Guard(&judged(&admitting, held)), at(1)))
        .pop()
        .unwrap();
    assert_eq!(c.state, CaseState::Held);
    c
}

fn reminders(effects: &[Effect]) -> Vec<&Escalation> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Escalate(x) if x.detail.starts_with("reminder ") => Some(x),
            _ => None,
        })
        .collect()
}

#[test]
fn a_held_batch_reminds_its_owner_every_interval_once_until_decided() {
    let mut v = Verifier::new(guarded(1));
    let opener = held(&mut v, "E1", true);
    let joined = held(&mut v, "E2", false);
    assert!(tick(&mut v, at(HOUR)).is_empty(), "not before the hour");
    let first = tick(&mut v, at(1 + HOUR));
    let r = reminders(&first);
    assert_eq!(
        r.len(),
        1,
        "one reminder per batch, from its opener: {first:?}"
    );
    assert_eq!(
        (r[0].case_id, r[0].reason, &r[0].owner, r[0].level),
        (
            opener.case_id,
            EscalationReason::BlastRadiusHold,
            &owner("guard-desk"),
            0
        )
    );
    assert!(
        r[0].detail.contains("reminder 1: batch hold-1")
            && r[0].detail.contains("revoke guard")
            && r[0].detail.contains("--digest"),
        "{}",
        r[0].detail
    );
    let rec = case_records(&first).pop().unwrap();
    assert_eq!(rec.state, CaseState::Held, "a reminder releases nothing");
    assert!(dues(&first).is_empty());
    assert!(tick(&mut v, at(2 + HOUR)).is_empty(), "not twice");
    let second = tick(&mut v, at(1 + 2 * HOUR));
    assert_eq!(reminders(&second).len(), 1);
    assert!(reminders(&second)[0].detail.starts_with("reminder 2:"));
    assert_ne!(reminders(&second)[0].escalation_id, r[0].escalation_id);

    // A restarted verifier rebuilt from the latest record does not remind again; a verifier
    // down past two intervals raises only the latest one.
    let latest = case_records(&second).pop().unwrap();
    let mut restarted = Verifier::new(guarded(1));
    restarted.restore(latest);
    restarted.restore(joined.clone());
    assert!(tick(&mut restarted, at(10 + 2 * HOUR)).is_empty());
    let late = tick(&mut restarted, at(1 + 4 * HOUR));
    assert_eq!(
        reminders(&late)
            .iter()
            .map(|r| r.detail.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        vec!["reminder 4"]
    );

    // Decided: no more reminders.
    let decided = Verdict::Decided {
        batch: "hold-1".into(),
        why: "2 people asked".into(),
        decision: BatchDecision {
            batch: "hold-1".into(),
            decision: Decision::Reject,
            by: "alice".into(),
            at: at(5 * HOUR),
            note: None,
            digest: None,
            cases: None,
        },
        proof: None,
    };
    for c in [&opener, &joined] {
        restarted.apply(Input::Guard(&judged(c, decided.clone())), at(5 * HOUR));
    }
    assert!(tick(&mut restarted, at(1 + 8 * HOUR)).is_empty());
}

#[test]
fn reminders_are_off_with_zero() {
    let mut cfg = guarded(1);
    cfg.guard.remind_after_secs = 0;
    let mut v = Verifier::new(cfg);
    held(&mut v, "E1", true);
    assert!(tick(&mut v, at(10 * HOUR)).is_empty());
}

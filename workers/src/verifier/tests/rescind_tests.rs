//! Restores are grants: rescinds bound to what they rescind (once, from their own source, never a
//! later termination), nothing given back while another termination of the person stands, one
//! case per person, and restores through the blast-radius guard.

use super::kit::*;
use crate::verifier::guard::{Guard, Judged, Verdict};
use revoke_shared::config::GuardConfig;
use revoke_shared::contract::{AdmissionKind, BatchDecision, Decision, GuardEntry};

// Rescind
// ---------------------------------------------------------------------------------------------

/// A rescind naming its termination marks that case rescinded and escalates every target:
/// access may already be gone and restoring it is a person's decision.
#[test]
fn rescind_naming_the_termination_rescinds_and_escalates() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    sole_case(conf(&mut v, &ok(&ev, Directory, at(1)), at(1)));

    let r = rescind("E1", "r-1", Some("evt-1"));
    assert_eq!(r.case_id(), ev.case_id());
    let mut effects = hr(&mut v, &r, at(60));
    // The one target that revoked something is asked to give it back, from its evidence.
    let restore = match effects.pop() {
        Some(Effect::Restore(req)) => req,
        other => panic!("expected a restore request last, got {other:?}"),
    };
    assert_eq!(restore.target, Directory);
    assert_eq!(restore.case_id, ev.case_id());
    assert_eq!(restore.rescinded_by, "hr:dave");
    assert_eq!(restore.objects.len(), 1);
    assert_eq!(restore.objects[0].object_id, "E1-directory");
    let (case, esc) = case_and_escalation(effects);
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(case.revision, 3);
    assert_eq!(case.rescinded_by.as_deref(), Some("hr:dave"));
    assert_eq!(case.closed_at, None);
    assert_eq!(esc.reason, EscalationReason::RescindAfterRevocation);
    assert_eq!(esc.targets, ALL.to_vec());
    assert_eq!(
        esc.owner,
        owner("iam-team"),
        "owner of the first target (directory)"
    );
    assert!(esc.detail.contains("r-1"), "{}", esc.detail);
    assert!(
        esc.evidence
            .contains(&"directory: revoked (verified)".to_string()),
        "{:?}",
        esc.evidence
    );
    assert_escalation_recorded(&case, &esc);
    assert_eq!(v.open_count(), 0);
    assert!(!v.is_closed(&ev.case_id()));
}

/// Without `rescinds`, a rescind applies to the person's latest standing termination from its
/// source issued before it; other people are untouched. The earlier termination still stands, so
/// nothing is given back (restores are grants).
#[test]
fn rescind_without_reference_applies_to_the_latest_termination_issued_before_it() {
    let mut v = verifier();
    let (older, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(
        sole_case(confirm_ok(&mut v, &older, &ALL, 1)).state,
        CaseState::Closed
    );
    // The first case is closed, so this one is a case of its own.
    let (newer, _) = open(&mut v, "E1", "evt-2", at(100), at(100));
    let (other, other_case) = open(&mut v, "E2", "evt-3", at(200), at(200));

    // Issued before evt-2 existed: it can only mean evt-1.
    let mut early = rescind("E1", "r-0", None);
    early.time = at(50);
    assert_eq!(v.rescind_applies_to(&early), Some(older.case_id()));

    let (case, esc) = case_and_escalation(hr(&mut v, &rescind("E1", "r-1", None), at(300)));
    assert_eq!(case.case_id, newer.case_id());
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(esc.reason, EscalationReason::RestoreWithheld);
    assert!(
        case.restore_withheld
            .as_deref()
            .is_some_and(|w| w.contains(&older.case_id().to_string())),
        "{:?}",
        case.restore_withheld
    );
    assert_eq!(v.case(&other.case_id()), Some(&other_case));
}

/// "Latest" means the termination taking effect last, not the one that arrived last, so that a
/// verifier restored from the changelog in any order agrees with the live one.
#[test]
fn latest_case_is_by_effective_time_and_survives_restore_in_any_order() {
    let mut v = verifier();
    let (later, _) = open(&mut v, "E1", "evt-2", at(1000), at(0));
    let later_closed = sole_case(confirm_ok(&mut v, &later, &ALL, 1));
    let (earlier, _) = open(&mut v, "E1", "evt-1", at(500), at(10)); // back-dated, arrives last
    let pending = termination("E1", "evt-3", at(5000)); // never arrives: never "latest"
    sole_case(conf(&mut v, &ok(&pending, Vault, at(20)), at(20)));
    let earlier_record = sole_case(conf(&mut v, &ok(&earlier, Vault, at(30)), at(30)));
    let pending_record = v.case(&pending.case_id()).unwrap().clone();
    let records = vec![later_closed, earlier_record, pending_record];

    let r = rescind("E1", "r-1", None);
    assert_eq!(v.rescind_applies_to(&r), Some(later.case_id()));
    let mut reversed = records.clone();
    reversed.reverse();
    for order in [records, reversed] {
        let mut restored = verifier();
        for c in order {
            restored.restore(c);
        }
        assert_eq!(restored.rescind_applies_to(&r), Some(later.case_id()));
    }
}

/// A rescind for an identity (or a termination) the verifier never saw is a note, nothing more.
#[test]
fn rescind_for_unknown_case_is_only_a_note() {
    let mut v = verifier();
    assert_eq!(
        sole_note(hr(&mut v, &rescind("E9", "r-1", None), at(0))),
        (None, "E9".to_string(), "rescind_for_unknown_case")
    );
    assert_eq!(
        sole_note(hr(&mut v, &rescind("E9", "r-2", Some("evt-x")), at(0))),
        (
            Some(case_id_for(SOURCE, "evt-x")),
            "E9".to_string(),
            "rescind_for_unknown_case"
        )
    );
    // Another identity's case is not "latest" for E9.
    open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(
        sole_note(hr(&mut v, &rescind("E9", "r-3", None), at(1))).2,
        "rescind_for_unknown_case"
    );
    assert_eq!(v.open_count(), 1);
}

/// A closed case is never reopened: a rescind after close is a note and the case stays closed.
#[test]
fn rescind_after_close_is_a_note_and_changes_nothing() {
    let mut v = verifier();
    let (ev, closed) = open_and_close(&mut v, "E1", "evt-1");
    assert_eq!(closed.state, CaseState::Closed);

    for r in [
        rescind("E1", "r-1", Some("evt-1")),
        rescind("E1", "r-2", None),
    ] {
        assert_eq!(
            sole_note(hr(&mut v, &r, at(60))),
            (Some(ev.case_id()), "E1".to_string(), "rescind_after_close")
        );
    }
    assert!(v.is_closed(&ev.case_id()));
    assert_eq!(v.open_count(), 0);
}

/// A second rescind (the same event again, or another one) publishes nothing.
#[test]
fn second_rescind_is_silent() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let r = rescind("E1", "r-1", Some("evt-1"));
    let (case, _) = case_and_escalation(hr(&mut v, &r, at(10)));
    // The same rescind again is a replay: noted, nothing published.
    assert_eq!(sole_note(hr(&mut v, &r, at(11))).2, "rescind_replayed");
    // Another rescind finds nothing standing, or a case already rescinded.
    assert!(publishes_nothing(&hr(
        &mut v,
        &rescind("E1", "r-2", None),
        at(12)
    )));
    assert!(hr(&mut v, &rescind("E1", "r-3", Some("evt-1")), at(13)).is_empty());
    assert_eq!(v.case(&ev.case_id()), Some(&case));
}

/// A rescinded case records later confirmations but never closes, never hits its deadline,
/// and ignores its termination replayed. Without `requested_by`, the rescinder is the source.
#[test]
fn rescinded_case_never_closes_or_escalates_again() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let mut r = rescind("E1", "r-1", Some("evt-1"));
    r.data.requested_by = None;
    let (case, _) = case_and_escalation(hr(&mut v, &r, at(10)));
    assert_eq!(case.rescinded_by.as_deref(), Some(SOURCE));

    // A failure is recorded but escalates nothing more.
    let c = sole_case(conf(&mut v, &failed(&ev, Saas, at(15)), at(15)));
    assert_eq!(
        (c.state, c.revision, c.escalations.len()),
        (CaseState::Rescinded, 3, 1)
    );
    assert_eq!(c.targets[&Saas].state, TargetState::Failed);
    // Every target verified: recorded, never closed.
    for (i, t) in ALL.iter().enumerate() {
        let effects = conf(&mut v, &ok(&ev, *t, at(20 + i as i64)), at(20 + i as i64));
        // Revoked after the rescind: recorded, and asked back at once.
        let c = case_records(&effects)[0].clone();
        assert!(
            matches!(effects.as_slice(), [Effect::Case(_), Effect::Restore(r)] if r.target == *t),
            "{effects:?}"
        );
        assert_eq!(c.state, CaseState::Rescinded);
        assert_eq!(c.revision, 4 + i as u64);
        assert_eq!(c.escalations.len(), 1);
        assert_eq!(c.closed_at, None);
    }
    // Done stays done: a later failure is noise.
    assert!(conf(&mut v, &failed(&ev, Saas, at(30)), at(30)).is_empty());
    assert!(hr(&mut v, &ev, at(40)).is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
    assert!(!v.is_closed(&ev.case_id()));
}

/// A rescind that overtook its termination (confirmations already in a pending case) stands:
/// the late termination fills in the record but neither reopens nor closes the case.
#[test]
fn rescind_before_termination_stands_when_termination_arrives() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    confirm_ok(&mut v, &ev, &ALL[..4], 1);
    let (case, esc) = case_and_escalation(hr(&mut v, &rescind("E1", "r-1", Some("evt-1")), at(10)));
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(esc.reason, EscalationReason::RescindAfterRevocation);

    sole_case(conf(&mut v, &ok(&ev, Cicd, at(11)), at(11)));
    let after = sole_case(hr(&mut v, &ev, at(12)));
    assert_eq!(after.state, CaseState::Rescinded);
    assert_eq!(after.event_id.as_deref(), Some("evt-1"));
    assert_eq!(after.closed_at, None);
    assert_eq!(after.escalations.len(), 1);
    assert!(!v.is_closed(&ev.case_id()));
    assert!(hr(&mut v, &ev, at(13)).is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
}

// ---------------------------------------------------------------------------------------------

/// T1 closes; R1 rescinds it (restores asked); T2 terminates the same person again and closes;
/// R1's exact event again — redelivered, or replayed a year later — changes nothing.
#[test]
fn a_replayed_rescind_never_lands_on_a_later_termination() {
    let mut v = verifier();
    let (_, closed1) = open_and_close(&mut v, "E1", "evt-1");
    let mut r1 = rescind("E1", "r-1", None);
    r1.time = at(100);
    let effects = v.apply(Input::RescindClosed(&r1, &closed1), at(100));
    assert_eq!(restores_in(&effects).len(), ALL.len());
    let rescinded = case_records(&effects).pop().unwrap();
    assert_eq!(rescinded.rescind.as_ref().unwrap().event_id, "r-1");

    let (t2, _) = open(&mut v, "E1", "evt-2", at(200), at(200));
    let closed2 = sole_case(confirm_ok(&mut v, &t2, &ALL, 201));
    assert_eq!(closed2.state, CaseState::Closed);

    for when in [at(300), at(86_400 * 365)] {
        assert_eq!(
            v.rescind_applies_to(&r1),
            None,
            "a replay applies to nothing"
        );
        let again = hr(&mut v, &r1, when);
        assert_eq!(sole_note(again).2, "rescind_replayed");
        assert!(v.is_closed(&t2.case_id()), "T2's case stays closed");
    }
    // The same after a restart from the changelog, in either order.
    for order in [
        [rescinded.clone(), closed2.clone()],
        [closed2.clone(), rescinded.clone()],
    ] {
        let mut rebuilt = verifier();
        for c in order {
            rebuilt.restore(c);
        }
        assert_eq!(
            sole_note(hr(&mut rebuilt, &r1, at(400))).2,
            "rescind_replayed"
        );
    }
    // A new rescind issued after T2 does apply to T2 (and nothing else stands).
    let r2 = rescind("E1", "r-2", None);
    assert_eq!(v.rescind_applies_to(&r2), Some(t2.case_id()));
}

/// A rescind acts only on its own source's terminations: refused whether it names a termination
/// of another source or names none while only another source's termination stands.
#[test]
fn a_rescind_from_another_source_is_refused() {
    let mut v = verifier();
    let (t1, case) = open(&mut v, "E1", "evt-1", at(0), at(0));
    for named in [Some("evt-1"), None] {
        let mut r = rescind("E1", "r-x", named);
        r.source = "urn:hr:other".into();
        assert_eq!(v.rescind_applies_to(&r), None);
        let (reason, _) = v.rescind_refusal(&r).expect("refused");
        assert_eq!(reason, "rescind_wrong_source");
        match <[Effect; 1]>::try_from(hr(&mut v, &r, at(10))) {
            Ok([Effect::Refuse { reason, detail }]) => {
                assert_eq!(reason, "rescind_wrong_source");
                assert!(detail.contains("urn:hr:other"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(v.case(&t1.case_id()), Some(&case), "untouched");
}

/// A correction published as a new termination, then a rescind of the old one: the person stays
/// revoked; the case says why nothing was given back and the owner is told.
#[test]
fn a_rescind_of_a_corrected_termination_gives_nothing_back() {
    let mut v = verifier();
    let (t1, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    // The correction arrives while T1's case is live: it joins it.
    let t2 = termination("E1", "evt-2", at(5));
    let effects = hr(&mut v, &t2, at(5));
    let joined = case_records(&effects).pop().unwrap();
    assert_eq!(joined.case_id, t1.case_id(), "one person, one case");
    assert_eq!(joined.joined[0].event_id, "evt-2");
    assert!(v.case(&t2.case_id()).is_none());
    // T2's workers report into the case it joined.
    let closed = sole_case(confirm_ok(&mut v, &t2, &ALL, 10));
    assert_eq!(
        (closed.case_id, closed.state),
        (t1.case_id(), CaseState::Closed)
    );

    let r = rescind("E1", "r-1", Some("evt-1"));
    assert_eq!(v.rescind_applies_to(&r), Some(t1.case_id()));
    let effects = v.apply(Input::RescindClosed(&r, &closed), at(60));
    assert!(restores_in(&effects).is_empty(), "nothing given back");
    let case = case_records(&effects).pop().unwrap();
    assert_eq!(case.state, CaseState::Closed, "access stays gone");
    assert!(case.restore_withheld.is_some());
    assert_eq!(
        escalations_in(&effects)
            .iter()
            .map(|e| e.reason)
            .collect::<Vec<_>>(),
        vec![EscalationReason::RestoreWithheld]
    );
    // Rescinding the correction too: now nothing stands, the case is rescinded and gives back.
    let r2 = rescind("E1", "r-2", Some("evt-2"));
    assert_eq!(v.rescind_applies_to(&r2), Some(t1.case_id()));
    let effects = v.apply(Input::RescindClosed(&r2, &case), at(70));
    let last = case_records(&effects).pop().unwrap();
    assert_eq!(last.state, CaseState::Rescinded);
    assert_eq!(restores_in(&effects).len(), ALL.len());
}

/// The same when the correction is a case of its own (the first had closed): the rescind of the
/// first gives nothing back while the second stands.
#[test]
fn no_restore_while_another_case_of_the_person_stands() {
    let mut v = verifier();
    let (t1, closed1) = open_and_close(&mut v, "E1", "evt-1");
    let (t2, _) = open(&mut v, "E1", "evt-2", at(100), at(100));
    let r = rescind("E1", "r-1", Some("evt-1"));
    let effects = v.apply(Input::RescindClosed(&r, &closed1), at(150));
    assert!(restores_in(&effects).is_empty());
    let case = case_records(&effects).pop().unwrap();
    assert_eq!(case.state, CaseState::Rescinded);
    assert!(case
        .restore_withheld
        .as_deref()
        .is_some_and(|w| w.contains(&t2.case_id().to_string())));
    // Workers' late reports for the rescinded case ask for nothing either.
    let late = conf(&mut v, &ok(&t1, Vault, at(160)), at(160));
    assert!(restores_in(&late).is_empty());
}

/// A rejected termination (its held batch rejected) does not stand: a rescind of another one
/// gives back.
#[test]
fn a_rejected_termination_does_not_stand() {
    let mut p = policy();
    p.guard = GuardConfig {
        enabled: true,
        max_terminations: 0,
        ..GuardConfig::default()
    };
    let mut v = Verifier::new(p);
    let t1 = termination("E1", "evt-1", at(0));
    let case = case_records(&hr(&mut v, &t1, at(0))).pop().unwrap();
    let mut g = Guard::new(v_guard_cfg(0));
    let mut judged = Vec::new();
    judged.extend(g.apply(0, &admission(&case, AdmissionKind::Termination)));
    judged.extend(g.apply(1, &decision("hold-0", Decision::Reject)));
    for j in &judged {
        v.apply(Input::Guard(j), at(1));
    }
    assert_eq!(v.case(&t1.case_id()).unwrap().state, CaseState::Rejected);
    let t2 = termination("E1", "evt-2", at(10));
    let effects = hr(&mut v, &t2, at(10));
    assert_eq!(
        case_records(&effects).pop().unwrap().case_id,
        t2.case_id(),
        "a rejected case is not live: a new case"
    );
}

fn v_guard_cfg(max: u64) -> GuardConfig {
    GuardConfig {
        max_restores: max,
        ..guard_on(max)
    }
}

fn admission(case: &Case, asks: AdmissionKind) -> GuardEntry {
    GuardEntry::Admission(revoke_shared::contract::Admission {
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        asks,
        targets: ALL.to_vec(),
        at: at(0),
    })
}

fn decision(batch: &str, d: Decision) -> GuardEntry {
    GuardEntry::Decision(BatchDecision {
        batch: batch.into(),
        decision: d,
        by: "alice".into(),
        at: at(1),
        note: None,
        digest: None,
        cases: None,
    })
}

/// With the guard on, a rescind's restores ask the guard first; a burst over `max_restores` is
/// held for a person with zero restores until approval, and a rejection gives nothing back.
#[test]
fn restores_pass_the_guard_and_a_burst_is_held_until_approved() {
    let mut p = policy();
    p.guard = v_guard_cfg(100);
    p.guard.max_restores = 2;
    let mut v = Verifier::new(p.clone());
    let mut g = Guard::new(p.guard.clone());
    let mut offset = 0;
    let mut feed = |v: &mut Verifier, g: &mut Guard, entry: GuardEntry, now| {
        let judged: Vec<Judged> = g.apply(offset, &entry);
        offset += 1;
        let mut out = Vec::new();
        for j in &judged {
            out.extend(v.apply(Input::Guard(j), now));
        }
        out
    };
    let mut rescinded = Vec::new();
    for i in 0..4 {
        let who = format!("E{i}");
        let t = termination(&who, &format!("evt-{i}"), at(0));
        let case = case_records(&hr(&mut v, &t, at(0))).pop().unwrap();
        let released = feed(
            &mut v,
            &mut g,
            admission(&case, AdmissionKind::Termination),
            at(1),
        );
        assert_eq!(dues(&released).len(), 1);
        confirm_ok(&mut v, &t, &ALL, 2);
        assert!(v.is_closed(&t.case_id()));
        let closed = v.case(&t.case_id()).cloned();
        assert!(closed.is_none(), "closed cases are markers");
        rescinded.push(t);
    }
    let mut held = 0;
    let mut restores = 0;
    for t in &rescinded {
        let r = rescind(&t.subject, &format!("r-{}", t.subject), Some(&t.id));
        // The shell reads the closed record back; rebuild one from a fresh run of the same case.
        let mut shadow = Verifier::new(p.clone());
        let c = case_records(&hr(&mut shadow, t, at(0))).pop().unwrap();
        let mut closed = c.clone();
        closed.state = CaseState::Closed;
        closed.targets = ALL.iter().map(|k| (*k, status_revoked(*k))).collect();
        let effects = v.apply(Input::RescindClosed(&r, &closed), at(10));
        assert!(
            restores_in(&effects).is_empty(),
            "nothing before the verdict"
        );
        let asked: Vec<_> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Admit(a) if a.asks == AdmissionKind::Restore => Some(a.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(asked.len(), 1);
        let case = case_records(&effects).pop().unwrap();
        let out = feed(
            &mut v,
            &mut g,
            admission(&case, AdmissionKind::Restore),
            at(11),
        );
        restores += restores_in(&out).len();
        let now = v.case(&t.case_id()).unwrap();
        if now.restore_guard.as_ref().unwrap().batch.is_some() {
            held += 1;
            assert_eq!(now.state, CaseState::Rescinded);
        }
    }
    assert_eq!(held, 2, "over max_restores = 2");
    assert_eq!(restores, 2 * ALL.len(), "only the first two gave back");
    let batch = g
        .batches()
        .iter()
        .find(|b| b.asks == AdmissionKind::Restore)
        .unwrap()
        .id
        .clone();
    let out = feed(&mut v, &mut g, decision(&batch, Decision::Approve), at(20));
    assert_eq!(
        restores_in(&out).len(),
        2 * ALL.len(),
        "approval releases the held restores"
    );
}

fn status_revoked(k: TargetKind) -> TargetStatus {
    let ev = termination("EX", "evt-x", at(0));
    let c = ok(&ev, k, at(1));
    TargetStatus {
        state: TargetState::Done,
        outcome: Some(c.outcome),
        instance: Some(c.target.instance.as_str().into()),
        confirmed_at: Some(c.finished_at),
        objects: c.objects.clone(),
        worker: Some(Box::new(c.worker.clone())),
        ..TargetStatus::pending()
    }
}

/// 300 terminations of one person within seconds count once and make one case; 5 other leavers
/// stay under a limit of 25.
#[test]
fn one_person_terminated_three_hundred_times_is_one_case_and_counts_once() {
    let mut p = policy();
    p.guard = v_guard_cfg(25);
    let mut v = Verifier::new(p.clone());
    let mut g = Guard::new(p.guard.clone());
    let mut cases = BTreeSet::new();
    let mut offset = 0;
    let mut held = 0;
    let mut step = |v: &mut Verifier, ev: &HrEvent, now| {
        let effects = hr(v, ev, now);
        for c in case_records(&effects) {
            cases.insert((c.identity_id.clone(), c.case_id));
        }
        for e in &effects {
            if let Effect::Admit(a) = e {
                for j in g.apply(offset, &GuardEntry::Admission(a.clone())) {
                    if matches!(j.verdict, Verdict::Held { .. }) {
                        held += 1;
                    }
                    v.apply(Input::Guard(&j), now);
                }
                offset += 1;
            }
        }
    };
    for i in 0..300 {
        step(
            &mut v,
            &termination("E-dup", &format!("evt-dup-{i}"), at(i / 100)),
            at(i / 100),
        );
    }
    for i in 0..5 {
        step(
            &mut v,
            &termination(&format!("E{i}"), &format!("evt-{i}"), at(3)),
            at(3),
        );
    }
    assert_eq!(held, 0, "nothing held");
    let dup: Vec<_> = cases.iter().filter(|(who, _)| who == "E-dup").collect();
    assert_eq!(dup.len(), 1, "one case for the one person");
    assert_eq!(cases.len(), 6);
}

/// A restore request carries the worker's report back byte for byte with its signature, also
/// after the case went through the changelog (so the worker can verify what it revoked).
#[test]
fn a_restore_request_carries_the_signed_report_exactly() {
    let secret = revoke_shared::secret::Secret::new("a-fleet-secret-of-at-least-32-bytes!!");
    let mut v = verifier();
    let (t1, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let mut sent = Vec::new();
    let mut closed = None;
    for (i, k) in ALL.iter().enumerate() {
        let mut c = ok(&t1, *k, at(1 + i as i64));
        let bytes = serde_json::to_vec(&c).unwrap();
        let sig = revoke_shared::signing::fleet_signature(
            &secret,
            "revoke.confirmations",
            b"E1",
            &bytes,
            &[],
        );
        c.fleet_signature = Some(sig.clone());
        sent.push((*k, bytes, sig));
        closed = case_records(&conf(&mut v, &c, at(1 + i as i64))).pop();
    }
    let closed = closed.unwrap();
    // Through the changelog's JSON and back.
    let closed: Case = serde_json::from_slice(&serde_json::to_vec(&closed).unwrap()).unwrap();
    let r = rescind("E1", "r-1", Some("evt-1"));
    let effects = v.apply(Input::RescindClosed(&r, &closed), at(100));
    let reqs = restores_in(&effects);
    assert_eq!(reqs.len(), ALL.len());
    for req in reqs {
        let (_, bytes, sig) = sent.iter().find(|(k, ..)| *k == req.target).unwrap();
        let report = req.confirmation.as_ref().expect("carried");
        assert_eq!(&serde_json::to_vec(report).unwrap(), bytes);
        assert_eq!(req.confirmation_signature.as_deref(), Some(sig.as_str()));
        assert!(revoke_shared::signing::fleet_signature_matches(
            &secret,
            "revoke.confirmations",
            b"E1",
            bytes,
            sig
        ));
    }
}

/// Confirmations for cases nobody terminated are kept as `pending` cases up to
/// `verifier.max_pending_cases`; past it they are dropped with a note, and a real termination
/// still opens its case.
#[test]
fn stray_confirmations_are_bounded() {
    let mut p = policy();
    p.max_pending_cases = 3;
    let mut v = Verifier::new(p);
    for i in 0..10 {
        let ghost = termination(&format!("G{i}"), &format!("ghost-{i}"), at(0));
        let effects = conf(&mut v, &ok(&ghost, Vault, at(1)), at(1));
        if i < 3 {
            assert_eq!(sole_case(effects).state, CaseState::Pending);
        } else {
            assert_eq!(sole_note(effects).2, "stray_confirmation_dropped");
        }
    }
    assert_eq!(v.pending_count(), 3);
    // The termination of a kept one completes it; a new leaver opens as usual.
    let g0 = termination("G0", "ghost-0", at(0));
    assert_eq!(sole_case(hr(&mut v, &g0, at(2))).state, CaseState::Open);
    assert_eq!(v.pending_count(), 2);
    open(&mut v, "E1", "evt-1", at(3), at(3));
}

//! Rebuild from the changelog: cases restored in any order hold the same state, and replaying
//! every input afterwards publishes nothing; a partition given up forgets its live cases.

use super::kit::*;

// Restore
// ---------------------------------------------------------------------------------------------

/// A script that leaves cases in every state: closed, closed after escalation, escalated by
/// failure and by deadline, open, pending, rescinded; one identity with two cases whose older
/// one is written to the changelog last; rescinds with and without reference; notes.
fn mixed_script() -> Vec<(Step, DateTime<Utc>)> {
    let e1 = termination("E1", "evt-1", at(0)); // closed
    let e2 = termination("E2", "evt-2", at(0)); // escalated (vault failed)
    let e3 = termination("E3", "evt-3", at(100_000)); // open
    let e4 = termination("E4", "evt-4", at(0)); // deadline escalated
    let e5 = termination("E5", "evt-5", at(0)); // pending (termination never arrives)
    let e6a = termination("E6", "evt-6a", at(0)); // deadline escalated; written after 6b
                                                  // Rescinded. (Another person: a second termination of E6 would join E6's live case.)
    let e6b = termination("E8", "evt-6b", at(500));
    let e7 = termination("E7", "evt-7", at(0)); // closed after a failure
    let mut s: Vec<(Step, DateTime<Utc>)> = Vec::new();
    let mut now = 0;
    let mut push = |step: Step, s: &mut Vec<(Step, DateTime<Utc>)>| {
        now += 7;
        s.push((step, at(now)));
    };
    for ev in [&e1, &e2, &e3, &e4, &e6a, &e7] {
        push(Step::Hr(ev.clone()), &mut s);
    }
    // `t`'s report at 50 for `ev`: verified, except that `failing` fails.
    let ok_unless = |ev: &HrEvent, t: TargetKind, failing: TargetKind| {
        if t == failing {
            failed(ev, t, at(50))
        } else {
            ok(ev, t, at(50))
        }
    };
    for t in ALL {
        push(Step::Conf(ok(&e1, t, at(50))), &mut s);
        push(Step::Conf(ok_unless(&e2, t, Vault)), &mut s);
        if t != Cicd {
            push(Step::Conf(ok(&e3, t, at(50))), &mut s);
        }
        push(Step::Conf(ok_unless(&e7, t, Cloud)), &mut s);
    }
    push(Step::Conf(ok(&e7, Cloud, at(60))), &mut s);
    push(Step::Conf(ok(&e4, Saas, at(60))), &mut s);
    push(Step::Conf(failed(&e5, Saas, at(60))), &mut s);
    push(Step::Conf(ok(&e5, Vault, at(60))), &mut s);
    push(Step::Hr(e6b.clone()), &mut s);
    push(Step::Hr(rescind("E8", "r-6", None)), &mut s);
    push(Step::Conf(ok(&e6a, Vault, at(600))), &mut s); // written after 6b's rescind
    push(Step::Hr(rescind("E1", "r-1", Some("evt-1"))), &mut s); // note: after close
    push(Step::Hr(rescind("E9", "r-9", None)), &mut s); // note: unknown
    push(Step::Hr(rescind("E5", "r-5", None)), &mut s); // note: a pending case is nobody's "latest"
    s.push((Step::Tick, at(DEADLINE_SECS + 600)));
    s
}

/// Runs `script` on a fresh verifier; returns it with every effect in order.
fn run_script(script: &[(Step, DateTime<Utc>)]) -> (Verifier, Vec<Effect>) {
    let mut v = verifier();
    let mut all = Vec::new();
    for (step, now) in script {
        all.extend(apply_step(&mut v, step, *now));
    }
    (v, all)
}

/// Asserts that `restored` holds the same cases as `live`, and that replaying the whole script
/// into both gives the same effects — none that publish anything.
#[track_caller]
fn assert_restored_like(
    live: &mut Verifier,
    restored: &mut Verifier,
    case_ids: &BTreeSet<Uuid>,
    script: &[(Step, DateTime<Utc>)],
) {
    assert_eq!(restored.open_count(), live.open_count());
    for id in case_ids {
        assert_eq!(restored.case(id), live.case(id), "case {id}");
        assert_eq!(restored.is_closed(id), live.is_closed(id), "case {id}");
    }
    for (step, now) in script {
        let again_live = apply_step(live, step, *now);
        let again_restored = apply_step(restored, step, *now);
        assert_eq!(again_restored, again_live, "replaying {step:?}");
        assert!(
            again_restored
                .iter()
                .all(|e| matches!(e, Effect::Note { .. })),
            "replay published {again_restored:?}"
        );
    }
    assert_eq!(restored.open_count(), live.open_count());
}

/// Sanity of the script itself: it leaves cases in every state the restore tests rely on.
#[test]
fn mixed_script_covers_every_state() {
    let script = mixed_script();
    let (v, effects) = run_script(&script);
    let state = |ev: &str| {
        let id = case_id_for(SOURCE, ev);
        if v.is_closed(&id) {
            CaseState::Closed
        } else {
            v.case(&id).unwrap().state
        }
    };
    assert_eq!(state("evt-1"), CaseState::Closed);
    assert_eq!(state("evt-2"), CaseState::Escalated);
    assert_eq!(state("evt-3"), CaseState::Open);
    assert_eq!(state("evt-4"), CaseState::Escalated);
    assert_eq!(state("evt-5"), CaseState::Pending);
    assert_eq!(state("evt-6a"), CaseState::Escalated, "deadline passed");
    assert_eq!(state("evt-6b"), CaseState::Rescinded);
    assert_eq!(state("evt-7"), CaseState::Closed);
    assert_eq!(v.open_count(), 2, "E3 open, E5 pending");
    let notes: Vec<&str> = effects
        .iter()
        .filter_map(|e| {
            if let Effect::Note { what, .. } = e {
                Some(what.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        notes,
        vec![
            "rescind_after_close",
            "rescind_for_unknown_case",
            "rescind_for_unknown_case"
        ]
    );
}

/// A fresh verifier restored from `records`, in their order (as from the changelog).
fn restored_from(records: impl IntoIterator<Item = Case>) -> Verifier {
    let mut v = verifier();
    for c in records {
        v.restore(c);
    }
    v
}

/// A verifier rebuilt from the changelog in publication order is indistinguishable from the
/// live one: same cases, and replaying every input publishes nothing (nothing closes twice).
#[test]
fn restore_in_order_then_replay_publishes_nothing() {
    let script = mixed_script();
    let (mut live, effects) = run_script(&script);
    let records = case_records(&effects);
    let ids: BTreeSet<Uuid> = records.iter().map(|c| c.case_id).collect();
    assert_eq!(ids.len(), 8);

    let mut restored = restored_from(records);
    assert_restored_like(&mut live, &mut restored, &ids, &script);
}

/// The same from the changelog in any order: later revisions win, and a closed case stays closed.
#[test]
fn restore_in_shuffled_order_then_replay_publishes_nothing() {
    let script = mixed_script();
    let (_, effects) = run_script(&script);
    let records = case_records(&effects);
    let ids: BTreeSet<Uuid> = records.iter().map(|c| c.case_id).collect();
    for seed in 1..=40 {
        let (mut live, _) = run_script(&script);
        let mut shuffled = records.clone();
        Rng::new(seed).shuffle(&mut shuffled);
        let mut restored = restored_from(shuffled);
        assert_restored_like(&mut live, &mut restored, &ids, &script);
    }
}

/// Restore keeps the highest revision whatever the order, never reopens a closed case, and the
/// restored case continues from its revision.
#[test]
fn restore_keeps_latest_revision_and_continues_from_it() {
    let mut v = verifier();
    let (ev, r1) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let r2 = sole_case(conf(&mut v, &ok(&ev, Directory, at(1)), at(1)));
    let r3 = sole_case(conf(&mut v, &ok(&ev, Saas, at(2)), at(2)));

    let mut restored = restored_from([r3.clone(), r1, r2.clone()]);
    assert_eq!(restored.case(&ev.case_id()), Some(&r3));
    assert_eq!(restored.open_count(), 1);
    assert!(hr(&mut restored, &ev, at(3)).is_empty());
    let next = sole_case(conf(&mut restored, &ok(&ev, Cloud, at(4)), at(4)));
    assert_eq!(next.revision, 4);
    assert_eq!(next.targets[&Saas].state, TargetState::Done);

    // A closed record wins over any open one, before or after it.
    let closed = sole_case(confirm_ok(&mut v, &ev, &[Cloud, Vault, Cicd], 10));
    for order in [
        vec![closed.clone(), r2.clone()],
        vec![r2.clone(), closed.clone()],
    ] {
        let mut restored = restored_from(order);
        assert!(restored.is_closed(&ev.case_id()));
        assert_eq!(restored.open_count(), 0);
        assert!(conf(&mut restored, &failed(&ev, Vault, at(20)), at(20)).is_empty());
        assert!(hr(&mut restored, &ev, at(20)).is_empty());
        assert_eq!(
            sole_note(hr(&mut restored, &rescind("E1", "r-1", None), at(21))).2,
            "rescind_after_close"
        );
    }
}

/// A partition given up: its live cases go (the new owner rebuilds them), closed markers stay so
/// duplicates are still absorbed, and regaining the partition restores from the changelog.
#[test]
fn forget_drops_live_cases_keeps_closed_markers_and_restore_brings_them_back() {
    let mut v = verifier();
    let (ev1, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let (ev2, _) = open(&mut v, "E2", "evt-2", at(0), at(0));
    let r1 = sole_case(conf(&mut v, &ok(&ev1, Directory, at(1)), at(1)));
    let closed = sole_case(confirm_ok(&mut v, &ev2, &ALL, 2));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(v.open_count(), 1);

    v.forget([ev1.case_id(), ev2.case_id()]);
    assert_eq!(v.open_count(), 0);
    assert_eq!(v.case(&ev1.case_id()), None);
    assert!(v.is_closed(&ev2.case_id()));
    // A forgotten open case neither escalates on a tick nor closes twice.
    assert!(tick(&mut v, at(DEADLINE_SECS + 10)).is_empty());
    assert!(conf(&mut v, &ok(&ev2, Vault, at(20)), at(20)).is_empty());

    // Regained: the changelog record comes back and the case continues from its revision.
    v.restore(r1.clone());
    assert_eq!(v.case(&ev1.case_id()), Some(&r1));
    assert_eq!(v.open_count(), 1);
    let next = sole_case(conf(&mut v, &ok(&ev1, Saas, at(21)), at(21)));
    assert_eq!(next.revision, r1.revision + 1);
}

// ---------------------------------------------------------------------------------------------

/// A partition rebuilt apart (off the shell's lock) and absorbed is the same as one restored in
/// place, also over what the instance still held from an earlier ownership: a stale closed
/// marker of a case since rescinded, and a person's terminations as they were then.
#[test]
fn a_partition_rebuilt_apart_and_absorbed_is_restored_in_place() {
    let script = mixed_script();
    let (mut live, effects) = run_script(&script);
    let records = case_records(&effects);
    let ids: BTreeSet<Uuid> = records.iter().map(|c| c.case_id).collect();
    // Held from an earlier ownership: the records before E8's case was rescinded.
    let rescinded = case_id_for(SOURCE, "evt-6b");
    let cut = records
        .iter()
        .position(|c| c.case_id == rescinded && c.state == CaseState::Rescinded)
        .expect("E8's case is rescinded in the script");
    let mut held = restored_from(records[..cut].iter().cloned());
    held.forget(ids.iter().copied()); // given up: live cases dropped, closed markers kept
    held.absorb(restored_from(records.clone()));
    assert_restored_like(&mut live, &mut held, &ids, &script);
}

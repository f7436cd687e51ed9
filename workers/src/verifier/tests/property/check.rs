//! The invariants every finished property run must satisfy.

use super::super::kit::*;
use super::run::*;
use super::world::*;

/// The invariants of one finished run.
#[track_caller]
pub fn check_run(world: &World, v: &mut Verifier, log: &Log, workers: &Workers, seed: u64) {
    let mut open_expected = 0;
    let mut by_state: std::collections::HashMap<CaseState, usize> = Default::default();
    for l in &world.leavers {
        let id = l.ev.case_id();
        let records = log.cases(&id);
        assert!(
            !records.is_empty(),
            "seed {seed}: case {id} never published"
        );

        // Revisions go up by exactly one with every published version, restart or not.
        for (i, c) in records.iter().enumerate() {
            assert_eq!(c.revision, i as u64 + 1, "seed {seed}: revisions of {id}");
        }
        // At most one closing record, and after it only a rescind changes the case (a signal
        // delivery re-publishes it closed, with nothing else changed).
        let closed: Vec<usize> = records
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.state == CaseState::Closed
                    && (*i == 0 || records[i - 1].state != CaseState::Closed)
            })
            .map(|(i, _)| i)
            .collect();
        assert!(
            closed.len() <= 1,
            "seed {seed}: {id} closed {} times",
            closed.len()
        );
        if let Some(&i) = closed.first() {
            for later in &records[i + 1..] {
                match later.state {
                    CaseState::Rescinded => {}
                    CaseState::Closed => {
                        assert!(!later.signals.is_empty(), "seed {seed}: {id} re-published");
                        assert_eq!(later.targets, records[i].targets, "seed {seed}: {id}");
                    }
                    s => panic!("seed {seed}: {id} published {} after close", s.as_str()),
                }
                assert_eq!(later.closed_at, records[i].closed_at, "seed {seed}");
            }
            let c = records[i];
            assert!(c.closed_at.is_some(), "seed {seed}");
            assert!(
                c.required_targets
                    .iter()
                    .all(|t| c.targets[t].state == TargetState::Done),
                "seed {seed}"
            );
            assert!(
                c.targets.values().all(|s| s.time_to_revoke_ms.is_some()),
                "seed {seed}"
            );
        }
        // A rescinded case never closes (or leaves `rescinded`) afterwards.
        if let Some(first) = records.iter().position(|c| c.state == CaseState::Rescinded) {
            assert!(l.rescinded, "seed {seed}: {id} rescinded without a rescind");
            for c in &records[first..] {
                assert_eq!(c.state, CaseState::Rescinded, "seed {seed}: {id}");
            }
        }
        // A rescind before the effective time cancels: no hand-over, no escalation, no restore.
        let cancelled = log.notes(&id, "cancelled_before_effective");
        assert!(cancelled <= 1, "seed {seed}");
        let rescinded_at = records
            .iter()
            .find(|c| c.state == CaseState::Rescinded)
            .map(|c| c.updated_at);
        if l.dated && rescinded_at.is_some_and(|r| r < l.ev.data.effective_at.unwrap()) {
            assert_eq!(
                cancelled, 1,
                "seed {seed}: {id} rescinded before effective time"
            );
        }
        if cancelled == 1 {
            assert!(l.dated && l.rescinded, "seed {seed}");
            // Never handed over (counted below), no rescind escalation. (A worker that reports
            // a revocation anyway, which the generator lets happen, is asked to give it back.)
            assert!(
                !log.escalations(&id)
                    .iter()
                    .any(|e| e.reason == EscalationReason::RescindAfterRevocation),
                "seed {seed}: {id}"
            );
        }
        // A dated termination is handed to the workers exactly once, restart or not, unless a
        // rescind cancelled it first; others never.
        let dues = log.per_case[&id]
            .iter()
            .filter(|e| matches!(e, Effect::Due(_)))
            .count();
        assert_eq!(
            dues,
            usize::from(l.dated && cancelled == 0),
            "seed {seed}: {id} handed over {dues} times"
        );
        // Escalation ids are distinct per case (nothing is escalated twice).
        let escalations = log.escalations(&id);
        let distinct: HashSet<Uuid> = escalations.iter().map(|e| e.escalation_id).collect();
        assert_eq!(
            distinct.len(),
            escalations.len(),
            "seed {seed}: repeated escalation for {id}"
        );
        for e in &escalations {
            let allowed = match e.reason {
                EscalationReason::TargetFailed | EscalationReason::DeadlinePassed => true,
                EscalationReason::RescindAfterRevocation | EscalationReason::RestoreIncomplete => {
                    l.rescinded && e.level == 0
                }
                // Once per receiver that was overdue (its path is not climbed).
                EscalationReason::SignalUndelivered => {
                    e.level == 0 && l.receivers.iter().any(|(_, overdue, _)| *overdue)
                }
                _ => false,
            };
            assert!(allowed, "seed {seed}: unexpected escalation {e:?}");
        }
        // A rescind that did not cancel tells the owner once.
        if l.rescinded && cancelled == 0 {
            assert_eq!(
                escalations
                    .iter()
                    .filter(|e| e.reason == EscalationReason::RescindAfterRevocation)
                    .count(),
                1,
                "seed {seed}: {id}"
            );
        }

        // Signal deliveries: per receiver one entry, delivered once a delivered record came
        // (whatever the order), else overdue and escalated once to the receiver's owner.
        let last = *records.last().unwrap();
        assert_eq!(last.signals.len(), l.receivers.len(), "seed {seed}: {id}");
        let undelivered = escalations
            .iter()
            .filter(|e| e.reason == EscalationReason::SignalUndelivered)
            .count();
        let mut must_escalate = 0;
        for (name, overdue, delivered) in &l.receivers {
            let entry = last.signals.iter().find(|d| &d.receiver == name).unwrap();
            let want = if *delivered {
                revoke_shared::contract::DeliveryOutcome::Delivered
            } else {
                revoke_shared::contract::DeliveryOutcome::Overdue
            };
            assert_eq!(entry.outcome, want, "seed {seed}: {id} {name}");
            must_escalate += usize::from(*overdue && !*delivered);
        }
        let may_escalate = l.receivers.iter().filter(|(_, o, _)| *o).count();
        assert!(
            (must_escalate..=may_escalate).contains(&undelivered),
            "seed {seed}: {id}: {undelivered} signal_undelivered escalations"
        );

        // Every restore request is answered, and each answer is in the final record once.
        let requested: BTreeSet<TargetKind> = log.restores(&id).iter().map(|r| r.target).collect();
        let answers = workers.answered.get(&id).cloned().unwrap_or_default();
        let answered: BTreeSet<TargetKind> = answers.iter().map(|r| r.target.kind).collect();
        assert_eq!(requested, answered, "seed {seed}: {id}");
        assert_eq!(
            last.restored.len(),
            requested.len(),
            "seed {seed}: {id} restored {:?}",
            last.restored
        );
        for r in &last.restored {
            assert!(answers.contains(r), "seed {seed}");
        }
        let incomplete: BTreeSet<TargetKind> = last
            .restored
            .iter()
            .filter(|r| r.left_for_a_person().count() > 0)
            .map(|r| r.target.kind)
            .collect();
        let told: BTreeSet<TargetKind> = escalations
            .iter()
            .filter(|e| e.reason == EscalationReason::RestoreIncomplete)
            .flat_map(|e| e.targets.iter().copied())
            .collect();
        assert_eq!(incomplete, told, "seed {seed}: {id}");

        // At the end: rescinded if rescinded, else closed iff every required target got a
        // verified success.
        if l.rescinded {
            assert_eq!(last.state, CaseState::Rescinded, "seed {seed}: {id}");
        } else {
            assert_eq!(
                last.state == CaseState::Closed,
                l.expect_closed(),
                "seed {seed}: {id} plans {:?} ended {:?}",
                l.plans,
                last.state
            );
        }
        assert_eq!(v.is_closed(&id), l.ends_closed(), "seed {seed}");
        if !l.ends_closed() {
            assert_eq!(
                v.case(&id),
                Some(last),
                "seed {seed}: machine state = last published record"
            );
        }

        // A target that only ever failed leaves the case escalated (unless rescinded), and the
        // failure escalations name it (and only targets that did fail at some point).
        let fails = l.targets_planned(&[Plan::Fails]);
        let failed_named: BTreeSet<TargetKind> = escalations
            .iter()
            .filter(|e| e.reason == EscalationReason::TargetFailed)
            .flat_map(|e| e.targets.iter().copied())
            .collect();
        if !fails.is_empty() && !l.rescinded {
            assert_eq!(
                last.state,
                CaseState::Escalated,
                "seed {seed}: {id} with failures ended {:?}",
                last.state
            );
            assert!(
                failed_named.is_superset(&fails),
                "seed {seed}: {failed_named:?} ⊉ {fails:?}"
            );
        }
        assert!(
            failed_named.is_subset(&l.targets_planned(&[Plan::Fails, Plan::RetriedThenVerified])),
            "seed {seed}"
        );

        for (i, e) in log.per_case[&id].iter().enumerate() {
            let Effect::Escalate(x) = e else { continue };
            // The case record of the same batch.
            let c = log.per_case[&id][..i]
                .iter()
                .rev()
                .find_map(|e| match e {
                    Effect::Case(c) => Some(c),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("seed {seed}"));
            // The deadline escalation names exactly the targets not done at that moment.
            if x.reason == EscalationReason::DeadlinePassed && x.level == 0 {
                let missing: Vec<TargetKind> = c
                    .required_targets
                    .iter()
                    .copied()
                    .filter(|t| {
                        matches!(
                            c.targets[t].state,
                            TargetState::Pending | TargetState::Unverified
                        )
                    })
                    .collect();
                assert_eq!(x.targets, missing, "seed {seed}");
                assert!(x.raised_at >= c.deadline.unwrap(), "seed {seed}");
            }
            // A climbed escalation: its path step's person, after the step's delay from the
            // control owner's escalation, after the level below, while still unresolved.
            if x.level > 0 {
                let same = |level: u32| {
                    escalations.iter().find(|b| {
                        b.level == level && b.reason == x.reason && b.targets == x.targets
                    })
                };
                let base = same(0).unwrap_or_else(|| panic!("seed {seed}: no base for {x:?}"));
                let below = same(x.level - 1).unwrap_or_else(|| panic!("seed {seed}"));
                let path = world.policy.escalation_path_of(x.targets.first().copied());
                let step = &path[x.level as usize - 1];
                assert_eq!(x.owner, step.owner(), "seed {seed}");
                assert!(
                    x.raised_at >= base.raised_at + Duration::seconds(step.after_secs as i64),
                    "seed {seed}: climbed early {x:?}"
                );
                assert!(below.raised_at <= x.raised_at, "seed {seed}");
                assert_eq!(c.state, CaseState::Escalated, "seed {seed}");
                assert!(
                    x.targets
                        .iter()
                        .any(|t| c.targets[t].state != TargetState::Done),
                    "seed {seed}: climbed though resolved"
                );
            }
        }
        if matches!(last.state, CaseState::Open | CaseState::Pending) {
            open_expected += 1;
        }
        if last.state != CaseState::Closed {
            *by_state.entry(last.state).or_insert(0) += 1;
        }
    }
    assert_eq!(v.open_count(), open_expected, "seed {seed}");
    // The `revoke_cases{state}` counts: the live cases' last published states.
    let counts = v.case_counts();
    for state in CaseState::ALL {
        if state != CaseState::Closed {
            let expected = by_state.get(&state).copied().unwrap_or(0);
            assert_eq!(counts.get(state), expected, "seed {seed}: {state:?}");
        }
    }

    // Long after every deadline, nothing is left open: each unclosed case is escalated, each
    // rescinded one stays rescinded.
    let far = at(100 * DEADLINE_SECS);
    for e in tick(v, far) {
        let Effect::Case(c) = e else { continue };
        assert_eq!(c.state, CaseState::Escalated, "seed {seed}");
    }
    assert_eq!(v.open_count(), 0, "seed {seed}");
    for l in &world.leavers {
        let id = l.ev.case_id();
        if !l.ends_closed() {
            assert_eq!(
                v.case(&id).map(|c| c.state),
                Some(if l.rescinded {
                    CaseState::Rescinded
                } else {
                    CaseState::Escalated
                }),
                "seed {seed}"
            );
        }
    }
    assert!(tick(v, far).is_empty(), "seed {seed}");
}

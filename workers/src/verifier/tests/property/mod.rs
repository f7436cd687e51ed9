//! Property test: random interleavings, duplicates, deadlines, restarts and replays, driven by
//! a small deterministic PRNG so that any failure names a seed that reproduces it.

mod check;
mod run;
mod world;

use super::kit::*;
use check::check_run;
use run::run_world;
use world::{generate, Plan};

/// For many seeds: random interleavings with duplicates, ticks, rescinds, restore reports and
/// signal deliveries,
/// once straight through and once with a restart (restore from the changelog, then replays).
/// Both runs satisfy the invariants, and per case they publish exactly the same effects.
#[test]
fn random_interleavings_restarts_and_replays_keep_the_invariants() {
    for seed in 1..=400u64 {
        let mut rng = Rng::new(seed);
        let world = generate(&mut rng);

        let (mut straight, straight_log, workers) = run_world(&world, None, &mut rng, seed);
        check_run(&world, &mut straight, &straight_log, &workers, seed);

        let k = rng.below(world.schedule.len() as u64 + 1) as usize;
        let (mut restarted, restarted_log, workers) = run_world(&world, Some(k), &mut rng, seed);
        check_run(&world, &mut restarted, &restarted_log, &workers, seed);

        // A restart is invisible in the output: per case, the same effects in the same order.
        let straight_ids: Vec<&Uuid> = straight_log.per_case.keys().collect();
        let restarted_ids: Vec<&Uuid> = restarted_log.per_case.keys().collect();
        assert_eq!(straight_ids, restarted_ids, "seed {seed}");
        for (id, effects) in &straight_log.per_case {
            assert_eq!(
                &restarted_log.per_case[id], effects,
                "seed {seed}: case {id} (restart after step {k})"
            );
        }
    }
}

/// The generator really exercises what the property test claims: closes, failures, unverified
/// targets, deadline escalations, climbed escalations, duplicates, rescinds in every state with
/// restore reports, Shared Signals deliveries (after close too, overdue then delivered), and
/// restarts in the middle.
#[test]
fn random_worlds_cover_the_interesting_cases() {
    let (mut closed, mut failed_cases, mut deadline, mut dup) = (0, 0, 0, 0);
    // Dated cases whose confirmations arrived while they were still scheduled.
    let (mut dated, mut early_reports) = (0, 0);
    // Rescinds: cancelled before the effective time, while open or escalated, after close.
    let (mut cancelled, mut rescinded_live, mut rescinded_closed) = (0, 0, 0);
    // Restore reports recorded, some incomplete; reports delivered twice; escalations climbed.
    let (mut restored, mut incomplete, mut redelivered, mut climbed) = (0, 0, 0, 0);
    // Targets run again after a transient failure.
    let mut redriven = 0;
    // Signal deliveries recorded after close, overdue receivers escalated, both recorded.
    let (mut signalled_closed, mut undelivered, mut late_then_delivered) = (0, 0, 0);
    for seed in 1..=400u64 {
        let mut rng = Rng::new(seed);
        let world = generate(&mut rng);
        let (_, log, workers) = run_world(&world, None, &mut rng, seed);
        for l in &world.leavers {
            let id = l.ev.case_id();
            closed += usize::from(l.expect_closed());
            dated += usize::from(l.dated);
            let records = log.cases(&id);
            early_reports += records
                .iter()
                .filter(|c| {
                    c.state == CaseState::Scheduled
                        && c.targets.values().any(|s| s.state != TargetState::Pending)
                })
                .count();
            failed_cases += usize::from(!l.targets_planned(&[Plan::Fails]).is_empty());
            let escalations = log.escalations(&id);
            deadline += escalations
                .iter()
                .filter(|e| e.reason == EscalationReason::DeadlinePassed)
                .count();
            climbed += escalations.iter().filter(|e| e.level > 0).count();
            incomplete += escalations
                .iter()
                .filter(|e| e.reason == EscalationReason::RestoreIncomplete)
                .count();
            cancelled += log.notes(&id, "cancelled_before_effective");
            if let Some(i) = records.iter().position(|c| c.state == CaseState::Rescinded) {
                if i > 0 && records[i - 1].state == CaseState::Closed {
                    rescinded_closed += 1;
                } else if i > 0 && records[i - 1].state != CaseState::Scheduled {
                    rescinded_live += 1;
                }
            }
            signalled_closed += records
                .windows(2)
                .filter(|w| w[0].state == CaseState::Closed && w[1].state == CaseState::Closed)
                .count();
            undelivered += escalations
                .iter()
                .filter(|e| e.reason == EscalationReason::SignalUndelivered)
                .count();
            late_then_delivered += l.receivers.iter().filter(|(_, o, d)| *o && *d).count();
            restored += records.last().map_or(0, |c| c.restored.len());
            redriven += records
                .last()
                .map_or(0, |c| c.targets.values().filter(|t| t.redrives > 0).count());
        }
        redelivered += workers.redelivered;
        let mut seen = HashMap::new();
        for (step, _) in &world.schedule {
            if let Step::Conf(c) = step {
                *seen.entry(c.confirmation_id).or_insert(0) += 1;
            }
        }
        dup += seen.values().filter(|n| **n > 1).count();
    }
    assert!(
        closed > 100 && failed_cases > 100 && deadline > 50 && dup > 100,
        "closed {closed}, failed {failed_cases}, deadline {deadline}, dup {dup}"
    );
    assert!(
        dated > 100 && early_reports > 20,
        "dated {dated}, early reports {early_reports}"
    );
    assert!(
        cancelled > 10 && rescinded_live > 50 && rescinded_closed > 30,
        "cancelled {cancelled}, rescinded while live {rescinded_live}, after close {rescinded_closed}"
    );
    assert!(
        restored > 200 && incomplete > 30 && redelivered > 50 && climbed > 50,
        "restored {restored}, incomplete {incomplete}, redelivered {redelivered}, climbed {climbed}"
    );
    assert!(redriven > 50, "redriven {redriven}");
    assert!(
        signalled_closed > 50 && undelivered > 50 && late_then_delivered > 50,
        "signals after close {signalled_closed}, undelivered {undelivered}, overdue then delivered {late_then_delivered}"
    );
}

//! The blast-radius guard, end to end on the embedded broker (plain `cargo test`) and the real
//! one (README test command): five simulated target workers, the verifier (two instances in the
//! second test), and `revoke approve` / `revoke reject` as the library runs them.
//!
//! What must hold: past the limit, new cases are `held` and *nothing* is done to them at any
//! target; one escalation per batch; an approval releases exactly that batch, with the approval
//! in each case's evidence; a rejection drops its batch for good; the count is fleet-wide, the
//! same with two verifier instances splitting the partitions as with one.

use revoke::approve::{decide, read_guard, DecideArgs};
use revoke::demo::wait_for_groups;
use revoke::fleet::{spawn_verifier, Fleet};
use revoke::hr::Mode;
use revoke_shared::contract::{CaseState, Decision, Escalation, EscalationReason, HrEvent};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::{all_in_state as all_in, case_ids as ids, TestEnv};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// The `blast_radius_hold` escalations published so far.
async fn holds(env: &TestEnv) -> Vec<Escalation> {
    let all: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
    all.into_iter()
        .filter(|e| e.reason == EscalationReason::BlastRadiusHold)
        .collect()
}

fn states(l: &revoke::cases::CaseLog, ids: &[uuid::Uuid]) -> Vec<Option<&'static str>> {
    ids.iter()
        .map(|id| l.latest.get(id).map(|c| c.state.as_str()))
        .collect()
}

/// No simulated target did anything to any of `events`' identities.
fn untouched(fleet: &Fleet, events: &[HrEvent]) -> Result<(), String> {
    for (kind, sim) in &fleet.simulators {
        for ev in events {
            let acted = sim.actions_for(&ev.subject);
            if !acted.is_empty() {
                return Err(format!("{kind} acted on held {}: {acted:?}", ev.subject));
            }
        }
    }
    Ok(())
}

fn args(batch: &str, by: &str) -> DecideArgs {
    DecideArgs {
        batch: batch.into(),
        by: by.into(),
        note: Some("checked with HR".into()),
        digest: None,
        only: Vec::new(),
        except: Vec::new(),
    }
}

#[test]
fn a_burst_is_held_until_a_person_approves_and_a_rejected_batch_revokes_nothing() {
    let mut env = TestEnv::new("guard");
    env.cfg.verifier.guard.max_terminations = 10;
    env.cfg.verifier.guard.window_secs = 600;
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let fleet = Fleet::start_simulated(&env.cfg, &metrics, &health);
        assert!(
            wait_for_groups(&env.cfg, &metrics, WAIT).await,
            "groups never got partitions"
        );

        // Ten leavers: within the limit, released and closed as usual.
        let events = env.leavers(40);
        let (first, burst, late) = (&events[..10], &events[10..25], &events[25..30]);
        env.publish(first, Mode::Structured).await;
        let first_ids = ids(first);
        let log = env
            .wait_cases(WAIT, |l| all_in(l, &first_ids, CaseState::Closed))
            .await;
        assert!(
            all_in(&log, &first_ids, CaseState::Closed),
            "{:?}",
            states(&log, &first_ids)
        );
        for id in &first_ids {
            let g = log.latest[id].guard.as_ref().expect("guard evidence");
            assert!(g.released_at.is_some() && g.batch.is_none(), "{g:?}");
        }

        // Fifteen more within the window: every one held, nothing done to any of them.
        env.publish(burst, Mode::Structured).await;
        let burst_ids = ids(burst);
        let log = env
            .wait_cases(WAIT, |l| all_in(l, &burst_ids, CaseState::Held))
            .await;
        assert!(
            all_in(&log, &burst_ids, CaseState::Held),
            "{:?}",
            states(&log, &burst_ids)
        );
        let batch = log.latest[&burst_ids[0]]
            .guard
            .as_ref()
            .unwrap()
            .batch
            .clone()
            .unwrap();
        for id in &burst_ids {
            let c = &log.latest[id];
            assert_eq!(
                c.guard.as_ref().unwrap().batch.as_deref(),
                Some(batch.as_str())
            );
            assert_eq!(c.deadline, None, "no deadline while held");
        }
        // Give the workers every chance to act wrongly.
        tokio::time::sleep(Duration::from_secs(2)).await;
        untouched(&fleet, burst).unwrap();
        let first_holds = holds(&env).await;
        assert_eq!(
            first_holds.len(),
            1,
            "one escalation per batch: {first_holds:?}"
        );
        assert!(
            first_holds[0]
                .detail
                .contains(&format!("revoke approve {batch} --by")),
            "{}",
            first_holds[0].detail
        );
        assert!(
            first_holds[0]
                .detail
                .contains("11 cases asked for release within 600 s"),
            "{}",
            first_holds[0].detail
        );

        // `revoke guard` shows it; an approval releases exactly those fifteen.
        let cfg = env.cfg.clone();
        let guard = tokio::task::spawn_blocking(move || read_guard(&cfg))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(guard.batches().len(), 1);
        assert_eq!(guard.batches()[0].cases.len(), 15);
        let out = std::sync::Mutex::new(Vec::<String>::new());
        decide(&env.cfg, &args(&batch, "alice"), Decision::Approve, |l| {
            out.lock().unwrap().push(l.to_string())
        })
        .await
        .unwrap();
        assert!(out
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("approved batch") && l.contains("15 cases")));
        let log = env
            .wait_cases(WAIT, |l| all_in(l, &burst_ids, CaseState::Closed))
            .await;
        assert!(
            all_in(&log, &burst_ids, CaseState::Closed),
            "{:?}",
            states(&log, &burst_ids)
        );
        for (ev, id) in burst.iter().zip(&burst_ids) {
            let g = log.latest[id].guard.as_ref().unwrap();
            assert_eq!(g.decision, Some(Decision::Approve));
            assert_eq!(g.decided_by.as_deref(), Some("alice"));
            assert_eq!(g.note.as_deref(), Some("checked with HR"));
            assert!(g.released_at.unwrap() >= g.decided_at.unwrap());
            for sim in fleet.simulators.values() {
                assert!(sim.all_revoked(&ev.subject));
            }
        }
        let rendered = revoke::cases::render(&log.latest[&burst_ids[0]]);
        assert!(
            rendered.contains("held") && rendered.contains("approved by alice"),
            "{rendered}"
        );

        // A decided batch cannot be decided again.
        let again = decide(&env.cfg, &args(&batch, "bob"), Decision::Reject, |_| {}).await;
        assert!(again.unwrap_err().to_string().contains("already decided"));

        // Five more, still within the window: a new batch, rejected — nothing ever done to them.
        env.publish(late, Mode::Structured).await;
        let late_ids = ids(late);
        let log = env
            .wait_cases(WAIT, |l| all_in(l, &late_ids, CaseState::Held))
            .await;
        assert!(
            all_in(&log, &late_ids, CaseState::Held),
            "{:?}",
            states(&log, &late_ids)
        );
        let second = log.latest[&late_ids[0]]
            .guard
            .as_ref()
            .unwrap()
            .batch
            .clone()
            .unwrap();
        assert_ne!(second, batch);
        decide(&env.cfg, &args(&second, "carol"), Decision::Reject, |_| {})
            .await
            .unwrap();
        let log = env
            .wait_cases(WAIT, |l| all_in(l, &late_ids, CaseState::Rejected))
            .await;
        assert!(
            all_in(&log, &late_ids, CaseState::Rejected),
            "{:?}",
            states(&log, &late_ids)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        untouched(&fleet, late).unwrap();
        for id in &late_ids {
            let g = log.latest[id].guard.as_ref().unwrap();
            assert_eq!(
                (g.decision, g.decided_by.as_deref()),
                (Some(Decision::Reject), Some("carol"))
            );
        }
        // Two batches, two escalations; no case closed twice.
        assert_eq!(holds(&env).await.len(), 2);
        assert!(log.closed_versions.values().all(|n| *n == 1));
        fleet.stop().await.expect("graceful stop");
    });
}

/// Two verifier instances share the partitions; the window is counted over the one guard log,
/// so a burst of 30 with a limit of 12 releases exactly 12, whoever owns which case.
#[test]
fn the_count_is_fleet_wide_with_two_verifier_instances() {
    let mut env = TestEnv::new("guard2");
    env.cfg.verifier.guard.max_terminations = 12;
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let fleet = Fleet::start_simulated(&env.cfg, &metrics, &health);
        let second_metrics = Metrics::new();
        let second = spawn_verifier(&env.cfg, second_metrics.clone(), Health::new());
        assert!(
            wait_for_groups(&env.cfg, &metrics, WAIT).await,
            "groups never got partitions"
        );
        // Let the group settle with both members before the burst.
        tokio::time::sleep(Duration::from_secs(3)).await;

        let events = env.leavers(30);
        env.publish(&events, Mode::Structured).await;
        let all = ids(&events);
        let settled = |l: &revoke::cases::CaseLog| {
            all.iter().all(|id| {
                l.latest
                    .get(id)
                    .is_some_and(|c| matches!(c.state, CaseState::Closed | CaseState::Held))
            }) && l
                .latest
                .values()
                .filter(|c| c.state == CaseState::Closed)
                .count()
                == 12
        };
        let log = env.wait_cases(WAIT, settled).await;
        let closed = all
            .iter()
            .filter(|id| log.latest[id].state == CaseState::Closed)
            .count();
        let held = all
            .iter()
            .filter(|id| log.latest[id].state == CaseState::Held)
            .count();
        assert_eq!((closed, held), (12, 18), "{:?}", states(&log, &all));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let log = env.case_log().await;
        assert_eq!(
            all.iter()
                .filter(|id| log.latest[id].state == CaseState::Closed)
                .count(),
            12,
            "nothing more released"
        );
        assert_eq!(
            holds(&env).await.len(),
            1,
            "one batch, one escalation, from whichever instance owns its first case"
        );
        // Both instances really took part: each handled some of the burst's inputs.
        let group = revoke::verifier::group(&env.cfg);
        let handled = |m: &Metrics| m.events_handled.with_label_values(&[group.as_str()]).get();
        assert!(
            handled(&metrics) > 0 && handled(&second_metrics) > 0,
            "one verifier instance had all the partitions: {} / {}",
            handled(&metrics),
            handled(&second_metrics)
        );
        let held_events: Vec<HrEvent> = events
            .iter()
            .zip(&all)
            .filter(|(_, id)| log.latest[id].state == CaseState::Held)
            .map(|(e, _)| e.clone())
            .collect();
        untouched(&fleet, &held_events).unwrap();

        let batch = log.latest[&ids(&held_events)[0]]
            .guard
            .as_ref()
            .unwrap()
            .batch
            .clone()
            .unwrap();
        decide(&env.cfg, &args(&batch, "alice"), Decision::Approve, |_| {})
            .await
            .unwrap();
        let log = env
            .wait_cases(WAIT, |l| all_in(l, &all, CaseState::Closed))
            .await;
        assert!(
            all_in(&log, &all, CaseState::Closed),
            "{:?}",
            states(&log, &all)
        );
        assert!(log.closed_versions.values().all(|n| *n == 1));
        second.stop().await.expect("graceful stop");
        fleet.stop().await.expect("graceful stop");
    });
}

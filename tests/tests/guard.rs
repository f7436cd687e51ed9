//! The blast-radius guard, end to end on the embedded broker (plain `cargo test`) and the real
//! one (README test command): five simulated target workers, the verifier (two instances in the
//! second test), and `revoke approve` / `revoke reject` as the library runs them.
//!
//! What must hold: past the limit, new cases are `held` and *nothing* is done to them at any
//! target; one escalation per batch; an approval releases exactly that batch, with the approval
//! in each case's evidence; a rejection drops its batch for good; the count is fleet-wide, the
//! same with two verifier instances splitting the partitions as with one.

use revoke::cases::CaseLog;
use revoke::cli::guard::{decide, read_guard, DecideArgs};
use revoke::fleet::{Fleet, Process};
use revoke::hr::Mode;
use revoke_shared::contract::{CaseState, Decision, Escalation, EscalationReason, HrEvent};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::{restore_requests, simulated_fleet, wait_all_in};
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

fn states(l: &CaseLog, ids: &[uuid::Uuid]) -> Vec<Option<&'static str>> {
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

/// Waits for every case of `ids` to be in `state`, and asserts they are.
async fn wait_all(env: &TestEnv, ids: &[uuid::Uuid], state: CaseState) -> CaseLog {
    let log = wait_all_in(env, WAIT, ids, state).await;
    assert!(all_in(&log, ids, state), "{:?}", states(&log, ids));
    log
}

/// Publishes `events` and waits for every one's case to be in `state`: their case ids and the log.
async fn publish_and_wait(
    env: &TestEnv,
    events: &[HrEvent],
    state: CaseState,
) -> (Vec<uuid::Uuid>, CaseLog) {
    env.publish(events, Mode::Structured).await;
    let case_ids = ids(events);
    let log = wait_all(env, &case_ids, state).await;
    (case_ids, log)
}

/// A test environment whose guard holds terminations past `max_terminations` within a
/// 600 s window.
fn guarded(name: &str, max_terminations: u64) -> TestEnv {
    let mut env = TestEnv::new(name);
    env.cfg.verifier.guard.max_terminations = max_terminations;
    env.cfg.verifier.guard.window_secs = 600;
    env
}

/// The batch holding case `id`.
fn batch_of(log: &CaseLog, id: &uuid::Uuid) -> String {
    log.latest[id]
        .guard
        .as_ref()
        .unwrap()
        .batch
        .clone()
        .unwrap()
}

fn args(batch: &str, by: &str) -> DecideArgs {
    DecideArgs {
        batch: batch.into(),
        by: by.into(),
        note: Some("checked with HR".into()),
        digest: None,
        only: Vec::new(),
        except: Vec::new(),
        key: Default::default(),
    }
}

#[test]
fn a_burst_is_held_until_a_person_approves_and_a_rejected_batch_revokes_nothing() {
    let env = guarded("guard", 10);
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;

        // Ten leavers: within the limit, released and closed as usual.
        let events = env.leavers(40);
        let (first, burst, late) = (&events[..10], &events[10..25], &events[25..30]);
        let (first_ids, log) = publish_and_wait(&env, first, CaseState::Closed).await;
        for id in &first_ids {
            let g = log.latest[id].guard.as_ref().expect("guard evidence");
            assert!(g.released_at.is_some() && g.batch.is_none(), "{g:?}");
        }

        // Fifteen more within the window: every one held, nothing done to any of them.
        let (burst_ids, log) = publish_and_wait(&env, burst, CaseState::Held).await;
        let batch = batch_of(&log, &burst_ids[0]);
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
                .contains(&format!("revoke approve {batch} --digest DIGEST --by")),
            "{}",
            first_holds[0].detail
        );
        assert!(
            first_holds[0]
                .detail
                .contains("11 people asked for release within 600 s"),
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
        let log = wait_all(&env, &burst_ids, CaseState::Closed).await;
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
        let (late_ids, log) = publish_and_wait(&env, late, CaseState::Held).await;
        let second = batch_of(&log, &late_ids[0]);
        assert_ne!(second, batch);
        decide(&env.cfg, &args(&second, "carol"), Decision::Reject, |_| {})
            .await
            .unwrap();
        let log = wait_all(&env, &late_ids, CaseState::Rejected).await;
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
        let second_metrics = Metrics::new();
        let second = Process::Verifier.spawn(&env.cfg, second_metrics.clone(), Health::new());
        let (fleet, metrics, _) = simulated_fleet(&env.cfg, WAIT).await;
        // Let the group settle with both members before the burst.
        tokio::time::sleep(Duration::from_secs(3)).await;

        let events = env.leavers(30);
        env.publish(&events, Mode::Structured).await;
        let all = ids(&events);
        let settled = |l: &CaseLog| {
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

        let batch = batch_of(&log, &ids(&held_events)[0]);
        decide(&env.cfg, &args(&batch, "alice"), Decision::Approve, |_| {})
            .await
            .unwrap();
        let log = wait_all(&env, &all, CaseState::Closed).await;
        assert!(log.closed_versions.values().all(|n| *n == 1));
        second.stop().await.expect("graceful stop");
        fleet.stop().await.expect("graceful stop");
    });
}

/// HR re-sending one person's termination 300 times under new ids, with 5 real leavers, inside
/// one window with a limit of 25: one person counts once, so nothing is held; the re-sent
/// terminations join the person's one case (one person, one case), which closes.
#[test]
fn one_person_sent_300_times_counts_once_and_has_one_case() {
    let env = guarded("guard-dup", 25);
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let events = env.leavers(6);
        let (one, leavers) = (&events[0], &events[1..]);
        let mut burst: Vec<HrEvent> = (0..300)
            .map(|i| {
                let mut ev = one.clone();
                ev.id = format!("{}-resent-{i}", one.id);
                ev
            })
            .collect();
        burst.extend_from_slice(leavers);
        let started = std::time::Instant::now();
        env.publish(&burst, Mode::Structured).await;

        let leaver_ids = ids(leavers);
        let subject = one.subject.clone();
        let of_person = |l: &CaseLog| -> Vec<revoke_shared::contract::Case> {
            l.latest
                .values()
                .filter(|c| c.identity_id == subject)
                .cloned()
                .collect()
        };
        let done = |l: &CaseLog| {
            let mine = of_person(l);
            all_in(l, &leaver_ids, CaseState::Closed)
                && !mine.is_empty()
                && mine.iter().all(|c| c.state == CaseState::Closed)
                && mine
                    .iter()
                    .map(|c| c.joined.len() as u64 + c.joined_more)
                    .sum::<u64>()
                    >= 299
        };
        let log = env.wait_cases(WAIT, done).await;
        let mine = of_person(&log);
        assert!(
            done(&log),
            "within {WAIT:?}: leavers {:?}; the person has {} case(s), the first: {:?}",
            states(&log, &leaver_ids),
            mine.len(),
            mine.iter()
                .take(3)
                .map(|c| (c.case_id, c.state, c.joined.len() as u64 + c.joined_more))
                .collect::<Vec<_>>()
        );
        eprintln!(
            "[{}] 300 re-sent + 5 leavers closed in {:?}",
            env.broker,
            started.elapsed()
        );
        // Give the verifier every chance to open a second case or hold something.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let log = env.case_log().await;
        let mine = of_person(&log);
        assert_eq!(
            mine.len(),
            1,
            "one person, one case: {:?}",
            mine.iter()
                .map(|c| (c.case_id, c.state, c.event_id.clone()))
                .collect::<Vec<_>>()
        );
        let case = &mine[0];
        assert_eq!(case.state, CaseState::Closed);
        assert_eq!(
            case.joined.len() as u64 + case.joined_more,
            299,
            "every re-sent termination joined the one case"
        );
        assert_eq!(log.closed_versions.get(&case.case_id), Some(&1));
        let g = case.guard.as_ref().expect("guard evidence");
        assert!(g.released_at.is_some() && g.batch.is_none(), "{g:?}");
        let held: Vec<_> = log
            .latest
            .values()
            .filter(|c| {
                c.state == CaseState::Held || c.guard.as_ref().is_some_and(|g| g.batch.is_some())
            })
            .map(|c| c.case_id)
            .collect();
        assert!(held.is_empty(), "held cases: {held:?}");
        assert!(all_in(&log, &leaver_ids, CaseState::Closed));
        assert_eq!(holds(&env).await, Vec::new(), "no blast_radius_hold");
        for sim in fleet.simulators.values() {
            assert!(sim.all_revoked(&subject));
            for ev in leavers {
                assert!(sim.all_revoked(&ev.subject));
            }
        }
        fleet.stop().await.expect("graceful stop");
    });
}

/// The rescind of `term` (named), from its own source.
fn rescind_of(term: &HrEvent) -> HrEvent {
    let mut r = term.clone();
    r.id = format!("{}-rescind", term.id);
    r.time = chrono::Utc::now();
    r.kind = revoke_shared::contract::HrEventKind::Rescinded;
    r.data.effective_at = None;
    r.data.reason = Some("offer accepted after all".into());
    r.data.rescinds = Some(term.id.clone());
    r
}

/// Restores are grants: a burst of rescinds past `verifier.guard.max_restores` is held in a
/// restores batch, with not one restore request on the topic for it, until a person approves.
#[test]
fn a_burst_of_rescinds_is_held_until_a_person_approves_the_restores() {
    let mut env = TestEnv::new("guard-restores");
    env.cfg.verifier.guard.max_restores = 3;
    env.cfg.verifier.guard.window_secs = 600;
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let events = env.leavers(6);
        let all = ids(&events);
        env.publish(&events, Mode::Structured).await;
        wait_all(&env, &all, CaseState::Closed).await;

        let started = std::time::Instant::now();
        let rescinds: Vec<HrEvent> = events.iter().map(rescind_of).collect();
        env.publish(&rescinds, Mode::Structured).await;
        let restored = |c: &revoke_shared::contract::Case| {
            !c.restored.is_empty() && c.restored.len() == c.targets.len()
        };
        let waiting = |c: &revoke_shared::contract::Case| {
            c.restore_guard
                .as_ref()
                .is_some_and(|g| g.batch.is_some() && g.decision.is_none())
        };
        let split = |l: &CaseLog| {
            let cases: Vec<_> = all.iter().filter_map(|id| l.latest.get(id)).collect();
            let r = cases.iter().filter(|c| restored(c)).count();
            let h = cases.iter().filter(|c| waiting(c)).count();
            (r, h)
        };
        let log = env.wait_cases(WAIT, |l| split(l) == (3, 3)).await;
        assert_eq!(
            split(&log),
            (3, 3),
            "(restored, held) after the burst of rescinds: {:?}",
            all.iter()
                .map(|id| (log.latest[id].state, log.latest[id].restore_guard.clone()))
                .collect::<Vec<_>>()
        );
        eprintln!(
            "[{}] 3 restored, 3 held {:?} after the rescinds",
            env.broker,
            started.elapsed()
        );
        let held: Vec<uuid::Uuid> = all
            .iter()
            .copied()
            .filter(|id| waiting(&log.latest[id]))
            .collect();
        for id in &held {
            assert_eq!(log.latest[id].state, CaseState::Rescinded);
        }
        let batch = log.latest[&held[0]]
            .restore_guard
            .as_ref()
            .unwrap()
            .batch
            .clone()
            .unwrap();
        for id in &held {
            let g = log.latest[id].restore_guard.as_ref().unwrap();
            assert_eq!(g.batch.as_deref(), Some(batch.as_str()), "one batch");
            assert!(g.released_at.is_none(), "{g:?}");
        }
        // Give the verifier and workers every chance to give something back wrongly.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let requests = restore_requests(&env).await;
        let for_held = requests
            .iter()
            .filter(|r| held.contains(&r.case_id))
            .count();
        assert_eq!(for_held, 0, "restore requests for held cases on the topic");
        let released = requests
            .iter()
            .filter(|r| !held.contains(&r.case_id))
            .count();
        assert!(released > 0, "the first three asked the workers");
        let log = env.case_log().await;
        for id in &held {
            assert!(
                log.latest[id].restored.is_empty(),
                "{:?}",
                log.latest[id].restored
            );
        }
        let restore_holds: Vec<Escalation> = holds(&env)
            .await
            .into_iter()
            .filter(|e| e.detail.contains(&format!("restores batch {batch} held")))
            .collect();
        assert_eq!(restore_holds.len(), 1, "one escalation per batch");

        decide(&env.cfg, &args(&batch, "alice"), Decision::Approve, |_| {})
            .await
            .unwrap();
        let log = env
            .wait_cases(WAIT, |l| held.iter().all(|id| restored(&l.latest[id])))
            .await;
        for id in &held {
            let c = &log.latest[id];
            assert!(restored(c), "not restored after approval: {:?}", c.restored);
            let g = c.restore_guard.as_ref().unwrap();
            assert_eq!(g.decision, Some(Decision::Approve), "{g:?}");
            assert_eq!(g.decided_by.as_deref(), Some("alice"));
            assert!(g.released_at.unwrap() >= g.decided_at.unwrap(), "{g:?}");
        }
        let requests = restore_requests(&env).await;
        for id in &held {
            let n = requests.iter().filter(|r| r.case_id == *id).count();
            assert_eq!(n, log.latest[id].targets.len(), "one request per target");
        }
        fleet.stop().await.expect("graceful stop");
    });
}

//! Component tests of the whole fleet: five simulated target workers and the verifier, on the
//! embedded broker (plain `cargo test`) or a real one (`REVOKE_TEST_KAFKA`, README test command).

use revoke::adapters::sim::Simulator;
use revoke::fleet::wait_for_groups;
use revoke::fleet::Process;
use revoke::hr::Mode;
use revoke_shared::config::SimulatorConfig;
use revoke_shared::contract::{
    CaseState, Confirmation, DeadLetter, Escalation, EscalationReason, ObjectOutcome, Outcome,
    TargetKind, TargetState,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::{
    own_cloud, simulated_fleet, verifier_dead_letters, wait_all_in, workers_with_failing,
};
use revoke_tests::gated::{Gate, Gated};
use revoke_tests::offsets::group_progress;
use revoke_tests::{all_in_state, case_ids, TestEnv};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

#[test]
fn leavers_close_with_verified_evidence_and_metrics() {
    let env = TestEnv::new("close");
    env.block_on(async {
        let (fleet, metrics, health) = simulated_fleet(&env.cfg, WAIT).await;
        let addr = revoke_shared::metrics::serve("127.0.0.1:0", metrics.clone(), health.clone())
            .await
            .unwrap();

        let events = env.leavers(40);
        env.publish(&events[..20], Mode::Structured).await;
        env.publish(&events[20..], Mode::Binary).await;
        let ids = case_ids(&events);
        let log = wait_all_in(&env, WAIT, &ids, CaseState::Closed).await;
        assert!(
            all_in_state(&log, &ids, CaseState::Closed),
            "[{}] not all closed: {:?}",
            env.broker,
            ids.iter()
                .map(|id| log.latest.get(id).map(|c| c.state))
                .collect::<Vec<_>>()
        );

        for (ev, id) in events.iter().zip(&ids) {
            let case = &log.latest[id];
            assert_eq!(log.closed_versions[id], 1, "closed once");
            assert_eq!(case.identity_id, ev.subject);
            assert_eq!(case.requested_by.as_deref(), Some("hr:people-ops"));
            assert!(case.escalations.is_empty());
            for kind in TargetKind::ALL {
                let st = &case.targets[&kind];
                assert_eq!(st.state, TargetState::Done);
                assert!(st.time_to_revoke_ms.is_some());
                let sim = &fleet.simulators[&kind];
                let actions: HashMap<String, u32> =
                    sim.actions_for(&ev.subject).into_iter().collect();
                // The evidence names exactly the objects the target changed, each verified.
                assert_eq!(st.objects.len(), actions.len());
                for o in &st.objects {
                    assert!(o.verified && o.removed_at.is_some(), "{o:?}");
                    assert_eq!(o.outcome, ObjectOutcome::Revoked);
                    assert_eq!(o.actor.principal, format!("sim-{kind}-revoker"));
                    assert_eq!(actions[&o.object_id], 1);
                }
                assert!(sim.all_revoked(&ev.subject));
            }
        }

        let body = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let consumed_line = body
            .lines()
            .find(|l| l.starts_with("revoke_events_consumed_total{consumer=\""))
            .unwrap();
        assert!(!consumed_line.ends_with(" 0"), "{consumed_line}");
        assert!(body.contains("revoke_revocations_total{outcome=\"revoked\",target=\"vault\"}"));
        assert!(body.contains("revoke_time_to_revoke_seconds_bucket"));
        assert!(
            body.contains("revoke_case_updates_total{state=\"closed\"} 40"),
            "case updates: {}",
            body.lines()
                .filter(|l| l.contains("case_updates"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let health_resp = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        assert_eq!(health_resp.status(), 200);

        // Co-partitioned by identity: a leaver's termination, confirmations and case records all
        // sit on the same partition number, so one verifier instance sees all of an identity.
        let cfg = env.cfg.clone();
        tokio::task::spawn_blocking(move || assert_copartitioned(&cfg))
            .await
            .unwrap();

        fleet.stop().await.expect("graceful stop");

        // A graceful stop commits exactly the next offset to read: no record skipped, none redone.
        let cfg = env.cfg.clone();
        tokio::task::spawn_blocking(move || assert_committed_at_end(&cfg))
            .await
            .unwrap();
    });
}

fn assert_copartitioned(cfg: &revoke_shared::config::Config) {
    use revoke_shared::kafka::read_to_end;
    let t = Duration::from_secs(30);
    let mut home: HashMap<String, i32> = HashMap::new();
    for r in read_to_end(cfg, &cfg.topics.terminations, t).unwrap() {
        home.insert(String::from_utf8(r.key.unwrap()).unwrap(), r.partition);
    }
    let confirmations = read_to_end(cfg, &cfg.topics.confirmations, t).unwrap();
    assert!(!confirmations.is_empty());
    for r in confirmations {
        let key = String::from_utf8(r.key.unwrap()).unwrap();
        assert_eq!(home[&key], r.partition, "confirmation of {key}");
    }
    for r in read_to_end(cfg, &cfg.topics.cases, t).unwrap() {
        let case: revoke_shared::contract::Case =
            serde_json::from_slice(&r.payload.unwrap()).unwrap();
        assert_eq!(
            home[&case.identity_id], r.partition,
            "case of {}",
            case.identity_id
        );
    }
}

/// Every worker group committed the end of each partition it reads that holds records (with the
/// guard on, workers read what the verifier released on `due`, not the terminations).
fn assert_committed_at_end(cfg: &revoke_shared::config::Config) {
    let mut checked = 0;
    for kind in TargetKind::ALL {
        let group = revoke::worker::group_for(cfg, kind);
        let topics = revoke::worker::input_topics(cfg);
        for p in group_progress(cfg, &group, &topics) {
            let high = p.end;
            if high == 0 {
                continue; // nothing was ever there to commit
            }
            let at = match p.committed {
                rdkafka::Offset::Offset(o) => o,
                other => panic!(
                    "{group} {}/{}: nothing committed ({other:?})",
                    p.topic, p.partition
                ),
            };
            assert_eq!(
                at, high,
                "{group} {}/{} committed {at}, end is {high}",
                p.topic, p.partition
            );
            checked += 1;
        }
    }
    assert!(
        checked >= TargetKind::ALL.len(),
        "every worker group committed something"
    );
}

#[test]
fn each_event_delivered_three_times_acts_once_per_object() {
    let mut env = TestEnv::new("dup");
    // Workers reading the terminations themselves (the guard off), so each of them gets every
    // duplicate: their own idempotency is what is tested. (With the guard on, the verifier
    // absorbs duplicates before release: `guard.rs` tests.)
    env.cfg.verifier.guard.enabled = false;
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let events = env.leavers(20);
        for _ in 0..3 {
            env.publish(&events, Mode::Structured).await;
        }
        let ids = case_ids(&events);
        // Each worker handles 60 records; wait until all confirmations exist, not just the close.
        let expected_confirmations = 3 * events.len() * TargetKind::ALL.len();
        let confirmations: Vec<Confirmation> = env
            .wait_json(&env.cfg.topics.confirmations, expected_confirmations)
            .await;
        assert_eq!(confirmations.len(), expected_confirmations);
        let log = wait_all_in(&env, WAIT, &ids, CaseState::Closed).await;
        assert!(all_in_state(&log, &ids, CaseState::Closed));

        for (ev, id) in events.iter().zip(&ids) {
            assert_eq!(
                log.closed_versions[id], 1,
                "a duplicate closed {} again",
                ev.subject
            );
            for kind in TargetKind::ALL {
                for (object, n) in fleet.simulators[&kind].actions_for(&ev.subject) {
                    assert_eq!(
                        n, 1,
                        "{kind} object {object} of {} changed {n} times",
                        ev.subject
                    );
                }
                // Three confirmations: at most one did the work, the others found it done.
                let outcomes: Vec<Outcome> = confirmations
                    .iter()
                    .filter(|c| c.case_id == *id && c.target.kind == kind)
                    .map(|c| c.outcome)
                    .collect();
                assert_eq!(outcomes.len(), 3);
                assert!(
                    outcomes.iter().filter(|o| **o == Outcome::Revoked).count() <= 1,
                    "{outcomes:?}"
                );
                assert!(outcomes.iter().all(|o| o.is_success()));
            }
        }
        fleet.stop().await.expect("graceful stop");
    });
}

#[test]
fn a_failing_target_escalates_to_its_owner() {
    let mut env = TestEnv::new("fail");
    own_cloud(&mut env.cfg);
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let workers = workers_with_failing(&env.cfg, TargetKind::Cloud, &metrics, &health);
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(wait_for_groups(&env.cfg, &metrics, WAIT).await);
        let events = env.leavers(10);
        env.publish(&events, Mode::Structured).await;
        let ids = case_ids(&events);
        // Escalated as soon as cloud fails; wait for the other four targets' evidence too.
        let settled = |l: &revoke::cases::CaseLog| {
            all_in_state(l, &ids, CaseState::Escalated)
                && ids.iter().all(|id| {
                    l.latest[id]
                        .targets
                        .values()
                        .all(|s| s.state != TargetState::Pending)
                })
        };
        let log = env.wait_cases(WAIT, settled).await;
        assert!(settled(&log), "{}", describe(&log, &ids));

        let escalations: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
        for id in &ids {
            let case = &log.latest[id];
            assert_eq!(case.targets[&TargetKind::Cloud].state, TargetState::Failed);
            assert!(case.targets[&TargetKind::Cloud]
                .error
                .as_deref()
                .unwrap_or("")
                .contains("403"));
            for kind in TargetKind::ALL
                .into_iter()
                .filter(|k| *k != TargetKind::Cloud)
            {
                assert_eq!(case.targets[&kind].state, TargetState::Done, "{kind}");
            }
            let mine: Vec<&Escalation> = escalations.iter().filter(|e| e.case_id == *id).collect();
            assert_eq!(mine.len(), 1, "exactly one escalation per case");
            assert_eq!(mine[0].reason, EscalationReason::TargetFailed);
            assert_eq!(mine[0].targets, vec![TargetKind::Cloud]);
            assert_eq!(mine[0].owner.name, "cloud-platform");
            assert!(mine[0].detail.contains("403"));
            assert_eq!(case.escalations.len(), 1);
        }
        for w in workers {
            w.stop().await.unwrap();
        }
        verifier.stop().await.unwrap();
    });
}

/// A target in an outage: while `down`, every call fails as a refused connection would
/// (transient); otherwise the call goes to the simulator.
struct Outage {
    down: std::sync::atomic::AtomicBool,
}

impl Gate for Outage {
    fn check(
        &self,
        _sim: &Simulator,
        _who: &revoke_shared::contract::Identity,
    ) -> Result<(), revoke::adapters::TargetError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(revoke::adapters::TargetError::Transient(
                "connection refused (outage)".into(),
            ));
        }
        Ok(())
    }
}

/// A target down longer than its workers' retry budget fails as `retryable`: the case escalates,
/// then the verifier runs that target again (re-drive, on `revoke.due`, for it alone) and once
/// the outage is over the case closes — the escalation and the failed report kept, the other
/// targets not run again.
#[test]
fn a_target_down_past_the_retry_budget_is_re_driven_and_the_case_closes() {
    let mut env = TestEnv::new("redrive");
    env.cfg.worker.max_attempts = 3;
    env.cfg.worker.max_retry_secs = 1;
    env.cfg.verifier.redrive_after_secs = vec![2, 2, 2];
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let mut workers = Vec::new();
        let mut sims = BTreeMap::new();
        let vault = Arc::new(Gated {
            sim: Arc::new(Simulator::new(
                TargetKind::Vault,
                SimulatorConfig::default(),
            )),
            gate: Outage { down: true.into() },
        });
        for kind in TargetKind::ALL {
            let target: Arc<dyn revoke::adapters::Target> = if kind == TargetKind::Vault {
                vault.clone()
            } else {
                let sim = Arc::new(Simulator::new(kind, SimulatorConfig::default()));
                sims.insert(kind, sim.clone());
                sim
            };
            workers.push(Process::Worker(target).spawn(&env.cfg, metrics.clone(), health.clone()));
        }
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(wait_for_groups(&env.cfg, &metrics, WAIT).await);
        let events = env.leavers(5);
        env.publish(&events, Mode::Structured).await;
        let ids = case_ids(&events);

        // Down: every case escalates with vault failed (retryable) and a re-drive planned.
        let escalated = |l: &revoke::cases::CaseLog| {
            ids.iter().all(|id| {
                l.latest.get(id).is_some_and(|c| {
                    c.state == CaseState::Escalated
                        && c.targets[&TargetKind::Vault].state == TargetState::Failed
                })
            })
        };
        let log = env.wait_cases(WAIT, escalated).await;
        assert!(escalated(&log), "{}", describe(&log, &ids));

        // Back up: the re-drives close every case.
        vault
            .gate
            .down
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let log = wait_all_in(&env, WAIT, &ids, CaseState::Closed).await;
        assert!(
            all_in_state(&log, &ids, CaseState::Closed),
            "{}\n{}",
            describe(&log, &ids),
            ids.iter()
                .filter_map(|id| log.latest.get(id))
                .filter(|c| c.state != CaseState::Closed)
                .map(revoke::cases::render)
                .next()
                .unwrap_or_default()
        );
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        for (id, ev) in ids.iter().zip(&events) {
            let case = &log.latest[id];
            let v = &case.targets[&TargetKind::Vault];
            assert_eq!(v.state, TargetState::Done);
            assert!(v.redrives >= 1, "{}", revoke::cases::render(case));
            assert!(
                v.superseded.iter().any(|s| s.state == TargetState::Failed
                    && s.error.as_deref().unwrap_or("").contains("outage")),
                "the failure stays in the record"
            );
            assert_eq!(case.escalations.len(), 1);
            assert_eq!(case.escalations[0].reason, EscalationReason::TargetFailed);
            // The failed reports were marked retryable; the closing one answers a re-drive.
            let mine: Vec<&Confirmation> = confirmations
                .iter()
                .filter(|c| c.case_id == *id && c.target.kind == TargetKind::Vault)
                .collect();
            assert!(mine
                .iter()
                .filter(|c| c.outcome == Outcome::Failed)
                .all(|c| c.retryable));
            assert!(mine
                .iter()
                .any(|c| c.outcome == Outcome::Revoked && c.redrive >= 1));
            // Only vault ran again: every other target acted once per object.
            for sim in sims.values() {
                assert!(
                    sim.actions_for(&ev.subject).iter().all(|(_, n)| *n == 1),
                    "{:?}",
                    sim.actions_for(&ev.subject)
                );
            }
        }
        for w in workers {
            w.stop().await.unwrap();
        }
        verifier.stop().await.unwrap();
    });
}

#[test]
fn malformed_input_goes_to_the_dlq_and_the_consumers_keep_going() {
    let mut env = TestEnv::new("dlq");
    // The guard off: every worker group reads the terminations too, so all six consumers meet
    // the malformed input (with it on, only the verifier reads them: the same parser).
    env.cfg.verifier.guard.enabled = false;
    env.cfg.consumer.max_event_bytes = 4096;
    env.block_on(async {
        let (fleet, metrics, _) = simulated_fleet(&env.cfg, WAIT).await;
        let events = env.leavers(3);
        let good = |i: usize| events[i].to_structured_json().to_string();

        let mut wrong_type = events[1].to_structured_json();
        wrong_type["type"] = "identity.promotion.v1".into();
        let mut oversize = events[1].to_structured_json();
        oversize["data"]["reason"] = "x".repeat(5000).into();
        let (mut bin_headers, bin_body) = events[2].to_binary();
        bin_headers.retain(|(k, _)| k != "ce_id");
        let bin_headers: Vec<(&str, &str)> = bin_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();

        let bad: Vec<(&str, Option<String>, Vec<u8>, Vec<(&str, &str)>)> = vec![
            (
                "malformed_json",
                Some("E000000".into()),
                b"{\"specversion\": \"1.0\", oops".to_vec(),
                vec![],
            ),
            (
                "unknown_type",
                Some(events[1].subject.clone()),
                wrong_type.to_string().into_bytes(),
                vec![],
            ),
            (
                "key_mismatch",
                Some("E999999".into()),
                good(1).into_bytes(),
                vec![],
            ),
            (
                "missing_field",
                Some(events[2].subject.clone()),
                bin_body.clone(),
                bin_headers.clone(),
            ),
            (
                "oversize",
                Some(events[1].subject.clone()),
                oversize.to_string().into_bytes(),
                vec![],
            ),
        ];
        env.publish(&events[..1], Mode::Structured).await;
        for (_, key, bytes, headers) in &bad {
            env.publish_raw(key.as_deref(), bytes, headers).await;
        }
        env.publish(&events[1..], Mode::Structured).await;

        let ids = case_ids(&events);
        let log = wait_all_in(&env, WAIT, &ids, CaseState::Closed).await;
        assert!(
            all_in_state(&log, &ids, CaseState::Closed),
            "valid events after bad ones were not handled"
        );

        // Every consumer of hr.terminations refused each bad record once, keeping its bytes.
        let mut letters: Vec<DeadLetter> = Vec::new();
        for _ in 0..100 {
            letters = env.read_json(&env.cfg.topics.dlq).await;
            if letters.len() >= bad.len() * 6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut by_consumer: BTreeMap<String, Vec<&DeadLetter>> = BTreeMap::new();
        for l in &letters {
            by_consumer
                .entry(l.rejected_by.clone())
                .or_default()
                .push(l);
        }
        assert_eq!(
            by_consumer.len(),
            6,
            "consumers: {:?}",
            by_consumer.keys().collect::<Vec<_>>()
        );
        for (consumer, mine) in &by_consumer {
            assert_eq!(mine.len(), bad.len(), "{consumer}");
            for (reason, _, bytes, _) in &bad {
                let l = mine
                    .iter()
                    .find(|l| l.reason == *reason)
                    .unwrap_or_else(|| panic!("{consumer}: no {reason}"));
                assert_eq!(
                    &l.payload().unwrap(),
                    bytes,
                    "{consumer}/{reason}: original bytes kept"
                );
                assert_eq!(l.source_topic, env.cfg.topics.terminations);
                assert!(l.source_offset >= 0);
                assert!(!l.detail.is_empty());
            }
        }
        let dlq_metric = verifier_dead_letters(&metrics, &env.cfg, &["malformed_json", "oversize"]);
        assert_eq!(dlq_metric, 2);
        fleet.stop().await.expect("graceful stop");
    });
}

#[test]
fn a_restarted_verifier_rebuilds_its_state_and_closes_nothing_twice() {
    let env = TestEnv::new("restart");
    env.block_on(async {
        let (mut fleet, _, health) = simulated_fleet(&env.cfg, WAIT).await;

        // Phase 1: half the leavers, then the verifier dies abruptly.
        let events = env.leavers(40);
        let ids = case_ids(&events);
        env.publish(&events[..20], Mode::Structured).await;
        let log = wait_all_in(&env, WAIT, &ids[..20], CaseState::Closed).await;
        assert!(all_in_state(&log, &ids[..20], CaseState::Closed));
        fleet.verifier.take().unwrap().kill().await;

        // Phase 2: the rest arrive while it is down; a new verifier picks up.
        env.publish(&events[20..], Mode::Structured).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        fleet.verifier = Some(Process::Verifier.spawn(&env.cfg, Metrics::new(), health.clone()));
        let log = wait_all_in(&env, WAIT, &ids, CaseState::Closed).await;
        assert!(
            all_in_state(&log, &ids, CaseState::Closed),
            "{}",
            describe(&log, &ids)
        );
        fleet.verifier.take().unwrap().stop().await.unwrap();
        let records_before: usize = count_case_records(&env).await;

        // Phase 3: a verifier in a fresh group replays every input from the beginning; with its
        // state rebuilt from the changelog it must publish nothing at all.
        let mut replay_cfg = env.cfg.clone();
        replay_cfg.kafka.group_prefix = format!("{}replay.", env.cfg.kafka.group_prefix);
        let replay_metrics = Metrics::new();
        let replay = Process::Verifier.spawn(&replay_cfg, replay_metrics.clone(), health.clone());
        let group = revoke::verifier::group(&replay_cfg);
        let inputs = events.len() + events.len() * TargetKind::ALL.len();
        for _ in 0..300 {
            if replay_metrics
                .events_handled
                .with_label_values(&[&group])
                .get() as usize
                >= inputs
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            replay_metrics
                .events_handled
                .with_label_values(&[&group])
                .get() as usize,
            inputs,
            "replay did not finish"
        );
        replay.stop().await.unwrap();
        assert_eq!(
            count_case_records(&env).await,
            records_before,
            "replayed inputs changed cases"
        );
        let log = env.case_log().await;
        for id in &ids {
            assert_eq!(log.closed_versions[id], 1);
        }
        fleet.stop().await.expect("graceful stop");
    });
}

/// The cases not closed, with their target states, for failure messages.
fn describe(log: &revoke::cases::CaseLog, ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .filter_map(|id| match log.latest.get(id) {
            None => Some(format!("{id}: no case")),
            Some(c) if c.state != CaseState::Closed => Some(format!(
                "{} {}: {:?} {:?}",
                c.identity_id,
                c.state.as_str(),
                c.targets
                    .iter()
                    .map(|(k, s)| (k.as_str(), s.state))
                    .collect::<Vec<_>>(),
                c.event_id
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn count_case_records(env: &TestEnv) -> usize {
    let v: Vec<serde_json::Value> = env.read_json(&env.cfg.topics.cases).await;
    v.len()
}

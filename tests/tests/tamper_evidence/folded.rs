//! Case versions folded (`verifier.fold_ms`): the reports a case gets within the window are
//! published as one version, and the evidence says no less for it — every version signed,
//! chained, its revisions consecutive, `revoke report --verify` exit 0. (A verifier killed while
//! versions are held: `tests/held_versions.rs`.)

use super::*;
use revoke::adapters::sim::Simulator;
use revoke::fleet::{Component, Process};
use revoke_shared::contract::{TargetKind, TargetState, CONFIRMATION_SCHEMA};
use revoke_shared::metrics::{Health, Metrics};
use std::sync::Arc;

const LEAVERS: usize = 12;

fn worker(env: &TestEnv, kind: TargetKind, metrics: &Metrics, health: &Health) -> Component {
    let sim = Arc::new(Simulator::new(kind, env.cfg.simulator.clone()));
    Process::Worker(sim).spawn(&env.cfg, metrics.clone(), health.clone())
}

/// How many workers' reports for `subjects` are on the confirmations topic.
async fn reports_on_topic(env: &TestEnv, subjects: &[String]) -> usize {
    env.read_raw(&env.cfg.topics.confirmations)
        .await
        .iter()
        .filter(|r| {
            r.key
                .as_deref()
                .is_some_and(|k| subjects.iter().any(|s| s.as_bytes() == k))
        })
        .filter(|r| json(r)["schema"] == CONFIRMATION_SCHEMA)
        .count()
}

#[test]
fn folded_versions_are_signed_chained_and_consecutive() {
    let dir = TempDir::new("folded");
    let mut env = evidence_env("tamper-folded", &dir.0, SEED_A);
    // Long enough that all 48 reports arrive within one window even on a loaded CI machine
    // (5 s was not: the embedded pass, many tests at once, once took longer). Beyond what a
    // configuration may set (5 s, checked at load): the length changes nothing checked here.
    env.cfg.verifier.fold_ms = 20_000;
    env.block_on(async {
        let (metrics, health) = (Metrics::new(), Health::new());
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        let events = env.leavers(LEAVERS);
        let ids = case_ids(&events);
        let subjects: Vec<String> = events.iter().map(|e| e.subject.clone()).collect();
        env.publish(&events, revoke::hr::Mode::Structured).await;
        // Every case released; its termination's version (held, then folded into the release)
        // is on the topic, and the window that held it has passed.
        env.wait_cases(WAIT, |l| all_in_state(l, &ids, CaseState::Open))
            .await;
        tokio::time::sleep(Duration::from_millis(20_500)).await;

        // Four of the five required targets report: their versions are held.
        let kinds = [
            TargetKind::Directory,
            TargetKind::Saas,
            TargetKind::Cloud,
            TargetKind::Vault,
        ];
        let workers: Vec<Component> = kinds
            .iter()
            .map(|k| worker(&env, *k, &metrics, &health))
            .collect();
        let deadline = std::time::Instant::now() + WAIT;
        while reports_on_topic(&env, &subjects).await < 4 * LEAVERS {
            assert!(
                std::time::Instant::now() < deadline,
                "the four workers never reported"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let on_topic = env.case_log().await;
        // (The topic is this test's own: every case on it is one of `ids`.)
        let done_on_topic = revoke_tests::targets_done(&on_topic);
        assert_eq!(
            done_on_topic, 0,
            "the reports' versions are held, not published (if this fails the machine was too \
             slow for the 20 s window: nothing was held)"
        );
        // The fifth target reports: the case closes, its held version folded into the close.
        let fifth = worker(&env, TargetKind::Cicd, &metrics, &health);
        let closed = env
            .wait_cases(WAIT, |l| all_in_state(l, &ids, CaseState::Closed))
            .await;
        assert!(all_in_state(&closed, &ids, CaseState::Closed));
        for id in &ids {
            let case = &closed.latest[id];
            for kind in TargetKind::ALL {
                let t = case
                    .targets
                    .get(&kind)
                    .unwrap_or_else(|| panic!("{id}: {kind:?} missing"));
                assert_eq!(t.state, TargetState::Done, "{id}: {kind:?}");
                assert!(t.confirmed_at.is_some(), "{id}: {kind:?} not confirmed");
            }
        }
        verifier.stop().await.expect("verifier stops");
        fifth.stop().await.expect("worker stops");
        for w in workers {
            w.stop().await.expect("worker stops");
        }

        // Folded or not, every case's versions are signed, chained and consecutive.
        let mut versions = 0;
        for id in &ids {
            let vs = raw_versions(&env, &env.cfg.topics.cases, &id.to_string()).await;
            versions += vs.len();
            assert_chained_and_signed(&vs, SEED_A);
        }
        // Unfolded, each case has at least seven (termination, release, five reports).
        println!("{versions} case versions for {LEAVERS} leavers");
        assert!(
            versions < 7 * LEAVERS,
            "{versions} versions for {LEAVERS} leavers: nothing was folded"
        );
        let cfg = env.cfg.clone();
        let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["report", "--verify"]))
            .await
            .unwrap();
        says(&out, 0, &[]);
    });
}

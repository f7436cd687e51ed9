//! A verifier killed (SIGKILL, real broker, `revoke` processes) while case versions are held
//! to fold (`verifier.fold_ms`) loses none of the reports they hold: the reports' offsets are
//! not committed until a version holding them is acknowledged, so the next verifier reads them
//! again and every case closes with all five targets done. Checked at the broker: the killed
//! verifier's group committed nothing past the held reports.

use revoke_shared::contract::{CaseState, TargetKind, TargetState, CONFIRMATION_SCHEMA};
use revoke_shared::kafka::read_to_end;
use revoke_tests::procs::ProcFleet;
use revoke_tests::TestEnv;
use std::time::{Duration, Instant};

const LEAVERS: usize = 12;
const WAIT: Duration = Duration::from_secs(120);

/// The workers' reports on the confirmations topic.
fn reports(fleet: &ProcFleet) -> usize {
    read_to_end(&fleet.cfg, &fleet.cfg.topics.confirmations, WAIT)
        .expect("read confirmations")
        .iter()
        .filter_map(|r| r.payload.as_deref())
        .filter_map(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
        .filter(|v| v["schema"] == CONFIRMATION_SCHEMA)
        .count()
}

#[test]
#[ignore = "needs a real Kafka broker: run the README's test command (sets REVOKE_TEST_KAFKA)"]
fn a_verifier_killed_while_versions_are_held_loses_no_report() {
    let env = TestEnv::new("held-versions");
    let mut fleet = ProcFleet::new(&env, 4);
    // Long enough that the reports are still held when the verifier is killed.
    fleet
        .env
        .push(("REVOKE_VERIFIER__FOLD_MS".into(), "5000".into()));
    let verifier = fleet.spawn("verifier", &["verifier"]);
    // Four of the five required targets' workers, ready (their consumers assigned) before the
    // leavers arrive: the terminations' versions are held, the releases sent at once, and the
    // reports, made within moments, held in the same window. (Started after the release, the
    // four processes' start-up had to fit into one 5 s window — the most fold_ms may be — and
    // a loaded machine may not manage it.)
    let four: Vec<_> = ["directory", "saas", "cloud", "vault"]
        .iter()
        .map(|k| fleet.spawn_worker(k))
        .collect();
    let deadline = Instant::now() + WAIT;
    while !four
        .iter()
        .chain([&verifier])
        .all(|p| p.status("/readyz") == Some(200))
    {
        assert!(
            Instant::now() < deadline,
            "the processes never became ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    fleet.publish_generated(LEAVERS);
    let deadline = Instant::now() + WAIT;
    while reports(&fleet) < 4 * LEAVERS {
        assert!(Instant::now() < deadline, "the four workers never reported");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = fleet.case_log();
    let done_on_topic = revoke_tests::targets_done(&before);
    assert_eq!(
        done_on_topic, 0,
        "the reports' versions are held, not published, when the verifier is killed (if this \
         fails the machine was too slow for the 5 s window: nothing was held)"
    );
    verifier.kill9();
    // Past auto-commit's interval: whatever the killed verifier had stored would be committed.
    std::thread::sleep(Duration::from_millis(1_500));

    // At the broker: the group committed nothing past the held reports.
    let group = revoke::verifier::group(&fleet.cfg);
    let progress = revoke_tests::offsets::group_progress(
        &fleet.cfg,
        &group,
        std::slice::from_ref(&fleet.cfg.topics.confirmations),
    );
    let unread: i64 = progress
        .iter()
        .map(|p| match p.committed {
            rdkafka::Offset::Offset(c) => p.end - c,
            _ => p.end,
        })
        .sum();
    assert!(
        unread >= (4 * LEAVERS) as i64,
        "the held reports' offsets were committed: {} of {} reports left to read again",
        unread,
        4 * LEAVERS
    );

    // A new verifier and the fifth worker: the held reports are read again, every case closes.
    let verifier = fleet.spawn("verifier", &["verifier"]);
    let fifth = fleet.spawn_worker("cicd");
    let closed = fleet.wait_cases(WAIT, |l| l.count(CaseState::Closed) >= LEAVERS);
    assert_eq!(closed.count(CaseState::Closed), LEAVERS);
    for case in closed.latest.values() {
        for kind in TargetKind::ALL {
            let t = case.targets.get(&kind).expect("every target");
            assert_eq!(t.state, TargetState::Done, "{}: {kind:?}", case.case_id);
            assert!(t.confirmed_at.is_some(), "{}: {kind:?}", case.case_id);
        }
    }
    for p in four.into_iter().chain([fifth, verifier]) {
        p.sigterm_and_wait();
    }
}

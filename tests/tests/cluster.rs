//! Losing a broker of a 3-node KRaft cluster (replication factor 3, `min.insync.replicas=2`)
//! mid-run: the fleet keeps going on the remaining two, nothing is lost, nothing closes twice.
//!
//! Needs the cluster the test command starts with `KAFKA_NODES=3 tests/services/kafka.sh start`
//! (`REVOKE_TEST_KAFKA` lists its three brokers), so it is `#[ignore]`d in plain `cargo test`.

use revoke_shared::contract::CaseState;
use revoke_tests::procs::ProcFleet;
use revoke_tests::TestEnv;
use std::process::Command;
use std::time::{Duration, Instant};

fn cluster(args: &[&str]) {
    let ctl = std::env::var("REVOKE_TEST_KAFKA_CTL")
        .expect("REVOKE_TEST_KAFKA_CTL must name tests/services/kafka.sh");
    let t0 = Instant::now();
    let out = Command::new(&ctl)
        .args(args)
        .output()
        .expect("run kafka.sh");
    assert!(
        out.status.success(),
        "kafka.sh {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("cluster {args:?}: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
#[ignore = "needs the 3-node Kafka cluster of the README's test command"]
fn losing_one_of_three_brokers_mid_run_loses_nothing() {
    let brokers = std::env::var("REVOKE_TEST_KAFKA").unwrap_or_default();
    assert_eq!(
        brokers.split(',').count(),
        3,
        "REVOKE_TEST_KAFKA must list the cluster's three brokers"
    );
    let harness = TestEnv::new("cluster");
    let fleet = ProcFleet::with_replication(&harness, 6, 3);
    let (mut procs, verifier) = fleet.spawn_all();
    procs.push(verifier);
    fleet.publish_generated(1000);
    let log = fleet.wait_cases(Duration::from_secs(180), |l| {
        l.count(CaseState::Closed) >= 100
    });
    assert!(log.count(CaseState::Closed) >= 100);

    let killed_at = Instant::now();
    cluster(&["kill-node", "2"]);
    let log = fleet.wait_cases(Duration::from_secs(300), |l| {
        l.count(CaseState::Closed) == 1000
    });
    println!(
        "all 1000 cases closed {:.1} s after node 2 was killed",
        killed_at.elapsed().as_secs_f64()
    );
    assert_eq!(log.count(CaseState::Closed), 1000);
    assert!(
        log.closed_versions.values().all(|v| *v == 1),
        "a case was closed twice"
    );
    for p in procs.iter_mut() {
        assert!(p.alive(), "{} died when a broker was lost", p.name);
    }
    cluster(&["resume-node", "2"]);
    for p in procs {
        p.sigterm_and_wait();
    }
}

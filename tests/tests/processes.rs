//! The `revoke` binary as separate OS processes against a real Kafka broker: topics created
//! through the admin API, five workers and a verifier, 1,000 leavers published by
//! `revoke publish`, evidence printed by `revoke case`, graceful SIGTERM, and exit codes; a
//! group with more members than partitions keeping its standby ready.
//!
//! Needs a real broker (the embedded one has no CreateTopics API), so it is `#[ignore]`d in plain
//! `cargo test`; the README's test command runs it with `REVOKE_TEST_KAFKA` set.

use revoke_shared::contract::{CaseState, TargetState};
use revoke_tests::procs::{metric, ProcFleet};
use revoke_tests::TestEnv;
use std::process::Stdio;
use std::time::Duration;

#[test]
#[ignore = "needs a real Kafka broker: run the README's test command (sets REVOKE_TEST_KAFKA)"]
fn fleet_of_processes_on_a_real_broker() {
    let harness = TestEnv::new("procs");
    let fleet = ProcFleet::new(&harness, 6);
    // Topics exist now: a second `topics create` only checks them.
    let again = fleet.run(&["topics", "create"]);
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout)
            .matches(": exists")
            .count(),
        revoke::topics::topic_specs(&harness.cfg).len(),
        "every topic revoke uses, now 9"
    );
    assert_eq!(revoke::topics::topic_specs(&harness.cfg).len(), 9);

    let (mut workers, mut verifier) = fleet.spawn_all();
    fleet.publish_generated(1000);
    let log = fleet.wait_cases(Duration::from_secs(180), |l| {
        l.count(CaseState::Closed) == 1000
    });
    for p in workers.iter_mut().chain([&mut verifier]) {
        assert!(p.alive(), "{} exited during the run", p.name);
    }
    assert_eq!(log.count(CaseState::Closed), 1000, "closed cases");
    assert_eq!(log.latest.len(), 1000);
    assert!(
        log.closed_versions.values().all(|n| *n == 1),
        "a case closed twice"
    );
    // Every case carries its evidence: each target verified, each object read back gone.
    for case in log.latest.values() {
        assert_eq!(case.targets.len(), 5, "{}", case.identity_id);
        for (kind, st) in &case.targets {
            assert_eq!(st.state, TargetState::Done, "{} {kind}", case.identity_id);
            assert!(
                st.worker.is_some() && st.time_to_revoke_ms.is_some(),
                "{} {kind}",
                case.identity_id
            );
            assert!(
                st.objects
                    .iter()
                    .all(|o| o.verified && o.removed_at.is_some()),
                "{} {kind}",
                case.identity_id
            );
        }
    }

    let out = fleet.run(&["case", "E000007"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "state closed",
        "requested by hr:people-ops",
        "target vault",
        "verified true",
        "verdict: closed at",
    ] {
        assert!(
            text.contains(needle),
            "`revoke case` output lacks {needle:?}:\n{text}"
        );
    }
    let json = fleet.run(&["case", "E000007", "--json"]);
    let case: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("case --json is JSON");
    assert_eq!(case["state"], "closed");

    // Every process serves /metrics, /healthz, /livez and /readyz.
    for p in workers.iter().chain([&verifier]) {
        assert_eq!(p.health(), Some(200), "{} /healthz", p.name);
        assert_eq!(p.status("/livez"), Some(200), "{} /livez", p.name);
        assert_eq!(
            p.status("/readyz"),
            Some(200),
            "{} /readyz: {}",
            p.name,
            p.status_text("/readyz")
        );
        let body = p.metrics();
        let handled = body
            .lines()
            .find(|l| l.starts_with("revoke_events_handled_total"))
            .unwrap_or("");
        assert!(
            handled.ends_with(" 1000") || p.name == "verifier",
            "{}: {handled}",
            p.name
        );
    }
    assert_eq!(
        metric(
            &verifier.metrics(),
            "revoke_case_updates_total{state=\"closed\"}"
        ),
        Some(1000.0)
    );

    for p in workers {
        p.sigterm_and_wait();
    }
    verifier.sigterm_and_wait();

    // Exit codes: 1 for a failed job, 2 for bad usage or config.
    assert_eq!(
        fleet.run(&["case", "no-such-identity"]).status.code(),
        Some(1)
    );
    assert_eq!(
        fleet.run(&["worker", "--target", "printer"]).status.code(),
        Some(2)
    );
    assert_eq!(
        fleet
            .run(&["--config", "/nonexistent/revoke.toml", "verifier"])
            .status
            .code(),
        Some(2)
    );
    let mut bad = fleet
        .command(&["publish"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        bad.stdin
            .as_mut()
            .unwrap()
            .write_all(b"{\"subject\":\"E1\",\"specversion\":\"1.0\"}\n")
            .unwrap();
    }
    let out = bad.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

/// The blast-radius guard as an operator meets it: `revoke verifier` and five `revoke worker`
/// processes with a limit of 5; 8 leavers from `revoke publish` → 5 closed, 3 held with nothing
/// done; `revoke guard` names the batch; `revoke approve` refuses an empty `--by` (exit 2) and an
/// unknown batch (exit 1), releases the real one, and a second decision is refused (exit 1); the
/// released cases close with the approval in `revoke case`.
#[test]
#[ignore = "needs a real Kafka broker: run the README's test command (sets REVOKE_TEST_KAFKA)"]
fn the_guard_holds_a_burst_until_revoke_approve() {
    let mut harness = TestEnv::new("procs-guard");
    harness.cfg.verifier.guard.max_terminations = 5;
    let fleet = ProcFleet::new(&harness, 3);
    let (workers, verifier) = fleet.spawn_all();
    fleet.publish_generated(8);
    let log = fleet.wait_cases(Duration::from_secs(120), |l| {
        l.count(CaseState::Closed) == 5 && l.count(CaseState::Held) == 3
    });
    assert_eq!(
        (log.count(CaseState::Closed), log.count(CaseState::Held)),
        (5, 3),
        "closed and held"
    );
    let held: Vec<String> = log
        .latest
        .values()
        .filter(|c| c.state == CaseState::Held)
        .map(|c| c.identity_id.clone())
        .collect();
    for case in log.latest.values().filter(|c| c.state == CaseState::Held) {
        assert!(
            case.targets
                .values()
                .all(|t| t.state == TargetState::Pending),
            "a held case was acted on: {}",
            case.identity_id
        );
    }

    let listing = fleet.run(&["guard"]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let text = String::from_utf8_lossy(&listing.stdout).to_string();
    assert!(
        text.contains("3 cases held") && text.contains("waiting for a decision"),
        "{text}"
    );
    let batch = text.split(':').next().unwrap().trim().to_string();
    assert!(batch.starts_with("hold-"), "{text}");
    for who in &held {
        assert!(text.contains(who.as_str()), "{who} not listed:\n{text}");
    }

    assert_eq!(
        fleet.run(&["approve", &batch, "--by", " "]).status.code(),
        Some(2)
    );
    assert_eq!(
        fleet
            .run(&[
                "approve",
                "hold-999999",
                "--digest",
                "0000000000000000",
                "--by",
                "alice"
            ])
            .status
            .code(),
        Some(1)
    );
    // The digest `revoke guard` printed for the batch binds the approval to what was listed.
    let digest = text
        .split("digest ")
        .nth(1)
        .and_then(|t| t.get(..16))
        .expect("revoke guard prints the batch's digest")
        .to_string();
    let approved = fleet.run(&[
        "approve",
        &batch,
        "--digest",
        &digest,
        "--by",
        "alice",
        "--note",
        "reorg confirmed",
    ]);
    let said = String::from_utf8_lossy(&approved.stdout).to_string();
    assert!(
        approved.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert!(
        said.contains(&format!("approved batch {batch}: 3 cases")),
        "{said}"
    );
    let again = fleet.run(&["reject", &batch, "--by", "bob"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already decided"));

    let log = fleet.wait_cases(Duration::from_secs(120), |l| {
        l.count(CaseState::Closed) == 8
    });
    assert_eq!(log.count(CaseState::Closed), 8);
    let shown = fleet.run(&["case", &held[0]]);
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(
        shown.contains("held")
            && shown.contains("approved by alice")
            && shown.contains("reorg confirmed"),
        "{shown}"
    );
    for p in workers {
        p.sigterm_and_wait();
    }
    verifier.sigterm_and_wait();
}

/// A group with more members than partitions: two vault workers on one-partition topics. Both
/// are ready (`/readyz` 200, `revoke_ready 1`): the one assigned nothing is a standby, and says
/// so. Killed, the owner's partitions move to the standby, which stays ready. A fresh worker
/// is not ready before its group assigned it (seen when the poll is quick enough; printed, as
/// the broker may assign faster than the first poll — `faults.rs` proves it with the broker
/// away).
#[test]
#[ignore = "needs a real Kafka broker: run the README's test command (sets REVOKE_TEST_KAFKA)"]
fn a_group_with_more_members_than_partitions_keeps_its_standby_ready() {
    let harness = TestEnv::new("procs-standby");
    let fleet = ProcFleet::new(&harness, 1);
    let series = format!(
        "revoke_assigned_partitions{{consumer=\"{}revoke-vault\"}}",
        fleet.cfg.kafka.group_prefix
    );
    let assigned = |p: &revoke_tests::procs::Proc| metric(&p.metrics(), &series).unwrap_or(0.0);
    let first = fleet.spawn("vault-a", &["worker", "--target", "vault"]);
    let second = fleet.spawn("vault-b", &["worker", "--target", "vault"]);
    let seen_joining = second
        .status_text("/readyz")
        .contains("not yet assigned partitions by its group");
    println!("vault-b's first /readyz said \"not yet assigned\": {seen_joining}");
    let both_ready = || {
        [&first, &second]
            .iter()
            .all(|p| p.status("/readyz") == Some(200))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(both_ready() && assigned(&first) + assigned(&second) > 0.0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    for p in [&first, &second] {
        assert_eq!(
            p.status("/readyz"),
            Some(200),
            "{}: {}",
            p.name,
            p.status_text("/readyz")
        );
        assert_eq!(
            metric(&p.metrics(), "revoke_ready "),
            Some(1.0),
            "{}",
            p.name
        );
    }
    let (owner, standby) = if assigned(&first) > 0.0 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(
        assigned(&standby),
        0.0,
        "one-partition topics: one member owns them all"
    );
    let text = standby.status_text("/readyz");
    assert!(text.contains("standby"), "{}: {text}", standby.name);
    println!("{}: {text}", standby.name);

    let killed_at = std::time::Instant::now();
    let owner_name = owner.name.clone();
    owner.kill9();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while assigned(&standby) == 0.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        assigned(&standby) > 0.0,
        "the standby never took the partitions over (an empty assignment not given back holds the group's rebalance)"
    );
    println!(
        "{} took the partitions over {:.1} s after kill -9 of {}",
        standby.name,
        killed_at.elapsed().as_secs_f64(),
        owner_name
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while standby.status("/readyz") != Some(200) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        standby.status("/readyz"),
        Some(200),
        "{}",
        standby.status_text("/readyz")
    );
    standby.sigterm_and_wait();
}

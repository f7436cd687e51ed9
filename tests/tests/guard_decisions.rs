//! Guard decisions bind to exactly what the person reviewed, with the `revoke` binary as OS
//! processes on a real broker: `revoke guard` prints each batch's digest; `revoke approve` with
//! a stale or forged digest exits 1 and releases nothing; `--only` releases exactly the named
//! identity's case and leaves the rest held under a new digest.
//!
//! Needs a real broker (topics are created through the admin API), so it is `#[ignore]`d in
//! plain `cargo test`; the README's test command runs it with `REVOKE_TEST_KAFKA` set.

use revoke_shared::contract::{CaseState, TargetState};
use revoke_tests::procs::ProcFleet;
use revoke_tests::TestEnv;
use std::time::Duration;

/// The digest `revoke guard` printed for its first batch.
fn digest_of(listing: &str) -> String {
    listing
        .split("digest ")
        .nth(1)
        .and_then(|t| t.get(..16))
        .unwrap_or_else(|| panic!("no digest in:\n{listing}"))
        .to_string()
}

#[test]
#[ignore = "needs a real Kafka broker: run the README's test command (sets REVOKE_TEST_KAFKA)"]
fn approve_binds_to_the_digest_and_only_releases_the_named_identity() {
    let mut harness = TestEnv::new("procs-digest");
    harness.cfg.verifier.guard.max_terminations = 2;
    let fleet = ProcFleet::new(&harness, 3);
    let (workers, verifier) = fleet.spawn_all();
    fleet.publish_generated(5);
    let log = fleet.wait_cases(Duration::from_secs(120), |l| {
        l.count(CaseState::Closed) == 2 && l.count(CaseState::Held) == 3
    });
    assert_eq!(
        (log.count(CaseState::Closed), log.count(CaseState::Held)),
        (2, 3)
    );
    let mut held: Vec<String> = log
        .latest
        .values()
        .filter(|c| c.state == CaseState::Held)
        .map(|c| c.identity_id.clone())
        .collect();
    held.sort();

    let listing = fleet.run(&["guard"]);
    let text = String::from_utf8_lossy(&listing.stdout).to_string();
    assert!(listing.status.success(), "{text}");
    let batch = text.split(':').next().unwrap().trim().to_string();
    let digest = digest_of(&text);
    let json = fleet.run(&["guard", "--json"]);
    let v: serde_json::Value =
        serde_json::from_slice(json.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(v["digest"].as_str(), Some(digest.as_str()));

    // Without --digest: a usage error. A wrong (or stale) digest: exit 1, naming the current one.
    let none = fleet.run(&["approve", &batch, "--by", "alice"]);
    assert_eq!(none.status.code(), Some(2));
    let forged = "0000000000000000";
    let wrong = fleet.run(&["approve", &batch, "--digest", forged, "--by", "alice"]);
    let err = String::from_utf8_lossy(&wrong.stderr).to_string();
    assert_eq!(wrong.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&digest) && err.contains("revoke guard"),
        "{err}"
    );
    // An identity not waiting in the batch is refused, not ignored.
    let stranger = fleet.run(&[
        "approve", &batch, "--digest", &digest, "--by", "alice", "--only", "E-nobody",
    ]);
    assert_eq!(stranger.status.code(), Some(1));

    // Nothing was released: at the broker, the held cases are still held and untouched.
    std::thread::sleep(Duration::from_secs(3));
    let log = fleet.wait_cases(Duration::from_secs(5), |_| false);
    assert_eq!(
        log.count(CaseState::Held),
        3,
        "a refused approval released something"
    );
    for c in log.latest.values().filter(|c| c.state == CaseState::Held) {
        assert!(c.targets.values().all(|t| t.state == TargetState::Pending));
    }

    // --only one identity: exactly that case is released and closes; the others stay held.
    let chosen = held[0].clone();
    let only = fleet.run(&[
        "approve", &batch, "--digest", &digest, "--by", "alice", "--only", &chosen,
    ]);
    let said = String::from_utf8_lossy(&only.stdout).to_string();
    assert!(
        only.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&only.stderr)
    );
    assert!(
        said.contains("1 case released") && said.contains("2 still held"),
        "{said}"
    );
    let log = fleet.wait_cases(Duration::from_secs(120), |l| {
        l.count(CaseState::Closed) == 3
    });
    assert_eq!(
        (log.count(CaseState::Closed), log.count(CaseState::Held)),
        (3, 2)
    );
    for c in log.latest.values() {
        if held.contains(&c.identity_id) {
            let expect = if c.identity_id == chosen {
                CaseState::Closed
            } else {
                CaseState::Held
            };
            assert_eq!(c.state, expect, "{}", c.identity_id);
        }
    }
    // The old digest is stale now: approving "the rest" with it is refused.
    let stale = fleet.run(&["approve", &batch, "--digest", &digest, "--by", "bob"]);
    assert_eq!(stale.status.code(), Some(1));
    let text = String::from_utf8_lossy(&fleet.run(&["guard"]).stdout).to_string();
    assert!(text.contains("2 waiting for a decision"), "{text}");
    assert_ne!(digest_of(&text), digest);

    for p in workers {
        p.sigterm_and_wait();
    }
    verifier.sigterm_and_wait();
}

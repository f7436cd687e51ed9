//! Tamper-evident evidence on the broker (real with `REVOKE_TEST_KAFKA`, the README's test
//! command; embedded otherwise): a simulated fleet with evidence keys closes cases; every
//! version on the cases topic is chained and signed by the verifier, every confirmation signed
//! by a worker, and the `revoke` binary's `case --verify`, `report --verify` and
//! `evidence export|verify` say so (exit 0). Then an attacker with write or admin rights on the
//! topics re-publishes a version with one byte altered, rewrites a case's history into a fresh
//! topic without one version or with two swapped, and edits an exported packet: each record is
//! named and the exit code is 1 (`attacks`). Keys rotate: records signed with the retired key
//! and new ones with the new key all verify, a key not listed fails, and the verifier refuses
//! worker confirmations signed with a retired or unknown key, or altered (`rotation`); the chain
//! holds across a verifier restart and a closed case re-published (`restart`), and when case
//! versions are folded, also across a verifier killed while versions are held (`folded`).

use revoke::fleet::Fleet;
use revoke_shared::config::{Config, EvidenceKey, EvidenceRole};
use revoke_shared::contract::{CaseState, HrEvent};
use revoke_shared::kafka::ReadRecord;
use revoke_shared::signing::{verify_record, RecordSigner};
use revoke_tests::fleet_kit::simulated_fleet;
use revoke_tests::{all_in_state, case_ids, TestEnv};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

mod attacks;
mod folded;
mod restart;
mod rotation;

const WAIT: Duration = Duration::from_secs(120);
const SEED_A: [u8; 32] = [0xa1; 32];
const SEED_B: [u8; 32] = [0xb2; 32];

/// A folder removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "revoke-tamper-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn public_key(seed: [u8; 32]) -> String {
    RecordSigner::from_seed("x", &seed).public_key_text()
}

/// `[[signing.evidence_keys]]` for one key under both roles (a test fleet is one process).
fn listed(seed: [u8; 32], retired: bool) -> Vec<EvidenceKey> {
    [EvidenceRole::Verifier, EvidenceRole::Worker]
        .into_iter()
        .map(|role| EvidenceKey {
            public_key: public_key(seed),
            role,
            retired,
        })
        .collect()
}

/// The keys as the `revoke` binary takes them from its environment (an inline TOML array).
fn keys_env(keys: &[EvidenceKey]) -> String {
    let items: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{{ public_key = \"{}\", role = \"{}\", retired = {} }}",
                k.public_key, k.role, k.retired
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Runs the `revoke` binary with `cfg`'s brokers, topics and evidence keys in its environment
/// (no config file), as an auditor at a terminal would.
fn revoke(cfg: &Config, args: &[&str]) -> Output {
    let t = &cfg.topics;
    std::process::Command::new(revoke_tests::procs::revoke_bin())
        .args(args)
        .env_remove("REVOKE_CONFIG")
        .env("KAFKA_BROKERS", &cfg.kafka.brokers)
        .env("REVOKE_TOPICS__CASES", &t.cases)
        .env("REVOKE_TOPICS__CONFIRMATIONS", &t.confirmations)
        .env("REVOKE_TOPICS__TERMINATIONS", &t.terminations)
        .env(
            "REVOKE_SIGNING__EVIDENCE_KEYS",
            keys_env(&cfg.signing.evidence_keys),
        )
        .env("REVOKE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run revoke")
}

use revoke_tests::procs::revoke_offline;

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts the exit code and that the output says each of `needles`.
fn says(o: &Output, code: i32, needles: &[&str]) {
    let t = text(o);
    println!("--- revoke said:\n{t}");
    assert_eq!(o.status.code(), Some(code), "{t}");
    for n in needles {
        assert!(t.contains(n), "lacks {n:?}:\n{t}");
    }
}

/// A test namespace with the evidence key `seed` (file under `dir`) listed for both roles, and
/// every case version published as it is made (`verifier.fold_ms = 0`): the attacks need a
/// history of several versions to alter, remove and swap. `folded` sets its own.
fn evidence_env(name: &str, dir: &Path, seed: [u8; 32]) -> TestEnv {
    let mut env = TestEnv::new(name);
    revoke_tests::evidence_kit::use_evidence_key(&mut env.cfg, dir, seed);
    env.cfg.verifier.fold_ms = 0;
    env
}

/// Publishes `n` leavers on `cfg`'s fleet and waits for their cases to close.
async fn close_leavers(env: &TestEnv, n: usize) -> Vec<HrEvent> {
    let events = env.leavers(n);
    env.publish(&events, revoke::hr::Mode::Structured).await;
    let ids = case_ids(&events);
    let log = env
        .wait_cases(WAIT, |l| all_in_state(l, &ids, CaseState::Closed))
        .await;
    assert!(
        all_in_state(&log, &ids, CaseState::Closed),
        "cases did not close: {:?}",
        ids.iter()
            .map(|id| log.latest.get(id).map(|c| c.state))
            .collect::<Vec<_>>()
    );
    events
}

async fn start_fleet(cfg: &Config) -> Fleet {
    simulated_fleet(cfg, WAIT).await.0
}

/// The raw versions of case `id` on `topic`, in offset order.
async fn raw_versions(env: &TestEnv, topic: &str, id: &str) -> Vec<ReadRecord> {
    let mut rs: Vec<ReadRecord> = env
        .read_raw(topic)
        .await
        .into_iter()
        .filter(|r| r.key.as_deref() == Some(id.as_bytes()))
        .collect();
    rs.sort_by_key(|r| (r.partition, r.offset));
    rs
}

fn json(r: &ReadRecord) -> Value {
    serde_json::from_slice(r.payload.as_deref().expect("a value")).expect("JSON")
}

/// Checks where the evidence lands, independently of `revoke case --verify`: every version of
/// the case on the topic is signed by the verifier with `seed`'s key, its revisions run 0.. by
/// one, and each names the digest of the one before.
fn assert_chained_and_signed(versions: &[ReadRecord], seed: [u8; 32]) {
    let key = RecordSigner::from_seed("verifier", &seed);
    let mut prev: Option<Value> = None;
    assert!(
        versions.len() >= 2,
        "a closed case has several versions (at least its release and its close)"
    );
    for (i, r) in versions.iter().enumerate() {
        let v = json(r);
        assert_eq!(v["revision"].as_u64(), Some(i as u64 + 1), "{v}");
        verify_record(&v, |who, id| {
            (who == "verifier" && id == key.key_id()).then(|| key.verifying_key())
        })
        .unwrap_or_else(|e| panic!("version {i}: {e}"));
        match &prev {
            None => assert!(v.get("prev_digest").is_none(), "{v}"),
            Some(p) => assert_eq!(
                v["prev_digest"].as_str(),
                Some(revoke_shared::signing::record_digest(p).as_str()),
                "version {i} chains to version {}",
                i - 1
            ),
        }
        prev = Some(v);
    }
}

//! People are who they say, on a broker (embedded by default, the real one with
//! `REVOKE_TEST_KAFKA`, as the README's test command runs it): with `[[people]]` and `[signing]
//! required`, a guard approval or a `case ack` counts only when its person signed it with their
//! current key and holds the role. Every forgery an attacker with write access to the topics can
//! make — unsigned, an unknown key, a person without the role, one person signing in another's
//! name, a retired key, a genuine record altered by a byte, a replay — changes nothing where it
//! lands (the case on the cases topic, the due topic, the targets) and is dead-lettered once with
//! its reason; the genuine decision then acts, and the case's evidence says `authenticated`, with
//! the signature that verifies it offline.

use revoke::cases::CaseLog;
use revoke_shared::config::Role;
use revoke_shared::contract::{case_id_for, CaseState, DeadLetter, HrEvent};
use revoke_shared::kafka::{read_to_end, Producer};
use revoke_shared::signing::RecordSigner;
use revoke_tests::signing_kit::{person, require_signing, TempDir};
use revoke_tests::TestEnv;
use std::path::PathBuf;
use std::time::Duration;

mod acks;
mod approvals;
mod at_the_directory;
#[path = "../peers/mod.rs"]
mod peers;

const WAIT: Duration = Duration::from_secs(90);
const HR_SOURCE: &str = "urn:hr:sap";
const HR_SEED: [u8; 32] = [42; 32];
const FLEET_SECRET: &str = "fleet-secret-shared-by-verifier-and-workers-01";

/// The people of these tests: their ids and key seeds.
const ALICE: [u8; 32] = [1; 32];
/// Alice's key before her rotation: listed in `previous_public_keys`.
const ALICE_OLD: [u8; 32] = [9; 32];
const BOB: [u8; 32] = [2; 32];
const CAROL: [u8; 32] = [3; 32];
/// Nobody's key.
const MALLORY: [u8; 32] = [7; 32];

/// A namespace with `[signing] required` (HR events signed by an Ed25519 key of their source,
/// the fleet's secret) and `[[people]]`: alice and bob approve (alice rotated her key once),
/// carol attests.
fn signed_env(name: &str) -> (TestEnv, TempDir) {
    let mut env = TestEnv::new(name);
    let dir = TempDir::new(name);
    let cfg = &mut env.cfg;
    require_signing(cfg, &dir, HR_SOURCE, &HR_SEED, FLEET_SECRET, [12; 32]);
    cfg.people = vec![
        person("alice", &ALICE, vec![Role::Approver], &[ALICE_OLD]),
        person("bob", &BOB, vec![Role::Approver], &[]),
        person("carol", &CAROL, vec![Role::Attester], &[]),
    ];
    cfg.validate().expect("a valid config");
    (env, dir)
}

/// `n` leavers from the signed HR source, with ids unique to this run.
fn leavers(env: &TestEnv, n: usize) -> Vec<HrEvent> {
    env.leavers(n)
        .into_iter()
        .map(|mut ev| {
            ev.source = HR_SOURCE.into();
            ev
        })
        .collect()
}

fn case_of(ev: &HrEvent) -> uuid::Uuid {
    case_id_for(&ev.source, &ev.id)
}

/// Publishes `events`, each signed by the HR source's key.
async fn publish(env: &TestEnv, events: &[HrEvent]) {
    revoke_tests::signing_kit::publish_ed25519(&env.cfg, events, &HR_SEED).await;
}

/// Sends `bytes` to `topic` (partition `partition`, or by key), as anyone with write access can.
async fn inject(env: &TestEnv, topic: &str, key: &str, bytes: &[u8], partition: Option<i32>) {
    let producer = Producer::with_timeout(&env.cfg, Duration::from_secs(60)).expect("producer");
    producer
        .send_bytes(topic, key, bytes, &[], partition)
        .await
        .expect("inject a record");
}

/// The dead letters refused from `source_topic`.
async fn letters_from(env: &TestEnv, source_topic: &str) -> Vec<DeadLetter> {
    let all: Vec<DeadLetter> = env.read_json(&env.cfg.topics.dlq).await;
    all.into_iter()
        .filter(|l| l.source_topic == source_topic)
        .collect()
}

/// Waits until `n` dead letters from `source_topic` are there, then a little longer (so a
/// duplicate would show), and returns them.
async fn wait_letters(env: &TestEnv, source_topic: &str, n: usize) -> Vec<DeadLetter> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if letters_from(env, source_topic).await.len() >= n || std::time::Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    letters_from(env, source_topic).await
}

/// The reasons of `letters`, sorted.
fn reasons(letters: &[DeadLetter]) -> Vec<String> {
    let mut r: Vec<String> = letters.iter().map(|l| l.reason.clone()).collect();
    r.sort();
    r
}

/// Sorted copy of `expected`.
fn sorted(expected: &[&str]) -> Vec<String> {
    let mut r: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    r.sort();
    r
}

/// Raw records of `topic` (payloads), read to its end.
async fn payloads(env: &TestEnv, topic: &str) -> Vec<Vec<u8>> {
    let cfg = env.cfg.clone();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || read_to_end(&cfg, &topic, Duration::from_secs(30)))
        .await
        .expect("join")
        .expect("read topic")
        .into_iter()
        .filter_map(|r| r.payload)
        .collect()
}

/// Whether anything on the due topic (what the workers act on) names `identity`.
async fn due_names(env: &TestEnv, identity: &str) -> bool {
    payloads(env, &env.cfg.topics.due)
        .await
        .iter()
        .any(|p| String::from_utf8_lossy(p).contains(identity))
}

fn print(line: &str) {
    println!("{line}");
}

fn state_of(log: &CaseLog, id: &uuid::Uuid) -> Option<CaseState> {
    log.latest.get(id).map(|c| c.state)
}

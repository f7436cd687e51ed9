//! Restores are grants (issue 11, "Rescinds and restores"), on the real broker against the real
//! peers (OpenLDAP, scim2-server, moto, OpenBao, the GitLab double): every check of what a person
//! holds is a plain protocol call to the peer, never our adapter.
//!
//! - a rescind replayed byte for byte after the person was terminated again gives nothing back;
//! - a rescind of a termination that a later termination (a correction) stands behind gives
//!   nothing back, and says so (`restore_withheld`, case and escalation);
//! - hand-made restore requests on `revoke.restores` give nothing back: with signing required
//!   they are dead-lettered (`restore_not_ours`, or `unsigned` without the fleet's envelope);
//!   with signing off each adapter re-checks ownership at the peer and answers `refused`;
//! - a genuine, fleet-signed restore request copied after the person was terminated again gives
//!   nothing back: `restore_replayed` (from the worker's memory, then from the fleet's claims
//!   log after a restart), `restore_stale` past the window.
//!
//! The blast-radius guard is on in all of them (TestEnv's default): restores pass it too.

#[path = "../peers/mod.rs"]
mod peers;

use base64::Engine;
use peers::{termination, Peers, Person};
use revoke::fleet::Component;
use revoke_shared::config::Config;
use revoke_shared::contract::{
    case_id_for, CaseState, Confirmation, DeadLetter, Escalation, EscalationReason, HrEvent,
    Identity, ObjectEvidence, RestoreOutcome, RestoreReport, RestoreRequest, TargetKind,
    RESTORE_REQUEST_SCHEMA,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::secret::Secret;
use revoke_tests::{kit, slapd, TestEnv};
use std::time::{Duration, Instant};

mod forged;
mod replays;

/// Bound of every wait for the fleet to act (cases closing, restores landing).
const WAIT: Duration = Duration::from_secs(60);
/// Bound of a wait for something the fix makes happen and the old code never did.
const SETTLE: Duration = Duration::from_secs(20);
const FLEET_SECRET: &str = "fleet-secret-of-the-restores-test-0001";
const HMAC_SECRET: &str = "hr-secret-of-the-restores-test-000001";

/// One test at a time in this binary: each starts its own GitLab double and hands its admin token
/// to the fleet through one process-wide env var (`peers::cicd::TOKEN_ENV`).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This test's turn (see `SERIAL`), and its namespace on the real broker these tests need.
fn real_broker(name: &str) -> (std::sync::MutexGuard<'static, ()>, TestEnv) {
    let serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let env = TestEnv::new(name);
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    (serial, env)
}

/// `p` as the adapters and events name them.
fn identity(p: &Person) -> Identity {
    kit::employee(&p.employee_id, Some(&p.username), Some(&p.email))
}

/// Publishes `ev` as structured JSON keyed by its subject; returns the exact bytes sent.
async fn publish_exact(env: &TestEnv, ev: &HrEvent) -> Vec<u8> {
    let bytes = serde_json::to_vec(&ev.to_structured_json()).expect("event JSON");
    env.publish_raw(Some(&ev.subject), &bytes, &[]).await;
    bytes
}

/// Publishes `t` (structured) and waits until its case closes; returns the case id.
async fn publish_until_closed(env: &TestEnv, t: &HrEvent, what: &str) -> uuid::Uuid {
    let case = case_id_for(&t.source, &t.id);
    env.publish(std::slice::from_ref(t), revoke::hr::Mode::Structured)
        .await;
    wait_state(env, case, CaseState::Closed, what).await;
    case
}

async fn wait_state(env: &TestEnv, case: uuid::Uuid, state: CaseState, what: &str) {
    let log = env
        .wait_cases(WAIT, |l| {
            l.latest.get(&case).is_some_and(|c| c.state == state)
        })
        .await;
    let got = log.latest.get(&case);
    assert_eq!(
        got.map(|c| c.state),
        Some(state),
        "{what}: {}",
        got.map(revoke::cases::render).unwrap_or_default()
    );
}

/// Polls `done` until true or `within` passed; fails with `what`.
async fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records of `topic` (JSON), raw values.
async fn records(env: &TestEnv, topic: &str) -> Vec<serde_json::Value> {
    env.read_json(topic).await
}

// --- plain protocol checks at the peers ------------------------------------------------------

/// The `member` values of the group `group` at slapd, lower-cased.
async fn ldap_members(group: &str) -> Vec<String> {
    let mut ldap = slapd::admin().await;
    let (rs, _) = ldap
        .search(group, ldap3::Scope::Base, "(objectClass=*)", vec!["member"])
        .await
        .unwrap()
        .success()
        .expect("read group");
    rs.into_iter()
        .flat_map(|e| {
            ldap3::SearchEntry::construct(e)
                .attrs
                .remove("member")
                .unwrap_or_default()
        })
        .map(|m| m.to_lowercase())
        .collect()
}

fn person_dn(p: &Person, evidence: &[ObjectEvidence]) -> String {
    evidence
        .iter()
        .find(|o| o.object_kind == "account" && !o.sponsored)
        .map(|o| o.object_id.clone())
        .unwrap_or_else(|| panic!("no LDAP account of {} in {evidence:?}", p.username))
}

/// GET a GitLab API path on the double with the admin token: (status, JSON body).
async fn gitlab_get(base: &str, path: &str) -> (u16, serde_json::Value) {
    let token = std::env::var(peers::cicd::TOKEN_ENV).expect("the double's admin token");
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v4/{path}"))
        .header("PRIVATE-TOKEN", token)
        .send()
        .await
        .expect("GitLab double reachable");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

fn iam_client() -> aws_sdk_iam::Client {
    let url = std::env::var("REVOKE_TEST_MOTO_URL").expect("REVOKE_TEST_MOTO_URL");
    revoke_tests::moto::iam_client(&url, "restores")
}

/// Every target still shows `p` revoked, as `evidence` (one closed case) recorded it.
async fn all_revoked(peers: &Peers, p: &Person, case: &revoke_shared::contract::Case) {
    for kind in TargetKind::ALL {
        peers
            .check_evidence(kind, p, &case.targets[&kind].objects)
            .await;
    }
}

/// The opening every test here shares: (the run suffix, the one person it revokes and restores,
/// the peers seeded with them and a bystander, the fleet's config, its metrics, the running fleet).
async fn start(env: &TestEnv) -> (String, Person, Peers, Config, Metrics, Vec<Component>) {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let p = Person::new(&run, 1);
    let peers = Peers::start(&run).await;
    let bystander = Person::bystander(&run);
    peers.seed(std::slice::from_ref(&p), &bystander).await;
    let mut cfg = env.cfg.clone();
    cfg.verifier.deadline_secs = 600;
    peers.configure(&mut cfg);
    let metrics = Metrics::new();
    let components = peers::start_fleet(&cfg, &metrics, &Health::new()).await;
    (run, p, peers, cfg, metrics, components)
}

/// Signing required: HR's HMAC key for `kit::HR_SOURCE` and the fleet secret, in files under the
/// returned folder (remove it after the test).
fn require_signing(env: &mut TestEnv) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("revoke-restores-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, content: &str| {
        let f = dir.join(name);
        std::fs::write(&f, content).unwrap();
        f.display().to_string()
    };
    env.cfg.signing.required = true;
    revoke_tests::evidence_kit::use_evidence_key(&mut env.cfg, &dir, [11; 32]);
    env.cfg.signing.fleet_secret_file = Some(file("fleet.secret", FLEET_SECRET));
    env.cfg.signing.keys = vec![revoke_shared::signing::KeyConfig {
        source: kit::HR_SOURCE.into(),
        key_id: Some("hr-2026".into()),
        algorithm: revoke_shared::signing::Algorithm::HmacSha256,
        public_key: None,
        secret_env: None,
        secret_file: Some(file("hmac.secret", HMAC_SECRET)),
        private_key_env: None,
        private_key_file: None,
    }];
    dir
}

/// Publishes `ev` on the terminations topic signed with HR's key.
async fn publish_signed(cfg: &Config, ev: &HrEvent) {
    let signer =
        revoke_shared::signing::EventSigner::hmac(Secret::new(HMAC_SECRET), Some("hr-2026".into()));
    let producer = revoke_shared::kafka::Producer::with_timeout(cfg, WAIT).expect("producer");
    revoke::hr::publish_signed(
        &producer,
        &cfg.topics.terminations,
        &[(ev.clone(), Some(signer.sign(ev)))],
        revoke::hr::Mode::Structured,
    )
    .await
    .expect("publish signed HR event");
}

/// Terminates `p` (HR event number `n`, dated now, signed) and waits for its case to close.
async fn close_signed(
    env: &TestEnv,
    cfg: &Config,
    run: &str,
    p: &Person,
    n: usize,
) -> (HrEvent, uuid::Uuid, revoke_shared::contract::Case) {
    let mut t = termination(run, p, n);
    t.time = chrono::Utc::now();
    let case = case_id_for(&t.source, &t.id);
    publish_signed(cfg, &t).await;
    wait_state(env, case, CaseState::Closed, &format!("signed T{n} closes")).await;
    let record = env.case_log().await.latest[&case].clone();
    (t, case, record)
}

/// A restore request for `p` on `target` naming `objects`, as the verifier would write it.
fn forged_request(
    p: &Person,
    case_id: uuid::Uuid,
    target: TargetKind,
    objects: Vec<ObjectEvidence>,
) -> RestoreRequest {
    RestoreRequest {
        schema: RESTORE_REQUEST_SCHEMA.into(),
        request_id: uuid::Uuid::new_v4(),
        case_id,
        identity_id: p.employee_id.clone(),
        identity: identity(p),
        target,
        rescinded_by: "hr:people-ops".into(),
        objects,
        requested_at: chrono::Utc::now(),
        confirmation: None,
        confirmation_signature: None,
    }
}

/// Dead letters of `group` whose original value is the restore request `id`.
fn letters_for(all: &[DeadLetter], group: &str, id: uuid::Uuid) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    all.iter()
        .filter(|l| l.rejected_by == group)
        .filter(|l| {
            l.payload_base64
                .as_deref()
                .and_then(|p| b64.decode(p).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v["request_id"] == id.to_string())
        })
        .map(|l| l.reason.clone())
        .collect()
}

//! The setup of the steps-and-review test: a namespace with `[signing] required` (HR events
//! signed by their source's key, workers' reports by the fleet), `[[people]]` with Ed25519 keys
//! generated here, `[steps.device_return]` for employees, and the ways the test speaks: the
//! commands in-process (`case ack --step`, `review`), raw records on the confirmations and guard
//! topics (forged ones included), and readers of the cases, escalations and dead letters.

use revoke::cli::case::ack::AckArgs;
use revoke::cli::error::CommandError;
use revoke::cli::person_key::PersonKeyArgs;
use revoke::cli::review::ReviewArgs;
use revoke::hr::{publish_signed, Mode};
use revoke_shared::config::{Algorithm, KeyConfig, Person, Role, StepConfig};
use revoke_shared::contract::{Case, DeadLetter, Escalation, HrEvent};
use revoke_shared::kafka::Producer;
use revoke_shared::secret::Secret;
use revoke_shared::signing::{EventSigner, RecordSigner};
use revoke_tests::TestEnv;
use std::path::PathBuf;
use std::time::Duration;

pub const STEP: &str = "device_return";
pub const STEP_SLA_SECS: u64 = 8;
pub const REVIEW_SLA_SECS: u64 = 6;
const HR_SOURCE: &str = "urn:revoke:test-hr";
const HR_SECRET: &str = "steps-review-hmac-secret-for-hr-events-01";
const FLEET_SECRET: &str = "steps-review-fleet-secret-verifier-workers";

/// Who is who: carol attests (and may review), rita reviews, ian owns the step (and may
/// review), alice approves held batches (and may review), mallory only reviews.
pub const PEOPLE: [(&str, &[Role]); 5] = [
    ("carol", &[Role::Attester, Role::Reviewer]),
    ("rita", &[Role::Reviewer]),
    ("ian", &[Role::Owner, Role::Reviewer]),
    ("alice", &[Role::Approver, Role::Reviewer]),
    ("mallory", &[Role::Reviewer]),
];

/// A fresh Ed25519 seed per person and run (never a fixed one: the test proves nothing if
/// anyone could sign).
pub struct Keys {
    dir: PathBuf,
    seeds: Vec<(String, [u8; 32])>,
}

impl Keys {
    fn new() -> Keys {
        let dir = std::env::temp_dir().join(format!(
            "revoke-steps-review-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let seeds = PEOPLE
            .iter()
            .map(|(id, _)| {
                let mut seed = [0u8; 32];
                seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                (id.to_string(), seed)
            })
            .collect();
        Keys { dir, seeds }
    }

    pub fn signer(&self, id: &str) -> RecordSigner {
        let seed = self.seeds.iter().find(|(p, _)| p == id).unwrap().1;
        RecordSigner::from_seed(id, &seed)
    }

    /// The seed of `id` in a file, as `--key-file` takes it.
    pub fn file(&self, id: &str) -> PathBuf {
        let seed = self.seeds.iter().find(|(p, _)| p == id).unwrap().1;
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        self.write(&format!("{id}.key"), &hex)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The namespace: signing required, the people, the step, the guard holding a second leaver.
pub fn setup() -> (TestEnv, Keys) {
    let mut env = TestEnv::new("steps-review");
    let keys = Keys::new();
    let cfg = &mut env.cfg;
    cfg.signing.required = true;
    revoke_tests::evidence_kit::use_evidence_key(cfg, &keys.dir, [13; 32]);
    cfg.signing.fleet_secret_file = Some(
        keys.write("fleet.secret", FLEET_SECRET)
            .display()
            .to_string(),
    );
    cfg.signing.keys = vec![KeyConfig {
        source: HR_SOURCE.into(),
        key_id: Some("hr-1".into()),
        algorithm: Algorithm::HmacSha256,
        public_key: None,
        secret_env: None,
        secret_file: Some(keys.write("hr.secret", HR_SECRET).display().to_string()),
        private_key_env: None,
        private_key_file: None,
    }];
    cfg.people = PEOPLE
        .iter()
        .map(|(id, roles)| Person {
            id: id.to_string(),
            name: format!("{} {}", id.to_uppercase(), "Person"),
            contact: format!("{id}@example.com"),
            roles: roles.to_vec(),
            public_key: Some(keys.signer(id).public_key_text()),
            previous_public_keys: Vec::new(),
        })
        .collect();
    cfg.steps.insert(
        STEP.into(),
        StepConfig {
            description: "laptop and badge returned".into(),
            owner: "ian".into(),
            sla_secs: STEP_SLA_SECS,
            required_by_kind: vec!["employee".into()],
        },
    );
    cfg.verifier.review_sla_secs = REVIEW_SLA_SECS;
    // The first leaver is released, the second held for alice's approval.
    cfg.verifier.guard.enabled = true;
    cfg.verifier.guard.max_terminations = 1;
    cfg.verifier.guard.window_secs = 600;
    (env, keys)
}

/// Publishes `events`, each signed with the HR source's key.
pub async fn publish(env: &TestEnv, events: &[HrEvent]) {
    let signer = EventSigner::hmac(Secret::new(HR_SECRET), Some("hr-1".into()));
    let signed: Vec<_> = events
        .iter()
        .map(|e| (e.clone(), Some(signer.sign(e))))
        .collect();
    let producer = Producer::with_timeout(&env.cfg, Duration::from_secs(60)).unwrap();
    publish_signed(
        &producer,
        &env.cfg.topics.terminations,
        &signed,
        Mode::Structured,
    )
    .await
    .expect("publish");
}

/// Sends a JSON record as is on `topic`, keyed by `key`.
pub async fn send(env: &TestEnv, topic: &str, key: &str, v: &serde_json::Value) {
    env.publish_raw_to(topic, Some(key), &serde_json::to_vec(v).unwrap(), &[])
        .await;
}

fn print(line: &str) {
    println!("{line}");
}

/// `revoke case ack <case> --step STEP --by <by> --note ...` with `key`'s file.
pub async fn ack_step(
    env: &TestEnv,
    case: &Case,
    step: &str,
    by: &str,
    key: Option<PathBuf>,
) -> Result<(), CommandError> {
    let args = AckArgs {
        case: case.case_id.to_string(),
        target: None,
        step: Some(step.into()),
        by: by.into(),
        note: "laptop and badge in the IT cupboard, ticket IT-7".into(),
        removed_at: None,
        key: PersonKeyArgs { key_file: key },
    };
    revoke::cli::case::ack::run(&env.cfg, &args, print).await
}

/// `revoke review <case> --accept|--reject --by <by> --digest <digest>` with `by`'s key file.
pub async fn review(
    env: &TestEnv,
    keys: &Keys,
    case: &Case,
    accept: bool,
    by: &str,
    digest: &str,
) -> Result<(), CommandError> {
    let args = ReviewArgs {
        case: case.case_id.to_string(),
        accept,
        reject: !accept,
        by: by.into(),
        digest: digest.into(),
        reopen: Vec::new(),
        note: Some(format!("{by} looked at the ticket")),
        key: PersonKeyArgs {
            key_file: Some(keys.file(by)),
        },
    };
    revoke::cli::review::run(&env.cfg, &args, print).await
}

/// The verifier's dead letters with `reason`, once there are `n` (or the wait ends).
pub async fn letters(env: &TestEnv, reason: &str, n: usize) -> Vec<DeadLetter> {
    let mut got = Vec::new();
    for _ in 0..150 {
        let all: Vec<DeadLetter> = env.read_json(&env.cfg.topics.dlq).await;
        got = all.into_iter().filter(|d| d.reason == reason).collect();
        if got.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if got.len() < n {
        let all: Vec<DeadLetter> = env.read_json(&env.cfg.topics.dlq).await;
        for d in all {
            println!("dead letter {}: {} ({})", d.reason, d.detail, d.rejected_by);
        }
    }
    got
}

/// The escalations of `case` on the escalations topic.
pub async fn escalations_of(env: &TestEnv, case: &Case) -> Vec<Escalation> {
    let all: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
    all.into_iter()
        .filter(|e| e.case_id == case.case_id)
        .collect()
}

/// Runs the `revoke` binary as an operator would, with the test's config in a file (brokers,
/// topics, `[[people]]`, `[[signing.evidence_keys]]`).
pub fn revoke_cli(env: &TestEnv, keys: &Keys, args: &[&str]) -> std::process::Output {
    let config = keys.write(
        "revoke.toml",
        &toml::to_string(&env.cfg).expect("the config serialises"),
    );
    revoke_tests::signing_kit::run_revoke_with(&config, args)
}

pub use revoke_tests::procs::revoke_offline;

/// Asserts the command's exit code and that its output says each of `needles`; returns it.
pub fn says(o: &std::process::Output, code: i32, needles: &[&str]) -> String {
    let t = format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    println!("--- revoke said:\n{t}");
    assert_eq!(o.status.code(), Some(code), "{t}");
    for n in needles {
        assert!(t.contains(n), "lacks {n:?}:\n{t}");
    }
    t
}

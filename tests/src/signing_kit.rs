//! A namespace where people are who they say, shared by the tests of signed decisions and
//! replays: `[signing] required` with an HR source signing with an Ed25519 key, the fleet's
//! secret, `[[people]]` with Ed25519 keys, and the key files `--key-file` takes — all in a
//! directory of the test's own, removed when it ends.

use revoke::hr::{publish_signed, Mode};
use revoke_shared::config::{Algorithm, Config, KeyConfig, Person, Role};
use revoke_shared::contract::HrEvent;
use revoke_shared::kafka::Producer;
use revoke_shared::signing::{ed25519_public_key, EventSigner, RecordSigner};
use std::path::PathBuf;
use std::time::Duration;

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The public key text of `seed`, as `[[people]]` lists it.
pub fn public(seed: &[u8; 32]) -> String {
    RecordSigner::from_seed("x", seed).public_key_text()
}

/// A `[[people]]` entry for `id` with `seed`'s key (and `previous` keys rotated away).
pub fn person(id: &str, seed: &[u8; 32], roles: Vec<Role>, previous: &[[u8; 32]]) -> Person {
    Person {
        id: id.into(),
        name: format!("{id} example"),
        contact: format!("{id}@example.com"),
        roles,
        public_key: Some(public(seed)),
        previous_public_keys: previous.iter().map(public).collect(),
    }
}

/// A directory of the test's own (key and config files), removed when it ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p =
            std::env::temp_dir().join(format!("revoke-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// The private key file of a person, as `--key-file` takes it.
    pub fn key_file(&self, id: &str, seed: &[u8; 32]) -> PathBuf {
        self.file(&format!("{id}.key"), &format!("{}\n", hex(seed)))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `[signing] required`: events of `hr_source` signed with `hr_seed`'s Ed25519 key, the fleet's
/// `fleet_secret` in a file of `dir`, and an evidence key (seed `evidence_seed`).
pub fn require_signing(
    cfg: &mut Config,
    dir: &TempDir,
    hr_source: &str,
    hr_seed: &[u8; 32],
    fleet_secret: &str,
    evidence_seed: [u8; 32],
) {
    cfg.signing.required = true;
    cfg.signing.fleet_secret_file = Some(
        dir.file("fleet.secret", &format!("{fleet_secret}\n"))
            .display()
            .to_string(),
    );
    cfg.signing.keys = vec![KeyConfig {
        source: hr_source.into(),
        key_id: None,
        algorithm: Algorithm::Ed25519,
        public_key: Some(ed25519_public_key(hr_seed)),
        secret_env: None,
        secret_file: None,
        private_key_env: None,
        private_key_file: None,
    }];
    crate::evidence_kit::use_evidence_key(cfg, &dir.0, evidence_seed);
}

/// Publishes `events` on `cfg`'s terminations topic, each signed with `hr_seed`'s key.
pub async fn publish_ed25519(cfg: &Config, events: &[HrEvent], hr_seed: &[u8; 32]) {
    let signer = EventSigner::ed25519(hr_seed, None);
    let signed: Vec<_> = events
        .iter()
        .map(|e| (e.clone(), Some(signer.sign(e))))
        .collect();
    let producer = Producer::with_timeout(cfg, Duration::from_secs(60)).expect("producer");
    publish_signed(
        &producer,
        &cfg.topics.terminations,
        &signed,
        Mode::Structured,
    )
    .await
    .expect("publish");
}

/// Runs `revoke` with `cfg` written to a config file in `dir`, as an operator would.
pub fn run_revoke(cfg: &Config, dir: &TempDir, args: &[&str]) -> std::process::Output {
    let config = dir.file(
        "revoke.toml",
        &toml::to_string(cfg).expect("the config serialises"),
    );
    run_revoke_with(&config, args)
}

/// Runs `revoke --config <config> args` as an operator would: no person key or config from the
/// environment (a test must pass each), warnings only, no metrics endpoint.
pub fn run_revoke_with(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::procs::revoke_bin())
        .arg("--config")
        .arg(config)
        .args(["--metrics-listen", ""])
        .args(args)
        .env_remove("REVOKE_CONFIG")
        .env_remove("REVOKE_PERSON_KEY")
        .env_remove("REVOKE_PERSON_KEY_FILE")
        .env("REVOKE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run revoke")
}

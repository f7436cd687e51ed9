//! The independent OpenID Shared Signals receiver (`tests/services/ssf_receiver.py`, PyJWT: it
//! fetches our metadata and JWKS and checks signature, iss, aud, iat, jti uniqueness, event types
//! and subject format itself — no code of ours in its checks), started as a child process by the
//! tests of `revoke signals`; and what those tests expect it to accept, read from the cases'
//! evidence as docs/signals.md describes it.

use revoke_shared::config::{ReceiverConfig, ReceiverOwner};
use revoke_shared::contract::{Case, ObjectOutcome, TargetState};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
pub const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// A fresh scratch directory for one test's files (keys, tokens, the receiver's output).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "revoke-signals-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PKCS#8 PEM private key made by openssl (`EC` P-256 or `ED25519`), in a file.
pub fn key_file(dir: &Path, name: &str, algorithm: &str) -> String {
    let path = dir.join(format!("{name}.pem"));
    let mut cmd = Command::new("openssl");
    cmd.args(["genpkey", "-algorithm", algorithm, "-out"])
        .arg(&path);
    if algorithm == "EC" {
        cmd.args(["-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    assert!(
        cmd.status().expect("openssl runs").success(),
        "openssl genpkey {algorithm}"
    );
    path.display().to_string()
}

/// The independent receiver, a child process killed on drop (it also exits when its stdin,
/// held by this test, closes).
pub struct Rx {
    child: Child,
    out: PathBuf,
    pub port: u16,
}

impl Rx {
    pub fn start(issuer: &str, aud: &str, out: PathBuf, extra: &[String]) -> Rx {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("services/ssf_receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                "--metadata",
                &format!("{issuer}/.well-known/ssf-configuration"),
                "--issuer",
                issuer,
                "--aud",
                aud,
            ])
            .arg("--out")
            .arg(&out)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts the receiver (pip install PyJWT cryptography)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT=")
            .unwrap_or_else(|| panic!("receiver printed {line:?}"))
            .parse()
            .unwrap();
        Rx { child, out, port }
    }

    fn lines(&self, suffix: &str) -> Vec<Value> {
        let path = format!("{}{suffix}", self.out.display());
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Claims of the SETs it verified and accepted (with their JWS header under `header`).
    pub fn accepted(&self) -> Vec<Value> {
        self.lines("")
    }

    pub fn refused(&self) -> Vec<Value> {
        self.lines(".refused")
    }

    pub fn duplicates(&self) -> usize {
        self.lines(".duplicates").len()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Rx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A receiver stream subscribed to the three offboarding event types, subject `email`, CAEP's
/// own credential types only, owned by `<aud>-team`.
pub fn receiver(
    delivery: &str,
    endpoint: Option<String>,
    aud: &str,
    token_file: Option<String>,
    sla_secs: u64,
) -> ReceiverConfig {
    ReceiverConfig {
        delivery: delivery.into(),
        endpoint_url: endpoint,
        token_env: None,
        token_file,
        aud: aud.into(),
        subject: "email".into(),
        subject_iss: None,
        subject_from: "employee_id".into(),
        events: vec![
            "session-revoked".into(),
            "credential-change".into(),
            "account-disabled".into(),
        ],
        extension_credential_types: false,
        owner: ReceiverOwner {
            name: format!("{aud}-team"),
            contact: format!("{aud}@example.com"),
        },
        sla_secs,
    }
}

/// What a receiver that takes the CAEP credential types only should get, read from the cases'
/// evidence: (event type, txn, email) — sessions per target, passwords, the account.
pub fn expected(cases: &[Case]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for c in cases {
        let email = c.identity.as_ref().and_then(|i| i.email.clone()).unwrap();
        let mut add = |t: &str| out.push((t.to_string(), c.case_id.to_string(), email.clone()));
        for (_, t) in c.targets.iter() {
            if t.state != TargetState::Done {
                continue;
            }
            let revoked = |kinds: &[&str]| {
                t.objects
                    .iter()
                    .filter(|o| {
                        kinds.contains(&o.object_kind.as_str())
                            && o.outcome == ObjectOutcome::Revoked
                    })
                    .count()
            };
            if revoked(&["session", "offline_session", "issued_sessions", "consent"]) > 0 {
                add(SESSION_REVOKED);
            }
            for _ in 0..revoked(&["login_profile", "userpass_user", "signing_cert"]) {
                add(CREDENTIAL_CHANGE);
            }
        }
        add(ACCOUNT_DISABLED);
    }
    out.sort();
    out
}

/// The accepted SETs other than verifications, as (event type, txn, email), sorted.
pub fn got(accepted: &[Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = accepted
        .iter()
        .filter(|a| a["claims"]["events"].get(VERIFICATION).is_none())
        .map(|a| {
            let c = &a["claims"];
            (
                event_type(a),
                c["txn"].as_str().unwrap().to_string(),
                c["sub_id"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The one event type URI of an accepted SET.
pub fn event_type(accepted: &Value) -> String {
    accepted["claims"]["events"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone()
}

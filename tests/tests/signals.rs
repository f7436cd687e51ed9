//! `revoke signals` end to end: cases closed by the simulated fleet on the broker (the real one
//! when `REVOKE_TEST_KAFKA` is set), SETs delivered to an INDEPENDENT receiver
//! (`tests/services/ssf_receiver.py`, PyJWT: it fetches our metadata and JWKS and checks
//! signature, iss, aud, iat, jti uniqueness, event types and subject format itself), and the
//! delivery evidence on the confirmations topic.

use revoke::fleet::Fleet;
use revoke::hr::Mode;
use revoke::signals::Transmitter;
use revoke_shared::config::{Config, ReceiverConfig, ReceiverOwner, SignalKeyConfig};
use revoke_shared::consume::Stop;
use revoke_shared::contract::{Case, CaseState, ObjectOutcome, TargetState};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::simulated_fleet;
use revoke_tests::TestEnv;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(120);
const TOKEN: &str = "ssf-test-token-never-print-me";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "revoke-signals-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PKCS#8 PEM private key made by openssl (`EC` P-256 or `ED25519`), in a file.
fn key_file(dir: &Path, name: &str, algorithm: &str) -> String {
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
struct Rx {
    child: Child,
    out: PathBuf,
    port: u16,
}

impl Rx {
    fn start(issuer: &str, aud: &str, out: PathBuf, extra: &[String]) -> Rx {
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
    fn accepted(&self) -> Vec<Value> {
        self.lines("")
    }

    fn refused(&self) -> Vec<Value> {
        self.lines(".refused")
    }

    fn duplicates(&self) -> usize {
        self.lines(".duplicates").len()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Rx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn receiver(
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

fn token_file(dir: &Path) -> String {
    let p = dir.join("token");
    std::fs::write(&p, format!("{TOKEN}\n")).unwrap();
    p.display().to_string()
}

/// A running transmitter, and how to stop it.
struct Running {
    stop: Stop,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    metrics: Metrics,
}

/// Binds the transmitter's listener (so the issuer URL is known before the config is).
async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", l.local_addr().unwrap());
    (l, issuer)
}

fn start(cfg: &Config, listener: Option<tokio::net::TcpListener>) -> Running {
    let metrics = Metrics::new();
    let health = Health::new();
    let t = Transmitter::new(cfg, metrics.clone(), health.clone()).expect("signals config");
    if let Some(l) = listener {
        revoke_shared::metrics::serve_on(l, metrics.clone(), health, t.routes()).unwrap();
    }
    let stop = Stop::new();
    let (c, s) = (cfg.clone(), stop.clone());
    let handle = tokio::spawn(async move { t.run(&c, s).await });
    Running {
        stop,
        handle,
        metrics,
    }
}

impl Running {
    async fn stop(self) {
        self.stop.graceful.cancel();
        self.handle.await.unwrap().expect("signals stops cleanly");
    }
}

fn quick(cfg: &mut Config) {
    cfg.signals.initial_backoff_ms = 50;
    cfg.signals.max_backoff_ms = 1_000;
    cfg.signals.timeout_ms = 5_000;
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every case closed, read from the cases topic.
async fn closed_cases(env: &TestEnv, n: usize) -> Vec<Case> {
    let log = env
        .wait_cases(WAIT, |l| {
            l.latest.len() == n && l.latest.values().all(|c| c.state == CaseState::Closed)
        })
        .await;
    assert!(
        log.latest.values().all(|c| c.state == CaseState::Closed),
        "cases did not all close"
    );
    log.latest.into_values().collect()
}

/// What a receiver that takes the CAEP credential types only should get, read from the cases'
/// evidence: (event type, txn, email) — sessions per target, passwords, the account.
fn expected(cases: &[Case]) -> Vec<(String, String, String)> {
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

fn got(accepted: &[Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = accepted
        .iter()
        .filter(|a| a["claims"]["events"].get(VERIFICATION).is_none())
        .map(|a| {
            let c = &a["claims"];
            let event = c["events"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            (
                event,
                c["txn"].as_str().unwrap().to_string(),
                c["sub_id"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// SignalDelivery records on the confirmations topic, with their fleet signature header.
async fn deliveries(env: &TestEnv) -> Vec<(Value, Option<String>)> {
    env.read_raw(&env.cfg.topics.confirmations)
        .await
        .into_iter()
        .filter_map(|r| {
            let v: Value = serde_json::from_slice(r.payload.as_deref()?).ok()?;
            (v["schema"] == "revoke.signal_delivery.v1").then(|| {
                let sig = r
                    .headers
                    .iter()
                    .find(|(k, _)| k == revoke_shared::signing::FLEET_SIGNATURE_HEADER)
                    .map(|(_, v)| String::from_utf8_lossy(v).to_string());
                (v, sig)
            })
        })
        .collect()
}

/// Reads the delivery records until `done` holds (or fails after `WAIT`).
async fn wait_deliveries(
    env: &TestEnv,
    done: impl Fn(&[(Value, Option<String>)]) -> bool,
) -> Vec<(Value, Option<String>)> {
    let deadline = Instant::now() + WAIT;
    loop {
        let recs = deliveries(env).await;
        if done(&recs) {
            return recs;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for delivery records: {recs:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The jtis `receiver`'s delivered records list.
fn delivered_jtis(recs: &[(Value, Option<String>)], receiver: &str) -> Vec<String> {
    recs.iter()
        .filter(|(d, _)| d["receiver"] == receiver && d["outcome"] == "delivered")
        .flat_map(|(d, _)| {
            d["sets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["jti"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// ES256 signs, an EdDSA key is listed too (rotation): five leavers' cases closed by the fleet
/// reach the independent receiver exactly once each, as the evidence says they should; the
/// confirmations topic records what it accepted; a restart sends nothing again; a SET signed
/// with a key outside the JWKS is refused by the receiver.
#[test]
fn push_delivers_exactly_the_owed_sets_once_and_a_forged_one_is_refused() {
    let mut env = TestEnv::new("signals-push");
    let dir = scratch("push");
    let (l, issuer) = env.block_on(listener());
    let rx = Rx::start(
        &issuer,
        "https://app.example",
        dir.join("app.jsonl"),
        &["--token".into(), TOKEN.into()],
    );
    {
        let cfg = &mut env.cfg;
        quick(cfg);
        cfg.signals.issuer = Some(issuer.clone());
        cfg.signals.keys = vec![
            SignalKeyConfig {
                kid: "k-es".into(),
                alg: "ES256".into(),
                private_key_env: None,
                private_key_file: Some(key_file(&dir, "es", "EC")),
            },
            SignalKeyConfig {
                kid: "k-ed".into(),
                alg: "EdDSA".into(),
                private_key_env: None,
                private_key_file: Some(key_file(&dir, "ed", "ED25519")),
            },
        ];
        cfg.signals.receivers = BTreeMap::from([(
            "app".to_string(),
            receiver(
                "push",
                Some(rx.url()),
                "https://app.example",
                Some(token_file(&dir)),
                600,
            ),
        )]);
    }
    env.block_on(async {
        let (fleet, _m, _h): (Fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let tx = start(&env.cfg, Some(l));
        let events = env.leavers(5);
        env.publish(&events, Mode::Structured).await;
        let cases = closed_cases(&env, 5).await;
        let want = expected(&cases);
        assert!(want.iter().any(|w| w.0 == SESSION_REVOKED) && want.iter().any(|w| w.0 == CREDENTIAL_CHANGE), "{want:?}");
        eventually("every owed SET at the receiver", || got(&rx.accepted()).len() >= want.len()).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let accepted = rx.accepted();
        assert_eq!(got(&accepted), want, "exactly the owed SETs");
        assert_eq!(rx.duplicates(), 0);
        assert!(rx.refused().is_empty(), "{:?}", rx.refused());
        for a in &accepted {
            assert_eq!(a["header"]["kid"], "k-es");
            assert_eq!(a["header"]["alg"], "ES256");
            assert_eq!(a["header"]["typ"], "secevent+jwt");
            assert_eq!(a["claims"]["iss"], issuer.as_str());
            assert_eq!(a["claims"]["aud"], "https://app.example");
        }
        // The evidence: per case, the receiver's delivered records list exactly what it accepted.
        let recs = wait_deliveries(&env, |recs| delivered_jtis(recs, "app").len() >= accepted.len()).await;
        let mut recorded = delivered_jtis(&recs, "app");
        recorded.sort();
        let mut jtis: Vec<String> = accepted.iter().map(|a| a["claims"]["jti"].as_str().unwrap().to_string()).collect();
        jtis.sort();
        assert_eq!(recorded, jtis);
        assert_eq!(tx.metrics.signals_sets.with_label_values(&["app", "delivered"]).get(), jtis.len() as u64);

        // A restart (same group) sends nothing again; a new leaver's SETs still arrive.
        tx.stop().await;
        let tx = start(&env.cfg, None);
        env.publish(&env.leavers(1), Mode::Structured).await;
        eventually("the new leaver's account-disabled", || got(&rx.accepted()).iter().filter(|g| g.0 == ACCOUNT_DISABLED).count() == 6).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = got(&rx.accepted());
        assert_eq!(after.iter().filter(|g| want.contains(g)).count(), want.len(), "nothing re-sent");
        assert_eq!(rx.duplicates(), 0);

        // A SET signed with a key the JWKS does not list is refused (the receiver checks).
        let forged_key = revoke::signals::keys::SigningKey::from_pem(
            "k-es",
            "ES256",
            &revoke_shared::secret::Secret::new(std::fs::read_to_string(key_file(&dir, "forged", "EC")).unwrap()),
        )
        .unwrap();
        let claims = json!({"iss": issuer, "aud": "https://app.example", "iat": chrono::Utc::now().timestamp(),
            "jti": uuid::Uuid::new_v4().to_string(), "sub_id": {"format": "email", "email": "user0@example.com"},
            "events": {SESSION_REVOKED: {}}});
        let forged = revoke::signals::jws::sign(&forged_key, &claims);
        let answer = reqwest::Client::new()
            .post(rx.url())
            .bearer_auth(TOKEN)
            .header("content-type", "application/secevent+jwt")
            .body(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["err"], "invalid_key");
        assert!(!rx.accepted().iter().any(|a| a["claims"]["jti"] == claims["jti"]));
        tx.stop().await;
        fleet.stop().await.unwrap();
    });
}

/// EdDSA signs (ES256 listed too); the push receiver answers the first three SETs 400
/// invalid_key and gets them all on retries; a poll receiver gets its SETs by polling and
/// acknowledging; both answer a stream verification with its state; the delivery records are
/// fleet-signed.
#[test]
fn invalid_key_is_retried_poll_acks_and_verification_round_trips() {
    let env = TestEnv::new("signals-poll");
    let dir = scratch("poll");
    env.block_on(async {
        let (l, issuer) = listener().await;
        let flaky = Rx::start(
            &issuer,
            "https://flaky.example",
            dir.join("flaky.jsonl"),
            &[
                "--token".into(),
                TOKEN.into(),
                "--invalid-key".into(),
                "3".into(),
            ],
        );
        let poller = Rx::start(
            &issuer,
            "https://poller.example",
            dir.join("poller.jsonl"),
            &[
                "--token".into(),
                TOKEN.into(),
                "--poll".into(),
                format!("{issuer}/ssf/poll/poller"),
            ],
        );
        let mut cfg = env.cfg.clone();
        quick(&mut cfg);
        cfg.signals.issuer = Some(issuer.clone());
        cfg.signals.keys = vec![
            SignalKeyConfig {
                kid: "k-ed".into(),
                alg: "EdDSA".into(),
                private_key_env: None,
                private_key_file: Some(key_file(&dir, "ed", "ED25519")),
            },
            SignalKeyConfig {
                kid: "k-es".into(),
                alg: "ES256".into(),
                private_key_env: None,
                private_key_file: Some(key_file(&dir, "es", "EC")),
            },
        ];
        let token = token_file(&dir);
        cfg.signals.receivers = BTreeMap::from([
            (
                "flaky".to_string(),
                receiver(
                    "push",
                    Some(flaky.url()),
                    "https://flaky.example",
                    Some(token.clone()),
                    600,
                ),
            ),
            (
                "poller".to_string(),
                receiver("poll", None, "https://poller.example", Some(token), 600),
            ),
        ]);
        let fleet_secret = dir.join("fleet");
        std::fs::write(&fleet_secret, "a-fleet-secret-of-at-least-32-bytes!!").unwrap();
        cfg.signing.fleet_secret_file = Some(fleet_secret.display().to_string());
        let (fleet, _m, _h) = simulated_fleet(&env.cfg, WAIT).await;
        let tx = start(&cfg, Some(l));
        env.publish(&env.leavers(3), Mode::Structured).await;
        let cases = closed_cases(&env, 3).await;
        let want = expected(&cases);
        eventually("the flaky receiver's SETs", || {
            got(&flaky.accepted()).len() >= want.len()
        })
        .await;
        eventually("the poller's SETs", || {
            got(&poller.accepted()).len() >= want.len()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(got(&flaky.accepted()), want);
        assert_eq!(got(&poller.accepted()), want);
        assert_eq!(
            flaky
                .refused()
                .iter()
                .filter(|r| r["err"] == "invalid_key")
                .count(),
            3,
            "{:?}",
            flaky.refused()
        );
        assert!(
            tx.metrics
                .signals_sets
                .with_label_values(&["flaky", "retry"])
                .get()
                >= 3
        );
        assert!(poller.refused().is_empty(), "{:?}", poller.refused());
        assert_eq!(flaky.duplicates() + poller.duplicates(), 0);
        for a in flaky.accepted().iter().chain(poller.accepted().iter()) {
            assert_eq!(a["header"]["alg"], "EdDSA");
            assert_eq!(a["header"]["kid"], "k-ed");
        }

        // Stream verification: 204, then a verification SET with the state, to that stream only.
        let http = reqwest::Client::new();
        for stream in ["poller", "flaky"] {
            let state = format!("state-{stream}-{}", uuid::Uuid::new_v4().simple());
            let wrong = http
                .post(format!("{issuer}/ssf/verify"))
                .bearer_auth("nope")
                .body(json!({"stream_id": stream, "state": state}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(wrong.status().as_u16(), 401);
            let ok = http
                .post(format!("{issuer}/ssf/verify"))
                .bearer_auth(TOKEN)
                .body(json!({"stream_id": stream, "state": state}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(ok.status().as_u16(), 204);
            let rx = if stream == "poller" { &poller } else { &flaky };
            eventually("the verification SET", || {
                rx.accepted()
                    .iter()
                    .any(|a| a["claims"]["events"][VERIFICATION]["state"] == state.as_str())
            })
            .await;
        }
        // Polling needs the stream's token.
        let denied = http
            .post(format!("{issuer}/ssf/poll/poller"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status().as_u16(), 401);

        // The delivery records are fleet-signed.
        let secret =
            revoke_shared::secret::Secret::new(std::fs::read_to_string(&fleet_secret).unwrap());
        let recs = deliveries(&env).await;
        for stream in ["flaky", "poller"] {
            assert!(recs.iter().any(|(d, _)| d["receiver"] == stream
                && d["outcome"] == "delivered"
                && d["sets"][0]["via"] == if stream == "poller" { "poll" } else { "push" }));
        }
        let raw = env.read_raw(&env.cfg.topics.confirmations).await;
        let signed: Vec<_> = raw
            .iter()
            .filter(|r| {
                r.payload
                    .as_deref()
                    .and_then(|p| serde_json::from_slice::<Value>(p).ok())
                    .is_some_and(|v| v["schema"] == "revoke.signal_delivery.v1")
            })
            .collect();
        assert_eq!(signed.len(), recs.len());
        for r in signed {
            let sig = r
                .headers
                .iter()
                .find(|(k, _)| k == revoke_shared::signing::FLEET_SIGNATURE_HEADER)
                .map(|(_, v)| String::from_utf8_lossy(v).to_string())
                .expect("fleet-signed");
            let key = r.key.as_deref().expect("keyed by identity");
            assert!(revoke_shared::signing::fleet_signature_matches(
                &secret,
                &env.cfg.topics.confirmations,
                key,
                r.payload.as_deref().unwrap(),
                &sig
            ));
            let d: Value = serde_json::from_slice(r.payload.as_deref().unwrap()).unwrap();
            assert_eq!(d["identity_id"].as_str().unwrap().as_bytes(), key);
        }
        tx.stop().await;
        fleet.stop().await.unwrap();
    });
}

/// A receiver down for 30 s: an overdue record (owner, detail) appears once its 5 s SLA passed,
/// and the SETs arrive once it is up, followed by delivered records.
#[test]
fn a_receiver_down_for_30_s_is_reported_overdue_then_gets_everything() {
    let mut env = TestEnv::new("signals-down");
    let dir = scratch("down");
    let (l, issuer) = env.block_on(listener());
    // A port reserved for the receiver that is not there yet: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    {
        let cfg = &mut env.cfg;
        quick(cfg);
        cfg.signals.issuer = Some(issuer.clone());
        cfg.signals.keys = vec![SignalKeyConfig {
            kid: "k1".into(),
            alg: "ES256".into(),
            private_key_env: None,
            private_key_file: Some(key_file(&dir, "es", "EC")),
        }];
        cfg.signals.receivers = BTreeMap::from([(
            "late".to_string(),
            receiver(
                "push",
                Some(format!("http://127.0.0.1:{port}/")),
                "https://late.example",
                None,
                5,
            ),
        )]);
    }
    env.block_on(async {
        let (fleet, _m, _h) = simulated_fleet(&env.cfg, WAIT).await;
        let tx = start(&env.cfg, Some(l));
        let began = Instant::now();
        env.publish(&env.leavers(2), Mode::Structured).await;
        let cases = closed_cases(&env, 2).await;
        let want = expected(&cases);
        let recs = wait_deliveries(&env, |recs| {
            recs.iter().any(|(d, _)| d["outcome"] == "overdue")
        })
        .await;
        assert!(
            recs.iter().all(|(d, _)| d["outcome"] == "overdue"),
            "nothing delivered while the receiver is down: {recs:?}"
        );
        let overdue: Vec<Value> = recs.into_iter().map(|(d, _)| d).collect();
        for d in &overdue {
            assert_eq!(d["receiver"], "late");
            assert_eq!(d["owner"]["name"], "https://late.example-team");
            assert!(
                d["detail"]
                    .as_str()
                    .unwrap()
                    .contains("not accepted within 5 s"),
                "{d}"
            );
            assert!(d["sets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.get("delivered_at").is_none()));
        }
        assert!(
            tx.metrics
                .signals_sets
                .with_label_values(&["late", "retry"])
                .get()
                > 0,
            "pushes were retried while it was down"
        );
        let wait = Duration::from_secs(30).saturating_sub(began.elapsed());
        tokio::time::sleep(wait).await;
        let rx = Rx::start(
            &issuer,
            "https://late.example",
            dir.join("late.jsonl"),
            &["--port".into(), port.to_string()],
        );
        eventually("the SETs after the receiver came up", || {
            got(&rx.accepted()).len() >= want.len()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(got(&rx.accepted()), want);
        assert_eq!(rx.duplicates(), 0);
        wait_deliveries(&env, |recs| {
            cases.iter().all(|c| {
                recs.iter().any(|(d, _)| {
                    d["case_id"] == c.case_id.to_string() && d["outcome"] == "delivered"
                })
            })
        })
        .await;
        let overdue_cases: Vec<String> = overdue
            .iter()
            .map(|d| d["case_id"].as_str().unwrap().to_string())
            .collect();
        let mut unique = overdue_cases.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            overdue_cases.len(),
            "overdue reported once per case"
        );
        tx.stop().await;
        fleet.stop().await.unwrap();
    });
}

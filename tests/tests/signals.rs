//! `revoke signals` end to end: cases closed by the simulated fleet on the broker (the real one
//! when `REVOKE_TEST_KAFKA` is set), SETs delivered to an INDEPENDENT receiver
//! (`tests/services/ssf_receiver.py`, PyJWT: it fetches our metadata and JWKS and checks
//! signature, iss, aud, iat, jti uniqueness, event types and subject format itself; started by
//! `revoke_tests::ssf_receiver`), and the delivery evidence on the confirmations topic.

use revoke::fleet::Fleet;
use revoke::hr::Mode;
use revoke_shared::config::SignalKeyConfig;
use revoke_shared::contract::{Case, CaseState};
use revoke_tests::fleet_kit::simulated_fleet;
use revoke_tests::ssf_receiver::{
    expected, got, key_file, receiver, scratch, Rx, ACCOUNT_DISABLED, CREDENTIAL_CHANGE,
    SESSION_REVOKED, VERIFICATION,
};
use revoke_tests::ssf_transmitter::{listener, quick, start};
use revoke_tests::TestEnv;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(120);
const TOKEN: &str = "ssf-test-token-never-print-me";

fn token_file(dir: &Path) -> String {
    let p = dir.join("token");
    std::fs::write(&p, format!("{TOKEN}\n")).unwrap();
    p.display().to_string()
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
            let wrong_body = wrong.text().await.unwrap();
            // A stream that does not exist is answered exactly like a wrong token.
            let unknown = http
                .post(format!("{issuer}/ssf/verify"))
                .bearer_auth(TOKEN)
                .body(json!({"stream_id": "no-such-stream", "state": state}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(unknown.status().as_u16(), 401);
            assert_eq!(unknown.text().await.unwrap(), wrong_body);
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
        let unknown = http
            .post(format!("{issuer}/ssf/poll/no-such-stream"))
            .bearer_auth(TOKEN)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            unknown.status().as_u16(),
            401,
            "no hint that the stream is unknown"
        );

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

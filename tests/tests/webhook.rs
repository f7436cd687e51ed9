//! `revoke webhook`: escalations delivered to a webhook, against a local receiver (axum on
//! 127.0.0.1:0) that records every request and can be told to fail. On the embedded broker by
//! default, on the real one when `REVOKE_TEST_KAFKA` is set.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use revoke::fleet::wait_for_groups;
use revoke::fleet::{Component, Process};
use revoke::hr::Mode;
use revoke_shared::contract::{
    case_id_for, DeadLetter, Escalation, EscalationReason, Owner, TargetKind, ESCALATION_SCHEMA,
};
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::{own_cloud, workers_with_failing};
use revoke_tests::TestEnv;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(90);
const TOKEN: &str = "tok-5f1c9e-never-print-me";

/// One request the receiver saw, and what it answered.
#[derive(Clone, Debug)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn escalation_id(&self) -> String {
        self.header("idempotency-key").unwrap_or_default()
    }
}

#[derive(Default)]
struct Plan {
    /// Answered to the next requests, in order, before anything else.
    next: VecDeque<u16>,
    /// Answered to every request while set (after `next` is used up).
    always: Option<u16>,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    plan: Arc<Mutex<Plan>>,
    /// Each request is held this long before it is answered (to make requests overlap).
    hold: Arc<Mutex<Duration>>,
    /// Requests being answered now, and the most at once.
    open: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
}

impl Receiver {
    /// Serves `POST /hook` on a free loopback port; returns the URL.
    async fn start(&self) -> String {
        async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let now = r.open.fetch_add(1, Ordering::SeqCst) + 1;
            r.most_open.fetch_max(now, Ordering::SeqCst);
            let hold = *r.hold.lock().unwrap();
            if !hold.is_zero() {
                tokio::time::sleep(hold).await;
            }
            r.open.fetch_sub(1, Ordering::SeqCst);
            let answered = {
                let mut plan = r.plan.lock().unwrap();
                plan.next.pop_front().or(plan.always).unwrap_or(200)
            };
            r.seen.lock().unwrap().push(Seen {
                headers,
                body,
                answered,
                at: Instant::now(),
            });
            StatusCode::from_u16(answered).unwrap()
        }
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    fn fail_next(&self, statuses: &[u16]) {
        self.plan.lock().unwrap().next.extend(statuses);
    }

    fn fail_always(&self, status: Option<u16>) {
        self.plan.lock().unwrap().always = status;
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests for one escalation, in arrival order.
    fn seen_for(&self, escalation_id: uuid::Uuid) -> Vec<Seen> {
        let id = escalation_id.to_string();
        self.seen()
            .into_iter()
            .filter(|s| s.escalation_id() == id)
            .collect()
    }

    fn delivered(&self, escalation_id: uuid::Uuid) -> usize {
        self.seen_for(escalation_id)
            .iter()
            .filter(|s| (200..300).contains(&s.answered))
            .count()
    }
}

/// Polls `done` every 50 ms until it holds or `WAIT` passes; returns whether it held.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// A token file only this test reads.
fn token_file(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "revoke-webhook-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("token");
    std::fs::write(&p, format!("{TOKEN}\n")).unwrap();
    p.display().to_string()
}

/// A started [`Receiver`] and a test environment `wh-{name}` whose webhook posts to it, with its
/// own token file and quick backoffs.
fn with_receiver(name: &str) -> (Receiver, TestEnv) {
    let receiver = Receiver::default();
    let mut env = TestEnv::new(&format!("wh-{name}"));
    let url = env.block_on(receiver.start());
    let e = &mut env.cfg.escalations;
    e.webhook_url = Some(url);
    e.webhook_token_file = Some(token_file(name));
    e.webhook_initial_backoff_ms = 20;
    e.webhook_max_backoff_ms = 200;
    e.webhook_timeout_ms = 5_000;
    (receiver, env)
}

fn escalation(identity: &str, n: usize) -> Escalation {
    let case_id = case_id_for(
        "urn:test:webhook",
        &format!("{identity}-{n}-{}", uuid::Uuid::new_v4()),
    );
    let targets = vec![TargetKind::Vault];
    Escalation {
        schema: ESCALATION_SCHEMA.into(),
        escalation_id: Escalation::id_for(case_id, EscalationReason::TargetFailed, &targets),
        case_id,
        identity_id: identity.into(),
        reason: EscalationReason::TargetFailed,
        targets,
        steps: Vec::new(),
        owner: Owner {
            name: "vault-team".into(),
            contact: "vault-team@example.com".into(),
        },
        level: 0,
        deadline: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        raised_at: chrono::Utc::now(),
        detail: "vault: simulated 403".into(),
        evidence: vec!["vault: failed (simulated 403)".into()],
    }
}

/// A producer with a generous timeout: the broker may still be settling when a test starts.
fn producer(env: &TestEnv) -> Producer {
    Producer::with_timeout(&env.cfg, Duration::from_secs(60)).unwrap()
}

async fn publish_escalation(env: &TestEnv, e: &Escalation) {
    producer(env)
        .send_json(&env.cfg.topics.escalations, &e.identity_id, e, None)
        .await
        .unwrap();
}

async fn publish_raw(env: &TestEnv, key: &str, bytes: &[u8]) {
    producer(env)
        .send_bytes(&env.cfg.topics.escalations, key, bytes, &[], None)
        .await
        .unwrap();
}

fn deliveries(m: &Metrics, outcome: &str) -> u64 {
    m.webhook_deliveries.with_label_values(&[outcome]).get()
}

async fn stop(c: Component) {
    c.stop().await.expect("webhook stops cleanly");
}

/// The real verifier escalates a failing simulated target; the webhook receives each escalation
/// with owner, case, targets, deadline, evidence, the idempotency key and the bearer token.
#[test]
fn verifier_escalations_arrive_at_the_webhook_with_their_fields() {
    let (receiver, mut env) = with_receiver("fields");
    let signing = token_file("signing");
    env.cfg.escalations.webhook_signing_secret_file = Some(signing.clone());
    own_cloud(&mut env.cfg);
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let mut parts = workers_with_failing(&env.cfg, TargetKind::Cloud, &metrics, &health);
        parts.push(Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone()));
        let webhook = Process::Webhook.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(wait_for_groups(&env.cfg, &metrics, WAIT).await);
        let events = env.leavers(5);
        env.publish(&events, Mode::Structured).await;
        let ids: Vec<uuid::Uuid> = events
            .iter()
            .map(|e| case_id_for(&e.source, &e.id))
            .collect();
        let all_delivered = || {
            let seen = receiver.seen();
            ids.iter().all(|id| {
                seen.iter()
                    .any(|s| s.json()["case_id"] == id.to_string() && s.answered == 200)
            })
        };
        assert!(
            eventually(all_delivered).await,
            "not every case's escalation arrived: {:?}",
            receiver.seen()
        );

        let on_topic: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
        let log = env.case_log().await;
        let key = std::fs::read_to_string(&signing).unwrap();
        for (ev, id) in events.iter().zip(&ids) {
            let sent: Vec<&Escalation> = on_topic.iter().filter(|e| e.case_id == *id).collect();
            assert_eq!(sent.len(), 1, "one escalation per case on the topic");
            let esc = sent[0];
            let got = receiver.seen_for(esc.escalation_id);
            assert_eq!(got.len(), 1, "delivered once, first try");
            let s = &got[0];
            // The body is the escalation as published, field for field.
            assert_eq!(s.json(), serde_json::to_value(esc).unwrap());
            let b = s.json();
            assert_eq!(b["schema"], "revoke.escalation.v1");
            assert_eq!(b["identity_id"], ev.subject.as_str());
            assert_eq!(b["reason"], "target_failed");
            assert_eq!(b["targets"], serde_json::json!(["cloud"]));
            assert_eq!(b["owner"]["name"], "cloud-platform");
            assert_eq!(b["owner"]["contact"], "cloud-platform@example.com");
            let case = &log.latest[id];
            assert_eq!(
                b["deadline"],
                serde_json::to_value(case.deadline).unwrap(),
                "the case's deadline"
            );
            let evidence: Vec<String> = serde_json::from_value(b["evidence"].clone()).unwrap();
            assert!(
                evidence.iter().any(|e| e.starts_with("cloud: failed")),
                "{evidence:?}"
            );
            assert!(b["detail"].as_str().unwrap().contains("403"));
            assert_eq!(
                s.header("content-type").as_deref(),
                Some("application/json")
            );
            assert_eq!(s.escalation_id(), esc.escalation_id.to_string());
            assert_eq!(
                s.header("authorization").as_deref(),
                Some(format!("Bearer {TOKEN}").as_str())
            );
            assert_eq!(
                s.header("x-revoke-signature-256"),
                Some(revoke::webhook::signature(
                    key.trim_end().as_bytes(),
                    &s.body
                ))
            );
        }
        assert_eq!(deliveries(&metrics, "delivered"), ids.len() as u64);
        assert_eq!(deliveries(&metrics, "retry"), 0);
        assert_eq!(
            metrics.webhook_delivery_seconds.get_sample_count(),
            ids.len() as u64
        );
        stop(webhook).await;
        for p in parts {
            p.stop().await.unwrap();
        }
    });
}

/// 500, 429, 503, then 200: delivered on the fourth try with the same body and key; the
/// metrics count three retries and one delivery; nothing is left failing.
#[test]
fn a_receiver_failing_three_times_gets_it_on_the_fourth_try() {
    let (receiver, env) = with_receiver("retry");
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        receiver.fail_next(&[500, 429, 503]);
        let esc = escalation("E-retry", 0);
        publish_escalation(&env, &esc).await;
        let webhook = Process::Webhook.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(eventually(|| receiver.delivered(esc.escalation_id) == 1).await);
        let got = receiver.seen_for(esc.escalation_id);
        assert_eq!(
            got.iter().map(|s| s.answered).collect::<Vec<_>>(),
            vec![500, 429, 503, 200]
        );
        assert!(got.iter().all(|s| s.body == got[0].body));
        assert_eq!(got[3].json(), serde_json::to_value(&esc).unwrap());
        // The counters are updated just after the answer: wait for the loop to finish the record.
        let group = revoke::webhook::group(&env.cfg);
        assert!(
            eventually(|| metrics.events_handled.with_label_values(&[&group]).get() == 1).await
        );
        assert_eq!(deliveries(&metrics, "retry"), 3);
        assert_eq!(deliveries(&metrics, "delivered"), 1);
        assert_eq!(metrics.webhook_failing.get(), 0);
        assert_eq!(metrics.webhook_stuck.get(), 0, "3 failures < alert_after 5");
        assert!(health.report().is_ok(), "{:?}", health.report());
        stop(webhook).await;
    });
}

/// A receiver refusing with 401 beyond `webhook_alert_after` attempts: the delivery counts as
/// stuck and `/healthz` fails naming the case; once the receiver accepts, it is delivered and
/// everything recovers. Retrying never gives up on a 4xx.
#[test]
fn a_stuck_delivery_fails_health_until_delivered() {
    let (receiver, mut env) = with_receiver("stuck");
    env.cfg.escalations.webhook_alert_after = 3;
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        receiver.fail_always(Some(401));
        let esc = escalation("E-stuck", 0);
        publish_escalation(&env, &esc).await;
        let webhook = Process::Webhook.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(eventually(|| metrics.webhook_stuck.get() == 1).await);
        assert_eq!(metrics.webhook_failing.get(), 1);
        let report = health.report().unwrap_err();
        assert!(report.contains(&esc.case_id.to_string()), "{report}");
        assert!(report.contains("401"), "{report}");
        assert!(!report.contains(TOKEN), "{report}");
        // Still retrying well past the alert.
        assert!(eventually(|| receiver.seen_for(esc.escalation_id).len() >= 6).await);
        receiver.fail_always(None);
        assert!(eventually(|| receiver.delivered(esc.escalation_id) == 1).await);
        assert!(
            eventually(|| metrics.webhook_stuck.get() == 0 && metrics.webhook_failing.get() == 0)
                .await
        );
        assert!(
            eventually(|| health.report().is_ok()).await,
            "{:?}",
            health.report()
        );
        stop(webhook).await;
    });
}

/// A delivered escalation is not delivered again by a restarted webhook; one stopped while its
/// delivery was still failing is delivered after the restart.
#[test]
fn a_restarted_webhook_redelivers_only_what_was_not_acknowledged() {
    let (receiver, env) = with_receiver("restart");
    env.block_on(async {
        // Same identity, so same partition and delivered in order: a redelivery of `first`
        // would reach the receiver before `second` does.
        let first = escalation("E-restart", 1);
        let second = escalation("E-restart", 2);
        publish_escalation(&env, &first).await;
        let run1 = Process::Webhook.spawn(&env.cfg, Metrics::new(), Health::new());
        assert!(eventually(|| receiver.delivered(first.escalation_id) == 1).await);
        stop(run1).await;

        receiver.fail_always(Some(503));
        publish_escalation(&env, &second).await;
        let m2 = Metrics::new();
        let run2 = Process::Webhook.spawn(&env.cfg, m2.clone(), Health::new());
        assert!(eventually(|| receiver.seen_for(second.escalation_id).len() >= 2).await);
        // Stopped mid-retry: returns promptly, the offset stays unstored.
        stop(run2).await;
        assert_eq!(deliveries(&m2, "delivered"), 0);
        assert_eq!(m2.webhook_failing.get(), 0, "gauge released on stop");

        receiver.fail_always(None);
        let run3 = Process::Webhook.spawn(&env.cfg, Metrics::new(), Health::new());
        assert!(eventually(|| receiver.delivered(second.escalation_id) == 1).await);
        stop(run3).await;
        assert_eq!(
            receiver.seen_for(first.escalation_id).len(),
            1,
            "the acknowledged escalation was sent again"
        );
        assert_eq!(receiver.delivered(second.escalation_id), 1);
    });
}

/// Records that are not escalations go to the DLQ with the reason; the next one on the same
/// partition is still delivered.
#[test]
fn a_malformed_record_goes_to_the_dlq_and_the_next_is_delivered() {
    let (receiver, env) = with_receiver("dlq");
    env.block_on(async {
        let metrics = Metrics::new();
        let good = escalation("E-dlq", 0);
        let mut future = serde_json::to_value(escalation("E-dlq", 1)).unwrap();
        future["schema"] = "revoke.escalation.v9".into();
        publish_raw(&env, "E-dlq", b"{not json").await;
        publish_raw(&env, "E-dlq", &serde_json::to_vec(&future).unwrap()).await;
        publish_escalation(&env, &good).await;
        let webhook = Process::Webhook.spawn(&env.cfg, metrics.clone(), Health::new());
        assert!(eventually(|| receiver.delivered(good.escalation_id) == 1).await);
        stop(webhook).await;
        assert_eq!(receiver.seen().len(), 1, "only the escalation was POSTed");

        let group = revoke::webhook::group(&env.cfg);
        let letters: Vec<DeadLetter> = env.read_json(&env.cfg.topics.dlq).await;
        let mut reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
        reasons.sort();
        assert_eq!(reasons, vec!["malformed_escalation", "unknown_schema"]);
        for l in &letters {
            assert_eq!(l.rejected_by, group);
            assert_eq!(l.source_topic, env.cfg.topics.escalations);
        }
        assert_eq!(
            metrics
                .dlq
                .with_label_values(&[&group, "malformed_escalation"])
                .get(),
            1
        );
    });
}

/// A burst of escalations for many identities: each delivered exactly once, each identity's in
/// the order they were published, never more requests at once than `webhook_max_concurrent`.
#[test]
fn a_burst_is_delivered_once_each_in_order_per_identity_within_the_concurrency_limit() {
    let (receiver, mut env) = with_receiver("burst");
    *receiver.hold.lock().unwrap() = Duration::from_millis(5);
    env.cfg.escalations.webhook_max_concurrent = 4;
    env.block_on(async {
        let (identities, per_identity) = (40, 10);
        let mut published = Vec::new();
        let p = producer(&env);
        let mut acks = Vec::new();
        for n in 0..per_identity {
            for i in 0..identities {
                let e = escalation(&format!("E-burst-{i:03}"), n);
                acks.push(
                    p.enqueue_json(&env.cfg.topics.escalations, &e.identity_id, &e, None)
                        .unwrap(),
                );
                published.push(e);
            }
        }
        for a in acks {
            a.wait().await.unwrap();
        }
        let metrics = Metrics::new();
        let started = Instant::now();
        let webhook = Process::Webhook.spawn(&env.cfg, metrics.clone(), Health::new());
        let total = published.len();
        assert!(eventually(|| receiver.seen().len() >= total).await);
        let took = started.elapsed();
        stop(webhook).await;
        let seen = receiver.seen();
        let first_to_last = seen[seen.len() - 1].at - seen[0].at;
        assert_eq!(seen.len(), total, "each escalation once");
        for i in 0..identities {
            let identity = format!("E-burst-{i:03}");
            let sent: Vec<String> = published
                .iter()
                .filter(|e| e.identity_id == identity)
                .map(|e| e.escalation_id.to_string())
                .collect();
            let got: Vec<String> = seen
                .iter()
                .filter(|s| s.json()["identity_id"] == identity.as_str())
                .map(Seen::escalation_id)
                .collect();
            assert_eq!(got, sent, "{identity}: order");
        }
        let most = receiver.most_open.load(Ordering::SeqCst);
        assert!(most <= 4, "{most} requests at once");
        eprintln!(
            "[{}] {total} escalations: {:.2} s from start, {:.2} s first to last request ({:.0}/s; receiver holds each 5 ms), at most {most} requests at once",
            env.broker,
            took.as_secs_f64(),
            first_to_last.as_secs_f64(),
            total as f64 / first_to_last.as_secs_f64()
        );
    });
}

/// The `revoke webhook` process: a receiver refusing with 401 past the alert threshold gives
/// one error line naming the case, escalation and owner, `/healthz` 503, then 200 once it is
/// delivered; the bearer token never appears in its output. Needs the built binary.
#[test]
#[ignore = "runs the revoke binary (cargo build -p revoke); run with --include-ignored"]
fn the_webhook_process_alerts_and_never_prints_its_token() {
    use revoke_tests::procs::{free_port, http_get, metric, revoke_bin};
    let env = TestEnv::new("wh-proc");
    let receiver = Receiver::default();
    let url = env.block_on(receiver.start());
    let esc = escalation("E-proc", 0);
    env.block_on(publish_escalation(&env, &esc));
    receiver.fail_always(Some(401));
    let port = free_port();
    let stderr_path = std::env::temp_dir().join(format!("revoke-wh-{}.log", uuid::Uuid::new_v4()));
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let t = &env.cfg.topics;
    let mut child = std::process::Command::new(revoke_bin())
        .args(["--metrics-listen", &format!("127.0.0.1:{port}"), "webhook"])
        .env("KAFKA_BROKERS", &env.cfg.kafka.brokers)
        .env("REVOKE_TOPICS__ESCALATIONS", &t.escalations)
        .env("REVOKE_TOPICS__DLQ", &t.dlq)
        .env("REVOKE_KAFKA__GROUP_PREFIX", &env.cfg.kafka.group_prefix)
        // A URL whose query holds a credential too: it must not be printed either.
        .env(
            "REVOKE_ESCALATIONS__WEBHOOK_URL",
            format!("{url}?key={TOKEN}q"),
        )
        .env(
            "REVOKE_ESCALATIONS__WEBHOOK_TOKEN_ENV",
            "REVOKE_TEST_WEBHOOK_TOKEN",
        )
        .env("REVOKE_TEST_WEBHOOK_TOKEN", TOKEN)
        .env("REVOKE_ESCALATIONS__WEBHOOK_ALERT_AFTER", "2")
        .env("REVOKE_ESCALATIONS__WEBHOOK_INITIAL_BACKOFF_MS", "20")
        .env("REVOKE_ESCALATIONS__WEBHOOK_MAX_BACKOFF_MS", "100")
        .env(
            "REVOKE_LOG",
            "debug,rdkafka=warn,librdkafka=warn,h2=info,hyper=info,hyper_util=info,reqwest=debug",
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        let deadline = Instant::now() + WAIT;
        while !ok() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("503 on /healthz", &|| {
        http_get(port, "/healthz").is_ok_and(|(s, _)| s == 503)
    });
    let (_, health) = http_get(port, "/healthz").unwrap();
    assert!(health.contains(&esc.case_id.to_string()), "{health}");
    let (_, m) = http_get(port, "/metrics").unwrap();
    assert_eq!(metric(&m, "revoke_webhook_stuck "), Some(1.0), "{m}");
    receiver.fail_always(None);
    wait("the delivery", &|| {
        receiver.delivered(esc.escalation_id) == 1
    });
    wait("200 on /healthz", &|| {
        http_get(port, "/healthz").is_ok_and(|(s, _)| s == 200)
    });
    let (_, m) = http_get(port, "/metrics").unwrap();
    assert_eq!(
        metric(&m, "revoke_webhook_deliveries_total{outcome=\"delivered\"}"),
        Some(1.0)
    );
    assert_eq!(metric(&m, "revoke_webhook_stuck "), Some(0.0));
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    std::fs::remove_file(&stderr_path).ok();
    assert_eq!(status.code(), Some(0), "{log}");
    let alert = log
        .lines()
        .find(|l| {
            l.contains("ERROR") && l.contains("not delivered to the webhook after 2 attempts")
        })
        .unwrap_or_else(|| panic!("no alert line in:\n{log}"));
    for part in [
        esc.case_id.to_string(),
        esc.escalation_id.to_string(),
        "vault-team".into(),
        "401".into(),
        "webhook_token_env".into(),
    ] {
        assert!(alert.contains(&part), "{part} missing from {alert}");
    }
    assert!(!log.contains(TOKEN), "the token was printed:\n{log}");
    let got = receiver.seen_for(esc.escalation_id);
    assert!(got
        .iter()
        .all(|s| s.header("authorization") == Some(format!("Bearer {TOKEN}"))));
}

/// `revoke webhook` without `escalations.webhook_url` is a configuration error: exit 2 with a
/// message naming the setting, before it connects anywhere.
#[test]
#[ignore = "runs the revoke binary (cargo build -p revoke); run with --include-ignored"]
fn the_webhook_process_without_a_url_exits_2() {
    let out = std::process::Command::new(revoke_tests::procs::revoke_bin())
        .args([
            "--metrics-listen",
            "",
            "--brokers",
            "127.0.0.1:1",
            "webhook",
        ])
        .env_remove("REVOKE_ESCALATIONS__WEBHOOK_URL")
        .env_remove("REVOKE_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("escalations.webhook_url"), "{err}");
}

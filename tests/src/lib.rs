//! Test harness for the revoke suite.
//!
//! `TestEnv` gives each test its own broker namespace: on the embedded mock cluster (the default,
//! for plain `cargo test`) a fresh cluster per test; on a real broker (`REVOKE_TEST_KAFKA` set,
//! by the README's test command) unique topic names and group prefix per test, so tests never
//! see each other's records and need no cleanup order.
//!
//! Under `CI=true` a test without a broker address fails unless `REVOKE_TEST_BROKER=embedded`
//! chose the embedded one explicitly.

pub mod bench_cases;
pub mod evidence_kit;
pub mod faultproxy;
pub mod gated;
pub mod gitlab;
pub mod hostile;
pub mod http_json;
pub mod keycloak;
pub mod kit;
pub mod moto;
pub mod offsets;
pub mod openbao_http;
pub mod procs;
pub mod redirect;
pub mod samba_dc;
pub mod scim_http;
pub mod signing_kit;
pub mod slapd;
pub mod ssf_receiver;
pub mod ssf_transmitter;

use chrono::Utc;
use revoke::cases::{read_case_log, CaseLog};
use revoke::embedded::Embedded;
use revoke::hr::{publish_events, synthetic_leaver, Mode};
use revoke_shared::config::Config;
use revoke_shared::contract::HrEvent;
use revoke_shared::kafka::{read_to_end, Producer};
use std::future::Future;
use std::time::{Duration, Instant};

/// The case id of each of `events`.
pub fn case_ids(events: &[HrEvent]) -> Vec<uuid::Uuid> {
    events
        .iter()
        .map(|e| revoke_shared::contract::case_id_for(&e.source, &e.id))
        .collect()
}

/// Whether every case of `ids` is in `state` in `log`.
pub fn all_in_state(
    log: &CaseLog,
    ids: &[uuid::Uuid],
    state: revoke_shared::contract::CaseState,
) -> bool {
    ids.iter()
        .all(|id| log.latest.get(id).is_some_and(|c| c.state == state))
}

/// How many targets are done across the latest versions of every case in `log`.
pub fn targets_done(log: &CaseLog) -> usize {
    log.latest
        .values()
        .map(|c| {
            c.targets
                .iter()
                .filter(|(_, s)| s.state == revoke_shared::contract::TargetState::Done)
                .count()
        })
        .sum()
}

/// A retry policy for tests against real peers: a few quick attempts, bounded in time.
pub fn quick_retries() -> revoke_shared::retry::RetryPolicy {
    revoke_shared::retry::RetryPolicy {
        max_attempts: 3,
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_total: Duration::from_secs(5),
    }
}

pub struct TestEnv {
    pub cfg: Config,
    pub broker: &'static str,
    // Shut down in `drop`, before the embedded broker its clients talk to.
    rt: Option<tokio::runtime::Runtime>,
    _embedded: Option<Embedded>,
    _watchdog: Watchdog,
}

/// How long one test may hold its `TestEnv` before the watchdog ends the whole test process.
/// `block_on` times out at 10 minutes; this catches what a timeout cannot (a body blocked
/// outside an `.await`, or a panic whose clean-up waits on a thread that never stops), so a
/// broken test fails with a message instead of using up CI's time.
const TEST_BUDGET: Duration = Duration::from_secs(15 * 60);

/// Aborts the process if not dropped within its budget.
struct Watchdog {
    done: Option<std::sync::mpsc::Sender<()>>,
}

impl Watchdog {
    fn start(name: &str, budget: Duration) -> Watchdog {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let name = name.to_string();
        std::thread::Builder::new()
            .name(format!("watchdog-{name}"))
            .spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(budget) {
                    eprintln!(
                        "test {name} still running after {}s: aborting the test process",
                        budget.as_secs()
                    );
                    std::process::abort();
                }
            })
            .expect("watchdog thread");
        Watchdog { done: Some(done) }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Dropping the sender wakes the watchdog thread, which then ends quietly.
        self.done.take();
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // A plain drop of the runtime waits for every blocking task without limit, so a test
        // that panics while a blocking reader loops (or a consumer polls) would hang for ever.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(10));
        }
    }
}

impl TestEnv {
    /// A namespace on the real broker when `REVOKE_TEST_KAFKA` is set, else an embedded one.
    pub fn new(name: &str) -> TestEnv {
        if std::env::var("REVOKE_LOG").is_ok() {
            revoke_shared::telemetry::init(revoke_shared::telemetry::LogFormat::Text);
        }
        let watchdog = Watchdog::start(name, TEST_BUDGET);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("runtime");
        let mut cfg = Config::default();
        cfg.metrics.listen = String::new();
        cfg.verifier.deadline_secs = 300;
        cfg.verifier.tick_ms = 200;
        cfg.worker.initial_backoff_ms = 5;
        cfg.worker.max_backoff_ms = 50;
        cfg.worker.max_attempts = 4;
        // The blast-radius guard stays on (the product default: the verifier releases every
        // case to the workers), with its limit out of the way of tests that publish many
        // leavers at once; the guard's own tests set theirs.
        cfg.verifier.guard.max_terminations = 1_000_000;
        let tag = format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        match std::env::var("REVOKE_TEST_KAFKA")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(brokers) => {
                cfg.kafka.brokers = brokers;
                cfg.kafka.group_prefix = format!("{tag}.");
                for topic in fleet_kit::all_topics_mut(&mut cfg.topics) {
                    *topic = format!("{tag}.{topic}");
                }
                cfg.topics.partitions = 4;
                cfg.consumer.session_timeout_ms = 6000;
                let created = rt.block_on(revoke::topics::create_topics(&cfg));
                if let Err(e) = created {
                    panic!(
                        "creating topics on the real broker {}: {e}",
                        cfg.kafka.brokers
                    );
                }
                TestEnv {
                    cfg,
                    broker: "kafka",
                    _embedded: None,
                    rt: Some(rt),
                    _watchdog: watchdog,
                }
            }
            None => {
                // CI runs this suite twice: on the embedded broker (chosen explicitly with
                // REVOKE_TEST_BROKER=embedded) and on the real one. A missing broker is a failure.
                if std::env::var("CI").is_ok_and(|v| v == "true")
                    && std::env::var("REVOKE_TEST_BROKER").map_or(true, |v| v != "embedded")
                {
                    panic!("CI=true but REVOKE_TEST_KAFKA is not set: the real broker is missing (run the README's test command)");
                }
                cfg.topics.partitions = 4;
                let embedded = Embedded::start(&mut cfg).expect("embedded broker");
                TestEnv {
                    cfg,
                    broker: "embedded",
                    _embedded: Some(embedded),
                    rt: Some(rt),
                    _watchdog: watchdog,
                }
            }
        }
    }

    /// Runs a test body; a body still running after 10 minutes fails the test rather than hang.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt()
            .block_on(async { tokio::time::timeout(Duration::from_secs(600), f).await })
            .expect("test body did not finish within 10 minutes")
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("the runtime lives until drop")
    }

    /// `n` synthetic leavers with ids unique to this test.
    pub fn leavers(&self, n: usize) -> Vec<HrEvent> {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let now = Utc::now();
        (0..n)
            .map(|i| synthetic_leaver(i, "urn:revoke:test-hr", &run, now))
            .collect()
    }

    pub async fn publish(&self, events: &[HrEvent], mode: Mode) {
        let producer =
            Producer::with_timeout(&self.cfg, Duration::from_secs(60)).expect("producer");
        publish_events(&producer, &self.cfg.topics.terminations, events, mode)
            .await
            .expect("publish");
    }

    /// Sends raw bytes with an optional key and headers to the terminations topic.
    pub async fn publish_raw(&self, key: Option<&str>, bytes: &[u8], headers: &[(&str, &str)]) {
        self.publish_raw_to(&self.cfg.topics.terminations, key, bytes, headers)
            .await
    }

    /// Sends raw bytes with an optional key and headers to `topic`.
    pub async fn publish_raw_to(
        &self,
        topic: &str,
        key: Option<&str>,
        bytes: &[u8],
        headers: &[(&str, &str)],
    ) {
        let producer =
            Producer::with_timeout(&self.cfg, Duration::from_secs(60)).expect("producer");
        producer
            .send_bytes(topic, key.unwrap_or(""), bytes, headers, None)
            .await
            .expect("publish raw");
    }

    /// Creates `name` as the cases topic is made (compacted, `topics.partitions` partitions), on
    /// either broker: a test's own copy of a topic.
    pub async fn create_cases_like_topic(&self, name: &str) {
        match &self._embedded {
            Some(embedded) => embedded
                .create_topic(name, self.cfg.topics.partitions)
                .expect("create a topic on the embedded broker"),
            None => {
                let mut cfg = self.cfg.clone();
                cfg.topics.cases = name.to_string();
                revoke::topics::create_topics(&cfg)
                    .await
                    .expect("create a topic on the broker");
            }
        }
    }

    pub async fn case_log(&self) -> CaseLog {
        let cfg = self.cfg.clone();
        tokio::task::spawn_blocking(move || read_case_log(&cfg))
            .await
            .expect("join")
            .expect("read cases")
    }

    /// Polls the cases topic until `done(log)` or `timeout`; returns the last log read.
    pub async fn wait_cases(&self, timeout: Duration, done: impl Fn(&CaseLog) -> bool) -> CaseLog {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.case_log().await;
            if done(&log) || Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every record of `topic` as written: key, value and headers (to copy one exactly).
    pub async fn read_raw(&self, topic: &str) -> Vec<revoke_shared::kafka::ReadRecord> {
        let cfg = self.cfg.clone();
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || read_to_end(&cfg, &topic, Duration::from_secs(30)))
            .await
            .expect("join")
            .expect("read topic")
    }

    /// Every record of `topic`, JSON-decoded.
    pub async fn read_json<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        topic: &str,
    ) -> Vec<T> {
        let cfg = self.cfg.clone();
        let topic = topic.to_string();
        let records =
            tokio::task::spawn_blocking(move || read_to_end(&cfg, &topic, Duration::from_secs(30)))
                .await
                .expect("join")
                .expect("read topic");
        records
            .into_iter()
            .filter_map(|r| r.payload)
            .map(|p| serde_json::from_slice(&p).expect("topic record is the expected JSON"))
            .collect()
    }

    /// Every record of `topic`, JSON-decoded, once at least `n` are there — or after about a
    /// minute, with what there is (the caller's assertion says what is missing).
    pub async fn wait_json<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        topic: &str,
        n: usize,
    ) -> Vec<T> {
        let mut out: Vec<T> = Vec::new();
        for _ in 0..300 {
            out = self.read_json(topic).await;
            if out.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        out
    }

    /// The dead letters, once at least `n` are there (or the wait ends).
    pub async fn dead_letters(&self, n: usize) -> Vec<revoke_shared::contract::DeadLetter> {
        self.wait_json(&self.cfg.topics.dlq, n).await
    }
}

pub mod fleet_kit;

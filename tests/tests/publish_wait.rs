//! One-shot producers and topics that are new or missing, through the real binary: `revoke
//! publish` started the moment a topic is created succeeds every time (it waits, bounded, for
//! the partitions' leaders), and a topic that never comes fails within `--leader-wait-secs`
//! with exit code 1 and the topic's name, for every one-shot command that writes.
//!
//! Embedded broker (librdkafka's mock cluster, reached by the child process over TCP) by
//! default; the real broker with `REVOKE_TEST_KAFKA` (the README's test command). Outcomes are
//! read back from the broker with plain clients.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use revoke_shared::config::Config;
use revoke_shared::kafka::read_to_end;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOPICS: usize = 20;
const PARTITIONS: i32 = 4;

/// The broker under test: the real one when `REVOKE_TEST_KAFKA` is set, else a mock cluster
/// (kept alive by the caller; it must stay on this thread).
enum Broker {
    Real(String),
    Embedded(MockCluster<'static, DefaultProducerContext>),
}

impl Broker {
    fn start() -> Broker {
        match std::env::var("REVOKE_TEST_KAFKA")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(b) => Broker::Real(b),
            None => {
                if std::env::var("CI").is_ok_and(|v| v == "true")
                    && std::env::var("REVOKE_TEST_BROKER").map_or(true, |v| v != "embedded")
                {
                    panic!("CI=true but REVOKE_TEST_KAFKA is not set: the real broker is missing (run the README's test command)");
                }
                Broker::Embedded(MockCluster::new(1).expect("mock cluster"))
            }
        }
    }

    fn brokers(&self) -> String {
        match self {
            Broker::Real(b) => b.clone(),
            Broker::Embedded(m) => m.bootstrap_servers(),
        }
    }

    /// Creates `topic` and returns at once: no wait for leaders (that is the binary's job).
    fn create_topic(&self, rt: &tokio::runtime::Runtime, topic: &str) {
        match self {
            Broker::Embedded(m) => m.create_topic(topic, PARTITIONS, 1).expect("mock topic"),
            Broker::Real(b) => {
                let mut cfg = Config::default();
                cfg.kafka.brokers = b.clone();
                let admin: AdminClient<DefaultClientContext> =
                    revoke_shared::kafka::admin_config(&cfg)
                        .create()
                        .expect("admin client");
                let new = NewTopic::new(topic, PARTITIONS, TopicReplication::Fixed(1));
                let res = rt
                    .block_on(admin.create_topics([&new], &AdminOptions::new()))
                    .expect("create topics");
                assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
            }
        }
    }
}

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Runs the binary against `brokers` with `env` on top; returns its output and how long it took.
fn revoke(brokers: &str, env: &[(&str, &str)], args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(revoke_tests::procs::revoke_bin())
        .args(["--brokers", brokers, "--metrics-listen", ""])
        .args(args)
        .env_remove("REVOKE_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run revoke");
    (out, start.elapsed())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn publish_right_after_creating_the_topic_succeeds_every_time() {
    let broker = Broker::start();
    let brokers = broker.brokers();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let run = tag();
    let mut failures = Vec::new();
    let start = Instant::now();
    for i in 0..TOPICS {
        let topic = format!("publish-wait-{run}-{i}.hr.terminations");
        broker.create_topic(&rt, &topic);
        let (out, took) = revoke(
            &brokers,
            &[("REVOKE_TOPICS__TERMINATIONS", topic.as_str())],
            &["publish", "--generate", "2"],
        );
        if out.status.code() != Some(0) {
            failures.push(format!("{topic} after {took:?}: {}", text(&out)));
            continue;
        }
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("published 2 events to {topic}")),
            "{}",
            text(&out)
        );
        // At the broker: both records are on the topic.
        let mut cfg = Config::default();
        cfg.kafka.brokers = brokers.clone();
        let records = read_to_end(&cfg, &topic, Duration::from_secs(30)).expect("read back");
        assert_eq!(records.len(), 2, "{topic}");
    }
    assert!(
        failures.is_empty(),
        "{} of {TOPICS} publishes failed: {failures:#?}",
        failures.len()
    );
    eprintln!(
        "{TOPICS} create-then-publish rounds in {:?} (broker {})",
        start.elapsed(),
        match broker {
            Broker::Real(_) => "kafka",
            Broker::Embedded(_) => "embedded",
        }
    );
}

#[test]
fn one_shot_commands_fail_within_the_bound_when_the_topic_never_comes() {
    let broker = Broker::start();
    let brokers = broker.brokers();
    let missing = format!("publish-wait-{}-never", tag());
    let bound = Duration::from_secs(3);
    let secs = bound.as_secs().to_string();
    let env = [
        ("REVOKE_TOPICS__TERMINATIONS", missing.as_str()),
        ("REVOKE_TOPICS__GUARD", missing.as_str()),
        ("REVOKE_TOPICS__CONFIRMATIONS", missing.as_str()),
    ];
    for args in [
        vec!["publish", "--generate", "1"],
        vec![
            "approve",
            "batch-1",
            "--digest",
            "0123456789abcdef",
            "--by",
            "alice",
        ],
        vec!["reject", "batch-1", "--by", "alice"],
        vec![
            "case",
            "ack",
            "E000001",
            "--target",
            "directory",
            "--by",
            "alice",
            "--note",
            "done by hand",
        ],
    ] {
        let mut all = vec!["--leader-wait-secs", secs.as_str()];
        all.extend(args.iter().copied());
        let (out, took) = revoke(&brokers, &env, &all);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {said}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("topic {missing} is not usable"))
                && stderr.contains("revoke topics create"),
            "{args:?}: {said}"
        );
        assert!(
            took >= bound && took < bound + Duration::from_secs(10),
            "{args:?} took {took:?} for a {bound:?} bound"
        );
    }
    // Nothing created it on the way (a misspelt topic must stay missing).
    let mut cfg = Config::default();
    cfg.kafka.brokers = brokers;
    let client: BaseConsumer = revoke_shared::kafka::admin_config(&cfg)
        .set("allow.auto.create.topics", "false")
        .create()
        .expect("client");
    let md = client
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    assert!(
        md.topics()
            .iter()
            .all(|t| t.name() != missing || t.partitions().is_empty()),
        "{missing} exists"
    );
}

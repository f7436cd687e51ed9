//! revoke's Kafka topics: every topic keyed by identity with one partition count, so the
//! verifier's inputs and its changelog are co-partitioned; `revoke.cases` compacted. Creating
//! them is `revoke topics create` (`cli::topics`), the embedded broker and the test harness.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use revoke_shared::config::Config;
use std::time::Duration;

/// One topic revoke uses: its name, partition count and per-topic settings.
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub settings: Vec<(&'static str, &'static str)>,
}

/// How long restore claims are kept: 7 days (`worker.restore_max_age_secs` is at most 1 day).
pub const RESTORE_CLAIMS_RETENTION_MS: &str = "604800000";

/// Every topic revoke uses.
pub fn topic_specs(cfg: &Config) -> Vec<TopicSpec> {
    let t = &cfg.topics;
    let keyed = |name: &String, settings: Vec<(&'static str, &'static str)>| TopicSpec {
        name: name.clone(),
        partitions: t.partitions,
        settings,
    };
    vec![
        keyed(&t.terminations, vec![]),
        // Terminations re-published by the verifier when their effective time comes.
        keyed(&t.due, vec![]),
        // Restore requests after a rescind (verifier -> workers).
        keyed(&t.restores, vec![]),
        keyed(&t.confirmations, vec![]),
        // The changelog keeps the latest version of every case forever.
        keyed(
            &t.cases,
            vec![
                ("cleanup.policy", "compact"),
                ("min.compaction.lag.ms", "60000"),
            ],
        ),
        keyed(&t.escalations, vec![]),
        // Refused input is kept until someone deals with it.
        keyed(&t.dlq, vec![("retention.ms", "-1")]),
        // Workers' claims on restore requests: one partition (the first claim of a request is
        // the one fleet-wide order decides), kept well past `worker.restore_max_age_secs`
        // (requests older than that are refused unread).
        TopicSpec {
            name: t.restore_claims.clone(),
            partitions: 1,
            settings: vec![("retention.ms", RESTORE_CLAIMS_RETENTION_MS)],
        },
        // The blast-radius guard's log: one partition (its order is the fleet-wide order every
        // verifier judges alike), kept for ever (a held batch stays decidable; small: one
        // record per case and per decision).
        TopicSpec {
            name: t.guard.clone(),
            partitions: 1,
            settings: vec![("retention.ms", "-1")],
        },
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum TopicsError {
    #[error("connecting to {brokers}: {source}")]
    Client {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("creating topic {topic}: {why}")]
    Create { topic: String, why: String },
    #[error("topic {topic} exists with {actual} partitions, expected {expected}: the verifier needs co-partitioned topics (recreate it, or set topics.partitions = {actual})")]
    Mismatch {
        topic: String,
        actual: usize,
        expected: i32,
    },
}

/// Creates the topics that do not exist; checks the partition count of those that do.
/// Returns (topic, "created" | "exists").
pub async fn create_topics(cfg: &Config) -> Result<Vec<(String, &'static str)>, TopicsError> {
    let client_err = |source| TopicsError::Client {
        brokers: cfg.kafka.brokers.clone(),
        source,
    };
    let admin: AdminClient<DefaultClientContext> = revoke_shared::kafka::admin_config(cfg)
        .create()
        .map_err(client_err)?;
    let specs = topic_specs(cfg);
    let new: Vec<NewTopic> = specs
        .iter()
        .map(|spec| {
            let mut nt = NewTopic::new(
                &spec.name,
                spec.partitions,
                TopicReplication::Fixed(cfg.topics.replication_factor),
            );
            for (k, v) in &spec.settings {
                nt = nt.set(k, v);
            }
            nt
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(new.iter(), &opts)
        .await
        .map_err(client_err)?;
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(name) => out.push((name, "created")),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => out.push((name, "exists")),
            Err((name, code)) => {
                return Err(TopicsError::Create {
                    topic: name,
                    why: code.to_string(),
                })
            }
        }
    }
    // Return only once every topic is usable (all partitions have a leader), so processes
    // started right after do not subscribe to topics their metadata does not show yet; and
    // check the partition counts of topics that already existed.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let md = admin
            .inner()
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(client_err)?;
        let mut ready = true;
        for spec in &specs {
            match md.topics().iter().find(|t| t.name() == spec.name) {
                Some(t) if !t.partitions().is_empty() => {
                    if t.partitions().len() != spec.partitions as usize {
                        return Err(TopicsError::Mismatch {
                            topic: spec.name.clone(),
                            actual: t.partitions().len(),
                            expected: spec.partitions,
                        });
                    }
                    ready &= t.partitions().iter().all(|p| p.leader() >= 0);
                }
                _ => ready = false,
            }
        }
        if ready {
            return Ok(out);
        }
        if std::time::Instant::now() > deadline {
            return Err(TopicsError::Create {
                topic: "(all)".into(),
                why: "topics not usable (no partition leaders) within 30 s".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! `revoke topics create`: every topic keyed by identity with one partition count, so the
//! verifier's inputs and its changelog are co-partitioned; `revoke.cases` compacted.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use revoke_shared::config::Config;
use std::time::Duration;

/// (topic, per-topic settings) for every topic revoke uses.
pub fn topic_specs(cfg: &Config) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let t = &cfg.topics;
    vec![
        (t.terminations.clone(), vec![]),
        // Terminations re-published by the verifier when their effective time comes.
        (t.due.clone(), vec![]),
        // Restore requests after a rescind (verifier -> workers).
        (t.restores.clone(), vec![]),
        (t.confirmations.clone(), vec![]),
        // The changelog keeps the latest version of every case forever.
        (
            t.cases.clone(),
            vec![
                ("cleanup.policy", "compact"),
                ("min.compaction.lag.ms", "60000"),
            ],
        ),
        (t.escalations.clone(), vec![]),
        // Refused input is kept until someone deals with it.
        (t.dlq.clone(), vec![("retention.ms", "-1")]),
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
        .map(|(name, settings)| {
            let mut nt = NewTopic::new(
                name,
                cfg.topics.partitions,
                TopicReplication::Fixed(cfg.topics.replication_factor),
            );
            for (k, v) in settings {
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
        for (name, _) in &specs {
            match md.topics().iter().find(|t| t.name() == name) {
                Some(t) if !t.partitions().is_empty() => {
                    if t.partitions().len() != cfg.topics.partitions as usize {
                        return Err(TopicsError::Mismatch {
                            topic: name.clone(),
                            actual: t.partitions().len(),
                            expected: cfg.topics.partitions,
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

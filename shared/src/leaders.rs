//! A bounded wait until topics are usable: every partition of each topic has a leader in the
//! broker's metadata. One-shot commands (`revoke publish`, `approve`/`reject`, `case ack`) run
//! it before producing, so a command started right after `revoke topics create` (or while a
//! broker is still electing leaders after a restart) waits for the topic instead of failing its
//! first record, and a topic that never comes fails within the bound with a message naming it.
//!
//! Why metadata and not just a longer produce timeout: librdkafka already retries a produce that
//! the broker answers `UNKNOWN_TOPIC_OR_PARTITION` (it refreshes metadata and requeues, until
//! `message.timeout.ms`) and waits `topic.metadata.propagation.max.ms` (30 s) before calling a
//! topic missing, but it reports the failure per record with the broker's bare error code. This
//! wait answers the question first, once per topic, with what to check.
//!
//! The metadata client is a group-less consumer: consumers never ask the broker to auto-create
//! a topic (`allow.auto.create.topics=false`), so a misspelt name stays missing here.

use crate::config::Config;
use rdkafka::consumer::BaseConsumer;
use std::time::{Duration, Instant};

/// How long one-shot commands wait for partition leaders unless told otherwise.
pub const DEFAULT_LEADER_WAIT: Duration = Duration::from_secs(30);

/// Pause between metadata requests while a topic is not ready.
const POLL: Duration = Duration::from_millis(200);
/// Upper bound of one metadata request (a broker that does not answer is retried).
const REQUEST: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum LeaderWaitError {
    #[error("cannot create Kafka client for {brokers}: {source} (check kafka.brokers and kafka.properties)")]
    Client {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("topic {topic} is not usable after waiting {waited_ms} ms: {state} (check that `revoke topics create` ran against {brokers}, that the topic's name in [topics] is right, and that the brokers are up; --leader-wait-secs sets the wait)")]
    NotReady {
        topic: String,
        brokers: String,
        waited_ms: u128,
        state: TopicState,
    },
}

/// What the broker's metadata last said about a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicState {
    Ready,
    /// Not in the metadata, or reported unknown.
    Missing,
    /// `without` of `partitions` partitions have no leader.
    NoLeader {
        without: usize,
        partitions: usize,
    },
    /// The metadata request failed (unreachable broker, authorisation …).
    Unanswered(String),
}

impl std::fmt::Display for TopicState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicState::Ready => write!(f, "ready"),
            TopicState::Missing => write!(f, "the broker does not know it"),
            TopicState::NoLeader {
                without,
                partitions,
            } => write!(f, "{without} of {partitions} partitions have no leader"),
            TopicState::Unanswered(e) => write!(f, "metadata request failed: {e}"),
        }
    }
}

/// Waits until every partition of each of `topics` has a leader, at most `bound` in all
/// (blocking: call it outside async code or through `spawn_blocking`). Never loops past the
/// bound: each metadata request is itself capped by what is left of it.
pub fn wait_for_leaders(
    cfg: &Config,
    topics: &[&str],
    bound: Duration,
) -> Result<(), LeaderWaitError> {
    let client: BaseConsumer = crate::kafka::admin_config(cfg)
        .set("allow.auto.create.topics", "false")
        .create()
        .map_err(|source| LeaderWaitError::Client {
            brokers: cfg.kafka.brokers.clone(),
            source,
        })?;
    let start = Instant::now();
    let deadline = start + bound;
    for topic in topics {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let state = topic_state(&client, topic, left.min(REQUEST));
            if state == TopicState::Ready {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LeaderWaitError::NotReady {
                    topic: (*topic).to_string(),
                    brokers: cfg.kafka.brokers.clone(),
                    waited_ms: start.elapsed().as_millis(),
                    state,
                });
            }
            tracing::debug!(topic, %state, "waiting for partition leaders");
            std::thread::sleep(left.min(POLL));
        }
    }
    Ok(())
}

fn topic_state(client: &BaseConsumer, topic: &str, timeout: Duration) -> TopicState {
    use rdkafka::consumer::Consumer;
    // A zero timeout would not even send the request; the caller's deadline still holds.
    let timeout = timeout.max(Duration::from_millis(100));
    let md = match client.fetch_metadata(Some(topic), timeout) {
        Ok(md) => md,
        Err(e) => return TopicState::Unanswered(e.to_string()),
    };
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return TopicState::Missing;
    };
    if t.partitions().is_empty() {
        return TopicState::Missing;
    }
    let without = t.partitions().iter().filter(|p| p.leader() < 0).count();
    // A topic-level error with partitions listed (e.g. LEADER_NOT_AVAILABLE) is not ready.
    if without == 0 && t.error().is_none() {
        TopicState::Ready
    } else {
        TopicState::NoLeader {
            without,
            partitions: t.partitions().len(),
        }
    }
}

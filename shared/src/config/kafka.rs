//! `[kafka]` (the brokers and client properties) and `[consumer]` (the consume loop's bounds
//! and timings).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers. `--brokers` / `KAFKA_BROKERS` override it.
    pub brokers: String,
    /// Prefix of every consumer group name (`<prefix>revoke-<kind>`), for sharing a cluster
    /// between fleets or test runs.
    pub group_prefix: String,
    /// Passed to librdkafka as is, for every client: `security.protocol`, `sasl.*`, `ssl.*`, and
    /// any tuning. Applied after revoke's own settings, so they win.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group_prefix: String::new(),
            properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Records read and not yet fully handled, per process and consumer. Bounded so a slow
    /// target applies back-pressure instead of memory growth.
    pub max_in_flight: usize,
    /// Larger HR events go to the DLQ unread.
    pub max_event_bytes: usize,
    /// How often stored offsets are committed (`auto.commit.interval.ms`).
    pub commit_interval_ms: u64,
    /// `session.timeout.ms`: how long until a dead consumer's partitions move. 6 s is the
    /// broker's default minimum (`group.min.session.timeout.ms`).
    pub session_timeout_ms: u64,
    /// On SIGTERM/SIGINT, how long records in flight may take to finish before they are
    /// abandoned (unstored, so read again after the restart).
    pub shutdown_grace_ms: u64,
    /// How often each consumer checks that the broker answers (for `/healthz`).
    pub health_probe_ms: u64,
    /// `statistics.interval.ms` of each group consumer: how often librdkafka reports the lag
    /// per partition (`revoke_consumer_lag`). 0 turns the statistics (and the lag) off.
    pub stats_interval_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            max_in_flight: 512,
            max_event_bytes: 256 * 1024,
            commit_interval_ms: 1000,
            session_timeout_ms: 6_000,
            shutdown_grace_ms: 15_000,
            health_probe_ms: 5_000,
            stats_interval_ms: 5_000,
        }
    }
}

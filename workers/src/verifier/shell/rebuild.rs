//! Rebuilding a partition's state from the changelog `revoke.cases`: the co-partitioning check,
//! waiting for the topics, and reading a partition's case records to its end.

use rdkafka::consumer::{BaseConsumer, Consumer};
use revoke_shared::config::Config;
use revoke_shared::contract::{Case, CASE_SCHEMA};
use revoke_shared::kafka::reader_config;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(
        "reading the cases changelog {topic}: {source} (check that `revoke topics create` ran)"
    )]
    Kafka {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("topics are not co-partitioned: {0} (recreate them with `revoke topics create`)")]
    Partitions(String),
    #[error("topic {0} does not exist (yet?): run `revoke topics create`")]
    Missing(String),
}

pub(super) fn partition_count(reader: &BaseConsumer, topic: &str) -> Result<usize, RebuildError> {
    let md = reader
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|source| RebuildError::Kafka {
            topic: topic.into(),
            source,
        })?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len()))
}

/// Fails unless the verifier's inputs and its changelog have the same partition count.
pub fn check_copartitioned(cfg: &Config) -> Result<(), RebuildError> {
    let reader: BaseConsumer =
        reader_config(cfg)
            .create()
            .map_err(|source| RebuildError::Kafka {
                topic: cfg.topics.cases.clone(),
                source,
            })?;
    let t = &cfg.topics;
    let counts: Vec<(String, usize)> = [&t.terminations, &t.confirmations, &t.cases]
        .iter()
        .map(|name| partition_count(&reader, name).map(|n| (name.to_string(), n)))
        .collect::<Result<_, _>>()?;
    if let Some((name, _)) = counts.iter().find(|(_, n)| *n == 0) {
        return Err(RebuildError::Missing(name.clone()));
    }
    if counts.windows(2).any(|w| w[0].1 != w[1].1) {
        return Err(RebuildError::Partitions(format!("{counts:?}")));
    }
    if cfg.verifier.guard.enabled {
        // The guard log's order is the fleet-wide order only with exactly one partition.
        match partition_count(&reader, &t.guard)? {
            0 => return Err(RebuildError::Missing(t.guard.clone())),
            1 => {}
            n => {
                return Err(RebuildError::Partitions(format!(
                    "{} has {n} partitions; the blast-radius guard's log needs exactly one",
                    t.guard
                )))
            }
        }
    }
    Ok(())
}

/// Waits (up to a minute) for the inputs and the changelog to exist with equal partition counts:
/// at start-up the broker may still be coming up or not yet show freshly created topics. A
/// partition mismatch is not retried: it needs a person.
pub(super) fn wait_for_topics(cfg: &Config) -> Result<(), RebuildError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match check_copartitioned(cfg) {
            Ok(()) => return Ok(()),
            Err(e @ RebuildError::Partitions(_)) => return Err(e),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "verifier topics not ready yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A case record read back: its partition, offset, the case, and for a live case's version its
/// digest.
pub(super) type ReadCase = (i32, i64, Case, Option<crate::evidence::chain::RecordDigest>);

/// The cases of changelog partitions `parts` with their partition and offset, as acknowledged
/// so far (retried for a minute), and for versions of live cases their digest (the chain's
/// head; closed ones are not digested: their digest is read back when they are re-published).
pub(super) fn read_cases_of(cfg: &Config, parts: &[i32]) -> Result<Vec<ReadCase>, RebuildError> {
    let topic = &cfg.topics.cases;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let records = loop {
        match revoke_shared::kafka::read_partitions_to_end(
            cfg,
            topic,
            Some(parts),
            Duration::from_secs(30),
        ) {
            Ok(records) => break records,
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, partitions = ?parts, "cannot read the cases changelog yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(source) => {
                return Err(RebuildError::Kafka {
                    topic: topic.clone(),
                    source,
                })
            }
        }
    };
    Ok(records
        .into_iter()
        .filter_map(|r| {
            let payload = r.payload?; // a tombstone
            match serde_json::from_slice::<Case>(&payload) {
                Ok(c) if c.schema == CASE_SCHEMA => {
                    let digest = (c.state != revoke_shared::contract::CaseState::Closed)
                        .then(|| crate::evidence::chain::digest_of_bytes(&payload))
                        .flatten();
                    Some((r.partition, r.offset, c, digest))
                }
                Ok(c) => {
                    tracing::warn!(schema = %c.schema, offset = r.offset, "unknown case schema in changelog; skipped");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, offset = r.offset, "unreadable case record in changelog; skipped");
                    None
                }
            }
        })
        .collect())
}

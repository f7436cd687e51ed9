//! Rebuilding a partition's state from the changelog `revoke.cases`: the co-partitioning check,
//! waiting for the topics, and rebuilding a partition's cases from its records, to its end.

use crate::verifier::machine::Verifier;
use rdkafka::consumer::{BaseConsumer, Consumer};
use revoke_shared::config::{Config, VerifierConfig};
use revoke_shared::contract::{Case, CaseState, CASE_SCHEMA};
use revoke_shared::kafka::reader_config;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

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
/// What the changelog of some partitions rebuilds, off the shell's lock: a machine holding
/// their cases (taken in with `Verifier::absorb`), the partition of each live case, and each
/// live case's chain head (the digest of its latest version; closed ones are not digested:
/// their digest is read back when they are re-published).
pub struct Rebuilt {
    pub machine: Verifier,
    pub partition_of: HashMap<Uuid, i32>,
    pub heads: HashMap<Uuid, (u64, crate::evidence::chain::RecordDigest)>,
    pub records: usize,
}

/// Rebuilds the cases of changelog partitions `parts` as acknowledged so far, record by record
/// (each is parsed, restored and dropped: the changelog is never in memory at once), retried
/// afresh for a minute when the changelog cannot be read.
pub fn rebuild_partitions(
    cfg: &Config,
    parts: &[i32],
    policy: &VerifierConfig,
) -> Result<Rebuilt, RebuildError> {
    let topic = &cfg.topics.cases;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut rebuilt = Rebuilt {
            machine: Verifier::new(policy.clone()),
            partition_of: HashMap::new(),
            heads: HashMap::new(),
            records: 0,
        };
        match revoke_shared::kafka::visit_partitions_to_end(
            cfg,
            topic,
            Some(parts),
            Duration::from_secs(30),
            |r| rebuilt.take(r),
        ) {
            Ok(()) => {
                // Heads of cases whose latest version is not the one digested (it closed).
                let machine = &rebuilt.machine;
                rebuilt.heads.retain(|id, (revision, _)| {
                    machine.case(id).is_some_and(|c| c.revision == *revision)
                });
                return Ok(rebuilt);
            }
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
    }
}

impl Rebuilt {
    /// One changelog record: restored (later revisions win), its live case's partition and
    /// chain head noted.
    fn take(&mut self, r: revoke_shared::kafka::ReadRecord) {
        let Some(payload) = r.payload else {
            return; // a tombstone
        };
        self.records += 1;
        let mut case = match serde_json::from_slice::<Case>(&payload) {
            Ok(c) if c.schema == CASE_SCHEMA => c,
            Ok(c) => {
                tracing::warn!(schema = %c.schema, offset = r.offset, "unknown case schema in changelog; skipped");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, offset = r.offset, "unreadable case record in changelog; skipped");
                return;
            }
        };
        if case.state == CaseState::Closed {
            self.partition_of.remove(&case.case_id);
        } else {
            self.partition_of.insert(case.case_id, r.partition);
            if let Some(d) = crate::evidence::chain::digest_of_bytes(&payload) {
                let newer = self
                    .heads
                    .get(&case.case_id)
                    .is_none_or(|(rev, _)| case.revision >= *rev);
                if newer {
                    self.heads.insert(case.case_id, (case.revision, d));
                }
            }
        }
        // The machine keeps live cases in memory: the seal of the version read is not state
        // (the next version is sealed afresh when published).
        case.signature = None;
        case.prev_digest = None;
        self.machine.restore_at(case, r.offset);
    }
}

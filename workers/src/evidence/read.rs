//! Reading every published version of the cases (the whole cases topic, each partition in
//! offset order) as raw JSON values, and the guard log's records of the decisions they name,
//! for `revoke case --verify`, `revoke report --verify` and `revoke evidence export`. The only
//! I/O of the evidence checks.

use super::check::Version;
use super::guard_decisions::is_decision;
use revoke_shared::config::Config;
use revoke_shared::signing::record_digest;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// Every record of the cases topic, by partition then offset. A payload that is not JSON is
/// kept as a string value (named `unreadable` by the check); tombstones are skipped.
pub fn read_versions(cfg: &Config) -> Result<Vec<Version>, rdkafka::error::KafkaError> {
    let topic = &cfg.topics.cases;
    let mut records = revoke_shared::kafka::read_to_end(cfg, topic, Duration::from_secs(60))?;
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records
        .into_iter()
        .filter_map(|r| {
            let payload = r.payload?;
            let value = serde_json::from_slice::<Value>(&payload).unwrap_or_else(|_| {
                // Keep it attached to its case by key, so the check names it.
                let key = r
                    .key
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                serde_json::json!({"case_id": key, "unreadable": String::from_utf8_lossy(&payload)})
            });
            Some(Version {
                topic: topic.clone(),
                partition: r.partition,
                offset: r.offset,
                value,
            })
        })
        .collect())
}

/// The decision records on the guard log (one partition, kept for ever) whose digest
/// (`signing::record_digest` of the record as logged) is one of `wanted`, in offset order. A
/// record logged twice (a retried send) is kept once.
pub fn read_guard_decisions(
    cfg: &Config,
    wanted: &BTreeSet<String>,
) -> Result<Vec<Version>, rdkafka::error::KafkaError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let topic = &cfg.topics.guard;
    let mut records = revoke_shared::kafka::read_to_end(cfg, topic, Duration::from_secs(60))?;
    records.sort_by_key(|r| (r.partition, r.offset));
    let mut found: BTreeSet<String> = BTreeSet::new();
    Ok(records
        .into_iter()
        .filter_map(|r| {
            let value = serde_json::from_slice::<Value>(r.payload.as_deref()?).ok()?;
            let digest = is_decision(&value).then(|| record_digest(&value))?;
            (wanted.contains(&digest) && found.insert(digest)).then(|| Version {
                topic: topic.clone(),
                partition: r.partition,
                offset: r.offset,
                value,
            })
        })
        .collect())
}

/// The versions of the cases `query` names (a case id, or an identity id: all its cases).
pub fn versions_of(all: Vec<Version>, query: &str) -> Vec<Version> {
    let ids: BTreeSet<String> = all
        .iter()
        .filter(|v| {
            v.value.get("case_id").and_then(Value::as_str) == Some(query)
                || v.value.get("identity_id").and_then(Value::as_str) == Some(query)
        })
        .filter_map(|v| {
            v.value
                .get("case_id")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect();
    all.into_iter()
        .filter(|v| {
            v.value
                .get("case_id")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.contains(id))
        })
        .collect()
}

//! Reading every published version of the cases (the whole cases topic, each partition in
//! offset order) as raw JSON values, for `revoke case --verify`, `revoke report --verify` and
//! `revoke evidence export`. The only I/O of the evidence checks.

use super::check::Version;
use revoke_shared::config::Config;
use serde_json::Value;
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

/// The versions of the cases `query` names (a case id, or an identity id: all its cases).
pub fn versions_of(all: Vec<Version>, query: &str) -> Vec<Version> {
    let ids: std::collections::BTreeSet<String> = all
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

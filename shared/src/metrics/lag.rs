//! Consumer lag per partition (`revoke_consumer_lag{consumer,topic,partition}`), from the
//! statistics librdkafka emits every `consumer.stats_interval_ms`.
//!
//! - [`LagReport`] sits in the consumer's context: it keeps the lag of the latest statistics
//!   (librdkafka's callback thread writes it, the consume loop takes it).
//! - [`lag_series`] decides which series to export: the lag of the partitions this member is
//!   assigned now, where librdkafka knows it.
//! - [`LagSeries`] writes them and removes the series of partitions no longer assigned, so a
//!   partition that moved to another member is not reported twice (once stale).
//!
//! The lag is librdkafka's `consumer_lag`: the partition's high watermark minus the group's
//! committed offset — what `kafka-consumer-groups --describe` and lag exporters report. It is -1
//! (and the series absent) until the group has committed an offset for the partition and the
//! consumer has fetched its watermark, e.g. on a partition that never had a record.

use super::Metrics;
use crate::rebalance::Part;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// One partition's lag as librdkafka's statistics report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// Records between the committed offset and the high watermark.
    pub lag: i64,
}

/// The part of librdkafka's statistics JSON that lag needs (the rest is skipped unread).
#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    topics: HashMap<String, TopicStats>,
}

#[derive(Deserialize)]
struct TopicStats {
    #[serde(default)]
    partitions: HashMap<String, PartitionStats>,
}

#[derive(Deserialize)]
struct PartitionStats {
    partition: i32,
    #[serde(default = "unknown")]
    consumer_lag: i64,
}

fn unknown() -> i64 {
    -1
}

/// The lags in one statistics JSON document: every real partition (not librdkafka's internal
/// `-1`) whose lag is known (not -1).
pub fn lags_from_stats(json: &[u8]) -> Result<Vec<PartitionLag>, serde_json::Error> {
    let stats: Stats = serde_json::from_slice(json)?;
    let mut out: Vec<PartitionLag> = stats
        .topics
        .into_iter()
        .flat_map(|(topic, t)| {
            t.partitions.into_values().filter_map(move |p| {
                (p.partition >= 0 && p.consumer_lag >= 0).then(|| PartitionLag {
                    topic: topic.clone(),
                    partition: p.partition,
                    lag: p.consumer_lag,
                })
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(out)
}

/// The series to export: the lag of each partition in `assigned` that `lags` knows. The
/// statistics list every partition of the subscribed topics the client knows, not only this
/// member's; and they may predate the latest rebalance.
pub fn lag_series(lags: &[PartitionLag], assigned: &HashSet<Part>) -> BTreeMap<Part, i64> {
    lags.iter()
        .filter(|l| assigned.contains(&(l.topic.clone(), l.partition)))
        .map(|l| ((l.topic.clone(), l.partition), l.lag))
        .collect()
}

/// The latest statistics' lags, between librdkafka's statistics callback and the consume loop.
#[derive(Default)]
pub struct LagReport {
    latest: Mutex<Option<Vec<PartitionLag>>>,
}

impl LagReport {
    /// Called with each statistics JSON document. A document that does not parse is logged and
    /// skipped: the series keep their last values until the next one.
    pub fn receive(&self, json: &[u8]) {
        match lags_from_stats(json) {
            Ok(lags) => *self.latest.lock().expect("lag report") = Some(lags),
            Err(e) => {
                tracing::warn!(error = %e, "librdkafka statistics not understood; consumer lag not updated")
            }
        }
    }

    /// The lags received since the last call, if any.
    pub fn take(&self) -> Option<Vec<PartitionLag>> {
        self.latest.lock().expect("lag report").take()
    }
}

/// One consumer group's `revoke_consumer_lag` series in this process.
pub struct LagSeries {
    metrics: Metrics,
    consumer: String,
    /// The latest lags received (kept to re-filter when the assignment changes).
    lags: Vec<PartitionLag>,
    /// The partitions whose series are exported now.
    exported: BTreeSet<Part>,
}

impl LagSeries {
    pub fn new(metrics: &Metrics, consumer: &str) -> LagSeries {
        LagSeries {
            metrics: metrics.clone(),
            consumer: consumer.to_string(),
            lags: Vec::new(),
            exported: BTreeSet::new(),
        }
    }

    /// New statistics arrived.
    pub fn received(&mut self, lags: Vec<PartitionLag>, assigned: &HashSet<Part>) {
        self.lags = lags;
        self.update(assigned);
    }

    /// Exports the lag of the partitions `assigned` now and removes the others' series.
    pub fn update(&mut self, assigned: &HashSet<Part>) {
        let now = lag_series(&self.lags, assigned);
        for gone in self.exported.iter().filter(|p| !now.contains_key(*p)) {
            self.remove(gone);
        }
        for ((topic, partition), lag) in &now {
            self.metrics
                .consumer_lag
                .with_label_values(&[&self.consumer, topic, &partition.to_string()])
                .set(*lag);
        }
        self.exported = now.into_keys().collect();
    }

    /// Removes every series (the consumer stopped).
    pub fn clear(&mut self) {
        self.lags.clear();
        self.update(&HashSet::new());
    }

    fn remove(&self, (topic, partition): &Part) {
        let _ = self.metrics.consumer_lag.remove_label_values(&[
            &self.consumer,
            topic,
            &partition.to_string(),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape librdkafka 2.x writes (trimmed to what matters, plus fields that must be
    /// skipped): an assigned partition with a lag, one whose committed offset is unknown (-1),
    /// librdkafka's internal partition -1, and a topic with no partitions yet.
    const STATS: &str = r#"{
      "name": "revoke#consumer-1", "type": "consumer", "ts": 1, "brokers": {"b": {"rtt": {"avg": 1}}},
      "topics": {
        "hr.terminations": { "topic": "hr.terminations", "age": 5,
          "partitions": {
            "0": { "partition": 0, "desired": true, "fetch_state": "active", "consumer_lag": 7, "consumer_lag_stored": 2 },
            "1": { "partition": 1, "desired": false, "fetch_state": "none", "consumer_lag": -1 },
            "2": { "partition": 2, "consumer_lag": 0 },
            "-1": { "partition": -1, "consumer_lag": -1 }
          } },
        "revoke.due": { "topic": "revoke.due", "partitions": {} }
      },
      "cgrp": { "state": "up", "assignment_size": 2 }
    }"#;

    fn part(t: &str, p: i32) -> Part {
        (t.to_string(), p)
    }

    #[test]
    fn statistics_give_the_known_lags_of_real_partitions() {
        let lags = lags_from_stats(STATS.as_bytes()).unwrap();
        assert_eq!(
            lags,
            vec![
                PartitionLag {
                    topic: "hr.terminations".into(),
                    partition: 0,
                    lag: 7
                },
                PartitionLag {
                    topic: "hr.terminations".into(),
                    partition: 2,
                    lag: 0
                },
            ]
        );
        assert!(lags_from_stats(b"not json").is_err());
        assert_eq!(lags_from_stats(b"{}").unwrap(), vec![]);
    }

    #[test]
    fn only_assigned_partitions_are_exported() {
        let lags = lags_from_stats(STATS.as_bytes()).unwrap();
        let assigned: HashSet<Part> = [part("hr.terminations", 0), part("revoke.due", 3)].into();
        let series = lag_series(&lags, &assigned);
        assert_eq!(series, BTreeMap::from([(part("hr.terminations", 0), 7)]));
    }

    #[test]
    fn series_follow_the_assignment_and_are_removed_when_it_goes() {
        let m = Metrics::new();
        let mut s = LagSeries::new(&m, "revoke-vault");
        let both: HashSet<Part> = [part("hr.terminations", 0), part("hr.terminations", 2)].into();
        s.received(lags_from_stats(STATS.as_bytes()).unwrap(), &both);
        let text = m.render();
        for series in [
            r#"revoke_consumer_lag{consumer="revoke-vault",partition="0",topic="hr.terminations"} 7"#,
            r#"revoke_consumer_lag{consumer="revoke-vault",partition="2",topic="hr.terminations"} 0"#,
        ] {
            assert!(text.contains(series), "{series} not in\n{text}");
        }
        // Partition 0 moved to another member: its series goes at once, before new statistics.
        s.update(&[part("hr.terminations", 2)].into());
        let text = m.render();
        assert!(!text.contains(r#"partition="0""#), "{text}");
        assert!(text.contains(r#"partition="2""#), "{text}");
        s.clear();
        assert!(!m.render().contains("revoke_consumer_lag{"));
    }

    #[test]
    fn a_report_hands_over_each_statistics_once() {
        let r = LagReport::default();
        assert_eq!(r.take(), None);
        r.receive(STATS.as_bytes());
        assert_eq!(r.take().map(|l| l.len()), Some(2));
        assert_eq!(r.take(), None);
        r.receive(b"{ truncated");
        assert_eq!(
            r.take(),
            None,
            "a document that does not parse changes nothing"
        );
    }
}

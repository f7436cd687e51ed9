//! Reading the terminations recorded on the terminations topic in a time range (blocking: run
//! it off the async threads).

use super::select::Recorded;
use chrono::{DateTime, TimeZone, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{parse_hr_event, RawMessage};
use std::time::Duration;

/// What was read: the terminations and rescinds recorded in `[from, to)`, and how many records
/// in the range could not be read as HR events (the verifier dead-lettered those).
#[derive(Debug, Default)]
pub struct InRange {
    pub recorded: Vec<Recorded>,
    pub unreadable: usize,
}

/// The HR events recorded on `cfg.topics.terminations` at or after `from` and before `to`.
pub fn recorded_between(
    cfg: &Config,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    timeout: Duration,
) -> Result<InRange, rdkafka::error::KafkaError> {
    let topic = &cfg.topics.terminations;
    let records = revoke_shared::kafka::read_since(cfg, topic, from.timestamp_millis(), timeout)?;
    let mut out = InRange::default();
    for r in records {
        let Some(at) = r
            .timestamp_ms
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        else {
            continue;
        };
        if at < from || at >= to {
            continue;
        }
        let msg = RawMessage {
            topic: topic.clone(),
            partition: r.partition,
            offset: r.offset,
            key: r.key,
            payload: r.payload,
            headers: r.headers,
            timestamp_ms: r.timestamp_ms,
        };
        match parse_hr_event(&msg, cfg.consumer.max_event_bytes) {
            Ok(event) => out.recorded.push(Recorded {
                event,
                recorded_at: at,
            }),
            Err(_) => out.unreadable += 1,
        }
    }
    out.recorded.sort_by_key(|r| r.recorded_at);
    Ok(out)
}

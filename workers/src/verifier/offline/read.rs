//! Reading what the check needs from Kafka (blocking: run it off the async threads): the three
//! input topics as streams per partition, and the cases topic.

use super::inputs::{by_partition, merge, Step};
use super::run::Source;
use super::Actual;
use revoke_shared::config::Config;
use std::time::Duration;

/// The input records in the order to re-apply them, and the cases topic as it is now.
pub fn read_all(
    cfg: &Config,
    timeout: Duration,
) -> Result<(Vec<Step>, Actual), (String, rdkafka::error::KafkaError)> {
    let t = &cfg.topics;
    let read = |topic: &str| {
        revoke_shared::kafka::read_to_end(cfg, topic, timeout).map_err(|e| (topic.to_string(), e))
    };
    let actual = Actual::from_records(read(&t.cases)?);
    let mut streams = Vec::new();
    for (source, topic) in [
        (Source::Terminations, &t.terminations),
        (Source::Confirmations, &t.confirmations),
    ] {
        streams.extend(by_partition(source, topic, read(topic)?));
    }
    // Without the guard there is no guard log to read (it may not even exist).
    if cfg.verifier.guard.enabled {
        streams.extend(by_partition(Source::Guard, &t.guard, read(&t.guard)?));
    }
    Ok((merge(streams, actual.times.clone()), actual))
}

//! Where a consumer group stands on its input topics: its committed offset and the end, per
//! partition (blocking rdkafka calls: run it on a blocking thread from async code).

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use revoke_shared::config::Config;
use std::time::Duration;

/// One partition of a group's input: what the group committed, and the partition's end.
pub struct GroupProgress {
    pub topic: String,
    pub partition: i32,
    pub committed: Offset,
    pub end: i64,
}

/// `group`'s committed offset and the end of every partition of `topics`.
pub fn group_progress(cfg: &Config, group: &str, topics: &[String]) -> Vec<GroupProgress> {
    let consumer: BaseConsumer = revoke_shared::kafka::consumer_config(cfg, group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        for p in 0..cfg.topics.partitions {
            tpl.add_partition(topic, p);
        }
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    committed
        .elements()
        .iter()
        .map(|e| {
            let (_, end) = consumer
                .fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(10))
                .unwrap();
            GroupProgress {
                topic: e.topic().to_string(),
                partition: e.partition(),
                committed: e.offset(),
                end,
            }
        })
        .collect()
}

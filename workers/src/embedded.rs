//! The embedded broker: librdkafka's in-process mock cluster, for `revoke demo` and fast tests.
//!
//! It is `!Send`: keep it on the thread that made it (run async work with `block_on` there).
//! It does not implement the CreateTopics admin API, so topics are made through the mock API.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use revoke_shared::config::Config;

pub struct Embedded {
    mock: MockCluster<'static, DefaultProducerContext>,
}

impl Embedded {
    /// Starts a mock cluster, creates revoke's topics, and points `cfg` at it.
    pub fn start(cfg: &mut Config) -> anyhow::Result<Embedded> {
        let mock = MockCluster::new(1)?;
        for spec in crate::topics::topic_specs(cfg) {
            mock.create_topic(&spec.name, spec.partitions, 1)?;
        }
        cfg.kafka.brokers = mock.bootstrap_servers();
        // Groups form and move faster than a real cluster's defaults would allow.
        cfg.consumer.session_timeout_ms = cfg.consumer.session_timeout_ms.min(6000);
        cfg.kafka
            .properties
            .entry("topic.metadata.refresh.interval.ms".into())
            .or_insert_with(|| "1000".into());
        Ok(Embedded { mock })
    }

    /// Creates one more topic (tests that write a topic of their own).
    pub fn create_topic(&self, name: &str, partitions: i32) -> anyhow::Result<()> {
        self.mock.create_topic(name, partitions, 1)?;
        Ok(())
    }

    pub fn bootstrap_servers(&self) -> String {
        self.mock.bootstrap_servers()
    }
}

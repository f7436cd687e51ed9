//! Kafka clients with revoke's settings, and a producer that only reports success once the
//! broker has acknowledged the record.
//!
//! Non-default librdkafka settings and why:
//! - producer `enable.idempotence=true`, `acks=all`: no duplicates from producer retries, and a
//!   record counts as written only when every in-sync replica has it.
//! - producer `partitioner=murmur2_random`: the Java client's default for keyed records, so an
//!   identity lands on the same partition number of every topic whether HR publishes with a Java
//!   client or with `revoke publish` (librdkafka's default, CRC32, would differ).
//! - producer `message.timeout.ms=0` (librdkafka: 300000): a record is retried until the broker
//!   takes it. An outage pauses the fleet (health probes report it) instead of failing records;
//!   `revoke publish` sets a finite timeout so a wrong address is an error, not a hang.
//! - producer `linger.ms=1` (librdkafka: 5): batches the many small records in flight while adding
//!   at most 1 ms to each produce hop.
//! - consumer `enable.auto.offset.store=false`: offsets are stored by the consume loop only after
//!   the record is fully handled (see `consume`), then committed by `enable.auto.commit` every
//!   `consumer.commit_interval_ms`.
//! - consumer `auto.offset.reset=earliest`: a new group starts from the oldest record, so nothing
//!   published before a worker first started is skipped.
//! - consumer `partition.assignment.strategy=range`: same-numbered partitions of the verifier's
//!   input topics go to the same instance, which keeps each identity's inputs together.
//! - `session.timeout.ms` from `consumer.session_timeout_ms` (default 6 s, the broker's minimum,
//!   below librdkafka's 45 s) and `heartbeat.interval.ms` a quarter of it, so a killed worker's
//!   partitions move within seconds.
//! - consumer `topic.metadata.refresh.interval.ms=10000` (librdkafka: 300000): a topic created
//!   after a consumer subscribed is picked up within seconds, not minutes.
//! - consumer `statistics.interval.ms` from `consumer.stats_interval_ms` (default 5 s;
//!   librdkafka: 0, off): the consume loop's context reads the lag per partition from them
//!   (`revoke_consumer_lag`). One JSON document per interval, parsed for the lag only.
//!
//! Every key in `kafka.properties` is applied last and overrides these.

use crate::config::Config;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("cannot create Kafka client for {brokers}: {source} (check kafka.brokers and kafka.properties)")]
    Client {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("record to {topic} (key {key}) was not acknowledged by the broker: {source}")]
    Delivery {
        topic: String,
        key: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot serialise record for {topic}: {source}")]
    Encode {
        topic: String,
        source: serde_json::Error,
    },
}

fn base_config(cfg: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka.brokers);
    c.set("client.id", "revoke");
    c
}

fn apply_overrides(c: &mut ClientConfig, cfg: &Config) {
    for (k, v) in &cfg.kafka.properties {
        c.set(k, v);
    }
}

pub fn producer_config(cfg: &Config) -> ClientConfig {
    let mut c = base_config(cfg);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        // Every case crosses three to five produce hops (termination, admission, release,
        // confirmation, case); librdkafka's default of 5 ms per hop was most of a leaver's
        // time to close at a steady rate (latency bench: p50 34 ms -> 8 ms at 1 ms). Under a
        // burst the producer batches anyway (throughput bench: no loss).
        .set("linger.ms", "1")
        .set("partitioner", "murmur2_random")
        // 0 = never give up: while the broker is away, output waits (and its input's offset
        // stays unstored) instead of failing; the process pauses and /healthz says why.
        .set("message.timeout.ms", "0");
    apply_overrides(&mut c, cfg);
    c
}

pub fn consumer_config(cfg: &Config, group_id: &str) -> ClientConfig {
    let mut c = base_config(cfg);
    c.set("group.id", group_id)
        .set("enable.auto.commit", "true")
        .set(
            "auto.commit.interval.ms",
            cfg.consumer.commit_interval_ms.to_string(),
        )
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("partition.assignment.strategy", "range")
        .set(
            "session.timeout.ms",
            cfg.consumer.session_timeout_ms.to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (cfg.consumer.session_timeout_ms / 4).max(100).to_string(),
        )
        .set("topic.metadata.refresh.interval.ms", "10000")
        .set(
            "statistics.interval.ms",
            cfg.consumer.stats_interval_ms.to_string(),
        )
        // The broker answers a fetch at once when records are there; this bounds how long an
        // empty one is held. librdkafka's 500 ms showed up as the p99 of time to close at a
        // steady rate (latency bench, real broker); 50 ms costs ~20 idle fetches/s per consumer.
        .set("fetch.wait.max.ms", "50");
    apply_overrides(&mut c, cfg);
    c
}

/// A consumer that reads a topic without a group (no commits): for rebuilding state and for
/// read-only commands.
pub fn reader_config(cfg: &Config) -> ClientConfig {
    let mut c = base_config(cfg);
    c.set(
        "group.id",
        format!("revoke-reader-{}", uuid::Uuid::new_v4()),
    )
    .set("enable.auto.commit", "false")
    .set("enable.auto.offset.store", "false")
    .set("auto.offset.reset", "earliest")
    // The end is found from the watermarks; EOF events would only add noise.
    .set("enable.partition.eof", "false")
    // Reading a changelog is fetch-bound: with librdkafka's 64 MB of prefetched records a
    // verifier rebuilt 100,000 closed cases (443 MB) in 5.7 s, waiting on fetches; with 256 MB
    // in 2.1 s, parsing (rebuild bench, real broker). It is a ceiling, used while reading.
    .set("queued.max.messages.kbytes", "262144");
    apply_overrides(&mut c, cfg);
    c
}

pub fn admin_config(cfg: &Config) -> ClientConfig {
    let mut c = base_config(cfg);
    apply_overrides(&mut c, cfg);
    c
}

/// The pending acknowledgement of an enqueued record.
pub struct Ack {
    fut: rdkafka::producer::DeliveryFuture,
    topic: String,
    key: String,
}

impl Ack {
    pub async fn wait(self) -> Result<(i32, i64), KafkaError> {
        match self.fut.await {
            Ok(Ok(d)) => Ok((d.partition, d.offset)),
            Ok(Err((source, _))) => Err(KafkaError::Delivery {
                topic: self.topic,
                key: self.key,
                source,
            }),
            Err(_) => Err(KafkaError::Delivery {
                topic: self.topic,
                key: self.key,
                source: rdkafka::error::KafkaError::Canceled,
            }),
        }
    }
}

/// A cheap-to-clone producer whose sends resolve only on broker acknowledgement.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
}

/// One record for `topic`, pinned to `partition` if given, with `headers`.
fn record<'a>(
    topic: &'a str,
    key: &'a str,
    bytes: &'a [u8],
    partition: Option<i32>,
    headers: &[(&str, &str)],
) -> FutureRecord<'a, str, [u8]> {
    let mut hs = OwnedHeaders::new_with_capacity(headers.len());
    for (k, v) in headers {
        hs = hs.insert(Header {
            key: k,
            value: Some(*v),
        });
    }
    let record = FutureRecord::to(topic).key(key).payload(bytes).headers(hs);
    match partition {
        Some(p) => record.partition(p),
        None => record,
    }
}

/// `value` as the JSON of a record for `topic` (named in the error).
fn encode<T: Serialize>(topic: &str, value: &T) -> Result<Vec<u8>, KafkaError> {
    serde_json::to_vec(value).map_err(|source| KafkaError::Encode {
        topic: topic.into(),
        source,
    })
}

impl Producer {
    pub fn new(cfg: &Config) -> Result<Producer, KafkaError> {
        Producer::from_config(cfg, producer_config(cfg))
    }

    /// A producer that gives up on a record after `timeout` (for one-shot commands).
    pub fn with_timeout(cfg: &Config, timeout: Duration) -> Result<Producer, KafkaError> {
        let mut c = producer_config(cfg);
        c.set("message.timeout.ms", timeout.as_millis().to_string());
        Producer::from_config(cfg, c)
    }

    fn from_config(cfg: &Config, client: ClientConfig) -> Result<Producer, KafkaError> {
        let inner = client.create().map_err(|source| KafkaError::Client {
            brokers: cfg.kafka.brokers.clone(),
            source,
        })?;
        Ok(Producer { inner })
    }

    /// Sends `bytes` and waits for the acknowledgement. `partition` pins the record (used to keep
    /// the cases changelog co-partitioned with the verifier's inputs).
    pub async fn send_bytes(
        &self,
        topic: &str,
        key: &str,
        bytes: &[u8],
        headers: &[(&str, &str)],
        partition: Option<i32>,
    ) -> Result<(i32, i64), KafkaError> {
        let record = record(topic, key, bytes, partition, headers);
        match self.inner.send(record, Timeout::Never).await {
            Ok(delivery) => Ok((delivery.partition, delivery.offset)),
            Err((source, _)) => Err(KafkaError::Delivery {
                topic: topic.into(),
                key: key.into(),
                source,
            }),
        }
    }

    pub async fn send_json<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
        partition: Option<i32>,
    ) -> Result<(i32, i64), KafkaError> {
        let bytes = encode(topic, value)?;
        self.send_bytes(topic, key, &bytes, &[], partition).await
    }

    /// Enqueues `value` synchronously and returns a future of its acknowledgement. Records
    /// enqueued one after another from one thread keep their order per partition (the producer
    /// is idempotent), which callers holding a lock rely on to keep a changelog in order.
    pub fn enqueue_json<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
        partition: Option<i32>,
    ) -> Result<Ack, KafkaError> {
        self.enqueue_json_with_headers(topic, key, value, partition, &[])
    }

    /// As `enqueue_json`, with Kafka record headers.
    pub fn enqueue_json_with_headers<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
        partition: Option<i32>,
        headers: &[(&str, &str)],
    ) -> Result<Ack, KafkaError> {
        let bytes = encode(topic, value)?;
        self.enqueue_bytes_with_headers(topic, key, &bytes, partition, headers)
    }

    /// As `enqueue_json_with_headers`, for a value already encoded (when a header signs it).
    pub fn enqueue_bytes_with_headers(
        &self,
        topic: &str,
        key: &str,
        bytes: &[u8],
        partition: Option<i32>,
        headers: &[(&str, &str)],
    ) -> Result<Ack, KafkaError> {
        let mut record = record(topic, key, bytes, partition, headers);
        let mut spins = 0;
        loop {
            match self.inner.send_result(record) {
                Ok(fut) => {
                    return Ok(Ack {
                        fut,
                        topic: topic.to_string(),
                        key: key.to_string(),
                    })
                }
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    r,
                )) if spins < 500 => {
                    // The local queue is full: let librdkafka drain it briefly (rare; bounded).
                    record = r;
                    spins += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((source, _)) => {
                    return Err(KafkaError::Delivery {
                        topic: topic.into(),
                        key: key.into(),
                        source,
                    })
                }
            }
        }
    }

    /// Waits until queued records are delivered (bounded).
    pub fn flush(&self, timeout: Duration) {
        let _ = self.inner.flush(Timeout::After(timeout));
    }

    pub fn inner(&self) -> &FutureProducer {
        &self.inner
    }
}

/// One record read by [`read_to_end`].
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    /// The record's headers, in order (name, value; a null value as empty).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The record's timestamp (its producer's create time, or the broker's append time, as the
    /// topic says), in milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
}

/// The headers of `m` as owned pairs.
fn headers_of<M: rdkafka::Message>(m: &M) -> Vec<(String, Vec<u8>)> {
    use rdkafka::message::Headers;
    m.headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads every partition of `topic` from the beginning to the end it had when called (blocking;
/// run it off the async threads). For rebuilding state and for read-only commands.
pub fn read_to_end(
    cfg: &Config,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<ReadRecord>, rdkafka::error::KafkaError> {
    read_partitions_to_end(cfg, topic, None, timeout)
}

/// As `read_to_end`, for the partitions in `only` (all of them when `None`).
pub fn read_partitions_to_end(
    cfg: &Config,
    topic: &str,
    only: Option<&[i32]>,
    timeout: Duration,
) -> Result<Vec<ReadRecord>, rdkafka::error::KafkaError> {
    read_from(cfg, topic, only, None, timeout)
}

/// As `read_to_end`, from the first record of each partition whose timestamp is at or after
/// `since_ms` (`offsetsForTimes`) to the end: what was written since then. Records before it may
/// still carry a later timestamp (a producer's clock), so callers filter by time too.
pub fn read_since(
    cfg: &Config,
    topic: &str,
    since_ms: i64,
    timeout: Duration,
) -> Result<Vec<ReadRecord>, rdkafka::error::KafkaError> {
    read_from(cfg, topic, None, Some(since_ms), timeout)
}

fn read_from(
    cfg: &Config,
    topic: &str,
    only: Option<&[i32]>,
    since_ms: Option<i64>,
    timeout: Duration,
) -> Result<Vec<ReadRecord>, rdkafka::error::KafkaError> {
    let mut out = Vec::new();
    visit_from(cfg, topic, only, since_ms, timeout, |r| out.push(r))?;
    Ok(out)
}

/// As `read_partitions_to_end`, handing each record to `visit` as it is read instead of
/// collecting them: what a large changelog is rebuilt from (a million closed cases are ~4 GB
/// of records; collected first, they would all be in memory at once).
pub fn visit_partitions_to_end(
    cfg: &Config,
    topic: &str,
    only: Option<&[i32]>,
    timeout: Duration,
    visit: impl FnMut(ReadRecord),
) -> Result<(), rdkafka::error::KafkaError> {
    visit_from(cfg, topic, only, None, timeout, visit)
}

/// Reads from where `since_ms` says (the beginning when `None`) to the end each partition had
/// when called. `timeout` bounds each broker request and each wait for the next record — not
/// the whole read, which takes as long as the topic is large.
fn visit_from(
    cfg: &Config,
    topic: &str,
    only: Option<&[i32]>,
    since_ms: Option<i64>,
    timeout: Duration,
    mut visit: impl FnMut(ReadRecord),
) -> Result<(), rdkafka::error::KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Message, Offset, TopicPartitionList};
    use std::collections::HashMap;

    let reader: BaseConsumer = reader_config(cfg).create()?;
    let md = reader.fetch_metadata(Some(topic), timeout)?;
    let parts: Vec<i32> = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| {
            t.partitions()
                .iter()
                .map(|p| p.id())
                .filter(|p| only.is_none_or(|o| o.contains(p)))
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        return Err(rdkafka::error::KafkaError::MetadataFetch(
            rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
        ));
    }
    // Where each partition starts: its beginning, or the first offset at `since_ms`.
    let starts: HashMap<i32, Offset> = match since_ms {
        None => parts.iter().map(|p| (*p, Offset::Beginning)).collect(),
        Some(ms) => {
            let mut at = TopicPartitionList::new();
            for p in &parts {
                at.add_partition_offset(topic, *p, Offset::Offset(ms))?;
            }
            reader
                .offsets_for_times(at, timeout)?
                .elements()
                .iter()
                .map(|e| (e.partition(), e.offset()))
                .collect()
        }
    };
    let mut tpl = TopicPartitionList::new();
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    for p in parts {
        let (low, high) = reader.fetch_watermarks(topic, p, timeout)?;
        let start = starts.get(&p).copied().unwrap_or(Offset::Beginning);
        let first = match start {
            Offset::Offset(o) => o.max(low),
            Offset::End => high,
            _ => low,
        };
        if high > first {
            tpl.add_partition_offset(topic, p, Offset::Offset(first))?;
            remaining.insert(p, high);
        }
    }
    if remaining.is_empty() {
        return Ok(());
    }
    reader.assign(&tpl)?;
    let mut deadline = std::time::Instant::now() + timeout;
    while !remaining.is_empty() {
        if std::time::Instant::now() > deadline {
            return Err(rdkafka::error::KafkaError::MessageConsumption(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            ));
        }
        match reader.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                remaining.remove(&p);
            }
            Some(Err(e)) if passing_read_error(&e) => continue,
            Some(Err(e)) => return Err(e),
            Some(Ok(m)) => {
                deadline = std::time::Instant::now() + timeout;
                let done = remaining
                    .get(&m.partition())
                    .is_some_and(|high| m.offset() + 1 >= *high);
                if done {
                    remaining.remove(&m.partition());
                }
                visit(ReadRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                    headers: headers_of(&m),
                    timestamp_ms: m.timestamp().to_millis(),
                });
            }
        }
    }
    Ok(())
}

/// The record at `offset` of `topic`/`partition` (blocking), or `None` when there is none there
/// any more (compacted away or deleted by retention: the next record read has a later offset,
/// or the partition ends first). One fetch instead of a partition's whole history.
pub fn read_one_at(
    cfg: &Config,
    topic: &str,
    partition: i32,
    offset: i64,
    timeout: Duration,
) -> Result<Option<ReadRecord>, rdkafka::error::KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Message, Offset, TopicPartitionList};

    let reader: BaseConsumer = reader_config(cfg).create()?;
    let (low, high) = reader.fetch_watermarks(topic, partition, timeout)?;
    if offset < low || offset >= high {
        return Ok(None);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    reader.assign(&tpl)?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if std::time::Instant::now() > deadline {
            return Err(rdkafka::error::KafkaError::MessageConsumption(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            ));
        }
        match reader.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return Ok(None),
            Some(Err(e)) if passing_read_error(&e) => continue,
            Some(Err(e)) => return Err(e),
            Some(Ok(m)) if m.offset() == offset => {
                return Ok(Some(ReadRecord {
                    partition,
                    offset,
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                    headers: headers_of(&m),
                    timestamp_ms: m.timestamp().to_millis(),
                }))
            }
            Some(Ok(_)) => return Ok(None),
        }
    }
}

/// Connection trouble a reader is told of while librdkafka keeps trying (another broker may lead
/// the partition soon): worth waiting for, up to the reader's deadline.
fn passing_read_error(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e,
        rdkafka::error::KafkaError::MessageConsumption(
            C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::NotLeaderForPartition
                | C::LeaderNotAvailable
                | C::RequestTimedOut
        )
    )
}

//! The at-least-once consume loop every revoke consumer runs.
//!
//! - Many records are handled at once (up to `max_in_flight`), but records with the same key —
//!   the same identity — are handled one after another in offset order, so a rescind can never
//!   overtake its termination.
//! - An offset is stored for commit only when the record and everything before it in its
//!   partition are fully handled, i.e. the handler returned after its output was acknowledged by
//!   the broker (ordered acknowledgements, see `offsets`).
//! - A handler that cannot finish now (`HandlerError::Retry`) is retried with backoff while its
//!   record stays in flight: its partition's offset pauses there, and nothing is lost.
//! - On shutdown the loop stops reading, lets handlers in flight finish, stores and commits what
//!   finished, and returns. Records read but not started are simply read again next time.
//! - On a rebalance the same happens per partition (see `rebalance`): partitions taken away are
//!   given back only after their handlers finished (bounded by the shutdown grace) and what
//!   finished is committed, so their next owner neither races a handler still writing nor
//!   repeats finished work; partitions gained are announced to the handler (`Handler::assigned`)
//!   before any of their records is handled — the verifier rebuilds their cases there.
//! - The loop reports itself to the process's probes (`metrics::Health::consumer_loop`): a
//!   heartbeat each time it goes round (at least every 250 ms, records or not: `/livez`), its
//!   group membership and its broker probe (`/readyz`).

use crate::contract::RawMessage;
use crate::metrics::{
    BrokerReporter, ConsumerSeries, HandlerRetried, Health, LagSeries, LoopProbe, Metrics,
};
use crate::offsets::OffsetTracker;
use crate::rebalance::{LoopContext, Part, RebalanceEvent};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Could not finish now (e.g. output not acknowledged); retry the same record later.
    #[error("{0}")]
    Retry(String),
    /// Continuing would risk correctness (e.g. state ahead of its changelog): stop the loop.
    #[error("{0}")]
    Fatal(String),
}

/// What a handler leaves to finish after `Handler::handle_staged` returned: its output's
/// acknowledgements. The record's offset is stored once it resolves; an error stops the loop.
pub type Durability =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send>>;

/// Handles one record fully. Must be idempotent: after a crash the record is handled again.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError>;

    /// Handles a record as far as the next record with the same key may begin (its effect on
    /// the handler's state is made and its output enqueued, in order), and returns what is left
    /// before its offset may be stored: waiting for that output's acknowledgements. The loop
    /// then starts the key's next record while the acknowledgements are awaited — a verifier
    /// folds a case's versions made within a few milliseconds into one this way
    /// (`verifier::shell::fold`). The default handles the record fully.
    async fn handle_staged(&self, msg: &RawMessage) -> Result<Option<Durability>, HandlerError> {
        self.handle(msg).await.map(|()| None)
    }

    /// These partitions are now this member's; called before any of their records is handled.
    /// An error stops the loop (the handler could not handle their records correctly).
    async fn assigned(&self, _parts: &[Part]) -> Result<(), HandlerError> {
        Ok(())
    }

    /// These partitions are being given up: their handlers finished (or the grace ran out) and
    /// what finished is committed. Called before the group may hand them to another member.
    async fn revoked(&self, _parts: &[Part]) {}
}

/// A consumer whose rebalances the loop drives (see `rebalance`).
pub type LoopConsumer = StreamConsumer<LoopContext>;

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("consumer {group}: handler failed fatally on {topic}/{partition}@{offset}: {why}")]
    Fatal {
        group: String,
        topic: String,
        partition: i32,
        offset: i64,
        why: String,
    },
    #[error("consumer {group}: cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        group: String,
        topics: Vec<String>,
        source: rdkafka::error::KafkaError,
    },
}

/// How a consume loop is asked to stop.
#[derive(Clone, Default)]
pub struct Stop {
    /// Stop reading, finish what is in flight, commit, return.
    pub graceful: CancellationToken,
    /// Return at once, as a crash would: work in flight is abandoned and nothing more is stored
    /// or committed (used by tests to simulate a killed process inside one process).
    pub crash: CancellationToken,
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }
}

pub struct LoopOptions {
    /// Consumer group name, used in metrics, logs and health.
    pub group: String,
    pub max_in_flight: usize,
    /// After a graceful stop is requested, how long handlers in flight may still run.
    pub shutdown_grace: Duration,
    /// How often to check that the broker answers (health).
    pub health_probe: Duration,
    pub metrics: Metrics,
    pub health: Health,
}

impl LoopOptions {
    pub fn new(
        cfg: &crate::config::Config,
        group: &str,
        metrics: Metrics,
        health: Health,
    ) -> LoopOptions {
        LoopOptions {
            group: group.to_string(),
            max_in_flight: cfg.consumer.max_in_flight,
            shutdown_grace: Duration::from_millis(cfg.consumer.shutdown_grace_ms),
            health_probe: Duration::from_millis(cfg.consumer.health_probe_ms.max(100)),
            metrics,
            health,
        }
    }
}

/// A record's headers, names decoded lossily. rdkafka's `Headers::get`/`iter` unwrap the UTF-8
/// decoding of each name, so a single record whose header name is not UTF-8 (any producer can
/// send one) would panic the consume loop — and again after every restart, at the same offset.
/// librdkafka keeps names as NUL-terminated bytes; read them as such.
fn raw_headers(hs: &rdkafka::message::BorrowedHeaders) -> Vec<(String, Vec<u8>)> {
    use rdkafka::bindings::{rd_kafka_header_get_all, rd_kafka_headers_t, rd_kafka_resp_err_t};
    let native = hs as *const rdkafka::message::BorrowedHeaders as *const rd_kafka_headers_t;
    (0..hs.count())
        .filter_map(|idx| {
            let mut name = std::ptr::null();
            let mut value = std::ptr::null();
            let mut size = 0usize;
            // SAFETY: `native` is the header list of a message borrowed for this call (rdkafka
            // casts `BorrowedHeaders` the same way); `idx` is below its count; librdkafka sets
            // `name` to a NUL-terminated string and `value`/`size` to bytes (or NULL) it owns.
            let err =
                unsafe { rd_kafka_header_get_all(native, idx, &mut name, &mut value, &mut size) };
            if err != rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
                return None;
            }
            // SAFETY: as above; both are copied before the borrow ends.
            let name = unsafe { std::ffi::CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned();
            let value = if value.is_null() {
                Vec::new()
            } else {
                unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) }.to_vec()
            };
            Some((name, value))
        })
        .collect()
}

/// Converts a librdkafka record into the library-neutral form handlers see.
pub fn to_raw(m: &BorrowedMessage<'_>) -> RawMessage {
    let headers = m.headers().map(raw_headers).unwrap_or_default();
    RawMessage {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        headers,
        timestamp_ms: m.timestamp().to_millis(),
    }
}

struct Done {
    key: Vec<u8>,
    topic: String,
    partition: i32,
    offset: i64,
    result: Result<(), String>,
    /// The record's output still to be acknowledged: its key is free for the next record, its
    /// offset waits for this.
    durability: Option<Durability>,
    /// False for the completion of a `durability` (its key was freed when it was applied).
    frees_key: bool,
}

/// Runs until a stop is requested or a handler fails fatally.
pub async fn run<H: Handler>(
    consumer: LoopConsumer,
    handler: Arc<H>,
    opts: LoopOptions,
    stop_on: Stop,
) -> Result<(), ConsumeError> {
    let shutdown = stop_on.graceful.clone();
    let crash = stop_on.crash.clone();
    let group = opts.group.clone();
    let consumer = Arc::new(consumer);
    // However the loop ends, revocations are no longer deferred: the consumer's close waits for
    // them.
    let _closing = CloseOnDrop(consumer.clone());
    let health_name = format!("consumer {group}");
    // Dropped however the loop returns: the loop then leaves /livez and /readyz.
    let lp = opts.health.consumer_loop(&health_name);
    let probe_stop = CancellationToken::new();
    let probe = spawn_health_probe(
        consumer.clone(),
        &opts,
        lp.broker_reporter(),
        probe_stop.clone(),
    );
    let series = ConsumerSeries::new(&opts.metrics, &group);
    let mut lag = LagSeries::new(&opts.metrics, &group);
    let mut assigned: HashSet<Part> = HashSet::new();
    // Also what makes the loop go round (and beat) when nothing else happens.
    let mut assignment_check = tokio::time::interval(Duration::from_millis(250));
    // When the consumer last reported an error: health recovers once errors stop, even on an
    // idle topic where no record arrives to prove the connection works.
    let mut last_error: Option<std::time::Instant> = None;
    opts.health.set_ok(&health_name);

    let mut tracker = OffsetTracker::new();
    // Key present = a handler for that key is running; the queue holds its successors.
    let mut per_key: HashMap<Vec<u8>, VecDeque<RawMessage>> = HashMap::new();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    // Records applied whose output is still being acknowledged (`Handler::handle_staged`): they
    // hold their offsets but no handler, so they count against `max_in_flight` only beyond
    // `STAGED_PER_IN_FLIGHT` times it.
    let mut staged: usize = 0;
    let mut fatal: Option<ConsumeError> = None;
    let stop = shutdown.clone();
    // The partitions being given up (since when): no more of their records are read, those read
    // are finished, then they are committed and given back.
    let mut draining: HashSet<Part> = HashSet::new();
    let mut draining_since = std::time::Instant::now();

    let grace = opts.shutdown_grace;
    let spawn = |tasks: &mut JoinSet<Done>, msg: RawMessage| {
        let handler = handler.clone();
        let stop = stop.clone();
        let metrics = opts.metrics.clone();
        let group = group.clone();
        tasks.spawn(async move {
            let (result, durability) =
                match handle_with_retry(&*handler, &msg, &stop, grace, &metrics, &group).await {
                    Ok(durability) => (Ok(()), durability),
                    Err(why) => (Err(why), None),
                };
            Done {
                key: msg.key.clone().unwrap_or_default(),
                topic: msg.topic,
                partition: msg.partition,
                offset: msg.offset,
                result,
                durability,
                frees_key: true,
            }
        });
    };
    // The acknowledgements a staged handler left: the record is finished when they are.
    // Like a handler, abandoned when still waiting `grace` after a stop was requested (its
    // record is handled again after the restart).
    let await_durability = |tasks: &mut JoinSet<Done>, done: &Done, durable: Durability| {
        let (topic, partition, offset) = (done.topic.clone(), done.partition, done.offset);
        let stop = stop.clone();
        tasks.spawn(async move {
            let result = tokio::select! {
                r = durable => r.map_err(|e| e.to_string()),
                _ = async { stop.cancelled().await; tokio::time::sleep(grace).await } => {
                    Err("abandoned: its output still unacknowledged when the shutdown grace period ended".into())
                }
            };
            Done {
                key: Vec::new(),
                topic,
                partition,
                offset,
                result,
                durability: None,
                frees_key: false,
            }
        });
    };

    loop {
        lp.beat();
        if crash.is_cancelled() {
            tracing::warn!(group = %group, in_flight = tasks.len(), "crash requested: abandoning work in flight");
            tasks.abort_all();
            // The probe must let go of the consumer, so that it closes here and not on a
            // blocking thread later (librdkafka's close can wait long for an absent broker).
            probe_stop.cancel();
            let _ = probe.await;
            opts.health.remove(&health_name);
            opts.health.remove(&format!("broker for {group}"));
            return Ok(());
        }
        on_rebalance(
            &consumer,
            &*handler,
            &lp,
            &mut draining,
            &mut draining_since,
            &mut fatal,
            &group,
        )
        .await;
        if !draining.is_empty() {
            // Every record already read is finished first (also those queued behind their key):
            // then the commit has no gap and the next owner repeats nothing.
            let busy = draining.iter().any(|(t, p)| tracker.pending_in(t, *p) > 0);
            let overdue = draining_since.elapsed() > grace;
            if !busy || overdue {
                if busy {
                    tracing::warn!(group = %group, grace_ms = grace.as_millis() as u64, "records of revoked partitions still unfinished after the grace period; giving the partitions back anyway (the next owner handles them again)");
                }
                give_back(
                    &consumer,
                    &*handler,
                    &mut tracker,
                    &mut per_key,
                    &mut draining,
                    &group,
                )
                .await;
                series.in_flight(tracker.pending());
            }
        }
        let reading = !shutdown.is_cancelled() && fatal.is_none();
        if !reading && tasks.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            Some(joined) = tasks.join_next() => {
                let mut done = match joined {
                    Ok(d) => d,
                    Err(e) => {
                        // A panic in a handler is a bug; stop rather than skip the record.
                        fatal.get_or_insert(ConsumeError::Fatal {
                            group: group.clone(), topic: "?".into(), partition: -1, offset: -1,
                            why: format!("handler task failed: {e}"),
                        });
                        continue;
                    }
                };
                let staged_now = done.durability.take();
                let awaiting = staged_now.is_some();
                if let Some(durable) = staged_now {
                    await_durability(&mut tasks, &done, durable);
                    staged += 1;
                }
                if !done.frees_key {
                    staged -= 1;
                }
                match done.result {
                    // Applied; its offset waits for the acknowledgements (`await_durability`).
                    Ok(()) if awaiting => {}
                    Ok(()) => {
                        series.record_handled();
                        if let Some(next) = tracker.finish(&done.topic, done.partition, done.offset) {
                            // Not `store_offset`: librdkafka's rd_kafka_offset_store stores
                            // offset + 1, which would skip a record on restart.
                            if let Err(e) = store_exact(&consumer, &done.topic, done.partition, next) {
                                // The partition was revoked meanwhile; its new owner re-reads it.
                                tracing::debug!(group = %group, topic = %done.topic, partition = done.partition, error = %e, "offset not stored");
                            }
                        }
                    }
                    Err(why) => {
                        if !shutdown.is_cancelled() {
                            fatal.get_or_insert(ConsumeError::Fatal {
                                group: group.clone(), topic: done.topic.clone(),
                                partition: done.partition, offset: done.offset, why,
                            });
                        }
                    }
                }
                series.in_flight(tracker.pending());
                if !done.frees_key {
                    continue;
                }
                // Start the key's next record, unless we are stopping.
                let next = per_key.get_mut(&done.key).and_then(VecDeque::pop_front);
                match next {
                    Some(msg) if shutdown.is_cancelled() || fatal.is_some() => { drop(msg); per_key.remove(&done.key); }
                    Some(msg) => spawn(&mut tasks, msg),
                    None => { per_key.remove(&done.key); }
                }
            }
            received = consumer.recv(), if reading && room(tracker.pending(), staged, opts.max_in_flight) => {
                match received {
                    Ok(m) => {
                        if last_error.take().is_some() {
                            opts.health.set_ok(&health_name);
                        }
                        series.record_read();
                        let msg = to_raw(&m);
                        drop(m);
                        // The poll that returned this record may have reported a rebalance
                        // first: an assignment must be announced before its records are handled.
                        on_rebalance(&consumer, &*handler, &lp, &mut draining, &mut draining_since, &mut fatal, &group).await;
                        if fatal.is_some() {
                            continue; // not begun: read again after the restart
                        }
                        if draining.contains(&(msg.topic.clone(), msg.partition)) {
                            // Fetched before the revocation: its next owner reads it again.
                            continue;
                        }
                        tracing::trace!(group = %group, topic = %msg.topic, partition = msg.partition, offset = msg.offset, "read");
                        tracker.begin(&msg.topic, msg.partition, msg.offset);
                        series.in_flight(tracker.pending());
                        let key = msg.key.clone().unwrap_or_default();
                        match per_key.get_mut(&key) {
                            Some(queue) => queue.push_back(msg),
                            None => {
                                per_key.insert(key, VecDeque::new());
                                spawn(&mut tasks, msg);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(group = %group, error = %e, "consumer error");
                        last_error = Some(std::time::Instant::now());
                        opts.health.set_failing(&health_name, e.to_string());
                        if !paced_by_librdkafka(&e) {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
            _ = crash.cancelled() => {} // handled at the top of the loop
            _ = assignment_check.tick() => {
                let assignment = consumer.assignment().unwrap_or_default();
                let n = assignment.count() as i64;
                if series.assigned_partitions(n) {
                    let parts: Vec<String> = assignment.elements().iter().map(|e| format!("{}/{}", e.topic(), e.partition())).collect();
                    tracing::info!(group = %group, partitions = ?parts, "assignment changed");
                }
                let now: HashSet<Part> = assignment.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
                match consumer.context().take_lag() {
                    Some(lags) => lag.received(lags, &now),
                    None if now != assigned => lag.update(&now),
                    None => {}
                }
                assigned = now;
                if last_error.is_some_and(|at| at.elapsed() > Duration::from_secs(15)) {
                    last_error = None;
                    opts.health.set_ok(&health_name);
                }
            }
            _ = shutdown.cancelled(), if reading => {
                tracing::info!(group = %group, in_flight = tasks.len(), "shutting down: finishing records in flight");
            }
        }
    }

    // Commit what finished, synchronously, so a clean stop re-handles nothing.
    let mut tpl = TopicPartitionList::new();
    let assigned = consumer.assignment().unwrap_or_default();
    for (topic, partition, offset) in tracker.positions() {
        if assigned.find_partition(&topic, partition).is_some() {
            let _ = tpl.add_partition_offset(&topic, partition, Offset::Offset(offset));
        }
    }
    if let Err(e) = commit_off_runtime(&consumer, tpl).await {
        tracing::warn!(group = %group, error = %e, "final commit failed; records after the last commit will be handled again");
    }
    probe_stop.cancel();
    let _ = probe.await;
    opts.health.remove(&health_name);
    opts.health.remove(&format!("broker for {group}"));
    series.in_flight(0);
    series.assigned_partitions(0);
    lag.clear();
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Takes the rebalance events reported since the last call: a revocation starts draining its
/// partitions; an assignment is announced to the handler (its failure is fatal). The probe
/// follows: not ready from a revocation until an assignment has been taken over.
async fn on_rebalance<H: Handler>(
    consumer: &LoopConsumer,
    handler: &H,
    lp: &LoopProbe,
    draining: &mut HashSet<Part>,
    draining_since: &mut std::time::Instant,
    fatal: &mut Option<ConsumeError>,
    group: &str,
) {
    for event in consumer.context().take_events() {
        match event {
            RebalanceEvent::Revoked(parts) if parts.is_empty() => {
                // A member that held nothing (its group has more members than partitions) has
                // nothing to drain: give the empty assignment back at once. Deferred like the
                // others, it would never be given back (the drain waits for a partition), and
                // the group's rebalance would wait for it until max.poll.interval.ms: a killed
                // member's partitions would not move to this standby.
                lp.revoked();
                consumer.context().give_back(consumer);
                tracing::info!(group, "empty assignment revoked and given back");
            }
            RebalanceEvent::Revoked(parts) => {
                tracing::info!(group, partitions = ?parts, "partitions revoked: finishing the records read from them before giving them back");
                lp.revoked();
                if draining.is_empty() {
                    *draining_since = std::time::Instant::now();
                }
                draining.extend(parts);
            }
            RebalanceEvent::Assigned(parts) => {
                tracing::info!(group, partitions = ?parts, "partitions assigned");
                match handler.assigned(&parts).await {
                    // Ready only once the handler took them over (the verifier rebuilt them).
                    Ok(()) => lp.assigned(parts.len()),
                    Err(e) => {
                        fatal.get_or_insert(ConsumeError::Fatal {
                            group: group.to_string(),
                            topic: parts.first().map(|p| p.0.clone()).unwrap_or_default(),
                            partition: parts.first().map_or(-1, |p| p.1),
                            offset: -1,
                            why: format!("taking over partitions {parts:?}: {e}"),
                        });
                    }
                }
            }
        }
    }
}

/// Lets the loop's consumer close however the loop ends (see `LoopContext::close`).
struct CloseOnDrop(Arc<LoopConsumer>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.context().close(&*self.0);
    }
}

/// Ends a revocation: commits each revoked partition below its first unfinished record (none,
/// unless the grace ran out), forgets it and its queued records, tells the handler, and gives
/// the partitions back to the group.
async fn give_back<H: Handler>(
    consumer: &Arc<LoopConsumer>,
    handler: &H,
    tracker: &mut OffsetTracker,
    per_key: &mut HashMap<Vec<u8>, VecDeque<RawMessage>>,
    draining: &mut HashSet<Part>,
    group: &str,
) {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in draining.iter() {
        if let Some(next) = tracker.committable(topic, *partition) {
            let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(next));
        }
        tracker.forget(topic, *partition);
    }
    if let Err(e) = commit_off_runtime(consumer, tpl).await {
        // E.g. the assignment was lost (session timed out): the next owner repeats records
        // after the last commit, which handlers absorb (idempotent).
        tracing::warn!(group, error = %e, "commit of revoked partitions failed");
    }
    // Queued records left only when the grace ran out. Keys whose handler is running keep their
    // entry (it is removed when the handler ends).
    for queue in per_key.values_mut() {
        queue.retain(|m| !draining.contains(&(m.topic.clone(), m.partition)));
    }
    let parts: Vec<Part> = draining.drain().collect();
    handler.revoked(&parts).await;
    consumer.context().give_back(&**consumer);
    tracing::info!(group, partitions = ?parts, "revoked partitions given back");
}

/// Whether librdkafka itself paces `e` (it reports a broker connection lost or all of them down
/// once per reconnect attempt, with its reconnect back-off), so the loop need not. Slept on per
/// event, the ones queued during a 30 s outage outlived it: a worker took them one per 100 ms for
/// 45 s after the broker was back, its health failing and its records waiting in between
/// (faults test, real broker).
fn paced_by_librdkafka(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{AllBrokersDown, BrokerTransportFailure};
    matches!(
        e.rdkafka_error_code(),
        Some(AllBrokersDown | BrokerTransportFailure)
    )
}

/// Commits `tpl` synchronously on a blocking thread. A synchronous commit waits for the broker
/// (during an outage, up to librdkafka's request timeout): on a runtime thread it stalled every
/// task sharing that thread, the probes' HTTP server included — `/livez` then went unanswered for
/// seconds while nothing was wedged. Nothing to commit is not an error.
async fn commit_off_runtime(
    consumer: &Arc<LoopConsumer>,
    tpl: TopicPartitionList,
) -> Result<(), rdkafka::error::KafkaError> {
    if tpl.count() == 0 {
        return Ok(());
    }
    let consumer = consumer.clone();
    match tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync)).await {
        Ok(result) => result,
        // The blocking pool is gone only while the runtime shuts down: nothing is committed,
        // and the next owner repeats the records after the last commit (handlers absorb it).
        Err(_) => Err(rdkafka::error::KafkaError::Canceled),
    }
}

/// Stores `next` (the next offset to read) as the partition's commit position, exactly.
fn store_exact(
    consumer: &LoopConsumer,
    topic: &str,
    partition: i32,
    next: i64,
) -> rdkafka::error::KafkaResult<()> {
    let mut tpl = TopicPartitionList::with_capacity(1);
    tpl.add_partition_offset(topic, partition, Offset::Offset(next))?;
    consumer.store_offsets(&tpl)
}

/// Checks every `health_probe` that the broker answers a metadata request, and reports it as
/// the process's `broker for <group>` health and to the loop's readiness. A consumer alone
/// would not notice: librdkafka retries connections quietly, and an idle topic brings no
/// records to fail on.
fn spawn_health_probe(
    consumer: Arc<LoopConsumer>,
    opts: &LoopOptions,
    ready: BrokerReporter,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let health = opts.health.clone();
    let name = format!("broker for {}", opts.group);
    let every = opts.health_probe;
    tokio::spawn(async move {
        loop {
            let c = consumer.clone();
            let timeout = every
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(500));
            let answer = tokio::task::spawn_blocking(move || {
                let topic = c
                    .subscription()
                    .ok()
                    .and_then(|s| s.elements().first().map(|e| e.topic().to_string()));
                c.fetch_metadata(topic.as_deref(), timeout).map(|_| ())
            })
            .await;
            let answer = match answer {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("broker did not answer a metadata request: {e}")),
                Err(e) => Err(format!("health probe failed: {e}")),
            };
            match &answer {
                Ok(()) => health.set_ok(&name),
                Err(why) => health.set_failing(&name, why.clone()),
            }
            ready.report(answer);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    })
}

/// How many records applied and awaiting their acknowledgements may be pending per record being
/// handled (`max_in_flight`): they are cheap (the record's bytes until its offset is stored),
/// and a verifier holds a case version up to its fold window, far longer than a handler runs.
const STAGED_PER_IN_FLIGHT: usize = 16;

/// Whether the loop may read another record: fewer than `max_in_flight` being handled, and
/// fewer than `STAGED_PER_IN_FLIGHT` times that awaiting acknowledgements.
fn room(pending: usize, staged: usize, max_in_flight: usize) -> bool {
    pending.saturating_sub(staged) < max_in_flight && staged < max_in_flight * STAGED_PER_IN_FLIGHT
}

/// Calls the handler until it succeeds, fails fatally, or stops: when a graceful stop was
/// requested, a retry is not started and a handler still running after `grace` is abandoned
/// (its record stays unstored and is handled again after the restart).
async fn handle_with_retry<H: Handler>(
    handler: &H,
    msg: &RawMessage,
    stop: &CancellationToken,
    grace: Duration,
    metrics: &Metrics,
    group: &str,
) -> Result<Option<Durability>, String> {
    let mut delay = Duration::from_millis(50);
    let grace_over = async {
        stop.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::pin!(grace_over);
    loop {
        let outcome = tokio::select! {
            r = handler.handle_staged(msg) => r,
            _ = &mut grace_over => return Err("abandoned: still running when the shutdown grace period ended".into()),
        };
        match outcome {
            Ok(durability) => return Ok(durability),
            Err(HandlerError::Fatal(why)) => return Err(why),
            Err(HandlerError::Retry(why)) => {
                metrics.emit(HandlerRetried { consumer: group });
                tracing::warn!(group, topic = %msg.topic, partition = msg.partition, offset = msg.offset,
                    error = %why, retry_in_ms = delay.as_millis() as u64, "record not handled yet; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => return Err(format!("stopped before handled: {why}")),
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Creates a group consumer and subscribes it.
pub fn subscribe(
    cfg: &crate::config::Config,
    group: &str,
    topics: &[&str],
) -> Result<LoopConsumer, ConsumeError> {
    let consumer: LoopConsumer = crate::kafka::consumer_config(cfg, group)
        .create_with_context(LoopContext::default())
        .map_err(|source| ConsumeError::Subscribe {
            group: group.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            source,
        })?;
    consumer
        .subscribe(topics)
        .map_err(|source| ConsumeError::Subscribe {
            group: group.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            source,
        })?;
    Ok(consumer)
}

#[cfg(test)]
mod tests {
    use super::paced_by_librdkafka;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn broker_connection_errors_are_not_slept_on_others_are() {
        let e = |c| KafkaError::MessageConsumption(c);
        assert!(paced_by_librdkafka(&e(RDKafkaErrorCode::AllBrokersDown)));
        assert!(paced_by_librdkafka(&e(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(!paced_by_librdkafka(&e(
            RDKafkaErrorCode::UnknownTopicOrPartition
        )));
        assert!(!paced_by_librdkafka(&KafkaError::Canceled));
    }
}

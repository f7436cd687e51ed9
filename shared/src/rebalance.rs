//! Consumer-group rebalances as the consume loop sees them.
//!
//! librdkafka reports a rebalance through the consumer context while the loop polls. The
//! default context hands partitions back at once, while handlers for them may still be running:
//! the next owner would then read state (the verifier's changelog) that those handlers have not
//! finished writing, and handle their records a second time. So this context *defers* giving
//! partitions back: it queues a `Revoked` event and leaves the group's rebalance waiting until
//! the loop has let the partitions' handlers finish, committed what they finished, told the
//! handler, and only then calls `give_back`. librdkafka's group state machine waits for that
//! call (its "wait unassign call" state), bounded by `max.poll.interval.ms`.
//!
//! An assignment is taken at once and queued as `Assigned`: the loop tells the handler (the
//! verifier rebuilds those partitions' cases) before it handles any of their records.
//!
//! When the consumer closes, nothing is deferred: the close itself waits for the unassign.
//!
//! The context also receives librdkafka's statistics (`ClientContext::stats_raw`): it keeps the
//! latest lag per partition for the loop to export (`metrics::LagReport`).

use crate::metrics::LagReport;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::TopicPartitionList;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A topic partition, by name.
pub type Part = (String, i32);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    /// Now owned; already assigned to the consumer.
    Assigned(Vec<Part>),
    /// To be given up; still assigned until the loop calls `give_back`.
    Revoked(Vec<Part>),
}

#[derive(Default)]
pub struct LoopContext {
    events: Mutex<VecDeque<RebalanceEvent>>,
    /// A revocation was reported and not yet given back.
    revoke_pending: AtomicBool,
    /// Set when the loop is done with the consumer: revocations are then given back at once.
    closing: AtomicBool,
    /// The revoked list of a cooperative rebalance (eager gives back everything).
    pending_list: Mutex<Option<TopicPartitionList>>,
    /// The lag in the latest statistics, until the loop takes it.
    lag: LagReport,
}

fn parts(tpl: &TopicPartitionList) -> Vec<Part> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl LoopContext {
    /// Events reported since the last call, oldest first.
    pub fn take_events(&self) -> Vec<RebalanceEvent> {
        self.events
            .lock()
            .expect("rebalance events")
            .drain(..)
            .collect()
    }

    /// Gives back the revoked partitions (after the loop drained them). A no-op when none are
    /// pending.
    pub fn give_back<C: Consumer<LoopContext>>(&self, consumer: &C) {
        if !self.revoke_pending.swap(false, Ordering::SeqCst) {
            return;
        }
        let list = self.pending_list.lock().expect("pending revocation").take();
        let result = match (consumer.rebalance_protocol(), list) {
            (RebalanceProtocol::Cooperative, Some(list)) => consumer.incremental_unassign(&list),
            _ => consumer.unassign(),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "giving back revoked partitions failed");
        }
    }

    /// The lag per partition in the statistics received since the last call, if any.
    pub fn take_lag(&self) -> Option<Vec<crate::metrics::PartitionLag>> {
        self.lag.take()
    }

    /// From now on nothing is deferred; a revocation still pending is given back now (a closing
    /// consumer waits for it).
    pub fn close<C: Consumer<LoopContext>>(&self, consumer: &C) {
        self.closing.store(true, Ordering::SeqCst);
        self.give_back(consumer);
    }
}

impl ClientContext for LoopContext {
    /// Only the lag is read from the statistics (librdkafka's default parses them whole and
    /// logs them).
    fn stats_raw(&self, statistics: &[u8]) {
        self.lag.receive(statistics);
    }
}

impl ConsumerContext for LoopContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let r = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = r {
                    tracing::error!(error = %e, "taking the assigned partitions failed");
                    return;
                }
                self.events
                    .lock()
                    .expect("rebalance events")
                    .push_back(RebalanceEvent::Assigned(parts(tpl)));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                *self.pending_list.lock().expect("pending revocation") = Some(tpl.clone());
                self.revoke_pending.store(true, Ordering::SeqCst);
                if self.closing.load(Ordering::SeqCst) {
                    self.give_back(consumer);
                    return;
                }
                self.events
                    .lock()
                    .expect("rebalance events")
                    .push_back(RebalanceEvent::Revoked(parts(tpl)));
            }
            other => {
                tracing::error!(error = ?other, "rebalance error; giving back the assignment");
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "unassign after a rebalance error failed");
                }
            }
        }
    }
}

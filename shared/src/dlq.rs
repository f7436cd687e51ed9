//! Sending refused input to the dead-letter topic. The refusal counts as "handled" only once the
//! dead letter is acknowledged, so a refused record is never lost either.

use crate::consume::HandlerError;
use crate::contract::{DeadLetter, RawMessage};
use crate::kafka::Producer;
use crate::metrics::{DeadLettered, Metrics};

/// Where one consumer sends the input it refuses: the producer, the dead-letter topic, the
/// consumer's group (named in each letter as the one that refused it) and the metrics that count
/// the refusals. Built once per handler, so a call site passes only what differs: the record and why.
#[derive(Clone)]
pub struct DeadLetters {
    producer: Producer,
    topic: String,
    rejected_by: String,
    metrics: Metrics,
}

impl DeadLetters {
    pub fn new(producer: Producer, topic: String, rejected_by: String, metrics: Metrics) -> Self {
        DeadLetters {
            producer,
            topic,
            rejected_by,
            metrics,
        }
    }

    /// Sends `msg` to the dead-letter topic with `reason` and `detail`; resolves once the broker
    /// acknowledges it (a failed send is a `Retry`, so the record is read again).
    pub async fn send(
        &self,
        msg: &RawMessage,
        reason: &'static str,
        detail: String,
    ) -> Result<(), HandlerError> {
        let rejected_by = self.rejected_by.as_str();
        tracing::warn!(
            consumer = rejected_by, topic = %msg.topic, partition = msg.partition, offset = msg.offset,
            reason, detail = %detail, "input refused; sent to the dead-letter topic"
        );
        let letter = DeadLetter::new(msg, reason, detail, rejected_by);
        let key = msg.key_str().unwrap_or_default();
        self.producer
            .send_json(&self.topic, &key, &letter, None)
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        self.metrics.emit(DeadLettered {
            consumer: rejected_by,
            reason,
        });
        Ok(())
    }
}

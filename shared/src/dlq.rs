//! Sending refused input to the dead-letter topic. The refusal counts as "handled" only once the
//! dead letter is acknowledged, so a refused record is never lost either.

use crate::consume::HandlerError;
use crate::contract::{DeadLetter, RawMessage};
use crate::kafka::Producer;
use crate::metrics::{DeadLettered, Metrics};

pub async fn dead_letter(
    producer: &Producer,
    dlq_topic: &str,
    msg: &RawMessage,
    reason: &'static str,
    detail: String,
    rejected_by: &str,
    metrics: &Metrics,
) -> Result<(), HandlerError> {
    tracing::warn!(
        consumer = rejected_by, topic = %msg.topic, partition = msg.partition, offset = msg.offset,
        reason, detail = %detail, "input refused; sent to the dead-letter topic"
    );
    let letter = DeadLetter::new(msg, reason, detail, rejected_by);
    let key = msg.key_str().unwrap_or_default();
    producer
        .send_json(dlq_topic, &key, &letter, None)
        .await
        .map_err(|e| HandlerError::Retry(e.to_string()))?;
    metrics.emit(DeadLettered {
        consumer: rejected_by,
        reason,
    });
    Ok(())
}

//! The guard log: every instance tails it from its start, judges it with the pure `Guard` and
//! applies the verdicts on the cases it owns. A person's decision counts only if
//! `read_guard_record` finds it theirs; a refused one is skipped here by every instance (it has
//! no effect) and dead-lettered once, by the `decision_refusals` consumer.

use super::VerifierHandler;
use crate::verifier::guard::{read_guard_record, GuardRead};
use crate::verifier::machine::Input;
use rdkafka::consumer::{BaseConsumer, Consumer};
use revoke_shared::config::Config;
use revoke_shared::consume::HandlerError;
use revoke_shared::kafka::reader_config;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl VerifierHandler {
    /// Records of the guard log, in its order: judged for the whole fleet, applied here to the
    /// cases this instance owns (the others' owners apply them to theirs). A burst is applied
    /// as one batch whose acknowledgements are awaited together: one round trip, not one each.
    pub(super) async fn on_guard_records(
        &self,
        records: &[GuardLogged],
    ) -> Result<(), HandlerError> {
        let acks = {
            let mut st = self.state.lock().expect("verifier state lock");
            let mut judged = Vec::new();
            for (offset, entry, proof) in records {
                judged.extend(st.guard.apply_proven(*offset, entry, proof.clone()));
            }
            // The `revoke_guard_*` gauges: what the guard holds in memory (its bounds in `guard`).
            self.metrics.emit(st.guard.sizes());
            let mut acks = Vec::new();
            for j in &judged {
                if let crate::verifier::guard::Verdict::Held {
                    batch,
                    opens_batch: true,
                    ..
                } = &j.verdict
                {
                    tracing::warn!(batch = %batch, "blast-radius guard: a batch of cases is held");
                }
                if st.machine.case(&j.case_id).is_none() {
                    continue; // another instance's case
                }
                acks.extend(self.apply_locked(&mut st, Input::Guard(j))?);
            }
            acks
        };
        self.wait_all(acks).await
    }
}

/// A guard log record that counts: its offset, the entry and, for a decision, its proof.
pub(super) type GuardLogged = (
    i64,
    revoke_shared::contract::GuardEntry,
    Option<crate::verifier::guard::DecisionProof>,
);

/// Reads the guard log from its start into `tx` until `stop`, on a blocking thread: every
/// record that counts, with its offset. Unreadable records are skipped with a warning (only
/// revoke writes this topic); refused decisions are skipped (see the module documentation).
pub(super) fn guard_tail(
    cfg: &Config,
    tx: tokio::sync::mpsc::Sender<GuardLogged>,
    stop: CancellationToken,
) -> Result<(), rdkafka::error::KafkaError> {
    use rdkafka::message::Message;
    use rdkafka::{Offset, TopicPartitionList};
    let reader: BaseConsumer = reader_config(cfg)
        // A verdict is on the path of every case: ask the broker not to sit on an empty fetch.
        .set("fetch.wait.max.ms", "20")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&cfg.topics.guard, 0, Offset::Beginning)?;
    reader.assign(&tpl)?;
    while !stop.is_cancelled() {
        match reader.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, topic = %cfg.topics.guard, "reading the guard log; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Some(Ok(m)) => {
                let Some(payload) = m.payload() else { continue };
                match read_guard_record(payload, &cfg.people, cfg.signing.required) {
                    GuardRead::Counts { entry, proof } => {
                        if tx.blocking_send((m.offset(), entry, proof)).is_err() {
                            return Ok(());
                        }
                    }
                    refused @ GuardRead::Refused { .. } => {
                        let (reason, _) = refused.dead_letter().unwrap_or_default();
                        tracing::debug!(
                            reason,
                            offset = m.offset(),
                            "refused decision on the guard log; no effect"
                        )
                    }
                    GuardRead::Unreadable(why) => {
                        tracing::warn!(why = %why, offset = m.offset(), "unreadable guard log record; skipped")
                    }
                }
            }
        }
    }
    Ok(())
}

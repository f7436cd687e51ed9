//! A rescind of a case already closed: the shell reads the closing record back from the
//! changelog (`read_closed`, also used for what arrives after close) and hands it to the machine
//! with the rescind.

use super::VerifierHandler;
use crate::evidence::chain::{case_with_digest, RecordDigest};
use crate::verifier::machine::Input;
use revoke_shared::config::Config;
use revoke_shared::consume::HandlerError;
use revoke_shared::contract::{Case, HrEvent, RawMessage, CASE_SCHEMA};
use revoke_shared::metrics::VerifierNote;
use std::time::Duration;
use uuid::Uuid;

impl VerifierHandler {
    /// A rescind. For a case that already closed, the machine keeps only a marker, so its last
    /// record is read back from the changelog to know what to give back (`read_closed`: the one
    /// record at the offset the marker keeps; only a marker without an offset, or a record no
    /// longer there, falls back to reading the partition's history, then every partition, which
    /// is counted as `revoke_verifier_notes_total{what="closed_case_scanned"}`).
    pub(super) async fn rescind(
        &self,
        msg: &RawMessage,
        ev: &HrEvent,
        partition: i32,
    ) -> Result<(), HandlerError> {
        let (closed, refused) = {
            let st = self.state.lock().expect("verifier state lock");
            (
                st.machine
                    .rescind_applies_to(ev)
                    .filter(|id| st.machine.is_closed(id))
                    .map(|id| (id, st.machine.closed_offset(&id))),
                st.machine.rescind_refusal(ev),
            )
        };
        if let Some((reason, detail)) = refused {
            tracing::warn!(identity = %ev.subject, event_id = %ev.id, reason, "rescind refused");
            return self.dead_letters.send(msg, reason, detail).await;
        }
        let Some((case_id, offset)) = closed else {
            return self
                .apply(Input::Hr(ev), Some((ev.case_id(), partition)))
                .await;
        };
        let record = self.read_closed(case_id, offset, partition).await?;
        match record {
            Some((case, digest)) => {
                self.chain_from_closed(case_id, digest);
                let done = self
                    .apply(Input::RescindClosed(ev, &case), Some((case_id, partition)))
                    .await;
                self.unchain_if_closed(case_id);
                done
            }
            None => {
                tracing::warn!(case_id = %case_id, "closed case not found in the changelog: the rescind is only noted");
                self.apply(Input::Hr(ev), Some((ev.case_id(), partition)))
                    .await
            }
        }
    }

    /// The last record of the closed case `case_id`: the one at the marker's `offset` of
    /// changelog partition `partition` (the partition of the identity's inputs, where the
    /// verifier writes it); without an offset (or a record no longer there) the partition's
    /// history, then every partition's, counted (`closed_case_scanned`).
    pub(super) async fn read_closed(
        &self,
        case_id: Uuid,
        offset: Option<i64>,
        partition: i32,
    ) -> Result<Option<(Case, RecordDigest)>, HandlerError> {
        let cfg = self.cfg.clone();
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(case) = offset
                .map(|o| closed_case_at(&cfg, case_id, partition, o))
                .transpose()?
                .flatten()
            {
                return Ok(Some(case));
            }
            metrics.emit(VerifierNote::ClosedCaseScanned);
            closed_case_record(&cfg, case_id, Some(partition))
                .transpose()
                .or_else(|| closed_case_record(&cfg, case_id, None).transpose())
                .transpose()
        })
        .await
        .map_err(|e| HandlerError::Retry(format!("reading the closed case {case_id}: {e}")))?
        .map_err(|e| {
            HandlerError::Retry(format!(
                "reading the closed case {case_id} from {}: {e}",
                self.cfg.topics.cases
            ))
        })
    }

    /// A closed case about to be re-published: its next version chains to the record read back.
    pub(super) fn chain_from_closed(&self, case_id: Uuid, digest: RecordDigest) {
        let mut st = self.state.lock().expect("verifier state lock");
        st.chain.set(case_id, digest);
    }

    /// Drops the chain head of a case that stayed closed (nothing was published, or it was
    /// published closed again): closed cases keep no head in memory.
    pub(super) fn unchain_if_closed(&self, case_id: Uuid) {
        let mut st = self.state.lock().expect("verifier state lock");
        if st.machine.case(&case_id).is_none() {
            st.chain.forget(&case_id);
        }
    }
}

/// The record of `case_id` at `offset` of changelog partition `partition`, if it is there.
pub(super) fn closed_case_at(
    cfg: &Config,
    case_id: Uuid,
    partition: i32,
    offset: i64,
) -> Result<Option<(Case, RecordDigest)>, rdkafka::error::KafkaError> {
    let record = revoke_shared::kafka::read_one_at(
        cfg,
        &cfg.topics.cases,
        partition,
        offset,
        Duration::from_secs(60),
    )?;
    Ok(record
        .and_then(|r| case_with_digest(&r.payload?))
        .filter(|(c, _)| c.schema == CASE_SCHEMA && c.case_id == case_id))
}

/// The latest record of `case_id` in the changelog (`partition` only, or every partition).
pub(super) fn closed_case_record(
    cfg: &Config,
    case_id: Uuid,
    partition: Option<i32>,
) -> Result<Option<(Case, RecordDigest)>, rdkafka::error::KafkaError> {
    let only = partition.map(|p| vec![p]);
    let key = case_id.to_string();
    let records = revoke_shared::kafka::read_partitions_to_end(
        cfg,
        &cfg.topics.cases,
        only.as_deref(),
        Duration::from_secs(60),
    )?;
    Ok(records
        .into_iter()
        .filter(|r| r.key.as_deref() == Some(key.as_bytes()))
        .filter_map(|r| case_with_digest(&r.payload?))
        .filter(|(c, _)| c.schema == CASE_SCHEMA && c.case_id == case_id)
        .max_by_key(|(c, _)| c.revision))
}

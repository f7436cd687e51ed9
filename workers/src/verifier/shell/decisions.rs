//! People's decisions on a live case — a step's attestation (`case ack --step`), a closure
//! review (`revoke review`): applied, and what the machine refuses (not the person's, a step the
//! case lacks, a stale digest, a conflict of interest, …) dead-lettered with its reason once the
//! rest is written, so the refusal is on the DLQ and the consumer goes on.

use super::VerifierHandler;
use crate::verifier::machine::{Effect, Input};
use chrono::Utc;
use revoke_shared::consume::{Durability, HandlerError};
use revoke_shared::contract::RawMessage;
use uuid::Uuid;

impl VerifierHandler {
    /// Applies a decision or a report on a known case. Nothing refused: its acknowledgements
    /// are returned to await (its case version may fold, `fold`); something refused: the rest
    /// is written first, then the refusals are dead-lettered.
    pub(super) async fn decision(
        &self,
        msg: &RawMessage,
        case_id: Uuid,
        input: Input<'_>,
    ) -> Result<Option<Durability>, HandlerError> {
        let (acks, refused) = {
            let mut st = self.state.lock().expect("verifier state lock");
            if st.machine.case(&case_id).is_some() {
                st.partition_of.entry(case_id).or_insert(msg.partition);
            }
            let (refused, effects): (Vec<Effect>, Vec<Effect>) = st
                .machine
                .apply(input, Utc::now())
                .into_iter()
                .partition(|e| matches!(e, Effect::Refuse { .. }));
            let fold = refused.is_empty();
            (self.enqueue_locked(&mut st, effects, fold)?, refused)
        };
        if refused.is_empty() {
            return Ok(Some(self.durability(acks)));
        }
        self.wait_all(acks).await?;
        self.dead_letter_refusals(msg, case_id, refused, "decision")
            .await
            .map(|()| None)
    }
}

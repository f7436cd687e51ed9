//! People's decisions on a live case — a step's attestation (`case ack --step`), a closure
//! review (`revoke review`): applied, and what the machine refuses (not the person's, a step the
//! case lacks, a stale digest, a conflict of interest, …) dead-lettered with its reason once the
//! rest is written, so the refusal is on the DLQ and the consumer goes on.

use super::VerifierHandler;
use crate::verifier::machine::{Effect, Input};
use chrono::Utc;
use revoke_shared::consume::HandlerError;
use revoke_shared::contract::RawMessage;
use uuid::Uuid;

impl VerifierHandler {
    pub(super) async fn decision(
        &self,
        msg: &RawMessage,
        case_id: Uuid,
        input: Input<'_>,
    ) -> Result<(), HandlerError> {
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
            (self.enqueue_locked(&mut st, effects)?, refused)
        };
        self.wait_all(acks).await?;
        self.dead_letter_refusals(msg, case_id, refused, "decision")
            .await
    }
}

//! What arrives about a case after it closed — access seen again (`revoke verify`, `revoke
//! watch`), Shared Signals deliveries (`revoke signals`) and replay requests (`revoke replay`):
//! for a closed case the machine keeps only a marker, so its last record is read back from the
//! changelog first (as for a rescind after close); what the machine refuses (an unknown case,
//! another identity's, a rescinded case's finding or replay, …) is dead-lettered with its reason
//! once the rest is written.

use super::VerifierHandler;
use crate::verifier::machine::{Effect, Input};
use chrono::Utc;
use revoke_shared::consume::HandlerError;
use revoke_shared::contract::{AccessFinding, RawMessage, ReplayRequest, SignalDelivery};
use uuid::Uuid;

/// An input about a case after close, parsed and its signature checked.
pub(super) enum AfterClose<'a> {
    Finding(&'a AccessFinding),
    Signal(&'a SignalDelivery),
    /// With the record as published (its signature is checked over it).
    Replay(&'a ReplayRequest, &'a serde_json::Value),
}

impl AfterClose<'_> {
    fn case_id(&self) -> Uuid {
        match self {
            AfterClose::Finding(f) => f.case_id,
            AfterClose::Signal(d) => d.case_id,
            AfterClose::Replay(r, _) => r.case_id,
        }
    }

    /// The case it may open besides: a replay request's replay case.
    fn opens(&self) -> Option<Uuid> {
        match self {
            AfterClose::Replay(r, _) => Some(r.replay_case_id()),
            _ => None,
        }
    }
}

impl VerifierHandler {
    pub(super) async fn after_close(
        &self,
        msg: &RawMessage,
        input: AfterClose<'_>,
    ) -> Result<(), HandlerError> {
        let case_id = input.case_id();
        let closed = {
            let st = self.state.lock().expect("verifier state lock");
            st.machine
                .is_closed(&case_id)
                .then(|| st.machine.closed_offset(&case_id))
        };
        let record = match closed {
            Some(offset) => self.read_closed(case_id, offset, msg.partition).await?,
            None => None,
        };
        if let Some((_, digest)) = &record {
            // Re-published, the closed case's next version chains to the record read back.
            self.chain_from_closed(case_id, *digest);
        }
        let record = record.map(|(case, _)| case);
        let opens = input.opens();
        let input = match input {
            AfterClose::Finding(f) => Input::Finding(f, record.as_ref()),
            AfterClose::Signal(d) => Input::Signal(d, record.as_ref()),
            AfterClose::Replay(r, raw) => Input::Replay(r, raw, record.as_ref()),
        };
        let (acks, refused) = {
            let mut st = self.state.lock().expect("verifier state lock");
            if st.machine.case(&case_id).is_some() || st.machine.is_closed(&case_id) {
                // A closed case re-published (or reopened) goes where its inputs are.
                st.partition_of.entry(case_id).or_insert(msg.partition);
            }
            if let Some(id) = opens.filter(|id| !st.machine.is_closed(id)) {
                // A replay case lives on the partition of its person's inputs, like any case.
                st.partition_of.entry(id).or_insert(msg.partition);
            }
            let (refused, effects): (Vec<Effect>, Vec<Effect>) = st
                .machine
                .apply(input, Utc::now())
                .into_iter()
                .partition(|e| matches!(e, Effect::Refuse { .. }));
            let acks = self.enqueue_locked(&mut st, effects, false)?;
            (acks, refused)
        };
        self.unchain_if_closed(case_id);
        self.wait_all(acks).await?;
        self.dead_letter_refusals(msg, case_id, refused, "input after close")
            .await
    }
}

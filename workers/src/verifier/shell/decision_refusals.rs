//! Dead-lettering refused decisions of the guard log, once.
//!
//! Every verifier instance reads the whole guard log from its start (and again after each
//! restart), and each skips a refused decision the same way; if each also dead-lettered it, one
//! forged approval would become one dead letter per instance and per restart. So the dead letters
//! come from a consumer group of their own, `<verifier group>-decisions`, on the
//! (single-partition) guard log: the group hands the partition to exactly one instance at a
//! time, and its committed offset means a restart or a hand-over does not write them again
//! (at-least-once: a crash between the dead letter's acknowledgement and the commit may repeat
//! one). Judging stays with `read_guard_record`, the same function the instances apply. A record
//! none of them can read (not JSON, not a guard record, another schema) is dead-lettered here
//! too (`malformed_guard_record`).

use crate::verifier::guard::{read_guard_record, GuardRead};
use revoke_shared::config::Config;
use revoke_shared::consume::{Handler, HandlerError};
use revoke_shared::contract::RawMessage;
use revoke_shared::dlq::DeadLetters;

/// The group whose member dead-letters the guard log's refused decisions.
pub fn group(cfg: &Config) -> String {
    format!("{}-decisions", crate::verifier::group(cfg))
}

pub(super) struct DecisionRefusals {
    pub(super) cfg: Config,
    pub(super) dead_letters: DeadLetters,
}

#[async_trait::async_trait]
impl Handler for DecisionRefusals {
    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        let Some(payload) = msg.payload.as_deref() else {
            return Ok(());
        };
        let read = read_guard_record(payload, &self.cfg.people, self.cfg.signing.required);
        if let GuardRead::Unreadable(why) = &read {
            // Skipped by every instance: no effect, but whoever wrote it should hear of it.
            let detail = format!("guard log record skipped by every verifier: {why}");
            return self
                .dead_letters
                .send(msg, "malformed_guard_record", detail)
                .await;
        }
        match read.dead_letter() {
            Some((reason, detail)) => self.dead_letters.send(msg, reason, detail).await,
            None => Ok(()),
        }
    }
}

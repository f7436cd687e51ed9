//! Cases as the changelog holds them: reading it (`log`), what a case's evidence says
//! (`evidence`), and rendering a case for people (`render`) — for `revoke case`, `revoke case
//! ack`, `revoke report`, the demo and the tests.

mod after_close;
mod evidence;
mod log;
mod render;
mod render_replay;
mod render_review;

pub use evidence::{
    acknowledgements, attestation_not_accepted, attested_by, escalation_is_open, is_ack,
    object_outcome_str, target_provenance, target_state_str, Acknowledgement, Proof, MANUAL_ACTION,
    MANUAL_INSTANCE, MANUAL_OBJECT_KIND,
};
pub use log::{follow, follow_payloads, read_case_log, CaseLog};
pub use render::{duration_text, render, ts, verdict};
pub use render_replay::verdict_prefix as replay_verdict_prefix;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

//! Unit tests of the verifier's state machine (`machine/`).
//!
//! Every test drives `Verifier::apply` with hand-built inputs (from `kit`) at explicit instants
//! and checks the exact effects: which variants, the case record (state, revision, targets,
//! escalations, `closed_at`) and each escalation (reason, targets, owner). One file per concern;
//! `property` is a property test over random interleavings, duplicates, deadlines, restarts and
//! replays, driven by a small deterministic PRNG so that any failure names a seed that
//! reproduces it.

/// Also the base of `cases::fixtures` (the case, ack and report tests).
pub(crate) mod kit;

mod ack_tests;
mod closed_offset_tests;
pub(crate) mod decision_kit;
mod escalation_tests;
mod finding_tests;
mod guard_tests;
mod opening_tests;
mod people_tests;
mod policy_tests;
mod property;
mod rebuild_tests;
mod redrive_tests;
mod reminder_tests;
mod replay_after_tests;
pub(crate) mod replay_kit;
mod replay_tests;
mod rescind_tests;
mod restore_report_tests;
mod review_tests;
mod schedule_tests;
mod signal_tests;
mod step_tests;

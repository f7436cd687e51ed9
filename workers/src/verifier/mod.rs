//! The verifier: collects confirmations per case and closes or escalates it.
//!
//! `machine` is the pure state machine; `shell` feeds it from Kafka and publishes its effects.

pub mod ack_check;
pub mod guard;
pub mod machine;
pub mod offline;
pub mod people;
pub mod replay_rules;
pub mod shell;
#[cfg(test)]
pub(crate) mod tests;

pub use machine::{Effect, Input, Verifier};
pub use shell::run_verifier;

/// The verifier's consumer group: `<prefix>revoke-verifier`.
pub fn group(cfg: &revoke_shared::config::Config) -> String {
    format!("{}revoke-verifier", cfg.kafka.group_prefix)
}

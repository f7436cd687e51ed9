//! The verifier: collects confirmations per case and closes or escalates it.
//!
//! `machine` is the pure state machine; `shell` feeds it from Kafka and publishes its effects.

pub mod machine;
pub mod shell;
#[cfg(test)]
mod tests;

pub use machine::{Effect, Input, Verifier};
pub use shell::run_verifier;

pub const GROUP: &str = "revoke-verifier";

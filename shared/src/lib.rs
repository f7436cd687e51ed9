//! `revoke-shared`: the contracts and plumbing every revoke process uses.
//!
//! - `contract`: event shapes on every topic, with validation.
//! - `consume`: the at-least-once, per-identity-ordered, concurrent consume loop.
//! - `offsets`: ordered acknowledgements (pure).
//! - `kafka`: client settings and an acknowledging producer; `leaders`: the bounded wait for
//!   partition leaders one-shot commands run before producing; `reach`: whether a broker answers
//!   at all (one-shot commands ask it first, within `--timeout`).
//! - `retry`: backoff policy and error classification.
//! - `signing`: signed HR events (keys, canonical form, verification) and the admission of HR
//!   input; its settings are data in `config`, which never imports `signing`.
//! - `metrics`, `telemetry`, `config`, `secret`.

pub mod config;
pub mod consume;
pub mod contract;
pub mod dlq;
pub mod kafka;
pub mod leaders;
pub mod metrics;
pub mod offsets;
pub mod ratelimit;
pub mod reach;
pub mod rebalance;
pub mod retry;
pub mod secret;
pub mod signing;
pub mod telemetry;

pub use config::Config;

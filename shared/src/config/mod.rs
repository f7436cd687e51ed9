//! Configuration: one TOML file, every key with a default, environment overrides on top.
//!
//! Overrides: `REVOKE_<SECTION>__<KEY>=value` (double underscore between levels), e.g.
//! `REVOKE_KAFKA__BROKERS=host:9092`, `REVOKE_VERIFIER__DEADLINE_SECS=600`. Values are read as
//! TOML when they parse as such (numbers, booleans, arrays), else as strings. Secrets are never
//! written inline: the config names the environment variable or file that holds them.
//!
//! This folder holds data only: one file per section (`kafka` with `consumer`, `topics`,
//! `metrics`, `worker`, `verifier`, `escalations`, `simulator`, `signing`), reading a file with
//! its overrides (`load`) and the checks across sections (`validate`). What acts on the settings
//! lives with the code that acts (reading signing keys, signing and verifying: `crate::signing`)
//! and depends on this module, never the other way round.

mod escalations;
mod evidence_keys;
mod kafka;
mod key_text;
mod load;
mod metrics;
mod people;
mod person_refs;
mod read_once;
mod signals;
mod signing;
mod simulator;
mod steps;
mod topics;
mod validate;
mod verifier;
mod worker;

pub use escalations::EscalationsConfig;
pub use evidence_keys::{EvidenceKey, EvidenceRole};
pub use kafka::{ConsumerConfig, KafkaConfig};
pub use metrics::MetricsConfig;
pub use people::{Person, Role};
pub use signals::{ReceiverConfig, ReceiverOwner, SignalKeyConfig, SignalsConfig, SIGNAL_EVENTS};
pub use signing::{Algorithm, KeyConfig, SigningConfig};
pub use simulator::SimulatorConfig;
pub use steps::{StepConfig, MAX_STEP_NAME_BYTES};
pub use topics::TopicsConfig;
pub use validate::MAX_ESCALATION_AFTER_SECS;
pub use verifier::{ClosureReview, EscalationStep, GuardConfig, VerifierConfig};
pub use worker::WorkerConfig;

pub(crate) use key_text::{decode_32, verifying_key};

impl Config {
    /// The person with this id in `[[people]]`.
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }
}

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a config could not be loaded: the file, an override, or a check.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("environment override {var} cannot apply: {why}")]
    Env { var: String, why: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole config, one field per TOML section; an absent section takes its defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub topics: TopicsConfig,
    pub consumer: ConsumerConfig,
    pub metrics: MetricsConfig,
    pub worker: WorkerConfig,
    pub verifier: VerifierConfig,
    pub simulator: SimulatorConfig,
    pub escalations: EscalationsConfig,
    /// Signed HR events: off by default; `required = true` with per-source keys turns it on.
    pub signing: SigningConfig,
    /// The Shared Signals transmitter (`revoke signals`): issuer, signing keys, receivers.
    pub signals: SignalsConfig,
    /// `[[people]]`: who may approve, attest, review and own, with the public key that proves a
    /// decision is theirs.
    pub people: Vec<Person>,
    /// `[steps.<name>]`: offboarding steps without an API, closed by a person's attestation.
    pub steps: BTreeMap<String, StepConfig>,
    /// Real target adapters, one table per target kind (`[targets.vault]`, `[targets.saas]`, …),
    /// each read by its adapter. A kind without a table runs on its simulator.
    pub targets: BTreeMap<String, toml::Table>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            kafka: KafkaConfig::default(),
            topics: TopicsConfig::default(),
            consumer: ConsumerConfig::default(),
            metrics: MetricsConfig::default(),
            worker: WorkerConfig::default(),
            verifier: VerifierConfig::default(),
            simulator: SimulatorConfig::default(),
            escalations: EscalationsConfig::default(),
            signing: Default::default(),
            signals: SignalsConfig::default(),
            people: Vec::new(),
            steps: BTreeMap::new(),
            targets: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests;

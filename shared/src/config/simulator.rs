//! `[simulator]`: the in-memory simulators' knobs.

use serde::{Deserialize, Serialize};

/// Knobs of the in-memory simulators (demo and fast tests).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    pub latency_ms: u64,
    /// Share of (identity, target) pairs that fail permanently.
    pub fail_rate: f64,
    /// Share of calls that fail transiently once and succeed on retry.
    pub flaky_rate: f64,
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            latency_ms: 0,
            fail_rate: 0.0,
            flaky_rate: 0.0,
            seed: 1,
        }
    }
}

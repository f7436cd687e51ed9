//! `[metrics]`: where `/metrics`, `/healthz`, `/livez` and `/readyz` listen, and when `/livez`
//! calls a process wedged.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of `/metrics`, `/healthz`, `/livez` and `/readyz`; empty disables the endpoint.
    pub listen: String,
    /// `/livez` answers 503 once a consume loop has not gone round for this long. A loop goes
    /// round at least every 250 ms, except while the verifier rebuilds the cases of partitions
    /// it was just given (measured at most 30 s for 1,000,000 closed cases): keep this above the
    /// longest rebuild, or a supervisor restarts the verifier mid-rebuild.
    pub stall_secs: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: "127.0.0.1:9464".into(),
            stall_secs: crate::metrics::DEFAULT_STALL.as_secs(),
        }
    }
}

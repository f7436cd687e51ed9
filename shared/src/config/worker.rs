//! `[worker]`: a worker's identity and how it retries calls to its target.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Worker id in evidence; defaults to `<hostname>-<pid>`.
    pub id: Option<String>,
    /// Name of the target instance this worker acts on.
    pub instance: String,
    /// Attempts per call to a target before giving up with a `failed` confirmation.
    pub max_attempts: usize,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Upper bound on the total time spent retrying one call.
    pub max_retry_secs: u64,
    /// A restore request (a grant) older than this is not carried out (dead letter
    /// `restore_stale`): a late copy of a genuine request may be a replay. Within it, a worker
    /// process carries out each request once (a copy: `restore_replayed`).
    pub restore_max_age_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: None,
            instance: "default".into(),
            max_attempts: 5,
            initial_backoff_ms: 100,
            max_backoff_ms: 5_000,
            max_retry_secs: 60,
            restore_max_age_secs: 900,
        }
    }
}

impl WorkerConfig {
    pub fn worker_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "localhost".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

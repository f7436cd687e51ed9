//! Access that comes back after a case closed: `revoke verify` reads again every object a closed
//! case's evidence says is gone (`access_returned`), and `revoke watch` asks the targets that
//! keep a sign-in log for sign-ins by the leaver since the removal (`access_after_departure`),
//! for `verifier.watch_secs` after the close, and re-verifies on `verifier.reverify_every_secs`.
//! Both only read targets; what they see goes out as `AccessFinding` records on the
//! confirmations topic, for the verifier to record in the case and escalate.
//!
//! Pure: `reread` (which objects), `selection` (which cases, from when), `findings` (the
//! records, their ids), `table` (what `revoke verify` prints, its exit code), `window` (the
//! cases the watch holds). Shells: `targets` (the configured adapters), `reverify` (reading
//! objects again), `verify` (one whole re-verification), `sign_ins` (one poll of the sign-in logs), `publish` (the records onto
//! Kafka), `run` (the long-running `revoke watch`).

pub mod findings;
pub mod publish;
pub mod reread;
pub mod reverify;
pub mod run;
pub mod selection;
pub mod sign_ins;
pub mod table;
pub mod targets;
pub mod verify;
pub mod window;
#[cfg(test)]
mod testkit;

pub use findings::Reader;
pub use publish::FindingSink;
pub use reverify::{reverify, Reverified};
pub use run::run_watch;
pub use selection::Selection;
pub use table::{render, verdict, Reading, Row, Verdict};
pub use targets::{configured, Targets};
pub use verify::{verify_once, VerifyRun};

/// This process as it names itself in findings: `[worker] id` (default `<host>-<pid>`) and the
/// version.
pub fn this_process(cfg: &revoke_shared::config::Config) -> revoke_shared::contract::WorkerInfo {
    revoke_shared::contract::WorkerInfo {
        id: cfg.worker.worker_id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

//! Access that comes back after a case closed: `revoke verify` reads again every object a closed
//! case's evidence says is gone (`access_returned`), and `revoke watch` asks the targets that
//! keep a sign-in log for sign-ins by the leaver since the removal (`access_after_departure`),
//! for `verifier.watch_secs` after the close, and re-verifies on `verifier.reverify_every_secs`.
//! Both only read targets; what they see goes out as `AccessFinding` records on the
//! confirmations topic, for the verifier to record in the case and escalate.
//!
//! Pure: `reread` (which objects), `reprovisioned` (which discovered holdings the evidence does
//! not name, what their read-back means), `selection` (which cases, from when), `findings` (the
//! records, their ids), `table` (what `revoke verify` prints, its exit code), `window` (the
//! cases the watch holds). Shells: `targets` (the configured adapters), `reverify` (reading
//! objects again), `rediscover` (discovering again), `verify` (one whole re-verification),
//! `sign_ins` (one poll of the sign-in logs), `publish` (the records onto Kafka), `run` (the
//! long-running `revoke watch`).

pub mod findings;
pub mod publish;
pub mod rediscover;
pub mod reprovisioned;
pub mod reread;
pub mod reverify;
pub mod run;
pub mod selection;
pub mod sign_ins;
pub mod table;
pub mod targets;
#[cfg(test)]
mod testkit;
pub mod verify;
pub mod window;

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

/// Cases read at once by a re-verification or a sign-in poll (each reads its own targets one
/// after another): bounded, so a long list does not open hundreds of connections to a target.
const CASES_AT_ONCE: usize = 8;

/// `read` of every item, `CASES_AT_ONCE` at a time; the results in the items' order.
async fn each_case<'a, T, R, Fut>(items: &'a [T], read: impl Fn(&'a T) -> Fut) -> Vec<R>
where
    Fut: std::future::Future<Output = R>,
{
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(CASES_AT_ONCE) {
        out.extend(futures::future::join_all(chunk.iter().map(&read)).await);
    }
    out
}

//! What the one-shot commands share around their work: printing to stdout, a tokio runtime, and
//! waiting for the topics they write to.

use super::error::CommandError;
use revoke_shared::config::Config;
use std::time::Duration;

/// Prints a line to stdout. A closed pipe (`revoke case X | head`) ends the command quietly
/// instead of panicking.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("revoke: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Waits (bounded by `--leader-wait-secs`) until every partition of `topics` has a leader, so a
/// one-shot command's first record does not race the topic's creation or a leader election.
pub fn wait_for_topics(cfg: &Config, topics: &[&str], secs: u64) -> Result<(), CommandError> {
    use revoke_shared::leaders::{wait_for_leaders, LeaderWaitError};
    wait_for_leaders(cfg, topics, Duration::from_secs(secs)).map_err(|e| match e {
        LeaderWaitError::Client { .. } => CommandError::usage(e),
        LeaderWaitError::NotReady { .. } => CommandError::job(e),
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CommandError::job)
}

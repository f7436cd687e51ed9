//! `revoke verify`: reads again, for closed cases, every object the evidence says is gone, and
//! discovers at each of the case's targets what the leaver holds now that the evidence does not
//! name, with the adapters `[targets.*]` configures; prints one line per object (still gone,
//! RETURNED, NEW, could not read), publishes an `access_returned` finding for each object
//! present again or present anew and waits for the broker's acknowledgement. Changes nothing at
//! any target.
//!
//! Exit codes: 0 every object read is gone; 3 something returned or is new; 4 nothing returned
//! but something could not be read (or discovered); 1 the job failed (broker, publishing); 2 bad
//! usage or config.

use super::error::CommandError;
use super::report::window_bound;
use super::shell::{runtime, wait_for_topics};
use crate::watch::table::count;
use crate::watch::{configured, render, verify_once, FindingSink, Reading, Selection, Verdict};
use clap::Args;
use revoke_shared::config::Config;
use revoke_shared::contract::TargetKind;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::Metrics;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Only cases closed at or after this time: RFC 3339 (2026-11-01T00:00:00Z) or a date
    /// (midnight UTC). Default: every closed case.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this target's objects (its `[targets.<kind>]` adapter must be configured).
    #[arg(long, value_parser = super::target::target_kind())]
    pub target: Option<TargetKind>,
    /// Only this identity's cases (its employee id).
    #[arg(long)]
    pub identity: Option<String>,
}

pub fn command(
    cfg: &Config,
    args: &VerifyArgs,
    leader_wait: u64,
    emit: fn(&str),
) -> Result<(), CommandError> {
    let selection = Selection {
        since: window_bound("since", args.since.as_deref(), false)?,
        target: args.target,
        identity: args.identity.clone(),
    };
    if let Some(kind) = args.target {
        if !cfg.targets.contains_key(kind.as_str()) {
            return Err(CommandError::usage(anyhow::anyhow!(
                "--target {kind}: no [targets.{kind}] adapter is configured to read it with"
            )));
        }
    }
    // Fails within --leader-wait-secs, naming the topic, when the broker cannot be reached.
    wait_for_topics(
        cfg,
        &[&cfg.topics.cases, &cfg.topics.confirmations],
        leader_wait,
    )?;
    let rt = runtime()?;
    let run = rt.block_on(async {
        let targets = configured(cfg, args.target)
            .await
            .map_err(|e| CommandError::usage(anyhow::anyhow!(e)))?;
        let producer =
            Producer::with_timeout(cfg, Duration::from_secs(60)).map_err(CommandError::usage)?;
        let sink = FindingSink::new(cfg, producer)
            .map_err(|e| CommandError::usage(anyhow::anyhow!("signing: {e}")))?;
        let run = verify_once(cfg, &targets, &selection, &Metrics::new())
            .await
            .map_err(CommandError::job)?;
        emit(&render(&run.rows, run.cases));
        sink.publish_all(&run.findings).await.map_err(|e| {
            CommandError::job(anyhow::anyhow!(
                "publishing the findings above on {}: {e}",
                cfg.topics.confirmations
            ))
        })?;
        Ok::<_, CommandError>(run)
    })?;
    if !run.findings.is_empty() {
        emit(&format!(
            "published {} access_returned finding{} on {}",
            run.findings.len(),
            if run.findings.len() == 1 { "" } else { "s" },
            cfg.topics.confirmations
        ));
    }
    match run.verdict {
        Verdict::StillGone => Ok(()),
        Verdict::Returned => Err(CommandError::Found(
            run.verdict.exit_code(),
            anyhow::anyhow!(
                "access returned: {} object(s) the evidence says are gone are present again, {} it does not name are present",
                count(&run.rows, |r| matches!(r, Reading::Returned(_))),
                count(&run.rows, |r| matches!(r, Reading::New(_))),
            ),
        )),
        Verdict::Unreadable => Err(CommandError::Found(
            run.verdict.exit_code(),
            anyhow::anyhow!("some objects could not be read again: not verified (see the table)"),
        )),
    }
}

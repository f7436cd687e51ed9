//! One re-verification (what `revoke verify` runs, and `revoke watch` on its schedule): read the
//! cases changelog, select the closed cases, read their removed objects again. The caller
//! publishes the findings (`FindingSink`).

use super::reverify::reverify;
use super::selection::Selection;
use super::table::{verdict, Row, Verdict};
use super::targets::Targets;
use anyhow::Context;
use revoke_shared::config::Config;
use revoke_shared::contract::AccessFinding;
use revoke_shared::metrics::Metrics;

/// What one re-verification read and published.
#[derive(Debug)]
pub struct VerifyRun {
    /// Closed cases selected.
    pub cases: usize,
    pub rows: Vec<Row>,
    /// One per object present again, to publish.
    pub findings: Vec<AccessFinding>,
    pub verdict: Verdict,
}

/// Reads the whole cases topic (blocking, so on the blocking pool) and re-reads the selected
/// closed cases' removed objects from `targets`.
pub async fn verify_once(
    cfg: &Config,
    targets: &Targets,
    selection: &Selection,
    metrics: &Metrics,
) -> anyhow::Result<VerifyRun> {
    let reader_cfg = cfg.clone();
    let log = tokio::task::spawn_blocking(move || crate::cases::read_case_log(&reader_cfg))
        .await
        .context("reading the cases topic")?
        .with_context(|| format!("reading {}", cfg.topics.cases))?;
    let cases = selection.select(log.latest.values());
    let worker = super::this_process(cfg);
    let read = reverify(&cases, targets, selection.target, &worker, metrics).await;
    Ok(VerifyRun {
        cases: cases.len(),
        verdict: verdict(&read.rows),
        rows: read.rows,
        findings: read.findings,
    })
}

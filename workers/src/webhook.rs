//! Delivering escalations to a webhook (placeholder while it is written in this work).

use revoke_shared::config::Config;
use revoke_shared::consume::Stop;
use revoke_shared::metrics::{Health, Metrics};

/// Runs the webhook delivery until stopped.
pub async fn run_webhook(
    _cfg: &Config,
    _metrics: Metrics,
    _health: Health,
    _stop: Stop,
) -> anyhow::Result<()> {
    anyhow::bail!("revoke webhook is not built yet")
}

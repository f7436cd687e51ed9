//! `revoke webhook`: delivering escalations to a webhook.
//!
//! Consumes `revoke.escalations` as group `<group_prefix>revoke-escalation-webhook` with the
//! shared at-least-once loop, and POSTs each escalation (the contract's JSON) to
//! `escalations.webhook_url`. A record's offset is stored only after the receiver answered 2xx,
//! so nothing is lost to a crash, a stop or an outage of the receiver:
//!
//! - **2xx** is delivered. Anything else is a failed attempt, retried **without limit** with
//!   capped exponential backoff and jitter: an escalation names a person who must act, so it is
//!   never dropped. That includes 4xx refusals (bad token, payload the receiver rejects): they
//!   are fixed at the receiver or in the config, and delivery resumes by itself. 3xx is a failure
//!   too (redirects are not followed: a redirected POST may become a GET).
//! - After `escalations.webhook_alert_after` failed attempts of one escalation: one error log line
//!   naming the case, the escalation, the owner, the last answer and what to check;
//!   `revoke_webhook_stuck` counts it and `/healthz` answers 503 until it is delivered.
//! - Every request carries `Idempotency-Key: <escalation_id>` (the id is deterministic per case,
//!   reason and targets, so a re-published or re-delivered escalation carries the same key), an
//!   optional `Authorization: Bearer …` (never logged) and an optional
//!   `X-Revoke-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
//! - A record that is not an escalation goes to the DLQ with the reason; the loop goes on.
//! - Records with the same key (identity) are delivered in order; different identities
//!   concurrently, at most `escalations.webhook_max_concurrent` requests at once.
//! - A graceful stop during retries leaves the record's offset unstored: it is delivered after
//!   the restart (the receiver sees the same idempotency key).
//!
//! One concept per file: this file (what the delivery runs with, and its consume loop),
//! `settings` (reading `[escalations]` and its secrets), `delivery` (the handler: parse, POST,
//! retry, alert), `judge` (the pure answer and backoff decisions) and `signature` (the body's
//! HMAC).

mod delivery;
mod judge;
mod settings;
mod signature;
#[cfg(test)]
mod tests;

pub use delivery::parse_escalation;
pub use judge::{backoff_delay, judge, random_unit, Failure};
pub use settings::{delivery_client, shown_url};
pub use signature::{hmac_sha256, signature};

use crate::delivery_health::DeliveryHealth;
use revoke_shared::config::Config;
use revoke_shared::consume::{self, LoopOptions, Stop};
use revoke_shared::dlq::DeadLetters;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics, WebhookTrouble};
use revoke_shared::secret::Secret;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Header naming the escalation, so a receiver can drop a second delivery of the same one.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Header with the HMAC-SHA256 of the body, when a signing secret is configured.
pub const SIGNATURE_HEADER: &str = "X-Revoke-Signature-256";

/// The consumer group of the webhook delivery: `<prefix>revoke-escalation-webhook`.
pub fn group(cfg: &Config) -> String {
    format!("{}revoke-escalation-webhook", cfg.kafka.group_prefix)
}

/// What `revoke webhook` runs with, read from `[escalations]` and the secrets it names.
pub struct Settings {
    url: reqwest::Url,
    /// The URL without credentials or query, for logs and errors.
    shown: String,
    timeout: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    alert_after: u32,
    max_concurrent: usize,
    token: Option<Secret>,
    signing_key: Option<Secret>,
}

struct WebhookHandler {
    settings: Settings,
    http: reqwest::Client,
    permits: tokio::sync::Semaphore,
    dead_letters: DeadLetters,
    metrics: Metrics,
    trouble: DeliveryHealth<WebhookTrouble>,
    stop: CancellationToken,
}

/// Runs the webhook delivery until stopped. A missing or invalid `[escalations]` setting is a
/// `ConfigError` (in the error chain), before anything connects.
pub async fn run_webhook(
    cfg: &Config,
    metrics: Metrics,
    health: Health,
    stop: Stop,
) -> anyhow::Result<()> {
    let settings = Settings::from_config(&cfg.escalations)?;
    let http = settings.client()?;
    if settings.token_over_plain_http() {
        tracing::warn!(url = %settings.shown, "the webhook bearer token is sent over plain http to a host that is not loopback");
    }
    let group = group(cfg);
    let producer = Producer::new(cfg)?;
    let consumer = consume::subscribe(cfg, &group, &[&cfg.topics.escalations])?;
    let (shown, alert_after) = (settings.shown.clone(), settings.alert_after);
    let trouble = DeliveryHealth::new(
        metrics.clone(),
        health.clone(),
        format!("webhook {group}"),
        move |count, latest| {
            format!(
                "{count} escalation(s) not delivered to {shown} after {alert_after} or more attempts; latest: {latest}"
            )
        },
    );
    trouble.open();
    tracing::info!(
        group = %group, topic = %cfg.topics.escalations, url = %settings.shown,
        signed = settings.signing_key.is_some(), "webhook delivery started"
    );
    let handler = Arc::new(WebhookHandler {
        permits: tokio::sync::Semaphore::new(settings.max_concurrent),
        settings,
        http,
        dead_letters: DeadLetters::new(
            producer.clone(),
            cfg.topics.dlq.clone(),
            group.clone(),
            metrics.clone(),
        ),
        metrics: metrics.clone(),
        trouble,
        stop: stop.graceful.clone(),
    });
    let opts = LoopOptions::new(cfg, &group, metrics, health.clone());
    let result = consume::run(consumer, handler.clone(), opts, stop).await;
    producer.flush(Duration::from_secs(10));
    handler.trouble.close();
    result?;
    Ok(())
}

//! `revoke signals`: the OpenID Shared Signals (SSF 1.0) transmitter.
//!
//! Consumes `revoke.cases` as group `<group_prefix>revoke-signals` with the shared at-least-once
//! loop. For each case version the pure planner (`plan`) says which Security Event Tokens
//! (RFC 8417) each configured receiver is owed — CAEP `session-revoked`, CAEP
//! `credential-change`, RISC `account-disabled` — and the process delivers them, signed
//! (`keys`, `jws`), by push (RFC 8935, `push`) or by poll (RFC 8936, `poll`). A case's offset is
//! stored only after every SET planned for that version was accepted or refused for good
//! (dead-lettered), so a crash or a stop re-delivers (with the same jti: jtis are
//! deterministic).
//!
//! Delivery is evidence (`evidence`): a receiver's accepted SETs go to the confirmations topic
//! as a `SignalDelivery` (fleet-signed when `[signing]` has a fleet secret), which the verifier
//! records in the case; a receiver that has not accepted within its `sla_secs` is reported once
//! as `overdue` (the verifier escalates to its owner) and delivery goes on.
//!
//! The metrics listener also serves (`routes`) the transmitter metadata at
//! `/.well-known/ssf-configuration`, the JWKS it names, the poll endpoints and the stream
//! verification endpoint. See docs/signals.md.

mod deliver;
mod evidence;
pub mod judge;
pub mod jws;
pub mod keys;
mod memory;
pub mod plan;
mod poll;
mod push;
mod routes;
pub mod set;
pub mod settings;
pub mod subject;
#[cfg(test)]
mod tests;

use crate::delivery_health::DeliveryHealth;
use memory::Delivered;
use poll::PollQueue;
use revoke_shared::config::{Config, ConfigError};
use revoke_shared::consume::{self, LoopOptions, Stop};
use revoke_shared::dlq::DeadLetters;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics, SignalTrouble};
use settings::Settings;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The consumer group of the transmitter: `<prefix>revoke-signals`.
pub fn group(cfg: &Config) -> String {
    format!("{}revoke-signals", cfg.kafka.group_prefix)
}

/// The transmitter: its settings and what its consume loop and its HTTP routes share.
#[derive(Clone)]
pub struct Transmitter(Arc<Shared>);

struct Shared {
    settings: Settings,
    http: reqwest::Client,
    /// Bounds pushes in flight, not deliveries waiting to retry.
    permits: tokio::sync::Semaphore,
    metrics: Metrics,
    health: Health,
    trouble: DeliveryHealth<SignalTrouble>,
    /// What this process delivered, (receiver, jti), and overdue reports made, ("overdue:"
    /// receiver, case id).
    memory: Mutex<Delivered>,
    /// One queue per poll receiver.
    polls: BTreeMap<String, PollQueue>,
    /// Cancelled on a graceful stop: retries and long polls end.
    stop: CancellationToken,
}

impl Transmitter {
    /// Reads `[signals]` and its secrets. A missing or invalid setting is a `ConfigError`
    /// naming the key, before anything connects.
    pub fn new(cfg: &Config, metrics: Metrics, health: Health) -> Result<Transmitter, ConfigError> {
        let settings = Settings::from_config(&cfg.signals)?;
        let http = settings.client()?;
        let polls = settings
            .receivers
            .values()
            .filter(|r| r.push.is_none())
            .map(|r| (r.name.clone(), PollQueue::default()))
            .collect();
        let alert_after = settings.alert_after;
        let trouble = DeliveryHealth::new(
            metrics.clone(),
            health.clone(),
            format!("signals {}", group(cfg)),
            move |count, latest| {
                format!("{count} SET(s) not delivered after {alert_after} or more attempts; latest: {latest}")
            },
        );
        Ok(Transmitter(Arc::new(Shared {
            permits: tokio::sync::Semaphore::new(settings.max_concurrent),
            memory: Mutex::new(Delivered::new(settings.remembered)),
            settings,
            http,
            metrics,
            health,
            trouble,
            polls,
            stop: CancellationToken::new(),
        })))
    }

    /// The metadata, JWKS, poll and verification routes, for the metrics listener.
    pub fn routes(&self) -> axum::Router {
        routes::routes(self.0.clone())
    }

    /// Consumes `revoke.cases` and delivers until stopped.
    pub async fn run(self, cfg: &Config, stop: Stop) -> anyhow::Result<()> {
        let s = &self.0;
        let fleet = cfg.signing.fleet_secret().map_err(ConfigError::Invalid)?;
        let group = group(cfg);
        let producer = Producer::new(cfg)?;
        let consumer = consume::subscribe(cfg, &group, &[&cfg.topics.cases])?;
        s.trouble.open();
        for r in s.settings.receivers.values() {
            if r.token.is_some()
                && r.push
                    .as_ref()
                    .is_some_and(|u| u.scheme() == "http" && !is_loopback(u))
            {
                tracing::warn!(receiver = %r.name, url = %r.shown, "the receiver's bearer token is sent over plain http to a host that is not loopback");
            }
        }
        tracing::info!(
            group = %group, topic = %cfg.topics.cases, issuer = %s.settings.issuer,
            kid = %s.settings.signer().kid, alg = s.settings.signer().alg(),
            receivers = ?s.settings.receivers.keys().collect::<Vec<_>>(),
            fleet_signed = fleet.is_some(), "signals transmitter started"
        );
        let graceful = stop.graceful.clone();
        let mine = s.stop.clone();
        tokio::spawn(async move {
            graceful.cancelled().await;
            mine.cancel();
        });
        let handler = Arc::new(deliver::SignalsHandler {
            shared: self.0.clone(),
            dead_letters: DeadLetters::new(
                producer.clone(),
                cfg.topics.dlq.clone(),
                group.clone(),
                s.metrics.clone(),
            ),
            producer: producer.clone(),
            confirmations: cfg.topics.confirmations.clone(),
            fleet,
            worker: revoke_shared::contract::WorkerInfo {
                id: format!("{group}-{}", std::process::id()),
                version: env!("CARGO_PKG_VERSION").into(),
            },
        });
        let opts = LoopOptions::new(cfg, &group, s.metrics.clone(), s.health.clone());
        let result = consume::run(consumer, handler, opts, stop).await;
        s.stop.cancel();
        producer.flush(Duration::from_secs(10));
        s.trouble.close();
        result?;
        Ok(())
    }
}

fn is_loopback(u: &reqwest::Url) -> bool {
    let host = u.host_str().unwrap_or("");
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

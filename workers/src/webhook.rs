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

use revoke_shared::config::{Config, ConfigError, EscalationsConfig};
use revoke_shared::consume::{self, Handler, HandlerError, LoopOptions, Stop};
use revoke_shared::contract::{Escalation, RawMessage, ESCALATION_SCHEMA};
use revoke_shared::dlq::dead_letter;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::secret::Secret;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

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

impl Settings {
    /// Checks the section and loads the secrets it names. Errors never contain a secret or the
    /// URL's query or credentials.
    pub fn from_config(c: &EscalationsConfig) -> Result<Settings, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid(why);
        let raw = c.webhook_url.as_deref().ok_or_else(|| {
            invalid(
                "revoke webhook needs escalations.webhook_url (or REVOKE_ESCALATIONS__WEBHOOK_URL): \
                 the http(s) address escalations are POSTed to"
                    .into(),
            )
        })?;
        let url = reqwest::Url::parse(raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                invalid(
                    "escalations.webhook_url is not an http:// or https:// URL with a host".into(),
                )
            })?;
        let secret = |what: &str, env: &Option<String>, file: &Option<String>| {
            if env.is_none() && file.is_none() {
                return Ok(None);
            }
            let s = Secret::from_env_or_file(env.as_deref(), file.as_deref())
                .map_err(|e| invalid(format!("escalations.{what}: {e}")))?;
            if s.expose().trim().is_empty() {
                return Err(invalid(format!("escalations.{what}: the secret is empty")));
            }
            Ok(Some(s))
        };
        let token = secret(
            "webhook_token_env/webhook_token_file",
            &c.webhook_token_env,
            &c.webhook_token_file,
        )?;
        let signing_key = secret(
            "webhook_signing_secret_env/webhook_signing_secret_file",
            &c.webhook_signing_secret_env,
            &c.webhook_signing_secret_file,
        )?;
        let max_backoff = Duration::from_millis(c.webhook_max_backoff_ms.max(1));
        Ok(Settings {
            shown: shown_url(&url),
            url,
            timeout: Duration::from_millis(c.webhook_timeout_ms.max(1)),
            initial_backoff: Duration::from_millis(c.webhook_initial_backoff_ms.max(1))
                .min(max_backoff),
            max_backoff,
            alert_after: c.webhook_alert_after.max(1),
            max_concurrent: c.webhook_max_concurrent.max(1),
            token,
            signing_key,
        })
    }

    /// The receiver's address as logs show it: scheme, host, port and path only.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    fn client(&self) -> Result<reqwest::Client, ConfigError> {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            // A redirected POST may be replayed as a GET whose 2xx proves nothing.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("revoke/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::Invalid(format!(
                    "cannot build the webhook HTTP client: {}",
                    e.without_url()
                ))
            })
    }

    fn token_over_plain_http(&self) -> bool {
        let host = self.url.host_str().unwrap_or("");
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback());
        self.token.is_some() && self.url.scheme() == "http" && !loopback
    }
}

/// `scheme://host[:port]/path` of `url`: no user, password, query or fragment, which may hold
/// credentials.
pub fn shown_url(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
    if let Some(p) = url.port() {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(url.path());
    s
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 4xx other than 408/429: the receiver refuses this request as it is.
    Refused(u16),
    /// 5xx, 408 or 429: the receiver is failing or throttling.
    Unavailable(u16),
    /// 3xx: redirects are not followed.
    Redirected(u16),
    /// 1xx or a code outside the classes above.
    Unexpected(u16),
    /// No complete answer within `webhook_timeout_ms`.
    Timeout,
    /// No connection (refused, DNS, TLS handshake).
    Connect(String),
    /// The request or the answer broke off.
    Transport(String),
}

/// The receiver's HTTP status judged: `Ok` for 2xx (delivered).
pub fn judge(status: u16) -> Result<(), Failure> {
    match status {
        200..=299 => Ok(()),
        408 | 429 | 500..=599 => Err(Failure::Unavailable(status)),
        400..=499 => Err(Failure::Refused(status)),
        300..=399 => Err(Failure::Redirected(status)),
        _ => Err(Failure::Unexpected(status)),
    }
}

impl Failure {
    /// HTTP status if the receiver answered, else what happened (for logs).
    pub fn status(&self) -> String {
        match self {
            Failure::Refused(s)
            | Failure::Unavailable(s)
            | Failure::Redirected(s)
            | Failure::Unexpected(s) => s.to_string(),
            Failure::Timeout => "timeout".into(),
            Failure::Connect(_) => "no connection".into(),
            Failure::Transport(_) => "broken exchange".into(),
        }
    }

    /// What an operator should check.
    pub fn check(&self) -> &'static str {
        match self {
            Failure::Refused(401) | Failure::Refused(403) => {
                "the receiver refuses our credentials: check the token named by escalations.webhook_token_env/webhook_token_file (and the signing secret, if set) against the receiver's"
            }
            Failure::Refused(404) | Failure::Refused(405) => {
                "the receiver has no such endpoint: check escalations.webhook_url"
            }
            Failure::Refused(_) => {
                "the receiver rejects the request: check its logs for why it refuses a revoke.escalation.v1 JSON body"
            }
            Failure::Unavailable(429) => "the receiver is throttling: check its rate limits",
            Failure::Unavailable(_) => "the receiver is failing or overloaded: check its health and logs",
            Failure::Redirected(_) => {
                "the receiver redirects (not followed): set escalations.webhook_url to the final address"
            }
            Failure::Unexpected(_) => "the receiver answered an unexpected status: check what serves escalations.webhook_url",
            Failure::Timeout => {
                "no answer within escalations.webhook_timeout_ms: check the receiver's latency and the network"
            }
            Failure::Connect(_) => {
                "cannot connect: check escalations.webhook_url, DNS, the network path and TLS certificates"
            }
            Failure::Transport(_) => "the exchange broke off: check the receiver and any proxy in between",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(s) => write!(f, "receiver refused it with HTTP {s}"),
            Failure::Unavailable(s) => write!(f, "receiver answered HTTP {s}"),
            Failure::Redirected(s) => write!(f, "receiver redirected with HTTP {s}"),
            Failure::Unexpected(s) => write!(f, "receiver answered HTTP {s}"),
            Failure::Timeout => write!(f, "no answer in time"),
            Failure::Connect(e) => write!(f, "cannot connect: {e}"),
            Failure::Transport(e) => write!(f, "request failed: {e}"),
        }
    }
}

/// The delay after the `failed`-th failed attempt (1-based): `initial * 2^(failed-1)` capped at
/// `max`, then scaled into `[half, all]` of that by `jitter` in `[0, 1)` ("equal jitter": many
/// escalations failing together spread out, and no delay exceeds `max`).
pub fn backoff_delay(failed: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = failed.saturating_sub(1).min(32);
    let capped = initial.saturating_mul(1u32 << exp.min(31)).min(max);
    let half = capped / 2;
    half + (capped - half).mul_f64(jitter.clamp(0.0, 1.0))
}

fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() as u64 >> 11) as f64 / (1u64 << 53) as f64
}

/// Reads an escalation record, or says why it is not one: `(dlq reason, detail)`.
pub fn parse_escalation(msg: &RawMessage) -> Result<Escalation, (&'static str, String)> {
    let payload = match msg.payload.as_deref() {
        None | Some([]) => return Err(("empty", "record has no value".into())),
        Some(p) => p,
    };
    let esc: Escalation = serde_json::from_slice(payload).map_err(|e| {
        (
            "malformed_escalation",
            format!("escalation does not match the {ESCALATION_SCHEMA} contract: {e}"),
        )
    })?;
    if esc.schema != ESCALATION_SCHEMA {
        return Err((
            "unknown_schema",
            format!(
                "escalation schema {:?} is not {ESCALATION_SCHEMA}",
                esc.schema
            ),
        ));
    }
    Ok(esc)
}

/// HMAC-SHA256 (RFC 2104) of `data` under `key`, with the SHA-256 of the ring provider that
/// rustls already ships (no extra dependency).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let sha256 = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .expect("a TLS 1.3 suite")
        .common
        .hash_provider;
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        let h = sha256.hash(key);
        k[..h.as_ref().len()].copy_from_slice(h.as_ref());
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let mut inner = sha256.start();
    inner.update(&pad(0x36));
    inner.update(data);
    let inner = inner.finish();
    let mut outer = sha256.start();
    outer.update(&pad(0x5c));
    outer.update(inner.as_ref());
    let mut out = [0u8; 32];
    out.copy_from_slice(outer.finish().as_ref());
    out
}

/// The value of `X-Revoke-Signature-256`: `sha256=` and the lowercase hex HMAC of the body.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut s = String::from("sha256=");
    for b in hmac_sha256(key, body) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Deliveries failing past `alert_after`, reported on `/healthz`.
struct Stuck {
    count: usize,
    latest: String,
}

struct WebhookHandler {
    settings: Settings,
    http: reqwest::Client,
    permits: tokio::sync::Semaphore,
    producer: Producer,
    dlq_topic: String,
    group: String,
    health_name: String,
    metrics: Metrics,
    health: Health,
    stuck: Mutex<Stuck>,
    stop: CancellationToken,
}

/// Keeps the failing/stuck gauges and `/healthz` right however a delivery ends (delivered,
/// stopped, or its task aborted).
struct Tracking<'a> {
    h: &'a WebhookHandler,
    failing: bool,
    stuck: bool,
}

impl Tracking<'_> {
    fn failing(&mut self) {
        if !self.failing {
            self.failing = true;
            self.h.metrics.webhook_failing.inc();
        }
    }

    fn stuck(&mut self, why: String) {
        if !self.stuck {
            self.stuck = true;
            self.h.metrics.webhook_stuck.inc();
            let mut s = self.h.stuck.lock().expect("stuck lock");
            s.count += 1;
            s.latest = why;
            self.h.report_health(&s);
        }
    }
}

impl Drop for Tracking<'_> {
    fn drop(&mut self) {
        if self.failing {
            self.h.metrics.webhook_failing.dec();
        }
        if self.stuck {
            self.h.metrics.webhook_stuck.dec();
            let mut s = self.h.stuck.lock().expect("stuck lock");
            s.count -= 1;
            self.h.report_health(&s);
        }
    }
}

impl WebhookHandler {
    fn report_health(&self, s: &Stuck) {
        if s.count == 0 {
            self.health.set_ok(&self.health_name);
        } else {
            self.health.set_failing(
                &self.health_name,
                format!(
                    "{} escalation(s) not delivered to {} after {} or more attempts; latest: {}",
                    s.count, self.settings.shown, self.settings.alert_after, s.latest
                ),
            );
        }
    }

    /// One POST. The permit bounds requests in flight, not deliveries waiting to retry.
    async fn attempt(&self, esc: &Escalation, body: &[u8]) -> Result<(), Failure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let mut req = self
            .http
            .post(self.settings.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, esc.escalation_id.to_string());
        if let Some(token) = &self.settings.token {
            // bearer_auth marks the header sensitive.
            req = req.bearer_auth(token.expose());
        }
        if let Some(key) = &self.settings.signing_key {
            req = req.header(SIGNATURE_HEADER, signature(key.expose().as_bytes(), body));
        }
        match req.body(body.to_vec()).send().await {
            Ok(answer) => judge(answer.status().as_u16()),
            // `without_url`: the URL's query may hold a credential.
            Err(e) if e.is_timeout() => Err(Failure::Timeout),
            Err(e) if e.is_connect() => Err(Failure::Connect(error_chain(e.without_url()))),
            Err(e) => Err(Failure::Transport(error_chain(e.without_url()))),
        }
    }

    async fn deliver(&self, esc: &Escalation, body: &[u8]) -> Result<(), HandlerError> {
        let started = Instant::now();
        let mut track = Tracking {
            h: self,
            failing: false,
            stuck: false,
        };
        let s = &self.settings;
        let mut failed: u32 = 0;
        loop {
            let failure = match self.attempt(esc, body).await {
                Ok(()) => {
                    self.metrics
                        .webhook_deliveries
                        .with_label_values(&["delivered"])
                        .inc();
                    self.metrics
                        .webhook_delivery_seconds
                        .observe(started.elapsed().as_secs_f64());
                    tracing::info!(
                        owner = %esc.owner.name, reason = esc.reason.as_str(), attempts = failed + 1,
                        "escalation delivered to the webhook"
                    );
                    return Ok(());
                }
                Err(f) => f,
            };
            failed += 1;
            self.metrics
                .webhook_deliveries
                .with_label_values(&["retry"])
                .inc();
            track.failing();
            let delay = backoff_delay(failed, s.initial_backoff, s.max_backoff, random_unit());
            let retry_in_ms = delay.as_millis() as u64;
            if failed == s.alert_after {
                track.stuck(format!(
                    "case {} escalation {} for {} ({}): {failure}",
                    esc.case_id, esc.escalation_id, esc.owner.name, esc.owner.contact
                ));
                tracing::error!(
                    owner = %esc.owner.name, contact = %esc.owner.contact, reason = esc.reason.as_str(),
                    attempts = failed, status = %failure.status(), error = %failure, check = failure.check(),
                    url = %s.shown, retry_in_ms,
                    "escalation not delivered to the webhook after {failed} attempts; still retrying (the owner has not been told)"
                );
            } else if failed < s.alert_after || failed.is_multiple_of(10) {
                tracing::warn!(
                    owner = %esc.owner.name, reason = esc.reason.as_str(), attempts = failed,
                    status = %failure.status(), error = %failure, check = failure.check(),
                    url = %s.shown, retry_in_ms, "webhook delivery failed; retrying"
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.stop.cancelled() => {
                    return Err(HandlerError::Retry(format!(
                        "stopping before escalation {} of case {} was delivered ({failed} attempts, last: {failure}); it is delivered after the restart",
                        esc.escalation_id, esc.case_id
                    )));
                }
            }
        }
    }
}

fn error_chain(e: reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[async_trait::async_trait]
impl Handler for WebhookHandler {
    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        let esc = match parse_escalation(msg) {
            Ok(e) => e,
            Err((reason, detail)) => {
                return dead_letter(
                    &self.producer,
                    &self.dlq_topic,
                    msg,
                    reason,
                    detail,
                    &self.group,
                    &self.metrics,
                )
                .await
            }
        };
        let body = serde_json::to_vec(&esc)
            .map_err(|e| HandlerError::Fatal(format!("cannot encode escalation: {e}")))?;
        let span = tracing::info_span!(
            "webhook", case_id = %esc.case_id, escalation_id = %esc.escalation_id,
            identity = %esc.identity_id
        );
        self.deliver(&esc, &body).instrument(span).await
    }
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
    let health_name = format!("webhook {group}");
    health.set_ok(&health_name);
    tracing::info!(
        group = %group, topic = %cfg.topics.escalations, url = %settings.shown,
        signed = settings.signing_key.is_some(), "webhook delivery started"
    );
    let handler = Arc::new(WebhookHandler {
        permits: tokio::sync::Semaphore::new(settings.max_concurrent),
        settings,
        http,
        producer: producer.clone(),
        dlq_topic: cfg.topics.dlq.clone(),
        group: group.clone(),
        health_name: health_name.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
        stuck: Mutex::new(Stuck {
            count: 0,
            latest: String::new(),
        }),
        stop: stop.graceful.clone(),
    });
    let opts = LoopOptions::new(cfg, &group, metrics, health.clone());
    let result = consume::run(consumer, handler, opts, stop).await;
    producer.flush(Duration::from_secs(10));
    health.remove(&health_name);
    result?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_is_delivered() {
        assert_eq!(judge(200), Ok(()));
        assert_eq!(judge(202), Ok(()));
        assert_eq!(judge(204), Ok(()));
        assert_eq!(judge(500), Err(Failure::Unavailable(500)));
        assert_eq!(judge(503), Err(Failure::Unavailable(503)));
        assert_eq!(judge(429), Err(Failure::Unavailable(429)));
        assert_eq!(judge(408), Err(Failure::Unavailable(408)));
        assert_eq!(judge(400), Err(Failure::Refused(400)));
        assert_eq!(judge(401), Err(Failure::Refused(401)));
        assert_eq!(judge(422), Err(Failure::Refused(422)));
        assert_eq!(judge(302), Err(Failure::Redirected(302)));
        assert_eq!(judge(101), Err(Failure::Unexpected(101)));
        assert!(Failure::Refused(401).check().contains("webhook_token_env"));
        assert!(Failure::Refused(404).check().contains("webhook_url"));
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half() {
        let ms = Duration::from_millis;
        let d = |n, j| backoff_delay(n, ms(500), ms(60_000), j);
        assert_eq!(d(1, 1.0), ms(500));
        assert_eq!(d(1, 0.0), ms(250));
        assert_eq!(d(2, 1.0), ms(1000));
        assert_eq!(d(3, 1.0), ms(2000));
        assert_eq!(d(8, 1.0), ms(60_000));
        assert_eq!(d(8, 0.0), ms(30_000));
        // Never above the cap, never overflowing, however long it has been failing.
        for n in [9, 31, 32, 33, 1000, u32::MAX] {
            for j in [0.0, 0.5, 0.999, 7.0, -1.0] {
                let x = d(n, j);
                assert!(x >= ms(30_000) && x <= ms(60_000), "{n} {j} {x:?}");
            }
        }
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    fn raw(payload: Option<&[u8]>) -> RawMessage {
        RawMessage {
            topic: "revoke.escalations".into(),
            partition: 0,
            offset: 7,
            key: Some(b"E1".to_vec()),
            payload: payload.map(<[u8]>::to_vec),
            headers: vec![],
            timestamp_ms: None,
        }
    }

    fn escalation_json() -> serde_json::Value {
        serde_json::json!({
            "schema": "revoke.escalation.v1",
            "escalation_id": "1cd94d79-bef7-5f66-8cc8-0a19c9a9d5a7",
            "case_id": "1df57fd9-8a3f-5c48-8fe1-fc24cfc5caed",
            "identity_id": "E1",
            "reason": "target_failed",
            "targets": ["cloud"],
            "owner": { "name": "security-operations", "contact": "secops@example.com" },
            "deadline": "2026-11-24T10:54:38.995519528Z",
            "raised_at": "2026-11-24T09:54:39.022667469Z",
            "detail": "cloud: simulated 403",
            "evidence": ["cloud: failed (simulated 403)"],
            "added_later": true
        })
    }

    #[test]
    fn records_that_are_not_escalations_are_refused_with_a_reason() {
        let ok = serde_json::to_vec(&escalation_json()).unwrap();
        let esc = parse_escalation(&raw(Some(&ok))).unwrap();
        assert_eq!(esc.identity_id, "E1");
        assert_eq!(parse_escalation(&raw(None)).unwrap_err().0, "empty");
        assert_eq!(parse_escalation(&raw(Some(b""))).unwrap_err().0, "empty");
        assert_eq!(
            parse_escalation(&raw(Some(b"not json"))).unwrap_err().0,
            "malformed_escalation"
        );
        let mut v = escalation_json();
        v["reason"] = "bored".into();
        let bytes = serde_json::to_vec(&v).unwrap();
        assert_eq!(
            parse_escalation(&raw(Some(&bytes))).unwrap_err().0,
            "malformed_escalation"
        );
        let mut v = escalation_json();
        v["schema"] = "revoke.escalation.v2".into();
        let bytes = serde_json::to_vec(&v).unwrap();
        let (reason, detail) = parse_escalation(&raw(Some(&bytes))).unwrap_err();
        assert_eq!(reason, "unknown_schema");
        assert!(detail.contains("revoke.escalation.v2"));
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn settings_need_a_url_and_never_show_credentials() {
        let mut c = EscalationsConfig::default();
        let err = Settings::from_config(&c).err().unwrap().to_string();
        assert!(err.contains("escalations.webhook_url"), "{err}");
        c.webhook_url =
            Some("https://bot:hunter2@hooks.example.com:8443/revoke?token=hunter3".into());
        let s = Settings::from_config(&c).unwrap();
        assert_eq!(s.shown_url(), "https://hooks.example.com:8443/revoke");
        c.webhook_token_env = Some("REVOKE_TEST_WEBHOOK_TOKEN_THAT_IS_NOT_SET".into());
        let err = Settings::from_config(&c).err().unwrap().to_string();
        assert!(
            err.contains("REVOKE_TEST_WEBHOOK_TOKEN_THAT_IS_NOT_SET"),
            "{err}"
        );
        assert!(!err.contains("hunter"), "{err}");
        let dir = std::env::temp_dir().join(format!("revoke-webhook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cr3t-token\n").unwrap();
        c.webhook_token_env = None;
        c.webhook_token_file = Some(file.display().to_string());
        let s = Settings::from_config(&c).unwrap();
        assert_eq!(s.token.as_ref().unwrap().expose(), "s3cr3t-token");
        std::fs::write(&file, "\n").unwrap();
        assert!(Settings::from_config(&c).is_err());
        std::fs::remove_dir_all(dir).ok();
        c.webhook_token_file = None;
        c.webhook_url = Some("mailto:secops@example.com".into());
        assert!(Settings::from_config(&c).is_err());
    }
}

//! The client-side rate and concurrency limit of one target instance: the async shell around
//! `revoke_shared::ratelimit::RateControl` (which decides; this sleeps and holds permits).
//!
//! Config, in any `[targets.<kind>]` table or named instance (`[targets.saas.okta]`):
//! ```toml
//! rate_limit_per_sec = 9.0   # requests per second, at most (a number > 0)
//! burst = 1                  # requests that may go back to back (default 1: evenly spaced)
//! max_concurrency = 8        # requests in flight at once
//! ```
//!
//! Where the limit applies: the HTTP adapters (SCIM, GitLab, Vault) take a token and a permit
//! for every HTTP request they send, because that is what a vendor's limit counts (one GitLab
//! discovery is eight requests). Other adapters (LDAP, IAM) are wrapped in `Limited`, which
//! takes one per `discover`/`revoke`/`verify`/`restore` call. Either way the target's
//! "too many requests" answers feed back: a hint (`Retry-After`, `RateLimit-*`) pauses every
//! call to the target until then; a 429 without one cuts the rate (AIMD). Without any of these
//! keys there is no gate, and `with_retry` alone honours a 429's `Retry-After` per call.

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::metrics::RateLimitEvent;
use revoke_shared::ratelimit::{Decision, LimitSettings, RateControl};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The rate-limit keys every `[targets.<kind>]` table (or named instance) may carry, read apart
/// from the adapter's own keys (`table::adapter_settings` leaves them here).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitTable {
    /// Requests per second, at most: a number above 0 (up to 1000000).
    rate_limit_per_sec: Option<f64>,
    /// Requests that may go back to back (the bucket of `rate_limit_per_sec`; default 1).
    burst: Option<u32>,
    /// Requests in flight at once (alone, it enables the adaptive mode).
    max_concurrency: Option<u32>,
}

/// The limit settings of one adapter table; errors name the key.
pub fn settings_from_table(table: &toml::Table, kind: TargetKind) -> Result<LimitSettings, String> {
    let t: LimitTable = super::table::deserialize(super::table::split_limit_keys(table).0, kind)?;
    let rate = match t.rate_limit_per_sec {
        Some(r) if !(r.is_finite() && r > 0.0 && r <= 1_000_000.0) => {
            return Err(format!(
                "[targets.{kind}] rate_limit_per_sec must be a number above 0 (requests per second, at most 1000000)"
            ))
        }
        r => r,
    };
    let in_range = |key: &str, n: Option<u32>, max: u32| match n {
        Some(n) if !(1..=max).contains(&n) => Err(format!(
            "[targets.{kind}] {key} must be an integer from 1 to {max}"
        )),
        n => Ok(n),
    };
    let burst = in_range("burst", t.burst, 1_000_000)?;
    if burst.is_some() && rate.is_none() {
        return Err(format!(
            "[targets.{kind}] burst needs rate_limit_per_sec (it is the size of that rate's bucket)"
        ));
    }
    Ok(LimitSettings {
        rate_per_sec: rate,
        burst: burst.unwrap_or(1),
        max_concurrency: in_range("max_concurrency", t.max_concurrency, 100_000)?
            .map(|n| n as usize),
    })
}

/// The gate every request to one target instance passes.
pub struct RateGate {
    /// The gate's labels on the rate-limit metrics.
    kind: TargetKind,
    instance: String,
    control: Mutex<RateControl>,
    permits: Option<Arc<Semaphore>>,
}

/// Leave to send one request: holds a concurrency permit until dropped.
pub struct Pass {
    sent: Instant,
    _permit: Option<OwnedSemaphorePermit>,
}

impl RateGate {
    pub fn new(kind: TargetKind, instance: &str, settings: &LimitSettings) -> Arc<RateGate> {
        let gate = RateGate {
            kind,
            instance: instance.to_string(),
            control: Mutex::new(RateControl::new(settings)),
            permits: settings
                .max_concurrency
                .map(|n| Arc::new(Semaphore::new(n))),
        };
        gate.publish_rate();
        Arc::new(gate)
    }

    fn control(&self) -> std::sync::MutexGuard<'_, RateControl> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, event: RateLimitEvent) {
        event.emit(self.kind, &self.instance);
    }

    fn publish_rate(&self) {
        if let Some(r) = self.control().effective_rate() {
            self.emit(RateLimitEvent::EffectiveRate(r));
        }
    }

    /// Waits for a concurrency permit, then for a token (and for any pause the server asked).
    pub async fn acquire(&self) -> Pass {
        let mut waited = false;
        let permit = match &self.permits {
            None => None,
            Some(s) => Some(match s.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    waited = true;
                    s.clone()
                        .acquire_owned()
                        .await
                        .expect("the semaphore is never closed")
                }
            }),
        };
        loop {
            let decision = self.control().poll(Instant::now());
            match decision {
                Decision::Go => break,
                Decision::Wait(d) => {
                    waited = true;
                    tokio::time::sleep(d).await;
                }
            }
        }
        if waited {
            self.emit(RateLimitEvent::Throttled);
        }
        self.emit(RateLimitEvent::Sent);
        Pass {
            sent: Instant::now(),
            _permit: permit,
        }
    }

    /// The request sent with `pass` was answered "too many requests".
    pub fn throttled(&self, pass: &Pass, hint: Option<Duration>) {
        self.control().on_throttled(Instant::now(), pass.sent, hint);
        self.emit(RateLimitEvent::TooManyRequests);
        self.publish_rate();
    }

    /// A request succeeded; `hint` is a pause its headers announced (remaining 0 until reset).
    pub fn succeeded(&self, hint: Option<Duration>) {
        self.control().on_success(Instant::now(), hint);
        self.publish_rate();
    }

    /// Feeds one HTTP answer back: a rate limit (429, or 503 with a hint) or a success.
    pub fn observe_http(&self, pass: &Pass, status: u16, hint: Option<Duration>) {
        if revoke_shared::ratelimit::is_rate_limited(status, hint) {
            self.throttled(pass, hint);
        } else if (200..300).contains(&status) {
            self.succeeded(hint);
        }
    }
}

/// The pause a server's headers ask for (see `revoke_shared::ratelimit::server_hint`).
pub fn header_hint(headers: &reqwest::header::HeaderMap, status: u16) -> Option<Duration> {
    revoke_shared::ratelimit::server_hint(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        status == 429 || status == 503,
        chrono::Utc::now(),
    )
}

/// Takes a pass around a future of an HTTP adapter's request when a gate is configured.
pub async fn pass(gate: &Option<Arc<RateGate>>) -> Option<Pass> {
    match gate {
        Some(g) => Some(g.acquire().await),
        None => None,
    }
}

/// Any target behind a gate: one token and one permit per call.
pub struct Limited {
    inner: Arc<dyn Target>,
    gate: Arc<RateGate>,
}

/// `inner` behind `gate` when there is one.
pub fn wrap(inner: Arc<dyn Target>, gate: Option<Arc<RateGate>>) -> Arc<dyn Target> {
    match gate {
        Some(gate) => Arc::new(Limited { inner, gate }),
        None => inner,
    }
}

impl Limited {
    async fn run<T>(
        &self,
        call: impl Future<Output = Result<T, TargetError>>,
    ) -> Result<T, TargetError> {
        let pass = self.gate.acquire().await;
        let r = call.await;
        match &r {
            Ok(_) => self.gate.succeeded(None),
            Err(e @ TargetError::RateLimited { .. }) => self.gate.throttled(&pass, e.retry_after()),
            Err(_) => {}
        }
        r
    }
}

#[async_trait]
impl Target for Limited {
    fn kind(&self) -> TargetKind {
        self.inner.kind()
    }

    fn instance(&self) -> &str {
        self.inner.instance()
    }

    fn principal(&self) -> &str {
        self.inner.principal()
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.run(self.inner.discover(who)).await
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        self.run(self.inner.revoke(who, what)).await
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        self.run(self.inner.verify(who, what)).await
    }

    async fn restore(
        &self,
        who: &Identity,
        evidence: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        self.run(self.inner.restore(who, evidence)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::metrics::rate_limit_metrics;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn settings_are_validated() {
        let s = settings_from_table(
            &table("rate_limit_per_sec = 9.5\nburst = 3\nmax_concurrency = 4"),
            TargetKind::Saas,
        )
        .unwrap();
        assert_eq!(s.rate_per_sec, Some(9.5));
        assert_eq!((s.burst, s.max_concurrency), (3, Some(4)));
        let s = settings_from_table(&table("rate_limit_per_sec = 20"), TargetKind::Saas).unwrap();
        assert_eq!(
            (s.rate_per_sec, s.burst, s.max_concurrency),
            (Some(20.0), 1, None)
        );
        assert!(
            !settings_from_table(&table("base_url = \"x\""), TargetKind::Saas)
                .unwrap()
                .is_set()
        );
        for bad in [
            "rate_limit_per_sec = 0",
            "rate_limit_per_sec = -1.0",
            "rate_limit_per_sec = \"10\"",
            "rate_limit_per_sec = nan",
            "rate_limit_per_sec = 5\nburst = 0",
            "burst = 5",
            "max_concurrency = 0",
            "max_concurrency = 2.5",
        ] {
            let e = settings_from_table(&table(bad), TargetKind::Cicd).unwrap_err();
            assert!(e.starts_with("[targets.cicd] "), "{bad}: {e}");
        }
    }

    /// A target that counts calls in flight and answers from a script.
    struct Probe {
        now: AtomicUsize,
        max: AtomicUsize,
        calls: AtomicUsize,
        throttle_first: usize,
    }

    #[async_trait]
    impl Target for Probe {
        fn kind(&self) -> TargetKind {
            TargetKind::Directory
        }
        fn instance(&self) -> &str {
            "probe"
        }
        fn principal(&self) -> &str {
            "p"
        }
        async fn discover(&self, _who: &Identity) -> Result<Vec<Holding>, TargetError> {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            if call < self.throttle_first {
                return Err(TargetError::rate_limited("probe: HTTP 429".into(), None));
            }
            Ok(Vec::new())
        }
        async fn revoke(&self, _: &Identity, _: &Holding) -> Result<RevokeResult, TargetError> {
            unreachable!()
        }
        async fn verify(&self, _: &Identity, _: &Holding) -> Result<ReadBack, TargetError> {
            unreachable!()
        }
    }

    fn who() -> Identity {
        Identity {
            employee_id: "E1".into(),
            email: None,
            username: Some("ada".into()),
            kind: revoke_shared::contract::IdentityKind::Employee,
        }
    }

    fn probe(throttle_first: usize) -> Arc<Probe> {
        Arc::new(Probe {
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            throttle_first,
        })
    }

    #[tokio::test]
    async fn concurrency_is_bounded_by_the_permits() {
        let p = probe(0);
        let settings = LimitSettings {
            rate_per_sec: None,
            burst: 1,
            max_concurrency: Some(3),
        };
        let t = wrap(
            p.clone(),
            Some(RateGate::new(TargetKind::Directory, "conc-test", &settings)),
        );
        let runs = (0..30).map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.discover(&who()).await })
        });
        for r in futures::future::join_all(runs).await {
            r.unwrap().unwrap();
        }
        assert_eq!(p.calls.load(Ordering::SeqCst), 30);
        assert_eq!(
            p.max.load(Ordering::SeqCst),
            3,
            "exactly the permits, never more"
        );
        let throttled = rate_limit_metrics()
            .throttled
            .with_label_values(&["directory", "conc-test"])
            .get();
        assert!(throttled >= 27, "{throttled}");
    }

    #[tokio::test]
    async fn a_hintless_429_through_the_decorator_cuts_the_gate_rate() {
        let p = probe(1);
        let settings = LimitSettings {
            rate_per_sec: Some(1000.0),
            burst: 1,
            max_concurrency: None,
        };
        let gate = RateGate::new(TargetKind::Directory, "aimd-test", &settings);
        let t = wrap(p.clone(), Some(gate.clone()));
        assert!(matches!(
            t.discover(&who()).await,
            Err(TargetError::RateLimited {
                retry_after: None,
                ..
            })
        ));
        let cut = gate.control().effective_rate().unwrap();
        assert!(
            (cut - 1000.0 * revoke_shared::ratelimit::DECREASE).abs() < 1e-6,
            "{cut}"
        );
        let m = rate_limit_metrics();
        assert_eq!(
            m.received_429
                .with_label_values(&["directory", "aimd-test"])
                .get(),
            1
        );
        assert_eq!(
            m.effective_rate
                .with_label_values(&["directory", "aimd-test"])
                .get(),
            cut
        );
        // Successes climb back.
        t.discover(&who()).await.unwrap();
        assert!(gate.control().effective_rate().unwrap() > cut);
    }
}

//! The client-side rate limiter's series (`revoke_ratelimit_*`), process-wide: the gates are
//! built with the adapters, which have no `Metrics` handle.

use crate::contract::TargetKind;
use prometheus::{GaugeVec, IntCounterVec, Opts};

/// Client-side rate limiting, by target kind and instance. Process-wide rather than per
/// `Metrics`: the gates are built with the adapters (`adapters::from_config`, which has no
/// `Metrics` handle), and every registry `Metrics::new` makes exposes these same series.
pub struct RateLimitMetrics {
    /// Requests that passed the gate (sent to the target): the denominator of the 429 share.
    pub requests: IntCounterVec,
    /// Calls that waited client-side (for a token, a server-announced pause or a concurrency permit).
    pub throttled: IntCounterVec,
    /// "Too many requests" answers (429, 503 with Retry-After, throttling errors) received.
    pub received_429: IntCounterVec,
    /// The request rate the gate now allows (req/s); absent while unlimited.
    pub effective_rate: GaugeVec,
}

pub fn rate_limit_metrics() -> &'static RateLimitMetrics {
    static M: std::sync::OnceLock<RateLimitMetrics> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let labels = &["target", "instance"];
        RateLimitMetrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "revoke_ratelimit_requests_total",
                    "Requests to a target that passed its client-side gate (the 429 share's denominator)",
                ),
                labels,
            )
            .expect("valid metric"),
            throttled: IntCounterVec::new(
                Opts::new(
                    "revoke_ratelimit_throttled_total",
                    "Calls to a target delayed client-side by its rate or concurrency limit, or a server-announced pause",
                ),
                labels,
            )
            .expect("valid metric"),
            received_429: IntCounterVec::new(
                Opts::new(
                    "revoke_ratelimit_429_total",
                    "Too-many-requests answers (429, 503 with Retry-After, throttling errors) from a target",
                ),
                labels,
            )
            .expect("valid metric"),
            effective_rate: GaugeVec::new(
                Opts::new(
                    "revoke_ratelimit_effective_rate",
                    "Requests per second the client-side limiter now allows a target (absent while unlimited)",
                ),
                labels,
            )
            .expect("valid metric"),
        }
    })
}

/// What a target's client-side rate limiter did: the only writes to `revoke_ratelimit_*`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimitEvent {
    /// A request passed the gate: it is sent now.
    Sent,
    /// A call waited client-side (for a token, a server-announced pause or a concurrency permit).
    Throttled,
    /// The target answered "too many requests" (429, 503 with Retry-After, a throttling error).
    TooManyRequests,
    /// The gate now allows this many requests per second.
    EffectiveRate(f64),
}

impl RateLimitEvent {
    /// Records the event for one gate. `instance` is a configured instance name: free text, but
    /// bounded by the configuration, so a fine label.
    pub fn emit(self, target: TargetKind, instance: &str) {
        let m = rate_limit_metrics();
        let labels = [target.as_str(), instance];
        match self {
            RateLimitEvent::Sent => m.requests.with_label_values(&labels).inc(),
            RateLimitEvent::Throttled => m.throttled.with_label_values(&labels).inc(),
            RateLimitEvent::TooManyRequests => m.received_429.with_label_values(&labels).inc(),
            RateLimitEvent::EffectiveRate(r) => m.effective_rate.with_label_values(&labels).set(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    /// The series are process-wide: the instance name keeps this test's apart from others'.
    #[test]
    fn rate_limit_events_render_todays_series() {
        let m = Metrics::new();
        RateLimitEvent::Sent.emit(TargetKind::Directory, "events-test");
        RateLimitEvent::Sent.emit(TargetKind::Directory, "events-test");
        RateLimitEvent::Sent.emit(TargetKind::Directory, "events-test");
        RateLimitEvent::Throttled.emit(TargetKind::Directory, "events-test");
        RateLimitEvent::TooManyRequests.emit(TargetKind::Directory, "events-test");
        RateLimitEvent::TooManyRequests.emit(TargetKind::Directory, "events-test");
        RateLimitEvent::EffectiveRate(2.5).emit(TargetKind::Directory, "events-test");
        let text = m.render();
        for series in [
            r#"revoke_ratelimit_requests_total{instance="events-test",target="directory"} 3"#,
            r#"revoke_ratelimit_throttled_total{instance="events-test",target="directory"} 1"#,
            r#"revoke_ratelimit_429_total{instance="events-test",target="directory"} 2"#,
            r#"revoke_ratelimit_effective_rate{instance="events-test",target="directory"} 2.5"#,
        ] {
            assert!(text.contains(series), "{series} not in\n{text}");
        }
    }
}

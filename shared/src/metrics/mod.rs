//! Prometheus metrics and the `/metrics`, `/healthz`, `/livez`, `/readyz` endpoint every revoke
//! process serves.
//!
//! Labels are bounded sets (consumer group, target kind, outcome, reason, state) — never an
//! identity or a case id, which would make the series count grow with the number of leavers.
//!
//! - `mod.rs`: the registry, [`Metrics`] (every series a process exports) and [`Metrics::emit`].
//! - `events`: what happens, one typed event per thing; the only code that writes a series.
//! - `lag`: consumer lag per partition, from librdkafka's statistics.
//! - `cases`: what a verifier holds now (cases by state, the guard's oldest held batch).
//! - `ratelimit`: the client-side rate limiter's process-wide series and their events.
//! - `health`: [`Health`], what `/healthz` reports and the state behind `/livez` + `/readyz`.
//! - `probes`: what `/livez` and `/readyz` answer (pure); `probe_state`: what they read.
//! - `serve`: the HTTP endpoint.
//!
//! Every registry also carries the standard process series (`process_resident_memory_bytes`,
//! `process_cpu_seconds_total`, `process_open_fds`, `process_start_time_seconds`, …), read
//! from `/proc` at each scrape.

mod cases;
mod events;
mod health;
mod lag;
mod probe_state;
mod probes;
mod ratelimit;
mod serve;

pub use cases::{CaseCounts, GuardOldestHeld};
pub use events::*;
pub use health::Health;
pub use lag::{lag_series, lags_from_stats, LagReport, LagSeries, PartitionLag};
pub use probe_state::{BrokerReporter, LoopProbe, DEFAULT_STALL};
pub use probes::{liveness, readiness, LoopView, Membership, Verdict};
pub use ratelimit::{rate_limit_metrics, RateLimitEvent, RateLimitMetrics};
pub use serve::{serve, serve_on, serve_with};

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Buckets for time-to-revoke / time-to-close: 5 ms up to one day.
const TIME_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
    3600.0, 14400.0, 86400.0,
];

/// What `revoke_build_info` says: set once by the binary at start ([`set_build_info`]); a
/// process that never sets it (a test) reports the crate's version and commit `unknown`.
static BUILD_INFO: std::sync::OnceLock<(&'static str, &'static str)> = std::sync::OnceLock::new();

/// The version and commit every [`Metrics`] made afterwards reports in `revoke_build_info`.
pub fn set_build_info(version: &'static str, commit: &'static str) {
    let _ = BUILD_INFO.set((version, commit));
}

/// Every series a revoke process exports, registered in `registry`.
///
/// The fields are public for reading (tests, benches, the demo). Writes go through typed events
/// ([`Metrics::emit`], see `events`): each event names its series, its labels and their values
/// in one place, so a label value cannot drift between two write sites.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Records read, by consumer group.
    pub events_consumed: IntCounterVec,
    /// Records fully handled and acknowledged, by consumer group.
    pub events_handled: IntCounterVec,
    /// Records read and not yet fully handled, by consumer group.
    pub in_flight: IntGaugeVec,
    /// Partitions currently assigned, by consumer group.
    pub assigned_partitions: IntGaugeVec,
    /// Records between the group's committed offset and the high watermark, by consumer group,
    /// topic and partition; only partitions assigned to this process (see `lag`).
    pub consumer_lag: IntGaugeVec,
    /// Handler failures that keep a record in flight (e.g. output not acknowledged), retried.
    pub handler_errors: IntCounterVec,
    /// Target-level outcomes, by target and outcome.
    pub revocations: IntCounterVec,
    /// Per-object outcomes, by target, object kind family (`human`/`sponsored`) and outcome.
    pub objects: IntCounterVec,
    /// Retried calls to targets, by target.
    pub retries: IntCounterVec,
    pub time_to_revoke: HistogramVec,
    pub time_to_close: HistogramVec,
    /// Cases currently open (not in a final state) in this verifier.
    pub open_cases: IntGauge,
    /// Cases this verifier holds in full, by state (every state but closed; see `cases`).
    pub cases: IntGaugeVec,
    /// Case state transitions, by new state.
    pub case_updates: IntCounterVec,
    pub escalations: IntCounterVec,
    /// Inputs the verifier recorded without changing a case (e.g. a rescind for an unknown or
    /// already closed case), by kind.
    pub verifier_notes: IntCounterVec,
    /// Records sent to the DLQ, by consumer group and reason.
    pub dlq: IntCounterVec,
    /// Webhook delivery attempts of escalations, by outcome (`delivered`, `retry`).
    pub webhook_deliveries: IntCounterVec,
    /// Escalations whose webhook delivery has failed at least once and is being retried.
    pub webhook_failing: IntGauge,
    /// Of those, the ones failing for `escalations.webhook_alert_after` attempts or more.
    pub webhook_stuck: IntGauge,
    /// From an escalation's first delivery attempt to the receiver's 2xx, retries included.
    pub webhook_delivery_seconds: Histogram,
    /// Shared Signals (`revoke signals`): SETs by receiver and outcome (`delivered`, `retry`,
    /// `refused`, `overdue`).
    pub signals_sets: IntCounterVec,
    /// SETs not planned for a receiver because the case lacks what its subject format needs,
    /// by receiver and reason (`no_email`, …).
    pub signals_skipped: IntCounterVec,
    /// SETs whose delivery failed at least once and is being retried.
    pub signals_failing: IntGauge,
    /// Of those, the ones failing `signals.alert_after` times or more.
    pub signals_stuck: IntGauge,
    /// From a SET's first delivery attempt until the receiver accepted it, by `via`.
    pub signals_delivery_seconds: HistogramVec,
    /// The blast-radius guard's memory (verifier): verdicts kept, by what they say
    /// (`released`, `held`, `decided`).
    pub guard_verdicts: IntGaugeVec,
    /// Batches the guard keeps, by `state`: `held` (a case still undecided), `decided` (still
    /// listed by `revoke guard`), `settled` (no longer listed; its decisions only).
    pub guard_batches: IntGaugeVec,
    /// Cases held by the guard, waiting for a person's decision.
    pub guard_held_cases: IntGauge,
    /// Seconds since the oldest batch with a case still held opened; 0 when none is held.
    pub guard_oldest_held_seconds: Gauge,
    /// Access seen again after a case closed (`revoke verify`, `revoke watch`), by finding kind
    /// and target.
    pub watch_findings: IntCounterVec,
    /// Reads of targets after a case closed, by target, read (`reverify`, `sign_ins`) and
    /// result (`ok`, `error`).
    pub watch_reads: IntCounterVec,
    /// 1 for each target the watch found keeping no sign-in log it can read.
    pub watch_no_sign_in_log: IntGaugeVec,
    /// Closed cases within `verifier.watch_secs`, watched for sign-ins.
    pub watch_cases: IntGauge,
    /// 1 while `/readyz` would answer 200, else 0; set when `/metrics` is scraped.
    pub ready: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            registered(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(TIME_BUCKETS.to_vec());
            registered(
                &registry,
                HistogramVec::new(opts, labels).expect("valid metric"),
            )
        };
        let gauge = |name: &str, help: &str| {
            registered(&registry, IntGauge::new(name, help).expect("valid metric"))
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            registered(
                &registry,
                IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let (version, commit) = BUILD_INFO
            .get()
            .copied()
            .unwrap_or((env!("CARGO_PKG_VERSION"), "unknown"));
        gauge_vec(
            "revoke_build_info",
            "Always 1; the labels name the running build (version, commit)",
            &["version", "commit"],
        )
        .with_label_values(&[version, commit])
        .set(1);
        let rl = rate_limit_metrics();
        registered(&registry, rl.requests.clone());
        registered(&registry, rl.throttled.clone());
        registered(&registry, rl.received_429.clone());
        registered(&registry, rl.effective_rate.clone());
        register_process_collector(&registry);
        Metrics {
            signals_sets: counter(
                "revoke_signals_sets_total",
                "Security Event Tokens by receiver and outcome (delivered, retry, refused, overdue)",
                &["receiver", "outcome"],
            ),
            signals_skipped: counter(
                "revoke_signals_skipped_total",
                "SETs not sent to a receiver because the case lacks what its subject format needs, by reason",
                &["receiver", "reason"],
            ),
            signals_failing: gauge(
                "revoke_signals_failing",
                "SETs whose delivery failed at least once and is being retried",
            ),
            signals_stuck: gauge(
                "revoke_signals_stuck",
                "SETs whose delivery failed signals.alert_after times or more",
            ),
            signals_delivery_seconds: histogram(
                "revoke_signals_delivery_seconds",
                "From a SET's first delivery attempt until the receiver accepted it (push 202 or poll ack)",
                &["via"],
            ),
            webhook_deliveries: counter(
                "revoke_webhook_deliveries_total",
                "Webhook delivery attempts of escalations, by outcome (delivered, retry)",
                &["outcome"],
            ),
            webhook_failing: gauge(
                "revoke_webhook_failing",
                "Escalations whose webhook delivery failed at least once and is being retried",
            ),
            webhook_stuck: gauge(
                "revoke_webhook_stuck",
                "Escalations whose webhook delivery failed escalations.webhook_alert_after times or more",
            ),
            webhook_delivery_seconds: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "revoke_webhook_delivery_seconds",
                        "From an escalation's first webhook delivery attempt to the receiver's 2xx, retries included",
                    )
                    .buckets(TIME_BUCKETS.to_vec()),
                )
                .expect("valid metric"),
            ),
            guard_verdicts: gauge_vec(
                "revoke_guard_verdicts",
                "Verdicts the blast-radius guard keeps in memory, by verdict (released, held, decided)",
                &["verdict"],
            ),
            guard_batches: gauge_vec(
                "revoke_guard_batches",
                "Batches the blast-radius guard keeps in memory, by state (held, decided, settled)",
                &["state"],
            ),
            guard_held_cases: gauge(
                "revoke_guard_held_cases",
                "Cases the blast-radius guard holds for a person's decision",
            ),
            guard_oldest_held_seconds: registered(
                &registry,
                Gauge::new(
                    "revoke_guard_oldest_held_seconds",
                    "Seconds since the oldest batch with a case still held by the blast-radius guard opened (0 when none is held)",
                )
                .expect("valid metric"),
            ),
            events_consumed: counter("revoke_events_consumed_total", "Records read from Kafka", &["consumer"]),
            events_handled: counter(
                "revoke_events_handled_total",
                "Records fully handled, their output acknowledged by the broker",
                &["consumer"],
            ),
            handler_errors: counter(
                "revoke_handler_errors_total",
                "Handler failures retried with the record held in flight",
                &["consumer"],
            ),
            revocations: counter(
                "revoke_revocations_total",
                "Target confirmations emitted, by target and outcome",
                &["target", "outcome"],
            ),
            objects: counter(
                "revoke_objects_total",
                "Objects (accounts, memberships, keys, tokens) handled, by target, owner and outcome",
                &["target", "owner", "outcome"],
            ),
            retries: counter("revoke_retries_total", "Calls to a target retried after a transient error", &["target"]),
            time_to_revoke: histogram(
                "revoke_time_to_revoke_seconds",
                "From the termination's effective time to the verified removal, by target",
                &["target"],
            ),
            time_to_close: histogram(
                "revoke_time_to_close_seconds",
                "From the termination's effective time to the closed case",
                &["outcome"],
            ),
            case_updates: counter("revoke_case_updates_total", "Case versions published, by state", &["state"]),
            escalations: counter("revoke_escalations_total", "Escalations raised, by reason", &["reason"]),
            verifier_notes: counter(
                "revoke_verifier_notes_total",
                "Inputs recorded without a case change (rescind of an unknown or closed case), by kind",
                &["what"],
            ),
            dlq: counter(
                "revoke_dlq_total",
                "Records refused and sent to the dead-letter topic, by consumer and reason",
                &["consumer", "reason"],
            ),
            in_flight: gauge_vec(
                "revoke_in_flight",
                "Records read and not yet fully handled",
                &["consumer"],
            ),
            assigned_partitions: gauge_vec(
                "revoke_assigned_partitions",
                "Partitions currently assigned to this consumer",
                &["consumer"],
            ),
            consumer_lag: gauge_vec(
                "revoke_consumer_lag",
                "Records between the group's committed offset and the partition's high watermark (librdkafka consumer_lag), for partitions assigned to this process",
                &["consumer", "topic", "partition"],
            ),
            open_cases: gauge(
                "revoke_open_cases",
                "Cases not in a final state (pending, scheduled, admitting, held, open, awaiting_review)",
            ),
            cases: gauge_vec(
                "revoke_cases",
                "Cases this verifier holds, by state (every state but closed)",
                &["state"],
            ),
            watch_findings: counter(
                "revoke_watch_findings_total",
                "Access seen again after a case closed, by kind (access_returned, access_after_departure) and target",
                &["kind", "target"],
            ),
            watch_reads: counter(
                "revoke_watch_reads_total",
                "Reads of targets after a case closed, by target, read (reverify, sign_ins) and result (ok, error)",
                &["target", "read", "result"],
            ),
            watch_no_sign_in_log: gauge_vec(
                "revoke_watch_no_sign_in_log",
                "1 for each target whose adapter reads no sign-in log (the watch skips it)",
                &["target"],
            ),
            watch_cases: gauge(
                "revoke_watch_cases",
                "Closed cases within verifier.watch_secs, watched for sign-ins",
            ),
            ready: gauge(
                "revoke_ready",
                "1 while the process is ready (/readyz 200: its consumers assigned, its broker answering), else 0",
            ),
            registry,
        }
    }

    /// Records that `event` happened: updates the series it names.
    pub fn emit(&self, event: impl MetricEvent) {
        event.emit(self);
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding never fails");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

/// The standard `process_*` series of this process (Linux; elsewhere there is nothing to read).
fn register_process_collector(registry: &Registry) {
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("unique metric");
}

/// Registers `c` in `registry` and returns it (a handle on the same series).
fn registered<C: Collector + Clone + 'static>(registry: &Registry, c: C) -> C {
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_prefix() {
        let m = Metrics::new();
        m.emit(TargetConfirmed {
            target: crate::contract::TargetKind::Vault,
            outcome: crate::contract::Outcome::Revoked,
            time_to_revoke: None,
        });
        let text = m.render();
        assert!(text.contains("revoke_revocations_total{outcome=\"revoked\",target=\"vault\"} 1"));
        assert!(
            text.contains("revoke_build_info{commit=\"unknown\",version=\"0.1.0\"} 1"),
            "{text}"
        );
    }

    /// The process series every process exports (alerts and the dashboard use these names).
    #[test]
    #[cfg(target_os = "linux")]
    fn renders_the_process_series() {
        let text = Metrics::new().render();
        for name in [
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(name)),
                "{name} not in\n{text}"
            );
        }
    }
}

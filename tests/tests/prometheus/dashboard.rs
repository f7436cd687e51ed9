//! The Grafana dashboard's queries, evaluated by the live Prometheus of the fleet test.

use super::files::{concrete, dashboard, dashboard_queries, metric_names};
use super::server::Prometheus;

/// Series this test's fleet does not produce, and why; a query may come back empty only when it
/// reads one of them.
pub const MAY_BE_EMPTY: [(&str, &str); 10] = [
    (
        "revoke_handler_errors_total",
        "no handler is retried: the broker acknowledges every output",
    ),
    (
        "revoke_retries_total",
        "the simulators answer every call the first time",
    ),
    (
        "revoke:ratelimit_429:ratio_rate5m",
        "no [targets.*] table sets a rate limit",
    ),
    (
        "revoke_ratelimit_requests_total",
        "no [targets.*] table sets a rate limit",
    ),
    (
        "revoke_ratelimit_throttled_total",
        "no [targets.*] table sets a rate limit",
    ),
    (
        "revoke_ratelimit_effective_rate",
        "no [targets.*] table sets a rate limit",
    ),
    (
        "revoke_webhook_deliveries_total",
        "no `revoke webhook` process in this fleet",
    ),
    (
        "revoke_webhook_delivery_seconds_bucket",
        "no `revoke webhook` process in this fleet",
    ),
    (
        "revoke_signals_sets_total",
        "no `revoke signals` process in this fleet",
    ),
    (
        "revoke_signals_delivery_seconds_bucket",
        "no `revoke signals` process in this fleet",
    ),
];

/// Why `expr` may legitimately be empty here, if it may.
fn may_be_empty(expr: &str) -> Option<&'static str> {
    let names = metric_names(expr);
    MAY_BE_EMPTY
        .iter()
        .find(|(m, _)| names.contains(*m))
        .map(|(_, why)| *why)
}

/// What the evaluation found.
pub struct Evaluated {
    pub queries: usize,
    pub with_data: usize,
    /// The empty ones, with why they may be.
    pub empty: Vec<(String, &'static str)>,
}

/// Evaluates every panel query of the dashboard now. Err lists every query Prometheus refused,
/// and every empty one not allowed by [`MAY_BE_EMPTY`].
pub fn evaluate(prom: &Prometheus) -> Result<Evaluated, Vec<String>> {
    let mut problems = Vec::new();
    let mut done = Evaluated {
        queries: 0,
        with_data: 0,
        empty: Vec::new(),
    };
    for q in dashboard_queries(&dashboard()) {
        done.queries += 1;
        let promql = concrete(&q.expr);
        let what = format!("panel {:?} query {}", q.panel, q.ref_id);
        match prom.query(&promql) {
            Err(e) => problems.push(format!("{what}: {e}")),
            Ok(samples) if !samples.is_empty() => done.with_data += 1,
            Ok(_) => match may_be_empty(&promql) {
                Some(why) => done.empty.push((what, why)),
                None => problems.push(format!("{what} is empty: {promql}")),
            },
        }
    }
    if problems.is_empty() {
        Ok(done)
    } else {
        Err(problems)
    }
}

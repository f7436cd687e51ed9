//! Retrying a target call: exponential backoff with jitter on transient errors only, bounded
//! by attempts and total time, never sooner than a rate limit's `Retry-After`.

use crate::adapters::TargetError;
use backon::BackoffBuilder;
use revoke_shared::contract::TargetKind;
use revoke_shared::metrics::{Metrics, TargetCallRetried};
use revoke_shared::retry::{ErrorClass, RetryPolicy};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long to wait before the next attempt: the backoff's delay, or the server's `Retry-After`
/// when that is longer (retrying sooner would only earn another 429). `None` — give up now —
/// when the wait would take the retries past the policy's total time: the error (naming the
/// 429 and its `Retry-After`) then becomes a `failed` confirmation and its escalation.
pub fn next_wait(
    policy: &RetryPolicy,
    waited: Duration,
    backoff: Duration,
    server: Option<Duration>,
) -> Option<Duration> {
    let wait = server.map_or(backoff, |s| s.max(backoff));
    (waited + wait <= policy.max_total).then_some(wait)
}

/// Runs `op` with retries on transient errors, counting attempts: exponential backoff with
/// jitter (`backon`), bounded by attempts and total time, waiting at least a rate limit's
/// `Retry-After`.
pub(crate) async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    attempts: &AtomicU32,
    metrics: &Metrics,
    target: TargetKind,
    op: F,
) -> Result<T, TargetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TargetError>>,
{
    let mut op = op;
    let mut delays = policy.backoff().build();
    let mut waited = Duration::ZERO;
    loop {
        attempts.fetch_add(1, Ordering::Relaxed);
        let e = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if e.class() != ErrorClass::Transient {
            return Err(e);
        }
        let Some(wait) = delays
            .next()
            .and_then(|d| next_wait(policy, waited, d, e.retry_after()))
        else {
            return Err(e);
        };
        metrics.emit(TargetCallRetried { target });
        tracing::debug!(target_kind = target.as_str(), error = %e, wait_ms = wait.as_millis() as u64, "retrying target call");
        tokio::time::sleep(wait).await;
        waited += wait;
    }
}

//! Retry policy and error classification shared by every caller of an outside system.

use backon::ExponentialBuilder;
use std::time::Duration;

/// How an error should be treated. Decided by pure functions so the rules are unit-tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// May succeed if tried again: 5xx, 429, timeouts, connection errors.
    Transient,
    /// Will fail the same way again: authentication, validation, not allowed.
    Permanent,
    /// The system's answer does not let a machine decide (e.g. several matches): a person must.
    Ambiguous,
}

/// Classifies an HTTP status answered by a target API.
pub fn classify_http_status(status: u16) -> ErrorClass {
    match status {
        408 | 425 | 429 => ErrorClass::Transient,
        500..=599 => ErrorClass::Transient,
        409 => ErrorClass::Ambiguous,
        _ => ErrorClass::Permanent,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: usize,
    pub initial: Duration,
    pub max_delay: Duration,
    pub max_total: Duration,
}

impl RetryPolicy {
    pub fn from_config(w: &crate::config::WorkerConfig) -> RetryPolicy {
        RetryPolicy {
            max_attempts: w.max_attempts,
            initial: Duration::from_millis(w.initial_backoff_ms),
            max_delay: Duration::from_millis(w.max_backoff_ms),
            max_total: Duration::from_secs(w.max_retry_secs),
        }
    }

    /// Exponential backoff with jitter, bounded by attempts and total time.
    pub fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_total_delay(Some(self.max_total))
            .with_jitter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::Retryable;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn http_classes() {
        assert_eq!(classify_http_status(429), ErrorClass::Transient);
        assert_eq!(classify_http_status(503), ErrorClass::Transient);
        assert_eq!(classify_http_status(401), ErrorClass::Permanent);
        assert_eq!(classify_http_status(400), ErrorClass::Permanent);
        assert_eq!(classify_http_status(409), ErrorClass::Ambiguous);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 4,
            initial: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_total: Duration::from_secs(5),
        };
        let calls = AtomicUsize::new(0);
        let r: Result<(), &str> = (|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err("down")
        })
        .retry(policy.backoff())
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}

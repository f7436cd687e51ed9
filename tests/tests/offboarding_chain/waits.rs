//! Bounded waits: every wait of this test has a deadline and fails naming what was missing.

use std::future::Future;
use std::time::{Duration, Instant};

/// Asks `probe` every 500 ms until it answers `Ok`, for at most `within`; then fails with `what`
/// and the probe's last answer (what it saw instead).
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(seen) if Instant::now() > deadline => {
                panic!("timed out after {within:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

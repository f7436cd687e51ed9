//! One expensive listing shared by concurrent leavers, without ever answering from stale data.
//!
//! Finding sponsored credentials means listing everything (every Vault token, every IAM user) and
//! filtering by owner. Done per leaver, a burst of 50 leavers lists everything 50 times at once.
//! `FreshScan` runs one listing at a time and hands its result to every caller that asked
//! *before that listing started* — so each caller still sees a listing taken after its own
//! request (a credential created a moment before the termination is never missed), while a burst
//! costs about two listings instead of one per leaver.

use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct FreshScan<T> {
    /// Held while a listing runs: callers queue here (tokio's mutex is fair, first come first).
    running: tokio::sync::Mutex<()>,
    /// The last successful listing and when it started.
    last: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for FreshScan<T> {
    fn default() -> Self {
        FreshScan {
            running: tokio::sync::Mutex::new(()),
            last: Mutex::new(None),
        }
    }
}

impl<T> FreshScan<T> {
    /// A listing that started no earlier than now: the last one if it started after this call,
    /// else a new one run by `list`. Errors are not kept: the next caller lists again.
    pub async fn get<E, F, Fut>(&self, list: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let asked = Instant::now();
        let _turn = self.running.lock().await;
        if let Some((started, value)) = self.last.lock().unwrap().as_ref() {
            if *started >= asked {
                return Ok(value.clone());
            }
        }
        let started = Instant::now();
        let value = Arc::new(list().await?);
        *self.last.lock().unwrap() = Some((started, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn a_burst_shares_listings_that_started_after_each_request() {
        let scan: Arc<FreshScan<u32>> = Arc::new(FreshScan::default());
        let runs = Arc::new(AtomicU32::new(0));
        let list = |runs: Arc<AtomicU32>| async move {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok::<u32, ()>(n)
        };
        let mut calls = Vec::new();
        for _ in 0..50 {
            let (scan, runs) = (scan.clone(), runs.clone());
            calls.push(tokio::spawn(async move {
                *scan.get(|| list(runs)).await.unwrap()
            }));
        }
        let mut seen = Vec::new();
        for c in calls {
            seen.push(c.await.unwrap());
        }
        // The first caller's listing, then one more for everyone who asked while it ran.
        assert!(
            runs.load(Ordering::SeqCst) <= 2,
            "{} listings",
            runs.load(Ordering::SeqCst)
        );
        assert!(seen.iter().all(|n| *n >= 1));

        // A later request never gets an answer listed before it asked.
        let before = runs.load(Ordering::SeqCst);
        let n = *scan.get(|| list(runs.clone())).await.unwrap();
        assert_eq!(n, before + 1);
    }

    #[tokio::test]
    async fn errors_are_not_kept() {
        let scan: FreshScan<u32> = FreshScan::default();
        assert_eq!(
            scan.get(|| async { Err::<u32, &str>("down") })
                .await
                .unwrap_err(),
            "down"
        );
        assert_eq!(*scan.get(|| async { Ok::<u32, &str>(7) }).await.unwrap(), 7);
    }
}

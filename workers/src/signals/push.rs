//! Push delivery (RFC 8935): POST the SET until the receiver answers 202 or refuses it for good,
//! with the webhook's capped backoff and jitter, keeping the failing/stuck gauges and
//! `/healthz` right meanwhile.

use super::judge::{judge, transport, PushFailure};
use super::jws::SET_TYP;
use super::settings::Receiver;
use super::Shared;
use crate::webhook::{backoff_delay, random_unit, Failure};
use revoke_shared::metrics::SignalOutcome;
use std::sync::Mutex;

/// How a push ended.
pub enum Pushed {
    Accepted,
    Refused(String, String),
    /// The process is stopping.
    Stopped(String),
}

impl Shared {
    /// One POST of `jws` to `r`.
    async fn attempt(
        &self,
        r: &Receiver,
        url: &reqwest::Url,
        jws: &str,
    ) -> Result<(), PushFailure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let mut req = self
            .http
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("application/{SET_TYP}"),
            )
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &r.token {
            // bearer_auth marks the header sensitive.
            req = req.bearer_auth(token.expose());
        }
        let answer = match req.body(jws.to_string()).send().await {
            Ok(a) => a,
            // `without_url`: the URL's query may hold a credential.
            Err(e) if e.is_timeout() => return Err(transport(&Failure::Timeout)),
            Err(e) if e.is_connect() => {
                return Err(transport(&Failure::Connect(e.without_url().to_string())))
            }
            Err(e) => return Err(transport(&Failure::Transport(e.without_url().to_string()))),
        };
        let status = answer.status().as_u16();
        let body = if status == 400 {
            answer.bytes().await.unwrap_or_default()
        } else {
            Default::default()
        };
        judge(status, &body)
    }

    /// Pushes `jws` (SET `jti`) to `r` until accepted, refused for good, or the process stops.
    /// `last` keeps the latest failure in words (for an overdue report).
    pub(super) async fn push(
        &self,
        r: &Receiver,
        url: &reqwest::Url,
        jti: &str,
        jws: &str,
        last: &Mutex<String>,
    ) -> Pushed {
        let s = &self.settings;
        let mut track = self.trouble.track();
        let mut failed: u32 = 0;
        loop {
            let why = match self.attempt(r, url, jws).await {
                Ok(()) => return Pushed::Accepted,
                Err(PushFailure::Refused(code, description)) => {
                    self.metrics
                        .emit(SignalOutcome::Refused { receiver: &r.name });
                    return Pushed::Refused(code, description);
                }
                Err(PushFailure::Retry(why)) => why,
            };
            *last.lock().expect("last lock") = why.clone();
            failed += 1;
            self.metrics
                .emit(SignalOutcome::Retry { receiver: &r.name });
            track.failing();
            let delay = backoff_delay(failed, s.initial_backoff, s.max_backoff, random_unit());
            let retry_in_ms = delay.as_millis() as u64;
            if failed == s.alert_after {
                track.stuck(format!("SET {jti} to receiver {}: {why}", r.name));
                tracing::error!(
                    receiver = %r.name, jti, url = %r.shown, attempts = failed, error = %why,
                    owner = %r.owner.name, contact = %r.owner.contact, retry_in_ms,
                    "SET not delivered after {failed} attempts; still retrying"
                );
            } else if failed < s.alert_after || failed.is_multiple_of(10) {
                tracing::warn!(receiver = %r.name, jti, url = %r.shown, attempts = failed, error = %why, retry_in_ms, "SET push failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.stop.cancelled() => {
                    return Pushed::Stopped(format!("stopping before SET {jti} reached receiver {} ({failed} attempts, last: {why})", r.name));
                }
            }
        }
    }
}

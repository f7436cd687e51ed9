//! The delivery shell: the consume loop's handler, which reads an escalation (or dead-letters
//! what is not one) and POSTs it until the receiver answers 2xx, keeping the failing/stuck
//! gauges and `/healthz` right meanwhile.

use super::judge::{backoff_delay, judge, random_unit, Failure};
use super::signature::signature;
use super::{WebhookHandler, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use revoke_shared::consume::{Handler, HandlerError};
use revoke_shared::contract::{Escalation, RawMessage, ESCALATION_SCHEMA};
use revoke_shared::metrics::WebhookAttempt;
use std::time::Instant;
use tracing::Instrument;

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

impl WebhookHandler {
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
        let mut track = self.trouble.track();
        let s = &self.settings;
        let mut failed: u32 = 0;
        loop {
            let failure = match self.attempt(esc, body).await {
                Ok(()) => {
                    self.metrics.emit(WebhookAttempt::Delivered {
                        after: started.elapsed(),
                    });
                    tracing::info!(
                        owner = %esc.owner.name, reason = esc.reason.as_str(), attempts = failed + 1,
                        "escalation delivered to the webhook"
                    );
                    return Ok(());
                }
                Err(f) => f,
            };
            failed += 1;
            self.metrics.emit(WebhookAttempt::Retry);
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
            Err((reason, detail)) => return self.dead_letters.send(msg, reason, detail).await,
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

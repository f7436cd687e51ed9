//! Can the broker be reached at all? One-shot commands (`revoke case`, `report`, `publish`, …)
//! ask this first, within `--timeout`, so that a wrong address or a stopped broker is one line
//! naming the address and what to check — not a minute of waiting and hundreds of librdkafka
//! lines (each client retries and logs every failed connect). The long-running processes never
//! ask: they keep waiting for the broker, and their health endpoints say so.
//!
//! The probe is a group-less client whose librdkafka log and error callbacks are kept (not
//! logged) and read by [`diagnose`] only when the probe failed: a pure function from those
//! messages to the likely cause. With `REVOKE_LOG=debug` the messages are logged as well.

use crate::config::Config;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a one-shot command waits for a broker to answer unless told otherwise (`--timeout`).
pub const DEFAULT_REACH_TIMEOUT: Duration = Duration::from_secs(10);

/// One metadata request of the probe; it repeats until the broker answers or time is up.
const ROUND: Duration = Duration::from_millis(500);
/// How long the probe waits, once time is up, for librdkafka's last messages.
const DRAIN: Duration = Duration::from_millis(100);

/// The most librdkafka messages kept from one probe (the last ones; they repeat).
const KEPT: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error("cannot create Kafka client for {brokers}: {source} (check kafka.brokers and kafka.properties)")]
    Client {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("no Kafka broker answered at {brokers} within {secs} s: {cause} (check --brokers, kafka.brokers or KAFKA_BROKERS, that the broker is running and listening there, and kafka.properties for TLS/SASL; --timeout sets the wait)", secs = waited.as_secs_f32().round())]
    Unreachable {
        brokers: String,
        waited: Duration,
        cause: Cause,
    },
}

/// Why no broker answered, as far as librdkafka's messages tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens there (the connection was refused).
    Refused,
    /// The host name does not resolve.
    Unresolved,
    /// Something accepts the connection but does not speak Kafka (another service, or a TLS
    /// listener reached in plaintext).
    NotKafka,
    /// The TLS handshake failed.
    Tls,
    /// SASL authentication failed.
    Authentication,
    /// No answer at all (a filtered port, an unroutable address).
    NoAnswer,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cause::Refused => "connection refused, nothing listens there",
            Cause::Unresolved => "the host name does not resolve",
            Cause::NotKafka => "something accepts connections there but does not answer as a Kafka broker (another service, or a TLS listener reached without security.protocol)",
            Cause::Tls => "the TLS handshake failed",
            Cause::Authentication => "SASL authentication failed",
            Cause::NoAnswer => "no answer",
        })
    }
}

/// The likely cause, from what librdkafka said while trying (pure). The most specific wins:
/// a host that resolves and refuses is `Refused`, not `NoAnswer`.
pub fn diagnose<S: AsRef<str>>(messages: &[S]) -> Cause {
    let said = |needles: &[&str]| {
        messages
            .iter()
            .any(|m| needles.iter().any(|n| m.as_ref().contains(n)))
    };
    if said(&[
        "SASL authentication",
        "Authentication failed",
        "SaslAuthenticate",
    ]) {
        Cause::Authentication
    } else if said(&[
        "SSL handshake failed",
        "SSL_ERROR",
        "ssl.ca.location",
        "certificate verify failed",
    ]) {
        Cause::Tls
    } else if said(&[
        "Failed to resolve",
        "Name or service not known",
        "nodename nor servname",
    ]) {
        Cause::Unresolved
    } else if said(&[
        "ApiVersionRequest failed",
        "APIVERSION_QUERY",
        "Disconnected while requesting ApiVersion",
        "Invalid response size",
        "Receive failed",
    ]) {
        Cause::NotKafka
    } else if said(&["Connection refused"]) {
        Cause::Refused
    } else {
        Cause::NoAnswer
    }
}

/// Keeps librdkafka's messages instead of logging them.
#[derive(Default)]
struct Quiet {
    messages: Mutex<Vec<String>>,
}

impl Quiet {
    fn keep(&self, text: String) {
        tracing::debug!(target: "librdkafka", "{text}");
        let mut kept = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push(text);
    }
}

impl ClientContext for Quiet {
    fn log(&self, _level: RDKafkaLogLevel, fac: &str, message: &str) {
        self.keep(format!("{fac}: {message}"));
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.keep(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for Quiet {}

/// Waits at most `timeout` for any broker of `kafka.brokers` to answer a metadata request
/// (blocking). A broker that comes up within the wait is fine.
pub fn check_reachable(cfg: &Config, timeout: Duration) -> Result<(), ReachError> {
    // A listener that accepts and never answers would otherwise hold each attempt for
    // librdkafka's 30 s / 10 s defaults, and the probe would end before it said why.
    let half = (timeout.as_millis() / 2)
        .clamp(1000, i32::MAX as u128)
        .to_string();
    let client: BaseConsumer<Quiet> = crate::kafka::admin_config(cfg)
        .set("allow.auto.create.topics", "false")
        .set("socket.connection.setup.timeout.ms", &half)
        .set("api.version.request.timeout.ms", &half)
        .create_with_context(Quiet::default())
        .map_err(|source| ReachError::Client {
            brokers: cfg.kafka.brokers.clone(),
            source,
        })?;
    let start = Instant::now();
    let deadline = start + timeout;
    loop {
        // Short requests, with a poll between them: librdkafka hands its log and error events to
        // the context only when the client is polled.
        let left = deadline.saturating_duration_since(Instant::now());
        let result = client.fetch_metadata(None, left.min(ROUND).max(Duration::from_millis(100)));
        let _ = client.poll(Duration::ZERO);
        let last = match result {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            // What librdkafka said last may still be queued.
            let _ = client.poll(DRAIN);
            let mut messages = client
                .context()
                .messages
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            messages.push(last.to_string());
            return Err(ReachError::Unreachable {
                brokers: cfg.kafka.brokers.clone(),
                waited: start.elapsed(),
                cause: diagnose(&messages),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_from_what_librdkafka_said() {
        // Lines as librdkafka 2.12 wrote them against each kind of dead address.
        let refused = ["FAIL: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)"];
        assert_eq!(diagnose(&refused), Cause::Refused);
        let plain = ["FAIL: 127.0.0.1:18999/bootstrap: ApiVersionRequest failed: Local: Timed out: probably due to broker version < 0.10 (see api.version.request configuration) (after 10004ms in state APIVERSION_QUERY)"];
        assert_eq!(diagnose(&plain), Cause::NotKafka);
        let closes = ["FAIL: 127.0.0.1:18999/bootstrap: Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol configuration (connecting to a SSL listener?) or broker version is < 0.10 (see api.version.request) (after 0ms in state APIVERSION_QUERY)"];
        assert_eq!(diagnose(&closes), Cause::NotKafka);
        let unresolved = ["FAIL: nope.invalid:9092/bootstrap: Failed to resolve 'nope.invalid:9092': Name or service not known (after 3ms in state CONNECT)"];
        assert_eq!(diagnose(&unresolved), Cause::Unresolved);
        let tls = ["FAIL: ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"];
        assert_eq!(diagnose(&tls), Cause::Tls);
        assert_eq!(
            diagnose(&["Meta data fetch error: OperationTimedOut (Local: Timed out)"]),
            Cause::NoAnswer
        );
        assert_eq!(diagnose::<&str>(&[]), Cause::NoAnswer);
        // A refusal among messages that show it was not Kafka: the more specific cause wins.
        assert_eq!(diagnose(&[refused[0], plain[0]]), Cause::NotKafka);
    }

    #[test]
    fn the_message_names_the_address_and_what_to_check() {
        let e = ReachError::Unreachable {
            brokers: "127.0.0.1:1".into(),
            waited: Duration::from_millis(10_004),
            cause: Cause::Refused,
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "no Kafka broker answered at 127.0.0.1:1 within 10 s: connection refused"
            ),
            "{text}"
        );
        for part in [
            "--brokers",
            "KAFKA_BROKERS",
            "--timeout",
            "kafka.properties",
        ] {
            assert!(text.contains(part), "{part} missing: {text}");
        }
        assert!(!text.contains('\n'));
    }
}

//! The pure decisions of a delivery: what the receiver's answer means (`judge`, `Failure`, with
//! what an operator should check) and how long to wait before the next attempt.

use std::time::Duration;

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 4xx other than 408/429: the receiver refuses this request as it is.
    Refused(u16),
    /// 5xx, 408 or 429: the receiver is failing or throttling.
    Unavailable(u16),
    /// 3xx: redirects are not followed.
    Redirected(u16),
    /// 1xx or a code outside the classes above.
    Unexpected(u16),
    /// No complete answer within `webhook_timeout_ms`.
    Timeout,
    /// No connection (refused, DNS, TLS handshake).
    Connect(String),
    /// The request or the answer broke off.
    Transport(String),
}

/// The receiver's HTTP status judged: `Ok` for 2xx (delivered).
pub fn judge(status: u16) -> Result<(), Failure> {
    match status {
        200..=299 => Ok(()),
        408 | 429 | 500..=599 => Err(Failure::Unavailable(status)),
        400..=499 => Err(Failure::Refused(status)),
        300..=399 => Err(Failure::Redirected(status)),
        _ => Err(Failure::Unexpected(status)),
    }
}

impl Failure {
    /// HTTP status if the receiver answered, else what happened (for logs).
    pub fn status(&self) -> String {
        match self {
            Failure::Refused(s)
            | Failure::Unavailable(s)
            | Failure::Redirected(s)
            | Failure::Unexpected(s) => s.to_string(),
            Failure::Timeout => "timeout".into(),
            Failure::Connect(_) => "no connection".into(),
            Failure::Transport(_) => "broken exchange".into(),
        }
    }

    /// What an operator should check.
    pub fn check(&self) -> &'static str {
        match self {
            Failure::Refused(401) | Failure::Refused(403) => {
                "the receiver refuses our credentials: check the token named by escalations.webhook_token_env/webhook_token_file (and the signing secret, if set) against the receiver's"
            }
            Failure::Refused(404) | Failure::Refused(405) => {
                "the receiver has no such endpoint: check escalations.webhook_url"
            }
            Failure::Refused(_) => {
                "the receiver rejects the request: check its logs for why it refuses a revoke.escalation.v1 JSON body"
            }
            Failure::Unavailable(429) => "the receiver is throttling: check its rate limits",
            Failure::Unavailable(_) => "the receiver is failing or overloaded: check its health and logs",
            Failure::Redirected(_) => {
                "the receiver redirects (not followed): set escalations.webhook_url to the final address"
            }
            Failure::Unexpected(_) => "the receiver answered an unexpected status: check what serves escalations.webhook_url",
            Failure::Timeout => {
                "no answer within escalations.webhook_timeout_ms: check the receiver's latency and the network"
            }
            Failure::Connect(_) => {
                "cannot connect: check escalations.webhook_url, DNS, the network path and TLS certificates"
            }
            Failure::Transport(_) => "the exchange broke off: check the receiver and any proxy in between",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(s) => write!(f, "receiver refused it with HTTP {s}"),
            Failure::Unavailable(s) => write!(f, "receiver answered HTTP {s}"),
            Failure::Redirected(s) => write!(f, "receiver redirected with HTTP {s}"),
            Failure::Unexpected(s) => write!(f, "receiver answered HTTP {s}"),
            Failure::Timeout => write!(f, "no answer in time"),
            Failure::Connect(e) => write!(f, "cannot connect: {e}"),
            Failure::Transport(e) => write!(f, "request failed: {e}"),
        }
    }
}

/// The delay after the `failed`-th failed attempt (1-based): `initial * 2^(failed-1)` capped at
/// `max`, then scaled into `[half, all]` of that by `jitter` in `[0, 1)` ("equal jitter": many
/// escalations failing together spread out, and no delay exceeds `max`).
pub fn backoff_delay(failed: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = failed.saturating_sub(1).min(32);
    let capped = initial.saturating_mul(1u32 << exp.min(31)).min(max);
    let half = capped / 2;
    half + (capped - half).mul_f64(jitter.clamp(0.0, 1.0))
}

/// A uniform random number in `[0, 1)`, the jitter of `backoff_delay`.
pub fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() as u64 >> 11) as f64 / (1u64 << 53) as f64
}

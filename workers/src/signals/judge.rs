//! The pure decision on a receiver's answer to a pushed SET (RFC 8935 §2.2–2.4): delivered,
//! retried, or refused for good (dead-lettered).
//!
//! Refused for good are the error codes that describe the SET's own signed bytes: re-sending
//! the same token can never succeed (`invalid_request`: its payload; `invalid_issuer`: its
//! `iss`; `invalid_audience`: its `aud`). Every other failure describes the state of the
//! relationship and can change while the SET stays the same, so it is retried with backoff:
//! `invalid_key` (the receiver refreshes our JWKS, or we rotate), `authentication_failed` and
//! `access_denied` (credentials or authorization fixed at either end), unknown codes, 401/403,
//! 408, 429, 5xx, timeouts and connection failures.

use crate::webhook::Failure;

/// One failed push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushFailure {
    /// Retried: the HTTP-level failure, or a 400 with an error code that may clear.
    Retry(String),
    /// Dead-lettered: `(error code, description)`.
    Refused(String, String),
}

/// The answer judged: `status`, and the body when it is a 400 (`{"err", "description"}`).
pub fn judge(status: u16, body: &[u8]) -> Result<(), PushFailure> {
    if status == 202 {
        return Ok(());
    }
    if status == 400 {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let err = v["err"].as_str().unwrap_or("").to_string();
        // The description is the receiver's text: kept short, it goes to logs and evidence.
        let description: String = v["description"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        return match err.as_str() {
            "invalid_request" | "invalid_issuer" | "invalid_audience" => {
                Err(PushFailure::Refused(err, description))
            }
            "" => Err(PushFailure::Retry(
                "HTTP 400 without an RFC 8935 error code".into(),
            )),
            _ => Err(PushFailure::Retry(format!("HTTP 400 {err}: {description}"))),
        };
    }
    if (200..300).contains(&status) {
        return Err(PushFailure::Retry(format!(
            "HTTP {status}, not 202 Accepted (RFC 8935 §2.2): not counted as delivered"
        )));
    }
    Err(PushFailure::Retry(match crate::webhook::judge(status) {
        Err(f) => f.to_string(),
        Ok(()) => format!("HTTP {status}"),
    }))
}

/// A transport failure (no answer) as a retried push failure.
pub fn transport(f: &Failure) -> PushFailure {
    PushFailure::Retry(f.to_string())
}

impl std::fmt::Display for PushFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushFailure::Retry(why) => f.write_str(why),
            PushFailure::Refused(err, d) => write!(f, "refused with {err}: {d}"),
        }
    }
}

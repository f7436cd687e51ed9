//! Security Event Tokens (RFC 8417): the event types this transmitter emits, one planned SET,
//! and its claims.

use serde_json::{json, Map, Value};

pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
pub const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// The URI of a subscribable event type, from its short name in `events`.
pub fn event_uri(short: &str) -> Option<&'static str> {
    match short {
        "session-revoked" => Some(SESSION_REVOKED),
        "credential-change" => Some(CREDENTIAL_CHANGE),
        "account-disabled" => Some(ACCOUNT_DISABLED),
        _ => None,
    }
}

/// One SET to deliver to one receiver, everything but the transmitter's `iss` and the `iat`
/// of signing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSet {
    /// The receiver stream's name.
    pub receiver: String,
    /// Deterministic per (case, receiver, event, object): a re-delivery carries the same jti.
    pub jti: String,
    pub event_type: &'static str,
    /// The event's own claims (the value under `events[event_type]`).
    pub event: Value,
    pub sub_id: Value,
    pub aud: String,
    /// The case id (absent for a verification event).
    pub txn: Option<String>,
}

impl PlannedSet {
    /// The SET's claims: `iss`, `aud`, `iat`, `jti`, `txn`, `sub_id`, `events` (one event).
    pub fn claims(&self, issuer: &str, iat: i64) -> Value {
        let mut events = Map::new();
        events.insert(self.event_type.to_string(), self.event.clone());
        let mut c = json!({
            "iss": issuer, "aud": self.aud, "iat": iat, "jti": self.jti,
            "sub_id": self.sub_id, "events": events,
        });
        if let Some(txn) = &self.txn {
            c["txn"] = json!(txn);
        }
        c
    }
}

//! Keycloak's user events read as sign-ins, for the watch after a case closes: which event types
//! are a successful sign-in or a use of a token, the `dateFrom` to ask with, and one event →
//! `SignIn`. Pure; the requests are in `sign_ins`.
//!
//! The events come from `GET /admin/realms/{realm}/events` (`view-events`), recorded only when
//! the realm stores login events (`eventsEnabled`, and `enabledEventTypes` including these types)
//! and kept for its `eventsExpiration`. Each carries `id` (Keycloak 24+), `time` (ms since the
//! epoch), `type`, `clientId`, `userId`, `sessionId`, `ipAddress`, `error` and `details`.

use crate::adapters::SignIn;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// The event types that mean the person got in or used a token: a sign-in (`LOGIN`, also the
/// password grant), a code exchanged for tokens, a refresh (online or offline), a token
/// exchange, an impersonation, a device-code or CIBA grant. Their `_ERROR` twins are refusals.
pub const SIGN_IN_TYPES: [&str; 7] = [
    "LOGIN",
    "CODE_TO_TOKEN",
    "REFRESH_TOKEN",
    "TOKEN_EXCHANGE",
    "IMPERSONATE",
    "OAUTH2_DEVICE_CODE_TO_TOKEN",
    "AUTHREQID_TO_TOKEN",
];

/// The `dateFrom` to ask with: a date (`yyyy-MM-dd`), read by Keycloak in its own time zone, so
/// the day before `since`'s UTC date — whatever that zone, nothing from `since` on is left out.
/// The events are then filtered by their `time` here (`sign_in`).
pub fn date_from(since: DateTime<Utc>) -> String {
    (since - Duration::days(1))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Whether a page of events (read newest first) reaches back before `since`, so that no later
/// page is needed. Only a page that really is newest first may end the reading: a server that
/// ignored `direction` must not make the watch miss newer pages.
pub fn reaches_before(events: &[Value], since: DateTime<Utc>) -> bool {
    let times: Vec<Option<i64>> = events.iter().map(|e| e["time"].as_i64()).collect();
    let newest_first = times
        .windows(2)
        .all(|w| matches!(w, [Some(a), Some(b)] if a >= b));
    newest_first
        && times
            .last()
            .copied()
            .flatten()
            .is_some_and(|t| t < since.timestamp_millis())
}

/// The sign-in an event records: `None` unless it is a successful sign-in type, of user `uid`,
/// at or after `since`. Its id is Keycloak's event id, else (older servers) `time:type:session`.
pub fn sign_in(event: &Value, uid: &str, instance: &str, since: DateTime<Utc>) -> Option<SignIn> {
    let kind = event["type"].as_str()?;
    if !SIGN_IN_TYPES.contains(&kind)
        || event["userId"].as_str() != Some(uid)
        || !event["error"].is_null()
    {
        return None;
    }
    let at = DateTime::<Utc>::from_timestamp_millis(event["time"].as_i64()?)?;
    if at < since {
        return None;
    }
    let text = |k: &str| event[k].as_str().filter(|s| !s.is_empty());
    let session = text("sessionId").unwrap_or("-");
    let event_id = match text("id") {
        Some(id) => id.to_string(),
        None => format!("{}:{kind}:{session}", at.timestamp_millis()),
    };
    let mut detail = format!(
        "{kind} to client {} from {} (session {session}",
        text("clientId").unwrap_or("?"),
        text("ipAddress").unwrap_or("?")
    );
    if let Some(g) = event["details"]["grant_type"].as_str() {
        detail.push_str(&format!(", grant {g}"));
    }
    detail.push(')');
    Some(SignIn {
        event_id,
        instance: instance.to_string(),
        at,
        detail,
    })
}

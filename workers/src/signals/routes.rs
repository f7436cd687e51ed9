//! What the transmitter serves on the metrics listener: its metadata (SSF 1.0 §7.1) at
//! `/.well-known/ssf-configuration`, the JWKS it names, one poll endpoint per poll receiver
//! (RFC 8936) and the stream verification endpoint (SSF 1.0 §8.1.4.2).

use super::keys::jwks;
use super::poll::PollAnswer;
use super::set::{PlannedSet, VERIFICATION};
use super::settings::Receiver;
use super::Shared;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub const JWKS_PATH: &str = "/ssf/jwks.json";
pub const VERIFY_PATH: &str = "/ssf/verify";
pub const POLL_PATH: &str = "/ssf/poll";
/// A poll without `returnImmediately` waits at most this long for a SET.
const LONG_POLL: Duration = Duration::from_secs(25);
/// The most SETs one poll answer holds (RFC 8936 leaves it to the transmitter).
const MAX_EVENTS: usize = 100;

pub(super) fn routes(s: Arc<Shared>) -> Router {
    let path = reqwest::Url::parse(&s.settings.issuer)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let mut r = Router::new()
        .route("/.well-known/ssf-configuration", get(metadata))
        .route(JWKS_PATH, get(keys))
        .route(VERIFY_PATH, post(verify))
        .route(&format!("{POLL_PATH}/{{receiver}}"), post(poll));
    if !path.is_empty() {
        // SSF 1.0 §7.2: an issuer with a path has its metadata at the well-known path + that path.
        r = r.route(
            &format!("/.well-known/ssf-configuration{path}"),
            get(metadata),
        );
    }
    r.with_state(s)
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// An RFC 8935 §2.3-style error answer.
fn error(status: StatusCode, err: &str, description: &str) -> Response {
    json_response(status, json!({"err": err, "description": description}))
}

async fn metadata(State(s): State<Arc<Shared>>) -> Response {
    let st = &s.settings;
    json_response(
        StatusCode::OK,
        json!({
            "spec_version": "1_0",
            "issuer": st.issuer,
            "jwks_uri": st.url(JWKS_PATH),
            "delivery_methods_supported": ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"],
            "verification_endpoint": st.url(VERIFY_PATH),
            "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
        }),
    )
}

async fn keys(State(s): State<Arc<Shared>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        jwks(&s.settings.keys).to_string(),
    )
        .into_response()
}

/// Whether the request carries `r`'s bearer token (compared in constant time).
fn authorized(r: &Receiver, headers: &HeaderMap) -> bool {
    let Some(token) = &r.token else { return false };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (a, b) = (given.as_bytes(), token.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request body as a JSON object (empty: `{}`); `None` when it is not one.
fn body_json(body: &Bytes) -> Option<Value> {
    if body.is_empty() {
        return Some(json!({}));
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "authentication_failed",
        "a valid bearer token is required",
    )
}

fn not_an_object() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the body is not a JSON object",
    )
}

async fn poll(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // An unknown stream is answered like a wrong token: which stream names exist is not told to
    // a caller without a token.
    let found = s.settings.receivers.get(&name).zip(s.polls.get(&name));
    let Some((_, queue)) = found.filter(|(r, _)| authorized(r, &headers)) else {
        return unauthorized();
    };
    let Some(req) = body_json(&body) else {
        return not_an_object();
    };
    let now = chrono::Utc::now();
    for jti in req["ack"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        queue.answer(jti, PollAnswer::Acked(now));
    }
    for (jti, e) in req["setErrs"].as_object().into_iter().flatten() {
        let err = e["err"].as_str().unwrap_or("unknown").to_string();
        let d: String = e["description"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        queue.answer(jti, PollAnswer::Error(err, d));
    }
    let max = match req.get("maxEvents").map(Value::as_u64) {
        None => MAX_EVENTS,
        Some(Some(n)) => (n as usize).min(MAX_EVENTS),
        Some(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "maxEvents is not a number",
            )
        }
    };
    let immediately = req["returnImmediately"].as_bool().unwrap_or(false);
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    let (sets, more) = loop {
        let notified = queue.notify.notified();
        let (sets, more) = if max == 0 {
            (Vec::new(), false)
        } else {
            queue.take(max)
        };
        if !sets.is_empty() || immediately || max == 0 {
            break (sets, more);
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => break (sets, more),
            _ = s.stop.cancelled() => break (sets, more),
        }
    };
    let sets: serde_json::Map<String, Value> = sets
        .into_iter()
        .map(|(j, t)| (j, Value::String(t)))
        .collect();
    json_response(StatusCode::OK, json!({"sets": sets, "moreAvailable": more}))
}

/// `POST /ssf/verify {"stream_id", "state"}` with the stream's bearer token: answered 204, then
/// a verification SET with that `state` is delivered to the stream.
async fn verify(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(req) = body_json(&body) else {
        return not_an_object();
    };
    // As for a poll: an unknown stream_id is answered like a wrong token.
    let Some(r) = req["stream_id"]
        .as_str()
        .and_then(|id| s.settings.receivers.get(id))
        .filter(|r| authorized(r, &headers))
    else {
        return unauthorized();
    };
    let mut event = json!({});
    if let Some(state) = req["state"].as_str() {
        event["state"] = json!(state.chars().take(256).collect::<String>());
    }
    let p = PlannedSet {
        receiver: r.name.clone(),
        jti: uuid::Uuid::new_v4().to_string(),
        event_type: VERIFICATION,
        event,
        sub_id: json!({"format": "opaque", "id": r.name}),
        aud: s.settings.plan_config[&r.name].aud.clone(),
        txn: None,
    };
    let name = r.name.clone();
    tokio::spawn(async move {
        let r = &s.settings.receivers[&name];
        let jws = s.sign(&p);
        match &r.push {
            Some(url) => {
                let last = std::sync::Mutex::new(String::new());
                match s.push(r, url, &p.jti, &jws, &last).await {
                    super::push::Pushed::Accepted => {
                        tracing::info!(receiver = %name, jti = %p.jti, "verification SET delivered")
                    }
                    super::push::Pushed::Refused(code, d) => {
                        tracing::warn!(receiver = %name, jti = %p.jti, err = %code, description = %d, "verification SET refused")
                    }
                    super::push::Pushed::Stopped(_) => {}
                }
            }
            None => {
                drop(s.polls[&name].offer(&p.jti, jws));
            }
        }
    });
    StatusCode::NO_CONTENT.into_response()
}

//! GitLab's wire conventions: timestamps, error bodies, status-only answers, ids and flags in
//! parameters, query strings and JSON or form bodies.

use super::*;

pub(super) fn now_s(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(super) fn secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    )
}

pub(super) fn msg(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

pub(super) fn not_found(what: &str) -> Response {
    msg(StatusCode::NOT_FOUND, &format!("404 {what} Not Found"))
}

pub(super) fn forbidden() -> Response {
    msg(StatusCode::FORBIDDEN, "403 Forbidden")
}

pub(super) fn unauthorized() -> Response {
    msg(StatusCode::UNAUTHORIZED, "401 Unauthorized")
}

pub(super) fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

pub(super) fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

pub(super) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(super) fn bad_request(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error })),
    )
        .into_response()
}

/// A decimal id in a path or parameter.
pub(super) fn id(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

pub(super) fn truthy(v: Option<&String>) -> Option<bool> {
    v.map(|s| s == "true" || s == "1")
}

pub(super) fn query_map(uri: &Uri) -> HashMap<String, String> {
    match uri.query() {
        None => HashMap::new(),
        Some(q) => reqwest::Url::parse(&format!("http://q/?{q}"))
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default(),
    }
}

/// A JSON or form body as string pairs.
pub(super) fn body_map(body: &Bytes) -> HashMap<String, String> {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
        return o
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect();
    }
    let text = String::from_utf8_lossy(body);
    reqwest::Url::parse(&format!("http://q/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

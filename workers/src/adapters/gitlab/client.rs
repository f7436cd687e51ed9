//! Requests to GitLab's REST API: one request (the token header) sent on the shared call path
//! (`http::send`), GitLab's error text (`Gitlab`), paginated lists, and the GET/DELETE shapes
//! that revoking and reading back tokens, keys and memberships share.

use super::objects::{access_level, num, token_active};
use super::GitlabTarget;
use crate::adapters::http::{self, Answer, Dialect};
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// Most pages followed on one list before giving up (a list that long is an error, not a truncation).
const MAX_PAGES: usize = 1000;

/// The next page of a list answer: the `Link: <…>; rel="next"` URL (only on `api`'s origin and
/// under its path), else `current` with `page` set to `X-Next-Page`, else none (last page).
pub fn next_page_url(current: &Url, headers: &HeaderMap, api: &Url) -> Result<Option<Url>, String> {
    for link in headers.get_all(reqwest::header::LINK) {
        let Ok(link) = link.to_str() else { continue };
        for part in link.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next().unwrap_or("").trim();
            let is_next = pieces.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| r.trim_matches('"'))
                    .is_some_and(|r| r.split_whitespace().any(|r| r == "next"))
            });
            if !is_next {
                continue;
            }
            let Some(raw) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                return Err(format!("malformed Link header entry {part:?}"));
            };
            let next = Url::parse(raw).map_err(|e| format!("Link rel=next {raw:?}: {e}"))?;
            if next.origin() != api.origin() || !next.path().starts_with(api.path()) {
                return Err(format!(
                    "refusing to follow a next-page link outside {api}: {next}"
                ));
            }
            if &next == current {
                return Err("the next-page link points at the same page".into());
            }
            return Ok(Some(next));
        }
    }
    let next_page = headers
        .get("x-next-page")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if next_page.is_empty() {
        return Ok(None);
    }
    let page: u64 =
        num(next_page).ok_or_else(|| format!("X-Next-Page {next_page:?} is not a page number"))?;
    let mut next = current.clone();
    let pairs: Vec<(String, String)> = current
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("page", &page.to_string());
    if &next == current {
        return Err("X-Next-Page names the same page".into());
    }
    Ok(Some(next))
}

/// GitLab's error text: `message` (string or object of field errors), else `error`, else a text body.
fn gitlab_message(body: &Value) -> String {
    let m = match (&body["message"], &body["error"], body) {
        (Value::String(s), _, _) => s.clone(),
        (m @ (Value::Object(_) | Value::Array(_)), _, _) => m.to_string(),
        (_, Value::String(s), _) => s.clone(),
        (_, _, Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    m.trim().chars().take(300).collect()
}

/// GitLab's answers: errors in `message` or `error`, or as a text body.
pub(super) struct Gitlab;

impl http::Dialect for Gitlab {
    const TEXT_ERRORS: bool = true;

    fn message(what: &str, status: StatusCode, body: &Value) -> String {
        let mut msg = format!("{what}: HTTP {}", status.as_u16());
        let text = gitlab_message(body);
        if !text.is_empty() {
            msg.push_str(&format!(" {text:?}"));
        }
        if matches!(status.as_u16(), 401 | 403) {
            msg.push_str(
                " — check the token's scopes (api, admin): it must be an administrator's token with the api scope",
            );
        }
        msg
    }
}

/// The error for a non-success answer, classified by status; says what was being done. A 429
/// (or a 503 with a hint) is `RateLimited`, carrying the pause the headers asked for.
pub fn error_for(
    what: &str,
    status: u16,
    body: &Value,
    retry_after: Option<Duration>,
) -> TargetError {
    let message = match StatusCode::from_u16(status) {
        Ok(s) => Gitlab::message(what, s, body),
        Err(_) => format!("{what}: HTTP {status}"),
    };
    http::status_error(status, message, retry_after)
}

impl GitlabTarget {
    /// `<api>/<segments…>` (`http::join`).
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        http::join(&self.api, segments)
    }

    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        what: &str,
    ) -> Result<Answer, TargetError> {
        let mut token = HeaderValue::from_str(self.token.expose()).map_err(|_| {
            TargetError::Permanent(format!(
                "{what}: the configured token is not a valid header value (check token_env/token_file)"
            ))
        })?;
        token.set_sensitive(true);
        let mut req = self
            .http
            .request(method, url)
            .header("PRIVATE-TOKEN", token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        http::send::<Gitlab>(req, &self.gate, what).await
    }

    /// One object: `Some(body)` on 2xx, `None` on 404, an error otherwise.
    pub(super) async fn get_opt(
        &self,
        segments: &[&str],
        what: &str,
    ) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(segments), None, what)
            .await?;
        match a.status {
            s if s.is_success() => Ok(Some(a.body)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(a.error::<Gitlab>(what)),
        }
    }

    /// A DELETE: `Revoked` (with the server's time) on 2xx, `AlreadyAbsent` on 404.
    pub(super) async fn delete(
        &self,
        segments: &[&str],
        what: &str,
    ) -> Result<RevokeResult, TargetError> {
        let a = self
            .call(Method::DELETE, self.url(segments), None, what)
            .await?;
        match a.status {
            s if s.is_success() => Ok(RevokeResult::Revoked {
                removed_at: a.date(),
            }),
            StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            _ => Err(a.error::<Gitlab>(what)),
        }
    }

    /// Every item of a paginated list. `Ok(None)` when the list's owner is gone (404) and
    /// `missing_ok`.
    pub(super) async fn list(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
        missing_ok: bool,
    ) -> Result<Option<Vec<Value>>, TargetError> {
        let mut url = self.url(segments);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
            q.append_pair("per_page", &self.per_page.to_string())
                .append_pair("page", "1");
        }
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let a = self.call(Method::GET, url.clone(), None, what).await?;
            if a.status == StatusCode::NOT_FOUND && missing_ok {
                return Ok(None);
            }
            if !a.status.is_success() {
                return Err(a.error::<Gitlab>(what));
            }
            let Value::Array(items) = a.body else {
                return Err(TargetError::Permanent(format!(
                    "{what}: expected a JSON array, got {}",
                    a.body.to_string().chars().take(200).collect::<String>()
                )));
            };
            out.extend(items);
            match next_page_url(&url, &a.headers, &self.api)
                .map_err(|e| TargetError::Permanent(format!("{what}: {e}")))?
            {
                Some(next) => url = next,
                None => return Ok(Some(out)),
            }
        }
        Err(TargetError::Permanent(format!(
            "{what}: more than {MAX_PAGES} pages; refusing to act on a partial list"
        )))
    }

    /// Revokes a personal or resource access token after reading it (inactive: already absent).
    pub(super) async fn revoke_token(
        &self,
        segments: &[&str],
        what: &str,
    ) -> Result<RevokeResult, TargetError> {
        match self.get_opt(segments, what).await? {
            None => return Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            Some(t) if !token_active(&t) => {
                return Ok(RevokeResult::AlreadyAbsent { removed_at: None })
            }
            Some(_) => {}
        }
        self.delete(segments, what).await
    }

    pub(super) async fn read_token(
        &self,
        segments: &[&str],
        what: &str,
    ) -> Result<ReadBack, TargetError> {
        Ok(match self.get_opt(segments, what).await? {
            None => ReadBack {
                gone: true,
                detail: format!("GET /{}: 404, token gone", segments.join("/")),
                removed_at: None,
            },
            Some(t) if !token_active(&t) => ReadBack {
                gone: true,
                detail: format!(
                    "GET /{}: active={}, revoked={}",
                    segments.join("/"),
                    t["active"],
                    t["revoked"]
                ),
                removed_at: None,
            },
            Some(_) => ReadBack {
                gone: false,
                detail: format!("GET /{}: token still active", segments.join("/")),
                removed_at: None,
            },
        })
    }

    pub(super) async fn read_absent(
        &self,
        segments: &[&str],
        what: &str,
        thing: &str,
    ) -> Result<ReadBack, TargetError> {
        let path = segments.join("/");
        Ok(match self.get_opt(segments, what).await? {
            None => ReadBack {
                gone: true,
                detail: format!("GET /{path}: 404, {thing} gone"),
                removed_at: None,
            },
            Some(v) => ReadBack {
                gone: false,
                detail: match access_level(&v["access_level"]) {
                    Some(l) => format!("GET /{path}: {thing} still present (access level {l})"),
                    None => format!("GET /{path}: {thing} still present"),
                },
                removed_at: None,
            },
        })
    }
}

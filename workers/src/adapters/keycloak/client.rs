//! Requests to Keycloak: the service account's access token (client credentials grant, cached
//! until shortly before it expires, fetched again once on a 401), one admin request sent on the
//! shared call path (`http::send`), Keycloak's error text (`Keycloak`), and the GET/PUT shapes
//! the adapter repeats.

use super::KeycloakTarget;
use crate::adapters::http::{self, Answer, Dialect};
use crate::adapters::TargetError;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, Url};
use revoke_shared::secret::Secret;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Clients read per page when listing them all.
const CLIENT_PAGE: usize = 100;
/// Most pages of clients read before giving up (a realm that large is an error, not a truncation).
const MAX_PAGES: usize = 1000;

/// An access token and when to stop using it.
pub(super) struct Cached {
    pub(super) token: Secret,
    pub(super) usable_until: Instant,
}

/// When a token obtained at `obtained` that lives `expires_in` seconds stops being used: 30 s
/// before it expires, or halfway through a life shorter than a minute (a request must not leave
/// with a token that dies on the way).
pub fn usable_until(obtained: Instant, expires_in: u64) -> Instant {
    let life = Duration::from_secs(expires_in);
    obtained + life - (life / 2).min(Duration::from_secs(30))
}

/// Whether a cached token may still be sent at `now`.
pub fn token_usable(cached: Option<Instant>, now: Instant) -> bool {
    cached.is_some_and(|until| now < until)
}

/// Keycloak's error text: `errorMessage` (admin API), else OAuth's `error_description` /
/// `error`, else a text body.
fn keycloak_message(body: &Value) -> String {
    let m = [
        &body["errorMessage"],
        &body["error_description"],
        &body["error"],
        body,
    ]
    .into_iter()
    .find_map(|v| v.as_str())
    .unwrap_or_default();
    m.trim().chars().take(300).collect()
}

/// Keycloak's answers.
pub(super) struct Keycloak;

impl Dialect for Keycloak {
    const TEXT_ERRORS: bool = true;

    fn message(what: &str, status: StatusCode, body: &Value) -> String {
        let mut msg = format!("{what}: HTTP {}", status.as_u16());
        let text = keycloak_message(body);
        if !text.is_empty() {
            msg.push_str(&format!(" {text:?}"));
        }
        match status.as_u16() {
            401 => msg.push_str(" — check client_id and the client secret (client_secret_env/_file), and that the client is confidential with service accounts enabled"),
            403 => msg.push_str(" — the client's service account needs the realm-management roles manage-users, view-users, query-users, view-clients and manage-clients (and view-events for the sign-in watch)"),
            _ => {}
        }
        msg
    }
}

impl KeycloakTarget {
    /// `<base>/admin/realms/<realm>/<segments…>` (`http::join`).
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        http::join(&self.admin, segments)
    }

    /// A fresh access token from the token endpoint (client credentials grant).
    async fn fetch_token(&self) -> Result<Cached, TargetError> {
        let what = format!(
            "getting an access token for client {:?} in realm {:?} on keycloak {}",
            self.client_id, self.realm, self.instance
        );
        let form = url_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &self.client_id),
            ("client_secret", self.client_secret.expose()),
        ]);
        let req = self
            .http
            .post(self.token_url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form);
        let obtained = Instant::now();
        let a = http::send::<Keycloak>(req, &self.gate, &what).await?;
        if !a.status.is_success() {
            // The token endpoint answers a bad secret with 401 and a disabled grant with 400.
            return Err(match a.status.as_u16() {
                400 | 401 => TargetError::Permanent(Keycloak::message(
                    &what,
                    StatusCode::UNAUTHORIZED,
                    &a.body,
                )),
                _ => a.error::<Keycloak>(&what),
            });
        }
        let (Some(token), Some(expires_in)) = (
            a.body["access_token"].as_str(),
            a.body["expires_in"].as_u64(),
        ) else {
            return Err(TargetError::Permanent(format!(
                "{what}: the answer has no access_token/expires_in"
            )));
        };
        Ok(Cached {
            token: Secret::new(token),
            usable_until: usable_until(obtained, expires_in),
        })
    }

    /// The cached token, fetched first when there is none usable (or `renew`).
    async fn bearer(&self, renew: bool) -> Result<HeaderValue, TargetError> {
        let mut cache = self.token.lock().await;
        let until = cache.as_ref().map(|c| c.usable_until);
        if renew || !token_usable(until, Instant::now()) {
            *cache = Some(self.fetch_token().await?);
        }
        let token = &cache.as_ref().expect("set above").token;
        let mut h = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
            TargetError::Permanent(
                "the access token Keycloak issued is not a valid header value".into(),
            )
        })?;
        h.set_sensitive(true);
        Ok(h)
    }

    /// One admin request with the service account's token; a 401 fetches a new token and sends
    /// the request once more (a token revoked or expired early).
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, TargetError> {
        let mut renew = false;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(reqwest::header::AUTHORIZATION, self.bearer(renew).await?)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let a = http::send::<Keycloak>(req, &self.gate, what).await?;
            if a.status == StatusCode::UNAUTHORIZED && !renew {
                renew = true;
                continue;
            }
            return Ok(a);
        }
    }

    /// One resource: `Some(body)` on 2xx, `None` on 404, an error otherwise.
    pub(super) async fn get_opt(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Option<Value>, TargetError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let a = self.call(Method::GET, url, None, what).await?;
        match a.status {
            s if s.is_success() => Ok(Some(a.body)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(a.error::<Keycloak>(what)),
        }
    }

    /// A list resource: its items; `None` on 404 (its owner is gone). Anything but an array is an
    /// error: an answer nobody can read is not "nothing held".
    pub(super) async fn get_list(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Option<Vec<Value>>, TargetError> {
        match self.get_opt(segments, query, what).await? {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(TargetError::Permanent(format!(
                "{what}: expected a JSON array, got {}",
                other.to_string().chars().take(200).collect::<String>()
            ))),
        }
    }

    /// PUTs `rep` back to `segments` (a representation read just before, one field changed).
    /// `None` when it is gone (404).
    pub(super) async fn put(
        &self,
        segments: &[&str],
        rep: &Value,
        what: &str,
    ) -> Result<Option<Answer>, TargetError> {
        let a = self
            .call(Method::PUT, self.url(segments), Some(rep), what)
            .await?;
        match a.status {
            s if s.is_success() => Ok(Some(a)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(a.error::<Keycloak>(what)),
        }
    }

    /// A DELETE: the answer on 2xx, `None` on 404 (already gone).
    pub(super) async fn delete(&self, url: Url, what: &str) -> Result<Option<Answer>, TargetError> {
        let a = self.call(Method::DELETE, url, None, what).await?;
        match a.status {
            s if s.is_success() => Ok(Some(a)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(a.error::<Keycloak>(what)),
        }
    }

    /// Every client of the realm, page by page (`first`/`max`): attribute search is refused by
    /// Keycloak, so sponsored clients are found by reading them all.
    pub(super) async fn all_clients(&self, what: &str) -> Result<Vec<Value>, TargetError> {
        let mut out = Vec::new();
        let max = CLIENT_PAGE.to_string();
        for page in 0..MAX_PAGES {
            let first = (page * CLIENT_PAGE).to_string();
            let items = self
                .get_list(&["clients"], &[("first", &first), ("max", &max)], what)
                .await?
                .ok_or_else(|| {
                    TargetError::Permanent(format!("{what}: HTTP 404 (is the realm right?)"))
                })?;
            let n = items.len();
            out.extend(items);
            if n < CLIENT_PAGE {
                return Ok(out);
            }
        }
        Err(TargetError::Permanent(format!(
            "{what}: more than {MAX_PAGES} pages of clients; refusing to act on a partial list"
        )))
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn url_form(pairs: &[(&str, &str)]) -> String {
    let mut u = Url::parse("http://form.invalid/").expect("a valid URL");
    u.query_pairs_mut().extend_pairs(pairs);
    u.query().unwrap_or_default().to_string()
}

#[cfg(test)]
pub(super) fn form_for_test(pairs: &[(&str, &str)]) -> String {
    url_form(pairs)
}

#[cfg(test)]
pub(super) fn message_for_test(status: u16, body: &Value) -> String {
    Keycloak::message("doing", StatusCode::from_u16(status).unwrap(), body)
}

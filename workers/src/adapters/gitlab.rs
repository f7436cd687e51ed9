//! The `cicd` target: GitLab over its REST API v4 (`reqwest`, header `PRIVATE-TOKEN`).
//!
//! - Lookup (admin token): `GET /users?username=<u>` (exact but case-insensitive on GitLab),
//!   `GET /users?search=<email>` or `GET /users?extern_uid=<id>&provider=<p>`, with the value
//!   URL-encoded as a query parameter. Every returned user is re-checked client-side, so a server
//!   that searches fuzzily (GitLab's `search=` does) cannot cause a wrong match. None → nothing
//!   held (already absent); several → `Ambiguous` (a person decides). Identities GitLab's username
//!   rules cannot match (`*`, `a*`, `../`, `"`, `x)(uid=*`) are never sent at all. The revoker's
//!   own user is never revoked.
//! - Holdings, in revocation order:
//!   - `personal_access_token` `personal_access_tokens/<id>` — `GET /personal_access_tokens?user_id=
//!     &state=active` (GitLab ≥ 15.5; tokens of other users the server may return are dropped),
//!     revoked with `DELETE /personal_access_tokens/:id`. Irreversible.
//!   - `ssh_key` `users/<uid>/keys/<id>` — `GET /users/:id/keys`, `DELETE /users/:id/keys/:key_id`.
//!     Irreversible (the key material is not kept).
//!   - sponsored: `project_access_token` / `group_access_token` `projects/<pid>/access_tokens/<id>`,
//!     and `deploy_token` `projects/<pid>/deploy_tokens/<id>` (or `groups/…`), revoked/deleted.
//!     Irreversible.
//!   - `group_membership` / `project_membership` `groups/<gid>/members/<uid>@<access_level>` —
//!     `GET /users/:id/memberships` (direct memberships), `DELETE /groups/:id/members/:user_id`.
//!     Restored with `POST /groups/:id/members` at the recorded access level. GitLab refuses to
//!     remove a group's last Owner (403): that object is `manual_required` (hand the group over).
//!   - `account` `users/<uid>` — `POST /users/:id/block` (unless `block = false`); already blocked
//!     is already absent. Restored with `POST /users/:id/unblock`.
//! - Verify: `GET` each object back: token inactive/revoked or 404, key/member 404, user `state`
//!   blocked (`blocked`, `ldap_blocked`, `banned`, `blocked_pending_approval`).
//! - Times: GitLab's write answers carry no removal time in their body, so `removed_at` is the
//!   server's own `Date` header of the answer that revoked the object.
//!
//! **Sponsored credentials — what GitLab exposes.** Project/group access tokens belong to bot users
//! and deploy tokens to a project or group; neither API names the person who created them (the
//! bot's membership is added without `created_by`, and deploy tokens have no creator field; the
//! creator is only in audit events, a Premium feature, and the application log). So sponsorship is
//! a naming convention: a token is the person's when its name or description contains the word
//! `<sponsor_marker><username>` (default `owner:ada`), matched exactly (case-insensitive). The
//! adapter looks for such tokens in every project and group where the person is a direct member
//! with at least the Maintainer role (40) — only they can create them. Tokens that do not follow
//! the convention, or live where the person no longer holds Maintainer, are not found.
//!
//! HTTP: list endpoints are followed page by page (`Link: rel="next"` on the same origin, else
//! `X-Next-Page`), at most 1000 pages, `per_page` at most 100. 429 (and 503 with `Retry-After`)
//! is `RateLimited` carrying the pause `Retry-After` / `RateLimit-Reset` asked for; 5xx are `Transient`; 401/403 `Permanent` with a hint about the token's
//! scopes; 404 on a delete is already absent. The token is only ever sent in the `PRIVATE-TOKEN`
//! header (marked sensitive) and never formatted.
//!
//! Config, `[targets.cicd]`:
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `base_url` | required | e.g. `https://gitlab.example.com` (`/api/v4` is appended) |
//! | `token_env` / `token_file` | one required | an administrator's personal access token, scope `api` |
//! | `match_attribute` | `username` | `username` \| `email` \| `extern_uid` (the identity's employee id) |
//! | `extern_uid_provider` | `ldapmain` | the identity provider name for `extern_uid` lookups |
//! | `block` | `true` | block the account after removing its credentials and memberships |
//! | `sponsor_marker` | `owner:` | prefix naming a sponsor in token names/descriptions; `""` turns sponsored discovery off |
//! | `principal` | the token owner's username (`GET /user`) | actor recorded in evidence |
//! | `timeout_ms` | `10000` | per HTTP request |
//! | `per_page` | `100` | page size for list endpoints (1–100) |
//!
//! ```toml
//! [targets.cicd]
//! base_url = "https://gitlab.example.com"
//! token_env = "REVOKE_GITLAB_TOKEN"        # or token_file = "/run/secrets/gitlab-token"
//! match_attribute = "username"
//! block = true
//! sponsor_marker = "owner:"
//! timeout_ms = 10000
//! per_page = 100
//! ```

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use revoke_shared::secret::Secret;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

const KNOWN_KEYS: &[&str] = &[
    "base_url",
    "token_env",
    "token_file",
    "match_attribute",
    "extern_uid_provider",
    "block",
    "sponsor_marker",
    "principal",
    "timeout_ms",
    "per_page",
];

/// Most pages followed on one list before giving up (a list that long is an error, not a truncation).
const MAX_PAGES: usize = 1000;
/// GitLab's Maintainer role: the least that can create access and deploy tokens.
const MAINTAINER: u32 = 40;
/// The access levels GitLab defines (Minimal access, Guest, Planner, Reporter, Developer,
/// Maintainer, Owner): a restore re-adds a membership only at one of them.
const ACCESS_LEVELS: &[u32] = &[5, 10, 15, 20, 30, 40, 50];
/// User states in which the account cannot sign in or use its tokens.
const BLOCKED_STATES: &[&str] = &[
    "blocked",
    "ldap_blocked",
    "banned",
    "blocked_pending_approval",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttribute {
    Username,
    Email,
    ExternUid,
}

impl MatchAttribute {
    fn parse(s: &str) -> Option<MatchAttribute> {
        match s {
            "username" => Some(MatchAttribute::Username),
            "email" => Some(MatchAttribute::Email),
            "extern_uid" => Some(MatchAttribute::ExternUid),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            MatchAttribute::Username => "username",
            MatchAttribute::Email => "email",
            MatchAttribute::ExternUid => "extern_uid",
        }
    }
}

/// Where a membership or a resource token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Group,
    Project,
}

impl Source {
    fn path(self) -> &'static str {
        match self {
            Source::Group => "groups",
            Source::Project => "projects",
        }
    }

    fn from_path(s: &str) -> Option<Source> {
        match s {
            "groups" => Some(Source::Group),
            "projects" => Some(Source::Project),
            _ => None,
        }
    }

    /// `source_type` of `GET /users/:id/memberships`.
    fn from_membership_type(s: &str) -> Option<Source> {
        match s {
            "Namespace" => Some(Source::Group),
            "Project" => Some(Source::Project),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Source::Group => "group",
            Source::Project => "project",
        }
    }
}

/// One object the adapter revokes, as named in evidence. Every id is a number the server gave,
/// so an object id parses back to exactly one API path and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    PersonalAccessToken {
        id: u64,
    },
    SshKey {
        user: u64,
        key: u64,
    },
    Membership {
        source: Source,
        source_id: u64,
        user: u64,
        access_level: u32,
    },
    Account {
        user: u64,
    },
    AccessToken {
        source: Source,
        source_id: u64,
        token: u64,
    },
    DeployToken {
        source: Source,
        source_id: u64,
        token: u64,
    },
}

/// A decimal number without sign or padding tricks (`u64::from_str` also takes `+5`).
fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::PersonalAccessToken { .. } => "personal_access_token",
            Object::SshKey { .. } => "ssh_key",
            Object::Membership {
                source: Source::Group,
                ..
            } => "group_membership",
            Object::Membership {
                source: Source::Project,
                ..
            } => "project_membership",
            Object::Account { .. } => "account",
            Object::AccessToken {
                source: Source::Group,
                ..
            } => "group_access_token",
            Object::AccessToken {
                source: Source::Project,
                ..
            } => "project_access_token",
            Object::DeployToken { .. } => "deploy_token",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Object::PersonalAccessToken { id } => format!("personal_access_tokens/{id}"),
            Object::SshKey { user, key } => format!("users/{user}/keys/{key}"),
            Object::Membership {
                source,
                source_id,
                user,
                access_level,
            } => format!(
                "{}/{source_id}/members/{user}@{access_level}",
                source.path()
            ),
            Object::Account { user } => format!("users/{user}"),
            Object::AccessToken {
                source,
                source_id,
                token,
            } => format!("{}/{source_id}/access_tokens/{token}", source.path()),
            Object::DeployToken {
                source,
                source_id,
                token,
            } => format!("{}/{source_id}/deploy_tokens/{token}", source.path()),
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Object::PersonalAccessToken { .. } | Object::AccessToken { .. } => "revoke",
            Object::SshKey { .. } | Object::DeployToken { .. } => "delete",
            Object::Membership { .. } => "remove_membership",
            Object::Account { .. } => "block",
        }
    }

    pub fn sponsored(&self) -> bool {
        matches!(
            self,
            Object::AccessToken { .. } | Object::DeployToken { .. }
        )
    }

    fn holding(&self) -> Holding {
        Holding {
            object_kind: self.kind().into(),
            object_id: self.id(),
            sponsored: self.sponsored(),
            action: self.action().into(),
        }
    }

    /// The object an evidence/holding (`object_kind`, `object_id`) names, if it is well-formed.
    pub fn parse(kind: &str, id: &str) -> Option<Object> {
        let parts: Vec<&str> = id.split('/').collect();
        let obj = match parts.as_slice() {
            ["personal_access_tokens", t] => Object::PersonalAccessToken { id: num(t)? },
            ["users", u, "keys", k] => Object::SshKey {
                user: num(u)?,
                key: num(k)?,
            },
            ["users", u] => Object::Account { user: num(u)? },
            [src, sid, "members", member] => {
                let (u, level) = member.split_once('@')?;
                Object::Membership {
                    source: Source::from_path(src)?,
                    source_id: num(sid)?,
                    user: num(u)?,
                    access_level: num(level)?,
                }
            }
            [src, sid, "access_tokens", t] => Object::AccessToken {
                source: Source::from_path(src)?,
                source_id: num(sid)?,
                token: num(t)?,
            },
            [src, sid, "deploy_tokens", t] => Object::DeployToken {
                source: Source::from_path(src)?,
                source_id: num(sid)?,
                token: num(t)?,
            },
            _ => return None,
        };
        (obj.kind() == kind).then_some(obj)
    }
}

/// Whether `s` can be a GitLab username: letters, digits, `_`, `-`, `.`; not starting with `-`,
/// not ending with `.`, `.git` or `.atom`. Anything else names no GitLab user and is never sent.
pub fn gitlab_username_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !s.starts_with('-')
        && !s.ends_with('.')
        && !s.ends_with(".git")
        && !s.ends_with(".atom")
}

fn email_ok(s: &str) -> bool {
    s.len() <= 254
        && s.split('@').count() == 2
        && s.split('@').all(|p| !p.is_empty())
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// True when `text` (a token's name or description) contains the word `<marker><username>`,
/// case-insensitively; words end at whitespace and `,;()[]"'`, and a trailing `.` is ignored
/// (usernames cannot end with one). `owner:ada` names ada, never adam or ada.l.
pub fn names_sponsor(text: &str, marker: &str, username: &str) -> bool {
    if marker.is_empty() || username.is_empty() {
        return false;
    }
    let want = format!("{marker}{username}").to_lowercase();
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '"' | '\'')
    })
    .map(|w| w.trim_end_matches('.'))
    .any(|w| w.to_lowercase() == want)
}

/// `access_level` as GitLab sends it: a number (the entity) or a numeric string (the docs).
pub fn access_level(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => num(s),
        _ => None,
    }
}

/// A token as the personal/resource access token entities show it: usable only when
/// `active` (not revoked, not expired).
fn token_active(t: &Value) -> bool {
    t["active"].as_bool() == Some(true) && t["revoked"].as_bool() != Some(true)
}

fn deploy_token_active(t: &Value) -> bool {
    t["revoked"].as_bool() != Some(true) && t["expired"].as_bool() != Some(true)
}

fn blocked(user: &Value) -> bool {
    user["state"]
        .as_str()
        .is_some_and(|s| BLOCKED_STATES.contains(&s))
}

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

/// The error for a non-success answer, classified by status; says what was being done. A 429
/// (or a 503 with a hint) is `RateLimited`, carrying the pause the headers asked for.
pub fn error_for(
    what: &str,
    status: u16,
    body: &Value,
    retry_after: Option<Duration>,
) -> TargetError {
    let mut msg = format!("{what}: HTTP {status}");
    let text = gitlab_message(body);
    if !text.is_empty() {
        msg.push_str(&format!(" {text:?}"));
    }
    if revoke_shared::ratelimit::is_rate_limited(status, retry_after) {
        return TargetError::rate_limited(msg, retry_after);
    }
    match status {
        401 | 403 => msg.push_str(
            " — check the token's scopes (api, admin): it must be an administrator's token with the api scope",
        ),
        _ => {}
    }
    match classify_http_status(status) {
        ErrorClass::Transient => TargetError::Transient(msg),
        ErrorClass::Permanent => TargetError::Permanent(msg),
        ErrorClass::Ambiguous => TargetError::Ambiguous(msg),
    }
}

/// A server answer: status, JSON body (`Null` when empty; a text body as a string), headers.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl Answer {
    /// The server's own clock at the answer (`Date` header).
    fn date(&self) -> Option<DateTime<Utc>> {
        self.headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// The pause the answer's `Retry-After` / `RateLimit-*` headers ask for.
    fn retry_after(&self) -> Option<Duration> {
        super::limit::header_hint(&self.headers, self.status.as_u16())
    }

    fn error(&self, what: &str) -> TargetError {
        error_for(what, self.status.as_u16(), &self.body, self.retry_after())
    }
}

pub struct GitlabTarget {
    instance: String,
    /// `<base_url>/api/v4`.
    api: Url,
    token: Secret,
    match_attribute: MatchAttribute,
    extern_uid_provider: String,
    block: bool,
    sponsor_marker: String,
    per_page: u32,
    http: reqwest::Client,
    /// Configured principal, or the token owner's username read by `resolve_principal`.
    principal: OnceLock<String>,
    fallback_principal: String,
    /// The token owner's user id: never revoked.
    self_id: OnceLock<u64>,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

impl std::fmt::Debug for GitlabTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabTarget")
            .field("instance", &self.instance)
            .field("api", &self.api.as_str())
            .field("token", &self.token)
            .field("match_attribute", &self.match_attribute)
            .field("block", &self.block)
            .field("sponsor_marker", &self.sponsor_marker)
            .field("per_page", &self.per_page)
            .field("principal", &self.principal.get())
            .finish()
    }
}

impl GitlabTarget {
    /// Reads a `[targets.cicd]` table (see the module docs); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<GitlabTarget, String> {
        let t = super::AdapterTable::new(table, TargetKind::Cicd, KNOWN_KEYS)?;
        let base_url = t
            .str("base_url")?
            .ok_or("[targets.cicd] base_url is required (e.g. \"https://gitlab.example.com\")")?;
        let mut api = Url::parse(base_url)
            .map_err(|e| format!("[targets.cicd] base_url {base_url:?}: {e}"))?;
        if !matches!(api.scheme(), "http" | "https")
            || api.cannot_be_a_base()
            || api.query().is_some()
            || api.fragment().is_some()
        {
            return Err(format!(
                "[targets.cicd] base_url must be an http(s) URL without query, got {base_url:?}"
            ));
        }
        {
            let mut p = api.path_segments_mut().expect("checked to be a base");
            p.pop_if_empty();
        }
        if !api.path().ends_with("/api/v4") {
            api.path_segments_mut()
                .expect("checked to be a base")
                .extend(["api", "v4"]);
        }
        let token = t.token()?;
        let match_attribute = match t.str("match_attribute")? {
            None => MatchAttribute::Username,
            Some(s) => MatchAttribute::parse(s).ok_or_else(|| {
                format!(
                    "[targets.cicd] match_attribute {s:?}: expected username, email or extern_uid"
                )
            })?,
        };
        let extern_uid_provider = t
            .str("extern_uid_provider")?
            .unwrap_or("ldapmain")
            .to_string();
        if extern_uid_provider.is_empty() {
            return Err("[targets.cicd] extern_uid_provider must not be empty".into());
        }
        let block = match table.get("block") {
            None => true,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => return Err("[targets.cicd] block must be true or false".into()),
        };
        let sponsor_marker = t.str("sponsor_marker")?.unwrap_or("owner:").to_string();
        if sponsor_marker
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "[targets.cicd] sponsor_marker {sponsor_marker:?} must not contain spaces"
            ));
        }
        let timeout_ms = match table.get("timeout_ms") {
            None => 10_000,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(_) => return Err("[targets.cicd] timeout_ms must be a positive integer".into()),
        };
        let per_page =
            match table.get("per_page") {
                None => 100,
                Some(toml::Value::Integer(n)) if (1..=100).contains(n) => *n as u32,
                Some(_) => return Err(
                    "[targets.cicd] per_page must be an integer from 1 to 100 (GitLab's maximum)"
                        .into(),
                ),
            };
        let http = super::http::client(
            Duration::from_millis(timeout_ms),
            Duration::from_millis(timeout_ms.min(5_000)),
        )
        .map_err(|e| format!("[targets.cicd] building the HTTP client: {e}"))?;
        let principal = OnceLock::new();
        if let Some(p) = t.str("principal")? {
            let _ = principal.set(p.to_string());
        }
        Ok(GitlabTarget {
            instance: instance.to_string(),
            api,
            token,
            match_attribute,
            extern_uid_provider,
            block,
            sponsor_marker,
            per_page,
            http,
            principal,
            fallback_principal: format!("gitlab:{instance}"),
            self_id: OnceLock::new(),
            gate: None,
        })
    }

    /// Sends every request through `gate` (the table's rate limit) and reports 429s to it.
    pub fn with_gate(mut self, gate: Option<std::sync::Arc<super::limit::RateGate>>) -> Self {
        self.gate = gate;
        self
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }

    /// Reads the token's own user (`GET /user`): records its id (never revoked) and, unless
    /// `principal` is configured, its username as the principal. Refuses a non-administrator's
    /// token (memberships and blocking need one). `discover` calls it; call it once after
    /// `from_table` to check the token and record the principal before the first case.
    pub async fn resolve_principal(&self) -> Result<&str, TargetError> {
        if self.self_id.get().is_none() {
            let what = format!(
                "reading the revoker's own user (GET /user) on gitlab {}",
                self.instance
            );
            let a = self
                .call(Method::GET, self.url(&["user"]), None, &what)
                .await?;
            if !a.status.is_success() {
                return Err(a.error(&what));
            }
            let (Some(id), Some(username)) = (a.body["id"].as_u64(), a.body["username"].as_str())
            else {
                return Err(TargetError::Permanent(format!(
                    "{what}: the answer names no user id/username"
                )));
            };
            if a.body["is_admin"].as_bool() != Some(true) {
                return Err(TargetError::Permanent(format!(
                    "{what}: the token's user {username:?} is not an administrator — listing memberships and other users' tokens and blocking need an administrator's token with the api scope"
                )));
            }
            let _ = self.principal.set(username.to_string());
            let _ = self.self_id.set(id);
        }
        Ok(self.principal())
    }

    /// `<api>/<segments…>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        url.path_segments_mut()
            .expect("base_url checked to be a base")
            .extend(segments);
        url
    }

    async fn call(
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
        let pass = super::limit::pass(&self.gate).await;
        // reqwest's errors name the URL (ids and query, never the token, which is only a header).
        let resp = req.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            TargetError::Transient(format!("{what}: {kind}: {}", e.without_url()))
        })?;
        let status = resp.status();
        if let Some(e) = super::http::redirect_error(what, status, resp.headers()) {
            // Still counted by the limiter: the request was sent.
            if let (Some(g), Some(p)) = (&self.gate, &pass) {
                g.observe_http(p, status.as_u16(), None);
            }
            return Err(e);
        }
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| {
            TargetError::Transient(format!("{what}: reading the answer: {}", e.without_url()))
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&bytes).chars().take(300).collect())
            })
        };
        let a = Answer {
            status,
            body,
            headers,
        };
        let hint = a.retry_after();
        if let (Some(g), Some(p)) = (&self.gate, &pass) {
            g.observe_http(p, status.as_u16(), hint);
        }
        // A rate limit is never an answer a caller interprets (not even where 404 is).
        if revoke_shared::ratelimit::is_rate_limited(status.as_u16(), hint) {
            return Err(a.error(what));
        }
        Ok(a)
    }

    /// One object: `Some(body)` on 2xx, `None` on 404, an error otherwise.
    async fn get_opt(&self, segments: &[&str], what: &str) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(segments), None, what)
            .await?;
        match a.status {
            s if s.is_success() => Ok(Some(a.body)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(a.error(what)),
        }
    }

    /// A DELETE: `Revoked` (with the server's time) on 2xx, `AlreadyAbsent` on 404.
    async fn delete(&self, segments: &[&str], what: &str) -> Result<RevokeResult, TargetError> {
        let a = self
            .call(Method::DELETE, self.url(segments), None, what)
            .await?;
        match a.status {
            s if s.is_success() => Ok(RevokeResult::Revoked {
                removed_at: a.date(),
            }),
            StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            _ => Err(a.error(what)),
        }
    }

    /// Every item of a paginated list. `Ok(None)` when the list's owner is gone (404) and
    /// `missing_ok`.
    async fn list(
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
                return Err(a.error(what));
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

    /// The identity's value for the configured attribute, and whether GitLab could hold it at
    /// all (`None`: nothing can match, nothing is sent).
    fn lookup_value<'a>(&self, who: &'a Identity) -> Result<Option<&'a str>, TargetError> {
        let v = match self.match_attribute {
            MatchAttribute::Username => who.username.as_deref(),
            MatchAttribute::Email => who.email.as_deref(),
            MatchAttribute::ExternUid => Some(who.employee_id.as_str()),
        };
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            return Err(TargetError::Permanent(format!(
                "identity {} has no {} to look up on gitlab {} (match_attribute)",
                who.employee_id,
                self.match_attribute.name(),
                self.instance
            )));
        };
        let usable = match self.match_attribute {
            MatchAttribute::Username => gitlab_username_ok(v),
            MatchAttribute::Email => email_ok(v),
            MatchAttribute::ExternUid => !v.chars().any(char::is_control),
        };
        Ok(usable.then_some(v))
    }

    /// Whether a user record really is the one `value` names (the server's filter is not trusted).
    fn record_matches(&self, user: &Value, value: &str) -> bool {
        match self.match_attribute {
            // GitLab usernames are unique case-insensitively.
            MatchAttribute::Username => user["username"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(value)),
            MatchAttribute::Email => user["email"]
                .as_str()
                .is_some_and(|e| e.to_lowercase() == value.to_lowercase()),
            MatchAttribute::ExternUid => user["identities"].as_array().is_some_and(|ids| {
                ids.iter().any(|i| {
                    i["provider"].as_str() == Some(self.extern_uid_provider.as_str())
                        && i["extern_uid"]
                            .as_str()
                            .is_some_and(|x| x.to_lowercase() == value.to_lowercase())
                })
            }),
        }
    }

    /// The one user the identity names; `None` when there is none.
    async fn find_user(&self, who: &Identity) -> Result<Option<Value>, TargetError> {
        let Some(value) = self.lookup_value(who)? else {
            return Ok(None);
        };
        let what = format!(
            "looking up {} by {} on gitlab {}",
            who.employee_id,
            self.match_attribute.name(),
            self.instance
        );
        let query: Vec<(&str, &str)> = match self.match_attribute {
            MatchAttribute::Username => vec![("username", value)],
            MatchAttribute::Email => vec![("search", value)],
            MatchAttribute::ExternUid => vec![
                ("extern_uid", value),
                ("provider", self.extern_uid_provider.as_str()),
            ],
        };
        let users = self
            .list(&["users"], &query, &what, false)
            .await?
            .unwrap_or_default();
        let mut found: Vec<Value> = users
            .into_iter()
            .filter(|u| self.record_matches(u, value))
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => {
                let u = found.remove(0);
                if u["id"].as_u64().is_none() {
                    return Err(TargetError::Ambiguous(format!(
                        "{what}: the matching user has no numeric id"
                    )));
                }
                Ok(Some(u))
            }
            n => Err(TargetError::Ambiguous(format!(
                "{what}: {n} users match (ids {}); a person must decide which one to revoke",
                found
                    .iter()
                    .map(|u| u["id"].to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Access and deploy tokens in one project/group that name `username` as their sponsor.
    async fn sponsored_in(
        &self,
        source: Source,
        source_id: u64,
        username: &str,
        out: &mut Vec<Object>,
    ) -> Result<(), TargetError> {
        let sid = source_id.to_string();
        let what = format!(
            "listing the access tokens of {} {sid} on gitlab {}",
            source.word(),
            self.instance
        );
        let tokens = self
            .list(
                &[source.path(), &sid, "access_tokens"],
                &[("state", "active")],
                &what,
                true,
            )
            .await?
            .unwrap_or_default();
        for t in tokens {
            let text = format!(
                "{} {}",
                t["name"].as_str().unwrap_or(""),
                t["description"].as_str().unwrap_or("")
            );
            if let Some(id) = t["id"].as_u64() {
                if token_active(&t) && names_sponsor(&text, &self.sponsor_marker, username) {
                    out.push(Object::AccessToken {
                        source,
                        source_id,
                        token: id,
                    });
                }
            }
        }
        let what = format!(
            "listing the deploy tokens of {} {sid} on gitlab {}",
            source.word(),
            self.instance
        );
        let tokens = self
            .list(
                &[source.path(), &sid, "deploy_tokens"],
                &[("active", "true")],
                &what,
                true,
            )
            .await?
            .unwrap_or_default();
        for t in tokens {
            if let (Some(id), Some(name)) = (t["id"].as_u64(), t["name"].as_str()) {
                if deploy_token_active(&t) && names_sponsor(name, &self.sponsor_marker, username) {
                    out.push(Object::DeployToken {
                        source,
                        source_id,
                        token: id,
                    });
                }
            }
        }
        Ok(())
    }

    fn refuse_self(&self, user: u64, doing: &str) -> Result<(), TargetError> {
        if self.self_id.get() == Some(&user) {
            return Err(TargetError::Permanent(format!(
                "refusing to {doing} GitLab user {user} on {}: it is the revoker's own user",
                self.instance
            )));
        }
        Ok(())
    }

    /// Revokes a personal or resource access token after reading it (inactive: already absent).
    async fn revoke_token(
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

    async fn read_token(&self, segments: &[&str], what: &str) -> Result<ReadBack, TargetError> {
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

    async fn read_absent(
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

    /// `None` when `user` is the GitLab user `who` resolves to now; otherwise the answer to give
    /// instead of restoring: `Refused` (another user, or `who` matches nobody while `user`
    /// exists), or `Irreversible` when `user` no longer exists at all.
    async fn not_owned(
        &self,
        who: &Identity,
        user: u64,
    ) -> Result<Option<RestoreResult>, TargetError> {
        let resolved = self.find_user(who).await?.and_then(|u| u["id"].as_u64());
        if resolved == Some(user) {
            return Ok(None);
        }
        let u = user.to_string();
        let what = format!(
            "checking whose GitLab user {u} is on {} before restoring",
            self.instance
        );
        if resolved.is_none() && self.get_opt(&["users", &u], &what).await?.is_none() {
            return Ok(Some(RestoreResult::Irreversible {
                reason: format!(
                    "GitLab user {u} no longer exists on {}; re-create it",
                    self.instance
                ),
            }));
        }
        Ok(Some(RestoreResult::Refused {
            reason: format!(
                "GitLab user {u} is not {}'s user on {} ({}): nothing unblocked or re-added",
                who.employee_id,
                self.instance,
                match resolved {
                    Some(id) =>
                        format!("the {} lookup finds user {id}", self.match_attribute.name()),
                    None => format!(
                        "no user matches the identity's {}",
                        self.match_attribute.name()
                    ),
                }
            ),
        }))
    }

    async fn restore_account(&self, user: u64) -> Result<RestoreResult, TargetError> {
        let u = user.to_string();
        let what = format!("unblocking GitLab user {u} on {}", self.instance);
        let Some(record) = self.get_opt(&["users", &u], &what).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!(
                    "GitLab user {u} no longer exists on {}; re-create it",
                    self.instance
                ),
            });
        };
        if !blocked(&record) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let a = self
            .call(
                Method::POST,
                self.url(&["users", &u, "unblock"]),
                None,
                &what,
            )
            .await?;
        match a.status {
            s if s.is_success() => Ok(RestoreResult::Restored {
                restored_at: a.date(),
            }),
            StatusCode::NOT_FOUND => Ok(RestoreResult::Irreversible {
                reason: format!("GitLab user {u} no longer exists on {}", self.instance),
            }),
            _ => Err(a.error(&what)),
        }
    }

    async fn restore_membership(
        &self,
        source: Source,
        source_id: u64,
        user: u64,
        level: u32,
    ) -> Result<RestoreResult, TargetError> {
        let (sid, u) = (source_id.to_string(), user.to_string());
        let what = format!(
            "adding GitLab user {u} back to {} {sid} at access level {level} on {}",
            source.word(),
            self.instance
        );
        if self
            .get_opt(&[source.path(), &sid, "members", &u], &what)
            .await?
            .is_some()
        {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let a = self
            .call(
                Method::POST,
                self.url(&[source.path(), &sid, "members"]),
                Some(json!({ "user_id": user, "access_level": level })),
                &what,
            )
            .await?;
        match a.status {
            s if s.is_success() => Ok(RestoreResult::Restored {
                restored_at: a.date(),
            }),
            StatusCode::CONFLICT => Ok(RestoreResult::AlreadyPresent),
            StatusCode::NOT_FOUND => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "{} {sid} or user {u} no longer exists on gitlab {}",
                    source.word(),
                    self.instance
                ),
            }),
            _ => Err(a.error(&what)),
        }
    }
}

fn malformed(kind: &str, id: &str) -> TargetError {
    TargetError::Permanent(format!(
        "malformed gitlab object {kind:?} {id:?} (expected an id this adapter recorded)"
    ))
}

#[async_trait]
impl Target for GitlabTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Cicd
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        self.principal
            .get()
            .map(String::as_str)
            .unwrap_or(&self.fallback_principal)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.resolve_principal().await?;
        let Some(user) = self.find_user(who).await? else {
            return Ok(Vec::new());
        };
        let uid = user["id"].as_u64().unwrap_or_default();
        self.refuse_self(uid, "revoke")?;
        let username = user["username"].as_str().unwrap_or_default().to_string();
        let u = uid.to_string();
        let mut objects = Vec::new();

        let what = format!(
            "listing the personal access tokens of GitLab user {u} on {}",
            self.instance
        );
        for t in self
            .list(
                &["personal_access_tokens"],
                &[("user_id", &u), ("state", "active")],
                &what,
                false,
            )
            .await?
            .unwrap_or_default()
        {
            // A server that ignores `user_id` must not make us revoke someone else's token.
            if t["user_id"].as_u64() == Some(uid) && token_active(&t) {
                if let Some(id) = t["id"].as_u64() {
                    objects.push(Object::PersonalAccessToken { id });
                }
            }
        }

        let what = format!(
            "listing the SSH keys of GitLab user {u} on {}",
            self.instance
        );
        for k in self
            .list(&["users", &u, "keys"], &[], &what, false)
            .await?
            .unwrap_or_default()
        {
            if let Some(key) = k["id"].as_u64() {
                objects.push(Object::SshKey { user: uid, key });
            }
        }

        let what = format!(
            "listing the memberships of GitLab user {u} on {}",
            self.instance
        );
        let mut memberships = Vec::new();
        for m in self
            .list(&["users", &u, "memberships"], &[], &what, false)
            .await?
            .unwrap_or_default()
        {
            let source = m["source_type"]
                .as_str()
                .and_then(Source::from_membership_type);
            match (
                source,
                m["source_id"].as_u64(),
                access_level(&m["access_level"]),
            ) {
                (Some(source), Some(source_id), Some(level)) => {
                    memberships.push(Object::Membership {
                        source,
                        source_id,
                        user: uid,
                        access_level: level,
                    })
                }
                _ => {
                    return Err(TargetError::Ambiguous(format!(
                        "{what}: a membership this adapter cannot name: {m}"
                    )))
                }
            }
        }

        if !self.sponsor_marker.is_empty() {
            let sources: BTreeSet<(Source, u64)> = memberships
                .iter()
                .filter_map(|m| match m {
                    Object::Membership {
                        source,
                        source_id,
                        access_level,
                        ..
                    } if *access_level >= MAINTAINER => Some((*source, *source_id)),
                    _ => None,
                })
                .collect();
            for (source, source_id) in sources {
                self.sponsored_in(source, source_id, &username, &mut objects)
                    .await?;
            }
        }
        objects.extend(memberships);
        if self.block {
            objects.push(Object::Account { user: uid });
        }
        Ok(objects.iter().map(Object::holding).collect())
    }

    async fn revoke(&self, _who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        let obj = Object::parse(&what.object_kind, &what.object_id)
            .ok_or_else(|| malformed(&what.object_kind, &what.object_id))?;
        let doing = format!(
            "{} {} {} on gitlab {}",
            obj.action(),
            obj.kind(),
            obj.id(),
            self.instance
        );
        match &obj {
            Object::PersonalAccessToken { id } => {
                self.revoke_token(&["personal_access_tokens", &id.to_string()], &doing)
                    .await
            }
            Object::AccessToken {
                source,
                source_id,
                token,
            } => {
                self.revoke_token(
                    &[
                        source.path(),
                        &source_id.to_string(),
                        "access_tokens",
                        &token.to_string(),
                    ],
                    &doing,
                )
                .await
            }
            Object::SshKey { user, key } => {
                self.delete(
                    &["users", &user.to_string(), "keys", &key.to_string()],
                    &doing,
                )
                .await
            }
            Object::DeployToken {
                source,
                source_id,
                token,
            } => {
                self.delete(
                    &[
                        source.path(),
                        &source_id.to_string(),
                        "deploy_tokens",
                        &token.to_string(),
                    ],
                    &doing,
                )
                .await
            }
            Object::Membership {
                source,
                source_id,
                user,
                access_level,
            } => {
                let segs = [
                    source.path(),
                    &source_id.to_string(),
                    "members",
                    &user.to_string(),
                ];
                let a = self
                    .call(Method::DELETE, self.url(&segs), None, &doing)
                    .await?;
                match a.status {
                    s if s.is_success() => Ok(RevokeResult::Revoked {
                        removed_at: a.date(),
                    }),
                    StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    // GitLab never removes a group's last Owner, not even for an administrator.
                    StatusCode::FORBIDDEN if *source == Source::Group && *access_level >= 50 => {
                        Err(TargetError::Ambiguous(format!(
                            "{doing}: HTTP 403 — GitLab refuses to remove the last Owner of group {source_id}; a person must hand the group to another Owner, then re-run (the account is still blocked)"
                        )))
                    }
                    _ => Err(a.error(&doing)),
                }
            }
            Object::Account { user } => {
                self.refuse_self(*user, "block")?;
                let u = user.to_string();
                match self.get_opt(&["users", &u], &doing).await? {
                    None => return Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    Some(r) if blocked(&r) => {
                        return Ok(RevokeResult::AlreadyAbsent { removed_at: None })
                    }
                    Some(_) => {}
                }
                let a = self
                    .call(
                        Method::POST,
                        self.url(&["users", &u, "block"]),
                        None,
                        &doing,
                    )
                    .await?;
                match a.status {
                    // GitLab answers `true` when it blocked now and `null` when already blocked.
                    s if s.is_success() && a.body == Value::Bool(true) => {
                        Ok(RevokeResult::Revoked {
                            removed_at: a.date(),
                        })
                    }
                    s if s.is_success() => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    _ => Err(a.error(&doing)),
                }
            }
        }
    }

    async fn verify(&self, _who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        let obj = Object::parse(&what.object_kind, &what.object_id)
            .ok_or_else(|| malformed(&what.object_kind, &what.object_id))?;
        let doing = format!(
            "reading back {} {} on gitlab {}",
            obj.kind(),
            obj.id(),
            self.instance
        );
        match &obj {
            Object::PersonalAccessToken { id } => {
                self.read_token(&["personal_access_tokens", &id.to_string()], &doing)
                    .await
            }
            Object::AccessToken {
                source,
                source_id,
                token,
            } => {
                self.read_token(
                    &[
                        source.path(),
                        &source_id.to_string(),
                        "access_tokens",
                        &token.to_string(),
                    ],
                    &doing,
                )
                .await
            }
            Object::SshKey { user, key } => {
                self.read_absent(
                    &["users", &user.to_string(), "keys", &key.to_string()],
                    &doing,
                    "key",
                )
                .await
            }
            Object::DeployToken {
                source,
                source_id,
                token,
            } => {
                let segs = [
                    source.path(),
                    &source_id.to_string(),
                    "deploy_tokens",
                    &token.to_string(),
                ];
                Ok(match self.get_opt(&segs, &doing).await? {
                    None => ReadBack {
                        gone: true,
                        detail: format!("GET /{}: 404, deploy token gone", segs.join("/")),
                        removed_at: None,
                    },
                    Some(t) => ReadBack {
                        gone: !deploy_token_active(&t),
                        detail: format!(
                            "GET /{}: revoked={}, expired={}",
                            segs.join("/"),
                            t["revoked"],
                            t["expired"]
                        ),
                        removed_at: None,
                    },
                })
            }
            Object::Membership {
                source,
                source_id,
                user,
                ..
            } => {
                self.read_absent(
                    &[
                        source.path(),
                        &source_id.to_string(),
                        "members",
                        &user.to_string(),
                    ],
                    &doing,
                    "membership",
                )
                .await
            }
            Object::Account { user } => {
                let u = user.to_string();
                Ok(match self.get_opt(&["users", &u], &doing).await? {
                    None => ReadBack {
                        gone: true,
                        detail: format!("GET /users/{u}: 404, user deleted"),
                        removed_at: None,
                    },
                    Some(r) => ReadBack {
                        gone: blocked(&r),
                        detail: format!("GET /users/{u}: state={}", r["state"]),
                        removed_at: None,
                    },
                })
            }
        }
    }

    /// Unblocks the account and re-adds memberships at their recorded access level. Revoked
    /// tokens and deleted keys cannot come back: the person (or sponsor) issues new ones.
    /// A restore is a grant and its evidence may be forged: only the user `who` resolves to now
    /// (the exact lookup discovery uses) is unblocked or re-added, at a level GitLab defines.
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        let Some(obj) = Object::parse(&ev.object_kind, &ev.object_id) else {
            return Ok(RestoreResult::Irreversible {
                reason: format!(
                    "gitlab {} cannot undo {} of {} {:?}: not an object it records",
                    self.instance, ev.action, ev.object_kind, ev.object_id
                ),
            });
        };
        match (&obj, ev.action.as_str()) {
            (Object::Account { user }, "block") => {
                if let Some(refusal) = self.not_owned(who, *user).await? {
                    return Ok(refusal);
                }
                self.restore_account(*user).await
            }
            (
                Object::Membership {
                    source,
                    source_id,
                    user,
                    access_level,
                },
                "remove_membership",
            ) => {
                if !ACCESS_LEVELS.contains(access_level) {
                    return Ok(RestoreResult::Refused {
                        reason: format!(
                            "{} {}: access level {access_level} is not one GitLab defines; nothing re-added",
                            obj.kind(),
                            obj.id()
                        ),
                    });
                }
                if let Some(refusal) = self.not_owned(who, *user).await? {
                    return Ok(refusal);
                }
                self.restore_membership(*source, *source_id, *user, *access_level)
                    .await
            }
            (Object::PersonalAccessToken { .. } | Object::AccessToken { .. }, _) => {
                Ok(RestoreResult::Irreversible {
                    reason: format!(
                        "{} {} was revoked on gitlab {}; a revoked token cannot be revived, issue a new one",
                        obj.kind(),
                        obj.id(),
                        self.instance
                    ),
                })
            }
            (Object::SshKey { .. } | Object::DeployToken { .. }, _) => {
                Ok(RestoreResult::Irreversible {
                    reason: format!(
                        "{} {} was deleted on gitlab {}; its secret is not kept, add a new one",
                        obj.kind(),
                        obj.id(),
                        self.instance
                    ),
                })
            }
            (_, action) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "gitlab {} cannot undo {action} of {}",
                    self.instance,
                    obj.kind()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn usernames_gitlab_cannot_hold_are_refused() {
        for bad in [
            "*", "a*", "ada*", "../", "../bob", "\"", "x)(uid=*", "", ".", "..", "-ada", "ada.",
            "ada.git", "ada.atom", "a b", "ada/..", "ada%2F", "ad\u{e9}",
        ] {
            assert!(!gitlab_username_ok(bad), "{bad:?}");
        }
        for good in ["ada", "a", "ada.lovelace", "ada-l_1", "_ada", ".ada", "Ada"] {
            assert!(gitlab_username_ok(good), "{good:?}");
        }
        assert!(email_ok("ada@example.com"));
        for bad in ["ada", "a@b@c", "@x", "x@", "a b@c", "a\n@c"] {
            assert!(!email_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn object_ids_round_trip_and_refuse_anything_else() {
        let all = [
            Object::PersonalAccessToken { id: 7 },
            Object::SshKey { user: 3, key: 9 },
            Object::Membership {
                source: Source::Group,
                source_id: 4,
                user: 3,
                access_level: 30,
            },
            Object::Membership {
                source: Source::Project,
                source_id: 5,
                user: 3,
                access_level: 40,
            },
            Object::Account { user: 3 },
            Object::AccessToken {
                source: Source::Project,
                source_id: 5,
                token: 11,
            },
            Object::AccessToken {
                source: Source::Group,
                source_id: 4,
                token: 12,
            },
            Object::DeployToken {
                source: Source::Group,
                source_id: 4,
                token: 2,
            },
        ];
        for o in &all {
            assert_eq!(Object::parse(o.kind(), &o.id()).as_ref(), Some(o), "{o:?}");
        }
        assert_eq!(
            Object::Membership {
                source: Source::Group,
                source_id: 4,
                user: 3,
                access_level: 30
            }
            .id(),
            "groups/4/members/3@30"
        );
        assert!(Object::parse("account", "personal_access_tokens/7").is_none());
        for bad in [
            "users/../5",
            "users/+5",
            "users/5/",
            "users/5/keys/",
            "users/-1",
            "users/5x",
            "groups/4/members/3",
            "groups/4/members/3@",
            "teams/4/members/3@30",
            "personal_access_tokens/7/../8",
            "",
        ] {
            for kind in [
                "account",
                "ssh_key",
                "group_membership",
                "personal_access_token",
            ] {
                assert!(Object::parse(kind, bad).is_none(), "{kind} {bad:?}");
            }
        }
        assert_eq!(Object::Account { user: 3 }.action(), "block");
        assert!(Object::DeployToken {
            source: Source::Project,
            source_id: 1,
            token: 1
        }
        .sponsored());
        assert!(!Object::PersonalAccessToken { id: 1 }.sponsored());
    }

    #[test]
    fn sponsors_are_named_exactly() {
        assert!(names_sponsor("ci bot (owner:ada)", "owner:", "ada"));
        assert!(names_sponsor("deploy, OWNER:Ada.", "owner:", "ada"));
        assert!(names_sponsor("owner:ada.l", "owner:", "ada.l"));
        assert!(!names_sponsor("owner:adam", "owner:", "ada"));
        assert!(!names_sponsor("owner:ada.l", "owner:", "ada"));
        assert!(!names_sponsor("xowner:ada", "owner:", "ada"));
        assert!(!names_sponsor("owner: ada", "owner:", "ada"));
        assert!(!names_sponsor("owner:ada", "", "ada"));
        assert!(!names_sponsor("owner:", "owner:", ""));
    }

    #[test]
    fn access_levels_parse_as_number_or_string() {
        assert_eq!(access_level(&json!(30)), Some(30));
        assert_eq!(access_level(&json!("20")), Some(20));
        assert_eq!(access_level(&json!("x")), None);
        assert_eq!(access_level(&json!(-1)), None);
        assert_eq!(access_level(&Value::Null), None);
    }

    #[test]
    fn statuses_are_classified_with_hints() {
        let seven = Some(Duration::from_secs(7));
        let e = error_for("listing", 429, &json!("Retry later"), seven);
        assert!(
            matches!(&e, TargetError::RateLimited { message, retry_after }
                if message.contains("Retry-After 7.0 s") && message.contains("429") && *retry_after == seven),
            "{e}"
        );
        assert_eq!(e.class(), ErrorClass::Transient);
        let e = error_for("listing", 429, &Value::Null, None);
        assert!(
            matches!(&e, TargetError::RateLimited { message, retry_after: None } if message.contains("no Retry-After")),
            "{e}"
        );
        // A 503 that says when to come back is a rate limit; one that does not is an outage.
        assert!(matches!(
            error_for("listing", 503, &Value::Null, seven),
            TargetError::RateLimited { .. }
        ));
        assert!(matches!(
            error_for("listing", 503, &Value::Null, None),
            TargetError::Transient(_)
        ));
        let e = error_for("blocking", 403, &json!({"message": "403 Forbidden"}), None);
        assert!(
            matches!(&e, TargetError::Permanent(m) if m.contains("scopes (api, admin)") && m.contains("403 Forbidden")),
            "{e}"
        );
        let e = error_for("x", 401, &json!({"message": "401 Unauthorized"}), None);
        assert!(
            matches!(&e, TargetError::Permanent(m) if m.contains("scopes")),
            "{e}"
        );
        assert!(matches!(
            error_for("x", 502, &Value::Null, None),
            TargetError::Transient(_)
        ));
        assert!(
            matches!(error_for("x", 400, &json!({"message": {"access_level": ["is invalid"]}}), None), TargetError::Permanent(m) if m.contains("access_level"))
        );
        assert!(matches!(
            error_for("x", 409, &Value::Null, None),
            TargetError::Ambiguous(_)
        ));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn pages_follow_link_or_x_next_page_and_stay_on_the_api() {
        let api = Url::parse("https://gl.example.com/api/v4").unwrap();
        let cur =
            Url::parse("https://gl.example.com/api/v4/users/3/keys?per_page=2&page=1").unwrap();
        let link = r#"<https://gl.example.com/api/v4/users/3/keys?page=2&per_page=2>; rel="next", <https://gl.example.com/api/v4/users/3/keys?page=1&per_page=2>; rel="first""#;
        assert_eq!(
            next_page_url(
                &cur,
                &headers(&[("link", link), ("x-next-page", "9")]),
                &api
            )
            .unwrap()
            .unwrap()
            .as_str(),
            "https://gl.example.com/api/v4/users/3/keys?page=2&per_page=2"
        );
        assert_eq!(
            next_page_url(&cur, &headers(&[("x-next-page", "2")]), &api)
                .unwrap()
                .unwrap()
                .as_str(),
            "https://gl.example.com/api/v4/users/3/keys?per_page=2&page=2"
        );
        assert_eq!(
            next_page_url(&cur, &headers(&[("x-next-page", "")]), &api),
            Ok(None)
        );
        assert_eq!(next_page_url(&cur, &headers(&[]), &api), Ok(None));
        let last = r#"<https://gl.example.com/api/v4/users/3/keys?page=1&per_page=2>; rel="first""#;
        assert_eq!(
            next_page_url(&cur, &headers(&[("link", last)]), &api),
            Ok(None)
        );
        let evil = r#"<https://evil.example.com/api/v4/users?page=2>; rel="next""#;
        assert!(next_page_url(&cur, &headers(&[("link", evil)]), &api).is_err());
        let outside = r#"<https://gl.example.com/other?page=2>; rel="next""#;
        assert!(next_page_url(&cur, &headers(&[("link", outside)]), &api).is_err());
        assert!(next_page_url(&cur, &headers(&[("x-next-page", "1")]), &api).is_err());
        assert!(next_page_url(&cur, &headers(&[("x-next-page", "two")]), &api).is_err());
    }

    #[test]
    fn config_parses_and_rejects() {
        std::env::set_var("REVOKE_GITLAB_UNIT_TOKEN", "glpat-secret-value");
        let t = GitlabTarget::from_table(
            &table(
                "base_url = \"https://gl.example.com/\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"",
            ),
            "main",
        )
        .unwrap();
        assert_eq!(t.api.as_str(), "https://gl.example.com/api/v4");
        assert_eq!(t.match_attribute(), MatchAttribute::Username);
        assert!(t.block);
        assert_eq!(t.per_page, 100);
        assert_eq!(t.sponsor_marker, "owner:");
        assert_eq!(t.extern_uid_provider, "ldapmain");
        assert_eq!(t.principal(), "gitlab:main");
        assert_eq!(
            t.url(&["users", "5", "keys"]).as_str(),
            "https://gl.example.com/api/v4/users/5/keys"
        );
        assert_eq!(
            t.url(&["users", "../x"]).as_str(),
            "https://gl.example.com/api/v4/users/..%2Fx"
        );
        assert!(!format!("{t:?}").contains("glpat-secret-value"));
        let t = GitlabTarget::from_table(
            &table("base_url = \"http://h:8080/gitlab/api/v4\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nmatch_attribute = \"extern_uid\"\nextern_uid_provider = \"saml\"\nblock = false\nper_page = 5\nsponsor_marker = \"\"\nprincipal = \"revoker\""),
            "main",
        )
        .unwrap();
        assert_eq!(t.api.as_str(), "http://h:8080/gitlab/api/v4");
        assert_eq!(t.match_attribute(), MatchAttribute::ExternUid);
        assert!(!t.block && t.per_page == 5 && t.sponsor_marker.is_empty());
        assert_eq!(t.principal(), "revoker");
        let bad = |s: &str| {
            GitlabTarget::from_table(&table(s), "main").expect_err("config must be refused")
        };
        assert!(bad("token_env = \"REVOKE_GITLAB_UNIT_TOKEN\"").contains("base_url"));
        assert!(bad("base_url = \"http://h\"\ntoken = \"inline\"").contains("unknown key"));
        assert!(
            bad("base_url = \"ftp://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"")
                .contains("http")
        );
        assert!(bad(
            "base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nper_page = 500"
        )
        .contains("per_page"));
        assert!(bad("base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nmatch_attribute = \"name\"").contains("match_attribute"));
        assert!(bad(
            "base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nblock = \"yes\""
        )
        .contains("block"));
        let e = bad("base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNSET_VAR\"");
        assert!(
            e.contains("REVOKE_GITLAB_UNSET_VAR") && !e.contains("secret-value"),
            "{e}"
        );
    }

    #[test]
    fn records_are_rechecked_client_side() {
        std::env::set_var("REVOKE_GITLAB_UNIT_TOKEN2", "t");
        let mk = |extra: &str| {
            GitlabTarget::from_table(
                &table(&format!(
                    "base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN2\"\n{extra}"
                )),
                "main",
            )
            .unwrap()
        };
        let by_name = mk("");
        assert!(by_name.record_matches(&json!({"username": "Ada"}), "ada"));
        assert!(!by_name.record_matches(&json!({"username": "adam"}), "ada"));
        assert!(!by_name.record_matches(&json!({"name": "ada"}), "ada"));
        let by_mail = mk("match_attribute = \"email\"");
        assert!(by_mail.record_matches(&json!({"email": "Ada@Example.com"}), "ada@example.com"));
        assert!(!by_mail.record_matches(&json!({"email": "xada@example.com"}), "ada@example.com"));
        let by_uid = mk("match_attribute = \"extern_uid\"");
        let u = json!({"identities": [{"provider": "ldapmain", "extern_uid": "E1"}, {"provider": "saml", "extern_uid": "E2"}]});
        assert!(by_uid.record_matches(&u, "E1"));
        assert!(
            !by_uid.record_matches(&u, "E2"),
            "another provider's uid is not ours"
        );
        assert!(
            blocked(&json!({"state": "blocked"})) && blocked(&json!({"state": "ldap_blocked"}))
        );
        assert!(!blocked(&json!({"state": "active"})) && !blocked(&json!({})));
        assert!(token_active(&json!({"active": true, "revoked": false})));
        assert!(!token_active(&json!({"active": true, "revoked": true})));
        assert!(!token_active(&json!({"active": false, "revoked": false})));
    }
}

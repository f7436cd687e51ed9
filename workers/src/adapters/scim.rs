//! SaaS target over SCIM 2.0 (RFC 7643 / RFC 7644), spoken with `reqwest`.
//!
//! - Lookup: `GET /Users?filter=<attr> eq "<value>"` with the value escaped per RFC 7644 §3.4.2.2
//!   (backslash and double quote escaped, control characters refused) and URL-encoded. Exactly one
//!   match proceeds; none means already absent; several are `Ambiguous` (a person decides). Every
//!   returned record is re-checked client-side, so a server that ignores the filter is caught.
//! - Holdings: the account (`deactivate` or `delete` by policy) and every group membership
//!   (`GET /Groups?filter=members.value eq "<id>"`, else a scan of all Groups pages).
//! - Revoke: `PATCH /Users/{id}` `active=false` or `DELETE /Users/{id}`; group memberships with
//!   `PATCH /Groups/{gid}` `remove members[value eq "<id>"]`. Idempotent: already inactive, deleted
//!   or not a member is `AlreadyAbsent` without a write.
//! - Verify: read the user / group back.
//!
//! Config `[targets.saas]`:
//! ```toml
//! [targets.saas]
//! base_url = "https://scim.example.com/v2"   # required
//! token_env = "REVOKE_SCIM_TOKEN"            # or token_file = "/run/secrets/scim-token"
//! match_attribute = "userName"               # userName (default) | emails | externalId
//! policy = "deactivate"                      # deactivate (default) | delete
//! principal = "scim-client"                  # actor recorded in evidence
//! timeout_ms = 10000                         # per HTTP request
//! ```

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, Url};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use revoke_shared::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";
/// Page size and page limit when scanning Groups (servers without `members.value` filtering).
const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttribute {
    UserName,
    Emails,
    ExternalId,
}

impl MatchAttribute {
    fn parse(s: &str) -> Option<MatchAttribute> {
        match s {
            "userName" | "username" => Some(MatchAttribute::UserName),
            "emails" | "email" => Some(MatchAttribute::Emails),
            "externalId" | "external_id" => Some(MatchAttribute::ExternalId),
            _ => None,
        }
    }

    /// The filter's attribute path.
    fn filter_path(self) -> &'static str {
        match self {
            MatchAttribute::UserName => "userName",
            MatchAttribute::Emails => "emails.value",
            MatchAttribute::ExternalId => "externalId",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountPolicy {
    Deactivate,
    Delete,
}

impl AccountPolicy {
    fn action(self) -> &'static str {
        match self {
            AccountPolicy::Deactivate => "deactivate",
            AccountPolicy::Delete => "delete",
        }
    }
}

pub struct ScimTarget {
    instance: String,
    principal: String,
    base: Url,
    token: Secret,
    match_attribute: MatchAttribute,
    policy: AccountPolicy,
    http: reqwest::Client,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

impl std::fmt::Debug for ScimTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimTarget")
            .field("instance", &self.instance)
            .field("principal", &self.principal)
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .field("match_attribute", &self.match_attribute)
            .field("policy", &self.policy)
            .finish()
    }
}

/// Escapes a value for a double-quoted SCIM filter string (RFC 7644 §3.4.2.2, JSON string rules):
/// backslash and double quote are escaped; control characters are refused.
pub fn escape_filter_value(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => return Err("the value contains a control character".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `<attr> eq "<escaped value>"`.
pub fn eq_filter(attr_path: &str, value: &str) -> Result<String, String> {
    Ok(format!(
        "{attr_path} eq \"{}\"",
        escape_filter_value(value)?
    ))
}

/// Object id of a group membership: `Groups/<gid>/members/<uid>`, with `%` and `/` in the ids
/// escaped so the id splits back unambiguously.
fn membership_id(gid: &str, uid: &str) -> String {
    format!("Groups/{}/members/{}", enc_part(gid), enc_part(uid))
}

fn enc_part(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

fn dec_part(s: &str) -> String {
    s.replace("%2F", "/").replace("%25", "%")
}

fn parse_membership_id(object_id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = object_id.split('/').collect();
    match parts.as_slice() {
        ["Groups", gid, "members", uid] if !gid.is_empty() && !uid.is_empty() => {
            Some((dec_part(gid), dec_part(uid)))
        }
        _ => None,
    }
}

fn last_modified(resource: &Value) -> Option<DateTime<Utc>> {
    resource
        .pointer("/meta/lastModified")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `active` is optional in RFC 7643; a user without it is taken as active.
fn is_active(user: &Value) -> bool {
    match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

fn has_member(group: &Value, uid: &str) -> bool {
    group
        .get("members")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter()
                .any(|m| m.get("value").and_then(Value::as_str) == Some(uid))
        })
}

fn resources(list: &Value) -> Vec<Value> {
    list.get("Resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A server answer as `status` and parsed JSON body (`Null` when empty or not JSON).
struct Answer {
    status: StatusCode,
    body: Value,
}

fn error_for(what: &str, status: StatusCode, body: &Value) -> TargetError {
    let msg = message_for(what, status, body);
    match classify_http_status(status.as_u16()) {
        ErrorClass::Transient => TargetError::Transient(msg),
        ErrorClass::Permanent => TargetError::Permanent(msg),
        ErrorClass::Ambiguous => TargetError::Ambiguous(msg),
    }
}

/// What was being done, the status, and the server's SCIM error detail.
fn message_for(what: &str, status: StatusCode, body: &Value) -> String {
    let detail = body.get("detail").and_then(Value::as_str).unwrap_or("");
    let scim_type = body.get("scimType").and_then(Value::as_str).unwrap_or("");
    let mut msg = format!("{what}: HTTP {}", status.as_u16());
    if !scim_type.is_empty() {
        msg.push_str(&format!(" ({scim_type})"));
    }
    if !detail.is_empty() {
        let d: String = detail.chars().take(300).collect();
        msg.push_str(&format!(": {d}"));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        msg.push_str(" — check the SCIM token's validity and scopes");
    }
    msg
}

impl ScimTarget {
    /// Reads a `[targets.saas]` table (see the module docs); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<ScimTarget, String> {
        const KNOWN: &[&str] = &[
            "base_url",
            "token_env",
            "token_file",
            "match_attribute",
            "policy",
            "principal",
            "timeout_ms",
        ];
        let t = super::AdapterTable::new(table, TargetKind::Saas, KNOWN)?;
        let base_url = t
            .str("base_url")?
            .ok_or("[targets.saas] base_url is required")?;
        let base = Url::parse(base_url)
            .map_err(|e| format!("[targets.saas] base_url {base_url:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!(
                "[targets.saas] base_url must be an http(s) URL, got {base_url:?}"
            ));
        }
        let token = t.token()?;
        let match_attribute = match t.str("match_attribute")? {
            None => MatchAttribute::UserName,
            Some(s) => MatchAttribute::parse(&s).ok_or_else(|| {
                format!("targets.{instance}.match_attribute {s:?}: expected userName, emails or externalId")
            })?,
        };
        let policy = match t.str("policy")? {
            None | Some("deactivate") => AccountPolicy::Deactivate,
            Some("delete") => AccountPolicy::Delete,
            Some(other) => {
                return Err(format!(
                    "targets.{instance}.policy {other:?}: expected deactivate or delete"
                ))
            }
        };
        let principal = t.str("principal")?.unwrap_or("scim-client").to_string();
        let timeout_ms = match table.get("timeout_ms") {
            None => 10_000,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(_) => {
                return Err(format!(
                    "targets.{instance}.timeout_ms must be a positive integer"
                ))
            }
        };
        let http = super::http::client(
            Duration::from_millis(timeout_ms),
            Duration::from_millis(timeout_ms.min(5_000)),
        )
        .map_err(|e| format!("targets.{instance}: building the HTTP client: {e}"))?;
        Ok(ScimTarget {
            instance: instance.to_string(),
            principal,
            base,
            token,
            match_attribute,
            policy,
            http,
            gate: None,
        })
    }

    /// Sends every request through `gate` (the table's rate limit) and reports 429s to it.
    pub fn with_gate(mut self, gate: Option<std::sync::Arc<super::limit::RateGate>>) -> Self {
        self.gate = gate;
        self
    }

    pub fn policy(&self) -> AccountPolicy {
        self.policy
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }

    /// `base/<segments…>`, each segment percent-encoded (ids never escape the path).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        {
            let mut p = url
                .path_segments_mut()
                .expect("base_url checked to be a base");
            p.pop_if_empty();
            for s in segments {
                p.push(s);
            }
        }
        url
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        what: &str,
    ) -> Result<Answer, TargetError> {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header(
                reqwest::header::ACCEPT,
                "application/scim+json, application/json",
            );
        if let Some(b) = body {
            let bytes = serde_json::to_vec(&b)
                .map_err(|e| TargetError::Permanent(format!("{what}: encoding: {e}")))?;
            req = req
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(bytes);
        }
        let pass = super::limit::pass(&self.gate).await;
        // reqwest's errors name the URL (never the token, which is only in a header).
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
        let hint = super::limit::header_hint(resp.headers(), status.as_u16());
        if let (Some(g), Some(p)) = (&self.gate, &pass) {
            g.observe_http(p, status.as_u16(), hint);
        }
        if let Some(e) = super::http::redirect_error(what, status, resp.headers()) {
            return Err(e);
        }
        let bytes = resp.bytes().await.map_err(|e| {
            TargetError::Transient(format!("{what}: reading the answer: {}", e.without_url()))
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        // A rate limit is never an answer a caller interprets (not even where 404 or 400 is).
        if revoke_shared::ratelimit::is_rate_limited(status.as_u16(), hint) {
            return Err(TargetError::rate_limited(
                message_for(what, status, &body),
                hint,
            ));
        }
        Ok(Answer { status, body })
    }

    /// Errors unless 2xx; returns the body.
    fn ok(what: &str, a: Answer) -> Result<Value, TargetError> {
        if a.status.is_success() {
            Ok(a.body)
        } else {
            Err(error_for(what, a.status, &a.body))
        }
    }

    /// The identity's value for the configured attribute.
    fn lookup_value<'a>(&self, who: &'a Identity) -> Result<&'a str, TargetError> {
        let v = match self.match_attribute {
            MatchAttribute::UserName => who.username.as_deref(),
            MatchAttribute::Emails => who.email.as_deref(),
            MatchAttribute::ExternalId => Some(who.employee_id.as_str()),
        };
        match v {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(TargetError::Permanent(format!(
                "identity {} has no {} to look up on SCIM target {} (match_attribute)",
                who.employee_id,
                self.match_attribute.filter_path(),
                self.instance
            ))),
        }
    }

    fn record_matches(&self, user: &Value, value: &str) -> bool {
        match self.match_attribute {
            // userName and emails are caseExact=false in RFC 7643.
            MatchAttribute::UserName => user
                .get("userName")
                .and_then(Value::as_str)
                .is_some_and(|u| u.to_lowercase() == value.to_lowercase()),
            MatchAttribute::Emails => {
                user.get("emails")
                    .and_then(Value::as_array)
                    .is_some_and(|es| {
                        es.iter().any(|e| {
                            e.get("value")
                                .and_then(Value::as_str)
                                .is_some_and(|v| v.to_lowercase() == value.to_lowercase())
                        })
                    })
            }
            MatchAttribute::ExternalId => {
                user.get("externalId").and_then(Value::as_str) == Some(value)
            }
        }
    }

    /// The one user matching the identity; `None` when there is none.
    async fn find_user(&self, who: &Identity) -> Result<Option<Value>, TargetError> {
        let value = self.lookup_value(who)?;
        let filter = eq_filter(self.match_attribute.filter_path(), value).map_err(|e| {
            TargetError::Permanent(format!(
                "identity {}: cannot look it up on {}: {e}",
                who.employee_id, self.instance
            ))
        })?;
        let mut url = self.url(&["Users"]);
        url.query_pairs_mut()
            .append_pair("filter", &filter)
            .append_pair("count", "10");
        let what = format!(
            "looking up {} on SCIM target {}",
            who.employee_id, self.instance
        );
        let list = Self::ok(&what, self.call(Method::GET, url, None, &what).await?)?;
        let found = resources(&list);
        let total = list
            .get("totalResults")
            .and_then(Value::as_u64)
            .unwrap_or(found.len() as u64);
        if found.iter().any(|u| !self.record_matches(u, value)) {
            return Err(TargetError::Ambiguous(format!(
                "{what}: the server returned users that do not match {filter:?}; it may not honour filters"
            )));
        }
        if total > 1 || found.len() > 1 {
            return Err(TargetError::Ambiguous(format!(
                "{what}: {} users match {}; a person must decide which one to revoke",
                total.max(found.len() as u64),
                self.match_attribute.filter_path()
            )));
        }
        match found.into_iter().next() {
            None if total == 0 => Ok(None),
            None => Err(TargetError::Ambiguous(format!(
                "{what}: totalResults {total} but no resource returned"
            ))),
            Some(u) => {
                if u.get("id")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(TargetError::Ambiguous(format!(
                        "{what}: the matching user has no id"
                    )));
                }
                Ok(Some(u))
            }
        }
    }

    /// Ids of the groups listing `uid` as a member.
    async fn groups_of(&self, uid: &str) -> Result<Vec<String>, TargetError> {
        let what = format!("listing the groups of SCIM user {uid} on {}", self.instance);
        let filter = eq_filter("members.value", uid)
            .map_err(|e| TargetError::Permanent(format!("{what}: {e}")))?;
        let mut out = Vec::new();
        let mut start = 1usize;
        let mut filtered = true;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["Groups"]);
            {
                let mut q = url.query_pairs_mut();
                if filtered {
                    q.append_pair("filter", &filter);
                }
                q.append_pair("startIndex", &start.to_string())
                    .append_pair("count", &PAGE_SIZE.to_string());
            }
            let a = self.call(Method::GET, url, None, &what).await?;
            if filtered && matches!(a.status.as_u16(), 400 | 403 | 501) {
                // No filtering on members: scan every group instead.
                filtered = false;
                start = 1;
                out.clear();
                continue;
            }
            let list = Self::ok(&what, a)?;
            let page = resources(&list);
            for g in &page {
                if has_member(g, uid) {
                    if let Some(gid) = g.get("id").and_then(Value::as_str) {
                        if !out.iter().any(|x| x == gid) {
                            out.push(gid.to_string());
                        }
                    }
                }
            }
            let total = list
                .get("totalResults")
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize;
            start += page.len();
            if page.is_empty() || start > total {
                return Ok(out);
            }
        }
        Err(TargetError::Permanent(format!(
            "{what}: more than {MAX_PAGES} pages of groups"
        )))
    }

    async fn get_user(&self, uid: &str, what: &str) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(&["Users", uid]), None, what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::ok(what, a).map(Some)
    }

    async fn get_group(&self, gid: &str, what: &str) -> Result<Option<Value>, TargetError> {
        let a = self
            .call(Method::GET, self.url(&["Groups", gid]), None, what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::ok(what, a).map(Some)
    }

    async fn revoke_account(&self, uid: &str, action: &str) -> Result<RevokeResult, TargetError> {
        let what = format!("{action} SCIM user {uid} on {}", self.instance);
        if action == "delete" {
            let a = self
                .call(Method::DELETE, self.url(&["Users", uid]), None, &what)
                .await?;
            if a.status == StatusCode::NOT_FOUND {
                return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
            }
            Self::ok(&what, a)?;
            return Ok(RevokeResult::Revoked { removed_at: None });
        }
        let Some(user) = self.get_user(uid, &what).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if !is_active(&user) {
            return Ok(RevokeResult::AlreadyAbsent {
                removed_at: last_modified(&user),
            });
        }
        let body = json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": false}],
        });
        let a = self
            .call(Method::PATCH, self.url(&["Users", uid]), Some(body), &what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        }
        let updated = Self::ok(&what, a)?;
        Ok(RevokeResult::Revoked {
            removed_at: last_modified(&updated),
        })
    }

    async fn revoke_membership(&self, gid: &str, uid: &str) -> Result<RevokeResult, TargetError> {
        let what = format!(
            "removing SCIM user {uid} from group {gid} on {}",
            self.instance
        );
        // PATCH remove of a non-member succeeds silently on many servers: check first.
        let Some(group) = self.get_group(gid, &what).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if !has_member(&group, uid) {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        }
        let path = format!(
            "members[value eq \"{}\"]",
            escape_filter_value(uid).map_err(|e| TargetError::Permanent(format!("{what}: {e}")))?
        );
        let body = json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "remove", "path": path}],
        });
        let a = self
            .call(Method::PATCH, self.url(&["Groups", gid]), Some(body), &what)
            .await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        }
        let updated = Self::ok(&what, a)?;
        Ok(RevokeResult::Revoked {
            removed_at: last_modified(&updated),
        })
    }

    /// `None` when `uid` is the user `who` resolves to on this target; otherwise the answer to
    /// give instead of restoring: `Refused` (the user is someone else, or `who` matches nobody
    /// while `uid` still exists), or `Irreversible` when `uid` no longer exists at all.
    async fn not_owned(
        &self,
        who: &Identity,
        uid: &str,
    ) -> Result<Option<RestoreResult>, TargetError> {
        let resolved = self.find_user(who).await?;
        let resolved_id = resolved
            .as_ref()
            .and_then(|u| u.get("id").and_then(Value::as_str));
        if resolved_id == Some(uid) {
            return Ok(None);
        }
        let what = format!(
            "checking whose SCIM user {uid} is on {} before restoring",
            self.instance
        );
        if resolved.is_none() && self.get_user(uid, &what).await?.is_none() {
            return Ok(Some(RestoreResult::Irreversible {
                reason: format!("SCIM user {uid} no longer exists on {}", self.instance),
            }));
        }
        Ok(Some(RestoreResult::Refused {
            reason: format!(
                "SCIM user {uid} is not {}'s user on {} ({}): nothing re-activated or re-added",
                who.employee_id,
                self.instance,
                match resolved_id {
                    Some(id) => format!(
                        "{} resolves to user {id}",
                        self.match_attribute.filter_path()
                    ),
                    None => format!(
                        "no user matches the identity's {}",
                        self.match_attribute.filter_path()
                    ),
                }
            ),
        }))
    }

    /// Re-activates a deactivated user (`PATCH active=true`); a deleted one cannot come back.
    async fn restore_account(&self, uid: &str) -> Result<RestoreResult, TargetError> {
        let what = format!("re-activating SCIM user {uid} on {}", self.instance);
        let Some(user) = self.get_user(uid, &what).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!("SCIM user {uid} no longer exists on {}", self.instance),
            });
        };
        if is_active(&user) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let body = json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": true}],
        });
        let a = self
            .call(Method::PATCH, self.url(&["Users", uid]), Some(body), &what)
            .await?;
        let updated = Self::ok(&what, a)?;
        Ok(RestoreResult::Restored {
            restored_at: last_modified(&updated),
        })
    }

    /// Adds the user back to the group (`PATCH add members`), unless the group or user is gone.
    async fn restore_membership(&self, gid: &str, uid: &str) -> Result<RestoreResult, TargetError> {
        let what = format!(
            "adding SCIM user {uid} back to group {gid} on {}",
            self.instance
        );
        let Some(group) = self.get_group(gid, &what).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!("SCIM group {gid} no longer exists on {}", self.instance),
            });
        };
        if has_member(&group, uid) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        if self.get_user(uid, &what).await?.is_none() {
            return Ok(RestoreResult::Irreversible {
                reason: format!("SCIM user {uid} no longer exists on {}", self.instance),
            });
        }
        let body = json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
        });
        let a = self
            .call(Method::PATCH, self.url(&["Groups", gid]), Some(body), &what)
            .await?;
        let updated = Self::ok(&what, a)?;
        Ok(RestoreResult::Restored {
            restored_at: last_modified(&updated),
        })
    }
}

#[async_trait]
impl Target for ScimTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Saas
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        &self.principal
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        let Some(user) = self.find_user(who).await? else {
            return Ok(Vec::new());
        };
        let uid = user
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // Memberships first, then the account (so a delete leaves no dangling member references).
        let mut out: Vec<Holding> = self
            .groups_of(&uid)
            .await?
            .into_iter()
            .map(|gid| Holding {
                object_kind: "group_membership".into(),
                object_id: membership_id(&gid, &uid),
                sponsored: false,
                action: "remove_membership".into(),
            })
            .collect();
        out.push(Holding {
            object_kind: "account".into(),
            object_id: uid,
            sponsored: false,
            action: self.policy.action().into(),
        });
        Ok(out)
    }

    async fn revoke(&self, _who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        match what.object_kind.as_str() {
            "account" => self.revoke_account(&what.object_id, &what.action).await,
            "group_membership" => {
                let (gid, uid) = parse_membership_id(&what.object_id).ok_or_else(|| {
                    TargetError::Permanent(format!(
                        "malformed group membership id {:?}",
                        what.object_id
                    ))
                })?;
                self.revoke_membership(&gid, &uid).await
            }
            other => Err(TargetError::Permanent(format!(
                "SCIM target {} cannot revoke a {other}",
                self.instance
            ))),
        }
    }

    async fn verify(&self, _who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        match what.object_kind.as_str() {
            "account" => {
                let w = format!(
                    "reading back SCIM user {} on {}",
                    what.object_id, self.instance
                );
                Ok(match self.get_user(&what.object_id, &w).await? {
                    None => ReadBack {
                        gone: true,
                        detail: "GET /Users/{id}: 404, user deleted".into(),
                        removed_at: None,
                    },
                    Some(u) if what.action == "delete" => ReadBack {
                        gone: false,
                        detail: format!(
                            "GET /Users/{{id}}: user still exists (active: {})",
                            is_active(&u)
                        ),
                        removed_at: None,
                    },
                    Some(u) if !is_active(&u) => ReadBack {
                        gone: true,
                        detail: "GET /Users/{id}: active=false".into(),
                        removed_at: last_modified(&u),
                    },
                    Some(_) => ReadBack {
                        gone: false,
                        detail: "GET /Users/{id}: still active".into(),
                        removed_at: None,
                    },
                })
            }
            "group_membership" => {
                let (gid, uid) = parse_membership_id(&what.object_id).ok_or_else(|| {
                    TargetError::Permanent(format!(
                        "malformed group membership id {:?}",
                        what.object_id
                    ))
                })?;
                let w = format!("reading back SCIM group {gid} on {}", self.instance);
                Ok(match self.get_group(&gid, &w).await? {
                    None => ReadBack {
                        gone: true,
                        detail: "GET /Groups/{id}: 404, group deleted".into(),
                        removed_at: None,
                    },
                    Some(g) if has_member(&g, &uid) => ReadBack {
                        gone: false,
                        detail: "GET /Groups/{id}: still lists the member".into(),
                        removed_at: None,
                    },
                    Some(g) => ReadBack {
                        gone: true,
                        detail: "GET /Groups/{id}: member not listed".into(),
                        removed_at: last_modified(&g),
                    },
                })
            }
            other => Err(TargetError::Permanent(format!(
                "SCIM target {} cannot read back a {other}",
                self.instance
            ))),
        }
    }
    /// A restore is a grant and its evidence may be forged: the user re-activated or re-added is
    /// only ever the one `who` resolves to now (the exact lookup discovery uses).
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (ev.object_kind.as_str(), ev.action.as_str()) {
            ("account", "deactivate") => {
                if let Some(refusal) = self.not_owned(who, &ev.object_id).await? {
                    return Ok(refusal);
                }
                self.restore_account(&ev.object_id).await
            }
            ("group_membership", "remove_membership") => {
                let (gid, uid) = parse_membership_id(&ev.object_id).ok_or_else(|| {
                    TargetError::Permanent(format!(
                        "malformed group membership id {:?}",
                        ev.object_id
                    ))
                })?;
                if let Some(refusal) = self.not_owned(who, &uid).await? {
                    return Ok(refusal);
                }
                self.restore_membership(&gid, &uid).await
            }
            ("account", "delete") => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "SCIM user {} was deleted on {}; re-provision it",
                    ev.object_id, self.instance
                ),
            }),
            (kind, action) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "SCIM target {} cannot undo {action} of {kind}",
                    self.instance
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(
            eq_filter("userName", "ada").unwrap(),
            r#"userName eq "ada""#
        );
        assert_eq!(
            eq_filter("userName", r#"a"b\c"#).unwrap(),
            r#"userName eq "a\"b\\c""#
        );
        assert_eq!(
            eq_filter("userName", "x) or (userName pr").unwrap(),
            r#"userName eq "x) or (userName pr""#
        );
        assert!(eq_filter("userName", "a\nb").is_err());
        assert!(eq_filter("userName", "a\u{0}").is_err());
    }

    #[test]
    fn membership_ids_round_trip() {
        for (g, u) in [("g1", "u1"), ("a/b", "c%2Fd"), ("../", "%")] {
            assert_eq!(
                parse_membership_id(&membership_id(g, u)),
                Some((g.to_string(), u.to_string()))
            );
        }
        assert_eq!(parse_membership_id("Groups/x"), None);
    }

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn config_parsing() {
        std::env::set_var("REVOKE_SCIM_UNIT_TOKEN", "t0ken");
        let t = ScimTarget::from_table(
            &table("base_url = \"http://127.0.0.1:1/v2\"\ntoken_env = \"REVOKE_SCIM_UNIT_TOKEN\"\npolicy = \"delete\"\nmatch_attribute = \"emails\""),
            "saas",
        )
        .unwrap();
        assert_eq!(t.policy(), AccountPolicy::Delete);
        assert_eq!(t.match_attribute(), MatchAttribute::Emails);
        assert_eq!(t.principal(), "scim-client");
        assert_eq!(
            t.url(&["Users", "../x"]).as_str(),
            "http://127.0.0.1:1/v2/Users/..%2Fx"
        );
        assert!(!format!("{t:?}").contains("t0ken"));
        assert!(
            ScimTarget::from_table(&table("token_env = \"REVOKE_SCIM_UNIT_TOKEN\""), "saas")
                .is_err()
        );
        assert!(ScimTarget::from_table(
            &table("base_url = \"http://h/v2\"\ntoken_env = \"REVOKE_SCIM_UNIT_TOKEN\"\npolicy = \"nuke\""),
            "saas"
        )
        .is_err());
        assert!(ScimTarget::from_table(
            &table("base_url = \"http://h/v2\"\ntoken = \"inline\""),
            "saas"
        )
        .is_err());
    }

    /// A server that refuses filters on Groups (400) and pages its 3 groups 2 at a time: the
    /// adapter must fall back to scanning every page and keep only groups listing the member.
    #[tokio::test]
    async fn groups_are_scanned_when_members_filter_is_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let g = |id: &str, members: &[&str]| json!({"id": id, "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()});
                    let (status, body) = if !head.contains("authorization: Bearer tok")
                        && !head.contains("Authorization: Bearer tok")
                    {
                        (401, json!({"detail": "no"}))
                    } else if target.contains("filter=") {
                        (
                            400,
                            json!({"scimType": "invalidFilter", "detail": "members filter unsupported"}),
                        )
                    } else if target.contains("startIndex=1&") {
                        (
                            200,
                            json!({"totalResults": 3, "Resources": [g("g1", &["u1", "u2"]), g("g2", &["u2"])]}),
                        )
                    } else if target.contains("startIndex=3&") {
                        (
                            200,
                            json!({"totalResults": 3, "Resources": [g("g3", &["u1"])]}),
                        )
                    } else {
                        (404, json!({}))
                    };
                    let body = body.to_string();
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        std::env::set_var("REVOKE_SCIM_UNIT_TOKEN2", "tok");
        let t = ScimTarget::from_table(
            &table(&format!("base_url = \"http://127.0.0.1:{port}/v2\"\ntoken_env = \"REVOKE_SCIM_UNIT_TOKEN2\"")),
            "saas",
        )
        .unwrap();
        assert_eq!(
            t.groups_of("u1").await.unwrap(),
            vec!["g1".to_string(), "g3".to_string()]
        );
        assert_eq!(
            t.groups_of("u2").await.unwrap(),
            vec!["g1".to_string(), "g2".to_string()]
        );
        assert!(t.groups_of("nobody").await.unwrap().is_empty());
    }
}

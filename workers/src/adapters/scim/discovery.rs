//! Finding what a person holds on the SCIM service: the one user the identity names (filtered
//! server-side, re-checked client-side; several is ambiguous) and the groups that list them
//! (by `members.value` filter, else a scan of every Groups page).

use super::objects::{eq_filter, has_member, resources};
use super::{MatchAttribute, ScimTarget};
use crate::adapters::TargetError;
use reqwest::Method;
use revoke_shared::contract::Identity;
use serde_json::Value;

/// Page size and page limit when scanning Groups (servers without `members.value` filtering).
const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 10_000;

impl ScimTarget {
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
    pub(super) async fn find_user(&self, who: &Identity) -> Result<Option<Value>, TargetError> {
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
    pub(super) async fn groups_of(&self, uid: &str) -> Result<Vec<String>, TargetError> {
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
}

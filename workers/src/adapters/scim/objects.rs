//! What the SCIM adapter reads and names without I/O: filter values escaped per RFC 7644, the
//! objects it names in evidence (`ScimObject`: the account, and a group membership
//! `Groups/<group>/members/<user>` with each part percent-encoded) and the readers of user,
//! group and list records (`active`, `members`, `Resources`, `meta.lastModified`).

use crate::adapters::ObjectRef;
use chrono::{DateTime, Utc};
use serde_json::Value;

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

/// One object the SCIM adapter revokes, as named in evidence. User and group ids are the
/// server's own opaque strings, so the account's id is the user id as given (slashes and all);
/// a membership's parts are escaped so its id splits back unambiguously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimObject {
    /// `account`, id `<user id>` (e.g. `2819c223-7f76-453a-919d-413861904646`).
    Account { user: String },
    /// `group_membership`, id `Groups/<group id>/members/<user id>` with `%` and `/` in each id
    /// written `%25` and `%2F` (e.g. `Groups/e9e30dba/members/2819c223`).
    GroupMembership { group: String, user: String },
}

impl ObjectRef for ScimObject {
    const EXAMPLE: &'static str =
        "<user id> (account), Groups/<group id>/members/<user id> (group_membership)";
    const WHAT: &'static str = "a SCIM object";

    fn kind(&self) -> &'static str {
        match self {
            ScimObject::Account { .. } => "account",
            ScimObject::GroupMembership { .. } => "group_membership",
        }
    }

    fn id(&self) -> String {
        match self {
            ScimObject::Account { user } => user.clone(),
            ScimObject::GroupMembership { group, user } => {
                format!("Groups/{}/members/{}", enc_part(group), enc_part(user))
            }
        }
    }

    /// None unless `kind` and `id` agree, no id is empty, a membership's parts are escaped
    /// exactly as `id` writes them, and no user id holds a control character (discovery never
    /// records one: the `members.value` filter refuses it, so such an id was not written here).
    fn parse(kind: &str, id: &str) -> Option<ScimObject> {
        let obj = match kind {
            "account" => ScimObject::Account {
                user: id.to_string(),
            },
            "group_membership" => match id.split('/').collect::<Vec<_>>().as_slice() {
                ["Groups", group, "members", user] => ScimObject::GroupMembership {
                    group: dec_part(group)?,
                    user: dec_part(user)?,
                },
                _ => return None,
            },
            _ => return None,
        };
        let user_ok = |u: &str| !u.is_empty() && !u.chars().any(char::is_control);
        match &obj {
            ScimObject::Account { user } => user_ok(user),
            ScimObject::GroupMembership { group, user } => !group.is_empty() && user_ok(user),
        }
        .then_some(obj)
    }
}

fn enc_part(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

/// The id `enc_part` wrote as `s`; None for any other spelling (`%2f`, a bare `%`), which this
/// adapter never wrote.
fn dec_part(s: &str) -> Option<String> {
    let id = s.replace("%2F", "/").replace("%25", "%");
    (enc_part(&id) == s).then_some(id)
}

pub(super) fn last_modified(resource: &Value) -> Option<DateTime<Utc>> {
    resource
        .pointer("/meta/lastModified")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `active` is optional in RFC 7643; a user without it is taken as active.
pub(super) fn is_active(user: &Value) -> bool {
    match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

pub(super) fn has_member(group: &Value, uid: &str) -> bool {
    group
        .get("members")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter()
                .any(|m| m.get("value").and_then(Value::as_str) == Some(uid))
        })
}

pub(super) fn resources(list: &Value) -> Vec<Value> {
    list.get("Resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

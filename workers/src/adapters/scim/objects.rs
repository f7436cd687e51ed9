//! What the SCIM adapter reads and names without I/O: filter values escaped per RFC 7644, the
//! membership object id (`<group>/<user>`, each part percent-encoded) and the readers of user,
//! group and list records (`active`, `members`, `Resources`, `meta.lastModified`).

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

/// Object id of a group membership: `Groups/<gid>/members/<uid>`, with `%` and `/` in the ids
/// escaped so the id splits back unambiguously.
pub(super) fn membership_id(gid: &str, uid: &str) -> String {
    format!("Groups/{}/members/{}", enc_part(gid), enc_part(uid))
}

fn enc_part(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

fn dec_part(s: &str) -> String {
    s.replace("%2F", "/").replace("%25", "%")
}

pub(super) fn parse_membership_id(object_id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = object_id.split('/').collect();
    match parts.as_slice() {
        ["Groups", gid, "members", uid] if !gid.is_empty() && !uid.is_empty() => {
            Some((dec_part(gid), dec_part(uid)))
        }
        _ => None,
    }
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

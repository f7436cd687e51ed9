//! What a GitLab user holds, as this adapter names it in evidence (`Object`, `Source`), and the
//! pure checks on GitLab's records: which usernames and addresses can be sent at all, which
//! tokens name a sponsor, which tokens are active and which user states are blocked. No I/O.

use crate::adapters::{Held, ObjectRef};
use serde_json::Value;

/// GitLab's Maintainer role: the least that can create access and deploy tokens.
pub(super) const MAINTAINER: u32 = 40;
/// The access levels GitLab defines (Minimal access, Guest, Planner, Reporter, Developer,
/// Maintainer, Owner): a restore re-adds a membership only at one of them.
pub(super) const ACCESS_LEVELS: &[u32] = &[5, 10, 15, 20, 30, 40, 50];
/// User states in which the account cannot sign in or use its tokens.
const BLOCKED_STATES: &[&str] = &[
    "blocked",
    "ldap_blocked",
    "banned",
    "blocked_pending_approval",
];

/// Where a membership or a resource token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Group,
    Project,
}

impl Source {
    pub(super) fn path(self) -> &'static str {
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
    pub(super) fn from_membership_type(s: &str) -> Option<Source> {
        match s {
            "Namespace" => Some(Source::Group),
            "Project" => Some(Source::Project),
            _ => None,
        }
    }

    pub(super) fn word(self) -> &'static str {
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
pub(super) fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl ObjectRef for Object {
    const EXAMPLE: &'static str = "users/<id>/keys/<id>";
    const WHAT: &'static str = "a GitLab object";

    fn kind(&self) -> &'static str {
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

    fn id(&self) -> String {
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

    /// The object an evidence/holding (`object_kind`, `object_id`) names, if it is well-formed.
    fn parse(kind: &str, id: &str) -> Option<Self> {
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

impl Object {
    /// The object's API path below `/api/v4` (a membership without its recorded level).
    pub(super) fn segments(&self) -> Vec<String> {
        let id = self.id();
        let path = id.split_once('@').map_or(id.as_str(), |(p, _level)| p);
        path.split('/').map(str::to_string).collect()
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

    pub(super) fn held(self) -> Held<Object> {
        let (sponsored, action) = (self.sponsored(), self.action());
        Held::new(self, sponsored, action)
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

pub(super) fn email_ok(s: &str) -> bool {
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
pub(super) fn token_active(t: &Value) -> bool {
    t["active"].as_bool() == Some(true) && t["revoked"].as_bool() != Some(true)
}

pub(super) fn deploy_token_active(t: &Value) -> bool {
    t["revoked"].as_bool() != Some(true) && t["expired"].as_bool() != Some(true)
}

pub(super) fn blocked(user: &Value) -> bool {
    user["state"]
        .as_str()
        .is_some_and(|s| BLOCKED_STATES.contains(&s))
}

//! What this adapter names at Vault: tokens (by accessor), AppRole secret ids
//! (`<mount>/<role>/<accessor>`), userpass users and their login lease prefix, and the checks
//! that keep a name from changing which path a request reaches. No I/O.

use super::VaultTarget;
use crate::adapters::{Holding, TargetError};
use chrono::{DateTime, Utc};
use revoke_shared::contract::Identity;
use serde_json::Value;

/// One token as `lookup-accessor` shows it (no token value kept).
#[derive(Debug, Clone)]
pub(super) struct TokenInfo {
    pub(super) accessor: String,
    pub(super) entity_id: String,
    pub(super) path: String,
    /// False for a token created by another token (its child: revoked with it).
    pub(super) orphan: bool,
    pub(super) meta: serde_json::Map<String, Value>,
}

/// An AppRole secret id named by its accessor: object id `<mount>/<role>/<accessor>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SecretIdRef {
    pub(super) mount: String,
    pub(super) role: String,
    pub(super) accessor: String,
}

impl SecretIdRef {
    pub(super) fn object_id(&self) -> String {
        format!("{}/{}/{}", self.mount, self.role, self.accessor)
    }

    /// Role names and accessors hold no `/`; the mount may.
    pub(super) fn parse(id: &str) -> Option<SecretIdRef> {
        let mut parts = id.rsplitn(3, '/');
        let accessor = parts.next()?;
        let role = parts.next()?;
        let mount = parts.next()?;
        let ok = |s: &str| usable_name(s);
        (ok(accessor) && ok(role) && mount.split('/').all(ok)).then(|| SecretIdRef {
            mount: mount.to_string(),
            role: role.to_string(),
            accessor: accessor.to_string(),
        })
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A name usable as one path segment: not empty, not `.`/`..`, no control characters.
pub(super) fn usable_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.chars().any(|c| c.is_control())
}

/// Whether `s` can be a userpass user name: Vault's `GenericNameRegex`,
/// `\w(([\w-.@]+)?\w)?`. Anything else (`*`, `../x`, `a/b`) names no userpass user, so it
/// is never looked up or put in a path.
pub fn userpass_name_ok(s: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    word(first) && word(last) && s.chars().all(|c| word(c) || matches!(c, '-' | '.' | '@'))
}

/// The action recorded for a child token of the person's: revoking its parent revokes it.
pub(super) const REVOKE_WITH_PARENT: &str = "revoke_with_parent";

/// Whether a token of the person's entity is a child of another of their tokens. Vault and
/// OpenBao show no parent (`lookup-accessor` has only `orphan`; checked on OpenBao 2.7.2), but a
/// token created through plain `auth/token/create` inherits its parent's entity, so a non-orphan
/// one carrying the person's entity was made by one of their tokens. (Logins are orphans, and a
/// token an operator mints for the entity goes through a role: `auth/token/create/<role>`.)
pub(super) fn is_child_in_entity(t: &TokenInfo) -> bool {
    !t.orphan && t.path == "auth/token/create"
}

pub(super) fn token_holding(accessor: &str, sponsored: bool) -> Holding {
    Holding {
        object_kind: "token".into(),
        object_id: accessor.to_string(),
        sponsored,
        action: "revoke".into(),
    }
}

pub(super) fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl VaultTarget {
    pub(super) fn secret_id_ref(&self, object_id: &str) -> Result<SecretIdRef, TargetError> {
        SecretIdRef::parse(object_id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{object_id:?} is not an AppRole secret id (<mount>/<role>/<accessor>)"
            ))
        })
    }

    /// The user name in a `userpass_user` object id (`<mount>/<name>`), refused when the id is
    /// not one of this target's userpass users.
    pub(super) fn userpass_user_of<'a>(&self, object_id: &'a str) -> Result<&'a str, TargetError> {
        object_id
            .strip_prefix(&format!("{}/", self.userpass_mount))
            .filter(|n| userpass_name_ok(n))
            .ok_or_else(|| {
                TargetError::Permanent(format!(
                    "{object_id:?} is not a userpass user of this target"
                ))
            })
    }

    /// The user name in a `lease_prefix` object id, refused when the id is not one of this
    /// target's login lease prefixes.
    pub(super) fn lease_prefix_user<'a>(&self, object_id: &'a str) -> Result<&'a str, TargetError> {
        self.name_of_lease_prefix(object_id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{object_id:?} is not a login lease prefix of this target"
            ))
        })
    }

    /// The userpass name of an identity: its username, else its employee id; lowercased as
    /// userpass stores names. None when it cannot name a userpass user.
    pub(super) fn userpass_name(&self, who: &Identity) -> Option<String> {
        let raw = who
            .username
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&who.employee_id);
        let name = raw.to_lowercase();
        userpass_name_ok(&name).then_some(name)
    }

    pub(super) fn userpass_object_id(&self, name: &str) -> String {
        format!("{}/{name}", self.userpass_mount)
    }

    pub(super) fn userpass_user_path(&self, name: &str) -> String {
        format!(
            "auth/{}/users/{}",
            self.userpass_mount,
            encode_segment(name)
        )
    }

    /// Lease prefix of the tokens the person got by logging in through userpass.
    pub(super) fn login_lease_prefix(&self, name: &str) -> String {
        format!(
            "auth/{}/login/{}/",
            self.userpass_mount,
            encode_segment(name)
        )
    }

    /// The userpass name inside a `lease_prefix` object id, if it is one of ours.
    pub(super) fn name_of_lease_prefix<'a>(&self, id: &'a str) -> Option<&'a str> {
        id.strip_prefix(&format!("auth/{}/login/", self.userpass_mount))?
            .strip_suffix('/')
            .filter(|n| userpass_name_ok(n))
    }

    pub(super) fn role_path(mount: &str, role: &str) -> String {
        format!("auth/{mount}/role/{}", encode_segment(role))
    }
}

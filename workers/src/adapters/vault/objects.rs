//! What this adapter names at Vault (`VaultObject`: tokens and AppRole secret ids by accessor,
//! the entity, the userpass user and its login lease prefix, whose evidence ids parse back to
//! exactly one object), and the checks that keep a name from changing which path a request
//! reaches. No I/O.

use super::VaultTarget;
use crate::adapters::{Held, ObjectRef, ReadBack, TargetError};
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

/// One object the person holds (or sponsors) at Vault, as named in evidence. Object kind and
/// id, byte for byte as recorded:
/// - `token`: the accessor (`hmac9Xk2…`), never the token;
/// - `entity`: the entity id (a UUID);
/// - `userpass_user`: `<mount>/<name>` (`userpass/ada`);
/// - `lease_prefix`: `auth/<mount>/login/<name, percent-encoded>/` (`auth/userpass/login/ada/`);
/// - `approle_secret_id`: `<mount>/<role>/<accessor>` (`approle/ci-runner/1b2c-3d`).
///
/// Mounts are parsed as paths here; whether a userpass mount is this target's is the adapter's
/// check (`VaultTarget::ours`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultObject {
    Token {
        accessor: String,
    },
    Entity {
        id: String,
    },
    UserpassUser {
        mount: String,
        name: String,
    },
    /// The leases of the tokens `name` got by logging in through userpass at `mount`.
    LeasePrefix {
        mount: String,
        name: String,
    },
    ApproleSecretId(SecretIdRef),
}

impl ObjectRef for VaultObject {
    const EXAMPLE: &'static str =
        "approle_secret_id <mount>/<role>/<accessor>, userpass_user <mount>/<name>";
    const WHAT: &'static str = "a Vault object";

    fn kind(&self) -> &'static str {
        match self {
            VaultObject::Token { .. } => "token",
            VaultObject::Entity { .. } => "entity",
            VaultObject::UserpassUser { .. } => "userpass_user",
            VaultObject::LeasePrefix { .. } => "lease_prefix",
            VaultObject::ApproleSecretId(_) => "approle_secret_id",
        }
    }

    fn id(&self) -> String {
        match self {
            VaultObject::Token { accessor } => accessor.clone(),
            VaultObject::Entity { id } => id.clone(),
            VaultObject::UserpassUser { mount, name } => format!("{mount}/{name}"),
            VaultObject::LeasePrefix { mount, name } => login_lease_prefix(mount, name),
            VaultObject::ApproleSecretId(r) => r.object_id(),
        }
    }

    /// None unless every part is one path segment (or, for mounts, a path of them) and every
    /// user name one userpass would accept, so a tampered id never reaches a request.
    fn parse(kind: &str, id: &str) -> Option<VaultObject> {
        match kind {
            "token" => segment_ok(id).then(|| VaultObject::Token {
                accessor: id.to_string(),
            }),
            "entity" => segment_ok(id).then(|| VaultObject::Entity { id: id.to_string() }),
            "userpass_user" => {
                let (mount, name) = id.rsplit_once('/')?;
                (mount_ok(mount) && userpass_name_ok(name)).then(|| VaultObject::UserpassUser {
                    mount: mount.to_string(),
                    name: name.to_string(),
                })
            }
            "lease_prefix" => {
                let (rest, encoded) = id
                    .strip_prefix("auth/")?
                    .strip_suffix('/')?
                    .rsplit_once('/')?;
                let mount = rest.strip_suffix("/login")?;
                // Written percent-encoded; a plain name (as older ids may carry it) is taken as is.
                let name = decode_segment(encoded)?;
                (mount_ok(mount)
                    && userpass_name_ok(&name)
                    && (encoded == name || encoded == encode_segment(&name)))
                .then(|| VaultObject::LeasePrefix {
                    mount: mount.to_string(),
                    name,
                })
            }
            "approle_secret_id" => SecretIdRef::parse(id).map(VaultObject::ApproleSecretId),
            _ => None,
        }
    }
}

/// An AppRole secret id named by its accessor: object id `<mount>/<role>/<accessor>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretIdRef {
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
        (usable_name(accessor) && usable_name(role) && mount_ok(mount)).then(|| SecretIdRef {
            mount: mount.to_string(),
            role: role.to_string(),
            accessor: accessor.to_string(),
        })
    }
}

/// Lease prefix of the tokens `name` got by logging in through userpass at `mount`.
pub(super) fn login_lease_prefix(mount: &str, name: &str) -> String {
    format!("auth/{mount}/login/{}/", encode_segment(name))
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

/// A mount path: one or more usable names joined by `/` (no leading, trailing or double `/`).
pub(super) fn mount_ok(s: &str) -> bool {
    s.split('/').all(usable_name)
}

/// An accessor or entity id: a usable name that is one path segment.
pub(super) fn segment_ok(s: &str) -> bool {
    usable_name(s) && !s.contains('/')
}

/// The inverse of `encode_segment` (any `%XX`); None for a bad escape or bytes that are not
/// UTF-8.
fn decode_segment(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
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

/// A token of the person's (or one they sponsor), revoked by accessor.
pub(super) fn token(accessor: &str, sponsored: bool, action: &str) -> Held<VaultObject> {
    let accessor = accessor.to_string();
    Held::new(VaultObject::Token { accessor }, sponsored, action)
}

/// A read-back that reads nothing more than gone or not.
pub(super) fn read_back(gone: bool, detail: impl Into<String>) -> ReadBack {
    ReadBack {
        gone,
        detail: detail.into(),
        removed_at: None,
    }
}

pub(super) fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl VaultTarget {
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

    /// A userpass user or login lease prefix must be under this target's userpass mount: a
    /// restore of old evidence, or a forged request, names no other mount's user.
    pub(super) fn ours(&self, object: &VaultObject) -> Result<(), TargetError> {
        let what = match object {
            VaultObject::UserpassUser { mount, .. } if *mount != self.userpass_mount => {
                "a userpass user"
            }
            VaultObject::LeasePrefix { mount, .. } if *mount != self.userpass_mount => {
                "a login lease prefix"
            }
            _ => return Ok(()),
        };
        Err(TargetError::Permanent(format!(
            "{:?} is not {what} of this target",
            object.id()
        )))
    }

    pub(super) fn userpass_user_path(&self, name: &str) -> String {
        format!(
            "auth/{}/users/{}",
            self.userpass_mount,
            encode_segment(name)
        )
    }

    pub(super) fn entity_path(id: &str) -> String {
        format!("identity/entity/id/{}", encode_segment(id))
    }

    pub(super) fn role_path(mount: &str, role: &str) -> String {
        format!("auth/{mount}/role/{}", encode_segment(role))
    }
}

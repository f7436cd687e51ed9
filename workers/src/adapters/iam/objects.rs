//! What a person's IAM footprint is made of, as this adapter names it in evidence (`IamObject`,
//! whose ids parse back to exactly one object), the name checks that keep anything IAM could not
//! hold from being sent, and the small answer shapes (`held`, `gone`, `present`) every
//! object kind shares. No I/O.

use super::credentials::CredKind;
use super::policies;
use crate::adapters::{Held, ObjectRef, ReadBack, RevokeResult};

/// Whether `s` can be an IAM user or group name: `[\w+=,.@-]+`, 1..=`max` ASCII characters.
/// Anything else names nothing in IAM and is never sent to it.
pub fn iam_name_ok(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// An IAM key, certificate or SSH key id: `[\w]+`, 1..=128.
fn id_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An MFA serial number (a virtual device's ARN or a hardware serial): `[\w+=/:,.@-]{9,256}`.
fn serial_ok(s: &str) -> bool {
    (9..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b))
}

/// One object of the person's (or a sponsored user's) IAM footprint, as named in evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamObject {
    /// An access key, SSH public key or signing certificate of the user, by its IAM id.
    Credential {
        cred: CredKind,
        user: String,
        id: String,
    },
    LoginProfile {
        user: String,
    },
    GroupMembership {
        group: String,
        user: String,
    },
    Mfa {
        user: String,
        serial: String,
    },
    SponsoredUser {
        user: String,
    },
    /// A managed policy attached to the user (`arn` may contain `/` and `:`: it is the rest).
    ManagedPolicy {
        user: String,
        arn: String,
    },
    /// An inline policy of the user, by name (its document is saved at IAM, never in evidence).
    InlinePolicy {
        user: String,
        name: String,
    },
    /// The sessions the user was issued before the revocation (the `AWSRevokeOlderSessions` deny).
    IssuedSessions {
        user: String,
    },
}

impl ObjectRef for IamObject {
    const EXAMPLE: &'static str = "access_key/<user>/<key id>";
    const WHAT: &'static str = "an IAM object";

    fn kind(&self) -> &'static str {
        match self {
            IamObject::Credential { cred, .. } => cred.kind(),
            IamObject::LoginProfile { .. } => "login_profile",
            IamObject::GroupMembership { .. } => "group_membership",
            IamObject::Mfa { .. } => "mfa_device",
            IamObject::SponsoredUser { .. } => "sponsored_user_ownership",
            IamObject::ManagedPolicy { .. } => "managed_policy",
            IamObject::InlinePolicy { .. } => "inline_policy",
            IamObject::IssuedSessions { .. } => "issued_sessions",
        }
    }

    /// The object id recorded in evidence.
    fn id(&self) -> String {
        match self {
            IamObject::Credential { cred, user, id } => format!("{}/{user}/{id}", cred.kind()),
            IamObject::LoginProfile { user } => format!("login_profile/{user}"),
            IamObject::GroupMembership { group, user } => {
                format!("group_membership/{group}/{user}")
            }
            IamObject::Mfa { user, serial } => format!("mfa/{user}/{serial}"),
            IamObject::SponsoredUser { user } => format!("sponsored_user/{user}"),
            IamObject::ManagedPolicy { user, arn } => format!("managed_policy/{user}/{arn}"),
            IamObject::InlinePolicy { user, name } => format!("inline_policy/{user}/{name}"),
            IamObject::IssuedSessions { user } => format!("issued_sessions/{user}"),
        }
    }

    /// Parses an evidence pair back; None unless `kind` and `id` agree and every part is a valid
    /// IAM name or id (so a tampered or foreign id never reaches an API call).
    fn parse(kind: &str, id: &str) -> Option<IamObject> {
        let (prefix, rest) = id.split_once('/')?;
        let user_ok = |u: &str| iam_name_ok(u, 64);
        let two = |rest: &str| -> Option<(String, String)> {
            let (a, b) = rest.split_once('/')?;
            Some((a.to_string(), b.to_string()))
        };
        let obj = match prefix {
            "access_key" | "ssh_key" | "signing_cert" => {
                let (user, id) = two(rest)?;
                let cred = CredKind::from_kind(prefix)?;
                (user_ok(&user) && id_ok(&id)).then_some(IamObject::Credential {
                    cred,
                    user,
                    id,
                })?
            }
            "login_profile" => user_ok(rest).then(|| IamObject::LoginProfile {
                user: rest.to_string(),
            })?,
            "group_membership" => {
                let (group, user) = two(rest)?;
                (iam_name_ok(&group, 128) && user_ok(&user))
                    .then_some(IamObject::GroupMembership { group, user })?
            }
            // The serial (a virtual device's ARN) may itself contain `/`: it is the rest.
            "mfa" => {
                let (user, serial) = two(rest)?;
                (user_ok(&user) && serial_ok(&serial)).then_some(IamObject::Mfa { user, serial })?
            }
            "sponsored_user" => user_ok(rest).then(|| IamObject::SponsoredUser {
                user: rest.to_string(),
            })?,
            "managed_policy" => {
                let (user, arn) = two(rest)?;
                (user_ok(&user) && policies::policy_arn_ok(&arn))
                    .then_some(IamObject::ManagedPolicy { user, arn })?
            }
            "inline_policy" => {
                let (user, name) = two(rest)?;
                (user_ok(&user) && iam_name_ok(&name, 128))
                    .then_some(IamObject::InlinePolicy { user, name })?
            }
            "issued_sessions" => user_ok(rest).then(|| IamObject::IssuedSessions {
                user: rest.to_string(),
            })?,
            _ => return None,
        };
        (obj.kind() == kind).then_some(obj)
    }
}

impl IamObject {
    /// The user whose footprint this is.
    pub fn user(&self) -> &str {
        match self {
            IamObject::Credential { user, .. }
            | IamObject::LoginProfile { user }
            | IamObject::GroupMembership { user, .. }
            | IamObject::Mfa { user, .. }
            | IamObject::SponsoredUser { user }
            | IamObject::ManagedPolicy { user, .. }
            | IamObject::InlinePolicy { user, .. }
            | IamObject::IssuedSessions { user } => user,
        }
    }
}

pub(super) fn held(obj: IamObject, sponsored: bool, action: &str) -> Held<IamObject> {
    Held::new(obj, sponsored, action)
}

pub(super) fn gone(detail: impl Into<String>) -> ReadBack {
    ReadBack {
        gone: true,
        detail: detail.into(),
        removed_at: None,
    }
}

pub(super) fn present(detail: impl Into<String>) -> ReadBack {
    ReadBack {
        gone: false,
        detail: detail.into(),
        removed_at: None,
    }
}

pub(super) const ABSENT: RevokeResult = RevokeResult::AlreadyAbsent { removed_at: None };
pub(super) const REVOKED: RevokeResult = RevokeResult::Revoked { removed_at: None };

//! The `cloud` target: AWS IAM through `aws-sdk-iam` (tested against a real moto server).
//!
//! - Lookup: the person's IAM user by name (`match = "user_name"`: the identity's username, else
//!   its employee id; `GetUser`), or by tag (`match = "tag"`: the user whose `<tag_key>` tag equals
//!   the employee id exactly; more than one such user is `Ambiguous` — a person decides, nothing is
//!   revoked). A name that is not a valid IAM user name (`[\w+=,.@-]{1,64}`, e.g. `*`, `../x`, `"`)
//!   names no IAM user: it is never sent to AWS, and the person holds nothing here.
//! - Holdings of the person's user: access keys (`deactivate`, or `delete` = deactivate then
//!   delete), the console login profile (`delete`), the sessions already issued
//!   (`deny_older_sessions`: the `AWSRevokeOlderSessions` deny), group memberships
//!   (`remove_membership`), managed policies (`detach_policy`), inline policies
//!   (`delete_inline_policy`, the document saved at IAM first), MFA devices (`deactivate`), SSH
//!   public keys and signing certificates (`delete`, or `deactivate`). Policies and sessions: see
//!   `policies`; the order: see `holdings_of`.
//! - Sponsored: IAM users tagged `<owner_tag_key>` = the person's username, email or employee id
//!   (exact match). Their access keys are deactivated (`sponsored = true`), and each such user gets
//!   a `sponsored_user_ownership` holding whose revoke answers `Ambiguous` ("needs a new owner"):
//!   the target's outcome becomes `manual_required` and the verifier escalates it to a person, who
//!   re-tags the user with its new owner. That is intended: a leaver who owns a service user always
//!   needs a person to take it over, but the keys are deactivated first (they come earlier in the
//!   holdings). Once the tag names someone else, the holding is no longer discovered.
//! - Verify: `ListAccessKeys` (key inactive, or gone where the action was delete),
//!   `GetLoginProfile` (NoSuchEntity), `ListGroupsForUser`, `ListMFADevices`, `ListSSHPublicKeys`,
//!   `ListSigningCertificates`, `ListAttachedUserPolicies`, `GetUserPolicy`. IAM keeps no removal timestamps, so `removed_at` is always None and
//!   the evidence carries the read-back time.
//! - Restore (rescinds): re-activates deactivated access keys, SSH keys and signing certificates,
//!   re-adds group memberships, re-attaches managed policies, puts inline policies back from their
//!   saved copies and lifts the session deny — each only after re-checking at IAM that the object
//!   is the person's (`not_theirs`; else `Refused`, nothing written). Deleted keys, certificates and login profiles (the password is
//!   not kept) and deactivated MFA devices (re-enabling needs two codes from the device) are
//!   `Irreversible`.
//! - Object ids (parseable, see `IamObject`): `access_key/<user>/<key id>`, `login_profile/<user>`,
//!   `group_membership/<group>/<user>`, `mfa/<user>/<serial number>`, `ssh_key/<user>/<key id>`,
//!   `signing_cert/<user>/<certificate id>`, `sponsored_user/<user>`,
//!   `managed_policy/<user>/<policy arn>`, `inline_policy/<user>/<policy name>`,
//!   `issued_sessions/<user>`. Never key material, never policy documents.
//! - Errors: throttling, 5xx, timeouts and connection failures are `Transient`; AccessDenied,
//!   InvalidClientTokenId, validation errors are `Permanent`; NoSuchEntity on revoke is
//!   `AlreadyAbsent`. The SDK's own retries are off: the worker's retry policy is the only one.
//! - Guards: the revoker's own IAM user and its own access key are never touched.
//! - Cost: with `sponsored = true` or `match = "tag"` every leaver reads all users' tags. Measured
//!   on moto with 1000 users: ~0.6 s per leaver with `user_scan = "authorization_details"`,
//!   ~3.7 s with `list_user_tags` (1000 `ListUserTags` calls, which real IAM would throttle).
//! - IAM permissions: `GetUser` (on itself, optional), `GetAccountAuthorizationDetails` (or
//!   `ListUsers` + `ListUserTags`), `ListAccessKeys`, `UpdateAccessKey`, `DeleteAccessKey`,
//!   `GetLoginProfile`, `DeleteLoginProfile`, `ListGroupsForUser`, `RemoveUserFromGroup`,
//!   `AddUserToGroup` (restore), `ListMFADevices`, `DeactivateMFADevice`, `ListSSHPublicKeys`,
//!   `UpdateSSHPublicKey`, `DeleteSSHPublicKey`, `ListSigningCertificates`,
//!   `UpdateSigningCertificate`, `DeleteSigningCertificate`, `GetAccessKeyLastUsed` (restore),
//!   and for policies the list in docs/adapters.md, "Least privilege".
//!
//! Config, `[targets.cloud]`:
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `region` | `us-east-1` | signing region (IAM is global) |
//! | `endpoint_url` | AWS | e.g. `http://127.0.0.1:15000` for moto |
//! | `access_key_id_env` / `access_key_id_file` | none | static credentials: where the key id lives |
//! | `secret_access_key_env` / `secret_access_key_file` | none | … and its secret (both or neither) |
//! | `session_token_env` / `session_token_file` | none | optional session token for static credentials |
//! | `profile` | none | named profile for the default chain (without static credentials) |
//! | `principal` | `GetUser` ARN, else `aws-iam:<access key id>` | actor recorded in evidence |
//! | `match` | `user_name` | `user_name` or `tag` |
//! | `tag_key` | `employee_id` | with `match = "tag"`: the tag holding the employee id |
//! | `sponsored` | `true` | look for users the person owns (a scan of all users per leaver) |
//! | `owner_tag_key` | `owner` | tag naming a sponsored user's owner |
//! | `user_scan` | `authorization_details` | how users and their tags are read for sponsored users and `match = "tag"`: `authorization_details` (`GetAccountAuthorizationDetails`, Filter=User: one call per page of users) or `list_user_tags` (`ListUsers` + one `ListUserTags` per user, 8 at a time: narrower permissions, but a call per user per leaver) |
//! | `access_keys` | `deactivate` | `deactivate` or `delete` (sponsored users' keys: always deactivate) |
//! | `ssh_keys` | `delete` | `delete` or `deactivate` |
//! | `signing_certs` | `delete` | `delete` or `deactivate` |
//! | `timeout_ms` | `10000` | per API call |
//!
//! Without `*_env`/`*_file` credentials the SDK's default chain is used (environment, profile,
//! web identity, ECS/IMDS). Secrets are never inline, and never formatted into errors or evidence.
//!
//! ```toml
//! [targets.cloud]
//! region = "us-east-1"
//! access_key_id_env = "REVOKE_AWS_ACCESS_KEY_ID"          # or omit both for the default chain
//! secret_access_key_env = "REVOKE_AWS_SECRET_ACCESS_KEY"  # or secret_access_key_file = "/run/secrets/aws"
//! match = "user_name"
//! owner_tag_key = "owner"
//! access_keys = "deactivate"
//! ```

mod policies;

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use aws_sdk_iam::config::{Credentials, ProvideCredentials};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{EntityType, StatusType};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use revoke_shared::secret::Secret;
use std::time::Duration;

const KNOWN_KEYS: &[&str] = &[
    "region",
    "endpoint_url",
    "access_key_id_env",
    "access_key_id_file",
    "secret_access_key_env",
    "secret_access_key_file",
    "session_token_env",
    "session_token_file",
    "profile",
    "principal",
    "match",
    "tag_key",
    "sponsored",
    "owner_tag_key",
    "user_scan",
    "access_keys",
    "ssh_keys",
    "signing_certs",
    "timeout_ms",
];

/// How many `ListUserTags` calls run at once during a scan.
const SCAN_CONCURRENCY: usize = 8;

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
    AccessKey {
        user: String,
        key_id: String,
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
    SshKey {
        user: String,
        key_id: String,
    },
    SigningCert {
        user: String,
        cert_id: String,
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

impl IamObject {
    pub fn kind(&self) -> &'static str {
        match self {
            IamObject::AccessKey { .. } => "access_key",
            IamObject::LoginProfile { .. } => "login_profile",
            IamObject::GroupMembership { .. } => "group_membership",
            IamObject::Mfa { .. } => "mfa_device",
            IamObject::SshKey { .. } => "ssh_key",
            IamObject::SigningCert { .. } => "signing_cert",
            IamObject::SponsoredUser { .. } => "sponsored_user_ownership",
            IamObject::ManagedPolicy { .. } => "managed_policy",
            IamObject::InlinePolicy { .. } => "inline_policy",
            IamObject::IssuedSessions { .. } => "issued_sessions",
        }
    }

    /// The object id recorded in evidence.
    pub fn id(&self) -> String {
        match self {
            IamObject::AccessKey { user, key_id } => format!("access_key/{user}/{key_id}"),
            IamObject::LoginProfile { user } => format!("login_profile/{user}"),
            IamObject::GroupMembership { group, user } => {
                format!("group_membership/{group}/{user}")
            }
            IamObject::Mfa { user, serial } => format!("mfa/{user}/{serial}"),
            IamObject::SshKey { user, key_id } => format!("ssh_key/{user}/{key_id}"),
            IamObject::SigningCert { user, cert_id } => format!("signing_cert/{user}/{cert_id}"),
            IamObject::SponsoredUser { user } => format!("sponsored_user/{user}"),
            IamObject::ManagedPolicy { user, arn } => format!("managed_policy/{user}/{arn}"),
            IamObject::InlinePolicy { user, name } => format!("inline_policy/{user}/{name}"),
            IamObject::IssuedSessions { user } => format!("issued_sessions/{user}"),
        }
    }

    /// The user whose footprint this is.
    pub fn user(&self) -> &str {
        match self {
            IamObject::AccessKey { user, .. }
            | IamObject::LoginProfile { user }
            | IamObject::GroupMembership { user, .. }
            | IamObject::Mfa { user, .. }
            | IamObject::SshKey { user, .. }
            | IamObject::SigningCert { user, .. }
            | IamObject::SponsoredUser { user }
            | IamObject::ManagedPolicy { user, .. }
            | IamObject::InlinePolicy { user, .. }
            | IamObject::IssuedSessions { user } => user,
        }
    }

    /// Parses an evidence pair back; None unless `kind` and `id` agree and every part is a valid
    /// IAM name or id (so a tampered or foreign id never reaches an API call).
    pub fn parse(kind: &str, id: &str) -> Option<IamObject> {
        let (prefix, rest) = id.split_once('/')?;
        let user_ok = |u: &str| iam_name_ok(u, 64);
        let two = |rest: &str| -> Option<(String, String)> {
            let (a, b) = rest.split_once('/')?;
            Some((a.to_string(), b.to_string()))
        };
        let obj = match prefix {
            "access_key" => {
                let (user, key_id) = two(rest)?;
                (user_ok(&user) && id_ok(&key_id))
                    .then_some(IamObject::AccessKey { user, key_id })?
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
            "ssh_key" => {
                let (user, key_id) = two(rest)?;
                (user_ok(&user) && id_ok(&key_id)).then_some(IamObject::SshKey { user, key_id })?
            }
            "signing_cert" => {
                let (user, cert_id) = two(rest)?;
                (user_ok(&user) && id_ok(&cert_id))
                    .then_some(IamObject::SigningCert { user, cert_id })?
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

/// What to do with a credential that can be either deactivated or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialPolicy {
    Deactivate,
    Delete,
}

impl CredentialPolicy {
    fn action(self) -> &'static str {
        match self {
            CredentialPolicy::Deactivate => "deactivate",
            CredentialPolicy::Delete => "delete",
        }
    }

    fn from_action(a: &str) -> Option<CredentialPolicy> {
        match a {
            "deactivate" => Some(CredentialPolicy::Deactivate),
            "delete" => Some(CredentialPolicy::Delete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    UserName,
    /// The user whose tag `key` equals the employee id.
    Tag {
        key: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserScan {
    ListUserTags,
    AuthorizationDetails,
}

/// How an SDK error reads for the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The named entity (user, key, group, profile, device) does not exist.
    NoSuchEntity,
    Class(ErrorClass),
}

/// Error codes IAM (and STS/the SDK) answer that are worth retrying.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "ServiceFailure",
    "ServiceFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "RequestTimeout",
    "RequestTimeoutException",
    "EntityTemporarilyUnmodifiable",
    "ConcurrentModification",
    "PriorRequestNotComplete",
    "IDPCommunicationError",
];

/// Error codes that will not get better by retrying.
const PERMANENT_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "OptInRequired",
    "ValidationError",
    "ValidationException",
    "InvalidInput",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "MalformedQueryString",
    "InvalidAction",
    "LimitExceeded",
    "UnmodifiableEntity",
    "DeleteConflict",
];

/// AWS's "slow down" answers: a rate limit, not an outage. AWS sends no `Retry-After`, so the
/// gate (when configured) slows down adaptively.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
];

/// Whether a service error is throttling (by its code, else an HTTP 429).
pub fn is_throttling(code: Option<&str>, status: Option<u16>) -> bool {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => true,
        _ => status == Some(429),
    }
}

/// Classifies a service error by its code, else by its HTTP status.
pub fn classify_error(code: Option<&str>, status: Option<u16>) -> Failure {
    match code {
        Some("NoSuchEntity") => Failure::NoSuchEntity,
        Some(c) if TRANSIENT_CODES.contains(&c) => Failure::Class(ErrorClass::Transient),
        Some(c) if PERMANENT_CODES.contains(&c) => Failure::Class(ErrorClass::Permanent),
        _ => Failure::Class(status.map_or(ErrorClass::Transient, classify_http_status)),
    }
}

/// What to check next, by error code.
fn hint(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "AccessDeniedException" => {
            " (check the revoker's IAM policy allows this action on this user)"
        }
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "UnrecognizedClientException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredToken"
        | "ExpiredTokenException" => {
            " (check the credentials named by access_key_id_*/secret_access_key_* or the default chain)"
        }
        _ => "",
    }
}

/// One user as a scan sees it.
#[derive(Debug, Clone)]
struct ScannedUser {
    name: String,
    arn: String,
    tags: Vec<(String, String)>,
}

impl ScannedUser {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A key, SSH key or certificate: its id and whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cred {
    id: String,
    status: Option<StatusType>,
}

impl Cred {
    fn active(&self) -> bool {
        self.status == Some(StatusType::Active)
    }
}

/// The values that name the person as an owner: username, email, employee id (non-empty, exact).
fn owner_names(who: &Identity) -> Vec<&str> {
    [
        who.username.as_deref(),
        who.email.as_deref(),
        Some(who.employee_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect()
}

/// The IAM user name an identity maps to with `match = "user_name"`: its username, else its
/// employee id; None when that cannot be an IAM user name.
pub fn user_name_of(who: &Identity) -> Option<&str> {
    let raw = who
        .username
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(&who.employee_id);
    iam_name_ok(raw, 64).then_some(raw)
}

fn holding(obj: &IamObject, sponsored: bool, action: &str) -> Holding {
    Holding {
        object_kind: obj.kind().to_string(),
        object_id: obj.id(),
        sponsored,
        action: action.to_string(),
    }
}

fn gone(detail: impl Into<String>) -> ReadBack {
    ReadBack {
        gone: true,
        detail: detail.into(),
        removed_at: None,
    }
}

fn present(detail: impl Into<String>) -> ReadBack {
    ReadBack {
        gone: false,
        detail: detail.into(),
        removed_at: None,
    }
}

const ABSENT: RevokeResult = RevokeResult::AlreadyAbsent { removed_at: None };
const REVOKED: RevokeResult = RevokeResult::Revoked { removed_at: None };

pub struct IamTarget {
    instance: String,
    client: aws_sdk_iam::Client,
    principal: String,
    /// The revoker's own user ARN (from `GetUser`), never revoked.
    self_arn: Option<String>,
    /// The revoker's own access key id, never deactivated.
    self_key_id: Option<String>,
    matching: Match,
    sponsored: bool,
    owner_tag_key: String,
    user_scan: UserScan,
    access_keys: CredentialPolicy,
    ssh_keys: CredentialPolicy,
    signing_certs: CredentialPolicy,
    /// Every user with its tags, listed once for a burst of leavers (see `scan::FreshScan`).
    users: super::scan::FreshScan<Vec<ScannedUser>>,
}

/// The parsed table (everything but the SDK client), kept separate so it can be unit-tested.
#[derive(Debug)]
pub(crate) struct Settings {
    region: String,
    endpoint_url: Option<String>,
    static_credentials: Option<(Secret, Secret, Option<Secret>)>,
    profile: Option<String>,
    principal: Option<String>,
    matching: Match,
    sponsored: bool,
    owner_tag_key: String,
    user_scan: UserScan,
    access_keys: CredentialPolicy,
    ssh_keys: CredentialPolicy,
    signing_certs: CredentialPolicy,
    timeout: Duration,
}

pub(crate) fn parse_settings(table: &toml::Table) -> Result<Settings, String> {
    let t = super::AdapterTable::new(table, TargetKind::Cloud, KNOWN_KEYS)?;
    let region = t.str("region")?.unwrap_or("us-east-1").to_string();
    if region.is_empty() {
        return Err("[targets.cloud] region must not be empty".into());
    }
    let endpoint_url = t
        .str("endpoint_url")?
        .map(|s| s.trim_end_matches('/').to_string());
    if let Some(u) = &endpoint_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(format!(
                "[targets.cloud] endpoint_url {u:?} must start with http:// or https://"
            ));
        }
    }
    let secret = |name: &str| -> Result<Option<Secret>, String> {
        let (env, file) = (
            t.str(&format!("{name}_env"))?,
            t.str(&format!("{name}_file"))?,
        );
        match (env, file) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(format!(
                "[targets.cloud] set {name}_env or {name}_file, not both"
            )),
            _ => Secret::from_env_or_file(env, file)
                .map(Some)
                .map_err(|e| format!("[targets.cloud] {name}: {e}")),
        }
    };
    let static_credentials = match (
        secret("access_key_id")?,
        secret("secret_access_key")?,
        secret("session_token")?,
    ) {
        (None, None, None) => None,
        (Some(id), Some(key), token) => Some((id, key, token)),
        _ => {
            return Err("[targets.cloud] static credentials need both access_key_id_env/_file and secret_access_key_env/_file (or neither, for the default chain)".into())
        }
    };
    let profile = t.str("profile")?.map(str::to_string);
    if profile.is_some() && static_credentials.is_some() {
        return Err("[targets.cloud] profile applies to the default chain: drop it or the static credentials".into());
    }
    let matching = match t.str("match")?.unwrap_or("user_name") {
        "user_name" => {
            if table.contains_key("tag_key") {
                return Err("[targets.cloud] tag_key applies to match = \"tag\" only".into());
            }
            Match::UserName
        }
        "tag" => {
            let key = t.str("tag_key")?.unwrap_or("employee_id").to_string();
            if key.is_empty() {
                return Err("[targets.cloud] tag_key must not be empty".into());
            }
            Match::Tag { key }
        }
        other => {
            return Err(format!(
                "[targets.cloud] match {other:?} must be \"user_name\" or \"tag\""
            ))
        }
    };
    let sponsored = match table.get("sponsored") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err("[targets.cloud] sponsored must be true or false".into()),
    };
    let owner_tag_key = t.str("owner_tag_key")?.unwrap_or("owner").to_string();
    if owner_tag_key.is_empty() {
        return Err("[targets.cloud] owner_tag_key must not be empty".into());
    }
    let user_scan = match t.str("user_scan")?.unwrap_or("authorization_details") {
        "list_user_tags" => UserScan::ListUserTags,
        "authorization_details" => UserScan::AuthorizationDetails,
        other => {
            return Err(format!(
                "[targets.cloud] user_scan {other:?} must be \"list_user_tags\" or \"authorization_details\""
            ))
        }
    };
    let policy = |key: &str, default: CredentialPolicy| -> Result<CredentialPolicy, String> {
        match t.str(key)? {
            None => Ok(default),
            Some(s) => CredentialPolicy::from_action(s).ok_or_else(|| {
                format!("[targets.cloud] {key} {s:?} must be \"deactivate\" or \"delete\"")
            }),
        }
    };
    let timeout_ms = match table.get("timeout_ms") {
        None => 10_000,
        Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
        Some(_) => return Err("[targets.cloud] timeout_ms must be a positive integer".into()),
    };
    Ok(Settings {
        region,
        endpoint_url,
        static_credentials,
        profile,
        principal: t.str("principal")?.map(str::to_string),
        matching,
        sponsored,
        owner_tag_key,
        user_scan,
        access_keys: policy("access_keys", CredentialPolicy::Deactivate)?,
        ssh_keys: policy("ssh_keys", CredentialPolicy::Delete)?,
        signing_certs: policy("signing_certs", CredentialPolicy::Delete)?,
        timeout: Duration::from_millis(timeout_ms),
    })
}

impl IamTarget {
    /// Builds the SDK client from `[targets.cloud]`, resolves the credentials once (a missing or
    /// unreadable credential is a config error now, not N failed cases) and, unless `principal`
    /// is configured, reads the revoker's own user (`GetUser`) as the actor.
    pub async fn from_table(table: &toml::Table, instance: &str) -> Result<IamTarget, String> {
        let s = parse_settings(table)?;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(s.timeout)
            .operation_timeout(s.timeout)
            .connect_timeout(s.timeout.min(Duration::from_secs(5)))
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(s.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(u) = &s.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        if let Some(p) = &s.profile {
            loader = loader.profile_name(p);
        }
        if let Some((id, key, token)) = &s.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                id.expose(),
                key.expose(),
                token.as_ref().map(|t| t.expose().to_string()),
                None,
                "revoke-config",
            ));
        }
        let sdk = loader.load().await;
        let provider = sdk
            .credentials_provider()
            .ok_or("[targets.cloud] no AWS credentials provider (set access_key_id_env and secret_access_key_env, or configure the default chain)")?;
        let creds = provider.provide_credentials().await.map_err(|e| {
            format!(
                "[targets.cloud] resolving AWS credentials: {} (set access_key_id_env/secret_access_key_env, or configure the default chain)",
                DisplayErrorContext(&e)
            )
        })?;
        let key_id = creds.access_key_id().to_string();
        let client = aws_sdk_iam::Client::new(&sdk);
        let mut target = IamTarget {
            instance: instance.to_string(),
            client,
            principal: String::new(),
            self_arn: None,
            self_key_id: Some(key_id.clone()).filter(|k| !k.is_empty()),
            matching: s.matching,
            sponsored: s.sponsored,
            owner_tag_key: s.owner_tag_key,
            user_scan: s.user_scan,
            access_keys: s.access_keys,
            ssh_keys: s.ssh_keys,
            signing_certs: s.signing_certs,
            users: Default::default(),
        };
        // The revoker's own user (so it is never revoked) and, by default, the actor.
        let doing = "reading the revoker's own IAM user (GetUser)";
        match target.client.get_user().send().await {
            Ok(out) => target.self_arn = out.user().map(|u| u.arn().to_string()),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_string();
                // Role or federated credentials have no user (ValidationError); a policy without
                // iam:GetUser on itself is fine too. Anything else (bad credentials, unreachable
                // endpoint) is a config error now.
                if !matches!(
                    code.as_str(),
                    "ValidationError" | "AccessDenied" | "AccessDeniedException"
                ) {
                    return Err(format!(
                        "[targets.cloud] checking the revoker's credentials: {}",
                        target.error(doing, e)
                    ));
                }
            }
        }
        target.principal = match s.principal {
            Some(p) => p,
            None => match &target.self_arn {
                Some(arn) => arn.clone(),
                None => format!("aws-iam:{key_id}"),
            },
        };
        Ok(target)
    }

    /// Classifies an SDK error: Ok(()) for NoSuchEntity, else the target error to return.
    fn classify<E>(&self, doing: &str, e: SdkError<E>) -> Result<(), TargetError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let failure = match &e {
            SdkError::ServiceError(_) => {
                classify_error(e.code(), e.raw_response().map(|r| r.status().as_u16()))
            }
            SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
                Failure::Class(ErrorClass::Transient)
            }
            SdkError::DispatchFailure(d) if d.is_user() => Failure::Class(ErrorClass::Permanent),
            SdkError::DispatchFailure(_) => Failure::Class(ErrorClass::Transient),
            _ => Failure::Class(ErrorClass::Permanent),
        };
        let msg = match &e {
            SdkError::ServiceError(_) => {
                let code = e.code().unwrap_or("error");
                format!(
                    "{doing} on IAM {}: {code} (HTTP {}): {}{}",
                    self.instance,
                    e.raw_response().map_or(0, |r| r.status().as_u16()),
                    e.message().unwrap_or_default(),
                    hint(code)
                )
            }
            _ => format!(
                "{doing} on IAM {}: {} (check endpoint_url, the network and timeout_ms)",
                self.instance,
                DisplayErrorContext(&e)
            ),
        };
        let throttled = matches!(e, SdkError::ServiceError(_))
            && is_throttling(e.code(), e.raw_response().map(|r| r.status().as_u16()));
        Err(match failure {
            Failure::NoSuchEntity => return Ok(()),
            _ if throttled => TargetError::rate_limited(msg, None),
            Failure::Class(ErrorClass::Transient) => TargetError::Transient(msg),
            Failure::Class(ErrorClass::Permanent) => TargetError::Permanent(msg),
            Failure::Class(ErrorClass::Ambiguous) => TargetError::Ambiguous(msg),
        })
    }

    /// An SDK error as a target error, NoSuchEntity included (Permanent: the caller expected it).
    fn error<E>(&self, doing: &str, e: SdkError<E>) -> TargetError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match self.classify(doing, e) {
            Err(t) => t,
            Ok(()) => {
                TargetError::Permanent(format!("{doing} on IAM {}: NoSuchEntity", self.instance))
            }
        }
    }

    /// Ok(Some(v)) on success, Ok(None) for NoSuchEntity, else the classified error.
    fn found<T, E>(&self, doing: &str, r: Result<T, SdkError<E>>) -> Result<Option<T>, TargetError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) => self.classify(doing, e).map(|()| None),
        }
    }

    /// `GetUser`: (name as IAM spells it, ARN), or None.
    async fn get_user(&self, name: &str) -> Result<Option<(String, String)>, TargetError> {
        let r = self.client.get_user().user_name(name).send().await;
        Ok(self.found("looking up the IAM user", r)?.and_then(|o| {
            o.user()
                .map(|u| (u.user_name().to_string(), u.arn().to_string()))
        }))
    }

    /// Every user with its tags.
    async fn scan_users(&self) -> Result<Vec<ScannedUser>, TargetError> {
        match self.user_scan {
            UserScan::AuthorizationDetails => {
                let mut pages = self
                    .client
                    .get_account_authorization_details()
                    .filter(EntityType::User)
                    .max_items(1000)
                    .into_paginator()
                    .send();
                let mut out = Vec::new();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        self.error("scanning users (GetAccountAuthorizationDetails)", e)
                    })?;
                    for u in page.user_detail_list() {
                        out.push(ScannedUser {
                            name: u.user_name().unwrap_or_default().to_string(),
                            arn: u.arn().unwrap_or_default().to_string(),
                            tags: u
                                .tags()
                                .iter()
                                .map(|t| (t.key().to_string(), t.value().to_string()))
                                .collect(),
                        });
                    }
                }
                Ok(out)
            }
            UserScan::ListUserTags => {
                let users = self
                    .client
                    .list_users()
                    .max_items(1000)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| self.error("scanning users (ListUsers)", e))?;
                let named: Vec<(String, String)> = users
                    .iter()
                    .map(|u| (u.user_name().to_string(), u.arn().to_string()))
                    .collect();
                let mut tagged: Vec<Result<Option<ScannedUser>, TargetError>> =
                    Vec::with_capacity(named.len());
                for chunk in named.chunks(SCAN_CONCURRENCY) {
                    tagged.extend(
                        futures::future::join_all(chunk.iter().map(|(name, arn)| async move {
                            let tags = self.user_tags(name).await?;
                            Ok(tags.map(|tags| ScannedUser {
                                name: name.clone(),
                                arn: arn.clone(),
                                tags,
                            }))
                        }))
                        .await,
                    );
                }
                let mut out = Vec::with_capacity(tagged.len());
                for t in tagged {
                    // A user deleted since ListUsers is simply not there.
                    if let Some(u) = t? {
                        out.push(u);
                    }
                }
                Ok(out)
            }
        }
    }

    /// A user's tags; None when the user does not exist.
    async fn user_tags(&self, user: &str) -> Result<Option<Vec<(String, String)>>, TargetError> {
        let r = self
            .client
            .list_user_tags()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        Ok(self.found("listing the user's tags", r)?.map(|tags| {
            tags.iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    }

    /// Access keys of `user` (empty when the user is gone).
    async fn access_keys_of(&self, user: &str) -> Result<Vec<Cred>, TargetError> {
        let r = self
            .client
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        Ok(self
            .found("listing access keys", r)?
            .unwrap_or_default()
            .iter()
            .filter_map(|k| {
                Some(Cred {
                    id: k.access_key_id()?.to_string(),
                    status: k.status().cloned(),
                })
            })
            .collect())
    }

    async fn has_login_profile(&self, user: &str) -> Result<bool, TargetError> {
        let r = self.client.get_login_profile().user_name(user).send().await;
        Ok(self.found("reading the login profile", r)?.is_some())
    }

    async fn groups_of(&self, user: &str) -> Result<Vec<String>, TargetError> {
        let r = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        Ok(self
            .found("listing the user's groups", r)?
            .unwrap_or_default()
            .iter()
            .map(|g| g.group_name().to_string())
            .collect())
    }

    async fn mfa_serials(&self, user: &str) -> Result<Vec<String>, TargetError> {
        let r = self
            .client
            .list_mfa_devices()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        Ok(self
            .found("listing MFA devices", r)?
            .unwrap_or_default()
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect())
    }

    async fn ssh_keys_of(&self, user: &str) -> Result<Vec<Cred>, TargetError> {
        let r = self
            .client
            .list_ssh_public_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        Ok(self
            .found("listing SSH public keys", r)?
            .unwrap_or_default()
            .iter()
            .map(|k| Cred {
                id: k.ssh_public_key_id().to_string(),
                status: Some(k.status().clone()),
            })
            .collect())
    }

    async fn signing_certs_of(&self, user: &str) -> Result<Vec<Cred>, TargetError> {
        let r = self
            .client
            .list_signing_certificates()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        Ok(self
            .found("listing signing certificates", r)?
            .unwrap_or_default()
            .iter()
            .map(|c| Cred {
                id: c.certificate_id().to_string(),
                status: Some(c.status().clone()),
            })
            .collect())
    }

    /// Everything the person's own user holds, in revocation order.
    ///
    /// Order: the credentials that can mint new sessions (access keys, the console login
    /// profile) go first, then the deny on sessions issued before now, then permissions (groups,
    /// managed and inline policies), then the rest. The deny comes right after the minting
    /// credentials, not before them: a deny written first would leave valid every session minted
    /// between its timestamp and the last key's deactivation; written after them, its timestamp
    /// covers every session the user can ever have had, and the window in which an existing
    /// session still works is only the few calls that switch the credentials off. Under partial
    /// failure (a key that would not deactivate) the deny is still written, marked provisional,
    /// and the next run rewrites it with a fresh timestamp once nothing can mint sessions (see
    /// `policies`), so re-runs converge on a deny that covers everything.
    async fn holdings_of(&self, user: &str) -> Result<Vec<Holding>, TargetError> {
        let (keys, profile, groups, mfa, ssh, certs, attached, inline) = futures::try_join!(
            self.access_keys_of(user),
            self.has_login_profile(user),
            self.groups_of(user),
            self.mfa_serials(user),
            self.ssh_keys_of(user),
            self.signing_certs_of(user),
            self.attached_policies(user),
            self.inline_policy_names(user),
        )?;
        let u = user.to_string();
        let mut out = Vec::new();
        for k in keys {
            let obj = IamObject::AccessKey {
                user: u.clone(),
                key_id: k.id,
            };
            out.push(holding(&obj, false, self.access_keys.action()));
        }
        if profile {
            out.push(holding(
                &IamObject::LoginProfile { user: u.clone() },
                false,
                "delete",
            ));
        }
        out.push(holding(
            &IamObject::IssuedSessions { user: u.clone() },
            false,
            policies::DENY_ACTION,
        ));
        for group in groups {
            let obj = IamObject::GroupMembership {
                group,
                user: u.clone(),
            };
            out.push(holding(&obj, false, "remove_membership"));
        }
        for arn in attached {
            let obj = IamObject::ManagedPolicy {
                user: u.clone(),
                arn,
            };
            out.push(holding(&obj, false, policies::DETACH_ACTION));
        }
        for name in inline {
            let obj = IamObject::InlinePolicy {
                user: u.clone(),
                name,
            };
            out.push(holding(&obj, false, policies::DELETE_INLINE_ACTION));
        }
        for serial in mfa {
            let obj = IamObject::Mfa {
                user: u.clone(),
                serial,
            };
            out.push(holding(&obj, false, "deactivate"));
        }
        for k in ssh {
            let obj = IamObject::SshKey {
                user: u.clone(),
                key_id: k.id,
            };
            out.push(holding(&obj, false, self.ssh_keys.action()));
        }
        for c in certs {
            let obj = IamObject::SigningCert {
                user: u.clone(),
                cert_id: c.id,
            };
            out.push(holding(&obj, false, self.signing_certs.action()));
        }
        Ok(out)
    }

    /// Whether `user` still exists and its owner tag still names the person.
    async fn still_owned_by(&self, user: &str, who: &Identity) -> Result<bool, TargetError> {
        let names = owner_names(who);
        Ok(self.user_tags(user).await?.is_some_and(|tags| {
            tags.iter()
                .any(|(k, v)| k == &self.owner_tag_key && names.contains(&v.as_str()))
        }))
    }

    /// The person's own IAM user (name, ARN) by the configured match, or None. `scan` is every
    /// user with its tags (needed for `match = "tag"` only).
    async fn person_in(
        &self,
        who: &Identity,
        scan: &[ScannedUser],
    ) -> Result<Option<(String, String)>, TargetError> {
        match &self.matching {
            Match::UserName => match user_name_of(who) {
                Some(n) => self.get_user(n).await,
                None => Ok(None),
            },
            Match::Tag { key } => {
                let want = who.employee_id.as_str();
                let mut hits: Vec<&ScannedUser> = if want.is_empty() {
                    Vec::new()
                } else {
                    scan.iter().filter(|u| u.tag(key) == Some(want)).collect()
                };
                hits.sort_by(|a, b| a.name.cmp(&b.name));
                match hits.as_slice() {
                    [] => Ok(None),
                    [one] => Ok(Some((one.name.clone(), one.arn.clone()))),
                    many => Err(TargetError::Ambiguous(format!(
                        "{} IAM users on {} carry tag {key}={want:?} ({}): a person must say which one is employee {want}; nothing was revoked",
                        many.len(),
                        self.instance,
                        many.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    }

    /// The person's own IAM user by the adapter's normal lookup (as `discover` finds it).
    async fn person(&self, who: &Identity) -> Result<Option<(String, String)>, TargetError> {
        let scan = match self.matching {
            Match::Tag { .. } => self.users.get(|| self.scan_users()).await?,
            Match::UserName => Default::default(),
        };
        self.person_in(who, &scan).await
    }

    /// Why `obj` is not `who`'s to get back, or None when it is: its user must be the person's
    /// own user (by the adapter's normal lookup), or — for a sponsored user's access key — a user
    /// whose owner tag still names the person.
    async fn not_theirs(
        &self,
        who: &Identity,
        obj: &IamObject,
    ) -> Result<Option<String>, TargetError> {
        if matches!(obj, IamObject::SponsoredUser { .. }) {
            return Ok(None); // never restored automatically: nothing is written
        }
        let user = obj.user();
        let person = self.person(who).await?;
        if person.as_ref().is_some_and(|(name, _)| name == user) {
            return Ok(None);
        }
        if matches!(obj, IamObject::AccessKey { .. }) && self.still_owned_by(user, who).await? {
            return Ok(None);
        }
        let theirs = person.map_or("no IAM user".to_string(), |(name, _)| {
            format!("IAM user {name}")
        });
        Ok(Some(format!(
            "{} {} names IAM user {user}, but employee {} is {theirs} on {} and does not own {user}: nothing changed",
            obj.kind(),
            obj.id(),
            who.employee_id,
            self.instance
        )))
    }

    /// The user an access key belongs to (`GetAccessKeyLastUsed`), None when no such key exists.
    async fn key_owner(&self, key_id: &str) -> Result<Option<String>, TargetError> {
        let r = self
            .client
            .get_access_key_last_used()
            .access_key_id(key_id)
            .send()
            .await;
        Ok(self
            .found("reading an access key's owner (GetAccessKeyLastUsed)", r)?
            .and_then(|o| o.user_name().map(str::to_string)))
    }

    fn parse(&self, kind: &str, id: &str) -> Result<IamObject, TargetError> {
        IamObject::parse(kind, id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{kind} {id:?} is not an IAM object this adapter names (expected e.g. access_key/<user>/<key id>)"
            ))
        })
    }

    fn refuse_self_key(&self, key_id: &str) -> Result<(), TargetError> {
        if self.self_key_id.as_deref() == Some(key_id) {
            return Err(TargetError::Permanent(format!(
                "refusing to deactivate access key {key_id}: it is the revoker's own credential on IAM {}",
                self.instance
            )));
        }
        Ok(())
    }

    async fn set_access_key(
        &self,
        user: &str,
        key_id: &str,
        status: StatusType,
        doing: &str,
    ) -> Result<bool, TargetError> {
        let r = self
            .client
            .update_access_key()
            .user_name(user)
            .access_key_id(key_id)
            .status(status)
            .send()
            .await;
        Ok(self.found(doing, r)?.is_some())
    }

    async fn set_ssh_key(
        &self,
        user: &str,
        key_id: &str,
        status: StatusType,
        doing: &str,
    ) -> Result<bool, TargetError> {
        let r = self
            .client
            .update_ssh_public_key()
            .user_name(user)
            .ssh_public_key_id(key_id)
            .status(status)
            .send()
            .await;
        Ok(self.found(doing, r)?.is_some())
    }

    async fn set_signing_cert(
        &self,
        user: &str,
        cert_id: &str,
        status: StatusType,
        doing: &str,
    ) -> Result<bool, TargetError> {
        let r = self
            .client
            .update_signing_certificate()
            .user_name(user)
            .certificate_id(cert_id)
            .status(status)
            .send()
            .await;
        Ok(self.found(doing, r)?.is_some())
    }

    /// Read-back of a credential that was deactivated or deleted.
    fn credential_read_back(what: &str, policy: CredentialPolicy, now: Option<&Cred>) -> ReadBack {
        match (now, policy) {
            (None, _) => gone(format!("{what} no longer listed")),
            (Some(c), CredentialPolicy::Deactivate) if !c.active() => {
                gone(format!("{what} status {}", status_str(c)))
            }
            (Some(c), CredentialPolicy::Deactivate) => {
                present(format!("{what} still {}", status_str(c)))
            }
            (Some(c), CredentialPolicy::Delete) => {
                present(format!("{what} still listed ({})", status_str(c)))
            }
        }
    }
}

fn status_str(c: &Cred) -> &str {
    c.status.as_ref().map_or("unknown", |s| s.as_str())
}

#[async_trait]
impl Target for IamTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Cloud
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        &self.principal
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        let scan = if self.sponsored || matches!(self.matching, Match::Tag { .. }) {
            self.users.get(|| self.scan_users()).await?
        } else {
            Default::default()
        };
        let person = self.person_in(who, &scan).await?;
        let mut out = Vec::new();
        if let Some((name, arn)) = &person {
            if self.self_arn.as_deref() == Some(arn.as_str()) {
                return Err(TargetError::Permanent(format!(
                    "IAM user {name} is the revoker's own user on {}: refusing to revoke it (check the identity mapping)",
                    self.instance
                )));
            }
            out.extend(self.holdings_of(name).await?);
        }
        if self.sponsored {
            let names = owner_names(who);
            let mut owned: Vec<&ScannedUser> = scan
                .iter()
                .filter(|u| person.as_ref().is_none_or(|(p, _)| p != &u.name))
                .filter(|u| {
                    u.tag(&self.owner_tag_key)
                        .is_some_and(|o| names.contains(&o))
                })
                .collect();
            owned.sort_by(|a, b| a.name.cmp(&b.name));
            let mut transfers = Vec::new();
            for u in owned {
                if self.self_arn.as_deref() != Some(u.arn.as_str()) {
                    for k in self.access_keys_of(&u.name).await? {
                        let obj = IamObject::AccessKey {
                            user: u.name.clone(),
                            key_id: k.id,
                        };
                        out.push(holding(&obj, true, "deactivate"));
                    }
                }
                let obj = IamObject::SponsoredUser {
                    user: u.name.clone(),
                };
                transfers.push(holding(&obj, true, "transfer_ownership"));
            }
            // Ownership transfers last: every sponsored key is deactivated before the escalation.
            out.extend(transfers);
        }
        Ok(out)
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        let obj = self.parse(&what.object_kind, &what.object_id)?;
        match &obj {
            IamObject::AccessKey { user, key_id } => {
                let policy = CredentialPolicy::from_action(&what.action).ok_or_else(|| {
                    TargetError::Permanent(format!(
                        "access key action {:?} is not deactivate or delete",
                        what.action
                    ))
                })?;
                let keys = self.access_keys_of(user).await?;
                let Some(key) = keys.iter().find(|k| &k.id == key_id) else {
                    return Ok(ABSENT);
                };
                self.refuse_self_key(key_id)?;
                let mut changed = false;
                if key.active() {
                    // Deactivate first, also before a delete: the key stops working at once.
                    changed |= self
                        .set_access_key(
                            user,
                            key_id,
                            StatusType::Inactive,
                            "deactivating an access key",
                        )
                        .await?;
                }
                if policy == CredentialPolicy::Delete {
                    let r = self
                        .client
                        .delete_access_key()
                        .user_name(user)
                        .access_key_id(key_id)
                        .send()
                        .await;
                    changed |= self.found("deleting an access key", r)?.is_some();
                }
                Ok(if changed { REVOKED } else { ABSENT })
            }
            IamObject::LoginProfile { user } => {
                let r = self
                    .client
                    .delete_login_profile()
                    .user_name(user)
                    .send()
                    .await;
                Ok(match self.found("deleting the login profile", r)? {
                    Some(_) => REVOKED,
                    None => ABSENT,
                })
            }
            IamObject::GroupMembership { group, user } => {
                if !self.groups_of(user).await?.contains(group) {
                    return Ok(ABSENT);
                }
                let r = self
                    .client
                    .remove_user_from_group()
                    .group_name(group)
                    .user_name(user)
                    .send()
                    .await;
                Ok(match self.found("removing the user from a group", r)? {
                    Some(_) => REVOKED,
                    None => ABSENT,
                })
            }
            IamObject::Mfa { user, serial } => {
                if !self.mfa_serials(user).await?.contains(serial) {
                    return Ok(ABSENT);
                }
                let r = self
                    .client
                    .deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(serial)
                    .send()
                    .await;
                Ok(match self.found("deactivating an MFA device", r)? {
                    Some(_) => REVOKED,
                    None => ABSENT,
                })
            }
            IamObject::SshKey { user, key_id } => {
                let policy = CredentialPolicy::from_action(&what.action).ok_or_else(|| {
                    TargetError::Permanent(format!(
                        "SSH key action {:?} is not deactivate or delete",
                        what.action
                    ))
                })?;
                let keys = self.ssh_keys_of(user).await?;
                let Some(key) = keys.iter().find(|k| &k.id == key_id) else {
                    return Ok(ABSENT);
                };
                let changed = match policy {
                    CredentialPolicy::Deactivate if !key.active() => false,
                    CredentialPolicy::Deactivate => {
                        self.set_ssh_key(
                            user,
                            key_id,
                            StatusType::Inactive,
                            "deactivating an SSH public key",
                        )
                        .await?
                    }
                    CredentialPolicy::Delete => {
                        let r = self
                            .client
                            .delete_ssh_public_key()
                            .user_name(user)
                            .ssh_public_key_id(key_id)
                            .send()
                            .await;
                        self.found("deleting an SSH public key", r)?.is_some()
                    }
                };
                Ok(if changed { REVOKED } else { ABSENT })
            }
            IamObject::SigningCert { user, cert_id } => {
                let policy = CredentialPolicy::from_action(&what.action).ok_or_else(|| {
                    TargetError::Permanent(format!(
                        "signing certificate action {:?} is not deactivate or delete",
                        what.action
                    ))
                })?;
                let certs = self.signing_certs_of(user).await?;
                let Some(cert) = certs.iter().find(|c| &c.id == cert_id) else {
                    return Ok(ABSENT);
                };
                let changed = match policy {
                    CredentialPolicy::Deactivate if !cert.active() => false,
                    CredentialPolicy::Deactivate => {
                        self.set_signing_cert(
                            user,
                            cert_id,
                            StatusType::Inactive,
                            "deactivating a signing certificate",
                        )
                        .await?
                    }
                    CredentialPolicy::Delete => {
                        let r = self
                            .client
                            .delete_signing_certificate()
                            .user_name(user)
                            .certificate_id(cert_id)
                            .send()
                            .await;
                        self.found("deleting a signing certificate", r)?.is_some()
                    }
                };
                Ok(if changed { REVOKED } else { ABSENT })
            }
            IamObject::SponsoredUser { user } => {
                if !self.still_owned_by(user, who).await? {
                    // Deleted, or re-tagged with a new owner: someone took it over.
                    return Ok(ABSENT);
                }
                Err(TargetError::Ambiguous(format!(
                    "IAM user {user} on {} is owned by the leaver (tag {}) and needs a new owner: its access keys were deactivated; a person must take it over (re-tag {} with the new owner) and re-activate what is still needed",
                    self.instance, self.owner_tag_key, self.owner_tag_key
                )))
            }
            IamObject::ManagedPolicy { user, arn } => self.detach_policy(user, arn).await,
            IamObject::InlinePolicy { user, name } => self.delete_inline_policy(user, name).await,
            IamObject::IssuedSessions { user } => self.deny_older_sessions(user).await,
        }
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        let obj = self.parse(&what.object_kind, &what.object_id)?;
        let policy =
            CredentialPolicy::from_action(&what.action).unwrap_or(CredentialPolicy::Deactivate);
        match &obj {
            IamObject::AccessKey { user, key_id } => {
                let keys = self.access_keys_of(user).await?;
                Ok(Self::credential_read_back(
                    "ListAccessKeys: key",
                    policy,
                    keys.iter().find(|k| &k.id == key_id),
                ))
            }
            IamObject::LoginProfile { user } => Ok(if self.has_login_profile(user).await? {
                present("GetLoginProfile: login profile still exists")
            } else {
                gone("GetLoginProfile: NoSuchEntity")
            }),
            IamObject::GroupMembership { group, user } => {
                Ok(if self.groups_of(user).await?.contains(group) {
                    present(format!("ListGroupsForUser: still in {group}"))
                } else {
                    gone(format!("ListGroupsForUser: not in {group}"))
                })
            }
            IamObject::Mfa { user, serial } => {
                Ok(if self.mfa_serials(user).await?.contains(serial) {
                    present("ListMFADevices: device still enabled for the user")
                } else {
                    gone("ListMFADevices: device no longer enabled for the user")
                })
            }
            IamObject::SshKey { user, key_id } => {
                let keys = self.ssh_keys_of(user).await?;
                Ok(Self::credential_read_back(
                    "ListSSHPublicKeys: key",
                    policy,
                    keys.iter().find(|k| &k.id == key_id),
                ))
            }
            IamObject::SigningCert { user, cert_id } => {
                let certs = self.signing_certs_of(user).await?;
                Ok(Self::credential_read_back(
                    "ListSigningCertificates: certificate",
                    policy,
                    certs.iter().find(|c| &c.id == cert_id),
                ))
            }
            IamObject::SponsoredUser { user } => Ok(if self.still_owned_by(user, who).await? {
                present(format!("{user} still tagged with the leaver as owner"))
            } else {
                gone(format!("{user} no longer owned by the leaver"))
            }),
            IamObject::ManagedPolicy { user, arn } => self.verify_detached(user, arn).await,
            IamObject::InlinePolicy { user, name } => self.verify_inline_deleted(user, name).await,
            IamObject::IssuedSessions { user } => self.verify_deny(user).await,
        }
    }

    /// Re-activates deactivated access keys, SSH keys and signing certificates, re-adds group
    /// memberships, re-attaches detached managed policies, puts deleted inline policies back from
    /// their saved copies and removes the deny on older sessions. Deleted credentials, deleted
    /// login profiles and deactivated MFA devices cannot come back.
    ///
    /// A restore is a grant and its evidence may be forged: before any write the object is
    /// re-checked at IAM as `who`'s (`not_theirs`, and per kind: the key is listed for that user,
    /// the policy was detached or saved for that user by this revoker). Otherwise `Refused`.
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        let obj = self.parse(&ev.object_kind, &ev.object_id)?;
        if let Some(reason) = self.not_theirs(who, &obj).await? {
            return Ok(RestoreResult::Refused { reason });
        }
        let irreversible = |reason: String| Ok(RestoreResult::Irreversible { reason });
        match (&obj, ev.action.as_str()) {
            (IamObject::AccessKey { user, key_id }, "deactivate") => {
                let keys = self.access_keys_of(user).await?;
                match keys.iter().find(|k| &k.id == key_id) {
                    None => match self.key_owner(key_id).await? {
                        Some(owner) if &owner != user => Ok(RestoreResult::Refused {
                            reason: format!(
                                "access key {key_id} belongs to IAM user {owner}, not {user}: nothing changed"
                            ),
                        }),
                        _ => irreversible(format!(
                            "access key {key_id} of {user} no longer exists; issue a new one"
                        )),
                    },
                    Some(k) if k.active() => Ok(RestoreResult::AlreadyPresent),
                    Some(_) => {
                        if self
                            .set_access_key(user, key_id, StatusType::Active, "re-activating an access key")
                            .await?
                        {
                            Ok(RestoreResult::Restored { restored_at: None })
                        } else {
                            irreversible(format!("access key {key_id} of {user} was deleted meanwhile"))
                        }
                    }
                }
            }
            (IamObject::AccessKey { user, key_id }, _) => irreversible(format!(
                "access key {key_id} of {user} was deleted; a deleted key cannot come back, issue a new one"
            )),
            (IamObject::LoginProfile { user }, _) => irreversible(format!(
                "the console login profile of {user} was deleted and its password is not kept; create a new login profile (with a reset required)"
            )),
            (IamObject::GroupMembership { group, user }, _) => {
                if self.groups_of(user).await?.contains(group) {
                    return Ok(RestoreResult::AlreadyPresent);
                }
                let r = self
                    .client
                    .add_user_to_group()
                    .group_name(group)
                    .user_name(user)
                    .send()
                    .await;
                match self.found("re-adding the user to a group", r)? {
                    Some(_) => Ok(RestoreResult::Restored { restored_at: None }),
                    None => irreversible(format!(
                        "group {group} or user {user} no longer exists"
                    )),
                }
            }
            (IamObject::Mfa { user, serial }, _) => irreversible(format!(
                "MFA device {serial} of {user} was deactivated; re-enabling needs two consecutive codes from the device, so the person enrols it again"
            )),
            (IamObject::SshKey { user, key_id }, "deactivate") => {
                let keys = self.ssh_keys_of(user).await?;
                match keys.iter().find(|k| &k.id == key_id) {
                    None => irreversible(format!("SSH key {key_id} of {user} no longer exists")),
                    Some(k) if k.active() => Ok(RestoreResult::AlreadyPresent),
                    Some(_) => {
                        if self
                            .set_ssh_key(user, key_id, StatusType::Active, "re-activating an SSH public key")
                            .await?
                        {
                            Ok(RestoreResult::Restored { restored_at: None })
                        } else {
                            irreversible(format!("SSH key {key_id} of {user} was deleted meanwhile"))
                        }
                    }
                }
            }
            (IamObject::SshKey { user, key_id }, _) => irreversible(format!(
                "SSH key {key_id} of {user} was deleted; the person uploads the public key again"
            )),
            (IamObject::SigningCert { user, cert_id }, "deactivate") => {
                let certs = self.signing_certs_of(user).await?;
                match certs.iter().find(|c| &c.id == cert_id) {
                    None => irreversible(format!(
                        "signing certificate {cert_id} of {user} no longer exists"
                    )),
                    Some(c) if c.active() => Ok(RestoreResult::AlreadyPresent),
                    Some(_) => {
                        if self
                            .set_signing_cert(
                                user,
                                cert_id,
                                StatusType::Active,
                                "re-activating a signing certificate",
                            )
                            .await?
                        {
                            Ok(RestoreResult::Restored { restored_at: None })
                        } else {
                            irreversible(format!(
                                "signing certificate {cert_id} of {user} was deleted meanwhile"
                            ))
                        }
                    }
                }
            }
            (IamObject::SigningCert { user, cert_id }, _) => irreversible(format!(
                "signing certificate {cert_id} of {user} was deleted; the person uploads it again"
            )),
            (IamObject::SponsoredUser { user }, _) => irreversible(format!(
                "ownership of {user} is a person's decision: nothing to undo automatically"
            )),
            (IamObject::ManagedPolicy { user, arn }, _) => self.reattach_policy(user, arn).await,
            (IamObject::InlinePolicy { user, name }, _) => {
                self.put_back_inline_policy(user, name).await
            }
            (IamObject::IssuedSessions { user }, _) => self.lift_deny(user).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::contract::IdentityKind;

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    fn who(username: Option<&str>, employee_id: &str) -> Identity {
        Identity {
            employee_id: employee_id.into(),
            email: None,
            username: username.map(str::to_string),
            kind: IdentityKind::Employee,
        }
    }

    #[test]
    fn names_follow_iams_pattern() {
        for good in [
            "ada",
            "a",
            "ada.lovelace",
            "ada@example.com",
            "e-100_2",
            "a+b=c,d",
            "..",
        ] {
            assert!(iam_name_ok(good, 64), "{good}");
        }
        for bad in [
            "*", "a*", "../bob", "a/b", "", "x)(uid=*", "\"", "../", "a b", "ädä", "a\nb",
        ] {
            assert!(!iam_name_ok(bad, 64), "{bad}");
        }
        assert!(iam_name_ok(&"a".repeat(64), 64));
        assert!(!iam_name_ok(&"a".repeat(65), 64));
        assert!(iam_name_ok(&"g".repeat(128), 128));
    }

    #[test]
    fn hostile_identities_name_no_user() {
        for bad in ["*", "a*", "x)(uid=*", "\"", "../", "../bob", "bob/.."] {
            assert_eq!(user_name_of(&who(Some(bad), "E1")), None, "{bad}");
        }
        assert_eq!(user_name_of(&who(Some("ada"), "E1")), Some("ada"));
        assert_eq!(user_name_of(&who(None, "E1")), Some("E1"));
        assert_eq!(user_name_of(&who(Some(""), "E1")), Some("E1"));
        assert_eq!(user_name_of(&who(None, "*")), None);
    }

    #[test]
    fn object_ids_round_trip() {
        let serial = "arn:aws:iam::123456789012:mfa/path/ada-phone".to_string();
        let objects = [
            IamObject::AccessKey {
                user: "ada".into(),
                key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            },
            IamObject::LoginProfile { user: "ada".into() },
            IamObject::GroupMembership {
                group: "admins".into(),
                user: "ada".into(),
            },
            IamObject::Mfa {
                user: "ada".into(),
                serial: serial.clone(),
            },
            IamObject::SshKey {
                user: "ada".into(),
                key_id: "APKAEIBAERJR2EXAMPLE".into(),
            },
            IamObject::SigningCert {
                user: "ada".into(),
                cert_id: "TA7SMP42TDN5Z26OBPJE7EXAMPLE".into(),
            },
            IamObject::SponsoredUser {
                user: "ci-bot".into(),
            },
            IamObject::ManagedPolicy {
                user: "ada".into(),
                arn: "arn:aws:iam::123456789012:policy/team/ro".into(),
            },
            IamObject::InlinePolicy {
                user: "ada".into(),
                name: "s3-read".into(),
            },
            IamObject::IssuedSessions { user: "ada".into() },
        ];
        for o in &objects {
            assert_eq!(
                IamObject::parse(o.kind(), &o.id()).as_ref(),
                Some(o),
                "{o:?}"
            );
        }
        assert_eq!(
            objects[2].id(),
            "group_membership/admins/ada",
            "names group and member"
        );
        assert_eq!(objects[3].id(), format!("mfa/ada/{serial}"));
        // Kind and id must agree; parts must be IAM names / ids.
        assert_eq!(
            IamObject::parse("login_profile", "access_key/ada/AKIA1"),
            None
        );
        for bad in [
            "access_key/ada",
            "access_key/a*/AKIA1",
            "access_key/ada/AKIA-1",
            "access_key/ada/AKIA1/x",
            "access_key//AKIA1",
            "nothing/ada",
            "access_key",
            "",
        ] {
            assert_eq!(IamObject::parse("access_key", bad), None, "{bad}");
        }
        assert_eq!(
            IamObject::parse("login_profile", "login_profile/../x"),
            None
        );
        assert_eq!(
            IamObject::parse("group_membership", "group_membership/g/a/b"),
            None
        );
        assert_eq!(IamObject::parse("mfa_device", "mfa/ada/short"), None);
        assert_eq!(
            IamObject::parse(
                "managed_policy",
                "managed_policy/ada/arn:aws:iam::1:user/bob"
            ),
            None
        );
        assert_eq!(
            IamObject::parse("inline_policy", "inline_policy/ada/a/b"),
            None
        );
        assert_eq!(IamObject::parse("mfa_device", "mfa/ada/arn:x mfa/y"), None);
    }

    #[test]
    fn errors_are_classified() {
        use ErrorClass::*;
        assert_eq!(
            classify_error(Some("NoSuchEntity"), Some(404)),
            Failure::NoSuchEntity
        );
        for c in [
            "Throttling",
            "ServiceFailure",
            "RequestLimitExceeded",
            "ConcurrentModification",
        ] {
            assert_eq!(
                classify_error(Some(c), Some(400)),
                Failure::Class(Transient),
                "{c}"
            );
        }
        for c in [
            "AccessDenied",
            "InvalidClientTokenId",
            "ValidationError",
            "SignatureDoesNotMatch",
            "LimitExceeded",
        ] {
            assert_eq!(
                classify_error(Some(c), Some(400)),
                Failure::Class(Permanent),
                "{c}"
            );
        }
        // Unknown codes fall back to the HTTP status.
        assert_eq!(
            classify_error(Some("Whatever"), Some(503)),
            Failure::Class(Transient)
        );
        assert_eq!(
            classify_error(Some("Whatever"), Some(429)),
            Failure::Class(Transient)
        );
        assert_eq!(
            classify_error(Some("Whatever"), Some(403)),
            Failure::Class(Permanent)
        );
        assert_eq!(classify_error(None, Some(500)), Failure::Class(Transient));
        assert_eq!(classify_error(None, None), Failure::Class(Transient));
        // Throttling is a rate limit (the gate slows down), other transient errors are not.
        assert!(is_throttling(Some("Throttling"), Some(400)));
        assert!(is_throttling(Some("RequestLimitExceeded"), Some(400)));
        assert!(is_throttling(Some("Whatever"), Some(429)));
        assert!(!is_throttling(Some("ServiceFailure"), Some(500)));
        assert!(!is_throttling(Some("LimitExceeded"), Some(409)));
        assert!(hint("AccessDenied").contains("policy"));
        assert!(hint("InvalidClientTokenId").contains("credentials"));
    }

    #[test]
    fn credential_read_back_follows_the_action() {
        let c = |s: StatusType| Cred {
            id: "K".into(),
            status: Some(s),
        };
        use CredentialPolicy::*;
        assert!(IamTarget::credential_read_back("k", Deactivate, None).gone);
        assert!(
            IamTarget::credential_read_back("k", Deactivate, Some(&c(StatusType::Inactive))).gone
        );
        assert!(
            !IamTarget::credential_read_back("k", Deactivate, Some(&c(StatusType::Active))).gone
        );
        assert!(IamTarget::credential_read_back("k", Delete, None).gone);
        assert!(!IamTarget::credential_read_back("k", Delete, Some(&c(StatusType::Inactive))).gone);
    }

    #[test]
    fn owner_names_are_exact_and_non_empty() {
        let mut w = who(Some("ada"), "E1");
        w.email = Some(String::new());
        assert_eq!(owner_names(&w), vec!["ada", "E1"]);
        w.email = Some("ada@example.com".into());
        assert_eq!(owner_names(&w), vec!["ada", "ada@example.com", "E1"]);
    }

    #[test]
    fn config_parses_and_rejects() {
        std::env::set_var("REVOKE_IAM_UNIT_KEY_ID", "AKIAUNITTEST");
        std::env::set_var("REVOKE_IAM_UNIT_SECRET", "unit-secret-value");
        let s = parse_settings(&table(
            "access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"\nsecret_access_key_env = \"REVOKE_IAM_UNIT_SECRET\"\nendpoint_url = \"http://127.0.0.1:15000/\"",
        ))
        .unwrap();
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:15000"));
        assert_eq!(s.matching, Match::UserName);
        assert!(s.sponsored);
        assert_eq!(s.owner_tag_key, "owner");
        assert_eq!(s.user_scan, UserScan::AuthorizationDetails);
        assert_eq!(s.access_keys, CredentialPolicy::Deactivate);
        assert_eq!(s.ssh_keys, CredentialPolicy::Delete);
        assert_eq!(s.signing_certs, CredentialPolicy::Delete);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert!(
            !format!("{s:?}").contains("unit-secret-value"),
            "Debug leaks the secret"
        );

        let s = parse_settings(&table(
            "match = \"tag\"\nowner_tag_key = \"sponsor\"\naccess_keys = \"delete\"\nssh_keys = \"deactivate\"\nuser_scan = \"list_user_tags\"\nsponsored = false\ntimeout_ms = 2500",
        ))
        .unwrap();
        assert_eq!(
            s.matching,
            Match::Tag {
                key: "employee_id".into()
            }
        );
        assert!(s.static_credentials.is_none());
        assert_eq!(s.access_keys, CredentialPolicy::Delete);
        assert_eq!(s.ssh_keys, CredentialPolicy::Deactivate);
        assert_eq!(s.user_scan, UserScan::ListUserTags);
        assert!(!s.sponsored);
        assert_eq!(s.timeout, Duration::from_millis(2500));

        for (bad, expect) in [
            ("secret_access_key = \"inline\"", "unknown key"),
            ("access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"", "both"),
            (
                "access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"\naccess_key_id_file = \"/x\"\nsecret_access_key_env = \"REVOKE_IAM_UNIT_SECRET\"",
                "not both",
            ),
            (
                "access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"\nsecret_access_key_env = \"REVOKE_IAM_UNSET_VAR\"",
                "REVOKE_IAM_UNSET_VAR",
            ),
            ("match = \"email\"", "match"),
            ("tag_key = \"emp\"", "tag_key"),
            ("access_keys = \"rotate\"", "access_keys"),
            ("endpoint_url = \"127.0.0.1:15000\"", "http"),
            ("timeout_ms = 0", "timeout_ms"),
            ("user_scan = \"all\"", "user_scan"),
            ("sponsored = \"yes\"", "sponsored"),
        ] {
            let e = parse_settings(&table(bad)).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(e.contains(expect), "{bad}: {e}");
            assert!(!e.contains("unit-secret-value"), "{e}");
        }
    }
}

//! The user's policies and the sessions it was already issued: managed policies are detached,
//! inline policies deleted (after saving their document at IAM), and every session issued before
//! the revocation is denied by the inline policy `AWSRevokeOlderSessions`.
//!
//! - Managed policy (`managed_policy/<user>/<policy arn>`, action `detach_policy`): before the
//!   detach, the user is tagged `revoke:detached:<digest of the ARN>` = the ARN. That tag is the
//!   target's own record that this revoker detached it from this user: a restore re-attaches only
//!   what the tag names (a forged evidence object naming some other policy is refused), then
//!   removes the tag. A tag that cannot be written (e.g. the user's 50 tags are used) does not stop
//!   the detach — access goes first; the restore is then refused and a person re-attaches.
//! - Inline policy (`inline_policy/<user>/<policy name>`, action `delete_inline_policy`): evidence
//!   carries no policy documents, so before the delete the document is saved at IAM as a customer
//!   managed policy `revoke-saved-<user>-<digest of user and policy name>` under the path
//!   `/revoke/saved/`, tagged `revoke:user` and `revoke:inline-policy`, attached to nothing. The
//!   name is derived from the object id, so restore finds it again; the tags are checked because
//!   a name is not proof of whose copy it is. If the save fails nothing is deleted. A restore puts
//!   the document back under its name and deletes the saved copy. A copy already there with another
//!   document (the policy was re-created and is revoked again) gets the new one as a new default
//!   version, so history is kept and auditable at IAM.
//! - Issued sessions (`issued_sessions/<user>`, action `deny_older_sessions`): the inline policy
//!   `AWSRevokeOlderSessions` (the name the console's "revoke active sessions" uses) denying every
//!   action on every resource when `aws:TokenIssueTime` is before the time of writing, rounded up to
//!   the next whole second (a session issued earlier in the same second must be covered too). It
//!   is written after the keys and the console password are off (see `holdings_of`); written while
//!   one of them can still mint sessions, its statement is marked provisional (`Sid`), the
//!   read-back does not count it as proof, and the next run rewrites it. A rescind deletes it:
//!   sessions issued before the revocation that have not expired work again.
//!   It is never treated as one of the user's inline policies to delete.

use super::errors::user_items;
use super::objects::{gone, present, ABSENT, REVOKED};
use super::IamTarget;
use crate::adapters::{ReadBack, RestoreResult, RevokeResult, TargetError};
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The console's name for the deny on older sessions.
pub const DENY_POLICY_NAME: &str = "AWSRevokeOlderSessions";
pub const DENY_ACTION: &str = "deny_older_sessions";
pub const DETACH_ACTION: &str = "detach_policy";
pub const DELETE_INLINE_ACTION: &str = "delete_inline_policy";
/// The statement id of a deny written once nothing could mint new sessions.
const SID_FINAL: &str = "RevokeOlderSessions";
/// … and of one written while a key or the console password was still usable.
const SID_PROVISIONAL: &str = "RevokeOlderSessionsProvisional";
/// Where saved copies of deleted inline policies live.
pub const SAVED_PATH: &str = "/revoke/saved/";
pub const TAG_SAVED_USER: &str = "revoke:user";
pub const TAG_SAVED_POLICY: &str = "revoke:inline-policy";
const DETACHED_TAG_PREFIX: &str = "revoke:detached:";

/// A managed policy ARN: `arn:<partition>:iam::<account or aws>:policy/<path><name>`.
pub fn policy_arn_ok(s: &str) -> bool {
    s.len() <= 2048
        && s.starts_with("arn:")
        && s.split(':').nth(2) == Some("iam")
        && s.split(':')
            .nth(5)
            .is_some_and(|r| r.starts_with("policy/"))
        && s.split(':').count() == 6
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/:".contains(&b))
}

/// The first 16 hex digits of SHA-256 over the parts, NUL-separated (so `a-b`+`c` ≠ `a`+`b-c`).
fn digest16(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The saved copy's policy name for `user`'s inline policy `policy` (at most 94 characters).
pub fn saved_name(user: &str, policy: &str) -> String {
    format!("revoke-saved-{user}-{}", digest16(&[user, policy]))
}

/// The user tag recording that this revoker detached `arn` from the user.
pub fn detached_tag_key(arn: &str) -> String {
    format!("{DETACHED_TAG_PREFIX}{}", digest16(&[arn]))
}

/// RFC 3986 percent-decoding, as IAM returns policy documents. None when not UTF-8 afterwards.
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match (b[i], b.get(i + 1).copied(), b.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(hex(h)? << 4 | hex(l)?);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The deny document: every action, every resource, for sessions issued before `before`.
pub fn deny_document(before: DateTime<Utc>, provisional: bool) -> String {
    let sid = if provisional {
        SID_PROVISIONAL
    } else {
        SID_FINAL
    };
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid,
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {
                "aws:TokenIssueTime": before.to_rfc3339_opts(SecondsFormat::Secs, true)
            }}
        }]
    })
    .to_string()
}

/// What an `AWSRevokeOlderSessions` document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deny {
    /// The deny-all this revoker writes, for sessions issued before `before`.
    Ours {
        before: DateTime<Utc>,
        provisional: bool,
    },
    /// Anything else (the console's own, or a hand-edited one).
    Other,
}

/// Reads a (decoded) deny document: exactly one statement, Deny on `*`/`*` with the condition.
pub fn read_deny(doc: &str) -> Deny {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) else {
        return Deny::Other;
    };
    let st = match &v["Statement"] {
        serde_json::Value::Array(a) if a.len() == 1 => &a[0],
        _ => return Deny::Other,
    };
    let star = |x: &serde_json::Value| {
        x == "*" || x.as_array().is_some_and(|a| a.len() == 1 && a[0] == "*")
    };
    let provisional = match st["Sid"].as_str() {
        Some(SID_FINAL) => false,
        Some(SID_PROVISIONAL) => true,
        _ => return Deny::Other,
    };
    if st["Effect"] != "Deny" || !star(&st["Action"]) || !star(&st["Resource"]) {
        return Deny::Other;
    }
    let cond = st["Condition"].as_object();
    if cond.is_none_or(|c| c.len() != 1) {
        return Deny::Other;
    }
    let lt = &st["Condition"]["DateLessThan"];
    if lt.as_object().is_none_or(|o| o.len() != 1) {
        return Deny::Other;
    }
    match lt["aws:TokenIssueTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    {
        Some(t) => Deny::Ours {
            before: t.with_timezone(&Utc),
            provisional,
        },
        None => Deny::Other,
    }
}

/// A saved copy of an inline policy as IAM shows it.
struct SavedCopy {
    user: Option<String>,
    policy: Option<String>,
    document: String,
}

impl SavedCopy {
    fn is_for(&self, user: &str, policy: &str) -> bool {
        self.user.as_deref() == Some(user) && self.policy.as_deref() == Some(policy)
    }
}

fn tag(key: &str, value: &str) -> Result<Tag, TargetError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| TargetError::Permanent(format!("building an IAM tag {key}: {e}")))
}

impl IamTarget {
    /// The ARNs of the managed policies attached to `user` (empty when the user is gone).
    pub(super) async fn attached_policies(&self, user: &str) -> Result<Vec<String>, TargetError> {
        let attached = user_items!(
            self,
            list_attached_user_policies,
            user,
            "listing the user's attached policies"
        )?;
        Ok(attached
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect())
    }

    /// The names of `user`'s inline policies, without the session deny (never deleted as one).
    pub(super) async fn inline_policy_names(&self, user: &str) -> Result<Vec<String>, TargetError> {
        let names = user_items!(
            self,
            list_user_policies,
            user,
            "listing the user's inline policies"
        )?;
        Ok(names
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n != DENY_POLICY_NAME)
            .collect())
    }

    /// The decoded document of `user`'s inline policy `name`, None when there is none.
    async fn inline_document(&self, user: &str, name: &str) -> Result<Option<String>, TargetError> {
        let r = self
            .client
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await;
        match self.found("reading an inline policy (GetUserPolicy)", r)? {
            None => Ok(None),
            Some(o) => url_decode(o.policy_document()).map(Some).ok_or_else(|| {
                TargetError::Permanent(format!(
                    "inline policy {name} of {user} on IAM {}: the document is not URL-encoded UTF-8",
                    self.instance
                ))
            }),
        }
    }

    async fn put_inline(&self, user: &str, name: &str, doc: &str) -> Result<bool, TargetError> {
        let r = self
            .client
            .put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(doc)
            .send()
            .await;
        Ok(self
            .found("writing an inline policy (PutUserPolicy)", r)?
            .is_some())
    }

    async fn delete_inline(&self, user: &str, name: &str) -> Result<bool, TargetError> {
        let r = self
            .client
            .delete_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await;
        Ok(self
            .found("deleting an inline policy (DeleteUserPolicy)", r)?
            .is_some())
    }

    /// The ARN of the saved copy of `user`'s inline policy `name` (the account from the user's
    /// own ARN); None when the user does not exist.
    async fn saved_arn(&self, user: &str, name: &str) -> Result<Option<String>, TargetError> {
        let Some((_, user_arn)) = self.get_user(user).await? else {
            return Ok(None);
        };
        let Some((head, _)) = user_arn.split_once(":user/") else {
            return Err(TargetError::Permanent(format!(
                "IAM user {user} on {} has an ARN without :user/ ({user_arn})",
                self.instance
            )));
        };
        Ok(Some(format!(
            "{head}:policy{SAVED_PATH}{}",
            saved_name(user, name)
        )))
    }

    /// The saved copy at `arn` (tags and default version's document), None when there is none.
    async fn saved_copy(&self, arn: &str) -> Result<Option<SavedCopy>, TargetError> {
        let r = self.client.get_policy().policy_arn(arn).send().await;
        let Some(p) = self
            .found("reading a saved policy copy (GetPolicy)", r)?
            .and_then(|o| o.policy)
        else {
            return Ok(None);
        };
        let tag_of = |k: &str| {
            p.tags()
                .iter()
                .find(|t| t.key() == k)
                .map(|t| t.value().to_string())
        };
        let version = p.default_version_id().unwrap_or("v1");
        let r = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await;
        let Some(raw) = self
            .found("reading a saved policy copy (GetPolicyVersion)", r)?
            .and_then(|o| o.policy_version)
            .and_then(|v| v.document)
        else {
            return Ok(None);
        };
        let document = url_decode(&raw).ok_or_else(|| {
            TargetError::Permanent(format!(
                "saved policy copy {arn} on IAM {}: the document is not URL-encoded UTF-8",
                self.instance
            ))
        })?;
        Ok(Some(SavedCopy {
            user: tag_of(TAG_SAVED_USER),
            policy: tag_of(TAG_SAVED_POLICY),
            document,
        }))
    }

    /// Saves `doc` as the copy of `user`'s inline policy `name` at `arn`; Ok only when IAM holds
    /// it (created now, already there with the same document, or added as a new version).
    async fn save_copy(
        &self,
        user: &str,
        name: &str,
        arn: &str,
        doc: &str,
    ) -> Result<(), TargetError> {
        let r = self
            .client
            .create_policy()
            .policy_name(saved_name(user, name))
            .path(SAVED_PATH)
            .policy_document(doc)
            .description(
                "Saved by revoke before deleting an inline policy (see tags); attach to nothing",
            )
            .tags(tag(TAG_SAVED_USER, user)?)
            .tags(tag(TAG_SAVED_POLICY, name)?)
            .send()
            .await;
        let doing = "saving an inline policy's document before deleting it (CreatePolicy)";
        match r {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some("EntityAlreadyExists") => {}
            Err(e) => return Err(self.error(doing, e)),
        }
        let Some(copy) = self.saved_copy(arn).await? else {
            return Err(TargetError::Transient(format!(
                "{doing} on IAM {}: {arn} exists yet cannot be read back",
                self.instance
            )));
        };
        if !copy.is_for(user, name) {
            return Err(TargetError::Permanent(format!(
                "{doing} on IAM {}: {arn} exists but is not tagged as the copy of {user}'s {name}; nothing deleted (a person should look)",
                self.instance
            )));
        }
        if copy.document == doc {
            return Ok(());
        }
        let r = self
            .client
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(doc)
            .set_as_default(true)
            .send()
            .await;
        r.map(|_| ()).map_err(|e| {
            self.error(
                "saving an inline policy's newer document as a new version (CreatePolicyVersion)",
                e,
            )
        })
    }

    /// Deletes a saved copy once its document is back (all versions, then the policy). A failure
    /// is logged, not returned: the access is already restored, and a copy left behind is
    /// harmless (attached to nothing) and visible under `/revoke/saved/`.
    async fn delete_saved(&self, arn: &str) {
        let versions = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await;
        if let Ok(v) = versions {
            for old in v.versions().iter().filter(|v| !v.is_default_version()) {
                if let Some(id) = old.version_id() {
                    let _ = self
                        .client
                        .delete_policy_version()
                        .policy_arn(arn)
                        .version_id(id)
                        .send()
                        .await;
                }
            }
        }
        if let Err(e) = self.client.delete_policy().policy_arn(arn).send().await {
            if e.code() != Some("NoSuchEntity") {
                tracing::warn!(policy = arn, error = %self.error("deleting a saved policy copy", e), "saved copy left behind after restore");
            }
        }
    }

    pub(super) async fn delete_inline_policy(
        &self,
        user: &str,
        name: &str,
    ) -> Result<RevokeResult, TargetError> {
        if name == DENY_POLICY_NAME {
            return Err(TargetError::Permanent(format!(
                "inline policy {name} of {user} is the deny on older sessions: not deleted as an inline policy"
            )));
        }
        let Some(doc) = self.inline_document(user, name).await? else {
            return Ok(ABSENT);
        };
        let Some(arn) = self.saved_arn(user, name).await? else {
            return Ok(ABSENT);
        };
        // No delete unless IAM holds the document: a failed save returns here.
        self.save_copy(user, name, &arn, &doc).await?;
        Ok(if self.delete_inline(user, name).await? {
            REVOKED
        } else {
            ABSENT
        })
    }

    pub(super) async fn verify_inline_deleted(
        &self,
        user: &str,
        name: &str,
    ) -> Result<ReadBack, TargetError> {
        Ok(match self.inline_document(user, name).await? {
            Some(_) => present(format!("GetUserPolicy: inline policy {name} still exists")),
            None => gone(format!(
                "GetUserPolicy: NoSuchEntity for {name} (document kept as {SAVED_PATH}{})",
                saved_name(user, name)
            )),
        })
    }

    pub(super) async fn put_back_inline_policy(
        &self,
        user: &str,
        name: &str,
    ) -> Result<RestoreResult, TargetError> {
        let refused = |reason: String| Ok(RestoreResult::Refused { reason });
        if name == DENY_POLICY_NAME {
            return refused(format!(
                "{name} is the deny on older sessions, never an inline policy this revoker deleted: nothing changed"
            ));
        }
        let Some(arn) = self.saved_arn(user, name).await? else {
            return refused(format!("IAM user {user} does not exist: nothing changed"));
        };
        let (current, saved) =
            futures::try_join!(self.inline_document(user, name), self.saved_copy(&arn))?;
        match (current, saved) {
            (Some(cur), Some(copy)) => {
                // An earlier restore that stopped before deleting the copy.
                if copy.is_for(user, name) && copy.document == cur {
                    self.delete_saved(&arn).await;
                }
                Ok(RestoreResult::AlreadyPresent)
            }
            (Some(_), None) => Ok(RestoreResult::AlreadyPresent),
            (None, None) => refused(format!(
                "no copy of inline policy {name} of {user} was saved by this revoker ({arn} does not exist): nothing changed"
            )),
            (None, Some(copy)) if !copy.is_for(user, name) => refused(format!(
                "{arn} is not tagged as the saved copy of {user}'s inline policy {name}: nothing changed"
            )),
            (None, Some(copy)) => {
                if !self.put_inline(user, name, &copy.document).await? {
                    return refused(format!("IAM user {user} no longer exists: nothing changed"));
                }
                self.delete_saved(&arn).await;
                Ok(RestoreResult::Restored { restored_at: None })
            }
        }
    }

    pub(super) async fn detach_policy(
        &self,
        user: &str,
        arn: &str,
    ) -> Result<RevokeResult, TargetError> {
        if !self.attached_policies(user).await?.iter().any(|a| a == arn) {
            return Ok(ABSENT);
        }
        // The record first, so a restore can prove the detach was ours. Only a transient failure
        // stops the detach (it is retried); otherwise access goes first.
        let r = self
            .client
            .tag_user()
            .user_name(user)
            .tags(tag(&detached_tag_key(arn), arn)?)
            .send()
            .await;
        if let Err(e) = r {
            let e = self.error("recording a detached policy on the user (TagUser)", e);
            if e.class() == revoke_shared::retry::ErrorClass::Transient {
                return Err(e);
            }
            tracing::warn!(user, policy = arn, error = %e, "detaching without a record: a rescind will not re-attach it");
        }
        let r = self
            .client
            .detach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await;
        Ok(match self.found("detaching a managed policy", r)? {
            Some(_) => REVOKED,
            None => ABSENT,
        })
    }

    pub(super) async fn verify_detached(
        &self,
        user: &str,
        arn: &str,
    ) -> Result<ReadBack, TargetError> {
        Ok(
            if self.attached_policies(user).await?.iter().any(|a| a == arn) {
                present(format!("ListAttachedUserPolicies: {arn} still attached"))
            } else {
                gone(format!("ListAttachedUserPolicies: {arn} not attached"))
            },
        )
    }

    async fn untag_detached(&self, user: &str, key: &str) {
        let r = self
            .client
            .untag_user()
            .user_name(user)
            .tag_keys(key)
            .send()
            .await;
        if let Err(e) = r {
            tracing::warn!(user, tag = key, error = %self.error("removing a detached-policy record", e), "record left on the user");
        }
    }

    pub(super) async fn reattach_policy(
        &self,
        user: &str,
        arn: &str,
    ) -> Result<RestoreResult, TargetError> {
        let key = detached_tag_key(arn);
        let (attached, tags) =
            futures::try_join!(self.attached_policies(user), self.user_tags(user))?;
        let recorded = tags
            .unwrap_or_default()
            .iter()
            .any(|(k, v)| k == &key && v == arn);
        if attached.iter().any(|a| a == arn) {
            if recorded {
                self.untag_detached(user, &key).await;
            }
            return Ok(RestoreResult::AlreadyPresent);
        }
        if !recorded {
            return Ok(RestoreResult::Refused {
                reason: format!(
                    "IAM shows no record that this revoker detached {arn} from {user} (user tag {key}): nothing changed"
                ),
            });
        }
        let r = self
            .client
            .attach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await;
        match self.found("re-attaching a managed policy", r)? {
            None => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "managed policy {arn} no longer exists; a person attaches its successor"
                ),
            }),
            Some(_) => {
                self.untag_detached(user, &key).await;
                Ok(RestoreResult::Restored { restored_at: None })
            }
        }
    }

    /// Whether `user` can still mint sessions: an active access key or a console password.
    async fn can_mint_sessions(&self, user: &str) -> Result<bool, TargetError> {
        let (keys, profile) =
            futures::try_join!(self.access_keys_of(user), self.has_login_profile(user))?;
        Ok(profile || keys.iter().any(|k| k.active()))
    }

    pub(super) async fn deny_older_sessions(
        &self,
        user: &str,
    ) -> Result<RevokeResult, TargetError> {
        let (minting, current) = futures::try_join!(
            self.can_mint_sessions(user),
            self.inline_document(user, DENY_POLICY_NAME)
        )?;
        let settled = matches!(
            current.as_deref().map(read_deny),
            Some(Deny::Ours {
                provisional: false,
                ..
            })
        );
        if settled && !minting {
            return Ok(ABSENT);
        }
        // Rounded up: `DateLessThan` at whole seconds must also cover this second's sessions.
        let now = Utc::now();
        let before = DateTime::from_timestamp(now.timestamp() + 1, 0).unwrap_or(now);
        Ok(
            if self
                .put_inline(user, DENY_POLICY_NAME, &deny_document(before, minting))
                .await?
            {
                REVOKED
            } else {
                ABSENT // the user is gone, and its sessions with it
            },
        )
    }

    pub(super) async fn verify_deny(&self, user: &str) -> Result<ReadBack, TargetError> {
        let Some(doc) = self.inline_document(user, DENY_POLICY_NAME).await? else {
            return Ok(present(format!(
                "GetUserPolicy: no {DENY_POLICY_NAME}: sessions issued earlier stay valid"
            )));
        };
        Ok(match read_deny(&doc) {
            Deny::Ours {
                before,
                provisional: false,
            } => gone(format!(
                "GetUserPolicy: {DENY_POLICY_NAME} denies everything to sessions issued before {}, written once no key or password could mint new ones",
                before.to_rfc3339_opts(SecondsFormat::Secs, true)
            )),
            Deny::Ours { before, .. } => present(format!(
                "GetUserPolicy: {DENY_POLICY_NAME} (before {}) was written while a key or password could still mint sessions; the next run rewrites it",
                before.to_rfc3339_opts(SecondsFormat::Secs, true)
            )),
            Deny::Other => present(format!(
                "GetUserPolicy: {DENY_POLICY_NAME} is not the deny-all document this revoker writes"
            )),
        })
    }

    pub(super) async fn lift_deny(&self, user: &str) -> Result<RestoreResult, TargetError> {
        let Some(doc) = self.inline_document(user, DENY_POLICY_NAME).await? else {
            return Ok(RestoreResult::AlreadyPresent);
        };
        if read_deny(&doc) == Deny::Other {
            return Ok(RestoreResult::Refused {
                reason: format!(
                    "{DENY_POLICY_NAME} on {user} was not written by this revoker (someone else denied the sessions): nothing changed"
                ),
            });
        }
        Ok(if self.delete_inline(user, DENY_POLICY_NAME).await? {
            RestoreResult::Restored { restored_at: None }
        } else {
            RestoreResult::AlreadyPresent
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_decode_and_the_deny_round_trips() {
        assert_eq!(
            url_decode("%7B%22a%22%3A%20%22s3%3AGet%2A%22%7D").as_deref(),
            Some("{\"a\": \"s3:Get*\"}")
        );
        assert_eq!(url_decode("a+b%2").as_deref(), Some("a+b%2"));
        assert_eq!(url_decode("%FF"), None);
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            read_deny(&deny_document(t, false)),
            Deny::Ours {
                before: t,
                provisional: false
            }
        );
        assert_eq!(
            read_deny(&deny_document(t, true)),
            Deny::Ours {
                before: t,
                provisional: true
            }
        );
        // The console's own document (no Sid), an Allow, an extra condition: not ours.
        for other in [
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-02T03:04:05Z"}}}}"#,
            r#"{"Statement":[{"Sid":"RevokeOlderSessions","Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-02T03:04:05Z"}}}]}"#,
            r#"{"Statement":[{"Sid":"RevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-02T03:04:05Z"},"Bool":{"aws:x":"true"}}}]}"#,
            r#"{"Statement":[{"Sid":"RevokeOlderSessions","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-02T03:04:05Z"}}}]}"#,
            "not json",
        ] {
            assert_eq!(read_deny(other), Deny::Other, "{other}");
        }
    }

    #[test]
    fn names_are_deterministic_and_unambiguous() {
        assert_eq!(saved_name("ada", "s3"), saved_name("ada", "s3"));
        assert_ne!(saved_name("a-b", "c"), saved_name("a", "b-c"));
        assert!(saved_name(&"u".repeat(64), &"p".repeat(128)).len() <= 128);
        assert!(super::super::iam_name_ok(
            &saved_name(&"u".repeat(64), "p"),
            128
        ));
        assert!(detached_tag_key("arn:aws:iam::123456789012:policy/x").len() <= 128);
        assert!(policy_arn_ok("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(policy_arn_ok("arn:aws:iam::123456789012:policy/team/ro"));
        for bad in [
            "arn:aws:iam::123456789012:user/ada",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::1:policy/a b",
            "policy/x",
            "arn:aws:iam::1:policy/x:y",
        ] {
            assert!(!policy_arn_ok(bad), "{bad}");
        }
    }
}

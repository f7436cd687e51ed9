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
//! Config `[targets.cloud]`: its keys, defaults and meanings are `settings::Settings`.
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
//!
//! Where things are: `settings` reads the table above and builds the client, `objects` names
//! what a user holds (and parses evidence ids back), `errors` classifies SDK errors,
//! `discovery` finds the person, their sponsored users and what each holds, `credentials`
//! switches and reads back keys and certificates, `policies` handles policies and sessions,
//! `restore` checks whose an object is before giving it back; this file holds the adapter and
//! its `Target` answers.

mod credentials;
mod discovery;
mod errors;
mod objects;
mod policies;
mod restore;
pub(crate) mod settings;
#[cfg(test)]
mod tests;

pub use credentials::{CredKind, CredentialPolicy};
pub use discovery::user_name_of;
pub use errors::{classify_error, is_throttling, Failure};
pub use objects::{iam_name_ok, IamObject};
#[cfg(test)]
pub(crate) use settings::parse_settings;
pub use settings::{Match, UserScan};

use super::{owner_names, Adapter, Held, ReadBack, RestoreResult, RevokeResult, TargetError};
use async_trait::async_trait;
use discovery::ScannedUser;
use objects::{gone, held, present, ABSENT};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};

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

/// What revoking a key or certificate means, from the holding's action.
fn credential_policy(what: &Held<IamObject>, noun: &str) -> Result<CredentialPolicy, TargetError> {
    CredentialPolicy::from_action(&what.action).ok_or_else(|| {
        TargetError::Permanent(format!(
            "{noun} action {:?} is not deactivate or delete",
            what.action
        ))
    })
}

#[async_trait]
impl Adapter for IamTarget {
    const KIND: TargetKind = TargetKind::Cloud;
    type Object = IamObject;

    fn names(&self) -> (&str, &str) {
        (&self.instance, &self.principal)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<IamObject>>, TargetError> {
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
                        let obj = IamObject::Credential {
                            cred: CredKind::AccessKey,
                            user: u.name.clone(),
                            id: k.id,
                        };
                        out.push(held(obj, true, "deactivate"));
                    }
                }
                let obj = IamObject::SponsoredUser {
                    user: u.name.clone(),
                };
                transfers.push(held(obj, true, "transfer_ownership"));
            }
            // Ownership transfers last: every sponsored key is deactivated before the escalation.
            out.extend(transfers);
        }
        Ok(out)
    }

    async fn revoke(
        &self,
        who: &Identity,
        what: &Held<IamObject>,
    ) -> Result<RevokeResult, TargetError> {
        let obj = &what.object;
        match obj {
            IamObject::Credential { cred, user, id } => {
                let policy = credential_policy(what, cred.name())?;
                self.revoke_cred(*cred, user, id, policy).await
            }
            IamObject::LoginProfile { user } => {
                let r = self
                    .client
                    .delete_login_profile()
                    .user_name(user)
                    .send()
                    .await;
                self.removed("deleting the login profile", r)
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
                self.removed("removing the user from a group", r)
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
                self.removed("deactivating an MFA device", r)
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

    async fn verify(
        &self,
        who: &Identity,
        what: &Held<IamObject>,
    ) -> Result<ReadBack, TargetError> {
        let obj = &what.object;
        let policy =
            CredentialPolicy::from_action(&what.action).unwrap_or(CredentialPolicy::Deactivate);
        match obj {
            IamObject::Credential { cred, user, id } => {
                let creds = self.creds_of(*cred, user).await?;
                Ok(Self::credential_read_back(
                    cred.listing(),
                    policy,
                    creds.iter().find(|c| &c.id == id),
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
        obj: &IamObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        if let Some(reason) = self.not_theirs(who, obj).await? {
            return Ok(RestoreResult::Refused { reason });
        }
        let irreversible = |reason: String| Ok(RestoreResult::Irreversible { reason });
        match (obj, ev.action.as_str()) {
            (IamObject::Credential { cred, user, id }, "deactivate") => {
                self.reactivate(*cred, user, id).await
            }
            (IamObject::Credential { cred, user, id }, _) => irreversible(format!(
                "{} {id} of {user} was deleted; {}",
                cred.name(),
                cred.after_delete()
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

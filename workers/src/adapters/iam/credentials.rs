//! Access keys, SSH public keys and signing certificates (`CredKind`): whether each is
//! deactivated or deleted (`CredentialPolicy`), revoking, re-activating and reading one back, and
//! the guard that keeps the revoker's own access key untouched.

use super::objects::{gone, present, ABSENT, REVOKED};
use super::IamTarget;
use crate::adapters::{ReadBack, RestoreResult, RevokeResult, TargetError};
use aws_sdk_iam::types::StatusType;

/// What to do with a credential that can be either deactivated or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialPolicy {
    Deactivate,
    Delete,
}

impl CredentialPolicy {
    pub(super) fn action(self) -> &'static str {
        match self {
            CredentialPolicy::Deactivate => "deactivate",
            CredentialPolicy::Delete => "delete",
        }
    }

    pub(super) fn from_action(a: &str) -> Option<CredentialPolicy> {
        match a {
            "deactivate" => Some(CredentialPolicy::Deactivate),
            "delete" => Some(CredentialPolicy::Delete),
            _ => None,
        }
    }
}

/// The three credentials IAM can switch off or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CredKind {
    AccessKey,
    SshKey,
    SigningCert,
}

impl CredKind {
    /// Its `object_kind`, also the first segment of its `object_id`.
    pub(super) fn kind(self) -> &'static str {
        match self {
            CredKind::AccessKey => "access_key",
            CredKind::SshKey => "ssh_key",
            CredKind::SigningCert => "signing_cert",
        }
    }

    pub(super) fn from_kind(kind: &str) -> Option<CredKind> {
        [CredKind::AccessKey, CredKind::SshKey, CredKind::SigningCert]
            .into_iter()
            .find(|c| c.kind() == kind)
    }

    /// What a message calls it: `SSH key AKIA… of ada`.
    pub(super) fn name(self) -> &'static str {
        match self {
            CredKind::AccessKey => "access key",
            CredKind::SshKey => "SSH key",
            CredKind::SigningCert => "signing certificate",
        }
    }

    /// What a call on one is doing: `deleting an SSH public key`.
    fn noun(self) -> &'static str {
        match self {
            CredKind::AccessKey => "an access key",
            CredKind::SshKey => "an SSH public key",
            CredKind::SigningCert => "a signing certificate",
        }
    }

    /// The listing a read-back names: `ListSSHPublicKeys: key`.
    pub(super) fn listing(self) -> &'static str {
        match self {
            CredKind::AccessKey => "ListAccessKeys: key",
            CredKind::SshKey => "ListSSHPublicKeys: key",
            CredKind::SigningCert => "ListSigningCertificates: certificate",
        }
    }

    /// What the person does once one is deleted.
    pub(super) fn after_delete(self) -> &'static str {
        match self {
            CredKind::AccessKey => "a deleted key cannot come back, issue a new one",
            CredKind::SshKey => "the person uploads the public key again",
            CredKind::SigningCert => "the person uploads it again",
        }
    }
}

/// A key, SSH key or certificate: its id and whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cred {
    pub(super) id: String,
    pub(super) status: Option<StatusType>,
}

impl Cred {
    pub(super) fn active(&self) -> bool {
        self.status == Some(StatusType::Active)
    }
}

fn status_str(c: &Cred) -> &str {
    c.status.as_ref().map_or("unknown", |s| s.as_str())
}

impl IamTarget {
    pub(super) fn refuse_self_key(&self, key_id: &str) -> Result<(), TargetError> {
        if self.self_key_id.as_deref() == Some(key_id) {
            return Err(TargetError::Permanent(format!(
                "refusing to deactivate access key {key_id}: it is the revoker's own credential on IAM {}",
                self.instance
            )));
        }
        Ok(())
    }

    /// The user's credentials of one kind.
    pub(super) async fn creds_of(
        &self,
        cred: CredKind,
        user: &str,
    ) -> Result<Vec<Cred>, TargetError> {
        match cred {
            CredKind::AccessKey => self.access_keys_of(user).await,
            CredKind::SshKey => self.ssh_keys_of(user).await,
            CredKind::SigningCert => self.signing_certs_of(user).await,
        }
    }

    /// Switches a credential on or off; false when IAM no longer has it.
    pub(super) async fn set_status(
        &self,
        cred: CredKind,
        user: &str,
        id: &str,
        status: StatusType,
    ) -> Result<bool, TargetError> {
        let verb = match status {
            StatusType::Active => "re-activating",
            _ => "deactivating",
        };
        let doing = format!("{verb} {}", cred.noun());
        let c = &self.client;
        Ok(match cred {
            CredKind::AccessKey => {
                let r = c.update_access_key().user_name(user).access_key_id(id);
                self.found(&doing, r.status(status).send().await)?.is_some()
            }
            CredKind::SshKey => {
                let r = c
                    .update_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(id);
                self.found(&doing, r.status(status).send().await)?.is_some()
            }
            CredKind::SigningCert => {
                let r = c
                    .update_signing_certificate()
                    .user_name(user)
                    .certificate_id(id);
                self.found(&doing, r.status(status).send().await)?.is_some()
            }
        })
    }

    /// Deletes a credential; false when it was already gone.
    pub(super) async fn delete_cred(
        &self,
        cred: CredKind,
        user: &str,
        id: &str,
    ) -> Result<bool, TargetError> {
        let doing = format!("deleting {}", cred.noun());
        let c = &self.client;
        Ok(match cred {
            CredKind::AccessKey => {
                let r = c.delete_access_key().user_name(user).access_key_id(id);
                self.found(&doing, r.send().await)?.is_some()
            }
            CredKind::SshKey => {
                let r = c
                    .delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(id);
                self.found(&doing, r.send().await)?.is_some()
            }
            CredKind::SigningCert => {
                let r = c
                    .delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(id);
                self.found(&doing, r.send().await)?.is_some()
            }
        })
    }

    /// Revokes one credential as `policy` says. An access key is deactivated first, also
    /// before a delete (it stops working at once), and never the revoker's own.
    pub(super) async fn revoke_cred(
        &self,
        cred: CredKind,
        user: &str,
        id: &str,
        policy: CredentialPolicy,
    ) -> Result<RevokeResult, TargetError> {
        let creds = self.creds_of(cred, user).await?;
        let Some(now) = creds.iter().find(|c| c.id == id) else {
            return Ok(ABSENT);
        };
        if cred == CredKind::AccessKey {
            self.refuse_self_key(id)?;
        }
        let mut changed = false;
        if now.active() && (policy == CredentialPolicy::Deactivate || cred == CredKind::AccessKey) {
            changed |= self
                .set_status(cred, user, id, StatusType::Inactive)
                .await?;
        }
        if policy == CredentialPolicy::Delete {
            changed |= self.delete_cred(cred, user, id).await?;
        }
        Ok(if changed { REVOKED } else { ABSENT })
    }

    /// Re-activates a deactivated credential. An access key no longer listed for `user` but
    /// existing under another user is refused: the evidence may be forged.
    pub(super) async fn reactivate(
        &self,
        cred: CredKind,
        user: &str,
        id: &str,
    ) -> Result<RestoreResult, TargetError> {
        let name = cred.name();
        let irreversible = |reason: String| Ok(RestoreResult::Irreversible { reason });
        let creds = self.creds_of(cred, user).await?;
        match creds.iter().find(|c| c.id == id) {
            None if cred == CredKind::AccessKey => match self.key_owner(id).await? {
                Some(owner) if owner != user => Ok(RestoreResult::Refused {
                    reason: format!(
                        "access key {id} belongs to IAM user {owner}, not {user}: nothing changed"
                    ),
                }),
                _ => irreversible(format!(
                    "{name} {id} of {user} no longer exists; issue a new one"
                )),
            },
            None => irreversible(format!("{name} {id} of {user} no longer exists")),
            Some(c) if c.active() => Ok(RestoreResult::AlreadyPresent),
            Some(_) => {
                if self.set_status(cred, user, id, StatusType::Active).await? {
                    Ok(RestoreResult::Restored { restored_at: None })
                } else {
                    irreversible(format!("{name} {id} of {user} was deleted meanwhile"))
                }
            }
        }
    }

    /// Read-back of a credential that was deactivated or deleted.
    pub(super) fn credential_read_back(
        what: &str,
        policy: CredentialPolicy,
        now: Option<&Cred>,
    ) -> ReadBack {
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

//! Access keys, SSH public keys and signing certificates: whether each is deactivated or
//! deleted (`CredentialPolicy`), switching their status, reading one back after a revocation, and
//! the guard that keeps the revoker's own access key untouched.

use super::objects::{gone, present};
use super::IamTarget;
use crate::adapters::{ReadBack, TargetError};
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

    pub(super) async fn set_access_key(
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

    pub(super) async fn set_ssh_key(
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

    pub(super) async fn set_signing_cert(
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

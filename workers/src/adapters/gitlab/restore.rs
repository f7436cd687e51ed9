//! Giving back what a GitLab revocation took, where GitLab can: unblocking the account and
//! re-adding memberships at their recorded level, only for the user the identity resolves to now
//! (the evidence may be forged). Tokens and keys cannot come back.

use super::client::Gitlab;
use super::objects::blocked;
use super::{GitlabTarget, Source};
use crate::adapters::user_check::UserCheck;
use crate::adapters::{RestoreResult, TargetError};
use reqwest::{Method, StatusCode};
use revoke_shared::contract::Identity;
use serde_json::json;

impl GitlabTarget {
    /// `None` when `user` is the GitLab user `who` resolves to now; otherwise the answer to give
    /// instead of restoring: `Refused` (another user, or `who` matches nobody while `user`
    /// exists), or `Irreversible` when `user` no longer exists at all.
    pub(super) async fn not_owned(
        &self,
        who: &Identity,
        user: u64,
    ) -> Result<Option<RestoreResult>, TargetError> {
        let resolved = self.find_user(who).await?.and_then(|u| u["id"].as_u64());
        if resolved == Some(user) {
            return Ok(None);
        }
        let u = user.to_string();
        let what = format!(
            "checking whose GitLab user {u} is on {} before restoring",
            self.instance
        );
        let exists = resolved.is_some() || self.get_opt(&["users", &u], &what).await?.is_some();
        let check = UserCheck {
            system: "GitLab",
            instance: &self.instance,
            lookup: self.match_attribute.name(),
            withheld: "nothing unblocked or re-added",
        };
        let resolved = resolved.map(|id| id.to_string());
        Ok(Some(check.not_theirs(who, &u, resolved.as_deref(), exists)))
    }

    pub(super) async fn restore_account(&self, user: u64) -> Result<RestoreResult, TargetError> {
        let u = user.to_string();
        let what = format!("unblocking GitLab user {u} on {}", self.instance);
        let Some(record) = self.get_opt(&["users", &u], &what).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!(
                    "GitLab user {u} no longer exists on {}; re-create it",
                    self.instance
                ),
            });
        };
        if !blocked(&record) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let a = self
            .call(
                Method::POST,
                self.url(&["users", &u, "unblock"]),
                None,
                &what,
            )
            .await?;
        match a.status {
            s if s.is_success() => Ok(RestoreResult::Restored {
                restored_at: a.date(),
            }),
            StatusCode::NOT_FOUND => Ok(RestoreResult::Irreversible {
                reason: format!("GitLab user {u} no longer exists on {}", self.instance),
            }),
            _ => Err(a.error::<Gitlab>(&what)),
        }
    }

    pub(super) async fn restore_membership(
        &self,
        source: Source,
        source_id: u64,
        user: u64,
        level: u32,
    ) -> Result<RestoreResult, TargetError> {
        let (sid, u) = (source_id.to_string(), user.to_string());
        let what = format!(
            "adding GitLab user {u} back to {} {sid} at access level {level} on {}",
            source.word(),
            self.instance
        );
        if self
            .get_opt(&[source.path(), &sid, "members", &u], &what)
            .await?
            .is_some()
        {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let a = self
            .call(
                Method::POST,
                self.url(&[source.path(), &sid, "members"]),
                Some(json!({ "user_id": user, "access_level": level })),
                &what,
            )
            .await?;
        match a.status {
            s if s.is_success() => Ok(RestoreResult::Restored {
                restored_at: a.date(),
            }),
            StatusCode::CONFLICT => Ok(RestoreResult::AlreadyPresent),
            StatusCode::NOT_FOUND => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "{} {sid} or user {u} no longer exists on gitlab {}",
                    source.word(),
                    self.instance
                ),
            }),
            _ => Err(a.error::<Gitlab>(&what)),
        }
    }
}

//! Giving back what a SCIM revocation took: re-activating the account and re-adding a group
//! membership, only for the user the identity resolves to now (the evidence may be forged). A
//! deleted account cannot come back.

use super::objects::{has_member, is_active, last_modified};
use super::ScimTarget;
use crate::adapters::http::Answer;
use crate::adapters::{RestoreResult, TargetError};
use revoke_shared::contract::Identity;
use serde_json::{json, Value};

impl ScimTarget {
    /// `None` when `uid` is the user `who` resolves to on this target; otherwise the answer to
    /// give instead of restoring: `Refused` (the user is someone else, or `who` matches nobody
    /// while `uid` still exists), or `Irreversible` when `uid` no longer exists at all.
    pub(super) async fn not_owned(
        &self,
        who: &Identity,
        uid: &str,
    ) -> Result<Option<RestoreResult>, TargetError> {
        let resolved = self.find_user(who).await?;
        let resolved_id = resolved
            .as_ref()
            .and_then(|u| u.get("id").and_then(Value::as_str));
        if resolved_id == Some(uid) {
            return Ok(None);
        }
        let what = format!(
            "checking whose SCIM user {uid} is on {} before restoring",
            self.instance
        );
        if resolved.is_none() && self.get("Users", uid, &what).await?.is_none() {
            return Ok(Some(self.user_gone(uid)));
        }
        Ok(Some(RestoreResult::Refused {
            reason: format!(
                "SCIM user {uid} is not {}'s user on {} ({}): nothing re-activated or re-added",
                who.employee_id,
                self.instance,
                match resolved_id {
                    Some(id) => format!(
                        "{} resolves to user {id}",
                        self.match_attribute.filter_path()
                    ),
                    None => format!(
                        "no user matches the identity's {}",
                        self.match_attribute.filter_path()
                    ),
                }
            ),
        }))
    }

    /// Re-activates a deactivated user (`PATCH active=true`); a deleted one cannot come back.
    pub(super) async fn restore_account(&self, uid: &str) -> Result<RestoreResult, TargetError> {
        let what = format!("re-activating SCIM user {uid} on {}", self.instance);
        let Some(user) = self.get("Users", uid, &what).await? else {
            return Ok(self.user_gone(uid));
        };
        if is_active(&user) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let op = json!({"op": "replace", "path": "active", "value": true});
        restored(&what, self.patch("Users", uid, op, &what).await?)
    }

    /// Adds the user back to the group (`PATCH add members`), unless the group or user is gone.
    pub(super) async fn restore_membership(
        &self,
        gid: &str,
        uid: &str,
    ) -> Result<RestoreResult, TargetError> {
        let what = format!(
            "adding SCIM user {uid} back to group {gid} on {}",
            self.instance
        );
        let Some(group) = self.get("Groups", gid, &what).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!("SCIM group {gid} no longer exists on {}", self.instance),
            });
        };
        if has_member(&group, uid) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        if self.get("Users", uid, &what).await?.is_none() {
            return Ok(self.user_gone(uid));
        }
        let op = json!({"op": "add", "path": "members", "value": [{"value": uid}]});
        restored(&what, self.patch("Groups", gid, op, &what).await?)
    }

    fn user_gone(&self, uid: &str) -> RestoreResult {
        RestoreResult::Irreversible {
            reason: format!("SCIM user {uid} no longer exists on {}", self.instance),
        }
    }
}

/// A restoring PATCH's answer: restored, when the server's record says (`meta.lastModified`).
fn restored(what: &str, a: Answer) -> Result<RestoreResult, TargetError> {
    let updated = ScimTarget::ok(what, a)?;
    Ok(RestoreResult::Restored {
        restored_at: last_modified(&updated),
    })
}

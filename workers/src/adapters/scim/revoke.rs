//! Revoking on the SCIM service: the account deactivated (`active=false`) or deleted, and a
//! group membership removed with a PATCH. Already inactive, deleted or not a member is
//! `AlreadyAbsent` without a write.

use super::objects::{escape_filter_value, has_member, is_active, last_modified};
use super::ScimTarget;
use crate::adapters::http::Answer;
use crate::adapters::{RevokeResult, TargetError};
use reqwest::{Method, StatusCode};
use serde_json::json;

impl ScimTarget {
    pub(super) async fn revoke_account(
        &self,
        uid: &str,
        action: &str,
    ) -> Result<RevokeResult, TargetError> {
        let what = format!("{action} SCIM user {uid} on {}", self.instance);
        if action == "delete" {
            let a = self
                .call(Method::DELETE, self.url(&["Users", uid]), None, &what)
                .await?;
            if a.status == StatusCode::NOT_FOUND {
                return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
            }
            Self::ok(&what, a)?;
            return Ok(RevokeResult::Revoked { removed_at: None });
        }
        let Some(user) = self.get("Users", uid, &what).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if !is_active(&user) {
            return Ok(RevokeResult::AlreadyAbsent {
                removed_at: last_modified(&user),
            });
        }
        let op = json!({"op": "replace", "path": "active", "value": false});
        revoked(&what, self.patch("Users", uid, op, &what).await?)
    }

    pub(super) async fn revoke_membership(
        &self,
        gid: &str,
        uid: &str,
    ) -> Result<RevokeResult, TargetError> {
        let what = format!(
            "removing SCIM user {uid} from group {gid} on {}",
            self.instance
        );
        // PATCH remove of a non-member succeeds silently on many servers: check first.
        let Some(group) = self.get("Groups", gid, &what).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if !has_member(&group, uid) {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        }
        let path = format!(
            "members[value eq \"{}\"]",
            escape_filter_value(uid).map_err(|e| TargetError::Permanent(format!("{what}: {e}")))?
        );
        let op = json!({"op": "remove", "path": path});
        revoked(&what, self.patch("Groups", gid, op, &what).await?)
    }
}

/// A revoking PATCH's answer: 404 is already absent (gone meanwhile); otherwise revoked, when
/// the server's record says (`meta.lastModified`).
fn revoked(what: &str, a: Answer) -> Result<RevokeResult, TargetError> {
    if a.status == StatusCode::NOT_FOUND {
        return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
    }
    let updated = ScimTarget::ok(what, a)?;
    Ok(RevokeResult::Revoked {
        removed_at: last_modified(&updated),
    })
}

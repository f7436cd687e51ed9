//! The checks a restore makes before it writes anything: that the object's user is the
//! person's own (by the adapter's normal lookup) or, for a sponsored user's access key, still
//! names the person as owner; and whose an access key is. The evidence may be forged.

use super::credentials::CredKind;
use super::{IamObject, IamTarget};
use crate::adapters::{ObjectRef, TargetError};
use revoke_shared::contract::Identity;

impl IamTarget {
    /// Why `obj` is not `who`'s to get back, or None when it is: its user must be the person's
    /// own user (by the adapter's normal lookup), or — for a sponsored user's access key — a user
    /// whose owner tag still names the person.
    pub(super) async fn not_theirs(
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
        if matches!(
            obj,
            IamObject::Credential {
                cred: CredKind::AccessKey,
                ..
            }
        ) && self.still_owned_by(user, who).await?
        {
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
    pub(super) async fn key_owner(&self, key_id: &str) -> Result<Option<String>, TargetError> {
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
}

//! Group memberships: a `member`/`uniqueMember` (DN) or `memberUid` (uid) value removed from a
//! group under `group_base_dn`, read back by the server's own matching, and re-added on restore.
//! A group whose schema needs a member keeps `last_member_placeholder` instead of going invalid.

use super::{eq_filter, modified_at, set, LdapTarget, Membership, MODIFIED};
use crate::adapters::{ReadBack, RestoreResult, RevokeResult, TargetError};
use ldap3::Mod;

impl LdapTarget {
    pub(super) async fn is_member(
        &self,
        attr: &str,
        group: &str,
        value: &str,
    ) -> Result<bool, TargetError> {
        let doing = format!("reading group {group} in directory {}", self.instance);
        self.session
            .matches(group, &eq_filter(attr, value), &doing)
            .await
    }

    pub(super) async fn remove_membership(
        &self,
        m: &Membership,
    ) -> Result<RevokeResult, TargetError> {
        let (attr, group, value) = (m.attribute, m.group.as_str(), m.value.as_str());
        let doing = format!(
            "removing {attr} {value} from group {group} in directory {}",
            self.instance
        );
        if !self.is_member(attr, group, value).await? {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        }
        let r = self
            .session
            .modify(group, vec![Mod::Delete(attr, set(value))], &doing)
            .await?;
        let r = if r.rc == 65 && attr != "memberUid" {
            // The group's schema requires a member and this was the last one: swap in the
            // placeholder in one modify, so the group never lists the leaver nor goes invalid.
            let p = self.last_member_placeholder.as_str();
            self.session
                .modify(
                    group,
                    vec![Mod::Add(attr, set(p)), Mod::Delete(attr, set(value))],
                    &doing,
                )
                .await?
        } else {
            r
        };
        match r.rc {
            0 => Ok(RevokeResult::Revoked { removed_at: None }),
            16 | 32 => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            _ => Err(self.session.result_error(&doing, &r)),
        }
    }

    pub(super) async fn verify_membership(&self, m: &Membership) -> Result<ReadBack, TargetError> {
        let (attr, group, value) = (m.attribute, m.group.as_str(), m.value.as_str());
        let doing = format!("reading group {group} back in directory {}", self.instance);
        let Some(g) = self.session.read(group, &[MODIFIED], &doing).await? else {
            return Ok(ReadBack {
                gone: true,
                detail: "group no longer exists".into(),
                removed_at: None,
            });
        };
        Ok(if self.is_member(attr, group, value).await? {
            ReadBack {
                gone: false,
                detail: format!("group still lists {attr} {value}"),
                removed_at: None,
            }
        } else {
            ReadBack {
                gone: true,
                detail: format!("group does not list {attr} {value}"),
                removed_at: modified_at(&g),
            }
        })
    }

    pub(super) async fn restore_membership(
        &self,
        m: &Membership,
    ) -> Result<RestoreResult, TargetError> {
        let (attr, group, value) = (m.attribute, m.group.as_str(), m.value.as_str());
        let doing = format!(
            "re-adding {attr} {value} to group {group} in directory {}",
            self.instance
        );
        if self.session.read(group, &["1.1"], &doing).await?.is_none() {
            return Ok(RestoreResult::Irreversible {
                reason: format!("group {group} no longer exists"),
            });
        }
        if self.is_member(attr, group, value).await? {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let p = self.last_member_placeholder.as_str();
        let placeholder_present = attr != "memberUid"
            && self
                .session
                .matches(group, &eq_filter(attr, p), &doing)
                .await
                .unwrap_or(false);
        let mut mods = vec![Mod::Add(attr, set(value))];
        if placeholder_present {
            mods.push(Mod::Delete(attr, set(p)));
        }
        let r = self.session.modify(group, mods, &doing).await?;
        match r.rc {
            0 => {}
            20 => return Ok(RestoreResult::AlreadyPresent),
            _ => return Err(self.session.result_error(&doing, &r)),
        }
        let at = self
            .session
            .read(group, &[MODIFIED], &doing)
            .await?
            .and_then(|g| modified_at(&g));
        Ok(RestoreResult::Restored { restored_at: at })
    }
}

//! Group memberships: each group under `group_base_dn` the person is in (`memberOf`, AD's own
//! back-link), named by the group's `objectGUID`; revoked by deleting the
//! person's DN — resolved from the person's GUID now, not the DN discovery saw — from the
//! group's `member` at `<GUID=…>`. Nested groups are left as they are. Read back: the group no
//! longer matches `(member=<DN>)`; `removed_at` is the group's `whenChanged` (AD does not change
//! the user's when a group loses it).

use super::discover::entry_guid;
use super::person::Person;
use super::syntax::guid_dn;
use super::AdTarget;
use crate::adapters::ldap::{dn_within, eq_filter, parse_generalized_time};
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use chrono::{DateTime, Utc};
use ldap3::{Mod, Scope};
use std::collections::HashSet;
use uuid::Uuid;

impl AdTarget {
    /// The GUIDs of the groups under `group_base_dn` that `p` is a member of: the groups this
    /// instance manages, the same a restore may re-add to.
    pub async fn groups_of(&self, p: &Person) -> Result<Vec<Uuid>, TargetError> {
        let mut out = Vec::with_capacity(p.member_of.len());
        for dn in p
            .member_of
            .iter()
            .filter(|dn| dn_within(dn, &self.group_base_dn))
        {
            let doing = format!("reading group {dn} in directory {}", self.instance);
            let Some(e) = self.session.read(dn, &["objectGUID"], &doing).await? else {
                continue; // deleted since: nothing to remove
            };
            out.extend(entry_guid(&e));
        }
        Ok(out)
    }

    /// The DN the object `guid` has now; `None` when it is gone.
    pub(super) async fn dn_now(
        &self,
        guid: &Uuid,
        doing: &str,
    ) -> Result<Option<String>, TargetError> {
        Ok(self
            .session
            .read(&guid_dn(guid), &["1.1"], doing)
            .await?
            .map(|e| e.dn))
    }

    /// Whether group `group` lists `member_dn`, and its `whenChanged`; `None` when it is gone.
    pub(super) async fn lists(
        &self,
        group: &Uuid,
        member_dn: &str,
        doing: &str,
    ) -> Result<Option<(bool, Option<DateTime<Utc>>)>, TargetError> {
        let Some(found) = self
            .session
            .search(
                &guid_dn(group),
                Scope::Base,
                "(objectClass=group)",
                &["whenChanged"],
                0,
                doing,
            )
            .await?
        else {
            return Ok(None);
        };
        let Some(e) = found.first() else {
            return Ok(None);
        };
        let changed = e
            .attrs
            .get("whenChanged")
            .and_then(|v| v.first())
            .and_then(|v| parse_generalized_time(v));
        let member = self
            .session
            .matches(&guid_dn(group), &eq_filter("member", member_dn), doing)
            .await?;
        Ok(Some((member, changed)))
    }

    /// Removes `member` from `group`. Not a member (or either gone): nothing written.
    pub async fn remove_membership(
        &self,
        group: &Uuid,
        member: &Uuid,
    ) -> Result<RevokeResult, TargetError> {
        let doing = format!(
            "removing {member} from group {group} in directory {}",
            self.instance
        );
        let Some(dn) = self.dn_now(member, &doing).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        match self.lists(group, &dn, &doing).await? {
            None => return Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            Some((false, changed)) => {
                return Ok(RevokeResult::AlreadyAbsent {
                    removed_at: changed,
                })
            }
            Some((true, _)) => {}
        }
        let r = self
            .session
            .modify(
                &guid_dn(group),
                vec![Mod::Delete("member", HashSet::from([dn.as_str()]))],
                &doing,
            )
            .await?;
        if r.rc != 0 {
            return Err(self.session.result_error(&doing, &r));
        }
        let changed = self.lists(group, &dn, &doing).await?.and_then(|(_, c)| c);
        Ok(RevokeResult::Revoked {
            removed_at: changed,
        })
    }

    /// Reads the membership back: gone when the group no longer lists the member's DN.
    pub async fn verify_membership(
        &self,
        group: &Uuid,
        member: &Uuid,
    ) -> Result<ReadBack, TargetError> {
        let doing = format!(
            "reading group {group} back for {member} in directory {}",
            self.instance
        );
        let Some(dn) = self.dn_now(member, &doing).await? else {
            return Ok(ReadBack {
                gone: true,
                detail: format!("member {member} no longer exists"),
                removed_at: None,
            });
        };
        Ok(match self.lists(group, &dn, &doing).await? {
            None => ReadBack {
                gone: true,
                detail: format!("group {group} no longer exists"),
                removed_at: None,
            },
            Some((listed, changed)) => ReadBack {
                gone: !listed,
                detail: format!(
                    "group {group} {} {dn}",
                    if listed {
                        "still lists"
                    } else {
                        "no longer lists"
                    }
                ),
                removed_at: changed,
            },
        })
    }
}

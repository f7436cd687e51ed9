//! What a person holds in Active Directory, in the order it is revoked (see `mod.rs`): the
//! account, its expiry, each group membership, the accounts the person sponsors, the password
//! (with `reset_password`) and the entry's place (with `disabled_ou`).

use super::objects::AdObject;
use super::password::already_reset;
use super::person::Person;
use super::syntax::guid_from_wire;
use super::AdTarget;
use crate::adapters::ldap::{case_ignore_eq, dn_eq, eq_filter, split_first_rdn};
use crate::adapters::{Held, TargetError};
use revoke_shared::contract::Identity;
use uuid::Uuid;

/// Entries a page when listing groups and sponsored accounts (AD's MaxPageSize is 1000).
const PAGE: i32 = 500;

impl AdTarget {
    /// Everything `who` holds here, as typed holdings.
    pub(super) async fn holdings(
        &self,
        who: &Identity,
    ) -> Result<Vec<Held<AdObject>>, TargetError> {
        let Some(p) = self.find_person(who).await? else {
            return Ok(Vec::new());
        };
        if self.is_revoker(&p) {
            return Err(TargetError::Permanent(format!(
                "identity {} is the revoker's own account {} in directory {}: refusing",
                who.employee_id, p.dn, self.instance
            )));
        }
        let guid = p.guid;
        let mut out = vec![
            Held::new(AdObject::Account { guid }, false, "disable"),
            Held::new(
                AdObject::Expiry {
                    guid,
                    before: p.account_expires,
                },
                false,
                "expire",
            ),
        ];
        for group in self.groups_listing(&p).await? {
            let m = AdObject::GroupMembership {
                group,
                member: guid,
            };
            out.push(Held::new(m, false, "remove_membership"));
        }
        for s in self.sponsored_by(&p).await? {
            out.push(Held::new(AdObject::Account { guid: s }, true, "disable"));
        }
        if self.reset_password && !already_reset(&p, chrono::Utc::now()) {
            let pw = AdObject::Password {
                guid,
                before: p.pwd_last_set,
            };
            out.push(Held::new(pw, false, "reset_password"));
        }
        if let Some(ou) = &self.disabled_ou {
            // Already in the disabled OU (an earlier run moved it): where it was is not known
            // any more, and there is nothing left to move.
            let parent = split_first_rdn(&p.dn).map(|(_, parent)| parent);
            if let Some(from) = parent.filter(|parent| !dn_eq(parent, ou)) {
                let at = AdObject::Location {
                    guid,
                    from: from.to_string(),
                };
                out.push(Held::new(at, false, "move"));
            }
        }
        Ok(out)
    }

    /// Whether `p` is the account this adapter binds as (`bind_dn`, a DN or a UPN).
    pub(super) fn is_revoker(&self, p: &Person) -> bool {
        let bind = &self.session.bind_dn;
        dn_eq(&p.dn, bind)
            || p.user_principal_name
                .as_deref()
                .is_some_and(|upn| case_ignore_eq(upn, bind))
    }

    /// The GUIDs of the groups listing `p`: its `memberOf` back-link, and a paged search for
    /// `(member=<DN>)` under `group_base_dn` (the same groups in a healthy directory; the union
    /// misses none when one of them lags), each once.
    async fn groups_listing(&self, p: &Person) -> Result<Vec<Uuid>, TargetError> {
        let mut out = self.groups_of(p).await?;
        let doing = format!(
            "listing groups with member {} under {} in directory {}",
            p.dn, self.group_base_dn, self.instance
        );
        let filter = format!("(&(objectClass=group){})", eq_filter("member", &p.dn));
        let found = self
            .session
            .search_paged(&self.group_base_dn, &filter, &["objectGUID"], PAGE, &doing)
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("{doing}: group_base_dn does not exist"))
            })?;
        for g in found.iter().filter_map(entry_guid) {
            if !out.contains(&g) {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// What a sponsored account of the person at `dn` matches: `sponsored_filter`, and an owner
    /// attribute naming `dn`.
    pub(super) fn sponsored_by_filter(&self, dn: &str) -> String {
        let owners: String = self
            .owner_attributes
            .iter()
            .map(|a| eq_filter(a, dn))
            .collect();
        format!("(&{}(|{owners}))", self.sponsored_filter)
    }

    /// The objects `p` sponsors: under `base_dn`, matching `sponsored_filter`, an owner
    /// attribute naming `p`'s DN; never `p` itself nor the revoker.
    async fn sponsored_by(&self, p: &Person) -> Result<Vec<Uuid>, TargetError> {
        if self.owner_attributes.is_empty() {
            return Ok(Vec::new());
        }
        let filter = self.sponsored_by_filter(&p.dn);
        let doing = format!(
            "listing accounts sponsored by {} in directory {}",
            p.dn, self.instance
        );
        let found = self
            .session
            .search_paged(
                &self.base_dn,
                &filter,
                &["objectGUID", "userPrincipalName"],
                PAGE,
                &doing,
            )
            .await?
            .ok_or_else(|| TargetError::Permanent(format!("{doing}: base_dn does not exist")))?;
        let bind = &self.session.bind_dn;
        let revoker = |e: &ldap3::SearchEntry| {
            dn_eq(&e.dn, bind)
                || e.attrs
                    .get("userPrincipalName")
                    .is_some_and(|v| v.iter().any(|upn| case_ignore_eq(upn, bind)))
        };
        Ok(found
            .iter()
            .filter(|e| !dn_eq(&e.dn, &p.dn) && !revoker(e))
            .filter_map(entry_guid)
            .collect())
    }
}

/// The `objectGUID` an entry was read with.
pub(super) fn entry_guid(e: &ldap3::SearchEntry) -> Option<Uuid> {
    e.bin_attrs
        .get("objectGUID")
        .and_then(|v| v.first())
        .and_then(|b| guid_from_wire(b))
}

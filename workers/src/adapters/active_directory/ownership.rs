//! A restore is a grant, and its request may be forged: before anything is written the adapter
//! shows at the directory that the object is the person's. `who` is looked up exactly as for a
//! revocation (`find_person`), then:
//!
//! - the account, its expiry, its password and its place are the person's own entry: the GUID
//!   in the evidence is the GUID of the entry the lookup finds now;
//! - a sponsored account is an object under `base_dn` that `sponsored_filter` and an
//!   `owner_attributes` value naming the person's DN still make theirs — and is given back only
//!   while no other sponsor it names is revoked here (disabled, or gone): one sponsor's rescind
//!   must not undo what another's termination took (`Withheld`);
//! - a membership is the person's own GUID, in a group under `group_base_dn` (the only groups a
//!   revocation removes anyone from) — and not one of AD's privileged groups
//!   (`isCriticalSystemObject`, or `adminCount` set by AdminSDHolder): those a person re-adds
//!   (`Withheld`).
//!
//! Anything else is `Refused` with the reason, and nothing is written.

use super::person::Person;
use super::syntax::{guid_dn, is_disabled};
use super::AdTarget;
use crate::adapters::ldap::{dn_eq, dn_within};
use crate::adapters::TargetError;
use revoke_shared::contract::Identity;
use uuid::Uuid;

/// What the ownership check found.
pub(super) enum Owned {
    /// The person's: go on.
    Yes,
    /// Not shown to be the person's: refuse, with the reason.
    No(String),
    /// The person's, but it stays as it is until a person decides, with the reason.
    Withheld(String),
    /// There is nothing to give back any more (deleted), with the reason.
    Gone(String),
}

impl AdTarget {
    /// The person `who` names now, or why a restore has no one to give anything back to.
    pub(super) async fn owner(
        &self,
        who: &Identity,
    ) -> Result<Result<Person, String>, TargetError> {
        Ok(match self.find_person(who).await {
            Ok(Some(p)) if self.is_revoker(&p) => Err(format!(
                "identity {} is the revoker's own account in directory {}",
                who.employee_id, self.instance
            )),
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(format!(
                "identity {} has no account in directory {} to give it back to",
                who.employee_id, self.instance
            )),
            // Two entries match: nobody can say whose the object is.
            Err(TargetError::Ambiguous(m)) => Err(m),
            Err(e) => return Err(e),
        })
    }

    /// Whether the object `guid` is `p`'s own entry.
    pub(super) fn own(&self, who: &Identity, p: &Person, guid: &Uuid, what: &str) -> Owned {
        if *guid == p.guid {
            Owned::Yes
        } else {
            Owned::No(format!(
                "{what} {guid} is not identity {}'s account ({} is, {}) in directory {}",
                who.employee_id, p.guid, p.dn, self.instance
            ))
        }
    }

    /// Whether `guid` is an account `p` sponsors, and no other sponsor of it is revoked here.
    pub(super) async fn sponsored_owner(
        &self,
        who: &Identity,
        p: &Person,
        guid: &Uuid,
    ) -> Result<Owned, TargetError> {
        let doing = format!(
            "checking that {guid} is sponsored by {} in directory {}",
            p.dn, self.instance
        );
        let mut attrs: Vec<&str> = self.owner_attributes.iter().map(String::as_str).collect();
        attrs.push("objectGUID");
        let Some(e) = self.session.read(&guid_dn(guid), &attrs, &doing).await? else {
            return Ok(Owned::Gone(format!("account {guid} no longer exists")));
        };
        let filter = self.sponsored_by_filter(&p.dn);
        let theirs = !self.owner_attributes.is_empty()
            && dn_within(&e.dn, &self.base_dn)
            && self
                .session
                .matches(&guid_dn(guid), &filter, &doing)
                .await?;
        if !theirs {
            return Ok(Owned::No(format!(
                "{} ({guid}) is not an account identity {} sponsors in directory {}",
                e.dn, who.employee_id, self.instance
            )));
        }
        // Every other sponsor it names: one revoked here keeps it disabled.
        let others: Vec<&String> = self
            .owner_attributes
            .iter()
            .filter_map(|a| e.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(a)))
            .flat_map(|(_, v)| v)
            .filter(|dn| !dn_eq(dn, &p.dn))
            .collect();
        for other in others {
            let revoked = match self
                .session
                .read(other, &["userAccountControl"], &doing)
                .await?
            {
                None => true,
                Some(o) => o
                    .attrs
                    .get("userAccountControl")
                    .and_then(|v| v.first())
                    .and_then(|v| v.parse::<u32>().ok())
                    .is_some_and(is_disabled),
            };
            if revoked {
                return Ok(Owned::Withheld(format!(
                    "{} is sponsored by {other} too, whose account is disabled or gone in directory {}: it stays disabled until a person decides",
                    e.dn, self.instance
                )));
            }
        }
        Ok(Owned::Yes)
    }

    /// Whether `group` may take a member back: a group under `group_base_dn`, not a privileged
    /// one.
    pub(super) async fn group_owner(
        &self,
        group: &Uuid,
        doing: &str,
    ) -> Result<Owned, TargetError> {
        let Some(found) = self
            .session
            .search(
                &guid_dn(group),
                ldap3::Scope::Base,
                "(objectClass=group)",
                &["isCriticalSystemObject", "adminCount"],
                0,
                doing,
            )
            .await?
        else {
            return Ok(Owned::Gone(format!("group {group} no longer exists")));
        };
        let Some(g) = found.first() else {
            return Ok(Owned::No(format!(
                "{group} is not a group in directory {}",
                self.instance
            )));
        };
        if !dn_within(&g.dn, &self.group_base_dn) {
            return Ok(Owned::No(format!(
                "group {} is outside group_base_dn {} in directory {}: no revocation removes anyone from it",
                g.dn, self.group_base_dn, self.instance
            )));
        }
        let first = |a: &str| g.attrs.get(a).and_then(|v| v.first()).map(String::as_str);
        let critical =
            first("isCriticalSystemObject").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        let protected = first("adminCount").is_some_and(|v| v != "0");
        if critical || protected {
            return Ok(Owned::Withheld(format!(
                "group {} is one of Active Directory's privileged groups ({}): a person re-adds members to it",
                g.dn,
                if protected { "adminCount set" } else { "isCriticalSystemObject" }
            )));
        }
        Ok(Owned::Yes)
    }
}

//! A restore is a grant, and its request may be forged: before it writes anything the adapter
//! shows at the directory that the object is the person's. `who` is resolved with the same exact
//! lookup as a revocation (people base and disabled OU, see `person`), then:
//!
//! - a membership comes back only into a group under `group_base_dn` (the only groups a
//!   revocation removes anyone from), and only with the person's own value: their entry's DN for
//!   `member`/`uniqueMember` (compared as DNs: attribute types and values without case, spaces
//!   around separators ignored), one of their `uid` values for `memberUid` (exactly:
//!   `caseExactIA5Match`);
//! - an unlock acts only on the person's own entry (the DN in the evidence, or that DN moved
//!   into or out of the disabled OU: the entry where it is now), or on an entry under
//!   `sponsored_base_dn` that `sponsored_filter` and an `owner_attributes` value naming the
//!   person's DN still make theirs;
//! - a move back takes only the person's entry, only out of the configured disabled OU and only
//!   to a place under `base_dn`.
//!
//! Anything else is `Refused` with the reason, and nothing is written.
//!
//! A sponsored account that names other sponsors too is given back only while none of them is
//! revoked here (`revoked_co_sponsor`): their entry locked for good, moved into the disabled OU,
//! or gone. One sponsor's rescind must not undo what another sponsor's termination took; such an
//! account stays locked (`Withheld`) and a person decides.

use super::{
    dn_eq, dn_within, eq_filter, moved_dn, split_first_rdn, values, LdapTarget, Membership,
};
use crate::adapters::TargetError;
use ldap3::SearchEntry;
use revoke_shared::contract::Identity;

/// What the ownership check found for one object of a restore.
pub(super) enum Owned {
    /// The person's: act on this DN (where the entry is now).
    Yes(String),
    /// Not shown to be the person's: refuse, with the reason.
    No(String),
    /// There is nothing to give back any more (deleted): irreversible, with the reason.
    Gone(String),
    /// The person's, but another person's revocation stands on it: kept, with the reason.
    Withheld(String),
}

/// memberUid's `caseExactIA5Match`: exact, insignificant spaces aside.
fn exact_eq(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

impl LdapTarget {
    /// Whether `evidence_dn` names the entry now at `current`: the same DN, or one of them the
    /// other moved into the disabled OU.
    fn same_entry(&self, evidence_dn: &str, current: &str) -> bool {
        if dn_eq(evidence_dn, current) {
            return true;
        }
        let Some(ou) = &self.disabled_ou else {
            return false;
        };
        let moved = |from: &str, to: &str| moved_dn(from, ou).is_some_and(|m| dn_eq(&m, to));
        moved(evidence_dn, current) || moved(current, evidence_dn)
    }

    fn not_theirs(&self, who: &Identity, what: &str, person: Option<&SearchEntry>) -> String {
        match person {
            Some(p) => format!(
                "{what} is not identity {}'s (their entry is {}) in directory {}",
                who.employee_id, p.dn, self.instance
            ),
            None => format!(
                "{what}: identity {} has no entry in directory {} to give it back to",
                who.employee_id, self.instance
            ),
        }
    }

    /// `None` when the membership value is the person's and the group one the revoker manages;
    /// else why not.
    pub(super) async fn membership_refusal(
        &self,
        who: &Identity,
        m: &Membership,
    ) -> Result<Option<String>, TargetError> {
        let (attr, group, value) = (m.attribute, m.group.as_str(), m.value.as_str());
        if !dn_within(group, &self.group_base_dn) {
            return Ok(Some(format!(
                "group {group} is not under group_base_dn {} of directory {}: the revoker never removes anyone there",
                self.group_base_dn, self.instance
            )));
        }
        let person = self.find_person(who).await?;
        let theirs = person.as_ref().is_some_and(|p| {
            if attr == "memberUid" {
                values(p, "uid").iter().any(|u| exact_eq(u, value))
            } else {
                dn_eq(value, &p.dn)
            }
        });
        Ok((!theirs).then(|| self.not_theirs(who, &format!("{attr} {value}"), person.as_ref())))
    }

    /// Whose lock `dn` is: the person's own entry (acted on where it is now), or an account the
    /// person sponsors.
    pub(super) async fn unlock_owner(
        &self,
        who: &Identity,
        dn: &str,
        sponsored: bool,
    ) -> Result<Owned, TargetError> {
        let doing = format!(
            "checking whose entry {dn} is in directory {}",
            self.instance
        );
        let person = self.find_person(who).await?;
        let exists = self.exists(dn, &doing).await?.is_some();
        let Some(p) = person else {
            return Ok(if exists {
                Owned::No(self.not_theirs(who, &format!("the lock of {dn}"), None))
            } else {
                Owned::Gone(format!(
                    "no entry at {dn} any more (deleted or moved since)"
                ))
            });
        };
        if !sponsored {
            return Ok(if self.same_entry(dn, &p.dn) {
                Owned::Yes(p.dn)
            } else {
                Owned::No(self.not_theirs(who, &format!("the entry {dn}"), Some(&p)))
            });
        }
        if !exists {
            return Ok(Owned::Gone(format!(
                "no entry at {dn} any more (deleted or moved since)"
            )));
        }
        // The same test as discovery: under sponsored_base_dn, an account by sponsored_filter,
        // an owner attribute naming the person's DN (the server's DN matching decides), and
        // neither the person nor the revoker.
        let owners: String = self
            .owner_attributes
            .iter()
            .map(|a| eq_filter(a, &p.dn))
            .collect();
        let owned = !owners.is_empty()
            && dn_within(dn, &self.sponsored_base_dn)
            && !dn_eq(dn, &p.dn)
            && !dn_eq(dn, &self.session.bind_dn)
            && self
                .session
                .matches(
                    dn,
                    &format!("(&{}(|{owners}))", self.sponsored_filter),
                    &doing,
                )
                .await?;
        if owned {
            return Ok(match self.revoked_co_sponsor(dn, &p.dn).await? {
                Some(reason) => Owned::Withheld(reason),
                None => Owned::Yes(dn.to_string()),
            });
        }
        Ok(Owned::No(format!(
            "{dn} is not an account identity {} sponsors (owner_attributes do not name {}) in directory {}",
            who.employee_id, p.dn, self.instance
        )))
    }

    /// Another sponsor of the sponsored account `dn` whose own access is revoked in this
    /// directory, as the reason to keep the account locked; `None` when every other sponsor can
    /// still bind (or there is none). Every value of every owner attribute is a sponsor (the
    /// entry is read with those attributes only, so an OID in config still finds them).
    async fn revoked_co_sponsor(
        &self,
        dn: &str,
        person_dn: &str,
    ) -> Result<Option<String>, TargetError> {
        let doing = format!(
            "reading the other sponsors of {dn} in directory {}",
            self.instance
        );
        let attrs: Vec<&str> = self.owner_attributes.iter().map(String::as_str).collect();
        let Some(entry) = self.session.read(dn, &attrs, &doing).await? else {
            return Ok(None);
        };
        let others: Vec<String> = entry
            .attrs
            .values()
            .flatten()
            .filter(|owner| !self.same_entry(owner, person_dn))
            .cloned()
            .collect();
        for owner in others {
            if let Some(state) = self.sponsor_revoked(&owner, &doing).await? {
                return Ok(Some(format!(
                    "{dn} is also sponsored by {owner}, who is revoked in directory {} ({state}): it stays locked while another sponsor's termination stands; a person decides",
                    self.instance
                )));
            }
        }
        Ok(None)
    }

    /// How the sponsor at `owner` is revoked here, if they are.
    async fn sponsor_revoked(
        &self,
        owner: &str,
        doing: &str,
    ) -> Result<Option<&'static str>, TargetError> {
        if let Some(ou) = &self.disabled_ou {
            if dn_within(owner, ou) {
                return Ok(Some("in the disabled OU"));
            }
        }
        match self.lock_state(owner, doing).await? {
            Some((Some(v), _)) if self.locked_for_good(&v) => Ok(Some("locked")),
            Some(_) => Ok(None),
            None => {
                let moved = match &self.disabled_ou {
                    Some(ou) => match moved_dn(owner, ou) {
                        Some(m) => self.exists(&m, doing).await?.is_some(),
                        None => false,
                    },
                    None => false,
                };
                Ok(Some(if moved {
                    "moved into the disabled OU"
                } else {
                    "no entry any more"
                }))
            }
        }
    }

    /// Where the person's entry is now, if a move of `dn` into `ou` is theirs to undo.
    pub(super) async fn move_owner(
        &self,
        who: &Identity,
        dn: &str,
        ou: &str,
        new_dn: &str,
    ) -> Result<Owned, TargetError> {
        if !self.disabled_ou.as_deref().is_some_and(|d| dn_eq(d, ou)) {
            return Ok(Owned::No(format!(
                "{ou} is not the disabled_ou of directory {}: the revoker moved nothing there",
                self.instance
            )));
        }
        let parent = split_first_rdn(dn).map(|(_, p)| p).unwrap_or_default();
        if parent.is_empty() || !dn_within(parent, &self.base_dn) || dn_eq(parent, ou) {
            return Ok(Owned::No(format!(
                "{dn} is not a place under base_dn {} of directory {}: an entry is only moved back where people live",
                self.base_dn, self.instance
            )));
        }
        let doing = format!(
            "checking whose entry {new_dn} is in directory {}",
            self.instance
        );
        match self.find_person(who).await? {
            Some(p) if dn_eq(&p.dn, dn) || dn_eq(&p.dn, new_dn) => Ok(Owned::Yes(p.dn)),
            Some(p) => Ok(Owned::No(self.not_theirs(
                who,
                &format!("the entry at {new_dn}"),
                Some(&p),
            ))),
            None if self.exists(new_dn, &doing).await?.is_some()
                || self.exists(dn, &doing).await?.is_some() =>
            {
                Ok(Owned::No(self.not_theirs(
                    who,
                    &format!("the entry at {new_dn}"),
                    None,
                )))
            }
            None => Ok(Owned::Gone(format!(
                "the entry is neither at {dn} nor at {new_dn} (deleted?)"
            ))),
        }
    }
}

//! Giving back what a rescinded termination took, object by object from the evidence, each
//! only after `ownership` shows it is the person's: the disable bit cleared, `accountExpires`
//! put back, the membership re-added, the entry moved back. A password reset cannot be undone.
//! Each write is the smallest that gives the access back, and none is made when the access is
//! there already (`AlreadyPresent`).

use super::moves::Place;
use super::objects::AdObject;
use super::ownership::Owned;
use super::syntax::{enabled, expired, guid_dn, is_disabled};
use super::AdTarget;
use crate::adapters::ldap::{dn_eq, dn_within};
use crate::adapters::{ObjectRef, RestoreResult, TargetError};
use chrono::Utc;
use ldap3::Mod;
use revoke_shared::contract::{Identity, ObjectEvidence};
use std::collections::HashSet;
use uuid::Uuid;

/// The action a revocation of each object kind records; evidence naming another is refused.
fn action_of(object: &AdObject) -> &'static str {
    match object {
        AdObject::Account { .. } => "disable",
        AdObject::Expiry { .. } => "expire",
        AdObject::GroupMembership { .. } => "remove_membership",
        AdObject::Password { .. } => "reset_password",
        AdObject::Location { .. } => "move",
    }
}

impl AdTarget {
    /// Restores `object` for `who` (see the module's comment).
    pub(super) async fn give_back(
        &self,
        who: &Identity,
        object: &AdObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        if ev.action != action_of(object) {
            return Ok(RestoreResult::Refused {
                reason: format!(
                    "{} {} was revoked by {}, not {:?}, in directory {}: nothing given back",
                    object.kind(),
                    object.id(),
                    action_of(object),
                    ev.action,
                    self.instance
                ),
            });
        }
        if let AdObject::Password { guid, .. } = object {
            return Ok(RestoreResult::Irreversible {
                reason: format!(
                    "the password of {guid} was reset to a random value nobody knows: the person sets a new one with the help desk"
                ),
            });
        }
        let p = match self.owner(who).await? {
            Ok(p) => p,
            Err(reason) => return Ok(RestoreResult::Refused { reason }),
        };
        let owned = match object {
            AdObject::Account { guid } if ev.sponsored => {
                self.sponsored_owner(who, &p, guid).await?
            }
            AdObject::Account { guid } => self.own(who, &p, guid, "account"),
            AdObject::Expiry { guid, .. } => self.own(who, &p, guid, "account"),
            AdObject::Location { guid, .. } => self.own(who, &p, guid, "account"),
            AdObject::GroupMembership { group, member } => {
                match self.own(who, &p, member, "member") {
                    Owned::Yes => {
                        let doing =
                            format!("checking group {group} in directory {}", self.instance);
                        self.group_owner(group, &doing).await?
                    }
                    other => other,
                }
            }
            AdObject::Password { .. } => unreachable!("answered above"),
        };
        match owned {
            Owned::Yes => {}
            Owned::No(reason) => return Ok(RestoreResult::Refused { reason }),
            Owned::Withheld(reason) => return Ok(RestoreResult::Withheld { reason }),
            Owned::Gone(reason) => return Ok(RestoreResult::Irreversible { reason }),
        }
        match object {
            AdObject::Account { guid } => self.enable(guid).await,
            AdObject::Expiry { guid, before } => self.unexpire(guid, *before).await,
            AdObject::GroupMembership { group, .. } => self.readd(group, &p.dn).await,
            AdObject::Location { guid, from } => self.return_from_disabled_ou(guid, from).await,
            AdObject::Password { .. } => unreachable!("answered above"),
        }
    }

    /// Clears ACCOUNTDISABLE on `guid`, every other bit kept.
    async fn enable(&self, guid: &Uuid) -> Result<RestoreResult, TargetError> {
        let doing = format!("enabling account {guid} in directory {}", self.instance);
        let Some((uac, _)) = self.control(guid, &doing).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!("account {guid} no longer exists"),
            });
        };
        if !is_disabled(uac) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        self.swap_control(guid, uac, enabled(uac), &doing).await?;
        let (_, changed) = self.control(guid, &doing).await?.unwrap_or((uac, None));
        Ok(RestoreResult::Restored {
            restored_at: changed,
        })
    }

    /// Puts `accountExpires` of `guid` back to `before` — only while the account is expired
    /// (the revocation's expiry stands); an expiry someone set since is theirs to keep.
    async fn unexpire(&self, guid: &Uuid, before: i64) -> Result<RestoreResult, TargetError> {
        let doing = format!(
            "restoring the expiry of {guid} in directory {}",
            self.instance
        );
        let Some(now) = self.expires(guid, &doing).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!("account {guid} no longer exists"),
            });
        };
        if now == before || !expired(now, Utc::now()) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        self.write(guid, "accountExpires", &before.to_string(), &doing)
            .await?;
        // The DC's time of the write, not ours.
        let changed = self.control(guid, &doing).await?.and_then(|(_, c)| c);
        Ok(RestoreResult::Restored {
            restored_at: changed,
        })
    }

    /// Adds `member_dn` back to `group`.
    async fn readd(&self, group: &Uuid, member_dn: &str) -> Result<RestoreResult, TargetError> {
        let doing = format!(
            "adding {member_dn} back to group {group} in directory {}",
            self.instance
        );
        match self.lists(group, member_dn, &doing).await? {
            None => {
                return Ok(RestoreResult::Irreversible {
                    reason: format!("group {group} no longer exists"),
                })
            }
            Some((true, _)) => return Ok(RestoreResult::AlreadyPresent),
            Some((false, _)) => {}
        }
        let r = self
            .session
            .modify(
                &guid_dn(group),
                vec![Mod::Add("member", HashSet::from([member_dn]))],
                &doing,
            )
            .await?;
        match r.rc {
            0 => {}
            // attributeOrValueExists: a concurrent restore got there first.
            20 => return Ok(RestoreResult::AlreadyPresent),
            _ => return Err(self.session.result_error(&doing, &r)),
        }
        let changed = self
            .lists(group, member_dn, &doing)
            .await?
            .and_then(|(_, c)| c);
        Ok(RestoreResult::Restored {
            restored_at: changed,
        })
    }

    /// Moves `guid` back under `from`: only out of the disabled OU, only to a place under
    /// `base_dn` and outside the disabled OU.
    async fn return_from_disabled_ou(
        &self,
        guid: &Uuid,
        from: &str,
    ) -> Result<RestoreResult, TargetError> {
        let doing = format!(
            "moving {guid} back under {from} in directory {}",
            self.instance
        );
        let Some(ou) = self.disabled_ou.as_deref() else {
            return Ok(RestoreResult::Refused {
                reason: format!(
                    "directory {} has no disabled_ou: the evidence is another configuration's",
                    self.instance
                ),
            });
        };
        if !dn_within(from, &self.base_dn) || dn_within(from, ou) {
            return Ok(RestoreResult::Refused {
                reason: format!(
                    "{from} is not a place under base_dn {} outside the disabled OU in directory {}: not moved",
                    self.base_dn, self.instance
                ),
            });
        }
        let Some(place): Option<Place> = self.place(guid, &doing).await? else {
            return Ok(RestoreResult::Irreversible {
                reason: format!("account {guid} no longer exists"),
            });
        };
        if dn_eq(place.parent(), from) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        if !dn_eq(place.parent(), ou) {
            return Ok(RestoreResult::Withheld {
                reason: format!(
                    "{} was moved out of the disabled OU since, not to {from}: a person decides where it goes",
                    place.dn
                ),
            });
        }
        self.move_back(guid, &place, from).await
    }

    /// Replaces one single-valued attribute of `guid`.
    async fn write(
        &self,
        guid: &Uuid,
        attr: &str,
        value: &str,
        doing: &str,
    ) -> Result<(), TargetError> {
        let r = self
            .session
            .modify(
                &guid_dn(guid),
                vec![Mod::Replace(attr, HashSet::from([value]))],
                doing,
            )
            .await?;
        match r.rc {
            0 => Ok(()),
            _ => Err(self.session.result_error(doing, &r)),
        }
    }
}

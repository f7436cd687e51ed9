//! The `directory` target on Active Directory (`adapter = "active_directory"`), spoken over LDAPS
//! or StartTLS with the `ldap3` crate (the LDAP adapter's `Session`, certificate verified).
//!
//! - Lookup (`person`, `lookup`): a subtree search under `base_dn` for a user object
//!   (`objectCategory=person`) whose `match_attribute` — `sAMAccountName`, `userPrincipalName`,
//!   `mail` or `employeeID` — equals the identity's value, escaped per RFC 4515 and re-checked on
//!   every entry returned. None: nothing held. More than one: `Ambiguous`, nothing is touched.
//!   The person's own account and the revoker's are never the same (refused).
//! - Every object is named by `objectGUID` (`objects`) and addressed as `<GUID=…>` after
//!   discovery: a rename or move between discovery and revocation cannot redirect an action to
//!   whoever holds the old name now.
//! - Holdings, in the order they are revoked:
//!   1. `account` (`disable`): ACCOUNTDISABLE (0x2) set in `userAccountControl`, every other bit
//!      kept (`account`). Read back: the bit is set; `removed_at` the entry's `whenChanged`.
//!   2. `account_expiry` (`expire`): `accountExpires` set to now, the value before kept in the id
//!      (`expiry`). Read back: a time at or before now.
//!   3. `group_membership` (`remove_membership`), one per group under `group_base_dn` that lists
//!      the person: AD's own `memberOf` back-link and a paged `(member=<DN>)` search; the
//!      person's DN deleted from the group's `member` (`groups`), nested groups left as they
//!      are. Read back: the group no longer lists the DN the person has now; `removed_at` the
//!      group's `whenChanged` (AD does not change the user's when a group loses it). The
//!      primary group (`primaryGroupID`, normally Domain Users) is no `member` value and stays.
//!   4. sponsored `account`s (`disable`, `sponsored: true`): objects under `base_dn` matching
//!      `sponsored_filter` whose `owner_attributes` (default `managedBy`) name the person's DN —
//!      service accounts, computers, (group) managed service accounts (`sponsors`).
//!   5. with `reset_password`: `password` (`reset_password`): `unicodePwd` replaced with 48
//!      random characters nobody learns (`password`). Read back: `pwdLastSet` moved on from the
//!      value discovery saw. Irreversible.
//!   6. with `disabled_ou`: `account_location` (`move`): the entry moved under the disabled OU,
//!      its parent before kept in the id (`moves`). Read back: its parent is the disabled OU.
//! - Restore from evidence (`restore`, each only after `ownership` shows the object is the
//!   person's, else `Refused` and nothing written): clears the disable bit, puts
//!   `accountExpires` back, re-adds the membership, moves the entry back; a password reset
//!   answers `Irreversible`. A privileged group's membership (AD's protected groups) and a
//!   sponsored account whose co-sponsor is revoked here stay as they are (`Withheld`): a person
//!   decides.
//! - Idempotent: a disabled account, an expired one, a group no longer listing the person, a
//!   password set since discovery, an entry already in the disabled OU are `AlreadyAbsent`
//!   without a write; what a restore finds back already is `AlreadyPresent`.
//!
//! Config `[targets.directory]` with `adapter = "active_directory"`: its keys, defaults and
//! meanings are `settings::Settings`; the rights the revoker needs are in docs/adapters.md.
//!
//! The real peer its tests run against is a Samba 4 AD domain controller
//! (`tests/services/samba.sh`): evidence of AD protocol behaviour, not a certification against
//! Microsoft AD.

mod account;
mod discover;
mod expiry;
mod groups;
pub mod lookup;
mod moves;
pub mod objects;
mod ownership;
mod password;
pub mod person;
mod restore;
pub(crate) mod settings;
pub mod syntax;

use super::{Adapter, Held, ReadBack, RestoreResult, RevokeResult, TargetError};
use crate::adapters::ldap::connection::Session;
use crate::adapters::ldap::dn_within;
use crate::adapters::ldap::settings::{attribute_names, dn, filter, optional_dn};
use async_trait::async_trait;
use objects::AdObject;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use settings::{MatchAttribute, Settings};

/// A directory instance on Active Directory.
pub struct AdTarget {
    instance: String,
    principal: String,
    session: Session,
    base_dn: String,
    group_base_dn: String,
    match_attribute: MatchAttribute,
    owner_attributes: Vec<String>,
    sponsored_filter: String,
    reset_password: bool,
    disabled_ou: Option<String>,
}

impl std::fmt::Debug for AdTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdTarget")
            .field("instance", &self.instance)
            .field("principal", &self.principal)
            .field("session", &self.session)
            .field("base_dn", &self.base_dn)
            .field("match_attribute", &self.match_attribute)
            .finish_non_exhaustive()
    }
}

impl AdTarget {
    /// Reads an instance table (`settings::Settings`); `instance` names it in evidence.
    /// Connects lazily, on first use.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<AdTarget, String> {
        let s = Settings::from_table(table)?;
        let session = s.session(instance)?;
        let base_dn = dn("base_dn", &s.base_dn)?;
        attribute_names("owner_attributes", &s.owner_attributes)?;
        let disabled_ou = optional_dn("disabled_ou", s.disabled_ou.as_ref())?;
        // The lookup searches base_dn only: a person moved out of it would be found by no later
        // run, and by no restore.
        if let Some(ou) = disabled_ou.as_deref().filter(|ou| !dn_within(ou, &base_dn)) {
            return Err(format!(
                "[targets.directory] disabled_ou {ou:?} must lie under base_dn {base_dn:?}"
            ));
        }
        Ok(AdTarget {
            instance: instance.to_string(),
            principal: s.principal.clone().unwrap_or_else(|| s.bind_dn.clone()),
            session,
            group_base_dn: optional_dn("group_base_dn", s.group_base_dn.as_ref())?
                .unwrap_or_else(|| base_dn.clone()),
            base_dn,
            match_attribute: s.match_attribute,
            owner_attributes: s.owner_attributes.clone(),
            sponsored_filter: filter("sponsored_filter", &s.sponsored_filter)?,
            reset_password: s.reset_password,
            disabled_ou,
        })
    }

    /// The actor recorded in evidence.
    pub fn principal(&self) -> &str {
        &self.principal
    }
}

#[async_trait]
impl Adapter for AdTarget {
    const KIND: TargetKind = TargetKind::Directory;
    type Object = AdObject;

    fn names(&self) -> (&str, &str) {
        (&self.instance, &self.principal)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<AdObject>>, TargetError> {
        self.holdings(who).await
    }

    async fn revoke(
        &self,
        _who: &Identity,
        what: &Held<AdObject>,
    ) -> Result<RevokeResult, TargetError> {
        match &what.object {
            AdObject::Account { guid } => self.disable(guid).await,
            AdObject::Expiry { guid, .. } => self.expire(guid).await,
            AdObject::GroupMembership { group, member } => {
                self.remove_membership(group, member).await
            }
            AdObject::Password { guid, before } => self.reset(guid, *before).await,
            AdObject::Location { guid, .. } => self.move_to_disabled_ou(guid).await,
        }
    }

    async fn verify(
        &self,
        _who: &Identity,
        what: &Held<AdObject>,
    ) -> Result<ReadBack, TargetError> {
        match &what.object {
            AdObject::Account { guid } => self.verify_disabled(guid).await,
            AdObject::Expiry { guid, .. } => self.verify_expired(guid).await,
            AdObject::GroupMembership { group, member } => {
                self.verify_membership(group, member).await
            }
            AdObject::Password { guid, before } => self.verify_reset(guid, *before).await,
            AdObject::Location { guid, .. } => self.verify_moved(guid).await,
        }
    }

    async fn restore(
        &self,
        who: &Identity,
        object: &AdObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        self.give_back(who, object, ev).await
    }
}

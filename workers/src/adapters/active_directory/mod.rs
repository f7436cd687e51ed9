//! The `directory` target on Active Directory (`adapter = "active_directory"`), spoken over LDAPS
//! or StartTLS. Issue 17 builds it in steps; what is here are its pure parts, each tested:
//!
//! - `syntax`: AD's encodings — `objectGUID` on the wire and in filters and `<GUID=…>` DNs,
//!   `accountExpires` FILETIMEs, the `userAccountControl` disable bit,
//!   `unicodePwd`, and the `data <code>` of a refused bind.
//! - `objects`: what a person holds there (`AdObject`), named by `objectGUID` so that a rename
//!   or move between discovery and revocation cannot redirect an action.
//!
//! The real peer its tests run against is a Samba 4 AD domain controller
//! (`tests/services/samba.sh`): evidence of AD protocol behaviour, not a certification against
//! Microsoft AD.

mod account;
mod expiry;
mod groups;
pub mod lookup;
pub mod objects;
pub mod person;
pub(crate) mod settings;
pub mod syntax;

use crate::adapters::ldap::connection::Session;
use settings::{MatchAttribute, Settings};

/// A directory instance on Active Directory (being built: lookup so far).
pub struct AdTarget {
    instance: String,
    principal: String,
    session: Session,
    base_dn: String,
    match_attribute: MatchAttribute,
}

impl AdTarget {
    /// Reads an instance table (`settings::Settings`); `instance` names it in evidence.
    /// Connects lazily, on first use.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<AdTarget, String> {
        let s = Settings::from_table(table)?;
        let session = s.session(instance)?;
        Ok(AdTarget {
            instance: instance.to_string(),
            principal: s.principal.clone().unwrap_or_else(|| s.bind_dn.clone()),
            session,
            base_dn: s.base_dn.trim().to_string(),
            match_attribute: s.match_attribute,
        })
    }

    /// The actor recorded in evidence.
    pub fn principal(&self) -> &str {
        &self.principal
    }
}

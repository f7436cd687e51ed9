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

pub mod lookup;
pub mod objects;
pub(crate) mod settings;
pub mod syntax;

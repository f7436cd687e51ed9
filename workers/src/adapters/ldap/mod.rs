//! The `directory` target: an LDAP directory (OpenLDAP with the ppolicy overlay, or any server
//! that honours `pwdAccountLockedTime`), spoken with the `ldap3` crate.
//!
//! - Lookup (`person`): a subtree search under `base_dn` — and under `disabled_ou` when that lies
//!   outside `base_dn`, where an earlier half-failed run may have moved the person — for
//!   `(&<user_filter>(<match_attribute>=<value>))`, the value escaped per RFC 4515 (`\`, `*`,
//!   `(`, `)` and NUL become `\XX`), so an identity like `*` or `x)(uid=*` is a literal that names
//!   nobody. Every returned entry is re-checked client-side. No entry: nothing held (already
//!   absent). More than one: `Ambiguous` — a person decides, nothing is touched.
//! - Holdings, in the order they are revoked:
//!   1. `account` (`lock`), id = the entry's DN: sets `pwdAccountLockedTime: <lock_value>`; with
//!      ppolicy's `pwdLockout: TRUE` a locked entry's binds fail with invalidCredentials (49). An
//!      entry already holding `lock_value` (or ppolicy's permanent `000001010000Z`) is already
//!      absent; a lockout ppolicy set after failed binds (a real time, which expires after
//!      `pwdLockoutDuration`) is replaced by the revoker's lock.
//!   2. `group_membership` (`remove_membership`), one per group value under `group_base_dn`:
//!      `member` and `uniqueMember` hold the entry's DN, `memberUid` (posixGroup) holds its `uid`.
//!      Id = `<attribute>|<group DN>|<value>` (`%` and `|` inside DNs and values written `%25` and
//!      `%7C`), enough to put the value back. Removing the last `member`/`uniqueMember` of a group
//!      whose schema requires one (objectClassViolation, 65) swaps in `last_member_placeholder`
//!      in the same modify; restore removes the placeholder again.
//!   3. sponsored `account`s (`lock`, `sponsored: true`): entries under `sponsored_base_dn` matching
//!      `sponsored_filter` whose `owner_attributes` name the person's DN (service accounts, bots).
//!      The person's own entry and the revoker's `bind_dn` are never among them.
//!   4. with `disabled_ou`: `account_location` (`move`), id = `<original DN>|<disabled OU>`: a
//!      modifyDN of the entry under the disabled OU, done last so the DN-based steps above act on
//!      the DN they discovered.
//! - Verify reads back: `pwdAccountLockedTime` (operational: requested by name) holding a lock
//!   that does not expire, read at the DN the entry has *now* (`lock`: the person's entry is
//!   looked up again when it is no longer at the DN discovered; a moved entry without the lock
//!   is never gone); the group no longer matching `(<attribute>=<value>)`; the entry under the
//!   disabled OU and not at its old DN (which says nothing about the lock). `removed_at` is the
//!   entry's (or group's) `modifyTimestamp` at read-back.
//! - Restore from evidence: unlock (delete `pwdAccountLockedTime`, only if it still holds the
//!   configured `lock_value`), re-add the membership value, move the entry back — each only
//!   after the directory shows the object is the person's (`ownership`; else `Refused`, nothing
//!   written). Idempotent: what is already there answers `AlreadyPresent`.
//! - Idempotent: a locked entry, a value no longer in the group, an entry already in the
//!   disabled OU are `AlreadyAbsent` without a write; noSuchAttribute (16) on a delete and
//!   attributeOrValueExists (20) on an add are the same answers from a lost race.
//!
//! - Ids are written and parsed only by `LdapObject` (`objects`): one variant per object kind
//!   above, its DNs and values already decoded. An id that does not parse back (another kind's,
//!   a part missing or extra, a DN without the shape of one, an attribute other than the three
//!   member attributes) is refused at the contract's edge before anything is sent; whether its
//!   DNs lie where this instance's config says is checked at restore (`ownership`).
//!
//! Files: `settings` (the config table), `objects` (`LdapObject` and its ids), `connection` (the
//! shared bound connection and the operations every object kind uses), `person` (the lookup,
//! people base and disabled OU), `lock`, `groups`, `moves` (one object kind each: revoke, read
//! back, restore), `ownership` (the checks a restore passes before it writes), `syntax` (pure
//! helpers: escaping, DNs, times, result codes), `tests`; this file holds the adapter, its
//! discovery of groups and sponsored entries, and the `Adapter` impl that matches on
//! `LdapObject` and dispatches to the files above.
//!
//! One connection per adapter, bound once as `bind_dn` and shared by all concurrent operations
//! (LDAP multiplexes requests by message id); it is re-opened after a transport error. Result
//! codes are classified by `classify_result_code`: busy/unavailable/time limit and transport
//! errors are transient, the rest permanent. The password is read from `password_env` or
//! `password_file`, kept in a `Secret`, and only ever sent in the bind request.
//!
//! Config `[targets.directory]`: its keys, defaults and meanings are `settings::Settings`.
//!
//! `manager` names a person's line manager on people's entries: add it to `owner_attributes` only
//! with a `sponsored_filter` that excludes people (e.g. `(employeeType=service)`), or a leaving
//! manager's reports are locked too.
//!
//! ```toml
//! [targets.directory]
//! url = "ldaps://ldap.example.com"
//! bind_dn = "cn=revoker,ou=services,dc=example,dc=com"
//! password_env = "REVOKE_LDAP_PASSWORD"            # or password_file = "/run/secrets/ldap"
//! base_dn = "ou=people,dc=example,dc=com"
//! group_base_dn = "ou=groups,dc=example,dc=com"
//! sponsored_base_dn = "ou=services,dc=example,dc=com"
//! match_attribute = "uid"
//! owner_attributes = ["owner", "manager"]
//! sponsored_filter = "(|(objectClass=simpleSecurityObject)(employeeType=service))"
//! disabled_ou = "ou=disabled,ou=people,dc=example,dc=com"
//! ```
//!
//! The revoker needs: read under `base_dn`/`group_base_dn`/`sponsored_base_dn` (including the operational
//! `pwdAccountLockedTime` and `modifyTimestamp`), write on `pwdAccountLockedTime`, on
//! `member`/`uniqueMember`/`memberUid`, and (with `disabled_ou`) the right to move entries there.
//! It never needs to read `userPassword`.

pub(crate) mod connection;
mod groups;
mod lock;
mod moves;
mod objects;
mod ownership;
mod person;
pub(crate) mod settings;
mod syntax;
#[cfg(test)]
pub(crate) mod tests;

pub use objects::{LdapObject, Membership};
pub use settings::MatchAttribute;
pub use syntax::*;

use super::{Adapter, Held, ObjectRef, ReadBack, RestoreResult, RevokeResult, TargetError};
use async_trait::async_trait;
use ldap3::Scope;
use ownership::Owned;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};

/// ppolicy's "locked until an administrator unlocks" value.
pub const PERMANENT_LOCK: &str = "000001010000Z";
const LOCK_ATTR: &str = "pwdAccountLockedTime";
const MODIFIED: &str = "modifyTimestamp";
/// More than one match is all the lookup needs to know.
const LOOKUP_SIZE_LIMIT: i32 = 10;

/// The attributes a group lists its members in.
pub const MEMBER_ATTRIBUTES: [&str; 3] = ["member", "uniqueMember", "memberUid"];

pub struct LdapTarget {
    instance: String,
    principal: String,
    /// The shared, bound connection (`connection`).
    session: connection::Session,
    base_dn: String,
    group_base_dn: String,
    sponsored_base_dn: String,
    match_attribute: MatchAttribute,
    user_filter: String,
    owner_attributes: Vec<String>,
    sponsored_filter: String,
    lock_value: String,
    disabled_ou: Option<String>,
    last_member_placeholder: String,
}

impl std::fmt::Debug for LdapTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapTarget")
            .field("instance", &self.instance)
            .field("principal", &self.principal)
            .field("session", &self.session)
            .field("base_dn", &self.base_dn)
            .field("group_base_dn", &self.group_base_dn)
            .field("match_attribute", &self.match_attribute)
            .field("owner_attributes", &self.owner_attributes)
            .field("disabled_ou", &self.disabled_ou)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// The adapter.
// ---------------------------------------------------------------------------------------------

impl LdapTarget {
    /// The identity's value for `match_attribute`.
    fn lookup_value<'a>(&self, who: &'a Identity) -> Result<&'a str, TargetError> {
        self.match_attribute.value(who).ok_or_else(|| {
            TargetError::Permanent(format!(
                "identity {} has no {} to look up as {} in directory {} (match_attribute)",
                who.employee_id,
                self.match_attribute.identity_field(),
                self.match_attribute.attribute(),
                self.instance
            ))
        })
    }

    /// Groups under `group_base_dn` listing `value` in `attr`.
    async fn groups_with(&self, attr: &str, value: &str) -> Result<Vec<String>, TargetError> {
        let doing = format!(
            "listing groups with {attr} {value} under {} in directory {}",
            self.group_base_dn, self.instance
        );
        let filter = eq_filter(attr, value);
        self.dns_under(&self.group_base_dn, "group_base_dn", &filter, &doing)
            .await
    }

    /// Entries the person sponsors: `sponsored_filter` and an owner attribute naming `dn`.
    async fn sponsored_by(&self, dn: &str) -> Result<Vec<String>, TargetError> {
        if self.owner_attributes.is_empty() {
            return Ok(Vec::new());
        }
        let owners: String = self
            .owner_attributes
            .iter()
            .map(|a| eq_filter(a, dn))
            .collect();
        let filter = format!("(&{}(|{owners}))", self.sponsored_filter);
        let doing = format!(
            "listing entries sponsored by {dn} in directory {}",
            self.instance
        );
        Ok(self
            .dns_under(
                &self.sponsored_base_dn,
                "sponsored_base_dn",
                &filter,
                &doing,
            )
            .await?
            .into_iter()
            .filter(|d| !dn_eq(d, dn) && !dn_eq(d, &self.session.bind_dn))
            .collect())
    }

    /// The DNs of the entries under `base` (the config key `base_key` names it) matching
    /// `filter`; a missing base is a config error, not an empty answer.
    async fn dns_under(
        &self,
        base: &str,
        base_key: &str,
        filter: &str,
        doing: &str,
    ) -> Result<Vec<String>, TargetError> {
        Ok(self
            .session
            .search(base, Scope::Subtree, filter, &["1.1"], 0, doing)
            .await?
            .ok_or_else(|| TargetError::Permanent(format!("{doing}: {base_key} does not exist")))?
            .into_iter()
            .map(|e| e.dn)
            .collect())
    }
}

#[async_trait]
impl Adapter for LdapTarget {
    const KIND: TargetKind = TargetKind::Directory;
    type Object = LdapObject;

    fn names(&self) -> (&str, &str) {
        (&self.instance, &self.principal)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<LdapObject>>, TargetError> {
        let Some(person) = self.find_person(who).await? else {
            return Ok(Vec::new());
        };
        let dn = person.dn.clone();
        if dn_eq(&dn, &self.session.bind_dn) {
            return Err(TargetError::Permanent(format!(
                "identity {} is the revoker's own entry {dn} in directory {}: refusing",
                who.employee_id, self.instance
            )));
        }
        let account =
            |dn: String, sponsored: bool| Held::new(LdapObject::Account { dn }, sponsored, "lock");
        let mut out = vec![account(dn.clone(), false)];
        // Memberships: by DN in member/uniqueMember, by uid in memberUid.
        let mut lookups: Vec<(&'static str, String)> =
            vec![("member", dn.clone()), ("uniqueMember", dn.clone())];
        for uid in values(&person, "uid") {
            lookups.push(("memberUid", uid.to_string()));
        }
        let found = futures::future::try_join_all(
            lookups.iter().map(|(attr, v)| self.groups_with(attr, v)),
        )
        .await?;
        for ((attribute, value), groups) in lookups.iter().zip(found) {
            for group in groups {
                let membership = LdapObject::GroupMembership(Membership {
                    attribute,
                    group,
                    value: value.clone(),
                });
                out.push(Held::new(membership, false, "remove_membership"));
            }
        }
        for s in self.sponsored_by(&dn).await? {
            out.push(account(s, true));
        }
        if let Some(ou) = &self.disabled_ou {
            let location = LdapObject::AccountLocation {
                dn,
                disabled_ou: ou.clone(),
            };
            out.push(Held::new(location, false, "move"));
        }
        Ok(out)
    }

    async fn revoke(
        &self,
        who: &Identity,
        what: &Held<LdapObject>,
    ) -> Result<RevokeResult, TargetError> {
        match &what.object {
            LdapObject::Account { dn } => self.lock(who, dn, what.sponsored).await,
            LdapObject::GroupMembership(m) => self.remove_membership(m).await,
            LdapObject::AccountLocation { dn, disabled_ou } => {
                self.move_entry(dn, disabled_ou).await
            }
        }
    }

    async fn verify(
        &self,
        who: &Identity,
        what: &Held<LdapObject>,
    ) -> Result<ReadBack, TargetError> {
        match &what.object {
            LdapObject::Account { dn } => self.verify_lock(who, dn, what.sponsored).await,
            LdapObject::GroupMembership(m) => self.verify_membership(m).await,
            LdapObject::AccountLocation { dn, disabled_ou } => {
                self.verify_move(dn, disabled_ou).await
            }
        }
    }

    /// Unlocks, re-adds memberships and moves the entry back; all of it is reversible. Each
    /// only after the directory shows the object is `who`'s (`ownership`), else `Refused`.
    async fn restore(
        &self,
        who: &Identity,
        object: &LdapObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (object, ev.action.as_str()) {
            (LdapObject::Account { dn }, "lock") => {
                match self.unlock_owner(who, dn, ev.sponsored).await? {
                    Owned::Yes(dn) => self.unlock(&dn).await,
                    Owned::Withheld(reason) => Ok(RestoreResult::Withheld { reason }),
                    Owned::No(reason) => Ok(RestoreResult::Refused { reason }),
                    Owned::Gone(reason) => Ok(RestoreResult::Irreversible { reason }),
                }
            }
            (LdapObject::GroupMembership(m), "remove_membership") => {
                match self.membership_refusal(who, m).await? {
                    Some(reason) => Ok(RestoreResult::Refused { reason }),
                    None => self.restore_membership(m).await,
                }
            }
            (LdapObject::AccountLocation { dn, disabled_ou }, "move") => {
                self.move_back(who, dn, disabled_ou).await
            }
            (object, action) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "the directory target cannot undo {action} of {}",
                    object.kind()
                ),
            }),
        }
    }
}

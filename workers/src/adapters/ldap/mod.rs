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
//! Files: `settings` (the config table), `connection` (the shared bound connection and the
//! operations every object kind uses), `person` (the lookup, people base and disabled OU),
//! `lock`, `groups`, `moves` (one object kind each: revoke, read back, restore), `ownership` (the
//! checks a restore passes before it writes), `syntax` (pure helpers: escaping, DNs, ids, times,
//! result codes), `tests`; this file holds the adapter, its discovery of groups and sponsored
//! entries, and the `Target` impl that dispatches to the files above.
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

mod connection;
mod groups;
mod lock;
mod moves;
mod ownership;
mod person;
pub(crate) mod settings;
mod syntax;
#[cfg(test)]
mod tests;

pub use settings::MatchAttribute;
pub use syntax::*;

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use ldap3::Scope;
use ownership::Owned;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::secret::Secret;
use std::time::Duration;

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
    url: String,
    starttls: bool,
    tls_no_verify: bool,
    bind_dn: String,
    password: Secret,
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
    timeout: Duration,
    /// The shared, bound connection (None until first use or after a transport error).
    conn: tokio::sync::Mutex<Option<ldap3::Ldap>>,
}

impl std::fmt::Debug for LdapTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapTarget")
            .field("instance", &self.instance)
            .field("principal", &self.principal)
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("password", &self.password)
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
        Ok(self
            .search(
                &self.group_base_dn,
                Scope::Subtree,
                &eq_filter(attr, value),
                &["1.1"],
                0,
                &doing,
            )
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("{doing}: group_base_dn does not exist"))
            })?
            .into_iter()
            .map(|e| e.dn)
            .collect())
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
            .search(
                &self.sponsored_base_dn,
                Scope::Subtree,
                &filter,
                &["1.1"],
                0,
                &doing,
            )
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("{doing}: sponsored_base_dn does not exist"))
            })?
            .into_iter()
            .map(|e| e.dn)
            .filter(|d| !dn_eq(d, dn) && !dn_eq(d, &self.bind_dn))
            .collect())
    }

    fn membership(&self, id: &str) -> Result<(&'static str, String, String), TargetError> {
        parse_membership_id(id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{id:?} is not a group_membership id of directory {} (<attribute>|<group DN>|<value>)",
                self.instance
            ))
        })
    }
}

#[async_trait]
impl Target for LdapTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Directory
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        &self.principal
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        let Some(person) = self.find_person(who).await? else {
            return Ok(Vec::new());
        };
        let dn = person.dn.clone();
        if dn_eq(&dn, &self.bind_dn) {
            return Err(TargetError::Permanent(format!(
                "identity {} is the revoker's own entry {dn} in directory {}: refusing",
                who.employee_id, self.instance
            )));
        }
        let mut out = vec![Holding {
            object_kind: "account".into(),
            object_id: dn.clone(),
            sponsored: false,
            action: "lock".into(),
        }];
        // Memberships: by DN in member/uniqueMember, by uid in memberUid.
        let mut lookups: Vec<(&str, String)> =
            vec![("member", dn.clone()), ("uniqueMember", dn.clone())];
        for uid in values(&person, "uid") {
            lookups.push(("memberUid", uid.to_string()));
        }
        let found = futures::future::try_join_all(
            lookups.iter().map(|(attr, v)| self.groups_with(attr, v)),
        )
        .await?;
        for ((attr, value), groups) in lookups.iter().zip(found) {
            for g in groups {
                out.push(Holding {
                    object_kind: "group_membership".into(),
                    object_id: membership_id(attr, &g, value),
                    sponsored: false,
                    action: "remove_membership".into(),
                });
            }
        }
        for s in self.sponsored_by(&dn).await? {
            out.push(Holding {
                object_kind: "account".into(),
                object_id: s,
                sponsored: true,
                action: "lock".into(),
            });
        }
        if let Some(ou) = &self.disabled_ou {
            out.push(Holding {
                object_kind: "account_location".into(),
                object_id: move_id(&dn, ou),
                sponsored: false,
                action: "move".into(),
            });
        }
        Ok(out)
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        match what.object_kind.as_str() {
            "account" => self.lock(who, what).await,
            "group_membership" => {
                let (attr, group, value) = self.membership(&what.object_id)?;
                self.remove_membership(attr, &group, &value).await
            }
            "account_location" => self.move_entry(&what.object_id).await,
            other => Err(TargetError::Permanent(format!(
                "the directory target has no object kind {other:?}"
            ))),
        }
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        match what.object_kind.as_str() {
            "account" => self.verify_lock(who, what).await,
            "group_membership" => {
                let (attr, group, value) = self.membership(&what.object_id)?;
                self.verify_membership(attr, &group, &value).await
            }
            "account_location" => self.verify_move(&what.object_id).await,
            other => Err(TargetError::Permanent(format!(
                "the directory target has no object kind {other:?}"
            ))),
        }
    }

    /// Unlocks, re-adds memberships and moves the entry back; all of it is reversible. Each
    /// only after the directory shows the object is `who`'s (`ownership`), else `Refused`.
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (ev.object_kind.as_str(), ev.action.as_str()) {
            ("account", "lock") => {
                match self.unlock_owner(who, &ev.object_id, ev.sponsored).await? {
                    Owned::Yes(dn) => self.unlock(&dn).await,
                    Owned::Withheld(reason) => Ok(RestoreResult::Withheld { reason }),
                    Owned::No(reason) => Ok(RestoreResult::Refused { reason }),
                    Owned::Gone(reason) => Ok(RestoreResult::Irreversible { reason }),
                }
            }
            ("group_membership", "remove_membership") => {
                let (attr, group, value) = self.membership(&ev.object_id)?;
                match self.membership_refusal(who, attr, &group, &value).await? {
                    Some(reason) => Ok(RestoreResult::Refused { reason }),
                    None => self.restore_membership(attr, &group, &value).await,
                }
            }
            ("account_location", "move") => self.move_back(who, &ev.object_id).await,
            (kind, action) => Ok(RestoreResult::Irreversible {
                reason: format!("the directory target cannot undo {action} of {kind}"),
            }),
        }
    }
}

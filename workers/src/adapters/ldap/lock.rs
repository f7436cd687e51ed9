//! Locks: `pwdAccountLockedTime` written, read back and removed — always at the DN the entry
//! has now.
//!
//! An account's id is the DN discovery saw. The person's own entry can move after that (the
//! `disabled_ou` step of the same run, an earlier half-failed run, a restore), so when nothing is
//! at that DN any more the person's entry is looked up again (people base and disabled OU) and
//! the lock is written and read there. "No entry at the old DN" proves nothing about the lock: a
//! moved entry that is not locked can still bind, and is never reported gone. Only when the
//! lookup finds no entry for the person at all is the account gone. Sponsored accounts are not
//! moved by the revoker: their DN is where they are.

use super::{dn_eq, first, modified_at, set, LdapTarget, LOCK_ATTR, MODIFIED, PERMANENT_LOCK};
use crate::adapters::{ReadBack, RestoreResult, RevokeResult, TargetError};
use chrono::{DateTime, Utc};
use ldap3::Mod;
use revoke_shared::contract::Identity;

/// An account's lock as read at the DN the entry has now.
struct LockState {
    dn: String,
    value: Option<String>,
    modified: Option<DateTime<Utc>>,
}

impl LdapTarget {
    /// The lock value and modifyTimestamp at `dn`; `None` when there is no entry there.
    pub(super) async fn lock_state(
        &self,
        dn: &str,
        doing: &str,
    ) -> Result<Option<(Option<String>, Option<DateTime<Utc>>)>, TargetError> {
        Ok(self
            .session
            .read(dn, &[LOCK_ATTR, MODIFIED], doing)
            .await?
            .map(|e| (first(&e, LOCK_ATTR).map(str::to_string), modified_at(&e))))
    }

    /// The lock of the account discovery saw at `dn`, read where its entry is now (see the
    /// module docs); `None` when there is no such entry any more.
    async fn lock_state_now(
        &self,
        who: &Identity,
        dn: &str,
        sponsored: bool,
        doing: &str,
    ) -> Result<Option<LockState>, TargetError> {
        if let Some((value, modified)) = self.lock_state(dn, doing).await? {
            return Ok(Some(LockState {
                dn: dn.to_string(),
                value,
                modified,
            }));
        }
        if sponsored {
            return Ok(None);
        }
        let Some(person) = self.find_person(who).await? else {
            return Ok(None);
        };
        Ok(self
            .lock_state(&person.dn, doing)
            .await?
            .map(|(value, modified)| LockState {
                dn: person.dn,
                value,
                modified,
            }))
    }

    /// Locks the account discovery `seen` at that DN, where its entry is now.
    pub(super) async fn lock(
        &self,
        who: &Identity,
        seen: &str,
        sponsored: bool,
    ) -> Result<RevokeResult, TargetError> {
        let doing = format!("locking {seen} in directory {}", self.instance);
        let Some(now) = self.lock_state_now(who, seen, sponsored, &doing).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        let dn = now.dn.as_str();
        if dn_eq(dn, &self.session.bind_dn) {
            return Err(TargetError::Permanent(format!(
                "refusing to lock the revoker's own entry {dn} in directory {}",
                self.instance
            )));
        }
        let doing = if dn_eq(dn, seen) {
            doing
        } else {
            format!("{doing} (now at {dn})")
        };
        let m = match now.value {
            Some(v) if self.locked_for_good(&v) => {
                return Ok(RevokeResult::AlreadyAbsent {
                    removed_at: now.modified,
                })
            }
            // A lockout ppolicy set after failed binds carries its time and expires after
            // pwdLockoutDuration: not a revocation. Replace it with the revoker's lock.
            Some(_) => Mod::Replace(LOCK_ATTR, set(&self.lock_value)),
            None => Mod::Add(LOCK_ATTR, set(&self.lock_value)),
        };
        let r = self.session.modify(dn, vec![m], &doing).await?;
        match r.rc {
            0 => Ok(RevokeResult::Revoked { removed_at: None }),
            // Locked, moved or deleted since the read: someone else got there first; the
            // read-back (where the entry is then) tells whether it is locked for good.
            20 | 32 => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            _ => Err(self.session.result_error(&doing, &r)),
        }
    }

    /// A lock that does not expire by itself: the configured value, or ppolicy's permanent one.
    pub(super) fn locked_for_good(&self, value: &str) -> bool {
        value == self.lock_value || value == PERMANENT_LOCK
    }

    pub(super) async fn verify_lock(
        &self,
        who: &Identity,
        seen: &str,
        sponsored: bool,
    ) -> Result<ReadBack, TargetError> {
        let doing = format!("reading {seen} back in directory {}", self.instance);
        let Some(now) = self.lock_state_now(who, seen, sponsored, &doing).await? else {
            return Ok(ReadBack {
                gone: true,
                detail: if sponsored {
                    "no entry at this DN: nothing can bind as it".into()
                } else {
                    "no entry at this DN and none for the person under base_dn or disabled_ou: nothing can bind as it".into()
                },
                removed_at: None,
            });
        };
        let dn = now.dn;
        Ok(match now.value {
            Some(v) if self.locked_for_good(&v) => ReadBack {
                gone: true,
                detail: format!("{LOCK_ATTR}: {v} at {dn}"),
                removed_at: now.modified,
            },
            Some(v) => ReadBack {
                gone: false,
                detail: format!(
                    "{LOCK_ATTR}: {v} at {dn} is a lockout that expires, not the revoker's lock"
                ),
                removed_at: None,
            },
            None => ReadBack {
                gone: false,
                detail: format!("no {LOCK_ATTR} at {dn}: the entry can still bind"),
                removed_at: None,
            },
        })
    }

    /// Removes the revoker's lock from `dn`, the entry the restore's ownership check settled on.
    pub(super) async fn unlock(&self, dn: &str) -> Result<RestoreResult, TargetError> {
        let doing = format!("unlocking {dn} in directory {}", self.instance);
        let value = match self.lock_state(dn, &doing).await? {
            None => {
                return Ok(RestoreResult::Irreversible {
                    reason: format!("no entry at {dn} any more (deleted or moved since)"),
                })
            }
            Some((None, _)) => return Ok(RestoreResult::AlreadyPresent),
            Some((Some(v), _)) => v,
        };
        if value != self.lock_value {
            return Err(TargetError::Ambiguous(format!(
                "{doing}: it is locked with {value:?}, not the revoker's {:?}: locked by someone else since; a person decides",
                self.lock_value
            )));
        }
        let r = self
            .session
            .modify(dn, vec![Mod::Delete(LOCK_ATTR, set(&value))], &doing)
            .await?;
        match r.rc {
            0 => {}
            16 => return Ok(RestoreResult::AlreadyPresent),
            _ => return Err(self.session.result_error(&doing, &r)),
        }
        let at = self.lock_state(dn, &doing).await?.and_then(|(_, at)| at);
        Ok(RestoreResult::Restored { restored_at: at })
    }
}

//! The account itself: disabled by setting ACCOUNTDISABLE in `userAccountControl`, every other
//! bit kept (a compare-and-swap, so a concurrent change of another bit is never overwritten), at
//! `<GUID=…>` — the object discovery recorded, wherever it is now. Read back: the
//! bit is set; `removed_at` is the entry's `whenChanged`.

use super::syntax::{disabled, guid_dn, is_disabled};
use super::AdTarget;
use crate::adapters::ldap::parse_generalized_time;
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use chrono::{DateTime, Utc};
use ldap3::Mod;
use std::collections::HashSet;
use uuid::Uuid;

impl AdTarget {
    /// `userAccountControl` and `whenChanged` of the object `guid`; `None` when it is gone.
    pub(super) async fn control(
        &self,
        guid: &Uuid,
        doing: &str,
    ) -> Result<Option<(u32, Option<DateTime<Utc>>)>, TargetError> {
        let Some(e) = self
            .session
            .read(
                &guid_dn(guid),
                &["userAccountControl", "whenChanged"],
                doing,
            )
            .await?
        else {
            return Ok(None);
        };
        let first = |a: &str| e.attrs.get(a).and_then(|v| v.first());
        let uac = first("userAccountControl")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                TargetError::Permanent(format!("{doing}: {} has no userAccountControl", e.dn))
            })?;
        Ok(Some((
            uac,
            first("whenChanged").and_then(|v| parse_generalized_time(v)),
        )))
    }

    /// Disables the account `guid`. Already disabled: nothing written.
    pub async fn disable(&self, guid: &Uuid) -> Result<RevokeResult, TargetError> {
        let doing = format!("disabling account {guid} in directory {}", self.instance);
        let Some((uac, changed)) = self.control(guid, &doing).await? else {
            // Deleted since discovery: nothing can sign in with it.
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if is_disabled(uac) {
            return Ok(RevokeResult::AlreadyAbsent {
                removed_at: changed,
            });
        }
        self.swap_control(guid, uac, disabled(uac), &doing).await?;
        let (_, changed) = self.control(guid, &doing).await?.unwrap_or((uac, None));
        Ok(RevokeResult::Revoked {
            removed_at: changed,
        })
    }

    /// Writes `userAccountControl` of `guid` from `old` to `new` as one compare-and-swap: the
    /// modify deletes the value `old` and adds `new`, so a bit someone else changed since it
    /// was read fails the write (noSuchAttribute) instead of being overwritten; that answer is
    /// transient, and the retry reads the bits again.
    pub async fn swap_control(
        &self,
        guid: &Uuid,
        old: u32,
        new: u32,
        doing: &str,
    ) -> Result<(), TargetError> {
        let (old, new) = (old.to_string(), new.to_string());
        let r = self
            .session
            .modify(
                &guid_dn(guid),
                vec![
                    Mod::Delete("userAccountControl", HashSet::from([old.as_str()])),
                    Mod::Add("userAccountControl", HashSet::from([new.as_str()])),
                ],
                doing,
            )
            .await?;
        match r.rc {
            0 => Ok(()),
            16 => Err(TargetError::Transient(format!(
                "{doing}: userAccountControl changed from {old} while being written; reading it again"
            ))),
            _ => Err(self.session.result_error(doing, &r)),
        }
    }

    /// Reads the account `guid` back: gone when ACCOUNTDISABLE is set (or the object is gone).
    pub async fn verify_disabled(&self, guid: &Uuid) -> Result<ReadBack, TargetError> {
        let doing = format!("reading account {guid} back in directory {}", self.instance);
        Ok(match self.control(guid, &doing).await? {
            None => ReadBack {
                gone: true,
                detail: format!("account {guid} no longer exists"),
                removed_at: None,
            },
            Some((uac, changed)) => ReadBack {
                gone: is_disabled(uac),
                detail: format!(
                    "userAccountControl {uac:#x}: {}",
                    if is_disabled(uac) {
                        "ACCOUNTDISABLE set"
                    } else {
                        "ACCOUNTDISABLE not set"
                    }
                ),
                removed_at: changed,
            },
        })
    }
}

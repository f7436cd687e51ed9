//! `disabled_ou`: the person's entry moved under the disabled OU (a modifyDN, the last step of a
//! revocation), read back by where the entry is, and moved back on restore once `ownership`
//! showed the entry is the person's. Where the entry is says nothing about its lock (`lock`).

use super::ownership::Owned;
use super::{dn_eq, modified_at, moved_dn, split_first_rdn, LdapTarget, MODIFIED};
use crate::adapters::{ReadBack, RestoreResult, RevokeResult, TargetError};
use ldap3::SearchEntry;
use revoke_shared::contract::Identity;

impl LdapTarget {
    /// Where the move of `dn` into `ou` puts the entry. Parsing an `account_location` id
    /// guarantees `dn` has a parent, so the error only guards objects built elsewhere.
    fn destination(&self, dn: &str, ou: &str) -> Result<String, TargetError> {
        moved_dn(dn, ou).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{dn:?} has no parent to move from in directory {}",
                self.instance
            ))
        })
    }

    pub(super) async fn exists(
        &self,
        dn: &str,
        doing: &str,
    ) -> Result<Option<SearchEntry>, TargetError> {
        self.session.read(dn, &[MODIFIED], doing).await
    }

    pub(super) async fn move_entry(&self, dn: &str, ou: &str) -> Result<RevokeResult, TargetError> {
        let new_dn = self.destination(dn, ou)?;
        let doing = format!("moving {dn} under {ou} in directory {}", self.instance);
        let parent = split_first_rdn(dn).map(|(_, p)| p).unwrap_or_default();
        if dn_eq(parent, ou) {
            // Already in the disabled OU (a later run found it there).
            let at = self.exists(dn, &doing).await?.and_then(|e| modified_at(&e));
            return Ok(RevokeResult::AlreadyAbsent { removed_at: at });
        }
        if self.exists(dn, &doing).await?.is_none() {
            let at = self
                .exists(&new_dn, &doing)
                .await?
                .and_then(|e| modified_at(&e));
            return Ok(RevokeResult::AlreadyAbsent { removed_at: at });
        }
        let rdn = split_first_rdn(dn).map(|(r, _)| r).unwrap_or_default();
        let r = self
            .session
            .op(&doing, |mut l| async move {
                l.modifydn(dn, rdn, false, Some(ou)).await
            })
            .await?;
        match r.rc {
            0 => Ok(RevokeResult::Revoked { removed_at: None }),
            _ => Err(self.session.result_error(&doing, &r)),
        }
    }

    pub(super) async fn verify_move(&self, dn: &str, ou: &str) -> Result<ReadBack, TargetError> {
        let new_dn = self.destination(dn, ou)?;
        let doing = format!(
            "reading the move of {dn} back in directory {}",
            self.instance
        );
        let parent = split_first_rdn(dn).map(|(_, p)| p).unwrap_or_default();
        let at_new = self.exists(&new_dn, &doing).await?;
        let at_old = if dn_eq(parent, ou) {
            None
        } else {
            self.exists(dn, &doing).await?
        };
        Ok(match (at_old, at_new) {
            (None, Some(e)) => ReadBack {
                gone: true,
                detail: format!("entry is at {new_dn}"),
                removed_at: modified_at(&e),
            },
            (Some(_), _) => ReadBack {
                gone: false,
                detail: format!("entry still at {dn}"),
                removed_at: None,
            },
            (None, None) => ReadBack {
                gone: true,
                detail: "entry no longer exists".into(),
                removed_at: None,
            },
        })
    }

    /// Moves the person's entry back from the disabled OU, once `move_owner` showed it is
    /// theirs and where it goes is under `base_dn`.
    pub(super) async fn move_back(
        &self,
        who: &Identity,
        dn: &str,
        ou: &str,
    ) -> Result<RestoreResult, TargetError> {
        let new_dn = self.destination(dn, ou)?;
        let doing = format!(
            "moving {new_dn} back to {dn} in directory {}",
            self.instance
        );
        let current = match self.move_owner(who, dn, ou, &new_dn).await? {
            Owned::Yes(current) => current,
            Owned::No(reason) => return Ok(RestoreResult::Refused { reason }),
            Owned::Gone(reason) => return Ok(RestoreResult::Irreversible { reason }),
            // Only a sponsored account's unlock is withheld; a move back never is.
            Owned::Withheld(reason) => return Ok(RestoreResult::Withheld { reason }),
        };
        if dn_eq(&current, dn) {
            return Ok(RestoreResult::AlreadyPresent);
        }
        let Some((rdn, parent)) = split_first_rdn(dn) else {
            return Err(TargetError::Permanent(format!(
                "{doing}: {dn:?} has no parent"
            )));
        };
        let current_ref = current.as_str();
        let r = self
            .session
            .op(&doing, |mut l| async move {
                l.modifydn(current_ref, rdn, false, Some(parent)).await
            })
            .await?;
        match r.rc {
            0 => {}
            _ => return Err(self.session.result_error(&doing, &r)),
        }
        let at = self.exists(dn, &doing).await?.and_then(|e| modified_at(&e));
        Ok(RestoreResult::Restored { restored_at: at })
    }
}

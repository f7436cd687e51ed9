//! The account's expiry: `accountExpires` set to the revocation's time at `<GUID=…>` (the value
//! before is in the object's id, for a restore). Read back: the value is a time at or before
//! now; `removed_at` is the expiry itself.

use super::syntax::{expired, filetime, from_filetime, guid_dn};
use super::AdTarget;
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use chrono::Utc;
use ldap3::Mod;
use std::collections::HashSet;
use uuid::Uuid;

impl AdTarget {
    /// `accountExpires` of the object `guid` (absent: never); `None` when it is gone.
    pub(super) async fn expires(
        &self,
        guid: &Uuid,
        doing: &str,
    ) -> Result<Option<i64>, TargetError> {
        let Some(e) = self
            .session
            .read(&guid_dn(guid), &["accountExpires"], doing)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(
            e.attrs
                .get("accountExpires")
                .and_then(|v| v.first())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ))
    }

    /// Expires the account `guid` now. Already expired: nothing written.
    pub async fn expire(&self, guid: &Uuid) -> Result<RevokeResult, TargetError> {
        let doing = format!("expiring account {guid} in directory {}", self.instance);
        let now = Utc::now();
        let Some(value) = self.expires(guid, &doing).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if expired(value, now) {
            return Ok(RevokeResult::AlreadyAbsent {
                removed_at: from_filetime(value),
            });
        }
        let at = filetime(now).to_string();
        let r = self
            .session
            .modify(
                &guid_dn(guid),
                vec![Mod::Replace("accountExpires", HashSet::from([at.as_str()]))],
                &doing,
            )
            .await?;
        if r.rc != 0 {
            return Err(self.session.result_error(&doing, &r));
        }
        Ok(RevokeResult::Revoked {
            removed_at: Some(now),
        })
    }

    /// Reads the expiry of `guid` back: gone when it lies at or before now.
    pub async fn verify_expired(&self, guid: &Uuid) -> Result<ReadBack, TargetError> {
        let doing = format!(
            "reading the expiry of {guid} back in directory {}",
            self.instance
        );
        Ok(match self.expires(guid, &doing).await? {
            None => ReadBack {
                gone: true,
                detail: format!("account {guid} no longer exists"),
                removed_at: None,
            },
            Some(v) => ReadBack {
                gone: expired(v, Utc::now()),
                detail: format!(
                    "accountExpires {v} ({})",
                    from_filetime(v).map_or("never".to_string(), |t| t.to_rfc3339())
                ),
                removed_at: from_filetime(v),
            },
        })
    }
}

//! The entry's place: moved (modifyDN, a new superior, the RDN kept) under `disabled_ou`, at
//! `<GUID=…>` — wherever the entry is now. Read back: its parent is the disabled OU;
//! `removed_at` is its `whenChanged`. A restore moves it back to the parent it had, which the
//! id keeps.

use super::syntax::guid_dn;
use super::AdTarget;
use crate::adapters::ldap::{dn_eq, parse_generalized_time, split_first_rdn};
use crate::adapters::{ReadBack, RestoreResult, RevokeResult, TargetError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where an entry is: its DN and `whenChanged`.
pub(super) struct Place {
    pub dn: String,
    pub changed: Option<DateTime<Utc>>,
}

impl Place {
    /// The entry's parent DN.
    pub fn parent(&self) -> &str {
        split_first_rdn(&self.dn).map_or("", |(_, p)| p)
    }
}

impl AdTarget {
    /// Where the object `guid` is now; `None` when it is gone.
    pub(super) async fn place(
        &self,
        guid: &Uuid,
        doing: &str,
    ) -> Result<Option<Place>, TargetError> {
        Ok(self
            .session
            .read(&guid_dn(guid), &["whenChanged"], doing)
            .await?
            .map(|e| Place {
                changed: e
                    .attrs
                    .get("whenChanged")
                    .and_then(|v| v.first())
                    .and_then(|v| parse_generalized_time(v)),
                dn: e.dn,
            }))
    }

    /// The configured disabled OU (an `account_location` is only ever made with one).
    fn disabled_ou(&self, doing: &str) -> Result<&str, TargetError> {
        self.disabled_ou.as_deref().ok_or_else(|| {
            TargetError::Permanent(format!(
                "{doing}: this instance has no disabled_ou (the evidence is another configuration's)"
            ))
        })
    }

    /// Moves `guid`, keeping its RDN, under `parent`. AD wants `deleteOldRDN` set; the RDN does
    /// not change, so nothing is lost.
    async fn move_under(
        &self,
        guid: &Uuid,
        dn: &str,
        parent: &str,
        doing: &str,
    ) -> Result<(), TargetError> {
        let rdn = split_first_rdn(dn)
            .map(|(r, _)| r.to_string())
            .ok_or_else(|| TargetError::Permanent(format!("{doing}: {dn} has no parent")))?;
        let target = guid_dn(guid);
        let r = self
            .session
            .op(doing, |mut l| async move {
                l.modifydn(&target, &rdn, true, Some(parent)).await
            })
            .await?;
        match r.rc {
            0 => Ok(()),
            _ => Err(self.session.result_error(doing, &r)),
        }
    }

    /// Moves the account `guid` into the disabled OU. Already there (or gone): nothing written.
    pub async fn move_to_disabled_ou(&self, guid: &Uuid) -> Result<RevokeResult, TargetError> {
        let doing = format!(
            "moving {guid} to the disabled OU in directory {}",
            self.instance
        );
        let ou = self.disabled_ou(&doing)?;
        let Some(place) = self.place(guid, &doing).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if dn_eq(place.parent(), ou) {
            return Ok(RevokeResult::AlreadyAbsent {
                removed_at: place.changed,
            });
        }
        self.move_under(guid, &place.dn, ou, &doing).await?;
        let now = self.place(guid, &doing).await?;
        Ok(RevokeResult::Revoked {
            removed_at: now.and_then(|p| p.changed),
        })
    }

    /// Reads the place of `guid` back: gone when its parent is the disabled OU.
    pub async fn verify_moved(&self, guid: &Uuid) -> Result<ReadBack, TargetError> {
        let doing = format!("reading where {guid} is in directory {}", self.instance);
        let ou = self.disabled_ou(&doing)?;
        Ok(match self.place(guid, &doing).await? {
            None => ReadBack {
                gone: true,
                detail: format!("account {guid} no longer exists"),
                removed_at: None,
            },
            Some(place) => {
                let moved = dn_eq(place.parent(), ou);
                ReadBack {
                    gone: moved,
                    detail: format!(
                        "{} {} the disabled OU",
                        place.dn,
                        if moved { "is in" } else { "is not in" }
                    ),
                    removed_at: place.changed,
                }
            }
        })
    }

    /// Moves the account at `place` back under `from`. The caller has checked that it is the
    /// person's, that it sits in the disabled OU and that `from` is a place it may go.
    pub(super) async fn move_back(
        &self,
        guid: &Uuid,
        place: &Place,
        from: &str,
    ) -> Result<RestoreResult, TargetError> {
        let doing = format!(
            "moving {guid} back under {from} in directory {}",
            self.instance
        );
        self.move_under(guid, &place.dn, from, &doing).await?;
        let now = self.place(guid, &doing).await?;
        Ok(RestoreResult::Restored {
            restored_at: now.and_then(|p| p.changed),
        })
    }
}

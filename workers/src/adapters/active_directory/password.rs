//! The password: `unicodePwd` replaced (over TLS, as AD requires) with 48 random characters
//! nobody learns, at `<GUID=…>`. The id keeps `pwdLastSet` as discovery saw it; AD moves it on
//! every set, so the read-back is "set since discovery". Irreversible: a restore cannot give the
//! old password back, and says so.

use super::person::Person;
use super::syntax::{expired, from_filetime, guid_dn, is_disabled, unicode_pwd};
use super::AdTarget;
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use chrono::{DateTime, Utc};
use ldap3::Mod;
use std::collections::HashSet;
use uuid::Uuid;

/// Whether an earlier revocation already reset `p`'s password: the account is disabled and
/// expired (by that revocation, which expires it before it resets the password) and the
/// password was set at or after the expiry. Then a second run lists no password to reset, so
/// it changes nothing.
pub fn already_reset(p: &Person, now: DateTime<Utc>) -> bool {
    is_disabled(p.user_account_control)
        && expired(p.account_expires, now)
        && p.pwd_last_set >= p.account_expires
}

/// A password nobody learns: 45 hex digits (180 bits) of two v4 UUIDs (the OS's generator),
/// behind `Rv!` so that AD's complexity rule (three of upper, lower, digit, symbol) holds.
fn random_password() -> String {
    format!("Rv!{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
        .chars()
        .take(48)
        .collect()
}

impl AdTarget {
    /// `pwdLastSet` of `guid`; `None` when it is gone.
    async fn pwd_last_set(&self, guid: &Uuid, doing: &str) -> Result<Option<i64>, TargetError> {
        let Some(e) = self
            .session
            .read(&guid_dn(guid), &["pwdLastSet"], doing)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(
            e.attrs
                .get("pwdLastSet")
                .and_then(|v| v.first())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ))
    }

    /// Resets the password of `guid` unless it has been set since discovery (`before`).
    pub async fn reset(&self, guid: &Uuid, before: i64) -> Result<RevokeResult, TargetError> {
        let doing = format!(
            "resetting the password of {guid} in directory {}",
            self.instance
        );
        let Some(now) = self.pwd_last_set(guid, &doing).await? else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        if now != before {
            return Ok(RevokeResult::AlreadyAbsent {
                removed_at: from_filetime(now),
            });
        }
        let value = unicode_pwd(&random_password());
        let r = self
            .session
            .modify(
                &guid_dn(guid),
                vec![Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([value]))],
                &doing,
            )
            .await?;
        if r.rc != 0 {
            // The server's message names the rule a password failed, never the password.
            return Err(self.session.result_error(&doing, &r));
        }
        let set = self.pwd_last_set(guid, &doing).await?;
        Ok(RevokeResult::Revoked {
            removed_at: set.and_then(from_filetime),
        })
    }

    /// Reads the password of `guid` back: gone when `pwdLastSet` has moved on from `before`.
    pub async fn verify_reset(&self, guid: &Uuid, before: i64) -> Result<ReadBack, TargetError> {
        let doing = format!(
            "reading the password of {guid} back in directory {}",
            self.instance
        );
        Ok(match self.pwd_last_set(guid, &doing).await? {
            None => ReadBack {
                gone: true,
                detail: format!("account {guid} no longer exists"),
                removed_at: None,
            },
            Some(now) => ReadBack {
                gone: now != before,
                detail: format!(
                    "pwdLastSet {now} ({}); {before} at discovery: {}",
                    from_filetime(now).map_or("never".into(), |t| t.to_rfc3339()),
                    if now != before {
                        "set since"
                    } else {
                        "not set since"
                    }
                ),
                removed_at: from_filetime(now),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::syntax::filetime;
    use super::*;

    fn person(uac: u32, expires: i64, pwd: i64) -> Person {
        Person {
            guid: Uuid::from_bytes([1; 16]),
            dn: "CN=a,DC=x".into(),
            user_account_control: uac,
            account_expires: expires,
            pwd_last_set: pwd,
            member_of: vec![],
            user_principal_name: None,
        }
    }

    #[test]
    fn a_reset_after_the_revocations_expiry_is_not_repeated() {
        let now = Utc::now();
        let past = filetime(now - chrono::TimeDelta::minutes(5));
        let later = past + 10_000_000;
        let earlier = past - 10_000_000;
        // An earlier revocation: disabled, expired, password set after the expiry.
        assert!(already_reset(&person(0x202, past, later), now));
        assert!(already_reset(&person(0x202, past, past), now));
        // Not yet reset, still enabled, or never expired: listed.
        assert!(!already_reset(&person(0x202, past, earlier), now));
        assert!(!already_reset(&person(0x200, past, later), now));
        assert!(!already_reset(&person(0x202, 0, later), now));
        assert!(!already_reset(&person(0x202, i64::MAX, later), now));
        let future = filetime(now + chrono::TimeDelta::days(1));
        assert!(!already_reset(&person(0x202, future, future + 1), now));
    }

    #[test]
    fn random_passwords_differ_and_meet_ads_complexity() {
        let (a, b) = (random_password(), random_password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 48);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()) || a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.contains('!'));
    }
}

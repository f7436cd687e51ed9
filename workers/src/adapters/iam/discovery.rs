//! Finding what a person holds in IAM: their own user (by name or by tag; several is
//! ambiguous), the users they sponsor (by owner tag, from a scan of all users shared by a burst
//! of leavers), and each user's keys, login profile, groups, MFA devices, SSH keys, certificates
//! and policies, in the order they are revoked (`holdings_of`).

use super::credentials::{Cred, CredKind};
use super::errors::user_items;
use super::objects::{held, iam_name_ok};
use super::policies;
use super::{IamObject, IamTarget, Match, UserScan};
use crate::adapters::{owner_names, Held, TargetError};
use aws_sdk_iam::types::EntityType;
use revoke_shared::contract::Identity;

/// How many `ListUserTags` calls run at once during a scan.
const SCAN_CONCURRENCY: usize = 8;

/// One user as a scan sees it.
#[derive(Debug, Clone)]
pub(super) struct ScannedUser {
    pub(super) name: String,
    pub(super) arn: String,
    pub(super) tags: Vec<(String, String)>,
}

impl ScannedUser {
    pub(super) fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The IAM user name an identity maps to with `match = "user_name"`: its username, else its
/// employee id; None when that cannot be an IAM user name.
pub fn user_name_of(who: &Identity) -> Option<&str> {
    let raw = who
        .username
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(&who.employee_id);
    iam_name_ok(raw, 64).then_some(raw)
}

impl IamTarget {
    /// `GetUser`: (name as IAM spells it, ARN), or None.
    pub(super) async fn get_user(
        &self,
        name: &str,
    ) -> Result<Option<(String, String)>, TargetError> {
        let r = self.client.get_user().user_name(name).send().await;
        Ok(self.found("looking up the IAM user", r)?.and_then(|o| {
            o.user()
                .map(|u| (u.user_name().to_string(), u.arn().to_string()))
        }))
    }

    /// Every user with its tags.
    pub(super) async fn scan_users(&self) -> Result<Vec<ScannedUser>, TargetError> {
        match self.user_scan {
            UserScan::AuthorizationDetails => {
                let mut pages = self
                    .client
                    .get_account_authorization_details()
                    .filter(EntityType::User)
                    .max_items(1000)
                    .into_paginator()
                    .send();
                let mut out = Vec::new();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        self.error("scanning users (GetAccountAuthorizationDetails)", e)
                    })?;
                    for u in page.user_detail_list() {
                        out.push(ScannedUser {
                            name: u.user_name().unwrap_or_default().to_string(),
                            arn: u.arn().unwrap_or_default().to_string(),
                            tags: u
                                .tags()
                                .iter()
                                .map(|t| (t.key().to_string(), t.value().to_string()))
                                .collect(),
                        });
                    }
                }
                Ok(out)
            }
            UserScan::ListUserTags => {
                let users = self
                    .client
                    .list_users()
                    .max_items(1000)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| self.error("scanning users (ListUsers)", e))?;
                let named: Vec<(String, String)> = users
                    .iter()
                    .map(|u| (u.user_name().to_string(), u.arn().to_string()))
                    .collect();
                let mut tagged: Vec<Result<Option<ScannedUser>, TargetError>> =
                    Vec::with_capacity(named.len());
                for chunk in named.chunks(SCAN_CONCURRENCY) {
                    tagged.extend(
                        futures::future::join_all(chunk.iter().map(|(name, arn)| async move {
                            let tags = self.user_tags(name).await?;
                            Ok(tags.map(|tags| ScannedUser {
                                name: name.clone(),
                                arn: arn.clone(),
                                tags,
                            }))
                        }))
                        .await,
                    );
                }
                let mut out = Vec::with_capacity(tagged.len());
                for t in tagged {
                    // A user deleted since ListUsers is simply not there.
                    if let Some(u) = t? {
                        out.push(u);
                    }
                }
                Ok(out)
            }
        }
    }

    /// A user's tags; None when the user does not exist.
    pub(super) async fn user_tags(
        &self,
        user: &str,
    ) -> Result<Option<Vec<(String, String)>>, TargetError> {
        let tags = user_items!(self, list_user_tags, user, "listing the user's tags")?;
        Ok(tags.map(|tags| {
            tags.iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    }

    /// Access keys of `user` (empty when the user is gone).
    pub(super) async fn access_keys_of(&self, user: &str) -> Result<Vec<Cred>, TargetError> {
        let keys = user_items!(self, list_access_keys, user, "listing access keys")?;
        Ok(keys
            .unwrap_or_default()
            .iter()
            .filter_map(|k| {
                Some(Cred {
                    id: k.access_key_id()?.to_string(),
                    status: k.status().cloned(),
                })
            })
            .collect())
    }

    pub(super) async fn has_login_profile(&self, user: &str) -> Result<bool, TargetError> {
        let r = self.client.get_login_profile().user_name(user).send().await;
        Ok(self.found("reading the login profile", r)?.is_some())
    }

    pub(super) async fn groups_of(&self, user: &str) -> Result<Vec<String>, TargetError> {
        let groups = user_items!(
            self,
            list_groups_for_user,
            user,
            "listing the user's groups"
        )?;
        Ok(groups
            .unwrap_or_default()
            .iter()
            .map(|g| g.group_name().to_string())
            .collect())
    }

    pub(super) async fn mfa_serials(&self, user: &str) -> Result<Vec<String>, TargetError> {
        let devices = user_items!(self, list_mfa_devices, user, "listing MFA devices")?;
        Ok(devices
            .unwrap_or_default()
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect())
    }

    pub(super) async fn ssh_keys_of(&self, user: &str) -> Result<Vec<Cred>, TargetError> {
        let keys = user_items!(self, list_ssh_public_keys, user, "listing SSH public keys")?;
        Ok(keys
            .unwrap_or_default()
            .iter()
            .map(|k| Cred {
                id: k.ssh_public_key_id().to_string(),
                status: Some(k.status().clone()),
            })
            .collect())
    }

    pub(super) async fn signing_certs_of(&self, user: &str) -> Result<Vec<Cred>, TargetError> {
        let certs = user_items!(
            self,
            list_signing_certificates,
            user,
            "listing signing certificates"
        )?;
        Ok(certs
            .unwrap_or_default()
            .iter()
            .map(|c| Cred {
                id: c.certificate_id().to_string(),
                status: Some(c.status().clone()),
            })
            .collect())
    }

    /// Everything the person's own user holds, in revocation order.
    ///
    /// Order: the credentials that can mint new sessions (access keys, the console login
    /// profile) go first, then the deny on sessions issued before now, then permissions (groups,
    /// managed and inline policies), then the rest. The deny comes right after the minting
    /// credentials, not before them: a deny written first would leave valid every session minted
    /// between its timestamp and the last key's deactivation; written after them, its timestamp
    /// covers every session the user can ever have had, and the window in which an existing
    /// session still works is only the few calls that switch the credentials off. Under partial
    /// failure (a key that would not deactivate) the deny is still written, marked provisional,
    /// and the next run rewrites it with a fresh timestamp once nothing can mint sessions (see
    /// `policies`), so re-runs converge on a deny that covers everything.
    pub(super) async fn holdings_of(
        &self,
        user: &str,
    ) -> Result<Vec<Held<IamObject>>, TargetError> {
        let (keys, profile, groups, mfa, ssh, certs, attached, inline) = futures::try_join!(
            self.access_keys_of(user),
            self.has_login_profile(user),
            self.groups_of(user),
            self.mfa_serials(user),
            self.ssh_keys_of(user),
            self.signing_certs_of(user),
            self.attached_policies(user),
            self.inline_policy_names(user),
        )?;
        let u = user.to_string();
        let mut out = Vec::new();
        for k in keys {
            let obj = IamObject::Credential {
                cred: CredKind::AccessKey,
                user: u.clone(),
                id: k.id,
            };
            out.push(held(obj, false, self.access_keys.action()));
        }
        if profile {
            out.push(held(
                IamObject::LoginProfile { user: u.clone() },
                false,
                "delete",
            ));
        }
        out.push(held(
            IamObject::IssuedSessions { user: u.clone() },
            false,
            policies::DENY_ACTION,
        ));
        for group in groups {
            let obj = IamObject::GroupMembership {
                group,
                user: u.clone(),
            };
            out.push(held(obj, false, "remove_membership"));
        }
        for arn in attached {
            let obj = IamObject::ManagedPolicy {
                user: u.clone(),
                arn,
            };
            out.push(held(obj, false, policies::DETACH_ACTION));
        }
        for name in inline {
            let obj = IamObject::InlinePolicy {
                user: u.clone(),
                name,
            };
            out.push(held(obj, false, policies::DELETE_INLINE_ACTION));
        }
        for serial in mfa {
            let obj = IamObject::Mfa {
                user: u.clone(),
                serial,
            };
            out.push(held(obj, false, "deactivate"));
        }
        for k in ssh {
            let obj = IamObject::Credential {
                cred: CredKind::SshKey,
                user: u.clone(),
                id: k.id,
            };
            out.push(held(obj, false, self.ssh_keys.action()));
        }
        for c in certs {
            let obj = IamObject::Credential {
                cred: CredKind::SigningCert,
                user: u.clone(),
                id: c.id,
            };
            out.push(held(obj, false, self.signing_certs.action()));
        }
        Ok(out)
    }

    /// Whether `user` still exists and its owner tag still names the person.
    pub(super) async fn still_owned_by(
        &self,
        user: &str,
        who: &Identity,
    ) -> Result<bool, TargetError> {
        let names = owner_names(who);
        Ok(self.user_tags(user).await?.is_some_and(|tags| {
            tags.iter()
                .any(|(k, v)| k == &self.owner_tag_key && names.contains(&v.as_str()))
        }))
    }

    /// The person's own IAM user (name, ARN) by the configured match, or None. `scan` is every
    /// user with its tags (needed for `match = "tag"` only).
    pub(super) async fn person_in(
        &self,
        who: &Identity,
        scan: &[ScannedUser],
    ) -> Result<Option<(String, String)>, TargetError> {
        match &self.matching {
            Match::UserName => match user_name_of(who) {
                Some(n) => self.get_user(n).await,
                None => Ok(None),
            },
            Match::Tag { key } => {
                let want = who.employee_id.as_str();
                let mut hits: Vec<&ScannedUser> = if want.is_empty() {
                    Vec::new()
                } else {
                    scan.iter().filter(|u| u.tag(key) == Some(want)).collect()
                };
                hits.sort_by(|a, b| a.name.cmp(&b.name));
                match hits.as_slice() {
                    [] => Ok(None),
                    [one] => Ok(Some((one.name.clone(), one.arn.clone()))),
                    many => Err(TargetError::Ambiguous(format!(
                        "{} IAM users on {} carry tag {key}={want:?} ({}): a person must say which one is employee {want}; nothing was revoked",
                        many.len(),
                        self.instance,
                        many.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    }

    /// The person's own IAM user by the adapter's normal lookup (as `discover` finds it).
    pub(super) async fn person(
        &self,
        who: &Identity,
    ) -> Result<Option<(String, String)>, TargetError> {
        let scan = match self.matching {
            Match::Tag { .. } => self.users.get(|| self.scan_users()).await?,
            Match::UserName => Default::default(),
        };
        self.person_in(who, &scan).await
    }
}

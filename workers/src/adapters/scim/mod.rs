//! SaaS target over SCIM 2.0 (RFC 7643 / RFC 7644), spoken with `reqwest`.
//!
//! - Lookup: `GET /Users?filter=<attr> eq "<value>"` with the value escaped per RFC 7644 §3.4.2.2
//!   (backslash and double quote escaped, control characters refused) and URL-encoded. Exactly one
//!   match proceeds; none means already absent; several are `Ambiguous` (a person decides). Every
//!   returned record is re-checked client-side, so a server that ignores the filter is caught.
//! - Holdings: the account (`deactivate` or `delete` by policy) and every group membership
//!   (`GET /Groups?filter=members.value eq "<id>"`, else a scan of all Groups pages).
//! - Revoke: `PATCH /Users/{id}` `active=false` or `DELETE /Users/{id}`; group memberships with
//!   `PATCH /Groups/{gid}` `remove members[value eq "<id>"]`. Idempotent: already inactive, deleted
//!   or not a member is `AlreadyAbsent` without a write.
//! - Verify: read the user / group back.
//! - Object ids (`ScimObject`, parsed once where the contract's strings come in): `account` is the
//!   SCIM user id as the server gave it; `group_membership` is `Groups/<gid>/members/<uid>`, each
//!   id with `%` and `/` written `%25` and `%2F`. An id that does not parse never reaches a
//!   request.
//!
//! Config `[targets.saas]`:
//! ```toml
//! [targets.saas]
//! base_url = "https://scim.example.com/v2"   # required
//! token_env = "REVOKE_SCIM_TOKEN"            # or token_file = "/run/secrets/scim-token"
//! match_attribute = "userName"               # userName (default) | emails | externalId
//! policy = "deactivate"                      # deactivate (default) | delete
//! principal = "scim-client"                  # actor recorded in evidence
//! timeout_ms = 10000                         # per HTTP request
//! ```
//!
//! Where things are: `settings` reads the table above, `objects` holds filter escaping, the
//! object ids (`ScimObject`) and the readers of SCIM records, `client` sends the requests,
//! `discovery` finds the user and their groups, `revoke` deactivates or deletes the account and
//! removes memberships, `restore` gives them back; this file holds the adapter and its `Adapter`
//! answers.

mod client;
mod discovery;
mod objects;
mod restore;
mod revoke;
pub(crate) mod settings;
#[cfg(test)]
mod tests;

pub use objects::{eq_filter, escape_filter_value, ScimObject};
pub use settings::{AccountPolicy, MatchAttribute};

use super::{Adapter, Held, ObjectRef, ReadBack, RestoreResult, RevokeResult, TargetError};
use async_trait::async_trait;
use objects::{has_member, is_active, last_modified};
use reqwest::Url;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::secret::Secret;
use serde_json::Value;

pub struct ScimTarget {
    instance: String,
    principal: String,
    base: Url,
    token: Secret,
    match_attribute: MatchAttribute,
    policy: AccountPolicy,
    http: reqwest::Client,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

impl std::fmt::Debug for ScimTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimTarget")
            .field("instance", &self.instance)
            .field("principal", &self.principal)
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .field("match_attribute", &self.match_attribute)
            .field("policy", &self.policy)
            .finish()
    }
}

#[async_trait]
impl Adapter for ScimTarget {
    const KIND: TargetKind = TargetKind::Saas;
    type Object = ScimObject;

    fn names(&self) -> (&str, &str) {
        (&self.instance, &self.principal)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<ScimObject>>, TargetError> {
        let Some(user) = self.find_user(who).await? else {
            return Ok(Vec::new());
        };
        let uid = user
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // Memberships first, then the account (so a delete leaves no dangling member references).
        let mut out: Vec<Held<ScimObject>> = self
            .groups_of(&uid)
            .await?
            .into_iter()
            .map(|group| {
                let user = uid.clone();
                Held::new(
                    ScimObject::GroupMembership { group, user },
                    false,
                    "remove_membership",
                )
            })
            .collect();
        out.push(Held::new(
            ScimObject::Account { user: uid },
            false,
            self.policy.action(),
        ));
        Ok(out)
    }

    async fn revoke(
        &self,
        _who: &Identity,
        what: &Held<ScimObject>,
    ) -> Result<RevokeResult, TargetError> {
        match &what.object {
            ScimObject::Account { user } => self.revoke_account(user, &what.action).await,
            ScimObject::GroupMembership { group, user } => {
                self.revoke_membership(group, user).await
            }
        }
    }

    async fn verify(
        &self,
        _who: &Identity,
        what: &Held<ScimObject>,
    ) -> Result<ReadBack, TargetError> {
        match &what.object {
            ScimObject::Account { user } => {
                let w = format!("reading back SCIM user {user} on {}", self.instance);
                Ok(match self.get("Users", user, &w).await? {
                    None => ReadBack {
                        gone: true,
                        detail: "GET /Users/{id}: 404, user deleted".into(),
                        removed_at: None,
                    },
                    Some(u) if what.action == "delete" => ReadBack {
                        gone: false,
                        detail: format!(
                            "GET /Users/{{id}}: user still exists (active: {})",
                            is_active(&u)
                        ),
                        removed_at: None,
                    },
                    Some(u) if !is_active(&u) => ReadBack {
                        gone: true,
                        detail: "GET /Users/{id}: active=false".into(),
                        removed_at: last_modified(&u),
                    },
                    Some(_) => ReadBack {
                        gone: false,
                        detail: "GET /Users/{id}: still active".into(),
                        removed_at: None,
                    },
                })
            }
            ScimObject::GroupMembership { group, user } => {
                let w = format!("reading back SCIM group {group} on {}", self.instance);
                Ok(match self.get("Groups", group, &w).await? {
                    None => ReadBack {
                        gone: true,
                        detail: "GET /Groups/{id}: 404, group deleted".into(),
                        removed_at: None,
                    },
                    Some(g) if has_member(&g, user) => ReadBack {
                        gone: false,
                        detail: "GET /Groups/{id}: still lists the member".into(),
                        removed_at: None,
                    },
                    Some(g) => ReadBack {
                        gone: true,
                        detail: "GET /Groups/{id}: member not listed".into(),
                        removed_at: last_modified(&g),
                    },
                })
            }
        }
    }

    /// A restore is a grant and its evidence may be forged: the user re-activated or re-added is
    /// only ever the one `who` resolves to now (the exact lookup discovery uses).
    async fn restore(
        &self,
        who: &Identity,
        obj: &ScimObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (obj, ev.action.as_str()) {
            (ScimObject::Account { user }, "deactivate") => {
                if let Some(refusal) = self.not_owned(who, user).await? {
                    return Ok(refusal);
                }
                self.restore_account(user).await
            }
            (ScimObject::GroupMembership { group, user }, "remove_membership") => {
                if let Some(refusal) = self.not_owned(who, user).await? {
                    return Ok(refusal);
                }
                self.restore_membership(group, user).await
            }
            (ScimObject::Account { user }, "delete") => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "SCIM user {user} was deleted on {}; re-provision it",
                    self.instance
                ),
            }),
            (obj, action) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "SCIM target {} cannot undo {action} of {}",
                    self.instance,
                    obj.kind()
                ),
            }),
        }
    }
}

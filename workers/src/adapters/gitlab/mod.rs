//! The `cicd` target: GitLab over its REST API v4 (`reqwest`, header `PRIVATE-TOKEN`).
//!
//! - Lookup (admin token): `GET /users?username=<u>` (exact but case-insensitive on GitLab),
//!   `GET /users?search=<email>` or `GET /users?extern_uid=<id>&provider=<p>`, with the value
//!   URL-encoded as a query parameter. Every returned user is re-checked client-side, so a server
//!   that searches fuzzily (GitLab's `search=` does) cannot cause a wrong match. None → nothing
//!   held (already absent); several → `Ambiguous` (a person decides). Identities GitLab's username
//!   rules cannot match (`*`, `a*`, `../`, `"`, `x)(uid=*`) are never sent at all. The revoker's
//!   own user is never revoked.
//! - Holdings, in revocation order:
//!   - `personal_access_token` `personal_access_tokens/<id>` — `GET /personal_access_tokens?user_id=
//!     &state=active` (GitLab ≥ 15.5; tokens of other users the server may return are dropped),
//!     revoked with `DELETE /personal_access_tokens/:id`. Irreversible.
//!   - `ssh_key` `users/<uid>/keys/<id>` — `GET /users/:id/keys`, `DELETE /users/:id/keys/:key_id`.
//!     Irreversible (the key material is not kept).
//!   - sponsored: `project_access_token` / `group_access_token` `projects/<pid>/access_tokens/<id>`,
//!     and `deploy_token` `projects/<pid>/deploy_tokens/<id>` (or `groups/…`), revoked/deleted.
//!     Irreversible.
//!   - `group_membership` / `project_membership` `groups/<gid>/members/<uid>@<access_level>` —
//!     `GET /users/:id/memberships` (direct memberships), `DELETE /groups/:id/members/:user_id`.
//!     Restored with `POST /groups/:id/members` at the recorded access level. GitLab refuses to
//!     remove a group's last Owner (403): that object is `manual_required` (hand the group over).
//!   - `account` `users/<uid>` — `POST /users/:id/block` (unless `block = false`); already blocked
//!     is already absent. Restored with `POST /users/:id/unblock`.
//! - Verify: `GET` each object back: token inactive/revoked or 404, key/member 404, user `state`
//!   blocked (`blocked`, `ldap_blocked`, `banned`, `blocked_pending_approval`).
//! - Times: GitLab's write answers carry no removal time in their body, so `removed_at` is the
//!   server's own `Date` header of the answer that revoked the object.
//!
//! **Sponsored credentials — what GitLab exposes.** Project/group access tokens belong to bot users
//! and deploy tokens to a project or group; neither API names the person who created them (the
//! bot's membership is added without `created_by`, and deploy tokens have no creator field; the
//! creator is only in audit events, a Premium feature, and the application log). So sponsorship is
//! a naming convention: a token is the person's when its name or description contains the word
//! `<sponsor_marker><username>` (default `owner:ada`), matched exactly (case-insensitive). The
//! adapter looks for such tokens in every project and group where the person is a direct member
//! with at least the Maintainer role (40) — only they can create them. Tokens that do not follow
//! the convention, or live where the person no longer holds Maintainer, are not found.
//!
//! HTTP: list endpoints are followed page by page (`Link: rel="next"` on the same origin, else
//! `X-Next-Page`), at most 1000 pages, `per_page` at most 100. 429 (and 503 with `Retry-After`)
//! is `RateLimited` carrying the pause `Retry-After` / `RateLimit-Reset` asked for; 5xx are `Transient`; 401/403 `Permanent` with a hint about the token's
//! scopes; 404 on a delete is already absent. The token is only ever sent in the `PRIVATE-TOKEN`
//! header (marked sensitive) and never formatted.
//!
//! Config `[targets.cicd]`: its keys, defaults and meanings are `settings::Settings`.
//!
//! ```toml
//! [targets.cicd]
//! base_url = "https://gitlab.example.com"
//! token_env = "REVOKE_GITLAB_TOKEN"        # or token_file = "/run/secrets/gitlab-token"
//! match_attribute = "username"
//! block = true
//! sponsor_marker = "owner:"
//! timeout_ms = 10000
//! per_page = 100
//! ```
//!
//! Where things are: `settings` reads the table above, `objects` names what a user holds (and
//! parses evidence ids back), `client` sends the requests (pagination, errors, rate limit),
//! `discovery` finds the user and their sponsored tokens, `restore` gives back what can be;
//! this file holds the adapter and its answers to the contract (`Adapter`).

mod client;
mod discovery;
mod objects;
mod restore;
pub(crate) mod settings;
#[cfg(test)]
mod tests;

pub use client::{error_for, next_page_url};
pub use objects::{access_level, gitlab_username_ok, names_sponsor, Object, Source};
pub use settings::MatchAttribute;

use super::{
    Adapter, Held, ObjectRef, Principal, ReadBack, RestoreResult, RevokeResult, TargetError,
};
use async_trait::async_trait;
use client::Gitlab;
use objects::{blocked, deploy_token_active, token_active, ACCESS_LEVELS, MAINTAINER};
use reqwest::{Method, StatusCode, Url};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::secret::Secret;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub struct GitlabTarget {
    instance: String,
    /// `<base_url>/api/v4`.
    api: Url,
    token: Secret,
    match_attribute: MatchAttribute,
    extern_uid_provider: String,
    block: bool,
    sponsor_marker: String,
    per_page: u32,
    http: reqwest::Client,
    /// Configured principal, or the token owner's username read by `resolve_principal`.
    principal: Principal,
    /// The token owner's user id: never revoked.
    self_id: OnceLock<u64>,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

impl std::fmt::Debug for GitlabTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabTarget")
            .field("instance", &self.instance)
            .field("api", &self.api.as_str())
            .field("token", &self.token)
            .field("match_attribute", &self.match_attribute)
            .field("block", &self.block)
            .field("sponsor_marker", &self.sponsor_marker)
            .field("per_page", &self.per_page)
            .field("principal", &self.principal.get())
            .finish()
    }
}

impl GitlabTarget {
    /// What a call on `obj` is doing, for its errors: `revoke personal_access_token
    /// personal_access_tokens/7 on gitlab default`.
    fn doing(&self, verb: &str, obj: &Object) -> String {
        format!(
            "{verb} {} {} on gitlab {}",
            obj.kind(),
            obj.id(),
            self.instance
        )
    }
}

#[async_trait]
impl Adapter for GitlabTarget {
    const KIND: TargetKind = TargetKind::Cicd;
    type Object = Object;

    fn names(&self) -> (&str, &str) {
        (&self.instance, self.principal.get())
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<Object>>, TargetError> {
        self.resolve_principal().await?;
        let Some(user) = self.find_user(who).await? else {
            return Ok(Vec::new());
        };
        let uid = user["id"].as_u64().unwrap_or_default();
        self.refuse_self(uid, "revoke")?;
        let username = user["username"].as_str().unwrap_or_default().to_string();
        let u = uid.to_string();
        let mut objects = Vec::new();

        let what = format!(
            "listing the personal access tokens of GitLab user {u} on {}",
            self.instance
        );
        for t in self
            .list(
                &["personal_access_tokens"],
                &[("user_id", &u), ("state", "active")],
                &what,
                false,
            )
            .await?
            .unwrap_or_default()
        {
            // A server that ignores `user_id` must not make us revoke someone else's token.
            if t["user_id"].as_u64() == Some(uid) && token_active(&t) {
                if let Some(id) = t["id"].as_u64() {
                    objects.push(Object::PersonalAccessToken { id });
                }
            }
        }

        let what = format!(
            "listing the SSH keys of GitLab user {u} on {}",
            self.instance
        );
        for k in self
            .list(&["users", &u, "keys"], &[], &what, false)
            .await?
            .unwrap_or_default()
        {
            if let Some(key) = k["id"].as_u64() {
                objects.push(Object::SshKey { user: uid, key });
            }
        }

        let what = format!(
            "listing the memberships of GitLab user {u} on {}",
            self.instance
        );
        let mut memberships = Vec::new();
        for m in self
            .list(&["users", &u, "memberships"], &[], &what, false)
            .await?
            .unwrap_or_default()
        {
            let source = m["source_type"]
                .as_str()
                .and_then(Source::from_membership_type);
            match (
                source,
                m["source_id"].as_u64(),
                access_level(&m["access_level"]),
            ) {
                (Some(source), Some(source_id), Some(level)) => {
                    memberships.push(Object::Membership {
                        source,
                        source_id,
                        user: uid,
                        access_level: level,
                    })
                }
                _ => {
                    return Err(TargetError::Ambiguous(format!(
                        "{what}: a membership this adapter cannot name: {m}"
                    )))
                }
            }
        }

        if !self.sponsor_marker.is_empty() {
            let sources: BTreeSet<(Source, u64)> = memberships
                .iter()
                .filter_map(|m| match m {
                    Object::Membership {
                        source,
                        source_id,
                        access_level,
                        ..
                    } if *access_level >= MAINTAINER => Some((*source, *source_id)),
                    _ => None,
                })
                .collect();
            for (source, source_id) in sources {
                self.sponsored_in(source, source_id, &username, &mut objects)
                    .await?;
            }
        }
        objects.extend(memberships);
        if self.block {
            objects.push(Object::Account { user: uid });
        }
        Ok(objects.into_iter().map(Object::held).collect())
    }

    async fn revoke(
        &self,
        _who: &Identity,
        what: &Held<Object>,
    ) -> Result<RevokeResult, TargetError> {
        let obj = &what.object;
        let doing = self.doing(obj.action(), obj);
        let segments = obj.segments();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        match obj {
            Object::PersonalAccessToken { .. } | Object::AccessToken { .. } => {
                self.revoke_token(&segs, &doing).await
            }
            Object::SshKey { .. } | Object::DeployToken { .. } => self.delete(&segs, &doing).await,
            Object::Membership {
                source,
                source_id,
                access_level,
                ..
            } => {
                let a = self
                    .call(Method::DELETE, self.url(&segs), None, &doing)
                    .await?;
                match a.status {
                    s if s.is_success() => Ok(RevokeResult::Revoked {
                        removed_at: a.date(),
                    }),
                    StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    // GitLab never removes a group's last Owner, not even for an administrator.
                    StatusCode::FORBIDDEN if *source == Source::Group && *access_level >= 50 => {
                        Err(TargetError::Ambiguous(format!(
                            "{doing}: HTTP 403 — GitLab refuses to remove the last Owner of group {source_id}; a person must hand the group to another Owner, then re-run (the account is still blocked)"
                        )))
                    }
                    _ => Err(a.error::<Gitlab>(&doing)),
                }
            }
            Object::Account { user } => {
                self.refuse_self(*user, "block")?;
                let u = user.to_string();
                match self.get_opt(&["users", &u], &doing).await? {
                    None => return Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    Some(r) if blocked(&r) => {
                        return Ok(RevokeResult::AlreadyAbsent { removed_at: None })
                    }
                    Some(_) => {}
                }
                let a = self
                    .call(
                        Method::POST,
                        self.url(&["users", &u, "block"]),
                        None,
                        &doing,
                    )
                    .await?;
                match a.status {
                    // GitLab answers `true` when it blocked now and `null` when already blocked.
                    s if s.is_success() && a.body == Value::Bool(true) => {
                        Ok(RevokeResult::Revoked {
                            removed_at: a.date(),
                        })
                    }
                    s if s.is_success() => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    _ => Err(a.error::<Gitlab>(&doing)),
                }
            }
        }
    }

    async fn verify(&self, _who: &Identity, what: &Held<Object>) -> Result<ReadBack, TargetError> {
        let obj = &what.object;
        let doing = self.doing("reading back", obj);
        let segments = obj.segments();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        match obj {
            Object::PersonalAccessToken { .. } | Object::AccessToken { .. } => {
                self.read_token(&segs, &doing).await
            }
            Object::SshKey { .. } => self.read_absent(&segs, &doing, "key").await,
            Object::DeployToken { .. } => Ok(match self.get_opt(&segs, &doing).await? {
                None => ReadBack {
                    gone: true,
                    detail: format!("GET /{}: 404, deploy token gone", segs.join("/")),
                    removed_at: None,
                },
                Some(t) => ReadBack {
                    gone: !deploy_token_active(&t),
                    detail: format!(
                        "GET /{}: revoked={}, expired={}",
                        segs.join("/"),
                        t["revoked"],
                        t["expired"]
                    ),
                    removed_at: None,
                },
            }),
            Object::Membership { .. } => self.read_absent(&segs, &doing, "membership").await,
            Object::Account { user } => {
                let u = user.to_string();
                Ok(match self.get_opt(&["users", &u], &doing).await? {
                    None => ReadBack {
                        gone: true,
                        detail: format!("GET /users/{u}: 404, user deleted"),
                        removed_at: None,
                    },
                    Some(r) => ReadBack {
                        gone: blocked(&r),
                        detail: format!("GET /users/{u}: state={}", r["state"]),
                        removed_at: None,
                    },
                })
            }
        }
    }

    /// Unblocks the account and re-adds memberships at their recorded access level. Revoked
    /// tokens and deleted keys cannot come back: the person (or sponsor) issues new ones.
    /// A restore is a grant and its evidence may be forged: only the user `who` resolves to now
    /// (the exact lookup discovery uses) is unblocked or re-added, at a level GitLab defines.
    async fn restore(
        &self,
        who: &Identity,
        obj: &Object,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (obj, ev.action.as_str()) {
            (Object::Account { user }, "block") => {
                if let Some(refusal) = self.not_owned(who, *user).await? {
                    return Ok(refusal);
                }
                self.restore_account(*user).await
            }
            (
                Object::Membership {
                    source,
                    source_id,
                    user,
                    access_level,
                },
                "remove_membership",
            ) => {
                if !ACCESS_LEVELS.contains(access_level) {
                    return Ok(RestoreResult::Refused {
                        reason: format!(
                            "{} {}: access level {access_level} is not one GitLab defines; nothing re-added",
                            obj.kind(),
                            obj.id()
                        ),
                    });
                }
                if let Some(refusal) = self.not_owned(who, *user).await? {
                    return Ok(refusal);
                }
                self.restore_membership(*source, *source_id, *user, *access_level)
                    .await
            }
            (Object::PersonalAccessToken { .. } | Object::AccessToken { .. }, _) => {
                Ok(RestoreResult::Irreversible {
                    reason: format!(
                        "{} {} was revoked on gitlab {}; a revoked token cannot be revived, issue a new one",
                        obj.kind(),
                        obj.id(),
                        self.instance
                    ),
                })
            }
            (Object::SshKey { .. } | Object::DeployToken { .. }, _) => {
                Ok(RestoreResult::Irreversible {
                    reason: format!(
                        "{} {} was deleted on gitlab {}; its secret is not kept, add a new one",
                        obj.kind(),
                        obj.id(),
                        self.instance
                    ),
                })
            }
            (_, action) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "gitlab {} cannot undo {action} of {}",
                    self.instance,
                    obj.kind()
                ),
            }),
        }
    }
}

//! The `vault` target: HashiCorp Vault / OpenBao over their HTTP API.
//!
//! Finds the person's identity entity through their userpass alias, and revokes: every token of
//! the entity (by accessor, never by token value), the entity itself (`disabled: true`), the
//! userpass user (deleted, by config), any lease left under the person's userpass login path
//! (`sys/leases/revoke-prefix`), and the tokens the person sponsors (tokens whose metadata
//! `<owner_metadata_key>` names the person's username, email or employee id), and the AppRole
//! secret ids the person sponsors (secret ids whose metadata `<owner_metadata_key>` names them:
//! destroyed by accessor, so the machine that held one can no longer log in).
//!
//! Child tokens go with their parent; the evidence names those it can attribute: a non-orphan
//! token of the person's entity made through `auth/token/create` (see `is_child_in_entity`) is
//! listed after the parents as `revoke_with_parent`. A restore re-enables only the entity the
//! person's userpass alias names at the target (the evidence may be forged). Redirects are never
//! followed (`http`).
//!
//! Config `[targets.vault]`: its keys, defaults and meanings are `settings::Settings`.
//!
//! Path segments built from identity data are percent-encoded, and `.`/`..` never reach a path,
//! so a username cannot change which object a request names. The token is sent only in the
//! `X-Vault-Token` header and never formatted into errors.
//!
//! Where things are: `settings` reads the table above, `client` sends the requests (token and
//! namespace headers, rate gate, errors), `objects` names tokens, secret ids and userpass paths
//! (and parses evidence ids back), `discovery` finds the person's entity, tokens, leases and
//! sponsored credentials; this file holds the adapter and its `Target` answers.

mod client;
mod discovery;
mod objects;
pub(crate) mod settings;
#[cfg(test)]
mod tests;

pub use objects::{encode_segment, userpass_name_ok};

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use objects::{is_child_in_entity, parse_time, token_holding, TokenInfo, REVOKE_WITH_PARENT};
use reqwest::{Method, StatusCode};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::secret::Secret;
use serde_json::{json, Value};
use std::sync::OnceLock;

pub struct VaultTarget {
    instance: String,
    address: String,
    token: Secret,
    namespace: Option<String>,
    userpass_mount: String,
    delete_userpass_user: bool,
    owner_metadata_key: String,
    /// None: every mount of type `approle`.
    approle_mounts: Option<Vec<String>>,
    client: reqwest::Client,
    /// Configured principal, or the one `resolve_principal` read from `lookup-self`.
    principal: OnceLock<String>,
    fallback_principal: String,
    /// The revoker's own token accessor: never revoked, whatever its metadata says.
    self_accessor: OnceLock<String>,
    /// Every token's accessor and metadata, listed once for a burst of leavers.
    token_scan: super::scan::FreshScan<Vec<TokenInfo>>,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

#[async_trait]
impl Target for VaultTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Vault
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        self.principal
            .get()
            .map(String::as_str)
            .unwrap_or(&self.fallback_principal)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.resolve_principal().await?;
        let own_accessor = self.self_accessor.get().cloned().unwrap_or_default();
        let name = self.userpass_name(who);
        let mut out = Vec::new();

        let entity_id = match &name {
            Some(n) => self.entity_id_for(n).await?,
            None => None,
        };
        if let Some(id) = &entity_id {
            out.push(Holding {
                object_kind: "entity".into(),
                object_id: id.clone(),
                sponsored: false,
                action: "disable".into(),
            });
        }
        if let Some(n) = &name {
            if self.delete_userpass_user && self.userpass_user_exists(n).await? {
                out.push(Holding {
                    object_kind: "userpass_user".into(),
                    object_id: self.userpass_object_id(n),
                    sponsored: false,
                    action: "delete".into(),
                });
            }
        }

        let login_path = name
            .as_ref()
            .map(|n| format!("auth/{}/login/{n}", self.userpass_mount));
        let owner_names = super::owner_names(who);
        let mut own = Vec::new();
        let mut children = Vec::new();
        let mut sponsored = Vec::new();
        // Vault cannot list tokens by entity or metadata: every token is looked up. A burst of
        // leavers shares one listing taken after each of them asked (`FreshScan`).
        let tokens = self.token_scan.get(|| self.all_tokens()).await?;
        for t in tokens.iter() {
            if t.accessor == own_accessor {
                continue;
            }
            let by_entity = entity_id
                .as_deref()
                .is_some_and(|e| !t.entity_id.is_empty() && t.entity_id == e);
            let by_login = login_path.as_deref().is_some_and(|p| t.path == p)
                && name
                    .as_deref()
                    .is_some_and(|n| t.meta.get("username").and_then(Value::as_str) == Some(n));
            if by_entity && is_child_in_entity(t) {
                children.push(Holding {
                    object_kind: "token".into(),
                    object_id: t.accessor.clone(),
                    sponsored: false,
                    action: REVOKE_WITH_PARENT.into(),
                });
            } else if by_entity || by_login {
                own.push(token_holding(&t.accessor, false));
            } else if t
                .meta
                .get(&self.owner_metadata_key)
                .and_then(Value::as_str)
                .is_some_and(|o| owner_names.contains(&o))
            {
                sponsored.push(token_holding(&t.accessor, true));
            }
        }
        // Entity first (its tokens stop working at once), then the login, then every token —
        // parents before the children that go with them — then whatever lease is still left
        // under the login path (a login since discovery).
        out.extend(own);
        out.extend(children);
        if let Some(n) = &name {
            if self.login_leases(n).await? > 0 {
                out.push(Holding {
                    object_kind: "lease_prefix".into(),
                    object_id: self.login_lease_prefix(n),
                    sponsored: false,
                    action: "revoke".into(),
                });
            }
        }
        out.extend(sponsored);
        out.extend(self.sponsored_secret_ids(&owner_names).await?);
        Ok(out)
    }

    async fn revoke(&self, _who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        match what.object_kind.as_str() {
            "token" => {
                if self
                    .self_accessor
                    .get()
                    .is_some_and(|a| a == &what.object_id)
                {
                    return Err(TargetError::Permanent(
                        "refusing to revoke the revoker's own token".into(),
                    ));
                }
                if self.lookup_accessor(&what.object_id).await?.is_none() {
                    if what.action == REVOKE_WITH_PARENT {
                        // Listed at discovery, gone now: it went with its parent, which this run
                        // revoked just before (parents are listed first).
                        return Ok(RevokeResult::Revoked { removed_at: None });
                    }
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                // Still here (a child whose parent is not among the person's tokens, or any other
                // token of theirs): revoked on its own.
                let doing = "revoking a token by accessor";
                let (status, body) = self
                    .call(
                        Method::POST,
                        "auth/token/revoke-accessor",
                        Some(json!({"accessor": what.object_id})),
                        doing,
                    )
                    .await?;
                match status {
                    StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
                        Ok(RevokeResult::AlreadyAbsent { removed_at: None })
                    }
                    _ if body["warnings"].as_array().is_some_and(|w| !w.is_empty()) => {
                        Ok(RevokeResult::AlreadyAbsent { removed_at: None })
                    }
                    _ => Ok(RevokeResult::Revoked { removed_at: None }),
                }
            }
            "entity" => {
                let path = format!("identity/entity/id/{}", encode_segment(&what.object_id));
                let Some(body) = self.read_entity(&path, "reading the entity").await? else {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                };
                if body["data"]["disabled"].as_bool() == Some(true) {
                    return Ok(RevokeResult::AlreadyAbsent {
                        removed_at: parse_time(&body["data"]["last_update_time"]),
                    });
                }
                self.revoking_call(
                    Method::POST,
                    &path,
                    Some(json!({"disabled": true})),
                    "disabling the entity",
                    &[StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND],
                )
                .await
            }
            "userpass_user" => {
                let name = self.userpass_user_of(&what.object_id)?;
                if !self.userpass_user_exists(name).await? {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                // A user gone since the check above (404) counts as revoked.
                self.revoking_call(
                    Method::DELETE,
                    &self.userpass_user_path(name),
                    None,
                    "deleting the userpass user",
                    &[StatusCode::BAD_REQUEST],
                )
                .await
            }
            "approle_secret_id" => {
                let id = self.secret_id_ref(&what.object_id)?;
                if self.secret_id_meta(&id).await?.is_none() {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                let doing = "destroying an AppRole secret id by accessor";
                let (status, body) = self
                    .call(
                        Method::POST,
                        &format!(
                            "{}/secret-id-accessor/destroy",
                            Self::role_path(&id.mount, &id.role)
                        ),
                        Some(json!({"secret_id_accessor": id.accessor})),
                        doing,
                    )
                    .await?;
                match status {
                    StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    StatusCode::BAD_REQUEST => Err(self.refused(doing, &body)),
                    _ => Ok(RevokeResult::Revoked { removed_at: None }),
                }
            }
            "lease_prefix" => {
                let name = self.lease_prefix_user(&what.object_id)?;
                if self.login_leases(name).await? == 0 {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                // Without the trailing slash (the API refuses writes to `.../`); OpenBao and Vault
                // add it back before matching, so `ada` never reaches `adam`'s leases (tested).
                let path = format!(
                    "sys/leases/revoke-prefix/{}",
                    self.login_lease_prefix(name).trim_end_matches('/')
                );
                self.revoking_call(
                    Method::PUT,
                    &path,
                    Some(json!({"sync": true})),
                    "revoking leases by prefix",
                    &[StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND],
                )
                .await
            }
            other => Err(TargetError::Permanent(format!(
                "the vault target has no object kind {other:?}"
            ))),
        }
    }

    async fn verify(&self, _who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        match what.object_kind.as_str() {
            "token" => Ok(match self.lookup_accessor(&what.object_id).await? {
                None => ReadBack {
                    gone: true,
                    detail: if what.action == REVOKE_WITH_PARENT {
                        "lookup-accessor: no such token (a child token, revoked with its parent)"
                            .into()
                    } else {
                        "lookup-accessor: no such token".into()
                    },
                    removed_at: None,
                },
                Some(_) => ReadBack {
                    gone: false,
                    detail: "token still valid".into(),
                    removed_at: None,
                },
            }),
            "entity" => {
                let path = format!("identity/entity/id/{}", encode_segment(&what.object_id));
                let Some(body) = self.read_entity(&path, "reading the entity back").await? else {
                    return Ok(ReadBack {
                        gone: true,
                        detail: "entity deleted".into(),
                        removed_at: None,
                    });
                };
                Ok(if body["data"]["disabled"].as_bool() == Some(true) {
                    ReadBack {
                        gone: true,
                        detail: "entity disabled".into(),
                        removed_at: parse_time(&body["data"]["last_update_time"]),
                    }
                } else {
                    ReadBack {
                        gone: false,
                        detail: "entity still enabled".into(),
                        removed_at: None,
                    }
                })
            }
            "userpass_user" => {
                let name = self.userpass_user_of(&what.object_id)?;
                Ok(if self.userpass_user_exists(name).await? {
                    ReadBack {
                        gone: false,
                        detail: "userpass user still exists".into(),
                        removed_at: None,
                    }
                } else {
                    ReadBack {
                        gone: true,
                        detail: "userpass user: 404".into(),
                        removed_at: None,
                    }
                })
            }
            "approle_secret_id" => {
                let id = self.secret_id_ref(&what.object_id)?;
                Ok(match self.secret_id_meta(&id).await? {
                    None => ReadBack {
                        gone: true,
                        detail: "secret-id-accessor/lookup: no such secret id".into(),
                        removed_at: None,
                    },
                    Some(_) => ReadBack {
                        gone: false,
                        detail: "secret id still exists".into(),
                        removed_at: None,
                    },
                })
            }
            "lease_prefix" => {
                let name = self.lease_prefix_user(&what.object_id)?;
                Ok(match self.login_leases(name).await? {
                    0 => ReadBack {
                        gone: true,
                        detail: "no leases under the login path".into(),
                        removed_at: None,
                    },
                    n => ReadBack {
                        gone: false,
                        detail: format!("{n} leases still under the login path"),
                        removed_at: None,
                    },
                })
            }
            other => Err(TargetError::Permanent(format!(
                "the vault target has no object kind {other:?}"
            ))),
        }
    }

    /// Re-enables a disabled entity. Revoked tokens and deleted userpass users cannot come back:
    /// the person logs in again with a login an operator re-creates.
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (ev.object_kind.as_str(), ev.action.as_str()) {
            ("entity", "disable") => {
                let path = format!("identity/entity/id/{}", encode_segment(&ev.object_id));
                let (status, body) = self
                    .call(
                        Method::GET,
                        &path,
                        None,
                        "reading the entity to re-enable it",
                    )
                    .await?;
                if status == StatusCode::NOT_FOUND || status == StatusCode::NO_CONTENT {
                    return Ok(RestoreResult::Irreversible {
                        reason: format!("entity {} no longer exists", ev.object_id),
                    });
                }
                if status == StatusCode::BAD_REQUEST {
                    return Err(self.refused("reading the entity", &body));
                }
                // A restore is a grant and its evidence may be forged: only the entity the
                // person's userpass alias names now is re-enabled.
                let theirs = match self.userpass_name(who) {
                    Some(n) => self.entity_id_for(&n).await?,
                    None => None,
                };
                if theirs.as_deref() != Some(ev.object_id.as_str()) {
                    return Ok(RestoreResult::Refused {
                        reason: format!(
                            "entity {} is not {}'s on vault {} ({}): nothing re-enabled",
                            ev.object_id,
                            who.employee_id,
                            self.instance,
                            match theirs {
                                Some(e) => format!("their userpass alias names entity {e}"),
                                None => "no userpass alias of theirs names an entity".into(),
                            }
                        ),
                    });
                }
                if body["data"]["disabled"].as_bool() != Some(true) {
                    return Ok(RestoreResult::AlreadyPresent);
                }
                let (status, body) = self
                    .call(
                        Method::POST,
                        &path,
                        Some(json!({"disabled": false})),
                        "re-enabling the entity",
                    )
                    .await?;
                if status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND {
                    return Err(self.refused("re-enabling the entity", &body));
                }
                Ok(RestoreResult::Restored { restored_at: None })
            }
            ("token", _) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "token {} was revoked; a revoked token cannot be revived, issue a new one",
                    ev.object_id
                ),
            }),
            ("approle_secret_id", _) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "AppRole secret id {} was destroyed; issue a new one to the machine's new owner",
                    ev.object_id
                ),
            }),
            ("userpass_user", _) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "userpass user {} was deleted; re-create the login (its password is not kept)",
                    ev.object_id
                ),
            }),
            (kind, action) => Ok(RestoreResult::Irreversible {
                reason: format!("the vault target cannot undo {action} of {kind}"),
            }),
        }
    }
}

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
//! Object ids (`VaultObject`, parsed once at the contract's edge, so the answers below match on
//! typed objects): `token` by accessor, `entity` by id, `userpass_user` `<mount>/<name>`,
//! `lease_prefix` `auth/<mount>/login/<name>/`, `approle_secret_id` `<mount>/<role>/<accessor>`.
//! A userpass user or lease prefix of another mount than this target's is refused (`ours`).
//!
//! Where things are: `settings` reads the table above, `client` sends the requests (token and
//! namespace headers, rate gate, errors), `objects` names what is held (`VaultObject`, its ids
//! both ways) and the paths built from those names, `discovery` finds the person's entity,
//! tokens, leases and sponsored credentials; this file holds the adapter and its `Adapter`
//! answers.

mod client;
mod discovery;
mod objects;
pub(crate) mod settings;
#[cfg(test)]
mod tests;

pub use objects::{encode_segment, userpass_name_ok, SecretIdRef, VaultObject};

use super::{
    Adapter, Held, ObjectRef, Principal, ReadBack, RestoreResult, RevokeResult, TargetError,
};
use async_trait::async_trait;
use objects::{
    is_child_in_entity, login_lease_prefix, parse_time, read_back, token, TokenInfo,
    REVOKE_WITH_PARENT,
};
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
    principal: Principal,
    /// The revoker's own token accessor: never revoked, whatever its metadata says.
    self_accessor: OnceLock<String>,
    /// Every token's accessor and metadata, listed once for a burst of leavers.
    token_scan: super::scan::FreshScan<Vec<TokenInfo>>,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

#[async_trait]
impl Adapter for VaultTarget {
    const KIND: TargetKind = TargetKind::Vault;
    type Object = VaultObject;

    fn names(&self) -> (&str, &str) {
        (&self.instance, self.principal.get())
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<VaultObject>>, TargetError> {
        self.resolve_principal().await?;
        let own_accessor = self.self_accessor.get().cloned().unwrap_or_default();
        let name = self.userpass_name(who);
        let mut out = Vec::new();

        let entity_id = match &name {
            Some(n) => self.entity_id_for(n).await?,
            None => None,
        };
        if let Some(id) = &entity_id {
            let entity = VaultObject::Entity { id: id.clone() };
            out.push(Held::new(entity, false, "disable"));
        }
        if let Some(n) = &name {
            if self.delete_userpass_user && self.userpass_user_exists(n).await? {
                let user = VaultObject::UserpassUser {
                    mount: self.userpass_mount.clone(),
                    name: n.clone(),
                };
                out.push(Held::new(user, false, "delete"));
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
                children.push(token(&t.accessor, false, REVOKE_WITH_PARENT));
            } else if by_entity || by_login {
                own.push(token(&t.accessor, false, "revoke"));
            } else if t
                .meta
                .get(&self.owner_metadata_key)
                .and_then(Value::as_str)
                .is_some_and(|o| owner_names.contains(&o))
            {
                sponsored.push(token(&t.accessor, true, "revoke"));
            }
        }
        // Entity first (its tokens stop working at once), then the login, then every token —
        // parents before the children that go with them — then whatever lease is still left
        // under the login path (a login since discovery).
        out.extend(own);
        out.extend(children);
        if let Some(n) = &name {
            if self.login_leases(n).await? > 0 {
                let leases = VaultObject::LeasePrefix {
                    mount: self.userpass_mount.clone(),
                    name: n.clone(),
                };
                out.push(Held::new(leases, false, "revoke"));
            }
        }
        out.extend(sponsored);
        out.extend(self.sponsored_secret_ids(&owner_names).await?);
        Ok(out)
    }

    async fn revoke(
        &self,
        _who: &Identity,
        what: &Held<VaultObject>,
    ) -> Result<RevokeResult, TargetError> {
        self.ours(&what.object)?;
        match &what.object {
            VaultObject::Token { accessor } => {
                if self.self_accessor.get().is_some_and(|a| a == accessor) {
                    return Err(TargetError::Permanent(
                        "refusing to revoke the revoker's own token".into(),
                    ));
                }
                if self.lookup_accessor(accessor).await?.is_none() {
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
                        Some(json!({"accessor": accessor})),
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
            VaultObject::Entity { id } => {
                let path = Self::entity_path(id);
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
            VaultObject::UserpassUser { name, .. } => {
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
            VaultObject::ApproleSecretId(id) => {
                if self.secret_id_meta(id).await?.is_none() {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                let doing = "destroying an AppRole secret id by accessor";
                let (status, body) = self.secret_id_call(id, "destroy", doing).await?;
                match status {
                    StatusCode::NOT_FOUND => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
                    StatusCode::BAD_REQUEST => Err(self.refused(doing, &body)),
                    _ => Ok(RevokeResult::Revoked { removed_at: None }),
                }
            }
            VaultObject::LeasePrefix { mount, name } => {
                if self.login_leases(name).await? == 0 {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                // Without the trailing slash (the API refuses writes to `.../`); OpenBao and Vault
                // add it back before matching, so `ada` never reaches `adam`'s leases (tested).
                let path = format!(
                    "sys/leases/revoke-prefix/{}",
                    login_lease_prefix(mount, name).trim_end_matches('/')
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
        }
    }

    async fn verify(
        &self,
        _who: &Identity,
        what: &Held<VaultObject>,
    ) -> Result<ReadBack, TargetError> {
        self.ours(&what.object)?;
        match &what.object {
            VaultObject::Token { accessor } => Ok(match self.lookup_accessor(accessor).await? {
                None if what.action == REVOKE_WITH_PARENT => read_back(
                    true,
                    "lookup-accessor: no such token (a child token, revoked with its parent)",
                ),
                None => read_back(true, "lookup-accessor: no such token"),
                Some(_) => read_back(false, "token still valid"),
            }),
            VaultObject::Entity { id } => {
                let path = Self::entity_path(id);
                let Some(body) = self.read_entity(&path, "reading the entity back").await? else {
                    return Ok(read_back(true, "entity deleted"));
                };
                Ok(if body["data"]["disabled"].as_bool() == Some(true) {
                    ReadBack {
                        gone: true,
                        detail: "entity disabled".into(),
                        removed_at: parse_time(&body["data"]["last_update_time"]),
                    }
                } else {
                    read_back(false, "entity still enabled")
                })
            }
            VaultObject::UserpassUser { name, .. } => {
                Ok(if self.userpass_user_exists(name).await? {
                    read_back(false, "userpass user still exists")
                } else {
                    read_back(true, "userpass user: 404")
                })
            }
            VaultObject::ApproleSecretId(id) => Ok(match self.secret_id_meta(id).await? {
                None => read_back(true, "secret-id-accessor/lookup: no such secret id"),
                Some(_) => read_back(false, "secret id still exists"),
            }),
            VaultObject::LeasePrefix { name, .. } => Ok(match self.login_leases(name).await? {
                0 => read_back(true, "no leases under the login path"),
                n => read_back(false, format!("{n} leases still under the login path")),
            }),
        }
    }

    /// Re-enables a disabled entity. Revoked tokens and deleted userpass users cannot come back:
    /// the person logs in again with a login an operator re-creates.
    async fn restore(
        &self,
        who: &Identity,
        object: &VaultObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (object, ev.action.as_str()) {
            (VaultObject::Entity { id }, "disable") => {
                let path = Self::entity_path(id);
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
                        reason: format!("entity {id} no longer exists"),
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
                if theirs.as_deref() != Some(id.as_str()) {
                    return Ok(RestoreResult::Refused {
                        reason: format!(
                            "entity {id} is not {}'s on vault {} ({}): nothing re-enabled",
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
            (VaultObject::Token { accessor }, _) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "token {accessor} was revoked; a revoked token cannot be revived, issue a new one"
                ),
            }),
            (VaultObject::ApproleSecretId(r), _) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "AppRole secret id {} was destroyed; issue a new one to the machine's new owner",
                    r.object_id()
                ),
            }),
            (VaultObject::UserpassUser { .. }, _) => Ok(RestoreResult::Irreversible {
                reason: format!(
                    "userpass user {} was deleted; re-create the login (its password is not kept)",
                    object.id()
                ),
            }),
            (VaultObject::Entity { .. } | VaultObject::LeasePrefix { .. }, action) => {
                Ok(RestoreResult::Irreversible {
                    reason: format!(
                        "the vault target cannot undo {action} of {}",
                        object.kind()
                    ),
                })
            }
        }
    }
}

//! Finding what a person holds in Vault: their entity through the userpass alias, every token
//! (listed by accessor, looked up a few at a time), the leases under their login path, and the
//! AppRole secret ids whose metadata names them as sponsor.

use super::objects::{
    login_lease_prefix, mount_ok, segment_ok, usable_name, SecretIdRef, TokenInfo, VaultObject,
};
use super::VaultTarget;
use crate::adapters::{Held, TargetError};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// How many `lookup-accessor` calls run at once during discovery.
const LOOKUP_CONCURRENCY: usize = 16;

impl VaultTarget {
    /// How many leases live under the person's login prefix (`LIST sys/leases/lookup/...`).
    pub(super) async fn login_leases(&self, name: &str) -> Result<usize, TargetError> {
        let path = format!(
            "sys/leases/lookup/{}?list=true",
            login_lease_prefix(&self.userpass_mount, name)
        );
        let (status, body) = self
            .call(Method::GET, &path, None, "listing the login's leases")
            .await?;
        match status {
            StatusCode::NOT_FOUND => Ok(0),
            StatusCode::BAD_REQUEST => Err(self.refused("listing the login's leases", &body)),
            _ => Ok(body["data"]["keys"].as_array().map_or(0, Vec::len)),
        }
    }

    async fn userpass_accessor(&self) -> Result<Option<String>, TargetError> {
        let (status, body) = self
            .call(Method::GET, "sys/auth", None, "listing auth mounts")
            .await?;
        if status != StatusCode::OK {
            return Err(self.refused("listing auth mounts", &body));
        }
        let key = format!("{}/", self.userpass_mount);
        let mounts = if body["data"].is_object() {
            &body["data"]
        } else {
            &body
        };
        Ok(mounts[&key]["accessor"].as_str().map(str::to_string))
    }

    /// The AppRole mounts to search: configured, else every auth mount of type `approle`.
    pub(super) async fn approle_mounts(&self) -> Result<Vec<String>, TargetError> {
        if let Some(m) = &self.approle_mounts {
            return Ok(m.clone());
        }
        let (status, body) = self
            .call(Method::GET, "sys/auth", None, "listing auth mounts")
            .await?;
        if status != StatusCode::OK {
            return Err(self.refused("listing auth mounts", &body));
        }
        let mounts = if body["data"].is_object() {
            &body["data"]
        } else {
            &body
        };
        let mut out: Vec<String> = mounts
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v["type"].as_str() == Some("approle"))
                    .map(|(k, _)| k.trim_end_matches('/').to_string())
                    .filter(|m| mount_ok(m))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        Ok(out)
    }

    /// `POST <role>/secret-id-accessor/<op>` (`lookup`, `destroy`) for one secret id.
    pub(super) async fn secret_id_call(
        &self,
        id: &SecretIdRef,
        op: &str,
        doing: &str,
    ) -> Result<(StatusCode, Value), TargetError> {
        let path = format!(
            "{}/secret-id-accessor/{op}",
            Self::role_path(&id.mount, &id.role)
        );
        let body = json!({"secret_id_accessor": id.accessor});
        self.call(Method::POST, &path, Some(body), doing).await
    }

    /// A secret id's metadata by accessor; None when it no longer exists.
    pub(super) async fn secret_id_meta(
        &self,
        id: &SecretIdRef,
    ) -> Result<Option<serde_json::Map<String, Value>>, TargetError> {
        let doing = "looking up an AppRole secret id by accessor";
        let (status, body) = self.secret_id_call(id, "lookup", doing).await?;
        if status == StatusCode::NOT_FOUND
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::BAD_REQUEST
            || body["data"].is_null()
        {
            return Ok(None);
        }
        Ok(Some(
            body["data"]["metadata"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ))
    }

    /// Secret ids of every AppRole role whose metadata names one of `owners`.
    pub(super) async fn sponsored_secret_ids(
        &self,
        owners: &[&str],
    ) -> Result<Vec<Held<VaultObject>>, TargetError> {
        let mut out = Vec::new();
        for mount in self.approle_mounts().await? {
            let roles = self
                .list(&format!("auth/{mount}/role"), "listing AppRole roles")
                .await?;
            for role in roles.into_iter().filter(|r| usable_name(r)) {
                let accessors = self
                    .list(
                        &format!("{}/secret-id", Self::role_path(&mount, &role)),
                        "listing an AppRole role's secret id accessors",
                    )
                    .await?;
                let refs: Vec<SecretIdRef> = accessors
                    .into_iter()
                    .filter(|a| segment_ok(a))
                    .map(|accessor| SecretIdRef {
                        mount: mount.clone(),
                        role: role.clone(),
                        accessor,
                    })
                    .collect();
                for chunk in refs.chunks(LOOKUP_CONCURRENCY) {
                    let metas = join_all(chunk.iter().map(|r| self.secret_id_meta(r))).await;
                    for (r, meta) in chunk.iter().zip(metas) {
                        let owned = meta?
                            .and_then(|m| m.get(&self.owner_metadata_key).cloned())
                            .and_then(|v| v.as_str().map(str::to_string))
                            .is_some_and(|o| owners.contains(&o.as_str()));
                        if owned {
                            let object = VaultObject::ApproleSecretId(r.clone());
                            out.push(Held::new(object, true, "destroy"));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn entity_id_for(&self, name: &str) -> Result<Option<String>, TargetError> {
        let Some(mount_accessor) = self.userpass_accessor().await? else {
            return Ok(None);
        };
        let (status, body) = self
            .call(
                Method::POST,
                "identity/lookup/entity",
                Some(json!({"alias_name": name, "alias_mount_accessor": mount_accessor})),
                "looking up the entity by alias",
            )
            .await?;
        match status {
            StatusCode::NO_CONTENT | StatusCode::NOT_FOUND => Ok(None),
            StatusCode::BAD_REQUEST => Err(self.refused("looking up the entity by alias", &body)),
            _ => Ok(body["data"]["id"]
                .as_str()
                .filter(|s| segment_ok(s))
                .map(str::to_string)),
        }
    }

    pub(super) async fn userpass_user_exists(&self, name: &str) -> Result<bool, TargetError> {
        let (status, body) = self
            .call(
                Method::GET,
                &self.userpass_user_path(name),
                None,
                "reading the userpass user",
            )
            .await?;
        match status {
            StatusCode::NOT_FOUND => Ok(false),
            StatusCode::BAD_REQUEST => Err(self.refused("reading the userpass user", &body)),
            _ => Ok(true),
        }
    }

    /// `lookup-accessor`: None when the token no longer exists.
    pub(super) async fn lookup_accessor(
        &self,
        accessor: &str,
    ) -> Result<Option<TokenInfo>, TargetError> {
        let (status, body) = self
            .call(
                Method::POST,
                "auth/token/lookup-accessor",
                Some(json!({"accessor": accessor})),
                "looking up a token accessor",
            )
            .await?;
        if status == StatusCode::BAD_REQUEST
            || status == StatusCode::NOT_FOUND
            || body["data"].is_null()
        {
            return Ok(None);
        }
        let d = &body["data"];
        Ok(Some(TokenInfo {
            accessor: accessor.to_string(),
            entity_id: d["entity_id"].as_str().unwrap_or_default().to_string(),
            path: d["path"].as_str().unwrap_or_default().to_string(),
            // Missing: taken as an orphan, so nothing is claimed to go with a parent.
            orphan: d["orphan"].as_bool().unwrap_or(true),
            meta: d["meta"].as_object().cloned().unwrap_or_default(),
        }))
    }

    pub(super) async fn all_tokens(&self) -> Result<Vec<TokenInfo>, TargetError> {
        let (status, body) = self
            .call(
                Method::GET,
                "auth/token/accessors?list=true",
                None,
                "listing token accessors",
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if status == StatusCode::BAD_REQUEST {
            return Err(self.refused("listing token accessors", &body));
        }
        let accessors: Vec<String> = body["data"]["keys"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|a| segment_ok(a))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut results: Vec<Result<Option<TokenInfo>, TargetError>> =
            Vec::with_capacity(accessors.len());
        for chunk in accessors.chunks(LOOKUP_CONCURRENCY) {
            results.extend(join_all(chunk.iter().map(|a| self.lookup_accessor(a))).await);
        }
        let mut out = Vec::new();
        for r in results {
            if let Some(t) = r? {
                out.push(t);
            }
        }
        out.sort_by(|a, b| a.accessor.cmp(&b.accessor));
        Ok(out)
    }
}

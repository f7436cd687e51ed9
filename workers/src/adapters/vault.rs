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
//! Config, `[targets.vault]`:
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `address` | required | e.g. `http://127.0.0.1:8200` |
//! | `token_env` / `token_file` | one required | where the revoker's token lives |
//! | `userpass_mount` | `userpass` | mount path of the userpass auth method |
//! | `delete_userpass_user` | `true` | delete the userpass user (else only tokens + entity) |
//! | `owner_metadata_key` | `owner` | token / secret-id metadata key naming a sponsor |
//! | `approle_mounts` | every `approle` mount | AppRole mounts searched for sponsored secret ids (`[]`: none) |
//! | `principal` | `lookup-self` display name | actor recorded in evidence |
//! | `namespace` | none | `X-Vault-Namespace` (Vault Enterprise / OpenBao namespaces) |
//! | `timeout_secs` | `10` | per HTTP request |
//!
//! Path segments built from identity data are percent-encoded, and `.`/`..` never reach a path,
//! so a username cannot change which object a request names. The token is sent only in the
//! `X-Vault-Token` header and never formatted into errors.

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::retry::{classify_http_status, ErrorClass};
use revoke_shared::secret::Secret;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

const KNOWN_KEYS: &[&str] = &[
    "address",
    "token_env",
    "token_file",
    "userpass_mount",
    "delete_userpass_user",
    "owner_metadata_key",
    "approle_mounts",
    "principal",
    "namespace",
    "timeout_secs",
];

/// How many `lookup-accessor` calls run at once during discovery.
const LOOKUP_CONCURRENCY: usize = 16;

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

/// One token as `lookup-accessor` shows it (no token value kept).
#[derive(Debug, Clone)]
struct TokenInfo {
    accessor: String,
    entity_id: String,
    path: String,
    /// False for a token created by another token (its child: revoked with it).
    orphan: bool,
    meta: serde_json::Map<String, Value>,
}

/// An AppRole secret id named by its accessor: object id `<mount>/<role>/<accessor>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SecretIdRef {
    mount: String,
    role: String,
    accessor: String,
}

impl SecretIdRef {
    fn object_id(&self) -> String {
        format!("{}/{}/{}", self.mount, self.role, self.accessor)
    }

    /// Role names and accessors hold no `/`; the mount may.
    fn parse(id: &str) -> Option<SecretIdRef> {
        let mut parts = id.rsplitn(3, '/');
        let accessor = parts.next()?;
        let role = parts.next()?;
        let mount = parts.next()?;
        let ok = |s: &str| usable_name(s);
        (ok(accessor) && ok(role) && mount.split('/').all(ok)).then(|| SecretIdRef {
            mount: mount.to_string(),
            role: role.to_string(),
            accessor: accessor.to_string(),
        })
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A name usable as one path segment: not empty, not `.`/`..`, no control characters.
fn usable_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.chars().any(|c| c.is_control())
}

/// Whether `s` can be a userpass user name: Vault's `GenericNameRegex`,
/// `\w(([\w-.@]+)?\w)?`. Anything else (`*`, `../x`, `a/b`) names no userpass user, so it
/// is never looked up or put in a path.
pub fn userpass_name_ok(s: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    word(first) && word(last) && s.chars().all(|c| word(c) || matches!(c, '-' | '.' | '@'))
}

impl VaultTarget {
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<VaultTarget, String> {
        let t = super::AdapterTable::new(table, TargetKind::Vault, KNOWN_KEYS)?;
        let address = t
            .str("address")?
            .ok_or("[targets.vault] address is required (e.g. \"http://127.0.0.1:8200\")")?
            .trim_end_matches('/')
            .to_string();
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(format!(
                "[targets.vault] address {address:?} must start with http:// or https://"
            ));
        }
        let token = t.token()?;
        let userpass_mount = t
            .str("userpass_mount")?
            .unwrap_or("userpass")
            .trim_matches('/')
            .to_string();
        if userpass_mount.is_empty() || userpass_mount.split('/').any(|s| !usable_name(s)) {
            return Err(format!(
                "[targets.vault] userpass_mount {userpass_mount:?} is not a mount path"
            ));
        }
        let delete_userpass_user = match table.get("delete_userpass_user") {
            None => true,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => {
                return Err("[targets.vault] delete_userpass_user must be true or false".into())
            }
        };
        let owner_metadata_key = t.str("owner_metadata_key")?.unwrap_or("owner").to_string();
        if owner_metadata_key.is_empty() {
            return Err("[targets.vault] owner_metadata_key must not be empty".into());
        }
        let approle_mounts = match table.get("approle_mounts") {
            None => None,
            Some(toml::Value::Array(a)) => {
                let mut mounts = Vec::new();
                for v in a {
                    let m = v
                        .as_str()
                        .map(|m| m.trim_matches('/').to_string())
                        .filter(|m| !m.is_empty() && m.split('/').all(usable_name))
                        .ok_or("[targets.vault] approle_mounts must be a list of mount paths")?;
                    mounts.push(m);
                }
                Some(mounts)
            }
            Some(_) => {
                return Err("[targets.vault] approle_mounts must be a list of mount paths".into())
            }
        };
        let timeout_secs = match table.get("timeout_secs") {
            None => 10,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(_) => return Err("[targets.vault] timeout_secs must be a positive integer".into()),
        };
        let client = super::http::client(
            Duration::from_secs(timeout_secs),
            Duration::from_secs(timeout_secs.min(5)),
        )
        .map_err(|e| format!("[targets.vault] building the HTTP client: {e}"))?;
        let principal = OnceLock::new();
        if let Some(p) = t.str("principal")? {
            let _ = principal.set(p.to_string());
        }
        Ok(VaultTarget {
            instance: instance.to_string(),
            address,
            token,
            namespace: t.str("namespace")?.map(str::to_string),
            userpass_mount,
            delete_userpass_user,
            owner_metadata_key,
            approle_mounts,
            client,
            principal,
            fallback_principal: format!("vault:{instance}"),
            self_accessor: OnceLock::new(),
            token_scan: Default::default(),
            gate: None,
        })
    }

    /// Sends every request through `gate` (the table's rate limit) and reports 429s to it.
    pub fn with_gate(mut self, gate: Option<std::sync::Arc<super::limit::RateGate>>) -> Self {
        self.gate = gate;
        self
    }

    /// Reads the revoker's own token (`auth/token/lookup-self`): records its accessor (so it is
    /// never revoked) and, unless `principal` is configured, its display name as the principal.
    /// Call once after `from_table`; `discover` calls it too. Also a check that the token works.
    pub async fn resolve_principal(&self) -> Result<&str, TargetError> {
        if self.self_accessor.get().is_none() {
            let doing = "looking up the revoker's token";
            let (status, body) = self
                .call(Method::GET, "auth/token/lookup-self", None, doing)
                .await?;
            if status != StatusCode::OK || !body["data"].is_object() {
                return Err(TargetError::Permanent(format!(
                    "{doing} on vault {}: HTTP {} {} (check token_env/token_file)",
                    self.instance,
                    status.as_u16(),
                    body["errors"]
                )));
            }
            let data = &body["data"];
            let accessor = data["accessor"].as_str().unwrap_or_default().to_string();
            let _ = self.self_accessor.set(accessor.clone());
            let name = data["display_name"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("token");
            let _ = self.principal.set(format!("{name} (accessor {accessor})"));
        }
        Ok(self.principal())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.address)
    }

    /// One request; returns the status and JSON body (Null when empty) for 2xx and 404/400, which
    /// callers interpret; other statuses become errors classified by `classify_http_status`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        doing: &str,
    ) -> Result<(StatusCode, Value), TargetError> {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("X-Vault-Token", self.token.expose());
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let pass = super::limit::pass(&self.gate).await;
        let resp = req.send().await.map_err(|e| {
            // reqwest's message names the URL (no secret in it) and the cause.
            TargetError::Transient(format!(
                "{doing} on vault {}: {}",
                self.instance,
                e.without_url()
            ))
        })?;
        let status = resp.status();
        let hint = super::limit::header_hint(resp.headers(), status.as_u16());
        if let (Some(g), Some(p)) = (&self.gate, &pass) {
            g.observe_http(p, status.as_u16(), hint);
        }
        let on_vault = format!("{doing} on vault {}", self.instance);
        if let Some(e) = super::http::redirect_error(&on_vault, status, resp.headers()) {
            return Err(e);
        }
        let text = resp.text().await.map_err(|e| {
            TargetError::Transient(format!("{doing}: reading the answer: {}", e.without_url()))
        })?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status.is_success()
            || status == StatusCode::NOT_FOUND
            || status == StatusCode::BAD_REQUEST
        {
            return Ok((status, value));
        }
        let errors = value["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let msg = format!(
            "{doing} on vault {}: HTTP {} {}",
            self.instance,
            status.as_u16(),
            errors.trim()
        );
        if revoke_shared::ratelimit::is_rate_limited(status.as_u16(), hint) {
            // Vault's rate-limit quotas answer 429 (with `Retry-After` when configured to).
            return Err(TargetError::rate_limited(msg, hint));
        }
        let hint = match status.as_u16() {
            401 | 403 => " (check the revoker token's policy)",
            _ => "",
        };
        Err(match classify_http_status(status.as_u16()) {
            ErrorClass::Transient => TargetError::Transient(msg),
            ErrorClass::Permanent => TargetError::Permanent(format!("{msg}{hint}")),
            ErrorClass::Ambiguous => TargetError::Ambiguous(msg),
        })
    }

    fn secret_id_ref(&self, object_id: &str) -> Result<SecretIdRef, TargetError> {
        SecretIdRef::parse(object_id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{object_id:?} is not an AppRole secret id (<mount>/<role>/<accessor>)"
            ))
        })
    }

    /// A 400 where the caller expected success: the target refused the request.
    fn refused(&self, doing: &str, v: &Value) -> TargetError {
        TargetError::Permanent(format!(
            "{doing} on vault {}: HTTP 400 {}",
            self.instance, v["errors"]
        ))
    }

    /// The userpass name of an identity: its username, else its employee id; lowercased as
    /// userpass stores names. None when it cannot name a userpass user.
    fn userpass_name(&self, who: &Identity) -> Option<String> {
        let raw = who
            .username
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&who.employee_id);
        let name = raw.to_lowercase();
        userpass_name_ok(&name).then_some(name)
    }

    fn userpass_object_id(&self, name: &str) -> String {
        format!("{}/{name}", self.userpass_mount)
    }

    fn userpass_user_path(&self, name: &str) -> String {
        format!(
            "auth/{}/users/{}",
            self.userpass_mount,
            encode_segment(name)
        )
    }

    /// Lease prefix of the tokens the person got by logging in through userpass.
    fn login_lease_prefix(&self, name: &str) -> String {
        format!(
            "auth/{}/login/{}/",
            self.userpass_mount,
            encode_segment(name)
        )
    }

    /// The userpass name inside a `lease_prefix` object id, if it is one of ours.
    fn name_of_lease_prefix<'a>(&self, id: &'a str) -> Option<&'a str> {
        id.strip_prefix(&format!("auth/{}/login/", self.userpass_mount))?
            .strip_suffix('/')
            .filter(|n| userpass_name_ok(n))
    }

    /// How many leases live under the person's login prefix (`LIST sys/leases/lookup/...`).
    async fn login_leases(&self, name: &str) -> Result<usize, TargetError> {
        let path = format!(
            "sys/leases/lookup/{}?list=true",
            self.login_lease_prefix(name)
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
    async fn approle_mounts(&self) -> Result<Vec<String>, TargetError> {
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
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        Ok(out)
    }

    /// `LIST <path>`: the keys, or none when the path is empty (404).
    async fn list(&self, path: &str, doing: &str) -> Result<Vec<String>, TargetError> {
        let (status, body) = self
            .call(Method::GET, &format!("{path}?list=true"), None, doing)
            .await?;
        match status {
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            StatusCode::BAD_REQUEST => Err(self.refused(doing, &body)),
            _ => Ok(body["data"]["keys"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()),
        }
    }

    fn role_path(mount: &str, role: &str) -> String {
        format!("auth/{mount}/role/{}", encode_segment(role))
    }

    /// A secret id's metadata by accessor; None when it no longer exists.
    async fn secret_id_meta(
        &self,
        id: &SecretIdRef,
    ) -> Result<Option<serde_json::Map<String, Value>>, TargetError> {
        let doing = "looking up an AppRole secret id by accessor";
        let (status, body) = self
            .call(
                Method::POST,
                &format!(
                    "{}/secret-id-accessor/lookup",
                    Self::role_path(&id.mount, &id.role)
                ),
                Some(json!({"secret_id_accessor": id.accessor})),
                doing,
            )
            .await?;
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
    async fn sponsored_secret_ids(&self, owners: &[&str]) -> Result<Vec<Holding>, TargetError> {
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
                    .filter(|a| usable_name(a) && !a.contains('/'))
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
                            out.push(Holding {
                                object_kind: "approle_secret_id".into(),
                                object_id: r.object_id(),
                                sponsored: true,
                                action: "destroy".into(),
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn entity_id_for(&self, name: &str) -> Result<Option<String>, TargetError> {
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
                .filter(|s| !s.is_empty())
                .map(str::to_string)),
        }
    }

    async fn userpass_user_exists(&self, name: &str) -> Result<bool, TargetError> {
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
    async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenInfo>, TargetError> {
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

    async fn all_tokens(&self) -> Result<Vec<TokenInfo>, TargetError> {
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
                    .filter_map(|v| v.as_str().map(str::to_string))
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

/// The action recorded for a child token of the person's: revoking its parent revokes it.
const REVOKE_WITH_PARENT: &str = "revoke_with_parent";

/// Whether a token of the person's entity is a child of another of their tokens. Vault and
/// OpenBao show no parent (`lookup-accessor` has only `orphan`; checked on OpenBao 2.7.2), but a
/// token created through plain `auth/token/create` inherits its parent's entity, so a non-orphan
/// one carrying the person's entity was made by one of their tokens. (Logins are orphans, and a
/// token an operator mints for the entity goes through a role: `auth/token/create/<role>`.)
fn is_child_in_entity(t: &TokenInfo) -> bool {
    !t.orphan && t.path == "auth/token/create"
}

fn token_holding(accessor: &str, sponsored: bool) -> Holding {
    Holding {
        object_kind: "token".into(),
        object_id: accessor.to_string(),
        sponsored,
        action: "revoke".into(),
    }
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
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
        // Names that count as "this person" in a sponsor's metadata: exact, non-empty.
        let owner_names: Vec<&str> = [
            who.username.as_deref(),
            who.email.as_deref(),
            Some(who.employee_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
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
                let (status, body) = self
                    .call(Method::GET, &path, None, "reading the entity")
                    .await?;
                if status == StatusCode::NOT_FOUND || status == StatusCode::NO_CONTENT {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                if status == StatusCode::BAD_REQUEST {
                    return Err(self.refused("reading the entity", &body));
                }
                if body["data"]["disabled"].as_bool() == Some(true) {
                    return Ok(RevokeResult::AlreadyAbsent {
                        removed_at: parse_time(&body["data"]["last_update_time"]),
                    });
                }
                let (status, body) = self
                    .call(
                        Method::POST,
                        &path,
                        Some(json!({"disabled": true})),
                        "disabling the entity",
                    )
                    .await?;
                if status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND {
                    return Err(self.refused("disabling the entity", &body));
                }
                Ok(RevokeResult::Revoked { removed_at: None })
            }
            "userpass_user" => {
                let Some(name) = what
                    .object_id
                    .strip_prefix(&format!("{}/", self.userpass_mount))
                    .filter(|n| userpass_name_ok(n))
                else {
                    return Err(TargetError::Permanent(format!(
                        "{:?} is not a userpass user of this target",
                        what.object_id
                    )));
                };
                if !self.userpass_user_exists(name).await? {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                let (status, body) = self
                    .call(
                        Method::DELETE,
                        &self.userpass_user_path(name),
                        None,
                        "deleting the userpass user",
                    )
                    .await?;
                if status == StatusCode::BAD_REQUEST {
                    return Err(self.refused("deleting the userpass user", &body));
                }
                Ok(RevokeResult::Revoked { removed_at: None })
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
                let Some(name) = self.name_of_lease_prefix(&what.object_id) else {
                    return Err(TargetError::Permanent(format!(
                        "{:?} is not a login lease prefix of this target",
                        what.object_id
                    )));
                };
                if self.login_leases(name).await? == 0 {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                // Without the trailing slash (the API refuses writes to `.../`); OpenBao and Vault
                // add it back before matching, so `ada` never reaches `adam`'s leases (tested).
                let path = format!(
                    "sys/leases/revoke-prefix/{}",
                    self.login_lease_prefix(name).trim_end_matches('/')
                );
                let (status, body) = self
                    .call(
                        Method::PUT,
                        &path,
                        Some(json!({"sync": true})),
                        "revoking leases by prefix",
                    )
                    .await?;
                if status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND {
                    return Err(self.refused("revoking leases by prefix", &body));
                }
                Ok(RevokeResult::Revoked { removed_at: None })
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
                let (status, body) = self
                    .call(Method::GET, &path, None, "reading the entity back")
                    .await?;
                if status == StatusCode::NOT_FOUND || status == StatusCode::NO_CONTENT {
                    return Ok(ReadBack {
                        gone: true,
                        detail: "entity deleted".into(),
                        removed_at: None,
                    });
                }
                if status == StatusCode::BAD_REQUEST {
                    return Err(self.refused("reading the entity back", &body));
                }
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
                let Some(name) = what
                    .object_id
                    .strip_prefix(&format!("{}/", self.userpass_mount))
                    .filter(|n| userpass_name_ok(n))
                else {
                    return Err(TargetError::Permanent(format!(
                        "{:?} is not a userpass user of this target",
                        what.object_id
                    )));
                };
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
                let Some(name) = self.name_of_lease_prefix(&what.object_id) else {
                    return Err(TargetError::Permanent(format!(
                        "{:?} is not a login lease prefix of this target",
                        what.object_id
                    )));
                };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn secret_id_refs_round_trip() {
        let r = SecretIdRef::parse("team/approle/ci-runner/1b2c-3d").unwrap();
        assert_eq!(
            (r.mount.as_str(), r.role.as_str(), r.accessor.as_str()),
            ("team/approle", "ci-runner", "1b2c-3d")
        );
        assert_eq!(r.object_id(), "team/approle/ci-runner/1b2c-3d");
        assert_eq!(SecretIdRef::parse("approle/role"), None);
        assert_eq!(SecretIdRef::parse("approle/../x"), None);
        assert_eq!(SecretIdRef::parse("/role/acc"), None);
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(encode_segment("ada"), "ada");
        assert_eq!(encode_segment("a/b"), "a%2Fb");
        assert_eq!(encode_segment("../x"), "..%2Fx");
        assert_eq!(encode_segment("a b?c#d%"), "a%20b%3Fc%23d%25");
        assert!(!usable_name(".."));
        assert!(!usable_name("."));
        assert!(!usable_name(""));
        assert!(usable_name("../x"));
        for bad in [
            "*", "a*", "../bob", "a/b", "", ".", "..", "x)(uid=*", "\"", ".ada", "ada.",
        ] {
            assert!(!userpass_name_ok(bad), "{bad}");
        }
        for good in ["ada", "a", "ada.lovelace", "ada@example.com", "e-100_2"] {
            assert!(userpass_name_ok(good), "{good}");
        }
    }

    #[test]
    fn config_parses_and_rejects() {
        std::env::set_var("REVOKE_VAULT_UNIT_TOKEN", "s.secret-value");
        let t = VaultTarget::from_table(
            &table("address = \"http://127.0.0.1:8200/\"\ntoken_env = \"REVOKE_VAULT_UNIT_TOKEN\"\nprincipal = \"revoker\""),
            "main",
        )
        .unwrap();
        assert_eq!(t.address, "http://127.0.0.1:8200");
        assert_eq!(t.userpass_mount, "userpass");
        assert!(t.delete_userpass_user);
        assert_eq!(t.owner_metadata_key, "owner");
        assert_eq!(t.principal(), "revoker");
        let e =
            VaultTarget::from_table(&table("address = \"http://x\"\ntoken = \"inline\""), "main")
                .err()
                .unwrap();
        assert!(e.contains("unknown key"), "{e}");
        let e = VaultTarget::from_table(
            &table("address = \"http://x\"\ntoken_env = \"REVOKE_VAULT_UNSET_VAR\""),
            "main",
        )
        .err()
        .unwrap();
        assert!(
            e.contains("REVOKE_VAULT_UNSET_VAR") && !e.contains("secret-value"),
            "{e}"
        );
        let e = VaultTarget::from_table(&table("token_env = \"REVOKE_VAULT_UNIT_TOKEN\""), "main")
            .err()
            .unwrap();
        assert!(e.contains("address"), "{e}");
    }
}

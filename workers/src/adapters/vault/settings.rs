//! The `[targets.vault]` table: `Settings` (its keys, defaults and meaning) and building a
//! `VaultTarget` from it (checked before any request is sent).

use super::objects::mount_ok;
use super::VaultTarget;
use crate::adapters::http;
use crate::adapters::table;
use crate::adapters::Principal;
use revoke_shared::contract::TargetKind;
use serde::Deserialize;
use std::num::NonZeroU64;
use std::sync::OnceLock;
use std::time::Duration;

/// `[targets.vault]`, as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Required: e.g. `http://127.0.0.1:8200`.
    address: String,
    /// The environment variable holding the revoker's token (exactly one of this and
    /// `token_file`).
    token_env: Option<String>,
    /// The file holding the revoker's token.
    token_file: Option<String>,
    /// Mount path of the userpass auth method (default `userpass`).
    #[serde(default = "default_userpass_mount")]
    userpass_mount: String,
    /// Delete the userpass user (default true; else only tokens and entity).
    #[serde(default = "table::yes")]
    delete_userpass_user: bool,
    /// Token / AppRole secret-id metadata key naming a sponsor (default `owner`).
    #[serde(default = "default_owner_metadata_key")]
    owner_metadata_key: String,
    /// AppRole mounts searched for sponsored secret ids (default: every `approle` mount; `[]`:
    /// none).
    approle_mounts: Option<Vec<String>>,
    /// The actor recorded in evidence (default: the token's `lookup-self` display name).
    principal: Option<String>,
    /// `X-Vault-Namespace` (Vault Enterprise / OpenBao namespaces).
    namespace: Option<String>,
    /// Per HTTP request, in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    timeout_secs: NonZeroU64,
}

fn default_userpass_mount() -> String {
    "userpass".into()
}
fn default_owner_metadata_key() -> String {
    "owner".into()
}
fn default_timeout_secs() -> NonZeroU64 {
    NonZeroU64::new(10).expect("not zero")
}

impl VaultTarget {
    /// Reads a `[targets.vault]` table (see `Settings`); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<VaultTarget, String> {
        let s: Settings = table::adapter_settings(table, TargetKind::Vault)?;
        s.validate(instance)
    }
}

impl http::Gated for VaultTarget {
    fn gate_mut(&mut self) -> &mut Option<std::sync::Arc<crate::adapters::limit::RateGate>> {
        &mut self.gate
    }
}

impl Settings {
    /// What serde cannot check: the address's scheme, mount paths, a non-empty metadata key; and
    /// the token, read now from where the table points.
    fn validate(self, instance: &str) -> Result<VaultTarget, String> {
        let k = TargetKind::Vault;
        let address = self.address.trim_end_matches('/').to_string();
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(format!(
                "[targets.{k}] address {address:?} must start with http:// or https://"
            ));
        }
        let token = table::token(k, self.token_env.as_deref(), self.token_file.as_deref())?;
        let mount_path = |m: &str| {
            let m = m.trim_matches('/');
            mount_ok(m).then(|| m.to_string())
        };
        let userpass_mount = mount_path(&self.userpass_mount).ok_or_else(|| {
            format!(
                "[targets.{k}] userpass_mount {:?} is not a mount path",
                self.userpass_mount.trim_matches('/')
            )
        })?;
        if self.owner_metadata_key.is_empty() {
            return Err(format!(
                "[targets.{k}] owner_metadata_key must not be empty"
            ));
        }
        let approle_mounts = match self.approle_mounts {
            None => None,
            Some(mounts) => Some(
                mounts
                    .iter()
                    .map(|m| mount_path(m))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        format!("[targets.{k}] approle_mounts must be a list of mount paths")
                    })?,
            ),
        };
        let client = table::http_client(k, Duration::from_secs(self.timeout_secs.get()))?;
        Ok(VaultTarget {
            instance: instance.to_string(),
            address,
            token,
            namespace: self.namespace,
            userpass_mount,
            delete_userpass_user: self.delete_userpass_user,
            owner_metadata_key: self.owner_metadata_key,
            approle_mounts,
            client,
            principal: Principal::new(self.principal, format!("vault:{instance}")),
            self_accessor: OnceLock::new(),
            token_scan: Default::default(),
            gate: None,
        })
    }
}

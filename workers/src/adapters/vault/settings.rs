//! The `[targets.vault]` table: its keys and building a `VaultTarget` from it (checked before
//! any request is sent). The keys and their defaults are listed in the `vault` module docs.

use super::objects::usable_name;
use super::VaultTarget;
use revoke_shared::contract::TargetKind;
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

impl VaultTarget {
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<VaultTarget, String> {
        let t = crate::adapters::AdapterTable::new(table, TargetKind::Vault, KNOWN_KEYS)?;
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
        let client = crate::adapters::http::client(
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
    pub fn with_gate(
        mut self,
        gate: Option<std::sync::Arc<crate::adapters::limit::RateGate>>,
    ) -> Self {
        self.gate = gate;
        self
    }
}

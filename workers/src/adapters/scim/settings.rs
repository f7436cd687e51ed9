//! The `[targets.saas]` table: the attribute a person is looked up by, whether the account is
//! deactivated or deleted, and building a `ScimTarget` from it (checked before any request is
//! sent). The keys are listed in the `scim` module docs.

use super::ScimTarget;
use reqwest::Url;
use revoke_shared::contract::TargetKind;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttribute {
    UserName,
    Emails,
    ExternalId,
}

impl MatchAttribute {
    fn parse(s: &str) -> Option<MatchAttribute> {
        match s {
            "userName" | "username" => Some(MatchAttribute::UserName),
            "emails" | "email" => Some(MatchAttribute::Emails),
            "externalId" | "external_id" => Some(MatchAttribute::ExternalId),
            _ => None,
        }
    }

    /// The filter's attribute path.
    pub(super) fn filter_path(self) -> &'static str {
        match self {
            MatchAttribute::UserName => "userName",
            MatchAttribute::Emails => "emails.value",
            MatchAttribute::ExternalId => "externalId",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountPolicy {
    Deactivate,
    Delete,
}

impl AccountPolicy {
    pub(super) fn action(self) -> &'static str {
        match self {
            AccountPolicy::Deactivate => "deactivate",
            AccountPolicy::Delete => "delete",
        }
    }
}

impl ScimTarget {
    /// Reads a `[targets.saas]` table (see the module docs); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<ScimTarget, String> {
        const KNOWN: &[&str] = &[
            "base_url",
            "token_env",
            "token_file",
            "match_attribute",
            "policy",
            "principal",
            "timeout_ms",
        ];
        let t = crate::adapters::AdapterTable::new(table, TargetKind::Saas, KNOWN)?;
        let base_url = t
            .str("base_url")?
            .ok_or("[targets.saas] base_url is required")?;
        let base = Url::parse(base_url)
            .map_err(|e| format!("[targets.saas] base_url {base_url:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!(
                "[targets.saas] base_url must be an http(s) URL, got {base_url:?}"
            ));
        }
        let token = t.token()?;
        let match_attribute = match t.str("match_attribute")? {
            None => MatchAttribute::UserName,
            Some(s) => MatchAttribute::parse(&s).ok_or_else(|| {
                format!("targets.{instance}.match_attribute {s:?}: expected userName, emails or externalId")
            })?,
        };
        let policy = match t.str("policy")? {
            None | Some("deactivate") => AccountPolicy::Deactivate,
            Some("delete") => AccountPolicy::Delete,
            Some(other) => {
                return Err(format!(
                    "targets.{instance}.policy {other:?}: expected deactivate or delete"
                ))
            }
        };
        let principal = t.str("principal")?.unwrap_or("scim-client").to_string();
        let timeout_ms = match table.get("timeout_ms") {
            None => 10_000,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(_) => {
                return Err(format!(
                    "targets.{instance}.timeout_ms must be a positive integer"
                ))
            }
        };
        let http = crate::adapters::http::client(
            Duration::from_millis(timeout_ms),
            Duration::from_millis(timeout_ms.min(5_000)),
        )
        .map_err(|e| format!("targets.{instance}: building the HTTP client: {e}"))?;
        Ok(ScimTarget {
            instance: instance.to_string(),
            principal,
            base,
            token,
            match_attribute,
            policy,
            http,
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

    pub fn policy(&self) -> AccountPolicy {
        self.policy
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }
}

//! The `[targets.saas]` table: `Settings` (its keys, defaults and meaning), the attribute a
//! person is looked up by, whether the account is deactivated or deleted, and building a
//! `ScimTarget` from it (checked before any request is sent).

use super::ScimTarget;
use crate::adapters::http;
use crate::adapters::table;
use revoke_shared::contract::TargetKind;
use serde::Deserialize;
use std::time::Duration;

/// `[targets.saas]`, as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Required: the SCIM 2.0 base URL, http(s), e.g. `https://scim.example.com/v2`.
    base_url: String,
    /// The environment variable holding the bearer token (exactly one of this and `token_file`).
    token_env: Option<String>,
    /// The file holding the bearer token.
    token_file: Option<String>,
    /// `userName` (default), `emails` or `externalId` (the identity's employee id).
    #[serde(default)]
    match_attribute: MatchAttribute,
    /// `deactivate` (PATCH `active=false`, default) or `delete`.
    #[serde(default)]
    policy: AccountPolicy,
    /// The actor recorded in evidence (default `scim-client`).
    #[serde(default = "default_principal")]
    principal: String,
    /// Per HTTP request (default 10000).
    #[serde(default = "table::default_timeout_ms")]
    timeout_ms: std::num::NonZeroU64,
}

fn default_principal() -> String {
    "scim-client".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum MatchAttribute {
    #[default]
    #[serde(rename = "userName", alias = "username")]
    UserName,
    #[serde(rename = "emails", alias = "email")]
    Emails,
    #[serde(rename = "externalId", alias = "external_id")]
    ExternalId,
}

impl MatchAttribute {
    /// The filter's attribute path.
    pub(super) fn filter_path(self) -> &'static str {
        match self {
            MatchAttribute::UserName => "userName",
            MatchAttribute::Emails => "emails.value",
            MatchAttribute::ExternalId => "externalId",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountPolicy {
    #[default]
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
    /// Reads a `[targets.saas]` table (see `Settings`); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<ScimTarget, String> {
        let s: Settings = table::adapter_settings(table, TargetKind::Saas)?;
        s.validate(instance)
    }

    pub fn policy(&self) -> AccountPolicy {
        self.policy
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }
}

impl http::Gated for ScimTarget {
    fn gate_mut(&mut self) -> &mut Option<std::sync::Arc<crate::adapters::limit::RateGate>> {
        &mut self.gate
    }
}

impl Settings {
    /// What serde cannot check: the URL's scheme, and the token, read now from where the table
    /// points.
    fn validate(self, instance: &str) -> Result<ScimTarget, String> {
        let k = TargetKind::Saas;
        let base = table::http_url(k, "base_url", &self.base_url)?;
        let token = table::token(k, self.token_env.as_deref(), self.token_file.as_deref())?;
        Ok(ScimTarget {
            instance: instance.to_string(),
            principal: self.principal,
            base,
            token,
            match_attribute: self.match_attribute,
            policy: self.policy,
            http: table::http_client(k, Duration::from_millis(self.timeout_ms.get()))?,
            gate: None,
        })
    }
}

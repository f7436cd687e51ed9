//! The `[targets.cicd]` table: `Settings` (its keys, defaults and meaning), the attribute a
//! person is looked up by, and building a `GitlabTarget` from it. Everything is checked here,
//! before any request is sent.

use super::GitlabTarget;
use crate::adapters::http;
use crate::adapters::table;
use crate::adapters::Principal;
use revoke_shared::contract::TargetKind;
use serde::Deserialize;
use std::num::NonZeroU64;
use std::sync::OnceLock;
use std::time::Duration;

/// `[targets.cicd]`, as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Required: e.g. `https://gitlab.example.com` (`/api/v4` is appended), http(s), no query.
    base_url: String,
    /// The environment variable holding an administrator's personal access token, scope `api`
    /// (exactly one of this and `token_file`).
    token_env: Option<String>,
    /// The file holding that token.
    token_file: Option<String>,
    /// `username` (default), `email` or `extern_uid` (the identity's employee id).
    #[serde(default)]
    match_attribute: MatchAttribute,
    /// The identity provider name for `extern_uid` lookups (default `ldapmain`).
    #[serde(default = "default_extern_uid_provider")]
    extern_uid_provider: String,
    /// Block the account after removing its credentials and memberships (default true).
    #[serde(default = "table::yes")]
    block: bool,
    /// Prefix naming a sponsor in token names/descriptions (default `owner:`; `""` turns
    /// sponsored discovery off).
    #[serde(default = "default_sponsor_marker")]
    sponsor_marker: String,
    /// The actor recorded in evidence (default: the token owner's username, `GET /user`).
    principal: Option<String>,
    /// Per HTTP request (default 10000).
    #[serde(default = "table::default_timeout_ms")]
    timeout_ms: NonZeroU64,
    /// Page size for list endpoints, 1 to 100 (default 100, GitLab's maximum).
    #[serde(default = "default_per_page")]
    per_page: u32,
}

fn default_extern_uid_provider() -> String {
    "ldapmain".into()
}
fn default_sponsor_marker() -> String {
    "owner:".into()
}
fn default_per_page() -> u32 {
    100
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchAttribute {
    #[default]
    Username,
    Email,
    ExternUid,
}

impl MatchAttribute {
    pub(super) fn name(self) -> &'static str {
        match self {
            MatchAttribute::Username => "username",
            MatchAttribute::Email => "email",
            MatchAttribute::ExternUid => "extern_uid",
        }
    }
}

impl GitlabTarget {
    /// Reads a `[targets.cicd]` table (see `Settings`); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<GitlabTarget, String> {
        let s: Settings = table::adapter_settings(table, TargetKind::Cicd)?;
        s.validate(instance)
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }
}

impl http::Gated for GitlabTarget {
    fn gate_mut(&mut self) -> &mut Option<std::sync::Arc<crate::adapters::limit::RateGate>> {
        &mut self.gate
    }
}

impl Settings {
    /// What serde cannot check: the URL (no query or fragment; `/api/v4` appended), the page
    /// size's range, a usable marker and provider; and the token, read now from where the table
    /// points.
    fn validate(self, instance: &str) -> Result<GitlabTarget, String> {
        let k = TargetKind::Cicd;
        let mut api = table::http_url(k, "base_url", &self.base_url)?;
        if api.query().is_some() || api.fragment().is_some() {
            return Err(format!(
                "[targets.{k}] base_url must be an http(s) URL without query, got {:?}",
                self.base_url
            ));
        }
        {
            let mut p = api.path_segments_mut().expect("checked to be a base");
            p.pop_if_empty();
        }
        if !api.path().ends_with("/api/v4") {
            api.path_segments_mut()
                .expect("checked to be a base")
                .extend(["api", "v4"]);
        }
        let token = table::token(k, self.token_env.as_deref(), self.token_file.as_deref())?;
        if self.extern_uid_provider.is_empty() {
            return Err(format!(
                "[targets.{k}] extern_uid_provider must not be empty"
            ));
        }
        if self
            .sponsor_marker
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "[targets.{k}] sponsor_marker {:?} must not contain spaces",
                self.sponsor_marker
            ));
        }
        if !(1..=100).contains(&self.per_page) {
            return Err(format!(
                "[targets.{k}] per_page must be an integer from 1 to 100 (GitLab's maximum)"
            ));
        }
        Ok(GitlabTarget {
            instance: instance.to_string(),
            api,
            token,
            match_attribute: self.match_attribute,
            extern_uid_provider: self.extern_uid_provider,
            block: self.block,
            sponsor_marker: self.sponsor_marker,
            per_page: self.per_page,
            http: table::http_client(k, Duration::from_millis(self.timeout_ms.get()))?,
            principal: Principal::new(self.principal, format!("gitlab:{instance}")),
            self_id: OnceLock::new(),
            gate: None,
        })
    }
}

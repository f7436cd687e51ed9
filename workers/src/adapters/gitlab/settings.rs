//! The `[targets.cicd]` table: its keys, the attribute a person is looked up by, and building a
//! `GitlabTarget` from it. Everything is checked here, before any request is sent; the keys and
//! their defaults are listed in the `gitlab` module docs.

use super::GitlabTarget;
use reqwest::Url;
use revoke_shared::contract::TargetKind;
use std::sync::OnceLock;
use std::time::Duration;

const KNOWN_KEYS: &[&str] = &[
    "base_url",
    "token_env",
    "token_file",
    "match_attribute",
    "extern_uid_provider",
    "block",
    "sponsor_marker",
    "principal",
    "timeout_ms",
    "per_page",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttribute {
    Username,
    Email,
    ExternUid,
}

impl MatchAttribute {
    fn parse(s: &str) -> Option<MatchAttribute> {
        match s {
            "username" => Some(MatchAttribute::Username),
            "email" => Some(MatchAttribute::Email),
            "extern_uid" => Some(MatchAttribute::ExternUid),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            MatchAttribute::Username => "username",
            MatchAttribute::Email => "email",
            MatchAttribute::ExternUid => "extern_uid",
        }
    }
}

impl GitlabTarget {
    /// Reads a `[targets.cicd]` table (see the module docs); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<GitlabTarget, String> {
        let t = crate::adapters::AdapterTable::new(table, TargetKind::Cicd, KNOWN_KEYS)?;
        let base_url = t
            .str("base_url")?
            .ok_or("[targets.cicd] base_url is required (e.g. \"https://gitlab.example.com\")")?;
        let mut api = Url::parse(base_url)
            .map_err(|e| format!("[targets.cicd] base_url {base_url:?}: {e}"))?;
        if !matches!(api.scheme(), "http" | "https")
            || api.cannot_be_a_base()
            || api.query().is_some()
            || api.fragment().is_some()
        {
            return Err(format!(
                "[targets.cicd] base_url must be an http(s) URL without query, got {base_url:?}"
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
        let token = t.token()?;
        let match_attribute = match t.str("match_attribute")? {
            None => MatchAttribute::Username,
            Some(s) => MatchAttribute::parse(s).ok_or_else(|| {
                format!(
                    "[targets.cicd] match_attribute {s:?}: expected username, email or extern_uid"
                )
            })?,
        };
        let extern_uid_provider = t
            .str("extern_uid_provider")?
            .unwrap_or("ldapmain")
            .to_string();
        if extern_uid_provider.is_empty() {
            return Err("[targets.cicd] extern_uid_provider must not be empty".into());
        }
        let block = match table.get("block") {
            None => true,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => return Err("[targets.cicd] block must be true or false".into()),
        };
        let sponsor_marker = t.str("sponsor_marker")?.unwrap_or("owner:").to_string();
        if sponsor_marker
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "[targets.cicd] sponsor_marker {sponsor_marker:?} must not contain spaces"
            ));
        }
        let timeout_ms = match table.get("timeout_ms") {
            None => 10_000,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(_) => return Err("[targets.cicd] timeout_ms must be a positive integer".into()),
        };
        let per_page =
            match table.get("per_page") {
                None => 100,
                Some(toml::Value::Integer(n)) if (1..=100).contains(n) => *n as u32,
                Some(_) => return Err(
                    "[targets.cicd] per_page must be an integer from 1 to 100 (GitLab's maximum)"
                        .into(),
                ),
            };
        let http = crate::adapters::http::client(
            Duration::from_millis(timeout_ms),
            Duration::from_millis(timeout_ms.min(5_000)),
        )
        .map_err(|e| format!("[targets.cicd] building the HTTP client: {e}"))?;
        let principal = OnceLock::new();
        if let Some(p) = t.str("principal")? {
            let _ = principal.set(p.to_string());
        }
        Ok(GitlabTarget {
            instance: instance.to_string(),
            api,
            token,
            match_attribute,
            extern_uid_provider,
            block,
            sponsor_marker,
            per_page,
            http,
            principal,
            fallback_principal: format!("gitlab:{instance}"),
            self_id: OnceLock::new(),
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

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }
}

//! The `[targets.directory.<name>] adapter = "keycloak"` table: `Settings` (its keys, defaults
//! and meaning), the attribute a person is looked up by, and building a `KeycloakTarget` from
//! it. Everything is checked here, before any request is sent.

use super::KeycloakTarget;
use crate::adapters::http;
use crate::adapters::table;
use crate::adapters::Principal;
use revoke_shared::contract::TargetKind;
use serde::Deserialize;
use std::num::NonZeroU64;
use std::sync::OnceLock;
use std::time::Duration;

/// A Keycloak instance table, as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Required: where Keycloak answers, e.g. `https://sso.example.com` (add `/auth` for a
    /// server still on the old context path), http(s), no query.
    base_url: String,
    /// Required: the realm the people live in (also where the revoker's client is).
    realm: String,
    /// Required: the confidential client whose service account acts (client credentials grant).
    client_id: String,
    /// The environment variable holding that client's secret (exactly one of this and
    /// `client_secret_file`).
    client_secret_env: Option<String>,
    /// The file holding that client's secret.
    client_secret_file: Option<String>,
    /// `username` (default), `email`, or the name of the user attribute holding the employee id
    /// (e.g. `employee_id`; Keycloak's user profile must declare it).
    #[serde(default = "default_match_attribute")]
    match_attribute: String,
    /// Disable the user first, then end its sessions and consents (default true): once disabled
    /// no new session can start.
    #[serde(default = "table::yes")]
    disable_user: bool,
    /// The client attribute naming a service-account client's owner (default `owner`; `""`
    /// turns sponsored discovery off).
    #[serde(default = "default_sponsor_attribute")]
    sponsor_attribute: String,
    /// Read the person's sign-in events after a case closes, for the watch (default true; false:
    /// this instance keeps no sign-in log for the watch). Needs `view-events`.
    #[serde(default = "table::yes")]
    watch_sign_ins: bool,
    /// The actor recorded in evidence (default: the service account's username, learnt at start).
    principal: Option<String>,
    /// Per HTTP request (default 10000).
    #[serde(default = "table::default_timeout_ms")]
    timeout_ms: NonZeroU64,
}

fn default_match_attribute() -> String {
    "username".into()
}
fn default_sponsor_attribute() -> String {
    "owner".into()
}

/// How a person is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchAttribute {
    /// `GET /users?username=<u>&exact=true`.
    Username,
    /// `GET /users?email=<e>&exact=true`.
    Email,
    /// The identity's employee id in this user attribute: `GET /users?q=<attr>:<id>&exact=true`.
    Attribute(String),
}

impl MatchAttribute {
    pub fn name(&self) -> &str {
        match self {
            MatchAttribute::Username => "username",
            MatchAttribute::Email => "email",
            MatchAttribute::Attribute(a) => a,
        }
    }
}

/// Whether `s` can name a user or client attribute: letters, digits, `_`, `-`, `.` (it is sent
/// inside `q=<attr>:<value>`, where spaces and `:` separate).
pub fn attribute_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl KeycloakTarget {
    /// Reads a Keycloak instance table (see `Settings`); `instance` names it in evidence.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<KeycloakTarget, String> {
        let s: Settings = table::adapter_settings(table, TargetKind::Directory)?;
        s.validate(instance)
    }

    pub fn match_attribute(&self) -> &MatchAttribute {
        &self.match_attribute
    }
}

impl http::Gated for KeycloakTarget {
    fn gate_mut(&mut self) -> &mut Option<std::sync::Arc<crate::adapters::limit::RateGate>> {
        &mut self.gate
    }
}

impl Settings {
    fn validate(self, instance: &str) -> Result<KeycloakTarget, String> {
        let k = TargetKind::Directory;
        let base = table::http_url(k, "base_url", &self.base_url)?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(format!(
                "[targets.{k}] base_url must be an http(s) URL without query, got {:?}",
                self.base_url
            ));
        }
        if self.realm.is_empty() || self.realm.chars().any(|c| c.is_control()) {
            return Err(format!(
                "[targets.{k}] realm must name a realm, got {:?}",
                self.realm
            ));
        }
        if self.client_id.is_empty() || self.client_id.chars().any(|c| c.is_control()) {
            return Err(format!(
                "[targets.{k}] client_id must name the revoker's client, got {:?}",
                self.client_id
            ));
        }
        let match_attribute = match self.match_attribute.as_str() {
            "username" => MatchAttribute::Username,
            "email" => MatchAttribute::Email,
            a if attribute_name_ok(a) => MatchAttribute::Attribute(a.to_string()),
            a => {
                return Err(format!(
                    "[targets.{k}] match_attribute must be username, email or a user attribute name (letters, digits, _ - .), got {a:?}"
                ))
            }
        };
        if !self.sponsor_attribute.is_empty() && !attribute_name_ok(&self.sponsor_attribute) {
            return Err(format!(
                "[targets.{k}] sponsor_attribute must be a client attribute name (letters, digits, _ - .) or \"\", got {:?}",
                self.sponsor_attribute
            ));
        }
        let secret = table::optional_secret(
            k,
            "client_secret",
            self.client_secret_env.as_deref(),
            self.client_secret_file.as_deref(),
        )?
        .ok_or_else(|| {
            format!("[targets.{k}] client_secret_env or client_secret_file is required (the revoker client's secret)")
        })?;
        let mut base = base;
        base.path_segments_mut()
            .expect("checked to be a base")
            .pop_if_empty();
        Ok(KeycloakTarget {
            instance: instance.to_string(),
            token_url: http::join(
                &base,
                &["realms", &self.realm, "protocol", "openid-connect", "token"],
            ),
            admin: http::join(&base, &["admin", "realms", &self.realm]),
            realm: self.realm,
            client_id: self.client_id,
            client_secret: secret,
            match_attribute,
            disable_user: self.disable_user,
            sponsor_attribute: self.sponsor_attribute,
            watch_sign_ins: self.watch_sign_ins,
            http: table::http_client(k, Duration::from_millis(self.timeout_ms.get()))?,
            principal: Principal::new(self.principal, format!("keycloak:{instance}")),
            token: tokio::sync::Mutex::new(None),
            self_user: OnceLock::new(),
            self_client: OnceLock::new(),
            discoveries: Default::default(),
            gate: None,
        })
    }
}

//! The `[targets.directory]` table: `Settings` (its keys, defaults and meaning), the attribute
//! a person is looked up by (`MatchAttribute`), and building an `LdapTarget` from it (checked
//! before the directory is contacted; the connection is opened lazily).

use super::connection::{Session, Trust};
use super::{attribute_name_ok, filter_ok, generalized_time_ok, LdapTarget, PERMANENT_LOCK};
use crate::adapters::table;
use revoke_shared::contract::{Identity, TargetKind};
use revoke_shared::secret::Secret;
use serde::Deserialize;
use std::time::Duration;

/// `[targets.directory]`, as written in the file. `manager` names a person's line manager on
/// people's entries: add it to `owner_attributes` only with a `sponsored_filter` that excludes
/// people (e.g. `(employeeType=service)`), or a leaving manager's reports are locked too.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Required: `ldap://host:389` or `ldaps://host:636`.
    url: String,
    /// StartTLS on an `ldap://` URL (default false).
    #[serde(default)]
    starttls: bool,
    /// Accept any server certificate (test directories only; default false). CAs come from the
    /// system store (`SSL_CERT_FILE` honoured), or from `ca_file`.
    #[serde(default)]
    tls_no_verify: bool,
    /// A PEM file of the CAs to trust for the server's certificate, instead of the system store
    /// (a directory with a private CA, e.g. Active Directory Certificate Services).
    ca_file: Option<String>,
    /// Required: the revoker's service account.
    bind_dn: String,
    /// The environment variable holding its password (exactly one of this and `password_file`).
    password_env: Option<String>,
    /// The file holding its password.
    password_file: Option<String>,
    /// Required: the subtree holding people (and sponsored accounts).
    base_dn: String,
    /// The subtree holding groups (default `base_dn`).
    group_base_dn: Option<String>,
    /// The subtree holding service accounts and bots (default `base_dn`).
    sponsored_base_dn: Option<String>,
    /// `uid` (the identity's username, default), `mail` (email) or `employeeNumber` (employee id).
    #[serde(default)]
    match_attribute: MatchAttribute,
    /// What a person's entry is (default `DEFAULT_USER_FILTER`).
    #[serde(default = "default_user_filter")]
    user_filter: String,
    /// Attributes naming a sponsor's DN on sponsored entries (default `["owner"]`; `[]`: none).
    #[serde(default = "default_owner_attributes")]
    owner_attributes: Vec<String>,
    /// Which owned entries are accounts to lock, not groups or OUs (default
    /// `DEFAULT_SPONSORED_FILTER`).
    #[serde(default = "default_sponsored_filter")]
    sponsored_filter: String,
    /// The `pwdAccountLockedTime` value set (default `000001010000Z`: locked until an
    /// administrator unlocks).
    #[serde(default = "default_lock_value")]
    lock_value: String,
    /// If set, the person's entry is moved under this DN (last).
    disabled_ou: Option<String>,
    /// The value left in a group whose schema needs one member (default `""`, the empty DN).
    #[serde(default)]
    last_member_placeholder: String,
    /// The actor recorded in evidence (default `bind_dn`).
    principal: Option<String>,
    /// Connect and per-operation timeout (default 10000).
    #[serde(default = "table::default_timeout_ms")]
    timeout_ms: std::num::NonZeroU64,
}

fn default_user_filter() -> String {
    DEFAULT_USER_FILTER.into()
}
fn default_sponsored_filter() -> String {
    DEFAULT_SPONSORED_FILTER.into()
}
fn default_owner_attributes() -> Vec<String> {
    vec!["owner".into()]
}
fn default_lock_value() -> String {
    PERMANENT_LOCK.into()
}

pub(super) const DEFAULT_USER_FILTER: &str = "(|(objectClass=person)(objectClass=posixAccount))";
pub(super) const DEFAULT_SPONSORED_FILTER: &str = "(|(objectClass=simpleSecurityObject)(objectClass=account)(objectClass=person)(objectClass=posixAccount))";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum MatchAttribute {
    #[default]
    #[serde(rename = "uid")]
    Uid,
    #[serde(rename = "mail")]
    Mail,
    #[serde(rename = "employeeNumber", alias = "employeenumber")]
    EmployeeNumber,
}

impl MatchAttribute {
    pub fn attribute(self) -> &'static str {
        match self {
            MatchAttribute::Uid => "uid",
            MatchAttribute::Mail => "mail",
            MatchAttribute::EmployeeNumber => "employeeNumber",
        }
    }

    /// Which identity field feeds it.
    pub(super) fn identity_field(self) -> &'static str {
        match self {
            MatchAttribute::Uid => "username",
            MatchAttribute::Mail => "email",
            MatchAttribute::EmployeeNumber => "employee_id",
        }
    }

    pub(super) fn value(self, who: &Identity) -> Option<&str> {
        match self {
            MatchAttribute::Uid => who.username.as_deref(),
            MatchAttribute::Mail => who.email.as_deref(),
            MatchAttribute::EmployeeNumber => Some(who.employee_id.as_str()),
        }
        .filter(|v| !v.is_empty())
    }
}

impl LdapTarget {
    /// Reads a `[targets.directory]` table (see `Settings`); `instance` names it in evidence.
    /// Connects lazily, on first use.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<LdapTarget, String> {
        let s: Settings = table::adapter_settings(table, TargetKind::Directory)?;
        s.validate(instance)
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }
}

// The checks of the table values every LDAP-speaking adapter shares (this one and Active
// Directory's), each error naming its key.

const K: TargetKind = TargetKind::Directory;

/// A DN from config, trimmed.
pub(crate) fn dn(key: &str, s: &str) -> Result<String, String> {
    if s.trim().is_empty() || !s.contains('=') {
        return Err(format!(
            "[targets.{K}] {key} {s:?} is not a DN (like \"ou=people,dc=example,dc=com\")"
        ));
    }
    Ok(s.trim().to_string())
}

pub(crate) fn optional_dn(key: &str, s: Option<&String>) -> Result<Option<String>, String> {
    s.map(|s| dn(key, s)).transpose()
}

/// A filter from config, trimmed: parenthesised and accepted by the filter parser.
pub(crate) fn filter(key: &str, f: &str) -> Result<String, String> {
    let f = f.trim().to_string();
    if !filter_ok(&f) {
        return Err(format!(
            "[targets.{K}] {key} {f:?} is not an LDAP filter (RFC 4515, in parentheses)"
        ));
    }
    Ok(f)
}

/// Attribute names from config (they go into filters): each a descriptor or an OID.
pub(crate) fn attribute_names(key: &str, names: &[String]) -> Result<(), String> {
    match names.iter().find(|a| !attribute_name_ok(a)) {
        Some(a) => Err(format!(
            "[targets.{K}] {key}: {a:?} is not an attribute name"
        )),
        None => Ok(()),
    }
}

/// The bind password, read now from exactly one of `password_env` and `password_file`.
pub(crate) fn bind_password(env: Option<&str>, file: Option<&str>) -> Result<Secret, String> {
    if env.is_some() == file.is_some() {
        return Err(format!(
            "[targets.{K}] set exactly one of password_env or password_file (the bind password is never inline)"
        ));
    }
    Secret::from_env_or_file(env, file).map_err(|e| format!("[targets.{K}] bind password: {e}"))
}

impl Settings {
    /// What serde cannot check: URL scheme and TLS, DNs, filters and attribute names, the lock
    /// value's syntax; and the password, read now from where the table points.
    fn validate(self, instance: &str) -> Result<LdapTarget, String> {
        let k = TargetKind::Directory;

        let url = self.url.trim().to_string();
        if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
            return Err(format!(
                "[targets.{k}] url {url:?} must start with ldap:// or ldaps://"
            ));
        }
        if self.starttls && url.starts_with("ldaps://") {
            return Err(format!(
                "[targets.{k}] starttls is for ldap:// URLs; {url:?} is already TLS"
            ));
        }
        let bind_dn = dn("bind_dn", &self.bind_dn)?;
        let password = bind_password(self.password_env.as_deref(), self.password_file.as_deref())?;
        let base_dn = dn("base_dn", &self.base_dn)?;
        let group_base_dn = optional_dn("group_base_dn", self.group_base_dn.as_ref())?
            .unwrap_or_else(|| base_dn.clone());
        let sponsored_base_dn = optional_dn("sponsored_base_dn", self.sponsored_base_dn.as_ref())?
            .unwrap_or_else(|| base_dn.clone());
        attribute_names("owner_attributes", &self.owner_attributes)?;
        if !generalized_time_ok(&self.lock_value) {
            return Err(format!(
                "[targets.{k}] lock_value {:?} is not a GeneralizedTime (e.g. {PERMANENT_LOCK:?})",
                self.lock_value
            ));
        }
        let trust = match (&self.ca_file, self.tls_no_verify) {
            (Some(_), true) => {
                return Err(format!(
                    "[targets.{k}] set ca_file or tls_no_verify, not both"
                ))
            }
            (Some(path), false) => {
                Trust::ca_file(path).map_err(|e| format!("[targets.{k}] {e}"))?
            }
            (None, true) => Trust::Anything,
            (None, false) => Trust::System,
        };
        Ok(LdapTarget {
            instance: instance.to_string(),
            principal: self.principal.unwrap_or_else(|| bind_dn.clone()),
            session: Session::new(
                instance,
                url,
                self.starttls,
                trust,
                bind_dn,
                password,
                Duration::from_millis(self.timeout_ms.get()),
            ),
            base_dn,
            group_base_dn,
            sponsored_base_dn,
            match_attribute: self.match_attribute,
            user_filter: filter("user_filter", &self.user_filter)?,
            owner_attributes: self.owner_attributes,
            sponsored_filter: filter("sponsored_filter", &self.sponsored_filter)?,
            lock_value: self.lock_value,
            disabled_ou: optional_dn("disabled_ou", self.disabled_ou.as_ref())?,
            last_member_placeholder: self.last_member_placeholder,
        })
    }
}

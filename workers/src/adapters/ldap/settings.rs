//! The `[targets.directory]` table: its keys and defaults, the attribute a person is looked up
//! by (`MatchAttribute`), and building an `LdapTarget` from it (checked before the directory is
//! contacted; the connection is opened lazily). The keys are listed in the `ldap` module docs.

use super::{attribute_name_ok, filter_ok, generalized_time_ok, LdapTarget, PERMANENT_LOCK};
use revoke_shared::contract::{Identity, TargetKind};
use revoke_shared::secret::Secret;
use std::time::Duration;

const KNOWN_KEYS: &[&str] = &[
    "url",
    "starttls",
    "tls_no_verify",
    "bind_dn",
    "password_env",
    "password_file",
    "base_dn",
    "group_base_dn",
    "sponsored_base_dn",
    "match_attribute",
    "user_filter",
    "owner_attributes",
    "sponsored_filter",
    "lock_value",
    "disabled_ou",
    "last_member_placeholder",
    "principal",
    "timeout_ms",
];

pub(super) const DEFAULT_USER_FILTER: &str = "(|(objectClass=person)(objectClass=posixAccount))";
pub(super) const DEFAULT_SPONSORED_FILTER: &str = "(|(objectClass=simpleSecurityObject)(objectClass=account)(objectClass=person)(objectClass=posixAccount))";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttribute {
    Uid,
    Mail,
    EmployeeNumber,
}

impl MatchAttribute {
    fn parse(s: &str) -> Option<MatchAttribute> {
        match s {
            "uid" => Some(MatchAttribute::Uid),
            "mail" => Some(MatchAttribute::Mail),
            "employeeNumber" | "employeenumber" => Some(MatchAttribute::EmployeeNumber),
            _ => None,
        }
    }

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
    /// Reads a `[targets.directory]` table (see the module docs); `instance` names it in
    /// evidence. Connects lazily, on first use.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<LdapTarget, String> {
        let k = TargetKind::Directory;
        let t = crate::adapters::AdapterTable::new(table, k, KNOWN_KEYS)?;
        let bool_key = |key: &str| -> Result<bool, String> {
            match table.get(key) {
                None => Ok(false),
                Some(toml::Value::Boolean(b)) => Ok(*b),
                Some(_) => Err(format!("[targets.{k}] {key} must be true or false")),
            }
        };
        let dn_key = |key: &str, required: bool| -> Result<Option<String>, String> {
            match t.str(key)? {
                None if required => Err(format!(
                    "[targets.{k}] {key} is required (a DN like \"ou=people,dc=example,dc=com\")"
                )),
                None => Ok(None),
                Some(s) if s.trim().is_empty() || !s.contains('=') => Err(format!(
                    "[targets.{k}] {key} {s:?} is not a DN (like \"ou=people,dc=example,dc=com\")"
                )),
                Some(s) => Ok(Some(s.trim().to_string())),
            }
        };

        let url = t
            .str("url")?
            .ok_or_else(|| {
                format!("[targets.{k}] url is required (e.g. \"ldaps://ldap.example.com\")")
            })?
            .trim()
            .to_string();
        if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
            return Err(format!(
                "[targets.{k}] url {url:?} must start with ldap:// or ldaps://"
            ));
        }
        let starttls = bool_key("starttls")?;
        if starttls && url.starts_with("ldaps://") {
            return Err(format!(
                "[targets.{k}] starttls is for ldap:// URLs; {url:?} is already TLS"
            ));
        }
        let tls_no_verify = bool_key("tls_no_verify")?;
        let bind_dn = dn_key("bind_dn", true)?.unwrap_or_default();
        let (env, file) = (t.str("password_env")?, t.str("password_file")?);
        if env.is_some() == file.is_some() {
            return Err(format!(
                "[targets.{k}] set exactly one of password_env or password_file (the bind password is never inline)"
            ));
        }
        let password = Secret::from_env_or_file(env, file)
            .map_err(|e| format!("[targets.{k}] bind password: {e}"))?;
        let base_dn = dn_key("base_dn", true)?.unwrap_or_default();
        let group_base_dn = dn_key("group_base_dn", false)?.unwrap_or_else(|| base_dn.clone());
        let sponsored_base_dn =
            dn_key("sponsored_base_dn", false)?.unwrap_or_else(|| base_dn.clone());
        let match_attribute = match t.str("match_attribute")? {
            None => MatchAttribute::Uid,
            Some(s) => MatchAttribute::parse(s).ok_or_else(|| {
                format!("[targets.{k}] match_attribute {s:?}: expected uid, mail or employeeNumber")
            })?,
        };
        let filter_key = |key: &str, default: &str| -> Result<String, String> {
            let f = t.str(key)?.unwrap_or(default).trim().to_string();
            if !filter_ok(&f) {
                return Err(format!(
                    "[targets.{k}] {key} {f:?} is not an LDAP filter (RFC 4515, in parentheses)"
                ));
            }
            Ok(f)
        };
        let user_filter = filter_key("user_filter", DEFAULT_USER_FILTER)?;
        let sponsored_filter = filter_key("sponsored_filter", DEFAULT_SPONSORED_FILTER)?;
        let owner_attributes = match table.get("owner_attributes") {
            None => vec!["owner".to_string()],
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) if attribute_name_ok(s) => Ok(s.to_string()),
                    _ => Err(format!(
                        "[targets.{k}] owner_attributes: {v} is not an attribute name"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(format!(
                    "[targets.{k}] owner_attributes must be a list of attribute names, e.g. [\"owner\"]"
                ))
            }
        };
        let lock_value = t.str("lock_value")?.unwrap_or(PERMANENT_LOCK).to_string();
        if !generalized_time_ok(&lock_value) {
            return Err(format!(
                "[targets.{k}] lock_value {lock_value:?} is not a GeneralizedTime (e.g. {PERMANENT_LOCK:?})"
            ));
        }
        let disabled_ou = dn_key("disabled_ou", false)?;
        let last_member_placeholder = t.str("last_member_placeholder")?.unwrap_or("").to_string();
        let timeout_ms = match table.get("timeout_ms") {
            None => 10_000,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(_) => {
                return Err(format!(
                    "[targets.{k}] timeout_ms must be a positive integer"
                ))
            }
        };
        let principal = t.str("principal")?.unwrap_or(&bind_dn).to_string();
        Ok(LdapTarget {
            instance: instance.to_string(),
            principal,
            url,
            starttls,
            tls_no_verify,
            bind_dn,
            password,
            base_dn,
            group_base_dn,
            sponsored_base_dn,
            match_attribute,
            user_filter,
            owner_attributes,
            sponsored_filter,
            lock_value,
            disabled_ou,
            last_member_placeholder,
            timeout: Duration::from_millis(timeout_ms),
            conn: tokio::sync::Mutex::new(None),
        })
    }

    pub fn match_attribute(&self) -> MatchAttribute {
        self.match_attribute
    }
}

//! The table of a directory instance with `adapter = "active_directory"`: `Settings` (its keys,
//! defaults and meaning) and the checks serde cannot make. TLS only: `ldaps://`, or `ldap://`
//! with `starttls` (AD refuses simple binds in the clear by default, and the bind carries the
//! revoker's password); the certificate is verified (system store or `ca_file`).

use crate::adapters::ldap::connection::{Session, Trust};
use crate::adapters::ldap::settings::bind_password;
use crate::adapters::table;
use revoke_shared::contract::TargetKind;
use serde::Deserialize;
use std::time::Duration;

/// The attributes a person may be looked up by, and the identity field that feeds each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum MatchAttribute {
    /// The identity's username.
    #[default]
    #[serde(rename = "sAMAccountName", alias = "samaccountname")]
    SamAccountName,
    /// The identity's email as the user principal name.
    #[serde(rename = "userPrincipalName", alias = "userprincipalname")]
    UserPrincipalName,
    /// The identity's email.
    #[serde(rename = "mail")]
    Mail,
    /// The identity's employee id.
    #[serde(rename = "employeeID", alias = "employeeid")]
    EmployeeId,
}

impl MatchAttribute {
    pub fn attribute(self) -> &'static str {
        match self {
            MatchAttribute::SamAccountName => "sAMAccountName",
            MatchAttribute::UserPrincipalName => "userPrincipalName",
            MatchAttribute::Mail => "mail",
            MatchAttribute::EmployeeId => "employeeID",
        }
    }
}

/// The instance table, as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Required: `ldaps://dc.example.com` (or `ldap://…` with `starttls`).
    pub url: String,
    /// StartTLS on an `ldap://` URL (default false).
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of the CAs to trust for the DC's certificate (default: the system store).
    pub ca_file: Option<String>,
    /// Required: the revoker's account, as a DN or `user@domain`.
    pub bind_dn: String,
    /// The environment variable holding its password (exactly one of this and `password_file`).
    pub password_env: Option<String>,
    /// The file holding its password.
    pub password_file: Option<String>,
    /// Required: the subtree holding people (and sponsored accounts, and groups by default).
    pub base_dn: String,
    /// The subtree holding groups (default `base_dn`).
    pub group_base_dn: Option<String>,
    /// How a person is found (default `sAMAccountName`).
    #[serde(default)]
    pub match_attribute: MatchAttribute,
    /// Attributes on service accounts naming their sponsor's DN (default `["managedBy"]`).
    #[serde(default = "default_owner_attributes")]
    pub owner_attributes: Vec<String>,
    /// Which objects naming the person in an owner attribute are sponsored accounts to disable
    /// (default `(objectClass=user)`: users, and computers and (group) managed service
    /// accounts, which AD derives from user).
    #[serde(default = "default_sponsored_filter")]
    pub sponsored_filter: String,
    /// An OU under `base_dn` to move the person's account into after disabling it (default: not
    /// moved).
    pub disabled_ou: Option<String>,
    /// Also reset the password to a random value nobody learns (irreversible; default false).
    #[serde(default)]
    pub reset_password: bool,
    /// The actor recorded in evidence (default `bind_dn`).
    pub principal: Option<String>,
    /// Connect and per-operation timeout (default 10000).
    #[serde(default = "table::default_timeout_ms")]
    pub timeout_ms: std::num::NonZeroU64,
}

fn default_owner_attributes() -> Vec<String> {
    vec!["managedBy".into()]
}

fn default_sponsored_filter() -> String {
    "(objectClass=user)".into()
}

impl Settings {
    /// Reads an instance table (see `Settings`).
    pub fn from_table(t: &toml::Table) -> Result<Settings, String> {
        table::adapter_settings(t, TargetKind::Directory)
    }

    /// The connection these settings describe, TLS required and verified; the password read
    /// now from where the table points.
    pub fn session(&self, instance: &str) -> Result<Session, String> {
        let k = "directory";
        let url = self.url.trim().to_string();
        let tls = url.starts_with("ldaps://") || (url.starts_with("ldap://") && self.starttls);
        if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
            return Err(format!(
                "[targets.{k}] url {url:?} must start with ldaps:// or ldap://"
            ));
        }
        if !tls {
            return Err(format!(
                "[targets.{k}] url {url:?}: Active Directory needs TLS (ldaps://, or ldap:// with starttls = true): the bind carries the revoker's password"
            ));
        }
        if self.starttls && url.starts_with("ldaps://") {
            return Err(format!(
                "[targets.{k}] starttls is for ldap:// URLs; {url:?} is already TLS"
            ));
        }
        let password = bind_password(self.password_env.as_deref(), self.password_file.as_deref())?;
        let trust = match &self.ca_file {
            Some(path) => Trust::ca_file(path).map_err(|e| format!("[targets.{k}] {e}"))?,
            None => Trust::System,
        };
        Ok(Session::new(
            instance,
            url,
            self.starttls,
            trust,
            self.bind_dn.trim().to_string(),
            password,
            Duration::from_millis(self.timeout_ms.get()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Result<Settings, String> {
        let t: toml::Table = format!(
            "bind_dn = \"CN=revoker,CN=Users,DC=x\"\npassword_env = \"REVOKE_AD_UNIT_PW\"\nbase_dn = \"DC=x\"\n{extra}"
        )
        .parse()
        .unwrap();
        Settings::from_table(&t)
    }

    #[test]
    fn tls_is_required_and_the_defaults_are_ads() {
        std::env::set_var("REVOKE_AD_UNIT_PW", "s3cret-value");
        let s = settings("url = \"ldaps://dc.example.com\"").unwrap();
        assert_eq!(s.match_attribute, MatchAttribute::SamAccountName);
        assert_eq!(s.owner_attributes, vec!["managedBy".to_string()]);
        assert!(!s.reset_password);
        assert!(s.session("main").is_ok());
        let clear = settings("url = \"ldap://dc.example.com\"").unwrap();
        let err = clear.session("main").err().unwrap();
        assert!(err.contains("needs TLS"), "{err}");
        let starttls = settings("url = \"ldap://dc.example.com\"\nstarttls = true").unwrap();
        assert!(starttls.session("main").is_ok());
        assert!(
            settings("url = \"ldaps://dc\"\ntls_no_verify = true").is_err(),
            "no way to skip verification"
        );
        assert!(settings("url = \"ldaps://dc\"\nmatch_attribute = \"employeeID\"").is_ok());
        assert!(settings("url = \"ldaps://dc\"\nmatch_attribute = \"cn\"").is_err());
    }

    #[test]
    fn tables_are_checked_and_the_password_never_shows() {
        std::env::set_var("REVOKE_AD_UNIT_PW", "s3cret-value");
        let build = |extra: &str| {
            let t: toml::Table = format!(
                "url = \"ldaps://dc\"\nbind_dn = \"CN=r,DC=x\"\npassword_env = \"REVOKE_AD_UNIT_PW\"\nbase_dn = \"DC=x\"\n{extra}"
            )
            .parse()
            .unwrap();
            super::super::AdTarget::from_table(&t, "ad")
        };
        let t = build("").unwrap();
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("s3cret-value") && shown.contains("CN=r,DC=x"),
            "{shown}"
        );
        for (extra, key) in [
            (
                "owner_attributes = [\"managedBy)(cn=*\"]",
                "owner_attributes",
            ),
            (
                "sponsored_filter = \"objectClass=user\"",
                "sponsored_filter",
            ),
            ("disabled_ou = \"Disabled\"", "disabled_ou"),
            ("disabled_ou = \"OU=Disabled,DC=elsewhere\"", "disabled_ou"),
            ("group_base_dn = \"\"", "group_base_dn"),
        ] {
            let err = build(extra)
                .err()
                .unwrap_or_else(|| panic!("{extra} accepted"));
            assert!(err.contains(key), "{err}");
        }
    }
}

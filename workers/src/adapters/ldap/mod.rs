//! The `directory` target: an LDAP directory (OpenLDAP with the ppolicy overlay, or any server
//! that honours `pwdAccountLockedTime`), spoken with the `ldap3` crate.
//!
//! - Lookup (`person`): a subtree search under `base_dn` — and under `disabled_ou` when that lies
//!   outside `base_dn`, where an earlier half-failed run may have moved the person — for
//!   `(&<user_filter>(<match_attribute>=<value>))`, the value escaped per RFC 4515 (`\`, `*`,
//!   `(`, `)` and NUL become `\XX`), so an identity like `*` or `x)(uid=*` is a literal that names
//!   nobody. Every returned entry is re-checked client-side. No entry: nothing held (already
//!   absent). More than one: `Ambiguous` — a person decides, nothing is touched.
//! - Holdings, in the order they are revoked:
//!   1. `account` (`lock`), id = the entry's DN: sets `pwdAccountLockedTime: <lock_value>`; with
//!      ppolicy's `pwdLockout: TRUE` a locked entry's binds fail with invalidCredentials (49). An
//!      entry already holding `lock_value` (or ppolicy's permanent `000001010000Z`) is already
//!      absent; a lockout ppolicy set after failed binds (a real time, which expires after
//!      `pwdLockoutDuration`) is replaced by the revoker's lock.
//!   2. `group_membership` (`remove_membership`), one per group value under `group_base_dn`:
//!      `member` and `uniqueMember` hold the entry's DN, `memberUid` (posixGroup) holds its `uid`.
//!      Id = `<attribute>|<group DN>|<value>` (`%` and `|` inside DNs and values written `%25` and
//!      `%7C`), enough to put the value back. Removing the last `member`/`uniqueMember` of a group
//!      whose schema requires one (objectClassViolation, 65) swaps in `last_member_placeholder`
//!      in the same modify; restore removes the placeholder again.
//!   3. sponsored `account`s (`lock`, `sponsored: true`): entries under `sponsored_base_dn` matching
//!      `sponsored_filter` whose `owner_attributes` name the person's DN (service accounts, bots).
//!      The person's own entry and the revoker's `bind_dn` are never among them.
//!   4. with `disabled_ou`: `account_location` (`move`), id = `<original DN>|<disabled OU>`: a
//!      modifyDN of the entry under the disabled OU, done last so the DN-based steps above act on
//!      the DN they discovered.
//! - Verify reads back: `pwdAccountLockedTime` (operational: requested by name) holding a lock
//!   that does not expire, read at the DN the entry has *now* (`lock`: the person's entry is
//!   looked up again when it is no longer at the DN discovered; a moved entry without the lock
//!   is never gone); the group no longer matching `(<attribute>=<value>)`; the entry under the
//!   disabled OU and not at its old DN (which says nothing about the lock). `removed_at` is the
//!   entry's (or group's) `modifyTimestamp` at read-back.
//! - Restore from evidence: unlock (delete `pwdAccountLockedTime`, only if it still holds the
//!   configured `lock_value`), re-add the membership value, move the entry back — each only
//!   after the directory shows the object is the person's (`ownership`; else `Refused`, nothing
//!   written). Idempotent: what is already there answers `AlreadyPresent`.
//! - Idempotent: a locked entry, a value no longer in the group, an entry already in the
//!   disabled OU are `AlreadyAbsent` without a write; noSuchAttribute (16) on a delete and
//!   attributeOrValueExists (20) on an add are the same answers from a lost race.
//!
//! Files: `person` (the lookup, people base and disabled OU), `lock`, `groups`, `moves` (one
//! object kind each: revoke, read back, restore), `ownership` (the checks a restore passes before
//! it writes), `syntax` (pure helpers: escaping, DNs, ids, times, result codes); this file holds
//! the config, the connection and the `Target` impl that dispatches to them.
//!
//! One connection per adapter, bound once as `bind_dn` and shared by all concurrent operations
//! (LDAP multiplexes requests by message id); it is re-opened after a transport error. Result
//! codes are classified by `classify_result_code`: busy/unavailable/time limit and transport
//! errors are transient, the rest permanent. The password is read from `password_env` or
//! `password_file`, kept in a `Secret`, and only ever sent in the bind request.
//!
//! Config `[targets.directory]`:
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `url` | required | `ldap://host:389` or `ldaps://host:636` |
//! | `starttls` | `false` | StartTLS on an `ldap://` URL |
//! | `tls_no_verify` | `false` | accept any server certificate (test directories only); CAs come from the system store (`SSL_CERT_FILE` honoured) |
//! | `bind_dn` | required | the revoker's service account |
//! | `password_env` / `password_file` | one required | where its password lives |
//! | `base_dn` | required | subtree holding people (and sponsored accounts) |
//! | `group_base_dn` | `base_dn` | subtree holding groups |
//! | `match_attribute` | `uid` | `uid` (identity username), `mail` (email) or `employeeNumber` (employee id) |
//! | `user_filter` | `(\|(objectClass=person)(objectClass=posixAccount))` | what a person's entry is |
//! | `sponsored_base_dn` | `base_dn` | subtree holding service accounts and bots |
//! | `owner_attributes` | `["owner"]` | attributes naming a sponsor's DN on sponsored entries (`[]`: none) |
//! | `sponsored_filter` | `(\|(objectClass=simpleSecurityObject)(objectClass=account)(objectClass=person)(objectClass=posixAccount))` | which owned entries are accounts to lock (not groups, OUs, …) |
//! | `lock_value` | `000001010000Z` | `pwdAccountLockedTime` value; this one means "locked until an administrator unlocks" |
//! | `disabled_ou` | none | if set, the person's entry is moved under this DN |
//! | `last_member_placeholder` | `""` (the empty DN) | value left in a group that must keep one member |
//! | `principal` | `bind_dn` | actor recorded in evidence |
//! | `timeout_ms` | `10000` | connect and per-operation timeout |
//!
//! `manager` names a person's line manager on people's entries: add it to `owner_attributes` only
//! with a `sponsored_filter` that excludes people (e.g. `(employeeType=service)`), or a leaving
//! manager's reports are locked too.
//!
//! ```toml
//! [targets.directory]
//! url = "ldaps://ldap.example.com"
//! bind_dn = "cn=revoker,ou=services,dc=example,dc=com"
//! password_env = "REVOKE_LDAP_PASSWORD"            # or password_file = "/run/secrets/ldap"
//! base_dn = "ou=people,dc=example,dc=com"
//! group_base_dn = "ou=groups,dc=example,dc=com"
//! sponsored_base_dn = "ou=services,dc=example,dc=com"
//! match_attribute = "uid"
//! owner_attributes = ["owner", "manager"]
//! sponsored_filter = "(|(objectClass=simpleSecurityObject)(employeeType=service))"
//! disabled_ou = "ou=disabled,ou=people,dc=example,dc=com"
//! ```
//!
//! The revoker needs: read under `base_dn`/`group_base_dn`/`sponsored_base_dn` (including the operational
//! `pwdAccountLockedTime` and `modifyTimestamp`), write on `pwdAccountLockedTime`, on
//! `member`/`uniqueMember`/`memberUid`, and (with `disabled_ou`) the right to move entries there.
//! It never needs to read `userPassword`.

mod groups;
mod lock;
mod moves;
mod ownership;
mod person;
mod syntax;

pub use syntax::*;

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Mod, Scope, SearchEntry};
use ownership::Owned;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::retry::ErrorClass;
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

const DEFAULT_USER_FILTER: &str = "(|(objectClass=person)(objectClass=posixAccount))";
const DEFAULT_SPONSORED_FILTER: &str = "(|(objectClass=simpleSecurityObject)(objectClass=account)(objectClass=person)(objectClass=posixAccount))";
/// ppolicy's "locked until an administrator unlocks" value.
pub const PERMANENT_LOCK: &str = "000001010000Z";
const LOCK_ATTR: &str = "pwdAccountLockedTime";
const MODIFIED: &str = "modifyTimestamp";
/// More than one match is all the lookup needs to know.
const LOOKUP_SIZE_LIMIT: i32 = 10;

/// The attributes a group lists its members in.
pub const MEMBER_ATTRIBUTES: [&str; 3] = ["member", "uniqueMember", "memberUid"];

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
    fn identity_field(self) -> &'static str {
        match self {
            MatchAttribute::Uid => "username",
            MatchAttribute::Mail => "email",
            MatchAttribute::EmployeeNumber => "employee_id",
        }
    }

    fn value(self, who: &Identity) -> Option<&str> {
        match self {
            MatchAttribute::Uid => who.username.as_deref(),
            MatchAttribute::Mail => who.email.as_deref(),
            MatchAttribute::EmployeeNumber => Some(who.employee_id.as_str()),
        }
        .filter(|v| !v.is_empty())
    }
}

pub struct LdapTarget {
    instance: String,
    principal: String,
    url: String,
    starttls: bool,
    tls_no_verify: bool,
    bind_dn: String,
    password: Secret,
    base_dn: String,
    group_base_dn: String,
    sponsored_base_dn: String,
    match_attribute: MatchAttribute,
    user_filter: String,
    owner_attributes: Vec<String>,
    sponsored_filter: String,
    lock_value: String,
    disabled_ou: Option<String>,
    last_member_placeholder: String,
    timeout: Duration,
    /// The shared, bound connection (None until first use or after a transport error).
    conn: tokio::sync::Mutex<Option<ldap3::Ldap>>,
}

impl std::fmt::Debug for LdapTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapTarget")
            .field("instance", &self.instance)
            .field("principal", &self.principal)
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("password", &self.password)
            .field("base_dn", &self.base_dn)
            .field("group_base_dn", &self.group_base_dn)
            .field("match_attribute", &self.match_attribute)
            .field("owner_attributes", &self.owner_attributes)
            .field("disabled_ou", &self.disabled_ou)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// The adapter.
// ---------------------------------------------------------------------------------------------

impl LdapTarget {
    /// Reads a `[targets.directory]` table (see the module docs); `instance` names it in
    /// evidence. Connects lazily, on first use.
    pub fn from_table(table: &toml::Table, instance: &str) -> Result<LdapTarget, String> {
        let k = TargetKind::Directory;
        let t = super::AdapterTable::new(table, k, KNOWN_KEYS)?;
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

    /// The bound connection, opened (and bound) on first use or after a transport error.
    async fn handle(&self) -> Result<ldap3::Ldap, TargetError> {
        let mut guard = self.conn.lock().await;
        if let Some(l) = guard.as_mut() {
            if !l.is_closed() {
                return Ok(l.clone());
            }
        }
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls)
            .set_no_tls_verify(self.tls_no_verify);
        let doing = format!("connecting to directory {} at {}", self.instance, self.url);
        // Both `ring` (ldap3) and `aws-lc-rs` (the AWS SDK) are compiled into rustls, so it
        // cannot choose a process-default provider by itself: choose ring. Err means one is
        // already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // ldap3 builds its rustls config with rustls's process-default crypto provider, and
        // rustls panics when it cannot pick one (a build with both `ring` and `aws-lc-rs`
        // compiled in and none installed). A bad TLS setup is a refused target, not a crash.
        let connected = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            LdapConnAsync::with_settings(settings, &self.url),
        ))
        .await
        .map_err(|_| {
            TargetError::Permanent(format!(
                "{doing}: TLS is unavailable: no rustls crypto provider is installed in this process (the binary must install one at start, e.g. rustls::crypto::ring::default_provider().install_default())"
            ))
        })?;
        let (conn, mut ldap) = connected.map_err(|e| {
            let msg = format!("{doing}: {e}");
            match connect_error_class(&e) {
                ErrorClass::Transient => {
                    TargetError::Transient(format!("{msg} (is the server up and the URL right?)"))
                }
                _ => TargetError::Permanent(format!(
                    "{msg} (TLS: is the server's certificate trusted — system store or SSL_CERT_FILE — and does it name the host in url?)"
                )),
            }
        })?;
        let instance = self.instance.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(instance, error = %e, "LDAP connection closed with an error");
            }
        });
        let doing = format!("binding as {} to directory {}", self.bind_dn, self.instance);
        let bound = ldap
            .with_timeout(self.timeout)
            .simple_bind(&self.bind_dn, self.password.expose())
            .await
            .map_err(|e| self.error(&doing, e))?;
        if bound.rc != 0 {
            return Err(self.result_error(&doing, &bound));
        }
        *guard = Some(ldap.clone());
        Ok(ldap)
    }

    /// Forgets the connection after a transport error, so the next call opens a new one.
    async fn reset(&self) {
        *self.conn.lock().await = None;
    }

    fn result_error(&self, doing: &str, r: &LdapResult) -> TargetError {
        let text = r.text.chars().take(300).collect::<String>();
        let msg = format!(
            "{doing}: LDAP result {} ({}){}{}",
            r.rc,
            result_name(r.rc),
            if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            },
            result_hint(r.rc)
        );
        match classify_result_code(r.rc) {
            ErrorClass::Transient => TargetError::Transient(msg),
            ErrorClass::Permanent => TargetError::Permanent(msg),
            ErrorClass::Ambiguous => TargetError::Ambiguous(msg),
        }
    }

    fn error(&self, doing: &str, e: LdapError) -> TargetError {
        match e {
            LdapError::LdapResult { result } => self.result_error(doing, &result),
            LdapError::FilterParsing => {
                TargetError::Permanent(format!("{doing}: the filter does not parse"))
            }
            LdapError::Timeout { .. } => TargetError::Transient(format!(
                "{doing}: no answer within {} ms (timeout_ms)",
                self.timeout.as_millis()
            )),
            other => TargetError::Transient(format!("{doing}: {other}")),
        }
    }

    /// Runs one operation on the shared connection; a transport error drops the connection.
    async fn op<T, F, Fut>(&self, doing: &str, f: F) -> Result<T, TargetError>
    where
        F: FnOnce(ldap3::Ldap) -> Fut,
        Fut: std::future::Future<Output = Result<T, LdapError>>,
    {
        let mut ldap = self.handle().await?;
        ldap.with_timeout(self.timeout);
        match f(ldap).await {
            Ok(v) => Ok(v),
            Err(e) => {
                let err = self.error(doing, e);
                if matches!(err, TargetError::Transient(_)) {
                    self.reset().await;
                }
                Err(err)
            }
        }
    }

    /// A search; `None` when the base entry does not exist (noSuchObject).
    async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        size_limit: i32,
        doing: &str,
    ) -> Result<Option<Vec<SearchEntry>>, TargetError> {
        let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
        let ldap3::SearchResult(entries, res) = self
            .op(doing, |mut l| async move {
                if size_limit > 0 {
                    l.with_search_options(ldap3::SearchOptions::new().sizelimit(size_limit));
                }
                l.search(base, scope, filter, attrs).await
            })
            .await?;
        match res.rc {
            // sizeLimitExceeded still returns the entries up to the limit: the caller counts.
            0 | 4 => {}
            32 => return Ok(None),
            _ => return Err(self.result_error(doing, &res)),
        }
        let mut out = Vec::with_capacity(entries.len());
        for re in entries {
            // `construct` panics on a malformed entry; a bad answer is an error, not a crash.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                SearchEntry::construct(re)
            })) {
                Ok(e) => out.push(e),
                Err(_) => {
                    return Err(TargetError::Permanent(format!(
                        "{doing}: the server sent an entry that does not parse"
                    )))
                }
            }
        }
        Ok(Some(out))
    }

    /// One entry by DN (base search), with `attrs`; `None` when there is no such entry.
    async fn read(
        &self,
        dn: &str,
        attrs: &[&str],
        doing: &str,
    ) -> Result<Option<SearchEntry>, TargetError> {
        Ok(self
            .search(dn, Scope::Base, "(objectClass=*)", attrs, 0, doing)
            .await?
            .and_then(|mut v| v.pop()))
    }

    /// Whether `dn` exists and matches `filter` (base search).
    async fn matches(&self, dn: &str, filter: &str, doing: &str) -> Result<bool, TargetError> {
        Ok(self
            .search(dn, Scope::Base, filter, &["1.1"], 0, doing)
            .await?
            .is_some_and(|v| !v.is_empty()))
    }

    async fn modify(
        &self,
        dn: &str,
        mods: Vec<Mod<&str>>,
        doing: &str,
    ) -> Result<LdapResult, TargetError> {
        self.op(doing, |mut l| async move { l.modify(dn, mods).await })
            .await
    }

    /// The identity's value for `match_attribute`.
    fn lookup_value<'a>(&self, who: &'a Identity) -> Result<&'a str, TargetError> {
        self.match_attribute.value(who).ok_or_else(|| {
            TargetError::Permanent(format!(
                "identity {} has no {} to look up as {} in directory {} (match_attribute)",
                who.employee_id,
                self.match_attribute.identity_field(),
                self.match_attribute.attribute(),
                self.instance
            ))
        })
    }

    /// Groups under `group_base_dn` listing `value` in `attr`.
    async fn groups_with(&self, attr: &str, value: &str) -> Result<Vec<String>, TargetError> {
        let doing = format!(
            "listing groups with {attr} {value} under {} in directory {}",
            self.group_base_dn, self.instance
        );
        Ok(self
            .search(
                &self.group_base_dn,
                Scope::Subtree,
                &eq_filter(attr, value),
                &["1.1"],
                0,
                &doing,
            )
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("{doing}: group_base_dn does not exist"))
            })?
            .into_iter()
            .map(|e| e.dn)
            .collect())
    }

    /// Entries the person sponsors: `sponsored_filter` and an owner attribute naming `dn`.
    async fn sponsored_by(&self, dn: &str) -> Result<Vec<String>, TargetError> {
        if self.owner_attributes.is_empty() {
            return Ok(Vec::new());
        }
        let owners: String = self
            .owner_attributes
            .iter()
            .map(|a| eq_filter(a, dn))
            .collect();
        let filter = format!("(&{}(|{owners}))", self.sponsored_filter);
        let doing = format!(
            "listing entries sponsored by {dn} in directory {}",
            self.instance
        );
        Ok(self
            .search(
                &self.sponsored_base_dn,
                Scope::Subtree,
                &filter,
                &["1.1"],
                0,
                &doing,
            )
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("{doing}: sponsored_base_dn does not exist"))
            })?
            .into_iter()
            .map(|e| e.dn)
            .filter(|d| !dn_eq(d, dn) && !dn_eq(d, &self.bind_dn))
            .collect())
    }

    fn membership(&self, id: &str) -> Result<(&'static str, String, String), TargetError> {
        parse_membership_id(id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{id:?} is not a group_membership id of directory {} (<attribute>|<group DN>|<value>)",
                self.instance
            ))
        })
    }
}

#[async_trait]
impl Target for LdapTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Directory
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        &self.principal
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        let Some(person) = self.find_person(who).await? else {
            return Ok(Vec::new());
        };
        let dn = person.dn.clone();
        if dn_eq(&dn, &self.bind_dn) {
            return Err(TargetError::Permanent(format!(
                "identity {} is the revoker's own entry {dn} in directory {}: refusing",
                who.employee_id, self.instance
            )));
        }
        let mut out = vec![Holding {
            object_kind: "account".into(),
            object_id: dn.clone(),
            sponsored: false,
            action: "lock".into(),
        }];
        // Memberships: by DN in member/uniqueMember, by uid in memberUid.
        let mut lookups: Vec<(&str, String)> =
            vec![("member", dn.clone()), ("uniqueMember", dn.clone())];
        for uid in values(&person, "uid") {
            lookups.push(("memberUid", uid.to_string()));
        }
        let found = futures::future::try_join_all(
            lookups.iter().map(|(attr, v)| self.groups_with(attr, v)),
        )
        .await?;
        for ((attr, value), groups) in lookups.iter().zip(found) {
            for g in groups {
                out.push(Holding {
                    object_kind: "group_membership".into(),
                    object_id: membership_id(attr, &g, value),
                    sponsored: false,
                    action: "remove_membership".into(),
                });
            }
        }
        for s in self.sponsored_by(&dn).await? {
            out.push(Holding {
                object_kind: "account".into(),
                object_id: s,
                sponsored: true,
                action: "lock".into(),
            });
        }
        if let Some(ou) = &self.disabled_ou {
            out.push(Holding {
                object_kind: "account_location".into(),
                object_id: move_id(&dn, ou),
                sponsored: false,
                action: "move".into(),
            });
        }
        Ok(out)
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        match what.object_kind.as_str() {
            "account" => self.lock(who, what).await,
            "group_membership" => {
                let (attr, group, value) = self.membership(&what.object_id)?;
                self.remove_membership(attr, &group, &value).await
            }
            "account_location" => self.move_entry(&what.object_id).await,
            other => Err(TargetError::Permanent(format!(
                "the directory target has no object kind {other:?}"
            ))),
        }
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        match what.object_kind.as_str() {
            "account" => self.verify_lock(who, what).await,
            "group_membership" => {
                let (attr, group, value) = self.membership(&what.object_id)?;
                self.verify_membership(attr, &group, &value).await
            }
            "account_location" => self.verify_move(&what.object_id).await,
            other => Err(TargetError::Permanent(format!(
                "the directory target has no object kind {other:?}"
            ))),
        }
    }

    /// Unlocks, re-adds memberships and moves the entry back; all of it is reversible. Each
    /// only after the directory shows the object is `who`'s (`ownership`), else `Refused`.
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (ev.object_kind.as_str(), ev.action.as_str()) {
            ("account", "lock") => {
                match self.unlock_owner(who, &ev.object_id, ev.sponsored).await? {
                    Owned::Yes(dn) => self.unlock(&dn).await,
                    Owned::Withheld(reason) => Ok(RestoreResult::Withheld { reason }),
                    Owned::No(reason) => Ok(RestoreResult::Refused { reason }),
                    Owned::Gone(reason) => Ok(RestoreResult::Irreversible { reason }),
                }
            }
            ("group_membership", "remove_membership") => {
                let (attr, group, value) = self.membership(&ev.object_id)?;
                match self.membership_refusal(who, attr, &group, &value).await? {
                    Some(reason) => Ok(RestoreResult::Refused { reason }),
                    None => self.restore_membership(attr, &group, &value).await,
                }
            }
            ("account_location", "move") => self.move_back(who, &ev.object_id).await,
            (kind, action) => Ok(RestoreResult::Irreversible {
                reason: format!("the directory target cannot undo {action} of {kind}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn filter_values_are_escaped_per_rfc4515() {
        assert_eq!(escape_filter_value("ada"), "ada");
        assert_eq!(escape_filter_value("*"), "\\2a");
        assert_eq!(escape_filter_value("a*"), "a\\2a");
        assert_eq!(escape_filter_value("x)(uid=*"), "x\\29\\28uid=\\2a");
        assert_eq!(escape_filter_value("\\"), "\\5c");
        assert_eq!(escape_filter_value("a\0b"), "a\\00b");
        assert_eq!(escape_filter_value("\"../"), "\"../");
        assert_eq!(escape_filter_value("Zoë (ops)"), "Zoë \\28ops\\29");
        // The same as the crate's own escaping, case of the hex digits aside.
        for v in [
            "*",
            "a*",
            "x)(uid=*",
            "\\",
            "a\0b",
            "Zoë (ops)",
            "../",
            "\"",
        ] {
            assert_eq!(
                escape_filter_value(v).to_lowercase(),
                ldap3::ldap_escape(v).to_lowercase(),
                "{v:?}"
            );
        }
        // A hostile value stays one equality assertion: the filter parses and nothing in it
        // is a wildcard or a nested filter.
        for v in ["*", "a*", "x)(uid=*", "*)(objectClass=*", "\\", "\0", ")("] {
            let f = format!("(&(objectClass=person){})", eq_filter("uid", v));
            assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
            let inner = &f["(&(objectClass=person)(uid=".len()..f.len() - 2];
            assert!(!inner.contains(['*', '(', ')']), "{f}");
        }
    }

    #[test]
    fn membership_ids_round_trip() {
        for (attr, g, v) in [
            ("member", "cn=eng,ou=groups,dc=x", "uid=ada,ou=people,dc=x"),
            ("uniqueMember", "cn=a|b,dc=x", "uid=100%|ada,dc=x"),
            ("memberUid", "cn=unix,dc=x", "ada"),
            ("member", "cn=x%7Cy,dc=x", "uid=%25,dc=x"),
        ] {
            let id = membership_id(attr, g, v);
            assert_eq!(id.matches('|').count(), 2, "{id}");
            assert_eq!(
                parse_membership_id(&id),
                Some((attr, g.to_string(), v.to_string())),
                "{id}"
            );
        }
        assert_eq!(
            membership_id("member", "cn=eng,dc=x", "uid=ada,dc=x"),
            "member|cn=eng,dc=x|uid=ada,dc=x"
        );
        for bad in [
            "",
            "member",
            "member|cn=g",
            "member||uid=a",
            "member|cn=g|",
            "owner|cn=g|uid=a",
            "member|cn=g|uid=a|x",
        ] {
            assert_eq!(parse_membership_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn move_ids_round_trip() {
        let id = move_id("uid=a|b,ou=people,dc=x", "ou=disabled,dc=x");
        assert_eq!(id, "uid=a%7Cb,ou=people,dc=x|ou=disabled,dc=x");
        assert_eq!(
            parse_move_id(&id),
            Some((
                "uid=a|b,ou=people,dc=x".to_string(),
                "ou=disabled,dc=x".to_string()
            ))
        );
        assert_eq!(
            moved_dn("uid=a|b,ou=people,dc=x", "ou=disabled,dc=x").as_deref(),
            Some("uid=a|b,ou=disabled,dc=x")
        );
        assert_eq!(parse_move_id("uid=a,dc=x"), None);
        assert_eq!(parse_move_id("|ou=d"), None);
        assert_eq!(parse_move_id("a|b|c"), None);
    }

    #[test]
    fn dns_split_and_compare() {
        assert_eq!(
            split_first_rdn("uid=ada,ou=people,dc=x"),
            Some(("uid=ada", "ou=people,dc=x"))
        );
        assert_eq!(
            split_first_rdn("cn=Lovelace\\, Ada,ou=people,dc=x"),
            Some(("cn=Lovelace\\, Ada", "ou=people,dc=x"))
        );
        assert_eq!(
            split_first_rdn("cn=\"a,b\",dc=x"),
            Some(("cn=\"a,b\"", "dc=x"))
        );
        assert_eq!(split_first_rdn("cn=a\\\\,dc=x"), Some(("cn=a\\\\", "dc=x")));
        assert_eq!(split_first_rdn("dc=x"), None);
        assert_eq!(split_first_rdn(""), None);
        assert!(dn_eq("UID=Ada, OU=People,dc=X", "uid=ada,ou=people,dc=x"));
        assert!(dn_eq("cn=Ada Lovelace,dc=x", "cn=ada lovelace , dc=x"));
        assert!(!dn_eq("cn=Ada Lovelace,dc=x", "cn=AdaLovelace,dc=x"));
        assert!(!dn_eq("uid=ada,dc=x", "uid=adam,dc=x"));
        assert!(!dn_eq("cn=a\\,b,dc=x", "cn=a,b,dc=x"));
        assert!(dn_within("uid=ada,ou=People,dc=x", "ou=people, dc=x"));
        assert!(dn_within("ou=people,dc=x", "ou=people,dc=x"));
        assert!(dn_within(
            "uid=ada,ou=disabled,ou=people,dc=x",
            "ou=people,dc=x"
        ));
        assert!(!dn_within("uid=ada,ou=disabled,dc=x", "ou=people,dc=x"));
        assert!(!dn_within("ou=people,dc=x", "uid=ada,ou=people,dc=x"));
        // An escaped comma is part of a value, not a level.
        assert!(!dn_within("cn=a\\,ou=people,dc=x", "ou=people,dc=x"));
        assert!(dn_within("cn=a\\,ou=people,dc=x", "dc=x"));
        assert!(!dn_within("uid=ada,ou=xpeople,dc=x", "ou=people,dc=x"));
    }

    #[test]
    fn generalized_times() {
        let t = parse_generalized_time("20240131235959Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-31T23:59:59+00:00");
        let t = parse_generalized_time("20240131235959.25Z").unwrap();
        assert_eq!(t.timestamp_subsec_millis(), 250);
        assert_eq!(parse_generalized_time("20240131235959"), None);
        assert_eq!(parse_generalized_time("2024013123Z"), None);
        assert_eq!(parse_generalized_time("20241331235959Z"), None);
        assert_eq!(parse_generalized_time("x"), None);
        assert!(generalized_time_ok(PERMANENT_LOCK));
        assert!(generalized_time_ok("20240131235959Z"));
        assert!(generalized_time_ok("2024013123Z"));
        assert!(!generalized_time_ok("20240131235959"));
        assert!(!generalized_time_ok("now"));
        assert!(!generalized_time_ok("2024Z"));
    }

    #[test]
    fn result_codes_are_classified() {
        for rc in [3, 51, 52, 81, 85, 91] {
            assert_eq!(classify_result_code(rc), ErrorClass::Transient, "{rc}");
        }
        for rc in [1, 2, 4, 10, 16, 20, 32, 34, 49, 50, 53, 65, 68, 80] {
            assert_eq!(classify_result_code(rc), ErrorClass::Permanent, "{rc}");
        }
        assert!(result_hint(49).contains("password_env"));
        let io = |k| LdapError::Io {
            source: std::io::Error::new(k, "x"),
        };
        assert_eq!(
            connect_error_class(&io(std::io::ErrorKind::ConnectionRefused)),
            ErrorClass::Transient
        );
        assert_eq!(
            connect_error_class(&io(std::io::ErrorKind::InvalidData)),
            ErrorClass::Permanent
        );
        assert_eq!(
            connect_error_class(&LdapError::UnknownScheme("http".into())),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn attribute_names_and_filters_from_config() {
        for ok in ["owner", "manager", "x-sponsor", "2.5.4.32"] {
            assert!(attribute_name_ok(ok), "{ok}");
        }
        for bad in ["", "owner)(", "a b", "1.", "-x", "o*"] {
            assert!(!attribute_name_ok(bad), "{bad}");
        }
        assert!(filter_ok(DEFAULT_USER_FILTER));
        assert!(filter_ok(DEFAULT_SPONSORED_FILTER));
        assert!(!filter_ok("objectClass=person"));
        assert!(!filter_ok("(objectClass=person"));
    }

    const MINIMAL: &str = "url = \"ldap://127.0.0.1:389\"\nbind_dn = \"cn=revoker,dc=x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"\n";

    #[test]
    fn config_defaults_and_redaction() {
        std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
        let t = LdapTarget::from_table(&table(MINIMAL), "main").unwrap();
        assert_eq!(t.group_base_dn, "dc=x");
        assert_eq!(t.sponsored_base_dn, "dc=x");
        assert_eq!(t.match_attribute(), MatchAttribute::Uid);
        assert_eq!(t.owner_attributes, vec!["owner".to_string()]);
        assert_eq!(t.lock_value, PERMANENT_LOCK);
        assert_eq!(t.user_filter, DEFAULT_USER_FILTER);
        assert_eq!(t.disabled_ou, None);
        assert_eq!(t.last_member_placeholder, "");
        assert_eq!(t.principal(), "cn=revoker,dc=x");
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert!(!t.starttls && !t.tls_no_verify);
        assert!(!format!("{t:?}").contains("s3cret"), "{t:?}");
        let t = LdapTarget::from_table(
            &table(&format!(
                "{MINIMAL}group_base_dn = \"ou=groups,dc=x\"\nmatch_attribute = \"employeeNumber\"\nowner_attributes = [\"owner\", \"manager\"]\ndisabled_ou = \"ou=disabled,dc=x\"\nlock_value = \"20240101000000Z\"\nprincipal = \"revoker\"\ntimeout_ms = 500\nstarttls = true"
            )),
            "main",
        )
        .unwrap();
        assert_eq!(t.group_base_dn, "ou=groups,dc=x");
        assert_eq!(t.match_attribute(), MatchAttribute::EmployeeNumber);
        assert_eq!(t.owner_attributes, vec!["owner", "manager"]);
        assert_eq!(t.disabled_ou.as_deref(), Some("ou=disabled,dc=x"));
        assert_eq!(t.principal(), "revoker");
        assert!(t.starttls);
    }

    #[test]
    fn config_errors_name_the_key() {
        std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
        let err = |extra: &str| {
            LdapTarget::from_table(&table(&format!("{MINIMAL}{extra}")), "main")
                .err()
                .unwrap()
        };
        assert!(err("password = \"inline\"").contains("unknown key"));
        assert!(err("match_attribute = \"cn\"").contains("match_attribute"));
        assert!(err("owner_attributes = [\"owner)(uid=*\"]").contains("owner_attributes"));
        assert!(err("owner_attributes = \"owner\"").contains("owner_attributes"));
        assert!(err("user_filter = \"uid=*\"").contains("user_filter"));
        assert!(err("lock_value = \"now\"").contains("lock_value"));
        assert!(err("disabled_ou = \"disabled\"").contains("disabled_ou"));
        assert!(err("timeout_ms = 0").contains("timeout_ms"));
        assert!(err("starttls = \"yes\"").contains("starttls"));
        assert!(err("password_file = \"/x\"").contains("exactly one"));
        let e = LdapTarget::from_table(
            &table("url = \"http://x\"\nbind_dn = \"cn=a,dc=x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\""),
            "main",
        )
        .err()
        .unwrap();
        assert!(e.contains("ldap://"), "{e}");
        let e = LdapTarget::from_table(
            &table("url = \"ldap://x\"\nbind_dn = \"cn=a,dc=x\"\npassword_env = \"REVOKE_LDAP_UNSET_PW\"\nbase_dn = \"dc=x\""),
            "main",
        )
        .err()
        .unwrap();
        assert!(
            e.contains("REVOKE_LDAP_UNSET_PW") && !e.contains("s3cret"),
            "{e}"
        );
        let e = LdapTarget::from_table(
            &table(
                "url = \"ldap://x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"",
            ),
            "main",
        )
        .err()
        .unwrap();
        assert!(e.contains("bind_dn"), "{e}");
    }

    #[test]
    fn values_compare_like_case_ignore_match() {
        assert!(case_ignore_eq("Ada", "ada"));
        assert!(case_ignore_eq(" ada ", "ada"));
        assert!(case_ignore_eq("Ada  Lovelace", "ada lovelace"));
        assert!(!case_ignore_eq("ada", "adam"));
        assert!(!case_ignore_eq("ada*", "ada"));
        assert!(!case_ignore_eq("ada\0", "ada"));
    }

    #[test]
    fn identity_fields_feed_the_match_attribute() {
        let who = Identity {
            employee_id: "E1".into(),
            email: Some("ada@x".into()),
            username: Some(String::new()),
            kind: revoke_shared::contract::IdentityKind::Employee,
        };
        assert_eq!(MatchAttribute::Uid.value(&who), None);
        assert_eq!(MatchAttribute::Mail.value(&who), Some("ada@x"));
        assert_eq!(MatchAttribute::EmployeeNumber.value(&who), Some("E1"));
    }

    #[tokio::test]
    async fn an_unreachable_directory_is_transient_and_names_no_password() {
        std::env::set_var("REVOKE_LDAP_UNIT_PW", "s3cret-value");
        let t = LdapTarget::from_table(
            &table("url = \"ldap://127.0.0.1:9\"\nbind_dn = \"cn=revoker,dc=x\"\npassword_env = \"REVOKE_LDAP_UNIT_PW\"\nbase_dn = \"dc=x\"\ntimeout_ms = 2000"),
            "main",
        )
        .unwrap();
        let who = Identity {
            employee_id: "E1".into(),
            email: None,
            username: Some("ada".into()),
            kind: revoke_shared::contract::IdentityKind::Employee,
        };
        match t.discover(&who).await {
            Err(e @ TargetError::Transient(_)) => {
                assert!(!e.to_string().contains("s3cret"), "{e}");
                assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
            }
            other => panic!("expected a transient error, got {other:?}"),
        }
    }
}

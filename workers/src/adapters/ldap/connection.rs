//! The one connection an LDAP-speaking adapter shares (`Session`: the OpenLDAP adapter's and the
//! Active Directory adapter's): opened and bound as `bind_dn` on first use, re-opened after a
//! transport error, every operation under the timeout, the server's certificate checked against
//! the system store or a `ca_file`; result codes and `ldap3` errors read as target errors; and
//! the search, read, compare-by-filter and modify every object kind uses.

use super::{classify_result_code, connect_error_class, result_hint, result_name};
use crate::adapters::TargetError;
use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Mod, Scope, SearchEntry};
use revoke_shared::retry::ErrorClass;
use revoke_shared::secret::Secret;
use std::sync::Arc;
use std::time::Duration;

/// Which certificates a TLS connection trusts.
pub(crate) enum Trust {
    /// The system store (`SSL_CERT_FILE` honoured).
    System,
    /// The CAs of a `ca_file` only.
    CaFile(Arc<rustls::ClientConfig>),
    /// Any certificate (`tls_no_verify`: test directories only).
    Anything,
}

impl Trust {
    /// The CAs in the PEM file `path`, trusted alone.
    pub(crate) fn ca_file(path: &str) -> Result<Trust, String> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {path:?}: {e}"))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_file {path:?}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {path:?}: a certificate rustls refuses: {e}"))?;
        }
        if roots.is_empty() {
            return Err(format!("ca_file {path:?} holds no PEM certificate"));
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("ca_file {path:?}: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Trust::CaFile(Arc::new(config)))
    }
}

/// A bound connection to one directory, opened on first use.
pub(crate) struct Session {
    /// The configured instance (in messages).
    pub instance: String,
    pub url: String,
    pub starttls: bool,
    pub trust: Trust,
    pub bind_dn: String,
    pub password: Secret,
    pub timeout: Duration,
    /// The shared, bound connection (None until first use or after a transport error).
    conn: tokio::sync::Mutex<Option<ldap3::Ldap>>,
}

/// Where and as whom it binds; the password shows as `Secret` shows it (redacted).
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("bind_dn", &self.bind_dn)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        instance: &str,
        url: String,
        starttls: bool,
        trust: Trust,
        bind_dn: String,
        password: Secret,
        timeout: Duration,
    ) -> Session {
        Session {
            instance: instance.to_string(),
            url,
            starttls,
            trust,
            bind_dn,
            password,
            timeout,
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// The bound connection, opened (and bound) on first use or after a transport error.
    async fn handle(&self) -> Result<ldap3::Ldap, TargetError> {
        let mut guard = self.conn.lock().await;
        if let Some(l) = guard.as_mut() {
            if !l.is_closed() {
                return Ok(l.clone());
            }
        }
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls)
            .set_no_tls_verify(matches!(self.trust, Trust::Anything));
        if let Trust::CaFile(config) = &self.trust {
            settings = settings.set_config(config.clone());
        }
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

    pub(crate) fn result_error(&self, doing: &str, r: &LdapResult) -> TargetError {
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
    pub(crate) async fn op<T, F, Fut>(&self, doing: &str, f: F) -> Result<T, TargetError>
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
    pub(crate) async fn search(
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
        construct_all(entries, doing).map(Some)
    }

    /// One entry by DN (base search), with `attrs`; `None` when there is no such entry.
    pub(crate) async fn read(
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
    pub(crate) async fn matches(
        &self,
        dn: &str,
        filter: &str,
        doing: &str,
    ) -> Result<bool, TargetError> {
        Ok(self
            .search(dn, Scope::Base, filter, &["1.1"], 0, doing)
            .await?
            .is_some_and(|v| !v.is_empty()))
    }

    /// A modify; values are text or bytes (AD's `unicodePwd` is UTF-16LE).
    pub(crate) async fn modify<S>(
        &self,
        dn: &str,
        mods: Vec<Mod<S>>,
        doing: &str,
    ) -> Result<LdapResult, TargetError>
    where
        S: AsRef<[u8]> + Eq + std::hash::Hash + Send,
    {
        self.op(doing, |mut l| async move { l.modify(dn, mods).await })
            .await
    }

    /// A subtree search with the paged-results control (RFC 2696), `page` entries a page, so
    /// that a server's size limit per answer (Active Directory's MaxPageSize, 1000) never cuts
    /// the result short; `None` when the base entry does not exist.
    pub(crate) async fn search_paged(
        &self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        page: i32,
        doing: &str,
    ) -> Result<Option<Vec<SearchEntry>>, TargetError> {
        let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
        let (entries, res) = self
            .op(doing, |mut l| async move {
                let mut stream = l
                    .streaming_search_with(
                        vec![
                            Box::new(ldap3::adapters::EntriesOnly::new())
                                as Box<dyn ldap3::adapters::Adapter<_, _>>,
                            Box::new(ldap3::adapters::PagedResults::new(page)),
                        ],
                        base,
                        Scope::Subtree,
                        filter,
                        attrs,
                    )
                    .await?;
                let mut entries = Vec::new();
                while let Some(e) = stream.next().await? {
                    entries.push(e);
                }
                Ok((entries, stream.finish().await))
            })
            .await?;
        match res.rc {
            0 => {}
            32 => return Ok(None),
            _ => return Err(self.result_error(doing, &res)),
        }
        construct_all(entries, doing).map(Some)
    }
}

/// The entries of a search's answer, its continuation references left out (Active Directory
/// sends them for the partitions under a domain's root); an entry the server sent malformed is
/// an error, not a crash (`construct` panics on it).
fn construct_all(
    entries: Vec<ldap3::ResultEntry>,
    doing: &str,
) -> Result<Vec<SearchEntry>, TargetError> {
    let mut out = Vec::with_capacity(entries.len());
    for re in entries
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
    {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(re)))
        {
            Ok(e) => out.push(e),
            Err(_) => {
                return Err(TargetError::Permanent(format!(
                    "{doing}: the server sent an entry that does not parse"
                )))
            }
        }
    }
    Ok(out)
}

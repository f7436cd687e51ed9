//! The contract every target adapter implements — three idempotent questions:
//! *what does this identity hold here* (including credentials it sponsors), *revoke it*, and
//! *prove it is gone* (read back). "Already gone" is a normal answer, never an error.
//!
//! Adapters stay thin: retries, evidence and outcome rules live in `revocation`, so each adapter
//! only speaks its system's API.

pub mod active_directory;
pub mod choice;
pub mod fanout;
pub mod gitlab;
mod http;
pub mod iam;
pub mod keycloak;
pub mod ldap;
pub mod limit;
mod object;
mod principal;
pub mod scan;
pub mod scim;
pub mod sim;
mod table;
mod user_check;
pub mod vault;

use async_trait::async_trait;
use choice::Protocol;
use chrono::{DateTime, Utc};
use http::Gated as _;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::retry::ErrorClass;

pub use object::{Adapter, Held, ObjectRef};
pub use principal::Principal;

/// One thing the identity holds (or held) in the target, as the contract carries it; a real
/// adapter names it with its own typed object (`Held`, `ObjectRef`) and this is its string form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// `account`, `group_membership`, `session`, `access_key`, `token`, `ssh_key`, …
    pub object_kind: String,
    /// The target's id for it (never a secret: key ids and accessors, not key material).
    pub object_id: String,
    /// A non-human credential the identity sponsors (service account, bot token, …).
    pub sponsored: bool,
    /// What revoking it means here: `lock`, `remove_membership`, `delete`, `revoke`, …
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeResult {
    /// The target changed state now; `removed_at` is the target's own timestamp if it gives one.
    Revoked { removed_at: Option<DateTime<Utc>> },
    /// Nothing to do: it was already revoked (e.g. by an earlier run), possibly with the time.
    AlreadyAbsent { removed_at: Option<DateTime<Utc>> },
}

/// What a read-back showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    /// True when the access is proven gone.
    pub gone: bool,
    pub detail: String,
    /// The target's record of when it was removed, where it keeps one.
    pub removed_at: Option<DateTime<Utc>>,
}

/// A successful sign-in the target's own log records (for the watch after a case closes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The target's id of the event (unique there; with the instance, names the sign-in).
    pub event_id: String,
    /// The configured instance it happened at (a fan-out fills in its member's name).
    pub instance: String,
    /// When the target says it happened.
    pub at: DateTime<Utc>,
    /// Where from and into what, in words (client, address); never a secret.
    pub detail: String,
}

/// What `restore` did with one object from a confirmation's evidence (for rescinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreResult {
    /// The access is back now (unlocked, re-activated, re-added to the group).
    Restored { restored_at: Option<DateTime<Utc>> },
    /// Nothing to do: the access is already present (an earlier restore, or never removed).
    AlreadyPresent,
    /// Cannot be undone (a deleted key or revoked token): a person re-issues it if needed.
    Irreversible { reason: String },
    /// Not given back: the target shows the object does not belong to the identity named (a
    /// membership value that is another person's DN or user id, a key of another user, a group
    /// the request names for someone else). A restore is a grant: nothing was changed.
    Refused { reason: String },
    /// Not given back although it is the identity's: someone else's revocation stands on it too
    /// (a credential two people sponsor, whose other sponsor's access is revoked here). It stays
    /// revoked; a person decides.
    Withheld { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Worth retrying: timeouts, 5xx, 429, connection errors.
    #[error("transient error from target: {0}")]
    Transient(String),
    /// Will not get better by retrying: auth, validation, not allowed.
    #[error("target refused: {0}")]
    Permanent(String),
    /// The lookup matched more than one principal, or the target's answer is unclear: a person
    /// must decide. Never "revoke all".
    #[error("ambiguous: {0}")]
    Ambiguous(String),
    /// The target said "too many requests" (HTTP 429, a 503 with `Retry-After`, an AWS
    /// throttling error). Transient; `retry_after` is how long it asked us to stay away, when it
    /// said (a Graph-style 429 says nothing: the limiter slows down on its own).
    #[error("rate limited by target: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<std::time::Duration>,
    },
}

impl TargetError {
    pub fn class(&self) -> ErrorClass {
        match self {
            TargetError::Transient(_) => ErrorClass::Transient,
            TargetError::Permanent(_) => ErrorClass::Permanent,
            TargetError::Ambiguous(_) => ErrorClass::Ambiguous,
            TargetError::RateLimited { .. } => ErrorClass::Transient,
        }
    }

    /// How long the target asked us to wait before calling again, when it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            TargetError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A rate-limit error whose message says what was being done and what the server asked.
    pub fn rate_limited(message: String, retry_after: Option<std::time::Duration>) -> TargetError {
        let message = match retry_after {
            Some(d) => format!("{message} (Retry-After {:.1} s)", d.as_secs_f64()),
            None => format!("{message} (no Retry-After: slowing down)"),
        };
        TargetError::RateLimited {
            message,
            retry_after,
        }
    }
}

#[async_trait]
pub trait Target: Send + Sync + 'static {
    fn kind(&self) -> TargetKind;
    /// The configured instance name (several SaaS tenants may share a kind).
    fn instance(&self) -> &str;
    /// The principal of the credential this adapter acts with, recorded as the actor.
    fn principal(&self) -> &str;

    /// Everything the identity holds or held here, including what it sponsors. Objects already
    /// revoked may be listed (so evidence can say so); objects deleted entirely are not.
    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError>;

    /// Revokes one holding. Idempotent.
    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError>;

    /// Reads the holding back from the target to prove it is gone.
    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError>;

    /// Undoes one revocation from its recorded evidence (`object_kind`, `object_id`, `action`),
    /// for a rescinded termination. Idempotent: restoring twice answers `AlreadyPresent`.
    /// A restore is a grant: before changing anything the adapter re-checks at the target that
    /// the object belongs to `who` (the membership value is that person's DN/uid/user id, the
    /// key is that user's) and answers `Refused` otherwise — the request may be forged.
    /// Reversible actions (lock, deactivate, disable, remove_membership, move) are undone;
    /// irreversible ones (delete, revoke) answer `Irreversible` with the reason. The default
    /// knows nothing reversible.
    async fn restore(
        &self,
        _who: &Identity,
        evidence: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        Ok(RestoreResult::Irreversible {
            reason: format!(
                "{} cannot undo {} of {}",
                self.kind(),
                evidence.action,
                evidence.object_kind
            ),
        })
    }

    /// Successful sign-ins by `who` recorded at the target since `since`, for the watch after a
    /// case closes. `None`: this target keeps no sign-in log the adapter reads (the default).
    /// Only reads; changes nothing.
    async fn sign_ins_since(
        &self,
        _who: &Identity,
        _since: DateTime<Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        Ok(None)
    }
}

/// The values that name the person as an owner: username, email, employee id (non-empty, exact).
/// Sponsor tags and metadata are matched against these (IAM owner tags, Vault token metadata).
pub(crate) fn owner_names(who: &Identity) -> Vec<&str> {
    [
        who.username.as_deref(),
        who.email.as_deref(),
        Some(who.employee_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect()
}

/// The target a worker of `kind` acts on: the real adapter configured in `[targets.<kind>]`,
/// or — when there is no such table — the kind's in-memory simulator (the worker logs which).
/// A table made only of named sub-tables (`[targets.saas.okta]`, `[targets.saas.slack]`)
/// configures several instances of the kind, acted on together (`fanout`).
pub async fn from_config(
    kind: TargetKind,
    cfg: &revoke_shared::config::Config,
) -> Result<std::sync::Arc<dyn Target>, String> {
    let instance = cfg.worker.instance.as_str();
    let Some(table) = cfg.targets.get(kind.as_str()) else {
        tracing::warn!(target_kind = %kind, "no [targets.{}] adapter configured: acting on the in-memory simulator", kind);
        return Ok(std::sync::Arc::new(sim::Simulator::with_instance(
            kind,
            instance,
            cfg.simulator.clone(),
        )));
    };
    let built = if !table.is_empty() && table.values().all(toml::Value::is_table) {
        let mut members = Vec::new();
        for (name, sub) in table {
            if !fanout::instance_name_ok(name) {
                return Err(format!(
                    "[targets.{kind}.{name}]: instance names are lowercase letters, digits, '-' and '_'"
                ));
            }
            let sub = sub.as_table().expect("checked: every value is a table");
            let t = build(kind, sub, name)
                .await
                .map_err(|e| format!("[targets.{kind}.{name}]: {e}"))?;
            members.push((name.clone(), t));
        }
        std::sync::Arc::new(fanout::Fanout::new(kind, members))
    } else {
        build(kind, table, instance).await?
    };
    tracing::info!(target_kind = %kind, instance = built.instance(), principal = built.principal(), "acting on the configured adapter");
    Ok(built)
}

/// One adapter of `kind` from its table — the protocol its `adapter` key names, else the kind's
/// default (`choice`) — behind its rate limit when the table sets one: the HTTP adapters gate
/// each request, the others each call (`limit`).
async fn build(
    kind: TargetKind,
    table: &toml::Table,
    instance: &str,
) -> Result<std::sync::Arc<dyn Target>, String> {
    let protocol = choice::protocol(kind, table)?;
    let table: &toml::Table = &choice::without_key(table);
    let limits = limit::settings_from_table(table, kind)?;
    let gate = limits
        .is_set()
        .then(|| limit::RateGate::new(kind, instance, &limits));
    Ok(match protocol {
        Protocol::Scim => {
            std::sync::Arc::new(scim::ScimTarget::from_table(table, instance)?.with_gate(gate))
        }
        Protocol::Ldap => limit::wrap(
            std::sync::Arc::new(ldap::LdapTarget::from_table(table, instance)?),
            gate,
        ),
        Protocol::ActiveDirectory => limit::wrap(
            std::sync::Arc::new(active_directory::AdTarget::from_table(table, instance)?),
            gate,
        ),
        Protocol::Iam => limit::wrap(
            std::sync::Arc::new(iam::IamTarget::from_table(table, instance).await?),
            gate,
        ),
        Protocol::Gitlab => {
            let g = gitlab::GitlabTarget::from_table(table, instance)?.with_gate(gate);
            // As for Vault: a token GitLab refuses is a config error at start-up, and the
            // token owner's username is the actor from the first case on.
            g.resolve_principal()
                .await
                .map_err(|e| format!("checking the revoker's GitLab token: {e}"))?;
            std::sync::Arc::new(g)
        }
        Protocol::Keycloak => {
            let k = keycloak::KeycloakTarget::from_table(table, instance)?.with_gate(gate);
            // A client secret Keycloak refuses, or a client without a service account, is a
            // config error at start-up; the service account's username is the actor.
            k.resolve_principal()
                .await
                .map_err(|e| format!("checking the revoker's Keycloak client: {e}"))?;
            std::sync::Arc::new(k)
        }
        Protocol::Vault => {
            let v = vault::VaultTarget::from_table(table, instance)?.with_gate(gate);
            // Checks the token now (a bad one is a config error, not N failed cases) and
            // records its display name and accessor as the actor in evidence.
            v.resolve_principal()
                .await
                .map_err(|e| format!("checking the revoker's token: {e}"))?;
            std::sync::Arc::new(v)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_with(toml_text: &str) -> revoke_shared::config::Config {
        let mut cfg = revoke_shared::config::Config::default();
        let t: toml::Table = toml_text.parse().unwrap();
        cfg.targets.insert("saas".into(), t);
        cfg
    }

    /// The complete `[targets.*]` example in docs/configuration.md is what the adapters accept:
    /// every table parses, no key is unknown, every value has the right type.
    #[tokio::test]
    async fn the_documented_adapter_example_is_accepted() {
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
        )
        .unwrap();
        let section = &page[page.find("\n## Target adapters").expect("section")..];
        let start = section.find("```toml\n").expect("toml block") + "```toml\n".len();
        let block = &section[start..start + section[start..].find("```").unwrap()];
        let doc: toml::Table = block.parse().expect("the documented example is TOML");
        let targets = doc["targets"].as_table().expect("[targets.*]");
        let mut kinds: Vec<&str> = targets.keys().map(String::as_str).collect();
        kinds.sort_unstable();
        assert_eq!(kinds, ["cicd", "cloud", "directory", "saas", "vault"]);
        // The secrets the example names by env var (values are dummies).
        for t in targets.values() {
            for (k, v) in t.as_table().unwrap() {
                if k.ends_with("_env") {
                    std::env::set_var(v.as_str().unwrap(), "dummy-secret");
                }
            }
        }
        let table = |k: &str| targets[k].as_table().unwrap();

        // Every key an adapter reads (its settings struct's serde fields) is in the example above
        // and in deploy/revoke.example.toml, under the kind's table.
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/revoke.example.toml"),
        )
        .unwrap();
        let example = &example[example.find("# [targets.").expect("the commented adapters")..];
        let limit_keys = table::field_names::<limit::LimitTable>();
        for (kind, keys) in [
            (
                "directory",
                table::field_names::<ldap::settings::Settings>(),
            ),
            ("saas", table::field_names::<scim::settings::Settings>()),
            ("cloud", table::field_names::<iam::settings::Settings>()),
            ("vault", table::field_names::<vault::settings::Settings>()),
            ("cicd", table::field_names::<gitlab::settings::Settings>()),
        ] {
            assert!(keys.len() > 5, "{kind}: {keys:?}");
            let heading = format!("[targets.{kind}]");
            names_every_key(&heading, &keys, block, example);
        }
        for key in limit_keys {
            assert!(mentions(block, key) && mentions(example, key), "{key}");
        }

        ldap::LdapTarget::from_table(table("directory"), "example").unwrap();
        scim::ScimTarget::from_table(table("saas"), "example").unwrap();
        iam::parse_settings(table("cloud")).unwrap();
        vault::VaultTarget::from_table(table("vault"), "example").unwrap();
        gitlab::GitlabTarget::from_table(table("cicd"), "example").unwrap();

        // The several-instances example builds a fan-out over two SCIM tenants.
        let rest = &section[start + block.len()..];
        let s2 = rest.find("```toml\n").expect("second toml block") + "```toml\n".len();
        let block2 = &rest[s2..s2 + rest[s2..].find("```").unwrap()];
        let doc2: toml::Table = block2.parse().unwrap();
        let mut cfg = revoke_shared::config::Config::default();
        cfg.targets.insert(
            "saas".into(),
            doc2["targets"]["saas"].as_table().unwrap().clone(),
        );
        for sub in cfg.targets["saas"].values() {
            std::env::set_var(sub["token_env"].as_str().unwrap(), "dummy-secret");
        }
        let t = from_config(TargetKind::Saas, &cfg).await.unwrap();
        assert_eq!(t.instance(), "okta+slack");

        // The Keycloak and Active Directory examples: directory instances choosing their
        // adapter. Each names every key its adapter reads (here and in revoke.example.toml,
        // under the same heading) and builds.
        for (title, instance, protocol, keys, secret_key) in [
            (
                "\n### An identity provider as a directory instance",
                "sso",
                Protocol::Keycloak,
                table::field_names::<keycloak::settings::Settings>(),
                "client_secret_env",
            ),
            (
                "\n### Active Directory as a directory instance",
                "ad",
                Protocol::ActiveDirectory,
                table::field_names::<active_directory::settings::Settings>(),
                "password_env",
            ),
        ] {
            let at = &page[page.find(title).unwrap_or_else(|| panic!("{title}"))..];
            let s3 = at.find("```toml\n").expect("its toml block") + "```toml\n".len();
            let block3 = &at[s3..s3 + at[s3..].find("```").unwrap()];
            let doc3: toml::Table = block3.parse().expect("the example is TOML");
            let t = doc3["targets"]["directory"][instance].as_table().unwrap();
            assert_eq!(choice::protocol(TargetKind::Directory, t), Ok(protocol));
            assert!(keys.len() > 5, "{keys:?}");
            let heading = format!("[targets.directory.{instance}]");
            names_every_key(&heading, &keys, block3, example);
            std::env::set_var(t[secret_key].as_str().unwrap(), "dummy-secret");
            let table = choice::without_key(t);
            match protocol {
                Protocol::Keycloak => {
                    keycloak::KeycloakTarget::from_table(&table, instance).map(|_| ())
                }
                _ => {
                    let ca = std::env::temp_dir().join("revoke-doc-example-ca.pem");
                    active_directory::AdTarget::from_table(&with_ca(&table, &ca), instance)
                        .map(|_| ())
                }
            }
            .unwrap_or_else(|e| panic!("{heading}: {e}"));
        }
    }

    /// The table under `heading` names every key in `keys`, and the protocol key every instance
    /// table may carry (`choice`), in the documented example (`doc`) and in
    /// revoke.example.toml (`example`).
    fn names_every_key(heading: &str, keys: &[&str], doc: &str, example: &str) {
        for (file, text) in [
            ("docs/configuration.md", doc),
            ("revoke.example.toml", example),
        ] {
            let from = text
                .find(heading)
                .unwrap_or_else(|| panic!("{file}: {heading}"));
            let rest = &text[from + heading.len()..];
            let part = &rest[..rest.find("[targets.").unwrap_or(rest.len())];
            for key in keys.iter().copied().chain([choice::KEY]) {
                assert!(
                    mentions(part, key),
                    "{file} {heading} does not mention {key}"
                );
            }
        }
    }

    /// `t` with its `ca_file` pointing at a real PEM file written to `path` (the documented path
    /// does not exist here).
    fn with_ca(t: &toml::Table, path: &std::path::Path) -> toml::Table {
        std::fs::write(path, ldap::tests::TEST_CA_PEM).unwrap();
        let mut t = t.clone();
        t.insert("ca_file".into(), path.display().to_string().into());
        t
    }

    /// `key` appears in `text` as a whole word (`owner_tag_key` does not mention `tag_key`).
    fn mentions(text: &str, key: &str) -> bool {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        text.match_indices(key)
            .any(|(i, _)| !text[..i].ends_with(word) && !text[i + key.len()..].starts_with(word))
    }

    #[tokio::test]
    async fn named_sub_tables_configure_several_instances() {
        std::env::set_var("REVOKE_FANOUT_UNIT_TOKEN", "t");
        let two = cfg_with(
            "[okta]\nbase_url = \"http://127.0.0.1:1/v2\"\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\n\
             [slack]\nbase_url = \"http://127.0.0.1:2/v2\"\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\nprincipal = \"slack-bot\"\n",
        );
        let t = from_config(TargetKind::Saas, &two).await.unwrap();
        assert_eq!(t.instance(), "okta+slack");
        assert_eq!(t.principal(), "okta:scim-client,slack:slack-bot");

        let one = cfg_with(
            "base_url = \"http://127.0.0.1:1/v2\"\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\n",
        );
        assert_eq!(
            from_config(TargetKind::Saas, &one)
                .await
                .unwrap()
                .instance(),
            "default"
        );

        let bad = cfg_with(
            "[\"Okta:1\"]\nbase_url = \"http://h/v2\"\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\n",
        );
        let e = from_config(TargetKind::Saas, &bad).await.err().unwrap();
        assert!(e.contains("instance names"), "{e}");
        let broken = cfg_with("[okta]\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\n");
        let e = from_config(TargetKind::Saas, &broken).await.err().unwrap();
        assert!(
            e.contains("[targets.saas.okta]") && e.contains("base_url"),
            "{e}"
        );
    }

    /// `adapter` is read in each instance table: one member names its protocol, the other
    /// relies on the kind's default, and both build; a member naming a protocol its kind does
    /// not accept is refused under its own name.
    #[tokio::test]
    async fn each_named_instance_chooses_its_adapter() {
        std::env::set_var("REVOKE_FANOUT_UNIT_TOKEN", "t");
        let scim =
            "base_url = \"http://127.0.0.1:1/v2\"\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\n";
        for (text, instance) in [
            (
                format!("[okta]\nadapter = \"scim\"\n{scim}[slack]\n{scim}"),
                "okta+slack",
            ),
            (format!("adapter = \"scim\"\n{scim}"), "default"),
        ] {
            let t = from_config(TargetKind::Saas, &cfg_with(&text)).await;
            assert_eq!(t.unwrap().instance(), instance, "{text}");
        }

        let wrong = cfg_with(
            "[okta]\nbase_url = \"http://127.0.0.1:1/v2\"\ntoken_env = \"REVOKE_FANOUT_UNIT_TOKEN\"\n\
             [aws]\nadapter = \"iam\"\n",
        );
        let e = from_config(TargetKind::Saas, &wrong).await.err().unwrap();
        assert!(
            e.starts_with("[targets.saas.aws]: ") && e.contains("serves cloud, not saas"),
            "{e}"
        );
        let unknown = cfg_with("adapter = \"okta\"\nbase_url = \"http://h/v2\"\n");
        let e = from_config(TargetKind::Saas, &unknown).await.err().unwrap();
        assert!(e.contains("saas accepts \"scim\""), "{e}");
    }
}

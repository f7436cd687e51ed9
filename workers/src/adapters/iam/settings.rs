//! The `[targets.cloud]` table: `Settings` (its keys, defaults and meaning), how a person is
//! matched and how users are scanned, the checked `ClientSettings` (unit-tested without AWS),
//! and building the SDK client from them — credentials resolved and the revoker's own user read
//! once, at start.

use super::{CredentialPolicy, IamTarget};
use crate::adapters::table;
use aws_sdk_iam::config::{Credentials, ProvideCredentials};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use revoke_shared::contract::TargetKind;
use revoke_shared::secret::Secret;
use serde::Deserialize;
use std::time::Duration;

/// `[targets.cloud]`, as written in the file. Without `*_env`/`*_file` credentials the SDK's
/// default chain is used (environment, profile, web identity, ECS/IMDS).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// The signing region (default `us-east-1`; IAM is global).
    #[serde(default = "default_region")]
    region: String,
    /// e.g. `http://127.0.0.1:15000` for moto (default: AWS).
    endpoint_url: Option<String>,
    /// Static credentials: the environment variable holding the access key id.
    access_key_id_env: Option<String>,
    /// … or the file holding it.
    access_key_id_file: Option<String>,
    /// The environment variable holding the secret access key (both id and key, or neither).
    secret_access_key_env: Option<String>,
    /// … or the file holding it.
    secret_access_key_file: Option<String>,
    /// An optional session token for static credentials, from this environment variable …
    session_token_env: Option<String>,
    /// … or this file.
    session_token_file: Option<String>,
    /// A named profile for the default chain (not with static credentials).
    profile: Option<String>,
    /// The actor recorded in evidence (default: the `GetUser` ARN, else
    /// `aws-iam:<access key id>`).
    principal: Option<String>,
    /// `user_name` (the username, else the employee id; default) or `tag`.
    #[serde(default, rename = "match")]
    matching: MatchKind,
    /// With `match = "tag"`: the tag holding the employee id (default `employee_id`).
    tag_key: Option<String>,
    /// Look for users the person owns (default true; a scan of all users per leaver).
    #[serde(default = "table::yes")]
    sponsored: bool,
    /// The tag naming a sponsored user's owner (default `owner`).
    #[serde(default = "default_owner_tag_key")]
    owner_tag_key: String,
    /// How users and their tags are read for sponsored users and `match = "tag"`:
    /// `authorization_details` (`GetAccountAuthorizationDetails`, Filter=User: one call per page
    /// of users; default) or `list_user_tags` (`ListUsers` + one `ListUserTags` per user, 8 at
    /// a time: narrower permissions, but a call per user per leaver).
    #[serde(default)]
    user_scan: UserScan,
    /// `deactivate` (default) or `delete` (sponsored users' keys: always deactivated).
    #[serde(default = "deactivate")]
    access_keys: CredentialPolicy,
    /// `delete` (default) or `deactivate`.
    #[serde(default = "delete")]
    ssh_keys: CredentialPolicy,
    /// `delete` (default) or `deactivate`.
    #[serde(default = "delete")]
    signing_certs: CredentialPolicy,
    /// Per API call (default 10000).
    #[serde(default = "table::default_timeout_ms")]
    timeout_ms: std::num::NonZeroU64,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_owner_tag_key() -> String {
    "owner".into()
}
fn deactivate() -> CredentialPolicy {
    CredentialPolicy::Deactivate
}
fn delete() -> CredentialPolicy {
    CredentialPolicy::Delete
}

/// The `match` key's values (`Match` adds the tag key to `tag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MatchKind {
    #[default]
    UserName,
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    UserName,
    /// The user whose tag `key` equals the employee id.
    Tag {
        key: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserScan {
    ListUserTags,
    #[default]
    AuthorizationDetails,
}

/// The checked table (everything but the SDK client), kept apart so it can be unit-tested.
#[derive(Debug)]
pub(crate) struct ClientSettings {
    pub(super) region: String,
    pub(super) endpoint_url: Option<String>,
    pub(super) static_credentials: Option<(Secret, Secret, Option<Secret>)>,
    pub(super) profile: Option<String>,
    pub(super) principal: Option<String>,
    pub(super) matching: Match,
    pub(super) sponsored: bool,
    pub(super) owner_tag_key: String,
    pub(super) user_scan: UserScan,
    pub(super) access_keys: CredentialPolicy,
    pub(super) ssh_keys: CredentialPolicy,
    pub(super) signing_certs: CredentialPolicy,
    pub(super) timeout: Duration,
}

/// Reads and checks a `[targets.cloud]` table (see `Settings`).
pub(crate) fn parse_settings(table: &toml::Table) -> Result<ClientSettings, String> {
    let s: Settings = table::adapter_settings(table, TargetKind::Cloud)?;
    s.validate()
}

impl Settings {
    /// What serde cannot check: the endpoint's scheme, non-empty names, keys that only go
    /// together (static credentials, profile, tag key); and the static credentials, read now
    /// from where the table points.
    fn validate(self) -> Result<ClientSettings, String> {
        let k = TargetKind::Cloud;
        if self.region.is_empty() {
            return Err(format!("[targets.{k}] region must not be empty"));
        }
        let endpoint_url = self
            .endpoint_url
            .map(|s| s.trim_end_matches('/').to_string());
        if let Some(u) = &endpoint_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(format!(
                    "[targets.{k}] endpoint_url {u:?} must start with http:// or https://"
                ));
            }
        }
        let secret = |name: &str, env: &Option<String>, file: &Option<String>| {
            table::optional_secret(k, name, env.as_deref(), file.as_deref())
        };
        let static_credentials = match (
            secret("access_key_id", &self.access_key_id_env, &self.access_key_id_file)?,
            secret("secret_access_key", &self.secret_access_key_env, &self.secret_access_key_file)?,
            secret("session_token", &self.session_token_env, &self.session_token_file)?,
        ) {
            (None, None, None) => None,
            (Some(id), Some(key), token) => Some((id, key, token)),
            _ => {
                return Err(format!("[targets.{k}] static credentials need both access_key_id_env/_file and secret_access_key_env/_file (or neither, for the default chain)"))
            }
        };
        if self.profile.is_some() && static_credentials.is_some() {
            return Err(format!("[targets.{k}] profile applies to the default chain: drop it or the static credentials"));
        }
        let matching = match self.matching {
            MatchKind::UserName => {
                if self.tag_key.is_some() {
                    return Err(format!(
                        "[targets.{k}] tag_key applies to match = \"tag\" only"
                    ));
                }
                Match::UserName
            }
            MatchKind::Tag => {
                let key = self.tag_key.unwrap_or_else(|| "employee_id".into());
                if key.is_empty() {
                    return Err(format!("[targets.{k}] tag_key must not be empty"));
                }
                Match::Tag { key }
            }
        };
        if self.owner_tag_key.is_empty() {
            return Err(format!("[targets.{k}] owner_tag_key must not be empty"));
        }
        Ok(ClientSettings {
            region: self.region,
            endpoint_url,
            static_credentials,
            profile: self.profile,
            principal: self.principal,
            matching,
            sponsored: self.sponsored,
            owner_tag_key: self.owner_tag_key,
            user_scan: self.user_scan,
            access_keys: self.access_keys,
            ssh_keys: self.ssh_keys,
            signing_certs: self.signing_certs,
            timeout: Duration::from_millis(self.timeout_ms.get()),
        })
    }
}

impl IamTarget {
    /// Builds the SDK client from `[targets.cloud]`, resolves the credentials once (a missing or
    /// unreadable credential is a config error now, not N failed cases) and, unless `principal`
    /// is configured, reads the revoker's own user (`GetUser`) as the actor.
    pub async fn from_table(table: &toml::Table, instance: &str) -> Result<IamTarget, String> {
        let s = parse_settings(table)?;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(s.timeout)
            .operation_timeout(s.timeout)
            .connect_timeout(s.timeout.min(Duration::from_secs(5)))
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(s.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(u) = &s.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        if let Some(p) = &s.profile {
            loader = loader.profile_name(p);
        }
        if let Some((id, key, token)) = &s.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                id.expose(),
                key.expose(),
                token.as_ref().map(|t| t.expose().to_string()),
                None,
                "revoke-config",
            ));
        }
        let sdk = loader.load().await;
        let provider = sdk
            .credentials_provider()
            .ok_or("[targets.cloud] no AWS credentials provider (set access_key_id_env and secret_access_key_env, or configure the default chain)")?;
        let creds = provider.provide_credentials().await.map_err(|e| {
            format!(
                "[targets.cloud] resolving AWS credentials: {} (set access_key_id_env/secret_access_key_env, or configure the default chain)",
                DisplayErrorContext(&e)
            )
        })?;
        let key_id = creds.access_key_id().to_string();
        let client = aws_sdk_iam::Client::new(&sdk);
        let mut target = IamTarget {
            instance: instance.to_string(),
            client,
            principal: String::new(),
            self_arn: None,
            self_key_id: Some(key_id.clone()).filter(|k| !k.is_empty()),
            matching: s.matching,
            sponsored: s.sponsored,
            owner_tag_key: s.owner_tag_key,
            user_scan: s.user_scan,
            access_keys: s.access_keys,
            ssh_keys: s.ssh_keys,
            signing_certs: s.signing_certs,
            users: Default::default(),
        };
        // The revoker's own user (so it is never revoked) and, by default, the actor.
        let doing = "reading the revoker's own IAM user (GetUser)";
        match target.client.get_user().send().await {
            Ok(out) => target.self_arn = out.user().map(|u| u.arn().to_string()),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_string();
                // Role or federated credentials have no user (ValidationError); a policy without
                // iam:GetUser on itself is fine too. Anything else (bad credentials, unreachable
                // endpoint) is a config error now.
                if !matches!(
                    code.as_str(),
                    "ValidationError" | "AccessDenied" | "AccessDeniedException"
                ) {
                    return Err(format!(
                        "[targets.cloud] checking the revoker's credentials: {}",
                        target.error(doing, e)
                    ));
                }
            }
        }
        target.principal = match s.principal {
            Some(p) => p,
            None => match &target.self_arn {
                Some(arn) => arn.clone(),
                None => format!("aws-iam:{key_id}"),
            },
        };
        Ok(target)
    }
}

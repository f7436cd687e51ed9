//! The `[targets.cloud]` table: its keys, how a person is matched and how users are scanned,
//! the parsed `Settings` (unit-tested without AWS), and building the SDK client from them —
//! credentials resolved and the revoker's own user read once, at start. The keys and their
//! defaults are listed in the `iam` module docs.

use super::{CredentialPolicy, IamTarget};
use aws_sdk_iam::config::{Credentials, ProvideCredentials};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use revoke_shared::contract::TargetKind;
use revoke_shared::secret::Secret;
use std::time::Duration;

const KNOWN_KEYS: &[&str] = &[
    "region",
    "endpoint_url",
    "access_key_id_env",
    "access_key_id_file",
    "secret_access_key_env",
    "secret_access_key_file",
    "session_token_env",
    "session_token_file",
    "profile",
    "principal",
    "match",
    "tag_key",
    "sponsored",
    "owner_tag_key",
    "user_scan",
    "access_keys",
    "ssh_keys",
    "signing_certs",
    "timeout_ms",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    UserName,
    /// The user whose tag `key` equals the employee id.
    Tag {
        key: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserScan {
    ListUserTags,
    AuthorizationDetails,
}

/// The parsed table (everything but the SDK client), kept separate so it can be unit-tested.
#[derive(Debug)]
pub(crate) struct Settings {
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

pub(crate) fn parse_settings(table: &toml::Table) -> Result<Settings, String> {
    let t = crate::adapters::AdapterTable::new(table, TargetKind::Cloud, KNOWN_KEYS)?;
    let region = t.str("region")?.unwrap_or("us-east-1").to_string();
    if region.is_empty() {
        return Err("[targets.cloud] region must not be empty".into());
    }
    let endpoint_url = t
        .str("endpoint_url")?
        .map(|s| s.trim_end_matches('/').to_string());
    if let Some(u) = &endpoint_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(format!(
                "[targets.cloud] endpoint_url {u:?} must start with http:// or https://"
            ));
        }
    }
    let secret = |name: &str| -> Result<Option<Secret>, String> {
        let (env, file) = (
            t.str(&format!("{name}_env"))?,
            t.str(&format!("{name}_file"))?,
        );
        match (env, file) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(format!(
                "[targets.cloud] set {name}_env or {name}_file, not both"
            )),
            _ => Secret::from_env_or_file(env, file)
                .map(Some)
                .map_err(|e| format!("[targets.cloud] {name}: {e}")),
        }
    };
    let static_credentials = match (
        secret("access_key_id")?,
        secret("secret_access_key")?,
        secret("session_token")?,
    ) {
        (None, None, None) => None,
        (Some(id), Some(key), token) => Some((id, key, token)),
        _ => {
            return Err("[targets.cloud] static credentials need both access_key_id_env/_file and secret_access_key_env/_file (or neither, for the default chain)".into())
        }
    };
    let profile = t.str("profile")?.map(str::to_string);
    if profile.is_some() && static_credentials.is_some() {
        return Err("[targets.cloud] profile applies to the default chain: drop it or the static credentials".into());
    }
    let matching = match t.str("match")?.unwrap_or("user_name") {
        "user_name" => {
            if table.contains_key("tag_key") {
                return Err("[targets.cloud] tag_key applies to match = \"tag\" only".into());
            }
            Match::UserName
        }
        "tag" => {
            let key = t.str("tag_key")?.unwrap_or("employee_id").to_string();
            if key.is_empty() {
                return Err("[targets.cloud] tag_key must not be empty".into());
            }
            Match::Tag { key }
        }
        other => {
            return Err(format!(
                "[targets.cloud] match {other:?} must be \"user_name\" or \"tag\""
            ))
        }
    };
    let sponsored = match table.get("sponsored") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err("[targets.cloud] sponsored must be true or false".into()),
    };
    let owner_tag_key = t.str("owner_tag_key")?.unwrap_or("owner").to_string();
    if owner_tag_key.is_empty() {
        return Err("[targets.cloud] owner_tag_key must not be empty".into());
    }
    let user_scan = match t.str("user_scan")?.unwrap_or("authorization_details") {
        "list_user_tags" => UserScan::ListUserTags,
        "authorization_details" => UserScan::AuthorizationDetails,
        other => {
            return Err(format!(
                "[targets.cloud] user_scan {other:?} must be \"list_user_tags\" or \"authorization_details\""
            ))
        }
    };
    let policy = |key: &str, default: CredentialPolicy| -> Result<CredentialPolicy, String> {
        match t.str(key)? {
            None => Ok(default),
            Some(s) => CredentialPolicy::from_action(s).ok_or_else(|| {
                format!("[targets.cloud] {key} {s:?} must be \"deactivate\" or \"delete\"")
            }),
        }
    };
    let timeout_ms = match table.get("timeout_ms") {
        None => 10_000,
        Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
        Some(_) => return Err("[targets.cloud] timeout_ms must be a positive integer".into()),
    };
    Ok(Settings {
        region,
        endpoint_url,
        static_credentials,
        profile,
        principal: t.str("principal")?.map(str::to_string),
        matching,
        sponsored,
        owner_tag_key,
        user_scan,
        access_keys: policy("access_keys", CredentialPolicy::Deactivate)?,
        ssh_keys: policy("ssh_keys", CredentialPolicy::Delete)?,
        signing_certs: policy("signing_certs", CredentialPolicy::Delete)?,
        timeout: Duration::from_millis(timeout_ms),
    })
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

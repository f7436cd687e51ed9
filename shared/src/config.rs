//! Configuration: one TOML file, every key with a default, environment overrides on top.
//!
//! Overrides: `REVOKE_<SECTION>__<KEY>=value` (double underscore between levels), e.g.
//! `REVOKE_KAFKA__BROKERS=host:9092`, `REVOKE_VERIFIER__DEADLINE_SECS=600`. Values are read as
//! TOML when they parse as such (numbers, booleans, arrays), else as strings. Secrets are never
//! written inline: the config names the environment variable or file that holds them.

use crate::contract::{Identity, IdentityKind, Owner, TargetKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("environment override {var} cannot apply: {why}")]
    Env { var: String, why: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub topics: TopicsConfig,
    pub consumer: ConsumerConfig,
    pub metrics: MetricsConfig,
    pub worker: WorkerConfig,
    pub verifier: VerifierConfig,
    pub simulator: SimulatorConfig,
    pub escalations: EscalationsConfig,
    /// Signed HR events: off by default; `required = true` with per-source keys turns it on.
    pub signing: crate::signing::SigningConfig,
    /// Real target adapters, one table per target kind (`[targets.vault]`, `[targets.saas]`, …),
    /// each read by its adapter. A kind without a table runs on its simulator.
    pub targets: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers. `--brokers` / `KAFKA_BROKERS` override it.
    pub brokers: String,
    /// Prefix of every consumer group name (`<prefix>revoke-<kind>`), for sharing a cluster
    /// between fleets or test runs.
    pub group_prefix: String,
    /// Passed to librdkafka as is, for every client: `security.protocol`, `sasl.*`, `ssl.*`, and
    /// any tuning. Applied after revoke's own settings, so they win.
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicsConfig {
    pub terminations: String,
    pub confirmations: String,
    pub cases: String,
    pub escalations: String,
    pub dlq: String,
    /// Terminations whose effective time has come, re-published by the verifier for the
    /// workers (a termination dated in the future waits in the verifier's durable state).
    pub due: String,
    /// Restore requests from the verifier to the workers after a rescind.
    pub restores: String,
    /// Workers' claims on restore requests (one partition): a request is carried out once
    /// fleet-wide, by its first claim.
    pub restore_claims: String,
    /// The blast-radius guard's log (one partition: its order is the fleet-wide order in which
    /// cases asked to be released, so every verifier instance counts the same window), and the
    /// people's approvals and rejections of held batches.
    pub guard: String,
    /// Partitions for every topic `revoke topics create` makes. The verifier's inputs and the
    /// cases changelog must have the same count (co-partitioned by identity).
    pub partitions: i32,
    pub replication_factor: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Records read and not yet fully handled, per process and consumer. Bounded so a slow
    /// target applies back-pressure instead of memory growth.
    pub max_in_flight: usize,
    /// Larger HR events go to the DLQ unread.
    pub max_event_bytes: usize,
    /// How often stored offsets are committed (`auto.commit.interval.ms`).
    pub commit_interval_ms: u64,
    /// `session.timeout.ms`: how long until a dead consumer's partitions move. 6 s is the
    /// broker's default minimum (`group.min.session.timeout.ms`).
    pub session_timeout_ms: u64,
    /// On SIGTERM/SIGINT, how long records in flight may take to finish before they are
    /// abandoned (unstored, so read again after the restart).
    pub shutdown_grace_ms: u64,
    /// How often each consumer checks that the broker answers (for `/healthz`).
    pub health_probe_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of `/metrics` and `/healthz`; empty disables the endpoint.
    pub listen: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Worker id in evidence; defaults to `<hostname>-<pid>`.
    pub id: Option<String>,
    /// Name of the target instance this worker acts on.
    pub instance: String,
    /// Attempts per call to a target before giving up with a `failed` confirmation.
    pub max_attempts: usize,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Upper bound on the total time spent retrying one call.
    pub max_retry_secs: u64,
    /// A restore request (a grant) older than this is not carried out (dead letter
    /// `restore_stale`): a late copy of a genuine request may be a replay. Within it, a worker
    /// process carries out each request once (a copy: `restore_replayed`).
    pub restore_max_age_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierConfig {
    /// A case not closed this long after its effective time is escalated.
    pub deadline_secs: u64,
    /// How often deadlines are checked.
    pub tick_ms: u64,
    /// Targets that must confirm before a case closes.
    pub required_targets: Vec<TargetKind>,
    /// Control owners by target kind; `default` for any target without its own.
    pub owners: BTreeMap<String, Owner>,
    /// Who is told next when an escalation stays unresolved: per target kind (the escalation's
    /// first target, as for `owners`), with `default` for any kind without its own path (an
    /// empty list for a kind means it never climbs). Steps in order, each at its `after_secs`.
    pub escalation_paths: BTreeMap<String, Vec<EscalationStep>>,
    /// Required targets by identity kind (`employee`, `contractor`, `service`); a kind not
    /// listed uses `required_targets`.
    pub required_by_kind: BTreeMap<String, Vec<TargetKind>>,
    /// Per target kind: seconds from the effective time within which that target must confirm,
    /// else its owner gets a `sla_passed` escalation (the case-wide `deadline_secs` still holds).
    pub target_sla_secs: BTreeMap<String, u64>,
    /// Identities never revoked automatically (break-glass accounts, legal hold): employee ids,
    /// usernames or emails. Each entry is compared with every identity field of an event, after
    /// NFKC and full Unicode case folding (`ÅSA` = `åsa`, `STRASSE` = `straße`, fullwidth forms
    /// = ASCII). Workers touch nothing and report
    /// `skipped_protected`; the verifier escalates at once.
    pub protected_identities: Vec<String>,
    /// Re-drives of a target that failed with transient errors only (its worker's retries ran
    /// out during an outage, a 429 storm …): after the n-th such failure the verifier runs that
    /// target again `redrive_after_secs[n]` seconds later, while steps are left. The escalation
    /// for the failure stands; a later success closes the case. Empty: never.
    pub redrive_after_secs: Vec<u64>,
    /// Target kinds where a person's acknowledgement (`revoke case ack`, evidence `attested`)
    /// may close the target. Attested evidence is never "verified"; for a kind not listed it is
    /// recorded but the target stays `unverified` until a worker's read-back proves the access
    /// gone, so the case does not close. Default: all five kinds; empty: attestation never closes.
    pub attestation_allowed: Vec<TargetKind>,
    /// The blast-radius guard: the verifier releases every case to the workers, and holds new
    /// cases for a person's approval when too many arrive at once.
    pub guard: GuardConfig,
    /// At most this many `pending` cases (confirmations whose termination was never seen) are
    /// kept; past it a confirmation for an unknown case is dropped with a note
    /// (`stray_confirmation_dropped`), so a flood of junk on the confirmations topic cannot grow
    /// the verifier without limit.
    pub max_pending_cases: usize,
}

/// The blast-radius guard (`[verifier.guard]`). With it on, workers act only on what the
/// verifier releases to them on `topics.due`; every case asks the guard first, in one fleet-wide
/// order (`topics.guard`), and a case that makes the window exceed a limit is `held` in a batch
/// until `revoke approve <batch> --by PERSON` (or `revoke reject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Off: workers act on `hr.terminations` directly and nothing is ever held (one hop less,
    /// no protection against a bad HR batch).
    pub enabled: bool,
    /// More cases than this asking for release within `window_secs` (across the whole fleet)
    /// are held.
    pub max_terminations: u64,
    pub window_secs: u64,
    /// Also held: cases that would make more than this share (percent) of a target's accounts
    /// leave within the window. Needs `accounts` for that target.
    pub max_share_percent: Option<f64>,
    /// How many accounts each target kind has (directory, saas, cloud, vault, cicd), for
    /// `max_share_percent`.
    pub accounts: BTreeMap<String, u64>,
    /// Who is told when a batch is held; the control owner `default` when unset.
    pub owner: Option<Owner>,
    /// Restores are grants: more restores (rescinds of cases whose access was revoked) than
    /// this asking within `window_secs` are held for a person, like a burst of terminations.
    pub max_restores: u64,
    /// A held batch nobody decided is escalated again to the guard's owner this often, so a
    /// held leaver is never forgotten.
    pub remind_after_secs: u64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            enabled: true,
            max_terminations: 25,
            window_secs: 600,
            max_share_percent: None,
            accounts: BTreeMap::new(),
            owner: None,
            max_restores: 10,
            remind_after_secs: 3600,
        }
    }
}

/// One step of an escalation path: the person told when an escalation to the control owner is
/// still unresolved `after_secs` after it was raised (the case neither closed nor rescinded, a
/// target it names still not verified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub name: String,
    pub contact: String,
    /// Seconds from the control owner's escalation (not from the previous step); steps of one
    /// path strictly increase.
    pub after_secs: u64,
}

impl EscalationStep {
    pub fn owner(&self) -> Owner {
        Owner {
            name: self.name.clone(),
            contact: self.contact.clone(),
        }
    }
}

/// Delivery of `revoke.escalations` to a webhook (`revoke webhook`). Every delivery is retried
/// until the receiver answers 2xx: an escalation is never dropped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationsConfig {
    /// `http://` or `https://` URL each escalation is POSTed to as JSON. Required by
    /// `revoke webhook`; unused by every other command.
    pub webhook_url: Option<String>,
    /// Per attempt: connect, send and read the answer within this time, else it is a failed
    /// attempt (retried).
    pub webhook_timeout_ms: u64,
    /// Delay after the first failed attempt; doubles per attempt up to `webhook_max_backoff_ms`,
    /// with jitter (each delay is between half and all of the capped exponential).
    pub webhook_initial_backoff_ms: u64,
    pub webhook_max_backoff_ms: u64,
    /// After this many failed attempts of one escalation: one error log line, the delivery
    /// counts as stuck (`revoke_webhook_stuck`) and `/healthz` answers 503 until it is
    /// delivered. Retrying goes on.
    pub webhook_alert_after: u32,
    /// POSTs in flight at once (the others wait), so a burst does not flood the receiver.
    pub webhook_max_concurrent: usize,
    /// Environment variable holding a bearer token (`Authorization: Bearer …`).
    pub webhook_token_env: Option<String>,
    /// File holding the bearer token (trailing newline trimmed). At most one of the two.
    pub webhook_token_file: Option<String>,
    /// Environment variable holding an HMAC key: each request then carries
    /// `X-Revoke-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    pub webhook_signing_secret_env: Option<String>,
    /// File holding the HMAC key. At most one of the two.
    pub webhook_signing_secret_file: Option<String>,
}

/// Knobs of the in-memory simulators (demo and fast tests).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    pub latency_ms: u64,
    /// Share of (identity, target) pairs that fail permanently.
    pub fail_rate: f64,
    /// Share of calls that fail transiently once and succeed on retry.
    pub flaky_rate: f64,
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            kafka: KafkaConfig::default(),
            topics: TopicsConfig::default(),
            consumer: ConsumerConfig::default(),
            metrics: MetricsConfig::default(),
            worker: WorkerConfig::default(),
            verifier: VerifierConfig::default(),
            simulator: SimulatorConfig::default(),
            escalations: EscalationsConfig::default(),
            signing: Default::default(),
            targets: BTreeMap::new(),
        }
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group_prefix: String::new(),
            properties: BTreeMap::new(),
        }
    }
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            terminations: "hr.terminations".into(),
            confirmations: "revoke.confirmations".into(),
            cases: "revoke.cases".into(),
            escalations: "revoke.escalations".into(),
            dlq: "revoke.dlq".into(),
            due: "revoke.due".into(),
            restores: "revoke.restores".into(),
            restore_claims: "revoke.restores.claims".into(),
            guard: "revoke.guard".into(),
            partitions: 6,
            replication_factor: 1,
        }
    }
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            max_in_flight: 512,
            max_event_bytes: 256 * 1024,
            commit_interval_ms: 1000,
            session_timeout_ms: 6_000,
            shutdown_grace_ms: 15_000,
            health_probe_ms: 5_000,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: None,
            instance: "default".into(),
            max_attempts: 5,
            initial_backoff_ms: 100,
            max_backoff_ms: 5_000,
            max_retry_secs: 60,
            restore_max_age_secs: 900,
        }
    }
}

impl Default for VerifierConfig {
    fn default() -> Self {
        let mut owners = BTreeMap::new();
        owners.insert(
            "default".to_string(),
            Owner {
                name: "security-operations".into(),
                contact: "secops@example.com".into(),
            },
        );
        VerifierConfig {
            deadline_secs: 3600,
            tick_ms: 1000,
            required_targets: TargetKind::ALL.to_vec(),
            owners,
            escalation_paths: BTreeMap::new(),
            required_by_kind: BTreeMap::new(),
            target_sla_secs: BTreeMap::new(),
            protected_identities: Vec::new(),
            redrive_after_secs: vec![60, 300, 900],
            attestation_allowed: TargetKind::ALL.to_vec(),
            guard: GuardConfig::default(),
            max_pending_cases: 100_000,
        }
    }
}

impl Default for EscalationsConfig {
    fn default() -> Self {
        EscalationsConfig {
            webhook_url: None,
            webhook_timeout_ms: 5_000,
            webhook_initial_backoff_ms: 500,
            webhook_max_backoff_ms: 60_000,
            webhook_alert_after: 5,
            webhook_max_concurrent: 8,
            webhook_token_env: None,
            webhook_token_file: None,
            webhook_signing_secret_env: None,
            webhook_signing_secret_file: None,
        }
    }
}

impl EscalationsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |why: &str| Err(ConfigError::Invalid(format!("escalations.{why}")));
        if let Some(url) = &self.webhook_url {
            let lower = url.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
                // The URL itself is not repeated: it may carry a credential.
                return bad("webhook_url must be an http:// or https:// URL with a host");
            }
        }
        if self.webhook_timeout_ms == 0 {
            return bad("webhook_timeout_ms must be at least 1");
        }
        if self.webhook_initial_backoff_ms == 0 {
            return bad("webhook_initial_backoff_ms must be at least 1");
        }
        if self.webhook_max_backoff_ms < self.webhook_initial_backoff_ms {
            return bad("webhook_max_backoff_ms must be at least webhook_initial_backoff_ms");
        }
        if self.webhook_alert_after == 0 {
            return bad("webhook_alert_after must be at least 1");
        }
        if self.webhook_max_concurrent == 0 {
            return bad("webhook_max_concurrent must be at least 1");
        }
        if self.webhook_token_env.is_some() && self.webhook_token_file.is_some() {
            return bad("set webhook_token_env or webhook_token_file, not both");
        }
        if self.webhook_signing_secret_env.is_some() && self.webhook_signing_secret_file.is_some() {
            return bad("set webhook_signing_secret_env or webhook_signing_secret_file, not both");
        }
        Ok(())
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            latency_ms: 0,
            fail_rate: 0.0,
            flaky_rate: 0.0,
            seed: 1,
        }
    }
}

impl VerifierConfig {
    /// The targets that must confirm for an identity of `kind`.
    pub fn required_for(&self, kind: IdentityKind) -> Vec<TargetKind> {
        let key = match kind {
            IdentityKind::Employee => "employee",
            IdentityKind::Contractor => "contractor",
            IdentityKind::Service => "service",
        };
        self.required_by_kind
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.required_targets.clone())
    }

    /// The SLA of `target`, if one is configured.
    pub fn sla_of(&self, target: TargetKind) -> Option<u64> {
        self.target_sla_secs.get(target.as_str()).copied()
    }

    /// Whether `who` is on the protected list: any entry against any of the employee id,
    /// username and email, compared in Unicode compatibility caseless form (see
    /// `contract::protected`).
    pub fn is_protected(&self, who: &Identity) -> bool {
        crate::contract::matches_protected(&self.protected_identities, who)
    }

    /// Whether a person's acknowledgement may close a target of this kind.
    pub fn attestation_closes(&self, target: TargetKind) -> bool {
        self.attestation_allowed.contains(&target)
    }

    /// The control owner of `target`, falling back to `default`.
    pub fn owner_of(&self, target: Option<TargetKind>) -> Owner {
        target
            .and_then(|t| self.owners.get(t.as_str()))
            .or_else(|| self.owners.get("default"))
            .cloned()
            .unwrap_or(Owner {
                name: "unassigned".into(),
                contact: "".into(),
            })
    }

    /// The escalation path of `target` (the first target an escalation names): its own, else
    /// `default`'s, else none. Like `owner_of`, so the chain starts where the owner is.
    pub fn escalation_path_of(&self, target: Option<TargetKind>) -> &[EscalationStep] {
        target
            .and_then(|t| self.escalation_paths.get(t.as_str()))
            .or_else(|| self.escalation_paths.get("default"))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether any escalation can climb at all (the tick skips the scan otherwise).
    pub fn has_escalation_paths(&self) -> bool {
        self.escalation_paths.values().any(|p| !p.is_empty())
    }
}

impl WorkerConfig {
    pub fn worker_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "localhost".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

impl Config {
    /// Loads `path` (or the defaults when `None`), then applies `REVOKE_*` overrides from `env`.
    pub fn load<I>(path: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut value = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|source| ConfigError::Parse {
                        path: p.display().to_string(),
                        source,
                    })?
            }
            None => toml::Table::new(),
        };
        let overrides: Vec<(String, Vec<String>, String)> = env
            .into_iter()
            .filter_map(|(var, raw)| {
                let rest = var.strip_prefix("REVOKE_")?;
                let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
                // Not a config override (e.g. REVOKE_LOG) unless it names section and key.
                (path.len() >= 2 && !path.iter().any(String::is_empty)).then_some((var, path, raw))
            })
            .collect();
        let file_table = value.clone();
        for (var, path, raw) in &overrides {
            set_path(&mut value, path, parse_env_value(raw)).map_err(|why| ConfigError::Env {
                var: var.clone(),
                why,
            })?;
        }
        check_owner_keys(&value)?;
        let cfg: Config = match toml::Value::Table(value).try_into() {
            Ok(cfg) => cfg,
            Err(typed_err) => {
                // `REVOKE_WORKER__ID=42` is meant as the string "42": retry with every override
                // taken literally before reporting the first error.
                let mut literal = file_table;
                for (var, path, raw) in &overrides {
                    set_path(&mut literal, path, toml::Value::String(raw.clone())).map_err(
                        |why| ConfigError::Env {
                            var: var.clone(),
                            why,
                        },
                    )?;
                }
                toml::Value::Table(literal)
                    .try_into()
                    .map_err(|_: toml::de::Error| ConfigError::Invalid(typed_err.to_string()))?
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.topics.partitions < 1 {
            return Err(ConfigError::Invalid(
                "topics.partitions must be at least 1".into(),
            ));
        }
        if self.consumer.max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "consumer.max_in_flight must be at least 1".into(),
            ));
        }
        if self.worker.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "worker.max_attempts must be at least 1".into(),
            ));
        }
        if !(1..=86_400).contains(&self.worker.restore_max_age_secs) {
            return Err(ConfigError::Invalid(
                "worker.restore_max_age_secs must be from 1 to 86400 (0 would refuse every restore; restore claims are kept 7 days)"
                    .into(),
            ));
        }
        if self.verifier.required_targets.is_empty() {
            return Err(ConfigError::Invalid(
                "verifier.required_targets must name at least one target".into(),
            ));
        }
        for (kind, targets) in &self.verifier.required_by_kind {
            if !matches!(kind.as_str(), "employee" | "contractor" | "service") {
                return Err(ConfigError::Invalid(format!(
                    "verifier.required_by_kind.{kind}: identity kinds are employee, contractor and service"
                )));
            }
            if targets.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "verifier.required_by_kind.{kind} must name at least one target"
                )));
            }
        }
        for (target, secs) in &self.verifier.target_sla_secs {
            if !TargetKind::ALL.iter().any(|k| k.as_str() == target) {
                return Err(ConfigError::Invalid(format!(
                    "verifier.target_sla_secs.{target}: not a target kind (directory, saas, cloud, vault, cicd)"
                )));
            }
            if *secs == 0 {
                return Err(ConfigError::Invalid(format!(
                    "verifier.target_sla_secs.{target} must be at least 1"
                )));
            }
        }
        if let Some(bad) = self
            .verifier
            .redrive_after_secs
            .iter()
            .find(|s| **s == 0 || **s > 7 * 86_400)
        {
            return Err(ConfigError::Invalid(format!(
                "verifier.redrive_after_secs: {bad} is not between 1 s and 7 days"
            )));
        }
        let g = &self.verifier.guard;
        if g.max_terminations == 0 {
            return Err(ConfigError::Invalid(
                "verifier.guard.max_terminations must be at least 1 (turn the guard off with enabled = false)".into(),
            ));
        }
        if g.window_secs == 0 || g.window_secs > 7 * 86_400 {
            return Err(ConfigError::Invalid(
                "verifier.guard.window_secs must be between 1 s and 7 days".into(),
            ));
        }
        if let Some(share) = g.max_share_percent {
            if !(share > 0.0 && share <= 100.0) {
                return Err(ConfigError::Invalid(format!(
                    "verifier.guard.max_share_percent: {share} is not above 0 and at most 100"
                )));
            }
            if g.accounts.is_empty() {
                return Err(ConfigError::Invalid(
                    "verifier.guard.max_share_percent needs verifier.guard.accounts (how many accounts each target has)".into(),
                ));
            }
        }
        for (target, n) in &g.accounts {
            if !TargetKind::ALL.iter().any(|k| k.as_str() == target) {
                return Err(ConfigError::Invalid(format!(
                    "verifier.guard.accounts.{target}: not a target kind (directory, saas, cloud, vault, cicd)"
                )));
            }
            if *n == 0 {
                return Err(ConfigError::Invalid(format!(
                    "verifier.guard.accounts.{target} must be at least 1"
                )));
            }
        }
        for (target, path) in &self.verifier.escalation_paths {
            if target != "default" && !TargetKind::ALL.iter().any(|k| k.as_str() == target) {
                return Err(ConfigError::Invalid(format!(
                    "verifier.escalation_paths.{target}: not a target kind (directory, saas, cloud, vault, cicd) or default"
                )));
            }
            let mut previous = 0;
            for (i, step) in path.iter().enumerate() {
                let at = format!("verifier.escalation_paths.{target}[{i}]");
                if step.name.trim().is_empty() {
                    return Err(ConfigError::Invalid(format!("{at}: name is empty")));
                }
                if step.after_secs <= previous {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: after_secs must be at least 1 and larger than the step before (counted from the first escalation)"
                    )));
                }
                // Far beyond any sensible path, and safe to add to a timestamp.
                if step.after_secs > MAX_ESCALATION_AFTER_SECS {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: after_secs must be at most {MAX_ESCALATION_AFTER_SECS} (one year)"
                    )));
                }
                previous = step.after_secs;
            }
        }
        self.escalations.validate()?;
        self.signing.validate().map_err(ConfigError::Invalid)?;
        for rate in [self.simulator.fail_rate, self.simulator.flaky_rate] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError::Invalid(
                    "simulator rates must be between 0 and 1".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The longest `after_secs` of an escalation step: one year.
pub const MAX_ESCALATION_AFTER_SECS: u64 = 365 * 24 * 3600;

/// Each `[verifier.owners.<kind>]` holds `name` and `contact` only. Checked on the TOML because
/// the owner type is also the escalation contract, which tolerates unknown fields; without this,
/// an `escalation_path` written inside an owner (or a misspelt key) would be silently ignored.
fn check_owner_keys(table: &toml::Table) -> Result<(), ConfigError> {
    let Some(owners) = table
        .get("verifier")
        .and_then(|v| v.get("owners"))
        .and_then(toml::Value::as_table)
    else {
        return Ok(());
    };
    for (kind, owner) in owners {
        let Some(owner) = owner.as_table() else {
            continue; // not a table: the typed reading reports it
        };
        for key in owner.keys() {
            match key.as_str() {
                "name" | "contact" => {}
                "escalation_path" | "escalation_paths" => {
                    return Err(ConfigError::Invalid(format!(
                        "verifier.owners.{kind}.{key}: escalation paths are set per target kind in [verifier.escalation_paths] ({kind} = [{{ name = ..., contact = ..., after_secs = ... }}, ...])"
                    )))
                }
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "verifier.owners.{kind}.{key}: unknown key (an owner has name and contact)"
                    )))
                }
            }
        }
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    // `x = <raw>` parses for numbers, booleans, arrays and quoted strings; anything else is text.
    format!("x = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("path has at least two parts");
    let mut cur = table;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a section"))?;
    }
    cur.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.topics.terminations, "hr.terminations");
        assert_eq!(c.verifier.required_targets.len(), 5);
    }

    #[test]
    fn env_overrides_file() {
        let dir = std::env::temp_dir().join(format!("revoke-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(
            &p,
            "[kafka]\nbrokers = \"a:1\"\n[verifier]\ndeadline_secs = 5\n",
        )
        .unwrap();
        let env = vec![
            ("REVOKE_KAFKA__BROKERS".to_string(), "b:2".to_string()),
            (
                "REVOKE_KAFKA__PROPERTIES__SECURITY.PROTOCOL".to_string(),
                "SSL".to_string(),
            ),
            (
                "REVOKE_VERIFIER__REQUIRED_TARGETS".to_string(),
                "[\"vault\"]".to_string(),
            ),
            ("REVOKE_LOG".to_string(), "debug".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = Config::load(Some(&p), env).unwrap();
        assert_eq!(c.kafka.brokers, "b:2");
        assert_eq!(c.kafka.properties["security.protocol"], "SSL");
        assert_eq!(c.verifier.deadline_secs, 5);
        assert_eq!(c.verifier.required_targets, vec![TargetKind::Vault]);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let env = vec![("REVOKE_KAFKA__BROKRES".to_string(), "x".to_string())];
        assert!(matches!(
            Config::load(None, env),
            Err(ConfigError::Invalid(_))
        ));
        let env = vec![("REVOKE_TOPICS__PARTITIONS".to_string(), "0".to_string())];
        assert!(matches!(
            Config::load(None, env),
            Err(ConfigError::Invalid(_))
        ));
        // A restore window of 0 refuses every restore; past a day, claims may be gone.
        for secs in ["0", "86401"] {
            let env = vec![(
                "REVOKE_WORKER__RESTORE_MAX_AGE_SECS".to_string(),
                secs.to_string(),
            )];
            assert!(
                matches!(Config::load(None, env), Err(ConfigError::Invalid(m)) if m.contains("restore_max_age_secs")),
                "{secs}"
            );
        }
        let numeric_string = vec![
            ("REVOKE_WORKER__ID".to_string(), "42".to_string()),
            (
                "REVOKE_KAFKA__PROPERTIES__LINGER.MS".to_string(),
                "10".to_string(),
            ),
        ];
        let c = Config::load(None, numeric_string).unwrap();
        assert_eq!(c.worker.id.as_deref(), Some("42"));
        assert_eq!(c.kafka.properties["linger.ms"], "10");
        let missing = Config::load(Some(Path::new("/nonexistent/revoke.toml")), Vec::new());
        assert!(matches!(missing, Err(ConfigError::Read { .. })));
    }

    #[test]
    fn the_documented_example_config_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/revoke.example.toml");
        let c =
            Config::load(Some(&p), Vec::new()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(c.validate().is_ok());
        let path = c.verifier.escalation_path_of(Some(TargetKind::Directory));
        assert_eq!(
            path.iter().map(|s| s.after_secs).collect::<Vec<_>>(),
            vec![3600, 14400],
            "the example's escalation path"
        );
    }

    #[test]
    fn escalations_section_defaults_env_and_validation() {
        let c = Config::load(None, Vec::new()).unwrap();
        let e = &c.escalations;
        assert_eq!(e.webhook_url, None);
        assert_eq!(
            (
                e.webhook_timeout_ms,
                e.webhook_initial_backoff_ms,
                e.webhook_max_backoff_ms,
                e.webhook_alert_after,
                e.webhook_max_concurrent
            ),
            (5_000, 500, 60_000, 5, 8)
        );
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let c = Config::load(
            None,
            env(&[
                (
                    "REVOKE_ESCALATIONS__WEBHOOK_URL",
                    "https://tickets.example.com/hooks/revoke?x=1",
                ),
                ("REVOKE_ESCALATIONS__WEBHOOK_ALERT_AFTER", "3"),
                ("REVOKE_ESCALATIONS__WEBHOOK_TOKEN_ENV", "TICKETS_TOKEN"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.escalations.webhook_url.as_deref(),
            Some("https://tickets.example.com/hooks/revoke?x=1")
        );
        assert_eq!(c.escalations.webhook_alert_after, 3);
        assert_eq!(
            c.escalations.webhook_token_env.as_deref(),
            Some("TICKETS_TOKEN")
        );
        for bad in [
            vec![("REVOKE_ESCALATIONS__WEBHOOK_URL", "ftp://x")],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_URL", "https://")],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_URL", "tickets.example.com")],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_ALERT_AFTER", "0")],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_TIMEOUT_MS", "0")],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_MAX_CONCURRENT", "0")],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_MAX_BACKOFF_MS", "100")],
            vec![
                ("REVOKE_ESCALATIONS__WEBHOOK_TOKEN_ENV", "A"),
                ("REVOKE_ESCALATIONS__WEBHOOK_TOKEN_FILE", "/b"),
            ],
            vec![
                ("REVOKE_ESCALATIONS__WEBHOOK_SIGNING_SECRET_ENV", "A"),
                ("REVOKE_ESCALATIONS__WEBHOOK_SIGNING_SECRET_FILE", "/b"),
            ],
            vec![("REVOKE_ESCALATIONS__WEBHOOK_URLL", "https://x")],
        ] {
            assert!(
                matches!(Config::load(None, env(&bad)), Err(ConfigError::Invalid(_))),
                "{bad:?} accepted"
            );
        }
        // An invalid URL is not echoed: it may hold a credential.
        let err = Config::load(
            None,
            env(&[("REVOKE_ESCALATIONS__WEBHOOK_URL", "ftp://user:hunter2@x")]),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn policy_keys_load_and_are_checked() {
        let load = |text: &str| {
            let path = std::env::temp_dir().join(format!(
                "revoke-policy-{}.toml",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::write(&path, text).unwrap();
            let r = Config::load(Some(&path), std::iter::empty());
            let _ = std::fs::remove_file(&path);
            r
        };
        let c = load(
            "[verifier]\nprotected_identities = [\"breakglass\"]\n\
             [verifier.required_by_kind]\ncontractor = [\"directory\", \"saas\"]\n\
             [verifier.target_sla_secs]\nvault = 300\n",
        )
        .unwrap();
        assert_eq!(
            c.verifier.required_for(IdentityKind::Contractor),
            vec![TargetKind::Directory, TargetKind::Saas]
        );
        assert_eq!(c.verifier.required_for(IdentityKind::Service).len(), 5);
        assert_eq!(c.verifier.sla_of(TargetKind::Vault), Some(300));
        assert_eq!(c.verifier.sla_of(TargetKind::Saas), None);
        for (bad, says) in [
            (
                "[verifier.required_by_kind]\nintern = [\"saas\"]\n",
                "identity kinds",
            ),
            (
                "[verifier.required_by_kind]\nservice = []\n",
                "at least one target",
            ),
            (
                "[verifier.target_sla_secs]\nmainframe = 10\n",
                "not a target kind",
            ),
            ("[verifier.target_sla_secs]\nvault = 0\n", "at least 1"),
        ] {
            let e = load(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn escalation_paths_load_fall_back_to_default_and_are_checked() {
        let load = |text: &str| {
            let path = std::env::temp_dir().join(format!(
                "revoke-paths-{}.toml",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::write(&path, text).unwrap();
            let r = Config::load(Some(&path), std::iter::empty());
            let _ = std::fs::remove_file(&path);
            r
        };
        // A config from before escalation paths: loads, and nothing climbs.
        let c = load(
            "[verifier.owners.default]\nname = \"secops\"\ncontact = \"secops@example.com\"\n",
        )
        .unwrap();
        assert!(c.verifier.escalation_paths.is_empty());
        assert!(!c.verifier.has_escalation_paths());
        assert!(c
            .verifier
            .escalation_path_of(Some(TargetKind::Vault))
            .is_empty());

        let c = load(
            "[verifier.owners.directory]\nname = \"iam-team\"\ncontact = \"iam@example.com\"\n\
             [verifier.escalation_paths]\n\
             directory = [ { name = \"iam-lead\", contact = \"iam-lead@example.com\", after_secs = 3600 }, \
                           { name = \"ciso\", contact = \"ciso@example.com\", after_secs = 14400 } ]\n\
             default = [ { name = \"secops-lead\", contact = \"lead@example.com\", after_secs = 600 } ]\n\
             cicd = []\n",
        )
        .unwrap();
        let v = &c.verifier;
        assert!(v.has_escalation_paths());
        let dir = v.escalation_path_of(Some(TargetKind::Directory));
        assert_eq!(
            dir.iter()
                .map(|s| (s.name.as_str(), s.after_secs))
                .collect::<Vec<_>>(),
            vec![("iam-lead", 3600), ("ciso", 14400)]
        );
        assert_eq!(dir[1].owner().contact, "ciso@example.com");
        assert_eq!(
            v.escalation_path_of(Some(TargetKind::Vault))[0].name,
            "secops-lead"
        );
        assert_eq!(v.escalation_path_of(None)[0].name, "secops-lead");
        assert!(
            v.escalation_path_of(Some(TargetKind::Cicd)).is_empty(),
            "explicitly none"
        );

        // An environment override works like for any key.
        let env = vec![(
            "REVOKE_VERIFIER__ESCALATION_PATHS__VAULT".to_string(),
            "[{ name = \"vault-lead\", contact = \"v@example.com\", after_secs = 60 }]".to_string(),
        )];
        let c = Config::load(None, env).unwrap();
        assert_eq!(
            c.verifier.escalation_path_of(Some(TargetKind::Vault))[0].after_secs,
            60
        );

        let step = |after: &str| {
            format!("[verifier.escalation_paths]\nvault = [ {{ name = \"a\", contact = \"a@x\", after_secs = 60 }}, {{ name = \"b\", contact = \"b@x\", after_secs = {after} }} ]\n")
        };
        for (bad, says) in [
            (
                "[verifier.escalation_paths]\nmainframe = []\n".to_string(),
                "not a target kind".to_string(),
            ),
            (step("60"), "larger than the step before".into()),
            (step("30"), "larger than the step before".into()),
            (step("99999999999"), "at most".into()),
            (
                "[verifier.escalation_paths]\nvault = [ { name = \"a\", contact = \"a@x\", after_secs = 0 } ]\n".into(),
                "at least 1".into(),
            ),
            (
                "[verifier.escalation_paths]\nvault = [ { name = \" \", contact = \"a@x\", after_secs = 5 } ]\n".into(),
                "name is empty".into(),
            ),
            (
                "[verifier.escalation_paths]\nvault = [ { name = \"a\", contact = \"a@x\" } ]\n".into(),
                "after_secs".into(),
            ),
            (
                "[verifier.escalation_paths]\nvault = [ { name = \"a\", contact = \"a@x\", after_secs = 5, sms = \"1\" } ]\n".into(),
                "sms".into(),
            ),
            // The shape of the path inside the owner is pointed at the right table.
            (
                "[verifier.owners.directory]\nname = \"iam\"\ncontact = \"iam@x\"\nescalation_path = []\n".into(),
                "[verifier.escalation_paths]".into(),
            ),
            (
                "[verifier.owners.directory]\nname = \"iam\"\ncontcat = \"iam@x\"\n".into(),
                "verifier.owners.directory.contcat: unknown key".into(),
            ),
        ] {
            let e = load(&bad).unwrap_err().to_string();
            assert!(e.contains(&says), "{bad}: {e}");
        }
    }

    #[test]
    fn owner_falls_back_to_default() {
        let v = VerifierConfig::default();
        assert_eq!(
            v.owner_of(Some(TargetKind::Cloud)).name,
            "security-operations"
        );
    }
}

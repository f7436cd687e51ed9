//! The `revoke` command line. Exit codes: 0 success, 1 the job failed, 2 bad usage or config.

use crate::demo::DemoOptions;
use crate::hr::Mode;
use clap::{Args, Parser, Subcommand, ValueEnum};
use revoke_shared::config::Config;
use revoke_shared::contract::TargetKind;
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::telemetry::{self, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// revoke: when someone leaves, every access they had is gone within seconds, verified, with
/// evidence an auditor accepts.
///
/// HR publishes termination events (CloudEvents) to Kafka; one worker group per target kind
/// (directory, saas, cloud, vault, cicd) revokes, reads back and confirms; the verifier closes
/// each case or escalates it to a named owner.
#[derive(Parser, Debug)]
#[command(name = "revoke", version, propagate_version = true)]
pub struct Cli {
    /// Kafka bootstrap servers (overrides kafka.brokers in the config).
    #[arg(long, global = true, env = "KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// TOML config file; `REVOKE_<SECTION>__<KEY>` environment variables override it.
    #[arg(long, global = true, env = "REVOKE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// Address for /metrics and /healthz (overrides metrics.listen; "" disables).
    #[arg(long, global = true)]
    pub metrics_listen: Option<String>,
    /// How long a one-shot command that writes to Kafka (publish, approve, reject, case ack)
    /// waits for its topic to be usable — every partition with a leader — before it gives up
    /// with exit code 1, in seconds. Covers a command run right after `revoke topics create`
    /// or while a restarted broker elects leaders; a topic that never comes fails with its name.
    #[arg(
        long,
        global = true,
        env = "REVOKE_LEADER_WAIT_SECS",
        default_value_t = 30
    )]
    pub leader_wait_secs: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole fleet in one process on the embedded broker, with simulated targets:
    /// publish N leavers, wait for every case to close or escalate, print a summary. Needs no
    /// services. Exits 0 only when every case reached the state the simulators predict.
    Demo(DemoArgs),
    /// Run one target worker: consume terminations as group `revoke-<target>`, revoke on the
    /// target, read back, and publish a confirmation with evidence. Several instances of one
    /// target share the partitions.
    Worker(WorkerArgs),
    /// Run the verifier: collect confirmations per case, close cases whose every required target
    /// is verified, escalate failures and missed deadlines. Rebuilds its state from the cases
    /// changelog on start.
    Verifier,
    /// Publish HR events (the HR side): structured CloudEvents, one JSON object per line, from a
    /// file or stdin; or N synthetic leavers with --generate. Every line is validated before
    /// anything is sent.
    Publish(PublishArgs),
    /// Manage revoke's Kafka topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Print a case and its evidence: the HR event, per target and per object the action, when
    /// it was removed, by whom, the read-back, escalations, and the verdict. Takes a case id or
    /// an identity id (all of that identity's cases). `revoke case ack` records a person's
    /// confirmation of a manual step.
    Case(CaseArgs),
    /// The audit report: one row per case opened in a time range, with the HR event, per-target
    /// actions, removal times, actors, escalations and the verdict; as CSV, JSON or a
    /// self-contained HTML page with time-to-revoke per target and open escalations by owner.
    Report(crate::report::ReportArgs),
    /// Deliver escalations to the configured webhook (`[escalations] webhook_url`): consumes
    /// `revoke.escalations` as group `revoke-escalation-webhook`, POSTs each as JSON, retries
    /// with backoff, and commits only what was delivered.
    Webhook,
    /// List what the blast-radius guard held: each batch, why, the identities still waiting,
    /// the digest of that list (for `approve --digest`) and the decisions on it (undecided
    /// first).
    Guard(crate::approve::GuardArgs),
    /// Release a batch the blast-radius guard held (`--digest` from `revoke guard` required;
    /// `--only`/`--except` for part of it): exactly the cases reviewed go to the workers, and
    /// the approval (who, when, note) becomes part of each case's evidence.
    Approve(crate::approve::DecideArgs),
    /// Drop a batch the blast-radius guard held (`--digest` optional, `--only`/`--except` for
    /// part of it): its cases end `rejected`, nothing revoked.
    Reject(crate::approve::DecideArgs),
}

#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// Create every topic with `topics.partitions` partitions (keyed by identity, so the
    /// verifier's inputs are co-partitioned) and the cases topic compacted. Existing topics are
    /// checked, not changed.
    Create,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Leavers to publish.
    #[arg(long, default_value_t = 100)]
    pub identities: usize,
    /// Share of (identity, target) pairs that fail permanently, to show escalation.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Share of target calls that fail once transiently (retried with backoff).
    #[arg(long, default_value_t = 0.0)]
    pub flaky_rate: f64,
    /// Simulated latency of every target call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Give up waiting for cases after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Publish in CloudEvents binary mode (ce_* headers) instead of structured mode.
    #[arg(long)]
    pub binary: bool,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The target kind this worker revokes on.
    #[arg(long, value_enum)]
    pub target: TargetArg,
}

/// Target kinds as the command line spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetArg {
    Directory,
    Saas,
    Cloud,
    Vault,
    Cicd,
}

impl From<TargetArg> for TargetKind {
    fn from(t: TargetArg) -> TargetKind {
        match t {
            TargetArg::Directory => TargetKind::Directory,
            TargetArg::Saas => TargetKind::Saas,
            TargetArg::Cloud => TargetKind::Cloud,
            TargetArg::Vault => TargetKind::Vault,
            TargetArg::Cicd => TargetKind::Cicd,
        }
    }
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// JSONL file of CloudEvents; `-` or absent reads stdin.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Instead of reading input, publish this many synthetic leavers.
    #[arg(long, conflicts_with = "file")]
    pub generate: Option<usize>,
    /// CloudEvents `source` of generated events.
    #[arg(long, default_value = "urn:revoke:generated-hr")]
    pub source: String,
    /// Use CloudEvents binary mode (ce_* headers) instead of structured mode.
    #[arg(long)]
    pub binary: bool,
    /// Send lines as they are, without validation (to test how the fleet handles bad input).
    #[arg(long)]
    pub no_validate: bool,
    /// Sign every event with its source's key from `[[signing.keys]]` (an hmac-sha256 secret, or
    /// an ed25519 private key from private_key_env/private_key_file), carried as the CloudEvents
    /// extension attributes signature, signaturealg and signaturekeyid. Every event is signed
    /// before anything is sent.
    #[arg(long, conflicts_with = "no_validate")]
    pub sign: bool,
    /// With --sign: the key_id of the key to sign with (default: the first key listed for the
    /// source that can sign).
    #[arg(long, requires = "sign")]
    pub key_id: Option<String>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CaseArgs {
    /// A case id, or an identity id.
    #[arg(required = true)]
    pub id: Option<String>,
    /// Print the case records as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<CaseCommand>,
}

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// Record a person's confirmation that a target's access is gone, for systems without an
    /// API (or a manual step an escalation asked for). It becomes evidence like any other,
    /// naming the person, and can close the case.
    Ack(crate::ack::AckArgs),
}

/// A configuration the process cannot run with (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigProblem(String);

/// A failure with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

fn usage(e: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: 2,
        error: e.into(),
    }
}

fn job(e: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: 1,
        error: e.into(),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(match cli.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("revoke: {}", describe(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// Prints a line to stdout. A closed pipe (`revoke case X | head`) ends the command quietly
/// instead of panicking.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("revoke: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// The error and its causes, skipping a cause whose text the previous message already includes.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    let mut cfg = Config::load(cli.config.as_deref(), std::env::vars()).map_err(usage)?;
    if let Some(b) = &cli.brokers {
        cfg.kafka.brokers = b.clone();
    }
    if let Some(m) = &cli.metrics_listen {
        cfg.metrics.listen = m.clone();
    }
    Ok(cfg)
}

/// With `[signing] required`, reads the signing keys before starting: a secret that cannot be
/// read (an unset variable, a missing file) is a configuration error (exit 2), never a failure
/// on the first event. The secrets themselves are never printed.
fn check_signing_keys(cfg: &Config) -> Result<(), Failure> {
    if cfg.signing.required {
        let keys = cfg
            .signing
            .key_set()
            .map_err(|e| usage(anyhow::anyhow!("signing: {e}")))?;
        cfg.signing
            .fleet_secret()
            .map_err(|e| usage(anyhow::anyhow!("signing: {e}")))?;
        tracing::info!(sources = ?keys.sources().collect::<Vec<_>>(), "signed HR events required; records for the workers signed by the fleet");
    }
    Ok(())
}

/// Waits (bounded by `--leader-wait-secs`) until every partition of `topics` has a leader, so a
/// one-shot command's first record does not race the topic's creation or a leader election.
fn wait_for_topics(cfg: &Config, topics: &[&str], secs: u64) -> Result<(), Failure> {
    use revoke_shared::leaders::{wait_for_leaders, LeaderWaitError};
    wait_for_leaders(cfg, topics, Duration::from_secs(secs)).map_err(|e| match e {
        LeaderWaitError::Client { .. } => usage(e),
        LeaderWaitError::NotReady { .. } => job(e),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(job)
}

/// Cancels the token on SIGINT or SIGTERM.
fn on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("signal received: finishing in-flight work, then exiting");
        token.cancel();
    });
}

async fn serve_metrics(cfg: &Config, metrics: &Metrics, health: &Health) -> Result<(), Failure> {
    if cfg.metrics.listen.is_empty() {
        return Ok(());
    }
    let addr = revoke_shared::metrics::serve(&cfg.metrics.listen, metrics.clone(), health.clone())
        .await
        .map_err(|e| {
            usage(anyhow::anyhow!(
                "cannot listen on {} for /metrics: {e} (set --metrics-listen or metrics.listen)",
                cfg.metrics.listen
            ))
        })?;
    tracing::info!(%addr, "serving /metrics and /healthz");
    Ok(())
}

/// Runs a long-running component: its own runtime, `/metrics` + `/healthz`, and a graceful stop
/// on SIGINT/SIGTERM.
fn long_running<F, Fut>(cfg: &Config, component: F) -> Result<(), Failure>
where
    F: FnOnce(Config, Metrics, Health, revoke_shared::consume::Stop) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let rt = runtime()?;
    rt.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        serve_metrics(cfg, &metrics, &health).await?;
        let stop = revoke_shared::consume::Stop::new();
        on_signal(stop.graceful.clone());
        component(cfg.clone(), metrics, health, stop)
            .await
            .map_err(|e| {
                // A client librdkafka refuses to create is a configuration problem.
                let config_problem = e.chain().any(|c| {
                    c.downcast_ref::<ConfigProblem>().is_some()
                        || c.downcast_ref::<revoke_shared::config::ConfigError>()
                            .is_some()
                        || matches!(
                            c.downcast_ref::<revoke_shared::kafka::KafkaError>(),
                            Some(revoke_shared::kafka::KafkaError::Client { .. })
                        )
                });
                if config_problem {
                    usage(e)
                } else {
                    job(e)
                }
            })
    })
}

fn run(cli: Cli) -> Result<(), Failure> {
    let cfg = load_config(&cli)?;
    let leader_wait = cli.leader_wait_secs;
    match cli.command {
        Command::Demo(a) => {
            let mut cfg = cfg;
            cfg.simulator.fail_rate = a.fail_rate;
            cfg.simulator.flaky_rate = a.flaky_rate;
            cfg.simulator.latency_ms = a.latency_ms;
            cfg.validate().map_err(usage)?;
            if cfg.signing.required {
                return Err(usage(anyhow::anyhow!(
                    "the demo publishes unsigned synthetic events: run it with signing.required = false (REVOKE_SIGNING__REQUIRED=false)"
                )));
            }
            let opts = DemoOptions {
                identities: a.identities,
                timeout: Duration::from_secs(a.timeout_secs),
                mode: if a.binary {
                    Mode::Binary
                } else {
                    Mode::Structured
                },
            };
            let summary = crate::demo::run(cfg, opts).map_err(job)?;
            emit(&summary.render());
            if summary.ok() {
                Ok(())
            } else {
                Err(job(anyhow::anyhow!(
                    "some cases did not reach their expected state"
                )))
            }
        }
        Command::Verifier => {
            check_signing_keys(&cfg)?;
            long_running(&cfg, |cfg, metrics, health, stop| async move {
                crate::verifier::run_verifier(&cfg, metrics, health, stop).await
            })
        }
        Command::Worker(w) => {
            check_signing_keys(&cfg)?;
            long_running(&cfg, |cfg, metrics, health, stop| async move {
                let kind = TargetKind::from(w.target);
                let target = crate::adapters::from_config(kind, &cfg)
                    .await
                    .map_err(|e| ConfigProblem(format!("target {kind}: {e}")))?;
                crate::worker::run_worker(&cfg, target, metrics, health, stop).await
            })
        }
        Command::Publish(p) => {
            wait_for_topics(&cfg, &[&cfg.topics.terminations], leader_wait)?;
            let rt = runtime()?;
            rt.block_on(async {
                let producer =
                    revoke_shared::kafka::Producer::with_timeout(&cfg, Duration::from_secs(60))
                        .map_err(usage)?;
                let mode = if p.binary {
                    Mode::Binary
                } else {
                    Mode::Structured
                };
                let mut signing = p
                    .sign
                    .then(|| crate::hr::Signing::new(&cfg.signing, p.key_id.as_deref()));
                let n = if let Some(n) = p.generate {
                    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
                    let now = chrono::Utc::now();
                    let events: Vec<_> = (0..n)
                        .map(|i| crate::hr::synthetic_leaver(i, &p.source, &run, now))
                        .collect();
                    let events = match signing.as_mut() {
                        Some(s) => s
                            .sign_all(events)
                            .map_err(|e| usage(anyhow::anyhow!("signing: {e}")))?,
                        None => events.into_iter().map(|ev| (ev, None)).collect(),
                    };
                    crate::hr::publish_signed(&producer, &cfg.topics.terminations, &events, mode)
                        .await
                        .map_err(job)?
                } else {
                    let max = cfg.consumer.max_event_bytes;
                    let topic = cfg.topics.terminations.clone();
                    match p.file.as_deref().filter(|f| f.as_os_str() != "-") {
                        Some(path) => {
                            let f = std::fs::File::open(path).map_err(|e| {
                                usage(anyhow::anyhow!("cannot open {}: {e}", path.display()))
                            })?;
                            crate::hr::publish_jsonl(
                                &producer,
                                &topic,
                                std::io::BufReader::new(f),
                                mode,
                                !p.no_validate,
                                max,
                                signing.as_mut(),
                            )
                            .await
                        }
                        None => {
                            crate::hr::publish_jsonl(
                                &producer,
                                &topic,
                                std::io::stdin().lock(),
                                mode,
                                !p.no_validate,
                                max,
                                signing.as_mut(),
                            )
                            .await
                        }
                    }
                    .map_err(|e| match e {
                        crate::hr::PublishError::Line { .. } | crate::hr::PublishError::Sign(_) => {
                            usage(e)
                        }
                        other => job(other),
                    })?
                };
                emit(&format!(
                    "published {n} events to {}",
                    cfg.topics.terminations
                ));
                Ok(())
            })
        }
        Command::Topics {
            command: TopicsCommand::Create,
        } => {
            let rt = runtime()?;
            rt.block_on(async {
                let result = crate::topics::create_topics(&cfg)
                    .await
                    .map_err(|e| match e {
                        crate::topics::TopicsError::Mismatch { .. } => usage(e),
                        other => job(other),
                    })?;
                let specs = crate::topics::topic_specs(&cfg);
                for (topic, status) in result {
                    let partitions = specs
                        .iter()
                        .find(|s| s.name == topic)
                        .map_or(cfg.topics.partitions, |s| s.partitions);
                    emit(&format!("{topic}: {status} ({partitions} partitions)"));
                }
                Ok(())
            })
        }
        Command::Case(CaseArgs {
            command: Some(CaseCommand::Ack(a)),
            ..
        }) => {
            wait_for_topics(&cfg, &[&cfg.topics.confirmations], leader_wait)?;
            let rt = runtime()?;
            rt.block_on(crate::ack::run(&cfg, &a, emit)).map_err(|e| {
                if e.is_usage() {
                    usage(e)
                } else {
                    job(e)
                }
            })
        }
        Command::Report(r) => {
            crate::report::run(&cfg, &r, emit)
                .map_err(|e| if e.is_usage() { usage(e) } else { job(e) })
        }
        Command::Guard(g) => crate::approve::list(&cfg, &g, emit).map_err(|e| {
            if e.is_usage() {
                usage(e)
            } else {
                job(e)
            }
        }),
        Command::Approve(a) | Command::Reject(a) if a.by.trim().is_empty() => {
            Err(usage(anyhow::anyhow!("--by must name the person deciding")))
        }
        // An approval grants the workers a batch: it must name the list the person reviewed.
        Command::Approve(a) if a.digest.as_deref().is_none_or(|d| d.trim().is_empty()) => {
            Err(usage(anyhow::anyhow!(
                "--digest is required: run `revoke guard` and pass the digest it prints for {}",
                a.batch
            )))
        }
        Command::Approve(a) => {
            wait_for_topics(&cfg, &[&cfg.topics.guard], leader_wait)?;
            let rt = runtime()?;
            rt.block_on(crate::approve::decide(
                &cfg,
                &a,
                revoke_shared::contract::Decision::Approve,
                emit,
            ))
            .map_err(|e| if e.is_usage() { usage(e) } else { job(e) })
        }
        Command::Reject(a) => {
            wait_for_topics(&cfg, &[&cfg.topics.guard], leader_wait)?;
            let rt = runtime()?;
            rt.block_on(crate::approve::decide(
                &cfg,
                &a,
                revoke_shared::contract::Decision::Reject,
                emit,
            ))
            .map_err(|e| if e.is_usage() { usage(e) } else { job(e) })
        }
        Command::Webhook => long_running(&cfg, |cfg, metrics, health, stop| async move {
            crate::webhook::run_webhook(&cfg, metrics, health, stop).await
        }),
        Command::Case(c) => {
            let id = c.id.unwrap_or_default();
            let log = crate::cases::read_case_log(&cfg).map_err(|e| {
                job(anyhow::anyhow!(
                    "reading {}: {e} (check --brokers and that `revoke topics create` ran)",
                    cfg.topics.cases
                ))
            })?;
            let found = log.find(&id);
            if found.is_empty() {
                return Err(job(anyhow::anyhow!(
                    "no case with id or identity {:?} in {}",
                    id,
                    cfg.topics.cases
                )));
            }
            for case in found {
                if c.json {
                    emit(&serde_json::to_string_pretty(case).map_err(job)?);
                } else {
                    emit(&crate::cases::render(case));
                }
            }
            Ok(())
        }
    }
}

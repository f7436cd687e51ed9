//! The `revoke` command line: the arguments, and which command runs. Exit codes: 0 success,
//! 1 the job failed, 2 bad usage or config (`error::CommandError`); `revoke verify` also 3
//! (access returned) and 4 (something could not be read).
//!
//! One file per command: `demo`, `launch` (the long-running `worker`, `verifier`, `webhook`),
//! `publish`, `topics`, `case` (and `case ack`), `report`, `guard` (and `approve`, `reject`),
//! `verify`, `watch`, `evidence` (and `case --verify`, `report --verify`).
//! `shell` is what the one-shot commands share, `target` the `--target` parser. The commands
//! use the library (`crate::cases`, `crate::report`, `crate::hr`, `crate::topics`, ...); nothing
//! outside `cli` imports from it.

pub mod case;
pub mod decision_io;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod guard;
pub mod launch;
pub mod person;
pub mod person_key;
pub mod publish;
pub mod report;
pub mod review;
pub mod shell;
pub mod target;
pub mod topics;
pub mod verify;
pub mod watch;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use error::CommandError;
use revoke_shared::config::Config;
use revoke_shared::contract::Decision;
use revoke_shared::telemetry::{self, LogFormat};
use shell::emit;
use std::path::PathBuf;
use std::process::ExitCode;

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
    #[arg(long, global = true, default_value = "text", value_parser = log_format())]
    pub log_format: LogFormat,
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

/// `--log-format`: `text` or `json`, parsed straight into the `telemetry::LogFormat` it selects.
fn log_format() -> impl TypedValueParser<Value = LogFormat> {
    PossibleValuesParser::new(["text", "json"]).map(|name| match name.as_str() {
        "json" => LogFormat::Json,
        _ => LogFormat::Text,
    })
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole fleet in one process on the embedded broker, with simulated targets:
    /// publish N leavers, wait for every case to close or escalate, print a summary. Needs no
    /// services. Exits 0 only when every case reached the state the simulators predict.
    Demo(demo::DemoArgs),
    /// Run one target worker: consume terminations as group `revoke-<target>`, revoke on the
    /// target, read back, and publish a confirmation with evidence. Several instances of one
    /// target share the partitions.
    Worker(launch::WorkerArgs),
    /// Run the verifier: collect confirmations per case, close cases whose every required target
    /// is verified, escalate failures and missed deadlines. Rebuilds its state from the cases
    /// changelog on start.
    Verifier,
    /// Publish HR events (the HR side): structured CloudEvents, one JSON object per line, from a
    /// file or stdin; or N synthetic leavers with --generate. Every line is validated before
    /// anything is sent.
    Publish(publish::PublishArgs),
    /// Manage revoke's Kafka topics.
    Topics {
        #[command(subcommand)]
        command: topics::TopicsCommand,
    },
    /// Print a case and its evidence: the HR event, per target and per object the action, when
    /// it was removed, by whom, the read-back, escalations, and the verdict. Takes a case id or
    /// an identity id (all of that identity's cases). `revoke case ack` records a person's
    /// confirmation of a manual step.
    Case(case::CaseArgs),
    /// Tamper-evident evidence: `export` writes a self-contained packet of a case (every version
    /// as published, the reports and decisions they embed, the public keys); `verify` checks a
    /// packet offline, with nothing but the packet and the published keys (`--keys`).
    Evidence(evidence::EvidenceArgs),
    /// The audit report: one row per case opened in a time range, with the HR event, per-target
    /// actions, removal times, actors, escalations and the verdict; as CSV, JSON or a
    /// self-contained HTML page with time-to-revoke per target and open escalations by owner.
    Report(report::ReportArgs),
    /// Deliver escalations to the configured webhook (`[escalations] webhook_url`): consumes
    /// `revoke.escalations` as group `revoke-escalation-webhook`, POSTs each as JSON, retries
    /// with backoff, and commits only what was delivered.
    Webhook,
    /// The OpenID Shared Signals transmitter (`[signals]`): consumes `revoke.cases` as group
    /// `revoke-signals`, sends each receiver the CAEP/RISC Security Event Tokens a case owes
    /// (push or poll), serves its SSF metadata and JWKS on the metrics listener, and reports
    /// each delivery as evidence.
    Signals,
    /// List what the blast-radius guard held: each batch, why, the identities still waiting,
    /// the digest of that list (for `approve --digest`) and the decisions on it (undecided
    /// first).
    Guard(guard::GuardArgs),
    /// Release a batch the blast-radius guard held (`--digest` from `revoke guard` required;
    /// `--only`/`--except` for part of it): exactly the cases reviewed go to the workers, and
    /// the approval (who, when, note) becomes part of each case's evidence.
    Approve(guard::DecideArgs),
    /// Drop a batch the blast-radius guard held (`--digest` optional, `--only`/`--except` for
    /// part of it): its cases end `rejected`, nothing revoked.
    Reject(guard::DecideArgs),
    /// Decide a case waiting for its closure review (`awaiting_review`): `--accept` closes it,
    /// `--reject` reopens the attested steps or targets (or those named by `--reopen`) and
    /// escalates to their owner. `--digest` is the evidence digest `revoke case` printed; the
    /// reviewer may not be the case's attester, approver or owner.
    Review(review::ReviewArgs),
    /// Read again, for closed cases, every object the evidence says is gone (changing nothing):
    /// one line per object — still gone, RETURNED, could not read — and an `access_returned`
    /// finding on the confirmations topic for each object present again, for the verifier to
    /// escalate. Exit code 3 when access returned, 4 when something could not be read.
    Verify(verify::VerifyArgs),
    /// Keep watching closed cases (long-running, like `webhook`): for `verifier.watch_secs`
    /// after a case closed, ask the targets that keep a sign-in log for sign-ins by the leaver
    /// since the removal (each one an `access_after_departure` finding, reported once); with
    /// `verifier.reverify_every_secs`, run `revoke verify` on that period. Only reads targets.
    Watch,
    /// People who decide (`[[people]]`): `revoke person keygen --id ID` makes a person's key
    /// pair (private key to a 0600 file, public key printed for the config).
    Person {
        #[command(subcommand)]
        command: person::PersonCommand,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("revoke: {e}");
            e.exit_code()
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, CommandError> {
    let mut cfg =
        Config::load(cli.config.as_deref(), std::env::vars()).map_err(CommandError::usage)?;
    if let Some(b) = &cli.brokers {
        cfg.kafka.brokers = b.clone();
    }
    if let Some(m) = &cli.metrics_listen {
        cfg.metrics.listen = m.clone();
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<(), CommandError> {
    // An auditor verifies a packet with nothing but the packet: no config, no broker.
    if let Command::Evidence(evidence::EvidenceArgs {
        command: evidence::EvidenceCommand::Verify { packet, keys },
    }) = &cli.command
    {
        return evidence::verify_packet(packet, keys.as_ref(), emit);
    }
    let cfg = load_config(&cli)?;
    let leader_wait = cli.leader_wait_secs;
    match cli.command {
        Command::Demo(a) => demo::command(cfg, &a, emit),
        Command::Verifier => launch::verifier(&cfg),
        Command::Worker(w) => launch::worker(&cfg, w),
        Command::Webhook => launch::webhook(&cfg),
        Command::Signals => launch::signals(&cfg),
        Command::Publish(p) => publish::command(&cfg, &p, leader_wait, emit),
        Command::Topics {
            command: topics::TopicsCommand::Create,
        } => topics::create(&cfg, emit),
        Command::Case(c) => case::command(&cfg, c, leader_wait, emit),
        Command::Report(r) => report::run(&cfg, &r, emit),
        Command::Evidence(a) => evidence::command(&cfg, &a, emit),
        Command::Guard(g) => guard::list(&cfg, &g, emit),
        Command::Approve(a) => guard::command(&cfg, &a, Decision::Approve, leader_wait, emit),
        Command::Reject(a) => guard::command(&cfg, &a, Decision::Reject, leader_wait, emit),
        Command::Review(r) => review::command(&cfg, &r, leader_wait, emit),
        Command::Verify(v) => verify::command(&cfg, &v, leader_wait, emit),
        Command::Watch => watch::command(&cfg),
        Command::Person { command } => person::command(&command, emit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_format_of(args: &[&str]) -> Result<LogFormat, clap::Error> {
        Cli::try_parse_from(args).map(|cli| cli.log_format)
    }

    #[test]
    fn log_format_takes_text_or_json_and_defaults_to_text() {
        assert_eq!(
            log_format_of(&["revoke", "verifier"]).unwrap(),
            LogFormat::Text
        );
        assert_eq!(
            log_format_of(&["revoke", "--log-format", "json", "verifier"]).unwrap(),
            LogFormat::Json
        );
        assert_eq!(
            log_format_of(&["revoke", "verifier", "--log-format", "text"]).unwrap(),
            LogFormat::Text
        );
        let e = log_format_of(&["revoke", "--log-format", "xml", "verifier"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(
            e.to_string().contains("[possible values: text, json]"),
            "{e}"
        );
    }
}

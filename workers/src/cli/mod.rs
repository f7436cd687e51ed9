//! The `revoke` command line: the arguments, and which command runs. Exit codes: 0 success,
//! 1 the job failed, 2 bad usage or config (`error::CommandError`); `revoke verify` also 3
//! (access returned) and 4 (something could not be read); `revoke cases rebuild --check` 3
//! (some case differs from what its inputs make).
//!
//! One file per command: `demo`, `launch` (the long-running `worker`, `verifier`, `webhook`),
//! `publish`, `topics`, `case` (and `case ack`), `report`, `guard` (and `approve`, `reject`),
//! `verify`, `watch`, `evidence` (and `case --verify`, `report --verify`), `completions` (and
//! `man`), `schema`, `replay`, `cases` (`rebuild --check`).
//! `shell` is what the one-shot commands share, `target` the `--target` parser. The commands
//! use the library (`crate::cases`, `crate::report`, `crate::hr`, `crate::topics`, ...); nothing
//! outside `cli` imports from it.

pub mod case;
pub mod cases;
pub mod completions;
pub mod decision_io;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod guard;
pub mod launch;
pub mod person;
pub mod person_key;
pub mod publish;
pub mod replay;
pub mod report;
pub mod review;
pub mod schema;
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

/// `revoke --version`: the crate's version and the commit it was built from (see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("REVOKE_BUILD_COMMIT"),
    ")"
);

/// revoke: when someone leaves, every access they had is gone within seconds, verified, with
/// evidence an auditor accepts.
///
/// HR publishes termination events (CloudEvents) to Kafka; one worker group per target kind
/// (directory, saas, cloud, vault, cicd) revokes, reads back and confirms; the verifier closes
/// each case or escalates it to a named owner.
#[derive(Parser, Debug)]
#[command(name = "revoke", version = VERSION, propagate_version = true)]
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
    /// How long a one-shot command (case, report, publish, guard, approve, reject, review,
    /// verify, evidence export, topics) waits for a broker to answer at all, in seconds: past
    /// it the command fails with exit code 1 and one line naming the address and what to check.
    /// The long-running processes (worker, verifier, webhook, signals, watch) ignore it and keep
    /// waiting for the broker.
    #[arg(long, global = true, env = "REVOKE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
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
    /// All cases at once: `revoke cases rebuild --check` re-derives every case from the input
    /// topics with the verifier's own state machine, offline, and compares with the cases topic
    /// (exit 0 equal, 3 different, listing per case which field, expected and actual).
    Cases {
        #[command(subcommand)]
        command: cases::CasesCommand,
    },
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
    /// Re-drive past terminations through their targets as marked replays (incident response:
    /// a restore from backup undid removals, a target was broken and is fixed). Takes the
    /// terminations recorded on the terminations topic in `[--from, --to)`, and for each case
    /// that holds one asks the verifier for a replay case: through the blast-radius guard like
    /// a new termination, never for a rescinded, rejected, held or not yet effective case, never
    /// on a target the case did not require; idempotent at the targets ("already absent").
    /// `--dry-run` lists what would be re-driven and what would be skipped and why.
    Replay(replay::ReplayArgs),
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
    /// Print a shell completion script on stdout, e.g. `revoke completions bash >
    /// /etc/bash_completion.d/revoke`, or `source <(revoke completions bash)`; for zsh, fish,
    /// elvish and powershell likewise. Needs no config.
    Completions(completions::CompletionsArgs),
    /// The published contracts as JSON Schema, generated from the contract types: without a
    /// name, the list (name and topic); with one, that schema; `--out DIR` writes them all (how
    /// docs/contracts/schemas is made), `--check DIR` fails when those in DIR differ from the
    /// types. Needs no config.
    Schema(schema::SchemaArgs),
    /// Print the manual page (roff) on stdout: `revoke man > revoke.1 && man -l revoke.1`;
    /// `revoke man case` prints revoke-case(1). Needs no config.
    Man(completions::ManArgs),
}

pub fn main() -> ExitCode {
    revoke_shared::metrics::set_build_info(env!("CARGO_PKG_VERSION"), env!("REVOKE_BUILD_COMMIT"));
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
    // Completions and the manual come from the command line's definition alone.
    match &cli.command {
        Command::Completions(a) => return completions::print_completions(a, emit),
        Command::Man(a) => return completions::print_man(a, emit),
        Command::Schema(a) => return schema::command(a, emit),
        _ => {}
    }
    let cfg = load_config(&cli)?;
    if cli.command.asks_the_broker_once() {
        broker_reachable(&cfg, cli.timeout)?;
    }
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
        Command::Cases { command } => cases::command(&cfg, &command, emit),
        Command::Report(r) => report::run(&cfg, &r, emit),
        Command::Evidence(a) => evidence::command(&cfg, &a, emit),
        Command::Guard(g) => guard::list(&cfg, &g, emit),
        Command::Approve(a) => guard::command(&cfg, &a, Decision::Approve, leader_wait, emit),
        Command::Reject(a) => guard::command(&cfg, &a, Decision::Reject, leader_wait, emit),
        Command::Review(r) => review::command(&cfg, &r, leader_wait, emit),
        Command::Verify(v) => verify::command(&cfg, &v, leader_wait, emit),
        Command::Replay(r) => replay::command(&cfg, &r, leader_wait, emit),
        Command::Watch => watch::command(&cfg),
        Command::Person { command } => person::command(&command, emit),
        Command::Completions(a) => completions::print_completions(&a, emit),
        Command::Man(a) => completions::print_man(&a, emit),
        Command::Schema(a) => schema::command(&a, emit),
    }
}

impl Command {
    /// A one-shot command that talks to the broker: it checks first that one answers (within
    /// `--timeout`). The long-running processes wait for the broker instead, and the demo, the
    /// offline commands and `evidence verify` need none.
    fn asks_the_broker_once(&self) -> bool {
        match self {
            Command::Publish(_)
            | Command::Topics { .. }
            | Command::Case(_)
            | Command::Report(_)
            | Command::Guard(_)
            | Command::Approve(_)
            | Command::Reject(_)
            | Command::Review(_)
            | Command::Verify(_)
            | Command::Replay(_)
            | Command::Cases { .. } => true,
            Command::Evidence(a) => !matches!(a.command, evidence::EvidenceCommand::Verify { .. }),
            Command::Demo(_)
            | Command::Worker(_)
            | Command::Verifier
            | Command::Webhook
            | Command::Signals
            | Command::Watch
            | Command::Person { .. }
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Schema(_) => false,
        }
    }
}

/// Fails (exit 1, one line) when no broker answers within `secs`; librdkafka's own retries and
/// their log lines stay inside the check.
fn broker_reachable(cfg: &Config, secs: u64) -> Result<(), CommandError> {
    use revoke_shared::reach::{check_reachable, ReachError};
    check_reachable(cfg, std::time::Duration::from_secs(secs)).map_err(|e| match e {
        ReachError::Client { .. } => CommandError::usage(e),
        ReachError::Unreachable { .. } => CommandError::job(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_format_of(args: &[&str]) -> Result<LogFormat, clap::Error> {
        Cli::try_parse_from(args).map(|cli| cli.log_format)
    }

    fn asks(args: &[&str]) -> bool {
        let mut all = vec!["revoke"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .unwrap()
            .command
            .asks_the_broker_once()
    }

    #[test]
    fn only_one_shot_commands_give_up_on_an_unreachable_broker() {
        for one_shot in [
            &["case", "E1"][..],
            &["report"],
            &["guard"],
            &["topics", "create"],
            &["evidence", "export", "C1"],
        ] {
            assert!(asks(one_shot), "{one_shot:?}");
        }
        for waits_or_offline in [
            &["verifier"][..],
            &["worker", "--target", "saas"],
            &["webhook"],
            &["signals"],
            &["watch"],
            &["demo"],
            &["evidence", "verify", "p.json"],
            &["person", "keygen", "--id", "ann"],
        ] {
            assert!(!asks(waits_or_offline), "{waits_or_offline:?}");
        }
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

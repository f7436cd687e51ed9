//! `revoke cases rebuild --check [--json]`: re-derives every case from the verifier's input
//! topics with the verifier's own pure state machine and guard, offline, and compares them with
//! the latest versions on the cases topic (`crate::verifier::offline`): per case that differs,
//! which field, expected (re-derived) and actual (on the topic).
//!
//! Exit codes: 0 every case equal; 3 some case differs (listed); 1 a topic could not be read;
//! 2 bad usage (`rebuild` without `--check`: the cases topic is the verifier's changelog and is
//! never rewritten by a command).

use crate::cli::error::CommandError;
use crate::verifier::offline::{self, CaseDifference, CheckReport};
use revoke_shared::config::Config;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum CasesCommand {
    /// Re-derive every case from the input topics (terminations, confirmations, guard log) by
    /// running the verifier's state machine offline, each input at its record time, and
    /// compare with the latest versions on the cases topic. Times from the verifier's own clock
    /// are compared only for being set; `revision` and the seal are not compared (see
    /// docs/operations.md). Exit 0 equal, 3 different.
    Rebuild(RebuildArgs),
}

#[derive(clap::Args, Debug)]
pub struct RebuildArgs {
    /// Compare only, writing nothing (required: the cases topic is never rewritten).
    #[arg(long)]
    pub check: bool,
    /// Print the differences as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn command(cfg: &Config, c: &CasesCommand, emit: fn(&str)) -> Result<(), CommandError> {
    let CasesCommand::Rebuild(a) = c;
    if !a.check {
        return Err(CommandError::usage(anyhow::anyhow!(
            "`revoke cases rebuild` only checks (--check): the cases topic is the verifier's changelog, written by the verifier alone"
        )));
    }
    let (steps, actual) =
        offline::read::read_all(cfg, Duration::from_secs(120)).map_err(|(topic, e)| {
            CommandError::job(anyhow::anyhow!(
                "reading {topic}: {e} (check --brokers and that `revoke topics create` ran)"
            ))
        })?;
    let inputs = steps
        .iter()
        .filter(|s| matches!(s, offline::inputs::Step::Record(_)))
        .count();
    let report = offline::check(cfg, steps, &actual).map_err(|e| {
        CommandError::usage(anyhow::anyhow!(
            "the verifier's keys in the configuration cannot be read: {e}"
        ))
    })?;
    if a.json {
        emit(&to_json(&report));
    } else {
        emit(&render(&report, inputs, &cfg.topics.cases));
    }
    if report.equal() {
        return Ok(());
    }
    Err(CommandError::Found(
        3,
        anyhow::anyhow!(
            "{} case{} on {} differ{} from what the inputs make",
            report.different.len(),
            if report.different.len() == 1 { "" } else { "s" },
            cfg.topics.cases,
            if report.different.len() == 1 { "s" } else { "" }
        ),
    ))
}

fn why(d: &CaseDifference) -> String {
    match d {
        CaseDifference::NotDerived => {
            "on the cases topic, but no input makes it (a case record no termination, report or decision explains)".into()
        }
        CaseDifference::Missing => "the inputs make it, but the cases topic has no version of it".into(),
        CaseDifference::Partitions(p) => format!(
            "its versions are on partitions {p:?} of the cases topic: one case lives on one partition"
        ),
        CaseDifference::Fields(_, n) => {
            format!("{n} field{} differ{}", if *n == 1 { "" } else { "s" }, if *n == 1 { "s" } else { "" })
        }
    }
}

fn render(r: &CheckReport, inputs: usize, topic: &str) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for (id, (who, d)) in &r.different {
        let _ = writeln!(s, "case {id} (identity {who}): {}", why(d));
        if let CaseDifference::Fields(list, n) = d {
            for x in list {
                let _ = writeln!(
                    s,
                    "  {}: expected {}, actual {}",
                    x.field, x.expected, x.actual
                );
            }
            if *n > list.len() {
                let _ = writeln!(s, "  … and {} more", n - list.len());
            }
        }
    }
    let c = &r.counts;
    let _ = write!(
        s,
        "re-derived {} case{} from {inputs} input record{} ({} terminations, {} on the confirmations topic, {} on the guard log; {} refused as the verifier refuses them) and compared with {} on {topic}: {} equal, {} different",
        r.derived,
        if r.derived == 1 { "" } else { "s" },
        if inputs == 1 { "" } else { "s" },
        c.terminations,
        c.confirmations,
        c.guard,
        c.refused,
        r.actual,
        r.actual.saturating_sub(
            r.different
                .values()
                .filter(|(_, d)| !matches!(d, CaseDifference::Missing))
                .count()
        ),
        r.different.len()
    );
    s
}

fn to_json(r: &CheckReport) -> String {
    let cases: Vec<serde_json::Value> = r
        .different
        .iter()
        .map(|(id, (who, d))| {
            let fields: Vec<serde_json::Value> = match d {
                CaseDifference::Fields(list, _) => list
                    .iter()
                    .map(|x| {
                        serde_json::json!({
                            "field": x.field, "expected": x.expected, "actual": x.actual,
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            serde_json::json!({
                "case_id": id,
                "identity_id": who,
                "difference": match d {
                    CaseDifference::NotDerived => "not_derived",
                    CaseDifference::Missing => "missing",
                    CaseDifference::Partitions(_) => "partitions",
                    CaseDifference::Fields(..) => "fields",
                },
                "detail": why(d),
                "fields": fields,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "equal": r.equal(),
        "cases_on_topic": r.actual,
        "cases_derived": r.derived,
        "different": cases,
    }))
    .unwrap_or_default()
}

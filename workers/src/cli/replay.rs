//! `revoke replay --from T --to T [--target K] [--identity ID] [--dry-run] --by PERSON
//! [--note TEXT] [--key-file F] [--json]`: re-drive past terminations through their targets as
//! marked replays, for incident responders (a restore from backup undid removals, a target was
//! broken and is fixed).
//!
//! It reads the terminations recorded on the terminations topic in `[--from, --to)` (record
//! time: see `crate::replay`), resolves each to the case that holds it, and decides per case
//! with the verifier's own rules what a replay does — re-drive it through which targets, or skip
//! it and why (rescinded, rejected, held by the guard, not yet effective, another replay under
//! way, no such target, …). `--dry-run` prints that and writes nothing. Otherwise it publishes
//! one replay request per case to re-drive (`revoke.replay_request.v1` on the confirmations
//! topic, keyed by identity, signed with the person's key), and the verifier — which decides
//! again on what it holds then — opens a replay case for each: through the blast-radius guard,
//! like new terminations.
//!
//! Exit codes: 0 listed (dry run) or requested (also when nothing was to re-drive); 1 the job
//! failed (a topic could not be read or written); 2 bad arguments or configuration (a time,
//! `--from` not before `--to`, a key that is not the person's, signing required without a key).

use crate::cli::decision_io::{free_text, read_cases};
use crate::cli::error::CommandError;
use crate::cli::person_key::{signed_record, PersonKeyArgs};
use crate::replay::select::{select, Ask, Candidate};
use chrono::{DateTime, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{replay_case_id, ReplayRequest, TargetKind, REPLAY_REQUEST_SCHEMA};
use std::time::Duration;
use uuid::Uuid;

#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    /// Start of the range: terminations recorded on the terminations topic at or after this
    /// time (RFC 3339, or a date for its midnight UTC).
    #[arg(long)]
    pub from: String,
    /// End of the range, exclusive (RFC 3339, or a date: up to the end of that day).
    #[arg(long)]
    pub to: String,
    /// Run only this target (repeat, or comma-separated); default: every target each case
    /// required. A target a case did not require is skipped for that case.
    #[arg(long, value_delimiter = ',', value_parser = crate::cli::target::target_kind())]
    pub target: Vec<TargetKind>,
    /// Only this identity's terminations (its employee id, the events' `subject`).
    #[arg(long)]
    pub identity: Option<String>,
    /// List what would be re-driven and what would be skipped and why; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The person asking (`[[people]]` id, `approver` role): a replay changes access.
    #[arg(long, required_unless_present = "dry_run")]
    pub by: Option<String>,
    /// Why, in words (the incident, the ticket).
    #[arg(long)]
    pub note: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub key: PersonKeyArgs,
}

/// The checked arguments.
struct Checked {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: Option<String>,
    note: Option<String>,
    identity: Option<String>,
}

fn check_args(a: &ReplayArgs) -> Result<Checked, CommandError> {
    let time = |flag: &str, v: &str, end: bool| {
        crate::report::parse_time(v, end)
            .map_err(|e| CommandError::usage(anyhow::anyhow!("--{flag}: {e}")))
    };
    let (from, to) = (time("from", &a.from, false)?, time("to", &a.to, true)?);
    if from >= to {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--from {} is not before --to {}",
            from.to_rfc3339(),
            to.to_rfc3339()
        )));
    }
    Ok(Checked {
        from,
        to,
        by: a
            .by
            .as_deref()
            .map(|b| free_text("by", b, 256))
            .transpose()?,
        note: a
            .note
            .as_deref()
            .map(|n| free_text("note", n, 1024))
            .transpose()?,
        identity: a
            .identity
            .as_deref()
            .map(|i| free_text("identity", i, 256))
            .transpose()?,
    })
}

pub fn command(
    cfg: &Config,
    a: &ReplayArgs,
    leader_wait: u64,
    emit: fn(&str),
) -> Result<(), CommandError> {
    let c = check_args(a)?;
    // The key is checked before anything is read: a wrong one is exit 2, not a dead letter.
    let signer = match (&c.by, a.dry_run) {
        (Some(by), false) => a.key.decision_signer(by, cfg)?,
        _ => None,
    };
    let topics = [&cfg.topics.terminations, &cfg.topics.cases];
    let topics: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
    if !a.dry_run {
        let mut all = topics.clone();
        all.push(&cfg.topics.confirmations);
        crate::cli::shell::wait_for_topics(cfg, &all, leader_wait)?;
    }
    crate::cli::shell::runtime()?.block_on(async {
        let reader_cfg = cfg.clone();
        let (from, to) = (c.from, c.to);
        let in_range = tokio::task::spawn_blocking(move || {
            crate::replay::read::recorded_between(&reader_cfg, from, to, Duration::from_secs(60))
        })
        .await
        .map_err(|e| CommandError::job(anyhow::anyhow!("reading the terminations: {e}")))?
        .map_err(|e| {
            CommandError::job(anyhow::anyhow!(
                "reading {}: {e} (check --brokers and that `revoke topics create` ran)",
                cfg.topics.terminations
            ))
        })?;
        let log = read_cases(cfg).await?;
        let ask = Ask {
            identity: c.identity.clone(),
            targets: a.target.clone(),
        };
        let now = Utc::now();
        let plan = select(&in_range.recorded, &log, &ask, &cfg.verifier, now);
        let replay_id = Uuid::new_v4();
        if a.json {
            emit(&to_json(&plan, replay_id, &c, a.dry_run, in_range.unreadable));
        } else {
            emit(&render(&plan, replay_id, &c, a.dry_run, in_range.unreadable));
        }
        if a.dry_run {
            return Ok(());
        }
        let by = c.by.clone().unwrap_or_default();
        let producer =
            revoke_shared::kafka::Producer::with_timeout(cfg, Duration::from_secs(30))
                .map_err(|e| CommandError::usage(anyhow::anyhow!(e.to_string())))?;
        let mut sent = 0usize;
        for cand in plan.iter().filter(|x| x.decision.is_ok()) {
            let Some(case) = cand.case else { continue };
            let request = ReplayRequest {
                schema: REPLAY_REQUEST_SCHEMA.into(),
                replay_id,
                case_id: case.case_id,
                identity_id: case.identity_id.clone(),
                targets: a.target.clone(),
                from: c.from,
                to: c.to,
                by: by.clone(),
                at: now,
                note: c.note.clone(),
                signature: None,
            };
            let record = signed_record(signer.as_ref(), &request)?;
            let bytes = serde_json::to_vec(&record)
                .map_err(|e| CommandError::job(anyhow::anyhow!("encoding the request: {e}")))?;
            producer
                .send_bytes(&cfg.topics.confirmations, &case.identity_id, &bytes, &[], None)
                .await
                .map_err(|e| {
                    CommandError::job(anyhow::anyhow!(
                        "publishing the replay request for case {} ({sent} sent before it): {e}; run the command again (requests already taken are refused as replayed, nothing runs twice)",
                        case.case_id
                    ))
                })?;
            sent += 1;
        }
        if !a.json {
            emit(&format!(
                "requested: {sent} replay{} (replay {replay_id}); the verifier opens a replay case for each — through the blast-radius guard — and dead-letters any it refuses; follow with `revoke case <case id>` (its replays are listed under it){}",
                if sent == 1 { "" } else { "s" },
                if cfg.verifier.guard.enabled { " and `revoke guard`" } else { "" }
            ));
        }
        Ok(())
    })
}

/// The plan for people: one line per case (or termination without a case).
fn render(
    plan: &[Candidate<'_>],
    replay_id: Uuid,
    c: &Checked,
    dry_run: bool,
    unreadable: usize,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}{}: terminations recorded from {} to {}{}",
        if dry_run {
            "dry run".to_string()
        } else {
            format!("replay {replay_id}")
        },
        c.by.as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default(),
        crate::cases::ts(c.from),
        crate::cases::ts(c.to),
        c.identity
            .as_deref()
            .map(|i| format!(", identity {i}"))
            .unwrap_or_default()
    );
    let mut runs = 0;
    for x in plan {
        let case = x
            .case
            .map_or_else(|| "-".to_string(), |k| k.case_id.to_string());
        match &x.decision {
            Ok(p) => {
                runs += 1;
                let k = x.case.expect("a plan has its case");
                let targets: Vec<&str> = p.targets.iter().map(|t| t.as_str()).collect();
                // A dry run's ids are its own: the replay run later makes new ones.
                let rc = if dry_run {
                    String::new()
                } else {
                    format!("; replay case {}", replay_case_id(k.case_id, replay_id))
                };
                let _ = writeln!(
                    s,
                    "  re-drive  case {case}  {}  through {}  ({}{}{rc})",
                    x.identity_id,
                    targets.join(", "),
                    k.state.as_str(),
                    k.closed_at
                        .map(|t| format!(" since {}", crate::cases::ts(t)))
                        .unwrap_or_default(),
                );
                for t in &p.skipped {
                    let _ = writeln!(s, "            skip target {}: {}", t.target, t.why);
                }
            }
            Err((reason, detail)) => {
                let _ = writeln!(
                    s,
                    "  skip      case {case}  {}  {reason}: {detail}",
                    x.identity_id
                );
            }
        }
    }
    let _ = write!(
        s,
        "{} case{} touched, {runs} to re-drive, {} skipped",
        plan.len(),
        if plan.len() == 1 { "" } else { "s" },
        plan.len() - runs
    );
    if unreadable > 0 {
        let _ = write!(
            s,
            "; {unreadable} record{} in the range not readable as HR events (dead-lettered when they arrived)",
            if unreadable == 1 { "" } else { "s" }
        );
    }
    if dry_run {
        s.push_str("\ndry run: nothing was written");
    }
    s
}

/// The plan as JSON: what `--json` prints.
fn to_json(
    plan: &[Candidate<'_>],
    replay_id: Uuid,
    c: &Checked,
    dry_run: bool,
    unreadable: usize,
) -> String {
    let cases: Vec<serde_json::Value> = plan
        .iter()
        .map(|x| {
            let mut v = serde_json::json!({
                "case_id": x.case_id(),
                "identity_id": x.identity_id,
                "state": x.case.map(|k| k.state.as_str()),
                "terminations": x.terminations.iter().map(|(src, id, at)| serde_json::json!({
                    "source": src, "event_id": id, "recorded_at": at,
                })).collect::<Vec<_>>(),
            });
            match &x.decision {
                Ok(p) => {
                    v["action"] = "replay".into();
                    v["targets"] = serde_json::json!(p.targets);
                    v["skipped_targets"] = serde_json::json!(p.skipped);
                    if !dry_run {
                        v["replay_case_id"] =
                            serde_json::json!(x.case.map(|k| replay_case_id(k.case_id, replay_id)));
                    }
                }
                Err((reason, detail)) => {
                    v["action"] = "skip".into();
                    v["reason"] = (*reason).into();
                    v["detail"] = detail.clone().into();
                }
            }
            v
        })
        .collect();
    let doc = serde_json::json!({
        "replay_id": (!dry_run).then_some(replay_id),
        "by": c.by,
        "from": c.from,
        "to": c.to,
        "identity": c.identity,
        "dry_run": dry_run,
        "unreadable_records": unreadable,
        "cases": cases,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

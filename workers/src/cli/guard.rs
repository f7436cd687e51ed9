//! `revoke guard`, `revoke approve <batch> --by PERSON`, `revoke reject <batch> --by PERSON`:
//! a person's view of, and decision on, what the blast-radius guard held.
//!
//! The decision is appended to the guard log, where every verifier instance reads it and
//! releases (or drops) the cases of the batch it owns; the person's name and note become part of
//! each case's evidence. An approval binds to exactly what the person reviewed: `revoke guard`
//! prints each batch's digest (of its undecided cases), `--digest` must repeat it (required for
//! `approve`), and the record lists the exact case ids decided (after `--only`/`--except`), so a
//! case that joins the batch later stays held. The command reads the log first (refusing an
//! unknown or decided batch, a stale digest, an identity not waiting in the batch) and again
//! after writing, to report what the fleet will actually do: if two people decide the same case
//! at once, the first decision in the log is the one that counts.
//!
//! The record is signed with the person's key (`--key-file`, `person_key`): with `[[people]]`
//! and `[signing] required`, a decision counts only if its person signed it with their current
//! key and holds the approver role (`guard::read_guard_record`, the verifiers' own judgement,
//! which this command applies too); a refused one changes nothing and the command says why.

use super::error::CommandError;
use super::person_key::{signed_record, PersonKeyArgs};
use super::shell::{runtime, wait_for_topics};
use crate::verifier::guard::{read_guard_record, Batch, Guard, GuardRead, Selection};
use chrono::Utc;
use revoke_shared::config::Config;
use revoke_shared::contract::{BatchDecision, Decision, GuardRecord};
use revoke_shared::kafka::{read_to_end, Producer};
use revoke_shared::signing::record_digest;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct DecideArgs {
    /// The held batch, as the escalation and `revoke guard` name it (`hold-<n>`).
    pub batch: String,
    /// Who decides (a person's name or id): recorded in every case of the batch.
    #[arg(long)]
    pub by: String,
    /// Why, for the record.
    #[arg(long)]
    pub note: Option<String>,
    /// The batch's digest as `revoke guard` printed it: the decision is refused (exit 1) if the
    /// batch's undecided cases changed since. Required for `approve`; for `reject` without it,
    /// the cases waiting when the command reads the log are rejected.
    #[arg(long)]
    pub digest: Option<String>,
    /// Decide only these identities' cases of the batch (comma-separated); the rest stay held.
    #[arg(long, value_delimiter = ',', conflicts_with = "except")]
    pub only: Vec<String>,
    /// Decide every undecided case of the batch except these identities' (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub except: Vec<String>,
    #[command(flatten)]
    pub key: PersonKeyArgs,
}

#[derive(clap::Args, Debug)]
pub struct GuardArgs {
    /// One JSON object per batch instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The guard log judged from its start, as every verifier judges it.
pub fn read_guard(cfg: &Config) -> Result<Guard, CommandError> {
    read_guard_refusals(cfg).map(|(guard, _)| guard)
}

/// `read_guard`, with the decisions it refused: (digest of the record as logged, why).
fn read_guard_refusals(cfg: &Config) -> Result<(Guard, Vec<(String, String)>), CommandError> {
    let records = read_to_end(cfg, &cfg.topics.guard, Duration::from_secs(30)).map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "reading the guard log {}: {e} (check --brokers and that `revoke topics create` ran)",
            cfg.topics.guard
        ))
    })?;
    let mut guard = Guard::new(cfg.verifier.guard.clone());
    let mut refused = Vec::new();
    for r in records {
        let Some(payload) = r.payload else { continue };
        match read_guard_record(&payload, &cfg.people, cfg.signing.required) {
            GuardRead::Counts { entry, proof } => {
                guard.apply_proven(r.offset, &entry, proof);
            }
            GuardRead::Refused { refusal, .. } => {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&payload) {
                    refused.push((record_digest(&v), refusal.to_string()));
                }
            }
            GuardRead::Unreadable(_) => {}
        }
    }
    Ok((guard, refused))
}

fn decided_word(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
    }
}

fn describe(b: &Batch) -> String {
    let waiting: Vec<&str> = b.undecided().map(|(_, who)| who.as_str()).collect();
    let mut decided = b
        .decisions
        .iter()
        .zip(&b.proofs)
        .map(|(d, proof)| {
            let n = b
                .cases
                .iter()
                .filter(|(id, _)| b.decision_of(id) == Some(d))
                .count();
            format!(
                "{n} {} by {} ({}) at {}{}",
                decided_word(d.decision),
                d.by,
                proof
                    .as_ref()
                    .map_or("unauthenticated", |p| p.authenticity.as_str()),
                d.at.to_rfc3339(),
                d.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    if decided.is_empty() {
        decided = "none decided".into();
    }
    let state = if waiting.is_empty() {
        decided
    } else {
        format!(
            "{} waiting for a decision, digest {} ({decided})",
            waiting.len(),
            b.digest()
        )
    };
    let mut s = format!(
        "{}: {} case{} held {} .. {}: {state}\n  why: {}",
        b.id,
        b.cases.len(),
        if b.cases.len() == 1 { "" } else { "s" },
        b.opened_at.to_rfc3339(),
        b.last_at.to_rfc3339(),
        b.why
    );
    if !waiting.is_empty() {
        let shown = &waiting[..waiting.len().min(10)];
        s.push_str(&format!(
            "\n  waiting: {}{}",
            shown.join(", "),
            if waiting.len() > shown.len() {
                format!(
                    " … and {} more (`revoke guard --json` lists all)",
                    waiting.len() - shown.len()
                )
            } else {
                String::new()
            }
        ));
    }
    s
}

/// `revoke guard`: the batches the guard lists (every undecided one, decided ones for two
/// windows after their last decision), undecided first.
pub fn list(cfg: &Config, args: &GuardArgs, out: impl Fn(&str)) -> Result<(), CommandError> {
    let guard = read_guard(cfg)?;
    let mut batches: Vec<&Batch> = guard.batches().iter().collect();
    batches.sort_by_key(|b| (b.is_decided(), b.opened_at));
    if args.json {
        for b in batches {
            let v = serde_json::json!({
                "batch": b.id,
                "opened_at": b.opened_at,
                "last_at": b.last_at,
                "why": b.why,
                "digest": (!b.is_decided()).then(|| b.digest()),
                "cases": b.cases.iter().map(|(id, who)| serde_json::json!({
                    "case_id": id,
                    "identity_id": who,
                    "decision": b.decision_of(id).map(|d| d.decision),
                })).collect::<Vec<_>>(),
                "decisions": b.decisions,
            });
            out(&v.to_string());
        }
        return Ok(());
    }
    if batches.is_empty() {
        out("the blast-radius guard has held nothing");
    }
    for b in batches {
        out(&describe(b));
    }
    Ok(())
}

/// `revoke approve` and `revoke reject`: checks the arguments before waiting for the guard
/// topic, then `decide`s.
pub fn command(
    cfg: &Config,
    args: &DecideArgs,
    decision: Decision,
    leader_wait: u64,
    emit: fn(&str),
) -> Result<(), CommandError> {
    let by = person_deciding(args)?;
    args.key.decision_signer(by, cfg)?;
    // An approval grants the workers a batch: it must name the list the person reviewed.
    if decision == Decision::Approve && args.digest.as_deref().is_none_or(|d| d.trim().is_empty()) {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--digest is required: run `revoke guard` and pass the digest it prints for {}",
            args.batch
        )));
    }
    wait_for_topics(cfg, &[&cfg.topics.guard], leader_wait)?;
    runtime()?.block_on(decide(cfg, args, decision, emit))
}

/// `--by`, trimmed; empty is a usage error.
fn person_deciding(args: &DecideArgs) -> Result<&str, CommandError> {
    let by = args.by.trim();
    if by.is_empty() {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--by must name the person deciding"
        )));
    }
    Ok(by)
}

/// `revoke approve|reject`: records the decision, then reads it back from the log.
pub async fn decide(
    cfg: &Config,
    args: &DecideArgs,
    decision: Decision,
    out: impl Fn(&str),
) -> Result<(), CommandError> {
    let by = person_deciding(args)?;
    let signer = args.key.decision_signer(by, cfg)?;
    let batch = args.batch.trim().to_string();
    let sel = Selection {
        only: names(&args.only),
        except: names(&args.except),
    };
    let (digest, cases) = {
        let cfg = cfg.clone();
        let guard = tokio::task::spawn_blocking(move || read_guard(&cfg))
            .await
            .map_err(|e| CommandError::job(anyhow::anyhow!(e.to_string())))??;
        let cases = guard
            .select(&batch, args.digest.as_deref(), &sel)
            .map_err(|e| CommandError::job(anyhow::anyhow!(e)))?;
        let held = guard
            .check_decision(&batch)
            .map_err(|e| CommandError::job(anyhow::anyhow!(e)))?;
        out(&describe(held));
        (held.digest(), cases)
    };
    let ids: Vec<uuid::Uuid> = cases.iter().map(|(id, _)| *id).collect();
    let producer = Producer::with_timeout(cfg, Duration::from_secs(30))
        .map_err(|e| CommandError::job(anyhow::anyhow!(e.to_string())))?;
    let record = GuardRecord::decision(BatchDecision {
        batch: batch.clone(),
        decision,
        by: by.to_string(),
        at: Utc::now(),
        note: args.note.clone(),
        digest: Some(digest),
        cases: Some(ids.clone()),
    });
    // The record as published: signed by the person when a key is given.
    let record = signed_record(signer.as_ref(), &record)?;
    let digest_logged = record_digest(&record);
    producer
        .send_json(&cfg.topics.guard, &batch, &record, Some(0))
        .await
        .map_err(|e| CommandError::job(anyhow::anyhow!("recording the decision: {e}")))?;
    // What counts is the first decision on each case in the log.
    let (guard, refused) = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || read_guard_refusals(&cfg))
            .await
            .map_err(|e| CommandError::job(anyhow::anyhow!(e.to_string())))??
    };
    if let Some((_, why)) = refused.iter().find(|(d, _)| *d == digest_logged) {
        return Err(CommandError::job(anyhow::anyhow!(
            "the fleet refuses this decision on {batch}, nothing was decided (it is in the dead-letter topic): {why}"
        )));
    }
    let b = guard.batch(&batch).ok_or_else(|| {
        CommandError::job(anyhow::anyhow!("batch {batch} vanished from the guard log"))
    })?;
    let mine = |id: &uuid::Uuid| {
        b.decision_of(id)
            .is_some_and(|d| d.by == by && d.decision == decision && d.cases.as_ref() == Some(&ids))
    };
    let taken = ids.iter().filter(|id| mine(id)).count();
    let others: Vec<String> = ids
        .iter()
        .filter_map(|id| b.decision_of(id).filter(|_| !mine(id)))
        .map(|d| format!("{} by {}", decided_word(d.decision), d.by))
        .collect();
    if taken == 0 && others.is_empty() {
        return Err(CommandError::job(anyhow::anyhow!(
            "the decision on {batch} was written but is not in the guard log yet; run `revoke guard` to check"
        )));
    }
    if taken == 0 {
        return Err(CommandError::job(anyhow::anyhow!(
            "batch {batch} was decided by someone else first: {}; your decision changed nothing",
            others.join(", ")
        )));
    }
    let left = b.undecided().count();
    out(&format!(
        "{} batch {batch}: {taken} case{} {}{}{}",
        decided_word(decision),
        if taken == 1 { "" } else { "s" },
        match decision {
            Decision::Approve =>
                "released to the workers now; the approval is in each case's evidence",
            Decision::Reject => "dropped: nothing in them is revoked",
        },
        if others.is_empty() {
            String::new()
        } else {
            format!(
                "; {} were decided by someone else first ({})",
                others.len(),
                others.join(", ")
            )
        },
        if left == 0 {
            String::new()
        } else {
            format!(
                "; {left} still held (digest {}), see `revoke guard`",
                b.digest()
            )
        }
    ));
    Ok(())
}

/// Identities from `--only`/`--except`, trimmed, blanks dropped.
fn names(v: &[String]) -> Vec<String> {
    v.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

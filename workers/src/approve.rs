//! `revoke guard`, `revoke approve <batch> --by PERSON`, `revoke reject <batch> --by PERSON`:
//! a person's view of, and decision on, what the blast-radius guard held.
//!
//! The decision is appended to the guard log, where every verifier instance reads it and
//! releases (or drops) the cases of the batch it owns; the person's name and note become part of
//! each case's evidence. The command reads the log first (refusing an unknown or already decided
//! batch) and again after writing, to report what the fleet will actually do: if two people
//! decide at once, the first decision in the log is the one that counts.

use crate::verifier::guard::{Batch, Guard};
use chrono::Utc;
use revoke_shared::config::Config;
use revoke_shared::contract::{BatchDecision, Decision, GuardRecord, GUARD_SCHEMA};
use revoke_shared::kafka::{read_to_end, Producer};
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
}

#[derive(clap::Args, Debug)]
pub struct GuardArgs {
    /// One JSON object per batch instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Job(String),
}

impl DecideError {
    pub fn is_usage(&self) -> bool {
        matches!(self, DecideError::Usage(_))
    }
}

/// The guard log judged from its start, as every verifier judges it.
pub fn read_guard(cfg: &Config) -> Result<Guard, DecideError> {
    let records = read_to_end(cfg, &cfg.topics.guard, Duration::from_secs(30)).map_err(|e| {
        DecideError::Job(format!(
            "reading the guard log {}: {e} (check --brokers and that `revoke topics create` ran)",
            cfg.topics.guard
        ))
    })?;
    let mut guard = Guard::new(cfg.verifier.guard.clone());
    for r in records {
        let Some(payload) = r.payload else { continue };
        if let Ok(rec) = serde_json::from_slice::<GuardRecord>(&payload) {
            if rec.schema == GUARD_SCHEMA {
                guard.apply(r.offset, &rec.entry);
            }
        }
    }
    Ok(guard)
}

fn describe(b: &Batch) -> String {
    let state = match &b.decision {
        None => "held, waiting for a decision".to_string(),
        Some(d) => format!(
            "{} by {} at {}{}",
            match d.decision {
                Decision::Approve => "approved",
                Decision::Reject => "rejected",
            },
            d.by,
            d.at.to_rfc3339(),
            d.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
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
    let shown: Vec<&str> = b
        .cases
        .iter()
        .take(10)
        .map(|(_, who)| who.as_str())
        .collect();
    s.push_str(&format!(
        "\n  identities: {}{}",
        shown.join(", "),
        if b.cases.len() > shown.len() {
            format!(" … and {} more", b.cases.len() - shown.len())
        } else {
            String::new()
        }
    ));
    s
}

/// `revoke guard`: every batch the guard held, undecided first.
pub fn list(cfg: &Config, args: &GuardArgs, out: impl Fn(&str)) -> Result<(), DecideError> {
    let guard = read_guard(cfg)?;
    let mut batches: Vec<&Batch> = guard.batches().iter().collect();
    batches.sort_by_key(|b| (b.decision.is_some(), b.opened_at));
    if args.json {
        for b in batches {
            let v = serde_json::json!({
                "batch": b.id,
                "opened_at": b.opened_at,
                "last_at": b.last_at,
                "why": b.why,
                "cases": b.cases.iter().map(|(id, who)| serde_json::json!({"case_id": id, "identity_id": who})).collect::<Vec<_>>(),
                "decision": b.decision,
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

/// `revoke approve|reject`: records the decision, then reads it back from the log.
pub async fn decide(
    cfg: &Config,
    args: &DecideArgs,
    decision: Decision,
    out: impl Fn(&str),
) -> Result<(), DecideError> {
    let by = args.by.trim();
    if by.is_empty() {
        return Err(DecideError::Usage(
            "--by must name the person deciding".into(),
        ));
    }
    let batch = args.batch.trim().to_string();
    {
        let cfg = cfg.clone();
        let batch = batch.clone();
        let guard = tokio::task::spawn_blocking(move || read_guard(&cfg))
            .await
            .map_err(|e| DecideError::Job(e.to_string()))??;
        let held = guard.check_decision(&batch).map_err(DecideError::Job)?;
        out(&describe(held));
    }
    let producer = Producer::with_timeout(cfg, Duration::from_secs(30))
        .map_err(|e| DecideError::Job(e.to_string()))?;
    let record = GuardRecord::decision(BatchDecision {
        batch: batch.clone(),
        decision,
        by: by.to_string(),
        at: Utc::now(),
        note: args.note.clone(),
    });
    producer
        .send_json(&cfg.topics.guard, &batch, &record, Some(0))
        .await
        .map_err(|e| DecideError::Job(format!("recording the decision: {e}")))?;
    // What counts is the first decision in the log.
    let guard = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || read_guard(&cfg))
            .await
            .map_err(|e| DecideError::Job(e.to_string()))??
    };
    let b = guard
        .batch(&batch)
        .ok_or_else(|| DecideError::Job(format!("batch {batch} vanished from the guard log")))?;
    match &b.decision {
        Some(d) if d.by == by && d.decision == decision => {
            out(&format!(
                "{} batch {batch}: {} case{} {}",
                match decision {
                    Decision::Approve => "approved",
                    Decision::Reject => "rejected",
                },
                b.cases.len(),
                if b.cases.len() == 1 { "" } else { "s" },
                match decision {
                    Decision::Approve =>
                        "released to the workers now; the approval is in each case's evidence",
                    Decision::Reject => "dropped: nothing in them is revoked",
                }
            ));
            Ok(())
        }
        Some(d) => Err(DecideError::Job(format!(
            "batch {batch} was decided by someone else first: {} by {}; your decision changed nothing",
            d.decision.as_str(),
            d.by
        ))),
        None => Err(DecideError::Job(format!(
            "the decision on {batch} was written but is not in the guard log yet; run `revoke guard` to check"
        ))),
    }
}

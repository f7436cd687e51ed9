//! `revoke review <case> --accept|--reject --by REVIEWER --digest sha256:… [--reopen a,b]
//! [--note …] [--key-file F]`: a closure reviewer's decision on a case waiting in
//! `awaiting_review`. The decision binds to the evidence digest `revoke case` printed
//! (`Case::evidence_digest`); it is published as a signed `revoke.review.v1` record on the
//! confirmations topic (keyed by the case's identity), and the verifier decides: accept closes
//! the case, reject reopens the named steps or targets (default: every attested one) and
//! escalates to the owner. The verifier refuses a review by the case's attester, approver or
//! owner, by someone without the `reviewer` role, or on evidence that changed since.
//!
//! Refused before anything is published: bad arguments (exit 2); an unknown case, a case not
//! awaiting review, a digest that differs from the case's evidence now, a `--reopen` name the
//! case does not have (exit 1).

use crate::cli::case::ack::resolve;
use crate::cli::decision_io::{free_text, publish, read_cases, signed};
use crate::cli::error::CommandError;
use crate::cli::person_key::PersonKeyArgs;
use chrono::{DateTime, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{
    Case, CaseState, ReviewRecord, ReviewVerdict, TargetKind, REVIEW_SCHEMA,
};
use uuid::Uuid;

#[derive(clap::Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["accept", "reject"])))]
pub struct ReviewArgs {
    /// The case id (as `revoke case` prints it), or an identity id with one case not closed.
    pub case: String,
    /// The evidence is enough: close the case.
    #[arg(long)]
    pub accept: bool,
    /// It is not: reopen the steps or targets named by `--reopen` (default: every attested
    /// one) and escalate to their owner.
    #[arg(long)]
    pub reject: bool,
    /// The reviewer's person id (`[[people]]`).
    #[arg(long)]
    pub by: String,
    /// The evidence digest `revoke case` printed ("evidence digest: sha256:…"): the decision
    /// is about exactly that evidence.
    #[arg(long)]
    pub digest: String,
    /// With `--reject`: the steps or target kinds to reopen, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub reopen: Vec<String>,
    /// Why, in words.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub key: PersonKeyArgs,
}

/// Decides the record to publish for `case` (pure: the caller supplies the time and the id).
pub fn decide(
    case: &Case,
    args: &ReviewArgs,
    by: &str,
    note: Option<String>,
    now: DateTime<Utc>,
    review_id: Uuid,
) -> Result<ReviewRecord, CommandError> {
    let id = case.case_id;
    if case.state != CaseState::AwaitingReview {
        return Err(CommandError::job(anyhow::anyhow!(
            "case {id} is {}, not awaiting review; nothing recorded",
            case.state.as_str()
        )));
    }
    let digest = case.evidence_digest();
    if args.digest.trim() != digest {
        return Err(CommandError::job(anyhow::anyhow!(
            "the evidence of case {id} is {digest} now, not {}: look at it again (`revoke case {id}`) and review what it shows; nothing recorded",
            args.digest.trim()
        )));
    }
    for n in &args.reopen {
        let known = case.steps.contains_key(n)
            || n.parse::<TargetKind>()
                .is_ok_and(|t| case.targets.contains_key(&t));
        if !known {
            return Err(CommandError::job(anyhow::anyhow!(
                "case {id} has no step or target {n:?} to reopen; nothing recorded"
            )));
        }
    }
    Ok(ReviewRecord {
        schema: REVIEW_SCHEMA.into(),
        review_id,
        case_id: id,
        identity_id: case.identity_id.clone(),
        verdict: if args.accept {
            ReviewVerdict::Accept
        } else {
            ReviewVerdict::Reject
        },
        by: by.to_string(),
        at: now,
        evidence_digest: digest,
        reopen: args.reopen.clone(),
        note,
        signature: None,
    })
}

/// Checks the arguments (exit 2 when wrong): the reviewer and note, the digest's form, and that
/// `--reopen` comes only with `--reject`.
pub fn check_args(args: &ReviewArgs) -> Result<(String, Option<String>), CommandError> {
    let by = free_text("by", &args.by, 256)?;
    let note = args
        .note
        .as_deref()
        .map(|n| free_text("note", n, 1024))
        .transpose()?;
    if !args.digest.trim().starts_with("sha256:") {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--digest is the evidence digest `revoke case` prints (sha256:…)"
        )));
    }
    if args.accept && !args.reopen.is_empty() {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--reopen goes with --reject: an accepted case reopens nothing"
        )));
    }
    Ok((by, note))
}

pub async fn run(cfg: &Config, args: &ReviewArgs, emit: fn(&str)) -> Result<(), CommandError> {
    let (by, note) = check_args(args)?;
    let log = read_cases(cfg).await?;
    let case = resolve(&log, args.case.trim())?;
    let record = decide(case, args, &by, note, Utc::now(), Uuid::new_v4())?;
    let value = signed(&record, &by, &args.key, cfg)?;
    let how = if value.get("signature").is_some() {
        "signed"
    } else {
        "unsigned"
    };
    publish(cfg, &record.identity_id, &value, "review").await?;
    emit(&format!(
        "recorded review {} ({how}) of case {} (identity {}): {} by {by} on evidence {}\n  published to the confirmations topic; the verifier checks it and {}",
        record.review_id,
        record.case_id,
        record.identity_id,
        record.verdict.as_str(),
        record.evidence_digest,
        match record.verdict {
            ReviewVerdict::Accept => "closes the case".to_string(),
            ReviewVerdict::Reject if record.reopen.is_empty() => {
                "reopens every attested step and target, escalating to the owner".to_string()
            }
            ReviewVerdict::Reject => format!(
                "reopens {}, escalating to the owner",
                record.reopen.join(", ")
            ),
        }
    ));
    Ok(())
}

/// `revoke review …` from the command line.
pub fn command(
    cfg: &Config,
    args: &ReviewArgs,
    leader_wait: u64,
    emit: fn(&str),
) -> Result<(), CommandError> {
    check_args(args)?;
    crate::cli::shell::wait_for_topics(cfg, &[&cfg.topics.confirmations], leader_wait)?;
    crate::cli::shell::runtime()?.block_on(run(cfg, args, emit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::contract::TargetStatus;

    fn args(digest: &str, reopen: &[&str]) -> ReviewArgs {
        ReviewArgs {
            case: "x".into(),
            accept: reopen.is_empty(),
            reject: !reopen.is_empty(),
            by: "rita".into(),
            digest: digest.into(),
            reopen: reopen.iter().map(|s| s.to_string()).collect(),
            note: None,
            key: Default::default(),
        }
    }

    fn waiting() -> Case {
        let mut c = Case::opened(Uuid::nil(), "E1", vec![TargetKind::Vault], Utc::now());
        c.state = CaseState::AwaitingReview;
        c.steps
            .insert("device_return".into(), TargetStatus::pending());
        c
    }

    #[test]
    fn a_review_binds_to_the_digest_it_was_shown() {
        let c = waiting();
        let d = c.evidence_digest();
        let now = Utc::now();
        let r = decide(&c, &args(&d, &[]), "rita", None, now, Uuid::nil()).unwrap();
        assert_eq!(
            (r.verdict, r.evidence_digest.as_str()),
            (ReviewVerdict::Accept, d.as_str())
        );
        let r = decide(
            &c,
            &args(&d, &["device_return", "vault"]),
            "rita",
            None,
            now,
            Uuid::nil(),
        )
        .unwrap();
        assert_eq!(r.verdict, ReviewVerdict::Reject);
        assert_eq!(r.reopen, vec!["device_return", "vault"]);
        // Stale digest, unknown name, a case not waiting: refused, exit 1.
        let stale = format!("sha256:{}", "0".repeat(64));
        let e = decide(&c, &args(&stale, &[]), "rita", None, now, Uuid::nil()).unwrap_err();
        assert!(!e.is_usage() && e.to_string().contains(&d), "{e}");
        let e = decide(&c, &args(&d, &["cicd"]), "rita", None, now, Uuid::nil()).unwrap_err();
        assert!(e.to_string().contains("cicd"), "{e}");
        // Arguments: --reopen only with --reject, a digest of the right form.
        let mut both = args(&d, &[]);
        both.reopen = vec!["vault".into()];
        assert!(check_args(&both).unwrap_err().is_usage());
        assert!(check_args(&args("abc", &[])).unwrap_err().is_usage());
        assert!(check_args(&args(&d, &["vault"])).is_ok());
        let mut open = c.clone();
        open.state = CaseState::Open;
        assert!(decide(&open, &args(&d, &[]), "rita", None, now, Uuid::nil()).is_err());
    }
}

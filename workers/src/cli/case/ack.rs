//! `revoke case ack`: a person's confirmation that a target's access is gone, for systems without
//! an API or a manual step an escalation asked for.
//!
//! The acknowledgement is evidence like any other: a `Confirmation` on the confirmations topic,
//! keyed by the case's identity, with `target.instance = "manual"`, outcome `revoked` and one
//! `manual_step` object naming the person (`actor.principal`) and their note (`read_back`). The
//! object's provenance is `attested` and `verified` is false: a person's statement is never a
//! read-back. Where `verifier.attestation_allowed` lists the target kind (default: all), the
//! verifier lets it close the target: a pending, failed, manual-required or unverified target
//! becomes done ("attested by <person>"), and the case closes when every required target is.
//! For a kind not listed the acknowledgement is recorded, the target stays `unverified` and the
//! case waits for a worker's read-back (the command says so). A worker's
//! report for the target arriving afterwards does not undo the acknowledgement: while the case is
//! open it is kept next to it (the target's `late` reports), once closed it is only logged
//! (`verifier note` `late_confirmation_after_close`).
//!
//! What is refused, before anything is published:
//! - bad arguments (empty `--by`/`--note`, control characters, a `--removed-at` that is not
//!   RFC 3339 or lies in the future): exit 2;
//! - an unknown case, an identity with several cases not closed, a case whose termination was not
//!   seen yet (`pending`), a `scheduled` case (its effective time has not come), a `rescinded`
//!   case (it needs access restored, not removed), a target the case does not track: exit 1;
//! - a case already `closed`, or a target already done: nothing to record, said so, exit 0
//!   (so that running the same ack twice is harmless).

use crate::cases::{CaseLog, MANUAL_ACTION, MANUAL_INSTANCE, MANUAL_OBJECT_KIND};
use crate::cli::error::CommandError;
use chrono::{DateTime, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{
    attested_by, Actor, Case, CaseState, Confirmation, ObjectEvidence, ObjectOutcome, Outcome,
    Provenance, TargetKind, TargetRef, TargetState, WorkerInfo, CONFIRMATION_SCHEMA,
};
use std::time::Duration;
use uuid::Uuid;

/// The worker id recorded in acknowledgements.
pub const ACK_WORKER_ID: &str = "revoke-cli";

/// Arguments of `revoke case ack`.
#[derive(clap::Args, Debug, Clone)]
pub struct AckArgs {
    /// The case id (as `revoke case` prints it). An identity id works when exactly one of that
    /// identity's cases is not closed.
    pub case: String,
    /// The target kind whose access the person removed or confirmed gone.
    #[arg(long, value_parser = crate::cli::target::target_kind(), required_unless_present = "step", conflicts_with = "step")]
    pub target: Option<TargetKind>,
    /// Instead of a target: the offboarding step without an API (`[steps.<name>]`) the person
    /// attests done (see `step_ack`).
    #[arg(long)]
    pub step: Option<String>,
    /// Who confirms (a name or e-mail address): recorded as the actor of the evidence.
    #[arg(long)]
    pub by: String,
    /// What was done or checked, in words (e.g. "badge deactivated in the door system, ticket
    /// OPS-42"): recorded as the read-back of the evidence.
    #[arg(long)]
    pub note: String,
    /// When the access was removed (RFC 3339, e.g. 2026-11-24T09:30:00Z); default: now. Sets
    /// the target's time to revoke.
    #[arg(long)]
    pub removed_at: Option<String>,
    /// The person's key: the acknowledgement is signed with it (see `person_key`).
    #[command(flatten)]
    pub key: crate::cli::person_key::PersonKeyArgs,
}

/// The validated request: what the person says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckRequest {
    pub target: TargetKind,
    pub by: String,
    pub note: String,
    pub removed_at: Option<DateTime<Utc>>,
}

/// Checks the arguments (exit 2 when wrong). `--removed-at` may not lie in the future.
pub fn validate(args: &AckArgs, now: DateTime<Utc>) -> Result<AckRequest, CommandError> {
    let text = crate::cli::decision_io::free_text;
    let Some(target) = args.target else {
        return Err(CommandError::usage(anyhow::anyhow!(
            "name the --target (or the --step) the acknowledgement is for"
        )));
    };
    let by = text("by", &args.by, 256)?;
    let note = text("note", &args.note, 1024)?;
    let removed_at = match &args.removed_at {
        None => None,
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s.trim())
                .map_err(|e| {
                    CommandError::usage(anyhow::anyhow!(
                        "--removed-at {s:?} is not an RFC 3339 time ({e}); e.g. 2026-11-24T09:30:00Z"
                    ))
                })?
                .with_timezone(&Utc);
            if t > now + chrono::Duration::seconds(60) {
                return Err(CommandError::usage(anyhow::anyhow!(
                    "--removed-at {s} lies in the future: acknowledge a removal once it is done"
                )));
            }
            Some(t)
        }
    };
    Ok(AckRequest {
        target,
        by,
        note,
        removed_at,
    })
}

/// What the command will do for a case.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Publish this confirmation.
    Publish(Box<Confirmation>),
    /// Nothing to record (the case is closed or the target done); the reason, for the person.
    Nothing(String),
}

/// Finds the case `query` names: a case id, or an identity with exactly one case not closed
/// (or, when all are closed, its latest).
pub fn resolve<'a>(log: &'a CaseLog, query: &str) -> Result<&'a Case, CommandError> {
    let found = log.find(query);
    if found.is_empty() {
        return Err(CommandError::job(anyhow::anyhow!(
            "no case with id or identity {query:?} in the cases topic (check the id with `revoke case {query}` and --brokers)"
        )));
    }
    if found.len() == 1 {
        return Ok(found[0]);
    }
    let not_closed: Vec<&Case> = found
        .iter()
        .copied()
        .filter(|c| c.state != CaseState::Closed)
        .collect();
    match not_closed.len() {
        0 => Ok(found[0]),
        1 => Ok(not_closed[0]),
        _ => Err(CommandError::job(anyhow::anyhow!(
            "identity {query:?} has {} cases not closed ({}): name one by its case id",
            not_closed.len(),
            not_closed
                .iter()
                .map(|c| format!("{} {}", c.case_id, c.state.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// This machine's name for the evidence's `actor.worker_id`.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.chars().any(char::is_control))
        .unwrap_or_else(|| "cli".into())
}

/// Decides what to record for `req` on `case` (pure: the caller supplies time and host).
pub fn decide(
    case: &Case,
    req: &AckRequest,
    now: DateTime<Utc>,
    host: &str,
) -> Result<Decision, CommandError> {
    let id = case.case_id;
    let kind = req.target;
    // Only an open or escalated case takes an acknowledgement; any other state says why not.
    let refused = match case.state {
        CaseState::Closed => {
            return Ok(Decision::Nothing(format!(
                "case {id} is already closed (at {}): every required target is done and a closed case never changes; nothing recorded",
                case.closed_at.map(crate::cases::ts).unwrap_or_else(|| "-".into())
            )))
        }
        CaseState::Pending => Some(format!(
            "case {id} is pending: its termination has not been seen yet, so there is no HR event to attach the acknowledgement to; try again once `revoke case {id}` shows it open"
        )),
        CaseState::Scheduled => Some(format!(
            "case {id} is scheduled: revocation starts at its effective time {}; acknowledge after that",
            case.effective_at.map(crate::cases::ts).unwrap_or_else(|| "-".into())
        )),
        CaseState::Rescinded => Some(format!(
            "case {id} was rescinded: access is to be restored, not removed; nothing recorded (see its rescind_after_revocation escalation)"
        )),
        CaseState::Held => Some(format!(
            "case {id} is held by the blast-radius guard (batch {}): nothing may be revoked while it is; approve the batch first (`revoke approve`); nothing recorded",
            case.guard.as_ref().and_then(|g| g.batch.as_deref()).unwrap_or("-")
        )),
        CaseState::Admitting => Some(format!(
            "case {id} is waiting for the blast-radius guard's verdict: nothing is revoked yet; try again once `revoke case {id}` shows it open"
        )),
        CaseState::Rejected => Some(format!(
            "case {id} was rejected by {} (its held batch): nothing was revoked and nothing will be; nothing recorded",
            case.guard.as_ref().and_then(|g| g.decided_by.as_deref()).unwrap_or("-")
        )),
        CaseState::AwaitingReview => Some(format!(
            "case {id} has every target and step done and waits for a reviewer (`revoke review {id}`); nothing recorded"
        )),
        CaseState::Open | CaseState::Escalated => None,
    };
    if let Some(why) = refused {
        return Err(CommandError::job(anyhow::anyhow!(why)));
    }
    let Some(event_id) = case.event_id.clone() else {
        return Err(CommandError::job(anyhow::anyhow!(
            "case {id} has no HR event id recorded; nothing recorded"
        )));
    };
    let status = case.targets.get(&kind);
    if status.is_none() && !case.required_targets.contains(&kind) {
        let tracked: Vec<&str> = case.targets.keys().map(|t| t.as_str()).collect();
        return Err(CommandError::job(anyhow::anyhow!(
            "case {id} does not track target {kind} (its targets: {})",
            tracked.join(", ")
        )));
    }
    if let Some(st) = status.filter(|s| s.state == TargetState::Done) {
        let how = match attested_by(&st.objects) {
            Some(person) => format!("attested by {person}"),
            None => "verified by read-back".into(),
        };
        return Ok(Decision::Nothing(format!(
            "target {kind} of case {id} is already done, {how} (confirmed {} by {}); nothing recorded",
            st.confirmed_at
                .map(crate::cases::ts)
                .unwrap_or_else(|| "-".into()),
            st.worker.as_ref().map_or("-", |w| w.id.as_str())
        )));
    }
    let removed_at = req.removed_at.unwrap_or(now);
    // Stable per (case, target, person, note): the same acknowledgement repeated is recognisable.
    let object_id = format!(
        "ack:{}",
        Uuid::new_v5(&id, format!("{kind}\0{}\0{}", req.by, req.note).as_bytes())
    );
    let confirmation = Confirmation {
        schema: CONFIRMATION_SCHEMA.into(),
        confirmation_id: Uuid::new_v4(),
        case_id: id,
        identity_id: case.identity_id.clone(),
        event_id,
        target: TargetRef {
            kind,
            instance: MANUAL_INSTANCE.into(),
        },
        outcome: Outcome::Revoked,
        objects: vec![ObjectEvidence {
            object_kind: MANUAL_OBJECT_KIND.into(),
            object_id,
            sponsored: false,
            action: MANUAL_ACTION.into(),
            outcome: ObjectOutcome::Revoked,
            removed_at: Some(removed_at),
            actor: Actor {
                worker_id: format!("{ACK_WORKER_ID}@{host}"),
                principal: req.by.clone(),
            },
            // A person's word: recorded as such, never as a read-back.
            verified: false,
            provenance: Provenance::Attested,
            read_back: format!("confirmed by {}: {}", req.by, req.note),
            error: None,
        }],
        attempts: 0,
        error: None,
        retryable: false,
        redrive: 0,
        replay: None,
        worker: WorkerInfo {
            id: ACK_WORKER_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: now,
        finished_at: now,
        fleet_signature: None,
        authenticity: None,
        signature: None,
    };
    Ok(Decision::Publish(Box::new(confirmation)))
}

/// What the command prints after publishing; `closes`: whether the verifier's policy
/// (`verifier.attestation_allowed`) lets an attestation close this target kind.
pub fn describe(case: &Case, c: &Confirmation, closes: bool) -> String {
    let o = &c.objects[0];
    let previous = case
        .targets
        .get(&c.target.kind)
        .map_or("pending", |s| crate::cases::target_state_str(s.state));
    format!(
        "recorded acknowledgement {} for case {} (identity {}), target {} (was {previous}):\n  \
         attested by {}: {}\n  removed {}, recorded {} as {}\n  \
         published to the confirmations topic; {}",
        o.object_id,
        c.case_id,
        c.identity_id,
        c.target.kind,
        o.actor.principal,
        c.objects[0]
            .read_back
            .strip_prefix(&format!("confirmed by {}: ", o.actor.principal))
            .unwrap_or(&o.read_back),
        o.removed_at
            .map(crate::cases::ts)
            .unwrap_or_else(|| "-".into()),
        crate::cases::ts(c.finished_at),
        o.actor.worker_id,
        if !closes {
            format!(
                "attestation does not close {} targets (verifier.attestation_allowed): the target stays unverified and the case open until a worker's read-back proves the access gone",
                c.target.kind
            )
        } else if case
            .required_targets
            .iter()
            .filter(|t| **t != c.target.kind)
            .all(|t| {
                case.targets
                    .get(t)
                    .is_some_and(|s| s.state == TargetState::Done)
            })
        {
            "the verifier marks the target done (attested, not verified) and closes the case (every other required target is done)".into()
        } else {
            "the verifier marks the target done (attested, not verified); the case stays open until every required target is done".into()
        }
    )
}

pub async fn run(cfg: &Config, args: &AckArgs, emit: fn(&str)) -> Result<(), CommandError> {
    if args.step.is_some() {
        return super::step_ack::run(cfg, args, emit).await;
    }
    let req = validate(args, Utc::now())?;
    // Signed by the person, so the verifier can tell it is theirs (`verifier::ack_check`).
    let signer = args.key.decision_signer(&req.by, cfg)?;
    let log = crate::cli::decision_io::read_cases(cfg).await?;
    let case = resolve(&log, args.case.trim())?;
    match decide(case, &req, Utc::now(), &host_name())? {
        Decision::Nothing(why) => {
            emit(&why);
            Ok(())
        }
        Decision::Publish(c) => {
            let producer =
                revoke_shared::kafka::Producer::with_timeout(cfg, Duration::from_secs(30))
                    .map_err(|e| CommandError::usage(anyhow::anyhow!(e.to_string())))?;
            let record = crate::cli::person_key::signed_record(signer.as_ref(), &*c)?;
            producer
                .send_json(&cfg.topics.confirmations, &c.identity_id, &record, None)
                .await
                .map_err(|e| {
                    CommandError::job(anyhow::anyhow!(
                        "publishing the acknowledgement for case {}: {e}; nothing was recorded, run the command again",
                        c.case_id
                    ))
                })?;
            emit(&describe(
                case,
                &c,
                cfg.verifier.attestation_closes(c.target.kind),
            ));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::fixtures::*;
    use crate::cases::{acknowledgements, render};
    use crate::verifier::{Input, Verifier};
    use chrono::Duration as D;

    fn args(target: TargetKind, by: &str, note: &str, removed_at: Option<&str>) -> AckArgs {
        AckArgs {
            case: "x".into(),
            target: Some(target),
            step: None,
            by: by.into(),
            note: note.into(),
            removed_at: removed_at.map(str::to_string),
            key: Default::default(),
        }
    }

    fn req(target: TargetKind, removed_at: Option<DateTime<Utc>>) -> AckRequest {
        AckRequest {
            target,
            by: "alice@example.com".into(),
            note: "deleted the IAM user by hand, ticket OPS-42".into(),
            removed_at,
        }
    }

    #[test]
    fn arguments_are_checked_before_anything_is_read() {
        let now = t0();
        let ok = validate(
            &args(
                TargetKind::Cloud,
                "  alice ",
                " done ",
                Some("2026-11-24T08:30:00+01:00"),
            ),
            now,
        )
        .unwrap();
        assert_eq!(ok.target, TargetKind::Cloud);
        assert_eq!(ok.by, "alice");
        assert_eq!(ok.note, "done");
        assert_eq!(ok.removed_at, Some(t0() - D::minutes(90)));
        for (by, note, at, needle) in [
            ("", "n", None, "--by is empty"),
            ("  ", "n", None, "--by is empty"),
            ("a", "", None, "--note is empty"),
            ("a\nb", "n", None, "control characters"),
            ("a", "n", Some("yesterday"), "not an RFC 3339 time"),
            ("a", "n", Some("2026-11-24T10:00:00Z"), "lies in the future"),
        ] {
            let e = validate(&args(TargetKind::Cloud, by, note, at), now).unwrap_err();
            assert!(e.is_usage(), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
        let long = "x".repeat(1025);
        assert!(validate(&args(TargetKind::Cloud, "a", &long, None), now)
            .unwrap_err()
            .is_usage());
    }

    #[test]
    fn ack_of_a_manual_target_is_evidence_naming_the_person_and_closes_the_case() {
        let mut v = verifier();
        let case = escalated_case(&mut v, "E1", 0);
        let now = t0() + D::minutes(20);
        let removed = t0() + D::minutes(10);
        let Decision::Publish(c) =
            decide(&case, &req(TargetKind::Cloud, Some(removed)), now, "host-1").unwrap()
        else {
            panic!("expected a confirmation");
        };
        // Field by field, as the issue specifies it.
        assert_eq!(c.schema, CONFIRMATION_SCHEMA);
        assert_eq!(c.case_id, case.case_id);
        assert_eq!(c.identity_id, "E1");
        assert_eq!(c.event_id, "evt-E1");
        assert_eq!(c.target.kind, TargetKind::Cloud);
        assert_eq!(c.target.instance, "manual");
        assert_eq!(c.outcome, Outcome::Revoked);
        assert_eq!(c.worker.id, "revoke-cli");
        assert_eq!(c.worker.version, env!("CARGO_PKG_VERSION"));
        assert_eq!((c.started_at, c.finished_at), (now, now));
        assert_eq!(c.objects.len(), 1);
        let o = &c.objects[0];
        assert_eq!(o.object_kind, "manual_step");
        assert_eq!(o.action, "manual_ack");
        assert!(o.object_id.starts_with("ack:"));
        assert_eq!(o.outcome, ObjectOutcome::Revoked);
        assert_eq!(o.removed_at, Some(removed));
        assert_eq!(o.actor.worker_id, "revoke-cli@host-1");
        assert_eq!(o.actor.principal, "alice@example.com");
        // A person's word: attested, never verified.
        assert!(!o.verified);
        assert_eq!(o.provenance, Provenance::Attested);
        assert_eq!(
            o.read_back,
            "confirmed by alice@example.com: deleted the IAM user by hand, ticket OPS-42"
        );
        assert!(!c.is_verified());
        assert!(c.is_attested());
        // The same person and note give the same object id (a repeat is recognisable).
        let Decision::Publish(again) =
            decide(&case, &req(TargetKind::Cloud, None), now, "host-2").unwrap()
        else {
            panic!()
        };
        assert_eq!(again.objects[0].object_id, o.object_id);
        assert_ne!(again.confirmation_id, c.confirmation_id);

        let text = describe(&case, &c, true);
        assert!(
            text.contains("target cloud (was manual_required)"),
            "{text}"
        );
        assert!(
            text.contains("attested by alice@example.com: deleted the IAM user by hand"),
            "{text}"
        );
        assert!(
            text.contains("done (attested, not verified) and closes the case"),
            "{text}"
        );

        // The real verifier takes it like any confirmation: the target is done, the case closes,
        // the escalation stays in the record, the time to revoke runs to the stated removal.
        let closed = apply(&mut v, Input::Confirmation(&c), now).expect("a new case version");
        assert_eq!(closed.state, CaseState::Closed);
        assert_eq!(closed.closed_at, Some(now));
        let cloud = &closed.targets[&TargetKind::Cloud];
        assert_eq!(cloud.state, TargetState::Done);
        assert_eq!(cloud.instance.as_deref(), Some("manual"));
        assert_eq!(cloud.time_to_revoke_ms, Some(600_000));
        assert_eq!(closed.escalations.len(), 1);
        let acks = acknowledgements(&closed);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].by, "alice@example.com");
        assert_eq!(acks[0].note, "deleted the IAM user by hand, ticket OPS-42");
        assert_eq!(acks[0].removed_at, Some(removed));
        assert_eq!(acks[0].recorded_at, Some(now));
        let shown = render(&closed);
        for needle in [
            "targets: 5 of 5 required done (directory, saas, cloud, vault, cicd): verified by read-back on 4 targets, attested by alice@example.com on 1",
            "target cloud: done, outcome revoked, time to revoke 10.0 min (600000 ms), attested by alice@example.com (not verified)",
            "by revoke-cli@host-1 as alice@example.com, verified false, attested",
            "instance manual, 0 calls",
            "manual_step ack:",
            "acknowledgements: 1",
            // Not checked by a verifier (no [[people]], no signing here): unauthenticated.
            "- cloud by alice@example.com: removed 2026-11-24T09:10:00.000Z, recorded 2026-11-24T09:20:00.000Z from revoke-cli@host-1, unauthenticated",
            "note: deleted the IAM user by hand, ticket OPS-42",
            "(resolved)",
            "verdict: closed at 2026-11-24T09:20:00.000Z — verified by read-back on 4 targets, attested by alice@example.com on 1",
            "after 1 escalation; attested (not verified): cloud by alice@example.com",
        ] {
            assert!(shown.contains(needle), "lacks {needle:?}:\n{shown}");
        }
        // Acknowledging the closed case again records nothing.
        match decide(&closed, &req(TargetKind::Cloud, None), now, "h").unwrap() {
            Decision::Nothing(why) => assert!(why.contains("already closed"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ack_of_one_target_leaves_a_case_open_while_others_are_missing() {
        let mut v = verifier();
        let case = case_with(&mut v, "E2", 0, &[(TargetKind::Vault, Outcome::Failed, 10)]);
        assert_eq!(case.state, CaseState::Escalated);
        let Decision::Publish(c) = decide(&case, &req(TargetKind::Vault, None), t0(), "h").unwrap()
        else {
            panic!()
        };
        assert!(describe(&case, &c, true).contains("stays open"));
        let after = apply(&mut v, Input::Confirmation(&c), t0() + D::seconds(1)).unwrap();
        assert_eq!(after.targets[&TargetKind::Vault].state, TargetState::Done);
        assert_eq!(after.state, CaseState::Escalated);
        // A target already done needs nothing; the answer says on whose word it is done.
        match decide(&after, &req(TargetKind::Vault, None), t0(), "h").unwrap() {
            Decision::Nothing(why) => assert!(
                why.contains("already done, attested by alice@example.com"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    /// `verifier.attestation_allowed` without the target's kind: the acknowledgement is recorded
    /// as attested, the target stays unverified, the case stays open and says why; a worker's
    /// read-back then closes it, verified.
    #[test]
    fn ack_where_attestation_is_not_allowed_leaves_the_case_open() {
        let mut p = policy();
        p.attestation_allowed = vec![TargetKind::Directory, TargetKind::Saas];
        let mut v = Verifier::new(p.clone());
        let case = escalated_case(&mut v, "E7", 0);
        let now = t0() + D::minutes(5);
        let Decision::Publish(c) = decide(&case, &req(TargetKind::Cloud, None), now, "h").unwrap()
        else {
            panic!()
        };
        let text = describe(&case, &c, p.attestation_closes(TargetKind::Cloud));
        assert!(
            text.contains(
                "attestation does not close cloud targets (verifier.attestation_allowed)"
            ),
            "{text}"
        );
        let after = apply(&mut v, Input::Confirmation(&c), now).expect("the ack is recorded");
        assert_eq!(after.state, CaseState::Escalated);
        let cloud = &after.targets[&TargetKind::Cloud];
        assert_eq!(cloud.state, TargetState::Unverified);
        assert_eq!(cloud.objects[0].provenance, Provenance::Attested);
        let shown = render(&after);
        for needle in [
            "target cloud: unverified, outcome revoked, attested by alice@example.com (not verified); attestation does not close cloud targets (verifier.attestation_allowed): waiting for a worker's read-back",
            "cloud attested by alice@example.com but not verified: attestation does not close cloud targets (verifier.attestation_allowed)",
            "targets: 4 of 5 required done",
        ] {
            assert!(shown.contains(needle), "lacks {needle:?}:\n{shown}");
        }
        // With every kind excluded (empty list) the same holds for any target.
        let mut none = policy();
        none.attestation_allowed.clear();
        let mut v2 = Verifier::new(none);
        let case2 = case_with(
            &mut v2,
            "E8",
            0,
            &[(TargetKind::Vault, Outcome::Failed, 10)],
        );
        let Decision::Publish(c2) =
            decide(&case2, &req(TargetKind::Vault, None), now, "h").unwrap()
        else {
            panic!()
        };
        let after2 = apply(&mut v2, Input::Confirmation(&c2), now).unwrap();
        assert_eq!(
            after2.targets[&TargetKind::Vault].state,
            TargetState::Unverified
        );
        // A worker's read-back of cloud now proves it: the case closes, verified on all five.
        let ev = termination("E7", "evt-E7", t0());
        let worker = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 60_000);
        let closed = apply(&mut v, Input::Confirmation(&worker), now + D::seconds(1)).unwrap();
        assert_eq!(closed.state, CaseState::Closed);
        assert!(
            crate::cases::verdict(&closed).contains("verified by read-back on 5 targets"),
            "{}",
            crate::cases::verdict(&closed)
        );
    }

    #[test]
    fn refused_states_and_targets() {
        let mut v = verifier();
        let base = escalated_case(&mut v, "E3", 0);
        for (state, needle) in [
            (CaseState::Pending, "is pending"),
            (CaseState::Scheduled, "is scheduled"),
            (CaseState::Rescinded, "was rescinded"),
            (CaseState::Held, "is held"),
        ] {
            let mut c = base.clone();
            c.state = state;
            let e = decide(&c, &req(TargetKind::Cloud, None), t0(), "h").unwrap_err();
            assert!(!e.is_usage() && e.to_string().contains(needle), "{e}");
        }
        let mut narrow = base.clone();
        narrow.required_targets = vec![TargetKind::Cloud];
        narrow.targets.retain(|k, _| *k == TargetKind::Cloud);
        let e = decide(&narrow, &req(TargetKind::Vault, None), t0(), "h").unwrap_err();
        assert!(e.to_string().contains("does not track target vault"), "{e}");
    }

    #[test]
    fn resolve_by_case_id_or_identity() {
        let mut v = verifier();
        let mut log = CaseLog::default();
        let closed = closed_case(&mut v, "E5", 0);
        let open = escalated_case(&mut v, "E6", 0);
        log.ingest(closed.clone());
        log.ingest(open.clone());
        assert_eq!(
            resolve(&log, &open.case_id.to_string()).unwrap().case_id,
            open.case_id
        );
        assert_eq!(resolve(&log, "E6").unwrap().case_id, open.case_id);
        let e = resolve(&log, "E404").unwrap_err();
        assert!(!e.is_usage() && e.to_string().contains("no case"), "{e}");
        // A second termination of E6, also escalated: the identity is ambiguous.
        let mut second = open.clone();
        second.case_id = Uuid::new_v4();
        log.ingest(second);
        let e = resolve(&log, "E6").unwrap_err();
        assert!(e.to_string().contains("2 cases not closed"), "{e}");
    }
}

//! `revoke case ack <case> --step <name> --by PERSON --note ... [--key-file F]`: a person's
//! attestation that an offboarding step without an API (`[steps.<name>]`) is done. It is
//! published as a `revoke.step_attestation.v1` record on the confirmations topic (keyed by the
//! case's identity), signed with the person's key; the verifier checks that the signature is the
//! current key of that person and that they hold the `attester` role (with `[signing] required`
//! an unsigned one is refused), then marks the step done with `attested` evidence — never
//! "verified". Where a closure review applies (`verifier.closure_review`), the case then waits
//! for a reviewer instead of closing.
//!
//! Refused before anything is published: bad arguments or a step no `[steps]` entry names
//! (exit 2); an unknown case, a case that does not require the step, a case not open or
//! escalated (exit 1). A step already done, or a closed case: said so, nothing published, exit 0.

use super::ack::{resolve, AckArgs};
use crate::cli::decision_io::{free_text, publish, read_cases, signed};
use crate::cli::error::CommandError;
use chrono::{DateTime, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{
    attested_by, Case, CaseState, StepAttestation, TargetState, STEP_ATTESTATION_SCHEMA,
};
use uuid::Uuid;

/// What the command does for a case.
#[derive(Debug, Clone, PartialEq)]
pub enum StepDecision {
    Publish(Box<StepAttestation>),
    /// Nothing to record; why, for the person.
    Nothing(String),
}

/// Decides what to record (pure: the caller supplies the time and the attestation's id).
pub fn decide(
    cfg: &Config,
    case: &Case,
    step: &str,
    by: &str,
    note: &str,
    now: DateTime<Utc>,
    attestation_id: Uuid,
) -> Result<StepDecision, CommandError> {
    let id = case.case_id;
    let key = step.to_string();
    if !cfg.steps.contains_key(step) && !case.steps.contains_key(&key) {
        let known: Vec<&str> = cfg.steps.keys().map(String::as_str).collect();
        return Err(CommandError::usage(anyhow::anyhow!(
            "no step {step:?} in [steps] (configured: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    if case.state == CaseState::Closed {
        return Ok(StepDecision::Nothing(format!(
            "case {id} is already closed: nothing recorded"
        )));
    }
    let Some(status) = case.steps.get(&key) else {
        let steps: Vec<&str> = case.steps.keys().map(String::as_str).collect();
        return Err(CommandError::job(anyhow::anyhow!(
            "case {id} does not require step {step} (its steps: {}); nothing recorded",
            if steps.is_empty() {
                "none".to_string()
            } else {
                steps.join(", ")
            }
        )));
    };
    if status.state == TargetState::Done {
        return Ok(StepDecision::Nothing(format!(
            "step {step} of case {id} is already done, attested by {}; nothing recorded",
            attested_by(&status.objects).unwrap_or("-")
        )));
    }
    if !matches!(case.state, CaseState::Open | CaseState::Escalated) {
        return Err(CommandError::job(anyhow::anyhow!(
            "case {id} is {}: a step is attested only while its case is open or escalated; nothing recorded",
            case.state.as_str()
        )));
    }
    Ok(StepDecision::Publish(Box::new(StepAttestation {
        schema: STEP_ATTESTATION_SCHEMA.into(),
        attestation_id,
        case_id: id,
        identity_id: case.identity_id.clone(),
        step: step.to_string(),
        by: by.to_string(),
        at: now,
        note: note.to_string(),
        signature: None,
    })))
}

pub async fn run(cfg: &Config, args: &AckArgs, emit: fn(&str)) -> Result<(), CommandError> {
    let step = free_text("step", args.step.as_deref().unwrap_or_default(), 64)?;
    let by = free_text("by", &args.by, 256)?;
    let note = free_text("note", &args.note, 1024)?;
    if args.removed_at.is_some() {
        return Err(CommandError::usage(anyhow::anyhow!(
            "--removed-at is for targets; a step's attestation is dated when it is made"
        )));
    }
    let log = read_cases(cfg).await?;
    let case = resolve(&log, args.case.trim())?;
    match decide(cfg, case, &step, &by, &note, Utc::now(), Uuid::new_v4())? {
        StepDecision::Nothing(why) => {
            emit(&why);
            Ok(())
        }
        StepDecision::Publish(a) => {
            let value = signed(&*a, &by, &args.key, cfg)?;
            let how = if value.get("signature").is_some() {
                "signed"
            } else {
                "unsigned"
            };
            publish(cfg, &a.identity_id, &value, "step attestation").await?;
            emit(&format!(
                "recorded attestation {} ({how}) for case {} (identity {}), step {step}:\n  attested by {by}: {note}\n  published to the confirmations topic; the verifier checks it and marks the step done (attested, not verified)",
                a.attestation_id, a.case_id, a.identity_id
            ));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::config::StepConfig;
    use revoke_shared::contract::{TargetKind, TargetStatus};

    fn cfg() -> Config {
        let mut c = Config::default();
        c.steps.insert(
            "device_return".into(),
            StepConfig {
                description: "laptop and badge returned".into(),
                owner: "it".into(),
                sla_secs: 0,
                required_by_kind: vec!["employee".into()],
            },
        );
        c
    }

    fn case(state: CaseState) -> Case {
        let mut c = Case::opened(Uuid::nil(), "E1", vec![TargetKind::Vault], Utc::now());
        c.state = state;
        c.steps
            .insert("device_return".into(), TargetStatus::pending());
        c
    }

    #[test]
    fn a_step_attestation_names_the_case_the_step_and_the_person() {
        let now = Utc::now();
        let id = Uuid::new_v4();
        let StepDecision::Publish(a) = decide(
            &cfg(),
            &case(CaseState::Open),
            "device_return",
            "carol",
            "laptop in the IT cupboard, ticket IT-7",
            now,
            id,
        )
        .unwrap() else {
            panic!("expected a record")
        };
        assert_eq!(a.schema, STEP_ATTESTATION_SCHEMA);
        assert_eq!((a.case_id, a.attestation_id), (Uuid::nil(), id));
        assert_eq!((a.step.as_str(), a.by.as_str()), ("device_return", "carol"));
        assert_eq!(a.at, now);
    }

    #[test]
    fn unknown_steps_and_cases_not_open_are_refused_before_publishing() {
        let now = Utc::now();
        let e = decide(
            &cfg(),
            &case(CaseState::Open),
            "shredding",
            "c",
            "n",
            now,
            Uuid::nil(),
        )
        .unwrap_err();
        assert!(
            e.is_usage() && e.to_string().contains("device_return"),
            "{e}"
        );
        let mut other = case(CaseState::Open);
        other.steps = Default::default();
        let e = decide(&cfg(), &other, "device_return", "c", "n", now, Uuid::nil()).unwrap_err();
        assert!(
            !e.is_usage() && e.to_string().contains("does not require"),
            "{e}"
        );
        for s in [
            CaseState::Held,
            CaseState::AwaitingReview,
            CaseState::Pending,
        ] {
            let e = decide(
                &cfg(),
                &case(s),
                "device_return",
                "c",
                "n",
                now,
                Uuid::nil(),
            )
            .unwrap_err();
            assert!(!e.is_usage(), "{e}");
        }
        let closed = decide(
            &cfg(),
            &case(CaseState::Closed),
            "device_return",
            "c",
            "n",
            now,
            Uuid::nil(),
        )
        .unwrap();
        assert!(matches!(closed, StepDecision::Nothing(_)));
    }
}

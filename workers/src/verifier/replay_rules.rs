//! Which cases a replay (`revoke replay`) may re-drive, and through which targets. Pure: a
//! function of the replayed case's record, the replay asked for, the policy and the clock. The
//! verifier decides with it when a request arrives (`machine::replay`); `revoke replay
//! --dry-run` shows the same decisions on the cases it reads, before anything is written.
//!
//! A replay changes access, so it re-drives only a termination that stands and was acted on:
//! - never a rescinded case (the person was given back their access on purpose) nor one a
//!   person rejected at the blast-radius guard (nothing was revoked, nothing ever will be);
//! - never a case the guard has not released (`admitting`, `held`): a replay does not go around
//!   the guard — it asks it again itself, like a new termination;
//! - never before the termination's effective time (a `scheduled` case, or `effective_at` ahead);
//! - never a protected identity (break-glass, legal hold), a case without its termination
//!   (`pending`), or a replay case itself (replay the case it replays);
//! - never a target the case did not require (skipped, and said so);
//! - never while another replay of the same case is under way (one at a time).

use chrono::{DateTime, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{Case, CaseState, SkippedTarget, TargetKind};

/// What a replay of one case does: the targets it runs, and those asked for that it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPlan {
    pub targets: Vec<TargetKind>,
    pub skipped: Vec<SkippedTarget>,
}

/// Why a case is not replayed: a bounded reason (the DLQ reason when the verifier refuses a
/// request) and the detail a person reads.
pub type Skip = (&'static str, String);

/// Whether `case` may be replayed through `asked` (empty: every target it required) at `now`,
/// `in_progress` being a replay of it not finished yet (a live replay case), if any.
pub fn judge(
    case: &Case,
    asked: &[TargetKind],
    in_progress: Option<&Case>,
    policy: &VerifierConfig,
    now: DateTime<Utc>,
) -> Result<ReplayPlan, Skip> {
    let id = case.case_id;
    if let Some(r) = &case.replay {
        return Err((
            "replay_of_replay",
            format!(
                "case {id} is itself a replay (of case {}): replay that case instead",
                r.of_case
            ),
        ));
    }
    match case.state {
        CaseState::Rescinded => {
            return Err((
                "replay_case_rescinded",
                format!(
                    "case {id}: the termination was rescinded{}: re-driving it would take back access given back on purpose",
                    case.rescinded_by
                        .as_deref()
                        .map(|b| format!(" by {b}"))
                        .unwrap_or_default()
                ),
            ))
        }
        CaseState::Rejected => {
            return Err((
                "replay_case_rejected",
                format!(
                    "case {id}: a person rejected its held batch at the blast-radius guard{}: nothing was revoked and nothing will be",
                    case.guard
                        .as_ref()
                        .and_then(|g| g.decided_by.as_deref())
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default()
                ),
            ))
        }
        CaseState::Pending => {
            return Err((
                "replay_no_termination",
                format!("case {id} has reports but its termination was never seen: nothing to re-drive"),
            ))
        }
        CaseState::Admitting | CaseState::Held => {
            return Err((
                "replay_case_not_released",
                format!(
                    "case {id} is {}: the blast-radius guard has not released it, and a replay does not go around the guard (`revoke guard`)",
                    case.state.as_str()
                ),
            ))
        }
        _ => {}
    }
    let effective = case.effective_at.filter(|e| *e > now);
    if case.state == CaseState::Scheduled || effective.is_some() {
        return Err((
            "replay_not_yet_effective",
            format!(
                "case {id}: the termination takes effect only at {}: nothing is done before then",
                case.effective_at
                    .map(|e| e.to_rfc3339())
                    .unwrap_or_else(|| "its effective time".into())
            ),
        ));
    }
    if case.event_id.is_none() || case.identity.is_none() {
        return Err((
            "replay_no_termination",
            format!("case {id} does not record its termination: nothing to re-drive"),
        ));
    }
    if case
        .identity
        .as_ref()
        .is_some_and(|who| policy.is_protected(who))
    {
        return Err((
            "replay_protected_identity",
            format!("case {id}: the identity is on verifier.protected_identities: never revoked automatically"),
        ));
    }
    if let Some(r) = in_progress {
        return Err((
            "replay_in_progress",
            format!(
                "case {id}: its replay case {} is still {}: one replay at a time (see `revoke case {}`)",
                r.case_id,
                r.state.as_str(),
                r.case_id
            ),
        ));
    }
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let wanted: Vec<TargetKind> = if asked.is_empty() {
        case.required_targets.clone()
    } else {
        asked.to_vec()
    };
    for t in wanted {
        if targets.contains(&t) {
            continue;
        }
        if case.required_targets.contains(&t) {
            targets.push(t);
        } else {
            skipped.push(SkippedTarget {
                target: t,
                why: format!(
                    "not required by case {id} (it required {})",
                    names(&case.required_targets)
                ),
            });
        }
    }
    if targets.is_empty() {
        return Err((
            "replay_no_target",
            format!(
                "case {id} required none of the targets asked for ({}): nothing to re-drive",
                names(asked)
            ),
        ));
    }
    targets.sort();
    Ok(ReplayPlan { targets, skipped })
}

/// Whether `case` is a replay of `of` still under way: waiting for the guard or at the workers.
/// One that ended (closed, rescinded, rejected) or waits for a person (escalated, awaiting its
/// review) is not: a person may replay the case again.
pub fn replay_in_progress(case: &Case, of: uuid::Uuid) -> bool {
    case.replay.as_ref().is_some_and(|r| r.of_case == of)
        && matches!(
            case.state,
            CaseState::Admitting | CaseState::Held | CaseState::Open
        )
}

fn names(targets: &[TargetKind]) -> String {
    let v: Vec<&str> = targets.iter().map(|t| t.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
#[path = "replay_rules_tests.rs"]
mod tests;

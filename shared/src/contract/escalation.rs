//! `revoke.escalations`: a case that needs a named person.

use super::TargetKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ESCALATION_SCHEMA: &str = "revoke.escalation.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    TargetFailed,
    ManualRequired,
    DeadlinePassed,
    /// A target did not confirm within its own SLA (`verifier.target_sla_secs`).
    SlaPassed,
    ProtectedIdentity,
    /// A rescind arrived for a case whose access was already (being) revoked: restoring is a
    /// human decision until automatic restore exists.
    RescindAfterRevocation,
    /// After a rescind, a target could not give everything back (deleted keys, revoked tokens,
    /// or errors): a person re-issues what is listed.
    RestoreIncomplete,
    /// The blast-radius guard held a batch of cases: too many at once (or too large a share of
    /// a target's accounts). Nothing in it is revoked until a person approves it.
    BlastRadiusHold,
    /// A rescind arrived, but another termination of the same person stands (a correction
    /// published as a new termination, a second HR source): nothing is given back; a person
    /// decides.
    RestoreWithheld,
    /// After the case closed, an object its evidence says is gone was read back present again
    /// (re-enabled or re-provisioned by another system): `revoke verify` or the watch saw it.
    AccessReturned,
    /// After the case closed, the target's sign-in log shows the leaver signing in.
    AccessAfterDeparture,
    /// A Shared Signals receiver did not accept the case's events within its SLA.
    SignalUndelivered,
    /// A closure reviewer rejected the case's evidence (`revoke review --reject`): the named
    /// steps or targets are pending again and the owner sees to them.
    ReviewRejected,
    /// A case waited for its closure review longer than `verifier.review_sla_secs`.
    ReviewOverdue,
}

impl EscalationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::TargetFailed => "target_failed",
            EscalationReason::ManualRequired => "manual_required",
            EscalationReason::DeadlinePassed => "deadline_passed",
            EscalationReason::SlaPassed => "sla_passed",
            EscalationReason::ProtectedIdentity => "protected_identity",
            EscalationReason::RescindAfterRevocation => "rescind_after_revocation",
            EscalationReason::RestoreIncomplete => "restore_incomplete",
            EscalationReason::BlastRadiusHold => "blast_radius_hold",
            EscalationReason::RestoreWithheld => "restore_withheld",
            EscalationReason::AccessReturned => "access_returned",
            EscalationReason::AccessAfterDeparture => "access_after_departure",
            EscalationReason::SignalUndelivered => "signal_undelivered",
            EscalationReason::ReviewRejected => "review_rejected",
            EscalationReason::ReviewOverdue => "review_overdue",
        }
    }
}

/// The control owner who must act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Owner {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Escalation {
    pub schema: String,
    /// Deterministic per (case, reason, targets, level): a re-published escalation is
    /// recognisably the same.
    pub escalation_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    pub reason: EscalationReason,
    /// The targets missing or failed.
    pub targets: Vec<TargetKind>,
    /// The steps (`[steps.<name>]`) missing, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    pub owner: Owner,
    /// Who on the escalation path this is: 0 the control owner, n the n-th further person of the
    /// target's `verifier.escalation_paths`, told when the escalation stayed unresolved that long.
    /// Absent in records written before escalation paths existed: 0.
    #[serde(default)]
    pub level: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    pub raised_at: DateTime<Utc>,
    /// What went wrong, in words (errors from the workers, which deadline passed).
    pub detail: String,
    /// Per target: status so far (`revoked (verified)`, `failed: …`, `pending`).
    pub evidence: Vec<String>,
}

impl Escalation {
    /// The id of the escalation to the control owner (level 0).
    pub fn id_for(case_id: Uuid, reason: EscalationReason, targets: &[TargetKind]) -> Uuid {
        Escalation::id_at(case_id, reason, targets, 0)
    }

    /// The id of the escalation of (case, reason, targets) at `level` of the escalation path.
    /// Level 0 keeps the name used before escalation paths existed, so its ids are unchanged.
    pub fn id_at(
        case_id: Uuid,
        reason: EscalationReason,
        targets: &[TargetKind],
        level: u32,
    ) -> Uuid {
        let mut name = format!("{case_id}/{}", reason.as_str());
        for t in targets {
            name.push('/');
            name.push_str(t.as_str());
        }
        if level > 0 {
            name.push_str(&format!("/level/{level}"));
        }
        Uuid::new_v5(&case_id, name.as_bytes())
    }

    /// As `id_at`, for an escalation that also names steps: with none, the same id as `id_at`.
    pub fn id_with_steps(
        case_id: Uuid,
        reason: EscalationReason,
        targets: &[TargetKind],
        steps: &[String],
        level: u32,
    ) -> Uuid {
        if steps.is_empty() {
            return Escalation::id_at(case_id, reason, targets, level);
        }
        let mut name = format!("{case_id}/{}", reason.as_str());
        for t in targets {
            name.push('/');
            name.push_str(t.as_str());
        }
        for s in steps {
            name.push_str("/step/");
            name.push_str(s);
        }
        if level > 0 {
            name.push_str(&format!("/level/{level}"));
        }
        Uuid::new_v5(&case_id, name.as_bytes())
    }

    /// The id of an escalation raised once per occasion (`what`: a review id, the time a review
    /// was asked for), distinct from every id above.
    pub fn occasion_id(case_id: Uuid, reason: EscalationReason, what: &str) -> Uuid {
        let name = format!("{case_id}/{}/occasion/{what}", reason.as_str());
        Uuid::new_v5(&case_id, name.as_bytes())
    }

    /// The id of the `n`-th reminder (n ≥ 1) of the case's escalation `of` (a held batch nobody
    /// decided): distinct from every level of its path, the same each time it is computed.
    pub fn reminder_id(case_id: Uuid, of: Uuid, n: u32) -> Uuid {
        let name = format!("{case_id}/reminder/{of}/{n}");
        Uuid::new_v5(&case_id, name.as_bytes())
    }
}

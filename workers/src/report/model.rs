//! The report's model: one `Row` per case (with its targets, escalations, restores,
//! acknowledgements, and what came after close: findings and signal deliveries), the window a case must fall in, and parsing `--since`/`--until`.

use crate::cases::{
    acknowledgements, escalation_is_open, target_provenance, target_state_str, verdict, Proof,
};
use chrono::{DateTime, NaiveDate, Utc};
use revoke_shared::contract::{Case, DeliveryOutcome, FindingKind, TargetKind};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Which time of a case the window applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Window {
    /// The termination's effective time (when access had to be gone); `opened_at` for a case
    /// whose termination was not seen.
    #[default]
    Effective,
    /// When the verifier first saw the case.
    Opened,
}

/// One target of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetRow {
    pub required: bool,
    pub state: String,
    pub outcome: Option<String>,
    pub instance: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub time_to_revoke_ms: Option<i64>,
    pub attempts: u32,
    /// Distinct `worker as principal` of the objects, in evidence order (else the worker id).
    pub actors: Vec<String>,
    pub objects: usize,
    /// The latest `removed_at` among the objects.
    pub last_removed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// What the evidence rests on: `observed` (a worker's read-back), `attested` (a person's
    /// statement, never verified) or `not_checked`.
    pub provenance: String,
    /// How the report was signed: `ed25519`, `hmac`, `person`, `none` (see
    /// `accountability::report_signature`).
    pub report_signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationRow {
    pub reason: String,
    pub targets: Vec<String>,
    pub owner: String,
    pub owner_contact: String,
    /// 0: the control owner; n: the n-th person of the escalation path.
    pub level: u32,
    pub raised_at: DateTime<Utc>,
    pub open: bool,
    pub detail: String,
}

/// After a rescind: one target's report of what it gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreRow {
    pub target: String,
    pub instance: String,
    pub finished_at: DateTime<Utc>,
    pub objects: usize,
    pub given_back: usize,
    /// `object_kind object_id (outcome): detail` of each object a person must deal with.
    pub left_for_a_person: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AckRow {
    pub target: String,
    pub by: String,
    /// `authenticated` or `unauthenticated`.
    pub authenticity: String,
    pub note: String,
    pub removed_at: Option<DateTime<Utc>>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// After close: access seen again, as the case recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// `access_returned` or `access_after_departure`.
    pub kind: String,
    pub target: String,
    pub instance: String,
    /// `object_kind object_id`.
    pub object: String,
    pub observed_at: DateTime<Utc>,
    pub read_back: String,
}

/// One Shared Signals receiver of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalRow {
    pub receiver: String,
    /// `delivered` or `overdue`.
    pub outcome: String,
    pub sets: usize,
    /// SETs the receiver accepted.
    pub delivered: usize,
    /// When it accepted the last of them.
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// One case, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub case_id: Uuid,
    pub identity_id: String,
    pub identity_kind: Option<String>,
    pub source: Option<String>,
    pub event_id: Option<String>,
    pub reason: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub state: String,
    /// The verdict in words (as `revoke case` prints it).
    pub verdict: String,
    /// When the verifier reached the current state.
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// From the effective time to closing.
    pub time_to_close_ms: Option<i64>,
    pub rescinded_by: Option<String>,
    pub revision: u64,
    /// Required targets done on a worker's read-back.
    pub verified_targets: usize,
    /// Required targets done on a person's attestation (named in `verdict` and `acks`).
    pub attested_targets: usize,
    pub targets: BTreeMap<TargetKind, TargetRow>,
    pub escalations: Vec<EscalationRow>,
    pub acks: Vec<AckRow>,
    pub restores: Vec<RestoreRow>,
    /// Findings of access present again after close (`access_returned`).
    pub access_returned: usize,
    /// Findings of sign-ins after departure (`access_after_departure`).
    pub sign_ins_after_departure: usize,
    pub findings: Vec<FindingRow>,
    pub signals: Vec<SignalRow>,
    /// The steps without an API (`[steps]`): state, who attested, how far proven theirs.
    pub steps: Vec<super::accountability::StepRow>,
    /// People's decisions on the held batch (and on giving access back), each authenticated or
    /// not.
    pub decisions: Vec<super::accountability::DecisionRow>,
    /// With `report --verify`: the check of the case's chain and signatures, in words
    /// (`verified: …` or `FAILED: …`); absent when not checked.
    pub evidence_check: Option<String>,
    /// The closure review, when the case needed one.
    pub review: Option<super::accountability::ReviewRow>,
    /// For a replay case (`revoke replay`): the case it replays (its verdict says so too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<Uuid>,
}

impl Row {
    pub fn from_case(case: &Case) -> Row {
        let targets = case
            .targets
            .iter()
            .map(|(kind, st)| {
                let mut actors: Vec<String> = Vec::new();
                for o in &st.objects {
                    let a = format!("{} as {}", o.actor.worker_id, o.actor.principal);
                    if !actors.contains(&a) {
                        actors.push(a);
                    }
                }
                if actors.is_empty() {
                    if let Some(w) = &st.worker {
                        actors.push(w.id.clone());
                    }
                }
                (
                    *kind,
                    TargetRow {
                        required: case.required_targets.contains(kind),
                        state: target_state_str(st.state).into(),
                        outcome: st.outcome.map(|o| o.as_str().into()),
                        instance: st.instance.as_deref().map(Into::into),
                        confirmed_at: st.confirmed_at,
                        time_to_revoke_ms: st.time_to_revoke_ms,
                        attempts: st.attempts,
                        actors,
                        objects: st.objects.len(),
                        last_removed_at: st.objects.iter().filter_map(|o| o.removed_at).max(),
                        error: st.error.as_deref().map(Into::into),
                        provenance: target_provenance(st).into(),
                        report_signature: super::accountability::report_signature(st).into(),
                    },
                )
            })
            .collect();
        let proof = Proof::of(case);
        Row {
            case_id: case.case_id,
            identity_id: case.identity_id.clone(),
            identity_kind: case.identity.as_ref().map(|i| i.kind.as_str().into()),
            source: case.source.clone(),
            event_id: case.event_id.clone(),
            reason: case.reason.clone(),
            requested_by: case.requested_by.clone(),
            approved_by: case.approved_by.clone(),
            effective_at: case.effective_at,
            opened_at: case.opened_at,
            deadline: case.deadline,
            state: case.state.as_str().into(),
            verdict: format!(
                "{}{}",
                crate::cases::replay_verdict_prefix(case),
                verdict(case)
            ),
            updated_at: case.updated_at,
            closed_at: case.closed_at,
            time_to_close_ms: case.time_to_close_ms(),
            rescinded_by: case.rescinded_by.clone(),
            revision: case.revision,
            verified_targets: proof.verified,
            attested_targets: proof.attested_targets(),
            targets,
            escalations: case
                .escalations
                .iter()
                .map(|e| EscalationRow {
                    reason: e.reason.as_str().into(),
                    targets: e.targets.iter().map(|t| t.as_str().into()).collect(),
                    owner: e.owner.name.clone(),
                    owner_contact: e.owner.contact.clone(),
                    level: e.level,
                    raised_at: e.raised_at,
                    open: escalation_is_open(case, e),
                    detail: e.detail.clone(),
                })
                .collect(),
            acks: acknowledgements(case)
                .into_iter()
                .map(|a| AckRow {
                    target: a.target.as_str().into(),
                    by: a.by,
                    authenticity: a.authenticity.as_str().into(),
                    note: a.note,
                    removed_at: a.removed_at,
                    recorded_at: a.recorded_at,
                })
                .collect(),
            restores: case
                .restored
                .iter()
                .map(|r| {
                    let left: Vec<String> = r.left_for_a_person().map(|o| o.describe()).collect();
                    RestoreRow {
                        target: r.target.kind.as_str().into(),
                        instance: r.target.instance.clone(),
                        finished_at: r.finished_at,
                        objects: r.objects.len(),
                        given_back: r.objects.len() - left.len(),
                        left_for_a_person: left,
                    }
                })
                .collect(),
            access_returned: count(case, FindingKind::AccessReturned),
            sign_ins_after_departure: count(case, FindingKind::SignInAfterDeparture),
            findings: case
                .findings
                .iter()
                .map(|f| FindingRow {
                    kind: f.kind.as_str().into(),
                    target: f.target.kind.as_str().into(),
                    instance: f.target.instance.clone(),
                    object: format!("{} {}", f.object_kind, f.object_id),
                    observed_at: f.observed_at,
                    read_back: f.read_back.clone(),
                })
                .collect(),
            signals: case
                .signals
                .iter()
                .map(|d| SignalRow {
                    receiver: d.receiver.clone(),
                    outcome: match d.outcome {
                        DeliveryOutcome::Delivered => "delivered",
                        DeliveryOutcome::Overdue => "overdue",
                    }
                    .into(),
                    sets: d.sets.len(),
                    delivered: d.sets.iter().filter(|s| s.delivered_at.is_some()).count(),
                    last_delivered_at: d.sets.iter().filter_map(|s| s.delivered_at).max(),
                })
                .collect(),
            steps: super::accountability::steps_of(case),
            decisions: super::accountability::decisions_of(case),
            evidence_check: None,
            review: super::accountability::review_of(case),
            replay_of: case.replay.as_ref().map(|r| r.of_case),
        }
    }
}

fn count(case: &Case, kind: FindingKind) -> usize {
    case.findings.iter().filter(|f| f.kind == kind).count()
}

/// The time of `case` the window applies to.
pub fn window_time(case: &Case, window: Window) -> DateTime<Utc> {
    match window {
        Window::Effective => case.effective_at.unwrap_or(case.opened_at),
        Window::Opened => case.opened_at,
    }
}

/// The cases whose window time falls in `[since, until)`, ordered by that time, then case id.
pub fn select<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    window: Window,
) -> Vec<&'a Case> {
    let mut out: Vec<&Case> = cases
        .into_iter()
        .filter(|c| {
            let t = window_time(c, window);
            since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u)
        })
        .collect();
    out.sort_by_key(|c| (window_time(c, window), c.case_id));
    out
}

/// One row per case whose effective time (else `opened_at`) falls in `[since, until)`.
pub fn rows<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Vec<Row> {
    rows_by(cases, since, until, Window::Effective)
}

/// As `rows`, with the window on the chosen time.
pub fn rows_by<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    window: Window,
) -> Vec<Row> {
    select(cases, since, until, window)
        .into_iter()
        .map(Row::from_case)
        .collect()
}

/// Parses `--since`/`--until`: RFC 3339, or a date (midnight UTC; with `end_of_day`, the next
/// midnight, so the date is included).
pub fn parse_time(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => {
            let d = if end_of_day {
                d.succ_opt()
                    .ok_or_else(|| format!("{s:?} is out of range"))?
            } else {
                d
            };
            Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        }
        Err(_) => Err(format!(
            "{s:?} is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a date (2026-11-01)"
        )),
    }
}

/// How a report names an escalation's level: nothing for the control owner (level 0), else
/// ` (level n)` (the n-th person of the escalation path).
pub(super) fn level_words(level: u32) -> String {
    if level == 0 {
        String::new()
    } else {
        format!(" (level {level})")
    }
}

//! Who did what in a case, as the report says it: the people's decisions on its held batch (and
//! on giving access back), per step its state and who attested it, who reviewed the case (with
//! what verdict, on which evidence digest, the rejections before) — each `authenticated` or
//! `unauthenticated` — how the workers' reports were signed, and, with `report --verify`, the
//! result of checking the case's chain and signatures.

use super::model::TargetRow;
use crate::evidence::check::CaseCheck;
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Authenticity, Case, CaseGuard, TargetKind, TargetState, TargetStatus,
};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRow {
    pub step: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attested_by: Option<String>,
    /// `authenticated` (signed with the person's current key) or `unauthenticated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewRow {
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_digest: Option<String>,
    /// Who rejected it before, oldest first.
    pub rejected_by: Vec<String>,
}

/// A person's decision on the batch the blast-radius guard held the case (or its restore) in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRow {
    /// `approve` or `reject`; `restore approve` / `restore reject` for giving access back.
    pub decision: String,
    pub by: String,
    pub at: Option<DateTime<Utc>>,
    /// `authenticated` (signed with the person's current key, holding the approver role) or
    /// `unauthenticated` (free text, or a record that does not say).
    pub authenticity: String,
}

pub fn decisions_of(case: &Case) -> Vec<DecisionRow> {
    let row = |prefix: &str, g: &CaseGuard| {
        Some(DecisionRow {
            decision: format!("{prefix}{}", g.decision?.as_str()),
            by: g.decided_by.clone().unwrap_or_else(|| "-".into()),
            at: g.decided_at,
            authenticity: g
                .decided_authenticity
                .unwrap_or(Authenticity::Unauthenticated)
                .as_str()
                .into(),
        })
    };
    case.guard
        .as_deref()
        .and_then(|g| row("", g))
        .into_iter()
        .chain(
            case.restore_guard
                .as_deref()
                .and_then(|g| row("restore ", g)),
        )
        .collect()
}

/// The decisions in one cell: `approve by alice (authenticated) at 2026-…`.
pub fn decisions_text(decisions: &[DecisionRow]) -> String {
    decisions
        .iter()
        .map(|d| {
            let at =
                d.at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                    .unwrap_or_else(|| "-".into());
            format!("{} by {} ({}) at {at}", d.decision, d.by, d.authenticity)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How a target's report was signed: `ed25519` (the worker's evidence key: checkable offline),
/// `hmac` (the fleet's shared secret only), `person` (a person's acknowledgement, see its
/// authenticity), `none`, or empty while nothing was reported.
pub fn report_signature(st: &TargetStatus) -> &'static str {
    if st.worker.is_none() {
        return "";
    }
    if st.is_acknowledged() {
        return "person";
    }
    match st.signed.as_deref() {
        Some(s) if s.record_signature.is_some() => "ed25519",
        Some(s) if !s.signature.is_empty() => "hmac",
        _ => "none",
    }
}

/// Who executed, in one cell: per target its actors and how their report was signed,
/// `directory: w1 as cn=revoker (ed25519)`.
pub fn executed_text(targets: &BTreeMap<TargetKind, TargetRow>) -> String {
    targets
        .iter()
        .filter(|(_, t)| !t.actors.is_empty())
        .map(|(k, t)| {
            let signed = if t.report_signature.is_empty() {
                String::new()
            } else {
                format!(" ({})", t.report_signature)
            };
            format!("{k}: {}{signed}", t.actors.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `report --verify`'s result for one case, in words: `verified: 4 versions signed, 5 worker
/// reports, 2 decisions` or `FAILED: altered (revision 3), removed (revision 5)`.
pub fn check_summary(c: &CaseCheck) -> String {
    if c.ok() {
        return format!(
            "verified: {} of {} versions signed, {} worker reports, {} decisions",
            c.signed, c.versions, c.reports_verified, c.decisions_verified
        );
    }
    let named: Vec<String> = c
        .findings
        .iter()
        .filter(|f| f.kind.fails())
        .map(|f| match f.revision {
            Some(r) => format!("{} (revision {r})", f.kind.as_str()),
            None => f.kind.as_str().to_string(),
        })
        .collect();
    format!("FAILED: {}", named.join(", "))
}

pub fn steps_of(case: &Case) -> Vec<StepRow> {
    case.steps
        .iter()
        .map(|(name, st)| {
            let a = st
                .attestation
                .as_ref()
                .filter(|_| st.state == TargetState::Done);
            StepRow {
                step: name.clone(),
                state: crate::cases::target_state_str(st.state).into(),
                attested_by: a.map(|a| a.record.by.clone()),
                authenticity: a.map(|a| a.authenticity.as_str().into()),
            }
        })
        .collect()
}

pub fn review_of(case: &Case) -> Option<ReviewRow> {
    let r = case.review.as_ref()?;
    Some(ReviewRow {
        why: r.why.clone(),
        verdict: r.verdict.map(|v| v.as_str().into()),
        by: r.by.clone(),
        authenticity: r.authenticity.map(|a| a.as_str().into()),
        evidence_digest: r.evidence_digest.clone(),
        rejected_by: r.rejected.iter().map(|x| x.by.clone()).collect(),
    })
}

/// The steps in one cell: `device_return done, attested by carol (authenticated)`.
pub fn steps_text(steps: &[StepRow]) -> String {
    steps
        .iter()
        .map(|s| match (&s.attested_by, &s.authenticity) {
            (Some(by), Some(a)) => format!("{} {}, attested by {by} ({a})", s.step, s.state),
            _ => format!("{} {}", s.step, s.state),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The review in one cell: `accept by rita (authenticated) on sha256:…; rejected before by rita`.
pub fn review_text(review: Option<&ReviewRow>) -> String {
    let Some(r) = review else {
        return String::new();
    };
    let mut s = match (&r.verdict, &r.by) {
        (Some(v), Some(by)) => format!(
            "{v} by {by} ({}) on {}",
            r.authenticity.as_deref().unwrap_or("-"),
            r.evidence_digest.as_deref().unwrap_or("-")
        ),
        _ => format!("awaiting review ({})", r.why),
    };
    if !r.rejected_by.is_empty() {
        s.push_str(&format!(
            "; rejected before by {}",
            r.rejected_by.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use revoke_shared::contract::{
        AttestedStep, Authenticity, CaseReview, CaseState, ReviewVerdict, StepAttestation,
        TargetKind, TargetStatus, STEP_ATTESTATION_SCHEMA,
    };
    use uuid::Uuid;

    #[test]
    fn every_format_says_who_attested_and_who_reviewed() {
        let now = Utc::now();
        let mut c = Case::opened(Uuid::nil(), "E1", vec![TargetKind::Vault], now);
        c.state = CaseState::Closed;
        let record = StepAttestation {
            schema: STEP_ATTESTATION_SCHEMA.into(),
            attestation_id: Uuid::nil(),
            case_id: Uuid::nil(),
            identity_id: "E1".into(),
            step: "device_return".into(),
            by: "carol".into(),
            at: now,
            note: "returned".into(),
            signature: None,
        };
        c.steps.insert(
            "device_return".into(),
            TargetStatus {
                state: TargetState::Done,
                attestation: Some(Box::new(AttestedStep {
                    authenticity: Authenticity::Authenticated,
                    record,
                })),
                ..TargetStatus::pending()
            },
        );
        c.steps
            .insert("backup_decision".into(), TargetStatus::pending());
        c.review = Some(Box::new(CaseReview {
            why: "attested: device_return".into(),
            asked_at: now,
            verdict: Some(ReviewVerdict::Accept),
            by: Some("rita".into()),
            at: Some(now),
            authenticity: Some(Authenticity::Authenticated),
            evidence_digest: Some("sha256:ab".into()),
            note: None,
            record: None,
            rejected: Vec::new(),
        }));
        let rows = vec![crate::report::Row::from_case(&c)];
        let json = crate::report::to_json(&rows);
        assert!(json.contains("\"attested_by\": \"carol\""), "{json}");
        assert!(json.contains("\"by\": \"rita\""), "{json}");
        let csv = crate::report::to_csv(&rows);
        assert!(
            csv.contains("device_return done, attested by carol (authenticated)")
                && csv.contains("backup_decision pending")
                && csv.contains("accept by rita (authenticated) on sha256:ab"),
            "{csv}"
        );
        let html = crate::report::to_html(&rows, now);
        assert!(html.contains("review: accept by rita"), "{html}");
    }

    #[test]
    fn every_format_says_who_decided_who_executed_and_what_the_check_found() {
        use crate::evidence::check::{Finding, FindingKind};
        use revoke_shared::contract::{Decision, SignedReport, WorkerInfo};
        let now = Utc::now();
        let mut c = Case::opened(Uuid::nil(), "E1", vec![TargetKind::Vault], now);
        let mut g = CaseGuard::asked(now);
        g.decision = Some(Decision::Approve);
        g.decided_by = Some("alice".into());
        g.decided_at = Some(now);
        g.decided_authenticity = Some(Authenticity::Authenticated);
        c.guard = Some(Box::new(g));
        let mut rg = CaseGuard::asked(now);
        rg.decision = Some(Decision::Reject);
        rg.decided_by = Some("free text".into());
        c.restore_guard = Some(Box::new(rg));
        let signed = |record: bool| SignedReport {
            confirmation_id: Uuid::nil(),
            case_id: Uuid::nil(),
            event_id: "e".into(),
            started_at: now,
            retryable: false,
            redrive: 0,
            replay: None,
            signature: if record {
                String::new()
            } else {
                "hmac-sha256=00".into()
            },
            record_signature: record.then(|| revoke_shared::contract::RecordSignature {
                signer: "worker".into(),
                key_id: "ed25519:00".into(),
                alg: "ed25519".into(),
                sig: "AA==".into(),
            }),
        };
        let worker = |s: Option<SignedReport>| TargetStatus {
            state: TargetState::Done,
            instance: Some("default".into()),
            worker: Some(Box::new(WorkerInfo {
                id: "w1".into(),
                version: "1".into(),
            })),
            signed: s.map(Box::new),
            ..TargetStatus::pending()
        };
        c.targets
            .insert(TargetKind::Vault, worker(Some(signed(true))));
        c.targets
            .insert(TargetKind::Cloud, worker(Some(signed(false))));
        c.targets.insert(TargetKind::Cicd, worker(None));
        let mut rows = vec![crate::report::Row::from_case(&c)];
        let check = CaseCheck {
            case_id: Uuid::nil().to_string(),
            versions: 3,
            first_revision: Some(0),
            last_revision: Some(2),
            signed: 3,
            reports_verified: 1,
            reports_unsigned: 0,
            decisions_verified: 1,
            guard_decisions_verified: 1,
            findings: vec![Finding {
                kind: FindingKind::Altered,
                revision: Some(2),
                at: "cases/0@7".into(),
                detail: "changed".into(),
            }],
        };
        rows[0].evidence_check = Some(check_summary(&check));
        let csv = crate::report::to_csv(&rows);
        assert!(
            csv.contains("approve by alice (authenticated) at ")
                && csv.contains("restore reject by free text (unauthenticated)"),
            "{csv}"
        );
        assert!(
            csv.contains("vault: w1 (ed25519)")
                && csv.contains("cloud: w1 (hmac)")
                && csv.contains("cicd: w1 (none)"),
            "{csv}"
        );
        assert!(csv.contains("FAILED: altered (revision 2)"), "{csv}");
        let json = crate::report::to_json(&rows);
        assert!(
            json.contains("\"authenticity\": \"authenticated\"")
                && json.contains("\"report_signature\": \"ed25519\"")
                && json.contains("\"evidence_check\": \"FAILED: altered (revision 2)\""),
            "{json}"
        );
        let html = crate::report::to_html(&rows, now);
        assert!(
            html.contains("decided: approve by alice (authenticated)")
                && html.contains("evidence check: FAILED"),
            "{html}"
        );
        let ok = CaseCheck {
            findings: Vec::new(),
            ..check
        };
        assert_eq!(
            check_summary(&ok),
            "verified: 3 of 3 versions signed, 1 worker reports, 1 decisions"
        );
    }
}

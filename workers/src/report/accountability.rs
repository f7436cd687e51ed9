//! What the report says of a case's steps without an API and its closure review: per step its
//! state and who attested it (how far proven theirs), and who reviewed the case, with what
//! verdict, on which evidence digest, and the rejections before.

use revoke_shared::contract::{Case, TargetState};
use serde::Serialize;

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
}

//! `Case::evidence_digest`: the digest of what a closure reviewer looks at — the identity, its
//! HR event, the required targets, each target's and step's evidence, the findings — and of
//! nothing that changes without the evidence changing (state, revision, times of publication,
//! escalations, the review itself, the chain and signature of the record). A review binds to it
//! (`ReviewRecord::evidence_digest`): the verifier refuses a review whose digest no longer
//! matches, so a reviewer never accepts evidence they did not see.

use super::Case;
use serde_json::json;

impl Case {
    /// `sha256:<hex>` of the RFC 8785 canonical form of the case's evidence (pure).
    pub fn evidence_digest(&self) -> String {
        let evidence = json!({
            "case_id": self.case_id,
            "identity_id": self.identity_id,
            "identity": self.identity,
            "event_id": self.event_id,
            "source": self.source,
            "effective_at": self.effective_at,
            "required_targets": self.required_targets,
            "targets": self.targets,
            "steps": self.steps,
            "findings": self.findings,
        });
        crate::signing::sha256_text(&crate::signing::record_canonical(&evidence))
    }
}

#[cfg(test)]
mod tests {
    use crate::contract::{Case, CaseState, TargetKind, TargetState, TargetStatus};
    use chrono::Utc;
    use uuid::Uuid;

    #[test]
    fn the_digest_follows_the_evidence_and_nothing_else() {
        let now = Utc::now();
        let mut c = Case::opened(Uuid::new_v4(), "E1", vec![TargetKind::Vault], now);
        c.steps
            .insert("device_return".to_string(), TargetStatus::pending());
        let d = c.evidence_digest();
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64, "{d}");
        // Bookkeeping does not change it.
        let mut same = c.clone();
        same.state = CaseState::AwaitingReview;
        same.revision = 9;
        same.updated_at = now + chrono::Duration::hours(1);
        same.prev_digest = Some("sha256:00".into());
        assert_eq!(same.evidence_digest(), d);
        // Evidence does: a step, a target, a byte of a note.
        let mut other = c.clone();
        other
            .steps
            .get_mut(&"device_return".to_string())
            .unwrap()
            .state = TargetState::Done;
        assert_ne!(other.evidence_digest(), d);
        let mut other = c.clone();
        other.targets.get_mut(&TargetKind::Vault).unwrap().error = Some("x".into());
        assert_ne!(other.evidence_digest(), d);
        // And it survives the trip through the topic.
        let back: Case = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back.evidence_digest(), d);
    }
}

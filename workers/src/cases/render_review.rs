//! `revoke case` for the parts a closure reviewer looks at: the steps without an API (each
//! pending or attested — by whom, how far proven theirs, the note), the closure review (why it
//! is needed, the decision, earlier rejections) and the evidence digest a review binds to.

use super::render::ts;
use revoke_shared::contract::{Case, CaseState, TargetState};
use std::fmt::Write;

/// Writes the steps, the review and the evidence digest of `case` to `s`.
pub fn write_steps_and_review(s: &mut String, case: &Case) {
    if !case.steps.is_empty() {
        let done = case
            .steps
            .values()
            .filter(|st| st.state == TargetState::Done)
            .count();
        let _ = writeln!(s, "  steps: {done} of {} done", case.steps.len());
    }
    for (name, st) in &case.steps {
        match (&st.attestation, st.state) {
            (Some(a), TargetState::Done) => {
                let _ = writeln!(
                    s,
                    "  step {name}: done, attested (not verified) by {} at {} ({}{})",
                    a.record.by,
                    ts(a.record.at),
                    a.authenticity.as_str(),
                    a.record
                        .signature
                        .as_ref()
                        .map(|sig| format!(", signed with {}", sig.key_id))
                        .unwrap_or_default()
                );
                let _ = writeln!(s, "        note: {}", a.record.note);
            }
            _ => {
                let _ = writeln!(s, "  step {name}: pending");
            }
        }
        for old in st.superseded.iter().filter_map(|o| o.attestation.as_ref()) {
            let _ = writeln!(
                s,
                "    earlier attestation by {} at {} (reopened by a review): {}",
                old.record.by,
                ts(old.record.at),
                old.record.note
            );
        }
    }
    if let Some(r) = &case.review {
        let mut line = format!("  closure review: asked {} ({})", ts(r.asked_at), r.why);
        if let (Some(v), Some(by)) = (r.verdict, &r.by) {
            line.push_str(&format!(
                ", {} by {by} at {} ({}) on evidence {}",
                v.as_str(),
                r.at.map(ts).unwrap_or_else(|| "-".into()),
                r.authenticity.map_or("-", |a| a.as_str()),
                r.evidence_digest.as_deref().unwrap_or("-")
            ));
            if let Some(n) = &r.note {
                line.push_str(&format!(": {n}"));
            }
        } else if case.state == CaseState::AwaitingReview {
            line.push_str(", waiting for a reviewer");
        }
        let _ = writeln!(s, "{line}");
        for rej in &r.rejected {
            let _ = writeln!(
                s,
                "    rejected by {} at {}{}{}",
                rej.by,
                ts(rej.at),
                if rej.reopen.is_empty() {
                    String::new()
                } else {
                    format!(", reopening {}", rej.reopen.join(", "))
                },
                rej.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(s, "  evidence digest: {}", case.evidence_digest());
}

/// The steps not done yet, as the verdict lists what a case waits for: `step device_return
/// (not attested)`.
pub fn steps_waiting(case: &Case) -> Vec<String> {
    case.steps
        .iter()
        .filter(|(_, st)| st.state != TargetState::Done)
        .map(|(name, _)| format!("step {name} (not attested)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use revoke_shared::contract::{Case, CaseState, TargetKind, TargetStatus};

    #[test]
    fn revoke_case_shows_the_steps_the_wait_and_the_digest_a_review_binds_to() {
        let mut c = Case::opened(
            uuid::Uuid::nil(),
            "E1",
            vec![TargetKind::Vault],
            chrono::Utc::now(),
        );
        c.state = CaseState::Open;
        c.steps
            .insert("device_return".into(), TargetStatus::pending());
        let text = crate::cases::render(&c);
        assert!(text.contains("  step device_return: pending"), "{text}");
        assert!(text.contains("step device_return (not attested)"), "{text}");
        assert!(
            text.contains(&format!("evidence digest: {}", c.evidence_digest())),
            "{text}"
        );
    }
}

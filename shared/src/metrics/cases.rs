//! What a verifier holds now, as gauges: its cases by state (`revoke_cases{state}`, and
//! `revoke_open_cases`, kept for the dashboards and alerts written before it), and how long the
//! blast-radius guard's oldest held batch has waited for a person
//! (`revoke_guard_oldest_held_seconds`).

use super::{MetricEvent, Metrics};
use crate::contract::CaseState;
use chrono::{DateTime, Utc};

/// The cases a verifier holds in full, by state. Closed cases are kept as a small marker only
/// and are not counted (their number is the whole history, not work); every other state is,
/// the final ones (`escalated`, `rescinded`, `rejected`) included: an escalated case waits for
/// a person. The verifier keeps it in step with its case store (O(1) per change) and emits it
/// after each input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseCounts {
    by_state: [usize; CaseState::ALL.len()],
}

impl CaseCounts {
    pub fn add(&mut self, state: CaseState) {
        self.by_state[state as usize] += 1;
    }

    pub fn remove(&mut self, state: CaseState) {
        self.by_state[state as usize] -= 1;
    }

    pub fn get(&self, state: CaseState) -> usize {
        self.by_state[state as usize]
    }

    /// Cases not in a final state (`revoke_open_cases`): pending, scheduled, admitting, held,
    /// open, awaiting review.
    pub fn open(&self) -> usize {
        CaseState::ALL
            .iter()
            .filter(|s| !s.is_final())
            .map(|s| self.get(*s))
            .sum()
    }

    /// The states exported as `revoke_cases{state}`: every state but closed.
    pub fn exported_states() -> impl Iterator<Item = CaseState> {
        CaseState::ALL
            .into_iter()
            .filter(|s| *s != CaseState::Closed)
    }
}

impl MetricEvent for CaseCounts {
    fn emit(self, m: &Metrics) {
        // Every state is written, zeros included: a dashboard shows 0, not "no data".
        for state in CaseCounts::exported_states() {
            m.cases
                .with_label_values(&[state.as_str()])
                .set(self.get(state) as i64);
        }
        m.open_cases.set(self.open() as i64);
    }
}

/// How long the guard's oldest batch with a case still held has waited: from when that batch
/// opened (its first case was held) to `now`. `since` is `None` when nothing is held: the
/// gauge is then 0 (not absent, so that an absent series means a verifier that is not there).
pub struct GuardOldestHeld {
    pub since: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

impl MetricEvent for GuardOldestHeld {
    fn emit(self, m: &Metrics) {
        let secs = self.since.map_or(0.0, |t| {
            (self.now - t).num_milliseconds().max(0) as f64 / 1000.0
        });
        m.guard_oldest_held_seconds.set(secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_indexes_itself() {
        for (i, s) in CaseState::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i, "{s:?}");
        }
    }

    #[test]
    fn cases_by_state_render_every_state_but_closed() {
        let m = Metrics::new();
        let mut c = CaseCounts::default();
        for s in [
            CaseState::Open,
            CaseState::Open,
            CaseState::Held,
            CaseState::Escalated,
            CaseState::AwaitingReview,
            CaseState::Pending,
        ] {
            c.add(s);
        }
        c.remove(CaseState::Open);
        assert_eq!(c.open(), 4, "open, held, awaiting_review, pending");
        m.emit(c);
        let text = m.render();
        for series in [
            r#"revoke_cases{state="open"} 1"#,
            r#"revoke_cases{state="held"} 1"#,
            r#"revoke_cases{state="escalated"} 1"#,
            r#"revoke_cases{state="awaiting_review"} 1"#,
            r#"revoke_cases{state="pending"} 1"#,
            r#"revoke_cases{state="scheduled"} 0"#,
            r#"revoke_cases{state="admitting"} 0"#,
            r#"revoke_cases{state="rescinded"} 0"#,
            r#"revoke_cases{state="rejected"} 0"#,
            "revoke_open_cases 4",
        ] {
            assert!(text.contains(series), "{series} not in\n{text}");
        }
        assert!(!text.contains(r#"revoke_cases{state="closed"}"#), "{text}");
    }

    #[test]
    fn oldest_held_is_its_age_or_zero() {
        let m = Metrics::new();
        let now = Utc::now();
        m.emit(GuardOldestHeld {
            since: Some(now - chrono::TimeDelta::milliseconds(90_500)),
            now,
        });
        assert!(m.render().contains("revoke_guard_oldest_held_seconds 90.5"));
        m.emit(GuardOldestHeld { since: None, now });
        assert!(m.render().contains("revoke_guard_oldest_held_seconds 0"));
        // A clock that went backwards counts as zero, never negative.
        m.emit(GuardOldestHeld {
            since: Some(now + chrono::TimeDelta::seconds(5)),
            now,
        });
        assert!(m.render().contains("revoke_guard_oldest_held_seconds 0"));
    }
}

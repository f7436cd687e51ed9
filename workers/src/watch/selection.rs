//! Which closed cases are looked at again, and from when: the cases `revoke verify` re-reads
//! (closed since a time, one identity, one target), the cases the sign-in watch polls (closed
//! within `verifier.watch_secs`), and the time since which a target's sign-ins count. Pure.

use crate::verifier::machine::reopened_by_finding;
use chrono::{DateTime, Duration, Utc};
use revoke_shared::contract::{Case, CaseState, TargetKind, TargetStatus};

/// Whether `case` was closed and is looked at after its close: closed, or reopened by a finding
/// (access seen again keeps it under watch: more may come back, and the same sign-in log still
/// tells). A case escalated before it ever closed is not: nothing was verified gone there. Nor
/// is a replay case (`revoke replay`): the case it replays is watched (the same person, the same
/// objects), so access that comes back is reported once, on the case that offboarded the person.
pub fn after_close(case: &Case) -> bool {
    (case.state == CaseState::Closed || reopened_by_finding(case)) && case.replay.is_none()
}

/// What `revoke verify` was asked to look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Cases closed at or after this time (all closed cases when `None`).
    pub since: Option<DateTime<Utc>>,
    /// Only this target's objects.
    pub target: Option<TargetKind>,
    /// Only this identity's cases (its employee id, as cases are keyed).
    pub identity: Option<String>,
}

impl Selection {
    pub fn takes(&self, case: &Case) -> bool {
        after_close(case)
            && self
                .since
                .is_none_or(|s| case.closed_at.is_some_and(|c| c >= s))
            && self
                .identity
                .as_deref()
                .is_none_or(|i| case.identity_id == i)
            && self.target.is_none_or(|t| case.targets.contains_key(&t))
    }

    /// The cases it takes, oldest close first (ties by case id, so the order is stable).
    pub fn select<'a>(&self, cases: impl IntoIterator<Item = &'a Case>) -> Vec<&'a Case> {
        let mut out: Vec<&Case> = cases.into_iter().filter(|c| self.takes(c)).collect();
        out.sort_by_key(|c| (c.closed_at, c.case_id));
        out
    }
}

/// Whether the sign-in watch polls `case` at `now`: closed, and closed no longer than
/// `watch_secs` ago (0: the watch is off). A close time in the future (clock skew) counts as now.
pub fn in_window(case: &Case, now: DateTime<Utc>, watch_secs: u64) -> bool {
    if watch_secs == 0 || !after_close(case) {
        return false;
    }
    let Some(closed) = case.closed_at else {
        return false;
    };
    let window = i64::try_from(watch_secs)
        .ok()
        .and_then(Duration::try_seconds)
        .unwrap_or(Duration::MAX);
    now - closed <= window
}

/// From when a sign-in at this target means access after departure: when the target's access
/// was removed — the earliest `removed_at` of its objects, else when the target confirmed.
/// `None` when the status says neither (nothing was confirmed there).
pub fn sign_ins_since(status: &TargetStatus) -> Option<DateTime<Utc>> {
    status
        .objects
        .iter()
        .filter_map(|o| o.removed_at)
        .min()
        .or(status.confirmed_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testkit::{at, closed_case, done, evidence};

    #[test]
    fn verify_selects_closed_cases_by_time_identity_and_target() {
        let old = closed_case("E1", "2026-11-01T10:00:05Z");
        let new = closed_case("E2", "2026-11-03T10:00:05Z");
        let mut open = closed_case("E3", "2026-11-03T10:00:05Z");
        open.state = CaseState::Open;
        let all = [new.clone(), old.clone(), open];
        let ids = |s: &Selection| -> Vec<String> {
            s.select(&all)
                .iter()
                .map(|c| c.identity_id.clone())
                .collect()
        };
        assert_eq!(
            ids(&Selection::default()),
            ["E1", "E2"],
            "closed only, oldest first"
        );
        let since = Selection {
            since: Some(at("2026-11-02T00:00:00Z")),
            ..Selection::default()
        };
        assert_eq!(ids(&since), ["E2"]);
        let exactly = Selection {
            since: old.closed_at,
            ..Selection::default()
        };
        assert_eq!(ids(&exactly), ["E1", "E2"], "since is inclusive");
        let one = Selection {
            identity: Some("E1".into()),
            ..Selection::default()
        };
        assert_eq!(ids(&one), ["E1"]);
        let cloud = Selection {
            target: Some(TargetKind::Cloud),
            ..Selection::default()
        };
        assert!(ids(&cloud).is_empty(), "no case had a cloud target");
    }

    #[test]
    fn a_replay_case_is_not_looked_at_again_its_replayed_case_is() {
        let original = closed_case("E1", "2026-11-01T10:00:05Z");
        let mut replay = closed_case("E1", "2026-11-02T10:00:05Z");
        replay.replay = Some(Box::new(revoke_shared::contract::CaseReplay {
            of_case: original.case_id,
            of_state: CaseState::Closed,
            of_closed_at: original.closed_at,
            skipped: Vec::new(),
            authenticity: revoke_shared::contract::Authenticity::Unauthenticated,
            request: revoke_shared::contract::ReplayRequest {
                schema: revoke_shared::contract::REPLAY_REQUEST_SCHEMA.into(),
                replay_id: uuid::Uuid::from_u128(1),
                case_id: original.case_id,
                identity_id: "E1".into(),
                targets: Vec::new(),
                from: at("2026-11-01T00:00:00Z"),
                to: at("2026-11-02T00:00:00Z"),
                by: "alice".into(),
                at: at("2026-11-02T10:00:00Z"),
                note: None,
                signature: None,
            },
        }));
        assert!(after_close(&original));
        assert!(!after_close(&replay));
        assert!(!in_window(&replay, at("2026-11-02T10:00:06Z"), 86_400));
    }

    #[test]
    fn the_watch_window_holds_recently_closed_cases_only() {
        let c = closed_case("E1", "2026-11-01T10:00:00Z");
        let day = 86_400;
        assert!(in_window(&c, at("2026-11-01T10:00:00Z"), day));
        assert!(in_window(&c, at("2026-11-02T10:00:00Z"), day), "edge is in");
        assert!(!in_window(&c, at("2026-11-02T10:00:01Z"), day));
        assert!(in_window(&c, at("2026-11-01T09:00:00Z"), day), "skew");
        assert!(!in_window(&c, at("2026-11-01T10:00:00Z"), 0), "off");
        assert!(in_window(&c, at("2026-11-01T10:00:00Z"), u64::MAX));
        let mut open = c.clone();
        open.state = CaseState::Escalated;
        open.closed_at = None;
        assert!(
            !in_window(&open, at("2026-11-01T10:00:00Z"), day),
            "never closed"
        );
        let mut reopened = c.clone();
        reopened.state = CaseState::Escalated;
        reopened
            .findings
            .push(crate::watch::testkit::sign_in_finding(&reopened));
        assert!(
            in_window(&reopened, at("2026-11-01T10:00:00Z"), day),
            "reopened by a finding: still watched"
        );
        let mut unclosed = c;
        unclosed.closed_at = None;
        assert!(!in_window(&unclosed, at("2026-11-01T10:00:00Z"), day));
    }

    #[test]
    fn sign_ins_count_from_the_earliest_removal_else_the_confirmation() {
        let mut a = evidence("account", "a", "lock");
        a.removed_at = Some(at("2026-11-01T10:00:05Z"));
        let mut s = evidence("session", "s", "delete");
        s.removed_at = Some(at("2026-11-01T10:00:02Z"));
        let mut undated = evidence("group_membership", "g", "remove_membership");
        undated.removed_at = None;
        let st = done(vec![a, undated.clone(), s], "2026-11-01T10:00:09Z");
        assert_eq!(sign_ins_since(&st), Some(at("2026-11-01T10:00:02Z")));
        let none_dated = done(vec![undated], "2026-11-01T10:00:09Z");
        assert_eq!(
            sign_ins_since(&none_dated),
            Some(at("2026-11-01T10:00:09Z"))
        );
        let nothing = TargetStatus::pending();
        assert_eq!(sign_ins_since(&nothing), None);
    }
}

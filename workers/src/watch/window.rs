//! The closed cases the sign-in watch holds: those closed within `verifier.watch_secs`, kept
//! current as new case versions arrive, and which findings each already has (recorded in the
//! case by the verifier, or published by this process), so a sign-in is reported once. Pure.

use super::selection::in_window;
use chrono::{DateTime, Utc};
use revoke_shared::contract::Case;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct Watched {
    cases: HashMap<Uuid, Case>,
    /// Per case: findings recorded in the case or published by this process.
    known: HashMap<Uuid, HashSet<Uuid>>,
}

impl Watched {
    /// Takes a version of a case: held while it is closed within the window, dropped (with what
    /// it knew) once a newer version is not — a rescind after the close, say. Older versions
    /// than the one held change nothing.
    pub fn ingest(&mut self, case: Case, now: DateTime<Utc>, watch_secs: u64) {
        if self
            .cases
            .get(&case.case_id)
            .is_some_and(|held| held.revision >= case.revision)
        {
            return;
        }
        if in_window(&case, now, watch_secs) {
            self.known
                .entry(case.case_id)
                .or_default()
                .extend(case.findings.iter().map(|f| f.finding_id));
            self.cases.insert(case.case_id, case);
        } else {
            self.cases.remove(&case.case_id);
            self.known.remove(&case.case_id);
        }
    }

    /// Drops the cases that left the window by `now`; returns how many are held.
    pub fn prune(&mut self, now: DateTime<Utc>, watch_secs: u64) -> usize {
        let known = &mut self.known;
        self.cases.retain(|id, c| {
            let keep = in_window(c, now, watch_secs);
            if !keep {
                known.remove(id);
            }
            keep
        });
        self.cases.len()
    }

    /// The cases held, oldest close first.
    pub fn cases(&self) -> Vec<&Case> {
        let mut v: Vec<&Case> = self.cases.values().collect();
        v.sort_by_key(|c| (c.closed_at, c.case_id));
        v
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Whether `finding` of `case` is not yet recorded or published.
    pub fn is_new(&self, case: Uuid, finding: Uuid) -> bool {
        !self.known.get(&case).is_some_and(|k| k.contains(&finding))
    }

    /// Remembers that `finding` of `case` was published (if the case is still held).
    pub fn mark(&mut self, case: Uuid, finding: Uuid) {
        if let Some(k) = self.known.get_mut(&case) {
            k.insert(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testkit::{at, closed_case};
    use revoke_shared::contract::CaseState;

    const DAY: u64 = 86_400;

    #[test]
    fn holds_closed_cases_within_the_window_and_follows_new_versions() {
        let now = at("2026-11-01T12:00:00Z");
        let mut w = Watched::default();
        let recent = closed_case("E1", "2026-11-01T10:00:05Z");
        let old = closed_case("E2", "2026-10-30T10:00:05Z");
        let mut open = closed_case("E3", "2026-11-01T10:00:05Z");
        open.state = CaseState::Open;
        open.closed_at = None;
        for c in [recent.clone(), old, open.clone()] {
            w.ingest(c, now, DAY);
        }
        assert_eq!(w.len(), 1);
        assert_eq!(w.cases()[0].identity_id, "E1");

        // The open case closes later: held from then on.
        let mut closed = open;
        closed.state = CaseState::Closed;
        closed.closed_at = Some(at("2026-11-01T11:00:00Z"));
        closed.revision = 9;
        w.ingest(closed, now, DAY);
        assert_eq!(w.len(), 2);

        // A newer version of E1 that is no longer closed (rescinded): dropped; an older version
        // arriving late does not bring it back... and one older than what is held changes nothing.
        let mut stale = recent.clone();
        stale.revision = 1;
        stale.closed_at = Some(at("2026-11-01T11:59:00Z"));
        w.ingest(stale, now, DAY);
        assert_eq!(
            w.cases()[0].closed_at,
            recent.closed_at,
            "older version ignored"
        );
        let mut rescinded = recent.clone();
        rescinded.state = CaseState::Rescinded;
        rescinded.revision = 4;
        w.ingest(rescinded, now, DAY);
        assert_eq!(w.len(), 1);
        assert_eq!(w.cases()[0].identity_id, "E3");

        // Time passes: out of the window, dropped.
        assert_eq!(w.prune(at("2026-11-02T10:59:59Z"), DAY), 1);
        assert_eq!(w.prune(at("2026-11-02T11:00:01Z"), DAY), 0);
        assert!(w.is_empty());
        // The watch off: nothing held.
        w.ingest(recent, now, 0);
        assert!(w.is_empty());
    }

    #[test]
    fn a_finding_is_new_once_and_recorded_ones_are_known() {
        let now = at("2026-11-01T12:00:00Z");
        let mut w = Watched::default();
        let mut c = closed_case("E1", "2026-11-01T10:00:05Z");
        let recorded = Uuid::new_v4();
        c.findings.push(revoke_shared::contract::AccessFinding {
            schema: revoke_shared::contract::ACCESS_FINDING_SCHEMA.into(),
            finding_id: recorded,
            case_id: c.case_id,
            identity_id: "E1".into(),
            kind: revoke_shared::contract::FindingKind::SignInAfterDeparture,
            target: revoke_shared::contract::TargetRef {
                kind: revoke_shared::contract::TargetKind::Directory,
                instance: "sso".into(),
            },
            object_kind: "sign_in".into(),
            object_id: "ev-0".into(),
            observed_at: now,
            read_back: String::new(),
            worker: revoke_shared::contract::WorkerInfo {
                id: "w".into(),
                version: "0".into(),
            },
            principal: "svc".into(),
        });
        let id = c.case_id;
        w.ingest(c, now, DAY);
        assert!(!w.is_new(id, recorded), "recorded in the case");
        let f = Uuid::new_v4();
        assert!(w.is_new(id, f));
        w.mark(id, f);
        assert!(!w.is_new(id, f));
        let other = Uuid::new_v4();
        w.mark(other, f);
        assert!(w.is_new(other, f), "a case not held remembers nothing");
    }
}

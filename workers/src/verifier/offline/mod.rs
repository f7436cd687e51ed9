//! `revoke cases rebuild --check`: every case re-derived from the verifier's inputs — the
//! terminations topic, the confirmations topic (workers' reports, restore reports, findings,
//! signal deliveries, people's acknowledgements, attestations, reviews, replay requests) and the
//! guard log (admissions and people's decisions) — by running the verifier's own pure state
//! machine and guard offline (`run`), and compared with the latest version of each case on the
//! cases topic (`compare`).
//!
//! What cannot be re-derived exactly is what came from the verifier's clock: the machine is run
//! with each input's record time as its clock and ticks at every time the cases topic recorded
//! a version (`inputs`), so a deadline, re-drive or reminder happens again at about the time it
//! did, and only whether such a time is set is compared (`compare` lists the fields). It is
//! re-derived under the configuration given now: a policy changed since (required targets,
//! owners, deadlines) shows as differences. Inputs removed by retention cannot be re-applied:
//! the terminations and confirmations topics must still hold every record of the cases
//! compared (the default retention of 7 days bounds what a check can cover; `revoke.dlq` and
//! `revoke.guard` keep theirs). A case whose inputs are gone shows as a difference.

pub mod compare;
pub mod inputs;
pub mod read;
pub mod run;

use chrono::{DateTime, Utc};
use compare::{differences, Difference};
use revoke_shared::contract::{Case, CASE_SCHEMA};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// How one case differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseDifference {
    /// On the cases topic, but no input makes it (a case record nobody's input explains).
    NotDerived,
    /// The inputs make it, but the cases topic has no version of it.
    Missing,
    /// Both exist; these fields differ (at most `compare::LISTED`, and how many in all).
    Fields(Vec<Difference>, usize),
    /// Its versions are on more than one partition of the cases topic (the changelog is
    /// co-partitioned with the inputs: one case, one partition).
    Partitions(Vec<i32>),
}

/// The outcome of a check.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub counts: run::Counts,
    /// Cases on the cases topic, and cases the inputs make.
    pub actual: usize,
    pub derived: usize,
    /// Per case that differs (by id), its identity and how.
    pub different: BTreeMap<Uuid, (String, CaseDifference)>,
}

impl CheckReport {
    pub fn equal(&self) -> bool {
        self.different.is_empty()
    }
}

/// The latest version of each case as the cases topic holds it: its last record in its
/// partition (what compaction keeps and a reader sees last), and the partitions it is on.
#[derive(Debug, Default)]
pub struct Actual {
    pub latest: HashMap<Uuid, Case>,
    pub partitions: HashMap<Uuid, Vec<i32>>,
    /// Every time a version was recorded (`updated_at`): when the verifier's clock acted.
    pub times: Vec<DateTime<Utc>>,
}

impl Actual {
    /// From the cases topic's records as read (each partition in offset order).
    pub fn from_records(records: Vec<revoke_shared::kafka::ReadRecord>) -> Actual {
        let mut a = Actual::default();
        for r in records {
            let Some(case) = r
                .payload
                .as_deref()
                .and_then(|p| serde_json::from_slice::<Case>(p).ok())
                .filter(|c| c.schema == CASE_SCHEMA)
            else {
                continue;
            };
            a.times.extend(clock_times(&case));
            let parts = a.partitions.entry(case.case_id).or_default();
            if !parts.contains(&r.partition) {
                parts.push(r.partition);
            }
            a.latest.insert(case.case_id, case);
        }
        a
    }
}

/// The times at which the verifier's clock acted on `case`, or was due to (its versions'
/// times, escalations, releases, its deadline and planned re-drives): the re-run ticks there.
fn clock_times(case: &Case) -> Vec<DateTime<Utc>> {
    let mut t = vec![case.updated_at];
    t.extend(case.closed_at);
    t.extend(case.deadline);
    t.extend(case.escalations.iter().map(|e| e.raised_at));
    for g in [&case.guard, &case.restore_guard].into_iter().flatten() {
        t.extend(g.released_at);
        t.extend(g.held_at);
    }
    t.extend(case.targets.values().filter_map(|s| s.redrive_at));
    t
}

/// Compares the re-derived cases with the cases topic's.
pub fn compare_all(derived: &HashMap<Uuid, Case>, actual: &Actual) -> CheckReport {
    let mut report = CheckReport {
        actual: actual.latest.len(),
        derived: derived.len(),
        ..CheckReport::default()
    };
    for (id, a) in &actual.latest {
        let who = a.identity_id.clone();
        let parts = &actual.partitions[id];
        if parts.len() > 1 {
            report
                .different
                .insert(*id, (who, CaseDifference::Partitions(parts.clone())));
            continue;
        }
        match derived.get(id) {
            None => {
                report
                    .different
                    .insert(*id, (who, CaseDifference::NotDerived));
            }
            Some(e) => {
                let mut d = differences(e, a);
                if !d.is_empty() {
                    let n = d.len();
                    d.truncate(compare::LISTED);
                    report
                        .different
                        .insert(*id, (who, CaseDifference::Fields(d, n)));
                }
            }
        }
    }
    for (id, e) in derived {
        if !actual.latest.contains_key(id) {
            report
                .different
                .insert(*id, (e.identity_id.clone(), CaseDifference::Missing));
        }
    }
    report
}

/// Re-derives every case from `steps` under `cfg` and compares them with `actual`; the clock
/// ticks last at the latest time anything was recorded.
pub fn check(
    cfg: &revoke_shared::config::Config,
    steps: Vec<inputs::Step>,
    actual: &Actual,
) -> Result<CheckReport, String> {
    let mut offline = run::Offline::new(cfg)?;
    let every = chrono::Duration::milliseconds(cfg.verifier.tick_ms as i64);
    let mut last: Option<DateTime<Utc>> = None;
    // The verifier's clock: at most once per `tick_ms`, as it ticks (what it did within one
    // tick of an input may come out in either order, there as here).
    let mut tick = |offline: &mut run::Offline, t: DateTime<Utc>| {
        if last.is_none_or(|l| t >= l + every) {
            offline.tick(t);
            last = Some(t);
        }
    };
    let mut end = actual.times.iter().max().copied();
    for step in steps {
        end = end.max(Some(step.at()));
        match step {
            inputs::Step::Tick(t) => tick(&mut offline, t),
            inputs::Step::Record(r) => {
                // The clock ran up to this input before the verifier handled it.
                tick(&mut offline, r.at);
                offline.apply(r.source, &r.msg, r.at)?;
            }
        }
    }
    if let Some(end) = end {
        offline.tick(end);
    }
    let mut report = compare_all(offline.cases(), actual);
    report.counts = offline.counts.clone();
    Ok(report)
}

#[cfg(test)]
mod tests;

//! The guard's memory over a year of traffic: what is forgotten, what is capped, and that
//! forgetting never changes what a person decided.

use super::*;

const WINDOW: i64 = 600;

fn cfg() -> GuardConfig {
    GuardConfig {
        max_terminations: 3,
        max_restores: 2,
        window_secs: WINDOW as u64,
        ..GuardConfig::default()
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .into()
}

/// A synthetic guard log, applied as it is written.
struct Log {
    g: Guard,
    offset: i64,
    next_case: u128,
}

impl Log {
    fn new() -> Log {
        Log {
            g: Guard::new(cfg()),
            offset: 0,
            next_case: 0,
        }
    }

    fn apply(&mut self, e: &GuardEntry) -> Vec<Judged> {
        self.offset += 1;
        self.g.apply(self.offset, e)
    }

    fn admit_case(&mut self, case: u128, asks: AdmissionKind, at: DateTime<Utc>) -> Vec<Judged> {
        self.apply(&GuardEntry::Admission(Admission {
            case_id: Uuid::from_u128(case),
            identity_id: format!("E{case}"),
            asks,
            targets: TargetKind::ALL.to_vec(),
            at,
        }))
    }

    /// `n` new people asking at `at`; their verdicts.
    fn burst(&mut self, n: usize, asks: AdmissionKind, at: DateTime<Utc>) -> Vec<Judged> {
        (0..n)
            .flat_map(|_| {
                self.next_case += 1;
                self.admit_case(self.next_case, asks, at)
            })
            .collect()
    }

    fn decide(&mut self, batch: &str, d: Decision, at: DateTime<Utc>) -> Vec<Judged> {
        self.apply(&GuardEntry::Decision(BatchDecision {
            batch: batch.into(),
            decision: d,
            by: "alice".into(),
            at,
            note: None,
            digest: None,
            cases: None,
        }))
    }
}

fn opened(j: &[Judged]) -> Option<String> {
    j.iter().find_map(|j| match &j.verdict {
        Verdict::Held {
            batch,
            opens_batch: true,
            ..
        } => Some(batch.clone()),
        _ => None,
    })
}

/// A year, one burst every hour over the limit (3 released, 5 held), every batch decided a few
/// minutes later (approved and rejected in turn), a burst of restores every day, decided too:
/// what the guard lists stays that of the last two windows, whatever the length of the history.
#[test]
fn a_year_of_decided_bursts_keeps_only_the_last_windows_listed() {
    let mut log = Log::new();
    let (mut decided_cases, mut released) = (0, 0);
    for hour in 0..24 * 365 {
        let at = t0() + Duration::hours(hour);
        let mut j = log.burst(8, AdmissionKind::Termination, at);
        if hour % 24 == 0 {
            j.extend(log.burst(4, AdmissionKind::Restore, at + Duration::seconds(1)));
        }
        released += j.iter().filter(|j| j.verdict == Verdict::Released).count();
        let later = at + Duration::minutes(5);
        let mut batches: Vec<String> = j
            .iter()
            .filter_map(|j| match &j.verdict {
                Verdict::Held { batch, .. } => Some(batch.clone()),
                _ => None,
            })
            .collect();
        batches.dedup();
        for (n, b) in batches.iter().enumerate() {
            let d = if (hour as usize + n).is_multiple_of(2) {
                Decision::Approve
            } else {
                Decision::Reject
            };
            decided_cases += log.decide(b, d, later).len();
        }
        let s = log.g.sizes();
        assert!(
            log.g.batches().len() <= 3,
            "hour {hour}: {} batches listed",
            log.g.batches().len()
        );
        assert_eq!((s.held, s.held_batches), (0, 0), "hour {hour}");
        // Releases of the last two windows only (here: the last burst's).
        assert!(s.released <= 5, "hour {hour}: {s:?}");
    }
    let s = log.g.sizes();
    assert_eq!(decided_cases, 24 * 365 * 5 + 365 * 2);
    assert_eq!(released, 24 * 365 * 3 + 365 * 2);
    // Each decided case keeps one small entry (see `rejected_stays_rejected_after_…`), and each
    // decided batch its decisions: what people decided, not what the year held.
    assert_eq!(s.decided, decided_cases);
    assert_eq!(s.settled_batches + s.decided_batches, 24 * 365 + 365);
    assert_eq!(s.released + s.held + s.decided, log.g.verdict_count());
}

/// Bursts nobody decides: each held case is kept (a person must decide it), but after
/// `MAX_UNDECIDED_BATCHES` batches of a kind, further holds join the newest one: held, never
/// released, no new batch and no new escalation.
#[test]
fn a_year_of_undecided_bursts_is_capped_in_batches_and_never_released() {
    let mut log = Log::new();
    let mut openers = 0;
    for hour in 0..24 * 365 {
        let at = t0() + Duration::hours(hour);
        let j = log.burst(5, AdmissionKind::Termination, at);
        assert_eq!(
            j.iter().filter(|j| j.verdict == Verdict::Released).count(),
            3,
            "a burst after a quiet hour: 3 released, 2 held"
        );
        openers += usize::from(opened(&j).is_some());
    }
    let s = log.g.sizes();
    assert_eq!(openers, MAX_UNDECIDED_BATCHES);
    assert_eq!(s.held_batches, MAX_UNDECIDED_BATCHES);
    assert_eq!(log.g.batches().len(), MAX_UNDECIDED_BATCHES);
    assert_eq!(s.held, 24 * 365 * 2, "every held case is kept");
    assert!(s.released <= 3, "{s:?}");
    let newest = log.g.batches().last().unwrap();
    assert_eq!(newest.undecided().count(), (24 * 365 - 99) * 2);
    let newest = newest.id.clone();
    // A held case joining past the cap says so, and is held like any other.
    let j = log.burst(5, AdmissionKind::Termination, t0() + Duration::days(400));
    let why = j
        .iter()
        .find_map(|j| match &j.verdict {
            Verdict::Held { why, batch, .. } => {
                assert_eq!(batch, &newest);
                Some(why.clone())
            }
            _ => None,
        })
        .unwrap();
    assert!(
        why.contains("100 batches already wait for a person"),
        "{why}"
    );
    // Restores have their own batches: the cap on terminations does not merge them.
    let j = log.burst(3, AdmissionKind::Restore, t0() + Duration::days(400));
    assert!(opened(&j).is_some());
    // Deciding a batch makes room for a new one.
    let first = log.g.batches()[0].id.clone();
    log.decide(&first, Decision::Reject, t0() + Duration::days(400));
    let j = log.burst(5, AdmissionKind::Termination, t0() + Duration::days(401));
    assert!(opened(&j).is_some(), "{j:?}");
}

/// The safety of forgetting: once a rejected batch is no longer listed, a case of it asking
/// again (its verifier stopped before it wrote the verdict, and asks after the log moved on)
/// is not judged again — it could be released then — but keeps the person's rejection; the
/// verdict a taken-over case looks up is still the decision; a decision on the forgotten
/// batch, or a new request of the same person, changes nothing and releases nothing.
#[test]
fn rejected_stays_rejected_after_the_batch_is_forgotten() {
    let mut log = Log::new();
    let j = log.burst(5, AdmissionKind::Termination, t0());
    let batch = opened(&j).unwrap();
    let rejected: Vec<Uuid> = j
        .iter()
        .filter(|j| matches!(j.verdict, Verdict::Held { .. }))
        .map(|j| j.case_id)
        .collect();
    assert_eq!(rejected.len(), 2);
    assert_eq!(log.decide(&batch, Decision::Reject, t0()).len(), 2);
    // A week of quiet traffic, one person an hour: the batch is forgotten.
    for hour in 1..24 * 7 {
        let j = log.burst(1, AdmissionKind::Termination, t0() + Duration::hours(hour));
        assert_eq!(j[0].verdict, Verdict::Released);
    }
    assert!(log.g.batch(&batch).is_none(), "no longer listed");
    assert_eq!(log.g.sizes().settled_batches, 1);
    let later = t0() + Duration::days(7);
    for id in &rejected {
        // A takeover looks the verdict up: still the rejection, with who and when.
        match log.g.verdict(id, AdmissionKind::Termination) {
            Some(Verdict::Decided {
                batch: b, decision, ..
            }) => {
                assert_eq!(b, batch);
                assert_eq!(
                    (decision.decision, decision.by.as_str()),
                    (Decision::Reject, "alice")
                );
            }
            other => panic!("{other:?}"),
        }
        // The case asks again: no new verdict (quiet traffic would release it).
        assert!(log
            .admit_case(id.as_u128(), AdmissionKind::Termination, later)
            .is_empty());
    }
    // A late decision on the forgotten batch changes nothing, and the CLI says why.
    assert!(log.decide(&batch, Decision::Approve, later).is_empty());
    let err = log.g.check_decision(&batch).unwrap_err();
    assert!(err.contains("already decided: rejected by alice"), "{err}");
    for id in &rejected {
        assert!(matches!(
            log.g.verdict(id, AdmissionKind::Termination),
            Some(Verdict::Decided { decision, .. }) if decision.decision == Decision::Reject
        ));
    }
}

/// An approved case taken over after its batch was forgotten still gets the approval (else it
/// would stay held forever: a leaver a person let through, never revoked).
#[test]
fn approved_stays_approved_after_the_batch_is_forgotten() {
    let mut log = Log::new();
    let j = log.burst(4, AdmissionKind::Restore, t0());
    let batch = opened(&j).unwrap();
    let held = j
        .iter()
        .find(|j| matches!(j.verdict, Verdict::Held { .. }))
        .unwrap();
    log.decide(&batch, Decision::Approve, t0());
    log.burst(1, AdmissionKind::Termination, t0() + Duration::days(1));
    assert!(log.g.batch(&batch).is_none());
    assert!(matches!(
        log.g.verdict(&held.case_id, AdmissionKind::Restore),
        Some(Verdict::Decided { decision, .. }) if decision.decision == Decision::Approve
    ));
}

/// A decided batch stays listed for two windows of log time after its last decision, so
/// `revoke guard` and `revoke approve` (reading the log back) still show it.
#[test]
fn a_decided_batch_is_listed_for_two_windows() {
    let mut log = Log::new();
    let batch = opened(&log.burst(5, AdmissionKind::Termination, t0())).unwrap();
    log.decide(&batch, Decision::Approve, t0());
    log.burst(
        1,
        AdmissionKind::Termination,
        t0() + Duration::seconds(2 * WINDOW - 1),
    );
    assert!(log.g.batch(&batch).is_some_and(|b| b.is_decided()));
    log.burst(
        1,
        AdmissionKind::Termination,
        t0() + Duration::seconds(2 * WINDOW),
    );
    assert!(log.g.batch(&batch).is_none());
    // Only fully decided batches go: one decided in part is still listed.
    let t = t0() + Duration::days(1);
    let j = log.burst(5, AdmissionKind::Termination, t);
    let batch = opened(&j).unwrap();
    let first = j
        .iter()
        .find(|j| matches!(j.verdict, Verdict::Held { .. }))
        .unwrap();
    log.apply(&GuardEntry::Decision(BatchDecision {
        batch: batch.clone(),
        decision: Decision::Reject,
        by: "alice".into(),
        at: t,
        note: None,
        digest: None,
        cases: Some(vec![first.case_id]),
    }));
    log.burst(1, AdmissionKind::Termination, t + Duration::days(30));
    let b = log.g.batch(&batch).unwrap();
    assert_eq!(b.undecided().count(), 1);
    assert!(log.g.check_decision(&batch).is_ok());
}

/// One decision on a big batch: each case's verdict carries the decision without its case
/// list, so deciding n cases costs n small verdicts, not n copies of an n-long list.
#[test]
fn a_decision_is_not_copied_with_its_case_list_into_every_verdict() {
    let mut log = Log::new();
    let j = log.burst(2_003, AdmissionKind::Termination, t0());
    let batch = opened(&j).unwrap();
    let ids: Vec<Uuid> = log
        .g
        .batch(&batch)
        .unwrap()
        .undecided()
        .map(|c| c.0)
        .collect();
    let decided = log.apply(&GuardEntry::Decision(BatchDecision {
        batch: batch.clone(),
        decision: Decision::Reject,
        by: "alice".into(),
        at: t0(),
        note: Some("junk export".into()),
        digest: None,
        cases: Some(ids.clone()),
    }));
    assert_eq!(decided.len(), 2_000);
    for j in &decided {
        match &j.verdict {
            Verdict::Decided { decision, .. } => {
                assert_eq!(decision.cases, None);
                assert_eq!(decision.note.as_deref(), Some("junk export"));
            }
            other => panic!("{other:?}"),
        }
    }
    // The batch itself keeps the decision as written (`revoke approve` compares the list).
    let b = log.g.batch(&batch).unwrap();
    assert_eq!(b.decision_of(&ids[0]).unwrap().cases.as_ref(), Some(&ids));
}

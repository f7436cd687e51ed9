use super::*;

fn cfg(max: u64) -> GuardConfig {
    GuardConfig {
        max_terminations: max,
        window_secs: 600,
        ..GuardConfig::default()
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
        .unwrap()
        .into()
}

/// Case `n` of `who` asking the guard to admit `asks` on `targets`.
fn admission(
    n: u128,
    who: &str,
    asks: AdmissionKind,
    targets: Vec<TargetKind>,
    at: DateTime<Utc>,
) -> GuardEntry {
    GuardEntry::Admission(Admission {
        case_id: Uuid::from_u128(n),
        identity_id: who.into(),
        asks,
        targets,
        at,
    })
}

/// The termination of case `n`, person `E{n}`, on every target.
fn adm(n: u128, at: DateTime<Utc>) -> GuardEntry {
    let all = TargetKind::ALL.to_vec();
    admission(n, &format!("E{n}"), AdmissionKind::Termination, all, at)
}

/// A guard of limit 1 that has judged the terminations of cases `0..n` at `t0`: case 0
/// released, the others held in batch `hold-1`.
fn one_released_then_held(n: u128) -> Guard {
    let mut g = Guard::new(cfg(1));
    for i in 0..n {
        g.apply(i as i64, &adm(i, t0()));
    }
    g
}

fn decision(batch: &str, d: Decision) -> GuardEntry {
    GuardEntry::Decision(BatchDecision {
        batch: batch.into(),
        decision: d,
        by: "alice".into(),
        at: t0(),
        note: None,
        digest: None,
        cases: None,
    })
}

fn held_batch(j: &[Judged]) -> Option<&str> {
    match &j.first()?.verdict {
        Verdict::Held { batch, .. } => Some(batch),
        _ => None,
    }
}

/// A year of released cases does not grow the guard: their verdicts are forgotten two
/// windows after release.
#[test]
fn released_verdicts_are_forgotten_two_windows_later() {
    let mut g = Guard::new(cfg(1_000_000));
    for n in 0..10_000u128 {
        let at = t0() + Duration::seconds(n as i64 * 60);
        g.apply(n as i64, &adm(n, at));
    }
    // One admission a minute, a 600 s window: about 20 minutes of verdicts are kept.
    assert!(g.verdict_count() <= 21, "{}", g.verdict_count());
    assert_eq!(
        g.verdict(&Uuid::from_u128(9_999), AdmissionKind::Termination),
        Some(Verdict::Released)
    );
    assert_eq!(
        g.verdict(&Uuid::from_u128(0), AdmissionKind::Termination),
        None
    );
}

/// HR re-sending one person's termination under new ids (each a new case once the first
/// closed) counts once; the person's later requests get the first one's verdict.
#[test]
fn one_person_counts_once_and_inherits_the_verdict() {
    let mut g = Guard::new(cfg(2));
    let person = |n: u128, who: &str| {
        admission(
            n,
            who,
            AdmissionKind::Termination,
            TargetKind::ALL.to_vec(),
            t0(),
        )
    };
    let mut off = 0;
    let mut verdict = |g: &mut Guard, e: GuardEntry| {
        off += 1;
        g.apply(off, &e).pop().unwrap().verdict
    };
    for n in 0..50 {
        assert_eq!(verdict(&mut g, person(n, "E-dup")), Verdict::Released);
    }
    assert_eq!(verdict(&mut g, person(100, "E1")), Verdict::Released);
    let held = verdict(&mut g, person(101, "E2"));
    assert!(matches!(held, Verdict::Held { .. }), "{held:?}");
    // E2 again: held too (never slips past a held batch), in the same batch, not counted.
    let again = verdict(&mut g, person(102, "E2"));
    assert!(
        matches!(
            &again,
            Verdict::Held {
                opens_batch: false,
                ..
            }
        ),
        "{again:?}"
    );
    // Restores have their own count.
    let restore = admission(
        100,
        "E1",
        AdmissionKind::Restore,
        TargetKind::ALL.to_vec(),
        t0(),
    );
    assert_eq!(verdict(&mut g, restore), Verdict::Released);
    assert_eq!(
        g.verdict(&Uuid::from_u128(100), AdmissionKind::Termination),
        Some(Verdict::Released)
    );
}

#[test]
fn more_than_the_limit_in_the_window_is_held_in_one_batch_with_one_opener() {
    let mut g = Guard::new(cfg(3));
    let mut verdicts = Vec::new();
    for i in 0..6 {
        let j = g.apply(i as i64, &adm(i, t0() + Duration::seconds(i as i64)));
        assert_eq!(j.len(), 1);
        verdicts.push(j[0].verdict.clone());
    }
    assert!(verdicts[..3].iter().all(|v| *v == Verdict::Released));
    let openers: Vec<bool> = verdicts[3..]
        .iter()
        .map(|v| match v {
            Verdict::Held {
                batch, opens_batch, ..
            } => {
                assert_eq!(batch, "hold-3");
                *opens_batch
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(openers, vec![true, false, false]);
    let b = g.batch("hold-3").unwrap();
    assert_eq!(b.cases.len(), 3);
    assert!(
        b.why.contains("4 people") && b.why.contains("max_terminations = 3"),
        "{}",
        b.why
    );
}

#[test]
fn the_window_slides() {
    let mut g = Guard::new(cfg(2));
    g.apply(0, &adm(0, t0()));
    g.apply(1, &adm(1, t0() + Duration::seconds(1)));
    // 10 minutes after the first: it has left the window, so this is the 2nd in it.
    let j = g.apply(2, &adm(2, t0() + Duration::seconds(600)));
    assert_eq!(j[0].verdict, Verdict::Released);
    // Still within 10 minutes of the second: the 3rd in the window.
    let j = g.apply(3, &adm(3, t0() + Duration::seconds(600)));
    assert_eq!(held_batch(&j), Some("hold-3"));
    // Once the second and third left it, room again.
    let j = g.apply(4, &adm(4, t0() + Duration::seconds(1201)));
    assert_eq!(j[0].verdict, Verdict::Released);
}

#[test]
fn a_repeated_admission_is_judged_once() {
    let mut g = Guard::new(cfg(1));
    assert_eq!(g.apply(0, &adm(0, t0()))[0].verdict, Verdict::Released);
    assert!(g.apply(1, &adm(0, t0())).is_empty());
    assert!(g.apply(2, &adm(0, t0())).is_empty());
    // The repeats did not count: the next case is the 2nd, over the limit of 1.
    assert_eq!(held_batch(&g.apply(3, &adm(1, t0()))), Some("hold-3"));
    assert_eq!(
        g.verdict(&Uuid::from_u128(0), AdmissionKind::Termination),
        Some(Verdict::Released)
    );
}

#[test]
fn a_decision_applies_to_the_batch_as_it_was_and_later_holds_start_a_new_one() {
    let mut g = one_released_then_held(3);
    let j = g.apply(3, &decision("hold-1", Decision::Approve));
    assert_eq!(
        j.iter().map(|j| j.case_id).collect::<Vec<_>>(),
        vec![Uuid::from_u128(1), Uuid::from_u128(2)]
    );
    assert!(j.iter().all(|j| matches!(&j.verdict, Verdict::Decided { decision, .. } if decision.decision == Decision::Approve && decision.by == "alice")));
    // Decided: a second decision on it changes nothing, and the CLI is told why.
    assert!(g.apply(4, &decision("hold-1", Decision::Reject)).is_empty());
    assert!(g
        .check_decision("hold-1")
        .unwrap_err()
        .contains("approved by alice"));
    // Still within the window: the next case is held again, in a new batch.
    let j = g.apply(5, &adm(3, t0()));
    assert!(
        matches!(&j[0].verdict, Verdict::Held { batch, opens_batch: true, .. } if batch == "hold-5")
    );
    let j = g.apply(6, &decision("hold-5", Decision::Reject));
    assert!(
        matches!(&j[0].verdict, Verdict::Decided { decision, .. } if decision.decision == Decision::Reject)
    );
    // Unknown batches change nothing.
    assert!(g
        .apply(7, &decision("hold-99", Decision::Approve))
        .is_empty());
    assert!(g
        .check_decision("hold-99")
        .unwrap_err()
        .contains("no held batch"));
}

#[test]
fn a_held_batch_left_alone_for_a_window_is_not_joined_by_a_new_burst() {
    let mut g = one_released_then_held(2);
    let later = t0() + Duration::hours(5);
    g.apply(2, &adm(2, later));
    let j = g.apply(3, &adm(3, later));
    assert_eq!(held_batch(&j), Some("hold-3"));
    assert_eq!(g.batches().len(), 2);
    assert!(
        g.check_decision("hold-1").is_ok(),
        "the old batch still waits for a person"
    );
}

#[test]
fn a_share_of_a_targets_accounts() {
    let mut c = cfg(1000);
    c.max_share_percent = Some(5.0);
    c.accounts.insert("saas".into(), 40);
    let mut g = Guard::new(c);
    // 5% of 40 is 2: the third case acting on saas is held; cases not acting on it are not.
    let termination = AdmissionKind::Termination;
    let saas = |n: u128| {
        let targets = vec![TargetKind::Saas, TargetKind::Directory];
        admission(n, &format!("E{n}"), termination, targets, t0())
    };
    let dir_only = admission(9, "E9", termination, vec![TargetKind::Directory], t0());
    assert_eq!(g.apply(0, &saas(0))[0].verdict, Verdict::Released);
    assert_eq!(g.apply(1, &saas(1))[0].verdict, Verdict::Released);
    assert_eq!(g.apply(2, &dir_only)[0].verdict, Verdict::Released);
    let j = g.apply(3, &saas(3));
    match &j[0].verdict {
        Verdict::Held { why, .. } => {
            assert!(why.contains("3 of the 40 saas accounts"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

/// Two instances reading the same log agree on every verdict, whatever they own.
#[test]
fn every_reader_of_the_log_judges_alike() {
    let log: Vec<GuardEntry> = (0..40)
        .map(|i| adm(i, t0() + Duration::seconds(i as i64 * 7)))
        .chain([decision("hold-25", Decision::Approve)])
        .collect();
    let run = || {
        let mut g = Guard::new(cfg(25));
        log.iter()
            .enumerate()
            .flat_map(|(o, e)| g.apply(o as i64, e))
            .collect::<Vec<_>>()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert_eq!(
        a.iter().filter(|j| j.verdict == Verdict::Released).count(),
        25
    );
    assert_eq!(
        a.iter()
            .filter(|j| matches!(j.verdict, Verdict::Decided { .. }))
            .count(),
        15
    );
}

/// The decision `revoke approve` would write for `sel` on `batch` shown `digest`.
fn chosen(g: &Guard, batch: &str, digest: &str, sel: Selection) -> Result<GuardEntry, String> {
    let cases = g.select(batch, Some(digest), &sel)?;
    Ok(GuardEntry::Decision(BatchDecision {
        batch: batch.into(),
        decision: Decision::Approve,
        by: "alice".into(),
        at: t0(),
        note: None,
        digest: Some(digest.into()),
        cases: Some(cases.into_iter().map(|(id, _)| id).collect()),
    }))
}

/// The people `--only` and `--except` name.
fn selection(only: &[&str], except: &[&str]) -> Selection {
    let names = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect();
    Selection {
        only: names(only),
        except: names(except),
    }
}

fn decided_ids(j: &[Judged]) -> Vec<Uuid> {
    j.iter()
        .filter(|j| matches!(j.verdict, Verdict::Decided { .. }))
        .map(|j| j.case_id)
        .collect()
}

/// A digest shown before a case joined no longer matches: the decision is refused, naming
/// the current digest; the digest covers only what still waits.
#[test]
fn a_digest_binds_to_the_list_shown() {
    let mut g = one_released_then_held(3);
    let shown = g.batch("hold-1").unwrap().digest();
    assert_eq!(shown.len(), 16);
    assert_eq!(shown, g.batch("hold-1").unwrap().digest(), "stable");
    g.apply(3, &adm(3, t0()));
    let now = g.batch("hold-1").unwrap().digest();
    assert_ne!(shown, now);
    let err = g
        .select("hold-1", Some(&shown), &Selection::default())
        .unwrap_err();
    assert!(
        err.contains(&now) && err.contains("revoke guard") && err.contains("changed"),
        "{err}"
    );
    assert_eq!(
        g.select("hold-1", Some(&now.to_uppercase()), &Selection::default())
            .unwrap()
            .len(),
        3
    );
    // Forged: an identity not waiting in the batch is refused, not ignored.
    let err = g
        .select("hold-1", Some(&now), &selection(&["E0"], &[]))
        .unwrap_err();
    assert!(err.contains("E0 is not waiting"), "{err}");
}

/// `--only` decides exactly the named people; `--except` everyone else; the batch stays open
/// (and joinable) for the rest, whose digest is new; a replayed decision changes nothing.
#[test]
fn only_and_except_decide_part_of_a_batch() {
    let mut g = one_released_then_held(5);
    let d = g.batch("hold-1").unwrap().digest();
    let only = chosen(&g, "hold-1", &d, selection(&["E2"], &[])).unwrap();
    assert_eq!(decided_ids(&g.apply(5, &only)), vec![Uuid::from_u128(2)]);
    assert!(g.apply(6, &only).is_empty(), "a replay decides nothing");
    let b = g.batch("hold-1").unwrap();
    assert!(!b.is_decided() && b.decision_of(&Uuid::from_u128(2)).is_some());
    assert!(b.decision_of(&Uuid::from_u128(1)).is_none());
    assert_ne!(b.digest(), d, "the rest has its own digest");
    assert!(
        g.select("hold-1", Some(&d), &Selection::default()).is_err(),
        "the old digest is stale"
    );
    // Still open: a new held case joins it.
    assert_eq!(held_batch(&g.apply(7, &adm(7, t0()))), Some("hold-1"));
    let d = g.batch("hold-1").unwrap().digest();
    let except = chosen(&g, "hold-1", &d, selection(&[], &["E3"])).unwrap();
    assert_eq!(
        decided_ids(&g.apply(8, &except)),
        [1, 4, 7].map(Uuid::from_u128).to_vec()
    );
    let d = g.batch("hold-1").unwrap().digest();
    let last = chosen(&g, "hold-1", &d, Selection::default()).unwrap();
    assert_eq!(decided_ids(&g.apply(9, &last)), vec![Uuid::from_u128(3)]);
    assert!(g.batch("hold-1").unwrap().is_decided());
    assert!(g
        .check_decision("hold-1")
        .unwrap_err()
        .contains("already decided"));
    // Fully decided: the next held case opens a new batch.
    assert_eq!(held_batch(&g.apply(10, &adm(10, t0()))), Some("hold-10"));
}

/// A case that joins between the person's look and the decision landing is not in the
/// decision's list: it stays held; an older record without a list decides all that waits.
#[test]
fn a_case_joining_after_the_digest_stays_held() {
    let mut g = one_released_then_held(3);
    let d = g.batch("hold-1").unwrap().digest();
    let listed = chosen(&g, "hold-1", &d, Selection::default()).unwrap();
    g.apply(3, &adm(3, t0()));
    let j = g.apply(4, &listed);
    assert_eq!(decided_ids(&j), [1, 2].map(Uuid::from_u128).to_vec());
    assert!(matches!(
        g.verdict(&Uuid::from_u128(3), AdmissionKind::Termination),
        Some(Verdict::Held { .. })
    ));
    let b = g.batch("hold-1").unwrap();
    assert_eq!(
        b.undecided().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![Uuid::from_u128(3)]
    );
    // A record from before decisions listed cases: everything still waiting.
    let j = g.apply(5, &decision("hold-1", Decision::Reject));
    assert_eq!(decided_ids(&j), vec![Uuid::from_u128(3)]);
    assert!(g.batch("hold-1").unwrap().is_decided());
}

/// A decision's proof reaches every case it decides, now and when a case taken over later looks
/// its verdict up (also once the batch is settled); a replay of the same decision is absorbed.
#[test]
fn a_decisions_proof_travels_with_its_verdicts() {
    let proof = DecisionProof {
        authenticity: revoke_shared::contract::Authenticity::Authenticated,
        signature: None,
        digest: "sha256:00".into(),
    };
    let mut g = one_released_then_held(3);
    let d = decision("hold-1", Decision::Approve);
    let j = g.apply_proven(3, &d, Some(proof.clone()));
    assert_eq!(j.len(), 2);
    for j in &j {
        assert!(matches!(&j.verdict, Verdict::Decided { proof: Some(p), .. } if **p == proof));
    }
    assert!(
        g.apply_proven(4, &d, Some(proof.clone())).is_empty(),
        "a replay changes nothing"
    );
    let looked_up = |g: &Guard| g.verdict(&Uuid::from_u128(2), AdmissionKind::Termination);
    assert!(matches!(looked_up(&g), Some(Verdict::Decided { proof: Some(p), .. }) if *p == proof));
    // Long after: the batch is settled, the proof is still there for a takeover.
    g.apply(5, &adm(9, t0() + Duration::days(3)));
    assert!(g.batch("hold-1").is_none());
    assert!(matches!(looked_up(&g), Some(Verdict::Decided { proof: Some(p), .. }) if *p == proof));
}

/// `revoke_guard_oldest_held_seconds` counts from the oldest batch still waiting for a person:
/// none before anything is held, the first held case's time while its batch waits, the next
/// batch's once the first is decided, none again when every batch is decided.
#[test]
fn oldest_held_is_the_oldest_undecided_batch() {
    let mut g = Guard::new(cfg(1));
    assert_eq!(g.oldest_held_since(), None);
    g.apply(0, &adm(0, t0()));
    assert_eq!(g.oldest_held_since(), None, "released, nothing held");
    let first = t0() + Duration::seconds(10);
    g.apply(1, &adm(1, first));
    g.apply(2, &adm(2, first + Duration::seconds(5)));
    assert_eq!(g.oldest_held_since(), Some(first));
    // A later burst, more than a window after the first batch's last case (its first case
    // released, the second held): a second batch.
    let second = first + Duration::seconds(3600);
    g.apply(3, &adm(3, second));
    g.apply(4, &adm(4, second + Duration::seconds(1)));
    assert_eq!(g.batches().len(), 2);
    assert_eq!(g.oldest_held_since(), Some(first));
    g.apply(5, &decision("hold-1", Decision::Reject));
    assert_eq!(g.oldest_held_since(), Some(second + Duration::seconds(1)));
    g.apply(6, &decision("hold-4", Decision::Approve));
    assert_eq!(g.oldest_held_since(), None);
}

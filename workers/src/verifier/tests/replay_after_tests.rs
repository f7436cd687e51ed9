//! Replays (`revoke replay`, `machine::replay`), what follows a replay case: it asks the guard
//! like a termination (a burst is held), its verified report counts for a live case whose target
//! was fixed, a rescind ends it, reports that do not match it are refused, its transient
//! failures are re-driven as the same replay, and rebuilt from the changelog it is no
//! termination of its own.

use super::replay_kit::*;
use crate::verifier::guard::Guard;

#[test]
fn with_the_guard_a_replay_asks_like_a_termination_and_a_burst_is_held() {
    let mut v = Verifier::new(VerifierConfig {
        guard: GuardConfig {
            owner: Some(owner("guard-desk")),
            ..guard_on(2)
        },
        ..policy()
    })
    .with_roster(people());
    let mut guard = Guard::new(guard_on(2));
    // Three people's closed cases (each released by the guard when it opened).
    let mut closed_cases = Vec::new();
    for i in 0..3 {
        let ev = termination(&format!("E{i}"), &format!("evt-{i}"), at(0));
        let opened = sole_case(
            hr(&mut v, &ev, at(-7200))
                .into_iter()
                .filter(|e| matches!(e, Effect::Case(_)))
                .collect(),
        );
        let released = v.apply(Input::Guard(&judged(&opened, Verdict::Released)), at(-7200));
        assert_eq!(dues(&released).len(), 1);
        let c = sole_case(
            confirm_ok(&mut v, &ev, &ALL, -7100)
                .into_iter()
                .filter(|e| matches!(e, Effect::Case(_)))
                .collect(),
        );
        assert_eq!(c.state, CaseState::Closed);
        closed_cases.push(c);
    }
    // The replay of the three: each replay case asks the guard (a termination's admission for
    // the replay case), nothing reaches the workers before the verdict.
    let mut verdicts = Vec::new();
    let mut replay_cases = Vec::new();
    for (i, c) in closed_cases.iter().enumerate() {
        let r = request(c, &[Directory], "alice", Some("alice"), 100);
        let effects = replay(&mut v, &r, Some(c), 100);
        assert!(runs(&effects).is_empty(), "nothing before the verdict");
        let rc = case_records(&effects)[0].clone();
        assert_eq!(rc.state, CaseState::Admitting);
        let admission = effects
            .iter()
            .find_map(|e| match e {
                Effect::Admit(a) => Some(a.clone()),
                _ => None,
            })
            .expect("asks the guard");
        assert_eq!(admission.case_id, rc.case_id);
        assert_eq!(admission.asks, AdmissionKind::Termination);
        assert_eq!(admission.targets, vec![Directory]);
        verdicts.extend(guard.apply(i as i64, &GuardEntry::Admission(admission)));
        replay_cases.push((r, rc));
    }
    // Held past the limit like three new terminations: two released, the third held.
    let mut held = 0;
    for j in &verdicts {
        let effects = v.apply(Input::Guard(j), at(101));
        match &j.verdict {
            Verdict::Released => {
                let (r, _) = replay_cases
                    .iter()
                    .find(|(_, rc)| rc.case_id == j.case_id)
                    .unwrap();
                assert_eq!(runs(&effects), vec![(Directory, 0, Some(r.0.replay_id))]);
            }
            Verdict::Held { .. } => {
                held += 1;
                assert!(runs(&effects).is_empty());
                let (c, esc) = case_and_escalation(effects);
                assert_eq!(c.state, CaseState::Held);
                assert_eq!(esc.reason, EscalationReason::BlastRadiusHold);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(held, 1);
    // While the held replay waits, another replay of that case is refused: one at a time.
    let (_, held_case) = replay_cases
        .iter()
        .find(|(_, rc)| v.case(&rc.case_id).map(|c| c.state) == Some(CaseState::Held))
        .unwrap();
    let of = closed_cases
        .iter()
        .find(|c| c.case_id == held_case.replay.as_ref().unwrap().of_case)
        .unwrap();
    let again = request(of, &[Directory], "alice", Some("alice"), 102);
    assert_eq!(
        sole_refusal(replay(&mut v, &again, Some(of), 102)),
        "replay_in_progress"
    );
}

#[test]
fn a_live_case_whose_target_was_fixed_closes_on_the_replay_s_verified_report() {
    let mut v = replaying(policy());
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Saas, Cloud, Cicd], 1);
    // Vault failed for good (its credentials were wrong): escalated, no re-drive.
    let mut bad = failed(&ev, Vault, at(10));
    bad.retryable = false;
    let escalated = case_records(&conf(&mut v, &bad, at(10)))[0].clone();
    assert_eq!(escalated.state, CaseState::Escalated);
    // Fixed, and replayed through vault.
    let r = request(&escalated, &[Vault], "alice", Some("alice"), 100);
    let effects = replay(&mut v, &r, None, 100);
    assert_eq!(runs(&effects), vec![(Vault, 0, Some(r.0.replay_id))]);
    let mut c = replay_report(&ev, &r.0, Vault, Outcome::Revoked, 110);
    c.fleet_signature = Some("hmac-sha256=00".into());
    let effects = conf(&mut v, &c, at(110));
    let cases = case_records(&effects);
    let replayed = cases
        .iter()
        .find(|x| x.case_id == escalated.case_id)
        .expect("the live case took the verified report");
    assert_eq!(replayed.state, CaseState::Closed);
    let vault = &replayed.targets[&Vault];
    assert_eq!(vault.state, TargetState::Done);
    assert_eq!(vault.superseded.len(), 1, "the failure stays on record");
    let signed = vault.signed.as_ref().expect("the report as signed");
    assert_eq!(
        signed.replay,
        Some(r.0.replay_id),
        "it says it was a replay"
    );
    assert_eq!(
        signed.case_id,
        r.0.replay_case_id(),
        "rebuilt exactly as signed"
    );
    let rc = cases.iter().find(|x| x.replay.is_some()).unwrap();
    assert_eq!(rc.state, CaseState::Closed);
    assert!(
        rc.escalations.is_empty(),
        "the case had not closed: no access came back"
    );
}

#[test]
fn a_rescind_ends_the_replays_under_way() {
    // Guard off: the replay case is at the workers at once.
    let mut v = replaying(policy());
    let (ev, original) = closed(&mut v);
    let r = request(&original, &[Directory, Saas], "alice", Some("alice"), 100);
    replay(&mut v, &r, Some(&original), 100);
    // The directory re-revoked the account before the rescind.
    conf(
        &mut v,
        &replay_report(&ev, &r.0, Directory, Outcome::Revoked, 110),
        at(110),
    );
    let effects = v.apply(
        Input::RescindClosed(&rescind("E1", "rsc-1", Some("evt-1")), &original),
        at(120),
    );
    let rc = case_records(&effects)
        .into_iter()
        .find(|c| c.case_id == r.0.replay_case_id())
        .expect("the replay case ends too");
    assert_eq!(rc.state, CaseState::Rescinded);
    let restores = restores_in(&effects);
    assert!(
        restores
            .iter()
            .any(|q| q.case_id == rc.case_id && q.target == Directory),
        "what the replay revoked is given back: {restores:?}"
    );
    // Saas answers after the rescind: given back too, not recorded as a new removal.
    let late = conf(
        &mut v,
        &replay_report(&ev, &r.0, Saas, Outcome::Revoked, 130),
        at(130),
    );
    assert!(restores_in(&late).iter().any(|q| q.target == Saas));

    // Guard on: a replay still waiting for the guard is only cancelled.
    let mut v = Verifier::new(guarded(25)).with_roster(people());
    let (_, original) = open_and_close_guarded(&mut v);
    let r = request(&original, &[], "alice", Some("alice"), 100);
    replay(&mut v, &r, Some(&original), 100);
    let effects = v.apply(
        Input::RescindClosed(&rescind("E1", "rsc-1", Some("evt-1")), &original),
        at(120),
    );
    let rc = case_records(&effects)
        .into_iter()
        .find(|c| c.case_id == r.0.replay_case_id())
        .unwrap();
    assert_eq!(rc.state, CaseState::Rescinded);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Admit(a) if a.case_id == rc.case_id)),
        "nothing was revoked by it: nothing to give back"
    );
}

#[test]
fn reports_that_do_not_match_their_case_s_replay_are_refused() {
    let mut v = replaying(policy());
    let (ev, original) = closed(&mut v);
    let r = request(&original, &[Directory], "alice", Some("alice"), 100);
    replay(&mut v, &r, Some(&original), 100);
    // A report on the replay case without its mark, or with another replay's.
    let mut plain = replay_report(&ev, &r.0, Directory, Outcome::Revoked, 110);
    plain.replay = None;
    assert_eq!(
        sole_refusal(conf(&mut v, &plain, at(110))),
        "replay_mark_mismatch"
    );
    let mut other = replay_report(&ev, &r.0, Directory, Outcome::Revoked, 110);
    other.replay = Some(Uuid::from_u128(3));
    assert_eq!(
        sole_refusal(conf(&mut v, &other, at(110))),
        "replay_mark_mismatch"
    );
    // A replay's report for a case nobody opened opens nothing.
    let mut stray = replay_report(&ev, &r.0, Directory, Outcome::Revoked, 110);
    stray.case_id = Uuid::from_u128(77);
    let (_, _, what) = sole_note(conf(&mut v, &stray, at(110)));
    assert_eq!(what, "stray_confirmation_dropped");
    assert!(v.case(&stray.case_id).is_none());
}

#[test]
fn a_replay_case_re_drives_its_transient_failures_as_the_same_replay() {
    let mut v = replaying(policy());
    let (ev, original) = closed(&mut v);
    let r = request(&original, &[Cloud], "alice", Some("alice"), 100);
    replay(&mut v, &r, Some(&original), 100);
    let mut t = transient(&ev, Cloud, at(110));
    t.case_id = r.0.replay_case_id();
    t.replay = Some(r.0.replay_id);
    conf(&mut v, &t, at(110));
    let effects = tick(&mut v, at(110 + 61));
    assert_eq!(runs(&effects), vec![(Cloud, 1, Some(r.0.replay_id))]);
}

#[test]
fn replay_cases_rebuilt_from_the_changelog_are_no_terminations_of_their_own() {
    let mut v = replaying(policy());
    let (_, original) = closed(&mut v);
    let r = request(&original, &[Directory], "alice", Some("alice"), 100);
    let rc = case_records(&replay(&mut v, &r, Some(&original), 100))[0].clone();
    // A restarted verifier: the same records, in either order.
    for order in [[&original, &rc], [&rc, &original]] {
        let mut w = replaying(policy());
        for c in order {
            w.restore(c.clone());
        }
        assert_eq!(
            sole_refusal(replay(&mut w, &r, Some(&original), 101)),
            "replay_request_replayed"
        );
        // A rescind binds to the termination's own case, never to its replay.
        assert_eq!(
            w.rescind_applies_to(&rescind("E1", "rsc-1", None)),
            Some(original.case_id)
        );
    }
}

/// E1's case with the guard on: released, then closed by every target.
fn open_and_close_guarded(v: &mut Verifier) -> (HrEvent, Case) {
    let ev = termination("E1", "evt-1", at(0));
    let opened = case_records(&hr(v, &ev, at(0)))[0].clone();
    v.apply(Input::Guard(&judged(&opened, Verdict::Released)), at(0));
    let closed = case_records(&confirm_ok(v, &ev, &ALL, 1))[0].clone();
    assert_eq!(closed.state, CaseState::Closed);
    (ev, closed)
}

//! Replays (`revoke replay`, `machine::replay`), what a request opens: a person's signed
//! request opens a replay case that runs only its targets as that replay's run, records access
//! that came back, and leaves the replayed closed case as it was.
//! Every forgery, copy and case a replay must not touch is refused with its reason and opens
//! nothing.

use super::replay_kit::*;

#[test]
fn a_closed_case_is_replayed_as_a_case_of_its_own_and_keeps_its_closing_evidence() {
    let mut v = replaying(policy());
    let (ev, original) = closed(&mut v);
    let r = request(&original, &[Directory], "alice", Some("alice"), 100);
    let effects = replay(&mut v, &r, Some(&original), 100);
    let cases = case_records(&effects);
    assert_eq!(cases.len(), 1, "only the replay case: {effects:?}");
    let rc = &cases[0];
    assert_eq!(rc.case_id, replay_case_id(original.case_id, r.0.replay_id));
    assert_eq!(rc.state, CaseState::Open);
    assert_eq!(rc.required_targets, vec![Directory]);
    assert_eq!(rc.event_id, original.event_id);
    let mark = rc.replay.as_ref().expect("marked as a replay");
    assert_eq!(mark.of_case, original.case_id);
    assert_eq!(mark.of_closed_at, original.closed_at);
    assert_eq!(mark.authenticity, Authenticity::Authenticated);
    assert_eq!(
        mark.request, r.0,
        "the request as signed, to verify offline"
    );
    // Only the chosen target runs, told it is this replay.
    assert_eq!(runs(&effects), vec![(Directory, 0, Some(r.0.replay_id))]);
    assert!(
        v.is_closed(&original.case_id),
        "the replayed case stays closed"
    );

    // The directory held the account again: removed again, escalated as access returned; the
    // replay case closes with the escalation on record.
    let c = replay_report(&ev, &r.0, Directory, Outcome::Revoked, 110);
    let effects = conf(&mut v, &c, at(110));
    let (done, esc) = case_and_escalation(effects.clone());
    assert_eq!(done.case_id, rc.case_id);
    assert_eq!(done.state, CaseState::Closed);
    assert_eq!(esc.reason, EscalationReason::AccessReturned);
    assert_eq!(esc.targets, vec![Directory]);
    assert_eq!(esc.owner.name, "iam-team");
    assert!(
        esc.detail.contains(&original.case_id.to_string()),
        "{}",
        esc.detail
    );
    assert_eq!(
        done.targets[&Directory]
            .signed
            .as_ref()
            .and_then(|s| s.replay),
        None,
        "unsigned reports keep no signed part"
    );
    assert!(
        case_records(&effects)
            .iter()
            .all(|c| c.case_id != original.case_id),
        "the replayed case's record is not touched"
    );
    // The same report again: nothing.
    assert!(publishes_nothing(&conf(&mut v, &c, at(111))));
}

#[test]
fn a_replay_that_finds_access_gone_closes_without_an_escalation() {
    let mut v = replaying(policy());
    let (ev, original) = closed(&mut v);
    let r = request(&original, &[], "alice", Some("alice"), 100);
    let effects = replay(&mut v, &r, Some(&original), 100);
    assert_eq!(runs(&effects).len(), 5, "every target the case required");
    let mut last = Vec::new();
    for (i, t) in ALL.iter().enumerate() {
        last = conf(
            &mut v,
            &replay_report(&ev, &r.0, *t, Outcome::AlreadyAbsent, 110 + i as i64),
            at(110 + i as i64),
        );
    }
    let done = sole_case(last);
    assert_eq!(done.state, CaseState::Closed);
    assert!(done.escalations.is_empty(), "{:?}", done.escalations);
}

#[test]
fn forged_unsigned_and_roleless_requests_are_refused_and_open_nothing() {
    let mut v = replaying(policy());
    let (_, original) = closed(&mut v);
    let refused = |v: &mut Verifier, r: &(ReplayRequest, Value)| {
        sole_refusal(replay(v, r, Some(&original), 100))
    };
    let unsigned = request(&original, &[], "alice", None, 100);
    assert_eq!(refused(&mut v, &unsigned), "decision_unsigned");
    // Mallory's key in alice's name; carol (an attester) for herself; bob not listed.
    let not_theirs = request(&original, &[], "alice", Some("mallory"), 100);
    assert_eq!(refused(&mut v, &not_theirs), "decision_not_theirs");
    let roleless = request(&original, &[], "carol", Some("carol"), 100);
    assert_eq!(refused(&mut v, &roleless), "decision_without_role");
    let stranger = request(&original, &[], "bob", Some("bob"), 100);
    assert_eq!(refused(&mut v, &stranger), "decision_unknown_person");
    // Alice's genuine request, then a byte of it changed: another target, another case.
    let mut altered = request(&original, &[Directory], "alice", Some("alice"), 100);
    altered.1["targets"] = serde_json::json!(["vault"]);
    altered.0.targets = vec![Vault];
    assert_eq!(refused(&mut v, &altered), "decision_bad_signature");
    // None of them opened anything: alice's genuine request still does.
    let genuine = request(&original, &[], "alice", Some("alice"), 100);
    assert_eq!(
        case_records(&replay(&mut v, &genuine, Some(&original), 100)).len(),
        1
    );
}

#[test]
fn a_request_seen_before_or_too_old_re_drives_nothing() {
    let mut v = replaying(policy());
    let (ev, original) = closed(&mut v);
    let r = request(&original, &[Directory], "alice", Some("alice"), 100);
    assert_eq!(
        case_records(&replay(&mut v, &r, Some(&original), 100)).len(),
        1
    );
    // Redelivered, or copied and published again: its replay case exists.
    assert_eq!(
        sole_refusal(replay(&mut v, &r, Some(&original), 101)),
        "replay_request_replayed"
    );
    conf(
        &mut v,
        &replay_report(&ev, &r.0, Directory, Outcome::AlreadyAbsent, 110),
        at(110),
    );
    assert_eq!(
        sole_refusal(replay(&mut v, &r, Some(&original), 120)),
        "replay_request_replayed",
        "also once the replay case closed"
    );
    // Past verifier.replay_max_age_secs (900 s), or dated well ahead of the verifier's clock.
    let old = request(&original, &[], "alice", Some("alice"), 100);
    assert_eq!(
        sole_refusal(replay(&mut v, &old, Some(&original), 100 + 901)),
        "replay_request_stale"
    );
    let ahead = request(&original, &[], "alice", Some("alice"), 500);
    assert_eq!(
        sole_refusal(replay(&mut v, &ahead, Some(&original), 300)),
        "replay_request_stale"
    );
}

#[test]
fn a_rescinded_case_is_never_re_terminated() {
    let mut v = replaying(policy());
    let (_, original) = closed(&mut v);
    let effects = v.apply(
        Input::RescindClosed(&rescind("E1", "rsc-1", Some("evt-1")), &original),
        at(50),
    );
    let rescinded = case_records(&effects)
        .into_iter()
        .find(|c| c.case_id == original.case_id)
        .expect("the rescinded record");
    assert_eq!(rescinded.state, CaseState::Rescinded);
    let r = request(&rescinded, &[], "alice", Some("alice"), 100);
    let effects = replay(&mut v, &r, None, 100);
    assert_eq!(sole_refusal(effects), "replay_case_rescinded");
}

#[test]
fn unknown_cases_missing_records_and_other_identities_are_refused() {
    let mut v = replaying(policy());
    let (_, original) = closed(&mut v);
    let mut nobody = original.clone();
    nobody.case_id = Uuid::from_u128(404);
    let r = request(&nobody, &[], "alice", Some("alice"), 100);
    assert_eq!(sole_refusal(replay(&mut v, &r, None, 100)), "unknown_case");
    let r = request(&original, &[], "alice", Some("alice"), 100);
    assert_eq!(
        sole_refusal(replay(&mut v, &r, None, 100)),
        "case_record_missing",
        "a closed case is decided on its record, never on the marker alone"
    );
    let mut other = request(&original, &[], "alice", None, 100);
    other.0.identity_id = "E2".into();
    let other = sign(other.0, Some("alice"));
    assert_eq!(
        sole_refusal(replay(&mut v, &other, Some(&original), 100)),
        "identity_mismatch"
    );
}

#[test]
fn a_target_the_case_did_not_require_is_never_run() {
    let mut v = replaying(VerifierConfig {
        required_targets: vec![Directory, Saas],
        ..policy()
    });
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let original = sole_case(confirm_ok(&mut v, &ev, &[Directory, Saas], 1));
    assert_eq!(original.state, CaseState::Closed);
    let only_vault = request(&original, &[Vault], "alice", Some("alice"), 99);
    assert_eq!(
        sole_refusal(replay(&mut v, &only_vault, Some(&original), 99)),
        "replay_no_target"
    );
    let r = request(&original, &[Saas, Vault], "alice", Some("alice"), 100);
    let effects = replay(&mut v, &r, Some(&original), 100);
    assert_eq!(runs(&effects), vec![(Saas, 0, Some(r.0.replay_id))]);
    let rc = &case_records(&effects)[0];
    let skipped = &rc.replay.as_ref().unwrap().skipped;
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].target, Vault);
}

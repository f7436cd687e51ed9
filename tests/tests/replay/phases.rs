//! The phases of the replay test, in order (see `main`): each checks its outcome at the peers
//! and on the topics.

use crate::world::{expect_exit, replay, state, topic_sizes, Range, World, ALICE, WINDOW_SECS};
use chrono::{DateTime, Utc};
use revoke::cases::CaseLog;
use revoke_shared::contract::{
    Authenticity, CaseState, EscalationReason, ObjectOutcome, Outcome, TargetKind,
};
use std::time::Duration;
use uuid::Uuid;

/// Leavers 0–2, then (a fresh guard window later) 3–5, close; leaver 5's termination is
/// rescinded and the fleet gives their access back. Returns the range's start.
pub async fn closed_and_one_rescinded(w: &World<'_>) -> DateTime<Utc> {
    let from = Utc::now() - chrono::Duration::seconds(1);
    for half in [0..3, 3..6] {
        w.publish(&w.events[half.clone()]).await;
        let ids: Vec<Uuid> = half.clone().map(|i| w.case_id(i)).collect();
        w.cases_until("the leavers' cases closed", |l| {
            ids.iter()
                .all(|id| state(l, *id) == Some(CaseState::Closed))
        })
        .await;
        if half.start == 0 {
            // Three people per window: the next three ask in a new one.
            tokio::time::sleep(Duration::from_secs(WINDOW_SECS + 1)).await;
        }
    }
    for p in &w.people {
        assert_eq!(
            w.access(p).await,
            (false, false),
            "{} still has access",
            p.username
        );
    }
    let mut rescind = revoke_tests::fleet_kit::rescind_of(&w.events[5]);
    rescind.time = Utc::now();
    w.publish(&[rescind]).await;
    let five = w.case_id(5);
    w.cases_until("leaver 5 rescinded and given back", |l| {
        l.latest
            .get(&five)
            .is_some_and(|c| c.state == CaseState::Rescinded && c.restored.len() == 2)
    })
    .await;
    assert_eq!(
        w.access(&w.people[5]).await,
        (true, true),
        "the rescinded leaver has their access back"
    );
    from
}

/// Leaver 0's access given back by hand; the dry run lists and skips, and writes nothing.
pub async fn dry_run_lists_and_writes_nothing(w: &World<'_>, range: &Range) {
    let p0 = &w.people[0];
    w.directory.unlock(p0).await;
    w.scim.reactivate(p0).await;
    assert_eq!(w.access(p0).await, (true, true), "given back by hand");
    let before = topic_sizes(w).await;
    let mut args: Vec<String> = vec!["replay".into()];
    args.extend(range.args());
    args.extend(["--dry-run".into(), "--json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = expect_exit(&w.revoke(&args), 0, "replay --dry-run --json");
    let plan: serde_json::Value = serde_json::from_str(&out).expect("the plan as JSON");
    assert_eq!(plan["dry_run"], true);
    let cases = plan["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 6, "{plan:#}");
    for (i, c) in cases.iter().enumerate() {
        let expect_id = w.case_id(i).to_string();
        let line = cases
            .iter()
            .find(|x| x["case_id"] == expect_id.as_str())
            .unwrap_or_else(|| panic!("case {i} listed: {plan:#}"));
        let _ = c;
        if i < 5 {
            assert_eq!(line["action"], "replay", "{line:#}");
            assert_eq!(line["targets"], serde_json::json!(["directory", "saas"]));
        } else {
            assert_eq!(line["action"], "skip", "{line:#}");
            assert_eq!(line["reason"], "replay_case_rescinded");
        }
    }
    // The text form says the same, and that nothing was written.
    let mut args: Vec<String> = vec!["replay".into()];
    args.extend(range.args());
    args.push("--dry-run".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = expect_exit(&w.revoke(&args), 0, "replay --dry-run");
    assert!(text.contains("5 to re-drive, 1 skipped"), "{text}");
    assert!(text.contains("dry run: nothing was written"), "{text}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(topic_sizes(w).await, before, "a dry run writes nothing");
    assert_eq!(
        w.access(p0).await,
        (true, true),
        "and changes nothing at the peers"
    );
}

/// The first replay: the directory only, leaver 0 only. Returns its replay case.
pub async fn replay_removes_it_again(
    w: &World<'_>,
    range: &Range,
) -> revoke_shared::contract::Case {
    let p0 = &w.people[0];
    let c0 = w.case_id(0);
    // A replay asks the guard like a termination: leavers 3–5 asked moments ago, so wait for
    // a fresh window (phase 7 shows a burst held).
    tokio::time::sleep(Duration::from_secs(WINDOW_SECS + 1)).await;
    let original = w.env.case_log().await.latest[&c0].clone();
    let out = replay(
        w,
        range,
        &["--target", "directory", "--identity", &p0.employee_id],
        0,
    );
    assert!(out.contains("requested: 1 replay "), "{out}");
    let log = w
        .cases_until("leaver 0's replay case closed", |l| {
            World::replays_of(l, c0)
                .first()
                .is_some_and(|c| c.state == CaseState::Closed)
        })
        .await;
    // At the peers: locked again at slapd; the SCIM user, not asked for, still active.
    assert_eq!(
        w.access(p0).await,
        (false, true),
        "directory only, removed again"
    );
    let rc = World::replays_of(&log, c0).remove(0);
    let mark = rc.replay.as_ref().expect("the replay case says so");
    assert_eq!(mark.request.by, "alice");
    assert_eq!(mark.authenticity, Authenticity::Authenticated);
    assert!(mark.request.signature.is_some(), "the request as signed");
    assert_eq!(mark.of_state, CaseState::Closed);
    assert_eq!(rc.required_targets, vec![TargetKind::Directory]);
    let dir = &rc.targets[&TargetKind::Directory];
    assert_eq!(dir.outcome, Some(Outcome::Revoked));
    assert!(dir
        .objects
        .iter()
        .any(|o| o.object_kind == "account" && o.outcome == ObjectOutcome::Revoked && o.verified));
    assert_eq!(
        dir.signed.as_ref().and_then(|s| s.replay),
        Some(mark.request.replay_id),
        "the worker's signed report carries the replay mark"
    );
    assert!(
        rc.escalations
            .iter()
            .any(|e| e.reason == EscalationReason::AccessReturned),
        "access that came back is escalated: {:?}",
        rc.escalations
    );
    // The replayed case keeps its closing evidence exactly.
    assert_eq!(
        log.latest[&c0], original,
        "the replayed case's record is unchanged"
    );
    // `revoke case` shows the replay under the case it replays.
    let shown = expect_exit(&w.revoke(&["case", &c0.to_string()]), 0, "case <leaver 0>");
    assert!(shown.contains(&format!("REPLAY of case {c0}")), "{shown}");
    assert!(shown.contains("by replay"), "{shown}");
    rc
}

/// The same replay again: already absent at the peer, a case that says so; the first
/// request's record copied and published again re-drives nothing.
pub async fn again_does_nothing_more(
    w: &World<'_>,
    range: &Range,
    first: &revoke_shared::contract::Case,
) {
    let p0 = &w.people[0];
    let c0 = w.case_id(0);
    replay(
        w,
        range,
        &["--target", "directory", "--identity", &p0.employee_id],
        0,
    );
    let log = w
        .cases_until("leaver 0's second replay closed", |l| {
            let r = World::replays_of(l, c0);
            r.len() == 2 && r.iter().all(|c| c.state == CaseState::Closed)
        })
        .await;
    let second = World::replays_of(&log, c0)
        .into_iter()
        .find(|c| c.case_id != first.case_id)
        .unwrap();
    let dir = &second.targets[&TargetKind::Directory];
    assert_eq!(dir.outcome, Some(Outcome::AlreadyAbsent), "{dir:?}");
    assert!(second.escalations.is_empty(), "{:?}", second.escalations);
    assert_eq!(w.access(p0).await, (false, true));
    // The first request, copied from the topic and published again.
    let request = crate::requests::logged_request(w, first).await;
    w.inject(&p0.employee_id, &request).await;
    let letters = w.letters(&["replay_request_replayed"], 1).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let log = w.env.case_log().await;
    assert_eq!(World::replays_of(&log, c0).len(), 2, "no third replay");
}

/// Leaver 5 was rescinded: skipped by the command, refused by the verifier, still has access.
pub async fn a_rescinded_leaver_is_never_re_terminated(w: &World<'_>, range: &Range) {
    let p5 = &w.people[5];
    let c5 = w.case_id(5);
    let out = replay(w, range, &["--identity", &p5.employee_id], 0);
    assert!(out.contains("replay_case_rescinded"), "{out}");
    assert!(out.contains("requested: 0 replays"), "{out}");
    // Sent anyway, signed by alice: the verifier refuses it.
    let log = w.env.case_log().await;
    let bytes = crate::requests::signed_request(&log.latest[&c5], "alice", &ALICE, &[]);
    w.inject(&p5.employee_id, &bytes).await;
    let letters = w.letters(&["replay_case_rescinded"], 1).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0].detail.contains(&c5.to_string()),
        "{}",
        letters[0].detail
    );
    assert_eq!(
        w.access(p5).await,
        (true, true),
        "the rescinded leaver keeps access"
    );
    assert!(World::replays_of(&w.env.case_log().await, c5).is_empty());
}

/// With leaver 0's access given back by hand again: forgeries change nothing.
pub async fn forged_requests_change_nothing(w: &World<'_>, range: &Range) {
    let p0 = &w.people[0];
    let c0 = w.case_id(0);
    w.directory.unlock(p0).await;
    assert!(w.directory.binds(p0).await);
    let case = w.env.case_log().await.latest[&c0].clone();
    use crate::requests::{signed_request, unsigned_request};
    use crate::world::{CAROL, MALLORY};
    w.inject(&p0.employee_id, &unsigned_request(&case, "alice"))
        .await;
    w.inject(
        &p0.employee_id,
        &signed_request(&case, "alice", &MALLORY, &[]),
    )
    .await;
    w.inject(
        &p0.employee_id,
        &signed_request(&case, "carol", &CAROL, &[]),
    )
    .await;
    let reasons = [
        "decision_bad_signature",
        "decision_unsigned",
        "decision_without_role",
    ];
    let letters = w.letters(&reasons, 3).await;
    let mut got: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    got.sort();
    assert_eq!(got, reasons, "{letters:?}");
    assert!(w.directory.binds(p0).await, "nothing happened at slapd");
    let log: CaseLog = w.env.case_log().await;
    assert_eq!(
        World::replays_of(&log, c0).len(),
        2,
        "no replay case opened"
    );
    // The command will not send an unsigned request with signing required (exit 2).
    let mut args: Vec<String> = vec!["replay".into()];
    args.extend(range.args());
    args.extend(["--by".into(), "alice".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.revoke(&args);
    expect_exit(&out, 2, "replay without a key");
}

/// Leavers 0–4 given back by hand and replayed at once: three released, two held until alice
/// approves; the held still bind meanwhile.
pub async fn a_burst_is_held_by_the_guard(w: &World<'_>, range: &Range) {
    tokio::time::sleep(Duration::from_secs(WINDOW_SECS + 1)).await;
    for p in &w.people[..5] {
        if !w.directory.binds(p).await {
            w.directory.unlock(p).await;
        }
        assert!(w.directory.binds(p).await, "{} given back", p.username);
    }
    let before: Vec<usize> = {
        let log = w.env.case_log().await;
        (0..5)
            .map(|i| World::replays_of(&log, w.case_id(i)).len())
            .collect()
    };
    let out = replay(w, range, &["--target", "directory"], 0);
    assert!(out.contains("requested: 5 replays"), "{out}");
    let newest = |l: &CaseLog, i: usize| World::replays_of(l, w.case_id(i)).get(before[i]).cloned();
    let log = w
        .cases_until("the burst: three closed, two held", |l| {
            let states: Vec<Option<CaseState>> =
                (0..5).map(|i| newest(l, i).map(|c| c.state)).collect();
            states
                .iter()
                .filter(|s| **s == Some(CaseState::Closed))
                .count()
                == 3
                && states
                    .iter()
                    .filter(|s| **s == Some(CaseState::Held))
                    .count()
                    == 2
        })
        .await;
    let mut held = Vec::new();
    for i in 0..5 {
        let rc = newest(&log, i).unwrap();
        let binds = w.directory.binds(&w.people[i]).await;
        match rc.state {
            CaseState::Closed => assert!(!binds, "released replay {i} removed the access"),
            CaseState::Held => {
                assert!(binds, "held replay {i}: nothing done at slapd");
                held.push(rc);
            }
            s => panic!("{s:?}"),
        }
    }
    crate::requests::approve(w, held[0].case_id).await;
    let ids: Vec<Uuid> = held.iter().map(|c| c.case_id).collect();
    w.cases_until("the approved replays closed", |l| {
        ids.iter()
            .all(|id| state(l, *id) == Some(CaseState::Closed))
    })
    .await;
    for p in &w.people[..5] {
        assert!(!w.directory.binds(p).await, "{} removed again", p.username);
    }
}

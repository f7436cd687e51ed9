//! Access seen again after a case closed: recorded once per finding, escalated to the target's
//! owner, the case reopened as `escalated` (and kept so across confirmations, ticks and
//! rebuilds); refused for an unknown case, another identity, a case that never closed, a
//! rescinded or rejected one.

use super::kit::*;
use crate::cases::escalation_is_open;

fn found(v: &mut Verifier, f: &AccessFinding, closed: Option<&Case>, secs: i64) -> Vec<Effect> {
    v.apply(Input::Finding(f, closed), at(secs))
}

#[test]
fn access_returned_reopens_the_closed_case_and_escalates_to_the_targets_owner() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    assert!(v.is_closed(&closed.case_id));
    let f = finding(&closed, FindingKind::AccessReturned, Directory, "t50", 1000);
    let (case, esc) = case_and_escalation(found(&mut v, &f, Some(&closed), 1000));
    assert_eq!(
        case.state,
        CaseState::Escalated,
        "access back: not closed any more"
    );
    assert_eq!(
        case.closed_at, closed.closed_at,
        "when it had closed stays evidence"
    );
    assert_eq!(case.revision, closed.revision + 1);
    assert_eq!(case.findings, vec![f.clone()]);
    assert_eq!(esc.reason, EscalationReason::AccessReturned);
    assert_eq!(esc.targets, vec![Directory]);
    assert_eq!(esc.owner, owner("iam-team"), "the directory's owner");
    assert_eq!(esc.level, 0);
    assert!(esc.detail.contains("enabled=true") && esc.detail.contains("E1-directory"));
    assert_eq!(
        case.escalations.last().unwrap().escalation_id,
        esc.escalation_id
    );
    assert!(escalation_is_open(&case, case.escalations.last().unwrap()));
    // Live again (the marker is gone), not counted as open work for the deadline machinery.
    assert!(!v.is_closed(&case.case_id));
    assert_eq!(v.case(&case.case_id).unwrap(), &case);
    assert_eq!(v.open_count(), 0);

    // The same finding again — a replay, a second watcher — changes nothing.
    assert!(found(&mut v, &f, None, 1001).is_empty());
    assert!(found(&mut v, &f, Some(&closed), 1002).is_empty());
}

#[test]
fn a_sign_in_after_departure_escalates_access_after_departure_once_per_sign_in() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let s1 = finding(
        &closed,
        FindingKind::SignInAfterDeparture,
        Vault,
        "login-1",
        900,
    );
    let (case, esc) = case_and_escalation(found(&mut v, &s1, Some(&closed), 1000));
    assert_eq!(esc.reason, EscalationReason::AccessAfterDeparture);
    assert_eq!(esc.owner, owner("vault-team"));
    // A second sign-in is its own matter: recorded and escalated; the first again is nothing.
    let s2 = finding(
        &closed,
        FindingKind::SignInAfterDeparture,
        Vault,
        "login-2",
        950,
    );
    let (case2, esc2) = case_and_escalation(found(&mut v, &s2, None, 1100));
    assert_ne!(esc2.escalation_id, esc.escalation_id);
    assert_eq!(case2.findings.len(), 2);
    assert_eq!(case2.revision, case.revision + 1);
    assert!(found(&mut v, &s1, None, 1200).is_empty());
}

#[test]
fn refused_findings_record_nothing() {
    let mut v = verifier();
    let (ev, closed) = open_and_close(&mut v, "E1", "evt-1");
    // Another identity's finding naming this case.
    let mut other = finding(&closed, FindingKind::AccessReturned, Saas, "t", 1000);
    other.identity_id = "E2".into();
    assert_eq!(
        sole_refusal(found(&mut v, &other, Some(&closed), 1000)),
        "identity_mismatch"
    );
    // A case nobody knows.
    let mut stray = finding(&closed, FindingKind::AccessReturned, Saas, "t", 1000);
    stray.case_id = Uuid::new_v4();
    assert_eq!(
        sole_refusal(found(&mut v, &stray, None, 1000)),
        "unknown_case"
    );
    // A closed case whose record the shell could not read back.
    let f = finding(&closed, FindingKind::AccessReturned, Saas, "t", 1000);
    assert_eq!(
        sole_refusal(found(&mut v, &f, None, 1000)),
        "case_record_missing"
    );
    assert!(v.is_closed(&ev.case_id()), "still closed, nothing recorded");
    // The right record now: taken.
    assert_eq!(
        case_records(&found(&mut v, &f, Some(&closed), 1001)).len(),
        1
    );

    // A case that never closed (vault still pending).
    let mut v = verifier();
    let ev = open_waiting_on_vault(&mut v);
    let case = v.case(&ev.case_id()).unwrap().clone();
    let f = finding(&case, FindingKind::AccessReturned, Directory, "t", 1000);
    assert_eq!(
        sole_refusal(found(&mut v, &f, None, 1000)),
        "case_not_closed"
    );
    assert!(v.case(&ev.case_id()).unwrap().findings.is_empty());
}

/// A rescinded case had its access given back on purpose: seeing it again is expected, so the
/// finding is refused (dead-lettered with the reason), not escalated.
#[test]
fn a_finding_for_a_rescinded_case_is_refused() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let r = rescind("E1", "r-1", Some("evt-1"));
    let rescinded = case_records(&v.apply(Input::RescindClosed(&r, &closed), at(100)))
        .pop()
        .unwrap();
    assert_eq!(rescinded.state, CaseState::Rescinded);
    let f = finding(&closed, FindingKind::AccessReturned, Directory, "t", 1000);
    assert_eq!(
        sole_refusal(found(&mut v, &f, None, 1000)),
        "case_rescinded"
    );
    let after = v.case(&closed.case_id).unwrap();
    assert!(after.findings.is_empty());
    assert_eq!(after.revision, rescinded.revision);
}

/// A reopened case stays escalated: a worker's late report does not close it again, ticks do
/// not, and its escalation climbs the target's path, each finding on its own levels.
#[test]
fn a_reopened_case_stays_escalated_and_its_findings_climb_the_path() {
    let mut p = policy();
    p.escalation_paths
        .insert("directory".into(), vec![step("ciso", 600)]);
    let mut v = Verifier::new(p);
    let (ev, closed) = open_and_close(&mut v, "E1", "evt-1");
    let f1 = finding(&closed, FindingKind::AccessReturned, Directory, "t50", 1000);
    let f2 = finding(
        &closed,
        FindingKind::SignInAfterDeparture,
        Directory,
        "login-1",
        1000,
    );
    found(&mut v, &f1, Some(&closed), 1000);
    found(&mut v, &f2, None, 1000);
    assert!(conf(&mut v, &ok(&ev, Directory, at(1100)), at(1100)).is_empty());
    assert!(tick(&mut v, at(1500)).is_empty(), "before the step's time");
    let effects = tick(&mut v, at(1600));
    let climbed = escalations_in(&effects);
    assert_eq!(
        climbed.len(),
        2,
        "one level-1 escalation per finding: {effects:?}"
    );
    assert!(climbed
        .iter()
        .all(|e| e.level == 1 && e.owner.name == "ciso"));
    let case = case_records(&effects).pop().unwrap();
    assert_eq!(case.state, CaseState::Escalated);
    assert!(tick(&mut v, at(90_000)).is_empty(), "each level once");

    // A rescind gives the access back: the findings' escalations are moot.
    let r = rescind("E1", "r-1", Some("evt-1"));
    let rescinded = case_records(&hr(&mut v, &r, at(91_000))).pop().unwrap();
    assert_eq!(rescinded.state, CaseState::Rescinded);
    assert!(rescinded
        .escalations
        .iter()
        .filter(|e| e.reason == EscalationReason::AccessReturned)
        .all(|e| !escalation_is_open(&rescinded, e)));
}

/// The finding lives in the case record: a rebuild from the changelog, in either order, holds
/// the reopened case, and the same finding replayed afterwards changes nothing.
#[test]
fn a_reopened_case_survives_a_rebuild() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    let f = finding(&closed, FindingKind::AccessReturned, Cloud, "t", 1000);
    let reopened = case_records(&found(&mut v, &f, Some(&closed), 1000))
        .pop()
        .unwrap();
    for order in [
        [closed.clone(), reopened.clone()],
        [reopened.clone(), closed.clone()],
    ] {
        let mut rebuilt = verifier();
        for (i, c) in order.into_iter().enumerate() {
            rebuilt.restore_at(c, i as i64);
        }
        assert!(!rebuilt.is_closed(&closed.case_id));
        assert_eq!(rebuilt.case(&closed.case_id), Some(&reopened));
        assert!(found(&mut rebuilt, &f, None, 2000).is_empty());
        assert!(tick(&mut rebuilt, at(90_000)).is_empty());
    }
}

//! The policy on a broker: a protected identity is never touched by any worker and lands on its
//! owner at once; a contractor's case closes on the targets its kind requires. Embedded broker
//! by default, the real one with `REVOKE_TEST_KAFKA` (the README's test command).

use revoke::cases::CaseLog;
use revoke::fleet::Fleet;
use revoke::hr::Mode;
use revoke_shared::contract::{
    Case, CaseState, Confirmation, EscalationReason, HrEvent, IdentityKind, Outcome, TargetKind,
};
use revoke_tests::fleet_kit::simulated_fleet;
use revoke_tests::{all_in_state, TestEnv};
use std::ops::Range;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// Starts a simulated fleet, publishes `events` and waits until those in `escalated` are
/// escalated and those in `closed` closed: the fleet, the events' case ids and the case log.
async fn run_until(
    env: &TestEnv,
    events: &[HrEvent],
    escalated: Range<usize>,
    closed: Range<usize>,
) -> (Fleet, Vec<uuid::Uuid>, CaseLog) {
    let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
    env.publish(events, Mode::Structured).await;
    let ids: Vec<_> = events.iter().map(|e| e.case_id()).collect();
    let log = env
        .wait_cases(WAIT, |l| {
            all_in_state(l, &ids[escalated.clone()], CaseState::Escalated)
                && all_in_state(l, &ids[closed.clone()], CaseState::Closed)
        })
        .await;
    (fleet, ids, log)
}

/// `case`, of the protected identity `subject`, is escalated once as protected, no simulator acted
/// on it, and each of the five workers confirmed it skipped with nothing touched; `what` names the
/// case in messages.
fn assert_protected(
    case: &Case,
    fleet: &Fleet,
    subject: &str,
    confirmations: &[Confirmation],
    what: &str,
) {
    assert_eq!(case.state, CaseState::Escalated, "{what}");
    assert_eq!(case.escalations.len(), 1, "{what}: {:?}", case.escalations);
    assert_eq!(
        case.escalations[0].reason,
        EscalationReason::ProtectedIdentity,
        "{what}"
    );
    for kind in TargetKind::ALL {
        assert!(
            fleet.simulators[&kind].actions_for(subject).is_empty(),
            "{kind} touched protected identity {what}"
        );
    }
    let skipped: Vec<&Confirmation> = confirmations
        .iter()
        .filter(|c| c.identity_id == subject)
        .collect();
    assert_eq!(skipped.len(), 5, "{what}: {skipped:?}");
    assert!(
        skipped
            .iter()
            .all(|c| c.outcome == Outcome::SkippedProtected && c.objects.is_empty()),
        "{what}: {skipped:?}"
    );
}

#[test]
fn protected_identities_are_untouched_and_required_targets_follow_the_kind() {
    let mut env = TestEnv::new("policy");
    let mut events = env.leavers(3);
    // 0: protected (by email); 1: a contractor needing two targets; 2: an ordinary employee.
    let protected_email = events[0].data.identity.email.clone().unwrap();
    env.cfg.verifier.protected_identities = vec![protected_email.to_uppercase()];
    events[1].data.identity.kind = IdentityKind::Contractor;
    events[2].data.identity.kind = IdentityKind::Employee;
    env.cfg.verifier.required_by_kind.insert(
        "contractor".into(),
        vec![TargetKind::Directory, TargetKind::Vault],
    );
    env.block_on(async {
        let (fleet, ids, log) = run_until(&env, &events, 0..1, 1..events.len()).await;

        let protected = &log.latest[&ids[0]];
        // Every worker reported the protected identity as skipped, with nothing touched.
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        assert_protected(protected, &fleet, &events[0].subject, &confirmations, "");
        assert_eq!(protected.escalations[0].targets, TargetKind::ALL.to_vec());
        let contractor = &log.latest[&ids[1]];
        assert_eq!(
            contractor.required_targets,
            vec![TargetKind::Directory, TargetKind::Vault]
        );
        assert_eq!(
            log.latest[&ids[2]].required_targets,
            TargetKind::ALL.to_vec()
        );

        fleet.stop().await.expect("graceful stop");
    });
}

/// A protected person listed by one spelling and reached through another: a second
/// termination carrying the listed email as its username in another (non-ASCII) case, a
/// username that differs from the entry only by full case folding (`ß` / `SS`), and an entry
/// written in fullwidth compatibility forms. Every one is skipped by every worker (nothing
/// touched at the simulators, five `skipped_protected` confirmations on the broker) and
/// escalated; an ordinary leaver alongside closes (the fleet did run).
#[test]
fn protected_identities_match_across_fields_case_and_compatibility_forms() {
    let mut env = TestEnv::new("policy-fold");
    let mut events = env.leavers(5);
    // 1: the first termination of Åsa, by email, listed in upper case.
    events[1].data.identity.email = Some("åsa.lindqvist@example.com".into());
    // 2: a second termination of Åsa, her email arriving as the username, in another case.
    events[2].data.identity.username = Some("Åsa.Lindqvist@Example.COM".into());
    events[2].data.identity.email = None;
    // 3: listed as `straße-admin`, arriving as `STRASSE-ADMIN` (full folding: ß = ss).
    events[3].data.identity.username = Some("STRASSE-ADMIN".into());
    // 4: listed in fullwidth letters, arriving in ASCII.
    events[4].data.identity.username = Some("BreakGlass".into());
    env.cfg.verifier.protected_identities = vec![
        "ÅSA.LINDQVIST@EXAMPLE.COM".into(),
        "straße-admin".into(),
        "ｂｒｅａｋｇｌａｓｓ".into(),
    ];
    env.block_on(async {
        let (fleet, ids, log) = run_until(&env, &events, 1..5, 0..1).await;
        assert_eq!(log.latest[&ids[0]].state, CaseState::Closed);
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        for (i, event) in events.iter().enumerate().skip(1) {
            let what = format!("event {i}");
            assert_protected(
                &log.latest[&ids[i]],
                &fleet,
                &event.subject,
                &confirmations,
                &what,
            );
        }
        fleet.stop().await.expect("graceful stop");
    });
}

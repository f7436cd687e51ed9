//! `revoke case`'s rendering, tested on cases the real verifier built.

use super::fixtures::*;
use super::*;
use crate::verifier::{Input, Verifier};
use revoke_shared::contract::{
    Case, CaseState, Confirmation, EscalationReason, HrEvent, Outcome, TargetKind, TargetState,
};

/// Renders `case`, asserts the text holds every one of `needles`, and returns it.
fn assert_renders(case: &Case, needles: &[&str]) -> String {
    let text = render(case);
    for needle in needles {
        assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
    }
    text
}

#[test]
fn render_closed_case_shows_the_whole_chain() {
    let mut v = verifier();
    let case = closed_case(&mut v, "E1", 0);
    assert_eq!(case.state, CaseState::Closed);
    let text = assert_renders(
        &case,
        &[
            &format!("case {}  identity E1  state closed", case.case_id),
            "identity: E1 (contractor), username e1, email e1@example.com",
            "HR event: evt-E1 from urn:hr:test, reason resignation",
            "requested by hr:bob, approved by mgr:carol",
            "effective 2026-11-24T09:00:00.000Z",
            "targets: 5 of 5 required done (directory, saas, cloud, vault, cicd): verified by read-back on 5 targets",
            "target cloud: done, outcome revoked, time to revoke 900 ms",
            "target saas: done, outcome already_absent",
            "confirmed 2026-11-24T09:00:00.900Z by worker cloud-w1 v0.1.0, instance simulated, 5 calls",
            // Per object: action, outcome, removal time, actor, verification, read-back.
            "- account [sponsored] cloud:E1:2: lock -> revoked, removed 2026-11-24T09:00:00.900Z, by cloud-w1 as svc-cloud, verified true, observed",
            "read back: account is locked",
            "no objects held here",
            "escalations: none",
            "verdict: closed at 2026-11-24T09:00:00.400Z — verified by read-back on 5 targets, 400 ms after the effective time",
        ],
    );
    assert!(!text.contains("acknowledgements"), "{text}");
    // The wording the process test looks for.
    assert!(text.contains("target vault") && text.contains("verdict: closed at"));
}

#[test]
fn render_escalated_case_names_owner_and_what_is_missing() {
    let mut v = verifier();
    let case = escalated_case(&mut v, "E2", 0);
    assert_eq!(case.state, CaseState::Escalated);
    assert_renders(
        &case,
        &[
            "state escalated",
            "targets: 4 of 5 required done (directory, saas, cloud, vault, cicd): verified by read-back on 4 targets",
            "target cloud: manual_required, outcome manual_required",
            "error: lookup matched 2 principals",
            "lock -> manual_required, removed -, by cloud-w1 as svc-cloud, verified false, not_checked",
            "escalations: 1",
            "- 2026-11-24T09:00:00.250Z manual_required for cloud -> owner cloud-platform <cloud@example.com> (open)",
            "verdict: escalated as of 2026-11-24T09:00:00.400Z — a person must act; not verified: cloud manual step required (owner cloud-platform <cloud@example.com>); deadline 2026-11-24T10:00:00.000Z",
        ],
    );
}

#[test]
fn open_and_pending_verdicts_say_what_is_awaited() {
    let mut v = verifier();
    let case = case_with(
        &mut v,
        "E3",
        0,
        &[(TargetKind::Vault, Outcome::Revoked, 50)],
    );
    assert_eq!(case.state, CaseState::Open);
    assert_renders(
        &case,
        &[
            "verdict: open as of 2026-11-24T09:00:00.050Z — waiting for: directory pending, saas pending, cloud pending, cicd pending; deadline 2026-11-24T10:00:00.000Z",
            "target directory: pending\n    no confirmation yet",
        ],
    );
}

#[test]
fn a_failed_target_shows_its_error_not_an_empty_holding() {
    let mut v = verifier();
    let case = case_with(&mut v, "E8", 0, &[(TargetKind::Vault, Outcome::Failed, 30)]);
    let text = assert_renders(
        &case,
        &[
            "target vault: failed, outcome failed\n    confirmed 2026-11-24T09:00:00.030Z by worker vault-w1 v0.1.0, instance simulated, 5 calls to the target\n    error: simulated 403 from vault\n  target cicd",
            "target_failed for vault -> owner vault-team <vault@example.com> (open)",
        ],
    );
    assert!(!text.contains("no objects held here"), "{text}");
}

#[test]
fn escalation_open_until_its_targets_are_done_or_case_closed() {
    let mut v = verifier();
    let mut case = escalated_case(&mut v, "E4", 0);
    let e = case.escalations[0].clone();
    assert!(escalation_is_open(&case, &e));
    case.targets.get_mut(&TargetKind::Cloud).unwrap().state = TargetState::Done;
    assert!(!escalation_is_open(&case, &e));
    case.targets.get_mut(&TargetKind::Cloud).unwrap().state = TargetState::Failed;
    case.state = CaseState::Closed;
    assert!(!escalation_is_open(&case, &e));
    case.state = CaseState::Rescinded;
    assert!(
        !escalation_is_open(&case, &e),
        "only the rescind's own escalation stays open"
    );
}

#[test]
fn rescinded_case_shows_restores_and_what_is_left_for_a_person() {
    let mut v = verifier();
    let case = escalated_case(&mut v, "E7", 0);
    let now = t0() + chrono::Duration::minutes(5);
    let case = rescind(&mut v, &case, now);
    assert_eq!(case.state, CaseState::Rescinded);
    let rescind_esc = case
        .escalations
        .iter()
        .find(|e| e.reason == EscalationReason::RescindAfterRevocation)
        .unwrap()
        .clone();
    assert!(escalation_is_open(&case, &rescind_esc));
    assert!(
        !escalation_is_open(&case, &case.escalations[0]),
        "moot after the rescind"
    );
    assert_renders(&case, &["verdict: rescinded as of 2026-11-24T09:05:00.000Z by hr:dave — 0 objects given back, 0 left for a person; restore not yet reported by directory, saas, vault, cicd"]);
    // Every target that revoked something reports; vault cannot give one token back.
    let case = restore_all(&mut v, &case, now + chrono::Duration::seconds(1));
    assert!(
        !escalation_is_open(&case, &rescind_esc),
        "every restore reported"
    );
    let incomplete = case
        .escalations
        .iter()
        .find(|e| e.reason == EscalationReason::RestoreIncomplete)
        .expect("vault's token escalated");
    assert!(escalation_is_open(&case, incomplete));
    let text = assert_renders(
        &case,
        &[
            "restored after the rescind: 4 targets",
            "restore vault: reported 2026-11-24T09:05:01.000Z by worker vault-w1 v0.1.0, instance simulated, 1 of 2 given back",
            "- account [sponsored] vault:E7:2: undo lock -> irreversible, at 2026-11-24T09:05:01.000Z, by vault-w1 as svc-vault (a revoked token cannot be restored; issue a new one)",
            "restore_incomplete for vault -> owner vault-team <vault@example.com> (open)",
            "— 7 objects given back, 1 left for a person",
        ],
    );
    assert!(!text.contains("restore not yet reported"), "{text}");
}

#[test]
fn climbed_escalations_show_their_level_and_the_verdict_who_was_told() {
    use revoke_shared::config::EscalationStep;
    let mut p = policy();
    p.escalation_paths.insert(
        "cloud".into(),
        vec![EscalationStep {
            name: "cloud-lead".into(),
            contact: "cloud-lead@example.com".into(),
            after_secs: 600,
        }],
    );
    let mut v = Verifier::new(p);
    let case = escalated_case(&mut v, "E9", 0);
    let climbed = apply(&mut v, Input::Tick, t0() + chrono::Duration::seconds(601))
        .expect("climbed to level 1");
    assert_eq!(climbed.escalations.len(), 2);
    assert_eq!(climbed.escalations[1].level, 1);
    assert_renders(
        &climbed,
        &[
            "escalations: 2",
            "manual_required for cloud -> owner cloud-platform <cloud@example.com> (open)",
            "manual_required for cloud -> level 1 of the escalation path cloud-lead <cloud-lead@example.com> (open)",
            "cloud manual step required (owner cloud-platform <cloud@example.com>, escalated to cloud-lead <cloud-lead@example.com> at level 1)",
        ],
    );
    assert!(!render(&case).contains("level"), "level 0 reads as before");
}

#[test]
fn re_drives_are_shown_under_their_target() {
    let mut v = verifier();
    let ev = termination("E12", "evt-E12", t0());
    apply(&mut v, Input::Hr(&ev), t0()).unwrap();
    let mut down = confirmation(&ev, TargetKind::Vault, Outcome::Failed, t0(), 300);
    down.retryable = true;
    let case = apply(&mut v, Input::Confirmation(&down), t0()).unwrap();
    assert_renders(
        &case,
        &["run again after transient failures: 0 times; next run at 2026-"],
    );
    let later = t0() + chrono::Duration::seconds(61);
    let case = apply(&mut v, Input::Tick, later).unwrap();
    assert_renders(
        &case,
        &[
            "run again after transient failures: 1 time\n",
            "replaced report from",
        ],
    );
}

/// A person's acknowledgement that cloud is revoked (the manual instance), 500 ms in.
fn cloud_ack(ev: &HrEvent) -> Confirmation {
    let mut ack = confirmation(ev, TargetKind::Cloud, Outcome::Revoked, t0(), 500);
    ack.target.instance = MANUAL_INSTANCE.into();
    ack
}

#[test]
fn a_worker_report_after_an_ack_is_shown_next_to_it() {
    let mut v = verifier();
    let case = escalated_case(&mut v, "E10", 0);
    let ev = termination("E10", "evt-E10", t0());
    let mut ack = cloud_ack(&ev);
    ack.worker.id = "revoke-cli".into();
    let acked = apply(&mut v, Input::Confirmation(&ack), t0()).unwrap();
    assert_eq!(acked.state, CaseState::Closed, "{case:?}");
    // Closed: the worker's late report is only a note, the record does not change.
    let late = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 900);
    assert_eq!(apply(&mut v, Input::Confirmation(&late), t0()), None);

    // On a case still open, it is recorded and shown under the target.
    let mut v = verifier();
    let ev = termination("E11", "evt-E11", t0());
    case_with(
        &mut v,
        "E11",
        0,
        &[
            (TargetKind::Cloud, Outcome::ManualRequired, 250),
            (TargetKind::Vault, Outcome::Failed, 300),
        ],
    );
    apply(&mut v, Input::Confirmation(&cloud_ack(&ev)), t0()).unwrap();
    let late = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 900);
    let case = apply(&mut v, Input::Confirmation(&late), t0()).unwrap();
    assert_renders(
        &case,
        &[
            "late report from cloud-w1 (2026-11-24T09:00:00.900Z), after the acknowledgement: revoked (verified), 2 objects — kept as evidence, changes nothing",
            "target cloud: done",
        ],
    );
}

#[test]
fn durations_read_well() {
    assert_eq!(duration_text(553), "553 ms");
    assert_eq!(duration_text(61_234), "61.2 s (61234 ms)");
    assert_eq!(duration_text(600_000), "10.0 min (600000 ms)");
    assert_eq!(duration_text(9_000_000), "2.5 h (9000000 ms)");
}

/// A case whose access came back: the findings first (kind, target, object, when, read-back),
/// the verdict says it was reopened, the deliveries per receiver and SET, the escalations open.
#[test]
fn render_shows_findings_prominently_and_signal_deliveries_per_receiver() {
    let mut v = verifier();
    let case = reopened_case(&mut v, "E1", 0);
    assert_eq!(case.state, CaseState::Escalated);
    let text = assert_renders(
        &case,
        &[
            "!! ACCESS SEEN AGAIN AFTER CLOSE: 2 findings",
            "- access_returned on directory (default): account E1-directory present again at 2026-11-25T09:00:00.000Z",
            "read back: enabled=true (by verify-1 as svc-revoke-read)",
            "- access_after_departure on vault (default): sign_in login-7 signed in at 2026-11-25T09:00:05.000Z",
            "Shared Signals: 2 receivers: 1 delivered, 1 overdue (wiki)",
            "receiver crm: delivered (owner app-team <app-team@example.com>)",
            "- jti-1 https://schemas.openid.net/secevent/risc/event-type/account-disabled via push: accepted 2026-11-24T10:00:00.000Z",
            "receiver wiki: OVERDUE",
            "- jti-3 https://schemas.openid.net/secevent/risc/event-type/account-disabled via push: not accepted",
            "access_returned for directory -> owner",
            "access_after_departure for vault -> owner",
            "signal_undelivered -> owner app-team <app-team@example.com> (open)",
            "verdict: escalated as of 2026-11-25T09:00:10.000Z — REOPENED: access seen again after the case closed at",
        ],
    );
    // The findings come before everything else about the case.
    assert!(text.find("ACCESS SEEN AGAIN").unwrap() < text.find("identity: E1").unwrap());
    for reason in ["access_returned", "access_after_departure"] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!(" {reason} for ")))
            .unwrap();
        assert!(line.ends_with("(open)"), "{line}");
    }
    // Deliveries alone leave the case closed, and its verdict says how they stand.
    let closed = signalled_case(&mut verifier(), "E2", 0);
    assert_eq!(closed.state, CaseState::Closed);
    let text = assert_renders(
        &closed,
        &["; Shared Signals 2 receivers: 1 delivered, 1 overdue (wiki)"],
    );
    assert!(!text.contains("ACCESS SEEN AGAIN"));
}

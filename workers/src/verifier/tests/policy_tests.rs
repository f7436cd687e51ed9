//! Policy: required targets by identity kind, per-target SLAs, protected identities.

use super::kit::*;

// Policy: required targets by identity kind, per-target SLAs, protected identities
// ---------------------------------------------------------------------------------------------

#[test]
fn a_replaced_report_stays_in_the_record() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    conf(&mut v, &failed(&ev, Saas, at(5)), at(5));
    let effects = conf(&mut v, &ok(&ev, Saas, at(9)), at(9));
    let st = &case_records(&effects)[0].targets[&Saas];
    assert_eq!(st.state, TargetState::Done);
    assert_eq!(st.superseded.len(), 1, "the failure is kept");
    assert_eq!(st.superseded[0].state, TargetState::Failed);
    assert!(st.superseded[0].error.is_some());
    assert!(!st.superseded[0].objects.is_empty());
    assert!(
        st.superseded[0].superseded.is_empty(),
        "flat history, not nested"
    );
    // Bounded: only the last few replaced reports are kept.
    let mut status = TargetStatus::pending();
    for i in 0..10 {
        let mut next = TargetStatus::pending();
        next.state = TargetState::Failed;
        next.attempts = i;
        status = next.replacing(Some(status));
    }
    assert_eq!(
        status.superseded.len(),
        revoke_shared::contract::SUPERSEDED_KEPT
    );
    assert_eq!(status.superseded.last().unwrap().attempts, 8);
}

#[test]
fn required_targets_follow_the_identity_kind() {
    let mut p = policy();
    p.required_by_kind
        .insert("contractor".into(), vec![Directory, Saas]);
    let mut v = Verifier::new(p);
    let mut ev = termination("C1", "tc1", at(0));
    ev.data.identity.kind = IdentityKind::Contractor;
    let case = sole_case(hr(&mut v, &ev, at(0)));
    assert_eq!(case.required_targets, vec![Directory, Saas]);
    let last = confirm_ok(&mut v, &ev, &[Directory, Saas], 1);
    assert_eq!(
        case_records(&last)[0].state,
        CaseState::Closed,
        "two targets are enough for a contractor"
    );

    // An employee still needs all five.
    let (e2, case2) = open(&mut v, "E2", "te2", at(0), at(0));
    assert_eq!(case2.required_targets, ALL.to_vec());
    let last = confirm_ok(&mut v, &e2, &[Directory, Saas], 1);
    assert_eq!(case_records(&last)[0].state, CaseState::Open);
}

/// A verifier whose policy gives vault an SLA of 300 s.
fn vault_sla_of_300_s() -> Verifier {
    let mut p = policy();
    p.target_sla_secs.insert("vault".into(), 300);
    Verifier::new(p)
}

#[test]
fn a_target_past_its_sla_escalates_to_its_owner_once() {
    let mut v = vault_sla_of_300_s();
    let (ev, case) = open(&mut v, "E1", "t1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Saas, Cloud, Cicd], 10);
    assert!(tick(&mut v, at(299)).is_empty());
    let effects = tick(&mut v, at(300));
    let esc = escalations_in(&effects);
    assert_eq!(esc.len(), 1, "{effects:?}");
    assert_eq!(esc[0].reason, EscalationReason::SlaPassed);
    assert_eq!(esc[0].targets, vec![Vault]);
    assert_eq!(esc[0].owner.name, "vault-team");
    assert_eq!(esc[0].case_id, case.case_id);
    assert_eq!(case_records(&effects)[0].state, CaseState::Escalated);
    assert!(tick(&mut v, at(301)).is_empty(), "once");
    // The case-wide deadline is a separate promise, still kept.
    let later = tick(&mut v, at(DEADLINE_SECS));
    assert_eq!(
        escalations_in(&later)[0].reason,
        EscalationReason::DeadlinePassed
    );
    // A late confirmation still closes it, with both escalations on record.
    let last = conf(
        &mut v,
        &ok(&ev, Vault, at(DEADLINE_SECS + 5)),
        at(DEADLINE_SECS + 5),
    );
    let closed = &case_records(&last)[0];
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.escalations.len(), 2);
}

#[test]
fn a_target_that_confirmed_in_time_is_not_escalated_for_its_sla() {
    let mut v = vault_sla_of_300_s();
    let (ev, _) = open(&mut v, "E1", "t1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Vault], 10);
    assert!(tick(&mut v, at(400)).is_empty());
}

#[test]
fn a_protected_identity_escalates_at_once_and_is_never_closed_by_skips() {
    let mut p = policy();
    p.protected_identities = vec!["BREAKGLASS@example.com".into()];
    let mut v = Verifier::new(p);
    let mut ev = termination("E7", "t7", at(0));
    ev.data.identity.email = Some("breakglass@example.com".into());
    let effects = hr(&mut v, &ev, at(0));
    let esc = escalations_in(&effects);
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0].reason, EscalationReason::ProtectedIdentity);
    assert_eq!(esc[0].targets, ALL.to_vec());
    assert_eq!(case_records(&effects)[0].state, CaseState::Escalated);
    // Every worker reports skipped_protected: no further escalation, no close.
    for (i, t) in ALL.iter().enumerate() {
        let now = at(1 + i as i64);
        let c = confirmation(&ev, *t, Outcome::SkippedProtected, false, now);
        let out = conf(&mut v, &c, now);
        assert!(escalations_in(&out).is_empty(), "{out:?}");
        assert_eq!(case_records(&out)[0].state, CaseState::Escalated);
    }
}

#[test]
fn the_protected_list_matches_ids_usernames_and_emails_exactly() {
    let mut p = policy();
    p.protected_identities = vec!["E1".into(), "root".into(), "".into()];
    let who = |id: &str, user: Option<&str>| Identity {
        employee_id: id.into(),
        email: None,
        username: user.map(str::to_string),
        kind: IdentityKind::Employee,
    };
    assert!(p.is_protected(&who("E1", None)));
    assert!(p.is_protected(&who("x", Some("ROOT"))));
    assert!(
        !p.is_protected(&who("E10", Some("rootkit"))),
        "no prefix matches"
    );
    assert!(
        !p.is_protected(&who("", None)),
        "an empty entry protects nobody"
    );
}

// ---------------------------------------------------------------------------------------------

//! Escalations: a failed, manual or protected target escalates to its owner, a deadline names
//! the targets still unconfirmed, and an unresolved escalation climbs its path once per level.

use super::kit::*;

// ---------------------------------------------------------------------------------------------
// Failure escalation, owners, late success
// ---------------------------------------------------------------------------------------------

/// A failed target escalates the case to that target's owner, once; a later verified success
/// for it (and the rest) still closes the case, and the escalation stays in the record.
#[test]
fn failed_target_escalates_to_its_owner_and_late_success_still_closes() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let id = ev.case_id();

    let fail = failed(&ev, Vault, at(30));
    let (case, esc) = case_and_escalation(conf(&mut v, &fail, at(30)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.revision, 2);
    assert_eq!(case.targets[&Vault].state, TargetState::Failed);
    assert_eq!(case.targets[&Vault].error.as_deref(), fail.error.as_deref());
    assert_eq!(case.targets[&Vault].attempts, 5);
    assert_eq!(case.escalations.len(), 1);
    assert_eq!(esc.reason, EscalationReason::TargetFailed);
    assert_eq!(esc.targets, vec![Vault]);
    assert_eq!(esc.owner, owner("vault-team"));
    assert_eq!(esc.raised_at, at(30));
    assert_eq!(esc.deadline, Some(at(DEADLINE_SECS)));
    assert_eq!(
        esc.escalation_id,
        Escalation::id_for(id, EscalationReason::TargetFailed, &[Vault])
    );
    assert!(
        esc.detail.contains("vault: vault API answered 503"),
        "{}",
        esc.detail
    );
    assert!(
        esc.evidence
            .contains(&"vault: failed (vault API answered 503 after 5 attempts)".to_string()),
        "{:?}",
        esc.evidence
    );
    assert!(esc.evidence.contains(&"cloud: pending".to_string()));
    assert_escalation_recorded(&case, &esc);
    assert_eq!(v.open_count(), 0, "escalated is final for open_count");

    // The same failure again, or a re-run failing the same way: nothing.
    assert!(conf(&mut v, &fail, at(31)).is_empty());
    assert!(conf(&mut v, &reemitted(&fail, 60), at(91)).is_empty());
    assert_eq!(v.case(&id).unwrap().revision, 2);

    // The others succeed: still escalated, no new escalation.
    for (i, t) in [Directory, Saas, Cloud, Cicd].into_iter().enumerate() {
        let c = sole_case(conf(
            &mut v,
            &ok(&ev, t, at(100 + i as i64)),
            at(100 + i as i64),
        ));
        assert_eq!(c.state, CaseState::Escalated);
        assert_eq!(c.revision, 3 + i as u64);
    }
    // The vault retry succeeds: closed, the escalation kept as history.
    let closed = sole_case(conf(&mut v, &ok(&ev, Vault, at(200)), at(200)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 7);
    assert_eq!(closed.closed_at, Some(at(200)));
    assert_eq!(closed.escalations, case.escalations);
    assert_eq!(closed.targets[&Vault].state, TargetState::Done);
    assert_eq!(closed.targets[&Vault].error, None);
    assert!(v.is_closed(&id));
    assert!(conf(&mut v, &fail, at(300)).is_empty());
}

/// Owner selection: a target's own owner when the policy names one, else `default`, else a
/// visible `unassigned`.
#[test]
fn escalation_owner_is_per_target_with_default_fallback() {
    let mut v = verifier();
    for (i, (target, expected)) in [
        (Directory, "iam-team"),
        (Vault, "vault-team"),
        (Cloud, "secops"),
        (Saas, "secops"),
        (Cicd, "secops"),
    ]
    .into_iter()
    .enumerate()
    {
        let (ev, _) = open(&mut v, &format!("E{i}"), &format!("evt-{i}"), at(0), at(0));
        let (_, esc) = case_and_escalation(conf(&mut v, &failed(&ev, target, at(5)), at(5)));
        assert_eq!(
            (esc.targets.as_slice(), &esc.owner),
            ([target].as_slice(), &owner(expected)),
            "{target}"
        );
    }

    let mut bare = policy();
    bare.owners.remove("default");
    let mut v = Verifier::new(bare);
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let (_, esc) = case_and_escalation(conf(&mut v, &failed(&ev, Cloud, at(5)), at(5)));
    assert_eq!(
        esc.owner,
        Owner {
            name: "unassigned".into(),
            contact: String::new()
        }
    );
}

/// A second failing target raises a new escalation naming only that target (a distinct id), so
/// its own owner hears of it and the first target's owner is not told again.
#[test]
fn second_failure_raises_a_new_escalation_for_the_new_target_only() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let (_, first) = case_and_escalation(conf(&mut v, &failed(&ev, Vault, at(1)), at(1)));
    let (case, second) = case_and_escalation(conf(&mut v, &failed(&ev, Cloud, at(2)), at(2)));
    assert_eq!(second.reason, EscalationReason::TargetFailed);
    assert_eq!(second.targets, vec![Cloud]);
    assert_eq!(second.owner, owner("secops"), "owner_of(cloud) → default");
    assert_ne!(second.escalation_id, first.escalation_id);
    assert_eq!(case.escalations.len(), 2);
    assert_escalation_recorded(&case, &second);
}

// ---------------------------------------------------------------------------------------------
// Manual and protected
// ---------------------------------------------------------------------------------------------

/// `manual_required` escalates with reason manual_required to the target's owner.
#[test]
fn manual_required_escalates_with_its_own_reason() {
    assert_one_target_escalates(
        Directory,
        Outcome::ManualRequired,
        TargetState::ManualRequired,
        EscalationReason::ManualRequired,
        "iam-team",
        "two accounts match",
    );
}

/// `skipped_protected` escalates with reason protected_identity.
#[test]
fn skipped_protected_escalates_as_protected_identity() {
    assert_one_target_escalates(
        Saas,
        Outcome::SkippedProtected,
        TargetState::SkippedProtected,
        EscalationReason::ProtectedIdentity,
        "secops",
        "legal hold",
    );
}

/// A confirmation with `outcome` from `target` puts the target in `state` and escalates the
/// case for `reason`, on that target alone, to the owner `owner_name`, with `detail_part` in the
/// escalation's detail; the same confirmation again changes nothing.
fn assert_one_target_escalates(
    target: TargetKind,
    outcome: Outcome,
    state: TargetState,
    reason: EscalationReason,
    owner_name: &str,
    detail_part: &str,
) {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let c = confirmation(&ev, target, outcome, false, at(5));
    let (case, esc) = case_and_escalation(conf(&mut v, &c, at(5)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.targets[&target].state, state);
    assert_eq!(esc.reason, reason);
    assert_eq!(esc.targets, vec![target]);
    assert_eq!(esc.owner, owner(owner_name));
    assert!(esc.detail.contains(detail_part), "{}", esc.detail);
    assert_escalation_recorded(&case, &esc);
    assert!(conf(&mut v, &c, at(6)).is_empty());
}

/// A target whose state changes from failed to manual_required escalates again, for the new reason.
#[test]
fn changed_failure_kind_escalates_again() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    case_and_escalation(conf(&mut v, &failed(&ev, Cloud, at(1)), at(1)));
    let (case, esc) = case_and_escalation(conf(
        &mut v,
        &confirmation(&ev, Cloud, Outcome::ManualRequired, false, at(2)),
        at(2),
    ));
    assert_eq!(esc.reason, EscalationReason::ManualRequired);
    assert_eq!(
        case.escalations
            .iter()
            .map(|e| e.reason)
            .collect::<Vec<_>>(),
        vec![
            EscalationReason::TargetFailed,
            EscalationReason::ManualRequired
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Deadline
// ---------------------------------------------------------------------------------------------

/// Before the deadline a tick does nothing; at it, the case escalates with deadline_passed
/// naming exactly the unconfirmed targets; a second tick does nothing; late successes close.
#[test]
fn deadline_escalates_once_naming_the_pending_targets() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let id = ev.case_id();
    confirm_ok(&mut v, &ev, &[Directory, Saas], 1);

    assert!(tick(&mut v, at(DEADLINE_SECS - 1)).is_empty());
    let (case, esc) = case_and_escalation(tick(&mut v, at(DEADLINE_SECS)));
    assert_eq!(case.case_id, id);
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.revision, 4);
    assert_eq!(case.updated_at, at(DEADLINE_SECS));
    assert_eq!(esc.reason, EscalationReason::DeadlinePassed);
    assert_eq!(esc.targets, vec![Cloud, Vault, Cicd]);
    assert_eq!(
        esc.owner,
        owner("secops"),
        "owner of the first missing target (cloud → default)"
    );
    assert_eq!(esc.raised_at, at(DEADLINE_SECS));
    assert_eq!(esc.deadline, Some(at(DEADLINE_SECS)));
    assert!(
        esc.detail.contains(&at(DEADLINE_SECS).to_rfc3339()),
        "{}",
        esc.detail
    );
    assert_escalation_recorded(&case, &esc);

    assert!(tick(&mut v, at(DEADLINE_SECS + 1)).is_empty());
    assert!(tick(&mut v, at(5 * DEADLINE_SECS)).is_empty());

    // Late successes still close, and the deadline escalation stays on record.
    let mid = sole_case(conf(&mut v, &ok(&ev, Cloud, at(4000)), at(4000)));
    assert_eq!(mid.state, CaseState::Escalated);
    confirm_ok(&mut v, &ev, &[Vault], 4001);
    let closed = sole_case(confirm_ok(&mut v, &ev, &[Cicd], 4002));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 7);
    assert_eq!(closed.escalations, case.escalations);
}

/// The deadline runs from a future effective time, not from when the case opened.
#[test]
fn deadline_waits_for_future_effective_time() {
    let mut v = verifier();
    open(&mut v, "E1", "evt-1", at(1000), at(0));
    assert!(tick(&mut v, at(DEADLINE_SECS)).is_empty());
    assert!(tick(&mut v, at(1000 + DEADLINE_SECS - 1)).is_empty());
    let (_, esc) = case_and_escalation(tick(&mut v, at(1000 + DEADLINE_SECS)));
    assert_eq!(esc.targets, ALL.to_vec());
    assert_eq!(
        esc.owner,
        owner("iam-team"),
        "directory is first and has its own owner"
    );
}

/// An unverified target is not confirmed: the deadline names it.
#[test]
fn deadline_names_unverified_targets() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &ALL[..4], 1);
    sole_case(conf(&mut v, &unverified(&ev, Cicd, at(9)), at(9)));
    let (_, esc) = case_and_escalation(tick(&mut v, at(DEADLINE_SECS)));
    assert_eq!(esc.targets, vec![Cicd]);
}

/// One tick escalates every overdue case and only those.
#[test]
fn tick_escalates_only_overdue_cases() {
    let mut v = verifier();
    let (a, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let (b, _) = open(&mut v, "E2", "evt-2", at(100), at(0));
    let (c, _) = open(&mut v, "E3", "evt-3", at(0), at(0));
    let effects = tick(&mut v, at(DEADLINE_SECS + 50));
    let mut escalated: Vec<Uuid> = case_records(&effects).iter().map(|c| c.case_id).collect();
    escalated.sort();
    let mut expected = vec![a.case_id(), c.case_id()];
    expected.sort();
    assert_eq!(escalated, expected);
    assert_eq!(
        effects.len(),
        4,
        "a Case and an Escalate per overdue case: {effects:?}"
    );
    assert_eq!(v.case(&b.case_id()).unwrap().state, CaseState::Open);
    let (case, _) = case_and_escalation(tick(&mut v, at(DEADLINE_SECS + 100)));
    assert_eq!(case.case_id, b.case_id());
}

/// Ticks never touch a pending case (no termination, no deadline). A case already escalated for
/// a failure still gets one deadline escalation naming the targets that never answered (not the
/// failed one, whose owner was already told), and only one.
#[test]
fn tick_ignores_pending_cases_and_escalates_silent_targets_once() {
    let mut v = verifier();
    let early = termination("E1", "evt-1", at(0));
    sole_case(conf(&mut v, &ok(&early, Vault, at(1)), at(1)));
    let (ev, _) = open(&mut v, "E2", "evt-2", at(0), at(0));
    case_and_escalation(conf(&mut v, &failed(&ev, Vault, at(1)), at(1)));
    let (case, esc) = case_and_escalation(tick(&mut v, at(10 * DEADLINE_SECS)));
    assert_eq!(case.case_id, ev.case_id());
    assert_eq!(esc.reason, EscalationReason::DeadlinePassed);
    assert!(!esc.targets.contains(&Vault), "{:?}", esc.targets);
    assert_eq!(esc.targets.len(), 4);
    assert!(tick(&mut v, at(20 * DEADLINE_SECS)).is_empty());
}

// Escalation paths: an unresolved escalation climbs to the next person, each level once
// ---------------------------------------------------------------------------------------------

/// `policy()` with paths: vault climbs to vault-lead after 600 s, then ciso after 1800 s;
/// every other kind uses default's (secops-lead after 900 s); cicd never climbs.
fn policy_with_paths() -> VerifierConfig {
    let mut p = policy();
    p.escalation_paths.insert(
        "vault".into(),
        vec![step("vault-lead", 600), step("ciso", 1800)],
    );
    p.escalation_paths
        .insert("default".into(), vec![step("secops-lead", 900)]);
    p.escalation_paths.insert("cicd".into(), Vec::new());
    p
}

/// Every escalation at `level` in `effects`.
fn at_level(effects: &[Effect], level: u32) -> Vec<&Escalation> {
    escalations_in(effects)
        .into_iter()
        .filter(|e| e.level == level)
        .collect()
}

#[test]
fn an_unresolved_escalation_climbs_its_path_once_per_level() {
    let mut v = Verifier::new(policy_with_paths());
    let ev = open_waiting_on_vault(&mut v);
    let (_, first) = case_and_escalation(conf(&mut v, &failed(&ev, Vault, at(10)), at(10)));
    assert_eq!((first.level, first.owner.name.as_str()), (0, "vault-team"));

    assert!(
        tick(&mut v, at(609)).is_empty(),
        "not before its after_secs"
    );
    let (case, esc) = case_and_escalation(tick(&mut v, at(610)));
    assert_escalation_recorded(&case, &esc);
    assert_eq!(esc.level, 1);
    assert_eq!(esc.owner, owner("vault-lead"));
    assert_eq!(
        (esc.reason, esc.targets.clone()),
        (first.reason, first.targets.clone())
    );
    assert_eq!(
        esc.escalation_id,
        Escalation::id_at(ev.case_id(), EscalationReason::TargetFailed, &[Vault], 1)
    );
    assert_ne!(esc.escalation_id, first.escalation_id);
    assert!(
        esc.detail.contains("vault-team <vault-team@example.com>")
            && esc.detail.contains("level 1 of 2")
            && esc.detail.contains(&first.detail),
        "{}",
        esc.detail
    );
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(
        case.escalations.iter().map(|e| e.level).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert!(tick(&mut v, at(611)).is_empty(), "each level once");
    assert!(tick(&mut v, at(1809)).is_empty());

    let (case, esc) = case_and_escalation(tick(&mut v, at(1810)));
    assert_eq!((esc.level, esc.owner.name.as_str()), (2, "ciso"));
    assert_eq!(case.escalations.len(), 3);
    assert!(
        tick(&mut v, at(100 * DEADLINE_SECS)).is_empty(),
        "the path ends"
    );

    // A late success still closes it; every level stays on record.
    let closed = sole_case(conf(&mut v, &ok(&ev, Vault, at(5000)), at(5000)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(
        closed
            .escalations
            .iter()
            .map(|e| (e.level, e.owner.name.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "vault-team"), (1, "vault-lead"), (2, "ciso")]
    );
}

#[test]
fn a_resolved_escalation_and_a_closed_or_rescinded_case_stop_climbing() {
    let mut v = Verifier::new(policy_with_paths());
    // E1: vault and cloud fail separately; vault is then fixed, cloud is not.
    let (e1, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &e1, &[Directory, Saas, Cicd], 1);
    conf(&mut v, &failed(&e1, Vault, at(10)), at(10));
    conf(&mut v, &failed(&e1, Cloud, at(20)), at(20));
    let fixed = sole_case(conf(&mut v, &ok(&e1, Vault, at(30)), at(30)));
    assert_eq!(fixed.state, CaseState::Escalated, "cloud still failed");
    // E2: vault fails, then succeeds: closed before its first step.
    let (e2, _) = open(&mut v, "E2", "evt-2", at(0), at(0));
    confirm_ok(&mut v, &e2, &[Directory, Saas, Cloud, Cicd], 1);
    conf(&mut v, &failed(&e2, Vault, at(10)), at(10));
    assert_eq!(
        sole_case(conf(&mut v, &ok(&e2, Vault, at(40)), at(40))).state,
        CaseState::Closed
    );
    // E3: vault fails, then the termination is rescinded.
    let (e3, _) = open(&mut v, "E3", "evt-3", at(0), at(0));
    confirm_ok(&mut v, &e3, &[Directory, Saas, Cloud, Cicd], 1);
    conf(&mut v, &failed(&e3, Vault, at(10)), at(10));
    hr(&mut v, &rescind("E3", "r-3", Some("evt-3")), at(50));

    let effects = tick(&mut v, at(2000));
    let climbed = at_level(&effects, 1);
    assert_eq!(climbed.len(), 1, "{effects:?}");
    assert_eq!(climbed[0].case_id, e1.case_id());
    assert_eq!(
        (climbed[0].targets.clone(), climbed[0].owner.name.as_str()),
        (vec![Cloud], "secops-lead")
    );
    assert_eq!(case_records(&effects).len(), 1, "E2 and E3 unchanged");
    assert!(tick(&mut v, at(100 * DEADLINE_SECS)).is_empty());
}

#[test]
fn paths_follow_the_first_target_with_default_fallback_and_an_empty_path_never_climbs() {
    let mut v = Verifier::new(policy_with_paths());
    // cicd fails (its path is empty); saas, directory and cloud never answer: the deadline
    // escalation names them and, first target directory having no path, climbs by default's.
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Vault], 1);
    conf(&mut v, &failed(&ev, Cicd, at(5)), at(5));
    assert!(
        tick(&mut v, at(DEADLINE_SECS - 1)).is_empty(),
        "cicd: no path"
    );
    let deadline = tick(&mut v, at(DEADLINE_SECS));
    assert_eq!(
        escalations_in(&deadline)[0].reason,
        EscalationReason::DeadlinePassed
    );
    assert!(tick(&mut v, at(DEADLINE_SECS + 899)).is_empty());
    let (_, esc) = case_and_escalation(tick(&mut v, at(DEADLINE_SECS + 900)));
    assert_eq!(
        (esc.reason, esc.level, esc.owner.name.as_str()),
        (EscalationReason::DeadlinePassed, 1, "secops-lead")
    );
    assert_eq!(esc.targets, vec![Directory, Saas, Cloud]);
    assert!(tick(&mut v, at(100 * DEADLINE_SECS)).is_empty());

    // Without any path (the default policy) nothing ever climbs.
    let mut plain = verifier();
    let (ev, _) = open(&mut plain, "E2", "evt-2", at(0), at(0));
    conf(&mut plain, &failed(&ev, Vault, at(5)), at(5));
    tick(&mut plain, at(DEADLINE_SECS));
    assert!(tick(&mut plain, at(100 * DEADLINE_SECS)).is_empty());
}

#[test]
fn levels_already_raised_do_not_fire_again_after_a_restart() {
    let mut v = Verifier::new(policy_with_paths());
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let mut records: Vec<Case> = Vec::new();
    for t in [Directory, Saas, Cloud, Cicd] {
        records.extend(case_records(&conf(&mut v, &ok(&ev, t, at(1)), at(1))));
    }
    records.extend(case_records(&conf(
        &mut v,
        &failed(&ev, Vault, at(10)),
        at(10),
    )));
    let before_climb = records.clone();
    records.extend(case_records(&tick(&mut v, at(700))));
    assert_eq!(records.last().unwrap().escalations.len(), 2);

    // Rebuilt from the changelog after level 1 (any order): level 1 is not raised again, and
    // level 2 comes at its own time, exactly once.
    for seed in 1..=5 {
        let mut shuffled = records.clone();
        Rng::new(seed).shuffle(&mut shuffled);
        let mut restored = Verifier::new(policy_with_paths());
        for c in shuffled {
            restored.restore(c);
        }
        assert!(tick(&mut restored, at(701)).is_empty(), "seed {seed}");
        assert!(tick(&mut restored, at(1809)).is_empty(), "seed {seed}");
        let (case, esc) = case_and_escalation(tick(&mut restored, at(1810)));
        assert_eq!(
            (esc.level, case.revision),
            (2, records.last().unwrap().revision + 1)
        );
        assert!(tick(&mut restored, at(1811)).is_empty());
    }

    // Rebuilt from before the climb, and down past both steps: the first tick raises both
    // levels, in order, in one case version.
    let mut late = Verifier::new(policy_with_paths());
    for c in before_climb {
        late.restore(c);
    }
    let effects = tick(&mut late, at(5000));
    assert_eq!(case_records(&effects).len(), 1);
    assert_eq!(
        escalations_in(&effects)
            .iter()
            .map(|e| e.level)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    let case = &case_records(&effects)[0];
    for e in escalations_in(&effects) {
        assert_escalation_recorded(case, e);
    }
    assert!(tick(&mut late, at(5001)).is_empty());
}

// ---------------------------------------------------------------------------------------------

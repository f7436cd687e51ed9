//! Re-drives: a transient failure runs the target again on the verifier's clock, once per
//! configured step, asking it to read back what the earlier runs acted on.

use super::kit::*;

/// Asserts the effects are one case record and one re-drive, and returns both.
#[track_caller]
fn case_and_redrive(effects: Vec<Effect>) -> (Case, HrEvent, TargetKind) {
    match <[Effect; 2]>::try_from(effects) {
        Ok(
            [Effect::Case(c), Effect::Redrive {
                event,
                target,
                n,
                recheck,
                replay: None,
            }],
        ) => {
            assert_eq!(
                c.targets[&target].redrives, n,
                "the re-drive's number is the count"
            );
            // What is to be read back again: exactly what the earlier runs acted on.
            let history = &c.targets[&target].superseded;
            let mut acted: Vec<&str> = history
                .iter()
                .flat_map(|r| &r.objects)
                .filter(|o| matches!(o.outcome, ObjectOutcome::Revoked | ObjectOutcome::Failed))
                .map(|o| o.object_id.as_str())
                .collect();
            acted.sort_unstable();
            acted.dedup();
            let mut asked: Vec<&str> = recheck.iter().map(|r| r.object_id.as_str()).collect();
            asked.sort_unstable();
            assert_eq!(asked, acted, "re-check list");
            (c, event, target)
        }
        other => panic!("expected [Case, Redrive], got {other:?}"),
    }
}

fn redrive_policy() -> VerifierConfig {
    VerifierConfig {
        redrive_after_secs: vec![60, 300],
        ..policy()
    }
}

/// A transient failure escalates as any failure does, and the target runs again on the
/// verifier's clock, once per configured step; a later verified success closes the case with
/// the escalation and the failed reports kept.
#[test]
fn a_transient_failure_is_run_again_per_step_and_a_later_success_closes() {
    let mut v = Verifier::new(redrive_policy());
    let ev = open_waiting_on_vault(&mut v);

    let (case, esc) = case_and_escalation(conf(&mut v, &transient(&ev, Vault, at(10)), at(10)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(esc.reason, EscalationReason::TargetFailed);
    assert_eq!(case.targets[&Vault].state, TargetState::Failed);
    assert_eq!(case.targets[&Vault].redrive_at, Some(at(70)));
    assert_eq!(case.targets[&Vault].redrives, 0);

    assert!(tick(&mut v, at(69)).is_empty());
    let (case, event, target) = case_and_redrive(tick(&mut v, at(70)));
    assert_eq!(target, Vault);
    assert_eq!(
        event.case_id(),
        ev.case_id(),
        "the same termination, so the same case"
    );
    assert_eq!(event.data.identity, ev.data.identity);
    let vault = &case.targets[&Vault];
    assert_eq!(vault.state, TargetState::Pending);
    assert_eq!((vault.redrives, vault.redrive_at), (1, None));
    assert_eq!(
        vault.superseded.last().map(|s| s.state),
        Some(TargetState::Failed)
    );
    assert_eq!(case.state, CaseState::Escalated, "the escalation stands");
    assert!(tick(&mut v, at(71)).is_empty(), "each step fires once");

    // A report of the first run, emitted again after the re-drive, is stale: nothing changes.
    assert!(conf(
        &mut v,
        &reemitted(&transient(&ev, Vault, at(10)), 65),
        at(76)
    )
    .is_empty());
    // Still down: the re-drive's own report plans the second step; no second escalation.
    let mut again = transient(&ev, Vault, at(80));
    again.redrive = 1;
    let case = sole_case(conf(&mut v, &again, at(80)));
    assert_eq!(case.targets[&Vault].redrive_at, Some(at(380)));
    assert_eq!(case.targets[&Vault].redrives, 1);
    let (case, _, _) = case_and_redrive(tick(&mut v, at(380)));
    assert_eq!(case.targets[&Vault].redrives, 2);

    // Back: the verified success closes the case; both failures stay in the record.
    let closed = sole_case(conf(&mut v, &ok(&ev, Vault, at(390)), at(390)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.escalations.len(), 1);
    let history: Vec<TargetState> = closed.targets[&Vault]
        .superseded
        .iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(history, vec![TargetState::Failed, TargetState::Failed]);
    assert_eq!(closed.targets[&Vault].redrives, 2);
}

/// Steps exhausted, a permanent error, a rescinded case: nothing is run again.
#[test]
fn no_redrive_without_steps_for_permanent_errors_or_after_a_rescind() {
    // Steps exhausted.
    let mut v = Verifier::new(VerifierConfig {
        redrive_after_secs: vec![60],
        ..policy()
    });
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    conf(&mut v, &transient(&ev, Vault, at(1)), at(1));
    case_and_redrive(tick(&mut v, at(61)));
    let mut again = transient(&ev, Vault, at(70));
    again.redrive = 1;
    let case = sole_case(conf(&mut v, &again, at(70)));
    assert_eq!(case.targets[&Vault].redrive_at, None);
    assert!(tick(&mut v, at(2000))
        .iter()
        .all(|e| !matches!(e, Effect::Redrive { .. })));

    // A permanent error (auth, validation) waits for a person.
    let mut v = Verifier::new(redrive_policy());
    let (ev, _) = open(&mut v, "E2", "evt-2", at(0), at(0));
    let (case, _) = case_and_escalation(conf(&mut v, &failed(&ev, Vault, at(1)), at(1)));
    assert_eq!(case.targets[&Vault].redrive_at, None);
    assert!(tick(&mut v, at(DEADLINE_SECS + 10))
        .iter()
        .all(|e| !matches!(e, Effect::Redrive { .. })));

    // Rescinded while a re-drive was planned: never run again.
    let mut v = Verifier::new(redrive_policy());
    let (ev, _) = open(&mut v, "E3", "evt-3", at(0), at(0));
    conf(&mut v, &transient(&ev, Vault, at(1)), at(1));
    hr(&mut v, &rescind("E3", "r-3", Some("evt-3")), at(2));
    assert!(tick(&mut v, at(100))
        .iter()
        .all(|e| !matches!(e, Effect::Redrive { .. })));

    // Not in the defaults' way: the default policy has steps, the fixtures' failures are
    // permanent unless marked.
    assert_eq!(
        VerifierConfig::default().redrive_after_secs,
        vec![60, 300, 900]
    );
}

/// A transient failure that overtakes its termination is planned all the same and fires once the
/// termination has opened the case.
#[test]
fn a_transient_failure_before_its_termination_is_re_driven_once_the_case_opens() {
    let mut v = Verifier::new(redrive_policy());
    let ev = termination("E1", "evt-1", at(0));
    let pending = sole_case(conf(&mut v, &transient(&ev, Vault, at(1)), at(1)));
    assert_eq!(pending.state, CaseState::Pending);
    assert_eq!(pending.targets[&Vault].redrive_at, Some(at(61)));
    assert!(
        tick(&mut v, at(61)).is_empty(),
        "no termination yet: nothing to run again"
    );
    let (case, _) = case_and_escalation(hr(&mut v, &ev, at(62)));
    assert_eq!(case.state, CaseState::Escalated);
    let (case, event, target) = case_and_redrive(tick(&mut v, at(63)));
    assert_eq!((target, event.case_id()), (Vault, ev.case_id()));
    assert_eq!(case.targets[&Vault].redrives, 1);
}

/// The plan is in the case record: a restarted verifier fires a planned re-drive once, and one
/// restored after the re-drive does not fire it again.
#[test]
fn a_planned_redrive_survives_a_restart_and_fires_once() {
    let mut v = Verifier::new(redrive_policy());
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let (planned, _) = case_and_escalation(conf(&mut v, &transient(&ev, Vault, at(10)), at(10)));

    let mut restarted = Verifier::new(redrive_policy());
    restarted.restore(planned.clone());
    assert!(tick(&mut restarted, at(69)).is_empty());
    let (fired, _, _) = case_and_redrive(tick(&mut restarted, at(70)));

    let mut again = Verifier::new(redrive_policy());
    again.restore(planned);
    again.restore(fired);
    assert!(tick(&mut again, at(500))
        .iter()
        .all(|e| !matches!(e, Effect::Redrive { .. })));
}

/// A re-drive names what the earlier runs of that target acted on — revoked (with the time they
/// proved it), or tried to — each object once, not what needed nothing or needs a person, so
/// that the re-run reads it back even if its discovery no longer finds it and the closing
/// report names every object.
#[test]
fn a_re_drive_asks_to_read_back_what_earlier_runs_acted_on() {
    let mut v = Verifier::new(redrive_policy());
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let mut first = transient(&ev, Vault, at(10));
    let mut proven = ok(&ev, Vault, at(10)).objects.remove(0);
    proven.object_id = "token-proven".into();
    let mut lost = first.objects[0].clone();
    lost.object_id = "token-answer-lost".into();
    let mut nothing = ok(&ev, Vault, at(10)).objects.remove(0);
    nothing.object_id = "token-already-gone".into();
    nothing.outcome = ObjectOutcome::AlreadyAbsent;
    first.objects.extend([proven.clone(), lost, nothing]);
    conf(&mut v, &first, at(10));
    let redrive = |effects: &[Effect]| -> Vec<(String, Option<DateTime<Utc>>)> {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Redrive { recheck, .. } => Some(
                    recheck
                        .iter()
                        .map(|r| (r.object_id.clone(), r.removed_at))
                        .collect(),
                ),
                _ => None,
            })
            .expect("a re-drive")
    };
    let want = vec![
        ("E1-vault".to_string(), None),
        ("token-proven".to_string(), proven.removed_at),
        ("token-answer-lost".to_string(), None),
    ];
    assert!(proven.removed_at.is_some());
    assert_eq!(redrive(&tick(&mut v, at(70))), want);
    // The re-run fails again on one of them: the next re-drive still names all three, once.
    let mut second = transient(&ev, Vault, at(80));
    second.redrive = 1;
    conf(&mut v, &second, at(80));
    assert_eq!(redrive(&tick(&mut v, at(80 + 300))), want);
}

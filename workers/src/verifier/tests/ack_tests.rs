//! A worker's confirmation after a person's acknowledgement (`revoke case ack`): kept as
//! evidence, changes nothing.

use super::kit::*;

// A worker's confirmation after a person's acknowledgement
// ---------------------------------------------------------------------------------------------

/// A person's `revoke case ack` of `target`, as `ack.rs` publishes it: instance `manual`, one
/// `manual_step` object, attested (never verified).
fn ack(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    let mut c = ok(ev, target, finished_at);
    c.target.instance = revoke_shared::contract::MANUAL_INSTANCE.into();
    c.worker.id = "revoke-cli".into();
    c.attempts = 0;
    let o = &mut c.objects[0];
    o.object_kind = "manual_step".into();
    o.action = "manual_ack".into();
    o.verified = false;
    o.provenance = revoke_shared::contract::Provenance::Attested;
    o.actor.principal = "alice@example.com".into();
    o.read_back = "confirmed by alice@example.com: removed by hand".into();
    c
}

#[test]
fn a_worker_report_after_an_ack_is_kept_as_evidence_and_changes_nothing() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Saas, Cicd], 1);
    conf(&mut v, &failed(&ev, Vault, at(10)), at(10));
    conf(&mut v, &failed(&ev, Cloud, at(11)), at(11));
    let acked = sole_case(conf(&mut v, &ack(&ev, Vault, at(20)), at(20)));
    assert_eq!(acked.targets[&Vault].state, TargetState::Done);
    assert!(acked.targets[&Vault].is_acknowledged());

    // The vault worker's retry finishes after the ack: one new case version with both facts.
    let worker = ok(&ev, Vault, at(30));
    let case = sole_case(conf(&mut v, &worker, at(31)));
    assert_eq!(case.revision, acked.revision + 1);
    assert_eq!(case.state, CaseState::Escalated, "cloud still failed");
    let st = &case.targets[&Vault];
    assert_eq!(
        (st.state, st.instance.as_deref(), st.confirmed_at),
        (TargetState::Done, Some("manual"), Some(at(20))),
        "the acknowledgement still stands"
    );
    assert_eq!(
        st.time_to_revoke_ms,
        acked.targets[&Vault].time_to_revoke_ms
    );
    assert_eq!(st.superseded, acked.targets[&Vault].superseded);
    assert_eq!(st.late.len(), 1);
    assert_eq!(
        (
            st.late[0].state,
            st.late[0].instance.as_deref(),
            st.late[0].confirmed_at
        ),
        (TargetState::Done, Some("default"), Some(at(30)))
    );
    assert_eq!(st.late[0].objects, worker.objects);
    assert_eq!(case.escalations, acked.escalations, "nothing escalated");

    // The same report again, or a re-run's older one, publishes nothing.
    assert!(conf(&mut v, &worker, at(32)).is_empty());
    let mut older = failed(&ev, Vault, at(25));
    older.confirmation_id = Uuid::new_v4();
    assert!(conf(&mut v, &older, at(33)).is_empty());
    // A second acknowledgement of a done target is noise too.
    assert!(conf(&mut v, &ack(&ev, Vault, at(40)), at(40)).is_empty());
    // A newer failure from the worker is kept as evidence but does not undo the ack.
    let newer = sole_case(conf(&mut v, &failed(&ev, Vault, at(50)), at(50)));
    assert_eq!(newer.targets[&Vault].state, TargetState::Done);
    assert_eq!(newer.targets[&Vault].late.len(), 2);
    assert_eq!(newer.targets[&Vault].late[1].state, TargetState::Failed);

    // A restarted verifier holds the same record, and the replay publishes nothing.
    let mut restored = verifier();
    restored.restore(newer.clone());
    assert_eq!(restored.case(&ev.case_id()), Some(&newer));
    assert!(conf(&mut restored, &worker, at(60)).is_empty());

    // Closing keeps the late reports in the closed record.
    let closed = sole_case(conf(&mut v, &ok(&ev, Cloud, at(70)), at(70)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.targets[&Vault].late.len(), 2);

    // A worker's report for a target done by a worker is a duplicate, not evidence.
    let (e2, _) = open(&mut v, "E2", "evt-2", at(0), at(0));
    confirm_ok(&mut v, &e2, &[Vault], 1);
    assert!(conf(&mut v, &reemitted(&ok(&e2, Vault, at(1)), 60), at(80)).is_empty());
}

#[test]
fn a_worker_report_after_the_ack_closed_the_case_is_only_a_note() {
    let mut v = verifier();
    let ev = open_waiting_on_vault(&mut v);
    conf(&mut v, &failed(&ev, Vault, at(10)), at(10));
    let closed = sole_case(conf(&mut v, &ack(&ev, Vault, at(20)), at(20)));
    assert_eq!(closed.state, CaseState::Closed);
    assert!(v.is_closed(&ev.case_id()));

    let late = ok(&ev, Vault, at(30));
    let (case_id, identity, what) = sole_note(conf(&mut v, &late, at(31)));
    assert_eq!(
        (case_id, identity.as_str(), what),
        (Some(ev.case_id()), "E1", "late_confirmation_after_close")
    );
    assert!(v.is_closed(&ev.case_id()), "a closed case never changes");
    // Notes publish nothing: the same report again is noted again, never recorded.
    assert_eq!(
        sole_note(conf(&mut v, &late, at(32))).2,
        "late_confirmation_after_close"
    );
    // Replays of what the workers (or the person) reported before the close are silent.
    assert!(conf(&mut v, &ok(&ev, Saas, at(2)), at(33)).is_empty());
    assert!(conf(&mut v, &ack(&ev, Vault, at(20)), at(34)).is_empty());

    // The same after a restart from the changelog (the closed record says who acknowledged).
    let mut restored = verifier();
    restored.restore(closed.clone());
    assert_eq!(
        sole_note(conf(&mut restored, &late, at(40))).2,
        "late_confirmation_after_close"
    );
    assert!(conf(&mut restored, &ok(&ev, Saas, at(2)), at(41)).is_empty());
    // And not once a rescind has made the case rescinded.
    restored.apply(
        Input::RescindClosed(&rescind("E1", "r-1", Some("evt-1")), &closed),
        at(50),
    );
    assert!(!restored.is_closed(&ev.case_id()));
    assert!(conf(&mut restored, &late, at(51)).is_empty());
}

// ---------------------------------------------------------------------------------------------

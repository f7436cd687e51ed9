//! Unit tests of the verifier's state machine (`machine.rs`).
//!
//! Every test drives `Verifier::apply` with hand-built inputs at explicit instants and checks the
//! exact effects: which variants, the case record (state, revision, targets, escalations,
//! `closed_at`) and each escalation (reason, targets, owner). The last section is a property test
//! over random interleavings, duplicates, deadlines, restarts and replays, driven by a small
//! deterministic PRNG so that any failure names a seed that reproduces it.

use super::machine::{target_summary, Effect, Input, Verifier};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{
    case_id_for, Actor, Case, CaseState, Confirmation, Escalation, EscalationReason, HrData,
    HrEvent, HrEventKind, Identity, IdentityKind, ObjectEvidence, ObjectOutcome, Outcome, Owner,
    RestoreOutcome, RestoreReport, RestoreRequest, TargetKind, TargetRef, TargetState,
    TargetStatus, WorkerInfo, CASE_SCHEMA, CONFIRMATION_SCHEMA, ESCALATION_SCHEMA,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use uuid::Uuid;

mod closed_offset_tests;
mod guard_tests;
mod reminder_tests;
mod rescind_tests;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const DEADLINE_SECS: i64 = 3600;
const SOURCE: &str = "urn:hr:workday";
const ALL: [TargetKind; 5] = TargetKind::ALL;
use TargetKind::{Cicd, Cloud, Directory, Saas, Vault};

/// A fixed origin for every clock in these tests.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `t0` plus `secs` seconds.
fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

fn owner(name: &str) -> Owner {
    Owner {
        name: name.into(),
        contact: format!("{name}@example.com"),
    }
}

/// All five targets required; directory and vault have their own owners, the rest fall back to
/// `default`.
fn policy() -> VerifierConfig {
    let mut owners = BTreeMap::new();
    owners.insert("default".to_string(), owner("secops"));
    owners.insert("directory".to_string(), owner("iam-team"));
    owners.insert("vault".to_string(), owner("vault-team"));
    VerifierConfig {
        deadline_secs: DEADLINE_SECS as u64,
        tick_ms: 1000,
        required_targets: ALL.to_vec(),
        owners,
        // These tests drive cases from termination to close directly; the blast-radius guard's
        // release step has its own tests (`guard_tests`).
        guard: revoke_shared::config::GuardConfig {
            enabled: false,
            ..Default::default()
        },
        ..VerifierConfig::default()
    }
}

fn verifier() -> Verifier {
    Verifier::new(policy())
}

fn termination(identity: &str, event_id: &str, effective_at: DateTime<Utc>) -> HrEvent {
    HrEvent {
        id: event_id.into(),
        source: SOURCE.into(),
        subject: identity.into(),
        time: effective_at,
        kind: HrEventKind::Termination,
        data: HrData {
            identity: Identity {
                employee_id: identity.into(),
                email: Some(format!("{}@example.com", identity.to_lowercase())),
                username: Some(identity.to_lowercase()),
                kind: IdentityKind::Employee,
            },
            effective_at: Some(effective_at),
            reason: Some("resignation".into()),
            requested_by: Some("hr:bob".into()),
            approved_by: Some("mgr:carol".into()),
            rescinds: None,
        },
    }
}

/// A rescind HR issued a day after `t0` (after every termination these tests make, unless a
/// test sets its `time`: a rescind never applies to a termination issued after it).
fn rescind(identity: &str, event_id: &str, rescinds: Option<&str>) -> HrEvent {
    HrEvent {
        id: event_id.into(),
        source: SOURCE.into(),
        subject: identity.into(),
        time: at(86_400),
        kind: HrEventKind::Rescinded,
        data: HrData {
            identity: Identity {
                employee_id: identity.into(),
                email: None,
                username: None,
                kind: IdentityKind::Employee,
            },
            effective_at: None,
            reason: Some("offer accepted after all".into()),
            requested_by: Some("hr:dave".into()),
            approved_by: None,
            rescinds: rescinds.map(str::to_string),
        },
    }
}

/// A confirmation from `target` for the case of termination `ev`, finished at `finished_at`.
/// Successes carry one object removed a second before; `verified` is that object's read-back.
fn confirmation(
    ev: &HrEvent,
    target: TargetKind,
    outcome: Outcome,
    verified: bool,
    finished_at: DateTime<Utc>,
) -> Confirmation {
    let object = |outcome: ObjectOutcome,
                  verified: bool,
                  removed_at: Option<DateTime<Utc>>,
                  error: Option<String>| ObjectEvidence {
        object_kind: "account".into(),
        object_id: format!("{}-{target}", ev.subject),
        sponsored: false,
        action: "deactivate".into(),
        outcome,
        removed_at,
        actor: Actor {
            worker_id: format!("{target}-w1"),
            principal: "svc-revoke".into(),
        },
        verified,
        provenance: if verified {
            revoke_shared::contract::Provenance::Observed
        } else {
            revoke_shared::contract::Provenance::NotChecked
        },
        read_back: if verified {
            "not found".into()
        } else {
            "still present".into()
        },
        error,
    };
    let (objects, error) = match outcome {
        Outcome::Revoked => (
            vec![object(
                ObjectOutcome::Revoked,
                verified,
                Some(finished_at - Duration::seconds(1)),
                None,
            )],
            None,
        ),
        Outcome::AlreadyAbsent => (
            vec![object(ObjectOutcome::AlreadyAbsent, verified, None, None)],
            None,
        ),
        Outcome::Failed => {
            let e = format!("{target} API answered 503 after 5 attempts");
            (
                vec![object(ObjectOutcome::Failed, false, None, Some(e.clone()))],
                Some(e),
            )
        }
        Outcome::ManualRequired => {
            let e = "two accounts match the identity".to_string();
            (
                vec![object(
                    ObjectOutcome::ManualRequired,
                    false,
                    None,
                    Some(e.clone()),
                )],
                Some(e),
            )
        }
        Outcome::SkippedProtected => (Vec::new(), Some("identity is on legal hold".to_string())),
    };
    Confirmation {
        schema: CONFIRMATION_SCHEMA.into(),
        confirmation_id: Uuid::new_v4(),
        case_id: ev.case_id(),
        identity_id: ev.subject.clone(),
        event_id: ev.id.clone(),
        target: TargetRef {
            kind: target,
            instance: "default".into(),
        },
        outcome,
        objects,
        attempts: if outcome == Outcome::Failed { 5 } else { 1 },
        error,
        retryable: false,
        redrive: 0,
        worker: WorkerInfo {
            id: format!("{target}-w1"),
            version: "0.1.0".into(),
        },
        started_at: finished_at - Duration::seconds(2),
        finished_at,
        fleet_signature: None,
    }
}

/// Verified success.
fn ok(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    confirmation(ev, target, Outcome::Revoked, true, finished_at)
}

/// Success whose read-back did not prove the access gone.
fn unverified(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    confirmation(ev, target, Outcome::Revoked, false, finished_at)
}

fn failed(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    confirmation(ev, target, Outcome::Failed, false, finished_at)
}

/// The same report emitted again by a re-run: new id, later, same content.
fn reemitted(c: &Confirmation, later: i64) -> Confirmation {
    let mut c = c.clone();
    c.confirmation_id = Uuid::new_v4();
    c.started_at += Duration::seconds(later);
    c.finished_at += Duration::seconds(later);
    c
}

// --- driving the machine ---

fn hr(v: &mut Verifier, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
    v.apply(Input::Hr(ev), now)
}

fn conf(v: &mut Verifier, c: &Confirmation, now: DateTime<Utc>) -> Vec<Effect> {
    v.apply(Input::Confirmation(c), now)
}

fn tick(v: &mut Verifier, now: DateTime<Utc>) -> Vec<Effect> {
    v.apply(Input::Tick, now)
}

/// Applies a termination that must open a fresh case, and returns the event and that case.
fn open(
    v: &mut Verifier,
    identity: &str,
    event_id: &str,
    effective_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (HrEvent, Case) {
    let ev = termination(identity, event_id, effective_at);
    let case = sole_case(hr(v, &ev, now));
    assert_eq!(case.state, CaseState::Open);
    (ev, case)
}

/// Verified successes from `targets`, one second apart from `from`; returns the last effects.
fn confirm_ok(v: &mut Verifier, ev: &HrEvent, targets: &[TargetKind], from: i64) -> Vec<Effect> {
    let mut last = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let now = at(from + i as i64);
        last = conf(v, &ok(ev, *t, now), now);
    }
    last
}

// --- reading effects ---

/// Only notes (log lines and metrics): no record, escalation or request.
fn publishes_nothing(effects: &[Effect]) -> bool {
    effects.iter().all(|e| matches!(e, Effect::Note { .. }))
}

/// Asserts the effects are exactly one case record, and returns it.
#[track_caller]
fn sole_case(effects: Vec<Effect>) -> Case {
    match <[Effect; 1]>::try_from(effects) {
        Ok([Effect::Case(c)]) => c,
        other => panic!("expected exactly one Case effect, got {other:?}"),
    }
}

/// Asserts the effects are exactly a case record followed by one escalation, and returns both.
#[track_caller]
fn case_and_escalation(effects: Vec<Effect>) -> (Case, Escalation) {
    match <[Effect; 2]>::try_from(effects) {
        Ok([Effect::Case(c), Effect::Escalate(e)]) => (c, e),
        other => panic!("expected [Case, Escalate], got {other:?}"),
    }
}

/// Asserts the effects are exactly one note, and returns (case id, identity, what).
#[track_caller]
fn sole_note(effects: Vec<Effect>) -> (Option<Uuid>, String, &'static str) {
    match <[Effect; 1]>::try_from(effects) {
        Ok(
            [Effect::Note {
                case_id,
                identity_id,
                what,
            }],
        ) => (case_id, identity_id, what),
        other => panic!("expected exactly one Note effect, got {other:?}"),
    }
}

fn case_records(effects: &[Effect]) -> Vec<Case> {
    effects
        .iter()
        .filter_map(|e| {
            if let Effect::Case(c) = e {
                Some(c.clone())
            } else {
                None
            }
        })
        .collect()
}

fn effect_case_id(e: &Effect) -> Option<Uuid> {
    match e {
        Effect::Case(c) => Some(c.case_id),
        Effect::Escalate(x) => Some(x.case_id),
        Effect::Note { case_id, .. } => *case_id,
        Effect::Due(ev) => Some(ev.case_id()),
        Effect::Restore(r) => Some(r.case_id),
        Effect::Redrive { event, .. } => Some(event.case_id()),
        Effect::Admit(a) => Some(a.case_id),
        Effect::Refuse { .. } => None,
    }
}

/// Checks an escalation against the record the same batch published for its case.
#[track_caller]
fn assert_escalation_recorded(case: &Case, esc: &Escalation) {
    assert_eq!(esc.schema, ESCALATION_SCHEMA);
    assert_eq!(esc.case_id, case.case_id);
    assert_eq!(esc.identity_id, case.identity_id);
    assert_eq!(esc.deadline, case.deadline);
    assert_eq!(
        esc.escalation_id,
        Escalation::id_at(case.case_id, esc.reason, &esc.targets, esc.level)
    );
    let rec = case
        .escalations
        .iter()
        .find(|r| r.escalation_id == esc.escalation_id)
        .unwrap_or_else(|| {
            panic!(
                "escalation {} not recorded in case {case:?}",
                esc.escalation_id
            )
        });
    assert_eq!(
        (
            rec.reason,
            &rec.targets,
            &rec.owner,
            rec.level,
            rec.raised_at,
            &rec.detail
        ),
        (
            esc.reason,
            &esc.targets,
            &esc.owner,
            esc.level,
            esc.raised_at,
            &esc.detail
        )
    );
    // Evidence lists every target the case knows, in the case's order.
    assert_eq!(esc.evidence.len(), case.targets.len());
    for (line, t) in esc.evidence.iter().zip(case.targets.keys()) {
        assert!(
            line.starts_with(&format!("{t}: ")),
            "evidence line {line:?} for {t}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Termination opens a case
// ---------------------------------------------------------------------------------------------

/// A termination opens revision 1 with every required target pending and the HR facts copied;
/// the deadline runs from the (future) effective time.
#[test]
fn termination_opens_case_with_all_targets_pending() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(600));
    let case = sole_case(hr(&mut v, &ev, at(0)));

    assert_eq!(case.schema, CASE_SCHEMA);
    assert_eq!(case.case_id, ev.case_id());
    assert_eq!(case.case_id, case_id_for(SOURCE, "evt-1"));
    assert_eq!(case.identity_id, "E1");
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.revision, 1);
    assert_eq!(case.required_targets, ALL.to_vec());
    assert_eq!(
        case.targets.keys().copied().collect::<Vec<_>>(),
        ALL.to_vec()
    );
    assert!(case.targets.values().all(|s| *s == TargetStatus::pending()));
    assert_eq!(case.effective_at, Some(at(600)));
    assert_eq!(case.deadline, Some(at(600 + DEADLINE_SECS)));
    assert_eq!(case.identity.as_ref(), Some(&ev.data.identity));
    assert_eq!(case.event_id.as_deref(), Some("evt-1"));
    assert_eq!(case.source.as_deref(), Some(SOURCE));
    assert_eq!(case.reason.as_deref(), Some("resignation"));
    assert_eq!(case.requested_by.as_deref(), Some("hr:bob"));
    assert_eq!(case.approved_by.as_deref(), Some("mgr:carol"));
    assert_eq!((case.opened_at, case.updated_at), (at(0), at(0)));
    assert_eq!(case.closed_at, None);
    assert_eq!(case.rescinded_by, None);
    assert!(case.escalations.is_empty());

    assert_eq!(v.case(&case.case_id), Some(&case));
    assert!(!v.is_closed(&case.case_id));
    assert_eq!(v.open_count(), 1);
}

/// The deadline never starts before the verifier heard of the termination: a back-dated
/// effective time (or none at all) starts it at `now`.
#[test]
fn deadline_counts_from_now_when_effective_time_is_past_or_missing() {
    let mut v = verifier();
    let (_, case) = open(&mut v, "E1", "evt-1", at(0), at(900));
    assert_eq!(case.deadline, Some(at(900 + DEADLINE_SECS)));

    let mut ev = termination("E2", "evt-2", at(0));
    ev.data.effective_at = None;
    let case = sole_case(hr(&mut v, &ev, at(50)));
    assert_eq!(case.effective_at, None);
    assert_eq!(case.deadline, Some(at(50 + DEADLINE_SECS)));
}

/// A duplicate termination (same source and id) publishes nothing and changes nothing.
#[test]
fn duplicate_termination_is_silent() {
    let mut v = verifier();
    let (ev, case) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert!(hr(&mut v, &ev, at(10)).is_empty());
    assert!(hr(&mut v, &ev.clone(), at(20)).is_empty());
    assert_eq!(
        v.case(&case.case_id),
        Some(&case),
        "revision and updated_at untouched"
    );
    assert_eq!(v.open_count(), 1);
}

// ---------------------------------------------------------------------------------------------
// 2. Closing
// ---------------------------------------------------------------------------------------------

/// Each verified confirmation publishes one new revision; the last required one closes the case
/// with exactly one Case effect, after which nothing about the case is ever published again.
#[test]
fn verified_confirmations_close_the_case_exactly_once() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let id = ev.case_id();

    for (i, t) in ALL[..4].iter().enumerate() {
        let now = at(10 + i as i64);
        let c = ok(&ev, *t, now);
        let case = sole_case(conf(&mut v, &c, now));
        assert_eq!(case.state, CaseState::Open);
        assert_eq!(case.revision, 2 + i as u64);
        assert_eq!(case.updated_at, now);
        let s = &case.targets[t];
        assert_eq!(s.state, TargetState::Done);
        assert_eq!(s.outcome, Some(Outcome::Revoked));
        assert_eq!(s.confirmed_at, Some(now));
        assert_eq!(s.instance.as_deref(), Some("default"));
        assert_eq!(s.worker.as_deref(), Some(&c.worker));
        assert_eq!(s.objects, c.objects);
        assert_eq!(s.attempts, 1);
    }

    let last = ok(&ev, Cicd, at(20));
    let closed = sole_case(conf(&mut v, &last, at(20)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 6);
    assert_eq!(closed.closed_at, Some(at(20)));
    assert_eq!(closed.updated_at, at(20));
    assert!(closed
        .targets
        .values()
        .all(|s| s.state == TargetState::Done));
    assert!(closed.escalations.is_empty());
    assert_eq!(closed.time_to_close_ms(), Some(20_000));
    assert!(v.is_closed(&id));
    assert_eq!(v.case(&id), None, "closed cases are reduced to a marker");
    assert_eq!(v.open_count(), 0);

    // Nothing changes a closed case: duplicates, re-runs, failures, unverified news, the
    // termination again, or a tick long after the deadline.
    assert!(conf(&mut v, &last, at(30)).is_empty());
    assert!(conf(&mut v, &reemitted(&last, 60), at(80)).is_empty());
    assert!(conf(&mut v, &ok(&ev, Directory, at(90)), at(90)).is_empty());
    assert!(conf(&mut v, &failed(&ev, Vault, at(91)), at(91)).is_empty());
    assert!(conf(&mut v, &unverified(&ev, Saas, at(92)), at(92)).is_empty());
    assert!(conf(
        &mut v,
        &confirmation(&ev, Cloud, Outcome::ManualRequired, false, at(93)),
        at(93)
    )
    .is_empty());
    assert!(hr(&mut v, &ev, at(94)).is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
    assert!(v.is_closed(&id));
    assert_eq!(v.open_count(), 0);
}

/// `already_absent` with nothing to remove counts as verified, and time-to-revoke runs from
/// the effective time to the last removal (or to the confirmation when nothing was removed).
#[test]
fn time_to_revoke_is_measured_from_effective_time() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(100), at(0));

    let case = sole_case(conf(&mut v, &ok(&ev, Vault, at(191)), at(192)));
    assert_eq!(
        case.targets[&Vault].time_to_revoke_ms,
        Some(90_000),
        "removed_at is finished_at - 1s"
    );

    let mut absent = confirmation(&ev, Saas, Outcome::AlreadyAbsent, true, at(130));
    absent.objects.clear();
    let case = sole_case(conf(&mut v, &absent, at(131)));
    assert_eq!(case.targets[&Saas].state, TargetState::Done);
    assert_eq!(case.targets[&Saas].time_to_revoke_ms, Some(30_000));
    assert_eq!(case.targets[&Cloud].time_to_revoke_ms, None);
}

/// With a subset of targets required, the others neither block nor complete a close.
#[test]
fn only_required_targets_decide_closing() {
    let mut v = Verifier::new(VerifierConfig {
        required_targets: vec![Directory, Vault],
        ..policy()
    });
    let (ev, case) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(
        case.targets.keys().copied().collect::<Vec<_>>(),
        vec![Directory, Vault]
    );

    // A report from a target the policy does not require is recorded, but does not close.
    let case = sole_case(conf(&mut v, &ok(&ev, Saas, at(1)), at(1)));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.targets[&Saas].state, TargetState::Done);

    sole_case(conf(&mut v, &ok(&ev, Directory, at(2)), at(2)));
    let closed = sole_case(conf(&mut v, &ok(&ev, Vault, at(3)), at(3)));
    assert_eq!(closed.state, CaseState::Closed);
    assert!(v.is_closed(&ev.case_id()));
}

// ---------------------------------------------------------------------------------------------
// 3. Unverified success
// ---------------------------------------------------------------------------------------------

/// A success whose read-back did not prove the access gone is `unverified`: not enough to
/// close, not a reason to escalate. A verified report for the same target later closes.
#[test]
fn unverified_success_keeps_case_open_without_escalation() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &ALL[..4], 1);

    let weak = unverified(&ev, Cicd, at(10));
    let case = sole_case(conf(&mut v, &weak, at(10)));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.revision, 6);
    assert_eq!(case.targets[&Cicd].state, TargetState::Unverified);
    assert_eq!(case.targets[&Cicd].outcome, Some(Outcome::Revoked));
    assert_eq!(case.targets[&Cicd].time_to_revoke_ms, None);
    assert_eq!(
        target_summary(&case)[&Cicd],
        "reported revoked but not verified"
    );
    assert!(case.escalations.is_empty());
    assert_eq!(case.closed_at, None);
    assert!(!v.is_closed(&ev.case_id()));

    // The same news again is a duplicate.
    assert!(conf(&mut v, &weak, at(11)).is_empty());
    assert!(conf(&mut v, &reemitted(&weak, 5), at(16)).is_empty());

    let closed = sole_case(conf(&mut v, &ok(&ev, Cicd, at(20)), at(20)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 7);
}

// ---------------------------------------------------------------------------------------------
// 4. Failure escalation, owners, late success
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
// 5. Manual and protected
// ---------------------------------------------------------------------------------------------

/// `manual_required` escalates with reason manual_required to the target's owner.
#[test]
fn manual_required_escalates_with_its_own_reason() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let c = confirmation(&ev, Directory, Outcome::ManualRequired, false, at(5));
    let (case, esc) = case_and_escalation(conf(&mut v, &c, at(5)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.targets[&Directory].state, TargetState::ManualRequired);
    assert_eq!(esc.reason, EscalationReason::ManualRequired);
    assert_eq!(esc.targets, vec![Directory]);
    assert_eq!(esc.owner, owner("iam-team"));
    assert!(esc.detail.contains("two accounts match"), "{}", esc.detail);
    assert_escalation_recorded(&case, &esc);
    assert!(conf(&mut v, &c, at(6)).is_empty());
}

/// `skipped_protected` escalates with reason protected_identity.
#[test]
fn skipped_protected_escalates_as_protected_identity() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let c = confirmation(&ev, Saas, Outcome::SkippedProtected, false, at(5));
    let (case, esc) = case_and_escalation(conf(&mut v, &c, at(5)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.targets[&Saas].state, TargetState::SkippedProtected);
    assert_eq!(esc.reason, EscalationReason::ProtectedIdentity);
    assert_eq!(esc.targets, vec![Saas]);
    assert_eq!(esc.owner, owner("secops"));
    assert!(esc.detail.contains("legal hold"), "{}", esc.detail);
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
// 6. Deadline
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

// ---------------------------------------------------------------------------------------------
// 7. Confirmations before their termination
// ---------------------------------------------------------------------------------------------

/// Confirmations that arrive first are kept in a `pending` case that neither closes nor
/// escalates; the termination then evaluates it at once and closes it if all were verified.
#[test]
fn confirmations_before_termination_wait_then_close_at_once() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    let id = ev.case_id();

    for (i, t) in ALL.iter().enumerate() {
        let now = at(1 + i as i64);
        let case = sole_case(conf(&mut v, &ok(&ev, *t, now), now));
        assert_eq!(case.case_id, id);
        assert_eq!(case.identity_id, "E1");
        assert_eq!(case.state, CaseState::Pending);
        assert_eq!(case.revision, 1 + i as u64);
        assert_eq!(
            (case.event_id.as_ref(), case.deadline, case.effective_at),
            (None, None, None)
        );
        assert_eq!(case.opened_at, at(1), "first seen");
        assert_eq!(case.targets[t].state, TargetState::Done);
        assert_eq!(
            case.targets[t].time_to_revoke_ms, None,
            "no effective time yet"
        );
        assert_eq!(case.closed_at, None);
        assert!(case.escalations.is_empty());
    }
    assert!(!v.is_closed(&id));
    assert_eq!(v.open_count(), 1, "pending counts as open");
    assert!(tick(&mut v, at(100 * DEADLINE_SECS)).is_empty());

    let closed = sole_case(hr(&mut v, &ev, at(10)));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.revision, 6);
    assert_eq!(closed.closed_at, Some(at(10)));
    assert_eq!(closed.event_id.as_deref(), Some("evt-1"));
    assert_eq!(closed.identity.as_ref(), Some(&ev.data.identity));
    assert_eq!(closed.deadline, Some(at(10 + DEADLINE_SECS)));
    assert_eq!(closed.opened_at, at(1));
    assert_eq!(
        closed.targets[&Directory].time_to_revoke_ms,
        Some(0),
        "removed 1s before finishing at +1s"
    );
    assert_eq!(closed.targets[&Cicd].time_to_revoke_ms, Some(4_000));
    assert!(v.is_closed(&id));
    assert_eq!(v.open_count(), 0);
    assert!(hr(&mut v, &ev, at(11)).is_empty());
}

/// A failure that arrived first is only acted on when the termination arrives.
#[test]
fn failure_before_termination_escalates_when_termination_arrives() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    let case = sole_case(conf(&mut v, &failed(&ev, Vault, at(1)), at(1)));
    assert_eq!(case.state, CaseState::Pending);
    assert_eq!(case.targets[&Vault].state, TargetState::Failed);
    sole_case(conf(&mut v, &ok(&ev, Saas, at(2)), at(2)));

    let (case, esc) = case_and_escalation(hr(&mut v, &ev, at(3)));
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.revision, 3);
    assert_eq!(esc.reason, EscalationReason::TargetFailed);
    assert_eq!(esc.targets, vec![Vault]);
    assert_eq!(esc.owner, owner("vault-team"));
    assert_escalation_recorded(&case, &esc);
}

/// Some confirmations first, then the termination: an open case carrying them, deadline set.
#[test]
fn partial_confirmations_before_termination_give_an_open_case() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    confirm_ok(&mut v, &ev, &[Directory, Cloud], 1);
    let case = sole_case(hr(&mut v, &ev, at(5)));
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.revision, 3);
    assert_eq!(case.deadline, Some(at(5 + DEADLINE_SECS)));
    let done: Vec<TargetKind> = case
        .targets
        .iter()
        .filter(|(_, s)| s.state == TargetState::Done)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(done, vec![Directory, Cloud]);
    let closed = sole_case(confirm_ok(&mut v, &ev, &[Saas, Vault, Cicd], 10));
    assert_eq!(closed.state, CaseState::Closed);
}

// ---------------------------------------------------------------------------------------------
// 8. Rescind
// ---------------------------------------------------------------------------------------------

/// A rescind naming its termination marks that case rescinded and escalates every target:
/// access may already be gone and restoring it is a person's decision.
#[test]
fn rescind_naming_the_termination_rescinds_and_escalates() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    sole_case(conf(&mut v, &ok(&ev, Directory, at(1)), at(1)));

    let r = rescind("E1", "r-1", Some("evt-1"));
    assert_eq!(r.case_id(), ev.case_id());
    let mut effects = hr(&mut v, &r, at(60));
    // The one target that revoked something is asked to give it back, from its evidence.
    let restore = match effects.pop() {
        Some(Effect::Restore(req)) => req,
        other => panic!("expected a restore request last, got {other:?}"),
    };
    assert_eq!(restore.target, Directory);
    assert_eq!(restore.case_id, ev.case_id());
    assert_eq!(restore.rescinded_by, "hr:dave");
    assert_eq!(restore.objects.len(), 1);
    assert_eq!(restore.objects[0].object_id, "E1-directory");
    let (case, esc) = case_and_escalation(effects);
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(case.revision, 3);
    assert_eq!(case.rescinded_by.as_deref(), Some("hr:dave"));
    assert_eq!(case.closed_at, None);
    assert_eq!(esc.reason, EscalationReason::RescindAfterRevocation);
    assert_eq!(esc.targets, ALL.to_vec());
    assert_eq!(
        esc.owner,
        owner("iam-team"),
        "owner of the first target (directory)"
    );
    assert!(esc.detail.contains("r-1"), "{}", esc.detail);
    assert!(
        esc.evidence
            .contains(&"directory: revoked (verified)".to_string()),
        "{:?}",
        esc.evidence
    );
    assert_escalation_recorded(&case, &esc);
    assert_eq!(v.open_count(), 0);
    assert!(!v.is_closed(&ev.case_id()));
}

/// Without `rescinds`, a rescind applies to the person's latest standing termination from its
/// source issued before it; other people are untouched. The earlier termination still stands, so
/// nothing is given back (restores are grants).
#[test]
fn rescind_without_reference_applies_to_the_latest_termination_issued_before_it() {
    let mut v = verifier();
    let (older, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(
        sole_case(confirm_ok(&mut v, &older, &ALL, 1)).state,
        CaseState::Closed
    );
    // The first case is closed, so this one is a case of its own.
    let (newer, _) = open(&mut v, "E1", "evt-2", at(100), at(100));
    let (other, other_case) = open(&mut v, "E2", "evt-3", at(200), at(200));

    // Issued before evt-2 existed: it can only mean evt-1.
    let mut early = rescind("E1", "r-0", None);
    early.time = at(50);
    assert_eq!(v.rescind_applies_to(&early), Some(older.case_id()));

    let (case, esc) = case_and_escalation(hr(&mut v, &rescind("E1", "r-1", None), at(300)));
    assert_eq!(case.case_id, newer.case_id());
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(esc.reason, EscalationReason::RestoreWithheld);
    assert!(
        case.restore_withheld
            .as_deref()
            .is_some_and(|w| w.contains(&older.case_id().to_string())),
        "{:?}",
        case.restore_withheld
    );
    assert_eq!(v.case(&other.case_id()), Some(&other_case));
}

/// "Latest" means the termination taking effect last, not the one that arrived last, so that a
/// verifier restored from the changelog in any order agrees with the live one.
#[test]
fn latest_case_is_by_effective_time_and_survives_restore_in_any_order() {
    let mut v = verifier();
    let (later, _) = open(&mut v, "E1", "evt-2", at(1000), at(0));
    let later_closed = sole_case(confirm_ok(&mut v, &later, &ALL, 1));
    let (earlier, _) = open(&mut v, "E1", "evt-1", at(500), at(10)); // back-dated, arrives last
    let pending = termination("E1", "evt-3", at(5000)); // never arrives: never "latest"
    sole_case(conf(&mut v, &ok(&pending, Vault, at(20)), at(20)));
    let earlier_record = sole_case(conf(&mut v, &ok(&earlier, Vault, at(30)), at(30)));
    let pending_record = v.case(&pending.case_id()).unwrap().clone();
    let records = vec![later_closed, earlier_record, pending_record];

    let r = rescind("E1", "r-1", None);
    assert_eq!(v.rescind_applies_to(&r), Some(later.case_id()));
    let mut reversed = records.clone();
    reversed.reverse();
    for order in [records, reversed] {
        let mut restored = verifier();
        for c in order {
            restored.restore(c);
        }
        assert_eq!(restored.rescind_applies_to(&r), Some(later.case_id()));
    }
}

/// A rescind for an identity (or a termination) the verifier never saw is a note, nothing more.
#[test]
fn rescind_for_unknown_case_is_only_a_note() {
    let mut v = verifier();
    assert_eq!(
        sole_note(hr(&mut v, &rescind("E9", "r-1", None), at(0))),
        (None, "E9".to_string(), "rescind_for_unknown_case")
    );
    assert_eq!(
        sole_note(hr(&mut v, &rescind("E9", "r-2", Some("evt-x")), at(0))),
        (
            Some(case_id_for(SOURCE, "evt-x")),
            "E9".to_string(),
            "rescind_for_unknown_case"
        )
    );
    // Another identity's case is not "latest" for E9.
    open(&mut v, "E1", "evt-1", at(0), at(0));
    assert_eq!(
        sole_note(hr(&mut v, &rescind("E9", "r-3", None), at(1))).2,
        "rescind_for_unknown_case"
    );
    assert_eq!(v.open_count(), 1);
}

/// A closed case is never reopened: a rescind after close is a note and the case stays closed.
#[test]
fn rescind_after_close_is_a_note_and_changes_nothing() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let closed = sole_case(confirm_ok(&mut v, &ev, &ALL, 1));
    assert_eq!(closed.state, CaseState::Closed);

    for r in [
        rescind("E1", "r-1", Some("evt-1")),
        rescind("E1", "r-2", None),
    ] {
        assert_eq!(
            sole_note(hr(&mut v, &r, at(60))),
            (Some(ev.case_id()), "E1".to_string(), "rescind_after_close")
        );
    }
    assert!(v.is_closed(&ev.case_id()));
    assert_eq!(v.open_count(), 0);
}

/// A second rescind (the same event again, or another one) publishes nothing.
#[test]
fn second_rescind_is_silent() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let r = rescind("E1", "r-1", Some("evt-1"));
    let (case, _) = case_and_escalation(hr(&mut v, &r, at(10)));
    // The same rescind again is a replay: noted, nothing published.
    assert_eq!(sole_note(hr(&mut v, &r, at(11))).2, "rescind_replayed");
    // Another rescind finds nothing standing, or a case already rescinded.
    assert!(publishes_nothing(&hr(
        &mut v,
        &rescind("E1", "r-2", None),
        at(12)
    )));
    assert!(hr(&mut v, &rescind("E1", "r-3", Some("evt-1")), at(13)).is_empty());
    assert_eq!(v.case(&ev.case_id()), Some(&case));
}

/// A rescinded case records later confirmations but never closes, never hits its deadline,
/// and ignores its termination replayed. Without `requested_by`, the rescinder is the source.
#[test]
fn rescinded_case_never_closes_or_escalates_again() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let mut r = rescind("E1", "r-1", Some("evt-1"));
    r.data.requested_by = None;
    let (case, _) = case_and_escalation(hr(&mut v, &r, at(10)));
    assert_eq!(case.rescinded_by.as_deref(), Some(SOURCE));

    // A failure is recorded but escalates nothing more.
    let c = sole_case(conf(&mut v, &failed(&ev, Saas, at(15)), at(15)));
    assert_eq!(
        (c.state, c.revision, c.escalations.len()),
        (CaseState::Rescinded, 3, 1)
    );
    assert_eq!(c.targets[&Saas].state, TargetState::Failed);
    // Every target verified: recorded, never closed.
    for (i, t) in ALL.iter().enumerate() {
        let effects = conf(&mut v, &ok(&ev, *t, at(20 + i as i64)), at(20 + i as i64));
        // Revoked after the rescind: recorded, and asked back at once.
        let c = case_records(&effects)[0].clone();
        assert!(
            matches!(effects.as_slice(), [Effect::Case(_), Effect::Restore(r)] if r.target == *t),
            "{effects:?}"
        );
        assert_eq!(c.state, CaseState::Rescinded);
        assert_eq!(c.revision, 4 + i as u64);
        assert_eq!(c.escalations.len(), 1);
        assert_eq!(c.closed_at, None);
    }
    // Done stays done: a later failure is noise.
    assert!(conf(&mut v, &failed(&ev, Saas, at(30)), at(30)).is_empty());
    assert!(hr(&mut v, &ev, at(40)).is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
    assert!(!v.is_closed(&ev.case_id()));
}

/// A rescind that overtook its termination (confirmations already in a pending case) stands:
/// the late termination fills in the record but neither reopens nor closes the case.
#[test]
fn rescind_before_termination_stands_when_termination_arrives() {
    let mut v = verifier();
    let ev = termination("E1", "evt-1", at(0));
    confirm_ok(&mut v, &ev, &ALL[..4], 1);
    let (case, esc) = case_and_escalation(hr(&mut v, &rescind("E1", "r-1", Some("evt-1")), at(10)));
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(esc.reason, EscalationReason::RescindAfterRevocation);

    sole_case(conf(&mut v, &ok(&ev, Cicd, at(11)), at(11)));
    let after = sole_case(hr(&mut v, &ev, at(12)));
    assert_eq!(after.state, CaseState::Rescinded);
    assert_eq!(after.event_id.as_deref(), Some("evt-1"));
    assert_eq!(after.closed_at, None);
    assert_eq!(after.escalations.len(), 1);
    assert!(!v.is_closed(&ev.case_id()));
    assert!(hr(&mut v, &ev, at(13)).is_empty());
    assert!(tick(&mut v, at(10 * DEADLINE_SECS)).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 8b. Effective dates: scheduled cases
// ---------------------------------------------------------------------------------------------

/// A termination published at `t0` taking effect `in_secs` later.
fn dated(identity: &str, event_id: &str, in_secs: i64) -> HrEvent {
    let mut ev = termination(identity, event_id, at(in_secs));
    ev.time = t0();
    ev
}

/// The due events among `effects`.
fn dues(effects: &[Effect]) -> Vec<&HrEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Due(ev) => Some(ev),
            _ => None,
        })
        .collect()
}

#[test]
fn scheduling_is_decided_by_the_event_alone() {
    assert!(dated("E1", "t1", 600).is_scheduled());
    // Within the slack of its own time, "effective now" is immediate.
    assert!(!dated("E1", "t1", 1).is_scheduled());
    assert!(!termination("E1", "t1", at(600)).is_scheduled());
    assert!(!rescind("E1", "r1", None).is_scheduled());
}

#[test]
fn a_future_termination_waits_scheduled_then_is_handed_over_when_due() {
    let mut v = verifier();
    let ev = dated("E1", "t1", 600);
    let case = sole_case(hr(&mut v, &ev, at(0)));
    assert_eq!(case.state, CaseState::Scheduled);
    assert_eq!(
        case.deadline,
        Some(at(600 + DEADLINE_SECS)),
        "the deadline counts from the effective time"
    );
    assert_eq!(v.open_count(), 1);

    // Before the effective time: nothing, not even a deadline check.
    assert!(tick(&mut v, at(599)).is_empty());

    // At the effective time: the termination goes to the workers and the case opens, once.
    let effects = tick(&mut v, at(600));
    let due = dues(&effects);
    assert_eq!(due.len(), 1, "{effects:?}");
    assert_eq!(
        due[0].case_id(),
        case.case_id,
        "the same case id: same source and event id"
    );
    assert_eq!(due[0].subject, "E1");
    assert_eq!(due[0].data.identity, ev.data.identity);
    assert_eq!(due[0].data.effective_at, Some(at(600)));
    assert_eq!(due[0].data.requested_by, ev.data.requested_by);
    assert!(
        !due[0].is_scheduled(),
        "a due event is never scheduled again"
    );
    let opened = case_records(&effects);
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].state, CaseState::Open);
    assert!(tick(&mut v, at(601)).is_empty(), "handed over once");

    // From here it is an ordinary case.
    let last = confirm_ok(&mut v, &ev, &ALL, 610);
    assert_eq!(case_records(&last)[0].state, CaseState::Closed);
}

#[test]
fn confirmations_while_scheduled_wait_for_the_effective_time() {
    let mut v = verifier();
    let ev = dated("E2", "t2", 600);
    hr(&mut v, &ev, at(0));
    // A worker acted early (an old version, or by hand): recorded, but the case stays scheduled.
    let last = confirm_ok(&mut v, &ev, &ALL, 10);
    assert_eq!(case_records(&last)[0].state, CaseState::Scheduled);
    // When due, it is handed over (workers find nothing left) and closes at once.
    let effects = tick(&mut v, at(600));
    assert_eq!(dues(&effects).len(), 1);
    assert_eq!(case_records(&effects)[0].state, CaseState::Closed);
}

#[test]
fn a_rescind_before_the_effective_time_cancels_without_escalating() {
    let mut v = verifier();
    let ev = dated("E3", "t3", 600);
    hr(&mut v, &ev, at(0));
    let effects = hr(&mut v, &rescind("E3", "r3", Some("t3")), at(100));
    let cases = case_records(&effects);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].state, CaseState::Rescinded);
    assert_eq!(cases[0].rescinded_by.as_deref(), Some("hr:dave"));
    assert!(
        cases[0].escalations.is_empty(),
        "nothing was revoked: nobody to alert"
    );
    assert!(effects.iter().all(|e| !matches!(e, Effect::Escalate(_))));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Note {
            what: "cancelled_before_effective",
            ..
        }
    )));
    // Never handed to the workers.
    assert!(tick(&mut v, at(600)).is_empty());
    assert!(tick(&mut v, at(600 + DEADLINE_SECS + 1)).is_empty());
    assert_eq!(v.open_count(), 0);
}

#[test]
fn a_rescind_that_overtakes_a_dated_termination_keeps_it_from_ever_being_due() {
    let mut v = verifier();
    let ev = dated("E4", "t4", 600);
    // A confirmation made the case known before its termination; the rescind lands on it.
    conf(&mut v, &ok(&ev, Cicd, at(1)), at(1));
    let effects = hr(&mut v, &rescind("E4", "r4", Some("t4")), at(2));
    assert_eq!(case_records(&effects)[0].state, CaseState::Rescinded);
    let after = sole_case(hr(&mut v, &ev, at(3)));
    assert_eq!(
        after.state,
        CaseState::Rescinded,
        "the termination does not schedule it again"
    );
    assert!(
        tick(&mut v, at(700)).is_empty(),
        "never handed to the workers"
    );
}

#[test]
fn the_schedule_survives_a_restart() {
    let mut v = verifier();
    let ev = dated("E5", "t5", 600);
    let case = sole_case(hr(&mut v, &ev, at(0)));
    // A new verifier rebuilt from the changelog alone still hands it over on time.
    let mut restored = verifier();
    restored.restore(case.clone());
    assert!(tick(&mut restored, at(300)).is_empty());
    let effects = tick(&mut restored, at(600));
    assert_eq!(dues(&effects).len(), 1);
    assert_eq!(dues(&effects)[0].case_id(), case.case_id);
    // And a restart after the hand-over does not hand it over again.
    let mut again = verifier();
    again.restore(case_records(&effects)[0].clone());
    assert!(dues(&tick(&mut again, at(601))).is_empty());
}

#[test]
fn a_dated_termination_seen_late_is_handed_over_at_the_first_tick() {
    // The verifier was down past the effective time: workers skipped the event (it is dated),
    // so the verifier must still hand it over, at once.
    let mut v = verifier();
    let ev = dated("E6", "t6", 600);
    let case = sole_case(hr(&mut v, &ev, at(900)));
    assert_eq!(case.state, CaseState::Scheduled);
    assert_eq!(dues(&tick(&mut v, at(901))).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 8b'. Restore reports after a rescind
// ---------------------------------------------------------------------------------------------

fn report(
    req: &revoke_shared::contract::RestoreRequest,
    outcomes: &[revoke_shared::contract::RestoreOutcome],
    at_: DateTime<Utc>,
) -> revoke_shared::contract::RestoreReport {
    use revoke_shared::contract::{RestoredObject, RESTORE_REPORT_SCHEMA};
    revoke_shared::contract::RestoreReport {
        schema: RESTORE_REPORT_SCHEMA.into(),
        request_id: req.request_id,
        case_id: req.case_id,
        identity_id: req.identity_id.clone(),
        target: TargetRef {
            kind: req.target,
            instance: "default".into(),
        },
        objects: outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| RestoredObject {
                object_kind: "account".into(),
                object_id: format!("obj-{i}"),
                sponsored: false,
                undoes: "lock".into(),
                outcome: *o,
                restored_at: o.is_back().then_some(at_),
                actor: Actor {
                    worker_id: "w".into(),
                    principal: "p".into(),
                },
                detail: if o.is_back() {
                    String::new()
                } else {
                    "key deleted".into()
                },
            })
            .collect(),
        worker: WorkerInfo {
            id: "w".into(),
            version: "0".into(),
        },
        started_at: at_,
        finished_at: at_,
    }
}

fn restores_in(effects: &[Effect]) -> Vec<revoke_shared::contract::RestoreRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Restore(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn restore_reports_are_recorded_and_what_cannot_come_back_is_escalated() {
    use revoke_shared::contract::RestoreOutcome::{AlreadyPresent, Irreversible, Restored};
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Vault], 1);
    let effects = hr(&mut v, &rescind("E1", "r-1", Some("evt-1")), at(10));
    let reqs = restores_in(&effects);
    assert_eq!(
        reqs.iter().map(|r| r.target).collect::<Vec<_>>(),
        vec![Directory, Vault],
        "only targets that revoked something"
    );

    // Directory gives everything back: recorded, no escalation.
    let out = v.apply(
        Input::Restored(&report(&reqs[0], &[Restored, AlreadyPresent], at(11))),
        at(11),
    );
    let c = sole_case(out);
    assert_eq!(c.state, CaseState::Rescinded);
    assert_eq!(c.restored.len(), 1);
    assert_eq!(c.restored[0].target.kind, Directory);

    // Vault cannot give back a deleted token: its owner is told what is left.
    let r2 = report(&reqs[1], &[Restored, Irreversible], at(12));
    let (c, esc) = case_and_escalation(v.apply(Input::Restored(&r2), at(12)));
    assert_eq!(esc.reason, EscalationReason::RestoreIncomplete);
    assert_eq!(esc.targets, vec![Vault]);
    assert_eq!(esc.owner, owner("vault-team"));
    assert!(
        esc.detail.contains("obj-1") && esc.detail.contains("key deleted"),
        "{}",
        esc.detail
    );
    assert_eq!(c.state, CaseState::Rescinded);
    assert_eq!(c.restored.len(), 2);
    // The same report again changes nothing.
    assert!(v.apply(Input::Restored(&r2), at(13)).is_empty());
}

#[test]
fn a_rescind_after_close_reopens_the_case_as_rescinded_from_its_record() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let last = confirm_ok(&mut v, &ev, &ALL, 1);
    let closed = case_records(&last)[0].clone();
    assert_eq!(closed.state, CaseState::Closed);
    assert!(v.is_closed(&ev.case_id()));
    let r = rescind("E1", "r-1", None);
    assert_eq!(v.rescind_applies_to(&r), Some(ev.case_id()));

    // The shell hands the machine the closed record it read back from the changelog.
    let effects = v.apply(Input::RescindClosed(&r, &closed), at(100));
    let cases = case_records(&effects);
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case.state, CaseState::Rescinded);
    assert_eq!(case.revision, closed.revision + 1);
    assert_eq!(
        case.closed_at, closed.closed_at,
        "both facts stay in the record"
    );
    assert_eq!(case.rescinded_by.as_deref(), Some("hr:dave"));
    assert_eq!(
        escalations_in(&effects)[0].reason,
        EscalationReason::RescindAfterRevocation
    );
    let reqs = restores_in(&effects);
    assert_eq!(
        reqs.iter().map(|r| r.target).collect::<Vec<_>>(),
        ALL.to_vec()
    );
    assert!(!v.is_closed(&ev.case_id()));
    // Twice: the second rescind is a replay, noted only.
    assert!(publishes_nothing(&hr(&mut v, &r, at(101))));

    // A rebuilt verifier ends rescinded whichever record it reads first.
    for order in [[&closed, case], [case, &closed]] {
        let mut rebuilt = verifier();
        for c in order {
            rebuilt.restore(c.clone());
        }
        assert!(!rebuilt.is_closed(&ev.case_id()));
        assert_eq!(
            rebuilt.case(&ev.case_id()).unwrap().state,
            CaseState::Rescinded
        );
    }
}

#[test]
fn restore_reports_for_cases_not_rescinded_are_only_notes() {
    let mut v = verifier();
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory], 1);
    let fake = revoke_shared::contract::RestoreRequest {
        schema: "revoke.restore_request.v1".into(),
        request_id: uuid::Uuid::nil(),
        case_id: ev.case_id(),
        identity_id: "E1".into(),
        identity: ev.data.identity.clone(),
        target: Directory,
        rescinded_by: "x".into(),
        objects: Vec::new(),
        requested_at: at(2),
        confirmation: None,
        confirmation_signature: None,
    };
    let r = report(
        &fake,
        &[revoke_shared::contract::RestoreOutcome::Restored],
        at(2),
    );
    assert_eq!(
        sole_note(v.apply(Input::Restored(&r), at(2))).2,
        "restore_report_for_case_not_rescinded"
    );
    let mut unknown = r.clone();
    unknown.case_id = uuid::Uuid::new_v4();
    assert_eq!(
        sole_note(v.apply(Input::Restored(&unknown), at(3))).2,
        "restore_report_for_unknown_case"
    );
}

// ---------------------------------------------------------------------------------------------
// 8c. Policy: required targets by identity kind, per-target SLAs, protected identities
// ---------------------------------------------------------------------------------------------

fn escalations_in(effects: &[Effect]) -> Vec<&Escalation> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Escalate(x) => Some(x),
            _ => None,
        })
        .collect()
}

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

#[test]
fn a_target_past_its_sla_escalates_to_its_owner_once() {
    let mut p = policy();
    p.target_sla_secs.insert("vault".into(), 300);
    let mut v = Verifier::new(p);
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
    let mut p = policy();
    p.target_sla_secs.insert("vault".into(), 300);
    let mut v = Verifier::new(p);
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
// 8d. Escalation paths: an unresolved escalation climbs to the next person, each level once
// ---------------------------------------------------------------------------------------------

fn step(name: &str, after_secs: u64) -> revoke_shared::config::EscalationStep {
    revoke_shared::config::EscalationStep {
        name: name.into(),
        contact: format!("{name}@example.com"),
        after_secs,
    }
}

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
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Saas, Cloud, Cicd], 1);
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
// 8e. A worker's confirmation after a person's acknowledgement
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
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Saas, Cloud, Cicd], 1);
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
// 9. Restore
// ---------------------------------------------------------------------------------------------

/// An input owned by a test script, with the instant it is applied at.
#[derive(Debug, Clone)]
enum Step {
    Hr(HrEvent),
    Conf(Confirmation),
    /// A worker's answer to a restore request.
    Restored(RestoreReport),
    Tick,
}

fn apply_step(v: &mut Verifier, step: &Step, now: DateTime<Utc>) -> Vec<Effect> {
    match step {
        Step::Hr(ev) => hr(v, ev, now),
        Step::Conf(c) => conf(v, c, now),
        Step::Restored(r) => v.apply(Input::Restored(r), now),
        Step::Tick => tick(v, now),
    }
}

/// A script that leaves cases in every state: closed, closed after escalation, escalated by
/// failure and by deadline, open, pending, rescinded; one identity with two cases whose older
/// one is written to the changelog last; rescinds with and without reference; notes.
fn mixed_script() -> Vec<(Step, DateTime<Utc>)> {
    let e1 = termination("E1", "evt-1", at(0)); // closed
    let e2 = termination("E2", "evt-2", at(0)); // escalated (vault failed)
    let e3 = termination("E3", "evt-3", at(100_000)); // open
    let e4 = termination("E4", "evt-4", at(0)); // deadline escalated
    let e5 = termination("E5", "evt-5", at(0)); // pending (termination never arrives)
    let e6a = termination("E6", "evt-6a", at(0)); // deadline escalated; written after 6b
                                                  // Rescinded. (Another person: a second termination of E6 would join E6's live case.)
    let e6b = termination("E8", "evt-6b", at(500));
    let e7 = termination("E7", "evt-7", at(0)); // closed after a failure
    let mut s: Vec<(Step, DateTime<Utc>)> = Vec::new();
    let mut now = 0;
    let mut push = |step: Step, s: &mut Vec<(Step, DateTime<Utc>)>| {
        now += 7;
        s.push((step, at(now)));
    };
    for ev in [&e1, &e2, &e3, &e4, &e6a, &e7] {
        push(Step::Hr(ev.clone()), &mut s);
    }
    for t in ALL {
        push(Step::Conf(ok(&e1, t, at(50))), &mut s);
        push(
            Step::Conf(if t == Vault {
                failed(&e2, t, at(50))
            } else {
                ok(&e2, t, at(50))
            }),
            &mut s,
        );
        if t != Cicd {
            push(Step::Conf(ok(&e3, t, at(50))), &mut s);
        }
        push(
            Step::Conf(if t == Cloud {
                failed(&e7, t, at(50))
            } else {
                ok(&e7, t, at(50))
            }),
            &mut s,
        );
    }
    push(Step::Conf(ok(&e7, Cloud, at(60))), &mut s);
    push(Step::Conf(ok(&e4, Saas, at(60))), &mut s);
    push(Step::Conf(failed(&e5, Saas, at(60))), &mut s);
    push(Step::Conf(ok(&e5, Vault, at(60))), &mut s);
    push(Step::Hr(e6b.clone()), &mut s);
    push(Step::Hr(rescind("E8", "r-6", None)), &mut s);
    push(Step::Conf(ok(&e6a, Vault, at(600))), &mut s); // written after 6b's rescind
    push(Step::Hr(rescind("E1", "r-1", Some("evt-1"))), &mut s); // note: after close
    push(Step::Hr(rescind("E9", "r-9", None)), &mut s); // note: unknown
    push(Step::Hr(rescind("E5", "r-5", None)), &mut s); // note: a pending case is nobody's "latest"
    s.push((Step::Tick, at(DEADLINE_SECS + 600)));
    s
}

/// Runs `script` on a fresh verifier; returns it with every effect in order.
fn run_script(script: &[(Step, DateTime<Utc>)]) -> (Verifier, Vec<Effect>) {
    let mut v = verifier();
    let mut all = Vec::new();
    for (step, now) in script {
        all.extend(apply_step(&mut v, step, *now));
    }
    (v, all)
}

/// Asserts that `restored` holds the same cases as `live`, and that replaying the whole script
/// into both gives the same effects — none that publish anything.
#[track_caller]
fn assert_restored_like(
    live: &mut Verifier,
    restored: &mut Verifier,
    case_ids: &BTreeSet<Uuid>,
    script: &[(Step, DateTime<Utc>)],
) {
    assert_eq!(restored.open_count(), live.open_count());
    for id in case_ids {
        assert_eq!(restored.case(id), live.case(id), "case {id}");
        assert_eq!(restored.is_closed(id), live.is_closed(id), "case {id}");
    }
    for (step, now) in script {
        let again_live = apply_step(live, step, *now);
        let again_restored = apply_step(restored, step, *now);
        assert_eq!(again_restored, again_live, "replaying {step:?}");
        assert!(
            again_restored
                .iter()
                .all(|e| matches!(e, Effect::Note { .. })),
            "replay published {again_restored:?}"
        );
    }
    assert_eq!(restored.open_count(), live.open_count());
}

/// Sanity of the script itself: it leaves cases in every state the restore tests rely on.
#[test]
fn mixed_script_covers_every_state() {
    let script = mixed_script();
    let (v, effects) = run_script(&script);
    let state = |ev: &str| {
        let id = case_id_for(SOURCE, ev);
        if v.is_closed(&id) {
            CaseState::Closed
        } else {
            v.case(&id).unwrap().state
        }
    };
    assert_eq!(state("evt-1"), CaseState::Closed);
    assert_eq!(state("evt-2"), CaseState::Escalated);
    assert_eq!(state("evt-3"), CaseState::Open);
    assert_eq!(state("evt-4"), CaseState::Escalated);
    assert_eq!(state("evt-5"), CaseState::Pending);
    assert_eq!(state("evt-6a"), CaseState::Escalated, "deadline passed");
    assert_eq!(state("evt-6b"), CaseState::Rescinded);
    assert_eq!(state("evt-7"), CaseState::Closed);
    assert_eq!(v.open_count(), 2, "E3 open, E5 pending");
    let notes: Vec<&str> = effects
        .iter()
        .filter_map(|e| {
            if let Effect::Note { what, .. } = e {
                Some(*what)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        notes,
        vec![
            "rescind_after_close",
            "rescind_for_unknown_case",
            "rescind_for_unknown_case"
        ]
    );
}

/// A verifier rebuilt from the changelog in publication order is indistinguishable from the
/// live one: same cases, and replaying every input publishes nothing (nothing closes twice).
#[test]
fn restore_in_order_then_replay_publishes_nothing() {
    let script = mixed_script();
    let (mut live, effects) = run_script(&script);
    let records = case_records(&effects);
    let ids: BTreeSet<Uuid> = records.iter().map(|c| c.case_id).collect();
    assert_eq!(ids.len(), 8);

    let mut restored = verifier();
    for c in records {
        restored.restore(c);
    }
    assert_restored_like(&mut live, &mut restored, &ids, &script);
}

/// The same from the changelog in any order: later revisions win, and a closed case stays closed.
#[test]
fn restore_in_shuffled_order_then_replay_publishes_nothing() {
    let script = mixed_script();
    let (_, effects) = run_script(&script);
    let records = case_records(&effects);
    let ids: BTreeSet<Uuid> = records.iter().map(|c| c.case_id).collect();
    for seed in 1..=40 {
        let (mut live, _) = run_script(&script);
        let mut shuffled = records.clone();
        Rng::new(seed).shuffle(&mut shuffled);
        let mut restored = verifier();
        for c in shuffled {
            restored.restore(c);
        }
        assert_restored_like(&mut live, &mut restored, &ids, &script);
    }
}

/// Restore keeps the highest revision whatever the order, never reopens a closed case, and the
/// restored case continues from its revision.
#[test]
fn restore_keeps_latest_revision_and_continues_from_it() {
    let mut v = verifier();
    let (ev, r1) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let r2 = sole_case(conf(&mut v, &ok(&ev, Directory, at(1)), at(1)));
    let r3 = sole_case(conf(&mut v, &ok(&ev, Saas, at(2)), at(2)));

    let mut restored = verifier();
    for c in [r3.clone(), r1, r2.clone()] {
        restored.restore(c);
    }
    assert_eq!(restored.case(&ev.case_id()), Some(&r3));
    assert_eq!(restored.open_count(), 1);
    assert!(hr(&mut restored, &ev, at(3)).is_empty());
    let next = sole_case(conf(&mut restored, &ok(&ev, Cloud, at(4)), at(4)));
    assert_eq!(next.revision, 4);
    assert_eq!(next.targets[&Saas].state, TargetState::Done);

    // A closed record wins over any open one, before or after it.
    let closed = sole_case(confirm_ok(&mut v, &ev, &[Cloud, Vault, Cicd], 10));
    for order in [
        vec![closed.clone(), r2.clone()],
        vec![r2.clone(), closed.clone()],
    ] {
        let mut restored = verifier();
        for c in order {
            restored.restore(c);
        }
        assert!(restored.is_closed(&ev.case_id()));
        assert_eq!(restored.open_count(), 0);
        assert!(conf(&mut restored, &failed(&ev, Vault, at(20)), at(20)).is_empty());
        assert!(hr(&mut restored, &ev, at(20)).is_empty());
        assert_eq!(
            sole_note(hr(&mut restored, &rescind("E1", "r-1", None), at(21))).2,
            "rescind_after_close"
        );
    }
}

/// A failure whose errors were all transient (retries ran out during an outage).
fn transient(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    let mut c = failed(ev, target, finished_at);
    c.retryable = true;
    c.error = Some("timeout after 10 s (transient)".into());
    c
}

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
    let (ev, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    confirm_ok(&mut v, &ev, &[Directory, Saas, Cloud, Cicd], 1);

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

/// A partition given up: its live cases go (the new owner rebuilds them), closed markers stay so
/// duplicates are still absorbed, and regaining the partition restores from the changelog.
#[test]
fn forget_drops_live_cases_keeps_closed_markers_and_restore_brings_them_back() {
    let mut v = verifier();
    let (ev1, _) = open(&mut v, "E1", "evt-1", at(0), at(0));
    let (ev2, _) = open(&mut v, "E2", "evt-2", at(0), at(0));
    let r1 = sole_case(conf(&mut v, &ok(&ev1, Directory, at(1)), at(1)));
    let closed = sole_case(confirm_ok(&mut v, &ev2, &ALL, 2));
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(v.open_count(), 1);

    v.forget([ev1.case_id(), ev2.case_id()]);
    assert_eq!(v.open_count(), 0);
    assert_eq!(v.case(&ev1.case_id()), None);
    assert!(v.is_closed(&ev2.case_id()));
    // A forgotten open case neither escalates on a tick nor closes twice.
    assert!(tick(&mut v, at(DEADLINE_SECS + 10)).is_empty());
    assert!(conf(&mut v, &ok(&ev2, Vault, at(20)), at(20)).is_empty());

    // Regained: the changelog record comes back and the case continues from its revision.
    v.restore(r1.clone());
    assert_eq!(v.case(&ev1.case_id()), Some(&r1));
    assert_eq!(v.open_count(), 1);
    let next = sole_case(conf(&mut v, &ok(&ev1, Saas, at(21)), at(21)));
    assert_eq!(next.revision, r1.revision + 1);
}

// ---------------------------------------------------------------------------------------------
// 10. Property test: random interleavings, duplicates, deadlines, restarts and replays
// ---------------------------------------------------------------------------------------------

/// xorshift64*: small, deterministic, good enough to shuffle test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// What one target of one identity reports over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// One verified success.
    Verified,
    /// A failure and a verified success (in whatever order they end up).
    RetriedThenVerified,
    /// Only failures.
    Fails,
    /// Only unverified successes.
    Unverified,
}

struct Leaver {
    ev: HrEvent,
    plans: BTreeMap<TargetKind, Plan>,
    /// Published before its effective time: scheduled, handed over once when due.
    dated: bool,
    /// HR takes the termination back at some point: while it is scheduled, open, escalated or
    /// after it closed (wherever the shuffle puts it, but always after the termination itself:
    /// both are on the identity's partition of the HR topic).
    rescinded: bool,
}

impl Leaver {
    fn expect_closed(&self) -> bool {
        self.plans
            .values()
            .all(|p| matches!(p, Plan::Verified | Plan::RetriedThenVerified))
    }

    /// Closed at the end of the run: every target verified, and never rescinded.
    fn ends_closed(&self) -> bool {
        self.expect_closed() && !self.rescinded
    }

    fn targets_planned(&self, wanted: &[Plan]) -> BTreeSet<TargetKind> {
        self.plans
            .iter()
            .filter(|(_, p)| wanted.contains(p))
            .map(|(t, _)| *t)
            .collect()
    }
}

/// One generated run: the policy, the leavers and the schedule of inputs with their instants.
/// Restore reports are not in the schedule: the simulated workers answer the restore requests
/// the verifier publishes (see `Workers`).
struct World {
    policy: VerifierConfig,
    leavers: Vec<Leaver>,
    schedule: Vec<(Step, DateTime<Utc>)>,
}

fn is_rescind(step: &Step, identity: &str) -> bool {
    matches!(step, Step::Hr(ev) if ev.kind == HrEventKind::Rescinded && ev.subject == identity)
}

fn is_termination(step: &Step, identity: &str) -> bool {
    matches!(step, Step::Hr(ev) if ev.kind == HrEventKind::Termination && ev.subject == identity)
}

fn generate(rng: &mut Rng) -> World {
    let mut policy = policy();
    if rng.chance(50) {
        // Unresolved escalations climb (the default path serves every target here).
        policy.escalation_paths.insert(
            "default".into(),
            vec![step("lead", 1800), step("ciso", 5400)],
        );
    }
    let n = 1 + rng.below(6) as usize;
    let mut leavers = Vec::new();
    let mut inputs: Vec<Step> = Vec::new();
    let mut after_all: Vec<Step> = Vec::new();
    for i in 0..n {
        let mut ev = termination(
            &format!("E{i}"),
            &format!("evt-{i}"),
            at(rng.below(1200) as i64),
        );
        let effective = ev.data.effective_at.unwrap();
        let dated = rng.chance(25);
        if dated {
            ev.time = effective - Duration::seconds(2 + rng.below(900) as i64);
            assert!(ev.is_scheduled());
        }
        let mut plans = BTreeMap::new();
        let mut mine = vec![Step::Hr(ev.clone())];
        for t in ALL {
            let plan = match rng.below(100) {
                0..=54 => Plan::Verified,
                55..=69 => Plan::RetriedThenVerified,
                70..=87 => Plan::Fails,
                _ => Plan::Unverified,
            };
            plans.insert(t, plan);
            let when = effective + Duration::seconds(rng.below(600) as i64);
            // Half the failures are transient only: the verifier plans re-drives for them.
            let fail = if rng.chance(50) { transient } else { failed };
            match plan {
                Plan::Verified => mine.push(Step::Conf(ok(&ev, t, when))),
                Plan::RetriedThenVerified => {
                    mine.push(Step::Conf(fail(&ev, t, when)));
                    mine.push(Step::Conf(ok(&ev, t, when + Duration::seconds(30))));
                }
                Plan::Fails => mine.push(Step::Conf(fail(&ev, t, when))),
                Plan::Unverified => mine.push(Step::Conf(unverified(&ev, t, when))),
            }
        }
        // A rescind, naming its termination or not (then it applies to the identity's latest).
        let rescinded = rng.chance(30);
        let mut last = Vec::new();
        if rescinded {
            let names = rng.chance(50).then(|| ev.id.clone());
            let r = Step::Hr(rescind(&ev.subject, &format!("r-{i}"), names.as_deref()));
            // Half of them anywhere among the leaver's inputs, half after everything (mostly
            // after the case closed or escalated).
            if rng.chance(50) {
                mine.push(r);
            } else {
                last.push(r);
            }
        }
        // Duplicates: the very same record again (at-least-once), or a re-run's re-emission.
        for step in mine.clone() {
            if rng.chance(25) {
                mine.push(step.clone());
            }
            if let Step::Conf(c) = &step {
                if rng.chance(10) {
                    mine.push(Step::Conf(reemitted(c, 120)));
                }
            }
        }
        for step in last.clone() {
            if rng.chance(25) {
                last.push(step);
            }
        }
        inputs.extend(mine);
        after_all.extend(last);
        leavers.push(Leaver {
            ev,
            plans,
            dated,
            rescinded,
        });
    }
    rng.shuffle(&mut inputs);
    inputs.extend(after_all);
    // HR order per identity: no copy of a rescind before the first copy of its termination.
    for l in &leavers {
        let id = &l.ev.subject;
        loop {
            let first_term = inputs.iter().position(|s| is_termination(s, id)).unwrap();
            match inputs[..first_term].iter().position(|s| is_rescind(s, id)) {
                Some(r) => inputs.swap(r, first_term),
                None => break,
            }
        }
    }

    // A clock that moves by a random step before each input; ticks sprinkled in. Some seeds
    // move slowly (no deadline passes), some fast (most do).
    let max_step = 1 + rng.below(400);
    let mut now = t0();
    let mut schedule = Vec::new();
    for input in inputs {
        now += Duration::seconds(rng.below(max_step) as i64);
        if rng.chance(20) {
            schedule.push((Step::Tick, now));
        }
        schedule.push((input, now));
    }
    // The last tick comes after every effective time, so every dated case has been handed over.
    let latest = leavers
        .iter()
        .filter_map(|l| l.ev.data.effective_at)
        .max()
        .unwrap_or(now);
    schedule.push((Step::Tick, now.max(latest + Duration::seconds(1))));
    World {
        policy,
        leavers,
        schedule,
    }
}

/// Per-case effect log, plus checks that hold for every batch the machine returns.
#[derive(Default)]
struct Log {
    per_case: BTreeMap<Uuid, Vec<Effect>>,
}

impl Log {
    #[track_caller]
    fn record(&mut self, batch: Vec<Effect>, seed: u64) {
        // Each Escalate follows the Case record of its own case in the same batch, which holds it.
        let mut last_case: Option<&Case> = None;
        for e in &batch {
            match e {
                Effect::Case(c) => last_case = Some(c),
                Effect::Escalate(x) => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: escalation without its case: {batch:?}")
                    });
                    assert_eq!(c.case_id, x.case_id, "seed {seed}");
                    assert_escalation_recorded(c, x);
                }
                // Rescinds after revocations ask for restores; the case record says why.
                Effect::Restore(r) => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: restore without its case: {batch:?}")
                    });
                    assert_eq!(c.case_id, r.case_id, "seed {seed}");
                    assert_eq!(c.state, CaseState::Rescinded, "seed {seed}");
                    assert_eq!(r.request_id, RestoreRequest::id_for(r.case_id, r.target));
                    assert!(
                        r.objects
                            .iter()
                            .any(|o| o.outcome == ObjectOutcome::Revoked),
                        "seed {seed}: a restore request for a target that revoked nothing"
                    );
                }
                // A target run again after a transient failure: published with its case, which
                // shows the target pending again and the re-drive counted.
                // The property test runs with the guard off (its own tests drive it).
                Effect::Admit(a) => panic!("seed {seed}: admission with the guard off: {a:?}"),
                // Every rescind in the property test comes from the terminations' own source.
                Effect::Refuse { reason, detail } => {
                    panic!("seed {seed}: refused {reason}: {detail}")
                }
                Effect::Redrive {
                    event, target, n, ..
                } => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: redrive without its case: {batch:?}")
                    });
                    assert_eq!(c.case_id, event.case_id(), "seed {seed}");
                    assert!(
                        matches!(c.state, CaseState::Open | CaseState::Escalated),
                        "seed {seed}: redrive of a {} case",
                        c.state.as_str()
                    );
                    let t = &c.targets[target];
                    assert_eq!(t.state, TargetState::Pending, "seed {seed}");
                    assert!(
                        t.redrives == *n && *n >= 1 && t.redrive_at.is_none(),
                        "seed {seed}"
                    );
                }
                // A scheduled case handed over: published with it, no longer scheduled.
                Effect::Due(ev) => {
                    let c = last_case
                        .unwrap_or_else(|| panic!("seed {seed}: due without its case: {batch:?}"));
                    assert_eq!(c.case_id, ev.case_id(), "seed {seed}");
                    assert_ne!(c.state, CaseState::Scheduled, "seed {seed}");
                    assert!(
                        c.effective_at.is_some_and(|e| e <= c.updated_at),
                        "seed {seed}: handed over before its effective time"
                    );
                }
                // A rescind of a scheduled case (before its effective time, or after it but
                // before the tick that hands it over): the case record is the cancellation.
                Effect::Note {
                    case_id: Some(id),
                    what: "cancelled_before_effective",
                    ..
                } => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: cancellation without its case: {batch:?}")
                    });
                    assert_eq!((c.case_id, c.state), (*id, CaseState::Rescinded));
                    // Nothing was handed to the workers: nothing to give back, nobody to tell.
                    assert_eq!(batch.len(), 2, "seed {seed}: {batch:?}");
                }
                // A rescind delivered again, or one for nothing standing: nothing changes.
                Effect::Note {
                    what: "rescind_replayed" | "rescind_for_unknown_case",
                    ..
                } => assert_eq!(batch.len(), 1, "seed {seed}: {batch:?}"),
                // A second termination of a person with a live case: recorded in that case.
                Effect::Note {
                    case_id: Some(id),
                    what: "termination_joined_live_case",
                    ..
                } => {
                    let c = last_case
                        .unwrap_or_else(|| panic!("seed {seed}: join without its case: {batch:?}"));
                    assert_eq!(c.case_id, *id, "seed {seed}");
                    assert!(!c.joined.is_empty() || c.joined_more > 0, "seed {seed}");
                }
                Effect::Note { .. } => panic!("seed {seed}: unexpected effect {e:?}"),
            }
        }
        for e in batch {
            // Notes about no case (a replayed rescind) belong to none.
            if let Some(id) = effect_case_id(&e) {
                self.per_case.entry(id).or_default().push(e);
            }
        }
    }

    fn cases(&self, id: &Uuid) -> Vec<&Case> {
        self.per_case
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                if let Effect::Case(c) = e {
                    Some(c)
                } else {
                    None
                }
            })
            .collect()
    }

    fn escalations(&self, id: &Uuid) -> Vec<&Escalation> {
        self.per_case
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                if let Effect::Escalate(x) = e {
                    Some(x)
                } else {
                    None
                }
            })
            .collect()
    }

    fn restores(&self, id: &Uuid) -> Vec<&RestoreRequest> {
        self.per_case
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                if let Effect::Restore(r) = e {
                    Some(r)
                } else {
                    None
                }
            })
            .collect()
    }

    fn notes(&self, id: &Uuid, wanted: &str) -> usize {
        self.per_case
            .get(id)
            .into_iter()
            .flatten()
            .filter(|e| matches!(e, Effect::Note { what, .. } if *what == wanted))
            .count()
    }
}

/// A small deterministic hash of a request id: which outcomes, how late, whether duplicated.
fn request_hash(id: Uuid, salt: u64) -> u64 {
    let v = id.as_u128();
    let mut r = Rng::new((v as u64) ^ ((v >> 64) as u64) ^ salt);
    r.next()
}

/// The simulated workers and shell around the machine in a property run: they answer restore
/// requests and hand a rescind of a closed case its record from the changelog (the log).
///
/// Each request is answered at a point of the schedule derived from the request alone (its id
/// and the schedule step that produced it), so a run with a restart, which produces the same
/// requests at the same steps, receives the same reports at the same points; some reports are
/// delivered twice. Every report is the same whenever it is produced: its content and times come
/// from the request.
#[derive(Default)]
struct Workers {
    /// Reports to deliver after the schedule step of the key.
    queued: BTreeMap<usize, Vec<RestoreReport>>,
    /// Every report delivered so far (their first delivery must publish, any later one not).
    delivered: HashSet<Uuid>,
    /// Every input applied so far that a replay may repeat (not ticks), reports included.
    applied: Vec<Step>,
    /// Reports delivered (first time) per case.
    answered: BTreeMap<Uuid, Vec<RestoreReport>>,
    /// Deliveries of a report already delivered.
    redelivered: usize,
}

impl Workers {
    /// The report a worker gives for `req`: per object it revoked, mostly given back, sometimes
    /// irreversible (a person must re-issue it: `restore_incomplete`).
    fn answer(req: &RestoreRequest) -> RestoreReport {
        let outcomes: Vec<RestoreOutcome> = req
            .objects
            .iter()
            .filter(|o| o.outcome == ObjectOutcome::Revoked)
            .enumerate()
            .map(|(i, _)| match request_hash(req.request_id, i as u64) % 10 {
                0..=5 => RestoreOutcome::Restored,
                6..=7 => RestoreOutcome::AlreadyPresent,
                _ => RestoreOutcome::Irreversible,
            })
            .collect();
        report(req, &outcomes, req.requested_at + Duration::seconds(1))
    }

    /// Applies one input the way the shell does: a rescind for a closed case is handed that
    /// case's last record from the changelog.
    fn apply(v: &mut Verifier, log: &Log, step: &Step, now: DateTime<Utc>) -> Vec<Effect> {
        if let Step::Hr(ev) = step {
            if ev.kind == HrEventKind::Rescinded {
                if let Some(id) = v.rescind_applies_to(ev).filter(|id| v.is_closed(id)) {
                    let record =
                        (*log.cases(&id).last().expect("a closed case was published")).clone();
                    return v.apply(Input::RescindClosed(ev, &record), now);
                }
            }
        }
        apply_step(v, step, now)
    }

    /// Applies schedule step `index` (not a replay), records its effects, queues the answers to
    /// the restore requests among them, then delivers the reports queued for this step.
    fn step(
        &mut self,
        v: &mut Verifier,
        log: &mut Log,
        index: usize,
        step: &Step,
        now: DateTime<Utc>,
        seed: u64,
    ) {
        let effects = Workers::apply(v, log, step, now);
        if !matches!(step, Step::Tick) {
            self.applied.push(step.clone());
        }
        for e in &effects {
            if let Effect::Restore(req) = e {
                let r = Workers::answer(req);
                let h = request_hash(req.request_id, 99);
                let due = index + (h % 6) as usize;
                self.queued.entry(due).or_default().push(r.clone());
                if h.is_multiple_of(3) {
                    let again = due + 1 + ((h >> 8) % 5) as usize;
                    self.queued.entry(again).or_default().push(r);
                }
            }
        }
        log.record(effects, seed);
        for r in self.queued.remove(&index).unwrap_or_default() {
            self.deliver(v, log, r, now, seed);
        }
    }

    /// Delivers every report still queued (after the last step of the schedule).
    fn flush(&mut self, v: &mut Verifier, log: &mut Log, now: DateTime<Utc>, seed: u64) {
        for r in std::mem::take(&mut self.queued).into_values().flatten() {
            self.deliver(v, log, r, now, seed);
        }
    }

    /// One delivery of a report: the first records it in exactly one new case version (with a
    /// `restore_incomplete` escalation when something could not come back), any later one
    /// publishes nothing.
    fn deliver(
        &mut self,
        v: &mut Verifier,
        log: &mut Log,
        r: RestoreReport,
        now: DateTime<Utc>,
        seed: u64,
    ) {
        let step = Step::Restored(r.clone());
        let effects = apply_step(v, &step, now);
        let key = Uuid::new_v5(&r.request_id, r.finished_at.to_rfc3339().as_bytes());
        if !self.delivered.insert(key) {
            self.redelivered += 1;
            assert!(
                effects.is_empty(),
                "seed {seed}: report delivered again published {effects:?}"
            );
            return;
        }
        let cases = case_records(&effects);
        assert_eq!(cases.len(), 1, "seed {seed}: {effects:?}");
        let c = &cases[0];
        assert_eq!(c.state, CaseState::Rescinded, "seed {seed}");
        assert_eq!(
            c.restored.iter().filter(|x| **x == r).count(),
            1,
            "seed {seed}: report recorded once"
        );
        let incomplete = r.left_for_a_person().count() > 0;
        assert_eq!(
            escalations_in(&effects)
                .iter()
                .map(|e| (e.reason, e.targets.clone()))
                .collect::<Vec<_>>(),
            if incomplete {
                vec![(EscalationReason::RestoreIncomplete, vec![r.target.kind])]
            } else {
                Vec::new()
            },
            "seed {seed}"
        );
        self.applied.push(step);
        self.answered.entry(r.case_id).or_default().push(r);
        log.record(effects, seed);
    }
}

/// Runs the schedule; with `restart_at = Some(k)`, a new verifier restored from every Case
/// effect so far (shuffled) takes over after step k, and already-applied inputs (restore
/// reports included) are replayed at random points of the remainder (each must publish
/// nothing).
fn run_world(
    world: &World,
    restart_at: Option<usize>,
    rng: &mut Rng,
    seed: u64,
) -> (Verifier, Log, Workers) {
    let mut v = Verifier::new(world.policy.clone());
    let mut log = Log::default();
    let mut workers = Workers::default();
    let split = restart_at.unwrap_or(world.schedule.len());
    for (i, (step, now)) in world.schedule[..split].iter().enumerate() {
        workers.step(&mut v, &mut log, i, step, *now, seed);
    }
    let end = world.schedule.last().unwrap().1;
    if restart_at.is_none() {
        workers.flush(&mut v, &mut log, end, seed);
        return (v, log, workers);
    }

    let mut records: Vec<Case> = log
        .per_case
        .values()
        .flatten()
        .filter_map(|e| {
            if let Effect::Case(c) = e {
                Some(c.clone())
            } else {
                None
            }
        })
        .collect();
    if rng.chance(50) {
        rng.shuffle(&mut records);
    }
    let mut restored = Verifier::new(world.policy.clone());
    for c in records {
        restored.restore(c);
    }
    assert_eq!(
        restored.open_count(),
        v.open_count(),
        "seed {seed}: open_count after restore"
    );
    drop(v);
    let mut v = restored;

    // The remainder, with some already-applied inputs (not ticks) replayed in between.
    let mut rest: Vec<(Option<usize>, Step, Option<DateTime<Utc>>)> = world.schedule[split..]
        .iter()
        .enumerate()
        .map(|(i, (s, t))| (Some(split + i), s.clone(), Some(*t)))
        .collect();
    for step in &workers.applied {
        if rng.chance(60) {
            let pos = rng.below(rest.len() as u64 + 1) as usize;
            rest.insert(pos, (None, step.clone(), None));
        }
    }
    let mut now = world.schedule[split.saturating_sub(1)].1;
    for (index, step, when) in rest {
        if let Some(t) = when {
            now = t;
        }
        match index {
            Some(i) => workers.step(&mut v, &mut log, i, &step, now, seed),
            None => {
                let effects = Workers::apply(&mut v, &log, &step, now);
                // A replayed rescind is noted (log line and metric), nothing more.
                assert!(
                    effects.iter().all(|e| matches!(
                        e,
                        Effect::Note {
                            what: "rescind_replayed",
                            ..
                        }
                    )),
                    "seed {seed}: replay of {step:?} published {effects:?}"
                );
            }
        }
    }
    workers.flush(&mut v, &mut log, end, seed);
    (v, log, workers)
}

/// The invariants of one finished run.
#[track_caller]
fn check_run(world: &World, v: &mut Verifier, log: &Log, workers: &Workers, seed: u64) {
    let mut open_expected = 0;
    for l in &world.leavers {
        let id = l.ev.case_id();
        let records = log.cases(&id);
        assert!(
            !records.is_empty(),
            "seed {seed}: case {id} never published"
        );

        // Revisions go up by exactly one with every published version, restart or not.
        for (i, c) in records.iter().enumerate() {
            assert_eq!(c.revision, i as u64 + 1, "seed {seed}: revisions of {id}");
        }
        // At most one closed record, and after it only a rescind can change the case.
        let closed: Vec<usize> = records
            .iter()
            .enumerate()
            .filter(|(_, c)| c.state == CaseState::Closed)
            .map(|(i, _)| i)
            .collect();
        assert!(
            closed.len() <= 1,
            "seed {seed}: {id} closed {} times",
            closed.len()
        );
        if let Some(&i) = closed.first() {
            for later in &records[i + 1..] {
                assert_eq!(
                    later.state,
                    CaseState::Rescinded,
                    "seed {seed}: {id} published after close"
                );
                assert_eq!(later.closed_at, records[i].closed_at, "seed {seed}");
            }
            if !l.rescinded {
                assert_eq!(i, records.len() - 1, "seed {seed}: {id}");
            }
            let c = records[i];
            assert!(c.closed_at.is_some(), "seed {seed}");
            assert!(
                c.required_targets
                    .iter()
                    .all(|t| c.targets[t].state == TargetState::Done),
                "seed {seed}"
            );
            assert!(
                c.targets.values().all(|s| s.time_to_revoke_ms.is_some()),
                "seed {seed}"
            );
        }
        // A rescinded case never closes (or leaves `rescinded`) afterwards.
        if let Some(first) = records.iter().position(|c| c.state == CaseState::Rescinded) {
            assert!(l.rescinded, "seed {seed}: {id} rescinded without a rescind");
            for c in &records[first..] {
                assert_eq!(c.state, CaseState::Rescinded, "seed {seed}: {id}");
            }
        }
        // A rescind before the effective time cancels: no hand-over, no escalation, no restore.
        let cancelled = log.notes(&id, "cancelled_before_effective");
        assert!(cancelled <= 1, "seed {seed}");
        let rescinded_at = records
            .iter()
            .find(|c| c.state == CaseState::Rescinded)
            .map(|c| c.updated_at);
        if l.dated && rescinded_at.is_some_and(|r| r < l.ev.data.effective_at.unwrap()) {
            assert_eq!(
                cancelled, 1,
                "seed {seed}: {id} rescinded before effective time"
            );
        }
        if cancelled == 1 {
            assert!(l.dated && l.rescinded, "seed {seed}");
            // Never handed over (counted below), no rescind escalation. (A worker that reports
            // a revocation anyway, which the generator lets happen, is asked to give it back.)
            assert!(
                !log.escalations(&id)
                    .iter()
                    .any(|e| e.reason == EscalationReason::RescindAfterRevocation),
                "seed {seed}: {id}"
            );
        }
        // A dated termination is handed to the workers exactly once, restart or not, unless a
        // rescind cancelled it first; others never.
        let dues = log.per_case[&id]
            .iter()
            .filter(|e| matches!(e, Effect::Due(_)))
            .count();
        assert_eq!(
            dues,
            usize::from(l.dated && cancelled == 0),
            "seed {seed}: {id} handed over {dues} times"
        );
        // Escalation ids are distinct per case (nothing is escalated twice).
        let escalations = log.escalations(&id);
        let distinct: HashSet<Uuid> = escalations.iter().map(|e| e.escalation_id).collect();
        assert_eq!(
            distinct.len(),
            escalations.len(),
            "seed {seed}: repeated escalation for {id}"
        );
        for e in &escalations {
            let allowed = match e.reason {
                EscalationReason::TargetFailed | EscalationReason::DeadlinePassed => true,
                EscalationReason::RescindAfterRevocation | EscalationReason::RestoreIncomplete => {
                    l.rescinded && e.level == 0
                }
                _ => false,
            };
            assert!(allowed, "seed {seed}: unexpected escalation {e:?}");
        }
        // A rescind that did not cancel tells the owner once.
        if l.rescinded && cancelled == 0 {
            assert_eq!(
                escalations
                    .iter()
                    .filter(|e| e.reason == EscalationReason::RescindAfterRevocation)
                    .count(),
                1,
                "seed {seed}: {id}"
            );
        }

        // Every restore request is answered, and each answer is in the final record once.
        let last = *records.last().unwrap();
        let requested: BTreeSet<TargetKind> = log.restores(&id).iter().map(|r| r.target).collect();
        let answers = workers.answered.get(&id).cloned().unwrap_or_default();
        let answered: BTreeSet<TargetKind> = answers.iter().map(|r| r.target.kind).collect();
        assert_eq!(requested, answered, "seed {seed}: {id}");
        assert_eq!(
            last.restored.len(),
            requested.len(),
            "seed {seed}: {id} restored {:?}",
            last.restored
        );
        for r in &last.restored {
            assert!(answers.contains(r), "seed {seed}");
        }
        let incomplete: BTreeSet<TargetKind> = last
            .restored
            .iter()
            .filter(|r| r.left_for_a_person().count() > 0)
            .map(|r| r.target.kind)
            .collect();
        let told: BTreeSet<TargetKind> = escalations
            .iter()
            .filter(|e| e.reason == EscalationReason::RestoreIncomplete)
            .flat_map(|e| e.targets.iter().copied())
            .collect();
        assert_eq!(incomplete, told, "seed {seed}: {id}");

        // At the end: rescinded if rescinded, else closed iff every required target got a
        // verified success.
        if l.rescinded {
            assert_eq!(last.state, CaseState::Rescinded, "seed {seed}: {id}");
        } else {
            assert_eq!(
                last.state == CaseState::Closed,
                l.expect_closed(),
                "seed {seed}: {id} plans {:?} ended {:?}",
                l.plans,
                last.state
            );
        }
        assert_eq!(v.is_closed(&id), l.ends_closed(), "seed {seed}");
        if !l.ends_closed() {
            assert_eq!(
                v.case(&id),
                Some(last),
                "seed {seed}: machine state = last published record"
            );
        }

        // A target that only ever failed leaves the case escalated (unless rescinded), and the
        // failure escalations name it (and only targets that did fail at some point).
        let fails = l.targets_planned(&[Plan::Fails]);
        let failed_named: BTreeSet<TargetKind> = escalations
            .iter()
            .filter(|e| e.reason == EscalationReason::TargetFailed)
            .flat_map(|e| e.targets.iter().copied())
            .collect();
        if !fails.is_empty() && !l.rescinded {
            assert_eq!(
                last.state,
                CaseState::Escalated,
                "seed {seed}: {id} with failures ended {:?}",
                last.state
            );
            assert!(
                failed_named.is_superset(&fails),
                "seed {seed}: {failed_named:?} ⊉ {fails:?}"
            );
        }
        assert!(
            failed_named.is_subset(&l.targets_planned(&[Plan::Fails, Plan::RetriedThenVerified])),
            "seed {seed}"
        );

        for (i, e) in log.per_case[&id].iter().enumerate() {
            let Effect::Escalate(x) = e else { continue };
            // The case record of the same batch.
            let c = log.per_case[&id][..i]
                .iter()
                .rev()
                .find_map(|e| match e {
                    Effect::Case(c) => Some(c),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("seed {seed}"));
            // The deadline escalation names exactly the targets not done at that moment.
            if x.reason == EscalationReason::DeadlinePassed && x.level == 0 {
                let missing: Vec<TargetKind> = c
                    .required_targets
                    .iter()
                    .copied()
                    .filter(|t| {
                        matches!(
                            c.targets[t].state,
                            TargetState::Pending | TargetState::Unverified
                        )
                    })
                    .collect();
                assert_eq!(x.targets, missing, "seed {seed}");
                assert!(x.raised_at >= c.deadline.unwrap(), "seed {seed}");
            }
            // A climbed escalation: its path step's person, after the step's delay from the
            // control owner's escalation, after the level below, while still unresolved.
            if x.level > 0 {
                let same = |level: u32| {
                    escalations.iter().find(|b| {
                        b.level == level && b.reason == x.reason && b.targets == x.targets
                    })
                };
                let base = same(0).unwrap_or_else(|| panic!("seed {seed}: no base for {x:?}"));
                let below = same(x.level - 1).unwrap_or_else(|| panic!("seed {seed}"));
                let path = world.policy.escalation_path_of(x.targets.first().copied());
                let step = &path[x.level as usize - 1];
                assert_eq!(x.owner, step.owner(), "seed {seed}");
                assert!(
                    x.raised_at >= base.raised_at + Duration::seconds(step.after_secs as i64),
                    "seed {seed}: climbed early {x:?}"
                );
                assert!(below.raised_at <= x.raised_at, "seed {seed}");
                assert_eq!(c.state, CaseState::Escalated, "seed {seed}");
                assert!(
                    x.targets
                        .iter()
                        .any(|t| c.targets[t].state != TargetState::Done),
                    "seed {seed}: climbed though resolved"
                );
            }
        }
        if matches!(last.state, CaseState::Open | CaseState::Pending) {
            open_expected += 1;
        }
    }
    assert_eq!(v.open_count(), open_expected, "seed {seed}");

    // Long after every deadline, nothing is left open: each unclosed case is escalated, each
    // rescinded one stays rescinded.
    let far = at(100 * DEADLINE_SECS);
    for e in tick(v, far) {
        let Effect::Case(c) = e else { continue };
        assert_eq!(c.state, CaseState::Escalated, "seed {seed}");
    }
    assert_eq!(v.open_count(), 0, "seed {seed}");
    for l in &world.leavers {
        let id = l.ev.case_id();
        if !l.ends_closed() {
            assert_eq!(
                v.case(&id).map(|c| c.state),
                Some(if l.rescinded {
                    CaseState::Rescinded
                } else {
                    CaseState::Escalated
                }),
                "seed {seed}"
            );
        }
    }
    assert!(tick(v, far).is_empty(), "seed {seed}");
}

/// For many seeds: random interleavings with duplicates, ticks, rescinds and restore reports,
/// once straight through and once with a restart (restore from the changelog, then replays).
/// Both runs satisfy the invariants, and per case they publish exactly the same effects.
#[test]
fn random_interleavings_restarts_and_replays_keep_the_invariants() {
    for seed in 1..=400u64 {
        let mut rng = Rng::new(seed);
        let world = generate(&mut rng);

        let (mut straight, straight_log, workers) = run_world(&world, None, &mut rng, seed);
        check_run(&world, &mut straight, &straight_log, &workers, seed);

        let k = rng.below(world.schedule.len() as u64 + 1) as usize;
        let (mut restarted, restarted_log, workers) = run_world(&world, Some(k), &mut rng, seed);
        check_run(&world, &mut restarted, &restarted_log, &workers, seed);

        // A restart is invisible in the output: per case, the same effects in the same order.
        let straight_ids: Vec<&Uuid> = straight_log.per_case.keys().collect();
        let restarted_ids: Vec<&Uuid> = restarted_log.per_case.keys().collect();
        assert_eq!(straight_ids, restarted_ids, "seed {seed}");
        for (id, effects) in &straight_log.per_case {
            assert_eq!(
                &restarted_log.per_case[id], effects,
                "seed {seed}: case {id} (restart after step {k})"
            );
        }
    }
}

/// The generator really exercises what the property test claims: closes, failures, unverified
/// targets, deadline escalations, climbed escalations, duplicates, rescinds in every state with
/// restore reports, and restarts in the middle.
#[test]
fn random_worlds_cover_the_interesting_cases() {
    let (mut closed, mut failed_cases, mut deadline, mut dup) = (0, 0, 0, 0);
    // Dated cases whose confirmations arrived while they were still scheduled.
    let (mut dated, mut early_reports) = (0, 0);
    // Rescinds: cancelled before the effective time, while open or escalated, after close.
    let (mut cancelled, mut rescinded_live, mut rescinded_closed) = (0, 0, 0);
    // Restore reports recorded, some incomplete; reports delivered twice; escalations climbed.
    let (mut restored, mut incomplete, mut redelivered, mut climbed) = (0, 0, 0, 0);
    // Targets run again after a transient failure.
    let mut redriven = 0;
    for seed in 1..=400u64 {
        let mut rng = Rng::new(seed);
        let world = generate(&mut rng);
        let (_, log, workers) = run_world(&world, None, &mut rng, seed);
        for l in &world.leavers {
            let id = l.ev.case_id();
            closed += usize::from(l.expect_closed());
            dated += usize::from(l.dated);
            let records = log.cases(&id);
            early_reports += records
                .iter()
                .filter(|c| {
                    c.state == CaseState::Scheduled
                        && c.targets.values().any(|s| s.state != TargetState::Pending)
                })
                .count();
            failed_cases += usize::from(!l.targets_planned(&[Plan::Fails]).is_empty());
            let escalations = log.escalations(&id);
            deadline += escalations
                .iter()
                .filter(|e| e.reason == EscalationReason::DeadlinePassed)
                .count();
            climbed += escalations.iter().filter(|e| e.level > 0).count();
            incomplete += escalations
                .iter()
                .filter(|e| e.reason == EscalationReason::RestoreIncomplete)
                .count();
            cancelled += log.notes(&id, "cancelled_before_effective");
            if let Some(i) = records.iter().position(|c| c.state == CaseState::Rescinded) {
                if i > 0 && records[i - 1].state == CaseState::Closed {
                    rescinded_closed += 1;
                } else if i > 0 && records[i - 1].state != CaseState::Scheduled {
                    rescinded_live += 1;
                }
            }
            restored += records.last().map_or(0, |c| c.restored.len());
            redriven += records
                .last()
                .map_or(0, |c| c.targets.values().filter(|t| t.redrives > 0).count());
        }
        redelivered += workers.redelivered;
        let mut seen = HashMap::new();
        for (step, _) in &world.schedule {
            if let Step::Conf(c) = step {
                *seen.entry(c.confirmation_id).or_insert(0) += 1;
            }
        }
        dup += seen.values().filter(|n| **n > 1).count();
    }
    assert!(
        closed > 100 && failed_cases > 100 && deadline > 50 && dup > 100,
        "closed {closed}, failed {failed_cases}, deadline {deadline}, dup {dup}"
    );
    assert!(
        dated > 100 && early_reports > 20,
        "dated {dated}, early reports {early_reports}"
    );
    assert!(
        cancelled > 10 && rescinded_live > 50 && rescinded_closed > 30,
        "cancelled {cancelled}, rescinded while live {rescinded_live}, after close {rescinded_closed}"
    );
    assert!(
        restored > 200 && incomplete > 30 && redelivered > 50 && climbed > 50,
        "restored {restored}, incomplete {incomplete}, redelivered {redelivered}, climbed {climbed}"
    );
    assert!(redriven > 50, "redriven {redriven}");
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

//! What every verifier test is built from: a fixed clock, the policy, hand-built HR events,
//! confirmations and restore reports, the calls that drive the machine, readers of its effects,
//! the guard settings the guarded tests share, and a small deterministic PRNG.
//!
//! The imports are re-exported so that each test file needs only `use super::kit::*;`.

pub use crate::verifier::guard::{Judged, Verdict};
pub use crate::verifier::machine::{target_summary, Effect, Input, Verifier};
pub use chrono::{DateTime, Duration, Utc};
pub use revoke_shared::config::GuardConfig;
pub use revoke_shared::config::VerifierConfig;
pub use revoke_shared::contract::AdmissionKind;
pub use revoke_shared::contract::{
    case_id_for, Actor, Case, CaseState, Confirmation, Escalation, EscalationReason, HrData,
    HrEvent, HrEventKind, Identity, IdentityKind, ObjectEvidence, ObjectOutcome, Outcome, Owner,
    RestoreOutcome, RestoreReport, RestoreRequest, TargetKind, TargetRef, TargetState,
    TargetStatus, WorkerInfo, CASE_SCHEMA, CONFIRMATION_SCHEMA, ESCALATION_SCHEMA,
};
pub use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
pub use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

pub const DEADLINE_SECS: i64 = 3600;
pub const SOURCE: &str = "urn:hr:workday";
pub const ALL: [TargetKind; 5] = TargetKind::ALL;
pub use TargetKind::{Cicd, Cloud, Directory, Saas, Vault};

/// A fixed origin for every clock in these tests.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `t0` plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

pub fn owner(name: &str) -> Owner {
    Owner {
        name: name.into(),
        contact: format!("{name}@example.com"),
    }
}

/// All five targets required; directory and vault have their own owners, the rest fall back to
/// `default`.
pub fn policy() -> VerifierConfig {
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
        // Acknowledged targets close their cases here; the closure review has its own tests
        // (`review_tests`).
        closure_review: revoke_shared::config::ClosureReview::None,
        ..VerifierConfig::default()
    }
}

pub fn verifier() -> Verifier {
    Verifier::new(policy())
}

pub fn termination(identity: &str, event_id: &str, effective_at: DateTime<Utc>) -> HrEvent {
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
pub fn rescind(identity: &str, event_id: &str, rescinds: Option<&str>) -> HrEvent {
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

/// `target`'s evidence of deactivating the account of `ev`'s subject; `verified` is its
/// read-back (and so its provenance).
pub fn account_evidence(
    ev: &HrEvent,
    target: TargetKind,
    outcome: ObjectOutcome,
    verified: bool,
    removed_at: Option<DateTime<Utc>>,
    error: Option<String>,
) -> ObjectEvidence {
    ObjectEvidence {
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
    }
}

/// A confirmation from `target` for the case of termination `ev`, finished at `finished_at`.
/// Successes carry one object removed a second before; `verified` is that object's read-back.
pub fn confirmation(
    ev: &HrEvent,
    target: TargetKind,
    outcome: Outcome,
    verified: bool,
    finished_at: DateTime<Utc>,
) -> Confirmation {
    let object = |outcome, verified, removed_at, error| {
        account_evidence(ev, target, outcome, verified, removed_at, error)
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
        replay: None,
        worker: WorkerInfo {
            id: format!("{target}-w1"),
            version: "0.1.0".into(),
        },
        started_at: finished_at - Duration::seconds(2),
        finished_at,
        fleet_signature: None,
        authenticity: None,
        signature: None,
    }
}

/// Verified success.
pub fn ok(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    confirmation(ev, target, Outcome::Revoked, true, finished_at)
}

/// Success whose read-back did not prove the access gone.
pub fn unverified(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    confirmation(ev, target, Outcome::Revoked, false, finished_at)
}

pub fn failed(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    confirmation(ev, target, Outcome::Failed, false, finished_at)
}

/// The same report emitted again by a re-run: new id, later, same content.
pub fn reemitted(c: &Confirmation, later: i64) -> Confirmation {
    let mut c = c.clone();
    c.confirmation_id = Uuid::new_v4();
    c.started_at += Duration::seconds(later);
    c.finished_at += Duration::seconds(later);
    c
}

// --- driving the machine ---

pub fn hr(v: &mut Verifier, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
    v.apply(Input::Hr(ev), now)
}

pub fn conf(v: &mut Verifier, c: &Confirmation, now: DateTime<Utc>) -> Vec<Effect> {
    v.apply(Input::Confirmation(c), now)
}

pub fn tick(v: &mut Verifier, now: DateTime<Utc>) -> Vec<Effect> {
    v.apply(Input::Tick, now)
}

/// Applies a termination that must open a fresh case, and returns the event and that case.
pub fn open(
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

/// Opens a case for `identity` at 0 and closes it with verified successes from every target,
/// one second apart from 1; returns the event and the closing record.
pub fn open_and_close(v: &mut Verifier, identity: &str, event_id: &str) -> (HrEvent, Case) {
    let (ev, _) = open(v, identity, event_id, at(0), at(0));
    let closed = sole_case(confirm_ok(v, &ev, &ALL, 1));
    (ev, closed)
}

/// Opens E1's case and verifies every target but vault: the case then waits on vault alone.
pub fn open_waiting_on_vault(v: &mut Verifier) -> HrEvent {
    let (ev, _) = open(v, "E1", "evt-1", at(0), at(0));
    confirm_ok(v, &ev, &[Directory, Saas, Cloud, Cicd], 1);
    ev
}

/// Verified successes from `targets`, one second apart from `from`; returns the last effects.
pub fn confirm_ok(
    v: &mut Verifier,
    ev: &HrEvent,
    targets: &[TargetKind],
    from: i64,
) -> Vec<Effect> {
    let mut last = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let now = at(from + i as i64);
        last = conf(v, &ok(ev, *t, now), now);
    }
    last
}

// --- reading effects ---

/// Only notes (log lines and metrics): no record, escalation or request.
pub fn publishes_nothing(effects: &[Effect]) -> bool {
    effects.iter().all(|e| matches!(e, Effect::Note { .. }))
}

/// Asserts the effects are exactly one case record, and returns it.
#[track_caller]
pub fn sole_case(effects: Vec<Effect>) -> Case {
    match <[Effect; 1]>::try_from(effects) {
        Ok([Effect::Case(c)]) => c,
        other => panic!("expected exactly one Case effect, got {other:?}"),
    }
}

/// Asserts the effects are exactly a case record followed by one escalation, and returns both.
#[track_caller]
pub fn case_and_escalation(effects: Vec<Effect>) -> (Case, Escalation) {
    match <[Effect; 2]>::try_from(effects) {
        Ok([Effect::Case(c), Effect::Escalate(e)]) => (c, e),
        other => panic!("expected [Case, Escalate], got {other:?}"),
    }
}

/// Asserts the effects are exactly one note, and returns (case id, identity, what).
#[track_caller]
pub fn sole_note(effects: Vec<Effect>) -> (Option<Uuid>, String, &'static str) {
    match <[Effect; 1]>::try_from(effects) {
        Ok(
            [Effect::Note {
                case_id,
                identity_id,
                what,
            }],
        ) => (case_id, identity_id, what.as_str()),
        other => panic!("expected exactly one Note effect, got {other:?}"),
    }
}

pub fn case_records<'a>(effects: impl IntoIterator<Item = &'a Effect>) -> Vec<Case> {
    effects
        .into_iter()
        .filter_map(|e| {
            if let Effect::Case(c) = e {
                Some(c.clone())
            } else {
                None
            }
        })
        .collect()
}

pub fn effect_case_id(e: &Effect) -> Option<Uuid> {
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
pub fn assert_escalation_recorded(case: &Case, esc: &Escalation) {
    assert_eq!(esc.schema, ESCALATION_SCHEMA);
    assert_eq!(esc.case_id, case.case_id);
    assert_eq!(esc.identity_id, case.identity_id);
    assert_eq!(esc.deadline, case.deadline);
    if esc.reason != EscalationReason::SignalUndelivered {
        // (A receiver's escalation has an id per case and receiver.)
        assert_eq!(
            esc.escalation_id,
            Escalation::id_at(case.case_id, esc.reason, &esc.targets, esc.level)
        );
    }
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

// --- scheduled terminations, restore reports, escalations ---

/// A termination published at `t0` taking effect `in_secs` later.
pub fn dated(identity: &str, event_id: &str, in_secs: i64) -> HrEvent {
    let mut ev = termination(identity, event_id, at(in_secs));
    ev.time = t0();
    ev
}

/// The due events among `effects`.
pub fn dues(effects: &[Effect]) -> Vec<&HrEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Due(ev) => Some(ev),
            _ => None,
        })
        .collect()
}

pub fn report(
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

pub fn restores_in(effects: &[Effect]) -> Vec<revoke_shared::contract::RestoreRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Restore(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

pub fn escalations_in(effects: &[Effect]) -> Vec<&Escalation> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Escalate(x) => Some(x),
            _ => None,
        })
        .collect()
}

/// A failure whose errors were all transient (retries ran out during an outage).
pub fn transient(ev: &HrEvent, target: TargetKind, finished_at: DateTime<Utc>) -> Confirmation {
    let mut c = failed(ev, target, finished_at);
    c.retryable = true;
    c.error = Some("timeout after 10 s (transient)".into());
    c
}

/// One step of an escalation path: `name` is told `after_secs` after the control owner.
pub fn step(name: &str, after_secs: u64) -> revoke_shared::config::EscalationStep {
    revoke_shared::config::EscalationStep {
        name: name.into(),
        contact: format!("{name}@example.com"),
        after_secs,
    }
}

// --- scripts of inputs ---

/// An input owned by a test script, with the instant it is applied at.
#[derive(Debug, Clone)]
pub enum Step {
    Hr(HrEvent),
    Conf(Confirmation),
    /// A worker's answer to a restore request.
    Restored(RestoreReport),
    /// A Shared Signals receiver's delivery record.
    Signal(SignalDelivery),
    Tick,
}

pub fn apply_step(v: &mut Verifier, step: &Step, now: DateTime<Utc>) -> Vec<Effect> {
    match step {
        Step::Hr(ev) => hr(v, ev, now),
        Step::Conf(c) => conf(v, c, now),
        Step::Restored(r) => v.apply(Input::Restored(r), now),
        Step::Signal(d) => v.apply(Input::Signal(d, None), now),
        Step::Tick => tick(v, now),
    }
}

// --- the blast-radius guard ---

/// The guard on, holding more than `max` terminations asked within 600 s; no owner.
pub fn guard_on(max: u64) -> GuardConfig {
    GuardConfig {
        enabled: true,
        max_terminations: max,
        window_secs: 600,
        ..GuardConfig::default()
    }
}

/// `policy()` with the guard on (`guard_on(max)`), its held batches escalated to `guard-desk`.
pub fn guarded(max: u64) -> VerifierConfig {
    VerifierConfig {
        guard: GuardConfig {
            owner: Some(owner("guard-desk")),
            ..guard_on(max)
        },
        ..policy()
    }
}

/// The guard's verdict on `case`'s termination.
pub fn judged(case: &Case, verdict: Verdict) -> Judged {
    Judged {
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        asks: AdmissionKind::Termination,
        verdict,
    }
}

// --- randomness ---

/// xorshift64*: small, deterministic, good enough to shuffle test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

// --- after close: access findings and signal deliveries ---

pub use revoke_shared::contract::{
    AccessFinding, DeliveredSet, DeliveryOutcome, FindingKind, SignalDelivery,
    ACCESS_FINDING_SCHEMA, SIGNAL_DELIVERY_SCHEMA,
};

/// `kind` seen on `target` for `case` at `secs`: the object (the account the evidence names, or
/// a sign-in with event id `mark`) and its deterministic id.
pub fn finding(
    case: &Case,
    kind: FindingKind,
    target: TargetKind,
    mark: &str,
    secs: i64,
) -> AccessFinding {
    let t = TargetRef {
        kind: target,
        instance: "default".into(),
    };
    let (object_kind, object_id) = match kind {
        FindingKind::AccessReturned => (
            "account".to_string(),
            format!("{}-{target}", case.identity_id),
        ),
        FindingKind::SignInAfterDeparture => ("sign_in".to_string(), mark.to_string()),
    };
    AccessFinding {
        schema: ACCESS_FINDING_SCHEMA.into(),
        finding_id: AccessFinding::id_for(case.case_id, kind, &t, &object_kind, &object_id, mark),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        kind,
        target: t,
        object_kind,
        object_id,
        observed_at: at(secs),
        read_back: "enabled=true".into(),
        worker: WorkerInfo {
            id: "verify-1".into(),
            version: "0.1.0".into(),
        },
        principal: "svc-revoke-read".into(),
    }
}

/// `receiver`'s delivery record for `case` at `secs`: the SETs `jtis`, accepted at `secs` when
/// `outcome` is delivered.
pub fn delivery(
    case: &Case,
    receiver: &str,
    outcome: DeliveryOutcome,
    jtis: &[&str],
    secs: i64,
) -> SignalDelivery {
    SignalDelivery {
        schema: SIGNAL_DELIVERY_SCHEMA.into(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        receiver: receiver.into(),
        outcome,
        sets: jtis
            .iter()
            .map(|j| DeliveredSet {
                jti: (*j).into(),
                event_type: "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
                    .into(),
                via: "push".into(),
                delivered_at: (outcome == DeliveryOutcome::Delivered).then(|| at(secs)),
            })
            .collect(),
        owner: owner("app-team"),
        detail: if outcome == DeliveryOutcome::Overdue {
            "503 Service Unavailable".into()
        } else {
            String::new()
        },
        at: at(secs),
        transmitter: WorkerInfo {
            id: "signals-1".into(),
            version: "0.1.0".into(),
        },
    }
}

/// Asserts the effects are exactly one refusal, and returns its reason.
#[track_caller]
pub fn sole_refusal(effects: Vec<Effect>) -> &'static str {
    match <[Effect; 1]>::try_from(effects) {
        Ok([Effect::Refuse { reason, .. }]) => reason,
        other => panic!("expected exactly one Refuse effect, got {other:?}"),
    }
}

//! Cases built by driving the real verifier state machine, for the unit tests of `revoke case`,
//! `revoke case ack` and `revoke report`.

use crate::verifier::tests::kit;
use crate::verifier::{Effect, Input, Verifier};
use chrono::{DateTime, Duration, TimeZone, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{
    Actor, Case, Confirmation, HrEvent, HrEventKind, IdentityKind, ObjectEvidence, ObjectOutcome,
    Outcome, Owner, TargetKind, TargetRef, WorkerInfo,
};
use uuid::Uuid;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

pub fn policy() -> VerifierConfig {
    let mut p = VerifierConfig::default();
    // Cases driven straight from termination to verdict (the guard has its own tests).
    p.guard.enabled = false;
    // Acknowledgements close cases here (the closure review has its own tests).
    p.closure_review = revoke_shared::config::ClosureReview::None;
    p.owners.insert(
        "cloud".into(),
        Owner {
            name: "cloud-platform".into(),
            contact: "cloud@example.com".into(),
        },
    );
    p.owners.insert(
        "vault".into(),
        Owner {
            name: "vault-team".into(),
            contact: "vault@example.com".into(),
        },
    );
    p
}

/// The verifier tests' termination, from the test HR source, of a contractor.
pub fn termination(identity: &str, event_id: &str, effective_at: DateTime<Utc>) -> HrEvent {
    let mut ev = kit::termination(identity, event_id, effective_at);
    ev.source = "urn:hr:test".into();
    ev.data.identity.kind = IdentityKind::Contractor;
    ev
}

/// A worker's confirmation: a success removes two objects, the last `ms` after `at0`.
pub fn confirmation(
    ev: &HrEvent,
    kind: TargetKind,
    outcome: Outcome,
    at0: DateTime<Utc>,
    ms: i64,
) -> Confirmation {
    let obj = |n: i64, outcome: ObjectOutcome, verified: bool| {
        let removed_at = verified.then(|| at0 + Duration::milliseconds(ms - 10 + n * 5));
        ObjectEvidence {
            object_id: format!("{kind}:{}:{n}", ev.subject),
            sponsored: n == 2,
            action: "lock".into(),
            actor: Actor {
                worker_id: format!("{kind}-w1"),
                principal: format!("svc-{kind}"),
            },
            read_back: if verified {
                "account is locked".into()
            } else {
                "lookup failed".into()
            },
            ..kit::account_evidence(ev, kind, outcome, verified, removed_at, None)
        }
    };
    let (objects, error) = match outcome {
        Outcome::Revoked => (
            vec![
                obj(1, ObjectOutcome::Revoked, true),
                obj(2, ObjectOutcome::Revoked, true),
            ],
            None,
        ),
        Outcome::AlreadyAbsent => (Vec::new(), None),
        Outcome::Failed => (Vec::new(), Some(format!("simulated 403 from {kind}"))),
        _ => (
            vec![obj(1, ObjectOutcome::ManualRequired, false)],
            Some("lookup matched 2 principals".into()),
        ),
    };
    // The verifier tests' confirmation, as the simulated instance reports it after 5 calls.
    Confirmation {
        target: TargetRef {
            kind,
            instance: "simulated".into(),
        },
        objects,
        attempts: 5,
        error,
        started_at: at0,
        ..kit::confirmation(ev, kind, outcome, false, at0 + Duration::milliseconds(ms))
    }
}

/// Feeds `input` and returns the last case version published.
pub fn apply(v: &mut Verifier, input: Input<'_>, now: DateTime<Utc>) -> Option<Case> {
    v.apply(input, now)
        .into_iter()
        .filter_map(|e| match e {
            Effect::Case(c) => Some(c),
            _ => None,
        })
        .next_back()
}

/// A case of `identity` effective at `t0() + offset_s`, with each target confirming its
/// outcome `ms` milliseconds after the effective time (targets not listed stay pending).
pub fn case_with(
    v: &mut Verifier,
    identity: &str,
    offset_s: i64,
    outcomes: &[(TargetKind, Outcome, i64)],
) -> Case {
    let eff = t0() + Duration::seconds(offset_s);
    let ev = termination(identity, &format!("evt-{identity}"), eff);
    let mut last = apply(v, Input::Hr(&ev), eff).expect("case opened");
    for (kind, outcome, ms) in outcomes {
        let c = confirmation(&ev, *kind, *outcome, eff, *ms);
        if let Some(case) = apply(v, Input::Confirmation(&c), c.finished_at) {
            last = case;
        }
    }
    last
}

/// Rescinds the case's termination at `now` (requested by hr:dave); a closed case is given
/// with its record, as the verifier's shell does.
pub fn rescind(v: &mut Verifier, case: &Case, now: DateTime<Utc>) -> Case {
    let identity = &case.identity_id;
    let mut ev = termination(identity, &format!("evt-{identity}-r"), now);
    ev.kind = HrEventKind::Rescinded;
    ev.data.effective_at = None;
    ev.data.rescinds = case.event_id.clone();
    ev.data.requested_by = Some("hr:dave".into());
    let input = if case.state == revoke_shared::contract::CaseState::Closed {
        Input::RescindClosed(&ev, case)
    } else {
        Input::Hr(&ev)
    };
    apply(v, input, now).expect("rescinded")
}

/// Every target that revoked something reports its restore at `at`; vault's second object
/// is irreversible.
pub fn restore_all(v: &mut Verifier, case: &Case, at: DateTime<Utc>) -> Case {
    use revoke_shared::contract::{
        RestoreOutcome, RestoreReport, RestoredObject, RESTORE_REPORT_SCHEMA,
    };
    let mut last = case.clone();
    for (kind, st) in &case.targets {
        if !st
            .objects
            .iter()
            .any(|o| o.outcome == ObjectOutcome::Revoked)
        {
            continue;
        }
        let kind = *kind;
        let lost = |i: usize| kind == TargetKind::Vault && i == 1;
        let objects = st
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| RestoredObject {
                object_kind: o.object_kind.clone(),
                object_id: o.object_id.clone(),
                sponsored: o.sponsored,
                undoes: o.action.clone(),
                outcome: if lost(i) {
                    RestoreOutcome::Irreversible
                } else {
                    RestoreOutcome::Restored
                },
                restored_at: Some(at),
                actor: Actor {
                    worker_id: format!("{kind}-w1"),
                    principal: format!("svc-{kind}"),
                },
                detail: if lost(i) {
                    "a revoked token cannot be restored; issue a new one".into()
                } else {
                    String::new()
                },
            })
            .collect();
        let report = RestoreReport {
            schema: RESTORE_REPORT_SCHEMA.into(),
            request_id: Uuid::new_v4(),
            case_id: case.case_id,
            identity_id: case.identity_id.clone(),
            target: TargetRef {
                kind,
                instance: "simulated".into(),
            },
            objects,
            worker: WorkerInfo {
                id: format!("{kind}-w1"),
                version: "0.1.0".into(),
            },
            started_at: at,
            finished_at: at,
        };
        if let Some(c) = apply(v, Input::Restored(&report), at) {
            last = c;
        }
    }
    last
}

pub fn verifier() -> Verifier {
    Verifier::new(policy())
}

/// Every target revoked, cloud after 900 ms, the others after 100..=400 ms.
pub fn closed_case(v: &mut Verifier, identity: &str, offset_s: i64) -> Case {
    case_with(
        v,
        identity,
        offset_s,
        &[
            (TargetKind::Directory, Outcome::Revoked, 100),
            (TargetKind::Saas, Outcome::AlreadyAbsent, 200),
            (TargetKind::Cloud, Outcome::Revoked, 900),
            (TargetKind::Vault, Outcome::Revoked, 300),
            (TargetKind::Cicd, Outcome::Revoked, 400),
        ],
    )
}

/// Four targets revoked, cloud `manual_required`: escalated to cloud-platform.
pub fn escalated_case(v: &mut Verifier, identity: &str, offset_s: i64) -> Case {
    case_with(
        v,
        identity,
        offset_s,
        &[
            (TargetKind::Directory, Outcome::Revoked, 100),
            (TargetKind::Saas, Outcome::Revoked, 200),
            (TargetKind::Cloud, Outcome::ManualRequired, 250),
            (TargetKind::Vault, Outcome::Revoked, 300),
            (TargetKind::Cicd, Outcome::Revoked, 400),
        ],
    )
}

/// `closed_case` with Shared Signals deliveries an hour later: crm accepted both SETs, wiki
/// accepted none within its SLA (overdue, escalated). The case stays closed.
pub fn signalled_case(v: &mut Verifier, identity: &str, offset_s: i64) -> Case {
    use kit::DeliveryOutcome::{Delivered, Overdue};
    let closed = closed_case(v, identity, offset_s);
    let s = offset_s + 3600;
    let crm = kit::delivery(&closed, "crm", Delivered, &["jti-1", "jti-2"], s);
    let mid = apply(v, Input::Signal(&crm, Some(&closed)), kit::at(s)).expect("recorded");
    let wiki = kit::delivery(&closed, "wiki", Overdue, &["jti-3"], s + 1);
    apply(v, Input::Signal(&wiki, Some(&mid)), kit::at(s + 1)).expect("recorded")
}

/// `signalled_case`, then access seen again a day later: the directory account present again
/// (`revoke verify`) and a sign-in on vault (`revoke watch`). Reopened: escalated.
pub fn reopened_case(v: &mut Verifier, identity: &str, offset_s: i64) -> Case {
    use kit::FindingKind::{AccessReturned, SignInAfterDeparture};
    let closed = signalled_case(v, identity, offset_s);
    let s = offset_s + 86_400;
    let back = kit::finding(&closed, AccessReturned, TargetKind::Directory, "t1", s);
    let mid = apply(v, Input::Finding(&back, Some(&closed)), kit::at(s)).expect("recorded");
    let login = kit::finding(
        &mid,
        SignInAfterDeparture,
        TargetKind::Vault,
        "login-7",
        s + 5,
    );
    apply(v, Input::Finding(&login, None), kit::at(s + 10)).expect("recorded")
}

//! What the benches share: the leavers and worker reports the verifier benches feed the pure
//! state machine (person `i`'s termination and a verified report of each target with two
//! objects, an account and a membership, all at one fixed instant), and their argument reading.

use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Actor, Confirmation, HrData, HrEvent, HrEventKind, Identity, IdentityKind, ObjectEvidence,
    ObjectOutcome, Outcome, Provenance, TargetKind, TargetRef, WorkerInfo, CONFIRMATION_SCHEMA,
};

pub const SOURCE: &str = "urn:hr:workday";

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn termination(i: usize) -> HrEvent {
    HrEvent {
        id: format!("wd-evt-{i:08}"),
        source: SOURCE.into(),
        subject: format!("E{i:08}"),
        time: t0(),
        kind: HrEventKind::Termination,
        data: HrData {
            identity: Identity {
                employee_id: format!("E{i:08}"),
                email: Some(format!("person{i:08}@example.com")),
                username: Some(format!("person{i:08}")),
                kind: IdentityKind::Employee,
            },
            effective_at: Some(t0()),
            reason: Some("resignation".into()),
            requested_by: Some("hr:bob".into()),
            approved_by: None,
            rescinds: None,
        },
    }
}

/// A worker's verified report with two objects (an account and a membership).
pub fn report(ev: &HrEvent, kind: TargetKind) -> Confirmation {
    let obj = |k: &str, id: String, action: &str| ObjectEvidence {
        object_kind: k.into(),
        object_id: id,
        sponsored: false,
        action: action.into(),
        outcome: ObjectOutcome::Revoked,
        removed_at: Some(t0()),
        actor: Actor {
            worker_id: "worker-1".into(),
            principal: "revoker".into(),
        },
        verified: true,
        read_back: "gone".into(),
        error: None,
        provenance: Provenance::Observed,
    };
    Confirmation {
        schema: CONFIRMATION_SCHEMA.into(),
        confirmation_id: uuid::Uuid::new_v4(),
        case_id: ev.case_id(),
        identity_id: ev.subject.clone(),
        event_id: ev.id.clone(),
        target: TargetRef {
            kind,
            instance: "default".into(),
        },
        outcome: Outcome::Revoked,
        objects: vec![
            obj("account", format!("uid={},ou=people", ev.subject), "lock"),
            obj(
                "group_membership",
                format!("cn=staff|{}", ev.subject),
                "remove_membership",
            ),
        ],
        attempts: 1,
        error: None,
        retryable: false,
        redrive: 0,
        replay: None,
        worker: WorkerInfo {
            id: "worker-1".into(),
            version: "0.1.0".into(),
        },
        started_at: t0(),
        finished_at: t0() + chrono::Duration::milliseconds(40),
        fleet_signature: None,
        authenticity: None,
        signature: None,
    }
}

/// The next command-line argument as a positive number (the value of option `name`); anything
/// else ends the bench with a usage error (exit 2).
pub fn positive_arg(args: &mut impl Iterator<Item = String>, name: &str) -> u64 {
    args.next()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or_else(|| {
            eprintln!("{name} takes a positive number");
            std::process::exit(2)
        })
}

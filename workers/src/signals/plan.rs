//! The planner: which SETs a version of a case owes each receiver. Pure: no I/O, no clock.
//!
//! - CAEP `session-revoked`, one per target that is done and whose evidence holds a revoked
//!   session-bearing object (`SESSION_KINDS`);
//! - CAEP `credential-change` (`change_type: revoke`), one per revoked credential object whose
//!   kind maps to a CAEP `credential_type` (`credential_type`);
//! - RISC `account-disabled`, once, when the case is closed;
//! - CAEP `session-revoked` again for each sign-in after departure the watch found (the case's
//!   `findings`): the leaver signed in somewhere after the removal, so every receiver is told to
//!   end the subject's sessions once more (one SET per finding).
//!
//! A replay case (`revoke replay`) owes the same for what it revoked again, and nothing when
//! it found everything still gone (the case it replays told the receivers).
//!
//! Rescinded and rejected cases owe nothing (access was given back or never taken: a SET now
//! would make receivers end access that stands). SETs the case already records as accepted by
//! a receiver are not planned again for it.

use super::set::{PlannedSet, ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SESSION_REVOKED};
use super::subject::{subject, SkipReason};
use revoke_shared::config::ReceiverConfig;
use revoke_shared::contract::{
    Case, CaseState, DeliveryOutcome, FindingKind, ObjectEvidence, ObjectOutcome, TargetState,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Object kinds (as the adapters name them) that carry sessions or session tokens.
pub const SESSION_KINDS: [&str; 4] = ["session", "offline_session", "issued_sessions", "consent"];

/// The CAEP `credential_type` of a revoked object kind, and whether the value is one of CAEP's
/// own (`true`) or this project's extension (sent only to receivers that agreed to them).
pub fn credential_type(object_kind: &str) -> Option<(&'static str, bool)> {
    Some(match object_kind {
        "login_profile" | "userpass_user" => ("password", true),
        "signing_cert" => ("x509", true),
        "access_key" => ("access-key", false),
        "ssh_key" => ("ssh-key", false),
        "token" | "personal_access_token" | "group_access_token" | "project_access_token" => {
            ("api-token", false)
        }
        "approle_secret_id" | "service_account_client" => ("client-secret", false),
        _ => return None,
    })
}

/// What a case version owes: the SETs, and the receivers skipped with why.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub sets: Vec<PlannedSet>,
    pub skipped: Vec<(String, SkipReason)>,
}

/// The SETs `case` owes each of `receivers` that it has not recorded as accepted.
pub fn plan(case: &Case, receivers: &BTreeMap<String, ReceiverConfig>) -> Plan {
    let mut out = Plan::default();
    if !matches!(
        case.state,
        CaseState::Open | CaseState::Escalated | CaseState::Closed
    ) {
        return out;
    }
    let events = owed_events(case);
    if events.is_empty() {
        return out;
    }
    for (name, r) in receivers {
        let subscribed: Vec<&Owed> = events
            .iter()
            .filter(|e| {
                r.events
                    .iter()
                    .any(|s| super::set::event_uri(s) == Some(e.event_type))
            })
            .filter(|e| e.standard || r.extension_credential_types)
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        let sub_id = match subject(r, case.identity.as_ref()) {
            Ok(s) => s,
            Err(why) => {
                out.skipped.push((name.clone(), why));
                continue;
            }
        };
        for e in subscribed {
            let jti = jti_for(case, name, e.event_type, &e.object);
            if already_accepted(case, name, &jti) {
                continue;
            }
            out.sets.push(PlannedSet {
                receiver: name.clone(),
                jti,
                event_type: e.event_type,
                event: e.event.clone(),
                sub_id: sub_id.clone(),
                aud: r.aud.clone(),
                txn: Some(case.case_id.to_string()),
            });
        }
    }
    out
}

/// The jti of a case's SET: a name-based UUID of (case, receiver, event type, object), so the
/// same SET planned again (a restart, a newer case version) has the same jti.
pub fn jti_for(case: &Case, receiver: &str, event_type: &str, object: &str) -> String {
    let name = format!("{}\n{receiver}\n{event_type}\n{object}", case.case_id);
    uuid::Uuid::new_v5(&JTI_NAMESPACE, name.as_bytes()).to_string()
}

const JTI_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6a0c_5f1e_27d4_4c8b_9a41_3e5d_0b7f_91c2);

fn already_accepted(case: &Case, receiver: &str, jti: &str) -> bool {
    case.signals.iter().any(|d| {
        d.receiver == receiver
            && d.outcome == DeliveryOutcome::Delivered
            && d.sets.iter().any(|s| s.jti == jti)
    })
}

/// An event the case owes every subscribed receiver.
struct Owed {
    event_type: &'static str,
    event: Value,
    /// What in the case the event is about (part of the jti).
    object: String,
    /// False for a `credential_type` outside CAEP's list.
    standard: bool,
}

fn owed_events(case: &Case) -> Vec<Owed> {
    let mut out = Vec::new();
    for (kind, t) in case.targets.iter() {
        if t.state != TargetState::Done {
            continue;
        }
        let instance = t.instance.as_deref().unwrap_or("");
        let revoked = |o: &&ObjectEvidence| o.outcome == ObjectOutcome::Revoked && !o.is_manual();
        let sessions: Vec<&ObjectEvidence> = t
            .objects
            .iter()
            .filter(revoked)
            .filter(|o| SESSION_KINDS.contains(&o.object_kind.as_str()))
            .collect();
        if !sessions.is_empty() {
            let at = sessions
                .iter()
                .filter_map(|o| o.removed_at)
                .max()
                .or(t.confirmed_at);
            out.push(Owed {
                event_type: SESSION_REVOKED,
                event: caep_claims(at, "Offboarding: sessions ended"),
                object: format!("{}/{instance}", kind.as_str()),
                standard: true,
            });
        }
        for o in t.objects.iter().filter(revoked) {
            let Some((credential_type, standard)) = credential_type(&o.object_kind) else {
                continue;
            };
            let mut event = caep_claims(
                o.removed_at.or(t.confirmed_at),
                "Offboarding: credential revoked",
            );
            event["credential_type"] = json!(credential_type);
            event["change_type"] = json!("revoke");
            out.push(Owed {
                event_type: CREDENTIAL_CHANGE,
                event,
                object: format!(
                    "{}/{instance}/{}/{}",
                    kind.as_str(),
                    o.object_kind,
                    o.object_id
                ),
                standard,
            });
        }
    }
    for f in case
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::SignInAfterDeparture)
    {
        out.push(Owed {
            event_type: SESSION_REVOKED,
            event: caep_claims(
                Some(f.observed_at),
                "Offboarding: sign-in after departure; the subject's sessions are revoked",
            ),
            object: format!("finding/{}", f.finding_id),
            standard: true,
        });
    }
    // A replay case (`revoke replay`) owes what it revoked again (access that had come back);
    // one that found everything still gone owes nothing: its replayed case told the receivers.
    let replay_found_nothing = case.replay.is_some()
        && !case.targets.values().any(|t| {
            t.objects
                .iter()
                .any(|o| o.outcome == ObjectOutcome::Revoked && !o.is_manual())
        });
    if case.state == CaseState::Closed && !replay_found_nothing {
        // RISC's `reason` values (hijacking, bulk-account) do not fit an offboarding: omitted.
        out.push(Owed {
            event_type: ACCOUNT_DISABLED,
            event: json!({}),
            object: "account".into(),
            standard: true,
        });
    }
    out
}

/// CAEP's optional claims every event here carries: when, who (`policy`: an automated
/// offboarding), and why in words for the receiver's admins (no internal names).
fn caep_claims(at: Option<chrono::DateTime<chrono::Utc>>, why: &str) -> Value {
    let mut c = json!({"initiating_entity": "policy", "reason_admin": {"en": why}});
    if let Some(at) = at {
        c["event_timestamp"] = json!(at.timestamp());
    }
    c
}

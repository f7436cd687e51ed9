//! Shared Signals delivery as evidence (`revoke signals`): per receiver the case records which
//! SETs (jti) it accepted and when. Records of one receiver merge: the SETs are a union by jti
//! and a SET once accepted stays accepted with its first `delivered_at` (so an `overdue` record
//! arriving after the `delivered` one, reordered, does not undo it); the receiver's entry is
//! `delivered` when every SET it knows was accepted, else `overdue`. An overdue receiver is
//! escalated `signal_undelivered` to the record's owner once per case and receiver. A record that
//! adds nothing (a duplicate, older news) changes nothing. Deliveries never change the case's
//! state: a closed case stays closed and is re-published with the delivery.

use super::evidence::{raise_as, Raise};
use super::{Effect, Verifier};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{Case, DeliveryOutcome, EscalationReason, SignalDelivery};
use uuid::Uuid;

impl Verifier {
    pub(super) fn on_signal(
        &mut self,
        d: &SignalDelivery,
        closed: Option<&Case>,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let case = match self.known_case(&d.case_id, closed) {
            Ok(case) => case,
            Err((reason, detail)) => return vec![Effect::Refuse { reason, detail }],
        };
        if d.identity_id != case.identity_id {
            return vec![Effect::Refuse {
                reason: "identity_mismatch",
                detail: format!(
                    "the delivery names identity {}, but case {} is {}'s",
                    d.identity_id, case.case_id, case.identity_id
                ),
            }];
        }
        let old = case.signals.iter().find(|s| s.receiver == d.receiver);
        let merged = merge(old, d);
        if old == Some(&merged) {
            return Vec::new();
        }
        let Some(mut case) = self.take_known(&d.case_id, closed) else {
            return Vec::new();
        };
        let id = escalation_id(case.case_id, &d.receiver);
        let mut effects = Vec::new();
        if merged.outcome == DeliveryOutcome::Overdue
            && !case.escalations.iter().any(|e| e.escalation_id == id)
        {
            let r = Raise {
                reason: EscalationReason::SignalUndelivered,
                targets: Vec::new(),
                level: 0,
                owner: merged.owner.clone(),
                detail: detail_of(&merged),
            };
            let state = case.state;
            raise_as(&mut case, id, r, now, &mut effects);
            case.state = state; // evidence of delivery; the revocation itself is unchanged
        }
        match case.signals.iter_mut().find(|s| s.receiver == d.receiver) {
            Some(entry) => *entry = merged,
            None => case.signals.push(merged),
        }
        self.publish(case, now, effects)
    }
}

/// The receiver's entry after `d`: SETs united by jti (an accepted SET keeps its first
/// `delivered_at`), the rest of the record from the newer of the two, the outcome from the SETs.
fn merge(old: Option<&SignalDelivery>, d: &SignalDelivery) -> SignalDelivery {
    let Some(old) = old else {
        let mut first = d.clone();
        first.outcome = outcome_of(&first, d.outcome);
        return first;
    };
    let mut out = if d.at >= old.at {
        d.clone()
    } else {
        old.clone()
    };
    let (newer, older) = if d.at >= old.at { (d, old) } else { (old, d) };
    out.sets = newer.sets.clone();
    for set in &older.sets {
        match out.sets.iter_mut().find(|s| s.jti == set.jti) {
            Some(s) => {
                s.delivered_at = match (s.delivered_at, set.delivered_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            None => out.sets.push(set.clone()),
        }
    }
    out.outcome = outcome_of(&out, newer.outcome);
    out
}

/// `delivered` when every SET was accepted; a record naming no SET keeps what it says.
fn outcome_of(entry: &SignalDelivery, said: DeliveryOutcome) -> DeliveryOutcome {
    if entry.sets.is_empty() {
        said
    } else if entry.sets.iter().all(|s| s.delivered_at.is_some()) {
        DeliveryOutcome::Delivered
    } else {
        DeliveryOutcome::Overdue
    }
}

fn detail_of(entry: &SignalDelivery) -> String {
    let waiting: Vec<&str> = entry
        .sets
        .iter()
        .filter(|s| s.delivered_at.is_none())
        .map(|s| s.jti.as_str())
        .collect();
    format!(
        "Shared Signals receiver {} has not accepted {} SET{} within its SLA ({}){}; delivery goes on",
        entry.receiver,
        waiting.len(),
        if waiting.len() == 1 { "" } else { "s" },
        waiting.join(", "),
        if entry.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", entry.detail)
        }
    )
}

/// The one `signal_undelivered` escalation of a case and receiver.
fn escalation_id(case_id: Uuid, receiver: &str) -> Uuid {
    Uuid::new_v5(
        &case_id,
        format!("{case_id}/signal_undelivered/{receiver}").as_bytes(),
    )
}

/// Whether the receiver the escalation `id` was raised for is still overdue.
pub(super) fn still_overdue(case: &Case, id: Uuid) -> bool {
    case.signals.iter().any(|s| {
        s.outcome == DeliveryOutcome::Overdue && escalation_id(case.case_id, &s.receiver) == id
    })
}

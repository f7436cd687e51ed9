//! Delivery as evidence: the `SignalDelivery` records `revoke signals` publishes on the
//! confirmations topic (keyed by identity, fleet-signed when a fleet secret is configured) for
//! the verifier to record in the case.

use super::deliver::SignalsHandler;
use super::settings::Receiver;
use crate::signed_report::send_signed_report;
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Case, DeliveredSet, DeliveryOutcome, SignalDelivery, WorkerInfo, SIGNAL_DELIVERY_SCHEMA,
};

/// The record of what `r` accepted (`Delivered`) or has not accepted in time or refused
/// (`Overdue`, with `detail`).
pub fn record(
    case: &Case,
    r: &Receiver,
    outcome: DeliveryOutcome,
    sets: Vec<DeliveredSet>,
    detail: String,
    at: DateTime<Utc>,
    transmitter: &WorkerInfo,
) -> SignalDelivery {
    SignalDelivery {
        schema: SIGNAL_DELIVERY_SCHEMA.into(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        receiver: r.name.clone(),
        outcome,
        sets,
        owner: r.owner.clone(),
        detail,
        at,
        transmitter: transmitter.clone(),
    }
}

impl SignalsHandler {
    /// Publishes `d` on the confirmations topic, keyed by identity.
    pub(super) async fn publish(&self, d: &SignalDelivery) -> Result<(), String> {
        send_signed_report(
            &self.producer,
            self.fleet.as_deref(),
            &self.confirmations,
            &d.identity_id,
            d,
        )
        .await
        .map_err(|e| {
            format!(
                "cannot publish the signal delivery of case {} for receiver {}: {e}",
                d.case_id, d.receiver
            )
        })
    }
}

//! Delivery as evidence: the `SignalDelivery` records `revoke signals` publishes on the
//! confirmations topic (keyed by identity, fleet-signed when a fleet secret is configured) for
//! the verifier to record in the case.

use super::deliver::SignalsHandler;
use super::settings::Receiver;
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
        let topic = &self.confirmations;
        let bytes =
            serde_json::to_vec(d).map_err(|e| format!("cannot encode the signal delivery: {e}"))?;
        let signature = self.fleet.as_deref().map(|secret| {
            revoke_shared::signing::fleet_signature(
                secret,
                topic,
                d.identity_id.as_bytes(),
                &bytes,
                &[],
            )
        });
        let headers: Vec<(&str, &str)> = signature
            .as_deref()
            .map(|s| vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, s)])
            .unwrap_or_default();
        self.producer
            .send_bytes(topic, &d.identity_id, &bytes, &headers, None)
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "cannot publish the signal delivery of case {} for receiver {}: {e}",
                    d.case_id, d.receiver
                )
            })
    }
}

//! Sending a report on the confirmations topic (a worker's confirmation or restore report, a
//! transmitter's signal delivery, a watch's finding), keyed by identity — the verifier's
//! partition for that person — and fleet-signed when `[signing]` names a fleet secret, so
//! whoever can merely write the topic cannot forge one. The send waits for the broker's
//! acknowledgement.

use revoke_shared::kafka::{KafkaError, Producer};
use revoke_shared::secret::Secret;
use revoke_shared::signing::{fleet_signature, FLEET_SIGNATURE_HEADER};

/// Encodes `report`, signs it with `fleet` if any, and sends it on `topic` with key `identity`.
pub async fn send_signed_report<T: serde::Serialize>(
    producer: &Producer,
    fleet: Option<&Secret>,
    topic: &str,
    identity: &str,
    report: &T,
) -> Result<(), KafkaError> {
    let bytes = serde_json::to_vec(report).map_err(|source| KafkaError::Encode {
        topic: topic.to_string(),
        source,
    })?;
    let signature =
        fleet.map(|secret| fleet_signature(secret, topic, identity.as_bytes(), &bytes, &[]));
    let headers: Vec<(&str, &str)> = signature
        .as_deref()
        .map(|s| vec![(FLEET_SIGNATURE_HEADER, s)])
        .unwrap_or_default();
    producer
        .send_bytes(topic, identity, &bytes, &headers, None)
        .await?;
    Ok(())
}

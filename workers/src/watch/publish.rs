//! Publishing findings on the confirmations topic, keyed by identity (the verifier's partition
//! for that person), fleet-signed when `[signing]` names a fleet secret — as workers send their
//! reports, so whoever can merely write the topic cannot forge one. Each send waits for the
//! broker's acknowledgement.

use revoke_shared::config::Config;
use revoke_shared::contract::AccessFinding;
use revoke_shared::kafka::{KafkaError, Producer};
use revoke_shared::secret::Secret;
use std::sync::Arc;

pub struct FindingSink {
    producer: Producer,
    topic: String,
    fleet: Option<Arc<Secret>>,
}

impl FindingSink {
    /// A sink on `cfg`'s confirmations topic. A fleet secret that is configured but cannot be
    /// read is an error here, before anything is read or sent.
    pub fn new(cfg: &Config, producer: Producer) -> Result<FindingSink, String> {
        let fleet = cfg.signing.fleet_secret()?;
        Ok(FindingSink {
            producer,
            topic: cfg.topics.confirmations.clone(),
            fleet,
        })
    }

    /// Sends `f` and waits for the broker's acknowledgement.
    pub async fn publish(&self, f: &AccessFinding) -> Result<(), KafkaError> {
        let bytes = serde_json::to_vec(f).map_err(|source| KafkaError::Encode {
            topic: self.topic.clone(),
            source,
        })?;
        let key = f.identity_id.as_str();
        let signature = self.fleet.as_deref().map(|secret| {
            revoke_shared::signing::fleet_signature(
                secret,
                &self.topic,
                key.as_bytes(),
                &bytes,
                &[],
            )
        });
        let headers: Vec<(&str, &str)> = signature
            .as_deref()
            .map(|s| vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, s)])
            .unwrap_or_default();
        self.producer
            .send_bytes(&self.topic, key, &bytes, &headers, None)
            .await?;
        Ok(())
    }

    /// Sends every finding, in order; stops at the first that is not acknowledged.
    pub async fn publish_all(&self, findings: &[AccessFinding]) -> Result<(), KafkaError> {
        for f in findings {
            self.publish(f).await?;
        }
        Ok(())
    }
}

//! Publishing findings on the confirmations topic as workers send their reports
//! (`signed_report`): keyed by identity, fleet-signed when `[signing]` names a fleet secret, each
//! send acknowledged by the broker.

use crate::signed_report::send_signed_report;
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
        send_signed_report(
            &self.producer,
            self.fleet.as_deref(),
            &self.topic,
            &f.identity_id,
            f,
        )
        .await
    }

    /// Sends every finding, in order; stops at the first that is not acknowledged.
    pub async fn publish_all(&self, findings: &[AccessFinding]) -> Result<(), KafkaError> {
        for f in findings {
            self.publish(f).await?;
        }
        Ok(())
    }
}

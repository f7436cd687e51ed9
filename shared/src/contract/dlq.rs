//! `revoke.dlq`: input the fleet refused, kept whole so nothing is lost and it can be replayed.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const DLQ_SCHEMA: &str = "revoke.dlq.v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadLetter {
    pub schema: String,
    /// Bounded reason code (see `ContractError::reason`).
    pub reason: String,
    /// Human-readable explanation: what was wrong and what to check.
    pub detail: String,
    /// Which consumer refused it (`revoke-directory`, `revoke-verifier`, …).
    pub rejected_by: String,
    pub rejected_at: DateTime<Utc>,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    /// The original key and value, byte for byte (base64), and headers (values base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

impl DeadLetter {
    pub fn new(
        msg: &super::RawMessage,
        reason: &str,
        detail: String,
        rejected_by: &str,
    ) -> DeadLetter {
        let b64 = base64::engine::general_purpose::STANDARD;
        DeadLetter {
            schema: DLQ_SCHEMA.into(),
            reason: reason.into(),
            detail,
            rejected_by: rejected_by.into(),
            rejected_at: Utc::now(),
            source_topic: msg.topic.clone(),
            source_partition: msg.partition,
            source_offset: msg.offset,
            key_base64: msg.key.as_ref().map(|k| b64.encode(k)),
            payload_base64: msg.payload.as_ref().map(|p| b64.encode(p)),
            headers: msg
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), b64.encode(v)))
                .collect(),
        }
    }

    /// The original payload bytes.
    pub fn payload(&self) -> Option<Vec<u8>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.payload_base64
            .as_ref()
            .and_then(|p| b64.decode(p).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_original_bytes() {
        let msg = super::super::RawMessage {
            topic: "hr.terminations".into(),
            partition: 3,
            offset: 42,
            key: Some(b"E1".to_vec()),
            payload: Some(vec![0, 159, 146, 150, b'{']),
            headers: vec![("h".into(), vec![1, 2])],
            timestamp_ms: None,
        };
        let d = DeadLetter::new(&msg, "malformed_json", "bad".into(), "revoke-vault");
        let back: DeadLetter = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back.payload().unwrap(), msg.payload.unwrap());
        assert_eq!((back.source_partition, back.source_offset), (3, 42));
    }
}

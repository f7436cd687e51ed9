//! Where a signature travels: three CloudEvents extension attributes, as top-level attributes
//! (structured mode) or `ce_*` headers (binary mode).

use super::error::SignatureError;
use super::wire_names::{ATTR_ALGORITHM, ATTR_KEY_ID, ATTR_SIGNATURE};
use crate::contract::RawMessage;
use serde::Deserialize;

/// The signature extension attributes of one record, as found (not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureAttributes {
    pub signature: Option<String>,
    pub algorithm: Option<String>,
    pub key_id: Option<String>,
}

impl SignatureAttributes {
    pub fn is_empty(&self) -> bool {
        self.signature.is_none() && self.algorithm.is_none() && self.key_id.is_none()
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (ATTR_SIGNATURE, self.signature.as_deref()),
            (ATTR_ALGORITHM, self.algorithm.as_deref()),
            (ATTR_KEY_ID, self.key_id.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    /// Adds the attributes to a structured-mode event (`HrEvent::to_structured_json`).
    pub fn add_to_structured(&self, event: &mut serde_json::Value) {
        if let Some(obj) = event.as_object_mut() {
            for (k, v) in self.pairs() {
                obj.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
        }
    }

    /// Adds the attributes as `ce_*` headers to a binary-mode event (`HrEvent::to_binary`).
    pub fn add_to_binary(&self, headers: &mut Vec<(String, String)>) {
        for (k, v) in self.pairs() {
            headers.push((format!("ce_{k}"), v.to_string()));
        }
    }

    /// Reads the attributes of a record from `hr.terminations` (or `revoke.due`): `ce_*` headers
    /// in binary mode (a `ce_specversion` header present, as `parse_hr_event` decides), top-level
    /// attributes in structured mode. Call it on a record `parse_hr_event` accepted.
    pub fn of(msg: &RawMessage) -> Result<SignatureAttributes, SignatureError> {
        let not_text = |name: &str| {
            SignatureError::BadSignature(format!("the `{name}` attribute is not a UTF-8 string"))
        };
        if msg.header("ce_specversion").is_some() {
            let header = |name: &str| -> Result<Option<String>, SignatureError> {
                msg.header(&format!("ce_{name}"))
                    .map(|v| String::from_utf8(v.to_vec()).map_err(|_| not_text(name)))
                    .transpose()
            };
            return Ok(SignatureAttributes {
                signature: header(ATTR_SIGNATURE)?,
                algorithm: header(ATTR_ALGORITHM)?,
                key_id: header(ATTR_KEY_ID)?,
            });
        }
        #[derive(Deserialize)]
        struct Top {
            #[serde(default)]
            signature: Option<serde_json::Value>,
            #[serde(default)]
            signaturealg: Option<serde_json::Value>,
            #[serde(default)]
            signaturekeyid: Option<serde_json::Value>,
        }
        let top: Top = serde_json::from_slice(msg.payload.as_deref().unwrap_or_default())
            .map_err(|_| SignatureError::BadSignature("the event is not a JSON object".into()))?;
        let text = |name: &str, v: Option<serde_json::Value>| match v {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(not_text(name)),
        };
        Ok(SignatureAttributes {
            signature: text(ATTR_SIGNATURE, top.signature)?,
            algorithm: text(ATTR_ALGORITHM, top.signaturealg)?,
            key_id: text(ATTR_KEY_ID, top.signaturekeyid)?,
        })
    }
}

//! Admission of HR input: the checks every consumer applies to a record before it acts on it —
//! the contract, then (with signing required) HR's signature, or on the verifier's hand-over
//! topics the fleet's.

use super::attributes::SignatureAttributes;
use super::error::SignatureError;
use super::fleet::{fleet_mac, parse_fleet_tag};
use super::wire_names::FLEET_SIGNATURE_HEADER;
use crate::config::Config;
use crate::contract::{parse_hr_event, ContractError, HrEvent, RawMessage};
use hmac::Mac;

/// Why a consumer refused a record of HR input.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HrRefusal {
    #[error(transparent)]
    Contract(#[from] ContractError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signing keys could not be read (an unset environment variable, a missing file): a
    /// fault of this process, not of the record, which must not be dead-lettered.
    #[error("signing keys unavailable: {0}")]
    Keys(String),
}

impl HrRefusal {
    /// The DLQ reason (bounded; also the metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            HrRefusal::Contract(e) => e.reason(),
            HrRefusal::Signature(e) => e.reason(),
            HrRefusal::Keys(_) => "signing_keys_unavailable",
        }
    }

    /// Whether the record itself is at fault (dead-letter it) rather than this process.
    pub fn is_dead_letter(&self) -> bool {
        !matches!(self, HrRefusal::Keys(_))
    }
}

/// Parses a record of HR input (`hr.terminations`, or `revoke.due`) and, with signing required,
/// checks its signature: what every consumer of HR input calls.
///
/// On `revoke.due` (`cfg.topics.due`) the records are the verifier's hand-over of a
/// termination whose HR signature it checked when it arrived (released by the guard, come due,
/// or re-driven): they carry the fleet's signature instead ([`check_fleet_signature`]), and
/// anything else on that topic is refused.
pub fn parse_hr_input(msg: &RawMessage, cfg: &Config) -> Result<HrEvent, HrRefusal> {
    let ev = parse_hr_event(msg, cfg.consumer.max_event_bytes)?;
    if !cfg.signing.required {
        return Ok(ev);
    }
    if msg.topic == cfg.topics.due {
        check_fleet_signature(msg, cfg)?;
        return Ok(ev);
    }
    let attrs = SignatureAttributes::of(msg)?;
    let keys = cfg.signing.key_set().map_err(HrRefusal::Keys)?;
    keys.verify(&ev, &attrs)?;
    Ok(ev)
}

/// With signing required, a record on `revoke.due` or `revoke.restores` must carry the fleet
/// signature of its topic, key and value: only the verifier, which checked HR's signature when
/// the termination arrived, may hand work to the workers.
pub fn check_fleet_signature(msg: &RawMessage, cfg: &Config) -> Result<(), HrRefusal> {
    if !cfg.signing.required {
        return Ok(());
    }
    let secret = cfg
        .signing
        .fleet_secret()
        .map_err(HrRefusal::Keys)?
        .ok_or_else(|| {
            HrRefusal::Keys(
                "signing.required needs signing.fleet_secret_env or fleet_secret_file".into(),
            )
        })?;
    let Some(got) = msg.header(FLEET_SIGNATURE_HEADER) else {
        return Err(SignatureError::FleetUnsigned(msg.topic.clone()).into());
    };
    let tag = std::str::from_utf8(got)
        .ok()
        .and_then(parse_fleet_tag)
        .ok_or_else(|| {
            SignatureError::BadSignature(format!(
                "{FLEET_SIGNATURE_HEADER} is not hmac-sha256=<64 hex digits>"
            ))
        })?;
    let key = msg.key.as_deref().unwrap_or_default();
    let payload = msg.payload.as_deref().unwrap_or_default();
    fleet_mac(&secret, &msg.topic, key, payload, |name| {
        msg.header(name).map(<[u8]>::to_vec).unwrap_or_default()
    })
    .verify_slice(&tag)
        .map_err(|_| {
            SignatureError::BadSignature(format!(
                "the fleet signature on {} does not match: not written by this fleet's verifier, or changed since",
                msg.topic
            ))
        })?;
    Ok(())
}

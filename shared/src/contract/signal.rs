//! Shared Signals delivery as evidence: what `revoke signals` reports on the confirmations
//! topic (keyed by identity) after a receiver accepted (or failed to accept in time) the
//! Security Event Tokens of a case, for the verifier to record in the case.

use super::{Owner, WorkerInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const SIGNAL_DELIVERY_SCHEMA: &str = "revoke.signal_delivery.v1";

/// How a receiver's stream fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Pushed and answered 202 (RFC 8935), or acknowledged by a poll (RFC 8936).
    Delivered,
    /// Not accepted within the receiver's SLA: escalated to the receiver's owner. Delivery goes
    /// on; a later `delivered` record follows when it is accepted.
    Overdue,
}

/// One SET as the case records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeliveredSet {
    pub jti: String,
    /// The event type URI, e.g. `https://schemas.openid.net/secevent/caep/event-type/session-revoked`.
    pub event_type: String,
    /// `push` or `poll`.
    pub via: String,
    /// When the receiver accepted it (absent while overdue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignalDelivery {
    pub schema: String,
    pub case_id: Uuid,
    pub identity_id: String,
    /// The receiver stream's configured name (`[signals.receivers.<name>]`).
    pub receiver: String,
    pub outcome: DeliveryOutcome,
    pub sets: Vec<DeliveredSet>,
    /// The receiver's owner, for an overdue delivery's escalation.
    pub owner: Owner,
    /// The last answer or error, in words (never a secret), for an overdue delivery.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub at: DateTime<Utc>,
    pub transmitter: WorkerInfo,
}

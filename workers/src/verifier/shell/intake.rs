//! Checking and parsing what arrives on the confirmations topic (confirmations, restore
//! reports, access findings, signal deliveries, fleet signatures) before the machine sees it.

use super::VerifierHandler;
use revoke_shared::contract::{
    parse_keyed, AccessFinding, Confirmation, RawMessage, RestoreReport, SignalDelivery,
    ACCESS_FINDING_SCHEMA, CONFIRMATION_SCHEMA, RESTORE_REPORT_SCHEMA, SIGNAL_DELIVERY_SCHEMA,
};

impl VerifierHandler {
    /// Takes the worker's fleet signature off the record into the report (a restore request
    /// carries it back). With signing required, a worker's report must carry a valid one: whoever
    /// can merely write the topic cannot forge evidence. A person's `case ack` is an attestation,
    /// recorded as such, and carries none.
    pub(super) fn check_report(
        &self,
        msg: &RawMessage,
        mut c: Confirmation,
    ) -> Result<Confirmation, (&'static str, String)> {
        c.fleet_signature = msg
            .header(revoke_shared::signing::FLEET_SIGNATURE_HEADER)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        if c.target.instance == revoke_shared::contract::MANUAL_INSTANCE {
            return Ok(c);
        }
        let what = format!("report for case {} on {}", c.case_id, c.target.kind);
        self.check_fleet_signed(msg, &what).map(|_| c)
    }

    /// With signing required, a worker's record (`what`, for the dead letter's detail) must carry
    /// the fleet's signature over topic, key and value: whoever can merely write the topic can
    /// neither forge evidence of a revocation nor report a restore that did not happen.
    pub(super) fn check_fleet_signed(
        &self,
        msg: &RawMessage,
        what: &str,
    ) -> Result<(), (&'static str, String)> {
        let Some(secret) = self.fleet.as_deref() else {
            return Ok(());
        };
        let Some(sig) = msg.header(revoke_shared::signing::FLEET_SIGNATURE_HEADER) else {
            return Err((
                "unsigned",
                format!(
                    "{what} carries no fleet signature: with [signing] required only the fleet's workers' signed reports count"
                ),
            ));
        };
        let sig = String::from_utf8_lossy(sig);
        let key = msg.key.as_deref().unwrap_or_default();
        let payload = msg.payload.as_deref().unwrap_or_default();
        if !revoke_shared::signing::fleet_signature_matches(secret, &msg.topic, key, payload, &sig)
        {
            return Err((
                "bad_signature",
                format!(
                    "the fleet signature of the {what} does not match: not written by this fleet's workers, or changed since"
                ),
            ));
        }
        Ok(())
    }
}

/// Restore reports, access findings and signal deliveries share the confirmations topic with the
/// workers' reports (same key, same partition); `schema` tells them apart.
pub(super) fn schema_of(msg: &RawMessage) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: Option<String>,
    }
    msg.payload
        .as_deref()
        .and_then(|p| serde_json::from_slice::<Schema>(p).ok())
        .and_then(|s| s.schema)
}

pub(super) fn parse_finding(msg: &RawMessage) -> Result<AccessFinding, (&'static str, String)> {
    parse_keyed(
        msg,
        "access finding",
        "malformed_access_finding",
        ACCESS_FINDING_SCHEMA,
        |f: &AccessFinding| &f.schema,
        |f: &AccessFinding| &f.identity_id,
    )
}

pub(super) fn parse_signal(msg: &RawMessage) -> Result<SignalDelivery, (&'static str, String)> {
    parse_keyed(
        msg,
        "signal delivery",
        "malformed_signal_delivery",
        SIGNAL_DELIVERY_SCHEMA,
        |d: &SignalDelivery| &d.schema,
        |d: &SignalDelivery| &d.identity_id,
    )
}

pub(super) fn parse_restore_report(
    msg: &RawMessage,
) -> Result<RestoreReport, (&'static str, String)> {
    parse_keyed(
        msg,
        "restore report",
        "malformed_restore_report",
        RESTORE_REPORT_SCHEMA,
        |r: &RestoreReport| &r.schema,
        |r: &RestoreReport| &r.identity_id,
    )
}

pub(super) fn parse_confirmation(msg: &RawMessage) -> Result<Confirmation, (&'static str, String)> {
    parse_keyed(
        msg,
        "confirmation",
        "malformed_confirmation",
        CONFIRMATION_SCHEMA,
        |c: &Confirmation| &c.schema,
        |c: &Confirmation| &c.identity_id,
    )
}

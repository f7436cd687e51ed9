//! Checking and parsing what arrives on the confirmations topic (confirmations, restore
//! reports, access findings, signal deliveries, step attestations, reviews, fleet signatures)
//! before the machine sees it.

use super::after_close::AfterClose;
use super::VerifierHandler;
use crate::verifier::ack_check::check_ack;
use crate::verifier::machine::Input;
use revoke_shared::consume::HandlerError;
use revoke_shared::contract::{
    parse_keyed, AccessFinding, Confirmation, RawMessage, RestoreReport, ReviewRecord,
    SignalDelivery, StepAttestation, ACCESS_FINDING_SCHEMA, CONFIRMATION_SCHEMA,
    RESTORE_REPORT_SCHEMA, REVIEW_SCHEMA, SIGNAL_DELIVERY_SCHEMA, STEP_ATTESTATION_SCHEMA,
};

impl VerifierHandler {
    /// A record of the confirmations topic: a worker's report, a restore report, an access
    /// finding or a signal delivery (`schema` tells, read once), parsed, its signature checked,
    /// and applied — or dead-lettered with the reason.
    pub(super) async fn confirmations_record(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        let signed = |what: String| self.check_fleet_signed(msg, &what);
        let refused = match schema_of(msg).as_deref() {
            Some(ACCESS_FINDING_SCHEMA) => match parse_finding(msg).and_then(|f| {
                signed(format!(
                    "access finding for case {} on {}",
                    f.case_id, f.target.kind
                ))
                .map(|_| f)
            }) {
                Ok(f) => return self.after_close(msg, AfterClose::Finding(&f)).await,
                Err(e) => e,
            },
            Some(SIGNAL_DELIVERY_SCHEMA) => match parse_signal(msg).and_then(|d| {
                signed(format!(
                    "signal delivery for case {} to {}",
                    d.case_id, d.receiver
                ))
                .map(|_| d)
            }) {
                Ok(d) => return self.after_close(msg, AfterClose::Signal(&d)).await,
                Err(e) => e,
            },
            Some(RESTORE_REPORT_SCHEMA) => match parse_restore_report(msg).and_then(|r| {
                signed(format!(
                    "restore report for case {} on {}",
                    r.case_id, r.target.kind
                ))
                .map(|_| r)
            }) {
                Ok(r) => {
                    let input = Input::Restored(&r);
                    return self.apply(input, Some((r.case_id, msg.partition))).await;
                }
                Err(e) => e,
            },
            Some(STEP_ATTESTATION_SCHEMA) => match parse_decision::<StepAttestation>(
                msg,
                "step attestation",
                "malformed_step_attestation",
                STEP_ATTESTATION_SCHEMA,
                |a| (a.schema.as_str(), a.identity_id.as_str()),
            ) {
                Ok((a, raw)) => {
                    let input = Input::StepAttestation(&a, &raw);
                    return self.decision(msg, a.case_id, input).await;
                }
                Err(e) => e,
            },
            Some(REVIEW_SCHEMA) => match parse_decision::<ReviewRecord>(
                msg,
                "review",
                "malformed_review",
                REVIEW_SCHEMA,
                |r| (r.schema.as_str(), r.identity_id.as_str()),
            ) {
                Ok((r, raw)) => {
                    let input = Input::Review(&r, &raw);
                    return self.decision(msg, r.case_id, input).await;
                }
                Err(e) => e,
            },
            _ => match parse_confirmation(msg).and_then(|c| self.check_report(msg, c)) {
                Ok(c) => {
                    let input = Input::Confirmation(&c);
                    // For a known case, what the machine refuses (evidence a review set aside)
                    // is dead-lettered; a report may also open a pending case.
                    let known = {
                        let st = self.state.lock().expect("verifier state lock");
                        st.machine.case(&c.case_id).is_some()
                    };
                    if known {
                        return self.decision(msg, c.case_id, input).await;
                    }
                    return self.apply(input, Some((c.case_id, msg.partition))).await;
                }
                Err(e) => e,
            },
        };
        let (reason, detail) = refused;
        self.dead_letters.send(msg, reason, detail).await
    }

    /// Takes the worker's fleet signature off the record into the report (a restore request
    /// carries it back). With signing required, a worker's report must carry a valid one: whoever
    /// can merely write the topic cannot forge evidence. A person's `case ack` is an attestation,
    /// recorded as such: it carries no fleet signature but must be its person's (`ack_check`).
    pub(super) fn check_report(
        &self,
        msg: &RawMessage,
        mut c: Confirmation,
    ) -> Result<Confirmation, (&'static str, String)> {
        c.fleet_signature = msg
            .header(revoke_shared::signing::FLEET_SIGNATURE_HEADER)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        if c.target.instance == revoke_shared::contract::MANUAL_INSTANCE {
            let record = serde_json::from_slice(msg.payload.as_deref().unwrap_or_default())
                .map_err(|e| ("malformed_confirmation", e.to_string()))?;
            let people = &self.cfg.people;
            c.authenticity = Some(check_ack(&record, &c, people, self.cfg.signing.required)?);
            return Ok(c);
        }
        let what = format!("report for case {} on {}", c.case_id, c.target.kind);
        self.check_fleet_signed(msg, &what)?;
        // The worker's Ed25519 signature, kept in the case so the report can be checked offline.
        crate::evidence::intake::check_worker_confirmation(
            msg.payload.as_deref().unwrap_or_default(),
            &self.evidence_keys,
            self.cfg.signing.required,
            &what,
        )?;
        Ok(c)
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
fn schema_of(msg: &RawMessage) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: Option<String>,
    }
    msg.payload
        .as_deref()
        .and_then(|p| serde_json::from_slice::<Schema>(p).ok())
        .and_then(|s| s.schema)
}

fn parse_finding(msg: &RawMessage) -> Result<AccessFinding, (&'static str, String)> {
    parse_keyed(
        msg,
        "access finding",
        "malformed_access_finding",
        ACCESS_FINDING_SCHEMA,
        |f: &AccessFinding| &f.schema,
        |f: &AccessFinding| &f.identity_id,
    )
}

fn parse_signal(msg: &RawMessage) -> Result<SignalDelivery, (&'static str, String)> {
    parse_keyed(
        msg,
        "signal delivery",
        "malformed_signal_delivery",
        SIGNAL_DELIVERY_SCHEMA,
        |d: &SignalDelivery| &d.schema,
        |d: &SignalDelivery| &d.identity_id,
    )
}

fn parse_restore_report(msg: &RawMessage) -> Result<RestoreReport, (&'static str, String)> {
    parse_keyed(
        msg,
        "restore report",
        "malformed_restore_report",
        RESTORE_REPORT_SCHEMA,
        |r: &RestoreReport| &r.schema,
        |r: &RestoreReport| &r.identity_id,
    )
}

fn parse_confirmation(msg: &RawMessage) -> Result<Confirmation, (&'static str, String)> {
    parse_keyed(
        msg,
        "confirmation",
        "malformed_confirmation",
        CONFIRMATION_SCHEMA,
        |c: &Confirmation| &c.schema,
        |c: &Confirmation| &c.identity_id,
    )
}

/// A person's decision record (a step attestation, a review): parsed and checked like any keyed
/// record, and kept as the JSON value it was published as, whose signature the machine checks.
fn parse_decision<T: serde::de::DeserializeOwned>(
    msg: &RawMessage,
    what: &str,
    malformed: &'static str,
    schema: &str,
    fields: impl Fn(&T) -> (&str, &str),
) -> Result<(T, serde_json::Value), (&'static str, String)> {
    let record: T = parse_keyed(
        msg,
        what,
        malformed,
        schema,
        |r: &T| fields(r).0,
        |r: &T| fields(r).1,
    )?;
    let raw = msg
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_slice(p).ok())
        .ok_or_else(|| (malformed, format!("the {what} is not a JSON object")))?;
    Ok((record, raw))
}

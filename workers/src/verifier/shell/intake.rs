//! Checking and parsing what arrives on the confirmations topic (confirmations, restore
//! reports, access findings, signal deliveries, step attestations, reviews, replay requests,
//! fleet signatures) before the machine sees it: `classify` (pure, shared with the offline
//! re-derivation of `revoke cases rebuild --check`) and the handler's dispatch of its result.

use super::after_close::AfterClose;
use super::VerifierHandler;
use crate::verifier::ack_check::check_ack;
use crate::verifier::machine::Input;
use revoke_shared::config::Person;
use revoke_shared::consume::{Durability, HandlerError};
use revoke_shared::contract::{
    parse_keyed, AccessFinding, Confirmation, RawMessage, ReplayRequest, RestoreReport,
    ReviewRecord, SignalDelivery, StepAttestation, ACCESS_FINDING_SCHEMA, CONFIRMATION_SCHEMA,
    REPLAY_REQUEST_SCHEMA, RESTORE_REPORT_SCHEMA, REVIEW_SCHEMA, SIGNAL_DELIVERY_SCHEMA,
    STEP_ATTESTATION_SCHEMA,
};
use revoke_shared::secret::Secret;
use revoke_shared::signing::EvidenceKeys;
use serde_json::Value;

/// A record of the confirmations topic, parsed and its signatures checked: what the machine
/// gets it as.
#[derive(Debug)]
pub enum Classified {
    Finding(AccessFinding),
    Signal(SignalDelivery),
    Restored(RestoreReport),
    Step(StepAttestation, Value),
    Review(ReviewRecord, Value),
    Replay(ReplayRequest, Value),
    Confirmation(Confirmation),
}

/// What checking a record needs: the fleet secret (its reports and findings are fleet-signed
/// when signing is required), the workers' evidence keys, the people and whether they must sign.
pub struct Checks<'a> {
    pub fleet: Option<&'a Secret>,
    pub evidence_keys: &'a EvidenceKeys,
    pub people: &'a [Person],
    pub signing_required: bool,
}

/// Parses and checks a record of the confirmations topic (`schema` tells its kind, read once):
/// `Err` is the dead letter's reason and detail.
pub fn classify(
    msg: &RawMessage,
    checks: &Checks<'_>,
) -> Result<Classified, (&'static str, String)> {
    let signed = |what: String| check_fleet_signed(checks.fleet, msg, &what);
    match schema_of(msg).as_deref() {
        Some(ACCESS_FINDING_SCHEMA) => {
            let f = parse_finding(msg)?;
            signed(format!(
                "access finding for case {} on {}",
                f.case_id, f.target.kind
            ))?;
            Ok(Classified::Finding(f))
        }
        Some(SIGNAL_DELIVERY_SCHEMA) => {
            let d = parse_signal(msg)?;
            signed(format!(
                "signal delivery for case {} to {}",
                d.case_id, d.receiver
            ))?;
            Ok(Classified::Signal(d))
        }
        Some(RESTORE_REPORT_SCHEMA) => {
            let r = parse_restore_report(msg)?;
            signed(format!(
                "restore report for case {} on {}",
                r.case_id, r.target.kind
            ))?;
            Ok(Classified::Restored(r))
        }
        Some(STEP_ATTESTATION_SCHEMA) => {
            let (a, raw) = parse_decision::<StepAttestation>(
                msg,
                "step attestation",
                "malformed_step_attestation",
                STEP_ATTESTATION_SCHEMA,
                |a| (a.schema.as_str(), a.identity_id.as_str()),
            )?;
            Ok(Classified::Step(a, raw))
        }
        Some(REVIEW_SCHEMA) => {
            let (r, raw) = parse_decision::<ReviewRecord>(
                msg,
                "review",
                "malformed_review",
                REVIEW_SCHEMA,
                |r| (r.schema.as_str(), r.identity_id.as_str()),
            )?;
            Ok(Classified::Review(r, raw))
        }
        Some(REPLAY_REQUEST_SCHEMA) => {
            let (r, raw) = parse_decision::<ReplayRequest>(
                msg,
                "replay request",
                "malformed_replay_request",
                REPLAY_REQUEST_SCHEMA,
                |r| (r.schema.as_str(), r.identity_id.as_str()),
            )?;
            Ok(Classified::Replay(r, raw))
        }
        _ => {
            let c = parse_confirmation(msg)?;
            check_report(checks, msg, c).map(Classified::Confirmation)
        }
    }
}

/// Takes the worker's fleet signature off the record into the report (a restore request
/// carries it back). With signing required, a worker's report must carry a valid one: whoever
/// can merely write the topic cannot forge evidence. A person's `case ack` is an attestation,
/// recorded as such: it carries no fleet signature but must be its person's (`ack_check`).
fn check_report(
    checks: &Checks<'_>,
    msg: &RawMessage,
    mut c: Confirmation,
) -> Result<Confirmation, (&'static str, String)> {
    c.fleet_signature = msg
        .header(revoke_shared::signing::FLEET_SIGNATURE_HEADER)
        .map(|v| String::from_utf8_lossy(v).into_owned());
    if c.target.instance == revoke_shared::contract::MANUAL_INSTANCE {
        let record = serde_json::from_slice(msg.payload.as_deref().unwrap_or_default())
            .map_err(|e| ("malformed_confirmation", e.to_string()))?;
        c.authenticity = Some(check_ack(
            &record,
            &c,
            checks.people,
            checks.signing_required,
        )?);
        return Ok(c);
    }
    let what = format!("report for case {} on {}", c.case_id, c.target.kind);
    check_fleet_signed(checks.fleet, msg, &what)?;
    // The worker's Ed25519 signature, kept in the case so the report can be checked offline.
    crate::evidence::intake::check_worker_confirmation(
        msg.payload.as_deref().unwrap_or_default(),
        checks.evidence_keys,
        checks.signing_required,
        &what,
    )?;
    Ok(c)
}

/// With a fleet secret, a worker's record (`what`, for the dead letter's detail) must carry the
/// fleet's signature over topic, key and value: whoever can merely write the topic can neither
/// forge evidence of a revocation nor report a restore that did not happen.
fn check_fleet_signed(
    fleet: Option<&Secret>,
    msg: &RawMessage,
    what: &str,
) -> Result<(), (&'static str, String)> {
    let Some(secret) = fleet else {
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
    if !revoke_shared::signing::fleet_signature_matches(secret, &msg.topic, key, payload, &sig) {
        return Err((
            "bad_signature",
            format!(
                "the fleet signature of the {what} does not match: not written by this fleet's workers, or changed since"
            ),
        ));
    }
    Ok(())
}

impl VerifierHandler {
    fn checks(&self) -> Checks<'_> {
        Checks {
            fleet: self.fleet.as_deref(),
            evidence_keys: &self.evidence_keys,
            people: &self.cfg.people,
            signing_required: self.cfg.signing.required,
        }
    }

    /// A record of the confirmations topic, classified (`classify`) and applied — or
    /// dead-lettered with the reason. A report, restore report or decision applied returns its
    /// acknowledgements to await (`Handler::handle_staged`).
    pub(super) async fn confirmations_record(
        &self,
        msg: &RawMessage,
    ) -> Result<Option<Durability>, HandlerError> {
        let classified = classify(msg, &self.checks());
        let done = match classified {
            Err((reason, detail)) => self.dead_letters.send(msg, reason, detail).await,
            Ok(Classified::Finding(f)) => self.after_close(msg, AfterClose::Finding(&f)).await,
            Ok(Classified::Signal(d)) => self.after_close(msg, AfterClose::Signal(&d)).await,
            Ok(Classified::Replay(r, raw)) => {
                self.after_close(msg, AfterClose::Replay(&r, &raw)).await
            }
            Ok(Classified::Restored(r)) => {
                let input = Input::Restored(&r);
                return self
                    .apply_staged(input, (r.case_id, msg.partition))
                    .map(Some);
            }
            Ok(Classified::Step(a, raw)) => {
                let input = Input::StepAttestation(&a, &raw);
                return self.decision(msg, a.case_id, input).await;
            }
            Ok(Classified::Review(r, raw)) => {
                let input = Input::Review(&r, &raw);
                return self.decision(msg, r.case_id, input).await;
            }
            Ok(Classified::Confirmation(c)) => {
                let input = Input::Confirmation(&c);
                // For a known case, what the machine refuses (evidence a review set aside, a
                // replay's mark that does not match) is dead-lettered; a report may also open a
                // pending case.
                let known = {
                    let st = self.state.lock().expect("verifier state lock");
                    st.machine.case(&c.case_id).is_some()
                };
                if known {
                    return self.decision(msg, c.case_id, input).await;
                }
                return self
                    .apply_staged(input, (c.case_id, msg.partition))
                    .map(Some);
            }
        };
        done.map(|()| None)
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

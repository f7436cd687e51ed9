//! Publishing the machine's effects: case records to the changelog (each version chained to the
//! one before and signed by the verifier), escalations, and what the workers act on (due,
//! re-drive and restore requests).

use super::{State, Written};
use crate::verifier::machine::Effect;
use chrono::TimeDelta;
use revoke_shared::config::Config;
use revoke_shared::consume::HandlerError;
use revoke_shared::contract::CaseState;
use revoke_shared::kafka::{Ack, Producer};
use revoke_shared::metrics::{
    CaseClosed, CaseVersionPublished, EscalationRaised, Metrics, VerifierNote,
};

/// Enqueues a record for the workers, with the fleet signature when signing is required.
pub(super) fn enqueue_for_workers<T: serde::Serialize>(
    producer: &Producer,
    fleet: Option<&revoke_shared::secret::Secret>,
    topic: &str,
    key: &str,
    value: &T,
    headers: &[(&str, &str)],
) -> Result<Ack, HandlerError> {
    let bytes = serde_json::to_vec(value).map_err(|e| HandlerError::Fatal(e.to_string()))?;
    let signature = fleet.map(|secret| {
        revoke_shared::signing::fleet_signature(secret, topic, key.as_bytes(), &bytes, headers)
    });
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(sig) = &signature {
        all.push((revoke_shared::signing::FLEET_SIGNATURE_HEADER, sig));
    }
    producer
        .enqueue_bytes_with_headers(topic, key, &bytes, None, &all)
        .map_err(|e| HandlerError::Fatal(e.to_string()))
}

/// Enqueues effects in order; counts metrics. With `folding` (the flusher to wake), a case
/// version that does not close its case is held unsent to fold with the next (`fold`);
/// otherwise it is sent now, folding in any version of its case still unsent.
#[allow(clippy::too_many_arguments)]
pub(super) fn enqueue(
    producer: &Producer,
    fleet: Option<&revoke_shared::secret::Secret>,
    evidence: Option<&revoke_shared::signing::RecordSigner>,
    cfg: &Config,
    metrics: &Metrics,
    st: &mut State,
    effects: Vec<Effect>,
    folding: Option<&tokio::sync::Notify>,
) -> Result<Vec<Written>, HandlerError> {
    let mut acks: Vec<Written> = Vec::new();
    let mut renumber = super::fold::Renumber::default();
    for effect in effects {
        match effect {
            Effect::Case(mut case) => {
                let waiters = st.unsent.fold_into(&mut case, &mut renumber);
                match folding {
                    Some(flusher) if case.state != CaseState::Closed => {
                        acks.push(Written::folded(st.unsent.hold(case, waiters)));
                        flusher.notify_one();
                    }
                    _ => acks.push(send_case(
                        producer, evidence, cfg, metrics, st, case, waiters,
                    )?),
                }
            }
            Effect::Escalate(esc) => {
                metrics.emit(EscalationRaised { reason: esc.reason });
                tracing::warn!(case_id = %esc.case_id, identity = %esc.identity_id, reason = esc.reason.as_str(),
                    owner = %esc.owner.name, level = esc.level, targets = ?esc.targets, detail = %esc.detail, "case escalated");
                let ack = producer
                    .enqueue_json(&cfg.topics.escalations, &esc.identity_id, &esc, None)
                    .map_err(|e| HandlerError::Fatal(e.to_string()))?;
                acks.push(ack.into());
            }
            Effect::Restore(req) => {
                metrics.emit(VerifierNote::RestoreRequested);
                tracing::info!(case_id = %req.case_id, identity = %req.identity_id, target = %req.target,
                    "rescinded: asking the target's workers to give back what they revoked");
                acks.push(
                    enqueue_for_workers(
                        producer,
                        fleet,
                        &cfg.topics.restores,
                        &req.identity_id,
                        &req,
                        &[],
                    )?
                    .into(),
                );
            }
            Effect::Due(ev) => {
                metrics.emit(VerifierNote::Due);
                tracing::info!(case_id = %ev.case_id(), identity = %ev.subject, effective_at = ?ev.data.effective_at,
                    "termination released to the workers (effective, and let through by the guard when it is on)");
                acks.push(
                    enqueue_for_workers(
                        producer,
                        fleet,
                        &cfg.topics.due,
                        &ev.subject,
                        &ev.to_structured_json(),
                        &[],
                    )?
                    .into(),
                );
            }
            Effect::Redrive {
                event,
                target,
                n,
                recheck,
                replay,
            } => {
                metrics.emit(VerifierNote::Redrive);
                match replay {
                    Some(r) => {
                        tracing::info!(case_id = %event.case_id(), identity = %event.subject, target = %target, replay = %r, redrive = n,
                        "replay: the target's workers run the termination again for a replay case")
                    }
                    None => {
                        tracing::info!(case_id = %event.case_id(), identity = %event.subject, target = %target,
                        "re-drive: the target failed with transient errors only; its workers run it again")
                    }
                }
                // The headers address one target kind and name what earlier runs left unproven;
                // the fleet signature covers them with the value.
                let n = n.to_string();
                let recheck = (!recheck.is_empty())
                    .then(|| serde_json::to_string(&recheck))
                    .transpose()
                    .map_err(|e| HandlerError::Fatal(e.to_string()))?;
                let mut headers = vec![
                    (
                        revoke_shared::contract::REDRIVE_TARGET_HEADER,
                        target.as_str(),
                    ),
                    (revoke_shared::contract::REDRIVE_COUNT_HEADER, n.as_str()),
                ];
                if let Some(r) = &recheck {
                    headers.push((revoke_shared::contract::RECHECK_HEADER, r.as_str()));
                }
                let replay = replay.map(|r| r.to_string());
                if let Some(r) = &replay {
                    headers.push((revoke_shared::contract::REPLAY_HEADER, r.as_str()));
                }
                acks.push(
                    enqueue_for_workers(
                        producer,
                        fleet,
                        &cfg.topics.due,
                        &event.subject,
                        &event.to_structured_json(),
                        &headers,
                    )?
                    .into(),
                );
            }
            Effect::Admit(a) => {
                metrics.emit(VerifierNote::Admit);
                tracing::debug!(case_id = %a.case_id, identity = %a.identity_id, "asking the blast-radius guard to release the case");
                let key = a.identity_id.clone();
                let ack = producer
                    .enqueue_json(
                        &cfg.topics.guard,
                        &key,
                        &revoke_shared::contract::GuardRecord::admission(a),
                        Some(0),
                    )
                    .map_err(|e| HandlerError::Fatal(e.to_string()))?;
                acks.push(ack.into());
            }
            Effect::Refuse { reason, detail } => {
                // The shell dead-letters refusals before applying (`rescind_refusal`); one
                // reaching here is only counted.
                metrics.emit(VerifierNote::Refused(reason));
                tracing::warn!(reason, detail = %detail, "input refused by the verifier");
            }
            Effect::Note {
                case_id,
                identity_id,
                what,
            } => {
                metrics.emit(what);
                tracing::warn!(case_id = ?case_id, identity = %identity_id, what = what.as_str(), "verifier note");
            }
        }
    }
    for (id, folded) in renumber.folded() {
        st.machine.revision_back(&id, folded);
    }
    Ok(acks)
}

/// Sends a case version now: chained to the version sent before and signed, with an evidence
/// key (`crate::evidence::chain`); `waiters` (of the versions folded into it) are told when it is
/// acknowledged.
pub(super) fn send_case(
    producer: &Producer,
    evidence: Option<&revoke_shared::signing::RecordSigner>,
    cfg: &Config,
    metrics: &Metrics,
    st: &mut State,
    mut case: revoke_shared::contract::Case,
    waiters: Vec<super::fold::Waiter>,
) -> Result<Written, HandlerError> {
    let p = st.partition_of.get(&case.case_id).copied();
    let prev = st.chain.get(&case.case_id).copied();
    let digest = crate::evidence::chain::seal(&mut case, prev.as_ref(), evidence);
    st.chain.published(case.case_id, case.state, digest);
    metrics.emit(CaseVersionPublished { state: case.state });
    // The version that closes the case (reached its state now), not a closed case
    // re-published with a signal delivery or a withheld rescind: closes count once.
    let closing = case.state == CaseState::Closed && case.closed_at == Some(case.updated_at);
    if closing {
        if let Some(ms) = case.time_to_close_ms() {
            metrics.emit(CaseClosed {
                after_escalation: !case.escalations.is_empty(),
                time_to_close: TimeDelta::milliseconds(ms),
            });
        }
    }
    if case.state == CaseState::Closed {
        st.partition_of.remove(&case.case_id);
    }
    tracing::debug!(case_id = %case.case_id, identity = %case.identity_id, state = case.state.as_str(), revision = case.revision, "case updated");
    let ack = producer
        .enqueue_json(&cfg.topics.cases, &case.case_id.to_string(), &case, p)
        .map_err(|e| HandlerError::Fatal(e.to_string()))?;
    Ok(Written {
        wait: super::Wait::Ack(ack),
        closes: (case.state == CaseState::Closed).then_some(case.case_id),
        waiters,
    })
}

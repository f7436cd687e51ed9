//! The consume loop's handler: reads a case version (or dead-letters what is not one), plans
//! its SETs, delivers each receiver's in order (receivers concurrently), reports the delivery
//! as evidence, and only then lets the offset be stored.

use super::evidence::record;
use super::plan::plan;
use super::poll::PollAnswer;
use super::push::Pushed;
use super::set::PlannedSet;
use super::settings::Receiver;
use super::Shared;
use chrono::Utc;
use revoke_shared::consume::{Handler, HandlerError};
use revoke_shared::contract::{
    Case, DeliveredSet, DeliveryOutcome, RawMessage, WorkerInfo, CASE_SCHEMA,
};
use revoke_shared::dlq::DeadLetters;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::SignalOutcome;
use revoke_shared::secret::Secret;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument;

pub(super) struct SignalsHandler {
    pub shared: Arc<Shared>,
    pub dead_letters: DeadLetters,
    pub producer: Producer,
    pub confirmations: String,
    pub fleet: Option<Arc<Secret>>,
    pub worker: WorkerInfo,
}

/// Reads a case record: `Ok(None)` for a tombstone (the compacted topic's deletion marker),
/// or why it is not a case: `(dlq reason, detail)`.
pub fn parse_case(msg: &RawMessage) -> Result<Option<Case>, (&'static str, String)> {
    let Some(payload) = msg.payload.as_deref() else {
        return Ok(None);
    };
    let case: Case = serde_json::from_slice(payload).map_err(|e| {
        (
            "malformed_case",
            format!("case does not match the {CASE_SCHEMA} contract: {e}"),
        )
    })?;
    if case.schema != CASE_SCHEMA {
        return Err((
            "unknown_schema",
            format!("case schema {:?} is not {CASE_SCHEMA}", case.schema),
        ));
    }
    Ok(Some(case))
}

/// How one SET's delivery ended.
enum Ended {
    Accepted(DeliveredSet),
    Refused(PlannedSet, String, String),
}

impl SignalsHandler {
    /// Signs `p` now and delivers it to `r`: `None` when the process stops first.
    async fn deliver_one(
        &self,
        r: &Receiver,
        p: &PlannedSet,
        last: &Mutex<String>,
    ) -> Result<Ended, String> {
        let s = &self.shared;
        let jws = s.sign(p);
        let started = Instant::now();
        let via = r.via();
        let accepted = |at| {
            s.metrics.emit(SignalOutcome::Delivered {
                receiver: &r.name,
                via,
                after: started.elapsed(),
            });
            Ended::Accepted(DeliveredSet {
                jti: p.jti.clone(),
                event_type: p.event_type.into(),
                via: via.into(),
                delivered_at: Some(at),
            })
        };
        match &r.push {
            Some(url) => match s.push(r, url, &p.jti, &jws, last).await {
                Pushed::Accepted => Ok(accepted(Utc::now())),
                Pushed::Refused(code, d) => Ok(Ended::Refused(p.clone(), code, d)),
                Pushed::Stopped(why) => Err(why),
            },
            None => {
                let queue = &s.polls[&r.name];
                let answer = queue.offer(&p.jti, jws);
                *last.lock().expect("last lock") = "offered, not yet acknowledged by a poll".into();
                tokio::select! {
                    a = answer => match a {
                        Ok(PollAnswer::Acked(at)) => Ok(accepted(at)),
                        Ok(PollAnswer::Error(code, d)) => {
                            s.metrics.emit(SignalOutcome::Refused { receiver: &r.name });
                            Ok(Ended::Refused(p.clone(), code, d))
                        }
                        Err(_) => Err(format!("SET {} to receiver {} was replaced in its poll queue", p.jti, r.name)),
                    },
                    _ = s.stop.cancelled() => {
                        queue.withdraw(&p.jti);
                        Err(format!("stopping before receiver {} acknowledged SET {}", r.name, p.jti))
                    }
                }
            }
        }
    }

    /// Delivers `sets` to `r` in order; reports overdue once when its SLA passes first; then
    /// reports what it accepted (and refused) as evidence.
    async fn deliver_to(
        &self,
        msg: &RawMessage,
        case: &Case,
        r: &Receiver,
        sets: &[PlannedSet],
    ) -> Result<(), HandlerError> {
        let last = Mutex::new(String::new());
        let work = async {
            let mut ended = Vec::new();
            for p in sets {
                ended.push(self.deliver_one(r, p, &last).await?);
            }
            Ok::<_, String>(ended)
        };
        tokio::pin!(work);
        let ended = tokio::select! {
            e = &mut work => e,
            _ = tokio::time::sleep(r.sla) => {
                let last_failure = last.lock().expect("last lock").clone();
                self.overdue(case, r, sets, &last_failure).await?;
                work.await
            }
        }
        .map_err(HandlerError::Retry)?;
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for e in ended {
            match e {
                Ended::Accepted(d) => accepted.push(d),
                Ended::Refused(p, code, d) => refused.push((p, code, d)),
            }
        }
        for (p, code, d) in &refused {
            tracing::error!(receiver = %r.name, jti = %p.jti, event_type = p.event_type, err = %code, description = %d,
                owner = %r.owner.name, "the receiver refused the SET for good: dead-lettered, reported overdue");
            self.dead_letters
                .send(
                    msg,
                    "signal_refused",
                    format!(
                        "receiver {} refused SET {} ({}) with {code}: {d}",
                        r.name, p.jti, p.event_type
                    ),
                )
                .await?;
        }
        let now = Utc::now();
        if !accepted.is_empty() {
            let d = record(
                case,
                r,
                DeliveryOutcome::Delivered,
                accepted.clone(),
                String::new(),
                now,
                &self.worker,
            );
            self.publish(&d).await.map_err(HandlerError::Retry)?;
        }
        if !refused.is_empty() {
            let sets = refused.iter().map(|(p, _, _)| undelivered(p, r)).collect();
            let detail = refused
                .iter()
                .map(|(p, c, d)| format!("{} refused with {c}: {d}", p.jti))
                .collect::<Vec<_>>()
                .join("; ");
            let d = record(
                case,
                r,
                DeliveryOutcome::Overdue,
                sets,
                detail,
                now,
                &self.worker,
            );
            self.publish(&d).await.map_err(HandlerError::Retry)?;
        }
        // Remembered only once the evidence is out: a record handled again after a failure to
        // report sends its SETs again (same jti) and reports them.
        let mut mem = self.shared.memory.lock().expect("memory lock");
        for p in sets {
            mem.insert(&r.name, &p.jti);
        }
        Ok(())
    }

    /// Reports once (per case and receiver, in this process) that `r` has not accepted within
    /// its SLA.
    async fn overdue(
        &self,
        case: &Case,
        r: &Receiver,
        sets: &[PlannedSet],
        last: &str,
    ) -> Result<(), HandlerError> {
        let key = format!("overdue:{}", r.name);
        let case_key = case.case_id.to_string();
        if self
            .shared
            .memory
            .lock()
            .expect("memory lock")
            .contains(&key, &case_key)
        {
            return Ok(());
        }
        self.shared
            .metrics
            .emit(SignalOutcome::Overdue { receiver: &r.name });
        let detail = format!(
            "not accepted within {} s (sla_secs); last: {last}",
            r.sla.as_secs()
        );
        tracing::error!(receiver = %r.name, owner = %r.owner.name, contact = %r.owner.contact, detail = %detail, "SETs overdue at a receiver; still delivering");
        let d = record(
            case,
            r,
            DeliveryOutcome::Overdue,
            sets.iter().map(|p| undelivered(p, r)).collect(),
            detail,
            Utc::now(),
            &self.worker,
        );
        self.publish(&d).await.map_err(HandlerError::Retry)?;
        self.shared
            .memory
            .lock()
            .expect("memory lock")
            .insert(&key, &case_key);
        Ok(())
    }

    async fn handle_case(&self, msg: &RawMessage, case: Case) -> Result<(), HandlerError> {
        let s = &self.shared;
        let planned = plan(&case, &s.settings.plan_config);
        for (receiver, reason) in &planned.skipped {
            s.metrics.emit(SignalOutcome::Skipped { receiver, reason });
            tracing::warn!(receiver = %receiver, reason, revision = case.revision, "no SET for this receiver: the case lacks what its subject format needs");
        }
        let mut by_receiver: BTreeMap<&str, Vec<PlannedSet>> = BTreeMap::new();
        {
            let mem = s.memory.lock().expect("memory lock");
            for p in planned.sets {
                if !mem.contains(&p.receiver, &p.jti) {
                    by_receiver
                        .entry(s.settings.receivers[&p.receiver].name.as_str())
                        .or_default()
                        .push(p);
                }
            }
        }
        let results =
            futures::future::join_all(by_receiver.iter().map(|(name, sets)| {
                self.deliver_to(msg, &case, &s.settings.receivers[*name], sets)
            }))
            .await;
        results.into_iter().collect()
    }
}

fn undelivered(p: &PlannedSet, r: &Receiver) -> DeliveredSet {
    DeliveredSet {
        jti: p.jti.clone(),
        event_type: p.event_type.into(),
        via: r.via().into(),
        delivered_at: None,
    }
}

#[async_trait::async_trait]
impl Handler for SignalsHandler {
    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        let case = match parse_case(msg) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()),
            Err((reason, detail)) => return self.dead_letters.send(msg, reason, detail).await,
        };
        let span = tracing::info_span!("signals", case_id = %case.case_id, identity = %case.identity_id, revision = case.revision);
        self.handle_case(msg, case).instrument(span).await
    }
}

impl Shared {
    /// `p` as a signed SET, issued now by the first key.
    pub(super) fn sign(&self, p: &PlannedSet) -> String {
        super::jws::sign(
            self.settings.signer(),
            &p.claims(&self.settings.issuer, Utc::now().timestamp()),
        )
    }
}

//! The verifier's Kafka shell.
//!
//! The verifier joins the `revoke-verifier` group on `hr.terminations` + `revoke.confirmations`;
//! several instances split the partitions. The changelog `revoke.cases` is co-partitioned with
//! those inputs (a case is written to the partition of the inputs that made it), so a partition's
//! state is that changelog partition. When the group assigns partitions to an instance (at start,
//! or when another instance joins, leaves or dies), the instance reads those changelog partitions
//! to their end and `restore`s their cases *before* it handles any of their inputs; when
//! partitions are taken away it forgets their cases and flushes what it wrote, before the group
//! may hand them on (the consume loop defers the hand-over until then, see `rebalance`). Inputs
//! not yet committed are read again and absorbed by the machine's idempotency, so a restart or a
//! rebalance loses and duplicates nothing.
//!
//! Effects are enqueued while the state lock is held, so the changelog receives each case's
//! versions in the order the machine made them; acknowledgements are awaited after unlocking.
//! A changelog write that fails is fatal: the in-memory state would be ahead of the changelog,
//! so the verifier stops (offsets unstored) and its restart rebuilds from what was acknowledged.
//!
//! With the blast-radius guard on, every instance also tails the single-partition guard log from
//! its start (`guard_tail`), judges it with the pure `Guard`, and applies the verdicts on the
//! cases it owns; a case taken over in a rebalance gets the verdict already judged for it.

use super::guard::{Guard, Judged};
use super::machine::{Effect, Input, Verifier};
use chrono::Utc;
use rdkafka::consumer::{BaseConsumer, Consumer};
use revoke_shared::config::Config;
use revoke_shared::consume::{self, Handler, HandlerError, LoopOptions, Stop};
use revoke_shared::contract::{
    parse_keyed, Case, CaseState, Confirmation, HrEvent, HrEventKind, RawMessage, RestoreReport,
    CASE_SCHEMA, CONFIRMATION_SCHEMA, RESTORE_REPORT_SCHEMA,
};
use revoke_shared::dlq::dead_letter;
use revoke_shared::kafka::{reader_config, Ack, Producer};
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::rebalance::Part;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct State {
    machine: Verifier,
    /// The blast-radius guard's judgement of the whole guard log read so far.
    guard: Guard,
    /// Input partitions whose cases are loaded (this instance owns them).
    owned: std::collections::BTreeSet<i32>,
    /// Changelog partition of each case: the partition of the inputs that made it, so the
    /// changelog stays co-partitioned with the inputs (and compaction sees one key per partition).
    partition_of: HashMap<Uuid, i32>,
}

pub struct VerifierHandler {
    state: Arc<Mutex<State>>,
    producer: Producer,
    /// With signing required: the secret that signs what the workers get (`revoke.due`,
    /// `revoke.restores`), so that they can refuse what the verifier did not write.
    fleet: Option<Arc<revoke_shared::secret::Secret>>,
    cfg: Config,
    metrics: Metrics,
    group: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(
        "reading the cases changelog {topic}: {source} (check that `revoke topics create` ran)"
    )]
    Kafka {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("topics are not co-partitioned: {0} (recreate them with `revoke topics create`)")]
    Partitions(String),
    #[error("topic {0} does not exist (yet?): run `revoke topics create`")]
    Missing(String),
}

fn partition_count(reader: &BaseConsumer, topic: &str) -> Result<usize, RebuildError> {
    let md = reader
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|source| RebuildError::Kafka {
            topic: topic.into(),
            source,
        })?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len()))
}

/// Fails unless the verifier's inputs and its changelog have the same partition count.
pub fn check_copartitioned(cfg: &Config) -> Result<(), RebuildError> {
    let reader: BaseConsumer =
        reader_config(cfg)
            .create()
            .map_err(|source| RebuildError::Kafka {
                topic: cfg.topics.cases.clone(),
                source,
            })?;
    let t = &cfg.topics;
    let counts: Vec<(String, usize)> = [&t.terminations, &t.confirmations, &t.cases]
        .iter()
        .map(|name| partition_count(&reader, name).map(|n| (name.to_string(), n)))
        .collect::<Result<_, _>>()?;
    if let Some((name, _)) = counts.iter().find(|(_, n)| *n == 0) {
        return Err(RebuildError::Missing(name.clone()));
    }
    if counts.windows(2).any(|w| w[0].1 != w[1].1) {
        return Err(RebuildError::Partitions(format!("{counts:?}")));
    }
    if cfg.verifier.guard.enabled {
        // The guard log's order is the fleet-wide order only with exactly one partition.
        match partition_count(&reader, &t.guard)? {
            0 => return Err(RebuildError::Missing(t.guard.clone())),
            1 => {}
            n => {
                return Err(RebuildError::Partitions(format!(
                    "{} has {n} partitions; the blast-radius guard's log needs exactly one",
                    t.guard
                )))
            }
        }
    }
    Ok(())
}

impl VerifierHandler {
    /// Applies `input` to the machine and enqueues its effects, with the state lock held (so
    /// the changelog gets each case's versions in order); the caller awaits the acks unlocked.
    fn apply_locked(&self, st: &mut State, input: Input<'_>) -> Result<Vec<Written>, HandlerError> {
        let effects = st.machine.apply(input, Utc::now());
        let acks = enqueue(
            &self.producer,
            self.fleet.as_deref(),
            &self.cfg,
            &self.metrics,
            st,
            effects,
        )?;
        self.metrics.open_cases.set(st.machine.open_count() as i64);
        Ok(acks)
    }

    /// Applies `input` and enqueues the effects under the lock; waits for acks outside it.
    async fn apply(
        &self,
        input: Input<'_>,
        partition: Option<(Uuid, i32)>,
    ) -> Result<(), HandlerError> {
        let acks = {
            let mut st = self.state.lock().expect("verifier state lock");
            if let Some((case_id, p)) = partition {
                st.partition_of.entry(case_id).or_insert(p);
            }
            self.apply_locked(&mut st, input)?
        };
        self.wait_all(acks).await
    }

    /// Waits for every acknowledgement; a write the broker refused is fatal (see the module
    /// doc). A case's closing record leaves its changelog offset with the closed marker, so a
    /// rescind after close reads that one record back instead of the partition's history.
    async fn wait_all(&self, written: Vec<Written>) -> Result<(), HandlerError> {
        let mut closed = Vec::new();
        for w in written {
            let (_, offset) = w
                .ack
                .wait()
                .await
                .map_err(|e| HandlerError::Fatal(e.to_string()))?;
            if let Some(id) = w.closes {
                closed.push((id, offset));
            }
        }
        if !closed.is_empty() {
            let mut st = self.state.lock().expect("verifier state lock");
            for (id, offset) in closed {
                st.machine.note_closed_offset(&id, offset);
            }
        }
        Ok(())
    }
}

/// A write to wait for: its acknowledgement and, for a case's closing record, that case.
struct Written {
    ack: Ack,
    closes: Option<Uuid>,
}

impl From<Ack> for Written {
    fn from(ack: Ack) -> Written {
        Written { ack, closes: None }
    }
}

impl VerifierHandler {
    /// Records of the guard log, in its order: judged for the whole fleet, applied here to the
    /// cases this instance owns (the others' owners apply them to theirs). A burst is applied
    /// as one batch whose acknowledgements are awaited together: one round trip, not one each.
    async fn on_guard_records(
        &self,
        records: &[(i64, revoke_shared::contract::GuardEntry)],
    ) -> Result<(), HandlerError> {
        let acks = {
            let mut st = self.state.lock().expect("verifier state lock");
            let mut judged = Vec::new();
            for (offset, entry) in records {
                judged.extend(st.guard.apply(*offset, entry));
            }
            export_guard_sizes(&self.metrics, st.guard.sizes());
            let mut acks = Vec::new();
            for j in &judged {
                if let super::guard::Verdict::Held {
                    batch,
                    opens_batch: true,
                    ..
                } = &j.verdict
                {
                    tracing::warn!(batch = %batch, "blast-radius guard: a batch of cases is held");
                }
                if st.machine.case(&j.case_id).is_none() {
                    continue; // another instance's case
                }
                acks.extend(self.apply_locked(&mut st, Input::Guard(j))?);
            }
            acks
        };
        self.wait_all(acks).await
    }
}

/// Sets the `revoke_guard_*` gauges: what the guard holds in memory (its bounds in `guard`).
fn export_guard_sizes(metrics: &Metrics, s: super::guard::Sizes) {
    let set = |g: &prometheus::IntGaugeVec, label: &str, n: usize| {
        g.with_label_values(&[label]).set(n as i64)
    };
    set(&metrics.guard_verdicts, "released", s.released);
    set(&metrics.guard_verdicts, "held", s.held);
    set(&metrics.guard_verdicts, "decided", s.decided);
    set(&metrics.guard_batches, "held", s.held_batches);
    set(&metrics.guard_batches, "decided", s.decided_batches);
    set(&metrics.guard_batches, "settled", s.settled_batches);
    metrics.guard_held_cases.set(s.held as i64);
}

/// Reads the guard log from its start into `tx` until `stop`, on a blocking thread: every
/// decodable record with its offset. Unreadable records are skipped with a warning (only revoke
/// writes this topic).
fn guard_tail(
    cfg: &Config,
    tx: tokio::sync::mpsc::Sender<(i64, revoke_shared::contract::GuardEntry)>,
    stop: CancellationToken,
) -> Result<(), rdkafka::error::KafkaError> {
    use rdkafka::message::Message;
    use rdkafka::{Offset, TopicPartitionList};
    let reader: BaseConsumer = reader_config(cfg)
        // A verdict is on the path of every case: ask the broker not to sit on an empty fetch.
        .set("fetch.wait.max.ms", "20")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&cfg.topics.guard, 0, Offset::Beginning)?;
    reader.assign(&tpl)?;
    while !stop.is_cancelled() {
        match reader.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, topic = %cfg.topics.guard, "reading the guard log; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Some(Ok(m)) => {
                let Some(payload) = m.payload() else { continue };
                match serde_json::from_slice::<revoke_shared::contract::GuardRecord>(payload) {
                    Ok(r) if r.schema == revoke_shared::contract::GUARD_SCHEMA => {
                        if tx.blocking_send((m.offset(), r.entry)).is_err() {
                            return Ok(());
                        }
                    }
                    Ok(r) => {
                        tracing::warn!(schema = %r.schema, offset = m.offset(), "unknown guard log schema; skipped")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, offset = m.offset(), "unreadable guard log record; skipped")
                    }
                }
            }
        }
    }
    Ok(())
}

impl VerifierHandler {
    /// A rescind. For a case that already closed, the machine keeps only a marker, so its last
    /// record is read back from the changelog to know what to give back: the one record at the
    /// offset the marker keeps (the partition of the identity's inputs, where the verifier
    /// writes it). Only a marker without an offset (or a record no longer there) falls back to
    /// reading the partition's history, then every partition; that is counted
    /// (`revoke_verifier_notes_total{what="closed_case_scanned"}`).
    async fn rescind(
        &self,
        msg: &RawMessage,
        ev: &HrEvent,
        partition: i32,
    ) -> Result<(), HandlerError> {
        let (closed, refused) = {
            let st = self.state.lock().expect("verifier state lock");
            (
                st.machine
                    .rescind_applies_to(ev)
                    .filter(|id| st.machine.is_closed(id))
                    .map(|id| (id, st.machine.closed_offset(&id))),
                st.machine.rescind_refusal(ev),
            )
        };
        if let Some((reason, detail)) = refused {
            tracing::warn!(identity = %ev.subject, event_id = %ev.id, reason, "rescind refused");
            return dead_letter(
                &self.producer,
                &self.cfg.topics.dlq,
                msg,
                reason,
                detail,
                &self.group,
                &self.metrics,
            )
            .await;
        }
        let Some((case_id, offset)) = closed else {
            return self
                .apply(Input::Hr(ev), Some((ev.case_id(), partition)))
                .await;
        };
        let cfg = self.cfg.clone();
        let metrics = self.metrics.clone();
        let record = tokio::task::spawn_blocking(move || {
            if let Some(case) = offset
                .map(|o| closed_case_at(&cfg, case_id, partition, o))
                .transpose()?
                .flatten()
            {
                return Ok(Some(case));
            }
            metrics
                .verifier_notes
                .with_label_values(&["closed_case_scanned"])
                .inc();
            closed_case_record(&cfg, case_id, Some(partition))
                .transpose()
                .or_else(|| closed_case_record(&cfg, case_id, None).transpose())
                .transpose()
        })
        .await
        .map_err(|e| HandlerError::Retry(format!("reading the closed case {case_id}: {e}")))?
        .map_err(|e| {
            HandlerError::Retry(format!(
                "reading the closed case {case_id} from {}: {e}",
                self.cfg.topics.cases
            ))
        })?;
        match record {
            Some(case) => {
                self.apply(Input::RescindClosed(ev, &case), Some((case_id, partition)))
                    .await
            }
            None => {
                tracing::warn!(case_id = %case_id, "closed case not found in the changelog: the rescind is only noted");
                self.apply(Input::Hr(ev), Some((ev.case_id(), partition)))
                    .await
            }
        }
    }
}

/// The record of `case_id` at `offset` of changelog partition `partition`, if it is there.
fn closed_case_at(
    cfg: &Config,
    case_id: Uuid,
    partition: i32,
    offset: i64,
) -> Result<Option<Case>, rdkafka::error::KafkaError> {
    let record = revoke_shared::kafka::read_one_at(
        cfg,
        &cfg.topics.cases,
        partition,
        offset,
        Duration::from_secs(60),
    )?;
    Ok(record
        .and_then(|r| serde_json::from_slice::<Case>(&r.payload?).ok())
        .filter(|c| c.schema == CASE_SCHEMA && c.case_id == case_id))
}

/// The latest record of `case_id` in the changelog (`partition` only, or every partition).
fn closed_case_record(
    cfg: &Config,
    case_id: Uuid,
    partition: Option<i32>,
) -> Result<Option<Case>, rdkafka::error::KafkaError> {
    let only = partition.map(|p| vec![p]);
    let key = case_id.to_string();
    let records = revoke_shared::kafka::read_partitions_to_end(
        cfg,
        &cfg.topics.cases,
        only.as_deref(),
        Duration::from_secs(60),
    )?;
    Ok(records
        .into_iter()
        .filter(|r| r.key.as_deref() == Some(key.as_bytes()))
        .filter_map(|r| serde_json::from_slice::<Case>(&r.payload?).ok())
        .filter(|c| c.schema == CASE_SCHEMA && c.case_id == case_id)
        .max_by_key(|c| c.revision))
}

/// Enqueues a record for the workers, with the fleet signature when signing is required.
fn enqueue_for_workers<T: serde::Serialize>(
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

/// Enqueues effects in order; counts metrics.
fn enqueue(
    producer: &Producer,
    fleet: Option<&revoke_shared::secret::Secret>,
    cfg: &Config,
    metrics: &Metrics,
    st: &mut State,
    effects: Vec<Effect>,
) -> Result<Vec<Written>, HandlerError> {
    let mut acks: Vec<Written> = Vec::new();
    for effect in effects {
        match effect {
            Effect::Case(case) => {
                let p = st.partition_of.get(&case.case_id).copied();
                metrics
                    .case_updates
                    .with_label_values(&[case.state.as_str()])
                    .inc();
                if case.state == CaseState::Closed {
                    if let Some(ms) = case.time_to_close_ms() {
                        let label = if case.escalations.is_empty() {
                            "closed"
                        } else {
                            "closed_after_escalation"
                        };
                        metrics
                            .time_to_close
                            .with_label_values(&[label])
                            .observe(ms.max(0) as f64 / 1000.0);
                    }
                    st.partition_of.remove(&case.case_id);
                }
                tracing::debug!(case_id = %case.case_id, identity = %case.identity_id, state = case.state.as_str(), revision = case.revision, "case updated");
                let ack = producer
                    .enqueue_json(&cfg.topics.cases, &case.case_id.to_string(), &case, p)
                    .map_err(|e| HandlerError::Fatal(e.to_string()))?;
                acks.push(Written {
                    ack,
                    closes: (case.state == CaseState::Closed).then_some(case.case_id),
                });
            }
            Effect::Escalate(esc) => {
                metrics
                    .escalations
                    .with_label_values(&[esc.reason.as_str()])
                    .inc();
                tracing::warn!(case_id = %esc.case_id, identity = %esc.identity_id, reason = esc.reason.as_str(),
                    owner = %esc.owner.name, level = esc.level, targets = ?esc.targets, detail = %esc.detail, "case escalated");
                let ack = producer
                    .enqueue_json(&cfg.topics.escalations, &esc.identity_id, &esc, None)
                    .map_err(|e| HandlerError::Fatal(e.to_string()))?;
                acks.push(ack.into());
            }
            Effect::Restore(req) => {
                metrics
                    .verifier_notes
                    .with_label_values(&["restore_requested"])
                    .inc();
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
                metrics.verifier_notes.with_label_values(&["due"]).inc();
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
            } => {
                metrics.verifier_notes.with_label_values(&["redrive"]).inc();
                tracing::info!(case_id = %event.case_id(), identity = %event.subject, target = %target,
                    "re-drive: the target failed with transient errors only; its workers run it again");
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
                metrics.verifier_notes.with_label_values(&["admit"]).inc();
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
                metrics.verifier_notes.with_label_values(&[reason]).inc();
                tracing::warn!(reason, detail = %detail, "input refused by the verifier");
            }
            Effect::Note {
                case_id,
                identity_id,
                what,
            } => {
                metrics.verifier_notes.with_label_values(&[what]).inc();
                tracing::warn!(case_id = ?case_id, identity = %identity_id, what, "verifier note");
            }
        }
    }
    Ok(acks)
}

#[async_trait::async_trait]
impl Handler for VerifierHandler {
    /// Loads the cases of the partitions gained from the changelog, before their inputs.
    async fn assigned(&self, parts: &[Part]) -> Result<(), HandlerError> {
        let gained: Vec<i32> = {
            let st = self.state.lock().expect("verifier state lock");
            let mut g: Vec<i32> = parts
                .iter()
                .map(|(_, p)| *p)
                .filter(|p| !st.owned.contains(p))
                .collect();
            g.sort_unstable();
            g.dedup();
            g
        };
        if gained.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let cfg = self.cfg.clone();
        let wanted = gained.clone();
        let records = tokio::task::spawn_blocking(move || read_cases_of(&cfg, &wanted))
            .await
            .map_err(|e| HandlerError::Fatal(format!("rebuilding partitions {gained:?}: {e}")))?
            .map_err(|e| HandlerError::Fatal(e.to_string()))?;
        let n = records.len();
        let (acks, open) = {
            let mut st = self.state.lock().expect("verifier state lock");
            for (p, offset, case) in records {
                if case.state == CaseState::Closed {
                    st.partition_of.remove(&case.case_id);
                } else {
                    st.partition_of.insert(case.case_id, p);
                }
                st.machine.restore_at(case, offset);
            }
            st.owned.extend(gained.iter().copied());
            // Verdicts the guard log already holds for cases taken over while they waited.
            let waiting: Vec<Judged> = st
                .partition_of
                .iter()
                .filter(|(_, p)| gained.contains(p))
                .filter_map(|(id, _)| {
                    let asks = st.machine.waiting_for_guard(id)?;
                    Some(Judged {
                        case_id: *id,
                        identity_id: st.machine.case(id)?.identity_id.clone(),
                        asks,
                        verdict: st.guard.verdict(id, asks)?,
                    })
                })
                .collect();
            let mut acks = Vec::new();
            for j in &waiting {
                acks.extend(self.apply_locked(&mut st, Input::Guard(j))?);
            }
            self.metrics.open_cases.set(st.machine.open_count() as i64);
            (acks, st.machine.open_count())
        };
        self.wait_all(acks).await?;
        tracing::info!(partitions = ?gained, records = n, open,
            ms = started.elapsed().as_millis() as u64, "verifier partitions taken over: cases rebuilt from the changelog");
        Ok(())
    }

    /// Forgets the cases of the partitions given up, then waits until everything written for
    /// them (also by the deadline tick) is in the changelog their next owner will read.
    async fn revoked(&self, parts: &[Part]) {
        let lost: std::collections::BTreeSet<i32> = parts.iter().map(|(_, p)| *p).collect();
        {
            let mut st = self.state.lock().expect("verifier state lock");
            let ids: Vec<Uuid> = st
                .partition_of
                .iter()
                .filter(|(_, p)| lost.contains(p))
                .map(|(id, _)| *id)
                .collect();
            st.machine.forget(ids.iter().copied());
            for id in &ids {
                st.partition_of.remove(id);
            }
            st.owned.retain(|p| !lost.contains(p));
            self.metrics.open_cases.set(st.machine.open_count() as i64);
            tracing::info!(partitions = ?lost, forgotten = ids.len(), "verifier partitions given up");
        }
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(30))).await;
    }

    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        // The loop announces every assignment before its records; an input from a partition
        // whose cases are not loaded would be decided on missing state.
        if !self
            .state
            .lock()
            .expect("verifier state lock")
            .owned
            .contains(&msg.partition)
        {
            return Err(HandlerError::Fatal(format!(
                "input from {}/{} whose cases are not loaded",
                msg.topic, msg.partition
            )));
        }
        let dlq = |reason: &str, detail: String| {
            let reason = reason.to_string();
            async move {
                dead_letter(
                    &self.producer,
                    &self.cfg.topics.dlq,
                    msg,
                    &reason,
                    detail,
                    &self.group,
                    &self.metrics,
                )
                .await
            }
        };
        if msg.topic == self.cfg.topics.terminations {
            // With `[signing] required`, terminations and rescinds alike need a valid signature.
            match revoke_shared::signing::parse_hr_input(msg, &self.cfg) {
                Err(e) if !e.is_dead_letter() => Err(HandlerError::Fatal(e.to_string())),
                Ok(ev) if ev.kind == HrEventKind::Rescinded => {
                    self.rescind(msg, &ev, msg.partition).await
                }
                Ok(ev) => {
                    self.apply(Input::Hr(&ev), Some((ev.case_id(), msg.partition)))
                        .await
                }
                Err(e) => dlq(e.reason(), e.to_string()).await,
            }
        } else if msg.topic == self.cfg.topics.confirmations && is_restore_report(msg) {
            match parse_restore_report(msg).and_then(|r| {
                let what = format!("restore report for case {} on {}", r.case_id, r.target.kind);
                self.check_fleet_signed(msg, &what).map(|_| r)
            }) {
                Ok(r) => {
                    self.apply(Input::Restored(&r), Some((r.case_id, msg.partition)))
                        .await
                }
                Err((reason, detail)) => dlq(reason, detail).await,
            }
        } else if msg.topic == self.cfg.topics.confirmations {
            match parse_confirmation(msg).and_then(|c| self.check_report(msg, c)) {
                Ok(c) => {
                    self.apply(Input::Confirmation(&c), Some((c.case_id, msg.partition)))
                        .await
                }
                Err((reason, detail)) => dlq(reason, detail).await,
            }
        } else {
            dlq(
                "unexpected_topic",
                format!("the verifier does not read topic {}", msg.topic),
            )
            .await
        }
    }
}

impl VerifierHandler {
    /// Takes the worker's fleet signature off the record into the report (a restore request
    /// carries it back). With signing required, a worker's report must carry a valid one: whoever
    /// can merely write the topic cannot forge evidence. A person's `case ack` is an attestation,
    /// recorded as such, and carries none.
    fn check_report(
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
    fn check_fleet_signed(
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

/// Restore reports share the confirmations topic (same key, same partition); `schema` tells.
fn is_restore_report(msg: &RawMessage) -> bool {
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: Option<String>,
    }
    msg.payload
        .as_deref()
        .and_then(|p| serde_json::from_slice::<Schema>(p).ok())
        .and_then(|s| s.schema)
        .is_some_and(|s| s == RESTORE_REPORT_SCHEMA)
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

/// Waits (up to a minute) for the inputs and the changelog to exist with equal partition counts:
/// at start-up the broker may still be coming up or not yet show freshly created topics. A
/// partition mismatch is not retried: it needs a person.
fn wait_for_topics(cfg: &Config) -> Result<(), RebuildError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match check_copartitioned(cfg) {
            Ok(()) => return Ok(()),
            Err(e @ RebuildError::Partitions(_)) => return Err(e),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "verifier topics not ready yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The cases of changelog partitions `parts` with their partition and offset, as acknowledged
/// so far (retried for a minute).
fn read_cases_of(cfg: &Config, parts: &[i32]) -> Result<Vec<(i32, i64, Case)>, RebuildError> {
    let topic = &cfg.topics.cases;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let records = loop {
        match revoke_shared::kafka::read_partitions_to_end(
            cfg,
            topic,
            Some(parts),
            Duration::from_secs(30),
        ) {
            Ok(records) => break records,
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, partitions = ?parts, "cannot read the cases changelog yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(source) => {
                return Err(RebuildError::Kafka {
                    topic: topic.clone(),
                    source,
                })
            }
        }
    };
    Ok(records
        .into_iter()
        .filter_map(|r| {
            let payload = r.payload?; // a tombstone
            match serde_json::from_slice::<Case>(&payload) {
                Ok(c) if c.schema == CASE_SCHEMA => Some((r.partition, r.offset, c)),
                Ok(c) => {
                    tracing::warn!(schema = %c.schema, offset = r.offset, "unknown case schema in changelog; skipped");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, offset = r.offset, "unreadable case record in changelog; skipped");
                    None
                }
            }
        })
        .collect())
}

/// Runs the verifier until stopped (or a fatal error).
pub async fn run_verifier(
    cfg: &Config,
    metrics: Metrics,
    health: Health,
    stop_on: Stop,
) -> anyhow::Result<()> {
    let shutdown = stop_on.graceful.clone();
    let cfg = cfg.clone();
    {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || wait_for_topics(&cfg)).await??;
    }
    metrics.open_cases.set(0);

    let producer = Producer::new(&cfg)?;
    // Empty until the group assigns partitions (`Handler::assigned` loads their cases).
    let state = Arc::new(Mutex::new(State {
        machine: Verifier::new(cfg.verifier.clone()),
        guard: Guard::new(cfg.verifier.guard.clone()),
        owned: Default::default(),
        partition_of: HashMap::new(),
    }));
    let fleet = cfg
        .signing
        .fleet_secret()
        .map_err(revoke_shared::config::ConfigError::Invalid)?;
    let handler = Arc::new(VerifierHandler {
        state: state.clone(),
        producer: producer.clone(),
        fleet,
        cfg: cfg.clone(),
        metrics: metrics.clone(),
        group: super::group(&cfg),
    });

    // Deadlines: a tick applies the clock to every open case.
    let stop = CancellationToken::new();
    let tick_failed = CancellationToken::new();
    let ticker = {
        let handler = handler.clone();
        let stop = stop.clone();
        let shutdown = shutdown.clone();
        let tick_failed = tick_failed.clone();
        let period = Duration::from_millis(cfg.verifier.tick_ms.max(10));
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = interval.tick() => {
                        if let Err(e) = handler.apply(Input::Tick, None).await {
                            tracing::error!(error = %e, "deadline tick could not publish; stopping the verifier");
                            tick_failed.cancel();
                            shutdown.cancel();
                            return;
                        }
                    }
                }
            }
        })
    };

    // The guard log, judged as it is read; a verdict that cannot be published stops the
    // verifier like a failed tick (the log is read again from its start after the restart).
    let guard_task = cfg.verifier.guard.enabled.then(|| {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let reader = {
            let (cfg, stop) = (cfg.clone(), stop.clone());
            tokio::task::spawn_blocking(move || {
                if let Err(e) = guard_tail(&cfg, tx, stop) {
                    tracing::error!(error = %e, "cannot read the guard log");
                }
            })
        };
        let handler = handler.clone();
        let (stop, shutdown, tick_failed) = (stop.clone(), shutdown.clone(), tick_failed.clone());
        let applier = tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = rx.recv() => next,
                };
                let Some(first) = next else {
                    // The reader ended without being asked to: no verdict would ever come, and
                    // every new case would wait for one. Stop, so that the restart reads again.
                    if !stop.is_cancelled() {
                        tracing::error!("the guard log reader stopped; stopping the verifier");
                        tick_failed.cancel();
                        shutdown.cancel();
                    }
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < 4096 {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                if let Err(e) = handler.on_guard_records(&batch).await {
                    tracing::error!(error = %e, "a guard verdict could not be published; stopping the verifier");
                    tick_failed.cancel();
                    shutdown.cancel();
                    return;
                }
            }
        });
        (reader, applier)
    });

    let group = super::group(&cfg);
    let consumer = consume::subscribe(
        &cfg,
        &group,
        &[&cfg.topics.terminations, &cfg.topics.confirmations],
    )?;
    tracing::info!(group = %group, "verifier started");
    let opts = LoopOptions::new(&cfg, &group, metrics, health);
    let result = consume::run(consumer, handler, opts, stop_on).await;
    stop.cancel();
    let _ = ticker.await;
    if let Some((reader, applier)) = guard_task {
        let _ = applier.await;
        let _ = reader.await;
    }
    producer.flush(Duration::from_secs(10));
    tracing::info!("verifier stopped");
    result?;
    if tick_failed.is_cancelled() {
        anyhow::bail!("the verifier stopped because a deadline escalation or a guard verdict could not be published, or the guard log could not be read");
    }
    Ok(())
}

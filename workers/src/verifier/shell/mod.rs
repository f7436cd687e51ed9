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
//! A case version made by a record of the consume loop may be held a few milliseconds and folded
//! with the case's next (`fold`); the record's offset waits for the version that holds it.
//! A changelog write that fails is fatal: the in-memory state would be ahead of the changelog,
//! so the verifier stops (offsets unstored) and its restart rebuilds from what was acknowledged.
//!
//! With the blast-radius guard on, every instance also tails the single-partition guard log from
//! its start (`guard_tail`), judges it with the pure `Guard`, and applies the verdicts on the
//! cases it owns; a case taken over in a rebalance gets the verdict already judged for it.
//!
//! This file holds the handler and its consume loop (`assigned`, `revoked`, `handle`); `intake`
//! checks and parses what arrives, `publish` writes the machine's effects, `rescind` reads a
//! closed case back for a rescind, `after_close` does the same for access findings and signal
//! deliveries (and dead-letters what the machine refuses), `guard_log` tails the guard log, `decision_refusals` dead-letters its refused decisions
//! once (a consumer group of its own), `rebuild` reads the
//! changelog and `run` starts it all.

use super::guard::{Guard, Judged};
use super::machine::{Input, Verifier};
use chrono::Utc;
use revoke_shared::config::Config;
use revoke_shared::consume::{Durability, Handler, HandlerError};
use revoke_shared::contract::{HrEventKind, RawMessage};
use revoke_shared::dlq::DeadLetters;
use revoke_shared::kafka::{Ack, Producer};
use revoke_shared::metrics::{GuardOldestHeld, Metrics};
use revoke_shared::rebalance::Part;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

mod after_close;
mod decision_refusals;
mod decisions;
mod fold;
mod guard_log;
pub(crate) mod intake;
mod publish;
mod rebuild;
mod rescind;
mod run;

pub use decision_refusals::group as decision_refusals_group;
use publish::enqueue;
pub use rebuild::{check_copartitioned, rebuild_partitions, RebuildError, Rebuilt};
pub use run::run_verifier;

struct State {
    machine: Verifier,
    /// The blast-radius guard's judgement of the whole guard log read so far.
    guard: Guard,
    /// Input partitions whose cases are loaded (this instance owns them).
    owned: std::collections::BTreeSet<i32>,
    /// Changelog partition of each case: the partition of the inputs that made it, so the
    /// changelog stays co-partitioned with the inputs (and compaction sees one key per partition).
    partition_of: HashMap<Uuid, i32>,
    /// The digest of the last published version of each live case: the next version's
    /// `prev_digest`.
    chain: crate::evidence::chain::ChainHeads,
    /// Case versions held to fold with the case's next (`fold`), sent by the flusher.
    unsent: fold::Unsent,
}

pub struct VerifierHandler {
    state: Arc<Mutex<State>>,
    producer: Producer,
    /// With signing required: the secret that signs what the workers get (`revoke.due`,
    /// `revoke.restores`), so that they can refuse what the verifier did not write.
    fleet: Option<Arc<revoke_shared::secret::Secret>>,
    /// The verifier's evidence key: signs every case version (absent: versions are unsigned).
    evidence: Option<Arc<revoke_shared::signing::RecordSigner>>,
    /// `[[signing.evidence_keys]]`: workers' confirmations are checked against them.
    evidence_keys: revoke_shared::signing::EvidenceKeys,
    cfg: Config,
    metrics: Metrics,
    /// Where refused input goes, as refused by the verifier's group.
    dead_letters: DeadLetters,
    /// Woken when a case version is held unsent: sends it `verifier.fold_ms` later.
    flusher: Arc<tokio::sync::Notify>,
}

impl VerifierHandler {
    /// Applies `input` to the machine and enqueues its effects, with the state lock held (so
    /// the changelog gets each case's versions in order); the caller awaits the acks unlocked.
    fn apply_locked(&self, st: &mut State, input: Input<'_>) -> Result<Vec<Written>, HandlerError> {
        let effects = st.machine.apply(input, Utc::now());
        self.enqueue_locked(st, effects, false)
    }

    /// The gauges of what this verifier holds: its cases by state and the guard's oldest held
    /// batch. Set after every input (the tick included, so the age moves while nothing else
    /// happens).
    fn emit_gauges(&self, st: &State) {
        self.metrics.emit(st.machine.case_counts());
        self.metrics.emit(GuardOldestHeld {
            since: st.guard.oldest_held_since(),
            now: Utc::now(),
        });
    }

    /// Enqueues `effects` with the state lock held (case versions that do not close their case
    /// held to fold when `fold`); counts the cases by state.
    fn enqueue_locked(
        &self,
        st: &mut State,
        effects: Vec<super::machine::Effect>,
        fold: bool,
    ) -> Result<Vec<Written>, HandlerError> {
        let acks = enqueue(
            &self.producer,
            self.fleet.as_deref(),
            self.evidence.as_deref(),
            &self.cfg,
            &self.metrics,
            st,
            effects,
            (fold && self.cfg.verifier.fold_ms > 0).then_some(&*self.flusher),
        )?;
        self.emit_gauges(st);
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

    /// Applies a record of the consume loop: like `apply`, but its case versions may fold
    /// (`fold`) and the acknowledgements are returned to be awaited while the loop goes on.
    fn apply_staged(
        &self,
        input: Input<'_>,
        partition: (Uuid, i32),
    ) -> Result<Durability, HandlerError> {
        let acks = {
            let mut st = self.state.lock().expect("verifier state lock");
            st.partition_of.entry(partition.0).or_insert(partition.1);
            let effects = st.machine.apply(input, Utc::now());
            self.enqueue_locked(&mut st, effects, true)?
        };
        Ok(self.durability(acks))
    }

    /// The acknowledgements of `written`, to be awaited later (`wait_written`).
    fn durability(&self, written: Vec<Written>) -> Durability {
        Box::pin(wait_written(self.state.clone(), written))
    }

    /// Waits for every acknowledgement (`wait_written`).
    async fn wait_all(&self, written: Vec<Written>) -> Result<(), HandlerError> {
        wait_written(self.state.clone(), written).await
    }

    /// Sends every case version held to fold (`fold`); their acknowledgements to await.
    fn send_unsent(&self) -> Result<Vec<Written>, HandlerError> {
        let mut st = self.state.lock().expect("verifier state lock");
        let held = st.unsent.drain();
        let mut written = Vec::with_capacity(held.len());
        for p in held {
            written.push(publish::send_case(
                &self.producer,
                self.evidence.as_deref(),
                &self.cfg,
                &self.metrics,
                &mut st,
                p.case,
                p.waiters,
            )?);
        }
        Ok(written)
    }

    /// Sends every case version held to fold and waits for them.
    async fn flush_unsent(&self) -> Result<(), HandlerError> {
        let written = self.send_unsent()?;
        self.wait_all(written).await
    }

    /// Dead-letters the record `msg` once for each refusal the machine returned for it (`what`
    /// names the kind of input in the log line), after its other effects were written.
    async fn dead_letter_refusals(
        &self,
        msg: &RawMessage,
        case_id: Uuid,
        refused: Vec<super::machine::Effect>,
        what: &'static str,
    ) -> Result<(), HandlerError> {
        for r in refused {
            if let super::machine::Effect::Refuse { reason, detail } = r {
                self.metrics
                    .emit(revoke_shared::metrics::VerifierNote::Refused(reason));
                tracing::warn!(case_id = %case_id, reason, detail = %detail, what, "input refused");
                self.dead_letters.send(msg, reason, detail).await?;
            }
        }
        Ok(())
    }
}

/// A write to wait for: its acknowledgement (or, for a case version held to fold, the word of
/// the write that holds it), for a case's closing record that case, and the inputs of the
/// versions folded into it, to be told its outcome.
struct Written {
    wait: Wait,
    closes: Option<Uuid>,
    waiters: Vec<fold::Waiter>,
}

enum Wait {
    Ack(Ack),
    Folded(fold::Waiting),
}

impl Written {
    fn folded(waiting: fold::Waiting) -> Written {
        Written {
            wait: Wait::Folded(waiting),
            closes: None,
            waiters: Vec::new(),
        }
    }
}

impl From<Ack> for Written {
    fn from(ack: Ack) -> Written {
        Written {
            wait: Wait::Ack(ack),
            closes: None,
            waiters: Vec::new(),
        }
    }
}

/// Waits for every acknowledgement; a write the broker refused is fatal (see the module doc),
/// and so is a folded version whose write failed or never happened. The inputs folded into a
/// write are told its outcome. A case's closing record leaves its changelog offset with the
/// closed marker, so a rescind after close reads that one record back instead of the
/// partition's history.
async fn wait_written(state: Arc<Mutex<State>>, written: Vec<Written>) -> Result<(), HandlerError> {
    let mut closed = Vec::new();
    for w in written {
        match w.wait {
            Wait::Ack(ack) => {
                let outcome = ack.wait().await.map_err(|e| e.to_string());
                for waiter in w.waiters {
                    let _ = waiter.send(outcome.as_ref().map(|_| ()).map_err(Clone::clone));
                }
                let (_, offset) = outcome.map_err(HandlerError::Fatal)?;
                if let Some(id) = w.closes {
                    closed.push((id, offset));
                }
            }
            Wait::Folded(waiting) => match waiting.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(HandlerError::Fatal(e)),
                Err(_) => {
                    return Err(HandlerError::Fatal(
                        "a case version held to fold was never written".into(),
                    ))
                }
            },
        }
    }
    if !closed.is_empty() {
        let mut st = state.lock().expect("verifier state lock");
        for (id, offset) in closed {
            st.machine.note_closed_offset(&id, offset);
        }
    }
    Ok(())
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
        let policy = self.cfg.verifier.clone();
        let rebuilt =
            tokio::task::spawn_blocking(move || rebuild_partitions(&cfg, &wanted, &policy))
                .await
                .map_err(|e| HandlerError::Fatal(format!("rebuilding partitions {gained:?}: {e}")))?
                .map_err(|e| HandlerError::Fatal(e.to_string()))?;
        let n = rebuilt.records;
        let (acks, open) = {
            let mut st = self.state.lock().expect("verifier state lock");
            st.machine.absorb(rebuilt.machine);
            // Cases of these partitions that are closed now are in no partition's live set.
            st.partition_of
                .retain(|id, p| !gained.contains(p) || rebuilt.partition_of.contains_key(id));
            for (id, p) in rebuilt.partition_of {
                st.partition_of.insert(id, p);
            }
            for (id, (_, d)) in rebuilt.heads {
                st.chain.set(id, d);
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
            self.emit_gauges(&st);
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
        // Their records' versions were written before the loop let the partitions go; a
        // version the guard or the tick folded into is sent now, before the next owner reads.
        if let Err(e) = self.flush_unsent().await {
            tracing::error!(error = %e, "case versions held to fold could not be written before the partitions were given up");
        }
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
                st.chain.forget(id);
            }
            st.owned.retain(|p| !lost.contains(p));
            self.emit_gauges(&st);
            tracing::info!(partitions = ?lost, forgotten = ids.len(), "verifier partitions given up");
        }
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(30))).await;
    }

    async fn handle(&self, msg: &RawMessage) -> Result<(), HandlerError> {
        match self.handle_staged(msg).await? {
            Some(durability) => durability.await,
            None => Ok(()),
        }
    }

    async fn handle_staged(&self, msg: &RawMessage) -> Result<Option<Durability>, HandlerError> {
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
        let dlq =
            |reason: &'static str, detail: String| self.dead_letters.send(msg, reason, detail);
        if msg.topic == self.cfg.topics.terminations {
            // With `[signing] required`, terminations and rescinds alike need a valid signature.
            match revoke_shared::signing::parse_hr_input(msg, &self.cfg) {
                Err(e) if !e.is_dead_letter() => Err(HandlerError::Fatal(e.to_string())),
                Ok(ev) if ev.kind == HrEventKind::Rescinded => {
                    self.rescind(msg, &ev, msg.partition).await.map(|()| None)
                }
                Ok(ev) => self
                    .apply_staged(Input::Hr(&ev), (ev.case_id(), msg.partition))
                    .map(Some),
                Err(e) => dlq(e.reason(), e.to_string()).await.map(|()| None),
            }
        } else if msg.topic == self.cfg.topics.confirmations {
            self.confirmations_record(msg).await
        } else {
            dlq(
                "unexpected_topic",
                format!("the verifier does not read topic {}", msg.topic),
            )
            .await
            .map(|()| None)
        }
    }
}

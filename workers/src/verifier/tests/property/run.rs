//! Playing a world: the per-case effect log, the simulated workers and shell that answer
//! restore requests, and a run with an optional restart in the middle.

use super::super::kit::*;
use super::world::*;
use revoke_shared::metrics::VerifierNote;

/// Per-case effect log, plus checks that hold for every batch the machine returns.
#[derive(Default)]
pub struct Log {
    pub per_case: BTreeMap<Uuid, Vec<Effect>>,
}

impl Log {
    #[track_caller]
    pub fn record(&mut self, batch: Vec<Effect>, seed: u64) {
        // Each Escalate follows the Case record of its own case in the same batch, which holds it.
        let mut last_case: Option<&Case> = None;
        for e in &batch {
            match e {
                Effect::Case(c) => last_case = Some(c),
                Effect::Escalate(x) => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: escalation without its case: {batch:?}")
                    });
                    assert_eq!(c.case_id, x.case_id, "seed {seed}");
                    assert_escalation_recorded(c, x);
                }
                // Rescinds after revocations ask for restores; the case record says why.
                Effect::Restore(r) => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: restore without its case: {batch:?}")
                    });
                    assert_eq!(c.case_id, r.case_id, "seed {seed}");
                    assert_eq!(c.state, CaseState::Rescinded, "seed {seed}");
                    assert_eq!(r.request_id, RestoreRequest::id_for(r.case_id, r.target));
                    assert!(
                        r.objects
                            .iter()
                            .any(|o| o.outcome == ObjectOutcome::Revoked),
                        "seed {seed}: a restore request for a target that revoked nothing"
                    );
                }
                // A target run again after a transient failure: published with its case, which
                // shows the target pending again and the re-drive counted.
                // The property test runs with the guard off (its own tests drive it).
                Effect::Admit(a) => panic!("seed {seed}: admission with the guard off: {a:?}"),
                // Every rescind in the property test comes from the terminations' own source.
                Effect::Refuse { reason, detail } => {
                    panic!("seed {seed}: refused {reason}: {detail}")
                }
                Effect::Redrive {
                    event, target, n, ..
                } => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: redrive without its case: {batch:?}")
                    });
                    assert_eq!(c.case_id, event.case_id(), "seed {seed}");
                    assert!(
                        matches!(c.state, CaseState::Open | CaseState::Escalated),
                        "seed {seed}: redrive of a {} case",
                        c.state.as_str()
                    );
                    let t = &c.targets[target];
                    assert_eq!(t.state, TargetState::Pending, "seed {seed}");
                    assert!(
                        t.redrives == *n && *n >= 1 && t.redrive_at.is_none(),
                        "seed {seed}"
                    );
                }
                // A scheduled case handed over: published with it, no longer scheduled.
                Effect::Due(ev) => {
                    let c = last_case
                        .unwrap_or_else(|| panic!("seed {seed}: due without its case: {batch:?}"));
                    assert_eq!(c.case_id, ev.case_id(), "seed {seed}");
                    assert_ne!(c.state, CaseState::Scheduled, "seed {seed}");
                    assert!(
                        c.effective_at.is_some_and(|e| e <= c.updated_at),
                        "seed {seed}: handed over before its effective time"
                    );
                }
                // A rescind of a scheduled case (before its effective time, or after it but
                // before the tick that hands it over): the case record is the cancellation.
                Effect::Note {
                    case_id: Some(id),
                    what: VerifierNote::CancelledBeforeEffective,
                    ..
                } => {
                    let c = last_case.unwrap_or_else(|| {
                        panic!("seed {seed}: cancellation without its case: {batch:?}")
                    });
                    assert_eq!((c.case_id, c.state), (*id, CaseState::Rescinded));
                    // Nothing was handed to the workers: nothing to give back, nobody to tell.
                    assert_eq!(batch.len(), 2, "seed {seed}: {batch:?}");
                }
                // A rescind delivered again, or one for nothing standing: nothing changes.
                Effect::Note {
                    what: VerifierNote::RescindReplayed | VerifierNote::RescindForUnknownCase,
                    ..
                } => assert_eq!(batch.len(), 1, "seed {seed}: {batch:?}"),
                // A second termination of a person with a live case: recorded in that case.
                Effect::Note {
                    case_id: Some(id),
                    what: VerifierNote::TerminationJoinedLiveCase,
                    ..
                } => {
                    let c = last_case
                        .unwrap_or_else(|| panic!("seed {seed}: join without its case: {batch:?}"));
                    assert_eq!(c.case_id, *id, "seed {seed}");
                    assert!(!c.joined.is_empty() || c.joined_more > 0, "seed {seed}");
                }
                Effect::Note { .. } => panic!("seed {seed}: unexpected effect {e:?}"),
            }
        }
        for e in batch {
            // Notes about no case (a replayed rescind) belong to none.
            if let Some(id) = effect_case_id(&e) {
                self.per_case.entry(id).or_default().push(e);
            }
        }
    }

    /// Every effect recorded for case `id`, in order.
    fn effects(&self, id: &Uuid) -> impl Iterator<Item = &Effect> {
        self.per_case.get(id).into_iter().flatten()
    }

    pub fn cases(&self, id: &Uuid) -> Vec<&Case> {
        self.effects(id)
            .filter_map(|e| match e {
                Effect::Case(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    pub fn escalations(&self, id: &Uuid) -> Vec<&Escalation> {
        self.effects(id)
            .filter_map(|e| match e {
                Effect::Escalate(x) => Some(x),
                _ => None,
            })
            .collect()
    }

    pub fn restores(&self, id: &Uuid) -> Vec<&RestoreRequest> {
        self.effects(id)
            .filter_map(|e| match e {
                Effect::Restore(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub fn notes(&self, id: &Uuid, wanted: &str) -> usize {
        self.effects(id)
            .filter(|e| matches!(e, Effect::Note { what, .. } if what.as_str() == wanted))
            .count()
    }
}

/// A small deterministic hash of a request id: which outcomes, how late, whether duplicated.
pub fn request_hash(id: Uuid, salt: u64) -> u64 {
    let v = id.as_u128();
    let mut r = Rng::new((v as u64) ^ ((v >> 64) as u64) ^ salt);
    r.next()
}

/// The simulated workers and shell around the machine in a property run: they answer restore
/// requests and hand a rescind of a closed case its record from the changelog (the log).
///
/// Each request is answered at a point of the schedule derived from the request alone (its id
/// and the schedule step that produced it), so a run with a restart, which produces the same
/// requests at the same steps, receives the same reports at the same points; some reports are
/// delivered twice. Every report is the same whenever it is produced: its content and times come
/// from the request.
#[derive(Default)]
pub struct Workers {
    /// Reports to deliver after the schedule step of the key.
    pub queued: BTreeMap<usize, Vec<RestoreReport>>,
    /// Every report delivered so far (their first delivery must publish, any later one not).
    pub delivered: HashSet<Uuid>,
    /// Every input applied so far that a replay may repeat (not ticks), reports included.
    pub applied: Vec<Step>,
    /// Reports delivered (first time) per case.
    pub answered: BTreeMap<Uuid, Vec<RestoreReport>>,
    /// Deliveries of a report already delivered.
    pub redelivered: usize,
}

impl Workers {
    /// The report a worker gives for `req`: per object it revoked, mostly given back, sometimes
    /// irreversible (a person must re-issue it: `restore_incomplete`).
    pub fn answer(req: &RestoreRequest) -> RestoreReport {
        let outcomes: Vec<RestoreOutcome> = req
            .objects
            .iter()
            .filter(|o| o.outcome == ObjectOutcome::Revoked)
            .enumerate()
            .map(|(i, _)| match request_hash(req.request_id, i as u64) % 10 {
                0..=5 => RestoreOutcome::Restored,
                6..=7 => RestoreOutcome::AlreadyPresent,
                _ => RestoreOutcome::Irreversible,
            })
            .collect();
        report(req, &outcomes, req.requested_at + Duration::seconds(1))
    }

    /// Applies one input the way the shell does: a rescind or a signal delivery for a closed
    /// case is handed that case's last record from the changelog.
    pub fn apply(v: &mut Verifier, log: &Log, step: &Step, now: DateTime<Utc>) -> Vec<Effect> {
        if let Step::Signal(d) = step.clone() {
            if v.is_closed(&d.case_id) {
                let record =
                    (*log.cases(&d.case_id).last().expect("closed case published")).clone();
                return v.apply(Input::Signal(&d, Some(&record)), now);
            }
        }
        if let Step::Hr(ev) = step {
            if ev.kind == HrEventKind::Rescinded {
                if let Some(id) = v.rescind_applies_to(ev).filter(|id| v.is_closed(id)) {
                    let record =
                        (*log.cases(&id).last().expect("a closed case was published")).clone();
                    return v.apply(Input::RescindClosed(ev, &record), now);
                }
            }
        }
        apply_step(v, step, now)
    }

    /// Applies schedule step `index` (not a replay), records its effects, queues the answers to
    /// the restore requests among them, then delivers the reports queued for this step.
    pub fn step(
        &mut self,
        v: &mut Verifier,
        log: &mut Log,
        index: usize,
        step: &Step,
        now: DateTime<Utc>,
        seed: u64,
    ) {
        let effects = Workers::apply(v, log, step, now);
        if !matches!(step, Step::Tick) {
            self.applied.push(step.clone());
        }
        for e in &effects {
            if let Effect::Restore(req) = e {
                let r = Workers::answer(req);
                let h = request_hash(req.request_id, 99);
                let due = index + (h % 6) as usize;
                self.queued.entry(due).or_default().push(r.clone());
                if h.is_multiple_of(3) {
                    let again = due + 1 + ((h >> 8) % 5) as usize;
                    self.queued.entry(again).or_default().push(r);
                }
            }
        }
        log.record(effects, seed);
        for r in self.queued.remove(&index).unwrap_or_default() {
            self.deliver(v, log, r, now, seed);
        }
    }

    /// Delivers every report still queued (after the last step of the schedule).
    pub fn flush(&mut self, v: &mut Verifier, log: &mut Log, now: DateTime<Utc>, seed: u64) {
        for r in std::mem::take(&mut self.queued).into_values().flatten() {
            self.deliver(v, log, r, now, seed);
        }
    }

    /// One delivery of a report: the first records it in exactly one new case version (with a
    /// `restore_incomplete` escalation when something could not come back), any later one
    /// publishes nothing.
    pub fn deliver(
        &mut self,
        v: &mut Verifier,
        log: &mut Log,
        r: RestoreReport,
        now: DateTime<Utc>,
        seed: u64,
    ) {
        let step = Step::Restored(r.clone());
        let effects = apply_step(v, &step, now);
        let key = Uuid::new_v5(&r.request_id, r.finished_at.to_rfc3339().as_bytes());
        if !self.delivered.insert(key) {
            self.redelivered += 1;
            assert!(
                effects.is_empty(),
                "seed {seed}: report delivered again published {effects:?}"
            );
            return;
        }
        let cases = case_records(&effects);
        assert_eq!(cases.len(), 1, "seed {seed}: {effects:?}");
        let c = &cases[0];
        assert_eq!(c.state, CaseState::Rescinded, "seed {seed}");
        assert_eq!(
            c.restored.iter().filter(|x| **x == r).count(),
            1,
            "seed {seed}: report recorded once"
        );
        let incomplete = r.left_for_a_person().count() > 0;
        assert_eq!(
            escalations_in(&effects)
                .iter()
                .map(|e| (e.reason, e.targets.clone()))
                .collect::<Vec<_>>(),
            if incomplete {
                vec![(EscalationReason::RestoreIncomplete, vec![r.target.kind])]
            } else {
                Vec::new()
            },
            "seed {seed}"
        );
        self.applied.push(step);
        self.answered.entry(r.case_id).or_default().push(r);
        log.record(effects, seed);
    }
}

/// Runs the schedule; with `restart_at = Some(k)`, a new verifier restored from every Case
/// effect so far (shuffled) takes over after step k, and already-applied inputs (restore
/// reports included) are replayed at random points of the remainder (each must publish
/// nothing).
pub fn run_world(
    world: &World,
    restart_at: Option<usize>,
    rng: &mut Rng,
    seed: u64,
) -> (Verifier, Log, Workers) {
    let mut v = Verifier::new(world.policy.clone());
    let mut log = Log::default();
    let mut workers = Workers::default();
    let split = restart_at.unwrap_or(world.schedule.len());
    for (i, (step, now)) in world.schedule[..split].iter().enumerate() {
        workers.step(&mut v, &mut log, i, step, *now, seed);
    }
    let end = world.schedule.last().unwrap().1;
    if restart_at.is_none() {
        workers.flush(&mut v, &mut log, end, seed);
        return (v, log, workers);
    }

    let mut records: Vec<Case> = case_records(log.per_case.values().flatten());
    if rng.chance(50) {
        rng.shuffle(&mut records);
    }
    let mut restored = Verifier::new(world.policy.clone());
    for c in records {
        restored.restore(c);
    }
    assert_eq!(
        restored.open_count(),
        v.open_count(),
        "seed {seed}: open_count after restore"
    );
    drop(v);
    let mut v = restored;

    // The remainder, with some already-applied inputs (not ticks) replayed in between.
    let mut rest: Vec<(Option<usize>, Step, Option<DateTime<Utc>>)> = world.schedule[split..]
        .iter()
        .enumerate()
        .map(|(i, (s, t))| (Some(split + i), s.clone(), Some(*t)))
        .collect();
    for step in &workers.applied {
        if rng.chance(60) {
            let pos = rng.below(rest.len() as u64 + 1) as usize;
            rest.insert(pos, (None, step.clone(), None));
        }
    }
    let mut now = world.schedule[split.saturating_sub(1)].1;
    for (index, step, when) in rest {
        if let Some(t) = when {
            now = t;
        }
        match index {
            Some(i) => workers.step(&mut v, &mut log, i, &step, now, seed),
            None => {
                let effects = Workers::apply(&mut v, &log, &step, now);
                // A replayed rescind is noted (log line and metric), nothing more.
                assert!(
                    effects.iter().all(|e| matches!(
                        e,
                        Effect::Note {
                            what: VerifierNote::RescindReplayed,
                            ..
                        }
                    )),
                    "seed {seed}: replay of {step:?} published {effects:?}"
                );
            }
        }
    }
    workers.flush(&mut v, &mut log, end, seed);
    (v, log, workers)
}

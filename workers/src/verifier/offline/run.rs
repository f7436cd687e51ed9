//! The verifier re-run offline: the pure machine and guard fed the input records in the order
//! they were recorded, each with its record time as the clock, with the same checks the shell
//! makes before the machine sees anything (`classify`, `parse_hr_input`, `read_guard_record`).
//! What it publishes is kept, the latest version of every case: the cases as the inputs make
//! them. No I/O: the caller reads the topics (`inputs`).

use crate::verifier::guard::{read_guard_record, Guard, GuardRead, Judged};
use crate::verifier::machine::{Effect, Input, Roster, Verifier};
use crate::verifier::shell::intake::{classify, Checks, Classified};
use chrono::{DateTime, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{Case, HrEventKind, RawMessage};
use revoke_shared::secret::Secret;
use revoke_shared::signing::{parse_hr_input, EvidenceKeys};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Which input topic a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Terminations,
    /// The guard log: admissions (caused by terminations) and people's decisions.
    Guard,
    Confirmations,
}

/// How many records of each kind were applied, and how many the checks refused (the verifier
/// dead-lettered those).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub terminations: usize,
    pub confirmations: usize,
    pub guard: usize,
    pub ticks: usize,
    pub refused: usize,
}

pub struct Offline {
    machine: Verifier,
    guard: Guard,
    cfg: Config,
    fleet: Option<Arc<Secret>>,
    evidence_keys: EvidenceKeys,
    /// The latest version of every case the machine published (and, for a closed case, the
    /// record the shell would read back from the changelog).
    published: HashMap<Uuid, Case>,
    pub counts: Counts,
}

impl Offline {
    /// A verifier as `cfg` configures one (its policy, people, keys), with nothing applied.
    pub fn new(cfg: &Config) -> Result<Offline, String> {
        Ok(Offline {
            machine: Verifier::new(cfg.verifier.clone()).with_roster(Roster::from_config(cfg)),
            guard: Guard::new(cfg.verifier.guard.clone()),
            fleet: cfg.signing.fleet_secret()?,
            evidence_keys: EvidenceKeys::from_config(&cfg.signing.evidence_keys)?,
            cfg: cfg.clone(),
            published: HashMap::new(),
            counts: Counts::default(),
        })
    }

    /// The cases as the inputs applied so far make them.
    pub fn cases(&self) -> &HashMap<Uuid, Case> {
        &self.published
    }

    /// The clock at `now`: deadlines, SLAs, re-drives, reminders, escalation paths.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.counts.ticks += 1;
        self.run(Input::Tick, now);
    }

    /// Applies one input record at `now`. `Err` only for what is this run's fault, not the
    /// record's (keys that cannot be read): the verifier would have stopped too.
    pub fn apply(
        &mut self,
        source: Source,
        msg: &RawMessage,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        match source {
            Source::Terminations => self.termination(msg, now),
            Source::Confirmations => {
                self.counts.confirmations += 1;
                self.confirmations_record(msg, now);
                Ok(())
            }
            Source::Guard => {
                self.counts.guard += 1;
                self.guard_record(msg, now);
                Ok(())
            }
        }
    }

    fn termination(&mut self, msg: &RawMessage, now: DateTime<Utc>) -> Result<(), String> {
        self.counts.terminations += 1;
        let ev = match parse_hr_input(msg, &self.cfg) {
            Ok(ev) => ev,
            Err(e) if !e.is_dead_letter() => return Err(e.to_string()),
            Err(_) => {
                self.counts.refused += 1;
                return Ok(());
            }
        };
        if ev.kind != HrEventKind::Rescinded {
            self.run(Input::Hr(&ev), now);
            return Ok(());
        }
        if self.machine.rescind_refusal(&ev).is_some() {
            self.counts.refused += 1;
            return Ok(());
        }
        // A closed case is a marker in the machine: the shell reads its record back.
        let closed = self
            .machine
            .rescind_applies_to(&ev)
            .filter(|id| self.machine.is_closed(id))
            .and_then(|id| self.published.get(&id).cloned());
        match closed {
            Some(record) => self.run(Input::RescindClosed(&ev, &record), now),
            None => self.run(Input::Hr(&ev), now),
        }
        Ok(())
    }

    fn confirmations_record(&mut self, msg: &RawMessage, now: DateTime<Utc>) {
        let checks = Checks {
            fleet: self.fleet.as_deref(),
            evidence_keys: &self.evidence_keys,
            people: &self.cfg.people,
            signing_required: self.cfg.signing.required,
        };
        let classified = match classify(msg, &checks) {
            Ok(c) => c,
            Err(_) => {
                self.counts.refused += 1;
                return;
            }
        };
        let closed = |me: &Offline, id: Uuid| {
            me.machine
                .is_closed(&id)
                .then(|| me.published.get(&id).cloned())
                .flatten()
        };
        match classified {
            Classified::Finding(f) => {
                let r = closed(self, f.case_id);
                self.run(Input::Finding(&f, r.as_ref()), now)
            }
            Classified::Signal(d) => {
                let r = closed(self, d.case_id);
                self.run(Input::Signal(&d, r.as_ref()), now)
            }
            Classified::Replay(q, raw) => {
                let r = closed(self, q.case_id);
                self.run(Input::Replay(&q, &raw, r.as_ref()), now)
            }
            Classified::Restored(r) => self.run(Input::Restored(&r), now),
            Classified::Step(a, raw) => self.run(Input::StepAttestation(&a, &raw), now),
            Classified::Review(r, raw) => self.run(Input::Review(&r, &raw), now),
            Classified::Confirmation(c) => self.run(Input::Confirmation(&c), now),
        }
    }

    fn guard_record(&mut self, msg: &RawMessage, now: DateTime<Utc>) {
        let payload = msg.payload.as_deref().unwrap_or_default();
        let GuardRead::Counts { entry, proof } =
            read_guard_record(payload, &self.cfg.people, self.cfg.signing.required)
        else {
            self.counts.refused += 1;
            return;
        };
        for j in self.guard.apply_proven(msg.offset, &entry, proof) {
            if self.machine.case(&j.case_id).is_some() {
                self.run(Input::Guard(&j), now);
            }
        }
    }

    /// Applies `input` and keeps what it publishes. A case that asks the guard after the guard
    /// already judged its admission (the log record was recorded first) gets the verdict at
    /// once, as a verifier taking the case over would.
    fn run(&mut self, input: Input<'_>, now: DateTime<Utc>) {
        let effects = self.machine.apply(input, now);
        let mut asked = Vec::new();
        for e in effects {
            match e {
                Effect::Case(c) => {
                    self.published.insert(c.case_id, c);
                }
                Effect::Admit(a) => asked.push(a),
                Effect::Refuse { .. } => self.counts.refused += 1,
                _ => {}
            }
        }
        for a in asked {
            if let Some(verdict) = self.guard.verdict(&a.case_id, a.asks) {
                let j = Judged {
                    case_id: a.case_id,
                    identity_id: a.identity_id,
                    asks: a.asks,
                    verdict,
                };
                self.run(Input::Guard(&j), now);
            }
        }
    }
}

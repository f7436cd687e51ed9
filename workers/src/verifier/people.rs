//! Every termination the verifier knows of, per person: which stand, which were rescinded and by
//! which rescind, and which case each lives in. Pure, no I/O.
//!
//! Restores are grants, so a rescind is judged against the person's whole record, not against
//! "the latest case when it is read":
//! - A rescind is idempotent per rescind event (`source` + `id`): once it took effect, the same
//!   rescind again — redelivered, or replayed a year later — is a replay and changes nothing.
//! - A rescind acts only on terminations from its own `source`; one aimed at another source's
//!   termination is refused (`WrongSource`).
//! - A rescind that does not name its termination (`data.rescinds`) applies to the person's
//!   latest standing termination from its source *issued before it* (HR `time`): it can never
//!   land on a termination that did not exist when it was written.
//! - `standing_besides` tells whether the person has another termination that stands (live or
//!   closed, not rescinded or rejected): then nothing may be given back.
//!
//! The index is rebuilt from the case records (`note_case`), so it survives restarts. It keeps
//! at most `KEPT_PER_PERSON` terminations per person (standing ones last to go, a case's own
//! termination after the ones joined into it).

use chrono::{DateTime, Utc};
use revoke_shared::contract::{case_id_for, Case, CaseState, HrEvent};
use std::collections::HashMap;
use uuid::Uuid;

/// Terminations kept per person; the oldest non-standing ones are forgotten first.
pub const KEPT_PER_PERSON: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Standing,
    /// Rescinded by the rescind whose key (`rescind_key`) starts with these 64 bits (`short_key`).
    /// Only a replay check compares them: two rescinds sharing them would make the second look
    /// like a replay of the first — it would give nothing back, never too much.
    Rescinded(u64),
    /// A person rejected its held batch: nothing was revoked, it does not stand.
    Rejected,
}

/// One termination, 64 bytes: the index holds one for every case ever seen, closed ones
/// included (issue 16: <= 150 B per closed case in all), so the case it joined, rare, is kept
/// apart (`People::joined`) and its times are microseconds.
#[derive(Debug, Clone)]
struct Term {
    /// The termination's own case id (`case_id_for(source, id)`).
    own: Uuid,
    source: u64,
    event: u64,
    /// HR time in µs since the epoch, rounded up: a rescind binds only to a termination issued
    /// at or before it, compared with the rescind's time rounded down (`micros_down`), so the
    /// rounding can only refuse a binding, never make one.
    time: i64,
    /// Effective time in µs (rounded down), `NONE` when immediate (ordered before any time).
    effective_at: i64,
    status: Status,
}

// The size the memory budget was measured with (verifier_memory bench): a field more shows here.
const _: () = assert!(std::mem::size_of::<Term>() == 64);

const NONE: i64 = i64::MIN;

fn micros_down(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn micros_up(t: DateTime<Utc>) -> i64 {
    let down = t.timestamp_micros();
    if t.timestamp_subsec_nanos() % 1_000 == 0 {
        down
    } else {
        down.saturating_add(1)
    }
}

fn effective(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(NONE, micros_down)
}

fn short_key(key: Uuid) -> u64 {
    key.as_u64_pair().0
}

/// What a rescind applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// This rescind already took effect: nothing changes.
    Replay,
    /// It names (or, unnamed, finds) a termination of another source only.
    WrongSource { detail: String },
    /// The termination `own`, living in case `case`.
    Term { own: Uuid, case: Uuid },
    /// No termination of this person the rescind could apply to is known.
    Unknown,
}

#[derive(Debug, Default)]
pub struct People {
    /// Held for every case, closed ones too: a `Box<str>` key and a boxed slice (most people
    /// have one termination: no spare room, no capacity word).
    terms: HashMap<Box<str>, Box<[Term]>>,
    /// The case a termination lives in when it joined another (`own` → that case); absent, it
    /// lives in its own case.
    joined: HashMap<Uuid, Uuid>,
}

/// A rescind's idempotency key: its source and id.
pub fn rescind_key(ev: &HrEvent) -> Uuid {
    case_id_for(&ev.source, &ev.id)
}

fn short(s: &str) -> u64 {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, s.as_bytes())
        .as_u64_pair()
        .0
}

impl People {
    /// Records a termination seen (or joined into `case`); later news about it merges in.
    pub fn note_termination(&mut self, ev: &HrEvent, case: Uuid) {
        self.upsert(
            &ev.subject,
            Term {
                own: ev.case_id(),
                source: short(&ev.source),
                event: short(&ev.id),
                time: micros_up(ev.time),
                effective_at: effective(ev.data.effective_at),
                status: Status::Standing,
            },
            case,
        );
    }

    /// Rebuilds the record of `case` (its own termination and the ones joined into it). A
    /// replay case (`revoke replay`) is no termination of its own: it re-drives the one its
    /// replayed case records, so it never stands for the person, joins nothing, and no rescind
    /// binds to it.
    pub fn note_case(&mut self, case: &Case) {
        if case.replay.is_some() {
            return;
        }
        if let (Some(source), Some(id)) = (&case.source, &case.event_id) {
            let status = match (&case.rescind, case.state) {
                (Some(r), _) => Status::Rescinded(short_key(case_id_for(&r.source, &r.event_id))),
                // Written before rescinds were recorded by key: rescinded all the same.
                (None, CaseState::Rescinded) => Status::Rescinded(0),
                (None, CaseState::Rejected) => Status::Rejected,
                (None, _) => Status::Standing,
            };
            self.upsert(
                &case.identity_id,
                Term {
                    own: case.case_id,
                    source: short(source),
                    event: short(id),
                    time: micros_up(case.hr_time.unwrap_or(case.opened_at)),
                    effective_at: effective(case.effective_at),
                    status,
                },
                case.case_id,
            );
        }
        for j in &case.joined {
            let status = match &j.rescind {
                Some(r) => Status::Rescinded(short_key(case_id_for(&r.source, &r.event_id))),
                None if case.state == CaseState::Rejected => Status::Rejected,
                None => Status::Standing,
            };
            self.upsert(
                &case.identity_id,
                Term {
                    own: case_id_for(&j.source, &j.event_id),
                    source: short(&j.source),
                    event: short(&j.event_id),
                    time: micros_up(j.time),
                    effective_at: effective(j.effective_at),
                    status,
                },
                case.case_id,
            );
        }
    }

    /// The case `t` lives in.
    fn case_of(&self, t: &Term) -> Uuid {
        self.joined.get(&t.own).copied().unwrap_or(t.own)
    }

    fn upsert(&mut self, identity: &str, t: Term, case: Uuid) {
        let own = t.own;
        // Looked up before `entry`: a known person's news allocates no new key.
        if !self.terms.contains_key(identity) {
            self.terms.insert(identity.into(), Box::default());
        }
        let list = self
            .terms
            .get_mut(identity)
            .expect("inserted above when missing");
        match list.iter_mut().find(|x| x.own == own) {
            Some(x) => {
                // News only ever ends a termination's standing (rescinded or rejected stays so).
                if x.status == Status::Standing {
                    x.status = t.status;
                }
            }
            None => {
                let mut grown = std::mem::take(list).into_vec();
                grown.reserve_exact(1);
                grown.push(t);
                *list = grown.into_boxed_slice();
            }
        }
        if case == own {
            self.joined.remove(&own);
        } else {
            self.joined.insert(own, case);
        }
        let list = self.terms.get(identity).expect("inserted above");
        if list.len() > KEPT_PER_PERSON {
            // Forget the oldest that no longer stands; else the oldest joined one (its case's own
            // termination keeps standing for it); else the oldest.
            let i = list
                .iter()
                .enumerate()
                .filter(|(_, x)| x.status != Status::Standing)
                .min_by_key(|(_, x)| x.time)
                .or_else(|| {
                    list.iter()
                        .enumerate()
                        .filter(|(_, x)| self.joined.contains_key(&x.own))
                        .min_by_key(|(_, x)| x.time)
                })
                .or_else(|| list.iter().enumerate().min_by_key(|(_, x)| x.time))
                .map(|(i, _)| i)
                .expect("the list is not empty");
            let list = self.terms.get_mut(identity).expect("inserted above");
            let mut kept = std::mem::take(list).into_vec();
            let gone = kept.remove(i);
            *list = kept.into_boxed_slice();
            self.joined.remove(&gone.own);
        }
    }

    pub fn mark_rescinded(&mut self, identity: &str, own: Uuid, key: Uuid) {
        self.set(identity, own, Status::Rescinded(short_key(key)));
    }

    pub fn mark_rejected(&mut self, identity: &str, case: Uuid) {
        let joined = &self.joined;
        let case_of = |t: &Term| joined.get(&t.own).copied().unwrap_or(t.own);
        if let Some(list) = self.terms.get_mut(identity) {
            for t in list.iter_mut() {
                if case_of(t) == case && t.status == Status::Standing {
                    t.status = Status::Rejected;
                }
            }
        }
    }

    fn set(&mut self, identity: &str, own: Uuid, status: Status) {
        if let Some(t) = self
            .terms
            .get_mut(identity)
            .and_then(|l| l.iter_mut().find(|t| t.own == own))
        {
            t.status = status;
        }
    }

    /// The case a termination lives in, if it joined another one.
    pub fn joined_into(&self, identity: &str, own: Uuid) -> Option<Uuid> {
        self.terms
            .get(identity)?
            .iter()
            .any(|t| t.own == own)
            .then(|| self.joined.get(&own).copied())
            .flatten()
    }

    /// The cases of `identity` holding a standing termination, latest (by effective time, then
    /// HR time) first.
    pub fn standing_cases(&self, identity: &str) -> Vec<Uuid> {
        let mut list: Vec<&Term> = self
            .terms
            .get(identity)
            .map(|l| l.iter().filter(|t| t.status == Status::Standing).collect())
            .unwrap_or_default();
        list.sort_by_key(|t| std::cmp::Reverse((t.effective_at, t.time)));
        let mut out: Vec<Uuid> = Vec::new();
        for t in list {
            let case = self.case_of(t);
            if !out.contains(&case) {
                out.push(case);
            }
        }
        out
    }

    /// Standing terminations of `identity` other than those living in `case`: their own case ids.
    pub fn standing_besides(&self, identity: &str, case: Uuid) -> Vec<Uuid> {
        self.terms
            .get(identity)
            .map(|l| {
                l.iter()
                    .filter(|t| t.status == Status::Standing && self.case_of(t) != case)
                    .map(|t| t.own)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a termination living in `case`, other than `own`, still stands.
    pub fn case_stands_without(&self, identity: &str, case: Uuid, own: Uuid) -> bool {
        self.terms.get(identity).is_some_and(|l| {
            l.iter()
                .any(|t| self.case_of(t) == case && t.own != own && t.status == Status::Standing)
        })
    }

    /// What the rescind `ev` applies to (see the module doc).
    pub fn bind(&self, ev: &HrEvent) -> Binding {
        let key = rescind_key(ev);
        let Some(list) = self.terms.get(ev.subject.as_str()) else {
            return Binding::Unknown;
        };
        if list
            .iter()
            .any(|t| t.status == Status::Rescinded(short_key(key)))
        {
            return Binding::Replay;
        }
        let source = short(&ev.source);
        match &ev.data.rescinds {
            Some(named) => {
                let event = short(named);
                let own = case_id_for(&ev.source, named);
                if let Some(t) = list.iter().find(|t| t.own == own) {
                    return Binding::Term {
                        own: t.own,
                        case: self.case_of(t),
                    };
                }
                if list.iter().any(|t| t.event == event && t.source != source) {
                    return Binding::WrongSource {
                        detail: format!(
                            "rescind {} from {} names termination {named}, which came from another source: a rescind only acts on its own source's terminations",
                            ev.id, ev.source
                        ),
                    };
                }
                Binding::Unknown
            }
            None => {
                let latest = list
                    .iter()
                    .filter(|t| {
                        t.source == source
                            && t.status == Status::Standing
                            && t.time <= micros_down(ev.time)
                    })
                    .max_by_key(|t| (t.effective_at, t.time, t.own));
                if let Some(t) = latest {
                    return Binding::Term {
                        own: t.own,
                        case: self.case_of(t),
                    };
                }
                if list
                    .iter()
                    .any(|t| t.source != source && t.status == Status::Standing)
                {
                    return Binding::WrongSource {
                        detail: format!(
                            "rescind {} from {} names no termination, and {} has standing terminations from other sources only: a rescind only acts on its own source's terminations",
                            ev.id, ev.source, ev.subject
                        ),
                    };
                }
                Binding::Unknown
            }
        }
    }

    /// Takes in `other`'s people, each replacing this index's record of them (see
    /// `Verifier::absorb`).
    pub fn absorb(&mut self, mut other: People) {
        for (identity, list) in other.terms.drain() {
            let joined: Vec<(Uuid, Uuid)> = list
                .iter()
                .filter_map(|t| other.joined.get(&t.own).map(|c| (t.own, *c)))
                .collect();
            if let Some(old) = self.terms.insert(identity, list) {
                for t in old.iter() {
                    self.joined.remove(&t.own);
                }
            }
            self.joined.extend(joined);
        }
    }

    /// People known (for the memory bench and metrics).
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

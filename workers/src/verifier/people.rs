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
    /// Rescinded by the rescind with this key (`rescind_key`).
    Rescinded(Uuid),
    /// A person rejected its held batch: nothing was revoked, it does not stand.
    Rejected,
}

#[derive(Debug, Clone)]
struct Term {
    /// The termination's own case id (`case_id_for(source, id)`).
    own: Uuid,
    /// The case it lives in: `own`, or the live case it joined.
    case: Uuid,
    source: u64,
    event: u64,
    time: DateTime<Utc>,
    effective_at: Option<DateTime<Utc>>,
    status: Status,
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
    /// Held for every case, closed ones too: a `Box<str>` key and lists grown one by one (most
    /// people have one termination; a `Vec` would make room for four).
    terms: HashMap<Box<str>, Vec<Term>>,
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
                case,
                source: short(&ev.source),
                event: short(&ev.id),
                time: ev.time,
                effective_at: ev.data.effective_at,
                status: Status::Standing,
            },
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
                (Some(r), _) => Status::Rescinded(case_id_for(&r.source, &r.event_id)),
                // Written before rescinds were recorded by key: rescinded all the same.
                (None, CaseState::Rescinded) => Status::Rescinded(Uuid::nil()),
                (None, CaseState::Rejected) => Status::Rejected,
                (None, _) => Status::Standing,
            };
            self.upsert(
                &case.identity_id,
                Term {
                    own: case.case_id,
                    case: case.case_id,
                    source: short(source),
                    event: short(id),
                    time: case.hr_time.unwrap_or(case.opened_at),
                    effective_at: case.effective_at,
                    status,
                },
            );
        }
        for j in &case.joined {
            let status = match &j.rescind {
                Some(r) => Status::Rescinded(case_id_for(&r.source, &r.event_id)),
                None if case.state == CaseState::Rejected => Status::Rejected,
                None => Status::Standing,
            };
            self.upsert(
                &case.identity_id,
                Term {
                    own: case_id_for(&j.source, &j.event_id),
                    case: case.case_id,
                    source: short(&j.source),
                    event: short(&j.event_id),
                    time: j.time,
                    effective_at: j.effective_at,
                    status,
                },
            );
        }
    }

    fn upsert(&mut self, identity: &str, t: Term) {
        // Looked up before `entry`: a known person's news allocates no new key.
        if !self.terms.contains_key(identity) {
            self.terms.insert(identity.into(), Vec::new());
        }
        let list = self
            .terms
            .get_mut(identity)
            .expect("inserted above when missing");
        match list.iter_mut().find(|x| x.own == t.own) {
            Some(x) => {
                // News only ever ends a termination's standing (rescinded or rejected stays so).
                if x.status == Status::Standing {
                    x.status = t.status;
                }
                x.case = t.case;
            }
            None => {
                list.reserve_exact(1);
                list.push(t);
            }
        }
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
                        .filter(|(_, x)| x.own != x.case)
                        .min_by_key(|(_, x)| x.time)
                })
                .or_else(|| list.iter().enumerate().min_by_key(|(_, x)| x.time))
                .map(|(i, _)| i)
                .expect("the list is not empty");
            list.remove(i);
        }
    }

    pub fn mark_rescinded(&mut self, identity: &str, own: Uuid, key: Uuid) {
        self.set(identity, own, Status::Rescinded(key));
    }

    pub fn mark_rejected(&mut self, identity: &str, case: Uuid) {
        if let Some(list) = self.terms.get_mut(identity) {
            for t in list.iter_mut().filter(|t| t.case == case) {
                if t.status == Status::Standing {
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
            .find(|t| t.own == own && t.case != own)
            .map(|t| t.case)
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
            if !out.contains(&t.case) {
                out.push(t.case);
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
                    .filter(|t| t.status == Status::Standing && t.case != case)
                    .map(|t| t.own)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a termination living in `case`, other than `own`, still stands.
    pub fn case_stands_without(&self, identity: &str, case: Uuid, own: Uuid) -> bool {
        self.terms.get(identity).is_some_and(|l| {
            l.iter()
                .any(|t| t.case == case && t.own != own && t.status == Status::Standing)
        })
    }

    /// What the rescind `ev` applies to (see the module doc).
    pub fn bind(&self, ev: &HrEvent) -> Binding {
        let key = rescind_key(ev);
        let Some(list) = self.terms.get(ev.subject.as_str()) else {
            return Binding::Unknown;
        };
        if list.iter().any(|t| t.status == Status::Rescinded(key)) {
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
                        case: t.case,
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
                        t.source == source && t.status == Status::Standing && t.time <= ev.time
                    })
                    .max_by_key(|t| (t.effective_at, t.time, t.own));
                if let Some(t) = latest {
                    return Binding::Term {
                        own: t.own,
                        case: t.case,
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

    /// People known (for the memory bench and metrics).
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

//! The blast-radius guard: which cases may be released to the workers, which are held for a
//! person. Pure: `apply(offset, entry)` over the guard log, in its order.
//!
//! Every verifier instance reads the whole (single-partition) guard log and applies it here, so
//! all of them judge every case the same way whatever partitions they own: the log's order *is*
//! the fleet-wide order of requests for release. Rules:
//! - A case asking for release is held when, counting it, more than `max_terminations` people
//!   asked within `window_secs` (by the times in the admissions), or when more than
//!   `max_share_percent` of a target's `accounts` would be acted on within the window. Held
//!   cases count too: a flood stays held for as long as it lasts.
//! - One person counts once: a person who already asked within the window (HR re-sending a
//!   termination under a new id after the first case closed) is not counted again, and gets the
//!   verdict the person's last request got — released if it was released, held otherwise (so a
//!   re-sent termination never slips past a held or rejected batch).
//! - Restores (a rescind giving access back) are grants and ask too, with their own limit
//!   (`max_restores` per window) and their own batches: a burst of rescinds is held for a person
//!   exactly like a burst of terminations.
//! - Held cases join the open batch (`hold-<offset of its first case>`) while they come within
//!   a window of its last one; otherwise a new batch opens. The first case of a batch carries
//!   `opens_batch`, so exactly one escalation goes out per batch.
//! - A decision applies to exactly the cases it lists (the ones the person was shown, after
//!   `--only`/`--except`) that are in the batch and still undecided; a record without a list
//!   (written before decisions listed their cases) applies to every undecided case. A case that
//!   joined after the person looked is not listed, so it stays held. A batch is thus decided case
//!   by case: it stays open (new held cases join it) until every case in it is decided; later
//!   held cases then start a new batch. A decision on an unknown or fully decided batch changes
//!   nothing.
//! - A batch's digest (`Batch::digest`) is SHA-256 over its undecided (case id, identity) pairs,
//!   sorted: `revoke guard` shows it and `revoke approve --digest` must repeat it, so an approval
//!   binds to exactly the list the person saw.
//! - A case is judged once: a repeated admission (a verifier asking again after a crash) gets
//!   no new verdict; `verdict` tells what the first one was.

use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::GuardConfig;
use revoke_shared::contract::{
    Admission, AdmissionKind, BatchDecision, Decision, GuardEntry, TargetKind,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Released,
    Held {
        batch: String,
        why: String,
        opens_batch: bool,
    },
    /// Held, then a person decided on the batch.
    Decided {
        batch: String,
        why: String,
        decision: BatchDecision,
    },
}

/// A verdict on one case's request (its revocation, or its restore), for the verifier that owns
/// the case.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub case_id: Uuid,
    pub identity_id: String,
    pub asks: AdmissionKind,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: String,
    pub opened_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    /// Why its first case was held.
    pub why: String,
    /// What its cases ask for: a batch holds terminations or restores, never both.
    pub asks: AdmissionKind,
    pub cases: Vec<(Uuid, String)>,
    /// The decisions that decided some of its cases, in log order.
    pub decisions: Vec<BatchDecision>,
    /// Per decided case, its decision's index in `decisions`.
    decided: HashMap<Uuid, usize>,
}

impl Batch {
    /// Whether every case in it is decided (it then takes no more decisions and no new cases).
    pub fn is_decided(&self) -> bool {
        self.decided.len() == self.cases.len()
    }

    /// The decision on `case_id`, if there was one.
    pub fn decision_of(&self, case_id: &Uuid) -> Option<&BatchDecision> {
        self.decided.get(case_id).map(|i| &self.decisions[*i])
    }

    /// Its cases still waiting for a person, in the order they were held.
    pub fn undecided(&self) -> impl Iterator<Item = &(Uuid, String)> {
        self.cases
            .iter()
            .filter(|(id, _)| !self.decided.contains_key(id))
    }

    /// The first 16 hex digits of SHA-256 over the undecided (case id, identity) pairs, sorted by
    /// case id; each identity is length-prefixed so no two lists hash alike by concatenation.
    pub fn digest(&self) -> String {
        let mut cases: Vec<&(Uuid, String)> = self.undecided().collect();
        cases.sort();
        let mut h = Sha256::new();
        for (id, who) in cases {
            h.update(id.as_bytes());
            h.update((who.len() as u64).to_be_bytes());
            h.update(who.as_bytes());
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Which of a batch's undecided cases a decision is about (`--only` / `--except`, identities).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub except: Vec<String>,
}

/// One counted request within the window.
struct Counted {
    at: DateTime<Utc>,
    asks: AdmissionKind,
    identity_id: String,
    targets: Vec<TargetKind>,
}

pub struct Guard {
    cfg: GuardConfig,
    window: Duration,
    /// Counted requests within the window, in log order (one per person and kind).
    recent: VecDeque<Counted>,
    /// How many of `recent` ask for each kind.
    per_kind: BTreeMap<AdmissionKind, u64>,
    /// How many of `recent` terminations act on each target.
    per_target: BTreeMap<TargetKind, u64>,
    /// The people in `recent`, per kind, with whether their last request was let through.
    people: HashMap<(AdmissionKind, String), bool>,
    verdicts: HashMap<(Uuid, AdmissionKind), Verdict>,
    /// Released requests in log order, to forget their verdicts two windows later (bounded
    /// memory: a released case applied its verdict long before; one asking again is judged
    /// again). Held and decided verdicts stay with their batches.
    released: VecDeque<(DateTime<Utc>, Uuid, AdmissionKind)>,
    batches: Vec<Batch>,
    by_id: HashMap<String, usize>,
    /// Per kind, the batch new held requests join, while it is undecided and recent.
    open: BTreeMap<AdmissionKind, usize>,
}

impl Guard {
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard {
            window: Duration::seconds(cfg.window_secs as i64),
            cfg,
            recent: VecDeque::new(),
            per_kind: BTreeMap::new(),
            per_target: BTreeMap::new(),
            people: HashMap::new(),
            verdicts: HashMap::new(),
            released: VecDeque::new(),
            batches: Vec::new(),
            by_id: HashMap::new(),
            open: BTreeMap::new(),
        }
    }

    /// Applies the guard log's record at `offset`; returns the verdicts it makes.
    pub fn apply(&mut self, offset: i64, entry: &GuardEntry) -> Vec<Judged> {
        match entry {
            GuardEntry::Admission(a) => self.admit(offset, a).into_iter().collect(),
            GuardEntry::Decision(d) => self.decide(d),
        }
    }

    /// The verdict on `case_id`'s request for `asks`, if it was judged.
    pub fn verdict(&self, case_id: &Uuid, asks: AdmissionKind) -> Option<&Verdict> {
        self.verdicts.get(&(*case_id, asks))
    }

    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// Verdicts held in memory (released ones are forgotten two windows later).
    pub fn verdict_count(&self) -> usize {
        self.verdicts.len()
    }

    pub fn batch(&self, id: &str) -> Option<&Batch> {
        self.by_id.get(id).map(|i| &self.batches[*i])
    }

    fn admit(&mut self, offset: i64, a: &Admission) -> Option<Judged> {
        if self.verdicts.contains_key(&(a.case_id, a.asks)) {
            return None;
        }
        self.slide(a.at);
        let person = (a.asks, a.identity_id.clone());
        let why = match self.people.get(&person) {
            // One person counts once: the same verdict as the person's last request.
            Some(true) => None,
            Some(false) => Some(format!(
                "{} already asked within {} s and was held",
                a.identity_id, self.cfg.window_secs
            )),
            None => {
                let why = self.over_limit(a);
                self.count(a);
                why
            }
        };
        self.people.insert(person, why.is_none());
        let verdict = match why {
            None => Verdict::Released,
            Some(why) => self.hold(offset, a, why),
        };
        if verdict == Verdict::Released {
            self.released.push_back((a.at, a.case_id, a.asks));
        }
        self.verdicts.insert((a.case_id, a.asks), verdict.clone());
        Some(Judged {
            case_id: a.case_id,
            identity_id: a.identity_id.clone(),
            asks: a.asks,
            verdict,
        })
    }

    /// Forgets what left the window before `now` (admissions come in log order; times from
    /// several verifiers may be a little out of order, which only delays an eviction).
    fn slide(&mut self, now: DateTime<Utc>) {
        while let Some((at, id, asks)) = self.released.front().copied() {
            if at > now - self.window - self.window {
                break;
            }
            self.released.pop_front();
            if self.verdicts.get(&(id, asks)) == Some(&Verdict::Released) {
                self.verdicts.remove(&(id, asks));
            }
        }
        while let Some(c) = self.recent.front() {
            if c.at > now - self.window {
                break;
            }
            let c = self.recent.pop_front().expect("front exists");
            if let Some(n) = self.per_kind.get_mut(&c.asks) {
                *n = n.saturating_sub(1);
            }
            if c.asks == AdmissionKind::Termination {
                for t in &c.targets {
                    if let Some(n) = self.per_target.get_mut(t) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
            self.people.remove(&(c.asks, c.identity_id));
        }
    }

    fn count(&mut self, a: &Admission) {
        *self.per_kind.entry(a.asks).or_default() += 1;
        if a.asks == AdmissionKind::Termination {
            for t in &a.targets {
                *self.per_target.entry(*t).or_default() += 1;
            }
        }
        self.recent.push_back(Counted {
            at: a.at,
            asks: a.asks,
            identity_id: a.identity_id.clone(),
            targets: a.targets.clone(),
        });
    }

    /// Holds `a` in the open batch of its kind, or opens one.
    fn hold(&mut self, offset: i64, a: &Admission, why: String) -> Verdict {
        let joins = self.open.get(&a.asks).copied().filter(|i| {
            let b = &self.batches[*i];
            !b.is_decided() && a.at - b.last_at <= self.window
        });
        let (i, opens_batch) = match joins {
            Some(i) => (i, false),
            None => {
                let id = format!("hold-{offset}");
                self.batches.push(Batch {
                    id: id.clone(),
                    opened_at: a.at,
                    last_at: a.at,
                    why: why.clone(),
                    asks: a.asks,
                    cases: Vec::new(),
                    decisions: Vec::new(),
                    decided: HashMap::new(),
                });
                let i = self.batches.len() - 1;
                self.by_id.insert(id, i);
                self.open.insert(a.asks, i);
                (i, true)
            }
        };
        let b = &mut self.batches[i];
        b.cases.push((a.case_id, a.identity_id.clone()));
        b.last_at = b.last_at.max(a.at);
        Verdict::Held {
            batch: b.id.clone(),
            why,
            opens_batch,
        }
    }

    /// Why `a` (not yet counted) would go over a limit, if it would.
    fn over_limit(&self, a: &Admission) -> Option<String> {
        let secs = self.cfg.window_secs;
        let count = self.per_kind.get(&a.asks).copied().unwrap_or(0) + 1;
        if a.asks == AdmissionKind::Restore {
            return (count > self.cfg.max_restores).then(|| format!(
                "{count} restores (rescinds giving access back) asked within {secs} s (more than verifier.guard.max_restores = {})",
                self.cfg.max_restores
            ));
        }
        if count > self.cfg.max_terminations {
            return Some(format!(
                "{count} people asked for release within {secs} s (more than verifier.guard.max_terminations = {})",
                self.cfg.max_terminations
            ));
        }
        let share = self.cfg.max_share_percent?;
        for t in &a.targets {
            let Some(accounts) = self.cfg.accounts.get(t.as_str()) else {
                continue;
            };
            let n = self.per_target.get(t).copied().unwrap_or(0) + 1;
            if n as f64 > *accounts as f64 * share / 100.0 {
                return Some(format!(
                    "{n} of the {accounts} {t} accounts within {secs} s ({:.1}%, more than verifier.guard.max_share_percent = {share}%)",
                    n as f64 * 100.0 / *accounts as f64
                ));
            }
        }
        None
    }

    fn decide(&mut self, d: &BatchDecision) -> Vec<Judged> {
        let Some(&i) = self.by_id.get(&d.batch) else {
            return Vec::new();
        };
        let b = &mut self.batches[i];
        let listed = |id: &Uuid| d.cases.as_ref().is_none_or(|l| l.contains(id));
        let now_decided: Vec<(Uuid, String)> = b
            .undecided()
            .filter(|(id, _)| listed(id))
            .cloned()
            .collect();
        if now_decided.is_empty() {
            return Vec::new();
        }
        b.decisions.push(d.clone());
        let at = b.decisions.len() - 1;
        let mut out = Vec::with_capacity(now_decided.len());
        for (case_id, identity_id) in now_decided {
            b.decided.insert(case_id, at);
            let verdict = Verdict::Decided {
                batch: b.id.clone(),
                why: b.why.clone(),
                decision: d.clone(),
            };
            self.verdicts.insert((case_id, b.asks), verdict.clone());
            out.push(Judged {
                case_id,
                identity_id,
                asks: b.asks,
                verdict,
            });
        }
        if b.is_decided() {
            self.open.retain(|_, open| *open != i);
        }
        out
    }

    /// Whether a decision on `batch` could change anything: `Err` says why not (for the CLI).
    pub fn check_decision(&self, batch: &str) -> Result<&Batch, String> {
        let Some(b) = self.batch(batch) else {
            let known: Vec<&str> = self
                .batches
                .iter()
                .filter(|b| !b.is_decided())
                .map(|b| b.id.as_str())
                .collect();
            return Err(format!(
                "no held batch {batch:?} in the guard log (undecided batches: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        match b.decisions.last() {
            Some(d) if b.is_decided() => Err(format!(
                "batch {batch} was already decided: {} by {} at {}",
                match d.decision {
                    Decision::Approve => "approved",
                    Decision::Reject => "rejected",
                },
                d.by,
                d.at.to_rfc3339()
            )),
            _ => Ok(b),
        }
    }

    /// The cases of `batch` a decision shown `digest` and narrowed by `sel` is about: `Err` says
    /// why it must not be written (the batch changed since the person looked, an identity named
    /// that is not waiting in it, nothing left to decide).
    pub fn select(
        &self,
        batch: &str,
        digest: Option<&str>,
        sel: &Selection,
    ) -> Result<Vec<(Uuid, String)>, String> {
        let b = self.check_decision(batch)?;
        let current = b.digest();
        if let Some(shown) = digest {
            if !current.eq_ignore_ascii_case(shown.trim()) {
                return Err(format!(
                    "batch {batch} changed since its digest {shown} was shown (its undecided cases now have digest {current}); nothing was decided: review it again with `revoke guard`"
                ));
            }
        }
        let waiting: Vec<&(Uuid, String)> = b.undecided().collect();
        for who in sel.only.iter().chain(&sel.except) {
            if !waiting.iter().any(|(_, w)| w == who) {
                return Err(format!(
                    "{who} is not waiting for a decision in batch {batch} (digest {current}); nothing was decided: see `revoke guard`"
                ));
            }
        }
        let chosen: Vec<(Uuid, String)> = waiting
            .into_iter()
            .filter(|(_, w)| sel.only.is_empty() || sel.only.contains(w))
            .filter(|(_, w)| !sel.except.contains(w))
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(format!(
                "--only/--except leave no case of batch {batch} to decide; nothing was decided"
            ));
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max: u64) -> GuardConfig {
        GuardConfig {
            max_terminations: max,
            window_secs: 600,
            ..GuardConfig::default()
        }
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .into()
    }

    fn adm(n: u128, at: DateTime<Utc>) -> GuardEntry {
        GuardEntry::Admission(Admission {
            case_id: Uuid::from_u128(n),
            identity_id: format!("E{n}"),
            asks: AdmissionKind::Termination,
            targets: TargetKind::ALL.to_vec(),
            at,
        })
    }

    fn decision(batch: &str, d: Decision) -> GuardEntry {
        GuardEntry::Decision(BatchDecision {
            batch: batch.into(),
            decision: d,
            by: "alice".into(),
            at: t0(),
            note: None,
            digest: None,
            cases: None,
        })
    }

    fn held_batch(j: &[Judged]) -> Option<&str> {
        match &j.first()?.verdict {
            Verdict::Held { batch, .. } => Some(batch),
            _ => None,
        }
    }

    /// A year of released cases does not grow the guard: their verdicts are forgotten two
    /// windows after release.
    #[test]
    fn released_verdicts_are_forgotten_two_windows_later() {
        let mut g = Guard::new(cfg(1_000_000));
        for n in 0..10_000u128 {
            let at = t0() + Duration::seconds(n as i64 * 60);
            g.apply(n as i64, &adm(n, at));
        }
        // One admission a minute, a 600 s window: about 20 minutes of verdicts are kept.
        assert!(g.verdict_count() <= 21, "{}", g.verdict_count());
        assert_eq!(
            g.verdict(&Uuid::from_u128(9_999), AdmissionKind::Termination),
            Some(&Verdict::Released)
        );
        assert_eq!(
            g.verdict(&Uuid::from_u128(0), AdmissionKind::Termination),
            None
        );
    }

    /// HR re-sending one person's termination under new ids (each a new case once the first
    /// closed) counts once; the person's later requests get the first one's verdict.
    #[test]
    fn one_person_counts_once_and_inherits_the_verdict() {
        let mut g = Guard::new(cfg(2));
        let person = |n: u128, who: &str| {
            GuardEntry::Admission(Admission {
                case_id: Uuid::from_u128(n),
                identity_id: who.into(),
                asks: AdmissionKind::Termination,
                targets: TargetKind::ALL.to_vec(),
                at: t0(),
            })
        };
        let mut off = 0;
        let mut verdict = |g: &mut Guard, e: GuardEntry| {
            off += 1;
            g.apply(off, &e).pop().unwrap().verdict
        };
        for n in 0..50 {
            assert_eq!(verdict(&mut g, person(n, "E-dup")), Verdict::Released);
        }
        assert_eq!(verdict(&mut g, person(100, "E1")), Verdict::Released);
        let held = verdict(&mut g, person(101, "E2"));
        assert!(matches!(held, Verdict::Held { .. }), "{held:?}");
        // E2 again: held too (never slips past a held batch), in the same batch, not counted.
        let again = verdict(&mut g, person(102, "E2"));
        assert!(
            matches!(
                &again,
                Verdict::Held {
                    opens_batch: false,
                    ..
                }
            ),
            "{again:?}"
        );
        // Restores have their own count.
        let restore = GuardEntry::Admission(Admission {
            case_id: Uuid::from_u128(100),
            identity_id: "E1".into(),
            asks: AdmissionKind::Restore,
            targets: TargetKind::ALL.to_vec(),
            at: t0(),
        });
        assert_eq!(verdict(&mut g, restore), Verdict::Released);
        assert_eq!(
            g.verdict(&Uuid::from_u128(100), AdmissionKind::Termination),
            Some(&Verdict::Released)
        );
    }

    #[test]
    fn more_than_the_limit_in_the_window_is_held_in_one_batch_with_one_opener() {
        let mut g = Guard::new(cfg(3));
        let mut verdicts = Vec::new();
        for i in 0..6 {
            let j = g.apply(i as i64, &adm(i, t0() + Duration::seconds(i as i64)));
            assert_eq!(j.len(), 1);
            verdicts.push(j[0].verdict.clone());
        }
        assert!(verdicts[..3].iter().all(|v| *v == Verdict::Released));
        let openers: Vec<bool> = verdicts[3..]
            .iter()
            .map(|v| match v {
                Verdict::Held {
                    batch, opens_batch, ..
                } => {
                    assert_eq!(batch, "hold-3");
                    *opens_batch
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(openers, vec![true, false, false]);
        let b = g.batch("hold-3").unwrap();
        assert_eq!(b.cases.len(), 3);
        assert!(
            b.why.contains("4 people") && b.why.contains("max_terminations = 3"),
            "{}",
            b.why
        );
    }

    #[test]
    fn the_window_slides() {
        let mut g = Guard::new(cfg(2));
        g.apply(0, &adm(0, t0()));
        g.apply(1, &adm(1, t0() + Duration::seconds(1)));
        // 10 minutes after the first: it has left the window, so this is the 2nd in it.
        let j = g.apply(2, &adm(2, t0() + Duration::seconds(600)));
        assert_eq!(j[0].verdict, Verdict::Released);
        // Still within 10 minutes of the second: the 3rd in the window.
        let j = g.apply(3, &adm(3, t0() + Duration::seconds(600)));
        assert_eq!(held_batch(&j), Some("hold-3"));
        // Once the second and third left it, room again.
        let j = g.apply(4, &adm(4, t0() + Duration::seconds(1201)));
        assert_eq!(j[0].verdict, Verdict::Released);
    }

    #[test]
    fn a_repeated_admission_is_judged_once() {
        let mut g = Guard::new(cfg(1));
        assert_eq!(g.apply(0, &adm(0, t0()))[0].verdict, Verdict::Released);
        assert!(g.apply(1, &adm(0, t0())).is_empty());
        assert!(g.apply(2, &adm(0, t0())).is_empty());
        // The repeats did not count: the next case is the 2nd, over the limit of 1.
        assert_eq!(held_batch(&g.apply(3, &adm(1, t0()))), Some("hold-3"));
        assert_eq!(
            g.verdict(&Uuid::from_u128(0), AdmissionKind::Termination),
            Some(&Verdict::Released)
        );
    }

    #[test]
    fn a_decision_applies_to_the_batch_as_it_was_and_later_holds_start_a_new_one() {
        let mut g = Guard::new(cfg(1));
        g.apply(0, &adm(0, t0()));
        g.apply(1, &adm(1, t0()));
        g.apply(2, &adm(2, t0()));
        let j = g.apply(3, &decision("hold-1", Decision::Approve));
        assert_eq!(
            j.iter().map(|j| j.case_id).collect::<Vec<_>>(),
            vec![Uuid::from_u128(1), Uuid::from_u128(2)]
        );
        assert!(j.iter().all(|j| matches!(&j.verdict, Verdict::Decided { decision, .. } if decision.decision == Decision::Approve && decision.by == "alice")));
        // Decided: a second decision on it changes nothing, and the CLI is told why.
        assert!(g.apply(4, &decision("hold-1", Decision::Reject)).is_empty());
        assert!(g
            .check_decision("hold-1")
            .unwrap_err()
            .contains("approved by alice"));
        // Still within the window: the next case is held again, in a new batch.
        let j = g.apply(5, &adm(3, t0()));
        assert!(
            matches!(&j[0].verdict, Verdict::Held { batch, opens_batch: true, .. } if batch == "hold-5")
        );
        let j = g.apply(6, &decision("hold-5", Decision::Reject));
        assert!(
            matches!(&j[0].verdict, Verdict::Decided { decision, .. } if decision.decision == Decision::Reject)
        );
        // Unknown batches change nothing.
        assert!(g
            .apply(7, &decision("hold-99", Decision::Approve))
            .is_empty());
        assert!(g
            .check_decision("hold-99")
            .unwrap_err()
            .contains("no held batch"));
    }

    #[test]
    fn a_held_batch_left_alone_for_a_window_is_not_joined_by_a_new_burst() {
        let mut g = Guard::new(cfg(1));
        g.apply(0, &adm(0, t0()));
        g.apply(1, &adm(1, t0()));
        let later = t0() + Duration::hours(5);
        g.apply(2, &adm(2, later));
        let j = g.apply(3, &adm(3, later));
        assert_eq!(held_batch(&j), Some("hold-3"));
        assert_eq!(g.batches().len(), 2);
        assert!(
            g.check_decision("hold-1").is_ok(),
            "the old batch still waits for a person"
        );
    }

    #[test]
    fn a_share_of_a_targets_accounts() {
        let mut c = cfg(1000);
        c.max_share_percent = Some(5.0);
        c.accounts.insert("saas".into(), 40);
        let mut g = Guard::new(c);
        // 5% of 40 is 2: the third case acting on saas is held; cases not acting on it are not.
        let saas = |n: u128| {
            GuardEntry::Admission(Admission {
                case_id: Uuid::from_u128(n),
                identity_id: format!("E{n}"),
                asks: AdmissionKind::Termination,
                targets: vec![TargetKind::Saas, TargetKind::Directory],
                at: t0(),
            })
        };
        let dir_only = GuardEntry::Admission(Admission {
            case_id: Uuid::from_u128(9),
            identity_id: "E9".into(),
            asks: AdmissionKind::Termination,
            targets: vec![TargetKind::Directory],
            at: t0(),
        });
        assert_eq!(g.apply(0, &saas(0))[0].verdict, Verdict::Released);
        assert_eq!(g.apply(1, &saas(1))[0].verdict, Verdict::Released);
        assert_eq!(g.apply(2, &dir_only)[0].verdict, Verdict::Released);
        let j = g.apply(3, &saas(3));
        match &j[0].verdict {
            Verdict::Held { why, .. } => {
                assert!(why.contains("3 of the 40 saas accounts"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// Two instances reading the same log agree on every verdict, whatever they own.
    #[test]
    fn every_reader_of_the_log_judges_alike() {
        let log: Vec<GuardEntry> = (0..40)
            .map(|i| adm(i, t0() + Duration::seconds(i as i64 * 7)))
            .chain([decision("hold-25", Decision::Approve)])
            .collect();
        let run = || {
            let mut g = Guard::new(cfg(25));
            log.iter()
                .enumerate()
                .flat_map(|(o, e)| g.apply(o as i64, e))
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        assert_eq!(
            a.iter().filter(|j| j.verdict == Verdict::Released).count(),
            25
        );
        assert_eq!(
            a.iter()
                .filter(|j| matches!(j.verdict, Verdict::Decided { .. }))
                .count(),
            15
        );
    }

    /// The decision `revoke approve` would write for `sel` on `batch` shown `digest`.
    fn chosen(g: &Guard, batch: &str, digest: &str, sel: Selection) -> Result<GuardEntry, String> {
        let cases = g.select(batch, Some(digest), &sel)?;
        Ok(GuardEntry::Decision(BatchDecision {
            batch: batch.into(),
            decision: Decision::Approve,
            by: "alice".into(),
            at: t0(),
            note: None,
            digest: Some(digest.into()),
            cases: Some(cases.into_iter().map(|(id, _)| id).collect()),
        }))
    }

    fn decided_ids(j: &[Judged]) -> Vec<Uuid> {
        j.iter()
            .filter(|j| matches!(j.verdict, Verdict::Decided { .. }))
            .map(|j| j.case_id)
            .collect()
    }

    /// A digest shown before a case joined no longer matches: the decision is refused, naming
    /// the current digest; the digest covers only what still waits.
    #[test]
    fn a_digest_binds_to_the_list_shown() {
        let mut g = Guard::new(cfg(1));
        g.apply(0, &adm(0, t0()));
        g.apply(1, &adm(1, t0()));
        g.apply(2, &adm(2, t0()));
        let shown = g.batch("hold-1").unwrap().digest();
        assert_eq!(shown.len(), 16);
        assert_eq!(shown, g.batch("hold-1").unwrap().digest(), "stable");
        g.apply(3, &adm(3, t0()));
        let now = g.batch("hold-1").unwrap().digest();
        assert_ne!(shown, now);
        let err = g
            .select("hold-1", Some(&shown), &Selection::default())
            .unwrap_err();
        assert!(
            err.contains(&now) && err.contains("revoke guard") && err.contains("changed"),
            "{err}"
        );
        assert_eq!(
            g.select("hold-1", Some(&now.to_uppercase()), &Selection::default())
                .unwrap()
                .len(),
            3
        );
        // Forged: an identity not waiting in the batch is refused, not ignored.
        let err = g
            .select(
                "hold-1",
                Some(&now),
                &Selection {
                    only: vec!["E0".into()],
                    except: vec![],
                },
            )
            .unwrap_err();
        assert!(err.contains("E0 is not waiting"), "{err}");
    }

    /// `--only` decides exactly the named people; `--except` everyone else; the batch stays open
    /// (and joinable) for the rest, whose digest is new; a replayed decision changes nothing.
    #[test]
    fn only_and_except_decide_part_of_a_batch() {
        let mut g = Guard::new(cfg(1));
        for n in 0..5 {
            g.apply(n as i64, &adm(n, t0()));
        }
        let d = g.batch("hold-1").unwrap().digest();
        let only = chosen(
            &g,
            "hold-1",
            &d,
            Selection {
                only: vec!["E2".into()],
                except: vec![],
            },
        )
        .unwrap();
        assert_eq!(decided_ids(&g.apply(5, &only)), vec![Uuid::from_u128(2)]);
        assert!(g.apply(6, &only).is_empty(), "a replay decides nothing");
        let b = g.batch("hold-1").unwrap();
        assert!(!b.is_decided() && b.decision_of(&Uuid::from_u128(2)).is_some());
        assert!(b.decision_of(&Uuid::from_u128(1)).is_none());
        assert_ne!(b.digest(), d, "the rest has its own digest");
        assert!(
            g.select("hold-1", Some(&d), &Selection::default()).is_err(),
            "the old digest is stale"
        );
        // Still open: a new held case joins it.
        assert_eq!(held_batch(&g.apply(7, &adm(7, t0()))), Some("hold-1"));
        let d = g.batch("hold-1").unwrap().digest();
        let except = chosen(
            &g,
            "hold-1",
            &d,
            Selection {
                only: vec![],
                except: vec!["E3".into()],
            },
        )
        .unwrap();
        assert_eq!(
            decided_ids(&g.apply(8, &except)),
            [1, 4, 7].map(Uuid::from_u128).to_vec()
        );
        let d = g.batch("hold-1").unwrap().digest();
        let last = chosen(&g, "hold-1", &d, Selection::default()).unwrap();
        assert_eq!(decided_ids(&g.apply(9, &last)), vec![Uuid::from_u128(3)]);
        assert!(g.batch("hold-1").unwrap().is_decided());
        assert!(g
            .check_decision("hold-1")
            .unwrap_err()
            .contains("already decided"));
        // Fully decided: the next held case opens a new batch.
        assert_eq!(held_batch(&g.apply(10, &adm(10, t0()))), Some("hold-10"));
    }

    /// A case that joins between the person's look and the decision landing is not in the
    /// decision's list: it stays held; an older record without a list decides all that waits.
    #[test]
    fn a_case_joining_after_the_digest_stays_held() {
        let mut g = Guard::new(cfg(1));
        g.apply(0, &adm(0, t0()));
        g.apply(1, &adm(1, t0()));
        g.apply(2, &adm(2, t0()));
        let d = g.batch("hold-1").unwrap().digest();
        let listed = chosen(&g, "hold-1", &d, Selection::default()).unwrap();
        g.apply(3, &adm(3, t0()));
        let j = g.apply(4, &listed);
        assert_eq!(decided_ids(&j), [1, 2].map(Uuid::from_u128).to_vec());
        assert!(matches!(
            g.verdict(&Uuid::from_u128(3), AdmissionKind::Termination),
            Some(Verdict::Held { .. })
        ));
        let b = g.batch("hold-1").unwrap();
        assert_eq!(
            b.undecided().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![Uuid::from_u128(3)]
        );
        // A record from before decisions listed cases: everything still waiting.
        let j = g.apply(5, &decision("hold-1", Decision::Reject));
        assert_eq!(decided_ids(&j), vec![Uuid::from_u128(3)]);
        assert!(g.batch("hold-1").unwrap().is_decided());
    }
}

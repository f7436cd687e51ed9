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
//! - A decision counts only if its person made it (`read_guard_record`: signed with their current
//!   key, holding the approver role, as `[[people]]` and `[signing] required` say); a refused one
//!   never reaches `apply`, so its batch stays held. A decision that counts carries its
//!   `DecisionProof` into each case's verdict: the case's evidence says whether it was
//!   authenticated and keeps its signature.
//! - A case is judged once: a repeated admission (a verifier asking again after a crash) gets
//!   no new verdict; `verdict` tells what the first one was.
//!
//! Bounds (memory grows with what people must look at, never with time or with a flood nobody
//! decided; `sizes` reports them):
//! - A released request's verdict is forgotten two windows after its release: the case applied
//!   it long before, and one asking again is judged again.
//! - A fully decided batch is listed (its cases, identities, decision records) for two windows
//!   of log time after its last decision, then only what `verdict` needs stays: per batch its
//!   why and decisions (without their case lists), per case one small entry naming its batch
//!   and decision. That entry is never forgotten: a case record still `admitting` or `held`
//!   (its owner stopped before it wrote the verdict, and took it over only after the log moved
//!   on) must get the person's decision, not a fresh judgement that could release a case a
//!   person rejected, or leave an approved one held forever.
//! - Held cases are never dropped (each is a person's pending decision); each costs one
//!   (case id, identity) in its batch and one small verdict entry. At most
//!   `MAX_UNDECIDED_BATCHES` batches of each kind wait at once: past that, a request that would
//!   open a batch joins the newest undecided one of its kind instead (held all the same, one
//!   escalation per batch), so a year of small bursts nobody decides is not a year of batches
//!   and escalations.

use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::GuardConfig;
use revoke_shared::contract::{
    Admission, AdmissionKind, BatchDecision, Decision, GuardEntry, TargetKind,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use uuid::Uuid;

/// At most this many batches of one kind (terminations, restores) wait for a person at once;
/// further held requests join the newest of them (see the module documentation).
pub const MAX_UNDECIDED_BATCHES: usize = 100;

/// A fully decided batch stays listed for this many windows (of log time) after its last
/// decision, like a released verdict.
const KEEP_DECIDED_WINDOWS: i32 = 2;

/// A verdict as the verifier applies it. Looked up later (`Guard::verdict`), a held or decided
/// verdict carries its batch's `why` (the first case's), and a decision without its case list.
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
        /// How the decision was proven its person's (none where the caller did not check,
        /// e.g. records applied by tests).
        proof: Option<Box<DecisionProof>>,
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
    /// The guard log offset of its first case (`id` is `hold-<offset>`).
    offset: i64,
    pub opened_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    /// Why its first case was held.
    pub why: String,
    /// What its cases ask for: a batch holds terminations or restores, never both.
    pub asks: AdmissionKind,
    pub cases: Vec<(Uuid, String)>,
    /// The decisions that decided some of its cases, in log order.
    pub decisions: Vec<BatchDecision>,
    /// How each of `decisions` was proven its person's, in the same order.
    pub proofs: Vec<Option<DecisionProof>>,
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

/// What the guard keeps of one judged request: a few bytes; the rest (batch id, why, decision)
/// comes from its batch when asked, instead of a copy per case.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kept {
    Released,
    Held {
        batch: i64,
        opens: bool,
    },
    /// `decision` indexes the batch's decisions (in `batches`, or `settled` once forgotten).
    Decided {
        batch: i64,
        decision: u32,
    },
}

/// What stays of a decided batch once it is no longer listed: enough to answer for its cases.
struct Settled {
    id: String,
    why: String,
    /// Its decisions in log order, without their case lists, and their proofs.
    decisions: Vec<BatchDecision>,
    proofs: Vec<Option<DecisionProof>>,
}

/// How much the guard holds: the event that sets the `revoke_guard_*` gauges, so what the guard
/// counts and what it exports are one struct.
pub type Sizes = revoke_shared::metrics::GuardMemory;

pub struct Guard {
    cfg: GuardConfig,
    window: Duration,
    /// The latest admission time in the log so far: the guard's clock.
    now: DateTime<Utc>,
    /// Counted requests within the window, in log order (one per person and kind).
    recent: VecDeque<Counted>,
    /// How many of `recent` ask for each kind.
    per_kind: BTreeMap<AdmissionKind, u64>,
    /// How many of `recent` terminations act on each target.
    per_target: BTreeMap<TargetKind, u64>,
    /// The people in `recent`, per kind, with whether their last request was let through.
    people: HashMap<(AdmissionKind, String), bool>,
    verdicts: HashMap<(Uuid, AdmissionKind), Kept>,
    /// Released requests in log order, to forget their verdicts two windows later (bounded
    /// memory: a released case applied its verdict long before; one asking again is judged
    /// again). Held and decided verdicts stay (see the module documentation).
    released: VecDeque<(DateTime<Utc>, Uuid, AdmissionKind)>,
    /// The listed batches (undecided, or decided recently), by `offset`.
    batches: Vec<Batch>,
    /// Fully decided batches in the order they were, with the guard's clock then: each is
    /// settled `KEEP_DECIDED_WINDOWS` windows later.
    decided_at: VecDeque<(DateTime<Utc>, i64)>,
    /// Decided batches no longer listed, by offset.
    settled: HashMap<i64, Settled>,
    /// Per kind, the offset of the batch new held requests join, while it is undecided and
    /// recent.
    open: BTreeMap<AdmissionKind, i64>,
    /// Verdicts kept, as counted in `Sizes`.
    counts: Sizes,
}

impl Guard {
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard {
            window: Duration::seconds(cfg.window_secs as i64),
            cfg,
            now: DateTime::<Utc>::MIN_UTC,
            recent: VecDeque::new(),
            per_kind: BTreeMap::new(),
            per_target: BTreeMap::new(),
            people: HashMap::new(),
            verdicts: HashMap::new(),
            released: VecDeque::new(),
            batches: Vec::new(),
            decided_at: VecDeque::new(),
            settled: HashMap::new(),
            open: BTreeMap::new(),
            counts: Sizes::default(),
        }
    }

    /// Applies the guard log's record at `offset`; returns the verdicts it makes.
    pub fn apply(&mut self, offset: i64, entry: &GuardEntry) -> Vec<Judged> {
        self.apply_proven(offset, entry, None)
    }

    /// `apply`, for a record `read_guard_record` let count: a decision with its proof.
    pub fn apply_proven(
        &mut self,
        offset: i64,
        entry: &GuardEntry,
        proof: Option<DecisionProof>,
    ) -> Vec<Judged> {
        match entry {
            GuardEntry::Admission(a) => self.admit(offset, a).into_iter().collect(),
            GuardEntry::Decision(d) => self.decide(d, proof),
        }
    }

    /// The verdict on `case_id`'s request for `asks`, if it was judged (and, for a release,
    /// not yet forgotten).
    pub fn verdict(&self, case_id: &Uuid, asks: AdmissionKind) -> Option<Verdict> {
        Some(match *self.verdicts.get(&(*case_id, asks))? {
            Kept::Released => Verdict::Released,
            Kept::Held { batch, opens } => {
                let b = self.listed(batch)?;
                Verdict::Held {
                    batch: b.id.clone(),
                    why: b.why.clone(),
                    opens_batch: opens,
                }
            }
            Kept::Decided { batch, decision } => {
                let i = decision as usize;
                let (id, why, d, proof) = match self.listed(batch) {
                    Some(b) => (&b.id, &b.why, b.decisions.get(i)?, b.proofs.get(i)),
                    None => {
                        let s = self.settled.get(&batch)?;
                        (&s.id, &s.why, s.decisions.get(i)?, s.proofs.get(i))
                    }
                };
                Verdict::Decided {
                    batch: id.clone(),
                    why: why.clone(),
                    decision: without_cases(d),
                    proof: proof.cloned().flatten().map(Box::new),
                }
            }
        })
    }

    /// The listed batches: every undecided one, and decided ones for two windows after their
    /// last decision; in the order they opened.
    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// When the oldest batch with a case still undecided opened (its first case was held), if
    /// any: how long a person has been asked to decide (`revoke_guard_oldest_held_seconds`).
    pub fn oldest_held_since(&self) -> Option<DateTime<Utc>> {
        self.batches
            .iter()
            .filter(|b| !b.is_decided())
            .map(|b| b.opened_at)
            .min()
    }

    /// Verdicts held in memory (released ones are forgotten two windows later).
    pub fn verdict_count(&self) -> usize {
        self.verdicts.len()
    }

    /// What the guard holds now (see the module documentation for the bounds).
    pub fn sizes(&self) -> Sizes {
        let decided_batches = self.batches.iter().filter(|b| b.is_decided()).count();
        Sizes {
            held_batches: self.batches.len() - decided_batches,
            decided_batches,
            settled_batches: self.settled.len(),
            ..self.counts
        }
    }

    pub fn batch(&self, id: &str) -> Option<&Batch> {
        self.listed(offset_of(id)?).filter(|b| b.id == id)
    }

    /// The listed batch opened at `offset`.
    fn listed(&self, offset: i64) -> Option<&Batch> {
        self.position(offset).map(|i| &self.batches[i])
    }

    fn position(&self, offset: i64) -> Option<usize> {
        self.batches
            .binary_search_by_key(&offset, |b| b.offset)
            .ok()
    }

    /// Keeps `kept` as the verdict on `key`, counting it.
    fn keep(&mut self, key: (Uuid, AdmissionKind), kept: Kept) {
        if let Some(old) = self.verdicts.insert(key, kept) {
            *self.count_of(old) -= 1;
        }
        *self.count_of(kept) += 1;
    }

    fn count_of(&mut self, kept: Kept) -> &mut usize {
        match kept {
            Kept::Released => &mut self.counts.released,
            Kept::Held { .. } => &mut self.counts.held,
            Kept::Decided { .. } => &mut self.counts.decided,
        }
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
        let (verdict, kept) = match why {
            None => {
                self.released.push_back((a.at, a.case_id, a.asks));
                (Verdict::Released, Kept::Released)
            }
            Some(why) => self.hold(offset, a, why),
        };
        self.keep((a.case_id, a.asks), kept);
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
        self.now = self.now.max(now);
        while let Some((at, id, asks)) = self.released.front().copied() {
            if at > now - self.window - self.window {
                break;
            }
            self.released.pop_front();
            if self.verdicts.get(&(id, asks)) == Some(&Kept::Released) {
                self.verdicts.remove(&(id, asks));
                self.counts.released -= 1;
            }
        }
        while let Some((at, offset)) = self.decided_at.front().copied() {
            if at > now - self.window * KEEP_DECIDED_WINDOWS {
                break;
            }
            self.decided_at.pop_front();
            self.settle(offset);
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
        // A flood leaves the window as it came: give its room back (a map or queue keeps its
        // largest size otherwise), with slack so that steady traffic does not reallocate.
        shrink_deque(&mut self.recent);
        shrink_deque(&mut self.released);
        shrink_deque(&mut self.decided_at);
        if self.people.capacity() > 4 * self.people.len() + 64 {
            self.people.shrink_to(2 * self.people.len());
        }
        if self.verdicts.capacity() > 4 * self.verdicts.len() + 64 {
            self.verdicts.shrink_to(2 * self.verdicts.len());
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

    /// Holds `a` in the open batch of its kind, or opens one (or, with `MAX_UNDECIDED_BATCHES`
    /// of its kind waiting, joins the newest of them).
    fn hold(&mut self, offset: i64, a: &Admission, mut why: String) -> (Verdict, Kept) {
        let recent = self.open.get(&a.asks).copied().filter(|o| {
            self.listed(*o)
                .is_some_and(|b| !b.is_decided() && a.at - b.last_at <= self.window)
        });
        let full = || {
            let waiting: Vec<i64> = self
                .batches
                .iter()
                .filter(|b| b.asks == a.asks && !b.is_decided())
                .map(|b| b.offset)
                .collect();
            (waiting.len() >= MAX_UNDECIDED_BATCHES)
                .then(|| waiting.last().copied())
                .flatten()
        };
        let joins = match recent {
            Some(o) => Some(o),
            None => full().inspect(|o| {
                why = format!(
                    "{why}; joined hold-{o}: {MAX_UNDECIDED_BATCHES} batches already wait for a person"
                );
            }),
        };
        let (i, opens_batch) = match joins.and_then(|o| self.position(o)) {
            Some(i) => (i, false),
            None => {
                // In offset order (the log's, so usually at the end), for `position`.
                let i = self.batches.partition_point(|b| b.offset < offset);
                self.batches.insert(
                    i,
                    Batch {
                        id: format!("hold-{offset}"),
                        offset,
                        opened_at: a.at,
                        last_at: a.at,
                        why: why.clone(),
                        asks: a.asks,
                        cases: Vec::new(),
                        decisions: Vec::new(),
                        proofs: Vec::new(),
                        decided: HashMap::new(),
                    },
                );
                self.open.insert(a.asks, offset);
                (i, true)
            }
        };
        let b = &mut self.batches[i];
        b.cases.push((a.case_id, a.identity_id.clone()));
        b.last_at = b.last_at.max(a.at);
        let kept = Kept::Held {
            batch: b.offset,
            opens: opens_batch,
        };
        let verdict = Verdict::Held {
            batch: b.id.clone(),
            why,
            opens_batch,
        };
        (verdict, kept)
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

    fn decide(&mut self, d: &BatchDecision, proof: Option<DecisionProof>) -> Vec<Judged> {
        let Some(i) = offset_of(&d.batch)
            .and_then(|o| self.position(o))
            .filter(|i| self.batches[*i].id == d.batch)
        else {
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
        b.proofs.push(proof.clone());
        let proof = proof.map(Box::new);
        let at = b.decisions.len() - 1;
        // One verdict for all, without the decision's case list: a copy of the list in every
        // case's verdict would cost the square of the batch's size.
        let verdict = Verdict::Decided {
            batch: b.id.clone(),
            why: b.why.clone(),
            decision: without_cases(d),
            proof,
        };
        let (offset, asks) = (b.offset, b.asks);
        for (case_id, _) in &now_decided {
            b.decided.insert(*case_id, at);
        }
        if b.is_decided() {
            self.open.retain(|_, open| *open != offset);
            self.decided_at.push_back((self.now, offset));
        }
        let kept = Kept::Decided {
            batch: offset,
            decision: at as u32,
        };
        now_decided
            .into_iter()
            .map(|(case_id, identity_id)| {
                self.keep((case_id, asks), kept);
                Judged {
                    case_id,
                    identity_id,
                    asks,
                    verdict: verdict.clone(),
                }
            })
            .collect()
    }

    /// Stops listing the decided batch opened at `offset`: only what `verdict` needs stays.
    fn settle(&mut self, offset: i64) {
        let Some(i) = self.position(offset) else {
            return;
        };
        let b = self.batches.remove(i);
        self.settled.insert(
            offset,
            Settled {
                id: b.id,
                why: b.why,
                decisions: b.decisions.iter().map(without_cases).collect(),
                proofs: b.proofs,
            },
        );
    }

    /// Whether a decision on `batch` could change anything: `Err` says why not (for the CLI).
    pub fn check_decision(&self, batch: &str) -> Result<&Batch, String> {
        let Some(b) = self.batch(batch) else {
            let settled = offset_of(batch)
                .and_then(|o| self.settled.get(&o))
                .filter(|s| s.id == batch);
            if let Some(d) = settled.and_then(|s| s.decisions.last()) {
                return Err(already_decided(batch, d));
            }
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
            Some(d) if b.is_decided() => Err(already_decided(batch, d)),
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

fn shrink_deque<T>(q: &mut VecDeque<T>) {
    if q.capacity() > 4 * q.len() + 64 {
        q.shrink_to(2 * q.len());
    }
}

/// The offset a batch id names (`hold-<offset>`, exactly as the guard spells it).
fn offset_of(id: &str) -> Option<i64> {
    id.strip_prefix("hold-")?.parse().ok()
}

/// `d` without its case list (the verdict of each case it decided needs only who, what, when).
fn without_cases(d: &BatchDecision) -> BatchDecision {
    BatchDecision {
        batch: d.batch.clone(),
        decision: d.decision,
        by: d.by.clone(),
        at: d.at,
        note: d.note.clone(),
        digest: d.digest.clone(),
        cases: None,
    }
}

fn already_decided(batch: &str, d: &BatchDecision) -> String {
    format!(
        "batch {batch} was already decided: {} by {} at {}",
        match d.decision {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        },
        d.by,
        d.at.to_rfc3339()
    )
}

mod record;
pub use record::{read_guard_record, DecisionProof, GuardRead};

#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
mod tests;

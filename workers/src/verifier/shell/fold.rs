//! Folding a case's versions: a version the machine makes while an earlier version of the same
//! case still waits to be sent replaces it, so a burst of a case's inputs — a termination, its
//! release, five targets' reports arriving within a few milliseconds — is published as the
//! versions a reader can tell apart, not one full snapshot per input.
//!
//! What keeps the guarantees:
//! - **At-least-once.** An input's offset is stored only once a version holding its effect is
//!   acknowledged: the handler returns its acknowledgements as a `Durability` (the consume loop
//!   starts the key's next record meanwhile), and a folded version's waiters are told when the
//!   version that replaced it is acknowledged — or that it failed, which stops the verifier with
//!   the offsets unstored, as a failed write always has.
//! - **The evidence chain.** Versions are sealed as they are sent, so `prev_digest` names the
//!   version sent before. A version folded into an unsent one takes that one's `revision` (and
//!   the machine's copy takes it too, `Verifier::set_revision`), so the published revisions stay
//!   consecutive and `revoke case --verify` sees no gap.
//! - **Order.** Everything is decided under the state lock: a case has at most one unsent
//!   version, replaced in place; the versions sent are the newest of each case, in the order
//!   the machine made them.
//! - **What is not folded.** A closing version is sent at once (with anything unsent of its
//!   case folded into it): closes are what people and the latency target wait for. Versions made
//!   by the tick, the guard's verdicts, a rescind and the after-close paths are sent at once too;
//!   only the consume loop's inputs (terminations, reports, decisions) fold.
//!
//! An unsent version waits at most `verifier.fold_ms` (0: nothing is held): the flusher (`run`)
//! sends every unsent version that long after the first of a burst was held.

use revoke_shared::contract::Case;
use std::collections::HashMap;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Told the outcome of the write that holds a folded version's effect.
pub(super) type Waiter = oneshot::Sender<Result<(), String>>;
/// What a handler whose version was folded awaits.
pub(super) type Waiting = oneshot::Receiver<Result<(), String>>;

/// A case's newest version not yet sent, and the handlers whose inputs it holds.
#[derive(Debug)]
pub(super) struct Pending {
    pub case: Case,
    pub waiters: Vec<Waiter>,
}

/// The unsent versions, at most one per case.
#[derive(Debug, Default)]
pub(super) struct Unsent {
    cases: HashMap<Uuid, Pending>,
}

impl Unsent {
    /// Takes `case`'s unsent version, if any, and folds it into `case`: `case` takes its
    /// revision (its place in the chain) and the returned waiters are now `case`'s. `renumber`
    /// counts, per case, the versions folded away within one list of effects, so that a later
    /// version in the same list follows the earlier ones without a gap.
    pub fn fold_into(&mut self, case: &mut Case, renumber: &mut Renumber) -> Vec<Waiter> {
        let behind = renumber.behind.get(&case.case_id).copied().unwrap_or(0);
        case.revision = case.revision.saturating_sub(behind);
        match self.cases.remove(&case.case_id) {
            Some(earlier) => {
                let folded = case.revision.saturating_sub(earlier.case.revision);
                *renumber.behind.entry(case.case_id).or_default() += folded;
                case.revision = earlier.case.revision;
                earlier.waiters
            }
            None => Vec::new(),
        }
    }

    /// Holds `case` unsent with `waiters` (from `fold_into`) and one more waiter for the
    /// caller, returned.
    pub fn hold(&mut self, case: Case, mut waiters: Vec<Waiter>) -> Waiting {
        let (tx, rx) = oneshot::channel();
        waiters.push(tx);
        self.cases.insert(case.case_id, Pending { case, waiters });
        rx
    }

    /// Every unsent version, taken out to be sent.
    pub fn drain(&mut self) -> Vec<Pending> {
        self.cases.drain().map(|(_, p)| p).collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }
}

/// How many versions of each case one list of effects folded away: the machine's copy goes
/// back by as many (`Verifier::revision_back`) once the list is enqueued. Empty (and
/// allocation-free) unless something folded.
#[derive(Debug, Default)]
pub(super) struct Renumber {
    behind: HashMap<Uuid, u64>,
}

impl Renumber {
    /// Each case whose versions were folded, and by how many.
    pub fn folded(self) -> impl Iterator<Item = (Uuid, u64)> {
        self.behind.into_iter().filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use revoke_shared::contract::{CaseState, TargetKind};

    fn case(id: Uuid, revision: u64, state: CaseState) -> Case {
        let mut c = Case::opened(id, "E1", vec![TargetKind::Vault], Utc::now());
        c.revision = revision;
        c.state = state;
        c
    }

    #[test]
    fn a_newer_version_takes_the_unsent_ones_revision_and_waiters() {
        let id = Uuid::new_v4();
        let mut unsent = Unsent::default();
        let mut renumber = Renumber::default();
        let mut first = case(id, 4, CaseState::Admitting);
        assert!(
            unsent.fold_into(&mut first, &mut renumber).is_empty(),
            "nothing unsent yet"
        );
        assert_eq!(
            first.revision, 4,
            "a version with nothing to fold into keeps its revision"
        );
        let mut first_waits = unsent.hold(first, Vec::new());

        let mut second = case(id, 5, CaseState::Open);
        let carried = unsent.fold_into(&mut second, &mut renumber);
        assert_eq!(
            second.revision, 4,
            "folded: the chain sees one version, not a gap"
        );
        assert_eq!(carried.len(), 1);
        assert!(
            unsent.is_empty(),
            "the earlier version is replaced, not kept beside"
        );
        let mut second_waits = unsent.hold(second, carried);
        assert_eq!(unsent.len(), 1);
        assert_eq!(renumber.folded().collect::<Vec<_>>(), vec![(id, 1)]);

        let sent = unsent.drain();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].case.state,
            CaseState::Open,
            "the newest is what is sent"
        );
        assert_eq!(sent[0].case.revision, 4);
        // The write's outcome reaches every input the version holds.
        for w in sent.into_iter().flat_map(|p| p.waiters) {
            w.send(Err("refused".into())).unwrap();
        }
        assert_eq!(first_waits.try_recv().unwrap(), Err("refused".to_string()));
        assert_eq!(second_waits.try_recv().unwrap(), Err("refused".to_string()));
    }

    /// One list of effects with two versions of a case (the machine numbered them r+1, r+2)
    /// while version r waits unsent: sent at once, they are published as r and r+1; held, as r;
    /// either way the machine's copy goes back to the last one.
    #[test]
    fn two_versions_in_one_list_stay_consecutive_sent_or_held() {
        let id = Uuid::new_v4();
        for hold in [false, true] {
            let mut unsent = Unsent::default();
            let _w = unsent.hold(case(id, 10, CaseState::Open), Vec::new());
            let mut renumber = Renumber::default();
            let mut published = Vec::new();
            for machine_rev in [11, 12] {
                let mut v = case(id, machine_rev, CaseState::Open);
                let waiters = unsent.fold_into(&mut v, &mut renumber);
                if hold {
                    drop(unsent.hold(v, waiters));
                } else {
                    published.push(v.revision);
                }
            }
            let back: Vec<(Uuid, u64)> = renumber.folded().collect();
            if hold {
                assert_eq!(unsent.drain()[0].case.revision, 10);
                assert_eq!(back, vec![(id, 2)], "machine copy 12 goes back to 10");
            } else {
                assert_eq!(published, vec![10, 11], "no gap, no repeat");
                assert_eq!(back, vec![(id, 1)], "machine copy 12 goes back to 11");
            }
        }
    }

    #[test]
    fn cases_fold_apart_and_a_dropped_version_is_seen_by_its_waiters() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut unsent = Unsent::default();
        let mut waits_a = unsent.hold(case(a, 1, CaseState::Open), Vec::new());
        let mut vb = case(b, 7, CaseState::Open);
        let mut renumber = Renumber::default();
        assert!(
            unsent.fold_into(&mut vb, &mut renumber).is_empty(),
            "another case's version is not folded"
        );
        assert_eq!(renumber.folded().count(), 0);
        assert_eq!(vb.revision, 7);
        let _waits_b = unsent.hold(vb, Vec::new());
        assert_eq!(unsent.len(), 2);
        drop(unsent.drain());
        assert!(
            waits_a.try_recv().is_err(),
            "a version dropped unsent is not taken for written"
        );
    }
}

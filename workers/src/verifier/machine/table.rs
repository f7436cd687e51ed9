//! Where the verifier keeps its cases: live ones (a whole `Case` each) apart from the closed
//! markers (one offset each). Kept apart because everything that runs per tick — deadlines,
//! SLAs, escalation paths, reminders, scheduled cases — looks at live cases only, and closed
//! markers outnumber them by far (a million after a year of a large company's leavers): a
//! tick, and the tick a rebuild check runs per input, costs what is live, not what was ever
//! seen. An id is in at most one of the two.

use super::{Closed, Slot};
use revoke_shared::contract::Case;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Default)]
pub(super) struct CaseTable {
    live: HashMap<Uuid, Box<Case>>,
    closed: HashMap<Uuid, Closed>,
}

/// A case as the table holds it, borrowed.
pub(super) enum SlotRef<'a> {
    Live(&'a Case),
    Closed(&'a Closed),
}

impl CaseTable {
    /// Stores `slot` for `id`, returning what was there.
    pub fn insert(&mut self, id: Uuid, slot: Slot) -> Option<Slot> {
        let old = self.remove(&id);
        match slot {
            Slot::Live(c) => self.live.insert(id, c),
            Slot::Closed(c) => self
                .closed
                .insert(id, c)
                .map(|_| unreachable!("removed above")),
        };
        old
    }

    pub fn remove(&mut self, id: &Uuid) -> Option<Slot> {
        if let Some(c) = self.live.remove(id) {
            return Some(Slot::Live(c));
        }
        self.closed.remove(id).map(Slot::Closed)
    }

    pub fn get(&self, id: &Uuid) -> Option<SlotRef<'_>> {
        if let Some(c) = self.live.get(id) {
            return Some(SlotRef::Live(c));
        }
        self.closed.get(id).map(SlotRef::Closed)
    }

    pub fn live_mut(&mut self, id: &Uuid) -> Option<&mut Case> {
        self.live.get_mut(id).map(|c| &mut **c)
    }

    pub fn closed_mut(&mut self, id: &Uuid) -> Option<&mut Closed> {
        self.closed.get_mut(id)
    }

    pub fn is_closed(&self, id: &Uuid) -> bool {
        self.closed.contains_key(id)
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.live.contains_key(id) || self.closed.contains_key(id)
    }

    /// Every case and marker, taken out (the table is left empty).
    pub fn drain(&mut self) -> impl Iterator<Item = (Uuid, Slot)> + '_ {
        self.live
            .drain()
            .map(|(id, c)| (id, Slot::Live(c)))
            .chain(self.closed.drain().map(|(id, c)| (id, Slot::Closed(c))))
    }

    /// Every live case (in no particular order).
    pub fn live(&self) -> impl Iterator<Item = (&Uuid, &Case)> {
        self.live.iter().map(|(id, c)| (id, &**c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A live case, as the verifier opens one for a termination.
    fn case() -> (Uuid, Box<Case>) {
        use crate::verifier::tests::kit::{hr, sole_case, t0, termination, verifier};
        let c = sole_case(hr(&mut verifier(), &termination("E1", "evt-1", t0()), t0()));
        (c.case_id, Box::new(c))
    }

    #[test]
    fn an_id_is_live_or_closed_never_both() {
        let mut t = CaseTable::default();
        let (id, live) = case();
        assert!(t.insert(id, Slot::Live(live.clone())).is_none());
        assert!(t.live().any(|(i, _)| *i == id));
        let old = t.insert(id, Slot::Closed(Closed { offset: 7 }));
        assert!(matches!(old, Some(Slot::Live(_))));
        assert!(t.is_closed(&id) && t.live().next().is_none());
        assert!(matches!(t.get(&id), Some(SlotRef::Closed(c)) if c.offset == 7));
        let old = t.insert(id, Slot::Live(live));
        assert!(matches!(old, Some(Slot::Closed(c)) if c.offset == 7));
        assert!(!t.is_closed(&id) && t.contains(&id));
        assert!(matches!(t.remove(&id), Some(Slot::Live(_))));
        assert!(!t.contains(&id) && t.get(&id).is_none());
    }
}

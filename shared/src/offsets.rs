//! Ordered acknowledgements: which offset of a partition may be stored for commit.
//!
//! Many records of one partition are handled at once and finish in any order. An offset may be
//! committed only when *every* record below it has finished, or a crash would skip the unfinished
//! one. This tracker is pure bookkeeping so that its rules are unit-tested without Kafka.

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
struct PartitionTrack {
    /// Offsets begun and not yet finished (a count, since a redelivered offset may overlap).
    pending: BTreeMap<i64, u32>,
    /// Highest offset begun since the last rewind.
    max_seen: Option<i64>,
    /// The last commit position handed out (to avoid storing the same offset again).
    last_committable: Option<i64>,
}

impl PartitionTrack {
    fn committable(&self) -> Option<i64> {
        match self.pending.keys().next() {
            Some(&lowest) => Some(lowest),
            None => self.max_seen.map(|m| m + 1),
        }
    }
}

/// Per (topic, partition) watermarks of fully handled records.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    parts: HashMap<(String, i32), PartitionTrack>,
    pending_total: usize,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `offset` was read and is being handled.
    ///
    /// An offset at or below one already seen means the consumer rewound (rebalance, seek): the
    /// records of the old generation no longer bound this partition, so its state is reset.
    pub fn begin(&mut self, topic: &str, partition: i32, offset: i64) {
        let track = self
            .parts
            .entry((topic.to_string(), partition))
            .or_default();
        if track.max_seen.is_some_and(|m| offset <= m) {
            let dropped: u32 = track.pending.values().sum();
            self.pending_total -= dropped as usize;
            *track = PartitionTrack::default();
        }
        *track.pending.entry(offset).or_insert(0) += 1;
        track.max_seen = Some(offset);
        self.pending_total += 1;
    }

    /// Records that `offset` is fully handled. Returns the new commit position (the next offset
    /// to read) when it advanced, which the caller stores for commit.
    pub fn finish(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let track = self.parts.get_mut(&(topic.to_string(), partition))?;
        match track.pending.get_mut(&offset) {
            None => return None, // from a generation dropped by a rewind: nothing to do
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                track.pending.remove(&offset);
            }
        }
        self.pending_total -= 1;
        let next = track.committable();
        if next.is_some() && next != track.last_committable && next > track.last_committable {
            track.last_committable = next;
            return next;
        }
        None
    }

    /// Where a consumer giving up this partition should commit: below the lowest record not yet
    /// finished (records read but never started count as unfinished).
    pub fn committable(&self, topic: &str, partition: i32) -> Option<i64> {
        self.parts
            .get(&(topic.to_string(), partition))
            .and_then(PartitionTrack::committable)
    }

    /// Records of one partition read and not yet finished.
    pub fn pending_in(&self, topic: &str, partition: i32) -> usize {
        self.parts
            .get(&(topic.to_string(), partition))
            .map_or(0, |t| t.pending.values().sum::<u32>() as usize)
    }

    /// Forgets a partition given up: its records still pending will be handled by its next owner.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        if let Some(track) = self.parts.remove(&(topic.to_string(), partition)) {
            self.pending_total -= track.pending.values().sum::<u32>() as usize;
        }
    }

    /// Records read and not yet finished, over all partitions.
    pub fn pending(&self) -> usize {
        self.pending_total
    }

    /// The last commit position handed out per partition.
    pub fn positions(&self) -> Vec<(String, i32, i64)> {
        self.parts
            .iter()
            .filter_map(|((t, p), track)| track.last_committable.map(|o| (t.clone(), *p, o)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_only_past_contiguous_finished_offsets() {
        let mut t = OffsetTracker::new();
        for o in 10..15 {
            t.begin("t", 0, o);
        }
        assert_eq!(t.pending(), 5);
        // Nothing below 10 is pending: 10 is a valid (if unchanged) position, reported once.
        assert_eq!(t.finish("t", 0, 12), Some(10));
        assert_eq!(t.finish("t", 0, 11), None);
        assert_eq!(t.finish("t", 0, 10), Some(13));
        assert_eq!(t.finish("t", 0, 14), None);
        assert_eq!(t.finish("t", 0, 13), Some(15));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::new();
        t.begin("t", 0, 5);
        t.begin("t", 1, 7);
        t.begin("u", 0, 1);
        assert_eq!(t.finish("t", 1, 7), Some(8));
        assert_eq!(t.finish("u", 0, 1), Some(2));
        assert_eq!(t.finish("t", 0, 5), Some(6));
        let mut pos = t.positions();
        pos.sort();
        assert_eq!(
            pos,
            vec![("t".into(), 0, 6), ("t".into(), 1, 8), ("u".into(), 0, 2)]
        );
    }

    #[test]
    fn rewind_resets_and_stale_finishes_are_ignored() {
        let mut t = OffsetTracker::new();
        t.begin("t", 0, 10);
        t.begin("t", 0, 11);
        assert_eq!(t.finish("t", 0, 10), Some(11));
        // rebalance: the partition is redelivered from 11
        t.begin("t", 0, 11);
        assert_eq!(t.pending(), 1);
        // the old generation's 11 finishing proves 11 handled: safe to move on
        assert_eq!(t.finish("t", 0, 11), Some(12));
        assert_eq!(t.finish("t", 0, 11), None);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn a_partition_given_up_commits_below_its_first_unfinished_record_and_is_forgotten() {
        let mut t = OffsetTracker::new();
        for o in 20..24 {
            t.begin("t", 2, o);
        }
        t.begin("t", 3, 5);
        assert_eq!(t.finish("t", 2, 20), Some(21));
        assert_eq!(t.finish("t", 2, 22), None);
        // 21 and 23 never finished (one was queued, never started): commit at 21.
        assert_eq!(t.pending_in("t", 2), 2);
        assert_eq!(t.committable("t", 2), Some(21));
        t.forget("t", 2);
        assert_eq!(t.pending(), 1);
        assert_eq!(t.committable("t", 2), None);
        // A handler of the old owner finishing late changes nothing.
        assert_eq!(t.finish("t", 2, 21), None);
        assert_eq!(t.finish("t", 3, 5), Some(6));
        assert_eq!(t.pending(), 0);
        // Regained: tracked afresh from where the group resumes.
        t.begin("t", 2, 21);
        assert_eq!(t.finish("t", 2, 21), Some(22));
    }

    #[test]
    fn unknown_partition_is_ignored() {
        let mut t = OffsetTracker::new();
        assert_eq!(t.finish("t", 3, 1), None);
    }
}

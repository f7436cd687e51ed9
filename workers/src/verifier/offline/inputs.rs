//! The verifier's input records in the order to re-apply them: each topic partition in its
//! own order (what the consume loop keeps), the partitions interleaved by record time, and the
//! clock ticking at every time the cases topic recorded a version (so what the verifier's clock
//! did — a deadline passing, a re-drive, a reminder — happens again at about the same time).
//! Records with the same time go terminations first, then the guard log, then confirmations,
//! then the tick: the order their causes run in (a termination asks the guard, its release
//! reaches the workers, their reports come back).

use super::run::Source;
use chrono::{DateTime, TimeZone, Utc};
use revoke_shared::contract::RawMessage;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// One input record and its record time.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub source: Source,
    pub msg: RawMessage,
    pub at: DateTime<Utc>,
}

/// One step of the re-run.
#[derive(Debug, Clone)]
pub enum Step {
    Record(Box<Recorded>),
    Tick(DateTime<Utc>),
}

impl Step {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Step::Record(r) => r.at,
            Step::Tick(t) => *t,
        }
    }
}

/// The records of one topic as read (any interleaving of its partitions, each in offset
/// order), as one stream per partition.
pub fn by_partition(
    source: Source,
    topic: &str,
    records: Vec<revoke_shared::kafka::ReadRecord>,
) -> Vec<Vec<Recorded>> {
    let mut parts: std::collections::BTreeMap<i32, Vec<Recorded>> = Default::default();
    for r in records {
        let at = r
            .timestamp_ms
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        parts.entry(r.partition).or_default().push(Recorded {
            source,
            at,
            msg: RawMessage {
                topic: topic.to_string(),
                partition: r.partition,
                offset: r.offset,
                key: r.key,
                payload: r.payload,
                headers: r.headers,
                timestamp_ms: r.timestamp_ms,
            },
        });
    }
    parts.into_values().collect()
}

/// The streams merged by time (each keeps its order), with a tick at each of `ticks`.
pub fn merge(streams: Vec<Vec<Recorded>>, mut ticks: Vec<DateTime<Utc>>) -> Vec<Step> {
    ticks.sort();
    ticks.dedup();
    let mut queues: Vec<VecDeque<Recorded>> = streams.into_iter().map(VecDeque::from).collect();
    let tick_rank = 3u8;
    let rank = |s: Source| s as u8;
    // (time, rank, stream): the heap holds each stream's head; usize::MAX is the tick stream.
    let mut heap: BinaryHeap<Reverse<(DateTime<Utc>, u8, usize)>> = BinaryHeap::new();
    for (i, q) in queues.iter().enumerate() {
        if let Some(r) = q.front() {
            heap.push(Reverse((r.at, rank(r.source), i)));
        }
    }
    let mut ticks = VecDeque::from(ticks);
    if let Some(t) = ticks.front() {
        heap.push(Reverse((*t, tick_rank, usize::MAX)));
    }
    let mut out = Vec::new();
    while let Some(Reverse((_, _, i))) = heap.pop() {
        if i == usize::MAX {
            out.push(Step::Tick(ticks.pop_front().expect("a head")));
            if let Some(t) = ticks.front() {
                heap.push(Reverse((*t, tick_rank, usize::MAX)));
            }
            continue;
        }
        let r = queues[i].pop_front().expect("a head");
        out.push(Step::Record(Box::new(r)));
        if let Some(next) = queues[i].front() {
            // A later record of the partition with an earlier time (a producer's clock) still
            // comes after: never before the record it follows.
            heap.push(Reverse((next.at, rank(next.source), i)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::tests::kit::at;

    fn rec(source: Source, partition: i32, offset: i64, secs: i64) -> Recorded {
        Recorded {
            source,
            at: at(secs),
            msg: RawMessage {
                topic: format!("{source:?}"),
                partition,
                offset,
                key: None,
                payload: None,
                headers: Vec::new(),
                timestamp_ms: None,
            },
        }
    }

    fn order(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Record(r) => format!("{:?}/{}/{}", r.source, r.msg.partition, r.msg.offset),
                Step::Tick(t) => format!("tick@{}", (*t - at(0)).num_seconds()),
            })
            .collect()
    }

    #[test]
    fn partitions_keep_their_order_and_interleave_by_time_causes_first() {
        let t = vec![
            rec(Source::Terminations, 0, 0, 1),
            rec(Source::Terminations, 0, 1, 5),
        ];
        // A producer's clock behind: offset 1 says 0 s but comes after offset 0.
        let c = vec![
            rec(Source::Confirmations, 0, 0, 3),
            rec(Source::Confirmations, 0, 1, 0),
        ];
        let g = vec![rec(Source::Guard, 0, 0, 1)];
        let steps = merge(vec![c, t, g], vec![at(5), at(1), at(5)]);
        assert_eq!(
            order(&steps),
            [
                "Terminations/0/0",
                "Guard/0/0",
                "tick@1",
                "Confirmations/0/0",
                "Confirmations/0/1",
                "Terminations/0/1",
                "tick@5",
            ]
        );
    }
}

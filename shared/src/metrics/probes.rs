//! What `/livez` and `/readyz` answer, decided from a snapshot of the process's loops (pure: the
//! state they are read from is `probe_state`, the HTTP routes are `serve`).
//!
//! The two questions are kept apart because a supervisor acts on them differently:
//! - **live** (`/livez`): the process is not wedged. Each consume loop goes round at least every
//!   250 ms, whatever the broker does (it wakes on a timer, not only on records), and marks a
//!   heartbeat each time; the process is live while every loop's heartbeat is younger than the
//!   stall limit. A broker outage never fails it: the loops keep going round, finding nothing to
//!   read. Failing it restarts the process, which would not bring the broker back.
//! - **ready** (`/readyz`): the process is doing its job: every consume loop has been assigned
//!   partitions by its group (after a rebalance or a lost session, assigned again) and its broker
//!   answers. A broker outage fails it in every process at once, which is what it is for: a
//!   process that cannot work is reported (alerts on `revoke_ready == 0`, a rollout waits)
//!   without being restarted.

use std::time::Duration;

/// Where a consume loop stands in its consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Subscribed; no assignment received since the loop started.
    Joining,
    /// Assigned this many partitions, their state taken over (the verifier rebuilt their cases).
    /// Zero counts: see [`readiness`].
    Assigned(usize),
    /// Its partitions were revoked (a rebalance, or its session lost while the broker was away);
    /// waiting for the next assignment.
    Rebalancing,
}

/// One consume loop, as the probes see it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopView {
    /// `consumer <group>`, as `/healthz` names it.
    pub name: String,
    pub membership: Membership,
    /// The latest broker probe (a metadata request); `None` until the first one answered or
    /// failed.
    pub broker: Option<Result<(), String>>,
    /// Time since the loop last went round.
    pub since_beat: Duration,
}

/// A probe's answer: 200 when `ok`, else 503; `text` names every part and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub text: String,
}

/// `/livez`: live unless a loop has not gone round for `stall_limit`. A process without a loop
/// (yet) is live: that it answers at all shows its runtime is not wedged.
pub fn liveness(loops: &[LoopView], stall_limit: Duration) -> Verdict {
    let mut ok = true;
    let mut text = String::new();
    for l in loops {
        let secs = l.since_beat.as_secs_f64();
        if l.since_beat >= stall_limit {
            ok = false;
            text.push_str(&format!(
                "{}: stalled: went round {secs:.1} s ago (limit {} s)\n",
                l.name,
                stall_limit.as_secs()
            ));
        } else {
            text.push_str(&format!("{}: live: went round {secs:.1} s ago\n", l.name));
        }
    }
    if loops.is_empty() {
        text.push_str("no consume loop running; the process answers\n");
    }
    Verdict { ok, text }
}

/// `/readyz`: ready when something has reported and every part is ready: each consume loop
/// assigned and its broker answering, each other component (`others`: e.g. `revoke watch`
/// once its cases are rebuilt) `Ok`.
///
/// A loop assigned **zero** partitions is ready. Its group has more members than partitions
/// (the partition count caps a group's useful members): it joined, holds nothing now, and takes
/// partitions over as soon as another member leaves — a standby, which is what extra replicas
/// are for. Calling it unready would leave every such replica unready for good and keep a
/// rollout waiting on it; "no assignment yet" is told apart by [`Membership::Joining`].
///
/// Nothing reported (no loop started yet: the verifier waiting for its topics) is not ready.
pub fn readiness(loops: &[LoopView], others: &[(String, Result<(), String>)]) -> Verdict {
    let mut ok = !(loops.is_empty() && others.is_empty());
    let mut text = String::new();
    for l in loops {
        let mut why: Vec<String> = Vec::new();
        match l.membership {
            Membership::Joining => why.push("not yet assigned partitions by its group".into()),
            Membership::Rebalancing => why.push(
                "partitions revoked (rebalance or lost session), waiting for the next assignment"
                    .into(),
            ),
            Membership::Assigned(_) => {}
        }
        match &l.broker {
            None => why.push("broker not checked yet".into()),
            Some(Err(e)) => why.push(format!("broker unreachable: {e}")),
            Some(Ok(())) => {}
        }
        if why.is_empty() {
            let n = match l.membership {
                Membership::Assigned(0) => {
                    "no partition (a standby: its group has more members than partitions)".into()
                }
                Membership::Assigned(n) => format!("{n} partitions"),
                _ => unreachable!("only an assigned loop is ready"),
            };
            text.push_str(&format!(
                "{}: ready: assigned {n}, broker answers\n",
                l.name
            ));
        } else {
            ok = false;
            text.push_str(&format!("{}: not ready: {}\n", l.name, why.join("; ")));
        }
    }
    for (name, state) in others {
        match state {
            Ok(()) => text.push_str(&format!("{name}: ready\n")),
            Err(why) => {
                ok = false;
                text.push_str(&format!("{name}: not ready: {why}\n"));
            }
        }
    }
    if loops.is_empty() && others.is_empty() {
        text.push_str("starting: no consumer has started yet\n");
    }
    Verdict { ok, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(membership: Membership, broker: Option<Result<(), String>>, since: u64) -> LoopView {
        LoopView {
            name: "consumer revoke-vault".into(),
            membership,
            broker,
            since_beat: Duration::from_secs(since),
        }
    }

    const LIMIT: Duration = Duration::from_secs(120);

    #[test]
    fn a_loop_that_goes_round_is_live_whatever_the_broker_says() {
        let away = view(Membership::Rebalancing, Some(Err("timed out".into())), 0);
        let v = liveness(&[away], LIMIT);
        assert!(v.ok, "{}", v.text);
        assert!(v.text.contains("consumer revoke-vault: live"));
    }

    #[test]
    fn a_loop_stalled_past_the_limit_is_not_live() {
        let fresh = view(Membership::Assigned(3), Some(Ok(())), 1);
        let stuck = LoopView {
            name: "consumer revoke-verifier".into(),
            ..view(Membership::Assigned(3), Some(Ok(())), 120)
        };
        let v = liveness(&[fresh.clone(), stuck], LIMIT);
        assert!(!v.ok);
        assert!(
            v.text.contains(
                "consumer revoke-verifier: stalled: went round 120.0 s ago (limit 120 s)"
            ),
            "{}",
            v.text
        );
        assert!(liveness(&[fresh], LIMIT).ok);
    }

    #[test]
    fn no_loop_is_live_but_not_ready() {
        assert!(liveness(&[], LIMIT).ok);
        let r = readiness(&[], &[]);
        assert!(!r.ok);
        assert!(r.text.contains("starting"));
    }

    #[test]
    fn assigned_with_the_broker_answering_is_ready() {
        let r = readiness(&[view(Membership::Assigned(6), Some(Ok(())), 0)], &[]);
        assert!(r.ok, "{}", r.text);
        assert_eq!(
            r.text,
            "consumer revoke-vault: ready: assigned 6 partitions, broker answers\n"
        );
    }

    #[test]
    fn an_empty_assignment_is_a_ready_standby() {
        let r = readiness(&[view(Membership::Assigned(0), Some(Ok(())), 0)], &[]);
        assert!(r.ok, "{}", r.text);
        assert!(r.text.contains("standby"));
    }

    #[test]
    fn not_yet_assigned_is_not_ready() {
        let r = readiness(&[view(Membership::Joining, Some(Ok(())), 0)], &[]);
        assert!(!r.ok);
        assert!(r.text.contains("not yet assigned partitions by its group"));
    }

    #[test]
    fn revoked_and_waiting_is_not_ready() {
        let r = readiness(&[view(Membership::Rebalancing, Some(Ok(())), 0)], &[]);
        assert!(!r.ok);
        assert!(r.text.contains("waiting for the next assignment"));
    }

    #[test]
    fn a_broker_that_does_not_answer_or_was_not_asked_yet_is_not_ready() {
        let away = view(Membership::Assigned(6), Some(Err("timed out".into())), 0);
        let r = readiness(&[away], &[]);
        assert!(!r.ok);
        assert!(
            r.text.contains("broker unreachable: timed out"),
            "{}",
            r.text
        );
        let unknown = readiness(&[view(Membership::Assigned(6), None, 0)], &[]);
        assert!(!unknown.ok);
        assert!(unknown.text.contains("broker not checked yet"));
    }

    #[test]
    fn every_reason_is_named_and_one_unready_loop_makes_the_process_unready() {
        let ready = view(Membership::Assigned(2), Some(Ok(())), 0);
        let joining = LoopView {
            name: "consumer revoke-webhook".into(),
            ..view(Membership::Joining, None, 0)
        };
        let r = readiness(&[ready, joining], &[]);
        assert!(!r.ok);
        assert!(r.text.contains(
            "consumer revoke-webhook: not ready: not yet assigned partitions by its group; broker not checked yet"
        ));
    }

    #[test]
    fn other_components_count() {
        let watch_ok = [("watch".to_string(), Ok(()))];
        assert!(readiness(&[], &watch_ok).ok);
        let watch_rebuilding = [("watch".to_string(), Err("rebuilding".to_string()))];
        let r = readiness(&[], &watch_rebuilding);
        assert!(!r.ok);
        assert!(r.text.contains("watch: not ready: rebuilding"));
    }
}

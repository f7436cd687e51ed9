//! The state `/livez` and `/readyz` are decided from (the decisions are `probes`): each running
//! consume loop's heartbeat, group membership and latest broker probe, and the readiness of
//! components that are not consume loops.
//!
//! A loop registers itself with [`ProbeState::register_loop`] and gets a [`LoopProbe`]; dropping
//! it (however the loop ends) removes the loop. The heartbeat is an atomic store, so marking it
//! on every turn of the loop costs no lock.

use super::probes::{LoopView, Membership};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Milliseconds since the first call in this process: heartbeats as plain numbers.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// How long a consume loop may go without going round before `/livez` fails, unless set
/// (`metrics.stall_secs`).
pub const DEFAULT_STALL: Duration = Duration::from_secs(120);

struct LoopEntry {
    name: String,
    membership: Membership,
    broker: Option<Result<(), String>>,
    beat: Arc<AtomicU64>,
}

pub(super) struct ProbeState {
    /// By registration number, so two loops of one group name in one process (tests) each
    /// keep their own entry.
    loops: Mutex<BTreeMap<u64, LoopEntry>>,
    others: Mutex<BTreeMap<String, Result<(), String>>>,
    next_id: AtomicU64,
    stall_limit_ms: AtomicU64,
}

impl Default for ProbeState {
    fn default() -> Self {
        ProbeState {
            loops: Mutex::default(),
            others: Mutex::default(),
            next_id: AtomicU64::new(0),
            stall_limit_ms: AtomicU64::new(DEFAULT_STALL.as_millis() as u64),
        }
    }
}

impl ProbeState {
    pub(super) fn register_loop(self: &Arc<Self>, name: &str) -> LoopProbe {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let beat = Arc::new(AtomicU64::new(now_ms()));
        self.loops.lock().expect("probe state lock").insert(
            id,
            LoopEntry {
                name: name.to_string(),
                membership: Membership::Joining,
                broker: None,
                beat: beat.clone(),
            },
        );
        LoopProbe {
            id,
            state: self.clone(),
            beat,
        }
    }

    pub(super) fn set_other(&self, component: &str, state: Result<(), String>) {
        self.others
            .lock()
            .expect("probe state lock")
            .insert(component.to_string(), state);
    }

    pub(super) fn remove_other(&self, component: &str) {
        self.others
            .lock()
            .expect("probe state lock")
            .remove(component);
    }

    pub(super) fn set_stall_limit(&self, limit: Duration) {
        self.stall_limit_ms
            .store(limit.as_millis() as u64, Ordering::Relaxed);
    }

    pub(super) fn stall_limit(&self) -> Duration {
        Duration::from_millis(self.stall_limit_ms.load(Ordering::Relaxed))
    }

    /// The loops as the decisions read them, now.
    pub(super) fn loops(&self) -> Vec<LoopView> {
        let now = now_ms();
        self.loops
            .lock()
            .expect("probe state lock")
            .values()
            .map(|e| LoopView {
                name: e.name.clone(),
                membership: e.membership,
                broker: e.broker.clone(),
                since_beat: Duration::from_millis(
                    now.saturating_sub(e.beat.load(Ordering::Relaxed)),
                ),
            })
            .collect()
    }

    pub(super) fn others(&self) -> Vec<(String, Result<(), String>)> {
        self.others
            .lock()
            .expect("probe state lock")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut LoopEntry)) {
        // Only an entry still registered: a broker probe answering after its loop ended must
        // not bring the loop back.
        if let Some(e) = self.loops.lock().expect("probe state lock").get_mut(&id) {
            change(e);
        }
    }
}

/// One consume loop's part of the probes; the loop is unregistered when this is dropped.
pub struct LoopProbe {
    id: u64,
    state: Arc<ProbeState>,
    beat: Arc<AtomicU64>,
}

impl LoopProbe {
    /// The loop went round.
    pub fn beat(&self) {
        self.beat.store(now_ms(), Ordering::Relaxed);
    }

    /// The group assigned `partitions` partitions (possibly none) and they were taken over.
    pub fn assigned(&self, partitions: usize) {
        self.state
            .update(self.id, |e| e.membership = Membership::Assigned(partitions));
    }

    /// The group revoked the loop's partitions: not ready until the next assignment.
    pub fn revoked(&self) {
        self.state
            .update(self.id, |e| e.membership = Membership::Rebalancing);
    }

    /// Where the broker probe reports, for a task beside the loop.
    pub fn broker_reporter(&self) -> BrokerReporter {
        BrokerReporter {
            id: self.id,
            state: self.state.clone(),
        }
    }
}

impl Drop for LoopProbe {
    fn drop(&mut self) {
        self.state
            .loops
            .lock()
            .expect("probe state lock")
            .remove(&self.id);
    }
}

/// Reports a consume loop's broker probe (the metadata request every `consumer.health_probe_ms`).
#[derive(Clone)]
pub struct BrokerReporter {
    id: u64,
    state: Arc<ProbeState>,
}

impl BrokerReporter {
    pub fn report(&self, answer: Result<(), String>) {
        self.state.update(self.id, |e| e.broker = Some(answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_listed_while_its_probe_lives() {
        let state = Arc::new(ProbeState::default());
        let probe = state.register_loop("consumer revoke-vault");
        let reporter = probe.broker_reporter();
        assert_eq!(state.loops()[0].membership, Membership::Joining);
        probe.assigned(0);
        reporter.report(Ok(()));
        let view = &state.loops()[0];
        assert_eq!(view.membership, Membership::Assigned(0));
        assert_eq!(view.broker, Some(Ok(())));
        probe.revoked();
        assert_eq!(state.loops()[0].membership, Membership::Rebalancing);
        drop(probe);
        reporter.report(Err("late".into()));
        assert!(
            state.loops().is_empty(),
            "a late report re-registered the loop"
        );
    }

    #[test]
    fn two_loops_of_one_name_keep_their_own_entries() {
        let state = Arc::new(ProbeState::default());
        let a = state.register_loop("consumer revoke-vault");
        let b = state.register_loop("consumer revoke-vault");
        a.assigned(3);
        drop(b);
        let loops = state.loops();
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].membership, Membership::Assigned(3));
    }

    #[test]
    fn the_heartbeat_ages_until_the_loop_goes_round() {
        let state = Arc::new(ProbeState::default());
        let probe = state.register_loop("consumer revoke-vault");
        std::thread::sleep(Duration::from_millis(30));
        assert!(state.loops()[0].since_beat >= Duration::from_millis(30));
        probe.beat();
        assert!(state.loops()[0].since_beat < Duration::from_millis(30));
    }
}

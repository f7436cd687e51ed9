//! What a process reports about itself: `/healthz` (each component healthy or failing, kept as
//! it was for compatibility) and the state behind `/livez` and `/readyz` (see `probes`).

use super::probe_state::{LoopProbe, ProbeState};
use super::probes::{liveness, readiness, Verdict};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The health of the components in a process, shared by every part of it (clones are handles on
/// the same state). `/healthz` answers 200 only while every registered component reports
/// healthy, and says which are not; `/livez` and `/readyz` are decided from the consume loops
/// registered with [`Health::consumer_loop`] and the components marked with
/// [`Health::set_ready`].
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<BTreeMap<String, Result<(), String>>>>,
    probes: Arc<ProbeState>,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    /// `/livez` fails once a consume loop has not gone round for `limit` (`metrics.stall_secs`).
    pub fn with_stall_limit(self, limit: Duration) -> Health {
        self.probes.set_stall_limit(limit);
        self
    }

    /// Registers a consume loop (`name`: `consumer <group>`) for `/livez` and `/readyz`, until
    /// the returned probe is dropped.
    pub fn consumer_loop(&self, name: &str) -> LoopProbe {
        self.probes.register_loop(name)
    }

    /// Readiness of a component that is not a consume loop (e.g. `revoke watch` once its cases
    /// are rebuilt).
    pub fn set_ready(&self, component: &str, state: Result<(), String>) {
        self.probes.set_other(component, state);
    }

    pub fn remove_ready(&self, component: &str) {
        self.probes.remove_other(component);
    }

    /// What `/livez` answers now.
    pub fn livez(&self) -> Verdict {
        liveness(&self.probes.loops(), self.probes.stall_limit())
    }

    /// What `/readyz` answers now.
    pub fn readyz(&self) -> Verdict {
        readiness(&self.probes.loops(), &self.probes.others())
    }

    pub fn set_ok(&self, component: &str) {
        self.inner
            .lock()
            .expect("health lock")
            .insert(component.to_string(), Ok(()));
    }

    pub fn set_failing(&self, component: &str, why: impl Into<String>) {
        self.inner
            .lock()
            .expect("health lock")
            .insert(component.to_string(), Err(why.into()));
    }

    pub fn remove(&self, component: &str) {
        self.inner.lock().expect("health lock").remove(component);
    }

    /// `Ok(report)` when healthy, `Err(report)` otherwise.
    pub fn report(&self) -> Result<String, String> {
        let map = self.inner.lock().expect("health lock");
        let mut text = String::new();
        let mut healthy = true;
        for (name, state) in map.iter() {
            match state {
                Ok(()) => text.push_str(&format!("{name}: ok\n")),
                Err(why) => {
                    healthy = false;
                    text.push_str(&format!("{name}: failing: {why}\n"));
                }
            }
        }
        if healthy {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reports_failing_components() {
        let h = Health::new();
        h.set_ok("a");
        assert!(h.report().is_ok());
        h.set_failing("b", "broker unreachable");
        let r = h.report().unwrap_err();
        assert!(r.contains("b: failing: broker unreachable"));
    }

    #[test]
    fn a_registered_loop_drives_livez_and_readyz() {
        let h = Health::new();
        assert!(!h.readyz().ok, "nothing started yet");
        let probe = h.consumer_loop("consumer revoke-vault");
        probe.broker_reporter().report(Ok(()));
        assert!(h.livez().ok);
        assert!(!h.readyz().ok, "not yet assigned");
        probe.assigned(6);
        assert!(h.readyz().ok, "{}", h.readyz().text);
        probe.broker_reporter().report(Err("timed out".into()));
        assert!(!h.readyz().ok);
        assert!(h.livez().ok, "a broker outage never fails /livez");
        assert!(h.report().is_ok(), "/healthz is not driven by the probes");
    }

    #[test]
    fn a_loop_that_stops_going_round_fails_livez() {
        let h = Health::new().with_stall_limit(Duration::from_millis(20));
        let probe = h.consumer_loop("consumer revoke-vault");
        std::thread::sleep(Duration::from_millis(30));
        assert!(!h.livez().ok);
        probe.beat();
        assert!(h.livez().ok);
        drop(probe);
        assert!(h.livez().ok, "an ended loop is no longer watched");
    }
}

//! A `Target` that records whom every call was for, and fails chosen identities for ever.

use super::*;
use crate::gated::{Gate, Gated};

/// A `Target` around a simulator that records every identity any call was made for, and that
/// can fail chosen identities for ever: transiently (a 503 on every call) or permanently (403).
pub type RecordingTarget = Gated<Recording>;

/// The gate of a [`RecordingTarget`]: what it saw, and whom it fails.
pub struct Recording {
    touched: Mutex<BTreeSet<String>>,
    transient_forever: HashSet<String>,
    permanent: HashSet<String>,
    /// Calls per identity (discover, revoke, verify, restore).
    calls: Mutex<BTreeMap<String, u32>>,
}

impl RecordingTarget {
    pub fn new(
        sim: std::sync::Arc<Simulator>,
        transient_forever: &[&str],
        permanent: &[&str],
    ) -> RecordingTarget {
        Gated {
            sim,
            gate: Recording {
                touched: Mutex::new(BTreeSet::new()),
                transient_forever: transient_forever.iter().map(|s| s.to_string()).collect(),
                permanent: permanent.iter().map(|s| s.to_string()).collect(),
                calls: Mutex::new(BTreeMap::new()),
            },
        }
    }

    /// Every identity this target was asked anything about.
    pub fn touched(&self) -> BTreeSet<String> {
        self.gate.touched.lock().unwrap().clone()
    }

    pub fn calls_for(&self, identity: &str) -> u32 {
        self.gate
            .calls
            .lock()
            .unwrap()
            .get(identity)
            .copied()
            .unwrap_or(0)
    }
}

impl Gate for Recording {
    fn check(&self, sim: &Simulator, who: &Identity) -> Result<(), TargetError> {
        self.touched.lock().unwrap().insert(who.employee_id.clone());
        *self
            .calls
            .lock()
            .unwrap()
            .entry(who.employee_id.clone())
            .or_default() += 1;
        if self.transient_forever.contains(&who.employee_id) {
            return Err(TargetError::Transient(format!(
                "simulated 503 from {} (always, for this identity)",
                sim.kind()
            )));
        }
        if self.permanent.contains(&who.employee_id) {
            return Err(TargetError::Permanent(format!(
                "simulated 403 from {}: not allowed to modify this account",
                sim.kind()
            )));
        }
        Ok(())
    }
}

//! A `Target` that records whom every call was for, and fails chosen identities for ever.

use super::*;

/// A `Target` around a simulator that records every identity any call was made for, and that
/// can fail chosen identities for ever: transiently (a 503 on every call) or permanently (403).
pub struct RecordingTarget {
    pub sim: std::sync::Arc<Simulator>,
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
        RecordingTarget {
            sim,
            touched: Mutex::new(BTreeSet::new()),
            transient_forever: transient_forever.iter().map(|s| s.to_string()).collect(),
            permanent: permanent.iter().map(|s| s.to_string()).collect(),
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    /// Every identity this target was asked anything about.
    pub fn touched(&self) -> BTreeSet<String> {
        self.touched.lock().unwrap().clone()
    }

    pub fn calls_for(&self, identity: &str) -> u32 {
        self.calls
            .lock()
            .unwrap()
            .get(identity)
            .copied()
            .unwrap_or(0)
    }

    fn record(&self, who: &Identity) -> Result<(), TargetError> {
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
                self.sim.kind()
            )));
        }
        if self.permanent.contains(&who.employee_id) {
            return Err(TargetError::Permanent(format!(
                "simulated 403 from {}: not allowed to modify this account",
                self.sim.kind()
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Target for RecordingTarget {
    fn kind(&self) -> TargetKind {
        self.sim.kind()
    }
    fn instance(&self) -> &str {
        self.sim.instance()
    }
    fn principal(&self) -> &str {
        self.sim.principal()
    }
    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.record(who)?;
        self.sim.discover(who).await
    }
    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        self.record(who)?;
        self.sim.revoke(who, what).await
    }
    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        self.record(who)?;
        self.sim.verify(who, what).await
    }
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        self.record(who)?;
        self.sim.restore(who, ev).await
    }
}

//! A simulator behind a gate: a `Target` that asks its gate before every call and passes the
//! call on to the simulator only if the gate lets it through. How the tests fail chosen calls
//! (an outage, identities that always fail) without a simulator of their own.

use async_trait::async_trait;
use revoke::adapters::sim::Simulator;
use revoke::adapters::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use std::sync::Arc;

/// Asked before each call (discover, revoke, verify, restore) for `who` on `sim`: an error is
/// the call's answer and the simulator is not called.
pub trait Gate: Send + Sync + 'static {
    fn check(&self, sim: &Simulator, who: &Identity) -> Result<(), TargetError>;
}

/// `sim` behind `gate`.
pub struct Gated<G> {
    pub sim: Arc<Simulator>,
    pub gate: G,
}

#[async_trait]
impl<G: Gate> Target for Gated<G> {
    // Each call checked, then the simulator's answer; the target's names are the simulator's.
    fn kind(&self) -> TargetKind {
        self.sim.kind()
    }
    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.gate.check(&self.sim, who)?;
        self.sim.discover(who).await
    }
    fn instance(&self) -> &str {
        self.sim.instance()
    }
    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        self.gate.check(&self.sim, who)?;
        self.sim.revoke(who, what).await
    }
    fn principal(&self) -> &str {
        self.sim.principal()
    }
    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        self.gate.check(&self.sim, who)?;
        self.sim.verify(who, what).await
    }
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        self.gate.check(&self.sim, who)?;
        self.sim.restore(who, ev).await
    }
}

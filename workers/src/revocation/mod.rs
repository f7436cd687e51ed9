//! Revoking one identity on one target: discover → revoke each holding → read it back.
//!
//! Calls are retried with backoff on transient errors only; the outcome for the target is a pure
//! function of the per-object results (`target_outcome`), unit-tested in `tests`.
//!
//! - this file: the run over one identity (`revoke_identity`) and what it reports;
//! - `retry`: retrying a target call (backoff, `Retry-After`, the total time);
//! - `outcome`: the pure decisions — the target's outcome, an error's, a retried call's result;
//! - `evidence`: one object revoked (or re-checked) and read back, as evidence.

mod evidence;
mod outcome;
mod retry;
#[cfg(test)]
pub(crate) mod tests; // its `evidence` and `policy` are the restoration tests' fixtures too

pub use outcome::{outcome_for_error, target_outcome};
pub use retry::next_wait;
pub(crate) use retry::with_retry;

use crate::adapters::{Holding, Target};
use chrono::{DateTime, Utc};
use evidence::ObjectRun;
use revoke_shared::contract::{
    Actor, Identity, ObjectEvidence, ObjectOutcome, Outcome, RecheckObject,
};
use revoke_shared::metrics::Metrics;
use revoke_shared::retry::{ErrorClass, RetryPolicy};
use std::sync::atomic::{AtomicU32, Ordering};

/// What one run produced, ready to become a confirmation.
#[derive(Debug, Clone)]
pub struct RevocationReport {
    pub outcome: Outcome,
    pub objects: Vec<ObjectEvidence>,
    pub attempts: u32,
    pub error: Option<String>,
    /// Failed only through transient errors (retries ran out): worth running again later.
    pub retryable: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

pub async fn revoke_identity(
    target: &dyn Target,
    who: &Identity,
    worker_id: &str,
    policy: &RetryPolicy,
    metrics: &Metrics,
) -> RevocationReport {
    revoke_identity_rechecking(target, who, worker_id, policy, metrics, &[]).await
}

/// As `revoke_identity`, also reading back `recheck`: the objects earlier runs acted on (a
/// re-drive after a failure). One the discovery no longer finds but the read-back shows gone was
/// revoked by such a run (or by a call whose answer was lost): it goes into the evidence as
/// revoked, verified now, so the closing report names every object.
pub async fn revoke_identity_rechecking(
    target: &dyn Target,
    who: &Identity,
    worker_id: &str,
    policy: &RetryPolicy,
    metrics: &Metrics,
    recheck: &[RecheckObject],
) -> RevocationReport {
    let started_at = Utc::now();
    let attempts = AtomicU32::new(0);
    let kind = target.kind();
    let actor = Actor {
        worker_id: worker_id.to_string(),
        principal: target.principal().to_string(),
    };

    let holdings = match with_retry(policy, &attempts, metrics, kind, || target.discover(who)).await
    {
        Ok(h) => h,
        Err(e) => {
            return RevocationReport {
                outcome: outcome_for_error(&e),
                objects: Vec::new(),
                attempts: attempts.load(Ordering::Relaxed),
                error: Some(format!(
                    "discovering what {} holds on {kind}: {e}",
                    who.employee_id
                )),
                retryable: e.class() == ErrorClass::Transient,
                started_at,
                finished_at: Utc::now(),
            }
        }
    };

    let run = ObjectRun {
        target,
        who,
        actor,
        policy,
        attempts: &attempts,
        metrics,
    };
    let mut tally = Tally {
        objects: Vec::with_capacity(holdings.len()),
        first_error: None,
        all_transient: true,
    };
    for h in &holdings {
        tally.add(h, run.revoke_one(h).await);
    }
    for r in recheck {
        if holdings
            .iter()
            .any(|d| d.object_kind == r.object_kind && d.object_id == r.object_id)
        {
            continue; // discovered again: handled above like any holding
        }
        let h = Holding {
            object_kind: r.object_kind.clone(),
            object_id: r.object_id.clone(),
            sponsored: r.sponsored,
            action: r.action.clone(),
        };
        tally.add(&h, run.recheck_one(&h, r.removed_at).await);
    }
    let Tally {
        objects,
        first_error,
        all_transient,
    } = tally;
    let outcome = target_outcome(&objects);
    RevocationReport {
        outcome,
        objects,
        attempts: attempts.load(Ordering::Relaxed).max(1),
        error: first_error,
        retryable: outcome == Outcome::Failed && all_transient,
        started_at,
        finished_at: Utc::now(),
    }
}

/// The objects of a run so far: their evidence, the first error (naming its object), and
/// whether every failure came from transient errors only.
struct Tally {
    objects: Vec<ObjectEvidence>,
    first_error: Option<String>,
    all_transient: bool,
}

impl Tally {
    fn add(&mut self, h: &Holding, (ev, transient): (ObjectEvidence, bool)) {
        if ev.outcome == ObjectOutcome::Failed && !transient {
            self.all_transient = false;
        }
        if let (None, Some(e)) = (&self.first_error, &ev.error) {
            self.first_error = Some(format!("{} {}: {e}", h.object_kind, h.object_id));
        }
        self.objects.push(ev);
    }
}

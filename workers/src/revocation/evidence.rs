//! One object of a run, as evidence: revoked (or, on a re-drive, re-checked) and read back.
//! Only a read-back that shows the access gone makes the evidence `observed`.

use super::outcome::{outcome_for_error, settle_retried};
use super::retry::with_retry;
use crate::adapters::{Holding, ReadBack, RevokeResult, Target, TargetError};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Actor, Identity, ObjectEvidence, ObjectOutcome, Outcome, Provenance,
};
use revoke_shared::metrics::{Metrics, ObjectHandled};
use revoke_shared::retry::{ErrorClass, RetryPolicy};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

/// What every object of one run is handled with: the target, whose access, who acts, and the
/// run's retry policy, attempt count and metrics.
pub(super) struct ObjectRun<'a> {
    pub target: &'a dyn Target,
    pub who: &'a Identity,
    pub actor: Actor,
    pub policy: &'a RetryPolicy,
    pub attempts: &'a AtomicU32,
    pub metrics: &'a Metrics,
}

impl ObjectRun<'_> {
    /// Revokes `h` and reads it back; also says whether a failure came from transient errors only.
    pub(super) async fn revoke_one(&self, h: &Holding) -> (ObjectEvidence, bool) {
        let mut ev = unproven(h, &self.actor);
        let before = self.attempts.load(Ordering::Relaxed);
        let result = match self.retried(|| self.target.revoke(self.who, h)).await {
            Ok(r) => r,
            Err(e) => {
                ev.outcome = match outcome_for_error(&e) {
                    Outcome::ManualRequired => ObjectOutcome::ManualRequired,
                    _ => ObjectOutcome::Failed,
                };
                ev.error = Some(e.to_string());
                self.count(&ev);
                return (ev, e.class() == ErrorClass::Transient);
            }
        };
        let settled = settle_retried(
            result.clone(),
            self.attempts.load(Ordering::Relaxed) - before,
        );
        let lost_answer = settled != result;
        let (object_outcome, target_time) = match settled {
            RevokeResult::Revoked { removed_at } => (ObjectOutcome::Revoked, removed_at),
            RevokeResult::AlreadyAbsent { removed_at } => {
                ev.action = "none".into();
                (ObjectOutcome::AlreadyAbsent, removed_at)
            }
        };
        let still_present = "read-back shows the access still present after revoking";
        self.read_back(h, ev, still_present, |ev, rb| {
            ev.outcome = object_outcome;
            // The target's own timestamp where it gives one, else the read-back time.
            ev.removed_at = target_time.or(rb.removed_at).or_else(|| Some(Utc::now()));
            ev.read_back = if lost_answer {
                format!("{} (absent on a retry: an earlier attempt's answer was lost after the target acted)", rb.detail)
            } else {
                rb.detail
            };
        })
        .await
    }

    /// Reads back `h`, which an earlier run acted on and discovery no longer finds.
    pub(super) async fn recheck_one(
        &self,
        h: &Holding,
        earlier_removed_at: Option<DateTime<Utc>>,
    ) -> (ObjectEvidence, bool) {
        let ev = unproven(h, &self.actor);
        let still_present = "an earlier run acted on it, discovery no longer finds it, yet the read-back shows it present: a person should look";
        self.read_back(h, ev, still_present, |ev, rb| {
            ev.outcome = ObjectOutcome::Revoked;
            // The earlier run's own proof of the time where it had one, else the target's, else now.
            ev.removed_at = earlier_removed_at
                .or(rb.removed_at)
                .or_else(|| Some(Utc::now()));
            ev.read_back = format!(
                "re-checked on a re-drive (an earlier run of this target acted on it): {}",
                rb.detail
            );
        })
        .await
    }

    /// Reads `h` back into its evidence `ev` (still failed and not read back): a read-back that
    /// shows the access gone makes it `observed` and `gone` fills in the rest; one that still
    /// shows access fails it with `still_present`. Also says whether a failure came from
    /// transient errors only (the read-back still showing access is not one: a person should
    /// look).
    async fn read_back(
        &self,
        h: &Holding,
        mut ev: ObjectEvidence,
        still_present: &str,
        gone: impl FnOnce(&mut ObjectEvidence, ReadBack),
    ) -> (ObjectEvidence, bool) {
        let mut transient = false;
        match self.retried(|| self.target.verify(self.who, h)).await {
            Ok(rb) if rb.gone => {
                ev.verified = true;
                ev.provenance = Provenance::Observed;
                gone(&mut ev, rb);
            }
            Ok(rb) => {
                ev.read_back = rb.detail;
                ev.error = Some(still_present.into());
            }
            Err(e) => {
                ev.error = Some(format!("read-back failed: {e}"));
                transient = e.class() == ErrorClass::Transient;
            }
        }
        self.count(&ev);
        (ev, transient)
    }

    /// `op` on this run's target, under the run's retry policy and attempt count.
    async fn retried<T, Fut>(&self, op: impl FnMut() -> Fut) -> Result<T, TargetError>
    where
        Fut: Future<Output = Result<T, TargetError>>,
    {
        with_retry(
            self.policy,
            self.attempts,
            self.metrics,
            self.target.kind(),
            op,
        )
        .await
    }

    fn count(&self, ev: &ObjectEvidence) {
        self.metrics.emit(ObjectHandled {
            target: self.target.kind(),
            sponsored: ev.sponsored,
            outcome: ev.outcome,
        });
    }
}

/// The evidence of `h` before anything is known: failed, not read back (until proven otherwise).
/// Only a read-back that showed the access gone turns it `observed`; every other path (the
/// action failed, the read-back failed or still shows access) leaves it `not_checked`.
fn unproven(h: &Holding, actor: &Actor) -> ObjectEvidence {
    ObjectEvidence {
        object_kind: h.object_kind.clone(),
        object_id: h.object_id.clone(),
        sponsored: h.sponsored,
        action: h.action.clone(),
        outcome: ObjectOutcome::Failed,
        removed_at: None,
        actor: actor.clone(),
        verified: false,
        provenance: Provenance::NotChecked,
        read_back: "not read back".into(),
        error: None,
    }
}

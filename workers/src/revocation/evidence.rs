//! One object of a run, as evidence: revoked (or, on a re-drive, re-checked) and read back.
//! Only a read-back that shows the access gone makes the evidence `observed`.

use super::outcome::{outcome_for_error, settle_retried};
use super::retry::with_retry;
use crate::adapters::{Holding, RevokeResult, Target};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Actor, Identity, ObjectEvidence, ObjectOutcome, Outcome, Provenance, TargetKind,
};
use revoke_shared::metrics::{Metrics, ObjectHandled};
use revoke_shared::retry::{ErrorClass, RetryPolicy};
use std::sync::atomic::{AtomicU32, Ordering};

pub(super) async fn revoke_one(
    target: &dyn Target,
    who: &Identity,
    h: &Holding,
    actor: &Actor,
    policy: &RetryPolicy,
    attempts: &AtomicU32,
    metrics: &Metrics,
) -> (ObjectEvidence, bool) {
    let kind = target.kind();
    let mut ev = unproven(h, actor);
    let before = attempts.load(Ordering::Relaxed);
    let result = match with_retry(policy, attempts, metrics, kind, || target.revoke(who, h)).await {
        Ok(r) => r,
        Err(e) => {
            ev.outcome = match outcome_for_error(&e) {
                Outcome::ManualRequired => ObjectOutcome::ManualRequired,
                _ => ObjectOutcome::Failed,
            };
            ev.error = Some(e.to_string());
            count_object(metrics, kind, &ev);
            return (ev, e.class() == ErrorClass::Transient);
        }
    };
    let settled = settle_retried(result.clone(), attempts.load(Ordering::Relaxed) - before);
    let lost_answer = settled != result;
    let (object_outcome, target_time) = match settled {
        RevokeResult::Revoked { removed_at } => (ObjectOutcome::Revoked, removed_at),
        RevokeResult::AlreadyAbsent { removed_at } => {
            ev.action = "none".into();
            (ObjectOutcome::AlreadyAbsent, removed_at)
        }
    };
    // Whether a failure came from transient errors only (the read-back still showing access is
    // not one: a person should look).
    let mut transient = false;
    match with_retry(policy, attempts, metrics, kind, || target.verify(who, h)).await {
        Ok(rb) if rb.gone => {
            ev.outcome = object_outcome;
            ev.verified = true;
            ev.provenance = Provenance::Observed;
            // The target's own timestamp where it gives one, else the read-back time.
            ev.removed_at = target_time.or(rb.removed_at).or_else(|| Some(Utc::now()));
            ev.read_back = if lost_answer {
                format!("{} (absent on a retry: an earlier attempt's answer was lost after the target acted)", rb.detail)
            } else {
                rb.detail
            };
        }
        Ok(rb) => {
            ev.outcome = ObjectOutcome::Failed;
            ev.read_back = rb.detail;
            ev.error = Some("read-back shows the access still present after revoking".into());
        }
        Err(e) => {
            ev.outcome = ObjectOutcome::Failed;
            ev.error = Some(format!("read-back failed: {e}"));
            transient = e.class() == ErrorClass::Transient;
        }
    }
    count_object(metrics, kind, &ev);
    (ev, transient)
}

/// Reads back an object an earlier run acted on, which discovery no longer finds.
#[allow(clippy::too_many_arguments)]
pub(super) async fn recheck_one(
    target: &dyn Target,
    who: &Identity,
    h: &Holding,
    earlier_removed_at: Option<DateTime<Utc>>,
    actor: &Actor,
    policy: &RetryPolicy,
    attempts: &AtomicU32,
    metrics: &Metrics,
) -> (ObjectEvidence, bool) {
    let kind = target.kind();
    let mut ev = unproven(h, actor);
    let mut transient = false;
    match with_retry(policy, attempts, metrics, kind, || target.verify(who, h)).await {
        Ok(rb) if rb.gone => {
            ev.outcome = ObjectOutcome::Revoked;
            ev.verified = true;
            ev.provenance = Provenance::Observed;
            // The earlier run's own proof of the time where it had one, else the target's, else now.
            ev.removed_at = earlier_removed_at
                .or(rb.removed_at)
                .or_else(|| Some(Utc::now()));
            ev.read_back = format!(
                "re-checked on a re-drive (an earlier run of this target acted on it): {}",
                rb.detail
            );
        }
        Ok(rb) => {
            ev.read_back = rb.detail;
            ev.error = Some(
                "an earlier run acted on it, discovery no longer finds it, yet the read-back shows it present: a person should look".into(),
            );
        }
        Err(e) => {
            ev.error = Some(format!("read-back failed: {e}"));
            transient = e.class() == ErrorClass::Transient;
        }
    }
    count_object(metrics, kind, &ev);
    (ev, transient)
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

fn count_object(metrics: &Metrics, kind: TargetKind, ev: &ObjectEvidence) {
    metrics.emit(ObjectHandled {
        target: kind,
        sponsored: ev.sponsored,
        outcome: ev.outcome,
    });
}

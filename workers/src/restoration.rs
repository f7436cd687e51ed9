//! Undoing a revocation from its recorded evidence, for a termination rescinded after workers
//! acted: unlock, re-activate, re-add memberships; report what cannot be undone.
//!
//! Which objects to restore is a pure decision (`restore_plan`): only what *this* case removed
//! (outcome `revoked`) comes back — an object that was already absent when the case ran was not
//! ours to give back, and one that failed was never removed. Restores run in the reverse order of
//! the revocation (account before memberships), with the same retry policy as revocations.

use crate::adapters::{RestoreResult, Target};
use crate::cases::MANUAL_OBJECT_KIND;
use crate::revocation::with_retry;
use chrono::Utc;
use revoke_shared::contract::{Actor, Identity, ObjectEvidence, ObjectOutcome};
pub use revoke_shared::contract::{RestoreOutcome, RestoredObject};
use revoke_shared::metrics::Metrics;
use revoke_shared::retry::RetryPolicy;

/// The objects to restore, in the order to restore them: those this case revoked, last first.
pub fn restore_plan(objects: &[ObjectEvidence]) -> Vec<&ObjectEvidence> {
    objects
        .iter()
        .rev()
        .filter(|o| o.outcome == ObjectOutcome::Revoked)
        .collect()
}

/// Restores what `objects` (one confirmation's evidence) shows this case revoked on `target`.
pub async fn restore_identity(
    target: &dyn Target,
    who: &Identity,
    objects: &[ObjectEvidence],
    worker_id: &str,
    policy: &RetryPolicy,
    metrics: &Metrics,
) -> Vec<RestoredObject> {
    let kind = target.kind();
    let actor = Actor {
        worker_id: worker_id.to_string(),
        principal: target.principal().to_string(),
    };
    let mut out = Vec::new();
    for ev in restore_plan(objects) {
        if ev.object_kind == MANUAL_OBJECT_KIND {
            // Removed by a person (`revoke case ack`): no adapter knows what they did.
            out.push(RestoredObject {
                object_kind: ev.object_kind.clone(),
                object_id: ev.object_id.clone(),
                sponsored: ev.sponsored,
                undoes: ev.action.clone(),
                outcome: RestoreOutcome::Irreversible,
                restored_at: None,
                actor: actor.clone(),
                detail: format!(
                    "removed by hand by {} ({}): restore it by hand",
                    ev.actor.principal, ev.read_back
                ),
            });
            continue;
        }
        let calls = std::sync::atomic::AtomicU32::new(0);
        let result = with_retry(policy, &calls, metrics, kind, || target.restore(who, ev)).await;
        let (outcome, restored_at, detail) = match result {
            Ok(RestoreResult::Restored { restored_at }) => (
                RestoreOutcome::Restored,
                restored_at.or_else(|| Some(Utc::now())),
                String::new(),
            ),
            Ok(RestoreResult::AlreadyPresent) => {
                (RestoreOutcome::AlreadyPresent, None, String::new())
            }
            Ok(RestoreResult::Irreversible { reason }) => {
                (RestoreOutcome::Irreversible, None, reason)
            }
            Ok(RestoreResult::Refused { reason }) => {
                tracing::warn!(object_kind = %ev.object_kind, object_id = %ev.object_id, reason = %reason,
                    "restore refused: the object does not belong to this identity at the target");
                (RestoreOutcome::Refused, None, reason)
            }
            Ok(RestoreResult::Withheld { reason }) => {
                tracing::warn!(object_kind = %ev.object_kind, object_id = %ev.object_id, reason = %reason,
                    "restore withheld: another person's revocation stands on this object");
                (RestoreOutcome::Withheld, None, reason)
            }
            Err(e) => (RestoreOutcome::Failed, None, e.to_string()),
        };
        out.push(RestoredObject {
            object_kind: ev.object_kind.clone(),
            object_id: ev.object_id.clone(),
            sponsored: ev.sponsored,
            undoes: ev.action.clone(),
            outcome,
            restored_at,
            actor: actor.clone(),
            detail,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sim::Simulator;
    use crate::revocation::revoke_identity;
    use crate::revocation::tests::{evidence, policy};
    use revoke_shared::config::SimulatorConfig;
    use revoke_shared::contract::{IdentityKind, TargetKind};

    #[test]
    fn only_what_this_case_revoked_comes_back_last_first() {
        let objs = [
            evidence("a", ObjectOutcome::Revoked),
            evidence("b", ObjectOutcome::AlreadyAbsent),
            evidence("c", ObjectOutcome::Failed),
            evidence("d", ObjectOutcome::Revoked),
            evidence("e", ObjectOutcome::ManualRequired),
        ];
        let ids: Vec<&str> = restore_plan(&objs)
            .iter()
            .map(|o| o.object_id.as_str())
            .collect();
        assert_eq!(ids, ["d", "a"]);
    }

    #[tokio::test]
    async fn reversible_objects_come_back_once_and_deletes_are_reported() {
        let sim = Simulator::new(TargetKind::Directory, SimulatorConfig::default());
        let who = Identity {
            employee_id: "E7".into(),
            email: None,
            username: Some("grace".into()),
            kind: IdentityKind::Contractor,
        };
        let m = Metrics::new();
        let report = revoke_identity(&sim, &who, "w1", &policy(), &m).await;
        assert!(
            !report.objects.is_empty(),
            "the simulator seeds holdings for E7"
        );
        let restored = restore_identity(&sim, &who, &report.objects, "w1", &policy(), &m).await;
        assert_eq!(restored.len(), report.objects.len());
        assert!(restored
            .iter()
            .all(|r| r.outcome == RestoreOutcome::Restored && r.restored_at.is_some()));
        assert!(!sim.all_revoked("E7"));
        // Twice: nothing more to do.
        let again = restore_identity(&sim, &who, &report.objects, "w1", &policy(), &m).await;
        assert!(again
            .iter()
            .all(|r| r.outcome == RestoreOutcome::AlreadyPresent));
        assert!(sim.actions_for("E7").iter().all(|(_, n)| *n == 2));

        let vault = Simulator::new(TargetKind::Vault, SimulatorConfig::default());
        let report = revoke_identity(&vault, &who, "w1", &policy(), &m).await;
        let restored = restore_identity(&vault, &who, &report.objects, "w1", &policy(), &m).await;
        let by = |kind: &str| restored.iter().find(|r| r.object_kind == kind).unwrap();
        assert_eq!(by("entity").outcome, RestoreOutcome::Restored);
        assert_eq!(by("token").outcome, RestoreOutcome::Irreversible);
        assert!(by("userpass_user").detail.contains("cannot be undone"));

        // What a person removed by hand is theirs to restore.
        let mut manual = report.objects[0].clone();
        manual.object_kind = MANUAL_OBJECT_KIND.into();
        manual.actor.principal = "alice@example.com".into();
        let r = restore_identity(&vault, &who, &[manual], "w1", &policy(), &m).await;
        assert_eq!(r[0].outcome, RestoreOutcome::Irreversible);
        assert!(r[0].detail.contains("alice@example.com"), "{}", r[0].detail);
    }
}

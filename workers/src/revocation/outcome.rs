//! The pure decisions of a run: the target's outcome from its objects', an error's outcome by
//! its class, and what a revoke call that needed retries really did.

use crate::adapters::{RevokeResult, TargetError};
use revoke_shared::contract::{ObjectEvidence, ObjectOutcome, Outcome};
use revoke_shared::retry::ErrorClass;

/// The target's outcome from its objects' outcomes (and whether discovery itself failed).
pub fn target_outcome(objects: &[ObjectEvidence]) -> Outcome {
    if objects
        .iter()
        .any(|o| o.outcome == ObjectOutcome::ManualRequired)
    {
        return Outcome::ManualRequired;
    }
    if objects.iter().any(|o| o.outcome == ObjectOutcome::Failed) {
        return Outcome::Failed;
    }
    if objects.iter().any(|o| o.outcome == ObjectOutcome::Revoked) {
        return Outcome::Revoked;
    }
    Outcome::AlreadyAbsent
}

/// Outcome when an error stopped the work, by its class.
pub fn outcome_for_error(e: &TargetError) -> Outcome {
    match e.class() {
        ErrorClass::Ambiguous => Outcome::ManualRequired,
        ErrorClass::Transient | ErrorClass::Permanent => Outcome::Failed,
    }
}

/// What a revoke call that took `calls` attempts did. Discovery found the object; an attempt
/// failed transiently (a timeout, a 5xx) and a later one found it absent: the failed attempt's
/// answer was lost after the target did the work, so this run revoked it. Counting it
/// `already_absent` would drop it from what a re-drive re-checks, and the closing evidence would
/// no longer name an object this fleet removed.
pub(super) fn settle_retried(result: RevokeResult, calls: u32) -> RevokeResult {
    match result {
        RevokeResult::AlreadyAbsent { removed_at } if calls > 1 => {
            RevokeResult::Revoked { removed_at }
        }
        r => r,
    }
}

//! Which objects of a closed case's evidence `revoke verify` reads again: the ones the evidence
//! says a worker saw gone. Pure; the reading itself is `reverify`.

use revoke_shared::contract::{
    Case, ObjectEvidence, ObjectOutcome, Provenance, TargetKind, TargetState, TargetStatus,
};

/// Why an object of the evidence is not read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReread {
    /// A person's word (`revoke case ack`): no worker read it, there is nothing to read again.
    Attested,
    /// The evidence does not say it is gone (failed, or left for a person).
    NotGone,
    /// No worker's read-back proved it gone: re-reading would prove nothing it did not.
    NotObserved,
    /// A revoked credential (token, consent, lease) is dead for good: the target never makes a
    /// revoked id valid again, a new grant carries a new id. (Deleted objects are read again:
    /// their ids are often names — a DN, a user name — that another system can create again.)
    RevokedForGood,
}

impl NotReread {
    pub fn as_str(self) -> &'static str {
        match self {
            NotReread::Attested => "attested by a person",
            NotReread::NotGone => "not gone per the evidence",
            NotReread::NotObserved => "never read back gone",
            NotReread::RevokedForGood => "revoked for good",
        }
    }
}

/// Whether `o` is read again, from its evidence fields alone.
pub fn reread(o: &ObjectEvidence) -> Result<(), NotReread> {
    if o.is_manual() || o.provenance == Provenance::Attested {
        return Err(NotReread::Attested);
    }
    if !matches!(
        o.outcome,
        ObjectOutcome::Revoked | ObjectOutcome::AlreadyAbsent
    ) {
        return Err(NotReread::NotGone);
    }
    if !o.is_observed() {
        return Err(NotReread::NotObserved);
    }
    if o.action == "revoke" {
        return Err(NotReread::RevokedForGood);
    }
    Ok(())
}

/// One object of a closed case to read again (or not, and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: TargetKind,
    /// The instance the target's evidence was recorded by (a fan-out's `a+b`: the object id
    /// names its own).
    pub instance: String,
    pub evidence: ObjectEvidence,
    pub skip: Option<NotReread>,
}

/// The targets of `case` looked at again, on `only` (all when `None`): none for a case that is
/// not closed, and only those that are `done` (never a target skipped as protected, or one no
/// worker finished: there is no evidence of a removal to hold the target to).
pub fn done_targets(
    case: &Case,
    only: Option<TargetKind>,
) -> impl Iterator<Item = (TargetKind, &TargetStatus)> {
    let closed = super::selection::after_close(case);
    case.targets
        .iter()
        .filter(move |(kind, status)| {
            closed && only.is_none_or(|k| k == **kind) && status.state == TargetState::Done
        })
        .map(|(kind, status)| (*kind, status))
}

/// Every object of `case`'s evidence on `done_targets`, each with whether it is read again.
pub fn plan(case: &Case, only: Option<TargetKind>) -> Vec<Planned> {
    let mut out = Vec::new();
    for (kind, status) in done_targets(case, only) {
        let instance = status.instance.as_deref().unwrap_or_default().to_string();
        for o in &status.objects {
            out.push(Planned {
                kind,
                instance: instance.clone(),
                evidence: o.clone(),
                skip: reread(o).err(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testkit::{closed_case, evidence};

    #[test]
    fn only_objects_a_worker_saw_gone_are_read_again() {
        let gone = evidence("account", "uid=ada", "lock");
        assert_eq!(reread(&gone), Ok(()));
        let absent = ObjectEvidence {
            outcome: ObjectOutcome::AlreadyAbsent,
            ..gone.clone()
        };
        assert_eq!(reread(&absent), Ok(()));
        let deleted = evidence("access_key", "ada/AKIA1", "delete");
        assert_eq!(reread(&deleted), Ok(()), "a name may be created again");

        let token = evidence("token", "accessor-1", "revoke");
        assert_eq!(reread(&token), Err(NotReread::RevokedForGood));
        let failed = ObjectEvidence {
            outcome: ObjectOutcome::Failed,
            verified: false,
            provenance: Provenance::NotChecked,
            ..gone.clone()
        };
        assert_eq!(reread(&failed), Err(NotReread::NotGone));
        let unproven = ObjectEvidence {
            verified: false,
            provenance: Provenance::NotChecked,
            ..gone.clone()
        };
        assert_eq!(reread(&unproven), Err(NotReread::NotObserved));
        let said_observed_not_verified = ObjectEvidence {
            verified: false,
            ..gone.clone()
        };
        assert_eq!(
            reread(&said_observed_not_verified),
            Err(NotReread::NotObserved)
        );
        let attested = ObjectEvidence {
            provenance: Provenance::Attested,
            verified: false,
            ..gone.clone()
        };
        assert_eq!(reread(&attested), Err(NotReread::Attested));
        let ack = evidence(
            revoke_shared::contract::MANUAL_OBJECT_KIND,
            "step",
            revoke_shared::contract::MANUAL_ACTION,
        );
        assert_eq!(reread(&ack), Err(NotReread::Attested));
    }

    #[test]
    fn a_plan_covers_done_targets_of_closed_cases_only() {
        let mut case = closed_case("E1", "2026-11-01T10:00:00Z");
        let p = plan(&case, None);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().all(|o| o.instance == "main"));
        assert_eq!(
            p.iter().filter(|o| o.skip.is_none()).count(),
            2,
            "the revoked token is not read again"
        );
        assert_eq!(plan(&case, Some(TargetKind::Vault)).len(), 1);
        assert!(plan(&case, Some(TargetKind::Cloud)).is_empty());

        case.targets.get_mut(&TargetKind::Vault).unwrap().state = TargetState::Failed;
        assert_eq!(plan(&case, None).len(), 2);
        case.targets.get_mut(&TargetKind::Directory).unwrap().state = TargetState::SkippedProtected;
        assert!(plan(&case, None).is_empty(), "a protected person's target");
        assert_eq!(done_targets(&case, None).count(), 0);
        case.state = revoke_shared::contract::CaseState::Escalated;
        assert!(plan(&case, None).is_empty());
    }
}

//! The answer a restore gives when the user named in the evidence is not the one the identity
//! resolves to at the target now (GitLab, Keycloak): a restore is a grant, and its evidence may
//! be forged or stale. Pure: the adapter does the lookups, this words the refusal.

use super::RestoreResult;
use revoke_shared::contract::Identity;

/// Where and how the adapter looked the person up.
pub(crate) struct UserCheck<'a> {
    /// The system's name in messages: `GitLab`, `Keycloak`.
    pub system: &'a str,
    pub instance: &'a str,
    /// The attribute the lookup matched on (`username`, `email`, …).
    pub lookup: &'a str,
    /// What was not done, for the refusal: `nothing re-enabled`.
    pub withheld: &'a str,
}

impl UserCheck<'_> {
    /// For evidence naming `user` when the lookup of `who` found `resolved` (not `user`):
    /// `Irreversible` when `user` no longer exists at all, else `Refused` saying whom the lookup
    /// found.
    pub(crate) fn not_theirs(
        &self,
        who: &Identity,
        user: &str,
        resolved: Option<&str>,
        user_exists: bool,
    ) -> RestoreResult {
        let UserCheck {
            system,
            instance,
            lookup,
            withheld,
        } = self;
        if !user_exists {
            return RestoreResult::Irreversible {
                reason: format!(
                    "{system} user {user} no longer exists on {instance}; re-create it"
                ),
            };
        }
        let found = match resolved {
            Some(id) => format!("the {lookup} lookup finds user {id}"),
            None => format!("no user matches the identity's {lookup}"),
        };
        RestoreResult::Refused {
            reason: format!(
                "{system} user {user} is not {}'s user on {instance} ({found}): {withheld}",
                who.employee_id
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::tests::who;

    #[test]
    fn another_users_evidence_is_refused_and_a_deleted_user_is_irreversible() {
        let check = UserCheck {
            system: "GitLab",
            instance: "main",
            lookup: "username",
            withheld: "nothing unblocked or re-added",
        };
        let r = check.not_theirs(&who(), "7", Some("9"), true);
        assert_eq!(
            r,
            RestoreResult::Refused {
                reason: "GitLab user 7 is not E1's user on main (the username lookup finds user 9): nothing unblocked or re-added".into()
            }
        );
        let r = check.not_theirs(&who(), "7", None, true);
        assert!(
            matches!(&r, RestoreResult::Refused { reason } if reason.contains("no user matches the identity's username")),
            "{r:?}"
        );
        let r = check.not_theirs(&who(), "7", None, false);
        assert!(
            matches!(&r, RestoreResult::Irreversible { reason } if reason == "GitLab user 7 no longer exists on main; re-create it"),
            "{r:?}"
        );
    }
}

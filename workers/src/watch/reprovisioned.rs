//! Access re-provisioned under a new id after a case closed: what the adapter's discovery finds
//! for the leaver now that the case's evidence does not name (a new membership, a new key, a new
//! token, an account created again under a new id). Re-reading the evidence cannot see these —
//! their ids are new. Pure: which discovered holdings are read back, and what a read-back means;
//! the discovery and the reads are `rediscover`'s.

use super::table::Reading;
use crate::adapters::fanout;
use crate::adapters::{Holding, ReadBack, TargetError};
use revoke_shared::contract::ObjectEvidence;
use std::collections::HashSet;

/// What a finding for such an object says before the read-back.
pub const NOT_IN_EVIDENCE: &str = "re-provisioned: not in the evidence, present now";

/// One discovered holding the evidence does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The configured instance it lives at: a fan-out member's name when its id is qualified by
    /// one (`ldap:…`), else the instance the case recorded for the target (a single adapter's
    /// instance is the recording worker's name, not this process's).
    pub instance: String,
    pub holding: Holding,
}

/// The holdings of `discovered` (at a target whose instance is `target_instance`, `a+b` for a
/// fan-out; recorded in the case as `recorded`) that `evidence` does not name — same `object_kind` and `object_id`, exactly: a
/// fan-out qualifies the ids it discovers as it qualified those it recorded, so an object of
/// the evidence is matched by its recorded id, and the same own id at another instance
/// (`sso:x` beside `ldap:x`) is another object. Each once, in discovery order.
pub fn not_in_evidence(
    evidence: &[ObjectEvidence],
    discovered: Vec<Holding>,
    target_instance: &str,
    recorded: &str,
) -> Vec<Unknown> {
    let known: HashSet<(&str, &str)> = evidence
        .iter()
        .map(|o| (o.object_kind.as_str(), o.object_id.as_str()))
        .collect();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut out = Vec::new();
    for h in discovered {
        if known.contains(&(h.object_kind.as_str(), h.object_id.as_str()))
            || !seen.insert((h.object_kind.clone(), h.object_id.clone()))
        {
            continue;
        }
        out.push(Unknown {
            instance: member(target_instance, &h.object_id)
                .unwrap_or(recorded)
                .to_string(),
            holding: h,
        });
    }
    out
}

/// The fan-out member an id names (`ldap` of `ldap:uid=ada,…` at `ldap+sso`): an id whose
/// prefix names no member is not qualified (`urn:x` stays whole).
fn member<'a>(target_instance: &str, object_id: &'a str) -> Option<&'a str> {
    fanout::split(object_id)
        .map(|(name, _)| name)
        .filter(|name| target_instance.split('+').any(|m| m == *name))
}

/// What reading an unknown holding back means: present is access the case does not know of
/// (`New`, a finding); gone (already disabled, locked, revoked) is not; an error is "could not
/// read", never taken as gone.
pub fn judge(read: Result<&ReadBack, &TargetError>) -> Reading {
    match read {
        Ok(rb) if rb.gone => Reading::NewGone(rb.detail.clone()),
        Ok(rb) => Reading::New(rb.detail.clone()),
        Err(e) => Reading::Unreadable(e.to_string()),
    }
}

/// The `read_back` of the finding for an unknown holding read back present with `detail`.
pub fn finding_text(detail: &str) -> String {
    format!("{NOT_IN_EVIDENCE}: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testkit::evidence;

    fn holding(kind: &str, id: &str) -> Holding {
        Holding {
            object_kind: kind.into(),
            object_id: id.into(),
            sponsored: false,
            action: "remove_membership".into(),
        }
    }

    fn ids(u: &[Unknown]) -> Vec<(&str, &str, &str)> {
        u.iter()
            .map(|u| {
                (
                    u.instance.as_str(),
                    u.holding.object_kind.as_str(),
                    u.holding.object_id.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn only_what_the_evidence_does_not_name_is_read() {
        let ev = [
            evidence("account", "uid=ada,ou=people", "lock"),
            evidence(
                "group_membership",
                "member|cn=staff|uid=ada",
                "remove_membership",
            ),
        ];
        let found = vec![
            holding("account", "uid=ada,ou=people"),
            holding("group_membership", "member|cn=staff|uid=ada"),
            holding("group_membership", "member|cn=ops|uid=ada"),
            // The same id as an evidence object, of another kind: another object.
            holding("account_location", "uid=ada,ou=people"),
            // Discovered twice (two lookups found it): read once.
            holding("group_membership", "member|cn=ops|uid=ada"),
        ];
        assert_eq!(
            ids(&not_in_evidence(&ev, found, "verify-host", "ar")),
            [
                ("ar", "group_membership", "member|cn=ops|uid=ada"),
                ("ar", "account_location", "uid=ada,ou=people"),
            ]
        );
        assert!(not_in_evidence(&ev, Vec::new(), "verify-host", "ar").is_empty());
        assert!(not_in_evidence(
            &ev,
            vec![holding("account", "uid=ada,ou=people")],
            "verify-host",
            "ar"
        )
        .is_empty());
    }

    #[test]
    fn fan_out_ids_are_matched_qualified_and_named_by_their_member() {
        let ev = [
            evidence("account", "ldap:uid=ada,ou=people", "lock"),
            evidence("account", "sso:users/1", "disable"),
        ];
        let found = vec![
            holding("account", "ldap:uid=ada,ou=people"),
            holding("account", "sso:users/1"),
            // The same own id at the other instance is another object.
            holding("account", "sso:uid=ada,ou=people"),
            holding("session", "sso:users/1/sessions/s9"),
        ];
        assert_eq!(
            ids(&not_in_evidence(&ev, found, "ldap+sso", "ldap+sso")),
            [
                ("sso", "account", "sso:uid=ada,ou=people"),
                ("sso", "session", "sso:users/1/sessions/s9"),
            ]
        );
        // Evidence recorded unqualified (another shape of the config) never hides a qualified
        // discovery: reported rather than assumed known.
        let flat = [evidence("account", "uid=ada,ou=people", "lock")];
        let u = not_in_evidence(
            &flat,
            vec![holding("account", "ldap:uid=ada,ou=people")],
            "ldap+sso",
            "ldap+sso",
        );
        assert_eq!(ids(&u), [("ldap", "account", "ldap:uid=ada,ou=people")]);
        // A member added since the close is named by this process's configuration.
        let u = not_in_evidence(
            &ev,
            vec![holding("account", "kc2:users/7")],
            "ldap+sso+kc2",
            "ldap+sso",
        );
        assert_eq!(ids(&u), [("kc2", "account", "kc2:users/7")]);
        // A prefix that names no member is part of the id.
        assert_eq!(member("ar", "urn:x"), None);
        assert_eq!(member("ldap+sso", "okta:x"), None);
        assert_eq!(member("sso", "sso:users/1"), Some("sso"));
    }

    #[test]
    fn present_is_new_gone_is_not_an_error_is_unread() {
        let rb = |gone| ReadBack {
            gone,
            detail: "group still lists member uid=ada".into(),
            removed_at: None,
        };
        assert_eq!(
            judge(Ok(&rb(false))),
            Reading::New("group still lists member uid=ada".into())
        );
        assert_eq!(
            judge(Ok(&rb(true))),
            Reading::NewGone("group still lists member uid=ada".into())
        );
        let e = TargetError::Transient("503".into());
        assert!(matches!(judge(Err(&e)), Reading::Unreadable(m) if m.contains("503")));
        assert_eq!(
            finding_text("active: true"),
            "re-provisioned: not in the evidence, present now: active: true"
        );
    }
}

//! Several instances of one target kind behind one worker: several SaaS tenants over SCIM,
//! several Vault clusters, several GitLab instances. Configured as named sub-tables:
//!
//! ```toml
//! [targets.saas.okta]
//! base_url = "https://okta.example.com/scim/v2"
//! token_env = "REVOKE_OKTA_SCIM_TOKEN"
//!
//! [targets.saas.slack]
//! base_url = "https://api.slack.com/scim/v2"
//! token_env = "REVOKE_SLACK_SCIM_TOKEN"
//! ```
//!
//! The worker's confirmation then covers every instance: the target is done only when each
//! instance is. Object ids carry the instance (`okta:Groups/…`), so evidence says where each
//! object lived and `revoke`/`verify`/`restore` go back to the same instance.

use super::{Holding, ReadBack, RestoreResult, RevokeResult, SignIn, Target, TargetError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use std::sync::Arc;

pub struct Fanout {
    kind: TargetKind,
    instance: String,
    principal: String,
    members: Vec<(String, Arc<dyn Target>)>,
}

/// Instance names: short, lowercase, and free of the `:` that separates them from object ids.
pub fn instance_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `<instance>:<object id>`.
pub fn qualify(instance: &str, object_id: &str) -> String {
    format!("{instance}:{object_id}")
}

/// Splits a qualified object id back into instance and the member's own object id.
pub fn split(object_id: &str) -> Option<(&str, &str)> {
    let (i, rest) = object_id.split_once(':')?;
    instance_name_ok(i).then_some((i, rest))
}

impl Fanout {
    /// `members` are (instance name, adapter) pairs, names already checked.
    pub fn new(kind: TargetKind, members: Vec<(String, Arc<dyn Target>)>) -> Fanout {
        let instance = members
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let principal = members
            .iter()
            .map(|(n, t)| format!("{n}:{}", t.principal()))
            .collect::<Vec<_>>()
            .join(",");
        Fanout {
            kind,
            instance,
            principal,
            members,
        }
    }

    fn member(&self, object_id: &str) -> Result<(&Arc<dyn Target>, String), TargetError> {
        let (name, own) = split(object_id).ok_or_else(|| {
            TargetError::Permanent(format!(
                "{} object id {object_id:?} does not name one of the instances {}",
                self.kind, self.instance
            ))
        })?;
        let t = self
            .members
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| {
                TargetError::Permanent(format!(
                    "{} instance {name:?} (from object {object_id:?}) is not configured; configured: {}",
                    self.kind, self.instance
                ))
            })?;
        Ok((t, own.to_string()))
    }

    fn unqualified(what: &Holding, own: String) -> Holding {
        Holding {
            object_id: own,
            ..what.clone()
        }
    }
}

#[async_trait]
impl Target for Fanout {
    fn kind(&self) -> TargetKind {
        self.kind
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        &self.principal
    }

    /// Every instance at once; any error fails the whole discovery (the retry runs it again),
    /// since a target is only done when every instance is.
    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        let found = join_all(self.members.iter().map(|(name, t)| async move {
            t.discover(who)
                .await
                .map(|hs| (name, hs))
                .map_err(|e| match e {
                    TargetError::Transient(m) => TargetError::Transient(format!("{name}: {m}")),
                    TargetError::Permanent(m) => TargetError::Permanent(format!("{name}: {m}")),
                    TargetError::Ambiguous(m) => TargetError::Ambiguous(format!("{name}: {m}")),
                    TargetError::RateLimited {
                        message,
                        retry_after,
                    } => TargetError::RateLimited {
                        message: format!("{name}: {message}"),
                        retry_after,
                    },
                })
        }))
        .await;
        let mut out = Vec::new();
        for r in found {
            let (name, holdings) = r?;
            out.extend(holdings.into_iter().map(|h| Holding {
                object_id: qualify(name, &h.object_id),
                ..h
            }));
        }
        Ok(out)
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        let (t, own) = self.member(&what.object_id)?;
        t.revoke(who, &Self::unqualified(what, own)).await
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        let (t, own) = self.member(&what.object_id)?;
        t.verify(who, &Self::unqualified(what, own)).await
    }

    async fn restore(
        &self,
        who: &Identity,
        evidence: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        let (t, own) = self.member(&evidence.object_id)?;
        let ev = ObjectEvidence {
            object_id: own,
            ..evidence.clone()
        };
        t.restore(who, &ev).await
    }

    /// Every instance's sign-ins, each named by its instance; `None` when no instance keeps a
    /// sign-in log. Any error fails the whole read (the watch asks again at its next poll).
    async fn sign_ins_since(
        &self,
        who: &Identity,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        let mut out: Option<Vec<SignIn>> = None;
        for (name, t) in &self.members {
            if let Some(found) = t.sign_ins_since(who, since).await? {
                out.get_or_insert_with(Vec::new)
                    .extend(found.into_iter().map(|s| SignIn {
                        instance: name.clone(),
                        ..s
                    }));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sim::Simulator;
    use crate::restoration::{restore_identity, RestoreOutcome};
    use crate::revocation::revoke_identity;
    use revoke_shared::config::SimulatorConfig;
    use revoke_shared::contract::{IdentityKind, ObjectOutcome, Outcome};
    use revoke_shared::metrics::Metrics;
    use revoke_shared::retry::RetryPolicy;
    use std::time::Duration;

    #[test]
    fn ids_carry_the_instance() {
        assert_eq!(
            qualify("okta", "Groups/g/members/u"),
            "okta:Groups/g/members/u"
        );
        assert_eq!(split("okta:a:b"), Some(("okta", "a:b")));
        assert_eq!(split("Okta:x"), None);
        assert_eq!(split("no-colon"), None);
        assert!(!instance_name_ok("a:b") && !instance_name_ok("") && !instance_name_ok("a b"));
    }

    #[tokio::test]
    async fn two_instances_are_revoked_verified_and_restored_where_they_live() {
        let a = Arc::new(Simulator::with_instance(
            TargetKind::Saas,
            "okta",
            SimulatorConfig::default(),
        ));
        let b = Arc::new(Simulator::with_instance(
            TargetKind::Saas,
            "slack",
            SimulatorConfig::default(),
        ));
        let f = Fanout::new(
            TargetKind::Saas,
            vec![
                ("okta".into(), a.clone() as Arc<dyn Target>),
                ("slack".into(), b.clone()),
            ],
        );
        assert_eq!(f.instance(), "okta+slack");
        assert_eq!(
            f.principal(),
            "okta:sim-saas-revoker,slack:sim-saas-revoker"
        );
        let who = Identity {
            employee_id: "E3".into(),
            email: None,
            username: Some("lin".into()),
            kind: IdentityKind::Employee,
        };
        let policy = RetryPolicy {
            max_attempts: 2,
            initial: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_total: Duration::from_secs(1),
        };
        let m = Metrics::new();
        let r = revoke_identity(&f, &who, "w", &policy, &m).await;
        assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
        let own_a = a.actions_for("E3").len();
        let own_b = b.actions_for("E3").len();
        assert!(own_a > 0 && own_b > 0);
        assert_eq!(r.objects.len(), own_a + own_b);
        assert!(r
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::Revoked && o.verified));
        assert!(r.objects.iter().any(|o| o.object_id.starts_with("okta:")));
        assert!(r.objects.iter().any(|o| o.object_id.starts_with("slack:")));
        assert!(a.all_revoked("E3") && b.all_revoked("E3"));

        let restored = restore_identity(&f, &who, &r.objects, "w", &policy, &m).await;
        assert!(restored
            .iter()
            .any(|o| o.outcome == RestoreOutcome::Restored));
        assert!(!a.all_revoked("E3") && !b.all_revoked("E3"));

        // An object id naming no configured instance is refused, never guessed.
        let stray = Holding {
            object_kind: "account".into(),
            object_id: "github:42".into(),
            sponsored: false,
            action: "deactivate".into(),
        };
        assert!(matches!(
            f.revoke(&who, &stray).await,
            Err(TargetError::Permanent(_))
        ));
    }
}

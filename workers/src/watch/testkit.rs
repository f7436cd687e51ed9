//! Closed cases and evidence for the unit tests of `watch`.

use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    Actor, Case, CaseState, Identity, IdentityKind, ObjectEvidence, ObjectOutcome, Outcome,
    Provenance, TargetKind, TargetState, TargetStatus,
};
use uuid::Uuid;

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Evidence of one object a worker revoked and read back gone at 10:00:01.
pub fn evidence(kind: &str, id: &str, action: &str) -> ObjectEvidence {
    ObjectEvidence {
        object_kind: kind.into(),
        object_id: id.into(),
        sponsored: false,
        action: action.into(),
        outcome: ObjectOutcome::Revoked,
        removed_at: Some(at("2026-11-01T10:00:01Z")),
        actor: Actor {
            worker_id: "w1".into(),
            principal: "svc".into(),
        },
        verified: true,
        provenance: Provenance::Observed,
        read_back: "gone".into(),
        error: None,
    }
}

pub fn done(objects: Vec<ObjectEvidence>, confirmed_at: &str) -> TargetStatus {
    TargetStatus {
        state: TargetState::Done,
        outcome: Some(Outcome::Revoked),
        instance: Some("main".into()),
        confirmed_at: Some(at(confirmed_at)),
        objects,
        ..TargetStatus::pending()
    }
}

/// `identity`'s case closed at `closed_at`: the directory (an account locked, a membership
/// removed) and Vault (a token revoked) done.
pub fn closed_case(identity: &str, closed_at: &str) -> Case {
    let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, identity.as_bytes());
    let mut c = Case::opened(
        id,
        identity,
        vec![TargetKind::Directory, TargetKind::Vault],
        at("2026-11-01T10:00:00Z"),
    );
    c.identity = Some(Identity {
        employee_id: identity.into(),
        email: None,
        username: Some(identity.to_lowercase()),
        kind: IdentityKind::Employee,
    });
    c.targets.insert(
        TargetKind::Directory,
        done(
            vec![
                evidence("account", &format!("uid={identity}"), "lock"),
                evidence(
                    "group_membership",
                    &format!("staff|{identity}"),
                    "remove_membership",
                ),
            ],
            "2026-11-01T10:00:02Z",
        ),
    );
    c.targets.insert(
        TargetKind::Vault,
        done(
            vec![evidence("token", &format!("acc-{identity}"), "revoke")],
            "2026-11-01T10:00:03Z",
        ),
    );
    c.state = CaseState::Closed;
    c.closed_at = Some(at(closed_at));
    c.revision = 3;
    c
}

/// A directory target that answers from a list: discovery lists `holdings` (or fails with
/// `discover_error`), a read-back answers each one's `gone`, anything unlisted is gone. It
/// panics on `revoke` and `restore`: what the watch does must only read.
pub struct Listed {
    pub holdings: Vec<(crate::adapters::Holding, bool)>,
    pub discover_error: Option<crate::adapters::TargetError>,
}

impl Listed {
    pub fn new(holdings: &[(&str, &str, bool)]) -> Listed {
        Listed {
            holdings: holdings
                .iter()
                .map(|(kind, id, gone)| {
                    let h = crate::adapters::Holding {
                        object_kind: kind.to_string(),
                        object_id: id.to_string(),
                        sponsored: false,
                        action: "remove_membership".into(),
                    };
                    (h, *gone)
                })
                .collect(),
            discover_error: None,
        }
    }
}

#[async_trait::async_trait]
impl crate::adapters::Target for Listed {
    fn kind(&self) -> TargetKind {
        TargetKind::Directory
    }
    fn instance(&self) -> &str {
        "main"
    }
    fn principal(&self) -> &str {
        "svc-read"
    }
    async fn discover(
        &self,
        _who: &Identity,
    ) -> Result<Vec<crate::adapters::Holding>, crate::adapters::TargetError> {
        match &self.discover_error {
            Some(e) => Err(e.clone()),
            None => Ok(self.holdings.iter().map(|(h, _)| h.clone()).collect()),
        }
    }
    async fn revoke(
        &self,
        _who: &Identity,
        what: &crate::adapters::Holding,
    ) -> Result<crate::adapters::RevokeResult, crate::adapters::TargetError> {
        panic!("the watch revoked {what:?}: it must only read")
    }
    async fn verify(
        &self,
        _who: &Identity,
        what: &crate::adapters::Holding,
    ) -> Result<crate::adapters::ReadBack, crate::adapters::TargetError> {
        let gone = self
            .holdings
            .iter()
            .find(|(h, _)| h.object_id == what.object_id)
            .is_none_or(|(_, gone)| *gone);
        Ok(crate::adapters::ReadBack {
            gone,
            detail: format!(
                "{} {}",
                if gone { "absent" } else { "present" },
                what.object_id
            ),
            removed_at: None,
        })
    }
    async fn restore(
        &self,
        _who: &Identity,
        evidence: &ObjectEvidence,
    ) -> Result<crate::adapters::RestoreResult, crate::adapters::TargetError> {
        panic!("the watch restored {evidence:?}: it must only read")
    }
}

/// A sign-in after departure at the directory's `sso` instance, as the watch reports it.
pub fn sign_in_finding(case: &Case) -> revoke_shared::contract::AccessFinding {
    let s = crate::adapters::SignIn {
        event_id: "ev-1".into(),
        instance: "sso".into(),
        at: at("2026-11-01T11:00:00Z"),
        detail: "LOGIN".into(),
    };
    let reader = super::findings::Reader {
        worker: revoke_shared::contract::WorkerInfo {
            id: "watch".into(),
            version: "test".into(),
        },
        principal: "revoke-admin".into(),
    };
    super::findings::sign_in_after_departure(case, TargetKind::Directory, &s, &reader)
}

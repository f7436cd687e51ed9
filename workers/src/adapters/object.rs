//! Typed object ids: each real adapter names what it acts on with its own type (`ObjectRef`),
//! written into the contract's strings (`Holding`, `ObjectEvidence`: `object_kind`, `object_id`)
//! once, in discovery, and parsed back once, here at the contract's edge. An adapter written
//! against `Adapter` never sees an id it did not make: a revoke, read-back or restore of an id
//! that does not parse is answered here, before any call to the target, and the adapter's own
//! code matches on its typed objects instead of re-parsing strings.

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};

/// An adapter's name for one object, and its round trip through the contract's strings:
/// `parse(o.kind(), &o.id()) == Some(o)`.
pub trait ObjectRef: Sized + Send + Sync + 'static {
    /// What the ids look like, for the error that names an id the adapter does not record
    /// (e.g. `access_key/<user>/<key id>`).
    const EXAMPLE: &'static str;

    /// The contract's `object_kind`: `account`, `group_membership`, `access_key`, …
    fn kind(&self) -> &'static str;
    /// The contract's `object_id` (never a secret: key ids and accessors, not key material).
    fn id(&self) -> String;
    /// The object a (`object_kind`, `object_id`) pair names; None unless both agree and every
    /// part is well-formed for this system (so a tampered id never reaches an API call).
    fn parse(kind: &str, id: &str) -> Option<Self>;
}

/// One typed holding: the object, and what revoking it means here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held<O> {
    pub object: O,
    /// A non-human credential the identity sponsors.
    pub sponsored: bool,
    /// What revoking it means here: `lock`, `remove_membership`, `delete`, `revoke`, …
    pub action: String,
}

impl<O: ObjectRef> Held<O> {
    pub fn new(object: O, sponsored: bool, action: impl Into<String>) -> Held<O> {
        Held {
            object,
            sponsored,
            action: action.into(),
        }
    }

    /// The contract's form of it.
    pub fn holding(&self) -> Holding {
        Holding {
            object_kind: self.object.kind().to_string(),
            object_id: self.object.id(),
            sponsored: self.sponsored,
            action: self.action.clone(),
        }
    }
}

/// A real adapter: the `Target` contract over its typed objects. Every `Adapter` is a `Target`
/// (below); the simulator and the fan-out, which carry other adapters' ids, implement `Target`
/// directly.
#[async_trait]
pub trait Adapter: Send + Sync + 'static {
    type Object: ObjectRef;

    fn kind(&self) -> TargetKind;
    /// The configured instance name.
    fn instance(&self) -> &str;
    /// The principal of the credential this adapter acts with, recorded as the actor.
    fn principal(&self) -> &str;

    /// Everything the identity holds or held here (see `Target::discover`).
    async fn discover(&self, who: &Identity) -> Result<Vec<Held<Self::Object>>, TargetError>;
    /// Revokes one holding. Idempotent.
    async fn revoke(
        &self,
        who: &Identity,
        what: &Held<Self::Object>,
    ) -> Result<RevokeResult, TargetError>;
    /// Reads the holding back from the target to prove it is gone.
    async fn verify(
        &self,
        who: &Identity,
        what: &Held<Self::Object>,
    ) -> Result<ReadBack, TargetError>;
    /// Undoes the revocation `evidence` records of `object` (see `Target::restore`: a restore
    /// is a grant, re-checked at the target first).
    async fn restore(
        &self,
        who: &Identity,
        object: &Self::Object,
        evidence: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError>;
}

/// Why an id is not one of `A`'s.
fn not_ours<A: Adapter>(a: &A, kind: &str, id: &str) -> String {
    format!(
        "{kind} {id:?} is not an object {} {} records (expected e.g. {})",
        a.kind(),
        a.instance(),
        <A::Object as ObjectRef>::EXAMPLE
    )
}

fn held<A: Adapter>(a: &A, what: &Holding) -> Result<Held<A::Object>, TargetError> {
    let object = A::Object::parse(&what.object_kind, &what.object_id)
        .ok_or_else(|| TargetError::Permanent(not_ours(a, &what.object_kind, &what.object_id)))?;
    Ok(Held {
        object,
        sponsored: what.sponsored,
        action: what.action.clone(),
    })
}

#[async_trait]
impl<A: Adapter> Target for A {
    fn kind(&self) -> TargetKind {
        Adapter::kind(self)
    }

    fn instance(&self) -> &str {
        Adapter::instance(self)
    }

    fn principal(&self) -> &str {
        Adapter::principal(self)
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        let found = Adapter::discover(self, who).await?;
        Ok(found.iter().map(Held::holding).collect())
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        Adapter::revoke(self, who, &held(self, what)?).await
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        Adapter::verify(self, who, &held(self, what)?).await
    }

    /// Evidence naming an object this adapter does not record is refused, not retried: the
    /// request may be forged, and nothing is given back on an id nobody can check.
    async fn restore(
        &self,
        who: &Identity,
        evidence: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match A::Object::parse(&evidence.object_kind, &evidence.object_id) {
            Some(object) => Adapter::restore(self, who, &object, evidence).await,
            None => Ok(RestoreResult::Refused {
                reason: format!(
                    "{}: nothing given back",
                    not_ours(self, &evidence.object_kind, &evidence.object_id)
                ),
            }),
        }
    }
}

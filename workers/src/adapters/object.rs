//! Typed object ids: each real adapter names what it acts on with its own type (`ObjectRef`),
//! written into the contract's strings (`Holding`, `ObjectEvidence`: `object_kind`, `object_id`)
//! once, in discovery, and parsed back once, here at the contract's edge. An adapter written
//! against `Adapter` never sees an id it did not make: a revoke, read-back or restore of an id
//! that does not parse is answered here, before any call to the target, and the adapter's own
//! code matches on its typed objects instead of re-parsing strings.

use super::{Holding, ReadBack, RestoreResult, RevokeResult, SignIn, Target, TargetError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};

/// An adapter's name for one object, and its round trip through the contract's strings:
/// `parse(o.kind(), &o.id()) == Some(o)`.
pub trait ObjectRef: Sized + Send + Sync + 'static {
    /// What the ids look like, for the error that names an id the adapter does not record
    /// (e.g. `access_key/<user>/<key id>`).
    const EXAMPLE: &'static str;
    /// What the adapter's objects are called in that error: `an IAM object`.
    const WHAT: &'static str = "an object";

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
    /// The kind of target it is (one adapter type serves one kind).
    const KIND: TargetKind;

    /// Its configured instance name and the principal of the credential it acts with (the
    /// actor in evidence): `Target::instance` and `Target::principal`.
    fn names(&self) -> (&str, &str);

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
    /// Successful sign-ins since `since` (see `Target::sign_ins_since`); `None` by default.
    async fn sign_ins_since(
        &self,
        _who: &Identity,
        _since: DateTime<Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        Ok(None)
    }
}

/// Why an id is not one of `A`'s.
fn not_ours<A: Adapter>(a: &A, kind: &str, id: &str) -> String {
    format!(
        "{kind} {id:?} is not {} that {} {} records (expected e.g. {})",
        <A::Object as ObjectRef>::WHAT,
        A::KIND,
        a.names().0,
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
        A::KIND
    }

    fn instance(&self) -> &str {
        self.names().0
    }

    fn principal(&self) -> &str {
        self.names().1
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

    async fn sign_ins_since(
        &self,
        who: &Identity,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        Adapter::sign_ins_since(self, who, since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::tests::who;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// One object kind, `key`, with numeric ids `keys/<n>`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Key(u32);

    impl ObjectRef for Key {
        const EXAMPLE: &'static str = "keys/<n>";
        fn kind(&self) -> &'static str {
            "key"
        }
        fn id(&self) -> String {
            format!("keys/{}", self.0)
        }
        fn parse(kind: &str, id: &str) -> Option<Key> {
            let n = id.strip_prefix("keys/")?;
            (kind == "key" && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse().ok().map(Key))?
        }
    }

    /// Holds keys 1 and 2; counts every call that reaches it.
    #[derive(Default)]
    struct Keys {
        calls: AtomicUsize,
        seen: std::sync::Mutex<Vec<Key>>,
    }

    impl Keys {
        fn reached(&self, k: &Key) {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.seen.lock().unwrap().push(k.clone());
        }
    }

    #[async_trait]
    impl Adapter for Keys {
        type Object = Key;
        const KIND: TargetKind = TargetKind::Vault;
        fn names(&self) -> (&str, &str) {
            ("unit", "revoker")
        }
        async fn discover(&self, _who: &Identity) -> Result<Vec<Held<Key>>, TargetError> {
            Ok(vec![
                Held::new(Key(1), false, "delete"),
                Held::new(Key(2), true, "revoke"),
            ])
        }
        async fn revoke(
            &self,
            _: &Identity,
            what: &Held<Key>,
        ) -> Result<RevokeResult, TargetError> {
            self.reached(&what.object);
            Ok(RevokeResult::Revoked { removed_at: None })
        }
        async fn verify(&self, _: &Identity, what: &Held<Key>) -> Result<ReadBack, TargetError> {
            self.reached(&what.object);
            Ok(ReadBack {
                gone: true,
                detail: String::new(),
                removed_at: None,
            })
        }
        async fn restore(
            &self,
            _: &Identity,
            object: &Key,
            _: &ObjectEvidence,
        ) -> Result<RestoreResult, TargetError> {
            self.reached(object);
            Ok(RestoreResult::AlreadyPresent)
        }
    }

    fn evidence(kind: &str, id: &str) -> ObjectEvidence {
        let mut ev =
            crate::revocation::tests::evidence(id, revoke_shared::contract::ObjectOutcome::Revoked);
        ev.object_kind = kind.into();
        ev
    }

    #[tokio::test]
    async fn the_contract_strings_are_written_and_parsed_once_at_the_edge() {
        let t = Keys::default();
        let found = Target::discover(&t, &who()).await.unwrap();
        assert_eq!(found[1].object_kind, "key");
        assert_eq!(found[1].object_id, "keys/2");
        assert!(found[1].sponsored);
        assert_eq!(found[1].action, "revoke");
        for h in &found {
            Target::revoke(&t, &who(), h).await.unwrap();
            assert!(Target::verify(&t, &who(), h).await.unwrap().gone);
        }
        let r = Target::restore(&t, &who(), &evidence("key", "keys/2"))
            .await
            .unwrap();
        assert_eq!(r, RestoreResult::AlreadyPresent);
        assert_eq!(
            *t.seen.lock().unwrap(),
            [Key(1), Key(1), Key(2), Key(2), Key(2)]
        );
    }

    #[tokio::test]
    async fn an_id_the_adapter_did_not_make_never_reaches_it() {
        let t = Keys::default();
        for (kind, id) in [
            ("key", "keys/x"),
            ("key", "keys/1/.."),
            ("lock", "keys/1"),
            ("key", ""),
        ] {
            let h = Holding {
                object_kind: kind.into(),
                object_id: id.into(),
                sponsored: false,
                action: "delete".into(),
            };
            let e = Target::revoke(&t, &who(), &h).await.unwrap_err();
            assert!(
                matches!(&e, TargetError::Permanent(m) if m.contains("keys/<n>")),
                "{e:?}"
            );
            assert!(matches!(
                Target::verify(&t, &who(), &h).await,
                Err(TargetError::Permanent(_))
            ));
            // A restore is a grant: evidence naming an unknown object is refused, not failed.
            let r = Target::restore(&t, &who(), &evidence(kind, id))
                .await
                .unwrap();
            assert!(
                matches!(&r, RestoreResult::Refused { reason } if reason.contains("nothing given back")),
                "{r:?}"
            );
        }
        assert_eq!(t.calls.load(Ordering::SeqCst), 0);
    }
}

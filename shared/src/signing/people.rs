//! People's decisions: whether a decision record (approve, reject, acknowledge, review) is proven
//! to come from the person it names, holding the role it needs. Pure: a function of the record,
//! `[[people]]` and whether `[signing] required` is on.
//!
//! - Signed: the signature must verify with the *current* key (`public_key`) of the person it
//!   names as signer; that person must be the one the record names (`by`) and hold the role.
//!   A key from `previous_public_keys` is refused for new decisions (it was rotated away; records
//!   it signed earlier still verify in `person_key`). A bad signature is refused whether or not
//!   signing is required: it is a forgery or a corruption, never "unsigned".
//! - Unsigned: refused with signing required; otherwise accepted as `unauthenticated` — but
//!   where `[[people]]` lists anyone, `by` must still be a listed person holding the role (an
//!   unsigned decision cannot name someone who may not make it).

use super::record::{signature_of, verify_with, RecordSignatureError};
use crate::config::{verifying_key, Person, Role};
use crate::contract::Authenticity;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

/// Why a person's decision was refused (dead-lettered; the action does not happen).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefusal {
    #[error("the decision is unsigned and [signing] required is on: sign it with the person's key (--key-file)")]
    Unsigned,
    #[error("{0}")]
    Signature(RecordSignatureError),
    #[error("made by {signer:?}, who is not in [[people]]")]
    UnknownPerson { signer: String },
    #[error("signed with a key {signer:?} rotated away (previous_public_keys): new decisions need the current key")]
    RetiredKey { signer: String },
    #[error("signed by {signer:?} but made in the name of {by:?}: a person signs only their own decisions")]
    NotTheirs { signer: String, by: String },
    #[error("{person:?} does not hold the {role} role")]
    NoRole { person: String, role: &'static str },
}

impl DecisionRefusal {
    /// The DLQ reason (bounded).
    pub fn reason(&self) -> &'static str {
        match self {
            DecisionRefusal::Unsigned => "decision_unsigned",
            DecisionRefusal::Signature(_) => "decision_bad_signature",
            DecisionRefusal::UnknownPerson { .. } => "decision_unknown_person",
            DecisionRefusal::RetiredKey { .. } => "decision_retired_key",
            DecisionRefusal::NotTheirs { .. } => "decision_not_theirs",
            DecisionRefusal::NoRole { .. } => "decision_without_role",
        }
    }
}

/// Checks a decision record made in the name of `by`, needing `role`.
pub fn check_decision(
    record: &Value,
    by: &str,
    role: Role,
    people: &[Person],
    required: bool,
) -> Result<Authenticity, DecisionRefusal> {
    let sig = match signature_of(record) {
        Ok(Some(sig)) => sig,
        Ok(None) if required => return Err(DecisionRefusal::Unsigned),
        Ok(None) if people.is_empty() => return Ok(Authenticity::Unauthenticated),
        Ok(None) => {
            let Some(person) = people.iter().find(|p| p.id == by) else {
                return Err(DecisionRefusal::UnknownPerson {
                    signer: by.chars().take(256).collect(),
                });
            };
            if !person.has(role) {
                return Err(DecisionRefusal::NoRole {
                    person: person.id.clone(),
                    role: role.as_str(),
                });
            }
            return Ok(Authenticity::Unauthenticated);
        }
        Err(e) => return Err(DecisionRefusal::Signature(e)),
    };
    let short = |s: &str| s.chars().take(256).collect::<String>();
    let Some(person) = people.iter().find(|p| p.id == sig.signer) else {
        return Err(DecisionRefusal::UnknownPerson {
            signer: short(&sig.signer),
        });
    };
    let current = person
        .public_key
        .as_deref()
        .and_then(|k| verifying_key(k).ok())
        .filter(|k| super::record::key_id_of(k) == sig.key_id);
    let Some(key) = current else {
        if person_key(people, &sig.signer, &sig.key_id).is_some() {
            return Err(DecisionRefusal::RetiredKey {
                signer: person.id.clone(),
            });
        }
        return Err(DecisionRefusal::Signature(
            RecordSignatureError::UnknownKey {
                signer: person.id.clone(),
                key_id: short(&sig.key_id),
            },
        ));
    };
    verify_with(record, &sig, &key).map_err(DecisionRefusal::Signature)?;
    if person.id != by {
        return Err(DecisionRefusal::NotTheirs {
            signer: person.id.clone(),
            by: short(by),
        });
    }
    if !person.has(role) {
        return Err(DecisionRefusal::NoRole {
            person: person.id.clone(),
            role: role.as_str(),
        });
    }
    Ok(Authenticity::Authenticated)
}

/// The public key (current or previous) of `signer` with `key_id`: for verifying records signed
/// in the past, offline included.
pub fn person_key(people: &[Person], signer: &str, key_id: &str) -> Option<VerifyingKey> {
    let p = people.iter().find(|p| p.id == signer)?;
    p.public_key
        .iter()
        .chain(&p.previous_public_keys)
        .filter_map(|k| verifying_key(k).ok())
        .find(|k| super::record::key_id_of(k) == key_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::RecordSigner;
    use serde_json::json;

    fn person(id: &str, seed: u8, roles: Vec<Role>, previous: &[u8]) -> Person {
        let pk = |s: u8| RecordSigner::from_seed(id, &[s; 32]).public_key_text();
        Person {
            id: id.into(),
            name: id.to_uppercase(),
            contact: format!("{id}@example.com"),
            roles,
            public_key: Some(pk(seed)),
            previous_public_keys: previous.iter().map(|s| pk(*s)).collect(),
        }
    }

    fn signed(by: &str, seed: u8) -> Value {
        let mut v = json!({"decision": "approve", "by": by, "batch": "hold-1"});
        RecordSigner::from_seed(by, &[seed; 32]).sign_value(&mut v);
        v
    }

    #[test]
    fn who_may_decide() {
        let people = vec![
            person("alice", 1, vec![Role::Approver], &[9]),
            person("bob", 2, vec![Role::Attester], &[]),
        ];
        let check = |v: &Value, by: &str, required| {
            check_decision(v, by, Role::Approver, &people, required)
        };
        assert_eq!(
            check(&signed("alice", 1), "alice", true),
            Ok(Authenticity::Authenticated)
        );
        assert_eq!(
            check(&json!({"by": "alice"}), "alice", false),
            Ok(Authenticity::Unauthenticated)
        );
        // Unsigned, yet naming someone who is not listed or lacks the role: refused.
        assert!(matches!(
            check(&json!({"by": "eve"}), "eve", false),
            Err(DecisionRefusal::UnknownPerson { .. })
        ));
        assert!(matches!(
            check(&json!({"by": "bob"}), "bob", false),
            Err(DecisionRefusal::NoRole { .. })
        ));
        assert_eq!(
            check_decision(
                &json!({"by": "anyone"}),
                "anyone",
                Role::Approver,
                &[],
                false
            ),
            Ok(Authenticity::Unauthenticated),
            "without [[people]] the free-text mode stays"
        );
        assert_eq!(
            check(&json!({"by": "alice"}), "alice", true),
            Err(DecisionRefusal::Unsigned)
        );
        assert!(matches!(
            check(&signed("bob", 2), "bob", true),
            Err(DecisionRefusal::NoRole { .. })
        ));
        assert!(matches!(
            check(&signed("alice", 9), "alice", true),
            Err(DecisionRefusal::RetiredKey { .. })
        ));
        assert!(matches!(
            check(&signed("mallory", 5), "mallory", false),
            Err(DecisionRefusal::UnknownPerson { .. })
        ));
        // Bob signs a decision in alice's name.
        assert!(matches!(
            check(&signed("bob", 2), "alice", false),
            Err(DecisionRefusal::NotTheirs { .. })
        ));
        // A key that is nobody's, claiming to be alice's: refused even with signing off.
        let mut forged = json!({"by": "alice"});
        RecordSigner::from_seed("alice", &[7; 32]).sign_value(&mut forged);
        assert!(matches!(
            check(&forged, "alice", false),
            Err(DecisionRefusal::Signature(_))
        ));
        // Alice's genuine record, altered afterwards.
        let mut altered = signed("alice", 1);
        altered["batch"] = json!("hold-2");
        assert!(matches!(
            check(&altered, "alice", false),
            Err(DecisionRefusal::Signature(_))
        ));
        // The retired key still verifies records it signed before the rotation.
        let old = RecordSigner::from_seed("alice", &[9; 32]);
        assert!(person_key(&people, "alice", old.key_id()).is_some());
    }
}

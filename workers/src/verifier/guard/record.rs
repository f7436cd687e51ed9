//! Reading one record of the guard log as every reader judges it (each verifier instance, the
//! decision-refusal consumer, `revoke guard`/`approve`/`reject`): an admission as written, or a
//! person's decision — which counts only if `signing::check_decision` finds it theirs, checked
//! on the JSON value exactly as it was logged (so a field a reader does not know is covered by
//! the signature too). A refused decision has no effect at all: the guard never sees it, so its
//! batch stays held. Pure.

use revoke_shared::config::{Person, Role};
use revoke_shared::contract::{
    Authenticity, GuardEntry, GuardRecord, RecordSignature, GUARD_SCHEMA,
};
use revoke_shared::signing::{check_decision, record_digest, DecisionRefusal};
use serde_json::Value;

/// How a decision that counts was proven to be its person's, for the case's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionProof {
    pub authenticity: Authenticity,
    /// The person's signature as logged (none for a free-text decision).
    pub signature: Option<RecordSignature>,
    /// `sha256:` of the canonical form of the whole record as logged: finds it on the log.
    pub digest: String,
}

/// What a guard log record is to its readers.
#[derive(Debug, Clone, PartialEq)]
pub enum GuardRead {
    /// An admission (`proof` none), or a decision that counts (`proof` says how it was proven).
    Counts {
        entry: GuardEntry,
        proof: Option<DecisionProof>,
    },
    /// A decision that is not its person's (or not theirs to make): dead-lettered, no effect.
    Refused {
        batch: String,
        by: String,
        refusal: DecisionRefusal,
    },
    /// Not JSON, not a guard record, or another schema: skipped.
    Unreadable(String),
}

impl GuardRead {
    /// The DLQ reason and detail of a refused decision.
    pub fn dead_letter(&self) -> Option<(&'static str, String)> {
        match self {
            GuardRead::Refused {
                batch,
                by,
                refusal,
            } => Some((
                refusal.reason(),
                format!(
                    "decision on held batch {batch} in the name of {by:?} refused, the batch stays held: {refusal}"
                ),
            )),
            _ => None,
        }
    }
}

/// Judges the guard log record `payload`; `people` and `required` are `[[people]]` and
/// `[signing] required`.
pub fn read_guard_record(payload: &[u8], people: &[Person], required: bool) -> GuardRead {
    let value: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => return GuardRead::Unreadable(format!("not JSON: {e}")),
    };
    let record: GuardRecord = match serde_json::from_value(value.clone()) {
        Ok(r) => r,
        Err(e) => return GuardRead::Unreadable(format!("not a guard record: {e}")),
    };
    if record.schema != GUARD_SCHEMA {
        return GuardRead::Unreadable(format!(
            "unknown guard log schema {:?}",
            record.schema.chars().take(80).collect::<String>()
        ));
    }
    let GuardEntry::Decision(d) = &record.entry else {
        return GuardRead::Counts {
            entry: record.entry,
            proof: None,
        };
    };
    match check_decision(&value, &d.by, Role::Approver, people, required) {
        Ok(authenticity) => GuardRead::Counts {
            proof: Some(DecisionProof {
                authenticity,
                signature: record.signature.clone(),
                digest: record_digest(&value),
            }),
            entry: record.entry,
        },
        Err(refusal) => GuardRead::Refused {
            batch: d.batch.chars().take(80).collect(),
            by: d.by.chars().take(256).collect(),
            refusal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::tests::decision_kit::{key, person};
    use chrono::Utc;
    use revoke_shared::contract::{Admission, BatchDecision, Decision};

    fn decision(by: &str) -> GuardRecord {
        GuardRecord::decision(BatchDecision {
            batch: "hold-3".into(),
            decision: Decision::Approve,
            by: by.into(),
            at: Utc::now(),
            note: None,
            digest: Some("00ff".into()),
            cases: Some(vec![uuid::Uuid::new_v4()]),
        })
    }

    fn signed(by: &str) -> Vec<u8> {
        let v = key(by).sign(&decision(by)).unwrap();
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn a_decision_counts_only_when_its_person_signed_it() {
        let people = vec![
            person("alice", &[Role::Approver]),
            person("bob", &[Role::Attester]),
        ];
        let genuine = signed("alice");
        let GuardRead::Counts {
            proof: Some(p),
            entry: GuardEntry::Decision(d),
        } = read_guard_record(&genuine, &people, true)
        else {
            panic!("a genuine decision counts")
        };
        assert_eq!(p.authenticity, Authenticity::Authenticated);
        assert_eq!(p.signature.as_ref().unwrap().signer, "alice");
        assert!(p.digest.starts_with("sha256:"));
        assert_eq!(d.by, "alice");

        let unsigned = serde_json::to_vec(&decision("alice")).unwrap();
        let refused = read_guard_record(&unsigned, &people, true);
        assert_eq!(refused.dead_letter().unwrap().0, "decision_unsigned");
        assert!(refused.dead_letter().unwrap().1.contains("hold-3"));
        // Without [signing] required an unsigned decision by a listed approver counts, as
        // unauthenticated.
        assert!(matches!(
            read_guard_record(&unsigned, &people, false),
            GuardRead::Counts {
                proof: Some(DecisionProof {
                    authenticity: Authenticity::Unauthenticated,
                    signature: None,
                    ..
                }),
                ..
            }
        ));
        assert_eq!(
            read_guard_record(&signed("bob"), &people, true)
                .dead_letter()
                .unwrap()
                .0,
            "decision_without_role"
        );
        // One byte changed in a genuine record (the note added after signing).
        let text = String::from_utf8(genuine.clone()).unwrap().replacen(
            "\"decision\":\"approve\"",
            "\"decision\":\"reject\"",
            1,
        );
        assert_eq!(
            read_guard_record(text.as_bytes(), &people, false)
                .dead_letter()
                .unwrap()
                .0,
            "decision_bad_signature"
        );
        // An admission is the verifiers' and is not a person's decision.
        let adm = GuardRecord::admission(Admission {
            case_id: uuid::Uuid::new_v4(),
            identity_id: "E1".into(),
            asks: Default::default(),
            targets: vec![],
            at: Utc::now(),
        });
        assert!(matches!(
            read_guard_record(&serde_json::to_vec(&adm).unwrap(), &people, true),
            GuardRead::Counts { proof: None, .. }
        ));
        assert!(matches!(
            read_guard_record(b"{nope", &people, true),
            GuardRead::Unreadable(_)
        ));
    }
}

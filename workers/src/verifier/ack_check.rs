//! Whether a person's acknowledgement (`revoke case ack`: a confirmation with instance `manual`)
//! is theirs: `signing::check_decision` with the attester role, on the record exactly as it was
//! read off the confirmations topic. Refused, it is dead-lettered and its target stays as it
//! was; accepted, the target's evidence says who attested and whether it was `authenticated`.
//! Pure.

use revoke_shared::config::{Person, Role};
use revoke_shared::contract::{Authenticity, Confirmation};
use revoke_shared::signing::check_decision;
use serde_json::Value;

/// Checks the acknowledgement `c`, read as the JSON value `record`. The person is the one its
/// evidence names (`actor.principal`); an acknowledgement naming two people is nobody's.
pub fn check_ack(
    record: &Value,
    c: &Confirmation,
    people: &[Person],
    required: bool,
) -> Result<Authenticity, (&'static str, String)> {
    let what = format!(
        "acknowledgement of {} for case {}",
        c.target.kind, c.case_id
    );
    let mut named = c.objects.iter().map(|o| o.actor.principal.as_str());
    let Some(by) = named.next() else {
        return Err((
            "malformed_confirmation",
            format!("{what} names no person (it has no evidence object)"),
        ));
    };
    if let Some(other) = named.find(|p| *p != by) {
        return Err((
            "decision_not_theirs",
            format!(
                "{what} names both {by:?} and {:?}: an acknowledgement is one person's",
                other.chars().take(256).collect::<String>()
            ),
        ));
    }
    check_decision(record, by, Role::Attester, people, required).map_err(|r| {
        (
            r.reason(),
            format!("{what} in the name of {by:?} refused, the target stays as it was: {r}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::fixtures::*;
    use crate::cli::case::ack::{decide, AckRequest, Decision};
    use crate::verifier::tests::decision_kit::{key, person};
    use revoke_shared::contract::TargetKind;

    fn ack_by(by: &str) -> Confirmation {
        let mut v = verifier();
        let case = escalated_case(&mut v, "E1", 0);
        let req = AckRequest {
            target: TargetKind::Cloud,
            by: by.into(),
            note: "badge returned, ticket OPS-1".into(),
            removed_at: None,
        };
        match decide(&case, &req, t0(), "h").unwrap() {
            Decision::Publish(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_ack_counts_when_its_attester_signed_it() {
        let people = vec![
            person("carol", &[Role::Attester]),
            person("alice", &[Role::Approver]),
        ];
        let c = ack_by("carol");
        let signed = key("carol").sign(&c).unwrap();
        assert_eq!(
            check_ack(&signed, &c, &people, true),
            Ok(Authenticity::Authenticated)
        );
        let unsigned = serde_json::to_value(&c).unwrap();
        assert_eq!(
            check_ack(&unsigned, &c, &people, true).unwrap_err().0,
            "decision_unsigned"
        );
        assert_eq!(
            check_ack(&unsigned, &c, &people, false),
            Ok(Authenticity::Unauthenticated)
        );
        // Alice signs her own ack, but she is no attester.
        let a = ack_by("alice");
        let by_alice = key("alice").sign(&a).unwrap();
        assert_eq!(
            check_ack(&by_alice, &a, &people, true).unwrap_err().0,
            "decision_without_role"
        );
        // Alice signs an ack in carol's name.
        let forged = key("alice").sign(&c).unwrap();
        assert_eq!(
            check_ack(&forged, &c, &people, false).unwrap_err().0,
            "decision_not_theirs"
        );
        // Carol's genuine ack with its note changed afterwards.
        let mut altered = signed.clone();
        altered["objects"][0]["read_back"] = "confirmed by carol: nothing".into();
        let (reason, detail) = check_ack(&altered, &c, &people, false).unwrap_err();
        assert_eq!(reason, "decision_bad_signature");
        assert!(detail.contains("the target stays as it was"), "{detail}");
        // Two people named in one ack.
        let mut two = c.clone();
        let mut o = two.objects[0].clone();
        o.actor.principal = "alice".into();
        two.objects.push(o);
        let v = serde_json::to_value(&two).unwrap();
        assert_eq!(
            check_ack(&v, &two, &people, false).unwrap_err().0,
            "decision_not_theirs"
        );
        // Free text with no [[people]] and no signing: accepted, unauthenticated.
        assert_eq!(
            check_ack(&unsigned, &c, &[], false),
            Ok(Authenticity::Unauthenticated)
        );
    }
}

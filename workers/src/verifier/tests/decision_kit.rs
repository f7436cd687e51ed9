//! What the step and review tests share: the people (with Ed25519 keys derived from their ids),
//! the `device_return` step, a verifier with a given `closure_review`, attestations and reviews
//! as the commands publish them (signed by whom the test says), and cases brought to the point a
//! test starts from.

pub use super::kit::*;
pub use crate::verifier::machine::Roster;
pub use revoke_shared::config::{ClosureReview, Person, Role, StepConfig};
pub use revoke_shared::contract::{
    Authenticity, CaseGuard, ReviewRecord, ReviewVerdict, StepAttestation, REVIEW_SCHEMA,
    STEP_ATTESTATION_SCHEMA,
};
pub use revoke_shared::signing::RecordSigner;
pub use serde_json::Value;

pub const STEP: &str = "device_return";

pub fn key(id: &str) -> RecordSigner {
    let seed = [id
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b)); 32];
    RecordSigner::from_seed(id, &seed)
}

pub fn person(id: &str, roles: &[Role]) -> Person {
    Person {
        id: id.into(),
        name: format!("{id} (person)"),
        contact: format!("{id}@example.com"),
        roles: roles.to_vec(),
        public_key: Some(key(id).public_key_text()),
        previous_public_keys: Vec::new(),
    }
}

/// carol attests, rita reviews, ian owns the step (and may review), alice approves and reviews,
/// mallory only reviews.
pub fn roster() -> Roster {
    let mut steps = BTreeMap::new();
    steps.insert(
        STEP.to_string(),
        StepConfig {
            description: "laptop and badge returned".into(),
            owner: "ian".into(),
            sla_secs: 600,
            required_by_kind: vec!["employee".into()],
        },
    );
    Roster {
        steps,
        people: vec![
            person("carol", &[Role::Attester]),
            person("rita", &[Role::Reviewer]),
            person("ian", &[Role::Owner, Role::Reviewer]),
            person("alice", &[Role::Approver, Role::Reviewer]),
            person("mallory", &[Role::Reviewer]),
        ],
        signing_required: true,
    }
}

pub fn reviewing(mode: ClosureReview) -> Verifier {
    let p = VerifierConfig {
        closure_review: mode,
        review_sla_secs: 3600,
        ..policy()
    };
    Verifier::new(p).with_roster(roster())
}

/// `by`'s attestation of `step` on `case`, signed by `signer` (none: unsigned).
pub fn attestation(
    case: &Case,
    step: &str,
    by: &str,
    signer: Option<&str>,
    secs: i64,
) -> (StepAttestation, Value) {
    let a = StepAttestation {
        schema: STEP_ATTESTATION_SCHEMA.into(),
        attestation_id: Uuid::new_v5(&case.case_id, format!("{step}{by}{secs}").as_bytes()),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        step: step.into(),
        by: by.into(),
        at: at(secs),
        note: "laptop in the IT cupboard, ticket IT-7".into(),
        signature: None,
    };
    sign(a, signer)
}

pub fn sign<T: serde::Serialize + serde::de::DeserializeOwned>(
    r: T,
    signer: Option<&str>,
) -> (T, Value) {
    let v = match signer {
        Some(s) => key(s).sign(&r).unwrap(),
        None => serde_json::to_value(&r).unwrap(),
    };
    (serde_json::from_value(v.clone()).unwrap(), v)
}

pub fn review(
    case: &Case,
    verdict: ReviewVerdict,
    by: &str,
    digest: &str,
    reopen: &[&str],
) -> (ReviewRecord, Value) {
    let r = ReviewRecord {
        schema: REVIEW_SCHEMA.into(),
        review_id: Uuid::new_v4(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        verdict,
        by: by.into(),
        // Made when the reviewer looked: as the case last stood.
        at: case.updated_at,
        evidence_digest: digest.into(),
        reopen: reopen.iter().map(|s| s.to_string()).collect(),
        note: Some("checked the ticket".into()),
        signature: None,
    };
    sign(r, Some(by))
}

pub fn attest(v: &mut Verifier, a: &(StepAttestation, Value), secs: i64) -> Vec<Effect> {
    v.apply(Input::StepAttestation(&a.0, &a.1), at(secs))
}

pub fn decide(v: &mut Verifier, r: &(ReviewRecord, Value), secs: i64) -> Vec<Effect> {
    v.apply(Input::Review(&r.0, &r.1), at(secs))
}

/// E1's case with every target verified and the step still pending.
pub fn waiting_on_the_step(v: &mut Verifier) -> Case {
    let (ev, opened) = open(v, "E1", "evt-1", at(0), at(0));
    assert_eq!(opened.steps[&STEP.to_string()].state, TargetState::Pending);
    let case = sole_case(confirm_ok(v, &ev, &ALL, 1));
    assert_eq!(case.state, CaseState::Open, "the step is still pending");
    case
}

/// E1's case, the step attested by carol: waiting for its review.
pub fn awaiting_review(v: &mut Verifier) -> Case {
    let case = waiting_on_the_step(v);
    let case = sole_case(attest(
        v,
        &attestation(&case, STEP, "carol", Some("carol"), 20),
        20,
    ));
    assert_eq!(case.state, CaseState::AwaitingReview);
    case
}

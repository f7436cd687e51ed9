//! Every finding `revoke case --verify` can name, on versions built as the verifier publishes
//! them (sealed by `chain::seal`), then attacked.

use super::*;
use crate::evidence::chain::seal;
use crate::evidence::keys::{PublicKeyEntry, TrustedKeys};
use chrono::Utc;
use revoke_shared::contract::{
    Actor, Confirmation, ObjectEvidence, ObjectOutcome, Outcome, Provenance, SignedReport,
    TargetKind, TargetRef, TargetState, WorkerInfo, CONFIRMATION_SCHEMA,
};
use revoke_shared::signing::{key_id_of, RecordSigner};
use serde_json::json;

fn verifier() -> RecordSigner {
    RecordSigner::from_seed("verifier", &[1; 32])
}
fn worker() -> RecordSigner {
    RecordSigner::from_seed("worker", &[2; 32])
}

fn entry(owner: KeyOwner, s: &RecordSigner, retired: bool) -> PublicKeyEntry {
    PublicKeyEntry {
        owner,
        signer: s.signer().into(),
        roles: vec![],
        key_id: key_id_of(&s.verifying_key()),
        public_key: s.public_key_text(),
        retired,
    }
}

fn keys() -> TrustedKeys {
    TrustedKeys::from_entries(&[
        entry(KeyOwner::Fleet, &verifier(), false),
        entry(KeyOwner::Fleet, &worker(), false),
        entry(
            KeyOwner::Person,
            &RecordSigner::from_seed("alice", &[3; 32]),
            false,
        ),
    ])
    .unwrap()
}

/// A worker's confirmation for the vault target, signed as a worker would.
fn report(case: &Case) -> Confirmation {
    let now = Utc::now();
    let mut c = Confirmation {
        schema: CONFIRMATION_SCHEMA.into(),
        confirmation_id: uuid::Uuid::new_v4(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        event_id: "evt-1".into(),
        target: TargetRef {
            kind: TargetKind::Vault,
            instance: "default".into(),
        },
        outcome: Outcome::Revoked,
        objects: vec![ObjectEvidence {
            object_kind: "token".into(),
            object_id: "acc-1".into(),
            sponsored: false,
            action: "revoke".into(),
            outcome: ObjectOutcome::Revoked,
            removed_at: Some(now),
            actor: Actor {
                worker_id: "w1".into(),
                principal: "svc".into(),
            },
            verified: true,
            provenance: Provenance::Observed,
            read_back: "gone".into(),
            error: None,
        }],
        attempts: 2,
        error: None,
        retryable: false,
        redrive: 0,
        replay: None,
        worker: WorkerInfo {
            id: "w1".into(),
            version: "1".into(),
        },
        started_at: now,
        finished_at: now,
        fleet_signature: None,
        signature: None,
        authenticity: None,
    };
    c.signature = crate::evidence::signature_over(&worker(), &c);
    c
}

/// Five versions of one case as the verifier publishes them: opened, a worker's report
/// recorded, …, closed; chained and signed with `signer`.
fn history_with(signer: Option<&RecordSigner>) -> Vec<Version> {
    let mut case = Case::opened(
        uuid::Uuid::new_v4(),
        "E1",
        vec![TargetKind::Vault],
        Utc::now(),
    );
    let mut prev = None;
    let mut out = Vec::new();
    for rev in 0..5u64 {
        case.revision = rev;
        if rev == 2 {
            let c = report(&case);
            let st = case.targets.get_mut(&TargetKind::Vault).unwrap();
            st.state = TargetState::Done;
            st.outcome = Some(c.outcome);
            st.instance = Some("default".into());
            st.confirmed_at = Some(c.finished_at);
            st.attempts = c.attempts;
            st.worker = Some(Box::new(c.worker.clone()));
            st.objects = c.objects.clone();
            st.signed = Some(Box::new(SignedReport {
                confirmation_id: c.confirmation_id,
                case_id: c.case_id,
                event_id: c.event_id.clone(),
                started_at: c.started_at,
                retryable: false,
                redrive: 0,
                replay: None,
                signature: String::new(),
                record_signature: c.signature.clone(),
            }));
        }
        prev = seal(&mut case, prev.as_ref(), signer);
        out.push(Version {
            topic: "revoke.cases".into(),
            partition: 0,
            offset: 10 + rev as i64,
            value: serde_json::to_value(&case).unwrap(),
        });
    }
    out
}

fn history() -> Vec<Version> {
    history_with(Some(&verifier()))
}

fn run(vs: &[Version]) -> CaseCheck {
    let mut all = check_versions(
        vs,
        &keys(),
        CheckOptions {
            require_signed: true,
        },
    );
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn kinds(c: &CaseCheck) -> Vec<(FindingKind, Option<u64>)> {
    c.findings.iter().map(|f| (f.kind, f.revision)).collect()
}

#[test]
fn an_honest_history_verifies() {
    let c = run(&history());
    assert!(c.ok(), "{}", render(std::slice::from_ref(&c)));
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    assert_eq!((c.versions, c.signed, c.reports_verified), (5, 5, 1));
    assert!(render(&[c]).contains("OK"));
}

#[test]
fn an_altered_byte_is_named() {
    let mut vs = history();
    vs[3].value["identity_id"] = json!("E2");
    let c = run(&vs);
    assert!(!c.ok());
    assert!(
        kinds(&c).contains(&(FindingKind::Altered, Some(3))),
        "{:?}",
        c.findings
    );
    // The version after it chained to the original: that is named too, on revision 3.
    assert!(
        c.findings.iter().all(|f| f.revision == Some(3)),
        "{:?}",
        c.findings
    );
}

#[test]
fn an_altered_copy_republished_is_named() {
    let mut vs = history();
    let mut forged = vs[1].clone();
    forged.value["state"] = json!("closed");
    forged.offset = 99;
    vs.push(forged);
    let c = run(&vs);
    let k = kinds(&c);
    assert!(k.contains(&(FindingKind::Altered, Some(1))), "{k:?}");
    assert!(c.findings.iter().any(|f| f.at.ends_with("@99")));
}

#[test]
fn a_removed_version_is_named() {
    let mut vs = history();
    vs.remove(2);
    let c = run(&vs);
    assert!(!c.ok());
    let f = c
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Removed)
        .expect("removed named");
    assert_eq!(f.revision, Some(3));
    assert!(f.detail.contains("revision 2 is missing"), "{}", f.detail);
}

#[test]
fn reordered_versions_are_named() {
    let mut vs = history();
    vs.swap(1, 2);
    let c = run(&vs);
    assert!(!c.ok());
    let r: Vec<_> = c
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Reordered)
        .collect();
    assert!(!r.is_empty(), "{:?}", c.findings);
    assert!(r.iter().any(|f| f.revision == Some(1)), "{r:?}");
    assert!(
        c.findings.iter().all(|f| f.kind == FindingKind::Reordered),
        "{:?}",
        c.findings
    );
}

#[test]
fn a_forged_version_is_named() {
    let mut vs = history();
    // Re-signed by a key nobody published, chain intact.
    RecordSigner::from_seed("verifier", &[9; 32]).sign_value(&mut vs[4].value);
    let c = run(&vs);
    assert_eq!(kinds(&c), vec![(FindingKind::Forged, Some(4))]);
    // Signed by a worker key, as if it were the verifier.
    let mut vs = history();
    worker().sign_value(&mut vs[4].value);
    assert_eq!(kinds(&run(&vs)), vec![(FindingKind::Forged, Some(4))]);
}

#[test]
fn duplicates_are_named() {
    let mut vs = history();
    let mut copy = vs[2].clone();
    copy.offset = 50;
    vs.push(copy);
    let c = run(&vs);
    assert_eq!(kinds(&c), vec![(FindingKind::Duplicated, Some(2))]);
}

#[test]
fn a_compacted_prefix_is_history_not_failure() {
    let vs = history();
    let c = run(&vs[2..]);
    assert!(c.ok(), "{:?}", c.findings);
    assert_eq!(kinds(&c), vec![(FindingKind::HistoryBegins, Some(2))]);
    assert!(render(&[c]).contains("history begins at revision 2 (earlier versions compacted)"));
}

#[test]
fn unsigned_versions_fail_only_where_the_verifier_signs() {
    let vs = history_with(None);
    let c = run(&vs);
    assert!(!c.ok());
    assert!(c.findings.iter().all(|f| f.kind == FindingKind::Unsigned));
    // No verifier key listed (only the workers sign): unsigned versions are a notice.
    let workers_only =
        TrustedKeys::from_entries(&[entry(KeyOwner::Fleet, &worker(), false)]).unwrap();
    let relaxed = check_versions(&vs, &workers_only, CheckOptions::default()).remove(0);
    assert!(relaxed.ok(), "{:?}", relaxed.findings);
    assert_eq!(relaxed.findings[0].kind, FindingKind::UnsignedNotice);
    assert!(render(&[relaxed]).contains("unsigned"));
    // A signature stripped after signed versions: a downgrade, failed even when not required.
    let mut vs = history();
    vs[4].value.as_object_mut().unwrap().remove("signature");
    let c = check_versions(&vs, &keys(), CheckOptions::default()).remove(0);
    assert_eq!(kinds(&c), vec![(FindingKind::Unsigned, Some(4))]);
}

#[test]
fn an_altered_worker_report_is_named_even_when_the_version_is_re_signed() {
    // Someone holding the verifier's key (not the worker's) changes what the worker reported.
    let mut vs = history();
    for v in vs.iter_mut().skip(2) {
        v.value["targets"]["vault"]["objects"][0]["object_id"] = json!("acc-2");
        verifier().sign_value(&mut v.value);
    }
    // Re-chain so only the report is wrong.
    for i in 3..vs.len() {
        let d = crate::evidence::chain::digest_text(&digest_of(&vs[i - 1].value));
        vs[i].value["prev_digest"] = json!(d);
        verifier().sign_value(&mut vs[i].value);
    }
    let c = run(&vs);
    assert_eq!(
        kinds(&c),
        vec![(FindingKind::Report, Some(2))],
        "{:?}",
        c.findings
    );
}

#[test]
fn a_retired_verifier_key_still_verifies_what_it_signed_and_a_new_key_takes_over() {
    let old = verifier();
    let new = RecordSigner::from_seed("verifier", &[7; 32]);
    let mut vs = history_with(Some(&old));
    for i in 3..vs.len() {
        let d = crate::evidence::chain::digest_text(&digest_of(&vs[i - 1].value));
        vs[i].value["prev_digest"] = json!(d);
        new.sign_value(&mut vs[i].value);
    }
    let keys = TrustedKeys::from_entries(&[
        entry(KeyOwner::Fleet, &old, true),
        entry(KeyOwner::Fleet, &new, false),
        entry(KeyOwner::Fleet, &worker(), false),
    ])
    .unwrap();
    let c = check_versions(
        &vs,
        &keys,
        CheckOptions {
            require_signed: true,
        },
    )
    .remove(0);
    assert!(c.ok(), "{:?}", c.findings);
    assert_eq!(c.signed, 5);
    // Without the old key listed, its versions are forged.
    let only_new = TrustedKeys::from_entries(&[entry(KeyOwner::Fleet, &new, false)]).unwrap();
    let c = check_versions(
        &vs,
        &only_new,
        CheckOptions {
            require_signed: true,
        },
    )
    .remove(0);
    assert!(c
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::Forged && f.revision == Some(0)));
}

#[test]
fn people_decisions_embedded_are_checked() {
    let alice = RecordSigner::from_seed("alice", &[3; 32]);
    let mut decision = json!({"verdict": "accept", "by": "alice"});
    alice.sign_value(&mut decision);
    let mut vs = history();
    // Wherever a decision is embedded (here a field the case type does not know).
    vs[4].value["decisions"] = json!([decision.clone()]);
    verifier().sign_value(&mut vs[4].value);
    let c = run(&vs);
    assert!(c.ok(), "{:?}", c.findings);
    assert_eq!(c.decisions_verified, 1);
    vs[4].value["decisions"][0]["verdict"] = json!("reject");
    verifier().sign_value(&mut vs[4].value);
    assert_eq!(kinds(&run(&vs)), vec![(FindingKind::Decision, Some(4))]);
}

#[test]
fn versions_of_several_cases_are_checked_apart() {
    let mut a = history();
    let b = history();
    a.extend(b);
    let all = check_versions(
        &a,
        &keys(),
        CheckOptions {
            require_signed: true,
        },
    );
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(CaseCheck::ok));
}

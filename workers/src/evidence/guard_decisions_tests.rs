//! A case released by alice's signed approval, its versions sealed as the verifier publishes
//! them, checked against the guard log's record — then the record removed, altered, replaced,
//! signed by someone else, deciding other cases.

use super::*;
use crate::evidence::chain::seal;
use crate::evidence::keys::PublicKeyEntry;
use crate::evidence::packet;
use chrono::Utc;
use revoke_shared::contract::{BatchDecision, Case, TargetKind};
use revoke_shared::signing::{key_id_of, RecordSigner};
use uuid::Uuid;

fn verifier() -> RecordSigner {
    RecordSigner::from_seed("verifier", &[1; 32])
}
fn alice() -> RecordSigner {
    RecordSigner::from_seed("alice", &[3; 32])
}
fn mallory() -> RecordSigner {
    RecordSigner::from_seed("mallory", &[4; 32])
}

fn entry(owner: KeyOwner, s: &RecordSigner, roles: &[&str], retired: bool) -> PublicKeyEntry {
    PublicKeyEntry {
        owner,
        signer: s.signer().into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        key_id: key_id_of(&s.verifying_key()),
        public_key: s.public_key_text(),
        retired,
    }
}

fn keys_with(alice_roles: &[&str], alice_retired: bool) -> TrustedKeys {
    TrustedKeys::from_entries(&[
        entry(KeyOwner::Fleet, &verifier(), &["verifier"], false),
        entry(KeyOwner::Person, &alice(), alice_roles, alice_retired),
        entry(KeyOwner::Person, &mallory(), &["approver"], false),
    ])
    .unwrap()
}

fn keys() -> TrustedKeys {
    keys_with(&["approver", "reviewer"], false)
}

/// The decision record `by` logged on batch hold-3 for `cases`, signed by `signer` (if any).
fn decision(by: &str, cases: Option<Vec<Uuid>>, signer: Option<&RecordSigner>) -> Value {
    let r = GuardRecord::decision(BatchDecision {
        batch: "hold-3".into(),
        decision: Decision::Approve,
        by: by.into(),
        at: Utc::now(),
        note: Some("expected leaver".into()),
        digest: Some("00ff".into()),
        cases,
    });
    match signer {
        Some(s) => s.sign(&r).unwrap(),
        None => serde_json::to_value(&r).unwrap(),
    }
}

/// Three sealed versions of a case: opened, held in hold-3, released by the decision `record`
/// (the verifier keeps its digest and signature, as `record_decision` does).
fn versions(case_id: Uuid, record: &Value, authenticity: Authenticity) -> Vec<Version> {
    let mut case = Case::opened(case_id, "E1", vec![TargetKind::Vault], Utc::now());
    let mut prev = None;
    let mut out = Vec::new();
    for rev in 0..3u64 {
        case.revision = rev;
        if rev == 1 {
            let mut g = CaseGuard::asked(Utc::now());
            g.batch = Some("hold-3".into());
            case.guard = Some(Box::new(g));
        }
        if rev == 2 {
            let g = case.guard.as_mut().unwrap();
            g.decision = Some(Decision::Approve);
            g.decided_by = record["by"].as_str().map(String::from);
            g.decided_authenticity = Some(authenticity);
            g.decision_signature = signature_of(record).unwrap().map(Box::new);
            g.decision_digest = Some(record_digest(record));
        }
        prev = seal(&mut case, prev.as_ref(), Some(&verifier()));
        out.push(Version {
            topic: "cases".into(),
            partition: 0,
            offset: rev as i64,
            value: serde_json::to_value(&case).unwrap(),
        });
    }
    out
}

fn logged(record: &Value, listed: Option<String>) -> LoggedDecision {
    LoggedDecision {
        at: "guard/0@7".into(),
        listed_digest: listed,
        value: record.clone(),
    }
}

fn check(
    vs: &[Version],
    records: &[LoggedDecision],
    keys: &TrustedKeys,
    packet: bool,
) -> CaseCheck {
    let id = vs[0].value["case_id"].as_str().unwrap().to_string();
    let case = if packet { Some(id.as_str()) } else { None };
    let mut c = check_with_decisions(vs, records, keys, CheckOptions::default(), case);
    assert_eq!(c.len(), 1);
    c.remove(0)
}

fn kinds(c: &CaseCheck) -> Vec<FindingKind> {
    c.findings.iter().map(|f| f.kind).collect()
}

#[test]
fn a_signed_approval_on_the_guard_log_verifies_and_its_absence_is_named() {
    let id = Uuid::new_v4();
    let record = decision("alice", Some(vec![id]), Some(&alice()));
    let vs = versions(id, &record, Authenticity::Authenticated);
    let refs: Vec<&Version> = vs.iter().collect();
    let named = named_decisions(&refs);
    assert_eq!(named.len(), 1, "named once though two versions carry it");
    assert_eq!(named[0].revision, Some(2));
    assert_eq!(wanted_digests(&vs).len(), 1);

    let ok = check(&vs, &[logged(&record, None)], &keys(), false);
    assert!(ok.ok(), "{:?}", ok.findings);
    assert_eq!((ok.decisions_verified, ok.guard_decisions_verified), (1, 1));
    // A retired key still verifies what it signed.
    let retired = check(
        &vs,
        &[logged(&record, None)],
        &keys_with(&["approver"], true),
        false,
    );
    assert!(retired.ok(), "{:?}", retired.findings);

    // Not on the guard log / not in the packet.
    for packet in [false, true] {
        let gone = check(&vs, &[], &keys(), packet);
        assert_eq!(kinds(&gone), vec![FindingKind::Removed]);
        let f = &gone.findings[0];
        assert!(
            f.detail.contains("approval of batch hold-3 by alice"),
            "{f:?}"
        );
        assert!(f.detail.contains(&record_digest(&record)), "{f:?}");
        assert_eq!((f.revision, f.at.as_str()), (Some(2), "cases/0@2"));
    }
    // Another decision on the log does not stand in for it.
    let other = decision("alice", Some(vec![id]), Some(&alice()));
    assert!(!check(&vs, &[logged(&other, None)], &keys(), false).ok());
}

#[test]
fn an_altered_or_replaced_decision_record_is_named() {
    let id = Uuid::new_v4();
    let record = decision("alice", Some(vec![id]), Some(&alice()));
    let vs = versions(id, &record, Authenticity::Authenticated);
    let digest = record_digest(&record);
    for (field, to) in [("by", "mallory"), ("note", "expected leaver!")] {
        let mut edited = record.clone();
        edited[field] = to.into();
        // Edited in place, the packet's digest left as exported.
        let c = check(&vs, &[logged(&edited, Some(digest.clone()))], &keys(), true);
        assert_eq!(kinds(&c), vec![FindingKind::Altered], "{field}");
        let f = &c.findings[0];
        assert_eq!(f.at, "guard/0@7");
        assert!(
            f.detail.contains("approval of batch hold-3 by alice"),
            "{f:?}"
        );
        assert!(f.detail.contains("changed after it was logged"), "{f:?}");
        // Edited with its digest recomputed: the named one is missing, the edit an intruder.
        let c = check(
            &vs,
            &[logged(&edited, Some(record_digest(&edited)))],
            &keys(),
            true,
        );
        assert_eq!(kinds(&c), vec![FindingKind::Removed, FindingKind::Forged]);
        assert!(c.findings[1]
            .detail
            .contains("no version of the case names"));
    }
    // The right record with a wrong listed digest.
    let c = check(
        &vs,
        &[logged(&record, Some("sha256:00".into()))],
        &keys(),
        true,
    );
    assert_eq!(kinds(&c), vec![FindingKind::Altered]);
    // A record added to the packet that no version names.
    let extra = decision("mallory", Some(vec![id]), Some(&mallory()));
    let c = check(
        &vs,
        &[logged(&record, None), logged(&extra, None)],
        &keys(),
        true,
    );
    assert_eq!(kinds(&c), vec![FindingKind::Forged]);
    assert_eq!(c.guard_decisions_verified, 1);
}

#[test]
fn the_named_record_must_be_its_persons_and_decide_this_case() {
    let id = Uuid::new_v4();
    let judged = |record: &Value, keys: &TrustedKeys| {
        let vs = versions(id, record, Authenticity::Authenticated);
        check(&vs, &[logged(record, None)], keys, false)
    };
    // Signed by mallory in alice's name.
    let c = judged(
        &decision("alice", Some(vec![id]), Some(&mallory())),
        &keys(),
    );
    assert_eq!(kinds(&c), vec![FindingKind::Forged]);
    assert!(
        c.findings[0].detail.contains("in the name of"),
        "{:?}",
        c.findings
    );
    // alice's key not listed (an unpinned key).
    let only_mallory = TrustedKeys::from_entries(&[
        entry(KeyOwner::Fleet, &verifier(), &["verifier"], false),
        entry(KeyOwner::Person, &mallory(), &["approver"], false),
    ])
    .unwrap();
    let c = judged(
        &decision("alice", Some(vec![id]), Some(&alice())),
        &only_mallory,
    );
    assert_eq!(kinds(&c), vec![FindingKind::Forged]);
    // alice listed, but not as an approver.
    let c = judged(
        &decision("alice", Some(vec![id]), Some(&alice())),
        &keys_with(&["reviewer"], false),
    );
    assert_eq!(kinds(&c), vec![FindingKind::Decision]);
    // A decision on other cases of the batch.
    let c = judged(
        &decision("alice", Some(vec![Uuid::new_v4()]), Some(&alice())),
        &keys(),
    );
    assert_eq!(kinds(&c), vec![FindingKind::Decision]);
    assert!(c.findings[0].detail.contains("not this one"));
    // A whole-batch decision (no list, written before decisions listed cases) on its batch.
    let c = judged(&decision("alice", None, Some(&alice())), &keys());
    assert!(c.ok(), "{:?}", c.findings);
    assert_eq!(c.guard_decisions_verified, 1);
}

#[test]
fn a_free_text_decision_is_a_notice_unless_the_case_says_it_was_authenticated() {
    let id = Uuid::new_v4();
    let record = decision("alice", Some(vec![id]), None);
    let vs = versions(id, &record, Authenticity::Unauthenticated);
    let c = check(&vs, &[logged(&record, None)], &keys(), false);
    assert!(c.ok(), "{:?}", c.findings);
    assert_eq!(kinds(&c), vec![FindingKind::UnsignedNotice]);
    assert_eq!(c.guard_decisions_verified, 0);
    let vs = versions(id, &record, Authenticity::Authenticated);
    assert!(!check(&vs, &[logged(&record, None)], &keys(), false).ok());
}

#[test]
fn a_packet_carries_the_decision_and_verifies_it_offline() {
    let id = Uuid::new_v4();
    let record = decision("alice", Some(vec![id]), Some(&alice()));
    let vs = versions(id, &record, Authenticity::Authenticated);
    let log = Version {
        topic: "guard".into(),
        partition: 0,
        offset: 7,
        value: record.clone(),
    };
    let p = packet::build(&id.to_string(), &vs, &[log], &keys(), Utc::now());
    let text = serde_json::to_string(&p).unwrap();
    let ok = packet::verify(&text, None).unwrap();
    assert!(ok.ok(), "{}", packet::render(&ok));
    let out = packet::render(&ok);
    assert!(
        out.contains("decisions: 1 verified (1 from the guard log)"),
        "{out}"
    );
    // Dropped from the packet (the field removed altogether, as an older packet lacks it).
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("guard_decisions");
    let gone = packet::verify(&v.to_string(), None).unwrap();
    assert!(!gone.ok());
    let out = packet::render(&gone);
    assert!(out.contains("REMOVED") && out.contains("by alice"), "{out}");
}

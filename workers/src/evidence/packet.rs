//! The evidence packet (`revoke evidence export`, `revoke evidence verify`): one self-contained
//! JSON document (`revoke.evidence_packet.v1`) with every version of a case as published (the
//! raw JSON values, in offset order, with topic, partition and offset), each version's digest,
//! the worker reports and people's decisions those versions embed, the guard log's records of
//! the approvals and rejections the versions name by digest, and the public keys that signed
//! them. Verifying needs nothing but the packet and, to prove *who* signed, the
//! published public keys pinned with `--keys`.
//!
//! The packet's `confirmations` and `decisions` are copies for the reader; verification
//! re-derives them from the versions and never trusts the copies. Its `keys` prove integrity
//! only (whoever edits the packet can replace them): they are trusted for origin only where they
//! match pinned keys.

use super::chain::{digest_of, digest_text};
use super::check::{
    embedded_reports, nested_signed, CaseCheck, CheckOptions, Finding, FindingKind, Version,
};
use super::guard_decisions::{check_with_decisions, LoggedDecision};
use super::keys::{PublicKeyEntry, TrustedKeys};
use chrono::{DateTime, Utc};
use revoke_shared::contract::Case;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

pub const PACKET_SCHEMA: &str = "revoke.evidence_packet.v1";

const TRUST_PINNED: &str =
    "keys: only the pinned public keys (--keys) are trusted: signatures prove who signed";
const TRUST_OWN: &str = "keys: the packet's own keys (no --keys given): this proves the packet is consistent and unaltered since it was signed by whoever holds those keys, NOT that they are the fleet's — pin the published keys with --keys to prove origin";

/// One record as published: a case version, or a decision record of the guard log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketVersion {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// `sha256:<hex>` of the record's canonical form (what the next version's `prev_digest`
    /// names; for a guard decision, the case's `decision_digest`).
    pub digest: String,
    /// The record exactly as published, parsed.
    pub record: Value,
}

/// A worker's report (or a person's acknowledgement) as it was signed, rebuilt from a version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketReport {
    /// The first revision that embeds it.
    pub revision: u64,
    pub target: String,
    pub confirmation: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Packet {
    pub schema: String,
    pub case_id: String,
    pub exported_at: DateTime<Utc>,
    pub versions: Vec<PacketVersion>,
    pub confirmations: Vec<PacketReport>,
    pub decisions: Vec<Value>,
    /// The approvals and rejections of held batches the versions name (`guard.decision_digest`,
    /// `restore_guard.decision_digest`), as logged on the guard topic. Absent in packets
    /// exported before they were included: such a packet fails where a version names one.
    #[serde(default)]
    pub guard_decisions: Vec<PacketVersion>,
    pub keys: Vec<PublicKeyEntry>,
}

/// The packet of `case_id` from its versions (offset order), the guard log's records of the
/// decisions they name, and the keys the fleet publishes.
pub fn build(
    case_id: &str,
    versions: &[Version],
    guard_decisions: &[Version],
    keys: &TrustedKeys,
    now: DateTime<Utc>,
) -> Packet {
    let mut confirmations = Vec::new();
    let mut decisions = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for v in versions {
        if let Ok(case) = serde_json::from_value::<Case>(v.value.clone()) {
            for (kind, c) in embedded_reports(&case) {
                let key = format!(
                    "{}:{:?}",
                    c.confirmation_id,
                    c.signature.as_ref().map(|s| &s.sig)
                );
                if seen.insert(key) {
                    confirmations.push(PacketReport {
                        revision: case.revision,
                        target: kind.as_str().into(),
                        confirmation: serde_json::to_value(&c).unwrap_or(Value::Null),
                    });
                }
            }
        }
        for d in nested_signed(&v.value) {
            if seen.insert(digest_text(&digest_of(d))) {
                decisions.push(d.clone());
            }
        }
    }
    let as_published = |v: &Version| PacketVersion {
        topic: v.topic.clone(),
        partition: v.partition,
        offset: v.offset,
        digest: digest_text(&digest_of(&v.value)),
        record: v.value.clone(),
    };
    Packet {
        schema: PACKET_SCHEMA.into(),
        case_id: case_id.into(),
        exported_at: now,
        versions: versions.iter().map(as_published).collect(),
        confirmations,
        decisions,
        guard_decisions: guard_decisions.iter().map(as_published).collect(),
        keys: keys.entries(),
    }
}

/// What verifying a packet found.
#[derive(Debug, Clone)]
pub struct PacketCheck {
    pub case_id: String,
    /// Findings about the packet itself (digests that do not match their records, versions of
    /// another case).
    pub packet: Vec<Finding>,
    pub cases: Vec<CaseCheck>,
    /// How far the keys are trusted, in words.
    pub trust: String,
    /// Packet keys not among the pinned ones (ignored).
    pub unpinned: Vec<PublicKeyEntry>,
}

impl PacketCheck {
    pub fn ok(&self) -> bool {
        !self.packet.iter().any(|f| f.kind.fails()) && self.cases.iter().all(CaseCheck::ok)
    }
}

/// Verifies a packet offline: its digests, then every version's signature and chain, the
/// embedded reports and decisions, and the guard log's decisions the versions name. With `pinned`, only those keys are trusted (the packet's own
/// are compared with them); without, the packet's own keys are used — integrity, not origin.
pub fn verify(text: &str, pinned: Option<&TrustedKeys>) -> Result<PacketCheck, String> {
    let packet: Packet =
        serde_json::from_str(text).map_err(|e| format!("not an evidence packet: {e}"))?;
    if packet.schema != PACKET_SCHEMA {
        return Err(format!("schema {:?} is not {PACKET_SCHEMA}", packet.schema));
    }
    let own = TrustedKeys::from_entries(&packet.keys);
    let (keys, unpinned, trust) = match pinned {
        Some(p) => {
            // The packet's own keys are only compared with the pinned ones: broken ones are
            // listed as ignored, never a reason not to check the records.
            let unpinned = match &own {
                Ok(own) => own.pinned_by(p).1,
                Err(_) => packet.keys.clone(),
            };
            (p.clone(), unpinned, TRUST_PINNED.to_string())
        }
        None => (
            own.map_err(|e| format!("the packet's keys: {e}"))?,
            Vec::new(),
            TRUST_OWN.to_string(),
        ),
    };
    let mut findings = Vec::new();
    let mut versions = Vec::new();
    for pv in &packet.versions {
        let at = format!("{}/{}@{}", pv.topic, pv.partition, pv.offset);
        let revision = pv.record.get("revision").and_then(Value::as_u64);
        let actual = digest_text(&digest_of(&pv.record));
        if actual != pv.digest {
            findings.push(Finding { kind: FindingKind::Altered, revision, at: at.clone(), detail: format!("the record does not match the digest the packet lists for it ({}): changed after export", pv.digest) });
        }
        if pv.record.get("case_id").and_then(Value::as_str) != Some(packet.case_id.as_str()) {
            findings.push(Finding {
                kind: FindingKind::Forged,
                revision,
                at,
                detail: format!(
                    "a version of another case in the packet of case {}",
                    packet.case_id
                ),
            });
        }
        versions.push(Version {
            topic: pv.topic.clone(),
            partition: pv.partition,
            offset: pv.offset,
            value: pv.record.clone(),
        });
    }
    if versions.is_empty() {
        findings.push(Finding {
            kind: FindingKind::Removed,
            revision: None,
            at: "packet".into(),
            detail: "the packet holds no case version".into(),
        });
    }
    let opts = CheckOptions {
        require_signed: keys.has_verifier(),
    };
    let logged: Vec<LoggedDecision> = packet
        .guard_decisions
        .iter()
        .map(|g| LoggedDecision {
            at: format!("{}/{}@{}", g.topic, g.partition, g.offset),
            listed_digest: Some(g.digest.clone()),
            value: g.record.clone(),
        })
        .collect();
    Ok(PacketCheck {
        case_id: packet.case_id.clone(),
        packet: findings,
        cases: check_with_decisions(&versions, &logged, &keys, opts, Some(&packet.case_id)),
        trust,
        unpinned,
    })
}

/// The text `revoke evidence verify` prints.
pub fn render(c: &PacketCheck) -> String {
    let mut s = format!(
        "packet of case {}: {}\n{}\n",
        c.case_id,
        if c.ok() { "OK" } else { "FAILED" },
        c.trust
    );
    for k in &c.unpinned {
        s.push_str(&format!(
            "  ignored: the packet's {} key {} ({}) is not among the pinned keys\n",
            k.signer,
            k.key_id,
            if k.retired { "retired" } else { "current" }
        ));
    }
    for f in &c.packet {
        let rev = f.revision.map_or("?".into(), |r| r.to_string());
        s.push_str(&format!(
            "  {:<16} revision {rev} at {}: {}\n",
            f.kind.as_str().to_uppercase(),
            f.at,
            f.detail
        ));
    }
    s.push_str(&super::check::render(&c.cases));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::chain::seal;
    use crate::evidence::keys::{KeyOwner, PublicKeyEntry};
    use revoke_shared::contract::TargetKind;
    use revoke_shared::signing::{key_id_of, RecordSigner};

    fn signer(seed: u8) -> RecordSigner {
        RecordSigner::from_seed("verifier", &[seed; 32])
    }

    fn keys_of(s: &RecordSigner) -> TrustedKeys {
        TrustedKeys::from_entries(&[PublicKeyEntry {
            owner: KeyOwner::Fleet,
            signer: "verifier".into(),
            roles: vec!["verifier".into()],
            key_id: key_id_of(&s.verifying_key()),
            public_key: s.public_key_text(),
            retired: false,
        }])
        .unwrap()
    }

    fn packet_text(s: &RecordSigner) -> (String, String) {
        let mut case = Case::opened(
            uuid::Uuid::new_v4(),
            "E1",
            vec![TargetKind::Vault],
            Utc::now(),
        );
        let mut prev = None;
        let mut versions = Vec::new();
        for rev in 0..3 {
            case.revision = rev;
            prev = seal(&mut case, prev.as_ref(), Some(s));
            versions.push(Version {
                topic: "cases".into(),
                partition: 1,
                offset: rev as i64,
                value: serde_json::to_value(&case).unwrap(),
            });
        }
        let id = case.case_id.to_string();
        let p = build(&id, &versions, &[], &keys_of(s), Utc::now());
        (id, serde_json::to_string_pretty(&p).unwrap())
    }

    #[test]
    fn a_packet_verifies_offline_and_edits_are_named() {
        let s = signer(1);
        let (_, text) = packet_text(&s);
        let ok = verify(&text, None).unwrap();
        assert!(ok.ok(), "{}", render(&ok));
        assert!(render(&ok).contains("NOT that they are the fleet's"));
        let pinned = verify(&text, Some(&keys_of(&s))).unwrap();
        assert!(pinned.ok());
        // One byte of one record changed.
        let mut p: Packet = serde_json::from_str(&text).unwrap();
        p.versions[1].record["identity_id"] = Value::from("E9");
        let bad = verify(&serde_json::to_string(&p).unwrap(), None).unwrap();
        assert!(!bad.ok());
        assert!(render(&bad).contains("@1"));
        // A version removed, two swapped.
        let mut p: Packet = serde_json::from_str(&text).unwrap();
        p.versions.remove(1);
        assert!(!verify(&serde_json::to_string(&p).unwrap(), None)
            .unwrap()
            .ok());
        let mut p: Packet = serde_json::from_str(&text).unwrap();
        p.versions.swap(1, 2);
        let swapped = verify(&serde_json::to_string(&p).unwrap(), None).unwrap();
        assert!(
            render(&swapped).contains("REORDERED"),
            "{}",
            render(&swapped)
        );
    }

    #[test]
    fn a_packet_re_signed_with_its_own_keys_fails_only_against_pinned_keys() {
        // The attacker rebuilds the whole packet with a key of their own and ships that key.
        let mallory = signer(6);
        let (_, text) = packet_text(&mallory);
        assert!(verify(&text, None).unwrap().ok(), "integrity alone holds");
        let pinned = verify(&text, Some(&keys_of(&signer(1)))).unwrap();
        assert!(!pinned.ok());
        let out = render(&pinned);
        assert!(out.contains("FORGED") && out.contains("ignored"), "{out}");
    }
}

//! People's decisions on held batches, checked against the guard log. A case keeps only the
//! signature and digest of the approval or rejection that released or stopped it
//! (`CaseGuard.decision_signature`, `decision_digest`, in `guard` and `restore_guard`); the
//! record itself — which batch, which cases, by whom, the note — lives on the guard log
//! (`cfg.topics.guard`). This module checks, with no I/O, that each decision a case version
//! names is present as logged (its digest, `signing::record_digest` of the whole record, equals
//! the case's `decision_digest`), is signed by the person with a listed key, and decides this
//! case. `revoke case --verify` reads the records from the guard log; an evidence packet carries
//! them (`guard_decisions`) so `revoke evidence verify` checks them offline.

use super::check::{check_versions, CaseCheck, CheckOptions, Finding, FindingKind, Version};
use super::keys::{KeyOwner, TrustedKeys};
use revoke_shared::contract::{
    Authenticity, CaseGuard, Decision, GuardEntry, GuardRecord, GUARD_SCHEMA,
};
use revoke_shared::signing::{record_digest, signature_of, verify_with, RecordSignatureError};
use serde_json::Value;
use std::collections::BTreeSet;

/// One guard log record as read, or as a packet lists it.
#[derive(Debug, Clone)]
pub struct LoggedDecision {
    /// Where it was read (`topic/partition@offset`).
    pub at: String,
    /// The digest a packet lists for it (none when read from the log: it is computed).
    pub listed_digest: Option<String>,
    /// The record exactly as logged, parsed.
    pub value: Value,
}

impl LoggedDecision {
    /// A record read from the guard log.
    pub fn read(v: &Version) -> LoggedDecision {
        LoggedDecision {
            at: v.at(),
            listed_digest: None,
            value: v.value.clone(),
        }
    }
}

/// A decision a case version names: what the case says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedDecision {
    /// `sha256:` of the whole record as logged.
    pub digest: String,
    /// `guard` or `restore_guard`.
    pub field: &'static str,
    pub batch: Option<String>,
    pub by: Option<String>,
    pub decision: Option<Decision>,
    pub authenticity: Option<Authenticity>,
    /// The first version naming it.
    pub revision: Option<u64>,
    pub at: String,
}

impl NamedDecision {
    /// "the approval of batch hold-3 by alice", for findings.
    fn what(&self) -> String {
        let kind = match self.decision {
            Some(Decision::Approve) => "approval",
            Some(Decision::Reject) => "rejection",
            None => "decision",
        };
        let restore = if self.field == "restore_guard" {
            " (of the restore)"
        } else {
            ""
        };
        format!(
            "the {kind}{restore} of batch {} by {}",
            self.batch.as_deref().unwrap_or("?"),
            self.by.as_deref().unwrap_or("?")
        )
    }
}

/// Every decision the versions name (`guard.decision_digest`, `restore_guard.decision_digest`),
/// each once, in the order first named.
pub fn named_decisions(versions: &[&Version]) -> Vec<NamedDecision> {
    let mut out: Vec<NamedDecision> = Vec::new();
    for v in versions {
        for field in ["guard", "restore_guard"] {
            let Some(g) = v
                .value
                .get(field)
                .and_then(|g| serde_json::from_value::<CaseGuard>(g.clone()).ok())
            else {
                continue;
            };
            let Some(digest) = g.decision_digest else {
                continue;
            };
            if out.iter().any(|n| n.digest == digest) {
                continue;
            }
            out.push(NamedDecision {
                digest,
                field,
                batch: g.batch,
                by: g.decided_by,
                decision: g.decision,
                authenticity: g.decided_authenticity,
                revision: v.value.get("revision").and_then(Value::as_u64),
                at: v.at(),
            });
        }
    }
    out
}

/// The digests of every decision the versions name (what to read from the guard log).
pub fn wanted_digests(versions: &[Version]) -> BTreeSet<String> {
    let refs: Vec<&Version> = versions.iter().collect();
    named_decisions(&refs)
        .into_iter()
        .map(|n| n.digest)
        .collect()
}

/// Whether a guard log record is a person's decision (admissions are the verifiers').
pub fn is_decision(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("decision")
}

/// Checks every decision case `case_id`'s versions name against `records` (the guard log's, or
/// a packet's), into `out`: each must be present, unaltered, its person's, and decide this
/// case. With `packet`, a listed record no version names is a finding too (someone added it).
pub fn check_guard_decisions(
    case_id: &str,
    versions: &[&Version],
    records: &[LoggedDecision],
    keys: &TrustedKeys,
    packet: bool,
    out: &mut CaseCheck,
) {
    let named = named_decisions(versions);
    let digests: Vec<String> = records.iter().map(|r| record_digest(&r.value)).collect();
    let mut used = vec![false; records.len()];
    for n in &named {
        let finding = |kind, at: &str, detail: String| Finding {
            kind,
            revision: n.revision,
            at: at.to_string(),
            detail,
        };
        if let Some(i) = digests.iter().position(|d| *d == n.digest) {
            used[i] = true;
            let r = &records[i];
            match judge(case_id, n, &r.value, keys) {
                Ok(Judged::Verified) => {
                    out.decisions_verified += 1;
                    out.guard_decisions_verified += 1;
                }
                Ok(Judged::Unsigned) => out.findings.push(finding(
                    FindingKind::UnsignedNotice,
                    &r.at,
                    format!(
                        "{} is free text (unsigned, `[signing]` not required when it was \
                         made): it is the record the verifier acted on, not proven theirs",
                        n.what()
                    ),
                )),
                Err((kind, why)) => {
                    out.findings
                        .push(finding(kind, &r.at, format!("{}: {why}", n.what())))
                }
            }
            if r.listed_digest.as_ref().is_some_and(|d| *d != digests[i]) {
                let why = format!(
                    "{}: the digest the packet lists for it is not its own",
                    n.what()
                );
                out.findings.push(finding(FindingKind::Altered, &r.at, why));
            }
        } else if let Some(i) = (0..records.len())
            .find(|i| records[*i].listed_digest.as_deref() == Some(n.digest.as_str()))
        {
            // Listed as the decision the case names, but its content is not that record.
            used[i] = true;
            let now = decision_fields(&records[i].value);
            let why = format!(
                "{} is not the record the verifier acted on (its digest is {}, the case names \
                 {}): changed after it was logged{now}",
                n.what(),
                digests[i],
                n.digest
            );
            out.findings
                .push(finding(FindingKind::Altered, &records[i].at, why));
        } else {
            let why = format!(
                "{} (digest {}, named in {} at revision {}) is not {}: removed",
                n.what(),
                n.digest,
                n.field,
                n.revision.map_or("?".into(), |r| r.to_string()),
                if packet {
                    "in the packet"
                } else {
                    "on the guard log"
                }
            );
            out.findings.push(finding(FindingKind::Removed, &n.at, why));
        }
    }
    if packet {
        for (i, r) in records.iter().enumerate().filter(|(i, _)| !used[*i]) {
            let why = format!(
                "a guard decision no version of the case names (digest {}){}: added, or \
                 changed after it was logged",
                digests[i],
                decision_fields(&r.value)
            );
            out.findings.push(Finding {
                kind: FindingKind::Forged,
                revision: None,
                at: r.at.clone(),
                detail: why,
            });
        }
    }
}

/// `check_versions`, then each case's decisions on held batches against `records` (the guard
/// log's decision records, or a packet's `guard_decisions`: then `packet_case` is the packet's
/// case, whose check also names the records no version names).
pub fn check_with_decisions(
    versions: &[Version],
    records: &[LoggedDecision],
    keys: &TrustedKeys,
    opts: CheckOptions,
    packet_case: Option<&str>,
) -> Vec<CaseCheck> {
    let mut checks = check_versions(versions, keys, opts);
    for c in &mut checks {
        let own: Vec<&Version> = versions
            .iter()
            .filter(|v| v.value.get("case_id").and_then(Value::as_str) == Some(&c.case_id))
            .collect();
        let id = c.case_id.clone();
        let packet = packet_case == Some(id.as_str());
        check_guard_decisions(&id, &own, records, keys, packet, c);
    }
    checks
}

/// What a present decision record proves.
enum Judged {
    /// Signed by its person with a listed key, and it decides this case.
    Verified,
    /// Free text (no signature), as the case says: not a failure.
    Unsigned,
}

/// The record whose digest the case names: a decision on this case, by whom the case says,
/// signed by that person with a listed key (retired keys verify what they signed).
fn judge(
    case_id: &str,
    n: &NamedDecision,
    v: &Value,
    keys: &TrustedKeys,
) -> Result<Judged, (FindingKind, String)> {
    let record: GuardRecord = serde_json::from_value(v.clone())
        .map_err(|e| (FindingKind::Decision, format!("not a guard record: {e}")))?;
    let GuardEntry::Decision(d) = &record.entry else {
        return Err((FindingKind::Decision, "an admission, not a decision".into()));
    };
    if record.schema != GUARD_SCHEMA {
        let why = format!(
            "schema {:?}",
            record.schema.chars().take(80).collect::<String>()
        );
        return Err((FindingKind::Decision, why));
    }
    let decides = match &d.cases {
        Some(cases) => cases.iter().any(|c| c.to_string() == case_id),
        None => n.batch.as_deref() == Some(d.batch.as_str()),
    };
    if !decides {
        let why = match &d.cases {
            Some(cases) => format!("it decides {} other case(s), not this one", cases.len()),
            None => format!("it decides batch {}, not the case's", d.batch),
        };
        return Err((FindingKind::Decision, why));
    }
    if n.by.as_deref() != Some(d.by.as_str()) || n.decision != Some(d.decision) {
        let why = format!(
            "the record says {} by {:?}, the case says otherwise",
            d.decision.as_str(),
            d.by.chars().take(64).collect::<String>()
        );
        return Err((FindingKind::Decision, why));
    }
    let sig = match signature_of(v) {
        Err(e) => return Err((FindingKind::Altered, format!("malformed signature: {e}"))),
        Ok(None) if n.authenticity == Some(Authenticity::Authenticated) => {
            let why = "unsigned, though the case says it was authenticated";
            return Err((FindingKind::Decision, why.into()));
        }
        Ok(None) => return Ok(Judged::Unsigned),
        Ok(Some(sig)) => sig,
    };
    if sig.signer != d.by {
        let why = format!(
            "signed by {:?} in the name of {:?}",
            sig.signer.chars().take(64).collect::<String>(),
            d.by.chars().take(64).collect::<String>()
        );
        return Err((FindingKind::Forged, why));
    }
    let Some(k) = keys.find(KeyOwner::Person, &sig.signer, &sig.key_id) else {
        let why = format!(
            "signed with key {}, which is not a listed key of {}",
            sig.key_id.chars().take(80).collect::<String>(),
            d.by
        );
        return Err((FindingKind::Forged, why));
    };
    // Keys that state roles (config, packet, a pinned file that lists them) must make the
    // person an approver: only approvers decide held batches.
    if !k.entry.roles.is_empty() && !k.entry.roles.iter().any(|r| r == "approver") {
        let why = format!("{} is not listed with the approver role", d.by);
        return Err((FindingKind::Decision, why));
    }
    verify_with(v, &sig, &k.key).map_err(|e| match e {
        RecordSignatureError::Mismatch { .. } => (
            FindingKind::Altered,
            format!(
                "does not match {}'s signature: changed after it was signed",
                d.by
            ),
        ),
        other => (FindingKind::Altered, other.to_string()),
    })?;
    Ok(Judged::Verified)
}

/// ", now: approve by \"mallory\" on batch hold-3", what an edited record says, for findings.
fn decision_fields(v: &Value) -> String {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|t| t.chars().take(64).collect::<String>())
    };
    match (s("decision"), s("by"), s("batch")) {
        (Some(d), Some(by), Some(b)) => format!(", now: {d} by {by:?} on batch {b}"),
        _ => String::new(),
    }
}

#[cfg(test)]
#[path = "guard_decisions_tests.rs"]
mod tests;

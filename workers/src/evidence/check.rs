//! The pure check of a case's published versions: given every version as read from the cases
//! topic (raw JSON values in offset order, with where each was read) and the trusted public
//! keys, which records were altered, removed, reordered, forged or duplicated, and whether the
//! workers' reports and people's decisions they embed verify. No I/O: `revoke case --verify`,
//! `revoke report --verify` and `revoke evidence verify` all call this.
//!
//! What the chain can show: every version names the digest of the version before it
//! (`prev_digest`) and carries the verifier's signature over itself, so changing a version
//! breaks its signature, removing one leaves the next pointing at nothing present (and a gap in
//! the revisions), and swapping two makes revisions go backwards. What it cannot show: versions
//! removed from the *start* (compaction legitimately keeps only a suffix: "history begins at
//! revision N") or from the *end* (compare the latest revision with one you kept).

use super::chain::{digest_of, parse_digest, RecordDigest};
use super::embedded::{check_decisions, check_reports};
pub use super::embedded::{embedded_reports, nested_signed};
use super::keys::{KeyOwner, TrustedKeys};
pub use super::render::render;
use revoke_shared::contract::{Case, RecordSignature};
use revoke_shared::signing::{signature_of, verify_with, RecordSignatureError};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// One published version, as read.
#[derive(Debug, Clone)]
pub struct Version {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub value: Value,
}

impl Version {
    pub fn at(&self) -> String {
        format!("{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// What a finding says about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    /// The version's content is not what the verifier signed (or chained).
    Altered,
    /// A version is missing between two present ones.
    Removed,
    /// Versions are not in the order they were published.
    Reordered,
    /// Signed by a key that is not a listed verifier key, or not by the verifier.
    Forged,
    /// A version published twice, or two different versions with one revision.
    Duplicated,
    /// Not signed where the verifier signs.
    Unsigned,
    /// Not a readable case version.
    Unreadable,
    /// An embedded worker report (or acknowledgement) does not verify.
    Report,
    /// An embedded person's decision does not verify.
    Decision,
    /// Not a failure: the first present version follows versions no longer kept.
    HistoryBegins,
    /// Not a failure: versions written without an evidence key.
    UnsignedNotice,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Altered => "altered",
            FindingKind::Removed => "removed",
            FindingKind::Reordered => "reordered",
            FindingKind::Forged => "forged",
            FindingKind::Duplicated => "duplicated",
            FindingKind::Unsigned => "unsigned",
            FindingKind::Unreadable => "unreadable",
            FindingKind::Report => "report_invalid",
            FindingKind::Decision => "decision_invalid",
            FindingKind::HistoryBegins => "history_begins",
            FindingKind::UnsignedNotice => "unsigned",
        }
    }

    /// Whether it fails the check (exit 1).
    pub fn fails(self) -> bool {
        !matches!(
            self,
            FindingKind::HistoryBegins | FindingKind::UnsignedNotice
        )
    }
}

/// One thing found about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub revision: Option<u64>,
    /// Where the record was read (`topic/partition@offset`).
    pub at: String,
    pub detail: String,
}

/// Whether unsigned versions fail.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Every version and worker report must be signed (`[signing] required`, or a verifier key
    /// is trusted).
    pub require_signed: bool,
}

/// The check of one case.
#[derive(Debug, Clone, Default)]
pub struct CaseCheck {
    pub case_id: String,
    pub versions: usize,
    pub first_revision: Option<u64>,
    pub last_revision: Option<u64>,
    pub signed: usize,
    pub reports_verified: usize,
    pub reports_unsigned: usize,
    /// People's signed decisions verified, embedded or on the guard log.
    pub decisions_verified: usize,
    /// Of those, approvals and rejections of held batches read from the guard log.
    pub guard_decisions_verified: usize,
    pub findings: Vec<Finding>,
}

impl CaseCheck {
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(|f| f.kind.fails())
    }
}

/// Checks every case the versions belong to (grouped by `case_id`, offset order kept).
pub fn check_versions(
    versions: &[Version],
    keys: &TrustedKeys,
    opts: CheckOptions,
) -> Vec<CaseCheck> {
    let mut order: Vec<String> = Vec::new();
    let mut by_case: HashMap<String, Vec<&Version>> = HashMap::new();
    for v in versions {
        let id = v
            .value
            .get("case_id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if !by_case.contains_key(&id) {
            order.push(id.clone());
        }
        by_case.entry(id).or_default().push(v);
    }
    order
        .into_iter()
        .map(|id| {
            let vs = by_case.remove(&id).unwrap_or_default();
            check_case(&id, &vs, keys, opts)
        })
        .collect()
}

/// Checks the versions of one case, in the order they were read.
pub fn check_case(
    case_id: &str,
    versions: &[&Version],
    keys: &TrustedKeys,
    opts: CheckOptions,
) -> CaseCheck {
    let mut out = CaseCheck {
        case_id: case_id.to_string(),
        versions: versions.len(),
        ..Default::default()
    };
    let revs: Vec<Option<u64>> = versions
        .iter()
        .map(|v| v.value.get("revision").and_then(Value::as_u64))
        .collect();
    out.first_revision = revs.first().copied().flatten();
    out.last_revision = revs.iter().flatten().max().copied();
    let digests: Vec<RecordDigest> = versions.iter().map(|v| digest_of(&v.value)).collect();
    let mut first_at: HashMap<RecordDigest, usize> = HashMap::new();
    for (i, d) in digests.iter().enumerate() {
        first_at.entry(*d).or_insert(i);
    }
    let push = |out: &mut CaseCheck, i: usize, kind, detail: String| {
        let f = Finding {
            kind,
            revision: revs[i],
            at: versions[i].at(),
            detail,
        };
        if !out
            .findings
            .iter()
            .any(|g| g.at == f.at && g.kind == f.kind)
        {
            out.findings.push(f);
        }
    };
    let mut any_signed = false;
    let mut chained = false;
    // The nearest earlier version that is not a copy: the one this version should follow.
    let mut prev: Option<usize> = None;
    let mut max_seen: Option<(u64, usize)> = None;
    let mut seen_reports: BTreeSet<String> = BTreeSet::new();
    let mut seen_decisions: BTreeSet<String> = BTreeSet::new();
    let mut unsigned = 0usize;
    for (i, v) in versions.iter().enumerate() {
        let rev = revs[i];
        let rev_text = rev.map_or("?".into(), |r| r.to_string());
        // The verifier's signature.
        match signature_of(&v.value) {
            Err(e) => push(
                &mut out,
                i,
                FindingKind::Altered,
                format!("its signature field is malformed: {e}"),
            ),
            Ok(None) => {
                unsigned += 1;
                if opts.require_signed || any_signed {
                    let why = "not signed by the verifier, where the verifier signs every version \
                        (signature stripped, or written by someone else)";
                    push(&mut out, i, FindingKind::Unsigned, why.into());
                }
            }
            Ok(Some(sig)) => {
                any_signed = true;
                match verifier_signature(&v.value, &sig, keys) {
                    Ok(()) => out.signed += 1,
                    Err((kind, why)) => push(&mut out, i, kind, why),
                }
            }
        }
        // Copies and second versions of one revision.
        let j0 = first_at[&digests[i]];
        if j0 != i {
            push(
                &mut out,
                i,
                FindingKind::Duplicated,
                format!(
                    "an exact copy of the version at {} (revision {rev_text}) published again",
                    versions[j0].at()
                ),
            );
            continue;
        }
        if let Some(j) =
            (0..i).find(|j| revs[*j] == rev && rev.is_some() && first_at[&digests[*j]] == *j)
        {
            let why = format!(
                "a second, different version of revision {rev_text} (the first is at {}): \
                 one of them is forged or altered",
                versions[j].at()
            );
            push(&mut out, i, FindingKind::Duplicated, why);
            continue;
        }
        if let (Some(r), Some((m, j))) = (rev, max_seen) {
            if r < m {
                let why = format!(
                    "revision {r} comes after revision {m} (at {}): versions out of the order \
                     they were published in",
                    versions[j].at()
                );
                push(&mut out, i, FindingKind::Reordered, why);
            }
        }
        // The chain.
        let prev_digest = v.value.get("prev_digest").and_then(Value::as_str);
        let link = Link {
            versions,
            revs: &revs,
            first_at: &first_at,
        };
        if let Some((at, kind, why)) = link.check(i, prev, prev_digest, chained) {
            push(&mut out, at, kind, why);
        }
        chained |= prev_digest.is_some();
        if rev.is_some_and(|r| max_seen.is_none_or(|(m, _)| r > m)) {
            max_seen = rev.map(|r| (r, i));
        }
        prev = Some(i);
        // What the version embeds.
        match serde_json::from_value::<Case>(v.value.clone()) {
            Err(e) => push(
                &mut out,
                i,
                FindingKind::Unreadable,
                format!("not a readable case version: {e}"),
            ),
            Ok(case) => {
                for problem in check_reports(&case, keys, opts, &mut seen_reports, &mut out) {
                    push(&mut out, i, FindingKind::Report, problem);
                }
            }
        }
        for problem in check_decisions(&v.value, keys, &mut seen_decisions, &mut out) {
            push(&mut out, i, FindingKind::Decision, problem);
        }
    }
    if unsigned > 0 && !out.findings.iter().any(|f| f.kind == FindingKind::Unsigned) {
        let first = versions
            .iter()
            .position(|v| signature_of(&v.value).ok().flatten().is_none())
            .unwrap_or(0);
        let why = format!(
            "{unsigned} of {} versions unsigned (no evidence key was configured when they were \
             written): their integrity is not proven",
            versions.len()
        );
        push(&mut out, first, FindingKind::UnsignedNotice, why);
    }
    out
}

/// The versions of one case as read, to check how each links to the one before.
struct Link<'a> {
    versions: &'a [&'a Version],
    revs: &'a [Option<u64>],
    first_at: &'a HashMap<RecordDigest, usize>,
}

fn rev_text(r: Option<u64>) -> String {
    r.map_or("?".into(), |r| r.to_string())
}

impl Link<'_> {
    /// What the chain says about version `i`, which should follow version `prev` (the nearest
    /// earlier one that is not a copy): the version the finding is about, its kind and why.
    /// `chained`: an earlier version carried a `prev_digest`.
    fn check(
        &self,
        i: usize,
        prev: Option<usize>,
        prev_digest: Option<&str>,
        chained: bool,
    ) -> Option<(usize, FindingKind, String)> {
        let (rev, at) = (self.revs[i], |j: usize| self.versions[j].at());
        let Some(p) = prev else {
            // The case's first version (the verifier publishes revision 1 first) has none.
            let begins = format!(
                "history begins at revision {} (earlier versions compacted)",
                rev_text(rev)
            );
            return prev_digest.map(|_| (i, FindingKind::HistoryBegins, begins));
        };
        let rp = self.revs[p];
        let Some(d) = prev_digest else {
            if chained {
                let why = "has no prev_digest although earlier versions are chained";
                return Some((i, FindingKind::Altered, why.into()));
            }
            // Written before versions were chained: only the revisions tell.
            let (r, rp) = (rev?, rp?);
            let why = format!(
                "revisions {}..{} are missing between {} and this version",
                rp + 1,
                r - 1,
                at(p)
            );
            return (r > rp + 1).then_some((i, FindingKind::Removed, why));
        };
        match parse_digest(d).and_then(|d| self.first_at.get(&d).copied()) {
            Some(j) if j == p => {
                let (r, rp) = (rev?, rp?);
                let why = format!(
                    "follows revision {rp} but claims revision {r}: revisions are consecutive"
                );
                (r != rp + 1).then_some((i, FindingKind::Forged, why))
            }
            Some(j) if j > i => {
                let why = format!(
                    "follows the version at {} (revision {}), which comes after it",
                    at(j),
                    rev_text(self.revs[j])
                );
                Some((i, FindingKind::Reordered, why))
            }
            // Follows an earlier version; what sits in between is named by its own check.
            Some(_) => None,
            None => match (rev, rp) {
                (Some(r), Some(rp)) if r == rp + 1 => {
                    let why = format!(
                        "its digest is not the one revision {r} (at {}) chained to: changed \
                         after it was published",
                        at(i)
                    );
                    Some((p, FindingKind::Altered, why))
                }
                (Some(r), Some(rp)) if r > rp + 1 => {
                    let missing = if r - 1 == rp + 1 {
                        (rp + 1).to_string()
                    } else {
                        format!("{}..{}", rp + 1, r - 1)
                    };
                    let why = format!(
                        "revision {missing} is missing: this version follows a version not \
                         present (after {}, revision {rp})",
                        at(p)
                    );
                    Some((i, FindingKind::Removed, why))
                }
                _ => {
                    let why = "follows a version that is not present";
                    Some((i, FindingKind::Removed, why.into()))
                }
            },
        }
    }
}

/// The verifier's signature on a case version: by the verifier, with a listed key (retired
/// keys verify what they signed), matching.
fn verifier_signature(
    v: &Value,
    sig: &RecordSignature,
    keys: &TrustedKeys,
) -> Result<(), (FindingKind, String)> {
    if sig.signer != "verifier" {
        return Err((
            FindingKind::Forged,
            format!(
                "signed as {:?}, not by the verifier",
                sig.signer.chars().take(64).collect::<String>()
            ),
        ));
    }
    let Some(k) = keys.find(KeyOwner::Fleet, "verifier", &sig.key_id) else {
        return Err((
            FindingKind::Forged,
            format!(
                "signed with key {}, which is not a listed verifier key",
                sig.key_id.chars().take(80).collect::<String>()
            ),
        ));
    };
    verify_with(v, sig, &k.key).map_err(|e| match e {
        RecordSignatureError::Mismatch { .. } => (
            FindingKind::Altered,
            format!(
                "the verifier's signature (key {}) does not match: changed after it was signed",
                sig.key_id
            ),
        ),
        other => (FindingKind::Altered, other.to_string()),
    })
}

#[cfg(test)]
mod tests;

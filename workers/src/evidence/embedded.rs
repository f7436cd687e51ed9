//! What a case version embeds besides its own record: the workers' signed reports (rebuilt from
//! each target status, `TargetStatus::rebuilt_report`) and people's signed decisions (any nested
//! record with its own `signature`), each checked against the trusted keys once per case.

use super::check::{CaseCheck, CheckOptions};
use super::keys::{KeyOwner, TrustedKeys};
use revoke_shared::contract::{Case, TargetStatus};
use revoke_shared::signing::{signature_of, verify_with, SIGNATURE_FIELD};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every status of a case that may hold a worker's signed report: targets, and the reports
/// they replaced or that came late.
fn statuses(case: &Case) -> Vec<(revoke_shared::contract::TargetKind, &TargetStatus)> {
    let mut out = Vec::new();
    for (kind, st) in case.targets.iter() {
        out.push((*kind, st));
        for older in st.superseded.iter().chain(&st.late) {
            out.push((*kind, older));
        }
    }
    out
}

/// The workers' reports (and acknowledgements) a version embeds, each checked once per case.
pub(super) fn check_reports(
    case: &Case,
    keys: &TrustedKeys,
    opts: CheckOptions,
    seen: &mut BTreeSet<String>,
    out: &mut CaseCheck,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (kind, st) in statuses(case) {
        let Some(report) = st.rebuilt_report(&case.identity_id, kind) else {
            if st.worker.is_some()
                && !st.is_acknowledged()
                && seen.insert(format!("unsigned:{kind}:{:?}", st.confirmed_at))
            {
                out.reports_unsigned += 1;
                if opts.require_signed {
                    problems.push(format!("the {kind} report is not signed by a worker"));
                }
            }
            continue;
        };
        let Some(sig) = report.signature.clone() else {
            if seen.insert(format!("unsigned:{}", report.confirmation_id)) {
                out.reports_unsigned += 1;
                if opts.require_signed && !st.is_acknowledged() {
                    problems.push(format!(
                        "the {kind} report {} is not signed by a worker",
                        report.confirmation_id
                    ));
                }
            }
            continue;
        };
        if !seen.insert(format!("{}:{}", report.confirmation_id, sig.sig)) {
            continue;
        }
        let value = match serde_json::to_value(&report) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("the {kind} report cannot be rebuilt: {e}"));
                continue;
            }
        };
        let owner = if sig.signer == "worker" {
            KeyOwner::Fleet
        } else {
            KeyOwner::Person
        };
        match keys.find(owner, &sig.signer, &sig.key_id) {
            None => problems.push(format!("the {kind} report {} is signed by {:?} with key {}, which is not listed", report.confirmation_id, sig.signer.chars().take(64).collect::<String>(), sig.key_id.chars().take(80).collect::<String>())),
            Some(k) => match verify_with(&value, &sig, &k.key) {
                Ok(()) => out.reports_verified += 1,
                Err(_) => problems.push(format!("the {kind} report {} does not match its signature by {}: changed after it was signed", report.confirmation_id, sig.signer)),
            },
        }
    }
    problems
}

/// People's decisions a version embeds: any nested record carrying its own `signature` (the
/// top level is the verifier's), checked with the person's key, each once per case.
pub(super) fn check_decisions(
    v: &Value,
    keys: &TrustedKeys,
    seen: &mut BTreeSet<String>,
    out: &mut CaseCheck,
) -> Vec<String> {
    let found = nested_signed(v);
    let mut problems = Vec::new();
    for record in found {
        let sig = match signature_of(record) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                problems.push(format!("a decision's signature is malformed: {e}"));
                continue;
            }
        };
        if !seen.insert(sig.sig.clone()) {
            continue;
        }
        match keys.find(KeyOwner::Person, &sig.signer, &sig.key_id) {
            None => problems.push(format!(
                "a decision signed by {:?} with key {}, which is not a listed key of that person",
                sig.signer.chars().take(64).collect::<String>(),
                sig.key_id.chars().take(80).collect::<String>()
            )),
            Some(k) => match verify_with(record, &sig, &k.key) {
                Ok(()) => out.decisions_verified += 1,
                Err(_) => problems.push(format!(
                    "a decision by {} does not match its signature: changed after it was signed",
                    sig.signer
                )),
            },
        }
    }
    problems
}

/// The records nested in a case version that carry their own `signature` (people's decisions;
/// the top-level `signature` is the verifier's).
pub fn nested_signed(v: &Value) -> Vec<&Value> {
    fn walk<'a>(v: &'a Value, top: bool, found: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => {
                if !top
                    && m.get(SIGNATURE_FIELD)
                        .is_some_and(|s| s.get("signer").is_some())
                {
                    found.push(v);
                }
                for (k, child) in m {
                    if !(top && k == SIGNATURE_FIELD) {
                        walk(child, false, found);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, false, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(v, true, &mut found);
    found
}

/// The signed reports a case version embeds, rebuilt as the workers (or people) signed them.
pub fn embedded_reports(
    case: &Case,
) -> Vec<(
    revoke_shared::contract::TargetKind,
    revoke_shared::contract::Confirmation,
)> {
    statuses(case)
        .into_iter()
        .filter_map(|(kind, st)| {
            st.rebuilt_report(&case.identity_id, kind)
                .map(|c| (kind, c))
        })
        .collect()
}

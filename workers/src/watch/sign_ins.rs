//! One poll of the sign-in logs: for every case the watch holds (`window`), each of its targets with an
//! adapter here is asked for the leaver's sign-ins since that target's access was removed. Only
//! reads. A target that keeps no sign-in log (`None`) is skipped from then on; one that fails
//! is logged and counted, and asked again at the next poll — it never stops the others.

use super::findings::{sign_in_after_departure, Reader};
use super::selection::sign_ins_since;
use super::targets::Targets;
use revoke_shared::contract::{AccessFinding, Case, TargetKind, TargetState, WorkerInfo};
use revoke_shared::metrics::{AfterCloseRead, Metrics, NoSignInLog, TargetReadAfterClose};
use std::collections::HashSet;

/// What one poll found.
#[derive(Debug, Default)]
pub struct Polled {
    /// One finding per sign-in after a removal (the caller drops those already known:
    /// `Watched::is_new`).
    pub findings: Vec<AccessFinding>,
    /// Targets that answered they keep no sign-in log.
    pub no_log: HashSet<TargetKind>,
    /// Reads that failed (retried at the next poll).
    pub errors: usize,
}

/// Asks every case's targets (except those known to keep no log) once.
pub async fn poll(
    cases: &[Case],
    targets: &Targets,
    skip: &HashSet<TargetKind>,
    worker: &WorkerInfo,
    metrics: &Metrics,
) -> Polled {
    let per_case = super::each_case(cases, |case| {
        poll_case(case, targets, skip, worker, metrics)
    })
    .await;
    let mut out = Polled::default();
    for p in per_case {
        out.findings.extend(p.findings);
        out.no_log.extend(p.no_log);
        out.errors += p.errors;
    }
    // The same sign-in seen twice within one poll (a fan-out listing it twice) is one finding.
    let mut ids = HashSet::new();
    out.findings.retain(|f| ids.insert(f.finding_id));
    out
}

async fn poll_case(
    case: &Case,
    targets: &Targets,
    skip: &HashSet<TargetKind>,
    worker: &WorkerInfo,
    metrics: &Metrics,
) -> Polled {
    let mut out = Polled::default();
    let Some(who) = case.identity.as_ref() else {
        return out;
    };
    for (kind, status) in case.targets.iter() {
        let kind = *kind;
        if status.state != TargetState::Done || skip.contains(&kind) || out.no_log.contains(&kind) {
            continue;
        }
        let (Some(target), Some(since)) = (targets.get(&kind), sign_ins_since(status)) else {
            continue;
        };
        let read = target.sign_ins_since(who, since).await;
        match read {
            Ok(None) => {
                out.no_log.insert(kind);
                metrics.emit(NoSignInLog(kind));
            }
            Ok(Some(sign_ins)) => {
                metrics.emit(TargetReadAfterClose {
                    target: kind,
                    read: AfterCloseRead::SignIns,
                    ok: true,
                });
                let reader = Reader {
                    worker: worker.clone(),
                    principal: target.principal().to_string(),
                };
                out.findings.extend(
                    sign_ins
                        .iter()
                        // The removal itself is not after departure; a target that answers
                        // with older events than asked is not believed.
                        .filter(|s| s.at > since)
                        .map(|s| sign_in_after_departure(case, kind, s, &reader)),
                );
            }
            Err(e) => {
                metrics.emit(TargetReadAfterClose {
                    target: kind,
                    read: AfterCloseRead::SignIns,
                    ok: false,
                });
                tracing::warn!(case_id = %case.case_id, target = %kind, error = %e,
                    "reading the sign-in log failed: asked again at the next poll");
                out.errors += 1;
            }
        }
    }
    out
}

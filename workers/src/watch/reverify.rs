//! Reading closed cases' removed objects again (`revoke verify`, and `revoke watch` on
//! `verifier.reverify_every_secs`): the shell around `reread` (what to read) and `findings`
//! (what to report). Only reads: `Target::verify`, never a change.

use super::findings::{access_returned, Reader};
use super::reread::{plan, Planned};
use super::table::{Reading, Row};
use super::targets::Targets;
use crate::adapters::Holding;
use chrono::Utc;
use revoke_shared::contract::{AccessFinding, Case, TargetKind, WorkerInfo};
use revoke_shared::metrics::{AfterCloseRead, Metrics, TargetReadAfterClose};

/// What a re-verification read, and the findings to publish for what returned.
#[derive(Debug, Default)]
pub struct Reverified {
    pub rows: Vec<Row>,
    pub findings: Vec<AccessFinding>,
}

/// Reads every object of `cases` the evidence says is gone (on `only`, or every target) again
/// from `targets`, as `worker`. An object of a kind with no adapter here cannot be read: it says
/// so, it is never taken as still gone.
pub async fn reverify(
    cases: &[&Case],
    targets: &Targets,
    only: Option<TargetKind>,
    worker: &WorkerInfo,
    metrics: &Metrics,
) -> Reverified {
    let per_case = super::each_case(cases, |case| {
        reverify_case(case, targets, only, worker, metrics)
    })
    .await;
    let mut out = Reverified::default();
    for (row, finding) in per_case.into_iter().flatten() {
        out.rows.push(row);
        out.findings.extend(finding);
    }
    out
}

async fn reverify_case(
    case: &Case,
    targets: &Targets,
    only: Option<TargetKind>,
    worker: &WorkerInfo,
    metrics: &Metrics,
) -> Vec<(Row, Option<AccessFinding>)> {
    let mut out = Vec::new();
    for p in plan(case, only) {
        let (reading, finding) = read_one(case, &p, targets, worker, metrics).await;
        out.push((
            Row {
                case_id: case.case_id,
                identity_id: case.identity_id.clone(),
                kind: p.kind,
                object_kind: p.evidence.object_kind.clone(),
                object_id: p.evidence.object_id.clone(),
                reading,
            },
            finding,
        ));
    }
    out
}

async fn read_one(
    case: &Case,
    p: &Planned,
    targets: &Targets,
    worker: &WorkerInfo,
    metrics: &Metrics,
) -> (Reading, Option<AccessFinding>) {
    if let Some(why) = p.skip {
        return (Reading::NotReread(why), None);
    }
    let Some(target) = targets.get(&p.kind) else {
        return (
            Reading::Unreadable(format!("no [targets.{}] adapter configured here", p.kind)),
            None,
        );
    };
    let Some(who) = case.identity.as_ref() else {
        return (
            Reading::Unreadable("the case records no identity to read for".into()),
            None,
        );
    };
    let o = &p.evidence;
    let holding = Holding {
        object_kind: o.object_kind.clone(),
        object_id: o.object_id.clone(),
        sponsored: o.sponsored,
        action: o.action.clone(),
    };
    let read = target.verify(who, &holding).await;
    metrics.emit(TargetReadAfterClose {
        target: p.kind,
        read: AfterCloseRead::Reverify,
        ok: read.is_ok(),
    });
    match read {
        Ok(rb) if rb.gone => (Reading::StillGone(rb.detail), None),
        Ok(rb) => {
            tracing::warn!(case_id = %case.case_id, identity = %case.identity_id, target = %p.kind,
                object_kind = %o.object_kind, object_id = %o.object_id, read_back = %rb.detail,
                "access returned: an object the evidence says is gone is present again");
            let reader = Reader {
                worker: worker.clone(),
                principal: target.principal().to_string(),
            };
            let f = access_returned(
                case,
                p.kind,
                &p.instance,
                o,
                &rb.detail,
                Utc::now(),
                &reader,
            );
            (Reading::Returned(rb.detail), Some(f))
        }
        Err(e) => {
            tracing::warn!(case_id = %case.case_id, target = %p.kind, object_id = %o.object_id,
                error = %e, "could not read an object of a closed case again");
            (Reading::Unreadable(e.to_string()), None)
        }
    }
}

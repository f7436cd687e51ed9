//! Reading closed cases' removed objects again (`revoke verify`, and `revoke watch` on
//! `verifier.reverify_every_secs`): the shell around `reread` (what to read) and `findings`
//! (what to report), followed per case by `rediscover` (what the leaver holds now that the
//! evidence does not name). Only reads: `Target::verify` and `Target::discover`, never a change.

use super::findings::{access_returned, Reader};
use super::reread::{plan, Planned};
use super::table::{Reading, Row};
use super::targets::Targets;
use crate::adapters::{Holding, Target};
use chrono::Utc;
use revoke_shared::contract::{AccessFinding, Case, Identity, TargetKind, WorkerInfo};
use revoke_shared::metrics::{AfterCloseRead, Metrics, TargetReadAfterClose};
use std::sync::Arc;

/// What a re-verification read, and the findings to publish for what returned.
#[derive(Debug, Default)]
pub struct Reverified {
    pub rows: Vec<Row>,
    pub findings: Vec<AccessFinding>,
}

/// Reads every object of `cases` the evidence says is gone (on `only`, or every target) again
/// from `targets`, as `worker`, then discovers at each done target what the evidence does not
/// name. An object of a kind with no adapter here cannot be read: it says
/// so, it is never taken as still gone.
pub async fn reverify(
    cases: &[&Case],
    targets: &Targets,
    only: Option<TargetKind>,
    worker: &WorkerInfo,
    metrics: &Metrics,
) -> Reverified {
    let r = Rereading {
        targets,
        only,
        worker,
        metrics,
    };
    let per_case = super::each_case(cases, |case| reverify_case(case, &r)).await;
    let mut out = Reverified::default();
    for (row, finding) in per_case.into_iter().flatten() {
        out.rows.push(row);
        out.findings.extend(finding);
    }
    out
}

/// What one re-verification reads with: the adapters, the target it is limited to (`None`:
/// every target), who reads, and where its reads are counted.
pub(super) struct Rereading<'a> {
    pub targets: &'a Targets,
    pub only: Option<TargetKind>,
    pub worker: &'a WorkerInfo,
    pub metrics: &'a Metrics,
}

impl Rereading<'_> {
    /// Counts one read of `kind` after a close, `ok` or not.
    pub(super) fn count(&self, kind: TargetKind, ok: bool) {
        self.metrics.emit(TargetReadAfterClose {
            target: kind,
            read: AfterCloseRead::Reverify,
            ok,
        });
    }
}

async fn reverify_case(case: &Case, r: &Rereading<'_>) -> Vec<(Row, Option<AccessFinding>)> {
    let mut out = Vec::new();
    for p in plan(case, r.only) {
        let (reading, finding) = read_one(case, &p, r).await;
        let o = &p.evidence;
        let row = Row::of(case, p.kind, &o.object_kind, &o.object_id, reading);
        out.push((row, finding));
    }
    out.extend(super::rediscover::rediscover_case(case, r).await);
    out
}

/// The adapter for `kind` and the person to read for, or why `case` cannot be read there.
pub(super) fn reading_for<'a>(
    case: &'a Case,
    kind: TargetKind,
    targets: &'a Targets,
) -> Result<(&'a Arc<dyn Target>, &'a Identity), String> {
    let target = targets
        .get(&kind)
        .ok_or_else(|| format!("no [targets.{kind}] adapter configured here"))?;
    let who = case
        .identity
        .as_ref()
        .ok_or_else(|| "the case records no identity to read for".to_string())?;
    Ok((target, who))
}

/// Who reads with `target`: this process, as `worker`, with the target's principal.
pub(super) fn reader(target: &dyn Target, worker: &WorkerInfo) -> Reader {
    Reader {
        worker: worker.clone(),
        principal: target.principal().to_string(),
    }
}

async fn read_one(case: &Case, p: &Planned, r: &Rereading<'_>) -> (Reading, Option<AccessFinding>) {
    if let Some(why) = p.skip {
        return (Reading::NotReread(why), None);
    }
    let (target, who) = match reading_for(case, p.kind, r.targets) {
        Ok(found) => found,
        Err(why) => return (Reading::Unreadable(why), None),
    };
    let o = &p.evidence;
    let holding = Holding {
        object_kind: o.object_kind.clone(),
        object_id: o.object_id.clone(),
        sponsored: o.sponsored,
        action: o.action.clone(),
    };
    let read = target.verify(who, &holding).await;
    r.count(p.kind, read.is_ok());
    match read {
        Ok(rb) if rb.gone => (Reading::StillGone(rb.detail), None),
        Ok(rb) => {
            tracing::warn!(case_id = %case.case_id, identity = %case.identity_id, target = %p.kind,
                object_kind = %o.object_kind, object_id = %o.object_id, read_back = %rb.detail,
                "access returned: an object the evidence says is gone is present again");
            let reader = reader(target.as_ref(), r.worker);
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

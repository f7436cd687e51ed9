//! Discovering again at a closed case's targets: what the leaver holds there now that the
//! evidence does not name — access re-provisioned under a new id (a new membership, key, token,
//! or the account created again), which re-reading the evidence's own ids cannot see. The shell
//! around `reprovisioned` (which holdings to read back, what a read means). Only reads: the
//! adapter's `Target::discover` and `Target::verify` (docs/watch.md says why both change
//! nothing at any adapter).

use super::findings::reprovisioned;
use super::reprovisioned::{judge, not_in_evidence};
use super::reread::done_targets;
use super::reverify::{reader, reading_for, Rereading};
use super::table::{Reading, Row};
use chrono::Utc;
use revoke_shared::contract::{AccessFinding, Case};

/// `object_kind` of the row saying a target's discovery failed (its `object_id` names the
/// target's instance).
pub const DISCOVERY_ROW: &str = "discovery";

/// One row per holding discovered at `case`'s done targets (on `only`) that its evidence does
/// not name, with the finding for each one present; a target whose discovery fails (or that has
/// no adapter here) is one `could not read` row — never skipped, never taken as clean.
pub(super) async fn rediscover_case(
    case: &Case,
    r: &Rereading<'_>,
) -> Vec<(Row, Option<AccessFinding>)> {
    let mut out = Vec::new();
    for (kind, status) in done_targets(case, r.only) {
        let row = |object_kind: &str, object_id: &str, reading| {
            Row::of(case, kind, object_kind, object_id, reading)
        };
        let (target, who) = match reading_for(case, kind, r.targets) {
            Ok(found) => found,
            Err(why) => {
                out.push((
                    row(DISCOVERY_ROW, kind.as_str(), Reading::DiscoveryFailed(why)),
                    None,
                ));
                continue;
            }
        };
        let found = target.discover(who).await;
        r.count(kind, found.is_ok());
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(case_id = %case.case_id, target = %kind, error = %e,
                    "could not discover what the leaver of a closed case holds now");
                let reading = Reading::DiscoveryFailed(e.to_string());
                out.push((row(DISCOVERY_ROW, target.instance(), reading), None));
                continue;
            }
        };
        // A single adapter's instance is the name of the worker that recorded it (a person's
        // acknowledgement records `manual`, which names no adapter).
        let recorded = status
            .instance
            .as_deref()
            .filter(|_| !status.is_acknowledged())
            .unwrap_or(target.instance());
        for u in not_in_evidence(&status.objects, found, target.instance(), recorded) {
            let h = &u.holding;
            let read = target.verify(who, h).await;
            r.count(kind, read.is_ok());
            let reading = judge(read.as_ref());
            let finding = match &reading {
                Reading::New(detail) => {
                    tracing::warn!(case_id = %case.case_id, identity = %case.identity_id, target = %kind,
                        instance = %u.instance, object_kind = %h.object_kind, object_id = %h.object_id,
                        read_back = %detail, "access re-provisioned: an object the evidence does not name is present");
                    let reader = reader(target.as_ref(), r.worker);
                    Some(reprovisioned(
                        case,
                        kind,
                        &u.instance,
                        h,
                        detail,
                        Utc::now(),
                        &reader,
                    ))
                }
                _ => None,
            };
            out.push((row(&h.object_kind, &h.object_id, reading), finding));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::{Target, TargetError};
    use crate::watch::targets::Targets;
    use crate::watch::testkit::{closed_case, Listed};
    use revoke_shared::contract::{TargetKind, WorkerInfo};
    use revoke_shared::metrics::Metrics;
    use std::sync::Arc;

    fn worker() -> WorkerInfo {
        WorkerInfo {
            id: "verify-1".into(),
            version: "0".into(),
        }
    }

    fn targets(t: Listed) -> Targets {
        let mut out = Targets::new();
        out.insert(TargetKind::Directory, Arc::new(t) as Arc<dyn Target>);
        out
    }

    /// `rediscover_case` as the worker `verify-1`.
    async fn rediscover(
        case: &Case,
        t: &Targets,
        only: Option<TargetKind>,
        m: &Metrics,
    ) -> Vec<(Row, Option<AccessFinding>)> {
        let worker = worker();
        let r = Rereading {
            targets: t,
            only,
            worker: &worker,
            metrics: m,
        };
        rediscover_case(case, &r).await
    }

    fn results(rows: &[(Row, Option<AccessFinding>)]) -> Vec<(&str, &Reading)> {
        rows.iter()
            .map(|(r, _)| (r.object_id.as_str(), &r.reading))
            .collect()
    }

    #[tokio::test]
    async fn what_the_evidence_does_not_name_is_read_back_and_reported_if_present() {
        let case = closed_case("E1", "2026-11-01T10:00:05Z");
        let t = targets(Listed::new(&[
            // In the evidence (locked, removed): not looked at again here.
            ("account", "uid=E1", true),
            ("group_membership", "staff|E1", false),
            // New since the close: one present, one created already disabled.
            ("group_membership", "ops|E1", false),
            ("group_membership", "lab|E1", true),
        ]));
        let m = Metrics::new();
        let rows = rediscover(&case, &t, None, &m).await;
        assert_eq!(
            results(&rows),
            [
                ("ops|E1", &Reading::New("present ops|E1".into())),
                ("lab|E1", &Reading::NewGone("absent lab|E1".into())),
                (
                    "vault",
                    &Reading::DiscoveryFailed("no [targets.vault] adapter configured here".into())
                ),
            ]
        );
        let findings: Vec<&AccessFinding> = rows.iter().filter_map(|(_, f)| f.as_ref()).collect();
        assert_eq!(findings.len(), 1);
        let f = findings[0];
        assert_eq!(
            (f.object_kind.as_str(), f.object_id.as_str()),
            ("group_membership", "ops|E1")
        );
        assert_eq!(f.target.instance, "main");
        assert_eq!(f.principal, "svc-read");
        assert_eq!(
            f.read_back,
            "re-provisioned: not in the evidence, present now: present ops|E1"
        );

        // Again: the same finding id. On one target only: nothing about the others.
        let again = rediscover(&case, &t, Some(TargetKind::Directory), &m).await;
        assert_eq!(again.len(), 2);
        assert_eq!(
            again[0].1.as_ref().map(|f| f.finding_id),
            Some(f.finding_id)
        );
        assert!(rediscover(&case, &t, Some(TargetKind::Cloud), &m)
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn a_discovery_that_fails_is_could_not_read_never_clean() {
        let case = closed_case("E1", "2026-11-01T10:00:05Z");
        let mut listed = Listed::new(&[("group_membership", "ops|E1", false)]);
        listed.discover_error = Some(TargetError::Transient("connection refused".into()));
        let rows = rediscover(
            &case,
            &targets(listed),
            Some(TargetKind::Directory),
            &Metrics::new(),
        )
        .await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0.object_kind, DISCOVERY_ROW);
        assert_eq!(rows[0].0.object_id, "main");
        assert!(
            matches!(&rows[0].0.reading, Reading::DiscoveryFailed(e) if e.contains("connection refused")),
            "{rows:?}"
        );
        assert!(rows[0].1.is_none());
        let table: Vec<_> = rows.into_iter().map(|(r, _)| r).collect();
        assert_eq!(super::super::verdict(&table).exit_code(), 4);
    }

    #[tokio::test]
    async fn a_whole_re_verification_exits_3_for_a_new_object_alone() {
        let case = closed_case("E1", "2026-11-01T10:00:05Z");
        let t = targets(Listed::new(&[
            ("account", "uid=E1", true),
            ("group_membership", "staff|E1", true),
            ("group_membership", "ops|E1", false),
        ]));
        let r = super::super::reverify(
            &[&case],
            &t,
            Some(TargetKind::Directory),
            &worker(),
            &Metrics::new(),
        )
        .await;
        assert_eq!(r.findings.len(), 1, "{:?}", r.rows);
        assert_eq!(r.findings[0].object_id, "ops|E1");
        let gone = r
            .rows
            .iter()
            .filter(|row| matches!(row.reading, Reading::StillGone(_)))
            .count();
        assert_eq!(gone, 2, "the evidence still read as before: {:?}", r.rows);
        assert_eq!(super::super::verdict(&r.rows).exit_code(), 3);
    }
}

//! Builders of what tests would otherwise write out by hand, one way each: a person
//! (`Identity`), HR events (a termination, a rescind), hand-made evidence, an adapter's
//! `[targets.<name>]` table read the way the binary reads it, an adapter run as the worker `w1`,
//! and the object ids and outcome a revocation report shows.
//!
//! The values are those the tests have always used (the HR source `urn:revoke:test-hr`, the
//! people-ops requester, the worker `w1` with [`quick_retries`](crate::quick_retries)); a test
//! that needs another value changes the field on what a builder returns.

use chrono::Utc;
use revoke::adapters::Target;
use revoke::restoration::{restore_identity, RestoreOutcome};
use revoke::revocation::{revoke_identity, RevocationReport};
use revoke_shared::contract::{
    Actor, HrData, HrEvent, HrEventKind, Identity, IdentityKind, ObjectEvidence, ObjectOutcome,
    Outcome, Provenance, RestoredObject,
};
use revoke_shared::metrics::Metrics;

/// The HR source the tests' events come from.
pub const HR_SOURCE: &str = "urn:revoke:test-hr";

/// The worker id adapter tests revoke and restore as.
pub const WORKER: &str = "w1";

/// An employee known by `employee_id` and, where given, a username and an email address.
pub fn employee(employee_id: &str, username: Option<&str>, email: Option<&str>) -> Identity {
    Identity {
        employee_id: employee_id.into(),
        email: email.map(str::to_string),
        username: username.map(str::to_string),
        kind: IdentityKind::Employee,
    }
}

/// An HR event of `kind` about `who`, issued now by [`HR_SOURCE`] at people-ops' request:
/// effective now for a termination, undated otherwise; no reason, approver or rescinded event.
pub fn hr_event(kind: HrEventKind, id: impl Into<String>, who: Identity) -> HrEvent {
    HrEvent {
        id: id.into(),
        source: HR_SOURCE.into(),
        subject: who.employee_id.clone(),
        time: Utc::now(),
        kind,
        data: HrData {
            identity: who,
            effective_at: (kind == HrEventKind::Termination).then(Utc::now),
            reason: None,
            requested_by: Some("hr:people-ops".into()),
            approved_by: None,
            rescinds: None,
        },
    }
}

/// The termination of `who`, effective now: a resignation a line manager approved.
pub fn termination(id: impl Into<String>, who: Identity) -> HrEvent {
    let mut t = hr_event(HrEventKind::Termination, id, who);
    t.data.reason = Some("resignation".into());
    t.data.approved_by = Some("mgr:line-manager".into());
    t
}

/// A rescind of `who` (an offer withdrawn); `rescinds` names the termination's id, or nothing.
pub fn rescind(id: impl Into<String>, who: Identity, rescinds: Option<String>) -> HrEvent {
    let mut r = hr_event(HrEventKind::Rescinded, id, who);
    r.data.reason = Some("offer withdrawn".into());
    r.data.rescinds = rescinds;
    r
}

/// Hand-made evidence that `principal` removed `object_id` (an unsponsored `object_kind`) with
/// `action`, verified and observed now by [`WORKER`]: what a forged or misdirected restore
/// carries.
pub fn revoked_evidence(
    object_kind: &str,
    object_id: &str,
    action: &str,
    principal: &str,
) -> ObjectEvidence {
    ObjectEvidence {
        object_kind: object_kind.into(),
        object_id: object_id.into(),
        sponsored: false,
        action: action.into(),
        outcome: ObjectOutcome::Revoked,
        removed_at: Some(Utc::now()),
        actor: Actor {
            worker_id: WORKER.into(),
            principal: principal.into(),
        },
        verified: true,
        provenance: Provenance::Observed,
        read_back: String::new(),
        error: None,
    }
}

/// The `[targets.<name>]` table of a config file whose only content is `body`, read through
/// `Config::load` as the binary reads it (environment overrides and all).
pub fn target_table(name: &str, body: &str) -> toml::Table {
    let path = std::env::temp_dir().join(format!(
        "revoke-{name}-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, format!("[targets.{name}]\n{body}\n")).expect("write the config file");
    let cfg = revoke_shared::Config::load(Some(&path), std::iter::empty()).expect("config loads");
    let _ = std::fs::remove_file(&path);
    cfg.targets[name].clone()
}

/// Revokes what `who` holds at `target` as [`WORKER`], with the tests' quick retries.
pub async fn revoke(target: &dyn Target, who: &Identity) -> RevocationReport {
    revoke_identity(
        target,
        who,
        WORKER,
        &crate::quick_retries(),
        &Metrics::new(),
    )
    .await
}

/// Restores `objects` to `who` at `target` as [`WORKER`], with the tests' quick retries.
pub async fn restore(
    target: &dyn Target,
    who: &Identity,
    objects: &[ObjectEvidence],
) -> Vec<RestoredObject> {
    restore_identity(
        target,
        who,
        objects,
        WORKER,
        &crate::quick_retries(),
        &Metrics::new(),
    )
    .await
}

/// The ids of the `kind` objects `report` names (only those `sponsored` is, when given), sorted.
pub fn object_ids(report: &RevocationReport, kind: &str, sponsored: Option<bool>) -> Vec<String> {
    sorted(
        report
            .objects
            .iter()
            .filter(|o| o.object_kind == kind && sponsored.is_none_or(|s| o.sponsored == s))
            .map(|o| o.object_id.clone())
            .collect(),
    )
}

/// The outcome of each restored object of `kind`, in order.
pub fn restore_outcomes(restored: &[RestoredObject], kind: &str) -> Vec<RestoreOutcome> {
    restored
        .iter()
        .filter(|r| r.object_kind == kind)
        .map(|r| r.outcome)
        .collect()
}

/// Asserts that `report` ended in `expected`, showing its error and objects when it did not.
#[track_caller]
pub fn assert_outcome(report: &RevocationReport, expected: Outcome) {
    assert_eq!(
        report.outcome, expected,
        "{:?}\n{:#?}",
        report.error, report.objects
    );
}

/// `v`, sorted.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_person_and_what_they_rescind() {
        let who = employee("E-1", Some("ada"), Some("ada@example.com"));
        let t = termination("t-1", who.clone());
        assert_eq!(
            (t.kind, t.source.as_str(), t.subject.as_str()),
            (HrEventKind::Termination, HR_SOURCE, "E-1")
        );
        assert!(t.data.effective_at.is_some());
        assert_eq!(t.data.identity, who);
        let r = rescind("r-1", who, Some(t.id.clone()));
        assert_eq!(r.kind, HrEventKind::Rescinded);
        assert_eq!(r.data.effective_at, None);
        assert_eq!(r.data.rescinds.as_deref(), Some("t-1"));
    }

    #[test]
    fn a_target_table_is_read_as_the_binary_reads_it() {
        let table = target_table(
            "directory",
            "url = \"ldap://127.0.0.1:1\"\nbase_dn = \"dc=x\"",
        );
        assert_eq!(table["url"].as_str(), Some("ldap://127.0.0.1:1"));
        assert_eq!(table["base_dn"].as_str(), Some("dc=x"));
    }

    #[test]
    fn object_ids_filter_by_kind_and_sponsorship() {
        let ev = |kind: &str, id: &str, sponsored: bool| ObjectEvidence {
            sponsored,
            ..revoked_evidence(kind, id, "lock", "root")
        };
        let report = RevocationReport {
            objects: vec![
                ev("account", "b", false),
                ev("account", "a", false),
                ev("account", "bot", true),
                ev("group_membership", "g", false),
            ],
            outcome: Outcome::Revoked,
            attempts: 1,
            error: None,
            retryable: false,
            started_at: Utc::now(),
            finished_at: Utc::now(),
        };
        assert_eq!(object_ids(&report, "account", Some(false)), ["a", "b"]);
        assert_eq!(object_ids(&report, "account", Some(true)), ["bot"]);
        assert_eq!(object_ids(&report, "account", None), ["a", "b", "bot"]);
    }
}

//! The `AccessFinding` records the watch and the re-verification publish: one per object read
//! back present again, one per object discovery finds present that the evidence does not name
//! (re-provisioned under a new id), one per sign-in after departure. Pure; ids are deterministic, so the same
//! observation made twice (a second run, a restart, two watchers) is the same record.

use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    AccessFinding, Case, FindingKind, ObjectEvidence, TargetKind, TargetRef, WorkerInfo,
    ACCESS_FINDING_SCHEMA,
};

use crate::adapters::{Holding, SignIn};

/// `object_kind` of a sign-in finding.
pub const SIGN_IN_OBJECT_KIND: &str = "sign_in";

/// Who read: this process and the principal it read the target with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub worker: WorkerInfo,
    pub principal: String,
}

/// What tells two observations of one returned object apart: the evidence they contradict (its
/// removal time, else the target's confirmation time). Re-reading the same object against the
/// same evidence finds the same thing, so it is the same finding.
fn evidence_mark(o: &ObjectEvidence, confirmed_at: Option<DateTime<Utc>>) -> String {
    o.removed_at
        .or(confirmed_at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The finding for `o`, an object of `case`'s evidence on `kind` (recorded by `instance`), read
/// back present at `read_at` with `read_back`.
pub fn access_returned(
    case: &Case,
    kind: TargetKind,
    instance: &str,
    o: &ObjectEvidence,
    read_back: &str,
    read_at: DateTime<Utc>,
    reader: &Reader,
) -> AccessFinding {
    let confirmed_at = case.targets.get(&kind).and_then(|t| t.confirmed_at);
    let seen = Seen {
        kind: FindingKind::AccessReturned,
        target: target_ref(kind, instance),
        object_kind: &o.object_kind,
        object_id: &o.object_id,
        mark: &evidence_mark(o, confirmed_at),
        observed_at: read_at,
        read_back,
    };
    seen.finding(case, reader)
}

/// What tells a re-provisioned object's finding apart from the case's others: it is measured
/// against the whole evidence the case closed with, so the mark is that close. The same object
/// found again by a later run is the same finding.
fn not_in_evidence_mark(case: &Case) -> String {
    let closed = case
        .closed_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    format!("not-in-evidence@{closed}")
}

/// The finding for `h`, a holding discovery found at `kind` (its `instance`) that `case`'s
/// evidence does not name, read back present at `read_at` with `detail`.
pub fn reprovisioned(
    case: &Case,
    kind: TargetKind,
    instance: &str,
    h: &Holding,
    detail: &str,
    read_at: DateTime<Utc>,
    reader: &Reader,
) -> AccessFinding {
    let seen = Seen {
        kind: FindingKind::AccessReturned,
        target: target_ref(kind, instance),
        object_kind: &h.object_kind,
        object_id: &h.object_id,
        mark: &not_in_evidence_mark(case),
        observed_at: read_at,
        read_back: &super::reprovisioned::finding_text(detail),
    };
    seen.finding(case, reader)
}

fn target_ref(kind: TargetKind, instance: &str) -> TargetRef {
    TargetRef {
        kind,
        instance: instance.to_string(),
    }
}

/// One observation of one object, as a finding names it.
struct Seen<'a> {
    kind: FindingKind,
    target: TargetRef,
    object_kind: &'a str,
    object_id: &'a str,
    /// What tells observations of the same object apart (`AccessFinding::id_for`).
    mark: &'a str,
    observed_at: DateTime<Utc>,
    read_back: &'a str,
}

impl Seen<'_> {
    /// The finding of this observation in `case`, read by `reader`.
    fn finding(self, case: &Case, reader: &Reader) -> AccessFinding {
        let finding_id = AccessFinding::id_for(
            case.case_id,
            self.kind,
            &self.target,
            self.object_kind,
            self.object_id,
            self.mark,
        );
        AccessFinding {
            schema: ACCESS_FINDING_SCHEMA.into(),
            finding_id,
            case_id: case.case_id,
            identity_id: case.identity_id.clone(),
            kind: self.kind,
            target: self.target,
            object_kind: self.object_kind.to_string(),
            object_id: self.object_id.to_string(),
            observed_at: self.observed_at,
            read_back: self.read_back.to_string(),
            worker: reader.worker.clone(),
            principal: reader.principal.clone(),
        }
    }
}

/// The finding for `s`, a sign-in by `case`'s person at `kind` that its log records after the
/// removal. The instance is the one the sign-in happened at; its event id names it there.
pub fn sign_in_after_departure(
    case: &Case,
    kind: TargetKind,
    s: &SignIn,
    reader: &Reader,
) -> AccessFinding {
    let seen = Seen {
        kind: FindingKind::SignInAfterDeparture,
        target: target_ref(kind, &s.instance),
        object_kind: SIGN_IN_OBJECT_KIND,
        object_id: &s.event_id,
        mark: &s.event_id,
        observed_at: s.at,
        read_back: &s.detail,
    };
    seen.finding(case, reader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testkit::{at, closed_case};

    fn reader() -> Reader {
        Reader {
            worker: WorkerInfo {
                id: "watch-1".into(),
                version: "0".into(),
            },
            principal: "svc".into(),
        }
    }

    #[test]
    fn a_returned_object_is_one_finding_however_often_it_is_read() {
        let case = closed_case("E1", "2026-11-01T10:00:05Z");
        let dir = &case.targets[&TargetKind::Directory];
        let o = &dir.objects[0];
        let first = access_returned(
            &case,
            TargetKind::Directory,
            "main",
            o,
            "enabled",
            at("2026-11-02T00:00:00Z"),
            &reader(),
        );
        let later = access_returned(
            &case,
            TargetKind::Directory,
            "main",
            o,
            "enabled again",
            at("2026-11-03T00:00:00Z"),
            &reader(),
        );
        assert_eq!(first.finding_id, later.finding_id);
        assert_eq!(first.kind, FindingKind::AccessReturned);
        assert_eq!(first.identity_id, "E1");
        assert_eq!(
            (first.object_kind.as_str(), first.object_id.as_str()),
            ("account", "uid=E1")
        );
        assert_eq!(first.read_back, "enabled");
        assert_eq!(first.schema, ACCESS_FINDING_SCHEMA);

        // Another object, another person's case, or evidence of a later removal: other findings.
        let other_object = access_returned(
            &case,
            TargetKind::Directory,
            "main",
            &dir.objects[1],
            "x",
            at("2026-11-02T00:00:00Z"),
            &reader(),
        );
        let other_case = closed_case("E2", "2026-11-01T10:00:05Z");
        let other_person = access_returned(
            &other_case,
            TargetKind::Directory,
            "main",
            o,
            "x",
            at("2026-11-02T00:00:00Z"),
            &reader(),
        );
        let mut removed_again = o.clone();
        removed_again.removed_at = Some(at("2026-11-05T00:00:00Z"));
        let newer = access_returned(
            &case,
            TargetKind::Directory,
            "main",
            &removed_again,
            "x",
            at("2026-11-06T00:00:00Z"),
            &reader(),
        );
        let ids = [
            first.finding_id,
            other_object.finding_id,
            other_person.finding_id,
            newer.finding_id,
        ];
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 4, "{ids:?}");
        assert_eq!(other_person.identity_id, "E2");
    }

    #[test]
    fn a_re_provisioned_object_is_one_finding_per_case_and_object() {
        let case = closed_case("E1", "2026-11-01T10:00:05Z");
        let h = Holding {
            object_kind: "group_membership".into(),
            object_id: "ldap:member|cn=ops|uid=e1".into(),
            sponsored: false,
            action: "remove_membership".into(),
        };
        let f = |case: &Case, h: &Holding, detail: &str, at_: &str| {
            reprovisioned(
                case,
                TargetKind::Directory,
                "ldap",
                h,
                detail,
                at(at_),
                &reader(),
            )
        };
        let first = f(&case, &h, "group lists member", "2026-11-02T00:00:00Z");
        let again = f(&case, &h, "group lists member", "2026-11-09T00:00:00Z");
        assert_eq!(first.finding_id, again.finding_id, "a later run: same id");
        assert_eq!(first.kind, FindingKind::AccessReturned);
        assert_eq!(first.target.instance, "ldap");
        assert_eq!(first.object_id, h.object_id);
        assert_eq!(
            first.read_back,
            "re-provisioned: not in the evidence, present now: group lists member"
        );
        assert_eq!(first.observed_at, at("2026-11-02T00:00:00Z"));

        let other = Holding {
            object_id: "ldap:member|cn=admins|uid=e1".into(),
            ..h.clone()
        };
        let other_person = closed_case("E2", "2026-11-01T10:00:05Z");
        let mut closed_again = case.clone();
        closed_again.closed_at = Some(at("2026-12-01T00:00:00Z"));
        // The same id as an evidence object's finding would be (were it in the evidence) is
        // not reused: the marks differ.
        let as_evidence = access_returned(
            &case,
            TargetKind::Directory,
            "ldap",
            &ObjectEvidence {
                object_kind: h.object_kind.clone(),
                object_id: h.object_id.clone(),
                ..case.targets[&TargetKind::Directory].objects[1].clone()
            },
            "x",
            at("2026-11-02T00:00:00Z"),
            &reader(),
        );
        let ids = [
            first.finding_id,
            f(&case, &other, "x", "2026-11-02T00:00:00Z").finding_id,
            f(&other_person, &h, "x", "2026-11-02T00:00:00Z").finding_id,
            f(&closed_again, &h, "x", "2026-11-02T00:00:00Z").finding_id,
            as_evidence.finding_id,
        ];
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn a_sign_in_is_named_by_its_instance_and_event_id() {
        let case = closed_case("E1", "2026-11-01T10:00:05Z");
        let s = SignIn {
            event_id: "ev-1".into(),
            instance: "sso".into(),
            at: at("2026-11-01T12:00:00Z"),
            detail: "LOGIN to test-app from 127.0.0.1".into(),
        };
        let f = sign_in_after_departure(&case, TargetKind::Directory, &s, &reader());
        assert_eq!(f.kind, FindingKind::SignInAfterDeparture);
        assert_eq!(f.target.instance, "sso");
        assert_eq!(
            (f.object_kind.as_str(), f.object_id.as_str()),
            ("sign_in", "ev-1")
        );
        assert_eq!(f.observed_at, s.at);
        assert_eq!(f.read_back, s.detail);
        let again = sign_in_after_departure(&case, TargetKind::Directory, &s, &reader());
        assert_eq!(f.finding_id, again.finding_id);
        let other = SignIn {
            event_id: "ev-2".into(),
            ..s.clone()
        };
        assert_ne!(
            f.finding_id,
            sign_in_after_departure(&case, TargetKind::Directory, &other, &reader()).finding_id
        );
        let elsewhere = SignIn {
            instance: "ldap".into(),
            ..s
        };
        assert_ne!(
            f.finding_id,
            sign_in_after_departure(&case, TargetKind::Directory, &elsewhere, &reader()).finding_id
        );
    }
}

//! The `AccessFinding` records the watch and the re-verification publish: one per object read
//! back present again, one per sign-in after departure. Pure; ids are deterministic, so the same
//! observation made twice (a second run, a restart, two watchers) is the same record.

use chrono::{DateTime, Utc};
use revoke_shared::contract::{
    AccessFinding, Case, FindingKind, ObjectEvidence, TargetKind, TargetRef, WorkerInfo,
    ACCESS_FINDING_SCHEMA,
};

use crate::adapters::SignIn;

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
    let target = TargetRef {
        kind,
        instance: instance.to_string(),
    };
    let confirmed_at = case.targets.get(&kind).and_then(|t| t.confirmed_at);
    let finding_id = AccessFinding::id_for(
        case.case_id,
        FindingKind::AccessReturned,
        &target,
        &o.object_kind,
        &o.object_id,
        &evidence_mark(o, confirmed_at),
    );
    AccessFinding {
        schema: ACCESS_FINDING_SCHEMA.into(),
        finding_id,
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        kind: FindingKind::AccessReturned,
        target,
        object_kind: o.object_kind.clone(),
        object_id: o.object_id.clone(),
        observed_at: read_at,
        read_back: read_back.to_string(),
        worker: reader.worker.clone(),
        principal: reader.principal.clone(),
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
    let target = TargetRef {
        kind,
        instance: s.instance.clone(),
    };
    let finding_id = AccessFinding::id_for(
        case.case_id,
        FindingKind::SignInAfterDeparture,
        &target,
        SIGN_IN_OBJECT_KIND,
        &s.event_id,
        &s.event_id,
    );
    AccessFinding {
        schema: ACCESS_FINDING_SCHEMA.into(),
        finding_id,
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        kind: FindingKind::SignInAfterDeparture,
        target,
        object_kind: SIGN_IN_OBJECT_KIND.into(),
        object_id: s.event_id.clone(),
        observed_at: s.at,
        read_back: s.detail.clone(),
        worker: reader.worker.clone(),
        principal: reader.principal.clone(),
    }
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

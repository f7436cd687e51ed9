//! The case record's wire format, pinned: a record with every field the verifier may write
//! parses and serializes back byte for byte, so a change of in-memory representation (how
//! targets are stored, what is boxed) cannot change what is on the topic.

use super::*;

/// A rescinded case with everything set: signed, superseded and late reports, escalations,
/// restore reports, both guard verdicts, a joined termination and the rescind.
const FULL: &str = "{\
\"schema\":\"revoke.case.v1\",\"case_id\":\"6f1c2a52-7d0e-4a8b-9c3d-2e5f6a7b8c9d\",\
\"identity_id\":\"E00000042\",\"state\":\"rescinded\",\"revision\":9,\
\"identity\":{\"employee_id\":\"E00000042\",\"email\":\"ada@example.com\",\"username\":\"ada\",\
\"kind\":\"contractor\"},\
\"event_id\":\"wd-evt-42\",\"source\":\"urn:hr:workday\",\"reason\":\"resignation\",\
\"requested_by\":\"hr:bob\",\"approved_by\":\"hr:eve\",\"effective_at\":\"2026-12-01T09:00:00Z\",\
\"opened_at\":\"2026-12-01T09:00:01Z\",\"deadline\":\"2026-12-01T10:00:00Z\",\
\"required_targets\":[\"directory\",\"saas\",\"vault\"],\
\"targets\":{\
\"directory\":{\"state\":\"done\",\"outcome\":\"revoked\",\"instance\":\"default\",\
\"confirmed_at\":\"2026-12-01T09:00:02.040Z\",\"time_to_revoke_ms\":2040,\"attempts\":3,\
\"worker\":{\"id\":\"worker-1\",\"version\":\"0.1.0\"},\
\"objects\":[{\"object_kind\":\"account\",\"object_id\":\"uid=E00000042,ou=people\",\
\"sponsored\":false,\"action\":\"lock\",\"outcome\":\"revoked\",\
\"removed_at\":\"2026-12-01T09:00:02Z\",\"actor\":{\"worker_id\":\"worker-1\",\
\"principal\":\"revoker\"},\"verified\":true,\"provenance\":\"observed\",\"read_back\":\"gone\"}],\
\"superseded\":[{\"state\":\"failed\",\"outcome\":\"failed\",\"instance\":\"default\",\
\"confirmed_at\":\"2026-12-01T09:00:01.500Z\",\"attempts\":5,\
\"worker\":{\"id\":\"worker-1\",\"version\":\"0.1.0\"},\"error\":\"503 from ldap\",\
\"objects\":[{\"object_kind\":\"account\",\"object_id\":\"uid=E00000042,ou=people\",\
\"sponsored\":false,\"action\":\"lock\",\"outcome\":\"failed\",\"actor\":{\"worker_id\":\"worker-1\",\
\"principal\":\"revoker\"},\"verified\":false,\"provenance\":\"not_checked\",\"read_back\":\"\",\
\"error\":\"503\"}],\"redrive_at\":\"2026-12-01T09:00:31Z\"}],\
\"redrives\":1,\
\"signed\":{\"confirmation_id\":\"0d6b8e1a-1b2c-4d3e-8f4a-5b6c7d8e9f00\",\
\"case_id\":\"6f1c2a52-7d0e-4a8b-9c3d-2e5f6a7b8c9d\",\"event_id\":\"wd-evt-42\",\
\"started_at\":\"2026-12-01T09:00:02Z\",\"retryable\":false,\"redrive\":1,\
\"signature\":\"ed25519:k1:c2lnbmF0dXJl\"}},\
\"saas\":{\"state\":\"pending\",\"attempts\":0,\"objects\":[]},\
\"vault\":{\"state\":\"done\",\"outcome\":\"revoked\",\"instance\":\"manual\",\
\"confirmed_at\":\"2026-12-01T09:30:00Z\",\"attempts\":0,\
\"worker\":{\"id\":\"cli:ops:carol\",\"version\":\"0.1.0\"},\"objects\":[],\
\"late\":[{\"state\":\"done\",\"outcome\":\"already_absent\",\"instance\":\"default\",\
\"confirmed_at\":\"2026-12-01T09:40:00Z\",\"attempts\":1,\
\"worker\":{\"id\":\"worker-2\",\"version\":\"0.1.0\"},\"objects\":[]}]}},\
\"escalations\":[{\"escalation_id\":\"1e2d3c4b-5a69-4788-97a6-b5c4d3e2f100\",\
\"reason\":\"rescind_after_revocation\",\"targets\":[\"directory\",\"vault\"],\
\"owner\":{\"name\":\"iam-team\",\"contact\":\"iam@example.com\"},\"level\":1,\
\"raised_at\":\"2026-12-02T08:00:00Z\",\"detail\":\"rescinded after revocation\"}],\
\"closed_at\":\"2026-12-01T09:30:00Z\",\"updated_at\":\"2026-12-02T08:00:00Z\",\
\"rescinded_by\":\"hr:bob\",\
\"restored\":[{\"schema\":\"revoke.restore_report.v1\",\
\"request_id\":\"2a3b4c5d-6e7f-4081-92a3-b4c5d6e7f809\",\
\"case_id\":\"6f1c2a52-7d0e-4a8b-9c3d-2e5f6a7b8c9d\",\"identity_id\":\"E00000042\",\
\"target\":{\"kind\":\"directory\",\"instance\":\"default\"},\
\"objects\":[{\"object_kind\":\"account\",\"object_id\":\"uid=E00000042,ou=people\",\
\"sponsored\":false,\"undoes\":\"lock\",\"outcome\":\"restored\",\
\"restored_at\":\"2026-12-02T08:01:00Z\",\"actor\":{\"worker_id\":\"worker-1\",\
\"principal\":\"revoker\"}}],\"worker\":{\"id\":\"worker-1\",\"version\":\"0.1.0\"},\
\"started_at\":\"2026-12-02T08:00:30Z\",\"finished_at\":\"2026-12-02T08:01:00Z\"}],\
\"guard\":{\"asked_at\":\"2026-12-01T09:00:01Z\",\"released_at\":\"2026-12-01T09:05:00Z\",\
\"batch\":\"batch-7\",\"held_at\":\"2026-12-01T09:00:01Z\",\"why\":\"12 terminations in 60 s\",\
\"decision\":\"approve\",\"decided_by\":\"ops:carol\",\"decided_at\":\"2026-12-01T09:05:00Z\",\
\"note\":\"planned layoff\"},\
\"hr_time\":\"2026-12-01T08:59:00Z\",\
\"joined\":[{\"source\":\"urn:hr:sap\",\"event_id\":\"sap-42\",\"time\":\"2026-12-01T09:01:00Z\",\
\"effective_at\":\"2026-12-01T09:00:00Z\",\"joined_at\":\"2026-12-01T09:01:05Z\",\
\"rescind\":{\"source\":\"urn:hr:sap\",\"event_id\":\"sap-43\",\"time\":\"2026-12-02T07:00:00Z\",\
\"by\":\"hr:dan\",\"applied_at\":\"2026-12-02T07:00:01Z\"}}],\
\"joined_more\":2,\
\"rescind\":{\"source\":\"urn:hr:workday\",\"event_id\":\"wd-evt-43\",\
\"time\":\"2026-12-02T07:59:00Z\",\"by\":\"hr:bob\",\"applied_at\":\"2026-12-02T08:00:00Z\"},\
\"restore_withheld\":\"E00000042 has another standing termination\",\
\"restore_guard\":{\"asked_at\":\"2026-12-02T08:00:00Z\",\"released_at\":\"2026-12-02T08:00:10Z\"}\
}";

#[test]
fn a_full_case_round_trips_byte_for_byte() {
    let case: Case = serde_json::from_str(FULL).unwrap();
    assert_eq!(serde_json::to_string(&case).unwrap(), FULL);
    let dir = &case.targets[&TargetKind::Directory];
    assert!(dir.signed.is_some() && dir.worker.is_some() && dir.superseded.len() == 1);
    assert_eq!(case.targets[&TargetKind::Vault].late.len(), 1);
    assert!(case.guard.is_some() && case.restore_guard.is_some() && case.rescind.is_some());
}

#[test]
fn repeated_and_unordered_targets_read_as_before() {
    // Written by hand, not by the verifier: targets out of order, one twice (the last wins).
    let mut v: serde_json::Value = serde_json::from_str(FULL).unwrap();
    let t = |s: &str| serde_json::json!({"state": s, "attempts": 0, "objects": []});
    let text = serde_json::to_string(&v).unwrap().replace(
        &serde_json::to_string(&v["targets"]).unwrap(),
        &format!(
            "{{\"vault\":{},\"cicd\":{},\"vault\":{}}}",
            t("failed"),
            t("pending"),
            t("done")
        ),
    );
    let case: Case = serde_json::from_str(&text).unwrap();
    let kinds: Vec<_> = case.targets.iter().map(|(k, s)| (*k, s.state)).collect();
    assert_eq!(
        kinds,
        vec![
            (TargetKind::Vault, TargetState::Done),
            (TargetKind::Cicd, TargetState::Pending)
        ]
    );
    v["targets"] = serde_json::json!({"cicd": t("pending"), "vault": t("done")});
    assert_eq!(serde_json::to_value(&case).unwrap(), v);
}

//! Replays for incident responders (`revoke replay`): a person asks the verifier to re-drive a
//! past termination through some of its targets — to remove again access that came back, or to
//! run a target again once it was fixed.
//!
//! The request travels on the confirmations topic (keyed by the case's identity, like a `case
//! ack` or a review) as a [`ReplayRequest`], signed by its person (`approver` role). The
//! verifier judges it against the case and, if it may go ahead, opens a **replay case**: a case
//! of its own (`Case::replay`, id [`ReplayRequest::replay_case_id`]) for the same identity and HR
//! event, which asks the blast-radius guard like any termination, hands the chosen targets to
//! their workers on the due topic with [`REPLAY_HEADER`], and closes on their verified reports.
//! The replayed case's own record is never changed by a replay of a closed case: its closing
//! evidence stays as it was, and the replay's evidence is the replay case's.

use super::{Authenticity, CaseState, RecordSignature, TargetKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const REPLAY_REQUEST_SCHEMA: &str = "revoke.replay_request.v1";

/// Kafka header on a due record that re-drives a case as a replay: the replay's id
/// ([`ReplayRequest::replay_id`]). The worker reports on the replay case
/// ([`replay_case_id`] of the termination's case and this id) and echoes the id in its
/// confirmation (`Confirmation::replay`). Covered by the fleet signature when present.
pub const REPLAY_HEADER: &str = "revoke_replay";

/// A person's request to re-drive one case's termination (`revoke replay`), as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub schema: String,
    /// One `revoke replay` run: the same id on the request of every case it covers.
    pub replay_id: Uuid,
    /// The case whose termination is re-driven.
    pub case_id: Uuid,
    pub identity_id: String,
    /// The targets to run again; empty: every target the case required. A target the case did
    /// not require is never run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetKind>,
    /// The range of `revoke replay --from/--to` (record times on the terminations topic) that
    /// selected the case, for the record.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The person's id (`[[people]]`), or free text when signing is off and nobody is listed.
    pub by: String,
    /// When the person asked: a request older than `verifier.replay_max_age_secs` is refused.
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The person's signature (`crate::signing::record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<RecordSignature>,
}

impl ReplayRequest {
    /// The replay case this request opens: one per (case, replay), so the same request again
    /// finds it and changes nothing.
    pub fn replay_case_id(&self) -> Uuid {
        replay_case_id(self.case_id, self.replay_id)
    }
}

/// The id of the replay case of `case_id` made by replay `replay_id`.
pub fn replay_case_id(case_id: Uuid, replay_id: Uuid) -> Uuid {
    Uuid::new_v5(&case_id, format!("{case_id}/replay/{replay_id}").as_bytes())
}

/// A target a replay was asked for but does not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkippedTarget {
    pub target: TargetKind,
    pub why: String,
}

/// What a replay case records of its replay (`Case::replay`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseReplay {
    /// The case whose termination this replay re-drives (left unchanged when it had closed).
    pub of_case: Uuid,
    /// That case's state when the replay was accepted, and when it had closed, if it had.
    pub of_state: CaseState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_closed_at: Option<DateTime<Utc>>,
    /// Targets asked for that are not run (not required by the case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedTarget>,
    /// How far the request was proven its person's (`signing::check_decision`, approver role).
    pub authenticity: Authenticity,
    /// The request as published, signature included: it verifies offline.
    pub request: ReplayRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_and_refuses_unknown_fields() {
        let r = ReplayRequest {
            schema: REPLAY_REQUEST_SCHEMA.into(),
            replay_id: Uuid::from_u128(7),
            case_id: Uuid::from_u128(1),
            identity_id: "E1".into(),
            targets: vec![TargetKind::Directory],
            from: DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z")
                .unwrap()
                .into(),
            to: DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
                .unwrap()
                .into(),
            by: "alice".into(),
            at: DateTime::parse_from_rfc3339("2026-11-26T13:00:00Z")
                .unwrap()
                .into(),
            note: None,
            signature: None,
        };
        let mut v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["targets"][0], "directory");
        assert!(v.get("note").is_none() && v.get("signature").is_none());
        assert_eq!(
            serde_json::from_value::<ReplayRequest>(v.clone()).unwrap(),
            r
        );
        v["extra"] = serde_json::json!(true);
        assert!(serde_json::from_value::<ReplayRequest>(v).is_err());
        // One replay case per (case, replay); another replay of the case is another case.
        assert_eq!(r.replay_case_id(), replay_case_id(r.case_id, r.replay_id));
        assert_ne!(
            r.replay_case_id(),
            replay_case_id(r.case_id, Uuid::from_u128(8))
        );
        assert_ne!(r.replay_case_id(), r.case_id);
    }
}

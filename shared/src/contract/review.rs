//! Closure review (four eyes): a case whose targets are all done but where a person's word stood
//! in for a read-back (or every case, with `verifier.closure_review = "all"`) waits in
//! `awaiting_review` until a reviewer accepts or rejects it (`revoke review`). The reviewer binds
//! the decision to the digest of the evidence they were shown (`Case::evidence_digest`, printed
//! by `revoke case`); the verifier refuses a review whose digest no longer matches.
//!
//! A review travels on the confirmations topic (keyed by the case's identity, like a `case ack`)
//! as a [`ReviewRecord`]; the case keeps the outcome in [`CaseReview`].

use super::{Authenticity, RecordSignature};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const REVIEW_SCHEMA: &str = "revoke.review.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// The evidence is enough: the case closes.
    Accept,
    /// It is not: the named steps (or targets) are reopened and the case escalated to its owner.
    Reject,
}

impl ReviewVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewVerdict::Accept => "accept",
            ReviewVerdict::Reject => "reject",
        }
    }
}

/// A reviewer's decision on one case, as `revoke review` publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewRecord {
    pub schema: String,
    /// Idempotency: the same review again changes nothing.
    pub review_id: Uuid,
    pub case_id: Uuid,
    pub identity_id: String,
    pub verdict: ReviewVerdict,
    /// The reviewer's person id (`[[people]]`), or free text when signing is off.
    pub by: String,
    pub at: DateTime<Utc>,
    /// `Case::evidence_digest` of the case as the reviewer saw it.
    pub evidence_digest: String,
    /// With `reject`: the steps or target kinds to reopen (empty: every attested one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reopen: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The reviewer's signature (`crate::signing::record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<RecordSignature>,
}

/// What the case records of its review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseReview {
    /// Why the case needs a review (`attested: device_return, saas` or `closure_review = all`).
    pub why: String,
    /// When the case started waiting for it (the review SLA counts from here).
    pub asked_at: DateTime<Utc>,
    /// The decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<ReviewVerdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticity: Option<Authenticity>,
    /// The evidence digest the decision was bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The accepting review as published, with its signature: who reviewed can be checked
    /// offline (`revoke case --verify`, evidence packets) like every other decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Box<ReviewRecord>>,
    /// Earlier rejections, newest last (a rejected review reopens steps; a later one decides again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<ReviewRecord>,
}

impl CaseReview {
    /// A review the case has just started waiting for (nothing decided), keeping the earlier
    /// rejections.
    pub fn asked(why: String, asked_at: DateTime<Utc>, rejected: Vec<ReviewRecord>) -> CaseReview {
        CaseReview {
            why,
            asked_at,
            verdict: None,
            by: None,
            at: None,
            authenticity: None,
            evidence_digest: None,
            note: None,
            record: None,
            rejected,
        }
    }
}

//! `[topics]`: the name of every topic, and how `revoke topics create` makes them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicsConfig {
    pub terminations: String,
    pub confirmations: String,
    pub cases: String,
    pub escalations: String,
    pub dlq: String,
    /// Terminations whose effective time has come, re-published by the verifier for the
    /// workers (a termination dated in the future waits in the verifier's durable state).
    pub due: String,
    /// Restore requests from the verifier to the workers after a rescind.
    pub restores: String,
    /// Workers' claims on restore requests (one partition): a request is carried out once
    /// fleet-wide, by its first claim.
    pub restore_claims: String,
    /// The blast-radius guard's log (one partition: its order is the fleet-wide order in which
    /// cases asked to be released, so every verifier instance counts the same window), and the
    /// people's approvals and rejections of held batches.
    pub guard: String,
    /// Partitions for every topic `revoke topics create` makes. The verifier's inputs and the
    /// cases changelog must have the same count (co-partitioned by identity).
    pub partitions: i32,
    pub replication_factor: i32,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            terminations: "hr.terminations".into(),
            confirmations: "revoke.confirmations".into(),
            cases: "revoke.cases".into(),
            escalations: "revoke.escalations".into(),
            dlq: "revoke.dlq".into(),
            due: "revoke.due".into(),
            restores: "revoke.restores".into(),
            restore_claims: "revoke.restores.claims".into(),
            guard: "revoke.guard".into(),
            partitions: 6,
            replication_factor: 1,
        }
    }
}

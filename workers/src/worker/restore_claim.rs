//! The Kafka shell of the fleet-wide "each restore request once": a worker writes its claim on
//! a request to `revoke.restores.claims` (one partition, so one order for the whole fleet),
//! waits for the broker's acknowledgement, then reads the claims before its own and lets
//! `restore_ledger::first_claim` decide. Two copies claimed at the same moment by two processes
//! get two offsets: the lower one runs. After the report was acknowledged the worker writes the
//! claim again marked `done`, so a redelivery of that record has nothing left to do.
//!
//! A claim is not signed: whoever can write the claims topic can only make a restore *not*
//! happen (the safe side), so restrict it with ACLs like `revoke.restores`.

use super::restore_ledger::{first_claim, ClaimVerdict};
use revoke_shared::config::Config;
use revoke_shared::contract::{
    RawMessage, RestoreClaim, RestoreRequest, WorkerInfo, RESTORE_CLAIM_SCHEMA,
};
use revoke_shared::kafka::{read_partitions_to_end, Producer};
use std::time::Duration;

/// How long reading the claims log may take before the record is handled again later.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The claim on `req`, carried by `msg`.
pub fn claim_for(req: &RestoreRequest, msg: &RawMessage, worker: &WorkerInfo) -> RestoreClaim {
    RestoreClaim {
        schema: RESTORE_CLAIM_SCHEMA.into(),
        request_id: req.request_id,
        requested_at: req.requested_at,
        record: format!("{}/{}", msg.partition, msg.offset),
        worker: worker.clone(),
        claimed_at: chrono::Utc::now(),
        done: false,
    }
}

/// Writes `claim` and returns what the claims before it say. `Err` when the claims log cannot
/// be written or read: the record is handled again later (nothing was restored).
pub async fn claim(
    producer: &Producer,
    cfg: &Config,
    claim: &RestoreClaim,
) -> Result<ClaimVerdict, String> {
    let topic = cfg.topics.restore_claims.clone();
    let (partition, offset) = producer
        .send_json(&topic, &claim.request_id.to_string(), claim, None)
        .await
        .map_err(|e| {
            format!(
                "writing the claim on restore request {}: {e}",
                claim.request_id
            )
        })?;
    let reader_cfg = cfg.clone();
    let read_topic = topic.clone();
    let records = tokio::task::spawn_blocking(move || {
        read_partitions_to_end(&reader_cfg, &read_topic, Some(&[partition]), READ_TIMEOUT)
    })
    .await
    .map_err(|e| format!("reading {topic}: {e}"))?
    .map_err(|e| format!("reading {topic}: {e}"))?;
    let earlier: Vec<RestoreClaim> = records
        .into_iter()
        .filter(|r| r.partition == partition && r.offset < offset)
        .filter_map(|r| serde_json::from_slice(r.payload.as_deref()?).ok())
        .collect();
    Ok(first_claim(claim, &earlier))
}

/// Marks `claim` done once the request's report was acknowledged. A failure here is logged, not
/// fatal: the restore happened and was reported; only a redelivery of the same record would run
/// it again (idempotent at the target).
pub async fn mark_done(producer: &Producer, cfg: &Config, claim: &RestoreClaim) {
    let done = RestoreClaim {
        done: true,
        claimed_at: chrono::Utc::now(),
        ..claim.clone()
    };
    if let Err(e) = producer
        .send_json(
            &cfg.topics.restore_claims,
            &done.request_id.to_string(),
            &done,
            None,
        )
        .await
    {
        tracing::warn!(request_id = %done.request_id, error = %e, "could not mark the restore claim done");
    }
}

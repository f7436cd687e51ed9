//! `revoke replay` for incident responders: which past terminations a replay re-drives.
//!
//! - `select`: the terminations recorded on the terminations topic in a time range, each
//!   resolved to the case that holds it, and what a replay of that case would do (the verifier's
//!   own rules, `verifier::replay_rules`): re-drive it through which targets, or skip it and why.
//!   Pure, so `--dry-run` shows exactly what the verifier will decide on the same records.
//! - `read`: reading those terminations from Kafka.
//!
//! The range is the **record time** on the terminations topic (when the record was written
//! there, by the broker's clock or the HR producer's, as the topic's `message.timestamp.type`
//! says), not the event's own `time` nor its `effective_at`: an incident — a target broken for
//! three hours, a restore from backup that undid removals — is bounded in the time the fleet
//! handled terminations, which is close to when they were written; HR's `time` can be backdated
//! and `effective_at` can lie weeks ahead. Kafka also finds a record time directly
//! (`offsetsForTimes`), without reading the whole history.

pub mod read;
pub mod select;

//! `revoke topics create`: creates revoke's topics (the specs and the admin calls are
//! `crate::topics`, shared with the embedded broker and the tests) and prints each one's status.

use super::error::CommandError;
use super::shell::runtime;
use crate::topics::{create_topics, topic_specs, TopicsError};
use clap::Subcommand;
use revoke_shared::config::Config;

#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// Create every topic with `topics.partitions` partitions (keyed by identity, so the
    /// verifier's inputs are co-partitioned) and the cases topic compacted. Existing topics are
    /// checked, not changed.
    Create,
}

/// `revoke topics create`: one line per topic, `<topic>: created|exists (<n> partitions)`.
pub fn create(cfg: &Config, emit: fn(&str)) -> Result<(), CommandError> {
    let rt = runtime()?;
    rt.block_on(async {
        let result = create_topics(cfg).await.map_err(|e| match e {
            TopicsError::Mismatch { .. } => CommandError::usage(e),
            other => CommandError::job(other),
        })?;
        let specs = topic_specs(cfg);
        for (topic, status) in result {
            let partitions = specs
                .iter()
                .find(|s| s.name == topic)
                .map_or(cfg.topics.partitions, |s| s.partitions);
            emit(&format!("{topic}: {status} ({partitions} partitions)"));
        }
        Ok(())
    })
}

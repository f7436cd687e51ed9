//! The targets the watch and the re-verification read: the adapters the config's
//! `[targets.<kind>]` tables configure, built exactly as workers build theirs. A kind without a
//! table is left out — never its in-memory simulator, whose answers would prove nothing.

use crate::adapters::{from_config, Target};
use revoke_shared::config::Config;
use revoke_shared::contract::TargetKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One adapter per configured target kind.
pub type Targets = BTreeMap<TargetKind, Arc<dyn Target>>;

/// The adapters of every kind with a `[targets.<kind>]` table (`only`: just that kind's). A table
/// the adapter refuses, or a credential the target refuses at start-up, is an error naming it.
pub async fn configured(cfg: &Config, only: Option<TargetKind>) -> Result<Targets, String> {
    let mut out = Targets::new();
    for kind in TargetKind::ALL {
        if only.is_some_and(|k| k != kind) || !cfg.targets.contains_key(kind.as_str()) {
            continue;
        }
        let t = from_config(kind, cfg)
            .await
            .map_err(|e| format!("[targets.{kind}]: {e}"))?;
        out.insert(kind, t);
    }
    Ok(out)
}

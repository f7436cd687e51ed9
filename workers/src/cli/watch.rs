//! `revoke watch`: the long-running watch after cases close (`crate::watch::run`) on the
//! adapters `[targets.*]` configures, with `/metrics`, `/healthz` and a graceful stop.

use super::error::CommandError;
use super::launch::long_running;
use revoke_shared::config::{Config, ConfigError};

pub fn command(cfg: &Config) -> Result<(), CommandError> {
    long_running(cfg, |cfg, metrics, health, stop| async move {
        let targets = crate::watch::configured(&cfg, None)
            .await
            .map_err(ConfigError::Invalid)?;
        crate::watch::run_watch(&cfg, targets, metrics, health, stop).await
    })
}

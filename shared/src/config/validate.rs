//! The checks a loaded config must pass (`Config::validate`), across its sections.

use super::{Config, ConfigError};
use crate::contract::TargetKind;
use std::collections::BTreeMap;

impl Config {
    pub fn validate(&self) -> Result<(), ConfigError> {
        super::people::validate_people(&self.people).map_err(ConfigError::Invalid)?;
        super::steps::validate_steps(&self.steps).map_err(ConfigError::Invalid)?;
        if self.topics.partitions < 1 {
            return Err(ConfigError::Invalid(
                "topics.partitions must be at least 1".into(),
            ));
        }
        if self.consumer.max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "consumer.max_in_flight must be at least 1".into(),
            ));
        }
        if self.metrics.stall_secs < 10 {
            return Err(ConfigError::Invalid(
                "metrics.stall_secs must be at least 10 (a consume loop may pause for seconds in a rebalance; below that /livez would restart healthy processes)"
                    .into(),
            ));
        }
        if self.worker.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "worker.max_attempts must be at least 1".into(),
            ));
        }
        if !(1..=86_400).contains(&self.worker.restore_max_age_secs) {
            return Err(ConfigError::Invalid(
                "worker.restore_max_age_secs must be from 1 to 86400 (0 would refuse every restore; restore claims are kept 7 days)"
                    .into(),
            ));
        }
        if self.verifier.fold_ms > 5_000 {
            return Err(ConfigError::Invalid(
                "verifier.fold_ms must be at most 5000 (a held case version holds its inputs' offsets and shows `revoke case` an older version meanwhile)"
                    .into(),
            ));
        }
        if self.verifier.required_targets.is_empty() {
            return Err(ConfigError::Invalid(
                "verifier.required_targets must name at least one target".into(),
            ));
        }
        for (kind, targets) in &self.verifier.required_by_kind {
            if !matches!(kind.as_str(), "employee" | "contractor" | "service") {
                return Err(ConfigError::Invalid(format!(
                    "verifier.required_by_kind.{kind}: identity kinds are employee, contractor and service"
                )));
            }
            if targets.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "verifier.required_by_kind.{kind} must name at least one target"
                )));
            }
        }
        check_counts_by_target("verifier.target_sla_secs", &self.verifier.target_sla_secs)?;
        if let Some(bad) = self
            .verifier
            .redrive_after_secs
            .iter()
            .find(|s| **s == 0 || **s > 7 * 86_400)
        {
            return Err(ConfigError::Invalid(format!(
                "verifier.redrive_after_secs: {bad} is not between 1 s and 7 days"
            )));
        }
        if self.verifier.replay_max_age_secs == 0 || self.verifier.replay_max_age_secs > 86_400 {
            return Err(ConfigError::Invalid(
                "verifier.replay_max_age_secs must be from 1 to 86400".into(),
            ));
        }
        if self.verifier.watch_poll_secs == 0 || self.verifier.watch_poll_secs > 86_400 {
            return Err(ConfigError::Invalid(
                "verifier.watch_poll_secs must be from 1 to 86400 (turn the sign-in watch off with verifier.watch_secs = 0)".into(),
            ));
        }
        let g = &self.verifier.guard;
        if g.max_terminations == 0 {
            return Err(ConfigError::Invalid(
                "verifier.guard.max_terminations must be at least 1 (turn the guard off with enabled = false)".into(),
            ));
        }
        if g.window_secs == 0 || g.window_secs > 7 * 86_400 {
            return Err(ConfigError::Invalid(
                "verifier.guard.window_secs must be between 1 s and 7 days".into(),
            ));
        }
        if let Some(share) = g.max_share_percent {
            if !(share > 0.0 && share <= 100.0) {
                return Err(ConfigError::Invalid(format!(
                    "verifier.guard.max_share_percent: {share} is not above 0 and at most 100"
                )));
            }
            if g.accounts.is_empty() {
                return Err(ConfigError::Invalid(
                    "verifier.guard.max_share_percent needs verifier.guard.accounts (how many accounts each target has)".into(),
                ));
            }
        }
        check_counts_by_target("verifier.guard.accounts", &g.accounts)?;
        for (target, path) in &self.verifier.escalation_paths {
            if target != "default" && !TargetKind::ALL.iter().any(|k| k.as_str() == target) {
                return Err(ConfigError::Invalid(format!(
                    "verifier.escalation_paths.{target}: not a target kind (directory, saas, cloud, vault, cicd) or default"
                )));
            }
            let mut previous = 0;
            for (i, step) in path.iter().enumerate() {
                let at = format!("verifier.escalation_paths.{target}[{i}]");
                if step.name.trim().is_empty() {
                    return Err(ConfigError::Invalid(format!("{at}: name is empty")));
                }
                if step.after_secs <= previous {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: after_secs must be at least 1 and larger than the step before (counted from the first escalation)"
                    )));
                }
                // Far beyond any sensible path, and safe to add to a timestamp.
                if step.after_secs > MAX_ESCALATION_AFTER_SECS {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: after_secs must be at most {MAX_ESCALATION_AFTER_SECS} (one year)"
                    )));
                }
                previous = step.after_secs;
            }
        }
        self.escalations.validate()?;
        self.signals.validate()?;
        self.signing.validate().map_err(ConfigError::Invalid)?;
        for rate in [self.simulator.fail_rate, self.simulator.flaky_rate] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError::Invalid(
                    "simulator rates must be between 0 and 1".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The longest `after_secs` of an escalation step: one year.
pub const MAX_ESCALATION_AFTER_SECS: u64 = 365 * 24 * 3600;

/// A table of counts by target kind (`target_sla_secs`, `guard.accounts`): every key a target
/// kind, every count at least 1.
fn check_counts_by_target(at: &str, counts: &BTreeMap<String, u64>) -> Result<(), ConfigError> {
    for (target, n) in counts {
        if !TargetKind::ALL.iter().any(|k| k.as_str() == target) {
            return Err(ConfigError::Invalid(format!(
                "{at}.{target}: not a target kind (directory, saas, cloud, vault, cicd)"
            )));
        }
        if *n == 0 {
            return Err(ConfigError::Invalid(format!(
                "{at}.{target} must be at least 1"
            )));
        }
    }
    Ok(())
}

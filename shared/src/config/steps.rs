//! `[steps.<name>]`: offboarding steps without an API — device return, a backup-retention
//! decision, a customer's acknowledgement — that every case of the named identity kinds must
//! close with a person's attested evidence (`revoke case ack --step <name>`), not skip.

use crate::contract::check_identifier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// What has to be done, in words (shown in the case and in escalations).
    pub description: String,
    /// Who answers for it: a person's `id` from `[[people]]`, or a key of `verifier.owners`.
    /// Escalations for the step go to them.
    pub owner: String,
    /// Seconds from the termination's effective time within which it must be attested, else
    /// its owner gets a `sla_passed` escalation. 0: only the case deadline applies.
    #[serde(default)]
    pub sla_secs: u64,
    /// The identity kinds (`employee`, `contractor`, `service`) whose cases require the step;
    /// empty: every kind.
    #[serde(default)]
    pub required_by_kind: Vec<String>,
}

/// The longest step name: it is a key in case records and a command-line argument.
pub const MAX_STEP_NAME_BYTES: usize = 64;

/// Checks `[steps]`: names are short identifiers of `[a-z0-9_-]`, kinds are known, and a
/// step's name is not a target kind (a `case ack` names either).
pub(crate) fn validate_steps(steps: &BTreeMap<String, StepConfig>) -> Result<(), String> {
    for (name, s) in steps {
        let at = |why: String| format!("steps.{name}: {why}");
        if name.is_empty()
            || name.len() > MAX_STEP_NAME_BYTES
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(at(format!(
                "a step name is 1 to {MAX_STEP_NAME_BYTES} characters of a-z, 0-9, _ and -"
            )));
        }
        if name.parse::<crate::contract::TargetKind>().is_ok() {
            return Err(at(
                "is a target kind's name; call the step something else".into()
            ));
        }
        check_identifier("description", &s.description).map_err(|e| at(e.to_string()))?;
        check_identifier("owner", &s.owner).map_err(|e| at(e.to_string()))?;
        for k in &s.required_by_kind {
            if !matches!(k.as_str(), "employee" | "contractor" | "service") {
                return Err(at(format!(
                    "required_by_kind {k:?}: identity kinds are employee, contractor and service"
                )));
            }
        }
    }
    Ok(())
}

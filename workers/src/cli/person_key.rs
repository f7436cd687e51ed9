//! `--key-file`: the private key a person signs their decisions with (`revoke approve`,
//! `reject`, `case ack`, `review`). The seed (32 bytes as hex or base64) comes from the file,
//! or else from `REVOKE_PERSON_KEY_FILE` (a path) or `REVOKE_PERSON_KEY` (the seed itself).
//! Without any, the decision goes unsigned: accepted as `unauthenticated` when `[signing]
//! required` is off, refused by the verifier when it is on.

use crate::cli::error::CommandError;
use revoke_shared::config::Config;
use revoke_shared::signing::RecordSigner;
use std::path::PathBuf;

/// The environment variable naming the key file when `--key-file` is not given.
pub const KEY_FILE_ENV: &str = "REVOKE_PERSON_KEY_FILE";
/// The environment variable holding the seed itself.
pub const KEY_ENV: &str = "REVOKE_PERSON_KEY";

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PersonKeyArgs {
    /// The person's Ed25519 private key (32-byte seed, hex or base64) to sign the decision with;
    /// default: $REVOKE_PERSON_KEY_FILE, or the seed in $REVOKE_PERSON_KEY.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

impl PersonKeyArgs {
    /// The signer for `by`, or `None` when no key is given. The key must be `by`'s current key
    /// in `[[people]]` when the config lists them (checked here so that a mistake is exit 2, not a
    /// dead letter later).
    pub fn signer(&self, by: &str, cfg: &Config) -> Result<Option<RecordSigner>, CommandError> {
        let file = self
            .key_file
            .clone()
            .or_else(|| std::env::var_os(KEY_FILE_ENV).map(PathBuf::from));
        let signer = match (&file, std::env::var(KEY_ENV).ok()) {
            (Some(f), _) => RecordSigner::from_env_or_file(by, None, f.to_str()),
            (None, Some(_)) => RecordSigner::from_env_or_file(by, Some(KEY_ENV), None),
            (None, None) => return Ok(None),
        }
        .map_err(|e| CommandError::usage(anyhow::anyhow!("{e}")))?;
        if !cfg.people.is_empty() {
            let Some(person) = cfg.person(by) else {
                return Err(CommandError::usage(anyhow::anyhow!(
                    "--by {by:?} is not a person in [[people]]"
                )));
            };
            let current = person
                .public_key
                .as_deref()
                .and_then(|k| revoke_shared::signing::public_key_id(k).ok());
            if current.as_deref() != Some(signer.key_id()) {
                return Err(CommandError::usage(anyhow::anyhow!(
                    "the key given is not {by:?}'s current public_key in [[people]] (key {})",
                    signer.key_id()
                )));
            }
        }
        Ok(Some(signer))
    }

    /// `signer`, where `[signing] required` makes a key mandatory, and a key needs `[[people]]`
    /// to be checked against: without them the verifier would refuse the decision, so the
    /// command refuses first (exit 2).
    pub fn decision_signer(
        &self,
        by: &str,
        cfg: &Config,
    ) -> Result<Option<RecordSigner>, CommandError> {
        let signer = self.signer(by, cfg)?;
        if signer.is_some() && cfg.people.is_empty() {
            // The fleet finds a signer's key in [[people]]: with nobody listed it would refuse
            // the decision as made by an unknown person.
            return Err(CommandError::usage(anyhow::anyhow!(
                "a key is given (--key-file, ${KEY_FILE_ENV} or ${KEY_ENV}) but [[people]] lists nobody, so the fleet could not check the signature and would refuse the decision: add {by} to [[people]], or leave the key out"
            )));
        }
        if signer.is_none() && cfg.signing.required {
            return Err(CommandError::usage(anyhow::anyhow!(
                "[signing] required is on: sign the decision with {by}'s key (--key-file, or ${KEY_FILE_ENV} / ${KEY_ENV}); an unsigned one would be refused"
            )));
        }
        Ok(signer)
    }
}

/// `record` as it is published: a JSON value, signed by `signer` when there is one.
pub fn signed_record<T: serde::Serialize>(
    signer: Option<&RecordSigner>,
    record: &T,
) -> Result<serde_json::Value, CommandError> {
    match signer {
        Some(s) => s.sign(record),
        None => serde_json::to_value(record),
    }
    .map_err(|e| CommandError::job(anyhow::anyhow!("encoding the record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::config::{Person, Role};

    #[test]
    fn a_decision_is_signed_only_where_the_fleet_can_check_it() {
        let dir = std::env::temp_dir().join(format!("revoke-person-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("alice.key");
        std::fs::write(&file, "01".repeat(32)).unwrap();
        let with_key = PersonKeyArgs {
            key_file: Some(file.clone()),
        };
        let mut cfg = Config::default();
        // No [[people]]: a key could not be checked; no key is the free-text mode.
        assert!(with_key
            .decision_signer("alice", &cfg)
            .unwrap_err()
            .is_usage());
        assert!(PersonKeyArgs::default()
            .decision_signer("alice", &cfg)
            .unwrap()
            .is_none());
        let alice = RecordSigner::from_seed("alice", &[1; 32]);
        cfg.people = vec![Person {
            id: "alice".into(),
            name: "Alice".into(),
            contact: "alice@example.com".into(),
            roles: vec![Role::Approver],
            public_key: Some(alice.public_key_text()),
            previous_public_keys: Vec::new(),
        }];
        let s = with_key.decision_signer("alice", &cfg).unwrap().unwrap();
        assert_eq!(s.key_id(), alice.key_id());
        // Alice's key in bob's name, and no key with signing required: refused before sending.
        assert!(with_key
            .decision_signer("bob", &cfg)
            .unwrap_err()
            .is_usage());
        cfg.signing.required = true;
        assert!(PersonKeyArgs::default()
            .decision_signer("alice", &cfg)
            .unwrap_err()
            .is_usage());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

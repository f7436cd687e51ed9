//! `[[people]]`: the people who decide — approve or reject a held batch, attest a step, review a
//! closure, own a target or a step — each with an Ed25519 public key that proves a decision is
//! theirs. Data only: checking a decision's signature is `crate::signing::people`.

use super::key_text::verifying_key;
use crate::contract::{check_identifier, Owner};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Approve or reject a batch the blast-radius guard held (`revoke approve|reject`), and ask
    /// for a replay (`revoke replay`): both let revocations through.
    Approver,
    /// Acknowledge a target or a step without an API (`revoke case ack`).
    Attester,
    /// Accept or reject a case's closure (`revoke review`).
    Reviewer,
    /// Own targets or steps: escalations go to them.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Approver => "approver",
            Role::Attester => "attester",
            Role::Reviewer => "reviewer",
            Role::Owner => "owner",
        }
    }
}

/// One person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// How commands (`--by`), owners and escalation paths name them.
    pub id: String,
    pub name: String,
    /// Where escalations reach them (an address, a channel).
    pub contact: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Their current Ed25519 public key (32 bytes as base64 or hex): new decisions must be signed
    /// with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Keys they signed with before a rotation: records signed with them still verify, new
    /// decisions signed with them are refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_public_keys: Vec<String>,
}

impl Person {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// As an escalation names its owner.
    pub fn as_owner(&self) -> Owner {
        Owner {
            name: self.name.clone(),
            contact: self.contact.clone(),
        }
    }

    pub(crate) fn validate(&self, i: usize) -> Result<(), String> {
        let at = |why: String| format!("people[{i}] ({:?}): {why}", self.id);
        for (field, v) in [
            ("id", &self.id),
            ("name", &self.name),
            ("contact", &self.contact),
        ] {
            check_identifier(field, v).map_err(|e| at(e.to_string()))?;
        }
        for k in self.public_key.iter().chain(&self.previous_public_keys) {
            verifying_key(k).map_err(|why| at(format!("public key {why}")))?;
        }
        Ok(())
    }
}

/// Checks `[[people]]`: valid entries, unique ids, no key shared by two people.
pub(crate) fn validate_people(people: &[Person]) -> Result<(), String> {
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for (i, p) in people.iter().enumerate() {
        p.validate(i)?;
        if !ids.insert(p.id.as_str()) {
            return Err(format!("people[{i}]: id {:?} is listed twice", p.id));
        }
        for k in p.public_key.iter().chain(&p.previous_public_keys) {
            let bytes = verifying_key(k).expect("checked above").to_bytes();
            if !keys.insert(bytes) {
                return Err(format!(
                    "people[{i}] ({:?}): a public key is listed twice (one key, one person)",
                    p.id
                ));
            }
        }
    }
    Ok(())
}

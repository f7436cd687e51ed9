//! Who the verifier's rules about people need: the offboarding steps without an API
//! (`[steps.<name>]`), the people who may attest or review (`[[people]]`) and whether their
//! decisions must be signed (`[signing] required`). Resolving owners — a step's owner is a
//! person's id or a key of `verifier.owners` — is here too, so escalations and the reviewer
//! rule (a reviewer may not own the case) agree on who an owner is.

use revoke_shared::config::{Config, Person, StepConfig, VerifierConfig};
use revoke_shared::contract::{Case, IdentityKind, Owner, TargetKind};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub steps: BTreeMap<String, StepConfig>,
    pub people: Vec<Person>,
    pub signing_required: bool,
}

impl Roster {
    pub fn from_config(cfg: &Config) -> Roster {
        Roster {
            steps: cfg.steps.clone(),
            people: cfg.people.clone(),
            signing_required: cfg.signing.required,
        }
    }

    /// The steps a case of an identity of `kind` requires (`required_by_kind`, empty: all).
    pub fn steps_for(&self, kind: IdentityKind) -> impl Iterator<Item = &str> {
        let kind = kind_name(kind);
        self.steps
            .iter()
            .filter(move |(_, s)| {
                s.required_by_kind.is_empty() || s.required_by_kind.iter().any(|k| k == kind)
            })
            .map(|(name, _)| name.as_str())
    }

    /// Who answers for step `name`: the person its `owner` names, else that key of
    /// `verifier.owners`, else the default owner.
    pub fn step_owner(&self, name: &str, policy: &VerifierConfig) -> Owner {
        let Some(step) = self.steps.get(name) else {
            return policy.owner_of(None);
        };
        if let Some(p) = self.people.iter().find(|p| p.id == step.owner) {
            return p.as_owner();
        }
        policy
            .owners
            .get(&step.owner)
            .cloned()
            .unwrap_or_else(|| policy.owner_of(None))
    }

    /// The person ids among the owners of `case`'s targets and steps: an owner naming a person
    /// (by id, or with that person's name and contact).
    pub fn owner_ids(&self, case: &Case, policy: &VerifierConfig) -> Vec<String> {
        let mut owners: Vec<Owner> = case
            .required_targets
            .iter()
            .map(|t: &TargetKind| policy.owner_of(Some(*t)))
            .collect();
        let mut ids = Vec::new();
        for name in case.steps.keys() {
            match self.steps.get(name) {
                Some(s) if self.people.iter().any(|p| p.id == s.owner) => ids.push(s.owner.clone()),
                _ => owners.push(self.step_owner(name, policy)),
            }
        }
        for o in owners {
            for p in &self.people {
                let same = p.id == o.name || (p.name == o.name && p.contact == o.contact);
                if same && !ids.contains(&p.id) {
                    ids.push(p.id.clone());
                }
            }
        }
        ids
    }
}

fn kind_name(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::Employee => "employee",
        IdentityKind::Contractor => "contractor",
        IdentityKind::Service => "service",
    }
}

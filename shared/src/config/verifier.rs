//! `[verifier]`: deadlines, required targets, owners and escalation paths, protected
//! identities, re-drives, attestation, the blast-radius guard (`[verifier.guard]`), and what
//! `revoke watch` does after a case closed (`watch_secs`, `watch_poll_secs`,
//! `reverify_every_secs`).

use crate::contract::{Identity, IdentityKind, Owner, TargetKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierConfig {
    /// A case not closed this long after its effective time is escalated.
    pub deadline_secs: u64,
    /// How often deadlines are checked.
    pub tick_ms: u64,
    /// How long a case version made by a termination, report or decision may wait for the
    /// case's next version to replace it (the versions folded into one; a closing version is
    /// never held). 0: every version is published as it is made.
    pub fold_ms: u64,
    /// Targets that must confirm before a case closes.
    pub required_targets: Vec<TargetKind>,
    /// Control owners by target kind; `default` for any target without its own.
    pub owners: BTreeMap<String, Owner>,
    /// Who is told next when an escalation stays unresolved: per target kind (the escalation's
    /// first target, as for `owners`), with `default` for any kind without its own path (an
    /// empty list for a kind means it never climbs). Steps in order, each at its `after_secs`.
    pub escalation_paths: BTreeMap<String, Vec<EscalationStep>>,
    /// Required targets by identity kind (`employee`, `contractor`, `service`); a kind not
    /// listed uses `required_targets`.
    pub required_by_kind: BTreeMap<String, Vec<TargetKind>>,
    /// Per target kind: seconds from the effective time within which that target must confirm,
    /// else its owner gets a `sla_passed` escalation (the case-wide `deadline_secs` still holds).
    pub target_sla_secs: BTreeMap<String, u64>,
    /// Identities never revoked automatically (break-glass accounts, legal hold): employee ids,
    /// usernames or emails. Each entry is compared with every identity field of an event, after
    /// NFKC and full Unicode case folding (`ÅSA` = `åsa`, `STRASSE` = `straße`, fullwidth forms
    /// = ASCII). Workers touch nothing and report
    /// `skipped_protected`; the verifier escalates at once.
    pub protected_identities: Vec<String>,
    /// Re-drives of a target that failed with transient errors only (its worker's retries ran
    /// out during an outage, a 429 storm …): after the n-th such failure the verifier runs that
    /// target again `redrive_after_secs[n]` seconds later, while steps are left. The escalation
    /// for the failure stands; a later success closes the case. Empty: never.
    pub redrive_after_secs: Vec<u64>,
    /// Target kinds where a person's acknowledgement (`revoke case ack`, evidence `attested`)
    /// may close the target. Attested evidence is never "verified"; for a kind not listed it is
    /// recorded but the target stays `unverified` until a worker's read-back proves the access
    /// gone, so the case does not close. Default: all five kinds; empty: attestation never closes.
    pub attestation_allowed: Vec<TargetKind>,
    /// The blast-radius guard: the verifier releases every case to the workers, and holds new
    /// cases for a person's approval when too many arrive at once.
    pub guard: GuardConfig,
    /// At most this many `pending` cases (confirmations whose termination was never seen) are
    /// kept; past it a confirmation for an unknown case is dropped with a note
    /// (`stray_confirmation_dropped`), so a flood of junk on the confirmations topic cannot grow
    /// the verifier without limit.
    pub max_pending_cases: usize,
    /// `revoke watch` re-reads every closed case's removed objects this often (what `revoke
    /// verify` does once): an object present again is an `access_returned` finding. 0: off.
    pub reverify_every_secs: u64,
    /// `revoke watch` asks the targets that keep a sign-in log for sign-ins by the leaver since
    /// the removal, for this long after a case closed (`access_after_departure`). 0: off.
    pub watch_secs: u64,
    /// How often `revoke watch` asks (each case in the window, each target it can ask).
    pub watch_poll_secs: u64,
    /// Which cases wait for a closure review (`revoke review`) once every target and step is
    /// done, instead of closing: `none`, `attested` (those where a person's word stood in for a
    /// read-back on any target or step; the default) or `all`.
    pub closure_review: ClosureReview,
    /// A case waiting this long for its review is escalated (once) to its owner
    /// (`review_overdue`). 0: never.
    pub review_sla_secs: u64,
    /// A replay request (`revoke replay`) older than this when the verifier reads it is refused
    /// (`replay_request_stale`), so a request copied from the topic cannot be published again
    /// later to re-drive a case (one dated more than a minute ahead is refused too).
    pub replay_max_age_secs: u64,
}

/// `verifier.closure_review`: which cases need a second person before they close.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureReview {
    /// Cases close as soon as every target and step is done.
    None,
    /// Cases where any target or step is done on a person's attestation wait for a review.
    #[default]
    Attested,
    /// Every case waits for a review.
    All,
}

impl ClosureReview {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureReview::None => "none",
            ClosureReview::Attested => "attested",
            ClosureReview::All => "all",
        }
    }
}

impl Default for VerifierConfig {
    fn default() -> Self {
        let mut owners = BTreeMap::new();
        owners.insert(
            "default".to_string(),
            Owner {
                name: "security-operations".into(),
                contact: "secops@example.com".into(),
            },
        );
        VerifierConfig {
            deadline_secs: 3600,
            tick_ms: 1000,
            fold_ms: 100,
            required_targets: TargetKind::ALL.to_vec(),
            owners,
            escalation_paths: BTreeMap::new(),
            required_by_kind: BTreeMap::new(),
            target_sla_secs: BTreeMap::new(),
            protected_identities: Vec::new(),
            redrive_after_secs: vec![60, 300, 900],
            attestation_allowed: TargetKind::ALL.to_vec(),
            guard: GuardConfig::default(),
            max_pending_cases: 100_000,
            reverify_every_secs: 0,
            watch_secs: 86_400,
            watch_poll_secs: 60,
            closure_review: ClosureReview::Attested,
            review_sla_secs: 86_400,
            replay_max_age_secs: 900,
        }
    }
}

impl VerifierConfig {
    /// The targets that must confirm for an identity of `kind`.
    pub fn required_for(&self, kind: IdentityKind) -> Vec<TargetKind> {
        let key = match kind {
            IdentityKind::Employee => "employee",
            IdentityKind::Contractor => "contractor",
            IdentityKind::Service => "service",
        };
        self.required_by_kind
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.required_targets.clone())
    }

    /// The SLA of `target`, if one is configured.
    pub fn sla_of(&self, target: TargetKind) -> Option<u64> {
        self.target_sla_secs.get(target.as_str()).copied()
    }

    /// Whether `who` is on the protected list: any entry against any of the employee id,
    /// username and email, compared in Unicode compatibility caseless form (see
    /// `contract::protected`).
    pub fn is_protected(&self, who: &Identity) -> bool {
        crate::contract::matches_protected(&self.protected_identities, who)
    }

    /// Whether a person's acknowledgement may close a target of this kind.
    pub fn attestation_closes(&self, target: TargetKind) -> bool {
        self.attestation_allowed.contains(&target)
    }

    /// The control owner of `target`, falling back to `default`.
    pub fn owner_of(&self, target: Option<TargetKind>) -> Owner {
        target
            .and_then(|t| self.owners.get(t.as_str()))
            .or_else(|| self.owners.get("default"))
            .cloned()
            .unwrap_or(Owner {
                name: "unassigned".into(),
                contact: "".into(),
            })
    }

    /// The escalation path of `target` (the first target an escalation names): its own, else
    /// `default`'s, else none. Like `owner_of`, so the chain starts where the owner is.
    pub fn escalation_path_of(&self, target: Option<TargetKind>) -> &[EscalationStep] {
        target
            .and_then(|t| self.escalation_paths.get(t.as_str()))
            .or_else(|| self.escalation_paths.get("default"))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether any escalation can climb at all (the tick skips the scan otherwise).
    pub fn has_escalation_paths(&self) -> bool {
        self.escalation_paths.values().any(|p| !p.is_empty())
    }
}

/// The blast-radius guard (`[verifier.guard]`). With it on, workers act only on what the
/// verifier releases to them on `topics.due`; every case asks the guard first, in one fleet-wide
/// order (`topics.guard`), and a case that makes the window exceed a limit is `held` in a batch
/// until `revoke approve <batch> --by PERSON` (or `revoke reject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Off: workers act on `hr.terminations` directly and nothing is ever held (one hop less,
    /// no protection against a bad HR batch).
    pub enabled: bool,
    /// More cases than this asking for release within `window_secs` (across the whole fleet)
    /// are held.
    pub max_terminations: u64,
    pub window_secs: u64,
    /// Also held: cases that would make more than this share (percent) of a target's accounts
    /// leave within the window. Needs `accounts` for that target.
    pub max_share_percent: Option<f64>,
    /// How many accounts each target kind has (directory, saas, cloud, vault, cicd), for
    /// `max_share_percent`.
    pub accounts: BTreeMap<String, u64>,
    /// Who is told when a batch is held; the control owner `default` when unset.
    pub owner: Option<Owner>,
    /// Restores are grants: more restores (rescinds of cases whose access was revoked) than
    /// this asking within `window_secs` are held for a person, like a burst of terminations.
    pub max_restores: u64,
    /// A held batch nobody decided is escalated again to the guard's owner this often, so a
    /// held leaver is never forgotten.
    pub remind_after_secs: u64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            enabled: true,
            max_terminations: 25,
            window_secs: 600,
            max_share_percent: None,
            accounts: BTreeMap::new(),
            owner: None,
            max_restores: 10,
            remind_after_secs: 3600,
        }
    }
}

/// One step of an escalation path: the person told when an escalation to the control owner is
/// still unresolved `after_secs` after it was raised (the case neither closed nor rescinded, a
/// target it names still not verified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub name: String,
    pub contact: String,
    /// Seconds from the control owner's escalation (not from the previous step); steps of one
    /// path strictly increase.
    pub after_secs: u64,
}

impl EscalationStep {
    pub fn owner(&self) -> Owner {
        Owner {
            name: self.name.clone(),
            contact: self.contact.clone(),
        }
    }
}

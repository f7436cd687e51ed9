//! In-memory simulators of the five target kinds, for the demo and fast tests.
//!
//! Each identity's holdings are derived deterministically from its id, the target kind and a
//! seed, so the demo can predict which cases must close and which must escalate. Failures and
//! latency are injected from `SimulatorConfig`.

use super::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use revoke_shared::config::SimulatorConfig;
use revoke_shared::contract::{Identity, IdentityKind, ObjectEvidence, TargetKind};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone)]
struct SimObject {
    holding: Holding,
    revoked_at: Option<DateTime<Utc>>,
    /// Times the simulator changed this object's state (idempotency: must end at 1).
    actions: u32,
}

pub struct Simulator {
    kind: TargetKind,
    instance: String,
    principal: String,
    cfg: SimulatorConfig,
    state: Mutex<HashMap<String, Vec<SimObject>>>,
    ambiguous: Mutex<HashSet<String>>,
    /// Calls seen per (identity, object, operation), to fail flaky calls only on first try.
    calls: Mutex<HashMap<String, u32>>,
}

/// FNV-1a: a stable hash (std's hasher may change between Rust versions).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

fn unit(parts: &[&str]) -> f64 {
    (stable_hash(parts) % 1_000_000) as f64 / 1_000_000.0
}

impl Simulator {
    pub fn new(kind: TargetKind, cfg: SimulatorConfig) -> Simulator {
        Simulator::with_instance(kind, "simulated", cfg)
    }

    /// A simulator named as a configured target instance (`worker.instance`).
    pub fn with_instance(kind: TargetKind, instance: &str, cfg: SimulatorConfig) -> Simulator {
        Simulator {
            kind,
            instance: instance.to_string(),
            principal: format!("sim-{}-revoker", kind.as_str()),
            cfg,
            state: Mutex::new(HashMap::new()),
            ambiguous: Mutex::new(HashSet::new()),
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `identity` fails permanently on this target (the demo predicts escalations).
    pub fn fails_permanently(&self, identity_id: &str) -> bool {
        self.cfg.fail_rate > 0.0
            && unit(&[
                "fail",
                self.kind.as_str(),
                identity_id,
                &self.cfg.seed.to_string(),
            ]) < self.cfg.fail_rate
    }

    /// Makes lookups of `identity_id` match two principals (a test of `manual_required`).
    pub fn mark_ambiguous(&self, identity_id: &str) {
        self.ambiguous
            .lock()
            .unwrap()
            .insert(identity_id.to_string());
    }

    /// Per object id, how many times its state was changed.
    pub fn actions_for(&self, identity_id: &str) -> Vec<(String, u32)> {
        let state = self.state.lock().unwrap();
        state
            .get(identity_id)
            .map(|objs| {
                objs.iter()
                    .map(|o| (o.holding.object_id.clone(), o.actions))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True when every object the identity held here is revoked (or it held nothing).
    pub fn all_revoked(&self, identity_id: &str) -> bool {
        let state = self.state.lock().unwrap();
        state
            .get(identity_id)
            .is_none_or(|objs| objs.iter().all(|o| o.revoked_at.is_some()))
    }

    /// What a real system would hold for this identity; ~10% hold nothing here.
    fn seed_holdings(&self, who: &Identity) -> Vec<Holding> {
        let id = who.employee_id.as_str();
        let seed = self.cfg.seed.to_string();
        if unit(&["absent", self.kind.as_str(), id, &seed]) < 0.10 {
            return Vec::new();
        }
        let user = who.username.clone().unwrap_or_else(|| id.to_string());
        let h = |kind: &str, oid: String, action: &str, sponsored: bool| Holding {
            object_kind: kind.into(),
            object_id: oid,
            sponsored,
            action: action.into(),
        };
        let sponsors = who.kind == IdentityKind::Employee
            && unit(&["sponsor", self.kind.as_str(), id, &seed]) < 0.3;
        let mut out = match self.kind {
            TargetKind::Directory => vec![
                h("account", format!("uid={user},ou=people"), "lock", false),
                h(
                    "group_membership",
                    format!("cn=staff/uid={user}"),
                    "remove_membership",
                    false,
                ),
                h(
                    "group_membership",
                    format!("cn=vpn-users/uid={user}"),
                    "remove_membership",
                    false,
                ),
            ],
            TargetKind::Saas => vec![
                h("session", format!("{user}/sessions"), "revoke", false),
                h("account", format!("scim:{user}"), "deactivate", false),
                h(
                    "group_membership",
                    format!("scim-group:engineering/{user}"),
                    "remove_membership",
                    false,
                ),
            ],
            TargetKind::Cloud => vec![
                h(
                    "access_key",
                    format!(
                        "AKIA{:016X}",
                        stable_hash(&[id, "k1"]) & 0xFFFF_FFFF_FFFF_FFFF
                    ),
                    "deactivate",
                    false,
                ),
                h("login_profile", format!("iam-user:{user}"), "delete", false),
                h(
                    "group_membership",
                    format!("iam-group:developers/{user}"),
                    "remove_membership",
                    false,
                ),
            ],
            TargetKind::Vault => vec![
                h(
                    "token",
                    format!(
                        "accessor-{:012x}",
                        stable_hash(&[id, "t1"]) & 0xFFFF_FFFF_FFFF
                    ),
                    "revoke",
                    false,
                ),
                h("entity", format!("entity-{user}"), "disable", false),
                h("userpass_user", format!("userpass/{user}"), "delete", false),
            ],
            TargetKind::Cicd => vec![
                h(
                    "personal_access_token",
                    format!("pat-{:08x}", stable_hash(&[id, "pat"]) & 0xFFFF_FFFF),
                    "revoke",
                    false,
                ),
                h(
                    "ssh_key",
                    format!("key-{:08x}", stable_hash(&[id, "ssh"]) & 0xFFFF_FFFF),
                    "delete",
                    false,
                ),
                h("user", format!("gitlab-user:{user}"), "block", false),
            ],
        };
        if sponsors {
            out.push(h(
                "sponsored_credential",
                format!("svc-{user}-bot"),
                "revoke",
                true,
            ));
        }
        out
    }

    async fn delay(&self) {
        if self.cfg.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.cfg.latency_ms)).await;
        }
    }

    /// Fails the first attempt of a flaky call; later attempts pass.
    fn flake(&self, identity_id: &str, op: &str, object: &str) -> Result<(), TargetError> {
        if self.cfg.flaky_rate <= 0.0 {
            return Ok(());
        }
        let key = format!("{identity_id}\0{op}\0{object}");
        let mut calls = self.calls.lock().unwrap();
        let n = calls.entry(key).or_insert(0);
        *n += 1;
        if *n == 1
            && unit(&[
                "flaky",
                self.kind.as_str(),
                identity_id,
                op,
                object,
                &self.cfg.seed.to_string(),
            ]) < self.cfg.flaky_rate
        {
            return Err(TargetError::Transient(format!(
                "simulated 503 from {} on {op}",
                self.kind
            )));
        }
        Ok(())
    }

    fn check_permanent(&self, who: &Identity) -> Result<(), TargetError> {
        if self.fails_permanently(&who.employee_id) {
            return Err(TargetError::Permanent(format!(
                "simulated 403 from {}: the revoking principal may not modify this account",
                self.kind
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Target for Simulator {
    fn kind(&self) -> TargetKind {
        self.kind
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn principal(&self) -> &str {
        &self.principal
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.delay().await;
        self.check_permanent(who)?;
        self.flake(&who.employee_id, "discover", "")?;
        if self.ambiguous.lock().unwrap().contains(&who.employee_id) {
            return Err(TargetError::Ambiguous(format!(
                "lookup of {:?} matched 2 principals",
                who.employee_id
            )));
        }
        let seeded = self.seed_holdings(who);
        let mut state = self.state.lock().unwrap();
        let objs = state.entry(who.employee_id.clone()).or_insert_with(|| {
            seeded
                .into_iter()
                .map(|holding| SimObject {
                    holding,
                    revoked_at: None,
                    actions: 0,
                })
                .collect()
        });
        Ok(objs.iter().map(|o| o.holding.clone()).collect())
    }

    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        self.delay().await;
        self.flake(&who.employee_id, "revoke", &what.object_id)?;
        let mut state = self.state.lock().unwrap();
        let obj = state.get_mut(&who.employee_id).and_then(|objs| {
            objs.iter_mut()
                .find(|o| o.holding.object_id == what.object_id)
        });
        match obj {
            None => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            Some(o) if o.revoked_at.is_some() => Ok(RevokeResult::AlreadyAbsent {
                removed_at: o.revoked_at,
            }),
            Some(o) => {
                let now = Utc::now();
                o.revoked_at = Some(now);
                o.actions += 1;
                Ok(RevokeResult::Revoked {
                    removed_at: Some(now),
                })
            }
        }
    }

    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        self.delay().await;
        self.flake(&who.employee_id, "verify", &what.object_id)?;
        let state = self.state.lock().unwrap();
        let obj = state
            .get(&who.employee_id)
            .and_then(|objs| objs.iter().find(|o| o.holding.object_id == what.object_id));
        Ok(match obj {
            None => ReadBack {
                gone: true,
                detail: "not found".into(),
                removed_at: None,
            },
            Some(o) => match o.revoked_at {
                Some(at) => ReadBack {
                    gone: true,
                    detail: format!("{} is {}", what.object_kind, past_tense(&what.action)),
                    removed_at: Some(at),
                },
                None => ReadBack {
                    gone: false,
                    detail: format!("{} still active", what.object_kind),
                    removed_at: None,
                },
            },
        })
    }

    /// Undoes the reversible actions (as the real adapters do); deletes and revocations stay.
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        self.delay().await;
        self.flake(&who.employee_id, "restore", &ev.object_id)?;
        if !is_reversible(&ev.action) {
            return Ok(RestoreResult::Irreversible {
                reason: format!(
                    "{} {} cannot be undone",
                    ev.object_kind,
                    past_tense(&ev.action)
                ),
            });
        }
        let mut state = self.state.lock().unwrap();
        let obj = state.get_mut(&who.employee_id).and_then(|objs| {
            objs.iter_mut()
                .find(|o| o.holding.object_id == ev.object_id)
        });
        match obj {
            None => Ok(RestoreResult::Irreversible {
                reason: format!("{} {} no longer exists", ev.object_kind, ev.object_id),
            }),
            Some(o) if o.revoked_at.is_none() => Ok(RestoreResult::AlreadyPresent),
            Some(o) => {
                o.revoked_at = None;
                o.actions += 1;
                Ok(RestoreResult::Restored {
                    restored_at: Some(Utc::now()),
                })
            }
        }
    }
}

/// Actions a simulated target can undo (the same set the real adapters undo).
fn is_reversible(action: &str) -> bool {
    matches!(
        action,
        "lock" | "remove_membership" | "deactivate" | "disable" | "block"
    )
}

fn past_tense(action: &str) -> &'static str {
    match action {
        "lock" => "locked",
        "remove_membership" => "removed",
        "deactivate" => "inactive",
        "delete" => "deleted",
        "disable" => "disabled",
        "block" => "blocked",
        _ => "revoked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: &str) -> Identity {
        Identity {
            employee_id: id.into(),
            email: None,
            username: Some(format!("u{id}")),
            kind: IdentityKind::Employee,
        }
    }

    #[tokio::test]
    async fn revoke_is_idempotent_and_verifiable() {
        let sim = Simulator::new(TargetKind::Vault, SimulatorConfig::default());
        let w = who("E7");
        let hs = sim.discover(&w).await.unwrap();
        for h in &hs {
            assert!(!sim.verify(&w, h).await.unwrap().gone);
            assert!(matches!(
                sim.revoke(&w, h).await.unwrap(),
                RevokeResult::Revoked { .. }
            ));
            assert!(matches!(
                sim.revoke(&w, h).await.unwrap(),
                RevokeResult::AlreadyAbsent {
                    removed_at: Some(_)
                }
            ));
            assert!(sim.verify(&w, h).await.unwrap().gone);
        }
        assert!(sim.actions_for("E7").iter().all(|(_, n)| *n == 1));
        assert!(sim.all_revoked("E7"));
    }

    #[tokio::test]
    async fn injected_failures_are_deterministic() {
        let cfg = SimulatorConfig {
            fail_rate: 0.5,
            ..Default::default()
        };
        let sim = Simulator::new(TargetKind::Cloud, cfg.clone());
        let failing: Vec<_> = (0..100)
            .map(|i| format!("E{i}"))
            .filter(|i| sim.fails_permanently(i))
            .collect();
        assert!(
            failing.len() > 30 && failing.len() < 70,
            "{}",
            failing.len()
        );
        let again = Simulator::new(TargetKind::Cloud, cfg);
        assert!(failing.iter().all(|i| again.fails_permanently(i)));
    }

    #[tokio::test]
    async fn flaky_calls_pass_on_retry() {
        let sim = Simulator::new(
            TargetKind::Saas,
            SimulatorConfig {
                flaky_rate: 1.0,
                ..Default::default()
            },
        );
        let w = who("E1");
        assert!(matches!(
            sim.discover(&w).await,
            Err(TargetError::Transient(_))
        ));
        assert!(sim.discover(&w).await.is_ok());
    }
}

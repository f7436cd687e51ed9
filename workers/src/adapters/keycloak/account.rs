//! The account's step, first in the revocation order (`held_now` says why): the user is disabled,
//! then whatever it holds that discovery did not list — a sign-in, refresh or offline grant made
//! between discovery and the disable — is ended on the spot (each session deleted, each consent
//! revoked), so a retry converges. Its read-back re-reads the user, its sessions, offline sessions
//! and consents, and is gone only when the user is disabled and nothing is held beyond what
//! discovery listed.
//!
//! What discovery listed is remembered per user (`Discoveries`) between the discovery and the
//! account's step of a run, which happen in one process: every run discovers first. With nothing
//! remembered (another process, e.g. a re-verification of a closed case) nothing counts as
//! listed: any session, offline session or consent keeps the account's read-back not gone.

use super::held_now::{account_read_back, HeldNow};
use super::KeycloakTarget;
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Users remembered at most; past it the memory starts over (then every read-back is strict).
const REMEMBERED: usize = 10_000;

/// What discovery listed for one user, and what the account's step ended beyond it.
#[derive(Debug, Clone, Default)]
struct Discovered {
    listed: HeldNow,
    /// In words (`session <id>`, …), for the read-back's detail.
    swept: Vec<String>,
}

/// The last discovery of each user, by user id.
#[derive(Debug, Default)]
pub(super) struct Discoveries(Mutex<HashMap<String, Discovered>>);

impl Discoveries {
    pub(super) fn remember(&self, uid: &str, listed: HeldNow) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= REMEMBERED && !m.contains_key(uid) {
            m.clear();
        }
        m.insert(
            uid.to_string(),
            Discovered {
                listed,
                swept: Vec::new(),
            },
        );
    }

    fn get(&self, uid: &str) -> Discovered {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(uid).cloned().unwrap_or_default()
    }

    fn swept(&self, uid: &str, swept: &[String]) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(uid.to_string())
            .or_default()
            .swept
            .extend_from_slice(swept);
    }

    fn forget(&self, uid: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(uid);
    }
}

/// The clients whose offline sessions discovery listed or whose consents it saw: read again
/// even when they no longer appear in the consents.
fn clients_of(listed: &HeldNow) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = listed.consents.clone();
    out.extend(listed.offline.iter().map(|(c, _)| c.clone()));
    out
}

impl KeycloakTarget {
    /// Disables user `uid`, then ends what it holds that discovery did not list. `Revoked` when
    /// either changed anything; the time is the answer's `Date` of the disable, else of the first
    /// sweep.
    pub(super) async fn revoke_account(
        &self,
        uid: &str,
        doing: &str,
    ) -> Result<RevokeResult, TargetError> {
        let Some((disabled, mut at)) = self.set_enabled(&["users", uid], false, doing).await?
        else {
            return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
        };
        let known = self.discoveries.get(uid);
        let now = self
            .read_held(uid, &clients_of(&known.listed), doing)
            .await?
            .unwrap_or_default();
        let extra = now.unlisted(&known.listed);
        let mut swept = Vec::new();
        for s in &extra.sessions {
            let a = self.delete(self.url(&["sessions", s]), doing).await?;
            at = at.or(a.and_then(|a| a.date()));
            swept.push(format!("session {s}"));
        }
        for (c, s) in &extra.offline {
            let mut url = self.url(&["sessions", s]);
            url.query_pairs_mut().append_pair("isOffline", "true");
            let a = self.delete(url, doing).await?;
            at = at.or(a.and_then(|a| a.date()));
            swept.push(format!("offline session {c}/{s}"));
        }
        for c in &extra.consents {
            // A client deleted meanwhile took its consents with it.
            if let Some(client_id) = self.client_id_of(c, doing).await? {
                let a = self
                    .delete(self.url(&["users", uid, "consents", &client_id]), doing)
                    .await?;
                at = at.or(a.and_then(|a| a.date()));
                swept.push(format!("consent {c}"));
            }
        }
        self.discoveries.swept(uid, &swept);
        Ok(if disabled || !swept.is_empty() {
            RevokeResult::Revoked { removed_at: at }
        } else {
            RevokeResult::AlreadyAbsent { removed_at: None }
        })
    }

    /// Reads user `uid` back: disabled, and holding nothing discovery did not list.
    pub(super) async fn verify_account(
        &self,
        uid: &str,
        doing: &str,
    ) -> Result<ReadBack, TargetError> {
        let known = self.discoveries.get(uid);
        let user = self.get_opt(&["users", uid], &[], doing).await?;
        let now = match &user {
            Some(_) => {
                self.read_held(uid, &clients_of(&known.listed), doing)
                    .await?
            }
            None => None,
        };
        let rb = match now {
            Some(now) => {
                let extra = now.unlisted(&known.listed);
                let left = now.len() - extra.len();
                account_read_back(uid, user.as_ref(), left, &extra, &known.swept)
            }
            // Deleted between the two reads: gone.
            None => account_read_back(uid, None, 0, &HeldNow::default(), &known.swept),
        };
        if rb.gone {
            self.discoveries.forget(uid);
        }
        Ok(rb)
    }
}

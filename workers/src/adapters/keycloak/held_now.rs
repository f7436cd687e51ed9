//! What a user holds at Keycloak at one moment — its online sessions, offline sessions (per
//! client) and consents (`HeldNow`) — the holdings discovery makes of it, in revocation order,
//! what of it a later read finds that discovery did not list (`unlisted`), and the account's
//! read-back decision over that (`account_read_back`). Pure: the requests are in `account` and
//! `discover`.
//!
//! Why the account is revoked first and its read-back looks at sessions: disabling ends no
//! session, it only refuses every new one ("User disabled"). A sign-in (or an offline grant)
//! between discovery and the disable would leave a session the evidence does not list, alive
//! again the moment anyone re-enables the account. Disabled first, no session can start after
//! it; the account's step then ends whatever appeared since discovery, and its read-back is gone
//! only when every session still listed is one discovery listed (each its own holding, ended and
//! read back by its own step next).

use super::objects::KeycloakObject;
use crate::adapters::ReadBack;
use serde_json::Value;
use std::collections::BTreeSet;

/// A user's sessions and grants as read at one moment (ids only; client UUIDs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldNow {
    /// Online (SSO) session ids.
    pub sessions: BTreeSet<String>,
    /// Offline sessions: (client UUID, session id).
    pub offline: BTreeSet<(String, String)>,
    /// Clients the user consented to or holds offline tokens for (UUIDs).
    pub consents: BTreeSet<String>,
}

impl HeldNow {
    /// What `self` (read now) holds that `listed` (discovery) did not.
    pub fn unlisted(&self, listed: &HeldNow) -> HeldNow {
        HeldNow {
            sessions: self
                .sessions
                .difference(&listed.sessions)
                .cloned()
                .collect(),
            offline: self.offline.difference(&listed.offline).cloned().collect(),
            consents: self
                .consents
                .difference(&listed.consents)
                .cloned()
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.offline.is_empty() && self.consents.is_empty()
    }

    /// How many things it names.
    pub fn len(&self) -> usize {
        self.sessions.len() + self.offline.len() + self.consents.len()
    }

    /// Each thing it names, in words: `session <id>`, `offline session <client>/<id>`,
    /// `consent <client>`.
    pub fn named(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .sessions
            .iter()
            .map(|s| format!("session {s}"))
            .collect();
        out.extend(
            self.offline
                .iter()
                .map(|(c, s)| format!("offline session {c}/{s}")),
        );
        out.extend(self.consents.iter().map(|c| format!("consent {c}")));
        out
    }
}

/// The holdings of user `uid` in revocation order: the account first (when the adapter disables
/// users), so no session can start once revocation began; then each online session, each offline
/// session, each consent; then the sponsored clients.
pub fn holdings_in_order(
    uid: &str,
    held: &HeldNow,
    sponsored: Vec<String>,
    disable_user: bool,
) -> Vec<KeycloakObject> {
    let user = || uid.to_string();
    let mut out = Vec::new();
    if disable_user {
        out.push(KeycloakObject::Account { user: user() });
    }
    out.extend(held.sessions.iter().map(|s| KeycloakObject::Session {
        user: user(),
        session: s.clone(),
    }));
    out.extend(
        held.offline
            .iter()
            .map(|(c, s)| KeycloakObject::OfflineSession {
                user: user(),
                client: c.clone(),
                session: s.clone(),
            }),
    );
    out.extend(held.consents.iter().map(|c| KeycloakObject::Consent {
        user: user(),
        client: c.clone(),
    }));
    out.extend(
        sponsored
            .into_iter()
            .map(|client| KeycloakObject::Client { client }),
    );
    out
}

/// The account's read-back: gone when the user is `enabled: false` and holds nothing discovery
/// did not list (`unlisted`); a user deleted (`user` is `None`) is gone. `swept` names what the
/// account's step ended that discovery had not listed, so the evidence names it too.
pub fn account_read_back(
    uid: &str,
    user: Option<&Value>,
    listed_left: usize,
    unlisted: &HeldNow,
    swept: &[String],
) -> ReadBack {
    let Some(user) = user else {
        return ReadBack {
            gone: true,
            detail: format!("GET /users/{uid}: 404, user deleted"),
            removed_at: None,
        };
    };
    let disabled = user["enabled"].as_bool() == Some(false);
    let mut detail = format!("GET /users/{uid}: enabled={}", user["enabled"]);
    if unlisted.is_empty() {
        detail.push_str(&format!(
            "; its sessions, offline sessions and consents: {listed_left} left, all listed at discovery (each its own holding)"
        ));
    } else {
        detail.push_str(&format!(
            "; not listed at discovery and still live: {}",
            unlisted.named().join(", ")
        ));
    }
    if !swept.is_empty() {
        detail.push_str(&format!(
            "; ended with the disable, not listed at discovery: {}",
            swept.join(", ")
        ));
    }
    ReadBack {
        gone: disabled && unlisted.is_empty(),
        detail,
        removed_at: None,
    }
}

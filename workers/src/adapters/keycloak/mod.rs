//! A `directory` instance that is an identity provider: Keycloak over its admin REST API
//! (`[targets.directory.<name>] adapter = "keycloak"`), acting as the service account of a
//! confidential client (client credentials grant; the secret from env or file, never logged).
//!
//! - Token: `POST /realms/{realm}/protocol/openid-connect/token` (`client_credentials`), cached
//!   until 30 s before it expires (halfway, for short lives) and fetched again once on a 401.
//! - Lookup: `GET /admin/realms/{realm}/users?username=<u>&exact=true` (Keycloak lowercases
//!   usernames), `email=<e>&exact=true`, or `q=<attribute>:<employee id>&exact=true` for the
//!   attribute `match_attribute` names (Keycloak's user profile must declare it, or it drops it).
//!   Every returned user is re-checked client-side (non-exact searches are prefix matches: `bob`
//!   finds `bob.smith`); none → nothing held; several → `Ambiguous`. The revoker's own
//!   service-account user and client are never revoked.
//! - Holdings, in revocation order (`held_now::holdings_in_order`):
//!   - `account` `users/<uid>` — disabled FIRST (`disable_user`, default true): the user is read
//!     and `PUT /users/{id}` back with `enabled: false` (the whole representation, so the user
//!     profile keeps its attributes). Disabling ends no session, but from then on every sign-in,
//!     refresh and offline grant is refused "User disabled": no session can start after it. The
//!     same step then ends what the user holds that discovery did not list — a sign-in made
//!     between discovery and the disable (each such session deleted, offline ones too, each such
//!     consent revoked) — so a retry converges (`account`).
//!   - `session` `users/<uid>/sessions/<sid>` — each online SSO session, `GET /users/{id}/sessions`
//!     (online sessions only). Deleted one by one with `DELETE /sessions/{sid}` (not
//!     `POST /users/{id}/logout`: each session is its own object in the evidence, and logout
//!     leaves offline sessions anyway). The session is re-read from the user's list before the
//!     delete, so an id that is not this user's is never deleted. Irreversible.
//!   - `offline_session` `users/<uid>/offline-sessions/<client uuid>/<sid>` — each offline session
//!     (an offline refresh token), listed per client at `GET /users/{id}/offline-sessions/{uuid}`
//!     for the clients in the user's consents (`GET /users/{id}/consents` also names clients that
//!     hold only offline tokens) and in its online sessions. Deleted with
//!     `DELETE /sessions/{sid}?isOffline=true`. Irreversible.
//!   - `consent` `users/<uid>/consents/<client uuid>` — each consent or offline grant,
//!     `DELETE /users/{id}/consents/{clientId}` (Keycloak wants the `clientId`, read from the
//!     client's UUID): it ends the client's offline sessions and their refresh tokens.
//!     Irreversible (the person consents again at the next sign-in).
//!   - sponsored `service_account_client` `clients/<uuid>` — every client with service accounts
//!     whose `sponsor_attribute` (default `owner`) names the person (username, email, employee id,
//!     or one entry of a comma-separated list). Keycloak refuses attribute searches on clients,
//!     so all clients are read (`GET /clients?first=&max=`) and filtered here. Disabled:
//!     the representation is read and `PUT /clients/{uuid}` back with `enabled: false`.
//! - Verify: the session no longer in `/users/{id}/sessions`; the offline session no longer in
//!   the client's offline list; the consent no longer in `/users/{id}/consents` and the client's
//!   offline sessions empty; the client `enabled: false`; the user `enabled: false` AND holding
//!   no session, offline session or consent that discovery did not list (the detail names any
//!   such by id; with no discovery remembered in this process — a re-verification — nothing
//!   counts as listed, so any session keeps the account not gone). A 404 (user or client
//!   deleted) is gone. With `disable_user = false` nothing stops a sign-in after discovery: the
//!   watch (`sign_ins_since`) is then the only one to see it.
//! - Restore: the account and sponsored clients are re-enabled, only after re-checking they are
//!   the person's (the lookup resolves to the same user id; the client's owner attribute still
//!   names the person) — else `Refused`. Sessions, offline sessions and consents are
//!   `Irreversible`: the person signs in (and consents) again.
//! - Times: Keycloak's answers carry no removal time in their body; `removed_at` is the
//!   server's `Date` header of the answer that revoked the object.
//!
//! - Sign-ins after departure (`sign_ins_since`, for the watch; `watch_sign_ins`, default true):
//!   the realm's user events of the user the identity resolves to now,
//!   `GET /events?type=LOGIN&type=CODE_TO_TOKEN&type=REFRESH_TOKEN&…&user=<uid>&dateFrom=<day>`,
//!   newest first, page by page; `dateFrom` is a day in the server's zone, so the events are
//!   filtered by their `time` here (`events`). No such user → none. The realm must store login
//!   events (`eventsEnabled`, those types enabled) for at least the watch's length.
//!
//! Least privilege: the client's service account needs the `realm-management` roles
//! `query-users`, `view-users`, `manage-users` (sessions, consents, disabling),
//! `view-clients`, `manage-clients` (the revoker's own client at start, sponsored clients) and
//! `view-events` (the sign-in watch).
//!
//! Config: its keys, defaults and meanings are `settings::Settings`.
//!
//! ```toml
//! [targets.directory.sso]
//! adapter = "keycloak"
//! base_url = "https://sso.example.com"
//! realm = "corp"
//! client_id = "revoke-admin"
//! client_secret_env = "REVOKE_KEYCLOAK_SECRET"   # or client_secret_file
//! match_attribute = "username"                   # | email | <user attribute holding the employee id>
//! disable_user = true
//! sponsor_attribute = "owner"
//! watch_sign_ins = true
//! timeout_ms = 10000
//! ```
//!
//! Where things are: `settings` reads the table, `objects` names what a user holds and the pure
//! checks, `held_now` the user's sessions and grants at one moment, the revocation order and the
//! account's read-back decision, `client` the token and the requests, `discovery` finds the user,
//! what it holds, the revoker's own accounts and sponsored clients, `account` the account's step
//! (disable, sweep, read back), `restore` gives back what can be, `events` and `sign_ins` read
//! sign-ins for the watch; this file holds the adapter and
//! its answers to the contract (`Adapter`).

mod account;
mod client;
mod discovery;
mod events;
#[cfg(test)]
mod events_tests;
mod held_now;
#[cfg(test)]
mod held_now_tests;
mod objects;
mod restore;
pub(crate) mod settings;
mod sign_ins;
#[cfg(test)]
mod tests;

pub use client::{token_usable, usable_until};
pub use objects::{
    owner_names_person, record_matches, segment_ok, sponsored_client, KeycloakObject,
};
pub use settings::MatchAttribute;

use super::{
    Adapter, Held, ObjectRef, Principal, ReadBack, RestoreResult, RevokeResult, SignIn, TargetError,
};
use async_trait::async_trait;
use held_now::holdings_in_order;
use objects::session_ids;
use reqwest::Url;
use revoke_shared::contract::{Identity, ObjectEvidence, TargetKind};
use revoke_shared::secret::Secret;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub struct KeycloakTarget {
    instance: String,
    realm: String,
    /// `<base_url>/realms/<realm>/protocol/openid-connect/token`.
    token_url: Url,
    /// `<base_url>/admin/realms/<realm>`.
    admin: Url,
    client_id: String,
    client_secret: Secret,
    match_attribute: MatchAttribute,
    disable_user: bool,
    sponsor_attribute: String,
    /// Read the user's sign-in events for the watch after a case closes.
    watch_sign_ins: bool,
    http: reqwest::Client,
    /// Configured principal, or the service account's username read by `resolve_principal`.
    principal: Principal,
    /// The service account's access token, while usable.
    token: tokio::sync::Mutex<Option<client::Cached>>,
    /// The service account's user id: never revoked.
    self_user: OnceLock<String>,
    /// The revoker's own client's UUID: never disabled.
    self_client: OnceLock<String>,
    /// What the last discovery of each user listed, for its account's step (`account`).
    discoveries: account::Discoveries,
    /// The client-side rate limit every request passes (`limit`), when configured.
    gate: Option<std::sync::Arc<super::limit::RateGate>>,
}

impl std::fmt::Debug for KeycloakTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeycloakTarget")
            .field("instance", &self.instance)
            .field("admin", &self.admin.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("match_attribute", &self.match_attribute)
            .field("disable_user", &self.disable_user)
            .field("sponsor_attribute", &self.sponsor_attribute)
            .field("watch_sign_ins", &self.watch_sign_ins)
            .field("principal", &self.principal.get())
            .finish()
    }
}

impl KeycloakTarget {
    /// What a call on `obj` is doing, for its errors: `delete session users/u/sessions/s on keycloak sso`.
    fn doing(&self, verb: &str, obj: &KeycloakObject) -> String {
        format!(
            "{verb} {} {} on keycloak {}",
            obj.kind(),
            obj.id(),
            self.instance
        )
    }

    /// The session ids listed at `segments` (online or one client's offline list); `None` when
    /// the user (or client) is gone.
    async fn listed(
        &self,
        segments: &[&str],
        what: &str,
    ) -> Result<Option<Vec<String>>, TargetError> {
        Ok(self.get_list(segments, &[], what).await?.map(|items| {
            session_ids(&Value::Array(items))
                .into_iter()
                .map(str::to_string)
                .collect()
        }))
    }

    /// The `clientId` of the client with this UUID; `None` when the client is gone.
    async fn client_id_of(&self, uuid: &str, what: &str) -> Result<Option<String>, TargetError> {
        Ok(self
            .get_opt(&["clients", uuid], &[], what)
            .await?
            .and_then(|c| c["clientId"].as_str().map(str::to_string)))
    }

    /// Sets `enabled` on a user or client by reading its representation and putting it back
    /// with only that field changed. `None` when it is gone; `Some(false)` when it already was.
    async fn set_enabled(
        &self,
        segments: &[&str],
        enabled: bool,
        what: &str,
    ) -> Result<Option<(bool, Option<chrono::DateTime<chrono::Utc>>)>, TargetError> {
        let Some(mut rep) = self.get_opt(segments, &[], what).await? else {
            return Ok(None);
        };
        if rep["enabled"].as_bool() == Some(enabled) {
            return Ok(Some((false, None)));
        }
        let Some(obj) = rep.as_object_mut() else {
            return Err(TargetError::Permanent(format!(
                "{what}: the representation is not an object"
            )));
        };
        obj.insert("enabled".into(), Value::Bool(enabled));
        // A client's secret is never sent back (Keycloak keeps it when the field is absent).
        obj.remove("secret");
        Ok(self
            .put(segments, &rep, what)
            .await?
            .map(|a| (true, a.date())))
    }
}

fn gone(detail: String) -> ReadBack {
    ReadBack {
        gone: true,
        detail,
        removed_at: None,
    }
}

fn present(detail: String) -> ReadBack {
    ReadBack {
        gone: false,
        detail,
        removed_at: None,
    }
}

#[async_trait]
impl Adapter for KeycloakTarget {
    const KIND: TargetKind = TargetKind::Directory;
    type Object = KeycloakObject;

    fn names(&self) -> (&str, &str) {
        (&self.instance, self.principal.get())
    }

    async fn discover(&self, who: &Identity) -> Result<Vec<Held<KeycloakObject>>, TargetError> {
        self.resolve_principal().await?;
        let Some(user) = self.find_user(who).await? else {
            return Ok(Vec::new());
        };
        let uid = user["id"].as_str().unwrap_or_default().to_string();
        if !segment_ok(&uid) {
            return Err(TargetError::Ambiguous(format!(
                "Keycloak user {uid:?} on {} has an id this adapter cannot name",
                self.instance
            )));
        }
        let what = format!(
            "listing the holdings of Keycloak user {uid} on {}",
            self.instance
        );
        let held = self
            .read_held(&uid, &BTreeSet::new(), &what)
            .await?
            .unwrap_or_default();
        let sponsored = self.sponsored_clients(who, &user).await?;
        let objects = holdings_in_order(&uid, &held, sponsored, self.disable_user);
        if let Some(bad) = objects
            .iter()
            .find(|o| KeycloakObject::parse(o.kind(), &o.id()).as_ref() != Some(*o))
        {
            return Err(TargetError::Ambiguous(format!(
                "{what}: {} {:?} has an id this adapter cannot name",
                bad.kind(),
                bad.id()
            )));
        }
        self.discoveries.remember(&uid, held);
        Ok(objects.into_iter().map(KeycloakObject::held).collect())
    }

    async fn revoke(
        &self,
        _who: &Identity,
        what: &Held<KeycloakObject>,
    ) -> Result<RevokeResult, TargetError> {
        let obj = &what.object;
        let doing = self.doing(obj.action(), obj);
        if let Some(u) = obj.user() {
            self.refuse_self(u, obj.action())?;
        }
        let done = |a: Option<crate::adapters::http::Answer>| match a {
            Some(a) => RevokeResult::Revoked {
                removed_at: a.date(),
            },
            None => RevokeResult::AlreadyAbsent { removed_at: None },
        };
        match obj {
            KeycloakObject::Session { user, session } => {
                let listed = self
                    .listed(&["users", user, "sessions"], &doing)
                    .await?
                    .unwrap_or_default();
                if !listed.contains(session) {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                Ok(done(
                    self.delete(self.url(&["sessions", session]), &doing)
                        .await?,
                ))
            }
            KeycloakObject::OfflineSession {
                user,
                client,
                session,
            } => {
                let listed = self
                    .listed(&["users", user, "offline-sessions", client], &doing)
                    .await?
                    .unwrap_or_default();
                if !listed.contains(session) {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                }
                let mut url = self.url(&["sessions", session]);
                url.query_pairs_mut().append_pair("isOffline", "true");
                Ok(done(self.delete(url, &doing).await?))
            }
            KeycloakObject::Consent { user, client } => {
                let Some(client_id) = self.client_id_of(client, &doing).await? else {
                    return Ok(RevokeResult::AlreadyAbsent { removed_at: None });
                };
                // 404: neither a consent nor an offline token is left for the client.
                Ok(done(
                    self.delete(self.url(&["users", user, "consents", &client_id]), &doing)
                        .await?,
                ))
            }
            KeycloakObject::Client { client } => {
                if self.self_client.get() == Some(client) {
                    return Err(TargetError::Permanent(format!(
                        "{doing}: refusing to disable the revoker's own client"
                    )));
                }
                Ok(
                    match self
                        .set_enabled(&["clients", client], false, &doing)
                        .await?
                    {
                        Some((true, at)) => RevokeResult::Revoked { removed_at: at },
                        _ => RevokeResult::AlreadyAbsent { removed_at: None },
                    },
                )
            }
            KeycloakObject::Account { user } => self.revoke_account(user, &doing).await,
        }
    }

    async fn verify(
        &self,
        _who: &Identity,
        what: &Held<KeycloakObject>,
    ) -> Result<ReadBack, TargetError> {
        let obj = &what.object;
        let doing = self.doing("reading back", obj);
        match obj {
            KeycloakObject::Session { user, session } => {
                Ok(match self.listed(&["users", user, "sessions"], &doing).await? {
                    None => gone(format!("GET /users/{user}/sessions: 404, user deleted")),
                    Some(l) if l.contains(session) => present(format!("GET /users/{user}/sessions: session {session} still listed")),
                    Some(l) => gone(format!("GET /users/{user}/sessions: session {session} not listed ({} online sessions left)", l.len())),
                })
            }
            KeycloakObject::OfflineSession { user, client, session } => {
                let path = format!("GET /users/{user}/offline-sessions/{client}");
                Ok(match self.listed(&["users", user, "offline-sessions", client], &doing).await? {
                    None => gone(format!("{path}: 404, user or client deleted")),
                    Some(l) if l.contains(session) => present(format!("{path}: offline session {session} still listed")),
                    Some(_) => gone(format!("{path}: offline session {session} not listed")),
                })
            }
            KeycloakObject::Consent { user, client } => {
                let Some(client_id) = self.client_id_of(client, &doing).await? else {
                    return Ok(gone(format!("GET /clients/{client}: 404, client deleted with its consents")));
                };
                let consents = self.get_list(&["users", user, "consents"], &[], &doing).await?;
                let Some(consents) = consents else {
                    return Ok(gone(format!("GET /users/{user}/consents: 404, user deleted")));
                };
                if consents.iter().any(|c| c["clientId"].as_str() == Some(client_id.as_str())) {
                    return Ok(present(format!("GET /users/{user}/consents: {client_id:?} still listed")));
                }
                let offline = self
                    .listed(&["users", user, "offline-sessions", client], &doing)
                    .await?
                    .unwrap_or_default();
                Ok(if offline.is_empty() {
                    gone(format!("GET /users/{user}/consents: {client_id:?} not listed; GET /users/{user}/offline-sessions/{client}: empty"))
                } else {
                    present(format!("GET /users/{user}/offline-sessions/{client}: {} offline sessions still listed", offline.len()))
                })
            }
            KeycloakObject::Account { user } => self.verify_account(user, &doing).await,
            KeycloakObject::Client { client } => Ok(match self.get_opt(&["clients", client], &[], &doing).await? {
                None => gone(format!("GET /clients/{client}: 404, client deleted")),
                Some(c) => ReadBack {
                    gone: c["enabled"].as_bool() == Some(false),
                    detail: format!("GET /clients/{client}: clientId={}, enabled={}", c["clientId"], c["enabled"]),
                    removed_at: None,
                },
            }),
        }
    }

    /// Re-enables the account and sponsored clients, each only after re-checking it is the
    /// person's; sessions, offline sessions and consents cannot come back.
    async fn restore(
        &self,
        who: &Identity,
        obj: &KeycloakObject,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        match (obj, ev.action.as_str()) {
            (KeycloakObject::Account { user }, "disable") => {
                if let Some(refusal) = self.not_owned(who, user).await? {
                    return Ok(refusal);
                }
                self.restore_enabled(&["users", user], "user").await
            }
            (KeycloakObject::Client { client }, "disable") => {
                if let Some(refusal) = self.client_not_owned(who, client).await? {
                    return Ok(refusal);
                }
                self.restore_enabled(&["clients", client], "client").await
            }
            (KeycloakObject::Session { .. } | KeycloakObject::OfflineSession { .. } | KeycloakObject::Consent { .. }, _) => {
                Ok(RestoreResult::Irreversible {
                    reason: format!(
                        "{} {} was ended on keycloak {}; a session or consent cannot be revived, the person signs in (and consents) again",
                        obj.kind(),
                        obj.id(),
                        self.instance
                    ),
                })
            }
            (_, action) => Ok(RestoreResult::Irreversible {
                reason: format!("keycloak {} cannot undo {action} of {}", self.instance, obj.kind()),
            }),
        }
    }

    /// The person's successful sign-ins and token uses Keycloak recorded since `since` (its user
    /// events, `sign_ins`); `None` with `watch_sign_ins = false`.
    async fn sign_ins_since(
        &self,
        who: &Identity,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        self.sign_ins(who, since).await
    }
}

//! Finding the person on Keycloak: the revoker's own service-account user and client (never
//! revoked), the one user an identity names (exact search, re-checked client-side, several is
//! ambiguous), a client's UUID from its `clientId`, and the service-account clients whose owner
//! attribute names the person.

use super::held_now::HeldNow;
use super::objects::{record_matches, session_clients, session_ids, sponsored_client};
use super::{KeycloakTarget, MatchAttribute};
use crate::adapters::{owner_names, TargetError};
use revoke_shared::contract::Identity;
use serde_json::Value;
use std::collections::BTreeSet;

impl KeycloakTarget {
    /// Gets a token (a refused secret is a configuration error at start-up), then reads the
    /// revoker's client (`GET /clients?clientId=`) and its service-account user
    /// (`GET /clients/{uuid}/service-account-user`): both are never revoked, and the user's
    /// username is the principal unless one is configured.
    pub async fn resolve_principal(&self) -> Result<&str, TargetError> {
        if self.self_user.get().is_none() {
            let what = format!(
                "reading the revoker's client {:?} and its service account on keycloak {}",
                self.client_id, self.instance
            );
            let Some(uuid) = self.client_uuid(&self.client_id, &what).await? else {
                return Err(TargetError::Permanent(format!(
                    "{what}: no client {:?} in realm {:?}",
                    self.client_id, self.realm
                )));
            };
            let user = self
                .get_opt(&["clients", &uuid, "service-account-user"], &[], &what)
                .await?
                .unwrap_or(Value::Null);
            let (Some(id), Some(username)) = (user["id"].as_str(), user["username"].as_str())
            else {
                return Err(TargetError::Permanent(format!(
                    "{what}: the client has no service-account user (enable service accounts on it)"
                )));
            };
            self.principal.learn(username.to_string());
            let _ = self.self_client.set(uuid);
            let _ = self.self_user.set(id.to_string());
        }
        Ok(self.principal.get())
    }

    /// The UUID of the client whose `clientId` is exactly `client_id`; `None` when there is none.
    pub(super) async fn client_uuid(
        &self,
        client_id: &str,
        what: &str,
    ) -> Result<Option<String>, TargetError> {
        let found: Vec<String> = self
            .get_list(
                &["clients"],
                &[("clientId", client_id), ("search", "false")],
                what,
            )
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["clientId"].as_str() == Some(client_id))
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ => Err(TargetError::Ambiguous(format!(
                "{what}: {} clients have clientId {client_id:?}",
                found.len()
            ))),
        }
    }

    /// The identity's value for the configured attribute; `None` when Keycloak could not hold
    /// it (nothing is sent). An employee id `q=` cannot carry (spaces) is an error, not "absent".
    fn lookup_value<'a>(&self, who: &'a Identity) -> Result<Option<&'a str>, TargetError> {
        let v = match &self.match_attribute {
            MatchAttribute::Username => who.username.as_deref(),
            MatchAttribute::Email => who.email.as_deref(),
            MatchAttribute::Attribute(_) => Some(who.employee_id.as_str()),
        };
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            return Err(TargetError::Permanent(format!(
                "identity {} has no {} to look up on keycloak {} (match_attribute)",
                who.employee_id,
                self.match_attribute.name(),
                self.instance
            )));
        };
        if v.chars().any(char::is_control) {
            return Ok(None);
        }
        match &self.match_attribute {
            MatchAttribute::Attribute(a) if v.chars().any(char::is_whitespace) => {
                Err(TargetError::Ambiguous(format!(
                    "employee id {v:?} contains spaces: Keycloak's q={a}:<value> search cannot carry it; a person must find the user on keycloak {}",
                    self.instance
                )))
            }
            MatchAttribute::Email if v.split('@').count() != 2 => Ok(None),
            _ => Ok(Some(v)),
        }
    }

    /// The one user the identity names; `None` when there is none. Never the revoker's own.
    pub(super) async fn find_user(&self, who: &Identity) -> Result<Option<Value>, TargetError> {
        let Some(value) = self.lookup_value(who)? else {
            return Ok(None);
        };
        let what = format!(
            "looking up {} by {} on keycloak {}",
            who.employee_id,
            self.match_attribute.name(),
            self.instance
        );
        let q;
        let lowered;
        let mut query: Vec<(&str, &str)> = match &self.match_attribute {
            MatchAttribute::Username => {
                lowered = value.to_lowercase();
                vec![("username", lowered.as_str())]
            }
            MatchAttribute::Email => vec![("email", value)],
            MatchAttribute::Attribute(a) => {
                q = format!("{a}:{value}");
                vec![("q", q.as_str())]
            }
        };
        query.extend([
            ("exact", "true"),
            ("briefRepresentation", "false"),
            ("max", "100"),
        ]);
        let found: Vec<Value> = self
            .get_list(&["users"], &query, &what)
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("{what}: HTTP 404 (is the realm right?)"))
            })?
            .into_iter()
            .filter(|u| record_matches(&self.match_attribute, u, value))
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [u] => {
                let Some(id) = u["id"].as_str() else {
                    return Err(TargetError::Ambiguous(format!(
                        "{what}: the matching user has no id"
                    )));
                };
                self.refuse_self(id, "revoke")?;
                Ok(Some(u.clone()))
            }
            many => Err(TargetError::Ambiguous(format!(
                "{what}: {} users match (ids {}); a person must decide which one to revoke",
                many.len(),
                many.iter()
                    .map(|u| u["id"].to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// What user `uid` holds now: its online sessions (`GET /users/{id}/sessions`), its consents
    /// (`GET /users/{id}/consents`, which also names clients holding only offline tokens; a
    /// consent to a client deleted meanwhile is gone with it), and the offline sessions
    /// (`GET /users/{id}/offline-sessions/{uuid}`) of every client in those consents, in its
    /// online sessions, or in `also`. `None` when the user is gone.
    pub(super) async fn read_held(
        &self,
        uid: &str,
        also: &BTreeSet<String>,
        what: &str,
    ) -> Result<Option<HeldNow>, TargetError> {
        let Some(sessions) = self
            .get_list(&["users", uid, "sessions"], &[], what)
            .await?
        else {
            return Ok(None);
        };
        let sessions = Value::Array(sessions);
        let mut held = HeldNow {
            sessions: session_ids(&sessions)
                .into_iter()
                .map(str::to_string)
                .collect(),
            ..HeldNow::default()
        };
        let mut clients: BTreeSet<String> = session_clients(&sessions).into_iter().collect();
        clients.extend(also.iter().cloned());
        let consents = self
            .get_list(&["users", uid, "consents"], &[], what)
            .await?;
        for c in consents.unwrap_or_default() {
            let Some(client_id) = c["clientId"].as_str() else {
                continue;
            };
            if let Some(uuid) = self.client_uuid(client_id, what).await? {
                clients.insert(uuid.clone());
                held.consents.insert(uuid);
            }
        }
        for client in &clients {
            let listed = self
                .listed(&["users", uid, "offline-sessions", client], what)
                .await?;
            for s in listed.unwrap_or_default() {
                held.offline.insert((client.clone(), s));
            }
        }
        Ok(Some(held))
    }

    /// The names an owner attribute may use for the person: the identity's username, email and
    /// employee id, and the Keycloak username found.
    pub(super) fn sponsor_names<'a>(who: &'a Identity, user: Option<&'a Value>) -> Vec<&'a str> {
        let mut names = owner_names(who);
        if let Some(u) = user.and_then(|u| u["username"].as_str()) {
            names.push(u);
        }
        names
    }

    /// The UUIDs of the service-account clients whose owner attribute names the person (never
    /// the revoker's own client). All clients are read: Keycloak refuses attribute searches.
    pub(super) async fn sponsored_clients(
        &self,
        who: &Identity,
        user: &Value,
    ) -> Result<Vec<String>, TargetError> {
        if self.sponsor_attribute.is_empty() {
            return Ok(Vec::new());
        }
        let what = format!(
            "listing the clients of realm {:?} for those {} sponsors on keycloak {}",
            self.realm, who.employee_id, self.instance
        );
        let names = Self::sponsor_names(who, Some(user));
        Ok(self
            .all_clients(&what)
            .await?
            .iter()
            .filter(|c| sponsored_client(c, &self.sponsor_attribute, &names))
            .filter_map(|c| c["id"].as_str())
            .filter(|id| self.self_client.get().map(String::as_str) != Some(*id))
            .map(str::to_string)
            .collect())
    }

    pub(super) fn refuse_self(&self, user: &str, doing: &str) -> Result<(), TargetError> {
        if self.self_user.get().map(String::as_str) == Some(user) {
            return Err(TargetError::Permanent(format!(
                "refusing to {doing} Keycloak user {user} on {}: it is the revoker's own service account",
                self.instance
            )));
        }
        Ok(())
    }
}

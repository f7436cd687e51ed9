//! What a Keycloak user holds, as this adapter names it in evidence (`KeycloakObject`), and the
//! pure checks on Keycloak's records: which ids can be named at all, whether a searched user
//! really is the one the identity names, and whether a client's owner attribute names the
//! person. No I/O.

use super::settings::MatchAttribute;
use crate::adapters::{Held, ObjectRef};
use serde_json::Value;

/// One object the adapter revokes, as named in evidence. Every part is an id Keycloak gave
/// (user, session and client UUIDs, or a federated user's `f:<provider>:<id>`), checked by
/// `segment_ok`, so an object id parses back to exactly one set of API paths and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeycloakObject {
    /// An online (SSO) session: `users/<user>/sessions/<session>`.
    Session { user: String, session: String },
    /// An offline session of one client (its offline token): `users/<user>/offline-sessions/<client uuid>/<session>`.
    OfflineSession {
        user: String,
        client: String,
        session: String,
    },
    /// The user's consent to (and offline grant of) one client: `users/<user>/consents/<client uuid>`.
    /// Keycloak names a consent by the client's `clientId`; the evidence keeps the client's UUID
    /// (an id, never free text) and the revoke reads the `clientId` from it.
    Consent { user: String, client: String },
    /// The user account, disabled last: `users/<user>`.
    Account { user: String },
    /// A service-account client whose owner attribute names the person: `clients/<client uuid>`.
    Client { client: String },
}

/// Whether `s` can be one id segment: 1–255 characters of ASCII letters, digits and `-_.:@+`,
/// not `.` or `..`. Keycloak's UUIDs, session ids and federated ids (`f:<provider>:<name>`) are;
/// anything else names nothing this adapter recorded.
pub fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@' | b'+')
        })
}

impl ObjectRef for KeycloakObject {
    const EXAMPLE: &'static str = "users/<id>/sessions/<id>";
    const WHAT: &'static str = "a Keycloak object";

    fn kind(&self) -> &'static str {
        match self {
            KeycloakObject::Session { .. } => "session",
            KeycloakObject::OfflineSession { .. } => "offline_session",
            KeycloakObject::Consent { .. } => "consent",
            KeycloakObject::Account { .. } => "account",
            KeycloakObject::Client { .. } => "service_account_client",
        }
    }

    fn id(&self) -> String {
        match self {
            KeycloakObject::Session { user, session } => format!("users/{user}/sessions/{session}"),
            KeycloakObject::OfflineSession {
                user,
                client,
                session,
            } => format!("users/{user}/offline-sessions/{client}/{session}"),
            KeycloakObject::Consent { user, client } => format!("users/{user}/consents/{client}"),
            KeycloakObject::Account { user } => format!("users/{user}"),
            KeycloakObject::Client { client } => format!("clients/{client}"),
        }
    }

    fn parse(kind: &str, id: &str) -> Option<Self> {
        let parts: Vec<&str> = id.split('/').collect();
        if parts.iter().skip(1).step_by(2).any(|p| !segment_ok(p)) {
            return None;
        }
        let s = |p: &str| p.to_string();
        let obj = match parts.as_slice() {
            ["users", u, "sessions", x] => KeycloakObject::Session {
                user: s(u),
                session: s(x),
            },
            ["users", u, "offline-sessions", c, x] if segment_ok(x) => {
                KeycloakObject::OfflineSession {
                    user: s(u),
                    client: s(c),
                    session: s(x),
                }
            }
            ["users", u, "consents", c] => KeycloakObject::Consent {
                user: s(u),
                client: s(c),
            },
            ["users", u] => KeycloakObject::Account { user: s(u) },
            ["clients", c] => KeycloakObject::Client { client: s(c) },
            _ => return None,
        };
        (obj.kind() == kind).then_some(obj)
    }
}

impl KeycloakObject {
    pub fn action(&self) -> &'static str {
        match self {
            KeycloakObject::Session { .. } | KeycloakObject::OfflineSession { .. } => "delete",
            KeycloakObject::Consent { .. } => "revoke",
            KeycloakObject::Account { .. } | KeycloakObject::Client { .. } => "disable",
        }
    }

    pub fn sponsored(&self) -> bool {
        matches!(self, KeycloakObject::Client { .. })
    }

    pub(super) fn held(self) -> Held<KeycloakObject> {
        let (sponsored, action) = (self.sponsored(), self.action());
        Held::new(self, sponsored, action)
    }

    /// The user the object belongs to, if any.
    pub(super) fn user(&self) -> Option<&str> {
        match self {
            KeycloakObject::Session { user, .. }
            | KeycloakObject::OfflineSession { user, .. }
            | KeycloakObject::Consent { user, .. }
            | KeycloakObject::Account { user } => Some(user),
            KeycloakObject::Client { .. } => None,
        }
    }
}

/// Whether a user record from a search really is the one `value` names (the server's filter is
/// not trusted: non-exact searches are prefix matches). Keycloak stores usernames and emails in
/// lowercase, so those compare lowercased; an attribute value compares exactly.
pub fn record_matches(by: &MatchAttribute, user: &Value, value: &str) -> bool {
    match by {
        MatchAttribute::Username => user["username"]
            .as_str()
            .is_some_and(|u| u == value.to_lowercase()),
        MatchAttribute::Email => user["email"]
            .as_str()
            .is_some_and(|e| e.to_lowercase() == value.to_lowercase()),
        MatchAttribute::Attribute(name) => match &user["attributes"][name] {
            Value::Array(vs) => vs.iter().any(|v| v.as_str() == Some(value)),
            Value::String(v) => v == value,
            _ => false,
        },
    }
}

/// Whether a client's owner attribute value names the person: one of `names` (username, email,
/// employee id, and the Keycloak username found) equals the value, or one entry of a
/// comma-separated list, after trimming; usernames and emails without regard to case, as
/// Keycloak stores them lowercase. `ada` never names `adam` or `ada.l`.
pub fn owner_names_person(value: &str, names: &[&str]) -> bool {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .any(|v| {
            names
                .iter()
                .any(|n| !n.is_empty() && (v == *n || v.to_lowercase() == n.to_lowercase()))
        })
}

/// The owner attribute of a client representation (`attributes` is a map of strings).
pub fn client_attribute<'a>(client: &'a Value, name: &str) -> Option<&'a str> {
    client["attributes"][name].as_str()
}

/// A client this adapter may disable as sponsored: a service-account client whose `sponsor`
/// attribute names the person.
pub fn sponsored_client(client: &Value, sponsor_attribute: &str, names: &[&str]) -> bool {
    client["serviceAccountsEnabled"].as_bool() == Some(true)
        && client_attribute(client, sponsor_attribute).is_some_and(|v| owner_names_person(v, names))
}

/// The ids of the sessions in a `UserSessionRepresentation` list.
pub(super) fn session_ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
        .unwrap_or_default()
}

/// The client UUIDs an online session was used with (`clients`: UUID → clientId).
pub(super) fn session_clients(list: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in list.as_array().into_iter().flatten() {
        if let Some(m) = s["clients"].as_object() {
            out.extend(m.keys().cloned());
        }
    }
    out
}

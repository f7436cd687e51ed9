//! What users and applications do at the realm's OIDC endpoints: the password grant (a sign-in),
//! the refresh grant, and introspection by the application.

use super::Keycloak;
use serde_json::Value;

/// The tokens of one grant.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access: String,
    /// An offline token when the grant asked for `offline_access`.
    pub refresh: String,
    /// The `session_state` (the session id the admin API lists).
    pub session: String,
}

/// A grant Keycloak refused: the HTTP status and the OAuth `error` (e.g. `invalid_grant`) with
/// its description.
#[derive(Clone, Debug)]
pub struct Refused {
    pub status: u16,
    pub error: String,
    pub description: String,
}

fn tokens_or_refused((status, v): (u16, Value)) -> Result<Tokens, Refused> {
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    if status == 200 && v["access_token"].is_string() {
        Ok(Tokens {
            access: text("access_token"),
            refresh: text("refresh_token"),
            session: text("session_state"),
        })
    } else {
        Err(Refused {
            status,
            error: text("error"),
            description: text("error_description"),
        })
    }
}

impl Keycloak {
    /// `user` signs in to the app with `password` (direct access grant); with `offline` the
    /// refresh token is an offline token (scope `offline_access`).
    pub async fn password_login(
        &self,
        user: &str,
        password: &str,
        offline: bool,
    ) -> Result<Tokens, Refused> {
        let scope = if offline {
            "openid offline_access"
        } else {
            "openid"
        };
        let form = [
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("scope", scope),
        ];
        tokens_or_refused(self.oidc_post("token", &self.app, &form).await)
    }

    /// The app uses `refresh_token` (online or offline); a dead session answers `invalid_grant`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, Refused> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        tokens_or_refused(self.oidc_post("token", &self.app, &form).await)
    }

    /// Whether introspection by the app says `access_token` is active (the realm's audience
    /// mapper puts the app in its tokens' audience; without it Keycloak says inactive).
    pub async fn introspect(&self, access_token: &str) -> bool {
        let form = [("token", access_token)];
        let (status, v) = self.oidc_post("token/introspect", &self.app, &form).await;
        assert_eq!(status, 200, "introspection answers 200: {v}");
        v["active"]
            .as_bool()
            .unwrap_or_else(|| panic!("introspection has no `active`: {v}"))
    }
}

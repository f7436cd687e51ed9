//! Finding the person on GitLab: the revoker's own user (never revoked, must be an
//! administrator), the one user an identity names (re-checked client-side, several is
//! ambiguous), and the access and deploy tokens that name the person as their sponsor.

use super::client::Gitlab;
use super::objects::{
    deploy_token_active, email_ok, gitlab_username_ok, names_sponsor, token_active,
};
use super::{GitlabTarget, MatchAttribute, Object, Source};
use crate::adapters::TargetError;
use reqwest::Method;
use revoke_shared::contract::Identity;
use serde_json::Value;

impl GitlabTarget {
    /// Reads the token's own user (`GET /user`): records its id (never revoked) and, unless
    /// `principal` is configured, its username as the principal. Refuses a non-administrator's
    /// token (memberships and blocking need one). `discover` calls it; call it once after
    /// `from_table` to check the token and record the principal before the first case.
    pub async fn resolve_principal(&self) -> Result<&str, TargetError> {
        if self.self_id.get().is_none() {
            let what = format!(
                "reading the revoker's own user (GET /user) on gitlab {}",
                self.instance
            );
            let a = self
                .call(Method::GET, self.url(&["user"]), None, &what)
                .await?;
            if !a.status.is_success() {
                return Err(a.error::<Gitlab>(&what));
            }
            let (Some(id), Some(username)) = (a.body["id"].as_u64(), a.body["username"].as_str())
            else {
                return Err(TargetError::Permanent(format!(
                    "{what}: the answer names no user id/username"
                )));
            };
            if a.body["is_admin"].as_bool() != Some(true) {
                return Err(TargetError::Permanent(format!(
                    "{what}: the token's user {username:?} is not an administrator — listing memberships and other users' tokens and blocking need an administrator's token with the api scope"
                )));
            }
            self.principal.learn(username.to_string());
            let _ = self.self_id.set(id);
        }
        Ok(self.principal.get())
    }

    /// The identity's value for the configured attribute, and whether GitLab could hold it at
    /// all (`None`: nothing can match, nothing is sent).
    fn lookup_value<'a>(&self, who: &'a Identity) -> Result<Option<&'a str>, TargetError> {
        let v = match self.match_attribute {
            MatchAttribute::Username => who.username.as_deref(),
            MatchAttribute::Email => who.email.as_deref(),
            MatchAttribute::ExternUid => Some(who.employee_id.as_str()),
        };
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            return Err(TargetError::Permanent(format!(
                "identity {} has no {} to look up on gitlab {} (match_attribute)",
                who.employee_id,
                self.match_attribute.name(),
                self.instance
            )));
        };
        let usable = match self.match_attribute {
            MatchAttribute::Username => gitlab_username_ok(v),
            MatchAttribute::Email => email_ok(v),
            MatchAttribute::ExternUid => !v.chars().any(char::is_control),
        };
        Ok(usable.then_some(v))
    }

    /// Whether a user record really is the one `value` names (the server's filter is not trusted).
    pub(super) fn record_matches(&self, user: &Value, value: &str) -> bool {
        match self.match_attribute {
            // GitLab usernames are unique case-insensitively.
            MatchAttribute::Username => user["username"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(value)),
            MatchAttribute::Email => user["email"]
                .as_str()
                .is_some_and(|e| e.to_lowercase() == value.to_lowercase()),
            MatchAttribute::ExternUid => user["identities"].as_array().is_some_and(|ids| {
                ids.iter().any(|i| {
                    i["provider"].as_str() == Some(self.extern_uid_provider.as_str())
                        && i["extern_uid"]
                            .as_str()
                            .is_some_and(|x| x.to_lowercase() == value.to_lowercase())
                })
            }),
        }
    }

    /// The one user the identity names; `None` when there is none.
    pub(super) async fn find_user(&self, who: &Identity) -> Result<Option<Value>, TargetError> {
        let Some(value) = self.lookup_value(who)? else {
            return Ok(None);
        };
        let what = format!(
            "looking up {} by {} on gitlab {}",
            who.employee_id,
            self.match_attribute.name(),
            self.instance
        );
        let query: Vec<(&str, &str)> = match self.match_attribute {
            MatchAttribute::Username => vec![("username", value)],
            MatchAttribute::Email => vec![("search", value)],
            MatchAttribute::ExternUid => vec![
                ("extern_uid", value),
                ("provider", self.extern_uid_provider.as_str()),
            ],
        };
        let users = self
            .list(&["users"], &query, &what, false)
            .await?
            .unwrap_or_default();
        let mut found: Vec<Value> = users
            .into_iter()
            .filter(|u| self.record_matches(u, value))
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => {
                let u = found.remove(0);
                if u["id"].as_u64().is_none() {
                    return Err(TargetError::Ambiguous(format!(
                        "{what}: the matching user has no numeric id"
                    )));
                }
                Ok(Some(u))
            }
            n => Err(TargetError::Ambiguous(format!(
                "{what}: {n} users match (ids {}); a person must decide which one to revoke",
                found
                    .iter()
                    .map(|u| u["id"].to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Access and deploy tokens in one project/group that name `username` as their sponsor.
    pub(super) async fn sponsored_in(
        &self,
        source: Source,
        source_id: u64,
        username: &str,
        out: &mut Vec<Object>,
    ) -> Result<(), TargetError> {
        let sid = source_id.to_string();
        let what = format!(
            "listing the access tokens of {} {sid} on gitlab {}",
            source.word(),
            self.instance
        );
        let tokens = self
            .list(
                &[source.path(), &sid, "access_tokens"],
                &[("state", "active")],
                &what,
                true,
            )
            .await?
            .unwrap_or_default();
        for t in tokens {
            let text = format!(
                "{} {}",
                t["name"].as_str().unwrap_or(""),
                t["description"].as_str().unwrap_or("")
            );
            if let Some(id) = t["id"].as_u64() {
                if token_active(&t) && names_sponsor(&text, &self.sponsor_marker, username) {
                    out.push(Object::AccessToken {
                        source,
                        source_id,
                        token: id,
                    });
                }
            }
        }
        let what = format!(
            "listing the deploy tokens of {} {sid} on gitlab {}",
            source.word(),
            self.instance
        );
        let tokens = self
            .list(
                &[source.path(), &sid, "deploy_tokens"],
                &[("active", "true")],
                &what,
                true,
            )
            .await?
            .unwrap_or_default();
        for t in tokens {
            if let (Some(id), Some(name)) = (t["id"].as_u64(), t["name"].as_str()) {
                if deploy_token_active(&t) && names_sponsor(name, &self.sponsor_marker, username) {
                    out.push(Object::DeployToken {
                        source,
                        source_id,
                        token: id,
                    });
                }
            }
        }
        Ok(())
    }

    pub(super) fn refuse_self(&self, user: u64, doing: &str) -> Result<(), TargetError> {
        if self.self_id.get() == Some(&user) {
            return Err(TargetError::Permanent(format!(
                "refusing to {doing} GitLab user {user} on {}: it is the revoker's own user",
                self.instance
            )));
        }
        Ok(())
    }
}

//! Giving back what a Keycloak revocation took, where Keycloak can: re-enabling the user the
//! identity resolves to now, and the sponsored clients whose owner attribute still names the
//! person (the evidence may be forged). Sessions and consents cannot come back.

use super::objects::{client_attribute, owner_names_person};
use super::KeycloakTarget;
use crate::adapters::user_check::UserCheck;
use crate::adapters::{RestoreResult, TargetError};
use revoke_shared::contract::Identity;

impl KeycloakTarget {
    /// `None` when `user` is the Keycloak user `who` resolves to now; otherwise the answer to
    /// give instead: `Refused` (another user, or nobody while `user` exists), or `Irreversible`
    /// when `user` no longer exists.
    pub(super) async fn not_owned(
        &self,
        who: &Identity,
        user: &str,
    ) -> Result<Option<RestoreResult>, TargetError> {
        self.resolve_principal().await?;
        let resolved = self
            .find_user(who)
            .await?
            .and_then(|u| u["id"].as_str().map(str::to_string));
        if resolved.as_deref() == Some(user) {
            return Ok(None);
        }
        let what = format!(
            "checking whose Keycloak user {user} is on {} before re-enabling it",
            self.instance
        );
        let exists =
            resolved.is_some() || self.get_opt(&["users", user], &[], &what).await?.is_some();
        let check = UserCheck {
            system: "Keycloak",
            instance: &self.instance,
            lookup: self.match_attribute.name(),
            withheld: "nothing re-enabled",
        };
        Ok(Some(check.not_theirs(
            who,
            user,
            resolved.as_deref(),
            exists,
        )))
    }

    /// `None` when client `uuid` is a service-account client whose owner attribute names the
    /// person now; otherwise `Refused`, or `Irreversible` when the client is gone.
    pub(super) async fn client_not_owned(
        &self,
        who: &Identity,
        uuid: &str,
    ) -> Result<Option<RestoreResult>, TargetError> {
        let what = format!(
            "checking whose Keycloak client {uuid} is on {} before re-enabling it",
            self.instance
        );
        let Some(client) = self.get_opt(&["clients", uuid], &[], &what).await? else {
            return Ok(Some(RestoreResult::Irreversible {
                reason: format!(
                    "Keycloak client {uuid} no longer exists on {}",
                    self.instance
                ),
            }));
        };
        // The Keycloak username the identity resolves to also names the person.
        let user = self.find_user(who).await.ok().flatten();
        let names = Self::sponsor_names(who, user.as_ref());
        let owner = client_attribute(&client, &self.sponsor_attribute);
        if !self.sponsor_attribute.is_empty()
            && owner.is_some_and(|v| owner_names_person(v, &names))
        {
            return Ok(None);
        }
        Ok(Some(RestoreResult::Refused {
            reason: format!(
                "Keycloak client {} ({uuid}) on {}: its {:?} attribute is {:?}, which does not name {}: nothing re-enabled",
                client["clientId"],
                self.instance,
                self.sponsor_attribute,
                owner.unwrap_or(""),
                who.employee_id
            ),
        }))
    }

    /// Sets `enabled: true` on a user or client already checked to be the person's.
    pub(super) async fn restore_enabled(
        &self,
        segments: &[&str],
        thing: &str,
    ) -> Result<RestoreResult, TargetError> {
        let what = format!(
            "re-enabling Keycloak {thing} {} on {}",
            segments.join("/"),
            self.instance
        );
        Ok(match self.set_enabled(segments, true, &what).await? {
            None => RestoreResult::Irreversible {
                reason: format!(
                    "Keycloak {thing} {} no longer exists on {}",
                    segments.join("/"),
                    self.instance
                ),
            },
            Some((false, _)) => RestoreResult::AlreadyPresent,
            Some((true, at)) => RestoreResult::Restored { restored_at: at },
        })
    }
}

//! Sign-ins after departure: the person's successful sign-ins and token uses that Keycloak
//! recorded since a time (`events` says which), read from the realm's user events page by page,
//! newest first. Only reads.

use super::events::{date_from, reaches_before, sign_in, SIGN_IN_TYPES};
use super::KeycloakTarget;
use crate::adapters::{SignIn, TargetError};
use chrono::{DateTime, Utc};
use revoke_shared::contract::Identity;

/// Events read per page.
const PAGE: usize = 100;
/// Most pages read before giving up (a partial list is an error, not "no sign-in").
const MAX_PAGES: usize = 1000;

impl KeycloakTarget {
    /// `None` when `watch_sign_ins` is off; `Some(empty)` when the identity names no user (any
    /// more); else the user's sign-ins at or after `since`, newest first.
    pub(super) async fn sign_ins(
        &self,
        who: &Identity,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        if !self.watch_sign_ins {
            return Ok(None);
        }
        self.resolve_principal().await?;
        let Some(user) = self.find_user(who).await? else {
            return Ok(Some(Vec::new()));
        };
        let Some(uid) = user["id"].as_str() else {
            return Ok(Some(Vec::new()));
        };
        let what = format!(
            "reading the sign-in events of Keycloak user {uid} on {}",
            self.instance
        );
        let from = date_from(since);
        let max = PAGE.to_string();
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let first = (page * PAGE).to_string();
            let mut query: Vec<(&str, &str)> = SIGN_IN_TYPES.iter().map(|t| ("type", *t)).collect();
            query.extend([
                ("user", uid),
                ("dateFrom", from.as_str()),
                ("direction", "desc"),
                ("first", first.as_str()),
                ("max", max.as_str()),
            ]);
            let events = self
                .get_list(&["events"], &query, &what)
                .await?
                .ok_or_else(|| {
                    TargetError::Permanent(format!("{what}: HTTP 404 (is the realm right?)"))
                })?;
            out.extend(
                events
                    .iter()
                    .filter_map(|e| sign_in(e, uid, &self.instance, since)),
            );
            if events.len() < PAGE || reaches_before(&events, since) {
                return Ok(Some(out));
            }
        }
        Err(TargetError::Permanent(format!(
            "{what}: more than {MAX_PAGES} pages of events; refusing to report a partial list"
        )))
    }
}

//! Finding the person's entry, wherever it is now.
//!
//! With `disabled_ou` the entry may already be there: an earlier run moved it and did not
//! finish (the lock refused, the worker killed between steps). So the lookup searches `base_dn`
//! and also the disabled OU when that lies outside `base_dn`; an entry found there is the same
//! person (the same `match_attribute` value under `user_filter`) and is locked and read back at
//! the DN it has now. An entry in both places is two entries: `Ambiguous`, a person decides.

use super::{
    case_ignore_eq, dn_within, eq_filter, normalize_dn, values, LdapTarget, LOOKUP_SIZE_LIMIT,
};
use crate::adapters::TargetError;
use ldap3::{Scope, SearchEntry};
use revoke_shared::contract::Identity;
use std::collections::HashSet;

impl LdapTarget {
    /// The subtrees a person's entry may be in: `base_dn`, and the disabled OU unless it lies
    /// inside `base_dn` already (one search then covers both).
    fn people_bases(&self) -> Vec<&str> {
        let mut bases = vec![self.base_dn.as_str()];
        if let Some(ou) = &self.disabled_ou {
            if !dn_within(ou, &self.base_dn) {
                bases.push(ou);
            }
        }
        bases
    }

    /// The person's one entry (DN and `uid` values) under `base_dn` or in the disabled OU;
    /// `None` when there is none.
    pub(super) async fn find_person(
        &self,
        who: &Identity,
    ) -> Result<Option<SearchEntry>, TargetError> {
        let value = self.lookup_value(who)?;
        let attr = self.match_attribute.attribute();
        let filter = format!("(&{}{})", self.user_filter, eq_filter(attr, value));
        let bases = self.people_bases();
        let doing = format!(
            "looking up {} ({attr}) under {} in directory {}",
            who.employee_id,
            bases.join(" and "),
            self.instance
        );
        let mut found: Vec<SearchEntry> = Vec::new();
        let mut seen = HashSet::new();
        for base in bases {
            let entries = match self
                .session
                .search(
                    base,
                    Scope::Subtree,
                    &filter,
                    &[attr, "uid"],
                    LOOKUP_SIZE_LIMIT,
                    &doing,
                )
                .await?
            {
                Some(entries) => entries,
                None if base == self.base_dn => {
                    return Err(TargetError::Permanent(format!(
                        "{doing}: base_dn does not exist"
                    )))
                }
                // No disabled OU yet: nobody has been moved there. The move itself reports a
                // missing OU (with the hint to check disabled_ou).
                None => Vec::new(),
            };
            for e in entries {
                if seen.insert(normalize_dn(&e.dn)) {
                    found.push(e);
                }
            }
        }
        // The server's matching rule decided; re-check so a server that ignores the filter (or
        // a proxy that rewrites it) cannot hand us someone else. An entry the server returned
        // that fails the re-check is not silently dropped (that would report the leaver's
        // access as absent): a person looks.
        if let Some(odd) = found
            .iter()
            .find(|e| !values(e, attr).iter().any(|v| case_ignore_eq(v, value)))
        {
            return Err(TargetError::Ambiguous(format!(
                "{doing}: the server returned {} whose {attr} does not equal {value:?}: a person must check the match",
                odd.dn
            )));
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(TargetError::Ambiguous(format!(
                "{doing}: {}{n} entries match ({}{}): a person must decide which one is the leaver",
                if n >= LOOKUP_SIZE_LIMIT as usize {
                    "at least "
                } else {
                    ""
                },
                found
                    .iter()
                    .take(3)
                    .map(|e| e.dn.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                if n > 3 { "; …" } else { "" }
            ))),
        }
    }
}

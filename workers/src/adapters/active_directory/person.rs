//! The person's entry, found (`lookup`'s filter and re-check) and read with what revoking needs:
//! `objectGUID` (what every later step addresses), `userAccountControl`, `accountExpires`,
//! `pwdLastSet`, `memberOf`, `userPrincipalName`. AD returns `objectGUID` as 16 raw bytes, in the entry's binary attributes.

use super::lookup::{found, person_filter, rechecks, value_for, Found};
use super::syntax::guid_from_wire;
use super::AdTarget;
use crate::adapters::TargetError;
use ldap3::{Scope, SearchEntry};
use revoke_shared::contract::Identity;
use uuid::Uuid;

/// More than one match is all the lookup needs to know.
const LOOKUP_SIZE_LIMIT: i32 = 10;

/// A user entry as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub guid: Uuid,
    pub dn: String,
    pub user_account_control: u32,
    pub account_expires: i64,
    /// `pwdLastSet` (a FILETIME; `0`: must change at next logon).
    pub pwd_last_set: i64,
    pub member_of: Vec<String>,
    pub user_principal_name: Option<String>,
}

impl Person {
    /// The entry as read, when it carries what a user has (a GUID and its control bits).
    pub(super) fn from_entry(e: &SearchEntry) -> Option<Person> {
        let guid = guid_from_wire(e.bin_attrs.get("objectGUID")?.first()?)?;
        let first = |a: &str| e.attrs.get(a).and_then(|v| v.first());
        Some(Person {
            guid,
            dn: e.dn.clone(),
            user_account_control: first("userAccountControl")?.parse().ok()?,
            // Absent on a fresh account: never expires.
            account_expires: first("accountExpires").map_or(Some(0), |v| v.parse().ok())?,
            pwd_last_set: first("pwdLastSet").map_or(Some(0), |v| v.parse().ok())?,
            member_of: e.attrs.get("memberOf").cloned().unwrap_or_default(),
            user_principal_name: first("userPrincipalName").cloned(),
        })
    }
}

/// What is read of a user entry.
pub(super) const PERSON_ATTRS: [&str; 6] = [
    "objectGUID",
    "userAccountControl",
    "accountExpires",
    "pwdLastSet",
    "memberOf",
    "userPrincipalName",
];

impl AdTarget {
    /// The person `who` names: `None` when nobody matches (nothing held), `Ambiguous` when more
    /// than one entry does.
    pub async fn find_person(&self, who: &Identity) -> Result<Option<Person>, TargetError> {
        let attr = self.match_attribute;
        let Some(value) = value_for(attr, who) else {
            return Err(TargetError::Permanent(format!(
                "identity {} has no value to look up as {} in directory {} (match_attribute)",
                who.employee_id,
                attr.attribute(),
                self.instance
            )));
        };
        let doing = format!(
            "looking up {}={value} under {} in directory {}",
            attr.attribute(),
            self.base_dn,
            self.instance
        );
        let mut attrs: Vec<&str> = PERSON_ATTRS.to_vec();
        attrs.push(attr.attribute());
        let entries = self
            .session
            .search(
                &self.base_dn,
                Scope::Subtree,
                &person_filter(attr, value),
                &attrs,
                LOOKUP_SIZE_LIMIT,
                &doing,
            )
            .await?
            .ok_or_else(|| TargetError::Permanent(format!("{doing}: base_dn does not exist")))?;
        let matching: Vec<&SearchEntry> = entries
            .iter()
            .filter(|e| {
                let values: Vec<&str> = e
                    .attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attr.attribute()))
                    .map(|(_, v)| v.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                rechecks(&values, value)
            })
            .collect();
        match found(matching) {
            Found::Nobody => Ok(None),
            Found::Ambiguous(n) => Err(TargetError::Ambiguous(format!(
                "{doing}: {n} entries match; a person decides, nothing is touched"
            ))),
            Found::One(e) => Person::from_entry(e).map(Some).ok_or_else(|| {
                TargetError::Permanent(format!(
                    "{doing}: {} lacks objectGUID or userAccountControl: not a user this adapter can disable",
                    e.dn
                ))
            }),
        }
    }
}

//! Finding a person in Active Directory, as pure functions: the identity's value for the
//! configured attribute, the search filter (the value escaped per RFC 4515, so `*` or
//! `x)(sAMAccountName=*` is a literal that names nobody), and the client-side re-check of every
//! entry returned (AD compares these attributes case-insensitively; the re-check does the same
//! and nothing looser). One entry: the person; none: nothing held; more: ambiguous — a person
//! decides.

use super::settings::MatchAttribute;
use crate::adapters::ldap::{case_ignore_eq, eq_filter};
use revoke_shared::contract::Identity;

/// What a person's entry is: a user object (not a computer, which is a user too in AD's class
/// hierarchy, nor a contact).
pub const USER_FILTER: &str = "(&(objectCategory=person)(objectClass=user))";

/// The identity's value for `attr`, when it has one.
pub fn value_for(attr: MatchAttribute, who: &Identity) -> Option<&str> {
    match attr {
        MatchAttribute::SamAccountName => who.username.as_deref(),
        MatchAttribute::UserPrincipalName | MatchAttribute::Mail => who.email.as_deref(),
        MatchAttribute::EmployeeId => Some(who.employee_id.as_str()),
    }
    .filter(|v| !v.trim().is_empty())
}

/// The filter that finds the person whose `attr` is `value`.
pub fn person_filter(attr: MatchAttribute, value: &str) -> String {
    format!("(&{USER_FILTER}{})", eq_filter(attr.attribute(), value))
}

/// Whether an entry whose `attr` holds `found` is the person looked up by `value`.
pub fn rechecks(found: &[&str], value: &str) -> bool {
    found.iter().any(|f| case_ignore_eq(f, value))
}

/// The outcome of a lookup from the entries that passed the re-check.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<T> {
    Nobody,
    One(T),
    /// More than one entry names the person: nothing is touched.
    Ambiguous(usize),
}

pub fn found<T>(mut matches: Vec<T>) -> Found<T> {
    match matches.len() {
        0 => Found::Nobody,
        1 => Found::One(matches.pop().expect("one")),
        n => Found::Ambiguous(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::contract::IdentityKind;

    fn who(username: &str) -> Identity {
        Identity {
            employee_id: "E1".into(),
            email: Some("ada@example.com".into()),
            username: Some(username.into()),
            kind: IdentityKind::Employee,
        }
    }

    #[test]
    fn hostile_values_are_literals_in_the_filter() {
        assert_eq!(
            person_filter(MatchAttribute::SamAccountName, "ada"),
            "(&(&(objectCategory=person)(objectClass=user))(sAMAccountName=ada))"
        );
        for hostile in ["*", "x)(sAMAccountName=*", "a\\2a", "ada\0"] {
            let f = person_filter(MatchAttribute::SamAccountName, hostile);
            assert!(!f.contains("=*)"), "{f}");
            assert_eq!(f.matches('(').count(), f.matches(')').count(), "{f}");
        }
    }

    #[test]
    fn values_come_from_the_identity_field_the_attribute_names() {
        let w = who("ada");
        assert_eq!(value_for(MatchAttribute::SamAccountName, &w), Some("ada"));
        assert_eq!(
            value_for(MatchAttribute::UserPrincipalName, &w),
            Some("ada@example.com")
        );
        assert_eq!(value_for(MatchAttribute::Mail, &w), Some("ada@example.com"));
        assert_eq!(value_for(MatchAttribute::EmployeeId, &w), Some("E1"));
        assert_eq!(value_for(MatchAttribute::SamAccountName, &who("  ")), None);
    }

    #[test]
    fn the_recheck_is_exact_but_case_insensitive_and_more_than_one_is_ambiguous() {
        assert!(rechecks(&["Ada"], "ada"));
        assert!(!rechecks(&["ada2"], "ada"), "a prefix is not the person");
        assert!(!rechecks(&["ad"], "ada"));
        assert!(!rechecks(&[], "ada"));
        assert_eq!(found(Vec::<u8>::new()), Found::Nobody);
        assert_eq!(found(vec![7]), Found::One(7));
        assert_eq!(found(vec![7, 8]), Found::Ambiguous(2));
    }
}

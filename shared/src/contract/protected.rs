//! Matching identities against `verifier.protected_identities` (break-glass accounts, legal
//! hold): a protected person must not be reachable through another spelling or another field.
//!
//! - One normaliser for both sides: Unicode compatibility caseless matching (Unicode §3.13,
//!   D146: NFD, full case folding, NFKD, full case folding, NFKD; composed back with NFKC for a
//!   stable key). Full folding, not `to_lowercase`: `STRASSE` matches `straße`, the Kelvin sign
//!   `K` matches `k`, the long s `ſ` matches `s`, fullwidth `ＲＯＯＴ` matches `root`. The
//!   directory compares `uid`/`mail` case-insensitively and SCIM `userName` is case-insensitive,
//!   so a case the targets treat as one person is one person here too.
//! - Every configured entry is compared with every identity field (employee id, username,
//!   email): an entry listed as an email also protects an event carrying it as the username,
//!   and an employee id listed protects a username equal to it. Erring towards "protected" only
//!   ever costs an escalation to a person; erring the other way revokes a break-glass account.
//! - Entries are trimmed (a stray space in the config must not unprotect someone); an empty
//!   entry or field matches nothing.
//!
//! Pure functions, no I/O.

use super::Identity;
use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// The comparison key of an identity value or a protected entry: compatibility caseless form
/// (D146), recomposed. Two values are the same person's name here iff their keys are equal.
pub fn protected_key(value: &str) -> String {
    value
        .trim()
        .chars()
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

/// Whether any of `who`'s fields (employee id, username, email) matches any entry of
/// `protected`, compared by [`protected_key`].
pub fn matches_protected(protected: &[String], who: &Identity) -> bool {
    if protected.is_empty() {
        return false;
    }
    let fields: Vec<String> = [
        Some(who.employee_id.as_str()),
        who.username.as_deref(),
        who.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(protected_key)
    .filter(|k| !k.is_empty())
    .collect();
    protected
        .iter()
        .map(|p| protected_key(p))
        .any(|p| !p.is_empty() && fields.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::IdentityKind;

    fn who(id: &str, username: Option<&str>, email: Option<&str>) -> Identity {
        Identity {
            employee_id: id.into(),
            username: username.map(Into::into),
            email: email.map(Into::into),
            kind: IdentityKind::Employee,
        }
    }

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| s.to_string()).collect()
    }

    /// The one-entry list `[entry]` protects the person whose username is `value`.
    fn assert_entry_matches_username(entry: &str, value: &str) {
        let p = list(&[entry]);
        assert!(
            matches_protected(&p, &who("E-1", Some(value), None)),
            "{entry:?} vs {value:?}"
        );
    }

    #[test]
    fn case_variants_including_non_ascii_match() {
        for (entry, value) in [
            ("breakglass", "BREAKGLASS"),
            ("åsa", "ÅSA"),
            ("ÅSA", "åsa"),
            ("Ελένη", "ΕΛΈΝΗ"),
            // Full folding: ß folds to ss (to_lowercase keeps ß).
            ("straße", "STRASSE"),
            ("STRASSE", "straße"),
            ("strasse", "STRAẞE"),
            // Final sigma folds to sigma.
            ("οδυσσευς", "ΟΔΥΣΣΕΥΣ"),
            ("οδυσσευς", "οδυσσευς"),
        ] {
            assert_entry_matches_username(entry, value);
        }
    }

    #[test]
    fn compatibility_forms_match() {
        for (entry, value) in [
            // Fullwidth letters, either side.
            ("ｂｒｅａｋｇｌａｓｓ", "breakglass"),
            ("root", "ＲＯＯＴ"),
            // Kelvin sign U+212A, long s U+017F, ligature ﬁ U+FB01.
            ("\u{212A}ate", "kate"),
            ("kate", "\u{212A}ATE"),
            ("\u{17F}am", "SAM"),
            ("\u{FB01}nance", "FINANCE"),
            // Decomposed accent vs precomposed.
            ("jose\u{301}", "JOSÉ"),
        ] {
            assert_entry_matches_username(entry, value);
        }
    }

    #[test]
    fn every_entry_matches_every_field() {
        let p = list(&["E-42", "bg@example.com", "breakglass"]);
        // Each entry through each field.
        for entry in ["E-42", "BG@EXAMPLE.COM", "BreakGlass"] {
            assert!(matches_protected(&p, &who(entry, None, None)), "id {entry}");
            assert!(
                matches_protected(&p, &who("x", Some(entry), None)),
                "username {entry}"
            );
            assert!(
                matches_protected(&p, &who("x", None, Some(entry))),
                "email {entry}"
            );
        }
    }

    #[test]
    fn near_misses_and_empties_do_not_match() {
        let p = list(&["root", "E1", "  ", ""]);
        assert!(!matches_protected(&p, &who("E10", Some("rootkit"), None)));
        assert!(!matches_protected(
            &p,
            &who("E2", Some("r00t"), Some("root@x"))
        ));
        // An empty field never matches an empty (or blank) entry.
        assert!(!matches_protected(&p, &who("", Some(""), Some(""))));
        assert!(!matches_protected(&[], &who("E1", Some("root"), None)));
        // A Cyrillic look-alike is another name (HR input refuses it before this anyway).
        assert!(!matches_protected(&p, &who("x", Some("rооt"), None)));
    }

    #[test]
    fn entries_are_trimmed() {
        let p = list(&[" breakglass\t"]);
        assert!(matches_protected(&p, &who("x", Some("BREAKGLASS"), None)));
    }
}

//! The JSON Schema `pattern`s of HR input, built from the same rules the validator applies
//! (`check_identifier`, `identity_check`, the free-text and content-type checks), so that a
//! value the schema accepts is one the validator accepts as far as a regular expression can say.
//!
//! Patterns are ECMA-262 with the `u` flag, as JSON Schema 2020-12 prescribes and ajv applies:
//! `\p{…}` is a Unicode property (`Cc` = Rust's `char::is_control`, `White_Space` =
//! `char::is_whitespace`, `Script=Unknown` = unassigned, private-use and noncharacter code
//! points, as `unicode-script` says), `\u{…}` a code point.

use crate::contract::identity_check::INVISIBLE;

/// Code points refused anywhere in an identity, as a character-class body: controls, white space
/// (an identity's inner U+0020 is allowed separately), unassigned, and the invisible ranges.
fn identity_excluded() -> String {
    let mut class = String::from(r"\p{Cc}\p{White_Space}\p{Script=Unknown}");
    for &(lo, hi) in INVISIBLE {
        if lo == hi {
            class.push_str(&format!(r"\u{{{lo:X}}}"));
        } else {
            class.push_str(&format!(r"\u{{{lo:X}}}-\u{{{hi:X}}}"));
        }
    }
    class
}

/// `check_identifier`: no control characters, not blank, no white space at either end.
pub fn identifier() -> String {
    r"^[^\p{Cc}\p{White_Space}](?:[^\p{Cc}]*[^\p{Cc}\p{White_Space}])?$".into()
}

/// An identity id or username (`identity_check`, except what a pattern cannot say: NFKC form,
/// one script, ASCII look-alikes): visible characters, inner plain spaces only.
pub fn identity() -> String {
    let x = identity_excluded();
    format!("^[^{x}](?: *[^{x}])*$")
}

/// An email: an identity without any white space, and exactly one `@` between non-empty parts.
pub fn email() -> String {
    let x = identity_excluded();
    format!("^[^@{x}]+@[^@{x}]+$")
}

/// Free text in `data` (`reason`, `requested_by`, `approved_by`, `rescinds`): no control
/// characters.
pub fn free_text() -> String {
    r"^\P{Cc}*$".into()
}

/// `datacontenttype`: `application/json` or a `+json` type, any case, parameters allowed (the
/// media type before the first `;`, trimmed, ASCII-lowercased).
pub fn json_media_type() -> String {
    let ci = |word: &str| -> String {
        word.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    format!(
        r"^\p{{White_Space}}*(?:{}/{}|[^;]*\+{})\p{{White_Space}}*(?:;[\s\S]*)?$",
        ci("application"),
        ci("json"),
        ci("json")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_class_lists_every_invisible_range() {
        let p = identity();
        assert!(p.contains(r"\u{202A}-\u{202E}"), "{p}");
        assert!(p.contains(r"\u{2800}"), "{p}");
        assert!(p.contains(r"\u{E0000}-\u{E0FFF}"), "{p}");
        // The class appears twice: the first character, then each one after inner spaces.
        let escapes: usize = INVISIBLE
            .iter()
            .map(|(l, h)| if l == h { 1 } else { 2 })
            .sum();
        assert_eq!(p.matches(r"\u{").count(), 2 * escapes);
    }

    #[test]
    fn the_media_type_pattern_is_case_insensitive_by_construction() {
        let p = json_media_type();
        assert!(
            p.contains("[aA][pP][pP][lL][iI][cC][aA][tT][iI][oO][nN]/[jJ][sS][oO][nN]"),
            "{p}"
        );
    }
}

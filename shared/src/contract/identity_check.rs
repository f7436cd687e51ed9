//! Identity checks on HR input: the identity id (`subject`, which is also the Kafka key and
//! `data.identity.employee_id`), the username and the email are what every adapter looks people up
//! by, so a value that *looks* like one person but *is* another must never reach an adapter.
//!
//! Refused (DLQ reason `invalid_identity`), in this order:
//! - empty or white space only; leading or trailing white space; white space other than U+0020
//!   (no-break, ideographic, line separator, …); any white space in an email;
//! - longer than its limit (`employee_id` and `username` 128 bytes, `email` 254, RFC 5321);
//! - control characters (Unicode `Cc`: NUL, tab, newline, DEL, C1 controls);
//! - invisible or formatting characters: Unicode `Cf` and `Default_Ignorable_Code_Point`
//!   (zero-width space/joiners, bidi embeddings, overrides and isolates such as U+202E, word
//!   joiner, BOM, soft hyphen, variation selectors, tag characters, Hangul fillers) and the
//!   Braille blank;
//! - unassigned, private-use and noncharacter code points (script `Unknown`: nobody can say what
//!   they will look like);
//! - not in Unicode NFKC normal form: full-width letters, ligatures (`ﬁ`), superscripts, Roman
//!   numerals, decomposed accents — two spellings of one name must not name two people;
//! - mixed scripts (UTS #39 resolved script set empty), such as Latin with Cyrillic or Greek
//!   (`pаypal` with a Cyrillic `а`); an email is checked per part (local part, each domain label);
//! - a non-ASCII value whose UTS #39 confusable skeleton is pure ASCII, i.e. a whole-script
//!   look-alike of an ASCII name (`сео`, "ceo" written entirely in Cyrillic).
//!
//! Deliberately *allowed*: ASCII punctuation, including LDAP filter (`*()\`), DN (`,+="<>;`),
//! SCIM filter (`"`) and path (`/`, `.`, `%`) metacharacters. Legitimate identities contain them
//! (`o'brien`, `first+tag@example.com`, `DOMAIN\user`, RFC 5322 local parts may hold `*/=?{}|~`),
//! and refusing a real leaver is a missed revocation; every adapter escapes values for its own
//! syntax (RFC 4515/4514 for LDAP, quoted strings for SCIM filters, percent-encoded path
//! segments), which the adapters' tests check against real peers. Single-script non-Latin names
//! (`王小明`, `Ελένη`, `José` in NFC) are allowed too.
//!
//! Pure functions, no I/O: unit-tested below and fuzzed through the parser (`fuzz/`).

use super::{ContractError, Identity};
use std::fmt;
use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;

/// Byte limits per identity field.
pub const MAX_ID_BYTES: usize = 128;
pub const MAX_USERNAME_BYTES: usize = 128;
pub const MAX_EMAIL_BYTES: usize = 254;

/// Which identity attribute a value is: the rules differ slightly (an email has parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    /// The identity id: `subject`, Kafka key, `data.identity.employee_id`.
    Id,
    Username,
    Email,
}

impl IdentityField {
    fn max_bytes(self) -> usize {
        match self {
            IdentityField::Id => MAX_ID_BYTES,
            IdentityField::Username => MAX_USERNAME_BYTES,
            IdentityField::Email => MAX_EMAIL_BYTES,
        }
    }
}

/// What is wrong with an identity value. Never carries the value itself: it may hold bidi
/// overrides or look-alikes that would mislead whoever reads the log (the dead letter keeps the
/// original bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityProblem {
    Empty,
    TooLong {
        len: usize,
        max: usize,
    },
    /// Leading/trailing white space, white space other than U+0020, or any in an email.
    Whitespace(char),
    Control(char),
    /// `Cf`, default-ignorable or blank-looking: zero-width, bidi, BOM, variation selectors, …
    Invisible(char),
    /// Unassigned, private-use or noncharacter.
    Unassigned(char),
    NotNfkc,
    MixedScript,
    ConfusableWithAscii,
}

impl fmt::Display for IdentityProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityProblem::Empty => f.write_str("is empty or white space only"),
            IdentityProblem::TooLong { len, max } => write!(f, "is {len} bytes, over {max}"),
            IdentityProblem::Whitespace(c) => write!(
                f,
                "has white space U+{:04X} at its ends, inside an email, or other than a plain space",
                *c as u32
            ),
            IdentityProblem::Control(c) => {
                write!(f, "contains the control character U+{:04X}", *c as u32)
            }
            IdentityProblem::Invisible(c) => write!(
                f,
                "contains the invisible or bidi formatting character U+{:04X}",
                *c as u32
            ),
            IdentityProblem::Unassigned(c) => write!(
                f,
                "contains the unassigned, private-use or noncharacter code point U+{:04X}",
                *c as u32
            ),
            IdentityProblem::NotNfkc => f.write_str(
                "is not in Unicode NFKC form (full-width, ligature, compatibility or decomposed characters)",
            ),
            IdentityProblem::MixedScript => {
                f.write_str("mixes scripts (e.g. Latin with Cyrillic or Greek look-alikes)")
            }
            IdentityProblem::ConfusableWithAscii => f.write_str(
                "is a non-ASCII look-alike of an ASCII name (its UTS #39 skeleton is ASCII)",
            ),
        }
    }
}

/// Checks the event's `subject` (the identity id) before anything else looks at it.
pub fn check_subject(subject: &str) -> Result<(), ContractError> {
    check_value(IdentityField::Id, subject).map_err(|problem| ContractError::InvalidIdentity {
        field: "subject",
        problem,
    })
}

/// Checks `data.identity`: `employee_id`, and `username` and `email` when present.
pub fn check_identity(who: &Identity) -> Result<(), ContractError> {
    let fields = [
        (
            "data.identity.employee_id",
            IdentityField::Id,
            Some(&who.employee_id),
        ),
        (
            "data.identity.username",
            IdentityField::Username,
            who.username.as_ref(),
        ),
        (
            "data.identity.email",
            IdentityField::Email,
            who.email.as_ref(),
        ),
    ];
    for (field, kind, value) in fields {
        if let Some(v) = value {
            check_value(kind, v)
                .map_err(|problem| ContractError::InvalidIdentity { field, problem })?;
        }
    }
    Ok(())
}

/// The rules of the module doc, first failure wins.
pub fn check_value(field: IdentityField, value: &str) -> Result<(), IdentityProblem> {
    if value.chars().all(char::is_whitespace) {
        return Err(IdentityProblem::Empty);
    }
    if value.len() > field.max_bytes() {
        return Err(IdentityProblem::TooLong {
            len: value.len(),
            max: field.max_bytes(),
        });
    }
    for c in value.chars() {
        if c.is_control() {
            return Err(IdentityProblem::Control(c));
        }
        if is_invisible(c) {
            return Err(IdentityProblem::Invisible(c));
        }
        if c.is_whitespace() && (c != ' ' || field == IdentityField::Email) {
            return Err(IdentityProblem::Whitespace(c));
        }
        if c.script() == Script::Unknown {
            return Err(IdentityProblem::Unassigned(c));
        }
    }
    if let Some(c) = value
        .chars()
        .next()
        .filter(|c| c.is_whitespace())
        .or_else(|| value.chars().last().filter(|c| c.is_whitespace()))
    {
        return Err(IdentityProblem::Whitespace(c));
    }
    if value.is_ascii() {
        return Ok(());
    }
    if !unicode_normalization::is_nfkc(value) {
        return Err(IdentityProblem::NotNfkc);
    }
    let single_script = match field {
        IdentityField::Email => match value.rsplit_once('@') {
            Some((local, domain)) => {
                local.is_single_script() && domain.split('.').all(|l| l.is_single_script())
            }
            None => value.is_single_script(),
        },
        _ => value.is_single_script(),
    };
    if !single_script {
        return Err(IdentityProblem::MixedScript);
    }
    if unicode_security::skeleton(value).all(|c| c.is_ascii()) {
        return Err(IdentityProblem::ConfusableWithAscii);
    }
    Ok(())
}

/// Invisible or formatting characters: `Default_Ignorable_Code_Point` (DerivedCoreProperties),
/// the rest of general category `Cf`, and U+2800 BRAILLE PATTERN BLANK (renders as nothing).
fn is_invisible(c: char) -> bool {
    let c = c as u32;
    INVISIBLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The code point ranges [`is_invisible`] refuses (also the JSON Schema's identity pattern).
pub(crate) const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),   // soft hyphen
    (0x034F, 0x034F),   // combining grapheme joiner
    (0x0600, 0x0605),   // Arabic number signs (Cf)
    (0x061C, 0x061C),   // Arabic letter mark
    (0x06DD, 0x06DD),   // Arabic end of ayah (Cf)
    (0x070F, 0x070F),   // Syriac abbreviation mark (Cf)
    (0x0890, 0x0891),   // Arabic pound/piastre mark above (Cf)
    (0x08E2, 0x08E2),   // Arabic disputed end of ayah (Cf)
    (0x115F, 0x1160),   // Hangul fillers
    (0x17B4, 0x17B5),   // Khmer inherent vowels
    (0x180B, 0x180F),   // Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),   // zero-width space, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),   // bidi embeddings and overrides (U+202E RLO)
    (0x2060, 0x206F),   // word joiner, invisible operators, bidi isolates, deprecated
    (0x2800, 0x2800),   // Braille pattern blank
    (0x3164, 0x3164),   // Hangul filler
    (0xFE00, 0xFE0F),   // variation selectors
    (0xFEFF, 0xFEFF),   // zero-width no-break space / BOM
    (0xFFA0, 0xFFA0),   // half-width Hangul filler
    (0xFFF0, 0xFFFB),   // reserved, interlinear annotation (Cf)
    (0x110BD, 0x110BD), // Kaithi number sign (Cf)
    (0x110CD, 0x110CD), // Kaithi number sign above (Cf)
    (0x13430, 0x1343F), // Egyptian hieroglyph format controls (Cf)
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0000, 0xE0FFF), // tags, variation selectors supplement, reserved
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::IdentityKind;
    use IdentityField::{Email, Id, Username};

    fn problem(field: IdentityField, v: &str) -> Option<IdentityProblem> {
        check_value(field, v).err()
    }

    /// Each of `chars`, put into a value by `value`, is refused as `refused` of that character.
    fn each_refused(
        field: IdentityField,
        chars: &[char],
        value: impl Fn(char) -> String,
        refused: fn(char) -> IdentityProblem,
    ) {
        for &c in chars {
            let v = value(c);
            assert_eq!(
                problem(field, &v),
                Some(refused(c)),
                "U+{:04X} in {v:?}",
                c as u32
            );
        }
    }

    #[test]
    fn ordinary_identities_pass() {
        for v in ["E100001", "ada", "alovelace", "a.lovelace", "svc-build_01"] {
            for f in [Id, Username] {
                assert_eq!(problem(f, v), None, "{v}");
            }
        }
        for v in [
            "ada.lovelace@example.com",
            "first+tag@example.co.uk",
            "o'brien@example.com",
        ] {
            assert_eq!(problem(Email, v), None, "{v}");
        }
        assert_eq!(problem(Username, "Mary Ann"), None, "inner ASCII space");
    }

    #[test]
    fn single_script_non_latin_names_pass() {
        for v in [
            "José",
            "Müller",
            "Straße",
            "Łukasz",
            "Øyvind",
            "王小明",
            "Ελένη",
            "Сергей",
            "محمد",
            "やまだ",
            "山田たろう", // Han + Hiragana: one script set (Japanese)
            "김민준",
        ] {
            assert_eq!(problem(Username, v), None, "{v}");
        }
        // Per part: a Cyrillic local part at an ASCII domain is one script per part.
        assert_eq!(problem(Email, "иван@example.com"), None);
        assert_eq!(problem(Email, "josé@bücher.example"), None);
    }

    #[test]
    fn metacharacters_are_left_to_the_adapters() {
        for v in [
            "*",
            "a*",
            "*)(uid=*",
            "x)(|(objectClass=*",
            "\" or userName pr \"",
            "../",
            "%2e%2e/",
            "..\\..\\etc",
            "cn=admin,dc=example",
            "DOMAIN\\user",
            "a/b?c#d",
        ] {
            assert_eq!(problem(Id, v), None, "{v}");
            assert_eq!(problem(Username, v), None, "{v}");
        }
        assert_eq!(problem(Email, "*@example.com"), None);
    }

    #[test]
    fn empty_and_white_space() {
        assert_eq!(problem(Id, ""), Some(IdentityProblem::Empty));
        assert_eq!(problem(Id, "   "), Some(IdentityProblem::Empty));
        assert_eq!(problem(Id, "\u{3000}"), Some(IdentityProblem::Empty));
        assert_eq!(problem(Id, " E1"), Some(IdentityProblem::Whitespace(' ')));
        assert_eq!(problem(Id, "E1 "), Some(IdentityProblem::Whitespace(' ')));
        each_refused(
            Username,
            &['\u{00A0}', '\u{2028}', '\u{1680}'],
            |c| format!("ada{c}l"),
            IdentityProblem::Whitespace,
        );
        assert_eq!(
            problem(Email, "ada l@example.com"),
            Some(IdentityProblem::Whitespace(' '))
        );
    }

    #[test]
    fn over_long() {
        assert_eq!(problem(Id, &"e".repeat(MAX_ID_BYTES)), None);
        assert_eq!(
            problem(Id, &"e".repeat(MAX_ID_BYTES + 1)),
            Some(IdentityProblem::TooLong {
                len: MAX_ID_BYTES + 1,
                max: MAX_ID_BYTES
            })
        );
        let email = format!("{}@example.com", "a".repeat(MAX_EMAIL_BYTES));
        assert!(matches!(
            problem(Email, &email),
            Some(IdentityProblem::TooLong { .. })
        ));
        // Counted in bytes: 43 three-byte characters are 129 bytes.
        assert!(matches!(
            problem(Username, &"王".repeat(43)),
            Some(IdentityProblem::TooLong { len: 129, .. })
        ));
    }

    #[test]
    fn control_characters() {
        each_refused(
            Id,
            &[
                '\0', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}',
            ],
            |c| format!("ada{c}x"),
            IdentityProblem::Control,
        );
    }

    #[test]
    fn invisible_and_bidi_characters() {
        each_refused(
            Username,
            &[
                '\u{200B}',
                '\u{200C}',
                '\u{200D}',
                '\u{200E}',
                '\u{200F}',
                '\u{202A}',
                '\u{202E}',
                '\u{2060}',
                '\u{2066}',
                '\u{2069}',
                '\u{FEFF}',
                '\u{00AD}',
                '\u{034F}',
                '\u{FE0F}',
                '\u{E0041}',
                '\u{E0100}',
                '\u{3164}',
                '\u{115F}',
                '\u{2800}',
                '\u{180E}',
                '\u{061C}',
            ],
            |c| format!("ad{c}a"),
            IdentityProblem::Invisible,
        );
        // Only an invisible character: invisible, not "empty".
        assert_eq!(
            problem(Id, "\u{200B}"),
            Some(IdentityProblem::Invisible('\u{200B}'))
        );
    }

    #[test]
    fn unassigned_and_private_use() {
        each_refused(
            Id,
            &[
                '\u{E000}',
                '\u{F8FF}',
                '\u{FFFF}',
                '\u{FDD0}',
                '\u{10FFFD}',
                '\u{0378}',
            ],
            |c| format!("ada{c}"),
            IdentityProblem::Unassigned,
        );
    }

    #[test]
    fn compatibility_forms_are_refused() {
        for v in [
            "ａｄａ",      // full-width
            "Ａda",        // one full-width letter
            "ﬁnance",      // ligature
            "ada²",        // superscript
            "Ⅸ",           // Roman numeral
            "ｱﾀﾞ",          // half-width katakana
            "Jose\u{301}", // decomposed accent (NFD)
            "\u{212B}",    // ANGSTROM SIGN (NFKC: U+00C5)
            "ℌilbert",     // black-letter capital
        ] {
            assert_eq!(problem(Username, v), Some(IdentityProblem::NotNfkc), "{v}");
        }
    }

    #[test]
    fn mixed_scripts_are_refused() {
        for v in [
            "pаypal",    // Cyrillic а
            "аdmin1x",   // Cyrillic а + Latin
            "micrοsoft", // Greek omicron
            "Ελένηx",    // Greek + Latin
            "山田tarо",  // Han + Latin + Cyrillic о
        ] {
            assert_eq!(
                problem(Username, v),
                Some(IdentityProblem::MixedScript),
                "{v}"
            );
        }
        assert_eq!(
            problem(Email, "pаypal@example.com"),
            Some(IdentityProblem::MixedScript)
        );
        assert_eq!(
            problem(Email, "ada@exаmple.com"),
            Some(IdentityProblem::MixedScript)
        );
    }

    #[test]
    fn whole_script_look_alikes_of_ascii_are_refused() {
        // Entirely Cyrillic (or Greek), but looks exactly like the Latin "ceo", "pay", "BAC",
        // "ABE".
        for v in [
            "\u{0441}\u{0435}\u{043E}",
            "\u{0440}\u{0430}\u{0443}",
            "\u{0412}\u{0410}\u{0421}",
            "\u{0391}\u{0392}\u{0395}",
        ] {
            assert_eq!(
                problem(Username, v),
                Some(IdentityProblem::ConfusableWithAscii),
                "{v}"
            );
        }
    }

    #[test]
    fn identity_and_subject_map_to_invalid_identity() {
        let mut who = Identity {
            employee_id: "E1".into(),
            email: Some("ada@example.com".into()),
            username: Some("ada".into()),
            kind: IdentityKind::Employee,
        };
        assert_eq!(check_identity(&who), Ok(()));
        who.username = Some("ad\u{202E}a".into());
        let e = check_identity(&who).unwrap_err();
        assert_eq!(e.reason(), "invalid_identity");
        assert!(e.to_string().contains("data.identity.username"), "{e}");
        assert!(e.to_string().contains("U+202E"), "{e}");
        assert!(
            !e.to_string().contains('\u{202E}'),
            "the value is not echoed"
        );
        who.username = None;
        who.email = Some("ａ@example.com".into());
        assert_eq!(
            check_identity(&who).unwrap_err(),
            ContractError::InvalidIdentity {
                field: "data.identity.email",
                problem: IdentityProblem::NotNfkc
            }
        );
        assert_eq!(check_subject("E1"), Ok(()));
        assert_eq!(
            check_subject("E\u{0}1").unwrap_err().reason(),
            "invalid_identity"
        );
    }
}

//! What hostile identities are made of: bystanders a prefix or wildcard would catch, look-alike,
//! forbidden and compatibility characters, and identities valid but weird.

pub(super) const BYSTANDERS: usize = 32;

/// A bystander: an identity that hostile records name or imitate, and that is never terminated.
pub fn bystander(i: usize) -> String {
    format!("B{i:04}")
}

/// Latin letters and their Cyrillic or Greek look-alikes.
pub(super) const LOOK_ALIKES: &[(char, char)] = &[
    ('a', '\u{0430}'),
    ('e', '\u{0435}'),
    ('o', '\u{043E}'),
    ('p', '\u{0440}'),
    ('c', '\u{0441}'),
    ('x', '\u{0445}'),
    ('y', '\u{0443}'),
    ('i', '\u{0456}'),
    ('B', '\u{0412}'),
    ('H', '\u{041D}'),
    ('o', '\u{03BF}'),
    ('B', '\u{0392}'),
    ('H', '\u{0397}'),
];

/// Characters an identity must never carry, each with what it is.
pub(super) const FORBIDDEN_CHARS: &[(&str, char)] = &[
    ("nul", '\0'),
    ("control", '\u{01}'),
    ("control", '\t'),
    ("control", '\n'),
    ("control", '\r'),
    ("control", '\u{1B}'),
    ("control", '\u{7F}'),
    ("control", '\u{85}'),
    ("control", '\u{9B}'),
    ("bidi", '\u{202A}'),
    ("bidi", '\u{202B}'),
    ("bidi", '\u{202C}'),
    ("bidi", '\u{202D}'),
    ("bidi", '\u{202E}'),
    ("bidi", '\u{2066}'),
    ("bidi", '\u{2067}'),
    ("bidi", '\u{2068}'),
    ("bidi", '\u{2069}'),
    ("bidi", '\u{200E}'),
    ("bidi", '\u{200F}'),
    ("bidi", '\u{061C}'),
    ("zero_width", '\u{200B}'),
    ("zero_width", '\u{200C}'),
    ("zero_width", '\u{200D}'),
    ("zero_width", '\u{2060}'),
    ("zero_width", '\u{FEFF}'),
    ("zero_width", '\u{00AD}'),
    ("zero_width", '\u{034F}'),
    ("zero_width", '\u{180E}'),
    ("zero_width", '\u{FE0F}'),
    ("zero_width", '\u{E0041}'),
    ("zero_width", '\u{3164}'),
    ("zero_width", '\u{2800}'),
    ("private_use", '\u{E000}'),
    ("private_use", '\u{F8FF}'),
    ("noncharacter", '\u{FFFF}'),
    ("noncharacter", '\u{FDD0}'),
    ("unassigned", '\u{0378}'),
    ("space", '\u{00A0}'),
    ("space", '\u{2028}'),
    ("space", '\u{2029}'),
    ("space", '\u{3000}'),
    ("space", '\u{1680}'),
];

/// Compatibility characters (not NFKC) that read as ASCII.
pub(super) const COMPAT: &[&str] = &[
    "\u{FB01}",  // ﬁ
    "\u{FB00}",  // ﬀ
    "\u{FB02}",  // ﬂ
    "\u{00B2}",  // ²
    "\u{2168}",  // Ⅸ
    "\u{210C}",  // ℌ
    "\u{212A}",  // K (Kelvin)
    "\u{212B}",  // Å (Angstrom)
    "\u{2460}",  // ①
    "\u{1D400}", // 𝐀
    "e\u{0301}", // decomposed é
];

/// Valid identities that are metacharacter soup: each must revoke itself and nothing else.
pub(super) const WEIRD_IDS: &[&str] = &[
    "*",
    "a*",
    "B*",
    "*)(uid=*",
    "x)(|(objectClass=*",
    "B0001)(|(uid=*",
    "admin)(&",
    "\\2a",
    "cn=B0001,ou=people,dc=example,dc=com",
    "\" or userName pr \"",
    "x\" or \"1\" eq \"1",
    "B0002\") or (userName eq \"B0003",
    "../",
    "../B0004",
    "..%2f",
    "%2e%2e/",
    "a/../B0005",
    "..\\B0006",
    "%00",
    "B0007%00",
    "a?b#c",
    "~root",
    "$(whoami)",
    "';DROP TABLE users;--",
    "<script>x</script>",
    "{{7*7}}",
];

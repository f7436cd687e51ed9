//! Pure helpers of the directory adapter: filter escaping (RFC 4515), DNs (RFC 4514: split,
//! compare, containment), GeneralizedTime, result codes and what they mean.

use super::MODIFIED;
use chrono::{DateTime, NaiveDateTime, Utc};
use ldap3::{LdapError, SearchEntry};
use revoke_shared::retry::ErrorClass;
use std::collections::HashSet;

/// Escapes a value for an LDAP search filter (RFC 4515 §3): `\`, `*`, `(`, `)` and NUL become
/// `\5c`, `\2a`, `\28`, `\29`, `\00`; everything else (UTF-8 included) stays as it is. That is
/// `ldap3::ldap_escape` (byte-wise, lowercase hex; a UTF-8 sequence never holds those bytes).
pub fn escape_filter_value(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}

/// `(<attr>=<escaped value>)`.
pub fn eq_filter(attr: &str, value: &str) -> String {
    format!("({attr}={})", escape_filter_value(value))
}

/// An attribute description as config may name one: a descriptor (`owner`, `x-sponsor`) or a
/// numeric OID. Nothing that could change a filter's structure.
pub(crate) fn attribute_name_ok(s: &str) -> bool {
    let descr = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    descr || oid
}

/// A filter from config: parenthesised and accepted by the filter parser.
pub(crate) fn filter_ok(s: &str) -> bool {
    s.starts_with('(') && s.ends_with(')') && ldap3::parse_filter(s).is_ok()
}

/// Where the first RDN of `dn` ends: its first `,` or `;` that is neither `\`-escaped nor inside
/// a quoted value (RFC 4514).
fn rdn_end(dn: &str) -> Option<usize> {
    let mut escaped = false;
    let mut quoted = false;
    for (i, c) in dn.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' | ';' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits a DN into its first RDN and the rest (the parent), honouring `\` escapes and quoted
/// values (RFC 4514). `None` for a DN with a single RDN (or an empty one).
pub fn split_first_rdn(dn: &str) -> Option<(&str, &str)> {
    let i = rdn_end(dn)?;
    let (rdn, parent) = (dn[..i].trim(), dn[i + 1..].trim());
    (!rdn.is_empty() && !parent.is_empty()).then_some((rdn, parent))
}

/// Every RDN of `dn`, trimmed, first to last; empty ones too (`uid=a,` ends in one), so a
/// malformed DN shows.
pub(super) fn split_rdns(dn: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(dn);
    std::iter::from_fn(move || {
        let cur = rest?;
        let end = rdn_end(cur);
        rest = end.map(|i| &cur[i + 1..]);
        Some(cur[..end.unwrap_or(cur.len())].trim())
    })
}

/// A comparison form of a DN: ASCII-lowercased, spaces around unescaped `,` `;` `=` `+` removed.
/// Good for telling whether two DNs the server wrote name the same entry; the server's own
/// matching rules decide everything that is sent back to it.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut escaped = false;
    let mut pending_space = 0usize;
    for c in dn.trim().chars() {
        if escaped {
            escaped = false;
            out.push(c.to_ascii_lowercase());
            continue;
        }
        match c {
            ' ' => {
                pending_space += 1;
                continue;
            }
            ',' | ';' | '=' | '+' => {
                pending_space = 0;
                out.push(if c == ';' { ',' } else { c });
                // Spaces after a separator are dropped by skipping them below.
                continue;
            }
            _ => {}
        }
        if pending_space > 0 {
            if !matches!(out.chars().last(), Some(',' | '=' | '+') | None) {
                out.extend(std::iter::repeat_n(' ', pending_space));
            }
            pending_space = 0;
        }
        if c == '\\' {
            escaped = true;
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

pub fn dn_eq(a: &str, b: &str) -> bool {
    normalize_dn(a) == normalize_dn(b)
}

/// Whether `dn` is `base` or lies beneath it, compared RDN by RDN (so `cn=a\,ou=x,dc=y` is not
/// under `ou=x,dc=y`: the escaped comma is part of a value, not a level).
pub fn dn_within(dn: &str, base: &str) -> bool {
    let mut cur = dn;
    loop {
        if dn_eq(cur, base) {
            return true;
        }
        match split_first_rdn(cur) {
            Some((_, parent)) => cur = parent,
            None => return false,
        }
    }
}

/// Where a move puts an entry: its first RDN under `ou`.
pub fn moved_dn(original_dn: &str, ou: &str) -> Option<String> {
    let (rdn, _) = split_first_rdn(original_dn)?;
    Some(format!("{rdn},{ou}"))
}

/// A GeneralizedTime (RFC 4517 §3.3.13) as OpenLDAP writes it: `YYYYMMDDHHMMSS[.fff]Z`.
pub fn parse_generalized_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim().strip_suffix('Z')?;
    let (main, frac) = match s.split_once(['.', ',']) {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S").ok()?;
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
    };
    Some(t.and_utc() + chrono::Duration::nanoseconds(nanos as i64))
}

/// Whether `s` is a GeneralizedTime a directory accepts for `pwdAccountLockedTime`
/// (`YYYYMMDDHH[MM[SS]][.fff]Z`).
pub fn generalized_time_ok(s: &str) -> bool {
    let Some(s) = s.strip_suffix('Z') else {
        return false;
    };
    let (main, frac) = match s.split_once(['.', ',']) {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    matches!(main.len(), 10 | 12 | 14)
        && main.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// How a failed connect is treated: TLS and URL problems will not fix themselves; refused,
/// reset and timed-out connections may.
pub fn connect_error_class(e: &LdapError) -> ErrorClass {
    match e {
        LdapError::Io { source } if source.kind() == std::io::ErrorKind::InvalidData => {
            ErrorClass::Permanent
        }
        LdapError::Rustls { .. }
        | LdapError::DNSName { .. }
        | LdapError::UrlParsing { .. }
        | LdapError::UnknownScheme(_)
        | LdapError::MismatchedStreamType => ErrorClass::Permanent,
        _ => ErrorClass::Transient,
    }
}

/// How an LDAP result code is treated (RFC 4511 §4.1.9 and appendix A).
pub fn classify_result_code(rc: u32) -> ErrorClass {
    match rc {
        // timeLimitExceeded, busy, unavailable; and the client-side codes for a server that
        // went away, a timeout and a failed connect.
        3 | 51 | 52 | 81 | 85 | 91 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

pub(super) fn result_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        10 => "referral",
        16 => "noSuchAttribute",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        64 => "namingViolation",
        65 => "objectClassViolation",
        68 => "entryAlreadyExists",
        80 => "other",
        _ => "error",
    }
}

/// What to check next for a result code, where there is something useful to say.
pub(super) fn result_hint(rc: u32) -> &'static str {
    match rc {
        49 => " (check bind_dn and password_env/password_file)",
        50 => " (the revoker's ACL lacks a right it needs: see the adapter's docs)",
        48 | 13 => " (the server wants TLS: use ldaps:// or starttls = true)",
        32 => " (check base_dn / group_base_dn / disabled_ou)",
        68 => " (an entry with that name already exists in the disabled OU)",
        _ => "",
    }
}

/// Equality as the directory's `caseIgnoreMatch` / `caseIgnoreIA5Match` see it (RFC 4518
/// insignificant space handling, case folded): the rule `uid`, `mail` and `employeeNumber` use.
pub fn case_ignore_eq(a: &str, b: &str) -> bool {
    let prep = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    prep(a) == prep(b)
}

pub(super) fn first<'a>(e: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

pub(super) fn values<'a>(e: &'a SearchEntry, attr: &str) -> Vec<&'a str> {
    e.attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
        .collect()
}

pub(super) fn modified_at(e: &SearchEntry) -> Option<DateTime<Utc>> {
    first(e, MODIFIED).and_then(parse_generalized_time)
}

pub(super) fn set(v: &str) -> HashSet<&str> {
    HashSet::from([v])
}

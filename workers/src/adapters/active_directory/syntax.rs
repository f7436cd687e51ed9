//! Active Directory's own encodings, as pure functions: `objectGUID` (16 bytes on the wire, the
//! first three fields little-endian) and its forms in filters and `<GUID=…>` DNs;
//! `accountExpires` (a Windows FILETIME: 100-ns intervals since 1601-01-01 UTC, `0` and
//! `0x7FFFFFFFFFFFFFFF` meaning never); the `userAccountControl` bit that disables an account;
//! `unicodePwd` (the quoted password in UTF-16LE); and the `data <code>` an AD bind failure
//! carries. `whenChanged` is a GeneralizedTime, read by the LDAP adapter's
//! `parse_generalized_time`.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// `userAccountControl` ACCOUNTDISABLE.
pub const ACCOUNT_DISABLE: u32 = 0x2;

/// `accountExpires` values that mean "never expires".
pub const NEVER_EXPIRES: [i64; 2] = [0, i64::MAX];

/// Seconds from 1601-01-01 to 1970-01-01 (the FILETIME epoch to the Unix one).
const FILETIME_UNIX_OFFSET_SECS: i64 = 11_644_473_600;

/// An `objectGUID` as AD sends it (16 bytes), read as the GUID its tools print.
pub fn guid_from_wire(bytes: &[u8]) -> Option<Uuid> {
    let b: [u8; 16] = bytes.try_into().ok()?;
    Some(Uuid::from_bytes_le(b))
}

/// The value of `(objectGUID=…)` for `guid`: its wire bytes, each escaped `\xx` (RFC 4515).
pub fn guid_filter_value(guid: &Uuid) -> String {
    guid.to_bytes_le()
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect()
}

/// The DN AD resolves to the object with `guid` wherever it is now (`<GUID=…>`): what every
/// operation after discovery addresses, so that a rename or move between discovery and
/// revocation cannot redirect it.
pub fn guid_dn(guid: &Uuid) -> String {
    format!("<GUID={}>", guid.hyphenated())
}

/// `userAccountControl` with the account disabled, every other bit kept.
pub fn disabled(uac: u32) -> u32 {
    uac | ACCOUNT_DISABLE
}

/// `userAccountControl` with the account enabled, every other bit kept.
pub fn enabled(uac: u32) -> u32 {
    uac & !ACCOUNT_DISABLE
}

pub fn is_disabled(uac: u32) -> bool {
    uac & ACCOUNT_DISABLE != 0
}

/// `at` as a FILETIME (100-ns intervals since 1601-01-01 UTC).
pub fn filetime(at: DateTime<Utc>) -> i64 {
    (at.timestamp() + FILETIME_UNIX_OFFSET_SECS) * 10_000_000
        + i64::from(at.timestamp_subsec_nanos() / 100)
}

/// A FILETIME as a time; `None` for the values meaning never (and out of range).
pub fn from_filetime(ft: i64) -> Option<DateTime<Utc>> {
    if NEVER_EXPIRES.contains(&ft) || ft < 0 {
        return None;
    }
    let secs = ft / 10_000_000 - FILETIME_UNIX_OFFSET_SECS;
    let nanos = (ft % 10_000_000) as u32 * 100;
    Utc.timestamp_opt(secs, nanos).single()
}

/// Whether `accountExpires = value` means the account has expired at `now`.
pub fn expired(value: i64, now: DateTime<Utc>) -> bool {
    from_filetime(value).is_some_and(|at| at <= now)
}

/// The value `unicodePwd` is written with: the password in double quotes, UTF-16LE.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// Why AD refused a bind, from the `data <hex>` of its diagnostic message: `533` disabled,
/// `701` expired, `775` locked out, `52e` wrong password, `773` must change the password.
pub fn bind_refusal(message: &str) -> Option<&'static str> {
    let code = message
        .split(", ")
        .find_map(|part| part.trim().strip_prefix("data "))?;
    Some(match code.trim().to_ascii_lowercase().as_str() {
        "533" => "account disabled",
        "701" => "account expired",
        "775" => "account locked out",
        "52e" => "invalid credentials",
        "773" => "password must change",
        "532" => "password expired",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_reads_as_ad_prints_it_and_is_escaped_byte_by_byte() {
        // AD's wire order: the first three fields little-endian.
        let wire = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        let g = guid_from_wire(&wire).unwrap();
        assert_eq!(g.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(
            guid_filter_value(&g),
            "\\33\\22\\11\\00\\55\\44\\77\\66\\88\\99\\aa\\bb\\cc\\dd\\ee\\ff"
        );
        assert_eq!(guid_dn(&g), "<GUID=00112233-4455-6677-8899-aabbccddeeff>");
        assert_eq!(guid_from_wire(&wire[..15]), None, "not 16 bytes");
    }

    #[test]
    fn disabling_keeps_every_other_bit() {
        // NORMAL_ACCOUNT (0x200) | DONT_EXPIRE_PASSWORD (0x10000)
        let uac = 0x10200;
        assert!(!is_disabled(uac));
        assert_eq!(disabled(uac), 0x10202);
        assert!(is_disabled(disabled(uac)));
        assert_eq!(enabled(disabled(uac)), uac);
        assert_eq!(disabled(disabled(uac)), disabled(uac), "idempotent");
    }

    #[test]
    fn filetimes_round_trip_and_never_is_never() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 2, 32, 24).unwrap();
        // 2026-12-05T02:32:24Z as AD writes it.
        assert_eq!(filetime(at), 134_409_115_440_000_000);
        assert_eq!(from_filetime(filetime(at)), Some(at));
        for never in NEVER_EXPIRES {
            assert_eq!(from_filetime(never), None);
            assert!(!expired(never, at));
        }
        assert!(expired(filetime(at), at));
        assert!(!expired(filetime(at) + 10_000_000, at), "a second later");
        assert_eq!(from_filetime(-5), None);
    }

    #[test]
    fn whenchanged_as_ad_writes_it_is_read_by_the_ldap_parser() {
        use crate::adapters::ldap::parse_generalized_time;
        assert_eq!(
            parse_generalized_time("20261205023224.0Z"),
            Utc.with_ymd_and_hms(2026, 12, 5, 2, 32, 24).single()
        );
    }

    #[test]
    fn the_password_is_quoted_utf16le() {
        assert_eq!(unicode_pwd("aé"), vec![0x22, 0, 0x61, 0, 0xe9, 0, 0x22, 0]);
    }

    #[test]
    fn a_bind_refusal_names_why() {
        let msg = "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1";
        assert_eq!(bind_refusal(msg), Some("account disabled"));
        assert_eq!(
            bind_refusal("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1"),
            Some("invalid credentials")
        );
        assert_eq!(bind_refusal("no data here"), None);
    }
}

//! What a person holds in Active Directory, as this adapter names it in evidence (`AdObject`),
//! and its ids: written once in discovery, parsed back once at the contract's edge. Every object
//! is named by `objectGUID` (immutable: a rename or a move between discovery and revocation
//! cannot redirect an action, and a restore acts on the same object), never by DN. No I/O.

use crate::adapters::ldap::split_first_rdn;
use crate::adapters::ObjectRef;
use uuid::Uuid;

/// One object of a person's Active Directory footprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdObject {
    /// `account`, id = `<objectGUID>`: a user (the person's own, or a sponsored service
    /// account), revoked by setting ACCOUNTDISABLE in `userAccountControl`.
    Account { guid: Uuid },
    /// `account_expiry`, id = `<objectGUID>|<accountExpires before>`: `accountExpires` set to
    /// the revocation's time; the value before is kept to put back on a restore.
    Expiry { guid: Uuid, before: i64 },
    /// `group_membership`, id = `<group objectGUID>|<member objectGUID>`: the member's DN
    /// removed from the group's `member`.
    GroupMembership { group: Uuid, member: Uuid },
    /// `password`, id = `<objectGUID>|<pwdLastSet before>`: `unicodePwd` reset to a random
    /// value nobody learns; read back as `pwdLastSet` moved on from the value discovery saw.
    /// Irreversible.
    Password { guid: Uuid, before: i64 },
    /// `account_location`, id = `<objectGUID>|<the parent DN it was under>`: the object moved
    /// into the disabled OU; the DN before is kept to move it back on a restore. Last in the
    /// id, as it may hold any character.
    Location { guid: Uuid, from: String },
}

impl ObjectRef for AdObject {
    const EXAMPLE: &'static str = "<group objectGUID>|<member objectGUID>";
    const WHAT: &'static str = "an Active Directory object";

    fn kind(&self) -> &'static str {
        match self {
            AdObject::Account { .. } => "account",
            AdObject::Expiry { .. } => "account_expiry",
            AdObject::GroupMembership { .. } => "group_membership",
            AdObject::Password { .. } => "password",
            AdObject::Location { .. } => "account_location",
        }
    }

    fn id(&self) -> String {
        match self {
            AdObject::Account { guid } => guid.to_string(),
            AdObject::Expiry { guid, before } | AdObject::Password { guid, before } => {
                format!("{guid}|{before}")
            }
            AdObject::Location { guid, from } => format!("{guid}|{from}"),
            AdObject::GroupMembership { group, member } => format!("{group}|{member}"),
        }
    }

    /// GUIDs in their hyphenated form only, `accountExpires` and `pwdLastSet` FILETIMEs (a
    /// non-negative number; for `accountExpires`, `0` and `i64::MAX` mean never), a DN with at
    /// least two RDNs: a tampered id is refused before anything reaches the directory.
    fn parse(kind: &str, id: &str) -> Option<AdObject> {
        let filetime = |id: &str| -> Option<(Uuid, i64)> {
            let (g, text) = id.split_once('|')?;
            let v: i64 = text.parse().ok()?;
            (v >= 0 && v.to_string() == text).then_some((guid(g)?, v))
        };
        match kind {
            "account" => Some(AdObject::Account { guid: guid(id)? }),
            "password" => {
                let (guid, before) = filetime(id)?;
                Some(AdObject::Password { guid, before })
            }
            "account_expiry" => {
                let (guid, before) = filetime(id)?;
                Some(AdObject::Expiry { guid, before })
            }
            "account_location" => {
                let (g, from) = id.split_once('|')?;
                split_first_rdn(from)?;
                (from.trim() == from).then_some(())?;
                Some(AdObject::Location {
                    guid: guid(g)?,
                    from: from.to_string(),
                })
            }
            "group_membership" => {
                let (group, member) = id.split_once('|')?;
                let (group, member) = (guid(group)?, guid(member)?);
                (group != member).then_some(AdObject::GroupMembership { group, member })
            }
            _ => None,
        }
    }
}

/// A GUID written as `id` writes it (lower-case, hyphenated), nothing else.
fn guid(s: &str) -> Option<Uuid> {
    let g = Uuid::parse_str(s).ok()?;
    (g.hyphenated().to_string() == s && !g.is_nil()).then_some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    #[test]
    fn every_object_round_trips_through_its_id() {
        for o in [
            AdObject::Account { guid: g(1) },
            AdObject::Expiry {
                guid: g(1),
                before: 0,
            },
            AdObject::Expiry {
                guid: g(1),
                before: i64::MAX,
            },
            AdObject::Expiry {
                guid: g(1),
                before: 134_409_115_440_000_000,
            },
            AdObject::GroupMembership {
                group: g(2),
                member: g(1),
            },
            AdObject::Password {
                guid: g(3),
                before: 134_409_115_440_000_000,
            },
            AdObject::Location {
                guid: g(1),
                from: "OU=Sales|EU,OU=People,DC=revoke,DC=test".into(),
            },
        ] {
            assert_eq!(AdObject::parse(o.kind(), &o.id()), Some(o.clone()), "{o:?}");
        }
    }

    #[test]
    fn tampered_ids_are_refused() {
        // Letters in it, so that upper case differs.
        let a = g(0xab).to_string();
        let b = g(2).to_string();
        for (kind, id) in [
            ("account", "CN=bob,CN=Users,DC=revoke,DC=test".to_string()),
            ("account", a.to_uppercase()),
            ("account", a.replace('-', "")),
            ("account", format!("{{{a}}}")),
            ("account", Uuid::nil().to_string()),
            ("account", format!("{a})(objectClass=*")),
            ("account_expiry", a.clone()),
            ("account_expiry", format!("{a}|-5")),
            ("account_expiry", format!("{a}|soon")),
            ("group_membership", a.clone()),
            ("group_membership", format!("{a}|{a}")),
            ("group_membership", format!("{a}|{b}|{a}")),
            ("password", a.clone()),
            ("password", format!("{a}|+5")),
            ("password", format!("{a}|05")),
            ("account_location", a.clone()),
            ("account_location", format!("{a}|DC=test")),
            ("account_location", format!("{a}| OU=x,DC=test")),
            (
                "account_location",
                format!("{}|OU=x,DC=test", a.to_uppercase()),
            ),
            ("session", a.clone()),
        ] {
            assert_eq!(AdObject::parse(kind, &id), None, "{kind} {id}");
        }
    }
}

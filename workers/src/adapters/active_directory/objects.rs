//! What a person holds in Active Directory, as this adapter names it in evidence (`AdObject`),
//! and its ids: written once in discovery, parsed back once at the contract's edge. Every object
//! is named by `objectGUID` (immutable: a rename or a move between discovery and revocation
//! cannot redirect an action, and a restore acts on the same object), never by DN. No I/O.

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
    /// `password`, id = `<objectGUID>`: `unicodePwd` reset to a random value nobody learns.
    /// Irreversible.
    Password { guid: Uuid },
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
        }
    }

    fn id(&self) -> String {
        match self {
            AdObject::Account { guid } | AdObject::Password { guid } => guid.to_string(),
            AdObject::Expiry { guid, before } => format!("{guid}|{before}"),
            AdObject::GroupMembership { group, member } => format!("{group}|{member}"),
        }
    }

    /// GUIDs in their hyphenated form only, `accountExpires` a FILETIME (a non-negative
    /// number; `0` and `i64::MAX` mean never): a tampered id is refused before anything reaches the directory.
    fn parse(kind: &str, id: &str) -> Option<AdObject> {
        match kind {
            "account" => Some(AdObject::Account { guid: guid(id)? }),
            "password" => Some(AdObject::Password { guid: guid(id)? }),
            "account_expiry" => {
                let (g, before) = id.split_once('|')?;
                let before: i64 = before.parse().ok()?;
                (before >= 0).then_some(())?;
                Some(AdObject::Expiry {
                    guid: guid(g)?,
                    before,
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
            AdObject::Password { guid: g(3) },
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
            ("session", a.clone()),
        ] {
            assert_eq!(AdObject::parse(kind, &id), None, "{kind} {id}");
        }
    }
}

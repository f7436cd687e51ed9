//! What a person holds in the directory, as this adapter names it in evidence (`LdapObject`),
//! and its ids: written once in discovery, parsed back once at the contract's edge. The ids are
//! an evidence contract (auditors read them, restores of old evidence parse them), so their
//! bytes never change. No I/O: whether an id's DNs lie where this instance's config says (the
//! group under `group_base_dn`, the OU being `disabled_ou`) is for the code that acts on them
//! (`ownership`).

use super::{attribute_name_ok, split_first_rdn, split_rdns, MEMBER_ATTRIBUTES};
use crate::adapters::ObjectRef;

/// One object of a person's directory footprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LdapObject {
    /// `account`, id = the entry's DN as discovery saw it: an entry that can bind (the
    /// person's own, or a sponsored one), revoked by a lock.
    Account { dn: String },
    /// `group_membership`, id = `<attribute>|<group DN>|<value>` (`%` and `|` inside the DN and
    /// the value written `%25` and `%7C`).
    GroupMembership(Membership),
    /// `account_location`, id = `<original DN>|<disabled OU>` (encoded as above): the person's
    /// entry moved from `dn` to its first RDN under `disabled_ou`.
    AccountLocation { dn: String, disabled_ou: String },
}

/// One value of `member`/`uniqueMember` (a DN) or `memberUid` (a uid) in one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// One of `MEMBER_ATTRIBUTES`.
    pub attribute: &'static str,
    pub group: String,
    pub value: String,
}

impl ObjectRef for LdapObject {
    const EXAMPLE: &'static str = "member|<group DN>|<member DN>";
    const WHAT: &'static str = "a directory object";

    fn kind(&self) -> &'static str {
        match self {
            LdapObject::Account { .. } => "account",
            LdapObject::GroupMembership(_) => "group_membership",
            LdapObject::AccountLocation { .. } => "account_location",
        }
    }

    fn id(&self) -> String {
        match self {
            LdapObject::Account { dn } => dn.clone(),
            LdapObject::GroupMembership(m) => {
                format!(
                    "{}|{}|{}",
                    m.attribute,
                    enc_part(&m.group),
                    enc_part(&m.value)
                )
            }
            LdapObject::AccountLocation { dn, disabled_ou } => {
                format!("{}|{}", enc_part(dn), enc_part(disabled_ou))
            }
        }
    }

    /// Every DN must have the shape of one (RDNs of `type=value`), a `memberUid` value must not
    /// be empty, and a moved DN must have a parent (so it has somewhere to go back to): a
    /// tampered id is refused before anything is sent to the directory.
    fn parse(kind: &str, id: &str) -> Option<LdapObject> {
        match kind {
            "account" => dn_shaped(id).then(|| LdapObject::Account { dn: id.to_string() }),
            "group_membership" => {
                let mut parts = id.split('|');
                let (attr, group, value) = (parts.next()?, parts.next()?, parts.next()?);
                if parts.next().is_some() {
                    return None;
                }
                let attribute = MEMBER_ATTRIBUTES.into_iter().find(|a| *a == attr)?;
                let (group, value) = (dec_part(group), dec_part(value));
                let value_ok = if attribute == "memberUid" {
                    !value.is_empty()
                } else {
                    dn_shaped(&value)
                };
                (dn_shaped(&group) && value_ok).then_some(LdapObject::GroupMembership(Membership {
                    attribute,
                    group,
                    value,
                }))
            }
            "account_location" => {
                let (dn, ou) = id.split_once('|')?;
                if ou.contains('|') {
                    return None;
                }
                let (dn, disabled_ou) = (dec_part(dn), dec_part(ou));
                (dn_shaped(&dn) && dn_shaped(&disabled_ou) && split_first_rdn(&dn).is_some())
                    .then_some(LdapObject::AccountLocation { dn, disabled_ou })
            }
            _ => None,
        }
    }
}

/// Whether `s` has the shape of a DN: one or more RDNs, each `<type>=<value>` with an attribute
/// type a schema could name (nothing like `x)(uid=*`). The directory's own syntax check decides
/// the values.
fn dn_shaped(s: &str) -> bool {
    split_rdns(s).all(|rdn| {
        rdn.split_once('=')
            .is_some_and(|(attribute, _)| attribute_name_ok(attribute.trim()))
    })
}

fn enc_part(s: &str) -> String {
    s.replace('%', "%25").replace('|', "%7C")
}

fn dec_part(s: &str) -> String {
    s.replace("%7C", "|")
        .replace("%7c", "|")
        .replace("%25", "%")
}

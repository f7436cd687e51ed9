//! Which protocol speaks for one target instance. A target *kind* is a role (the directory, the
//! SaaS tenants, the cloud account, …); a *protocol* is the API an adapter speaks to fill it
//! (LDAP, SCIM, IAM, …). Every kind has a default protocol; an instance table may name another
//! one that serves the kind with `adapter = "<protocol>"`.
//!
//! Adding a protocol is one variant here (its arm in `spec`, and its place in `ALL`) and one arm
//! in `build` (`mod.rs`); kinds, defaults and error messages follow from these.

use revoke_shared::contract::TargetKind;
use std::borrow::Cow;

/// The key of an instance table that names its protocol. It is taken out of the table before the
/// adapter's settings read it (`without_key`), as the rate-limit keys are (`table.rs`).
pub(crate) const KEY: &str = "adapter";

/// The protocol an adapter speaks (not the `Adapter` trait of `object.rs`, which names a target's
/// objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Ldap,
    Scim,
    Iam,
    Vault,
    Gitlab,
    Keycloak,
    ActiveDirectory,
}

impl Protocol {
    /// Every protocol, in the order error messages list them.
    pub const ALL: [Protocol; 7] = [
        Protocol::Ldap,
        Protocol::Scim,
        Protocol::Iam,
        Protocol::Vault,
        Protocol::Gitlab,
        Protocol::Keycloak,
        Protocol::ActiveDirectory,
    ];

    /// Its name in `adapter = "<name>"` and the kinds it may serve: the one place a protocol is
    /// described.
    const fn spec(self) -> (&'static str, &'static [TargetKind]) {
        match self {
            Protocol::Ldap => ("ldap", &[TargetKind::Directory]),
            Protocol::Scim => ("scim", &[TargetKind::Saas]),
            Protocol::Iam => ("iam", &[TargetKind::Cloud]),
            // HashiCorp Vault or OpenBao: the same API.
            Protocol::Vault => ("vault", &[TargetKind::Vault]),
            Protocol::Gitlab => ("gitlab", &[TargetKind::Cicd]),
            // An identity provider fills the directory's role: its users, sessions and consents.
            Protocol::Keycloak => ("keycloak", &[TargetKind::Directory]),
            // LDAP with Active Directory's semantics: userAccountControl, accountExpires, GUIDs.
            Protocol::ActiveDirectory => ("active_directory", &[TargetKind::Directory]),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.spec().0
    }

    /// The kinds this protocol may serve.
    pub fn serves(self) -> &'static [TargetKind] {
        self.spec().1
    }

    /// The protocol of a `kind` table that names none: what every kind spoke before it could
    /// choose, so existing configurations keep their adapters.
    pub fn default_for(kind: TargetKind) -> Protocol {
        match kind {
            TargetKind::Directory => Protocol::Ldap,
            TargetKind::Saas => Protocol::Scim,
            TargetKind::Cloud => Protocol::Iam,
            TargetKind::Vault => Protocol::Vault,
            TargetKind::Cicd => Protocol::Gitlab,
        }
    }

    /// The protocols a `kind` table may name.
    pub fn accepted_by(kind: TargetKind) -> impl Iterator<Item = Protocol> {
        Protocol::ALL
            .into_iter()
            .filter(move |p| p.serves().contains(&kind))
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol of one `kind` instance table: its `adapter` key, else the kind's default.
/// Errors name the table (`[targets.<kind>]`; `from_config` adds a named instance's name).
pub fn protocol(kind: TargetKind, table: &toml::Table) -> Result<Protocol, String> {
    let Some(value) = table.get(KEY) else {
        return Ok(Protocol::default_for(kind));
    };
    let accepted = || {
        let names: Vec<String> = Protocol::accepted_by(kind)
            .map(|p| format!("\"{p}\""))
            .collect();
        format!("{kind} accepts {}", names.join(", "))
    };
    let Some(name) = value.as_str() else {
        return Err(format!(
            "[targets.{kind}] {KEY} must be a string naming a protocol ({})",
            accepted()
        ));
    };
    let Some(chosen) = Protocol::ALL.into_iter().find(|p| p.as_str() == name) else {
        return Err(format!(
            "[targets.{kind}] {KEY}: unknown protocol {name:?} ({})",
            accepted()
        ));
    };
    if !chosen.serves().contains(&kind) {
        let serves: Vec<&str> = chosen.serves().iter().map(|k| k.as_str()).collect();
        return Err(format!(
            "[targets.{kind}] {KEY}: {name:?} serves {}, not {kind} ({})",
            serves.join(", "),
            accepted()
        ));
    }
    Ok(chosen)
}

/// `table` without its `adapter` key, for the adapter's settings (which refuse keys they do not
/// know); borrowed as it is when it has none.
pub(crate) fn without_key(table: &toml::Table) -> Cow<'_, toml::Table> {
    if table.contains_key(KEY) {
        let mut rest = table.clone();
        rest.remove(KEY);
        Cow::Owned(rest)
    } else {
        Cow::Borrowed(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_without_adapter_speaks_its_kinds_default() {
        let expected = [
            (TargetKind::Directory, Protocol::Ldap),
            (TargetKind::Saas, Protocol::Scim),
            (TargetKind::Cloud, Protocol::Iam),
            (TargetKind::Vault, Protocol::Vault),
            (TargetKind::Cicd, Protocol::Gitlab),
        ];
        for (kind, p) in expected {
            assert_eq!(
                protocol(kind, &"timeout_ms = 1".parse().unwrap()),
                Ok(p),
                "{kind}"
            );
            assert!(p.serves().contains(&kind), "{kind}: {p}");
        }
        assert_eq!(expected.len(), TargetKind::ALL.len());
    }

    #[test]
    fn naming_the_default_is_accepted() {
        for kind in TargetKind::ALL {
            let p = Protocol::default_for(kind);
            let t: toml::Table = format!("adapter = \"{p}\"").parse().unwrap();
            assert_eq!(protocol(kind, &t), Ok(p), "{kind}");
        }
    }

    #[test]
    fn an_unknown_protocol_is_refused_with_what_the_kind_accepts() {
        let e = protocol(
            TargetKind::Directory,
            &"adapter = \"kerberos\"".parse().unwrap(),
        )
        .unwrap_err();
        assert!(e.starts_with("[targets.directory] adapter:"), "{e}");
        assert!(
            e.contains("\"kerberos\"") && e.contains("directory accepts \"ldap\""),
            "{e}"
        );
        // Names are exact: no case folding.
        assert!(protocol(TargetKind::Saas, &"adapter = \"SCIM\"".parse().unwrap()).is_err());
    }

    #[test]
    fn a_protocol_of_another_kind_is_refused_with_the_kinds_it_serves() {
        let e = protocol(TargetKind::Saas, &"adapter = \"iam\"".parse().unwrap()).unwrap_err();
        assert!(e.starts_with("[targets.saas] adapter:"), "{e}");
        assert!(e.contains("\"iam\" serves cloud, not saas"), "{e}");
        assert!(e.contains("saas accepts \"scim\""), "{e}");
    }

    #[test]
    fn a_value_that_is_not_a_string_is_refused() {
        for bad in [
            "adapter = 1",
            "adapter = [\"scim\"]",
            "adapter = { name = \"scim\" }",
        ] {
            let e = protocol(TargetKind::Saas, &bad.parse().unwrap()).unwrap_err();
            assert!(
                e.starts_with("[targets.saas] adapter must be a string"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn the_key_is_taken_out_before_the_settings_read_the_table() {
        let t: toml::Table = "adapter = \"scim\"\nbase_url = \"x\"".parse().unwrap();
        let rest = without_key(&t);
        assert!(matches!(rest, Cow::Owned(_)));
        assert_eq!(rest.keys().collect::<Vec<_>>(), ["base_url"]);
        let t: toml::Table = "base_url = \"x\"".parse().unwrap();
        assert!(matches!(without_key(&t), Cow::Borrowed(_)));
    }

    #[test]
    fn every_protocol_has_its_own_name_and_serves_a_kind() {
        for p in Protocol::ALL {
            assert!(!p.serves().is_empty(), "{p}");
            assert_eq!(
                Protocol::ALL
                    .iter()
                    .filter(|q| q.as_str() == p.as_str())
                    .count(),
                1
            );
        }
        for kind in TargetKind::ALL {
            assert!(Protocol::accepted_by(kind).any(|p| p == Protocol::default_for(kind)));
        }
    }
}

//! Unit tests of the Vault adapter's pure parts: its object ids (`VaultObject`), secret id
//! references, path segment escaping and the config table.

use super::objects::usable_name;
use super::*;
use crate::adapters::Target;

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
}

/// A target at `address`, its token from a variable set here (never sent anywhere).
fn target(address: &str, more: &str) -> VaultTarget {
    std::env::set_var("REVOKE_VAULT_UNIT_TOKEN", "s.secret-value");
    let toml = format!("address = \"{address}\"\ntoken_env = \"REVOKE_VAULT_UNIT_TOKEN\"\n{more}");
    VaultTarget::from_table(&table(&toml), "main").unwrap()
}

#[test]
fn secret_id_refs_round_trip() {
    let r = SecretIdRef::parse("team/approle/ci-runner/1b2c-3d").unwrap();
    assert_eq!(
        (r.mount.as_str(), r.role.as_str(), r.accessor.as_str()),
        ("team/approle", "ci-runner", "1b2c-3d")
    );
    assert_eq!(r.object_id(), "team/approle/ci-runner/1b2c-3d");
    assert_eq!(SecretIdRef::parse("approle/role"), None);
    assert_eq!(SecretIdRef::parse("approle/../x"), None);
    assert_eq!(SecretIdRef::parse("/role/acc"), None);
}

#[test]
fn segments_are_escaped() {
    assert_eq!(encode_segment("ada"), "ada");
    assert_eq!(encode_segment("a/b"), "a%2Fb");
    assert_eq!(encode_segment("../x"), "..%2Fx");
    assert_eq!(encode_segment("a b?c#d%"), "a%20b%3Fc%23d%25");
    assert!(!usable_name(".."));
    assert!(!usable_name("."));
    assert!(!usable_name(""));
    assert!(usable_name("../x"));
    for bad in [
        "*", "a*", "../bob", "a/b", "", ".", "..", "x)(uid=*", "\"", ".ada", "ada.",
    ] {
        assert!(!userpass_name_ok(bad), "{bad}");
    }
    for good in ["ada", "a", "ada.lovelace", "ada@example.com", "e-100_2"] {
        assert!(userpass_name_ok(good), "{good}");
    }
}

#[test]
fn config_parses_and_rejects() {
    let t = target("http://127.0.0.1:8200/", "principal = \"revoker\"");
    assert_eq!(t.address, "http://127.0.0.1:8200");
    assert_eq!(t.userpass_mount, "userpass");
    assert!(t.delete_userpass_user);
    assert_eq!(t.owner_metadata_key, "owner");
    assert_eq!(t.principal(), "revoker");
    let e = VaultTarget::from_table(&table("address = \"http://x\"\ntoken = \"inline\""), "main")
        .err()
        .unwrap();
    assert!(e.contains("unknown key"), "{e}");
    let e = VaultTarget::from_table(
        &table("address = \"http://x\"\ntoken_env = \"REVOKE_VAULT_UNSET_VAR\""),
        "main",
    )
    .err()
    .unwrap();
    assert!(
        e.contains("REVOKE_VAULT_UNSET_VAR") && !e.contains("secret-value"),
        "{e}"
    );
    let e = VaultTarget::from_table(&table("token_env = \"REVOKE_VAULT_UNIT_TOKEN\""), "main")
        .err()
        .unwrap();
    assert!(e.contains("address"), "{e}");
}

fn user(mount: &str, name: &str) -> VaultObject {
    VaultObject::UserpassUser {
        mount: mount.into(),
        name: name.into(),
    }
}

fn leases(mount: &str, name: &str) -> VaultObject {
    VaultObject::LeasePrefix {
        mount: mount.into(),
        name: name.into(),
    }
}

fn secret_id(mount: &str, role: &str, accessor: &str) -> VaultObject {
    VaultObject::ApproleSecretId(SecretIdRef {
        mount: mount.into(),
        role: role.into(),
        accessor: accessor.into(),
    })
}

#[test]
fn objects_round_trip() {
    let all = [
        VaultObject::Token {
            accessor: "7Xc0SLFVYrQ9bJ8GS4mAjdYk".into(),
        },
        VaultObject::Entity {
            id: "5f2c8b1e-2d0e-4c4f-9b3a-0e6f1c2d3a4b".into(),
        },
        user("userpass", "ada"),
        user("team/userpass", "ada.lovelace@example.com"),
        leases("userpass", "ada"),
        leases("team/login", "ada@example.com"),
        leases("userpass", "zoë"),
        secret_id("approle", "ci-runner", "1b2c-3d"),
        secret_id("team/approle", "ci.runner", "1b2c-3d"),
    ];
    for o in all {
        assert_eq!(
            VaultObject::parse(o.kind(), &o.id()),
            Some(o.clone()),
            "{o:?}"
        );
    }
}

/// Ids as evidence written before the typed objects carries them.
#[test]
fn recorded_ids_parse() {
    let cases = [
        (
            "token",
            "7Xc0SLFVYrQ9bJ8GS4mAjdYk",
            VaultObject::Token {
                accessor: "7Xc0SLFVYrQ9bJ8GS4mAjdYk".into(),
            },
        ),
        (
            "token",
            "7Xc0SLFVYrQ9bJ8GS4mAjdYk.Abcd",
            VaultObject::Token {
                accessor: "7Xc0SLFVYrQ9bJ8GS4mAjdYk.Abcd".into(),
            },
        ),
        (
            "entity",
            "5f2c8b1e-2d0e-4c4f-9b3a-0e6f1c2d3a4b",
            VaultObject::Entity {
                id: "5f2c8b1e-2d0e-4c4f-9b3a-0e6f1c2d3a4b".into(),
            },
        ),
        ("userpass_user", "userpass/ada", user("userpass", "ada")),
        (
            "userpass_user",
            "team/userpass/ada@example.com",
            user("team/userpass", "ada@example.com"),
        ),
        (
            "lease_prefix",
            "auth/userpass/login/ada/",
            leases("userpass", "ada"),
        ),
        (
            "lease_prefix",
            "auth/userpass/login/ada%40example.com/",
            leases("userpass", "ada@example.com"),
        ),
        // A plain name, as the old check accepted it.
        (
            "lease_prefix",
            "auth/userpass/login/ada@example.com/",
            leases("userpass", "ada@example.com"),
        ),
        (
            "lease_prefix",
            "auth/team/login/login/cy/",
            leases("team/login", "cy"),
        ),
        (
            "approle_secret_id",
            "team/approle/ci-runner/1b2c-3d",
            secret_id("team/approle", "ci-runner", "1b2c-3d"),
        ),
    ];
    for (kind, id, want) in cases {
        assert_eq!(VaultObject::parse(kind, id), Some(want), "{kind} {id}");
    }
    // What discovery writes: a name userpass accepts, percent-encoded in the lease prefix.
    assert_eq!(
        leases("userpass", "ada@example.com").id(),
        "auth/userpass/login/ada%40example.com/"
    );
    assert_eq!(user("userpass", "ada").id(), "userpass/ada");
}

#[test]
fn tampered_ids_do_not_parse() {
    let bad = [
        // Wrong kind for the id, or no such kind.
        ("entity", "userpass/ada"),
        ("token", "auth/userpass/login/ada/"),
        ("userpass_user", "auth/userpass/login/ada/"),
        ("group_membership", "userpass/ada"),
        ("", "ada"),
        // Empty parts, `.`/`..`, control characters.
        ("token", ""),
        ("token", ".."),
        ("token", "a/b"),
        ("token", "acc\nx"),
        ("entity", ""),
        ("entity", "."),
        ("entity", "../sys"),
        ("userpass_user", "ada"),
        ("userpass_user", "userpass/"),
        ("userpass_user", "/ada"),
        ("userpass_user", "userpass//ada"),
        ("userpass_user", "userpass/../bob"),
        // Names userpass would not accept.
        ("userpass_user", "userpass/*"),
        ("userpass_user", "userpass/a*"),
        ("userpass_user", "userpass/x)(uid=*"),
        ("userpass_user", "userpass/.ada"),
        ("userpass_user", "userpass/\""),
        // Lease prefixes: missing or extra segments, other paths, bad or needless escapes.
        ("lease_prefix", "auth/userpass/login/ada"),
        ("lease_prefix", "auth/userpass/login//"),
        ("lease_prefix", "auth/userpass/login/"),
        ("lease_prefix", "auth/login/ada/"),
        ("lease_prefix", "auth//login/ada/"),
        ("lease_prefix", "auth/userpass/users/ada/"),
        ("lease_prefix", "userpass/login/ada/"),
        ("lease_prefix", "auth/userpass/login/ada/x/"),
        ("lease_prefix", "auth/userpass/login/a%2Fb/"),
        ("lease_prefix", "auth/userpass/login/..%2Fbob/"),
        ("lease_prefix", "auth/userpass/login/%2A/"),
        ("lease_prefix", "auth/userpass/login/%61da/"),
        ("lease_prefix", "auth/userpass/login/%ZZ/"),
        ("lease_prefix", "auth/userpass/login/ada%4/"),
        ("lease_prefix", "auth/userpass/login/%FF/"),
        // Secret ids: too few segments, `..`, empty mount or role.
        ("approle_secret_id", "approle/role"),
        ("approle_secret_id", "approle/../x"),
        ("approle_secret_id", "/role/acc"),
        ("approle_secret_id", "approle//acc"),
        ("approle_secret_id", "approle/role/"),
    ];
    for (kind, id) in bad {
        assert_eq!(VaultObject::parse(kind, id), None, "{kind} {id:?}");
    }
}

/// A userpass user or lease prefix of another mount is refused with today's errors.
#[test]
fn other_mounts_are_not_ours() {
    let t = target("http://x", "");
    assert!(t.ours(&user("userpass", "ada")).is_ok());
    assert!(t.ours(&leases("userpass", "ada")).is_ok());
    assert!(t.ours(&secret_id("other", "r", "a")).is_ok());
    let e = t.ours(&user("other", "ada")).unwrap_err().to_string();
    assert!(
        e.contains("\"other/ada\" is not a userpass user of this target"),
        "{e}"
    );
    let e = t.ours(&leases("other", "ada")).unwrap_err().to_string();
    assert!(
        e.contains("\"auth/other/login/ada/\" is not a login lease prefix of this target"),
        "{e}"
    );
}

//! Unit tests of the Vault adapter's pure parts: secret id references, path segment escaping and
//! the config table.

use super::objects::{usable_name, SecretIdRef};
use super::*;

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
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
    std::env::set_var("REVOKE_VAULT_UNIT_TOKEN", "s.secret-value");
    let t = VaultTarget::from_table(
        &table("address = \"http://127.0.0.1:8200/\"\ntoken_env = \"REVOKE_VAULT_UNIT_TOKEN\"\nprincipal = \"revoker\""),
        "main",
    )
    .unwrap();
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

//! Unit tests of the Keycloak adapter's pure parts: object ids (round trips, tampered ids), the
//! exact re-check of search results, sponsor matching, the settings table and its errors, the
//! token-expiry decision and error texts. No network.

use super::client::{form_for_test, message_for_test};
use super::*;
use crate::adapters::Target;
use serde_json::json;
use std::time::{Duration, Instant};

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
}

const U: &str = "5b7c1a2e-0c3d-4e5f-8a9b-0c1d2e3f4a5b";
const C: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

#[test]
fn object_ids_round_trip_and_refuse_anything_else() {
    let all = [
        KeycloakObject::Session {
            user: U.into(),
            session: "a1b2c3".into(),
        },
        KeycloakObject::OfflineSession {
            user: U.into(),
            client: C.into(),
            session: "Zx-9_k".into(),
        },
        KeycloakObject::Consent {
            user: U.into(),
            client: C.into(),
        },
        KeycloakObject::Account { user: U.into() },
        KeycloakObject::Account {
            user: "f:ldap-1:ada@example.com".into(),
        },
        KeycloakObject::Client { client: C.into() },
    ];
    for o in &all {
        assert_eq!(
            KeycloakObject::parse(o.kind(), &o.id()).as_ref(),
            Some(o),
            "{o:?}"
        );
    }
    assert_eq!(
        KeycloakObject::OfflineSession {
            user: "u".into(),
            client: "c".into(),
            session: "s".into()
        }
        .id(),
        "users/u/offline-sessions/c/s"
    );
    assert_eq!(
        KeycloakObject::Client { client: C.into() }.kind(),
        "service_account_client"
    );
    // The kind must agree with the id.
    assert!(KeycloakObject::parse("account", &format!("users/{U}/sessions/s")).is_none());
    assert!(KeycloakObject::parse("session", &format!("users/{U}")).is_none());
    for bad in [
        "users/../sessions/s",
        "users/u/sessions/..",
        "users/u/sessions/",
        "users//sessions/s",
        "users/u/sessions/s/x",
        "users/u/sessions/a b",
        "users/u/sessions/a%2Fb",
        "users/u/sessions/a?x=1",
        "users/u/offline-sessions/c/..",
        "users/u/offline-sessions/c/",
        "users/u/offline-sessions/c",
        "users/u/consents/",
        "users/u/consents/account console",
        "users/",
        "users/.",
        "clients/c/secret",
        "clients/",
        "groups/g",
        "",
    ] {
        for kind in [
            "session",
            "offline_session",
            "consent",
            "account",
            "service_account_client",
        ] {
            assert!(KeycloakObject::parse(kind, bad).is_none(), "{kind} {bad:?}");
        }
    }
    let long = "a".repeat(256);
    assert!(KeycloakObject::parse("account", &format!("users/{long}")).is_none());
    assert!(segment_ok(&"a".repeat(255)));

    let acc = KeycloakObject::Account { user: U.into() }.held();
    assert_eq!((acc.action.as_str(), acc.sponsored), ("disable", false));
    let cl = KeycloakObject::Client { client: C.into() }.held();
    assert_eq!((cl.action.as_str(), cl.sponsored), ("disable", true));
    assert_eq!(
        KeycloakObject::Session {
            user: "u".into(),
            session: "s".into()
        }
        .action(),
        "delete"
    );
    assert_eq!(
        KeycloakObject::Consent {
            user: "u".into(),
            client: "c".into()
        }
        .action(),
        "revoke"
    );
}

#[test]
fn search_results_are_rechecked_exactly() {
    let by_name = MatchAttribute::Username;
    assert!(record_matches(&by_name, &json!({"username": "ada"}), "Ada"));
    assert!(record_matches(&by_name, &json!({"username": "ada"}), "ada"));
    // Non-exact searches are prefix matches: bob finds bob.smith and bob2; neither is bob.
    assert!(!record_matches(
        &by_name,
        &json!({"username": "ada.smith"}),
        "ada"
    ));
    assert!(!record_matches(
        &by_name,
        &json!({"username": "ada2"}),
        "ada"
    ));
    assert!(!record_matches(&by_name, &json!({"email": "ada"}), "ada"));
    let by_mail = MatchAttribute::Email;
    assert!(record_matches(
        &by_mail,
        &json!({"email": "ada@example.com"}),
        "Ada@Example.com"
    ));
    assert!(!record_matches(
        &by_mail,
        &json!({"email": "ada@example.com.evil"}),
        "ada@example.com"
    ));
    assert!(!record_matches(
        &by_mail,
        &json!({"username": "ada@example.com"}),
        "ada@example.com"
    ));
    let by_attr = MatchAttribute::Attribute("employee_id".into());
    assert!(record_matches(
        &by_attr,
        &json!({"attributes": {"employee_id": ["E100"]}}),
        "E100"
    ));
    assert!(record_matches(
        &by_attr,
        &json!({"attributes": {"employee_id": ["X", "E100"]}}),
        "E100"
    ));
    assert!(!record_matches(
        &by_attr,
        &json!({"attributes": {"employee_id": ["E1000"]}}),
        "E100"
    ));
    assert!(!record_matches(
        &by_attr,
        &json!({"attributes": {"employee_id": ["e100"]}}),
        "E100"
    ));
    assert!(!record_matches(
        &by_attr,
        &json!({"attributes": {"other": ["E100"]}}),
        "E100"
    ));
    assert!(!record_matches(
        &by_attr,
        &json!({"username": "E100"}),
        "E100"
    ));
}

#[test]
fn sponsors_are_named_exactly() {
    let names = ["ada", "ada@example.com", "E100"];
    assert!(owner_names_person("ada", &names));
    assert!(owner_names_person("Ada@Example.com", &names));
    assert!(owner_names_person(" E100 ", &names));
    assert!(owner_names_person("bob, ada", &names));
    assert!(!owner_names_person("adam", &names));
    assert!(!owner_names_person("ada.l", &names));
    assert!(!owner_names_person("owner:ada", &names));
    assert!(!owner_names_person("", &names));
    assert!(!owner_names_person(",", &["", "x"]));
    let sa = |owner: &str, sa: bool| json!({"id": C, "clientId": "ci-bot", "serviceAccountsEnabled": sa, "attributes": {"owner": owner}});
    assert!(sponsored_client(&sa("ada", true), "owner", &names));
    assert!(
        !sponsored_client(&sa("ada", false), "owner", &names),
        "only service-account clients"
    );
    assert!(!sponsored_client(&sa("bob", true), "owner", &names));
    assert!(!sponsored_client(&sa("ada", true), "team", &names));
    assert!(!sponsored_client(
        &json!({"serviceAccountsEnabled": true}),
        "owner",
        &names
    ));
}

#[test]
fn tokens_are_renewed_before_they_expire() {
    let t0 = Instant::now();
    assert_eq!(usable_until(t0, 300), t0 + Duration::from_secs(270));
    assert_eq!(usable_until(t0, 40), t0 + Duration::from_secs(20));
    assert_eq!(usable_until(t0, 0), t0);
    let until = usable_until(t0, 300);
    assert!(token_usable(Some(until), t0));
    assert!(token_usable(Some(until), t0 + Duration::from_secs(269)));
    assert!(!token_usable(Some(until), t0 + Duration::from_secs(270)));
    assert!(!token_usable(Some(until), t0 + Duration::from_secs(400)));
    assert!(!token_usable(None, t0));
    assert!(!token_usable(Some(usable_until(t0, 0)), t0));
}

#[test]
fn the_token_request_is_form_encoded() {
    assert_eq!(
        form_for_test(&[
            ("grant_type", "client_credentials"),
            ("client_secret", "a&b=c d+")
        ]),
        "grant_type=client_credentials&client_secret=a%26b%3Dc+d%2B"
    );
}

#[test]
fn errors_say_what_to_check() {
    let m = message_for_test(403, &json!({"error": "unknown_error"}));
    assert!(
        m.contains("HTTP 403") && m.contains("manage-users") && m.contains("view-clients"),
        "{m}"
    );
    let m = message_for_test(
        401,
        &json!({"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"}),
    );
    assert!(
        m.contains("Invalid client credentials") && m.contains("client_secret_env"),
        "{m}"
    );
    let m = message_for_test(
        409,
        &json!({"errorMessage": "User exists with same username"}),
    );
    assert!(m.contains("User exists"), "{m}");
}

#[test]
fn settings_parse_and_errors_name_the_key() {
    std::env::set_var("REVOKE_KEYCLOAK_UNIT_SECRET", "kc-secret-value");
    let base = "base_url = \"http://127.0.0.1:8080/\"\nrealm = \"revoke-test\"\nclient_id = \"revoke-admin\"\nclient_secret_env = \"REVOKE_KEYCLOAK_UNIT_SECRET\"\n";
    let t = KeycloakTarget::from_table(&table(base), "sso").unwrap();
    assert_eq!(
        t.admin.as_str(),
        "http://127.0.0.1:8080/admin/realms/revoke-test"
    );
    assert_eq!(
        t.token_url.as_str(),
        "http://127.0.0.1:8080/realms/revoke-test/protocol/openid-connect/token"
    );
    assert_eq!(t.match_attribute(), &MatchAttribute::Username);
    assert!(t.disable_user && t.watch_sign_ins);
    assert_eq!(t.sponsor_attribute, "owner");
    assert_eq!(t.principal(), "keycloak:sso");
    assert_eq!(Target::kind(&t), TargetKind::Directory);
    assert_eq!(
        t.url(&["users", "../x"]).as_str(),
        "http://127.0.0.1:8080/admin/realms/revoke-test/users/..%2Fx"
    );
    assert!(!format!("{t:?}").contains("kc-secret-value"));

    let t = KeycloakTarget::from_table(
        &table(&format!("{base}match_attribute = \"employee_id\"\ndisable_user = false\nwatch_sign_ins = false\nsponsor_attribute = \"\"\nprincipal = \"revoker\"\ntimeout_ms = 5000")),
        "sso",
    )
    .unwrap();
    assert_eq!(
        t.match_attribute(),
        &MatchAttribute::Attribute("employee_id".into())
    );
    assert!(!t.disable_user && !t.watch_sign_ins && t.sponsor_attribute.is_empty());
    assert_eq!(t.principal(), "revoker");
    let t =
        KeycloakTarget::from_table(&table(&base.replace(":8080/", ":8080/auth")), "sso").unwrap();
    assert_eq!(
        t.admin.as_str(),
        "http://127.0.0.1:8080/auth/admin/realms/revoke-test"
    );
    let t = KeycloakTarget::from_table(&table(&base.replace("revoke-test", "my realm/x")), "sso")
        .unwrap();
    assert_eq!(
        t.admin.as_str(),
        "http://127.0.0.1:8080/admin/realms/my%20realm%2Fx"
    );

    let bad = |s: &str| KeycloakTarget::from_table(&table(s), "sso").expect_err("must be refused");
    let drop = |key: &str| {
        base.lines()
            .filter(|l| !l.starts_with(key))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for key in ["base_url", "realm", "client_id"] {
        let e = bad(&drop(key));
        assert!(
            e.starts_with("[targets.directory]") && e.contains(key),
            "{key}: {e}"
        );
    }
    let e = bad(&drop("client_secret_env"));
    assert!(e.contains("client_secret_env or client_secret_file"), "{e}");
    let e = bad(&format!("{base}client_secret_file = \"/x\""));
    assert!(
        e.contains("client_secret_env or client_secret_file, not both"),
        "{e}"
    );
    let e = bad(&format!("{base}client_secret = \"inline\""));
    assert!(
        e.contains("unknown key") && e.contains("client_secret"),
        "{e}"
    );
    assert!(bad(&base.replace("http://", "ldap://")).contains("base_url"));
    assert!(bad(&base.replace(":8080/", ":8080/?x=1")).contains("base_url"));
    assert!(bad(&base.replace("\"revoke-test\"", "\"\"")).contains("realm"));
    assert!(bad(&base.replace("\"revoke-admin\"", "\"\"")).contains("client_id"));
    assert!(bad(&format!("{base}match_attribute = \"employee id\"")).contains("match_attribute"));
    assert!(bad(&format!("{base}match_attribute = \"q:x\"")).contains("match_attribute"));
    assert!(bad(&format!("{base}sponsor_attribute = \"a b\"")).contains("sponsor_attribute"));
    assert!(bad(&format!("{base}disable_user = \"yes\"")).contains("disable_user"));
    assert!(bad(&format!("{base}watch_sign_ins = 1")).contains("watch_sign_ins"));
    assert!(bad(&format!("{base}timeout_ms = 0")).contains("timeout_ms"));
    let e = bad(&base.replace("REVOKE_KEYCLOAK_UNIT_SECRET", "REVOKE_KEYCLOAK_UNSET_VAR"));
    assert!(
        e.contains("REVOKE_KEYCLOAK_UNSET_VAR") && !e.contains("kc-secret-value"),
        "{e}"
    );
}

#[tokio::test]
async fn with_the_watch_off_there_is_no_sign_in_log() {
    std::env::set_var("REVOKE_KEYCLOAK_UNIT_SECRET", "kc-secret-value");
    // Nothing listens there: answering at all proves no request was sent.
    let t = KeycloakTarget::from_table(
        &table("base_url = \"http://127.0.0.1:9/\"\nrealm = \"r\"\nclient_id = \"c\"\nclient_secret_env = \"REVOKE_KEYCLOAK_UNIT_SECRET\"\nwatch_sign_ins = false\n"),
        "sso",
    )
    .unwrap();
    let who = crate::revocation::tests::who();
    assert_eq!(
        Target::sign_ins_since(&t, &who, chrono::Utc::now())
            .await
            .unwrap(),
        None
    );
}

#[test]
fn the_directory_kind_accepts_keycloak_beside_ldap() {
    use crate::adapters::choice::{protocol, Protocol};
    let t = table("adapter = \"keycloak\"");
    assert_eq!(protocol(TargetKind::Directory, &t), Ok(Protocol::Keycloak));
    let e = protocol(TargetKind::Saas, &t).unwrap_err();
    assert!(e.contains("\"keycloak\" serves directory, not saas"), "{e}");
    assert_eq!(Protocol::default_for(TargetKind::Directory), Protocol::Ldap);
}

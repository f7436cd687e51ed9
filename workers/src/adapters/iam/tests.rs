//! Unit tests of the IAM adapter's pure parts: names, hostile identities, object ids, error
//! classification, credential read-back, owner names and the config table.

use super::credentials::{Cred, CredKind};
use super::errors::hint;
use super::*;
use crate::adapters::ObjectRef;
use aws_sdk_iam::types::StatusType;
use revoke_shared::contract::IdentityKind;
use revoke_shared::retry::ErrorClass;
use std::time::Duration;

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
}

fn who(username: Option<&str>, employee_id: &str) -> Identity {
    Identity {
        employee_id: employee_id.into(),
        email: None,
        username: username.map(str::to_string),
        kind: IdentityKind::Employee,
    }
}

#[test]
fn names_follow_iams_pattern() {
    for good in [
        "ada",
        "a",
        "ada.lovelace",
        "ada@example.com",
        "e-100_2",
        "a+b=c,d",
        "..",
    ] {
        assert!(iam_name_ok(good, 64), "{good}");
    }
    for bad in [
        "*", "a*", "../bob", "a/b", "", "x)(uid=*", "\"", "../", "a b", "ädä", "a\nb",
    ] {
        assert!(!iam_name_ok(bad, 64), "{bad}");
    }
    assert!(iam_name_ok(&"a".repeat(64), 64));
    assert!(!iam_name_ok(&"a".repeat(65), 64));
    assert!(iam_name_ok(&"g".repeat(128), 128));
}

#[test]
fn hostile_identities_name_no_user() {
    for bad in ["*", "a*", "x)(uid=*", "\"", "../", "../bob", "bob/.."] {
        assert_eq!(user_name_of(&who(Some(bad), "E1")), None, "{bad}");
    }
    assert_eq!(user_name_of(&who(Some("ada"), "E1")), Some("ada"));
    assert_eq!(user_name_of(&who(None, "E1")), Some("E1"));
    assert_eq!(user_name_of(&who(Some(""), "E1")), Some("E1"));
    assert_eq!(user_name_of(&who(None, "*")), None);
}

#[test]
fn object_ids_round_trip() {
    let serial = "arn:aws:iam::123456789012:mfa/path/ada-phone".to_string();
    let objects = [
        IamObject::Credential {
            cred: CredKind::AccessKey,
            user: "ada".into(),
            id: "AKIAIOSFODNN7EXAMPLE".into(),
        },
        IamObject::LoginProfile { user: "ada".into() },
        IamObject::GroupMembership {
            group: "admins".into(),
            user: "ada".into(),
        },
        IamObject::Mfa {
            user: "ada".into(),
            serial: serial.clone(),
        },
        IamObject::Credential {
            cred: CredKind::SshKey,
            user: "ada".into(),
            id: "APKAEIBAERJR2EXAMPLE".into(),
        },
        IamObject::Credential {
            cred: CredKind::SigningCert,
            user: "ada".into(),
            id: "TA7SMP42TDN5Z26OBPJE7EXAMPLE".into(),
        },
        IamObject::SponsoredUser {
            user: "ci-bot".into(),
        },
        IamObject::ManagedPolicy {
            user: "ada".into(),
            arn: "arn:aws:iam::123456789012:policy/team/ro".into(),
        },
        IamObject::InlinePolicy {
            user: "ada".into(),
            name: "s3-read".into(),
        },
        IamObject::IssuedSessions { user: "ada".into() },
    ];
    for o in &objects {
        assert_eq!(
            IamObject::parse(o.kind(), &o.id()).as_ref(),
            Some(o),
            "{o:?}"
        );
    }
    assert_eq!(
        objects[2].id(),
        "group_membership/admins/ada",
        "names group and member"
    );
    assert_eq!(objects[3].id(), format!("mfa/ada/{serial}"));
    // Kind and id must agree; parts must be IAM names / ids.
    assert_eq!(
        IamObject::parse("login_profile", "access_key/ada/AKIA1"),
        None
    );
    for bad in [
        "access_key/ada",
        "access_key/a*/AKIA1",
        "access_key/ada/AKIA-1",
        "access_key/ada/AKIA1/x",
        "access_key//AKIA1",
        "nothing/ada",
        "access_key",
        "",
    ] {
        assert_eq!(IamObject::parse("access_key", bad), None, "{bad}");
    }
    assert_eq!(
        IamObject::parse("login_profile", "login_profile/../x"),
        None
    );
    assert_eq!(
        IamObject::parse("group_membership", "group_membership/g/a/b"),
        None
    );
    assert_eq!(IamObject::parse("mfa_device", "mfa/ada/short"), None);
    assert_eq!(
        IamObject::parse(
            "managed_policy",
            "managed_policy/ada/arn:aws:iam::1:user/bob"
        ),
        None
    );
    assert_eq!(
        IamObject::parse("inline_policy", "inline_policy/ada/a/b"),
        None
    );
    assert_eq!(IamObject::parse("mfa_device", "mfa/ada/arn:x mfa/y"), None);
}

#[test]
fn errors_are_classified() {
    use ErrorClass::*;
    assert_eq!(
        classify_error(Some("NoSuchEntity"), Some(404)),
        Failure::NoSuchEntity
    );
    for c in [
        "Throttling",
        "ServiceFailure",
        "RequestLimitExceeded",
        "ConcurrentModification",
    ] {
        assert_eq!(
            classify_error(Some(c), Some(400)),
            Failure::Class(Transient),
            "{c}"
        );
    }
    for c in [
        "AccessDenied",
        "InvalidClientTokenId",
        "ValidationError",
        "SignatureDoesNotMatch",
        "LimitExceeded",
    ] {
        assert_eq!(
            classify_error(Some(c), Some(400)),
            Failure::Class(Permanent),
            "{c}"
        );
    }
    // Unknown codes fall back to the HTTP status.
    assert_eq!(
        classify_error(Some("Whatever"), Some(503)),
        Failure::Class(Transient)
    );
    assert_eq!(
        classify_error(Some("Whatever"), Some(429)),
        Failure::Class(Transient)
    );
    assert_eq!(
        classify_error(Some("Whatever"), Some(403)),
        Failure::Class(Permanent)
    );
    assert_eq!(classify_error(None, Some(500)), Failure::Class(Transient));
    assert_eq!(classify_error(None, None), Failure::Class(Transient));
    // Throttling is a rate limit (the gate slows down), other transient errors are not.
    assert!(is_throttling(Some("Throttling"), Some(400)));
    assert!(is_throttling(Some("RequestLimitExceeded"), Some(400)));
    assert!(is_throttling(Some("Whatever"), Some(429)));
    assert!(!is_throttling(Some("ServiceFailure"), Some(500)));
    assert!(!is_throttling(Some("LimitExceeded"), Some(409)));
    assert!(hint("AccessDenied").contains("policy"));
    assert!(hint("InvalidClientTokenId").contains("credentials"));
}

#[test]
fn credential_read_back_follows_the_action() {
    let c = |s: StatusType| Cred {
        id: "K".into(),
        status: Some(s),
    };
    use CredentialPolicy::*;
    assert!(IamTarget::credential_read_back("k", Deactivate, None).gone);
    assert!(IamTarget::credential_read_back("k", Deactivate, Some(&c(StatusType::Inactive))).gone);
    assert!(!IamTarget::credential_read_back("k", Deactivate, Some(&c(StatusType::Active))).gone);
    assert!(IamTarget::credential_read_back("k", Delete, None).gone);
    assert!(!IamTarget::credential_read_back("k", Delete, Some(&c(StatusType::Inactive))).gone);
}

#[test]
fn owner_names_are_exact_and_non_empty() {
    let mut w = who(Some("ada"), "E1");
    w.email = Some(String::new());
    assert_eq!(owner_names(&w), vec!["ada", "E1"]);
    w.email = Some("ada@example.com".into());
    assert_eq!(owner_names(&w), vec!["ada", "ada@example.com", "E1"]);
}

#[test]
fn config_parses_and_rejects() {
    std::env::set_var("REVOKE_IAM_UNIT_KEY_ID", "AKIAUNITTEST");
    std::env::set_var("REVOKE_IAM_UNIT_SECRET", "unit-secret-value");
    let s = parse_settings(&table(
        "access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"\nsecret_access_key_env = \"REVOKE_IAM_UNIT_SECRET\"\nendpoint_url = \"http://127.0.0.1:15000/\"",
    ))
    .unwrap();
    assert_eq!(s.region, "us-east-1");
    assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:15000"));
    assert_eq!(s.matching, Match::UserName);
    assert!(s.sponsored);
    assert_eq!(s.owner_tag_key, "owner");
    assert_eq!(s.user_scan, UserScan::AuthorizationDetails);
    assert_eq!(s.access_keys, CredentialPolicy::Deactivate);
    assert_eq!(s.ssh_keys, CredentialPolicy::Delete);
    assert_eq!(s.signing_certs, CredentialPolicy::Delete);
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert!(
        !format!("{s:?}").contains("unit-secret-value"),
        "Debug leaks the secret"
    );

    let s = parse_settings(&table(
        "match = \"tag\"\nowner_tag_key = \"sponsor\"\naccess_keys = \"delete\"\nssh_keys = \"deactivate\"\nuser_scan = \"list_user_tags\"\nsponsored = false\ntimeout_ms = 2500",
    ))
    .unwrap();
    assert_eq!(
        s.matching,
        Match::Tag {
            key: "employee_id".into()
        }
    );
    assert!(s.static_credentials.is_none());
    assert_eq!(s.access_keys, CredentialPolicy::Delete);
    assert_eq!(s.ssh_keys, CredentialPolicy::Deactivate);
    assert_eq!(s.user_scan, UserScan::ListUserTags);
    assert!(!s.sponsored);
    assert_eq!(s.timeout, Duration::from_millis(2500));

    for (bad, expect) in [
        ("secret_access_key = \"inline\"", "unknown key"),
        ("access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"", "both"),
        (
            "access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"\naccess_key_id_file = \"/x\"\nsecret_access_key_env = \"REVOKE_IAM_UNIT_SECRET\"",
            "not both",
        ),
        (
            "access_key_id_env = \"REVOKE_IAM_UNIT_KEY_ID\"\nsecret_access_key_env = \"REVOKE_IAM_UNSET_VAR\"",
            "REVOKE_IAM_UNSET_VAR",
        ),
        ("match = \"email\"", "match"),
        ("tag_key = \"emp\"", "tag_key"),
        ("access_keys = \"rotate\"", "access_keys"),
        ("endpoint_url = \"127.0.0.1:15000\"", "http"),
        ("timeout_ms = 0", "timeout_ms"),
        ("user_scan = \"all\"", "user_scan"),
        ("sponsored = \"yes\"", "sponsored"),
    ] {
        let e = parse_settings(&table(bad)).err().unwrap_or_else(|| panic!("{bad} parsed"));
        assert!(e.contains(expect), "{bad}: {e}");
        assert!(!e.contains("unit-secret-value"), "{e}");
    }
}

//! Unit tests of the SCIM adapter: filter escaping, object ids (`ScimObject`), the config table,
//! and the Groups scan a server without `members.value` filtering gets.

use super::*;
use crate::adapters::Target;
use serde_json::json;

#[test]
fn filter_values_are_escaped() {
    assert_eq!(
        eq_filter("userName", "ada").unwrap(),
        r#"userName eq "ada""#
    );
    assert_eq!(
        eq_filter("userName", r#"a"b\c"#).unwrap(),
        r#"userName eq "a\"b\\c""#
    );
    assert_eq!(
        eq_filter("userName", "x) or (userName pr").unwrap(),
        r#"userName eq "x) or (userName pr""#
    );
    assert!(eq_filter("userName", "a\nb").is_err());
    assert!(eq_filter("userName", "a\u{0}").is_err());
}

fn membership(group: &str, user: &str) -> ScimObject {
    ScimObject::GroupMembership {
        group: group.into(),
        user: user.into(),
    }
}

fn account(user: &str) -> ScimObject {
    ScimObject::Account { user: user.into() }
}

#[test]
fn membership_ids_round_trip() {
    for (g, u) in [("g1", "u1"), ("a/b", "c%2Fd"), ("../", "%")] {
        assert_eq!(
            ScimObject::parse("group_membership", &membership(g, u).id()),
            Some(membership(g, u))
        );
    }
    assert_eq!(ScimObject::parse("group_membership", "Groups/x"), None);
}

#[test]
fn every_object_round_trips() {
    for o in [
        account("2819c223-7f76-453a-919d-413861904646"),
        account("a/b%c"),
        account("Groups/g/members/u"),
        membership("e9e30dba-f08f-4109-8486-d5c6a331660a", "2819c223"),
        membership("%2F", "/"),
    ] {
        assert_eq!(
            ScimObject::parse(o.kind(), &o.id()),
            Some(o.clone()),
            "{o:?}"
        );
    }
}

/// Ids as evidence written by this adapter carries them (the strings are a contract).
#[test]
fn recorded_ids_parse_to_their_object() {
    let cases = [
        (
            "account",
            "2819c223-7f76-453a-919d-413861904646",
            account("2819c223-7f76-453a-919d-413861904646"),
        ),
        (
            "group_membership",
            "Groups/e9e30dba-f08f-4109-8486-d5c6a331660a/members/2819c223-7f76-453a-919d-413861904646",
            membership(
                "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "2819c223-7f76-453a-919d-413861904646",
            ),
        ),
        ("group_membership", "Groups/g/members/u", membership("g", "u")),
        (
            "group_membership",
            "Groups/a%2Fb/members/c%252Fd",
            membership("a/b", "c%2Fd"),
        ),
        ("group_membership", "Groups/..%2F/members/%25", membership("../", "%")),
    ];
    for (kind, id, want) in cases {
        assert_eq!(
            ScimObject::parse(kind, id),
            Some(want.clone()),
            "{kind} {id}"
        );
        assert_eq!((want.kind(), want.id().as_str()), (kind, id));
    }
}

#[test]
fn tampered_ids_do_not_parse() {
    for (kind, id) in [
        // Wrong or unknown kind for the id.
        ("group_membership", "2819c223"),
        ("session", "2819c223"),
        ("Account", "2819c223"),
        ("", "Groups/g/members/u"),
        // Missing, extra or renamed segments.
        ("group_membership", "Groups/x"),
        ("group_membership", "Groups/g/members"),
        ("group_membership", "Groups/g/members/u/x"),
        ("group_membership", "/Groups/g/members/u"),
        ("group_membership", "Groups/g/members/u/"),
        ("group_membership", "Users/g/members/u"),
        ("group_membership", "groups/g/members/u"),
        ("group_membership", "Groups/g/member/u"),
        ("group_membership", "Groups/g/members/../u"),
        // Empty parts.
        ("account", ""),
        ("group_membership", ""),
        ("group_membership", "Groups//members/u"),
        ("group_membership", "Groups/g/members/"),
        // Escapes this adapter never writes.
        ("group_membership", "Groups/a%2fb/members/u"),
        ("group_membership", "Groups/%/members/u"),
        ("group_membership", "Groups/g/members/a%20b"),
        // A user id the members filter would refuse (control characters).
        ("account", "u\n1"),
        ("account", "u\u{0}"),
        ("group_membership", "Groups/g/members/u\n1"),
    ] {
        assert_eq!(ScimObject::parse(kind, id), None, "{kind} {id:?}");
    }
}

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
}

#[test]
fn config_parsing() {
    std::env::set_var("REVOKE_SCIM_UNIT_TOKEN", "t0ken");
    let t = ScimTarget::from_table(
        &table("base_url = \"http://127.0.0.1:1/v2\"\ntoken_env = \"REVOKE_SCIM_UNIT_TOKEN\"\npolicy = \"delete\"\nmatch_attribute = \"emails\""),
        "saas",
    )
    .unwrap();
    assert_eq!(t.policy(), AccountPolicy::Delete);
    assert_eq!(t.match_attribute(), MatchAttribute::Emails);
    assert_eq!(t.principal(), "scim-client");
    assert_eq!(
        t.url(&["Users", "../x"]).as_str(),
        "http://127.0.0.1:1/v2/Users/..%2Fx"
    );
    assert!(!format!("{t:?}").contains("t0ken"));
    assert!(
        ScimTarget::from_table(&table("token_env = \"REVOKE_SCIM_UNIT_TOKEN\""), "saas").is_err()
    );
    assert!(ScimTarget::from_table(
        &table(
            "base_url = \"http://h/v2\"\ntoken_env = \"REVOKE_SCIM_UNIT_TOKEN\"\npolicy = \"nuke\""
        ),
        "saas"
    )
    .is_err());
    assert!(ScimTarget::from_table(
        &table("base_url = \"http://h/v2\"\ntoken = \"inline\""),
        "saas"
    )
    .is_err());
}

/// A server that refuses filters on Groups (400) and pages its 3 groups 2 at a time: the
/// adapter must fall back to scanning every page and keep only groups listing the member.
#[tokio::test]
async fn groups_are_scanned_when_members_filter_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let g = |id: &str, members: &[&str]| json!({"id": id, "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()});
                let (status, body) = if !head.contains("authorization: Bearer tok")
                    && !head.contains("Authorization: Bearer tok")
                {
                    (401, json!({"detail": "no"}))
                } else if target.contains("filter=") {
                    (
                        400,
                        json!({"scimType": "invalidFilter", "detail": "members filter unsupported"}),
                    )
                } else if target.contains("startIndex=1&") {
                    (
                        200,
                        json!({"totalResults": 3, "Resources": [g("g1", &["u1", "u2"]), g("g2", &["u2"])]}),
                    )
                } else if target.contains("startIndex=3&") {
                    (
                        200,
                        json!({"totalResults": 3, "Resources": [g("g3", &["u1"])]}),
                    )
                } else {
                    (404, json!({}))
                };
                let body = body.to_string();
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    std::env::set_var("REVOKE_SCIM_UNIT_TOKEN2", "tok");
    let t = ScimTarget::from_table(
        &table(&format!(
            "base_url = \"http://127.0.0.1:{port}/v2\"\ntoken_env = \"REVOKE_SCIM_UNIT_TOKEN2\""
        )),
        "saas",
    )
    .unwrap();
    assert_eq!(
        t.groups_of("u1").await.unwrap(),
        vec!["g1".to_string(), "g3".to_string()]
    );
    assert_eq!(
        t.groups_of("u2").await.unwrap(),
        vec!["g1".to_string(), "g2".to_string()]
    );
    assert!(t.groups_of("nobody").await.unwrap().is_empty());
}

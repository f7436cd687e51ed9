//! Unit tests of the GitLab adapter's pure parts: usernames, object ids, sponsor names, access
//! levels, error classification, pagination, the config table and client-side record checks.

use super::objects::{blocked, email_ok, token_active};
use super::*;
use crate::adapters::Target;
use reqwest::header::{HeaderMap, HeaderValue};
use revoke_shared::retry::ErrorClass;
use serde_json::{json, Value};
use std::time::Duration;

fn table(s: &str) -> toml::Table {
    s.parse().unwrap()
}

#[test]
fn usernames_gitlab_cannot_hold_are_refused() {
    for bad in [
        "*", "a*", "ada*", "../", "../bob", "\"", "x)(uid=*", "", ".", "..", "-ada", "ada.",
        "ada.git", "ada.atom", "a b", "ada/..", "ada%2F", "ad\u{e9}",
    ] {
        assert!(!gitlab_username_ok(bad), "{bad:?}");
    }
    for good in ["ada", "a", "ada.lovelace", "ada-l_1", "_ada", ".ada", "Ada"] {
        assert!(gitlab_username_ok(good), "{good:?}");
    }
    assert!(email_ok("ada@example.com"));
    for bad in ["ada", "a@b@c", "@x", "x@", "a b@c", "a\n@c"] {
        assert!(!email_ok(bad), "{bad:?}");
    }
}

#[test]
fn object_ids_round_trip_and_refuse_anything_else() {
    let all = [
        Object::PersonalAccessToken { id: 7 },
        Object::SshKey { user: 3, key: 9 },
        Object::Membership {
            source: Source::Group,
            source_id: 4,
            user: 3,
            access_level: 30,
        },
        Object::Membership {
            source: Source::Project,
            source_id: 5,
            user: 3,
            access_level: 40,
        },
        Object::Account { user: 3 },
        Object::AccessToken {
            source: Source::Project,
            source_id: 5,
            token: 11,
        },
        Object::AccessToken {
            source: Source::Group,
            source_id: 4,
            token: 12,
        },
        Object::DeployToken {
            source: Source::Group,
            source_id: 4,
            token: 2,
        },
    ];
    for o in &all {
        assert_eq!(Object::parse(o.kind(), &o.id()).as_ref(), Some(o), "{o:?}");
    }
    assert_eq!(
        Object::Membership {
            source: Source::Group,
            source_id: 4,
            user: 3,
            access_level: 30
        }
        .id(),
        "groups/4/members/3@30"
    );
    assert!(Object::parse("account", "personal_access_tokens/7").is_none());
    for bad in [
        "users/../5",
        "users/+5",
        "users/5/",
        "users/5/keys/",
        "users/-1",
        "users/5x",
        "groups/4/members/3",
        "groups/4/members/3@",
        "teams/4/members/3@30",
        "personal_access_tokens/7/../8",
        "",
    ] {
        for kind in [
            "account",
            "ssh_key",
            "group_membership",
            "personal_access_token",
        ] {
            assert!(Object::parse(kind, bad).is_none(), "{kind} {bad:?}");
        }
    }
    assert_eq!(Object::Account { user: 3 }.action(), "block");
    assert!(Object::DeployToken {
        source: Source::Project,
        source_id: 1,
        token: 1
    }
    .sponsored());
    assert!(!Object::PersonalAccessToken { id: 1 }.sponsored());
}

#[test]
fn sponsors_are_named_exactly() {
    assert!(names_sponsor("ci bot (owner:ada)", "owner:", "ada"));
    assert!(names_sponsor("deploy, OWNER:Ada.", "owner:", "ada"));
    assert!(names_sponsor("owner:ada.l", "owner:", "ada.l"));
    assert!(!names_sponsor("owner:adam", "owner:", "ada"));
    assert!(!names_sponsor("owner:ada.l", "owner:", "ada"));
    assert!(!names_sponsor("xowner:ada", "owner:", "ada"));
    assert!(!names_sponsor("owner: ada", "owner:", "ada"));
    assert!(!names_sponsor("owner:ada", "", "ada"));
    assert!(!names_sponsor("owner:", "owner:", ""));
}

#[test]
fn access_levels_parse_as_number_or_string() {
    assert_eq!(access_level(&json!(30)), Some(30));
    assert_eq!(access_level(&json!("20")), Some(20));
    assert_eq!(access_level(&json!("x")), None);
    assert_eq!(access_level(&json!(-1)), None);
    assert_eq!(access_level(&Value::Null), None);
}

#[test]
fn statuses_are_classified_with_hints() {
    let seven = Some(Duration::from_secs(7));
    let e = error_for("listing", 429, &json!("Retry later"), seven);
    assert!(
        matches!(&e, TargetError::RateLimited { message, retry_after }
            if message.contains("Retry-After 7.0 s") && message.contains("429") && *retry_after == seven),
        "{e}"
    );
    assert_eq!(e.class(), ErrorClass::Transient);
    let e = error_for("listing", 429, &Value::Null, None);
    assert!(
        matches!(&e, TargetError::RateLimited { message, retry_after: None } if message.contains("no Retry-After")),
        "{e}"
    );
    // A 503 that says when to come back is a rate limit; one that does not is an outage.
    assert!(matches!(
        error_for("listing", 503, &Value::Null, seven),
        TargetError::RateLimited { .. }
    ));
    assert!(matches!(
        error_for("listing", 503, &Value::Null, None),
        TargetError::Transient(_)
    ));
    let e = error_for("blocking", 403, &json!({"message": "403 Forbidden"}), None);
    assert!(
        matches!(&e, TargetError::Permanent(m) if m.contains("scopes (api, admin)") && m.contains("403 Forbidden")),
        "{e}"
    );
    let e = error_for("x", 401, &json!({"message": "401 Unauthorized"}), None);
    assert!(
        matches!(&e, TargetError::Permanent(m) if m.contains("scopes")),
        "{e}"
    );
    assert!(matches!(
        error_for("x", 502, &Value::Null, None),
        TargetError::Transient(_)
    ));
    assert!(
        matches!(error_for("x", 400, &json!({"message": {"access_level": ["is invalid"]}}), None), TargetError::Permanent(m) if m.contains("access_level"))
    );
    assert!(matches!(
        error_for("x", 409, &Value::Null, None),
        TargetError::Ambiguous(_)
    ));
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn pages_follow_link_or_x_next_page_and_stay_on_the_api() {
    let api = Url::parse("https://gl.example.com/api/v4").unwrap();
    let cur = Url::parse("https://gl.example.com/api/v4/users/3/keys?per_page=2&page=1").unwrap();
    let link = r#"<https://gl.example.com/api/v4/users/3/keys?page=2&per_page=2>; rel="next", <https://gl.example.com/api/v4/users/3/keys?page=1&per_page=2>; rel="first""#;
    assert_eq!(
        next_page_url(
            &cur,
            &headers(&[("link", link), ("x-next-page", "9")]),
            &api
        )
        .unwrap()
        .unwrap()
        .as_str(),
        "https://gl.example.com/api/v4/users/3/keys?page=2&per_page=2"
    );
    assert_eq!(
        next_page_url(&cur, &headers(&[("x-next-page", "2")]), &api)
            .unwrap()
            .unwrap()
            .as_str(),
        "https://gl.example.com/api/v4/users/3/keys?per_page=2&page=2"
    );
    assert_eq!(
        next_page_url(&cur, &headers(&[("x-next-page", "")]), &api),
        Ok(None)
    );
    assert_eq!(next_page_url(&cur, &headers(&[]), &api), Ok(None));
    let last = r#"<https://gl.example.com/api/v4/users/3/keys?page=1&per_page=2>; rel="first""#;
    assert_eq!(
        next_page_url(&cur, &headers(&[("link", last)]), &api),
        Ok(None)
    );
    let evil = r#"<https://evil.example.com/api/v4/users?page=2>; rel="next""#;
    assert!(next_page_url(&cur, &headers(&[("link", evil)]), &api).is_err());
    let outside = r#"<https://gl.example.com/other?page=2>; rel="next""#;
    assert!(next_page_url(&cur, &headers(&[("link", outside)]), &api).is_err());
    assert!(next_page_url(&cur, &headers(&[("x-next-page", "1")]), &api).is_err());
    assert!(next_page_url(&cur, &headers(&[("x-next-page", "two")]), &api).is_err());
}

#[test]
fn config_parses_and_rejects() {
    std::env::set_var("REVOKE_GITLAB_UNIT_TOKEN", "glpat-secret-value");
    let t = GitlabTarget::from_table(
        &table("base_url = \"https://gl.example.com/\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\""),
        "main",
    )
    .unwrap();
    assert_eq!(t.api.as_str(), "https://gl.example.com/api/v4");
    assert_eq!(t.match_attribute(), MatchAttribute::Username);
    assert!(t.block);
    assert_eq!(t.per_page, 100);
    assert_eq!(t.sponsor_marker, "owner:");
    assert_eq!(t.extern_uid_provider, "ldapmain");
    assert_eq!(t.principal(), "gitlab:main");
    assert_eq!(
        t.url(&["users", "5", "keys"]).as_str(),
        "https://gl.example.com/api/v4/users/5/keys"
    );
    assert_eq!(
        t.url(&["users", "../x"]).as_str(),
        "https://gl.example.com/api/v4/users/..%2Fx"
    );
    assert!(!format!("{t:?}").contains("glpat-secret-value"));
    let t = GitlabTarget::from_table(
        &table("base_url = \"http://h:8080/gitlab/api/v4\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nmatch_attribute = \"extern_uid\"\nextern_uid_provider = \"saml\"\nblock = false\nper_page = 5\nsponsor_marker = \"\"\nprincipal = \"revoker\""),
        "main",
    )
    .unwrap();
    assert_eq!(t.api.as_str(), "http://h:8080/gitlab/api/v4");
    assert_eq!(t.match_attribute(), MatchAttribute::ExternUid);
    assert!(!t.block && t.per_page == 5 && t.sponsor_marker.is_empty());
    assert_eq!(t.principal(), "revoker");
    let bad =
        |s: &str| GitlabTarget::from_table(&table(s), "main").expect_err("config must be refused");
    assert!(bad("token_env = \"REVOKE_GITLAB_UNIT_TOKEN\"").contains("base_url"));
    assert!(bad("base_url = \"http://h\"\ntoken = \"inline\"").contains("unknown key"));
    assert!(
        bad("base_url = \"ftp://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"").contains("http")
    );
    assert!(bad(
        "base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nper_page = 500"
    )
    .contains("per_page"));
    assert!(bad("base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nmatch_attribute = \"name\"").contains("match_attribute"));
    assert!(bad(
        "base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN\"\nblock = \"yes\""
    )
    .contains("block"));
    let e = bad("base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNSET_VAR\"");
    assert!(
        e.contains("REVOKE_GITLAB_UNSET_VAR") && !e.contains("secret-value"),
        "{e}"
    );
}

#[test]
fn records_are_rechecked_client_side() {
    std::env::set_var("REVOKE_GITLAB_UNIT_TOKEN2", "t");
    let mk = |extra: &str| {
        GitlabTarget::from_table(
            &table(&format!(
                "base_url = \"http://h\"\ntoken_env = \"REVOKE_GITLAB_UNIT_TOKEN2\"\n{extra}"
            )),
            "main",
        )
        .unwrap()
    };
    let by_name = mk("");
    assert!(by_name.record_matches(&json!({"username": "Ada"}), "ada"));
    assert!(!by_name.record_matches(&json!({"username": "adam"}), "ada"));
    assert!(!by_name.record_matches(&json!({"name": "ada"}), "ada"));
    let by_mail = mk("match_attribute = \"email\"");
    assert!(by_mail.record_matches(&json!({"email": "Ada@Example.com"}), "ada@example.com"));
    assert!(!by_mail.record_matches(&json!({"email": "xada@example.com"}), "ada@example.com"));
    let by_uid = mk("match_attribute = \"extern_uid\"");
    let u = json!({"identities": [{"provider": "ldapmain", "extern_uid": "E1"}, {"provider": "saml", "extern_uid": "E2"}]});
    assert!(by_uid.record_matches(&u, "E1"));
    assert!(
        !by_uid.record_matches(&u, "E2"),
        "another provider's uid is not ours"
    );
    assert!(blocked(&json!({"state": "blocked"})) && blocked(&json!({"state": "ldap_blocked"})));
    assert!(!blocked(&json!({"state": "active"})) && !blocked(&json!({})));
    assert!(token_active(&json!({"active": true, "revoked": false})));
    assert!(!token_active(&json!({"active": true, "revoked": true})));
    assert!(!token_active(&json!({"active": false, "revoked": false})));
}

//! The `cicd` adapter (GitLab REST API v4) against the in-process GitLab double
//! (`revoke_tests::gitlab`): no external peer, so these run with plain `cargo test`.
//!
//! Each test starts its own double, seeds people directly in its state (never through the
//! adapter), builds the adapter from a `[targets.cicd]` table through `Config::load` as the binary
//! does, and asserts by reading the double's state or asking its HTTP API.

use revoke::adapters::gitlab::GitlabTarget;
use revoke::adapters::{Target, TargetError};
use revoke::restoration::RestoreOutcome;
use revoke::revocation::revoke_identity;
use revoke_shared::contract::{Identity, ObjectOutcome, Outcome};
use revoke_shared::metrics::Metrics;
use revoke_tests::gitlab::{self, GitlabDouble, RateLimit, SeededPerson, Source};
use revoke_tests::kit::{self, assert_outcome, employee, object_ids, restore, revoke};
use revoke_tests::quick_retries as policy;
use std::time::Duration;

mod double;
mod lifecycle;
mod restore_scope;
mod transport;

/// The adapter from a complete config file's `[targets.cicd]` table (through `Config::load`), with
/// `token` in an environment variable unique to this call.
fn target_with_token(d: &GitlabDouble, token: &str, extra: &str) -> GitlabTarget {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let var = format!("REVOKE_TEST_GITLAB_TOKEN_{}", tag.to_uppercase());
    std::env::set_var(&var, token);
    let table = kit::target_table(
        "cicd",
        &format!("base_url = \"{}\"\ntoken_env = \"{var}\"\n{extra}", d.url()),
    );
    GitlabTarget::from_table(&table, "test").expect("[targets.cicd] config")
}

fn target(d: &GitlabDouble, extra: &str) -> GitlabTarget {
    target_with_token(d, d.admin_token(), extra)
}

fn person(username: Option<&str>) -> Identity {
    employee(
        &format!("E-{}", username.unwrap_or("none")),
        username,
        username.map(|u| format!("{u}@example.com")).as_deref(),
    )
}

/// `GET /api/v4/<path>` on the double as its administrator (not through the adapter).
async fn admin_get(d: &GitlabDouble, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/v4/{path}", d.url().trim_end_matches('/')))
        .header("PRIVATE-TOKEN", d.admin_token())
        .send()
        .await
        .expect("double reachable")
}

/// Everything `p` holds is still there and works (checked in the double's state).
fn assert_untouched(d: &GitlabDouble, p: &SeededPerson) {
    let who = &p.username;
    assert_eq!(
        d.user_state(p.user_id).as_deref(),
        Some("active"),
        "{who} was blocked"
    );
    for (id, secret) in &p.pats {
        assert!(
            !d.pat(*id).unwrap().revoked,
            "{who}'s token {id} was revoked"
        );
        assert!(d.token_works(secret), "{who}'s token {id} stopped working");
    }
    assert_eq!(
        d.ssh_keys_of(p.user_id),
        p.ssh_keys,
        "{who} lost an SSH key"
    );
    assert_eq!(
        d.member_level(Source::Group(p.group_id), p.user_id),
        Some(50)
    );
    assert_eq!(
        d.member_level(Source::Project(p.project_id), p.user_id),
        Some(40)
    );
    assert!(
        d.token_works(&p.project_access_token.1),
        "{who}'s project bot token was revoked"
    );
    assert!(
        d.token_works(&p.group_access_token.1),
        "{who}'s group bot token was revoked"
    );
    assert!(
        d.deploy_token(p.deploy_token.0).is_some(),
        "{who}'s deploy token was deleted"
    );
}

//! Restores give back only what is the person's: forged evidence changes nothing at the double.

use super::*;

/// `GET <path>` on the double's HTTP API as its administrator (not through the adapter).
async fn api_get(d: &GitlabDouble, path: &str) -> serde_json::Value {
    let resp = admin_get(d, path).await;
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// (user id, access level) of every member of a group, read over the double's API.
async fn group_members(d: &GitlabDouble, gid: u64) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = api_get(d, &format!("groups/{gid}/members"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_u64().unwrap(),
                m["access_level"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort_unstable();
    v
}

/// A restore is a grant: a hand-made evidence object re-adding ANOTHER user (bob) to a group at
/// Owner level, or unblocking bob, restored for ada, is refused; so is ada's own membership at
/// an access level GitLab does not define. At the double nothing changes.
#[tokio::test]
async fn restore_refuses_what_is_not_the_persons() {
    let d = gitlab::start().await;
    let ada = d.seed_person("ada");
    let bob = d.seed_person("bob");
    let vault = d.add_group("crown-jewels");
    d.add_member(Source::Group(vault), 1, 50);
    d.set_user_state(bob.user_id, "blocked");
    let t = target(&d, "");
    let who = person(Some("ada"));
    let first = revoke(&t, &who).await;
    assert_eq!(first.outcome, Outcome::Revoked, "{:?}", first.error);

    let members_before = group_members(&d, vault).await;
    let writes_from = d.request_count();
    let forged_evidence = [
        kit::revoked_evidence(
            "group_membership",
            &format!("groups/{vault}/members/{}@50", bob.user_id),
            "remove_membership",
            "root",
        ),
        kit::revoked_evidence(
            "account",
            &format!("users/{}", bob.user_id),
            "block",
            "root",
        ),
        kit::revoked_evidence(
            "group_membership",
            &format!("groups/{vault}/members/{}@60", ada.user_id),
            "remove_membership",
            "root",
        ),
    ];
    let restored = restore(&t, &who, &forged_evidence).await;
    assert_eq!(restored.len(), 3, "{restored:?}");
    for r in &restored {
        assert_eq!(r.outcome, RestoreOutcome::Refused, "{r:?}");
    }
    assert!(
        restored[0].detail.contains("access level 60"),
        "{restored:?}"
    );
    // At the double, over its API: the group's members unchanged, bob still blocked, ada too.
    assert_eq!(group_members(&d, vault).await, members_before);
    assert_eq!(
        api_get(&d, &format!("users/{}", bob.user_id)).await["state"],
        "blocked"
    );
    assert_eq!(
        api_get(&d, &format!("users/{}", ada.user_id)).await["state"],
        "blocked"
    );
    assert!(
        d.writes_since(writes_from).is_empty(),
        "{:?}",
        d.writes_since(writes_from)
    );
}

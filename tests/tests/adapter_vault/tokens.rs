//! Child tokens named in the evidence, restores refused for another person's entity, and redirects
//! not followed with the token.

use super::*;

/// The server from the environment and a fresh userpass mount on it with `ada` and `bob`, whose
/// tokens may create child tokens.
async fn mount_with_people() -> (Bao, String) {
    let bao = Bao::from_env();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mount = format!("up{}", &run[..10]);
    bao.root_post(&format!("sys/auth/{mount}"), json!({ "type": "userpass" }))
        .await;
    let policy = format!("child-maker-{}", &run[..10]);
    let (s, v) = bao
        .req(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{policy}"),
            Some(&bao.root),
            Some(json!({ "policy": "path \"auth/token/create\" { capabilities = [\"create\", \"update\"] }" })),
        )
        .await;
    assert!((200..300).contains(&s), "policy: {s} {v}");
    for user in ["ada", "bob"] {
        bao.add_user(
            &mount,
            user,
            &format!("{user}-pw"),
            &format!("default,{policy}"),
        )
        .await;
    }
    (bao, mount)
}

/// A child token created with `parent`: (token, accessor).
async fn child_of(bao: &Bao, parent: &str) -> (String, String) {
    let (s, v) = bao
        .req(
            reqwest::Method::POST,
            "auth/token/create",
            Some(parent),
            Some(json!({})), // the parent's policies: a child can make a grandchild
        )
        .await;
    assert_eq!(s, 200, "creating a child token: {v}");
    (
        v["auth"]["client_token"].as_str().unwrap().to_string(),
        v["auth"]["accessor"].as_str().unwrap().to_string(),
    )
}

/// A user token with a child (and a grandchild) created with it: the evidence names each child
/// accessor as revoked with its parent, after the parent, read back gone — and OpenBao no longer
/// knows them. Bob's token and its child are untouched.
#[tokio::test]
#[ignore = "needs OpenBao: run the README's test command"]
async fn child_tokens_are_named_in_the_evidence() {
    let (bao, mount) = mount_with_people().await;
    let (ada_t, ada_a, _) = bao.login(&mount, "ada", "ada-pw").await.unwrap();
    let (child_t, child_a) = child_of(&bao, &ada_t).await;
    let (_, grandchild_a) = child_of(&bao, &child_t).await;
    let (bob_t, _, _) = bao.login(&mount, "bob", "bob-pw").await.unwrap();
    let (bob_child_t, _) = child_of(&bao, &bob_t).await;

    let t = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{mount}\"\napprole_mounts = []",
            bao.addr
        ),
        "bao",
    );
    let r = revoke(&t, &employee("E-ada", Some("ada"), None)).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:#?}", r);
    let at = |acc: &str| {
        r.objects
            .iter()
            .position(|o| o.object_kind == "token" && o.object_id == acc)
            .unwrap_or_else(|| panic!("{acc} not in the evidence: {:#?}", r.objects))
    };
    for acc in [&child_a, &grandchild_a] {
        let o = &r.objects[at(acc)];
        assert_eq!(
            (o.action.as_str(), o.outcome, o.verified),
            ("revoke_with_parent", ObjectOutcome::Revoked, true),
            "{o:?}"
        );
        assert!(o.read_back.contains("revoked with its parent"), "{o:?}");
        assert!(at(acc) > at(&ada_a), "the parent is revoked first");
        assert!(!bao.accessor_exists(acc).await, "OpenBao still knows {acc}");
    }
    assert_eq!(r.objects[at(&ada_a)].action, "revoke");
    assert!(bao.token_valid(&bob_t).await && bao.token_valid(&bob_child_t).await);
}

/// A restore is a grant: evidence naming bob's (disabled) entity, restored for ada, is refused
/// and bob's entity stays disabled at OpenBao.
#[tokio::test]
#[ignore = "needs OpenBao: run the README's test command"]
async fn restore_refuses_another_persons_entity() {
    let (bao, mount) = mount_with_people().await;
    let (_, _, ada_entity) = bao.login(&mount, "ada", "ada-pw").await.unwrap();
    let (_, _, bob_entity) = bao.login(&mount, "bob", "bob-pw").await.unwrap();
    bao.root_post(
        &format!("identity/entity/id/{bob_entity}"),
        json!({ "disabled": true }),
    )
    .await;
    let t = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{mount}\"\napprole_mounts = []\ndelete_userpass_user = false",
            bao.addr
        ),
        "bao",
    );
    let who = employee("E-ada", Some("ada"), None);
    let r = revoke(&t, &who).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:#?}", r);
    let mut forged = r
        .objects
        .iter()
        .find(|o| o.object_kind == "entity")
        .cloned()
        .expect("ada's entity in the evidence");
    assert_eq!(forged.object_id, ada_entity);
    forged.object_id = bob_entity.clone();
    let restored = restore(&t, &who, &[forged]).await;
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].outcome, RestoreOutcome::Refused, "{restored:?}");
    let entity = |id: String| {
        let bao = &bao;
        async move {
            bao.root_get(&format!("identity/entity/id/{id}")).await.1["data"]["disabled"].as_bool()
        }
    };
    assert_eq!(
        entity(bob_entity).await,
        Some(true),
        "bob's entity re-enabled"
    );
    assert_eq!(
        entity(ada_entity).await,
        Some(true),
        "ada's entity untouched"
    );
}

/// An OpenBao answering 302 to another port: the adapter follows nothing, the error names the
/// location, and the redirect target receives no request (so no `X-Vault-Token`).
#[tokio::test]
async fn redirects_are_not_followed_with_the_token() {
    let peer = revoke_tests::redirect::RedirectPeer::start().await;
    let var = format!("REVOKE_TEST_VAULT_REDIRECT_{}", std::process::id());
    std::env::set_var(&var, "s.vault-redirect-secret");
    let t = vault_target(
        &format!("address = \"{}\"\ntoken_env = \"{var}\"", peer.redirecting),
        "bao",
    );
    let e = t
        .discover(&employee("E-ada", Some("ada"), None))
        .await
        .unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(e, revoke::adapters::TargetError::Permanent(_))
            && m.contains("302")
            && m.contains(&format!("{}/v1/auth/token/lookup-self", peer.sink)),
        "{m}"
    );
    assert!(!m.contains("vault-redirect-secret"), "{m}");
    assert_eq!(peer.received(), Vec::<String>::new());
}

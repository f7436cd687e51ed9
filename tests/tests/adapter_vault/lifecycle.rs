//! A person and what they sponsor: revoked, asserted at OpenBao, run again, restored.

use super::*;

#[tokio::test]
#[ignore = "needs OpenBao: run the README's test command"]
async fn vault_adapter_revokes_a_person_and_what_they_sponsor() {
    let bao = Bao::from_env();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mount = format!("up{}", &run[..10]);

    // --- seed, as an operator would, through the API ---------------------------------------
    bao.root_post(&format!("sys/auth/{mount}"), json!({ "type": "userpass" }))
        .await;
    bao.add_user(&mount, "ada", "ada-pw-1", "default").await;
    bao.add_user(&mount, "bob", "bob-pw-1", "default").await;
    let (ada_t1, ada_a1, ada_entity) = bao.logs_in(&mount, "ada", "ada-pw-1", "ada logs in").await;
    let (ada_t2, ada_a2, ada_entity2) = bao
        .logs_in(&mount, "ada", "ada-pw-1", "ada logs in again")
        .await;
    assert!(
        !ada_entity.is_empty() && ada_entity == ada_entity2,
        "login creates one entity with a userpass alias"
    );
    let (bob_t, bob_a, _) = bao.logs_in(&mount, "bob", "bob-pw-1", "bob logs in").await;
    let owner_meta = format!("ada-{run}");
    let sponsored = bao
        .root_post(
            "auth/token/create",
            json!({ "policies": ["default"], "no_parent": true, "display_name": "ada-ci-bot", "meta": { "owner": owner_meta } }),
        )
        .await;
    let (spon_t, spon_a) = (
        sponsored["auth"]["client_token"]
            .as_str()
            .unwrap()
            .to_string(),
        sponsored["auth"]["accessor"].as_str().unwrap().to_string(),
    );
    // bob's own sponsored token must survive too.
    let bob_bot = bao
        .root_post("auth/token/create", json!({ "policies": ["default"], "no_parent": true, "meta": { "owner": format!("bob-{run}") } }))
        .await;
    let bob_bot_t = bob_bot["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    for t in [&ada_t1, &ada_t2, &bob_t, &spon_t, &bob_bot_t] {
        assert!(bao.token_valid(t).await);
    }

    // AppRole: a CI runner's secret id ada sponsors, and one bob sponsors.
    let approle = format!("ar{}", &run[..10]);
    bao.root_post(&format!("sys/auth/{approle}"), json!({ "type": "approle" }))
        .await;
    bao.root_post(
        &format!("auth/{approle}/role/ci-runner"),
        json!({ "token_policies": "default" }),
    )
    .await;
    let (_, role) = bao
        .root_get(&format!("auth/{approle}/role/ci-runner/role-id"))
        .await;
    let role_id = role["data"]["role_id"].as_str().unwrap().to_string();
    let secret_id = |owner: String| {
        let path = format!("auth/{approle}/role/ci-runner/secret-id");
        let bao = &bao;
        async move {
            let v = bao
                .root_post(
                    &path,
                    json!({ "metadata": json!({ "owner": owner }).to_string() }),
                )
                .await;
            (
                v["data"]["secret_id"].as_str().unwrap().to_string(),
                v["data"]["secret_id_accessor"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        }
    };
    let (ada_sid, ada_sid_acc) = secret_id(owner_meta.clone()).await;
    let (bob_sid, _) = secret_id(format!("bob-{run}")).await;
    let approle_login = |sid: String| {
        let path = format!("auth/{approle}/login");
        let (bao, role_id) = (&bao, role_id.clone());
        async move {
            bao.req(
                reqwest::Method::POST,
                &path,
                None,
                Some(json!({ "role_id": role_id, "secret_id": sid })),
            )
            .await
            .1["auth"]["accessor"]
                .as_str()
                .map(str::to_string)
        }
    };
    // The runner's login token carries the secret id's metadata (owner = ada): sponsored too.
    let runner_a = approle_login(ada_sid.clone())
        .await
        .expect("ada's runner logs in");
    assert!(approle_login(bob_sid.clone()).await.is_some());

    // --- the adapter, configured as in docs/configuration.md --------------------------------
    let target = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nuserpass_mount = \"{mount}\"\nowner_metadata_key = \"owner\"",
            bao.addr
        ),
        "test",
    );
    let principal = target
        .resolve_principal()
        .await
        .expect("revoker token works")
        .to_string();
    assert!(
        principal.starts_with("root") || principal.starts_with("token"),
        "{principal}"
    );
    assert!(
        !principal.contains(&bao.root),
        "principal must not contain the token"
    );

    // The sponsor is named by email in the token's metadata.
    let ada = employee(&format!("E-{run}"), Some("ada"), Some(&owner_meta));
    let first = revoke(&target, &ada).await;
    assert_outcome(&first, Outcome::Revoked);
    let ids = |kind: &str, sponsored: bool| -> Vec<String> {
        let mut v: Vec<String> = first
            .objects
            .iter()
            .filter(|o| o.object_kind == kind && o.sponsored == sponsored)
            .map(|o| o.object_id.clone())
            .collect();
        v.sort();
        v
    };
    let mut ada_accessors = vec![ada_a1.clone(), ada_a2.clone()];
    ada_accessors.sort();
    assert_eq!(ids("token", false), ada_accessors);
    let mut sponsored_tokens = vec![spon_a.clone(), runner_a.clone()];
    sponsored_tokens.sort();
    assert_eq!(ids("token", true), sponsored_tokens);
    assert_eq!(ids("entity", false), vec![ada_entity.clone()]);
    assert_eq!(ids("userpass_user", false), vec![format!("{mount}/ada")]);
    // The login's lease prefix is listed too; revoking the tokens by accessor already emptied it.
    assert_eq!(
        ids("lease_prefix", false),
        vec![format!("auth/{mount}/login/ada/")]
    );
    assert_eq!(
        ids("approle_secret_id", true),
        vec![format!("{approle}/ci-runner/{ada_sid_acc}")]
    );
    assert_eq!(first.objects.len(), 8, "{:#?}", first.objects);
    for o in &first.objects {
        let expected = if o.object_kind == "lease_prefix" {
            ObjectOutcome::AlreadyAbsent
        } else {
            ObjectOutcome::Revoked
        };
        assert_eq!(o.outcome, expected, "{o:?}");
        assert!(o.verified && o.removed_at.is_some(), "{o:?}");
        assert_eq!(o.actor.principal, principal);
    }
    // Evidence names accessors, never token values.
    let evidence = format!("{:?} {:?}", first.objects, first.error);
    for secret in [&ada_t1, &ada_t2, &spon_t, &bao.root] {
        assert!(
            !evidence.contains(secret.as_str()),
            "a token value leaked into evidence"
        );
    }

    // --- what OpenBao itself says ----------------------------------------------------------
    assert!(
        !bao.token_valid(&ada_t1).await && !bao.token_valid(&ada_t2).await,
        "ada's tokens still work"
    );
    assert!(!bao.accessor_exists(&ada_a1).await && !bao.accessor_exists(&ada_a2).await);
    assert!(
        !bao.token_valid(&spon_t).await && !bao.accessor_exists(&spon_a).await,
        "sponsored token still works"
    );
    assert!(
        bao.login(&mount, "ada", "ada-pw-1").await.is_none(),
        "ada can still log in"
    );
    let (s, _) = bao
        .root_get(&format!(
            "sys/leases/lookup/auth/{mount}/login/ada/?list=true"
        ))
        .await;
    assert_eq!(s, 404, "leases left under ada's login path");
    let (s, user) = bao.root_get(&format!("auth/{mount}/users/ada")).await;
    assert_eq!(s, 404, "userpass user ada still there: {user}");
    let (s, entity) = bao
        .root_get(&format!("identity/entity/id/{ada_entity}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        entity["data"]["disabled"],
        json!(true),
        "entity not disabled"
    );
    assert!(
        bao.token_valid(&bob_t).await && bao.accessor_exists(&bob_a).await,
        "bob's token was revoked"
    );
    assert!(
        bao.token_valid(&bob_bot_t).await,
        "bob's sponsored token was revoked"
    );
    assert!(
        approle_login(ada_sid.clone()).await.is_none() && !bao.accessor_exists(&runner_a).await,
        "ada's sponsored AppRole secret id still logs in"
    );
    assert!(
        approle_login(bob_sid.clone()).await.is_some(),
        "bob's AppRole secret id was destroyed"
    );

    // --- again: nothing new to do, same end state ------------------------------------------
    let second = revoke(&target, &ada).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert!(second
        .objects
        .iter()
        .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none" && o.verified));
    let entity_time = |r: &revoke::revocation::RevocationReport| {
        r.objects
            .iter()
            .find(|o| o.object_kind == "entity")
            .and_then(|o| o.removed_at)
    };
    assert_eq!(
        entity_time(&first),
        entity_time(&second),
        "the entity's own update time is the removal time"
    );

    // --- restore (a rescind): the entity is re-enabled; tokens and the login cannot return ---
    let restored = restore(&target, &ada, &first.objects).await;
    let outcome_of = |kind: &str| kit::restore_outcomes(&restored, kind);
    assert_eq!(
        outcome_of("entity"),
        vec![RestoreOutcome::Restored],
        "{restored:#?}"
    );
    assert_eq!(outcome_of("token"), vec![RestoreOutcome::Irreversible; 4]);
    assert_eq!(
        outcome_of("userpass_user"),
        vec![RestoreOutcome::Irreversible]
    );
    assert_eq!(
        outcome_of("approle_secret_id"),
        vec![RestoreOutcome::Irreversible]
    );
    assert!(
        outcome_of("lease_prefix").is_empty(),
        "it was already absent: not ours to restore"
    );
    let (_, entity) = bao
        .root_get(&format!("identity/entity/id/{ada_entity}"))
        .await;
    assert_eq!(
        entity["data"]["disabled"],
        json!(false),
        "entity not re-enabled"
    );
    assert!(!bao.token_valid(&ada_t1).await, "a revoked token came back");
    let again = restore(&target, &ada, &first.objects).await;
    assert!(again
        .iter()
        .filter(|r| r.object_kind == "entity")
        .all(|r| r.outcome == RestoreOutcome::AlreadyPresent));

    // --- identities that must not reach bob -------------------------------------------------
    for (i, name) in [
        "*",
        "a*",
        "../bob",
        "bob/..",
        "x)(uid=*",
        "\"",
        "../",
        "BOB/../bob",
    ]
    .into_iter()
    .enumerate()
    {
        let hostile = employee(&format!("E-hostile-{i}-{run}"), Some(name), None);
        let r = revoke(&target, &hostile).await;
        assert!(
            r.objects
                .iter()
                .all(|o| o.outcome != ObjectOutcome::Revoked),
            "identity {name:?} revoked something: {:#?}",
            r.objects
        );
        assert!(r.error.is_none(), "identity {name:?}: {:?}", r.error);
    }
    // The employee id is the fallback name, and is held to the same rules.
    let r = revoke(&target, &employee("../bob", None, None)).await;
    assert!(r.objects.is_empty(), "{:#?}", r.objects);
    assert!(
        bao.token_valid(&bob_t).await && bao.token_valid(&bob_bot_t).await,
        "bob lost a token"
    );
    assert!(
        bao.login(&mount, "bob", "bob-pw-1").await.is_some(),
        "bob can no longer log in"
    );

    // Revoking by lease prefix alone kills a login's token (the path for logins made after
    // discovery), and leaves other users' leases alone.
    bao.add_user(&mount, "cy", "cy-pw-1", "default").await;
    bao.add_user(&mount, "cyd", "cyd-pw-1", "default").await;
    let (cy_t, _, _) = bao.logs_in(&mount, "cy", "cy-pw-1", "cy logs in").await;
    let (cyd_t, _, _) = bao.logs_in(&mount, "cyd", "cyd-pw-1", "cyd logs in").await;
    let cy = employee(&format!("E-cy-{run}"), Some("cy"), None);
    let held = target.discover(&cy).await.unwrap();
    let prefix = held
        .iter()
        .find(|h| h.object_kind == "lease_prefix")
        .expect("cy's login lease prefix is discovered");
    assert_eq!(prefix.object_id, format!("auth/{mount}/login/cy/"));
    assert!(!target.verify(&cy, prefix).await.unwrap().gone);
    assert_eq!(
        target.revoke(&cy, prefix).await.unwrap(),
        revoke::adapters::RevokeResult::Revoked { removed_at: None }
    );
    assert!(target.verify(&cy, prefix).await.unwrap().gone);
    assert!(
        !bao.token_valid(&cy_t).await,
        "cy's token survived its lease prefix's revocation"
    );
    assert!(
        bao.token_valid(&bob_t).await,
        "bob's token died with cy's lease prefix"
    );
    assert!(
        bao.token_valid(&cyd_t).await,
        "cyd's token died with cy's lease prefix (prefix without a trailing slash?)"
    );

    // A target that cannot be reached is a transient error, and names no token.
    let dead = vault_target(
        "address = \"http://127.0.0.1:9\"\ntoken_env = \"REVOKE_TEST_BAO_TOKEN\"\nprincipal = \"revoker\"\ntimeout_secs = 2",
        "dead",
    );
    match dead.discover(&ada).await {
        Err(e @ revoke::adapters::TargetError::Transient(_)) => {
            assert!(!e.to_string().contains(&bao.root))
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
    // A token without rights is refused permanently (403), not retried forever.
    std::env::set_var("REVOKE_TEST_BAO_WEAK_TOKEN", &bob_bot_t);
    let weak = vault_target(
        &format!(
            "address = \"{}\"\ntoken_env = \"REVOKE_TEST_BAO_WEAK_TOKEN\"",
            bao.addr
        ),
        "weak",
    );
    match weak.discover(&ada).await {
        Err(e @ revoke::adapters::TargetError::Permanent(_)) => {
            assert!(!e.to_string().contains(&bob_bot_t), "{e}")
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }

    // Clean up this run's data.
    bao.req(
        reqwest::Method::DELETE,
        &format!("sys/auth/{mount}"),
        Some(&bao.root),
        None,
    )
    .await;
    for t in [&bob_bot_t] {
        bao.req(
            reqwest::Method::POST,
            "auth/token/revoke",
            Some(&bao.root),
            Some(json!({ "token": t })),
        )
        .await;
    }
}

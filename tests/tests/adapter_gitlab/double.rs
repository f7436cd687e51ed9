//! The double itself answers like GitLab (status codes, JSON shapes, headers).

use super::*;

/// The double answers like GitLab where the adapter relies on it.
#[tokio::test]
async fn the_double_answers_like_gitlab() {
    let d = gitlab::start().await;
    let p = d.seed_person("gus");
    let (_, weak) = d.add_pat(p.user_id, "gus-own", &["api"]);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str| {
        http.request(method, format!("{}/api/v4/{path}", d.url()))
            .header("PRIVATE-TOKEN", token.to_string())
            .send()
    };
    let json = |r: reqwest::Response| async move {
        let s = r.status().as_u16();
        (s, r.json::<serde_json::Value>().await.unwrap_or_default())
    };
    // A call whose answer is read as (status, JSON body).
    let call_json = |method: reqwest::Method, path: &str, token: &str| {
        let sent = call(method, path, token);
        async move { json(sent.await.unwrap()).await }
    };
    use reqwest::Method as M;
    let admin = d.admin_token().to_string();
    let u = p.user_id;
    assert_eq!(
        call_json(M::GET, "user", "nope").await,
        (401, serde_json::json!({"message": "401 Unauthorized"}))
    );
    assert_eq!(
        call_json(M::GET, &format!("users/{u}/memberships"), &weak).await,
        (403, serde_json::json!({"message": "403 Forbidden"}))
    );
    assert_eq!(
        call_json(M::GET, "users/9999", &admin).await,
        (404, serde_json::json!({"message": "404 User Not Found"}))
    );
    let (s, me) = call_json(M::GET, "user", &weak).await;
    assert_eq!(s, 200);
    assert!(
        me.get("is_admin").is_none() && me.get("email").is_none(),
        "{me}"
    );
    let (s, users) = call_json(M::GET, "users?username=GUS", &admin).await;
    assert_eq!(
        (s, users[0]["id"].as_u64()),
        (200, Some(u)),
        "username= is case-insensitive"
    );
    let (s, ms) = call_json(M::GET, &format!("users/{u}/memberships"), &admin).await;
    assert_eq!(s, 200);
    let mut types: Vec<&str> = ms
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["Namespace", "Project"]);
    // Block: 201 true, again 201 null; blocking yourself 403; the blocked user's token 403.
    let block = format!("users/{u}/block");
    assert_eq!(
        call_json(M::POST, &block, &admin).await,
        (201, serde_json::json!(true))
    );
    assert_eq!(
        call_json(M::POST, &block, &admin).await,
        (201, serde_json::Value::Null)
    );
    assert_eq!(
        call(M::POST, "users/1/block", &admin)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(call(M::GET, "user", &weak).await.unwrap().status(), 403);
    assert_eq!(
        call_json(M::POST, &format!("users/{u}/unblock"), &admin).await,
        (201, serde_json::json!(true))
    );
    // Revoking a token: 204, and 204 again; the token no longer authenticates.
    let pat = format!("personal_access_tokens/{}", p.pats[0].0);
    assert_eq!(call(M::DELETE, &pat, &admin).await.unwrap().status(), 204);
    assert_eq!(call(M::DELETE, &pat, &admin).await.unwrap().status(), 204);
    let (s, t) = call_json(M::GET, &pat, &admin).await;
    assert_eq!(
        (s, &t["revoked"], &t["active"]),
        (200, &serde_json::json!(true), &serde_json::json!(false))
    );
    assert_eq!(
        call(M::GET, "user", &p.pats[0].1).await.unwrap().status(),
        401
    );
    // Members: 204 on removal, 404 after; re-adding 201, twice 409.
    let member = format!("projects/{}/members/{u}", p.project_id);
    assert_eq!(
        call(M::DELETE, &member, &admin).await.unwrap().status(),
        204
    );
    assert_eq!(
        call(M::DELETE, &member, &admin).await.unwrap().status(),
        404
    );
    let add = || {
        http.post(format!(
            "{}/api/v4/projects/{}/members",
            d.url(),
            p.project_id
        ))
        .header("PRIVATE-TOKEN", admin.clone())
        .json(&serde_json::json!({"user_id": u, "access_level": 40}))
        .send()
    };
    assert_eq!(add().await.unwrap().status(), 201);
    assert_eq!(add().await.unwrap().status(), 409);
    // Deploy tokens are destroyed; access tokens revoked with their bot's membership.
    let dt = format!(
        "projects/{}/deploy_tokens/{}",
        p.project_id, p.deploy_token.0
    );
    assert_eq!(call(M::DELETE, &dt, &admin).await.unwrap().status(), 204);
    assert_eq!(call(M::GET, &dt, &admin).await.unwrap().status(), 404);
    let at = format!(
        "projects/{}/access_tokens/{}",
        p.project_id, p.project_access_token.0
    );
    assert_eq!(call(M::DELETE, &at, &admin).await.unwrap().status(), 204);
    let (s, t) = call_json(M::GET, &at, &admin).await;
    assert_eq!((s, &t["active"]), (200, &serde_json::json!(false)));
    assert!(!d.token_works(&p.project_access_token.1));
    // The last human Owner of a group stays, even for an administrator.
    let g = d.add_group("solo");
    d.add_member(Source::Group(g), u, 50);
    assert_eq!(
        call(M::DELETE, &format!("groups/{g}/members/{u}"), &admin)
            .await
            .unwrap()
            .status(),
        403
    );
}

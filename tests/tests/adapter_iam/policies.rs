//! Policies: attached and inline ones removed and restored, the deny on older sessions, a case not
//! verified while a policy remains, and forged restores refused.

use super::*;

// --- policies, the deny on older sessions, and forged restores ---------------------------------

/// RFC 3986 percent-decoding: IAM returns policy documents URL-encoded.
fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The saved copy's name as docs/adapters.md documents it: `revoke-saved-<user>-<first 16 hex digits
/// of SHA-256 over user NUL policy NUL>` (computed here independently of the adapter).
fn saved_name(user: &str, policy: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in [user, policy] {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("revoke-saved-{user}-{hex}")
}

fn doc(run: &str, what: &str) -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["s3:GetObject"], "Resource": format!("arn:aws:s3:::{what}-{run}/*")}]})
}

impl Moto {
    async fn managed(&self, name: &str, document: &serde_json::Value) -> String {
        let p = self
            .iam
            .create_policy()
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .expect("create policy");
        p.policy().unwrap().arn().unwrap().to_string()
    }

    async fn attach(&self, user: &str, arn: &str) {
        self.iam
            .attach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await
            .expect("attach user policy");
    }

    async fn put_inline(&self, user: &str, name: &str, document: &serde_json::Value) {
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .expect("put user policy");
    }

    async fn attached(&self, user: &str) -> Vec<String> {
        let out = self
            .iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("list attached user policies");
        sorted(
            out.attached_policies()
                .iter()
                .map(|p| p.policy_arn().unwrap().to_string())
                .collect(),
        )
    }

    async fn inline_names(&self, user: &str) -> Vec<String> {
        let out = self
            .iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("list user policies");
        sorted(out.policy_names().to_vec())
    }

    async fn inline_doc(&self, user: &str, name: &str) -> Option<serde_json::Value> {
        match self
            .iam
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
        {
            Ok(o) => Some(serde_json::from_str(&pct_decode(o.policy_document())).unwrap()),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("get user policy: {e:?}"),
        }
    }

    /// The policies under /revoke/saved/ whose name is the copy of `user`'s `policy`: (arn, tags,
    /// default version's document, attachment count).
    async fn saved(
        &self,
        user: &str,
        policy: &str,
    ) -> Vec<(String, Vec<(String, String)>, serde_json::Value, i32)> {
        let want = saved_name(user, policy);
        let list = self
            .iam
            .list_policies()
            .path_prefix("/revoke/saved/")
            .max_items(1000)
            .send()
            .await
            .expect("list policies");
        let mut out = Vec::new();
        for p in list
            .policies()
            .iter()
            .filter(|p| p.policy_name() == Some(want.as_str()))
        {
            let arn = p.arn().unwrap().to_string();
            let tags = self
                .iam
                .list_policy_tags()
                .policy_arn(&arn)
                .send()
                .await
                .expect("list policy tags");
            let v = self
                .iam
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(p.default_version_id().unwrap())
                .send()
                .await
                .expect("get policy version");
            let d = pct_decode(v.policy_version().unwrap().document().unwrap());
            out.push((
                arn,
                tags.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                serde_json::from_str(&d).unwrap(),
                p.attachment_count().unwrap_or(0),
            ));
        }
        out
    }

    async fn tag_keys(&self, user: &str) -> Vec<String> {
        let t = self
            .iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .expect("list user tags");
        t.tags().iter().map(|t| t.key().to_string()).collect()
    }
}

/// The deny's `aws:TokenIssueTime` when the document is a deny on everything, else panics.
fn deny_time(d: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    let st = &d["Statement"][0];
    assert_eq!(st["Effect"], "Deny", "{d}");
    assert!(
        st["Action"] == "*" || st["Action"] == serde_json::json!(["*"]),
        "{d}"
    );
    assert!(
        st["Resource"] == "*" || st["Resource"] == serde_json::json!(["*"]),
        "{d}"
    );
    let t = st["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .expect("DateLessThan aws:TokenIssueTime");
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_removes_policies_denies_older_sessions_and_restores_them() {
    let (moto, run) = Moto::with_run().await;
    let (eve, bob) = (format!("eve-{run}"), format!("bob-{run}"));
    let g = format!("data-{run}");
    for u in [&eve, &bob] {
        moto.user(u, &[]).await;
    }
    let (key, _) = moto.key(&eve).await;
    moto.login_profile(&eve).await;
    moto.group(&g, &[&eve]).await;
    let managed = moto
        .managed(&format!("ro-{run}"), &doc(&run, "reports"))
        .await;
    let inline_doc = doc(&run, "payroll");
    for u in [&eve, &bob] {
        moto.attach(u, &managed).await;
        moto.put_inline(u, "payroll-read", &inline_doc).await;
    }
    let bob_before = (moto.attached(&bob).await, moto.inline_names(&bob).await);

    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let who = employee(&format!("E-{run}"), Some(&eve), None);
    let t0 = chrono::Utc::now();
    let first = revoke(&target, &who).await;
    assert_outcome(&first, Outcome::Revoked);
    assert!(
        first
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::Revoked && o.verified),
        "{:#?}",
        first.objects
    );
    assert_object_ids(
        &first,
        vec![
            (
                "managed_policy",
                false,
                vec![format!("managed_policy/{eve}/{managed}")],
            ),
            (
                "inline_policy",
                false,
                vec![format!("inline_policy/{eve}/payroll-read")],
            ),
            (
                "issued_sessions",
                false,
                vec![format!("issued_sessions/{eve}")],
            ),
        ],
    );
    let action = |kind: &str| {
        first
            .objects
            .iter()
            .find(|o| o.object_kind == kind)
            .unwrap()
            .action
            .clone()
    };
    assert_eq!(action("managed_policy"), "detach_policy");
    assert_eq!(action("inline_policy"), "delete_inline_policy");
    assert_eq!(action("issued_sessions"), "deny_older_sessions");
    // The deny goes on once the key and the password are off, before permissions are touched.
    let pos = |kind: &str| {
        first
            .objects
            .iter()
            .position(|o| o.object_kind == kind)
            .unwrap()
    };
    assert!(
        pos("access_key") < pos("issued_sessions") && pos("login_profile") < pos("issued_sessions")
    );
    assert!(pos("issued_sessions") < pos("group_membership"));
    // Evidence carries no policy document.
    let evidence = format!("{:?}", first.objects);
    assert!(
        !evidence.contains(&format!("payroll-{run}/")),
        "a document leaked into evidence"
    );

    // --- at moto -------------------------------------------------------------------------------
    let t1 = chrono::Utc::now();
    assert!(
        moto.attached(&eve).await.is_empty(),
        "managed policy still attached"
    );
    assert_eq!(
        moto.inline_names(&eve).await,
        vec!["AWSRevokeOlderSessions".to_string()]
    );
    let deny = moto
        .inline_doc(&eve, "AWSRevokeOlderSessions")
        .await
        .expect("deny policy");
    let before = deny_time(&deny);
    assert!(
        before >= t0 && before <= t1 + chrono::Duration::seconds(1),
        "{before} not in [{t0}, {t1}]"
    );
    let saved = moto.saved(&eve, "payroll-read").await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    let (saved_arn, tags, saved_doc, attachments) = &saved[0];
    assert!(saved_arn.contains(":policy/revoke/saved/"), "{saved_arn}");
    assert_eq!(saved_doc, &inline_doc);
    assert_eq!(*attachments, 0, "a saved copy is attached to nothing");
    assert!(
        tags.contains(&("revoke:user".into(), eve.clone())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("revoke:inline-policy".into(), "payroll-read".into())),
        "{tags:?}"
    );
    assert_eq!(
        (moto.attached(&bob).await, moto.inline_names(&bob).await),
        bob_before
    );

    // --- again: the deny is found (not renewed), nothing else to do ----------------------------
    let second = revoke(&target, &who).await;
    assert_outcome(&second, Outcome::AlreadyAbsent);
    assert_eq!(
        object_ids(&second, "issued_sessions", Some(false)),
        vec![format!("issued_sessions/{eve}")]
    );
    assert!(
        object_ids(&second, "inline_policy", Some(false)).is_empty(),
        "the deny is not an inline policy to delete"
    );
    assert!(
        second.objects.iter().all(|o| o.verified),
        "{:#?}",
        second.objects
    );
    assert_eq!(
        deny_time(
            &moto
                .inline_doc(&eve, "AWSRevokeOlderSessions")
                .await
                .unwrap()
        ),
        before
    );
    assert_eq!(moto.saved(&eve, "payroll-read").await.len(), 1);

    // The read-back is not fooled: a policy attached again shows as present.
    moto.attach(&eve, &managed).await;
    let h = holding(
        "managed_policy",
        &format!("managed_policy/{eve}/{managed}"),
        "detach_policy",
    );
    assert!(!target.verify(&who, &h).await.unwrap().gone);
    moto.iam
        .detach_user_policy()
        .user_name(&eve)
        .policy_arn(&managed)
        .send()
        .await
        .unwrap();
    assert!(target.verify(&who, &h).await.unwrap().gone);

    // --- restore (a rescind) from the first run's evidence, twice ------------------------------
    let restored = restore(&target, &who, &first.objects).await;
    // Each of the three kinds ended in `expected`.
    let assert_each = |r: &[revoke::restoration::RestoredObject], expected: RestoreOutcome| {
        for kind in ["managed_policy", "inline_policy", "issued_sessions"] {
            let outcome = r.iter().find(|o| o.object_kind == kind).map(|o| o.outcome);
            assert_eq!(outcome, Some(expected), "{kind}: {r:#?}");
        }
    };
    assert_each(&restored, RestoreOutcome::Restored);
    assert_eq!(moto.attached(&eve).await, vec![managed.clone()]);
    assert_eq!(
        moto.inline_names(&eve).await,
        vec!["payroll-read".to_string()],
        "deny lifted, policy back"
    );
    assert_eq!(
        moto.inline_doc(&eve, "payroll-read").await,
        Some(inline_doc.clone())
    );
    assert!(
        moto.saved(&eve, "payroll-read").await.is_empty(),
        "saved copy not cleaned"
    );
    assert!(
        moto.tag_keys(&eve)
            .await
            .iter()
            .all(|k| !k.starts_with("revoke:")),
        "{:?}",
        moto.tag_keys(&eve).await
    );
    let again = restore(&target, &who, &first.objects).await;
    assert_each(&again, RestoreOutcome::AlreadyPresent);
    assert_eq!(moto.attached(&eve).await, vec![managed.clone()]);
    assert_eq!(
        moto.inline_names(&eve).await,
        vec!["payroll-read".to_string()]
    );
    assert_eq!(
        (moto.attached(&bob).await, moto.inline_names(&bob).await),
        bob_before
    );
    let _ = key;
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_is_not_verified_until_every_policy_is_gone() {
    let (moto, run) = Moto::with_run().await;
    let fay = format!("fay-{run}");
    moto.user(&fay, &[]).await;
    moto.key(&fay).await;
    let managed = moto.managed(&format!("ops-{run}"), &doc(&run, "ops")).await;
    moto.attach(&fay, &managed).await;
    let inline_doc = doc(&run, "hr");
    moto.put_inline(&fay, "hr-read", &inline_doc).await;
    // Someone else's policy sits where the saved copy must go: the save cannot be proven ours,
    // so the inline policy must not be deleted.
    let squat = moto
        .iam
        .create_policy()
        .policy_name(saved_name(&fay, "hr-read"))
        .path("/revoke/saved/")
        .policy_document(doc(&run, "other").to_string())
        .tags(
            Tag::builder()
                .key("revoke:user")
                .value("mallory")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let squat_arn = squat.policy().unwrap().arn().unwrap().to_string();

    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let who = employee(&format!("E-{run}"), Some(&fay), None);
    let first = revoke(&target, &who).await;
    assert_outcome(&first, Outcome::Failed);
    let inline = first
        .objects
        .iter()
        .find(|o| o.object_kind == "inline_policy")
        .unwrap();
    assert!(
        !inline.verified && inline.outcome == ObjectOutcome::Failed,
        "{inline:?}"
    );
    assert!(
        inline
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("not tagged"),
        "{inline:?}"
    );
    assert_eq!(
        moto.inline_doc(&fay, "hr-read").await,
        Some(inline_doc.clone()),
        "deleted without a save"
    );
    assert!(moto.attached(&fay).await.is_empty());

    // The squatter is removed: the next run saves, deletes and proves everything.
    moto.iam
        .delete_policy()
        .policy_arn(&squat_arn)
        .send()
        .await
        .unwrap();
    let second = revoke(&target, &who).await;
    assert!(
        matches!(second.outcome, Outcome::Revoked),
        "{:?}\n{:#?}",
        second.error,
        second.objects
    );
    assert!(
        second.objects.iter().all(|o| o.verified),
        "{:#?}",
        second.objects
    );
    assert_eq!(
        moto.inline_names(&fay).await,
        vec!["AWSRevokeOlderSessions".to_string()]
    );
    assert_eq!(moto.saved(&fay, "hr-read").await[0].2, inline_doc);
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_refuses_forged_restores() {
    use revoke::adapters::RestoreResult;
    use revoke_shared::contract::ObjectEvidence;
    let (moto, run) = Moto::with_run().await;
    let (amy, ben) = (format!("amy-{run}"), format!("ben-{run}"));
    let admins = format!("admins-{run}");
    for u in [&amy, &ben] {
        moto.user(u, &[]).await;
    }
    moto.group(&admins, &[]).await;
    let (ben_key, _) = moto.key(&ben).await;
    moto.deactivate_key(&ben, &ben_key).await;
    let admin_policy = moto
        .managed(&format!("admin-{run}"), &doc(&run, "all"))
        .await;
    let before = (
        moto.footprint(&amy).await,
        moto.footprint(&ben).await,
        moto.attached(&amy).await,
        moto.inline_names(&amy).await,
    );

    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let who = employee(&format!("E-{run}"), Some(&amy), None);
    let forged = |kind: &str, id: String, action: &str| ObjectEvidence {
        read_back: "forged".into(),
        ..kit::revoked_evidence(kind, &id, action, "forged")
    };

    for ev in [
        forged(
            "group_membership",
            format!("group_membership/{admins}/{ben}"),
            "remove_membership",
        ),
        forged(
            "access_key",
            format!("access_key/{ben}/{ben_key}"),
            "deactivate",
        ),
        forged(
            "access_key",
            format!("access_key/{amy}/{ben_key}"),
            "deactivate",
        ),
        forged(
            "managed_policy",
            format!("managed_policy/{amy}/{admin_policy}"),
            "detach_policy",
        ),
        forged(
            "managed_policy",
            format!("managed_policy/{ben}/{admin_policy}"),
            "detach_policy",
        ),
        forged(
            "inline_policy",
            format!("inline_policy/{amy}/admin"),
            "delete_inline_policy",
        ),
        forged(
            "issued_sessions",
            format!("issued_sessions/{ben}"),
            "deny_older_sessions",
        ),
    ] {
        let r = target.restore(&who, &ev).await.unwrap();
        assert!(
            matches!(r, RestoreResult::Refused { .. }),
            "{}: {r:?}",
            ev.object_id
        );
    }
    let after = (
        moto.footprint(&amy).await,
        moto.footprint(&ben).await,
        moto.attached(&amy).await,
        moto.inline_names(&amy).await,
    );
    assert_eq!(after, before, "a forged restore changed something");
    assert_eq!(moto.keys(&ben).await, only(&ben_key, "Inactive"));
    assert!(moto.groups(&ben).await.is_empty() && moto.groups(&amy).await.is_empty());
}

//! Hand-made restore requests: dead-lettered with signing required, refused at the peers with
//! signing off.

use super::*;

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn forged_restore_requests_are_dead_lettered_with_signing_required() {
    let (_serial, mut env) = real_broker("restores-signed");
    let dir = require_signing(&mut env);
    env.block_on(async {
        let (run, p, peers, cfg, _metrics, components) = start(&env).await;

        let (_, c1, t1_case) = close_signed(&env, &cfg, &run, &p, 1).await;
        let objects = t1_case.targets[&TargetKind::Directory].objects.clone();
        // The directory worker's real report of T1 (its signature travels in a header only).
        let report: Confirmation = env
            .read_json::<Confirmation>(&cfg.topics.confirmations)
            .await
            .into_iter()
            .find(|c| c.identity_id == p.employee_id && c.target.kind == TargetKind::Directory)
            .expect("the directory worker's report of T1");

        // (1) no fleet envelope at all; (2) the fleet's envelope but no report of the
        // revocation; (3) the fleet's envelope and the real report under a made-up signature.
        let fleet = Secret::new(FLEET_SECRET);
        let bare = forged_request(&p, c1, TargetKind::Directory, objects.clone());
        let no_report = forged_request(&p, c1, TargetKind::Directory, objects.clone());
        let mut made_up = forged_request(&p, c1, TargetKind::Directory, objects.clone());
        made_up.confirmation = Some(report);
        made_up.confirmation_signature = Some(format!("hmac-sha256={}", "ab".repeat(32)));
        // (4) the worker's real signed report with its real signature, one object added (as if
        // the revocation had taken someone else's membership too): the signature no longer fits.
        let (mut grown, real_sig) = t1_case.targets[&TargetKind::Directory]
            .signed_report(&t1_case.identity_id, TargetKind::Directory)
            .expect("the case keeps the directory worker's signed report");
        let mut extra = objects[0].clone();
        extra.object_id = format!("{}-someone-else", extra.object_id);
        grown.objects.push(extra.clone());
        let mut padded = forged_request(
            &p,
            c1,
            TargetKind::Directory,
            [objects.clone(), vec![extra]].concat(),
        );
        padded.confirmation = Some(grown);
        padded.confirmation_signature = Some(real_sig);
        for (req, enveloped) in [
            (&bare, false),
            (&no_report, true),
            (&made_up, true),
            (&padded, true),
        ] {
            let bytes = serde_json::to_vec(req).unwrap();
            let sig = revoke_shared::signing::fleet_signature(
                &fleet,
                &cfg.topics.restores,
                p.employee_id.as_bytes(),
                &bytes,
                &[],
            );
            let headers: Vec<(&str, &str)> = if enveloped {
                vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, sig.as_str())]
            } else {
                Vec::new()
            };
            env.publish_raw_to(&cfg.topics.restores, Some(&p.employee_id), &bytes, &headers)
                .await;
        }
        let group = revoke::worker::group_for(&cfg, TargetKind::Directory);
        let deadline = Instant::now() + SETTLE;
        // (5) restore reports on the confirmations topic that no worker wrote: unsigned, and
        // signed with another secret. The verifier must not record either in the case.
        let fake = |instance: &str| RestoreReport {
            schema: revoke_shared::contract::RESTORE_REPORT_SCHEMA.into(),
            request_id: uuid::Uuid::new_v4(),
            case_id: c1,
            identity_id: p.employee_id.clone(),
            target: revoke_shared::contract::TargetRef {
                kind: TargetKind::Directory,
                instance: instance.into(),
            },
            objects: Vec::new(),
            worker: t1_case.targets[&TargetKind::Directory]
                .worker
                .as_deref()
                .cloned()
                .expect("the worker of T1"),
            started_at: chrono::Utc::now(),
            finished_at: chrono::Utc::now(),
        };
        let (unsigned_report, other_key_report) = (fake("forged"), fake("forged-too"));
        for (r, secret) in [
            (&unsigned_report, None),
            (&other_key_report, Some("not-the-fleet")),
        ] {
            let bytes = serde_json::to_vec(r).unwrap();
            let sig = secret.map(|s| {
                revoke_shared::signing::fleet_signature(
                    &Secret::new(s),
                    &cfg.topics.confirmations,
                    p.employee_id.as_bytes(),
                    &bytes,
                    &[],
                )
            });
            let headers: Vec<(&str, &str)> = sig
                .as_deref()
                .map(|s| vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, s)])
                .unwrap_or_default();
            env.publish_raw_to(
                &cfg.topics.confirmations,
                Some(&p.employee_id),
                &bytes,
                &headers,
            )
            .await;
        }
        let verifier_group = revoke::verifier::group(&cfg);
        let (mut r_bare, mut r_none, mut r_made, mut r_padded) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut r_unsigned_report, mut r_other_key) = (Vec::new(), Vec::new());
        while Instant::now() < deadline {
            let all: Vec<DeadLetter> = env.read_json(&cfg.topics.dlq).await;
            r_bare = letters_for(&all, &group, bare.request_id);
            r_none = letters_for(&all, &group, no_report.request_id);
            r_made = letters_for(&all, &group, made_up.request_id);
            r_padded = letters_for(&all, &group, padded.request_id);
            r_unsigned_report = letters_for(&all, &verifier_group, unsigned_report.request_id);
            r_other_key = letters_for(&all, &verifier_group, other_key_report.request_id);
            if [
                &r_bare,
                &r_none,
                &r_made,
                &r_padded,
                &r_unsigned_report,
                &r_other_key,
            ]
            .iter()
            .all(|r| !r.is_empty())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(r_bare, vec!["unsigned".to_string()], "no envelope");
        assert_eq!(
            r_none,
            vec!["restore_not_ours".to_string()],
            "no signed report"
        );
        assert_eq!(
            r_made,
            vec!["restore_not_ours".to_string()],
            "made-up report signature"
        );
        assert_eq!(
            r_padded,
            vec!["restore_not_ours".to_string()],
            "a real signed report with an object added"
        );
        assert_eq!(r_unsigned_report, vec!["unsigned".to_string()]);
        assert_eq!(r_other_key, vec!["bad_signature".to_string()]);
        assert!(
            env.case_log().await.latest[&c1].restored.is_empty(),
            "a forged restore report was recorded"
        );
        // Nothing came back at slapd: still locked, out of its groups, cannot bind.
        tokio::time::sleep(Duration::from_secs(2)).await;
        peers
            .check_evidence(TargetKind::Directory, &p, &objects)
            .await;
        let dn = person_dn(&p, &objects);
        assert!(
            !slapd::binds(&dn, &format!("pw-{}", p.employee_id)).await,
            "{dn} binds"
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn forged_restore_requests_for_other_people_are_refused_at_the_peers_with_signing_off() {
    let (_serial, env) = real_broker("restores-refused");
    env.block_on(async {
        let (run, p, peers, cfg, _metrics, components) = start(&env).await;
        assert!(!cfg.signing.required);

        let t1 = termination(&run, &p, 1);
        let c1 = publish_until_closed(&env, &t1, "T1 closes").await;
        let case = env.case_log().await.latest[&c1].clone();
        let evidence = |kind: TargetKind| case.targets[&kind].objects.clone();

        // Mallory holds nothing where P was: not in P's LDAP group, no IAM group, no GitLab group.
        let mallory = format!("mallory-{run}");
        let dir_obj = evidence(TargetKind::Directory)
            .into_iter()
            .find(|o| o.object_kind == "group_membership" && o.object_id.starts_with("member|"))
            .expect("P's LDAP member value in the evidence");
        let group_dn = dir_obj.object_id.split('|').nth(1).unwrap().to_string();
        let base = std::env::var("REVOKE_TEST_LDAP_BASE_DN").unwrap();
        let mallory_dn = format!("uid={mallory},ou=people,ou=e2e-{run},{base}");
        let mut ldap_forged = dir_obj.clone();
        ldap_forged.object_id = format!("member|{group_dn}|{mallory_dn}");

        let iam = iam_client();
        iam.create_user()
            .user_name(&mallory)
            .send()
            .await
            .expect("create mallory");
        let iam_obj = evidence(TargetKind::Cloud)
            .into_iter()
            .find(|o| o.object_kind == "group_membership")
            .expect("P's IAM group membership in the evidence");
        let iam_group = iam_obj.object_id.split('/').nth(1).unwrap().to_string();
        let mut iam_forged = iam_obj.clone();
        iam_forged.object_id = format!("group_membership/{iam_group}/{mallory}");

        let gitlab = peers.cicd().double();
        let mallory_id = gitlab.add_user(&mallory, &format!("{mallory}@example.org"));
        let gl_obj = evidence(TargetKind::Cicd)
            .into_iter()
            .find(|o| o.object_id.starts_with("groups/") && o.object_id.contains("/members/"))
            .expect("P's GitLab group membership in the evidence");
        let gid = gl_obj.object_id.split('/').nth(1).unwrap().to_string();
        let mut gl_forged = gl_obj.clone();
        gl_forged.object_id = format!("groups/{gid}/members/{mallory_id}@50");

        let requests = [
            forged_request(&p, c1, TargetKind::Directory, vec![ldap_forged]),
            forged_request(&p, c1, TargetKind::Cloud, vec![iam_forged]),
            forged_request(&p, c1, TargetKind::Cicd, vec![gl_forged]),
        ];
        for req in &requests {
            let bytes = serde_json::to_vec(req).unwrap();
            env.publish_raw_to(&cfg.topics.restores, Some(&p.employee_id), &bytes, &[])
                .await;
        }
        // Each worker answers with a restore report whose object is refused.
        let deadline = Instant::now() + SETTLE;
        let mut reports: Vec<RestoreReport> = Vec::new();
        while Instant::now() < deadline {
            reports = records(&env, &cfg.topics.confirmations)
                .await
                .into_iter()
                .filter(|v| {
                    requests
                        .iter()
                        .any(|r| v["request_id"] == r.request_id.to_string())
                })
                .map(|v| serde_json::from_value(v).expect("a restore report"))
                .collect();
            if reports.len() == requests.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            reports.len(),
            requests.len(),
            "restore reports: {reports:?}"
        );
        for r in &reports {
            assert_eq!(r.objects.len(), 1, "{r:?}");
            assert_eq!(
                r.objects[0].outcome,
                RestoreOutcome::Refused,
                "{}: {}",
                r.target.kind,
                r.objects[0].describe()
            );
            assert!(r.objects[0].restored_at.is_none());
        }

        // At the peers: mallory was added nowhere.
        let members = ldap_members(&group_dn).await;
        assert!(
            !members.contains(&mallory_dn.to_lowercase()),
            "{mallory_dn} added to {group_dn}: {members:?}"
        );
        assert!(
            revoke_tests::moto::group_names(&iam, &mallory)
                .await
                .is_empty(),
            "{mallory} in an IAM group"
        );
        let (status, _) =
            gitlab_get(gitlab.url(), &format!("groups/{gid}/members/{mallory_id}")).await;
        assert_eq!(status, 404, "{mallory} is a member of GitLab group {gid}");
        // And P's own access stayed revoked.
        for kind in [TargetKind::Directory, TargetKind::Cloud, TargetKind::Cicd] {
            peers.check_evidence(kind, &p, &evidence(kind)).await;
        }

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

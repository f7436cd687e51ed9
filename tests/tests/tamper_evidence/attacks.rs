//! An honest history verifies; an altered, removed or reordered version — on the topic or in an
//! exported packet — is named.

use super::*;

/// Copies `versions` (raw records) to partition 0 of `topic` in the given order: an attacker
/// with admin rights rewriting a case's history.
async fn rewrite(env: &TestEnv, topic: &str, id: &str, versions: &[&ReadRecord]) {
    env.create_cases_like_topic(topic).await;
    let producer = revoke_shared::kafka::Producer::with_timeout(&env.cfg, WAIT).expect("producer");
    for r in versions {
        producer
            .send_bytes(topic, id, r.payload.as_deref().unwrap(), &[], Some(0))
            .await
            .expect("copy a version");
    }
}

#[test]
fn an_honest_history_verifies_and_altered_removed_reordered_versions_are_named() {
    let dir = TempDir::new("attacks");
    let env = evidence_env("tamper-attacks", &dir.0, SEED_A);
    env.block_on(async {
        let fleet = start_fleet(&env.cfg).await;
        let events = close_leavers(&env, 3).await;
        let ids: Vec<String> = case_ids(&events).iter().map(|u| u.to_string()).collect();
        let cases = &env.cfg.topics.cases;

        // Where it lands: every version chained and signed; every worker's confirmation signed.
        for id in &ids {
            assert_chained_and_signed(&raw_versions(&env, cases, id).await, SEED_A);
        }
        let confirmations = env.read_raw(&env.cfg.topics.confirmations).await;
        assert!(confirmations.len() >= 15, "5 targets x 3 leavers");
        for r in &confirmations {
            assert_eq!(json(r)["signature"]["signer"], "worker", "{}", json(r));
        }

        // The honest history verifies, through the binary.
        let cfg = env.cfg.clone();
        let first = ids[0].clone();
        let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["case", &first, "--verify"]))
            .await
            .unwrap();
        says(
            &out,
            0,
            &[
                "OK",
                "signed by the verifier",
                "worker reports: 5 verified",
                "evidence verified",
            ],
        );
        let cfg = env.cfg.clone();
        let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["report", "--verify"]))
            .await
            .unwrap();
        says(&out, 0, &["evidence verified: 3 cases"]);

        // (a) One byte of a version altered and re-published on the cases topic.
        let a = &ids[0];
        let versions = raw_versions(&env, cases, a).await;
        let original = versions[1].payload.clone().unwrap();
        let mut forged = original.clone();
        let at = String::from_utf8_lossy(&original)
            .find("\"identity_id\":\"")
            .expect("identity_id in the record")
            + "\"identity_id\":\"".len();
        forged[at] = if forged[at] == b'X' { b'Y' } else { b'X' };
        let producer =
            revoke_shared::kafka::Producer::with_timeout(&env.cfg, WAIT).expect("producer");
        let (p, offset) = producer
            .send_bytes(cases, a, &forged, &[], Some(versions[1].partition))
            .await
            .unwrap();
        let cfg = env.cfg.clone();
        let a2 = a.clone();
        let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["case", &a2, "--verify"]))
            .await
            .unwrap();
        says(
            &out,
            1,
            &[
                "FAILED",
                "ALTERED",
                &format!("{cases}/{p}@{offset}"),
                "does not match",
            ],
        );
        // The report shows each case's check in its rows (every format), and fails as a whole.
        let cfg = env.cfg.clone();
        let out = tokio::task::spawn_blocking(move || {
            revoke(&cfg, &["report", "--verify", "--format", "json"])
        })
        .await
        .unwrap();
        says(&out, 1, &["evidence check FAILED for 1 case"]);
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).expect("the JSON report on stdout");
        assert_eq!(rows.len(), ids.len());
        for row in &rows {
            let check = row["evidence_check"].as_str().expect("every row checked");
            if row["case_id"] == a.as_str() {
                assert!(check.starts_with("FAILED: altered"), "{check}");
            } else {
                assert!(check.starts_with("verified: "), "{check}");
            }
        }

        // (b) A version removed, (c) two swapped: the history rewritten into a fresh topic.
        let b = &ids[1];
        let versions = raw_versions(&env, cases, b).await;
        assert!(versions.len() >= 4, "{} versions", versions.len());
        let dropped = format!("{cases}.rewritten-drop");
        let without: Vec<&ReadRecord> = versions
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, r)| r)
            .collect();
        rewrite(&env, &dropped, b, &without).await;
        let swapped = format!("{cases}.rewritten-swap");
        let mut order: Vec<&ReadRecord> = versions.iter().collect();
        order.swap(1, 2);
        rewrite(&env, &swapped, b, &order).await;
        for (topic, needles) in [
            (dropped, vec!["REMOVED", "revision 3 is missing"]),
            (
                swapped,
                vec!["REORDERED", "revision 2 comes after revision 3"],
            ),
        ] {
            let mut cfg = env.cfg.clone();
            cfg.topics.cases = topic;
            let b = b.clone();
            let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["case", &b, "--verify"]))
                .await
                .unwrap();
            let mut all = vec!["FAILED"];
            all.extend(needles);
            says(&out, 1, &all);
        }

        // (d) The packet: exported, verified offline, then edited.
        let c = ids[2].clone();
        let packet = dir.0.join("packet.json");
        let keys = dir.0.join("pinned-keys.json");
        let cfg = env.cfg.clone();
        let (pk, kf) = (packet.clone(), keys.clone());
        let out = tokio::task::spawn_blocking(move || {
            revoke(
                &cfg,
                &["evidence", "export", &c, "--out", pk.to_str().unwrap()],
            )
        })
        .await
        .unwrap();
        says(&out, 0, &["wrote the evidence packet", "5 reports"]);
        let p: Value = serde_json::from_str(&std::fs::read_to_string(&packet).unwrap()).unwrap();
        assert_eq!(p["schema"], "revoke.evidence_packet.v1");
        // The auditor's pinned keys: the published ones, written independently of the packet.
        let published: Vec<Value> = ["verifier", "worker"]
            .iter()
            .map(|role| {
                let k = RecordSigner::from_seed(*role, &SEED_A);
                serde_json::json!({"owner": "fleet", "signer": role, "roles": [role],
                    "key_id": k.key_id(), "public_key": k.public_key_text()})
            })
            .collect();
        std::fs::write(&kf, serde_json::to_string(&published).unwrap()).unwrap();
        let verify = |file: PathBuf, pinned: bool| {
            let kf = kf.clone();
            tokio::task::spawn_blocking(move || {
                let mut args = vec![
                    "evidence".to_string(),
                    "verify".into(),
                    file.display().to_string(),
                ];
                if pinned {
                    args.extend(["--keys".into(), kf.display().to_string()]);
                }
                revoke_offline(&args.iter().map(String::as_str).collect::<Vec<_>>())
            })
        };
        says(
            &verify(packet.clone(), false).await.unwrap(),
            0,
            &[
                "OK",
                "NOT that they are the fleet's",
                "evidence packet verified",
            ],
        );
        says(
            &verify(packet.clone(), true).await.unwrap(),
            0,
            &["only the pinned public keys", "evidence packet verified"],
        );
        let edited = |f: &dyn Fn(&mut Value), name: &str| {
            let mut v = p.clone();
            f(&mut v);
            let file = dir.0.join(name);
            std::fs::write(&file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
            file
        };
        let second = p["versions"][1]["offset"].as_i64().unwrap();
        let byte = edited(
            &|v| {
                let s = v["versions"][1]["record"]["identity_id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let mut b = s.into_bytes();
                let last = b.len() - 1;
                b[last] ^= 1;
                v["versions"][1]["record"]["identity_id"] =
                    Value::from(String::from_utf8(b).unwrap());
            },
            "byte.json",
        );
        says(
            &verify(byte, true).await.unwrap(),
            1,
            &["ALTERED", &format!("@{second}"), "FAILED verification"],
        );
        let removed = edited(
            &|v| {
                v["versions"].as_array_mut().unwrap().remove(2);
            },
            "removed.json",
        );
        says(
            &verify(removed, true).await.unwrap(),
            1,
            &["REMOVED", "revision 3 is missing"],
        );
        let swapped = edited(
            &|v| {
                v["versions"].as_array_mut().unwrap().swap(1, 2);
            },
            "swapped.json",
        );
        says(&verify(swapped, true).await.unwrap(), 1, &["REORDERED"]);
        fleet.stop().await.expect("fleet stops cleanly");
    });
}

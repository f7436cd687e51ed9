//! Key rotation: the fleet moves from key A to key B (A retired); everything A signed and
//! everything B signs verifies; without A listed, A's records fail; the verifier refuses
//! worker confirmations signed with the retired key or one nobody listed, or altered since signed;
//! a verifier or worker given the retired key or an unlisted one does not start (exit 2).

use super::*;
use revoke_shared::contract::{Confirmation, DeadLetter};

/// A worker's confirmation from the topic, re-signed by `seed` as a worker (a stolen old key or
/// a stranger's) and sent again with a new id.
fn resigned(original: &Confirmation, seed: [u8; 32]) -> Vec<u8> {
    let mut c = original.clone();
    c.confirmation_id = uuid::Uuid::new_v4();
    c.signature = None;
    let signer = RecordSigner::from_seed("worker", &seed);
    c.signature = revoke::evidence::signature_over(&signer, &c);
    serde_json::to_vec(&c).unwrap()
}

#[test]
fn records_of_a_retired_key_and_of_its_successor_verify_and_unlisted_keys_fail() {
    let dir = TempDir::new("rotation");
    let mut env = evidence_env("tamper-rotation", &dir.0, SEED_A);
    let before: Vec<String> = env.block_on(async {
        let fleet = start_fleet(&env.cfg).await;
        let ids = case_ids(&close_leavers(&env, 2).await)
            .iter()
            .map(|u| u.to_string())
            .collect();
        fleet.stop().await.expect("fleet stops");
        ids
    });
    // Rotation: B added, the fleet switched to it, A retired (kept: its records are kept).
    let seed_file = dir.0.join("evidence-b.key");
    std::fs::write(
        &seed_file,
        SEED_B
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
    .unwrap();
    env.cfg.signing.evidence_key_file = Some(seed_file.display().to_string());
    env.cfg.signing.evidence_keys = [listed(SEED_A, true), listed(SEED_B, false)].concat();
    env.block_on(async {
        let fleet = start_fleet(&env.cfg).await;
        let after: Vec<String> = case_ids(&close_leavers(&env, 2).await)
            .iter()
            .map(|u| u.to_string())
            .collect();
        let cases = &env.cfg.topics.cases;
        for id in &before {
            assert_chained_and_signed(&raw_versions(&env, cases, id).await, SEED_A);
        }
        for id in &after {
            assert_chained_and_signed(&raw_versions(&env, cases, id).await, SEED_B);
        }
        let cfg = env.cfg.clone();
        let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["report", "--verify"]))
            .await
            .unwrap();
        says(&out, 0, &["evidence verified: 4 cases"]);

        // A removed from the list: what it signed is named, with the key.
        let mut only_b = env.cfg.clone();
        only_b.signing.evidence_keys = listed(SEED_B, false);
        let a_id = RecordSigner::from_seed("x", &SEED_A).key_id().to_string();
        let first = before[0].clone();
        let out =
            tokio::task::spawn_blocking(move || revoke(&only_b, &["case", &first, "--verify"]))
                .await
                .unwrap();
        says(&out, 1, &["FORGED", &a_id, "not a listed verifier key"]);

        // Confirmations signed with the retired key, or a key nobody listed: refused by the
        // verifier (DLQ with the reason), the case unchanged.
        let confs: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        let target_of = after[0].clone();
        let original = confs
            .iter()
            .find(|c| c.case_id.to_string() == target_of)
            .expect("a confirmation of a case closed after the rotation");
        let revision = raw_versions(&env, cases, &target_of).await.len();
        for seed in [SEED_A, [0xc3; 32]] {
            env.publish_raw_to(
                &env.cfg.topics.confirmations,
                Some(&original.identity_id),
                &resigned(original, seed),
                &[],
            )
            .await;
        }
        // The genuine worker's report with what it says changed, its signature kept.
        let mut altered = original.clone();
        altered.confirmation_id = uuid::Uuid::new_v4();
        altered.objects.clear();
        env.publish_raw_to(
            &env.cfg.topics.confirmations,
            Some(&original.identity_id),
            &serde_json::to_vec(&altered).unwrap(),
            &[],
        )
        .await;
        let dead: Vec<DeadLetter> = env.dead_letters(3).await;
        let reasons: Vec<&str> = dead.iter().map(|d| d.reason.as_str()).collect();
        assert!(
            reasons.contains(&"confirmation_bad_signature"),
            "{reasons:?}"
        );
        assert!(reasons.contains(&"confirmation_retired_key"), "{reasons:?}");
        assert!(reasons.contains(&"confirmation_unknown_key"), "{reasons:?}");
        assert_eq!(
            raw_versions(&env, cases, &target_of).await.len(),
            revision,
            "a refused confirmation publishes no version"
        );
        fleet.stop().await.expect("fleet stops");
    });
    // The retired key, or one nobody listed, cannot start a verifier or a worker (exit 2).
    let stranger = dir.0.join("stranger.key");
    std::fs::write(&stranger, "c3".repeat(32)).unwrap();
    let retired = dir.0.join("evidence.key"); // key A, written by `use_evidence_key`
    for (file, says_why) in [(retired, "retired"), (stranger, "not listed")] {
        for process in [&["verifier"][..], &["worker", "--target", "vault"][..]] {
            let out = std::process::Command::new(revoke_tests::procs::revoke_bin())
                .args(process)
                .env_remove("REVOKE_CONFIG")
                .env("KAFKA_BROKERS", &env.cfg.kafka.brokers)
                .env("REVOKE_SIGNING__EVIDENCE_KEY_FILE", &file)
                .env(
                    "REVOKE_SIGNING__EVIDENCE_KEYS",
                    keys_env(&env.cfg.signing.evidence_keys),
                )
                .env("REVOKE_METRICS__LISTEN", "")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run revoke");
            says(&out, 2, &[says_why, "evidence_key"]);
            assert!(
                !text(&out).contains(&"c3".repeat(32)),
                "the private key never shows"
            );
        }
    }
}

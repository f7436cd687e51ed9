//! Approvals of a held batch: forged ones leave it held, the signed one releases it.

use super::*;
use revoke::cli::guard::{decide, read_guard, DecideArgs};
use revoke::cli::person_key::PersonKeyArgs;
use revoke::fleet::Process;
use revoke_shared::contract::{
    Authenticity, BatchDecision, Decision, GuardEntry, GuardRecord, TargetKind, TargetState,
};
use revoke_shared::signing::{check_decision, person_key, record_digest, verify_record};
use revoke_tests::fleet_kit::{simulated_fleet, wait_all_in};

pub(super) fn approve_args(batch: &str, by: &str, digest: &str, key: PathBuf) -> DecideArgs {
    DecideArgs {
        batch: batch.into(),
        by: by.into(),
        note: Some("checked with HR".into()),
        digest: Some(digest.into()),
        only: Vec::new(),
        except: Vec::new(),
        key: PersonKeyArgs {
            key_file: Some(key),
        },
    }
}

/// The undecided batch holding `case`: (id, digest, its undecided case ids).
pub(super) async fn held_batch(
    env: &TestEnv,
    case: uuid::Uuid,
) -> (String, String, Vec<uuid::Uuid>) {
    let cfg = env.cfg.clone();
    let guard = tokio::task::spawn_blocking(move || read_guard(&cfg))
        .await
        .unwrap()
        .expect("read the guard log");
    let b = guard
        .batches()
        .iter()
        .find(|b| !b.is_decided() && b.undecided().any(|(id, _)| *id == case))
        .unwrap_or_else(|| panic!("no undecided batch holds case {case}"));
    (
        b.id.clone(),
        b.digest(),
        b.undecided().map(|(id, _)| *id).collect(),
    )
}

/// The decision records on the guard log, as logged (raw bytes).
async fn logged_decisions(env: &TestEnv, batch: &str) -> Vec<Vec<u8>> {
    payloads(env, &env.cfg.topics.guard)
        .await
        .into_iter()
        .filter(|p| {
            serde_json::from_slice::<GuardRecord>(p)
                .is_ok_and(|r| matches!(&r.entry, GuardEntry::Decision(d) if d.batch == batch))
        })
        .collect()
}

#[test]
fn forged_approvals_leave_the_batch_held_and_only_the_signed_one_releases_it() {
    let (mut env, keys) = signed_env("signed-approvals");
    // The second leaver within the window is held for a person.
    env.cfg.verifier.guard.max_terminations = 1;
    env.block_on(async {
        let (fleet, metrics, health) = simulated_fleet(&env.cfg, WAIT).await;
        // A second verifier instance: both read the whole guard log and skip each forgery;
        // each forgery is dead-lettered once all the same.
        let second = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        let guard_topic = env.cfg.topics.guard.clone();
        let evs = leavers(&env, 3);
        let ids: Vec<uuid::Uuid> = evs.iter().map(case_of).collect();

        // The first leaver is released and closes; the second is held in batch A.
        publish(&env, &evs[..1]).await;
        let log = wait_all_in(&env, WAIT, &ids[..1], CaseState::Closed).await;
        assert_eq!(state_of(&log, &ids[0]), Some(CaseState::Closed));
        publish(&env, &evs[1..2]).await;
        let log = wait_all_in(&env, WAIT, &ids[1..2], CaseState::Held).await;
        assert_eq!(state_of(&log, &ids[1]), Some(CaseState::Held));
        // Alice approves batch A, signed: it is released (and her record is what a replay
        // will re-send later).
        let (batch_a, digest_a, _) = held_batch(&env, ids[1]).await;
        let alice_key = keys.key_file("alice", &ALICE);
        decide(
            &env.cfg,
            &approve_args(&batch_a, "alice", &digest_a, alice_key.clone()),
            Decision::Approve,
            print,
        )
        .await
        .expect("alice's signed approval counts");
        let log = wait_all_in(&env, WAIT, &ids[1..2], CaseState::Closed).await;
        assert_eq!(state_of(&log, &ids[1]), Some(CaseState::Closed));
        let genuine_a = logged_decisions(&env, &batch_a).await;
        assert_eq!(genuine_a.len(), 1);

        // The third leaver is held in a new batch B.
        publish(&env, &evs[2..3]).await;
        let log = wait_all_in(&env, WAIT, &ids[2..3], CaseState::Held).await;
        assert_eq!(state_of(&log, &ids[2]), Some(CaseState::Held));
        let held_identity = log.latest[&ids[2]].identity_id.clone();
        let (batch_b, digest_b, cases_b) = held_batch(&env, ids[2]).await;
        assert_ne!(batch_a, batch_b);
        assert_eq!(cases_b, vec![ids[2]]);
        let approval = |by: &str, note: &str| {
            GuardRecord::decision(BatchDecision {
                batch: batch_b.clone(),
                decision: Decision::Approve,
                by: by.into(),
                at: chrono::Utc::now(),
                note: Some(note.into()),
                digest: Some(digest_b.clone()),
                cases: Some(cases_b.clone()),
            })
        };
        let signed_as = |signer: &str, seed: &[u8; 32], record: &GuardRecord| {
            let v = RecordSigner::from_seed(signer, seed).sign(record).unwrap();
            serde_json::to_vec(&v).unwrap()
        };
        // Alice's genuine approval of B, then one byte of its note changed.
        let mut altered = signed_as("alice", &ALICE, &approval("alice", "approved-1"));
        let at = altered
            .windows(10)
            .position(|w| w == b"approved-1")
            .unwrap();
        altered[at + 9] = b'2';
        let forgeries: Vec<(&str, Vec<u8>)> = vec![
            (
                "decision_unsigned",
                serde_json::to_vec(&approval("alice", "unsigned")).unwrap(),
            ),
            (
                // A key nobody has, claiming to be alice's.
                "decision_bad_signature",
                signed_as("alice", &MALLORY, &approval("alice", "unknown key")),
            ),
            (
                "decision_unknown_person",
                signed_as("mallory", &MALLORY, &approval("mallory", "not listed")),
            ),
            (
                // Carol attests; she may not approve.
                "decision_without_role",
                signed_as("carol", &CAROL, &approval("carol", "no role")),
            ),
            (
                // Alice signs, in bob's name.
                "decision_not_theirs",
                signed_as("alice", &ALICE, &approval("bob", "in bob's name")),
            ),
            (
                "decision_retired_key",
                signed_as("alice", &ALICE_OLD, &approval("alice", "retired key")),
            ),
            ("decision_bad_signature", altered),
        ];
        for (_, bytes) in &forgeries {
            inject(&env, &guard_topic, &batch_b, bytes, Some(0)).await;
        }
        // A replay of alice's genuine approval of batch A, byte for byte.
        inject(&env, &guard_topic, &batch_b, &genuine_a[0], Some(0)).await;
        // A decision whose signature is not even of the right shape: nobody can read it.
        let garbled = serde_json::to_vec(&serde_json::json!({
            "schema": "revoke.guard.v1", "kind": "decision", "batch": batch_b, "decision": "approve",
            "by": "alice", "at": chrono::Utc::now(), "cases": cases_b, "signature": 5
        }))
        .unwrap();
        inject(&env, &guard_topic, &batch_b, &garbled, Some(0)).await;

        // Each forgery is dead-lettered once (two verifier instances read the log), by the
        // refusals group, with its reason and the record byte for byte; the replay is absorbed.
        let letters = wait_letters(&env, &guard_topic, forgeries.len() + 1).await;
        let mut want: Vec<&str> = forgeries.iter().map(|(r, _)| *r).collect();
        want.push("malformed_guard_record");
        assert_eq!(reasons(&letters), sorted(&want), "{letters:#?}");
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        for (reason, bytes) in &forgeries {
            let encoded = b64.encode(bytes);
            let mine: Vec<&DeadLetter> = letters
                .iter()
                .filter(|l| l.payload_base64.as_deref() == Some(encoded.as_str()))
                .collect();
            assert_eq!(mine.len(), 1, "{reason}: dead-lettered once, byte for byte");
            let l = mine[0];
            assert_eq!(l.reason, *reason);
            assert_eq!(
                l.rejected_by,
                revoke::verifier::shell::decision_refusals_group(&env.cfg)
            );
            assert!(
                l.detail.contains(&batch_b) && l.detail.contains("stays held"),
                "{}",
                l.detail
            );
        }

        // Where it lands: the case is still held on the cases topic, untouched; nothing for
        // it reached the due topic or any target; the batch still waits with the same digest.
        let log = env.case_log().await;
        let c = &log.latest[&ids[2]];
        assert_eq!(c.state, CaseState::Held);
        assert!(c.guard.as_ref().unwrap().decided_by.is_none());
        assert!(c.targets.values().all(|t| t.state == TargetState::Pending));
        assert!(
            !due_names(&env, &held_identity).await,
            "a forgery released the case"
        );
        for kind in TargetKind::ALL {
            assert!(fleet.simulators[&kind]
                .actions_for(&held_identity)
                .is_empty());
        }
        let (still, digest_now, _) = held_batch(&env, ids[2]).await;
        assert_eq!(
            (still.as_str(), digest_now.as_str()),
            (batch_b.as_str(), digest_b.as_str())
        );

        // Bob's key named as alice's on the command line is refused before anything is sent.
        let wrong_key = keys.key_file("bob", &BOB);
        let e = decide(
            &env.cfg,
            &approve_args(&batch_b, "alice", &digest_b, wrong_key),
            Decision::Approve,
            print,
        )
        .await
        .unwrap_err();
        assert!(e.is_usage(), "{e}");

        // Alice's signed approval releases it; the case says so, authenticated, with the
        // signature and the digest of the record as logged.
        decide(
            &env.cfg,
            &approve_args(&batch_b, "alice", &digest_b, alice_key),
            Decision::Approve,
            print,
        )
        .await
        .expect("alice's signed approval counts");
        let log = wait_all_in(&env, WAIT, &ids[2..3], CaseState::Closed).await;
        let c = &log.latest[&ids[2]];
        assert_eq!(c.state, CaseState::Closed);
        let g = c.guard.as_ref().unwrap();
        assert_eq!(g.decision, Some(Decision::Approve));
        assert_eq!(g.decided_by.as_deref(), Some("alice"));
        assert_eq!(g.decided_authenticity, Some(Authenticity::Authenticated));
        let logged: Vec<serde_json::Value> = logged_decisions(&env, &batch_b)
            .await
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap())
            .filter(|v| g.decision_digest.as_deref() == Some(record_digest(v).as_str()))
            .collect();
        assert_eq!(
            logged.len(),
            1,
            "the case's digest finds its decision on the log"
        );
        let sig = g.decision_signature.as_deref().unwrap();
        assert_eq!(Some(sig), logged[0]["signature"].as_object().map(|_| sig));
        // Offline: the record verifies with alice's published key alone.
        let people = env.cfg.people.clone();
        let verified = verify_record(&logged[0], |s, k| person_key(&people, s, k)).unwrap();
        assert_eq!(&verified, sig);
        assert_eq!(
            check_decision(&logged[0], "alice", Role::Approver, &people, true),
            Ok(Authenticity::Authenticated)
        );
        let shown = revoke::cases::render(c);
        assert!(
            shown.contains("approved by alice (authenticated)"),
            "{shown}"
        );
        // Nothing more was dead-lettered by the genuine decisions.
        assert_eq!(
            letters_from(&env, &guard_topic).await.len(),
            forgeries.len() + 1
        );

        second.stop().await.expect("second verifier");
        fleet.stop().await.expect("fleet");
    });
}

//! `revoke case ack`: forged acknowledgements leave the target open, the signed one makes it done
//! as attested and authenticated, and the case then waits for a reviewer (a person's word stood in
//! for a read-back).

use super::*;
use revoke::cli::case::ack::{decide, run, AckArgs, AckRequest, Decision};
use revoke::cli::person_key::PersonKeyArgs;
use revoke_shared::contract::{Authenticity, TargetKind, TargetState};
use revoke_shared::signing::{check_decision, person_key, verify_record};
use revoke_tests::fleet_kit::{simulated_fleet, wait_all_in};

#[test]
fn forged_acks_leave_the_target_open_and_only_the_signed_one_attests_it_for_review() {
    let (env, keys) = signed_env("signed-acks");
    env.block_on(async {
        let (fleet, _metrics, _health) = simulated_fleet(&env.cfg, WAIT).await;
        let evs = leavers(&env, 1);
        let id = case_of(&evs[0]);
        // The cloud account cannot be told apart from another: a person must deal with it.
        fleet.simulators[&TargetKind::Cloud].mark_ambiguous(&evs[0].subject);
        publish(&env, &evs).await;
        let waiting = |l: &CaseLog| {
            l.latest.get(&id).is_some_and(|c| {
                c.state == CaseState::Escalated
                    && c.targets.get(&TargetKind::Cloud).map(|t| t.state)
                        == Some(TargetState::ManualRequired)
            })
        };
        let log = env.wait_cases(WAIT, waiting).await;
        assert!(waiting(&log), "{:?}", log.latest.get(&id));
        let case = log.latest[&id].clone();

        let ack_by = |by: &str| {
            let req = AckRequest {
                target: TargetKind::Cloud,
                by: by.into(),
                note: "account deleted by hand, ticket OPS-7".into(),
                removed_at: None,
            };
            match decide(&case, &req, chrono::Utc::now(), "attacker-host").unwrap() {
                Decision::Publish(c) => *c,
                other => panic!("{other:?}"),
            }
        };
        let signed = |signer: &str, seed: &[u8; 32], c: &revoke_shared::contract::Confirmation| {
            serde_json::to_vec(&RecordSigner::from_seed(signer, seed).sign(c).unwrap()).unwrap()
        };
        let carols = ack_by("carol");
        let forgeries: Vec<(&str, Vec<u8>)> = vec![
            ("decision_unsigned", serde_json::to_vec(&carols).unwrap()),
            // Alice signs her own ack, but she is no attester.
            (
                "decision_without_role",
                signed("alice", &ALICE, &ack_by("alice")),
            ),
            // Alice signs an ack in carol's name.
            ("decision_not_theirs", signed("alice", &ALICE, &carols)),
            // A key nobody has, claiming to be carol's.
            ("decision_bad_signature", signed("carol", &MALLORY, &carols)),
        ];
        let topic = env.cfg.topics.confirmations.clone();
        for (_, bytes) in &forgeries {
            inject(&env, &topic, &case.identity_id, bytes, None).await;
        }
        let letters = wait_letters(&env, &topic, forgeries.len()).await;
        let want: Vec<&str> = forgeries.iter().map(|(r, _)| *r).collect();
        assert_eq!(reasons(&letters), sorted(&want), "{letters:#?}");
        for l in &letters {
            assert_eq!(l.rejected_by, revoke::verifier::group(&env.cfg));
            assert!(
                l.detail.contains("the target stays as it was"),
                "{}",
                l.detail
            );
        }
        // Where it lands: the target is still waiting for a person, the case still open.
        let log = env.case_log().await;
        let c = &log.latest[&id];
        assert_eq!(c.state, CaseState::Escalated);
        assert_eq!(
            c.targets[&TargetKind::Cloud].state,
            TargetState::ManualRequired
        );

        // Carol's signed ack closes it: attested, authenticated, her signature kept.
        let args = AckArgs {
            case: id.to_string(),
            target: Some(TargetKind::Cloud),
            step: None,
            by: "carol".into(),
            note: "account deleted by hand, ticket OPS-7".into(),
            removed_at: None,
            key: PersonKeyArgs {
                key_file: Some(keys.key_file("carol", &CAROL)),
            },
        };
        run(&env.cfg, &args, print).await.expect("carol's ack");
        // A person's word stood in for a read-back: the case waits for a reviewer
        // (`verifier.closure_review = "attested"`, the default) instead of closing.
        let log = wait_all_in(&env, WAIT, &[id], CaseState::AwaitingReview).await;
        let c = &log.latest[&id];
        assert_eq!(c.state, CaseState::AwaitingReview);
        let cloud = &c.targets[&TargetKind::Cloud];
        assert_eq!(cloud.state, TargetState::Done);
        assert_eq!(cloud.authenticity, Some(Authenticity::Authenticated));
        let sig = cloud
            .signed
            .as_ref()
            .and_then(|s| s.record_signature.clone())
            .expect("the ack's signature is kept");
        assert_eq!(sig.signer, "carol");
        // Offline, from the case alone: the ack rebuilt verifies with carol's public key.
        let rebuilt = cloud
            .rebuilt_report(&c.identity_id, TargetKind::Cloud)
            .expect("the ack rebuilds from the case");
        let v = serde_json::to_value(&rebuilt).unwrap();
        let people = env.cfg.people.clone();
        assert_eq!(verify_record(&v, |s, k| person_key(&people, s, k)), Ok(sig));
        assert_eq!(
            check_decision(&v, "carol", Role::Attester, &people, true),
            Ok(Authenticity::Authenticated)
        );
        let shown = revoke::cases::render(c);
        assert!(
            shown.contains("- cloud by carol: ") && shown.contains("revoke-cli@"),
            "{shown}"
        );
        assert!(
            shown
                .lines()
                .any(|l| l.contains("- cloud by carol") && l.ends_with(", authenticated")),
            "{shown}"
        );
        assert_eq!(letters_from(&env, &topic).await.len(), forgeries.len());
        fleet.stop().await.expect("fleet");
    });
}

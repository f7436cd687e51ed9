//! The same forgeries, checked where they would land: a real directory (slapd). A held leaver
//! keeps every access at slapd through each forged approval (they still bind with their
//! password), and only the genuine, signed approval locks them.

use super::approvals::{approve_args, held_batch};
use super::peers;
use super::*;
use revoke::adapters::sim::Simulator;
use revoke::cli::guard::decide;
use revoke::fleet::Process;
use revoke_shared::config::SimulatorConfig;
use revoke_shared::contract::{BatchDecision, Decision, GuardRecord, TargetKind};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::wait_all_in;
use std::sync::Arc;

/// The password `peers::directory` seeds for `p`.
fn password(p: &peers::Person) -> String {
    format!("pw-{}", p.employee_id)
}

/// Whether `p` can bind at slapd with their password: a plain LDAP bind, not our adapter.
async fn binds(directory: &peers::directory::Directory, p: &peers::Person) -> bool {
    revoke_tests::slapd::binds(&directory.dn(p), &password(p)).await
}

#[test]
#[ignore = "needs slapd: run the README's test command"]
fn forged_approvals_leave_a_held_leaver_able_to_bind_at_slapd_and_the_signed_one_locks_them() {
    let (mut env, keys) = signed_env("signed-approvals-slapd");
    // The second leaver within the window is held for a person.
    env.cfg.verifier.guard.max_terminations = 1;
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let people = [peers::Person::new(&run, 1), peers::Person::new(&run, 2)];
        let directory = peers::directory::Directory::new(&run).await;
        directory.seed(&[&people[0], &people[1]]).await;
        let table: toml::Table = directory.table().parse().expect("the directory table");
        // The fleet's config: this table added (the helpers' `env.cfg` names the same topics).
        let mut cfg = env.cfg.clone();
        cfg.targets.insert("directory".into(), table);
        for p in &people {
            assert!(
                binds(&directory, p).await,
                "{} binds before anything",
                p.username
            );
        }

        // The directory worker on slapd, the other kinds on their simulators, the verifier.
        let (metrics, health) = (Metrics::new(), Health::new());
        let mut components = Vec::new();
        for kind in TargetKind::ALL {
            let target = if kind == TargetKind::Directory {
                let t = revoke::adapters::from_config(kind, &cfg)
                    .await
                    .expect("[targets.directory]");
                assert_ne!(
                    t.principal(),
                    "sim-directory-revoker",
                    "slapd, not the simulator"
                );
                t
            } else {
                Arc::new(Simulator::new(kind, SimulatorConfig::default()))
            };
            components.push(Process::Worker(target).spawn(
                &env.cfg,
                metrics.clone(),
                health.clone(),
            ));
        }
        components.push(Process::Verifier.spawn(&cfg, metrics.clone(), health.clone()));
        assert!(
            revoke::fleet::wait_for_groups(&cfg, &metrics, WAIT).await,
            "consumer groups never got partitions"
        );

        let evs: Vec<HrEvent> = people
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut ev = peers::termination(&run, p, i);
                ev.source = HR_SOURCE.into();
                ev
            })
            .collect();
        let ids: Vec<uuid::Uuid> = evs.iter().map(case_of).collect();
        // The first leaver is released and locked at slapd: the directory worker really acts.
        publish(&env, &evs[..1]).await;
        wait_all_in(&env, WAIT, &ids[..1], CaseState::Closed).await;
        assert!(
            !binds(&directory, &people[0]).await,
            "the released leaver is locked"
        );
        // The second is held.
        publish(&env, &evs[1..2]).await;
        wait_all_in(&env, WAIT, &ids[1..2], CaseState::Held).await;
        let (batch, digest, cases) = held_batch(&env, ids[1]).await;

        let approval = |by: &str, note: &str| {
            GuardRecord::decision(BatchDecision {
                batch: batch.clone(),
                decision: Decision::Approve,
                by: by.into(),
                at: chrono::Utc::now(),
                note: Some(note.into()),
                digest: Some(digest.clone()),
                cases: Some(cases.clone()),
            })
        };
        let signed_as = |signer: &str, seed: &[u8; 32], record: &GuardRecord| {
            serde_json::to_vec(&RecordSigner::from_seed(signer, seed).sign(record).unwrap())
                .unwrap()
        };
        let forgeries: Vec<(&str, Vec<u8>)> = vec![
            (
                "decision_unsigned",
                serde_json::to_vec(&approval("alice", "unsigned")).unwrap(),
            ),
            (
                "decision_bad_signature",
                signed_as("alice", &MALLORY, &approval("alice", "mallory's key")),
            ),
            (
                "decision_without_role",
                signed_as("carol", &CAROL, &approval("carol", "no role")),
            ),
            (
                "decision_not_theirs",
                signed_as("alice", &ALICE, &approval("bob", "in bob's name")),
            ),
            (
                "decision_retired_key",
                signed_as("alice", &ALICE_OLD, &approval("alice", "old key")),
            ),
        ];
        for (_, bytes) in &forgeries {
            inject(&env, &env.cfg.topics.guard, &batch, bytes, Some(0)).await;
        }
        let letters = wait_letters(&env, &env.cfg.topics.guard, forgeries.len()).await;

        // At the peer: the held leaver still binds, and is not locked.
        assert!(
            binds(&directory, &people[1]).await,
            "a forged approval locked {} at slapd",
            people[1].username
        );
        let log = env.case_log().await;
        assert_eq!(state_of(&log, &ids[1]), Some(CaseState::Held));
        // Each refused with its reason, once.
        let want: Vec<&str> = forgeries.iter().map(|(r, _)| *r).collect();
        assert_eq!(reasons(&letters), sorted(&want), "{letters:#?}");

        // Alice's genuine approval releases the case: locked at slapd.
        decide(
            &env.cfg,
            &approve_args(&batch, "alice", &digest, keys.key_file("alice", &ALICE)),
            Decision::Approve,
            print,
        )
        .await
        .expect("alice's signed approval counts");
        let log = wait_all_in(&env, WAIT, &ids[1..2], CaseState::Closed).await;
        assert!(
            !binds(&directory, &people[1]).await,
            "the approved leaver still binds at slapd"
        );
        let objects = &log.latest[&ids[1]].targets[&TargetKind::Directory].objects;
        directory.check(&people[1], objects).await;

        for c in components {
            c.stop().await.expect("component");
        }
    });
}

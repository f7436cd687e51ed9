//! The chain across the verifier's own restarts and re-publications: a case still open when
//! the verifier stops continues after the restart from the last version's digest (read back
//! from the changelog), and a closed case re-published for access seen again chains to its
//! closing record (read back). Every version stays signed, consecutive and chained, and
//! `revoke case --verify` says so.

use super::*;
use revoke::fleet::Process;
use revoke_shared::contract::{
    AccessFinding, FindingKind as AccessKind, TargetKind, TargetRef, WorkerInfo,
    ACCESS_FINDING_SCHEMA,
};
use revoke_shared::metrics::{Health, Metrics};

fn finding(case_id: uuid::Uuid, identity: &str) -> AccessFinding {
    let target = TargetRef {
        kind: TargetKind::Directory,
        instance: "simulated".into(),
    };
    let object_id = format!("directory:{identity}:0");
    AccessFinding {
        schema: ACCESS_FINDING_SCHEMA.into(),
        finding_id: AccessFinding::id_for(
            case_id,
            AccessKind::AccessReturned,
            &target,
            "account",
            &object_id,
            "restart-test",
        ),
        case_id,
        identity_id: identity.into(),
        kind: AccessKind::AccessReturned,
        target,
        object_kind: "account".into(),
        object_id,
        observed_at: chrono::Utc::now(),
        read_back: "account is enabled again".into(),
        worker: WorkerInfo {
            id: "verify-test".into(),
            version: "0".into(),
        },
        principal: "svc-read".into(),
    }
}

#[test]
fn the_chain_holds_across_a_verifier_restart_and_a_closed_case_re_published() {
    let dir = TempDir::new("restart");
    let env = evidence_env("tamper-restart", &dir.0, SEED_A);
    env.block_on(async {
        // The verifier alone: the case opens and is released, no worker answers yet.
        let (metrics, health) = (Metrics::new(), Health::new());
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        let events = env.leavers(1);
        env.publish(&events, revoke::hr::Mode::Structured).await;
        let id = case_ids(&events)[0];
        let open = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&id)
                    .is_some_and(|c| c.state == CaseState::Open)
            })
            .await;
        assert_eq!(open.latest.get(&id).map(|c| c.state), Some(CaseState::Open));
        verifier.stop().await.expect("verifier stops");
        let before = raw_versions(&env, &env.cfg.topics.cases, &id.to_string())
            .await
            .len();

        // A new verifier (rebuilt from the changelog) and the workers: the case closes.
        let fleet = start_fleet(&env.cfg).await;
        let closed = env
            .wait_cases(WAIT, |l| all_in_state(l, &[id], CaseState::Closed))
            .await;
        assert!(all_in_state(&closed, &[id], CaseState::Closed));

        // Access seen again after close: the closed case is read back and re-published.
        let f = finding(id, &events[0].subject);
        env.publish_raw_to(
            &env.cfg.topics.confirmations,
            Some(&events[0].subject),
            &serde_json::to_vec(&f).unwrap(),
            &[],
        )
        .await;
        let reopened = env
            .wait_cases(WAIT, |l| {
                l.latest.get(&id).is_some_and(|c| !c.findings.is_empty())
            })
            .await;
        assert_eq!(
            reopened.latest.get(&id).map(|c| c.state),
            Some(CaseState::Escalated)
        );
        fleet.stop().await.expect("fleet stops");

        let versions = raw_versions(&env, &env.cfg.topics.cases, &id.to_string()).await;
        assert!(
            versions.len() > before + 1,
            "versions after the restart and after close: {} then {}",
            before,
            versions.len()
        );
        assert_chained_and_signed(&versions, SEED_A);
        let cfg = env.cfg.clone();
        let case = id.to_string();
        let out = tokio::task::spawn_blocking(move || revoke(&cfg, &["case", &case, "--verify"]))
            .await
            .unwrap();
        says(&out, 0, &["OK", "evidence verified"]);
    });
}

//! A rescind after the fleet revoked and the case closed, on the real broker against real peers
//! (OpenLDAP and scim2-server, started by the README's test command): the verifier reads the
//! closed case back, asks the directory and SaaS workers to give back what they took, and the
//! person's LDAP entry is unlocked and back in its groups, their SCIM account active and back in
//! its group — checked at the peers — while the case records `rescinded` with the evidence.

mod peers;

use peers::Person;
use revoke::fleet::{spawn_verifier, spawn_worker};
use revoke::hr::Mode;
use revoke_shared::contract::{
    case_id_for, CaseState, EscalationReason, HrData, HrEvent, HrEventKind, Identity, IdentityKind,
    RestoreOutcome, TargetKind,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::TestEnv;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(120);

fn event(run: &str, p: &Person, kind: HrEventKind, id: &str, rescinds: Option<&str>) -> HrEvent {
    HrEvent {
        id: format!("{run}-{id}"),
        source: "urn:revoke:test-hr".into(),
        subject: p.employee_id.clone(),
        time: chrono::Utc::now(),
        kind,
        data: HrData {
            identity: Identity {
                employee_id: p.employee_id.clone(),
                email: Some(p.email.clone()),
                username: Some(p.username.clone()),
                kind: IdentityKind::Employee,
            },
            effective_at: (kind == HrEventKind::Termination).then(chrono::Utc::now),
            reason: Some("resignation".into()),
            requested_by: Some("hr:people-ops".into()),
            approved_by: None,
            rescinds: rescinds.map(|r| format!("{run}-{r}")),
        },
    }
}

#[test]
#[ignore = "needs the real broker, slapd and scim2-server: run the README's test command"]
fn a_rescind_after_close_restores_real_ldap_and_scim_accounts() {
    let env = TestEnv::new("rescind");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let directory = peers::directory::Directory::new(&run).await;
        let saas = peers::saas::Scim::new(&run);
        let ada = Person::new(&run, 1);
        let bob = Person::bystander(&run);
        directory.seed(&[&ada, &bob]).await;
        saas.seed(&[&ada, &bob]).await;

        let mut cfg = env.cfg.clone();
        cfg.verifier.required_targets = vec![TargetKind::Directory, TargetKind::Saas];
        for (kind, table) in [("directory", directory.table()), ("saas", saas.table())] {
            cfg.targets.insert(kind.into(), table.parse().unwrap());
        }
        let metrics = Metrics::new();
        let health = Health::new();
        let mut components = Vec::new();
        for kind in [TargetKind::Directory, TargetKind::Saas] {
            let t = revoke::target::from_config(kind, &cfg).await.unwrap();
            components.push(spawn_worker(&cfg, t, metrics.clone(), health.clone()));
        }
        components.push(spawn_verifier(&cfg, metrics.clone(), health.clone()));
        // Only two worker groups run here; wait for those and the verifier.
        let groups_ready = tokio::time::timeout(WAIT, async {
            loop {
                if wait_for_groups_subset(&cfg, &metrics).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        assert!(groups_ready.is_ok(), "consumer groups never got partitions");

        let term = event(&run, &ada, HrEventKind::Termination, "t", None);
        let case_id = case_id_for(&term.source, &term.id);
        env.publish(std::slice::from_ref(&term), Mode::Structured)
            .await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&case_id)
                    .is_some_and(|c| c.state == CaseState::Closed)
            })
            .await;
        let closed = &log.latest[&case_id];
        assert_eq!(
            closed.state,
            CaseState::Closed,
            "{}",
            revoke::cases::render(closed)
        );
        // Revoked at the peers.
        let dir_objects = &closed.targets[&TargetKind::Directory].objects;
        let saas_objects = &closed.targets[&TargetKind::Saas].objects;
        directory.check(&ada, dir_objects).await;
        saas.check(&ada, saas_objects).await;

        // HR takes it back, after the case closed.
        let rescind = event(&run, &ada, HrEventKind::Rescinded, "r", Some("t"));
        env.publish(&[rescind], Mode::Structured).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&case_id)
                    .is_some_and(|c| c.state == CaseState::Rescinded && c.restored.len() == 2)
            })
            .await;
        let case = &log.latest[&case_id];
        assert_eq!(
            case.state,
            CaseState::Rescinded,
            "{}",
            revoke::cases::render(case)
        );
        assert_eq!(case.restored.len(), 2, "{:?}", case.restored);
        assert_eq!(case.rescinded_by.as_deref(), Some("hr:people-ops"));
        assert!(case.closed_at.is_some(), "the close stays on record");
        for r in &case.restored {
            let revoked = &case.targets[&r.target.kind].objects;
            assert_eq!(r.objects.len(), revoked.len(), "{r:?}");
            assert!(
                r.objects
                    .iter()
                    .all(|o| o.outcome == RestoreOutcome::Restored && o.restored_at.is_some()),
                "{r:?}"
            );
        }
        let reasons: Vec<EscalationReason> = case.escalations.iter().map(|e| e.reason).collect();
        assert_eq!(
            reasons,
            vec![EscalationReason::RescindAfterRevocation],
            "everything came back"
        );

        // Back at the peers: unlocked, binds again, back in both groups; SCIM active and member.
        directory.check_untouched(&ada).await;
        saas.check_untouched(&ada).await;
        // The bystander was never touched.
        directory.check_untouched(&bob).await;
        saas.check_untouched(&bob).await;

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

/// The directory and saas worker groups and the verifier have partitions.
async fn wait_for_groups_subset(cfg: &revoke_shared::config::Config, metrics: &Metrics) -> bool {
    let names = [
        revoke::worker::group_for(cfg, TargetKind::Directory),
        revoke::worker::group_for(cfg, TargetKind::Saas),
        revoke::verifier::group(cfg),
    ];
    names
        .iter()
        .all(|g| metrics.assigned_partitions.with_label_values(&[g]).get() > 0)
}

//! End to end on the real broker with all five real adapters: 50 leavers seeded in OpenLDAP,
//! scim2-server, moto (AWS IAM), OpenBao and the GitLab API double, in Active Directory (the
//! Samba DC, the directory's third instance: `[targets.directory.ad] adapter =
//! "active_directory"`, each an enabled user in one group, whose bind afterwards is refused with
//! AD's "account disabled") and in the identity provider (Keycloak, the directory's second
//! instance: `[targets.directory.ldap]` and `[targets.directory.sso] adapter = "keycloak"`), each
//! signed in online and offline; one worker
//! per target kind built from `[targets.<kind>]` tables exactly as the binary builds them; the
//! verifier closes 50 cases; then every case's evidence is checked against what the peers
//! themselves show — at Keycloak, with plain HTTP, every leaver's online and offline refresh
//! answers `invalid_grant`, the old access token introspects inactive, no session is listed and
//! the user is disabled, while the bystander's tokens still refresh and introspect active.
//!
//! Needs the README's test command (it starts Kafka and the peers and passes their addresses).

mod peers;

use peers::{terminations, Peers};
use revoke::hr::Mode;
use revoke_shared::contract::{
    CaseState, Confirmation, HrEvent, ObjectOutcome, Outcome, TargetKind, TargetState,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::{case_ids, TestEnv};
use std::time::Duration;

const LEAVERS: usize = 50;
const WAIT: Duration = Duration::from_secs(240);

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn fifty_leavers_closed_on_five_real_adapters() {
    let env = TestEnv::new("e2e-adapters");
    assert_eq!(
        env.broker, "kafka",
        "this test proves the real broker: set REVOKE_TEST_KAFKA"
    );
    env.block_on(async {
        // One bystander per peer who shares a name prefix with every leaver and must keep all;
        // the identity provider is the directory's second instance.
        let (run, peers, people, bystander) = Peers::seeded_with_idp_and_ad(LEAVERS).await;

        let mut cfg = env.cfg.clone();
        cfg.worker.instance = "e2e".into();
        cfg.verifier.deadline_secs = 600;
        peers.configure(&mut cfg);

        let metrics = Metrics::new();
        let health = Health::new();
        let components = peers::start_fleet(&cfg, &metrics, &health).await;

        let events: Vec<HrEvent> = terminations(&run, &people);
        let published = std::time::Instant::now();
        env.publish(&events, Mode::Structured).await;
        let ids: Vec<uuid::Uuid> = case_ids(&events);
        let log = env
            .wait_cases(WAIT, |l| {
                ids.iter()
                    .all(|id| l.latest.get(id).is_some_and(|c| c.state.is_final()))
            })
            .await;

        let all_final = published.elapsed();
        let mut ttc: Vec<i64> = ids
            .iter()
            .filter_map(|id| log.latest.get(id).and_then(|c| c.time_to_close_ms()))
            .collect();
        ttc.sort_unstable();
        println!(
            "e2e: {LEAVERS} leavers x 5 real target kinds (directory: LDAP + Active Directory + Keycloak): every case final {:.1} s after publishing; \
             time to close p50 {} ms, max {} ms",
            all_final.as_secs_f64(),
            ttc.get(ttc.len() / 2).copied().unwrap_or(-1),
            ttc.last().copied().unwrap_or(-1)
        );
        for kind in TargetKind::ALL {
            let mut t: Vec<i64> = ids
                .iter()
                .filter_map(|id| log.latest.get(id)?.targets.get(&kind)?.time_to_revoke_ms)
                .collect();
            t.sort_unstable();
            println!(
                "e2e: {kind}: time to revoke p50 {} ms, max {} ms",
                t.get(t.len() / 2).copied().unwrap_or(-1),
                t.last().copied().unwrap_or(-1)
            );
        }
        // Where the time goes: waiting before a worker starts on a case, and the work itself.
        let confirmations: Vec<Confirmation> = env.read_json(&cfg.topics.confirmations).await;
        let published_at = events.iter().map(|e| e.time).min().unwrap();
        for kind in TargetKind::ALL {
            let mine: Vec<&Confirmation> = confirmations
                .iter()
                .filter(|c| c.target.kind == kind)
                .collect();
            let ms = |d: chrono::TimeDelta| d.num_milliseconds();
            let mut wait: Vec<i64> = mine.iter().map(|c| ms(c.started_at - published_at)).collect();
            let mut work: Vec<i64> = mine.iter().map(|c| ms(c.finished_at - c.started_at)).collect();
            let mut calls: Vec<u32> = mine.iter().map(|c| c.attempts).collect();
            wait.sort_unstable();
            work.sort_unstable();
            calls.sort_unstable();
            println!(
                "e2e: {kind}: {} confirmations; start after publish p50 {} ms max {} ms; work p50 {} ms max {} ms; calls p50 {}",
                mine.len(),
                wait[wait.len() / 2],
                wait[wait.len() - 1],
                work[work.len() / 2],
                work[work.len() - 1],
                calls[calls.len() / 2]
            );
        }
        for (p, id) in people.iter().zip(&ids) {
            let case = log
                .latest
                .get(id)
                .unwrap_or_else(|| panic!("no case for {}", p.employee_id));
            assert_eq!(
                case.state,
                CaseState::Closed,
                "{}: {}",
                p.employee_id,
                revoke::cases::render(case)
            );
            assert_eq!(log.closed_versions[id], 1, "closed once");
            assert!(case.escalations.is_empty(), "{:?}", case.escalations);
            for kind in TargetKind::ALL {
                let st = &case.targets[&kind];
                assert_eq!(st.state, TargetState::Done, "{} {kind}", p.employee_id);
                assert_eq!(
                    st.outcome,
                    Some(Outcome::Revoked),
                    "{} {kind}",
                    p.employee_id
                );
                assert_eq!(
                    st.instance.as_deref(),
                    Some(peers.instance(kind, "e2e").as_str())
                );
                assert!(
                    !st.objects.is_empty(),
                    "{} {kind}: no evidence",
                    p.employee_id
                );
                for o in &st.objects {
                    assert!(
                        o.verified && o.removed_at.is_some(),
                        "{} {kind}: {o:?}",
                        p.employee_id
                    );
                    // Revoked now, or found already gone (e.g. a login's lease prefix that
                    // revoking its token emptied) — either way read back as gone.
                    assert!(
                        matches!(
                            o.outcome,
                            ObjectOutcome::Revoked | ObjectOutcome::AlreadyAbsent
                        ),
                        "{kind}: {o:?}"
                    );
                    assert!(!o.actor.principal.is_empty());
                }
                // The evidence names exactly what the peer shows removed for this person.
                peers.check_evidence(kind, p, &st.objects).await;
            }
        }
        peers.check_untouched(&bystander).await;

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

//! Effective dates across processes' lifetimes: a termination dated in the future is not acted
//! on when published; the verifier keeps it as a `scheduled` case in `revoke.cases`; a verifier
//! restarted meanwhile still hands it to the workers (on the due topic) once its time comes; a
//! rescind before that time cancels it with nothing revoked. On the embedded broker (plain
//! `cargo test`) and the real one (`REVOKE_TEST_KAFKA`, the README's test command).

use chrono::Utc;
use revoke::fleet::Process;
use revoke::hr::Mode;
use revoke_shared::contract::{CaseState, TargetKind, SCHEDULE_SLACK_SECS};
use revoke_tests::fleet_kit::{rescind_of, simulated_fleet};
use revoke_tests::{all_in_state, TestEnv};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);
/// How far in the future the dated terminations take effect.
const DELAY_SECS: i64 = 12;

#[test]
fn a_dated_termination_fires_after_a_verifier_restart_and_a_rescind_cancels_one() {
    let env = TestEnv::new("schedule");
    env.block_on(async {
        let (mut fleet, metrics, health) = simulated_fleet(&env.cfg, WAIT).await;

        let mut events = env.leavers(3);
        let effective = Utc::now() + chrono::Duration::seconds(DELAY_SECS);
        for ev in &mut events[..2] {
            ev.time = Utc::now();
            ev.data.effective_at = Some(effective);
            assert!(ev.is_scheduled());
        }
        let (dated, cancelled, now) = (events[0].clone(), events[1].clone(), events[2].clone());
        assert!(!now.is_scheduled());
        env.publish(&events, Mode::Structured).await;
        env.publish(&[rescind_of(&cancelled)], Mode::Structured)
            .await;

        let ids = [dated.case_id(), cancelled.case_id(), now.case_id()];
        let log = env
            .wait_cases(WAIT, |l| {
                all_in_state(l, &ids[2..], CaseState::Closed)
                    && all_in_state(l, &ids[1..2], CaseState::Rescinded)
                    && l.latest.contains_key(&ids[0])
            })
            .await;
        assert_eq!(
            log.latest[&ids[2]].state,
            CaseState::Closed,
            "the immediate one"
        );
        assert_eq!(
            log.latest[&ids[0]].state,
            CaseState::Scheduled,
            "the dated one waits"
        );
        let cancelled_case = &log.latest[&ids[1]];
        assert_eq!(cancelled_case.state, CaseState::Rescinded);
        assert!(
            cancelled_case.escalations.is_empty(),
            "cancelled before anything was revoked"
        );
        assert!(
            Utc::now() < effective - chrono::Duration::seconds(SCHEDULE_SLACK_SECS),
            "the test must observe the waiting state before the effective time"
        );
        for kind in TargetKind::ALL {
            let sim = &fleet.simulators[&kind];
            assert!(
                sim.actions_for(&dated.subject).is_empty(),
                "{kind} acted early"
            );
            assert!(
                sim.actions_for(&cancelled.subject).is_empty(),
                "{kind} acted on a cancelled case"
            );
        }

        // The verifier dies before the effective time; a new one rebuilds from revoke.cases.
        fleet.verifier.take().expect("verifier").kill().await;
        fleet.verifier = Some(Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone()));

        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&ids[0])
                    .is_some_and(|c| c.state == CaseState::Closed)
            })
            .await;
        let case = &log.latest[&ids[0]];
        assert_eq!(
            case.state,
            CaseState::Closed,
            "the dated case closed after the restart"
        );
        assert!(
            case.closed_at.unwrap() >= effective,
            "not before its effective time"
        );
        for kind in TargetKind::ALL {
            let st = &case.targets[&kind];
            for o in &st.objects {
                assert!(
                    o.removed_at.unwrap() >= effective,
                    "{kind}: removed early: {o:?}"
                );
            }
            let sim = &fleet.simulators[&kind];
            assert!(sim.all_revoked(&dated.subject), "{kind}");
            assert!(
                sim.actions_for(&dated.subject).iter().all(|(_, n)| *n == 1),
                "{kind}: acted once per object"
            );
            assert!(
                sim.actions_for(&cancelled.subject).is_empty(),
                "{kind}: cancelled case acted on"
            );
        }
        assert_eq!(log.latest[&ids[1]].state, CaseState::Rescinded);

        // The due topic holds the dated termination once (a restart does not hand it over twice)
        // and never the cancelled one. (With the blast-radius guard on, every released case
        // goes out on it too: the immediate one is there as well.)
        let due: Vec<serde_json::Value> = env.read_json(&env.cfg.topics.due).await;
        let of = |who: &str| -> Vec<&serde_json::Value> {
            due.iter().filter(|d| d["subject"] == who).collect()
        };
        assert_eq!(of(&dated.subject).len(), 1, "{due:?}");
        assert_eq!(of(&dated.subject)[0]["id"], dated.id.as_str());
        assert!(of(&cancelled.subject).is_empty(), "{due:?}");

        fleet.stop().await.expect("graceful stop");
    });
}

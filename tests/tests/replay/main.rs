//! `revoke replay` and `revoke cases rebuild --check` on the real broker against the real peers
//! (slapd and scim2-server), with `[signing] required`; every outcome is checked where it lands —
//! a bind at slapd, `active` at the SCIM server, the case records on the cases topic, the dead
//! letters — never through our own adapters' say-so.
//!
//! 1. Six leavers' cases close (LDAP locked, SCIM inactive); the sixth's termination is then
//!    rescinded and their access given back by the fleet.
//! 2. An administrator gives leaver 0 their access back by hand (LDAP unlocked, SCIM active).
//!    `revoke replay --dry-run` lists leavers 0–4 to re-drive and leaver 5 skipped as rescinded,
//!    and writes nothing: leaver 0 still binds, no record was added to any topic.
//! 3. `revoke replay --target directory --identity <leaver 0>` removes it again: the bind fails
//!    at slapd, SCIM stays active (the target not chosen is not run); the replay case says
//!    replay (its request, signed, and the report's replay mark) and escalates the access that
//!    came back; the replayed case's record is unchanged; `revoke case` shows it.
//! 4. The same replay again does nothing more at the peer ("already absent"); the request record
//!    copied and published again is dead-lettered `replay_request_replayed`.
//! 5. The rescinded leaver is never re-terminated: the command skips them, and a request for
//!    their case published directly is dead-lettered `replay_case_rescinded`; they still bind.
//! 6. Forged, unsigned and role-less requests (leaver 0's access given back by hand first)
//!    change nothing at the peer and are dead-lettered with their reasons; the command refuses
//!    to send an unsigned one (exit 2). Forged due records (a genuine replay's record pointed
//!    at another replay, the same unsigned, the genuine one with its replay mark stripped) are
//!    refused by both worker groups; leaver 0 still binds.
//! 7. A burst: leavers 0–4 given back by hand and replayed at once; the guard (three people per
//!    window) lets three through and holds two — who still bind — until alice approves.
//! 8. `revoke cases rebuild --check` finds every case equal to what its inputs make (exit 0),
//!    and, after a tampered version of a case is published on the cases topic, names that case
//!    and field (exit 3).
//!
//! Needs the README's test command (it starts Kafka and the peers and passes their addresses).

#[path = "../peers/mod.rs"]
mod peers;

mod due;
mod phases;
mod rebuild;
mod requests;
mod world;

use world::World;

#[test]
#[ignore = "needs the real broker and the real peers (slapd, scim2-server): run the README's test command"]
fn replays_re_drive_past_terminations_through_the_guard_and_only_where_they_may() {
    let env = revoke_tests::TestEnv::new("replay");
    assert_eq!(
        env.broker, "kafka",
        "this test proves the real broker: set REVOKE_TEST_KAFKA"
    );
    env.block_on(run(&env));
}

async fn run(env: &revoke_tests::TestEnv) {
    {
        let w = World::start(env, 6).await;
        let from = phases::closed_and_one_rescinded(&w).await;
        let to = chrono::Utc::now() + chrono::Duration::minutes(30);
        let range = world::Range { from, to };
        phases::dry_run_lists_and_writes_nothing(&w, &range).await;
        let first = phases::replay_removes_it_again(&w, &range).await;
        phases::again_does_nothing_more(&w, &range, &first).await;
        phases::a_rescinded_leaver_is_never_re_terminated(&w, &range).await;
        phases::forged_requests_change_nothing(&w, &range).await;
        due::forged_due_records_change_nothing(&w).await;
        phases::a_burst_is_held_by_the_guard(&w, &range).await;
        rebuild::healthy_then_tampered(&w).await;
        for c in w.fleet {
            c.stop().await.expect("graceful stop");
        }
    }
}

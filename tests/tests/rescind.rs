//! A rescind after the fleet revoked and the case closed, on the real broker against real peers
//! (OpenLDAP and scim2-server, started by the README's test command): the verifier reads the
//! closed case back, asks the directory and SaaS workers to give back what they took, and the
//! person's LDAP entry is unlocked and back in its groups, their SCIM account active and back in
//! its group — checked at the peers — while the case records `rescinded` with the evidence.

mod peers;

use base64::Engine;
use peers::Person;
use revoke::cases::CaseLog;
use revoke::fleet::Process;
use revoke::hr::Mode;
use revoke_shared::contract::{
    case_id_for, CaseState, DeadLetter, EscalationReason, HrData, HrEvent, HrEventKind,
    RestoreOutcome, RestoreRequest, TargetKind,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::{restore_requests, simulated_fleet, wait_all_in};
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
            identity: p.identity(),
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
            let t = revoke::adapters::from_config(kind, &cfg).await.unwrap();
            components.push(Process::Worker(t).spawn(&cfg, metrics.clone(), health.clone()));
        }
        components.push(Process::Verifier.spawn(&cfg, metrics.clone(), health.clone()));
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
        let log = wait_all_in(&env, WAIT, &[case_id], CaseState::Closed).await;
        let closed = case_in(&log, &case_id, CaseState::Closed);
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
        let case = case_in(&log, &case_id, CaseState::Rescinded);
        assert_eq!(case.restored.len(), 2, "{:?}", case.restored);
        assert_eq!(case.rescinded_by.as_deref(), Some("hr:people-ops"));
        assert!(case.closed_at.is_some(), "the close stays on record");
        // The closed case's record was read back at the offset its marker kept, not by scanning
        // the changelog partition.
        assert_eq!(
            metrics
                .verifier_notes
                .with_label_values(&["closed_case_scanned"])
                .get(),
            0,
            "the closed case was found by a scan"
        );
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

// Rescinds judged against the person's record, with the simulated fleet (no external peers),
// on the embedded broker (plain `cargo test`) and the real one (`REVOKE_TEST_KAFKA`): a rescind
// from another source than the termination's is dead-lettered `rescind_wrong_source`, signed or
// not; a rescind replayed after a later termination of the person gives nothing back.

const HR: &str = "urn:revoke:test-hr";
const OTHER_HR: &str = "urn:hr:other-system";
const HR_SECRET: &str = "hmac-secret-of-the-test-hr-source-0001";
const OTHER_SECRET: &str = "hmac-secret-of-the-other-hr-source-002";
const FLEET_SECRET: &str = "fleet-secret-for-the-rescind-tests-0003";

/// Signing required, an HMAC key for each of the two sources (secrets in files under `dir`).
fn require_signing(cfg: &mut revoke_shared::config::Config, dir: &std::path::Path) {
    use revoke_shared::signing::{Algorithm, KeyConfig};
    let file = |name: &str, content: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{content}\n")).unwrap();
        Some(p.display().to_string())
    };
    let key = |source: &str, secret_file| KeyConfig {
        source: source.into(),
        key_id: None,
        algorithm: Algorithm::HmacSha256,
        public_key: None,
        secret_env: None,
        secret_file,
        private_key_env: None,
        private_key_file: None,
    };
    cfg.signing.required = true;
    revoke_tests::evidence_kit::use_evidence_key(cfg, dir, [11; 32]);
    cfg.signing.fleet_secret_file = file("fleet.secret", FLEET_SECRET);
    cfg.signing.keys = vec![
        key(HR, file("hr.secret", HR_SECRET)),
        key(OTHER_HR, file("other.secret", OTHER_SECRET)),
    ];
}

/// The record's bytes as HR sends it (structured CloudEvent), signed by its source's key when
/// `signed`.
fn bytes_of(ev: &HrEvent, signed: bool) -> Vec<u8> {
    use revoke_shared::secret::Secret;
    use revoke_shared::signing::EventSigner;
    let mut value = ev.to_structured_json();
    if signed {
        let secret = if ev.source == HR {
            HR_SECRET
        } else {
            OTHER_SECRET
        };
        EventSigner::hmac(Secret::new(secret), None)
            .sign(ev)
            .add_to_structured(&mut value);
    }
    serde_json::to_vec(&value).unwrap()
}

fn rescind(term: &HrEvent, source: &str, id: &str, names: bool) -> HrEvent {
    let mut r = term.clone();
    r.id = format!("{}-{id}", term.id);
    r.source = source.into();
    r.time = chrono::Utc::now();
    r.kind = HrEventKind::Rescinded;
    r.data.effective_at = None;
    r.data.rescinds = names.then(|| term.id.clone());
    r
}

/// Case `id` in `log`, asserted to be in `state` (the message shows the whole case).
fn case_in<'a>(
    log: &'a CaseLog,
    id: &uuid::Uuid,
    state: CaseState,
) -> &'a revoke_shared::contract::Case {
    let case = &log.latest[id];
    assert_eq!(case.state, state, "{}", revoke::cases::render(case));
    case
}

/// Publishes `term` (as `bytes`) and waits until its case closes.
async fn close(env: &TestEnv, term: &HrEvent, bytes: &[u8]) -> revoke_shared::contract::Case {
    env.publish_raw(Some(&term.subject), bytes, &[]).await;
    let id = term.case_id();
    let log = wait_all_in(env, WAIT, &[id], CaseState::Closed).await;
    let case = log.latest.get(&id).cloned();
    assert!(
        case.as_ref().is_some_and(|c| c.state == CaseState::Closed),
        "termination {} did not close within {WAIT:?}: {case:?}",
        term.id
    );
    case.unwrap()
}

/// Waits 2 s, then asserts the `closed` case is as it was: still closed, same revision, not
/// rescinded, nothing restored. `what` names it in the messages. Returns the log read.
async fn unchanged_after_a_pause(
    env: &TestEnv,
    closed: &revoke_shared::contract::Case,
    what: &str,
) -> CaseLog {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = env.case_log().await;
    let case = &log.latest[&closed.case_id];
    assert_eq!(
        case.state,
        CaseState::Closed,
        "[{}] {what}: {}",
        env.broker,
        revoke::cases::render(case)
    );
    assert_eq!(
        case.revision, closed.revision,
        "{what}: the case did not change"
    );
    assert!(case.rescind.is_none() && case.restored.is_empty(), "{what}");
    log
}

/// Dead letters with `reason`, until at least `n` are there or the wait ends.
async fn letters(env: &TestEnv, reason: &str, n: usize) -> Vec<DeadLetter> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all: Vec<DeadLetter> = env.read_json(&env.cfg.topics.dlq).await;
        let out: Vec<DeadLetter> = all.into_iter().filter(|l| l.reason == reason).collect();
        if out.len() >= n || std::time::Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn wrong_source_is_dead_lettered(signed: bool) {
    let mut env = TestEnv::new(if signed {
        "rescind-src-signed"
    } else {
        "rescind-src"
    });
    let dir =
        std::env::temp_dir().join(format!("revoke-rescind-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    if signed {
        require_signing(&mut env.cfg, &dir);
    }
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let term = env.leavers(1).remove(0);
        assert_eq!(term.source, HR);
        let closed = close(&env, &term, &bytes_of(&term, signed)).await;

        // Another HR system rescinds it by name, and then without naming it: validly signed by
        // its own key when signing is required, yet not its termination to take back.
        let named = rescind(&term, OTHER_HR, "other-named", true);
        let unnamed = rescind(&term, OTHER_HR, "other-unnamed", false);
        let sent: Vec<(HrEvent, Vec<u8>)> = [named, unnamed]
            .into_iter()
            .map(|r| {
                let b = bytes_of(&r, signed);
                (r, b)
            })
            .collect();
        for (r, b) in &sent {
            env.publish_raw(Some(&r.subject), b, &[]).await;
        }
        let got = letters(&env, "rescind_wrong_source", sent.len()).await;
        let all: Vec<DeadLetter> = env.read_json(&env.cfg.topics.dlq).await;
        assert_eq!(
            got.len(),
            sent.len(),
            "[{}] rescind_wrong_source letters; the DLQ holds {:?}",
            env.broker,
            all.iter()
                .map(|l| (&l.reason, &l.detail))
                .collect::<Vec<_>>()
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        for (r, bytes) in &sent {
            let l = got
                .iter()
                .find(|l| l.payload_base64.as_deref() == Some(b64.encode(bytes).as_str()))
                .unwrap_or_else(|| panic!("no letter holds rescind {}'s bytes", r.id));
            assert_eq!(l.rejected_by, revoke::verifier::group(&env.cfg));
            assert_eq!(
                l.key_base64.as_deref(),
                Some(b64.encode(&r.subject).as_str())
            );
            assert!(l.detail.contains(&r.id), "{}", l.detail);
        }
        // Give the verifier every chance to act on them anyway.
        let log = unchanged_after_a_pause(&env, &closed, "the rescinded case").await;
        assert_eq!(
            log.latest
                .values()
                .filter(|c| c.identity_id == term.subject)
                .count(),
            1,
            "no other case of the person"
        );
        assert_eq!(restore_requests(&env).await, Vec::new());
        for sim in fleet.simulators.values() {
            assert!(sim.all_revoked(&term.subject), "nothing given back");
        }
        fleet.stop().await.expect("graceful stop");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rescind_from_another_source_is_dead_lettered() {
    wrong_source_is_dead_lettered(false);
}

#[test]
fn a_signed_rescind_from_another_source_is_dead_lettered() {
    wrong_source_is_dead_lettered(true);
}

/// T1 closes, R1 (naming nothing) rescinds it, T2 of the same person closes, then R1's exact
/// bytes arrive again: a replay changes nothing, and it never lands on T2 (issued after R1).
#[test]
fn a_replayed_rescind_gives_nothing_back_from_a_later_termination() {
    let env = TestEnv::new("rescind-replay");
    env.block_on(async {
        let (fleet, metrics, _) = simulated_fleet(&env.cfg, WAIT).await;
        let t1 = env.leavers(1).remove(0);
        close(&env, &t1, &bytes_of(&t1, false)).await;

        let r1 = rescind(&t1, HR, "r1", false);
        let r1_bytes = bytes_of(&r1, false);
        env.publish_raw(Some(&r1.subject), &r1_bytes, &[]).await;
        let c1 = t1.case_id();
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest.get(&c1).is_some_and(|c| {
                    c.state == CaseState::Rescinded && c.restored.len() == c.targets.len()
                })
            })
            .await;
        assert!(
            log.latest[&c1].state == CaseState::Rescinded && !log.latest[&c1].restored.is_empty(),
            "R1 did not rescind T1: {}",
            revoke::cases::render(&log.latest[&c1])
        );

        let mut t2 = t1.clone();
        t2.id = format!("{}-again", t1.id);
        t2.time = chrono::Utc::now();
        t2.data.effective_at = Some(t2.time);
        assert!(t2.time > r1.time);
        let closed = close(&env, &t2, &bytes_of(&t2, false)).await;
        let before: Vec<RestoreRequest> = restore_requests(&env).await;

        let started = std::time::Instant::now();
        env.publish_raw(Some(&r1.subject), &r1_bytes, &[]).await;
        let replayed = || {
            metrics
                .verifier_notes
                .with_label_values(&["rescind_replayed"])
                .get()
        };
        while replayed() == 0 && started.elapsed() < WAIT {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Give the verifier and workers every chance to give something back wrongly.
        unchanged_after_a_pause(&env, &closed, "T2 after R1's replay").await;
        let after = restore_requests(&env).await;
        let for_t2: Vec<&RestoreRequest> = after
            .iter()
            .filter(|r| r.case_id == closed.case_id)
            .collect();
        assert!(for_t2.is_empty(), "restore requests for T2: {for_t2:?}");
        assert_eq!(after.len(), before.len(), "no restore request at all");
        for sim in fleet.simulators.values() {
            assert!(sim.all_revoked(&t2.subject), "nothing given back");
        }
        assert_eq!(replayed(), 1, "the verifier saw the replay as one");
        eprintln!("[{}] replay judged in {:?}", env.broker, started.elapsed());
        fleet.stop().await.expect("graceful stop");
    });
}

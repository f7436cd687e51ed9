//! Replays give nothing back: a rescind replayed after a new termination, a rescind behind a
//! correction, and a genuine restore request copied after a new termination.

use super::*;

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn a_replayed_rescind_gives_nothing_back_after_a_new_termination() {
    let (_serial, env) = real_broker("restores-replay");
    env.block_on(async {
        let (run, p, peers, cfg, metrics, components) = start(&env).await;

        let t1 = termination(&run, &p, 1);
        let c1 = publish_until_closed(&env, &t1, "T1 closes").await;
        let log = env.case_log().await;
        // T1's evidence is the full list of what P held (T2 finds deleted credentials gone).
        let t1_case = log.latest[&c1].clone();
        let dn = person_dn(&p, &log.latest[&c1].targets[&TargetKind::Directory].objects);
        let pw = format!("pw-{}", p.employee_id);
        assert!(!slapd::binds(&dn, &pw).await, "{dn} still binds after T1");

        // R1 names nothing: it applies to T1, issued before it. Access comes back.
        let r1 = kit::rescind(format!("{run}-r1"), identity(&p), None);
        let r1_bytes = publish_exact(&env, &r1).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&c1)
                    .is_some_and(|c| c.state == CaseState::Rescinded && c.restored.len() == 5)
            })
            .await;
        assert_eq!(log.latest[&c1].state, CaseState::Rescinded, "R1 rescinds T1");
        assert!(slapd::binds(&dn, &pw).await, "{dn} binds again after R1");
        let gitlab_uid = log.latest[&c1].targets[&TargetKind::Cicd]
            .objects
            .iter()
            .find(|o| o.object_kind == "account")
            .map(|o| o.object_id.clone())
            .expect("GitLab account in T1's evidence");
        let (_, user) = gitlab_get(peers.cicd().double().url(), &gitlab_uid).await;
        assert_eq!(user["state"], "active", "GitLab {gitlab_uid} unblocked after R1");

        // T2: terminated again, later, under a new id.
        let mut t2 = termination(&run, &p, 2);
        t2.time = chrono::Utc::now();
        let c2 = publish_until_closed(&env, &t2, "T2 closes").await;
        let log = env.case_log().await;
        assert!(log.latest[&c2].escalations.is_empty(), "{:?}", log.latest[&c2].escalations);
        all_revoked(&peers, &p, &t1_case).await;
        let restores_before = records(&env, &cfg.topics.restores).await.len();

        // R1 again, byte for byte: a replay. Nothing may come back.
        env.publish_raw(Some(&r1.subject), &r1_bytes, &[]).await;
        let replayed = metrics
            .verifier_notes
            .with_label_values(&["rescind_replayed"]);
        wait_until(SETTLE, "the verifier notes R1's replay (rescind_replayed)", || {
            replayed.get() >= 1
        })
        .await;
        // The verifier answered the replay; give any restore it might have asked for time to land.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let log = env.case_log().await;
        assert_eq!(
            log.latest[&c2].state,
            CaseState::Closed,
            "T2 stays closed: {}",
            revoke::cases::render(&log.latest[&c2])
        );
        assert!(log.latest[&c2].restored.is_empty(), "{:?}", log.latest[&c2].restored);
        assert_eq!(
            records(&env, &cfg.topics.restores).await.len(),
            restores_before,
            "no restore request after the replay"
        );
        all_revoked(&peers, &p, &t1_case).await;
        assert!(!slapd::binds(&dn, &pw).await, "{dn} binds after the replayed rescind");
        let (_, user) = gitlab_get(peers.cicd().double().url(), &gitlab_uid).await;
        assert_eq!(user["state"], "blocked", "GitLab {gitlab_uid} after the replay");
        println!(
            "restores-replay: replay noted {} time(s); restore requests on the topic: {restores_before}",
            replayed.get()
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn a_rescind_behind_a_correction_is_withheld_and_escalated() {
    let (_serial, env) = real_broker("restores-withheld");
    env.block_on(async {
        let (run, p, peers, cfg, _metrics, components) = start(&env).await;

        let t1 = termination(&run, &p, 1);
        let c1 = publish_until_closed(&env, &t1, "T1 closes").await;
        let t1_case = env.case_log().await.latest[&c1].clone();
        // A correction: HR terminates the same person again under a new id.
        let mut t2 = termination(&run, &p, 2);
        t2.time = chrono::Utc::now();
        publish_until_closed(&env, &t2, "T2 closes").await;

        // Then T1 is rescinded by name: T2 still stands, so nothing may come back.
        let r = kit::rescind(format!("{run}-r1"), identity(&p), Some(t1.id.clone()));
        publish_exact(&env, &r).await;
        let log = env
            .wait_cases(SETTLE, |l| {
                l.latest
                    .get(&c1)
                    .is_some_and(|c| c.restore_withheld.is_some())
            })
            .await;
        let case = &log.latest[&c1];
        assert!(
            case.restore_withheld.is_some(),
            "T1's case records restore_withheld: {}",
            revoke::cases::render(case)
        );
        assert!(case.restored.is_empty(), "{:?}", case.restored);
        let mut withheld = Vec::new();
        let deadline = Instant::now() + SETTLE;
        while withheld.is_empty() && Instant::now() < deadline {
            let all: Vec<Escalation> = env.read_json(&cfg.topics.escalations).await;
            withheld = all
                .into_iter()
                .filter(|e| {
                    e.identity_id == p.employee_id && e.reason == EscalationReason::RestoreWithheld
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            !withheld.is_empty(),
            "no restore_withheld escalation on {}",
            cfg.topics.escalations
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            records(&env, &cfg.topics.restores).await.is_empty(),
            "a restore request was published"
        );
        // At the peers: still revoked everywhere, as T1 left it.
        all_revoked(&peers, &p, &t1_case).await;
        println!(
            "restores-withheld: case {c1}: restore_withheld = {:?}; {} escalation(s)",
            case.restore_withheld,
            withheld.len()
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

/// How long a restore request may wait for its worker in the copied-request test.
const COPY_WINDOW_SECS: u64 = 60;

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn a_copied_restore_request_gives_nothing_back_after_a_new_termination() {
    let (_serial, mut env) = real_broker("restores-copied");
    let dir = require_signing(&mut env);
    env.cfg.worker.restore_max_age_secs = COPY_WINDOW_SECS;
    env.block_on(async {
        let (run, p, peers, cfg, metrics, components) = start(&env).await;

        // T1 closes, R1 rescinds it by name: access comes back (the genuine restore).
        let (t1, c1, t1_case) = close_signed(&env, &cfg, &run, &p, 1).await;
        let dn = person_dn(&p, &t1_case.targets[&TargetKind::Directory].objects);
        let pw = format!("pw-{}", p.employee_id);
        publish_signed(&cfg, &kit::rescind(format!("{run}-r1"), identity(&p), Some(t1.id.clone()))).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&c1)
                    .is_some_and(|c| c.state == CaseState::Rescinded && c.restored.len() == 5)
            })
            .await;
        let restored = log.latest[&c1].restored.clone();
        assert_eq!(
            restored.len(),
            5,
            "{}",
            revoke::cases::render(&log.latest[&c1])
        );
        assert!(slapd::binds(&dn, &pw).await, "{dn} binds again after R1");

        // The verifier's genuine request to the directory workers, exactly as written: value,
        // key, and the fleet signature header. Whoever can write the topic can copy it.
        let genuine = env
            .read_raw(&cfg.topics.restores)
            .await
            .into_iter()
            .find(|r| {
                r.payload
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<RestoreRequest>(b).ok())
                    .is_some_and(|q| q.case_id == c1 && q.target == TargetKind::Directory)
            })
            .expect("the verifier's restore request for the directory");
        let request: RestoreRequest =
            serde_json::from_slice(genuine.payload.as_deref().unwrap()).unwrap();
        assert!(
            genuine
                .headers
                .iter()
                .any(|(k, _)| k == revoke_shared::signing::FLEET_SIGNATURE_HEADER),
            "the genuine request is fleet-signed"
        );
        let copy = || async {
            let headers: Vec<(String, String)> = genuine
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
                .collect();
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let key = genuine
                .key
                .as_deref()
                .map(|k| std::str::from_utf8(k).unwrap());
            env.publish_raw_to(
                &cfg.topics.restores,
                key,
                genuine.payload.as_deref().unwrap(),
                &headers,
            )
            .await;
        };

        // T2: the same person terminated again; the directory locks them again.
        let (_, c2, _) = close_signed(&env, &cfg, &run, &p, 2).await;
        assert!(!slapd::binds(&dn, &pw).await, "{dn} binds after T2");

        let group = revoke::worker::group_for(&cfg, TargetKind::Directory);
        let letters = |want: usize| {
            let env = &env;
            let cfg = &cfg;
            let group = &group;
            async move {
                let deadline = Instant::now() + SETTLE;
                loop {
                    let all: Vec<DeadLetter> = env.read_json(&cfg.topics.dlq).await;
                    let got = letters_for(&all, group, request.request_id);
                    if got.len() >= want || Instant::now() > deadline {
                        return got;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let at_the_peer = |when: &'static str| {
            let (peers, p, t1_case, dn, pw, env) = (&peers, &p, &t1_case, &dn, &pw, &env);
            let restored = &restored;
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                assert!(!slapd::binds(dn, pw).await, "{dn} binds after {when}");
                all_revoked(peers, p, t1_case).await;
                let log = env.case_log().await;
                assert_eq!(log.latest[&c2].state, CaseState::Closed, "T2 after {when}");
                assert_eq!(&log.latest[&c1].restored, restored, "a report for {when}");
            }
        };

        // (1) A copy while the worker that carried out the genuine request still runs.
        copy().await;
        at_the_peer("a copy of the genuine restore request").await;
        assert_eq!(letters(1).await, vec!["restore_replayed".to_string()]);

        // (2) A fresh fleet (nothing in memory), at once: the fleet's claims log still knows.
        for c in components {
            c.stop().await.expect("graceful stop");
        }
        let components = peers::start_fleet(&cfg, &metrics, &Health::new()).await;
        assert!(
            chrono::Utc::now()
                < request.requested_at + chrono::Duration::seconds(COPY_WINDOW_SECS as i64),
            "the test took longer than the window before the restart's copy"
        );
        copy().await;
        at_the_peer("a copy after a restart, within the window").await;
        assert_eq!(letters(2).await, vec!["restore_replayed".to_string(); 2]);

        // (3) Again, once the request is older than the window.
        for c in components {
            c.stop().await.expect("graceful stop");
        }
        let stale_at =
            request.requested_at + chrono::Duration::seconds(COPY_WINDOW_SECS as i64 + 1);
        let wait = (stale_at - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let components = peers::start_fleet(&cfg, &metrics, &Health::new()).await;
        copy().await;
        at_the_peer("a late copy").await;
        let got = letters(3).await;
        assert_eq!(
            got,
            vec![
                "restore_replayed".to_string(),
                "restore_replayed".to_string(),
                "restore_stale".to_string()
            ],
            "past the window"
        );
        println!(
            "restores-copied: request {} copied three times: dead letters {got:?}; {dn} still locked",
            request.request_id
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

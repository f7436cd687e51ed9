//! What the verifier records after a case closed, with the simulated fleet on the embedded broker
//! (plain `cargo test`) and the real one (`REVOKE_TEST_KAFKA`): an access finding and a Shared
//! Signals delivery published on `revoke.confirmations` (as `revoke verify` / `revoke watch` and
//! `revoke signals` publish them) land in the closed case's record and on the escalations topic;
//! the same records again change nothing; another identity's, or an unknown case's, are
//! dead-lettered; with `[signing] required` an unsigned or forged finding is dead-lettered and
//! neither recorded nor escalated.

use revoke::cases::CaseLog;
use revoke::hr::Mode;
use revoke_shared::contract::{
    AccessFinding, Case, CaseState, DeliveredSet, DeliveryOutcome, Escalation, EscalationReason,
    FindingKind, HrEvent, Owner, SignalDelivery, TargetKind, TargetRef, WorkerInfo,
    ACCESS_FINDING_SCHEMA, SIGNAL_DELIVERY_SCHEMA,
};
use revoke_shared::secret::Secret;
use revoke_tests::fleet_kit::{simulated_fleet, wait_all_in};
use revoke_tests::TestEnv;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);
const HR_SECRET: &str = "hmac-secret-of-the-test-hr-source-0101";
const FLEET_SECRET: &str = "fleet-secret-for-the-after-close-tests-01";

/// The directory account of `case`'s person, read back enabled again by `revoke verify`.
fn finding(case: &Case, mark: &str) -> AccessFinding {
    let target = TargetRef {
        kind: TargetKind::Directory,
        instance: "simulated".into(),
    };
    let object_id = format!("directory:{}:0", case.identity_id);
    AccessFinding {
        schema: ACCESS_FINDING_SCHEMA.into(),
        finding_id: AccessFinding::id_for(
            case.case_id,
            FindingKind::AccessReturned,
            &target,
            "account",
            &object_id,
            mark,
        ),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        kind: FindingKind::AccessReturned,
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

fn delivery(case: &Case, outcome: DeliveryOutcome) -> SignalDelivery {
    let now = chrono::Utc::now();
    SignalDelivery {
        schema: SIGNAL_DELIVERY_SCHEMA.into(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        receiver: "crm".into(),
        outcome,
        sets: vec![DeliveredSet {
            jti: format!("jti-{}", case.case_id),
            event_type: "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
                .into(),
            via: "push".into(),
            delivered_at: (outcome == DeliveryOutcome::Delivered).then_some(now),
        }],
        owner: Owner {
            name: "crm-team".into(),
            contact: "crm@example.com".into(),
        },
        detail: if outcome == DeliveryOutcome::Overdue {
            "connection refused".into()
        } else {
            String::new()
        },
        at: now,
        transmitter: WorkerInfo {
            id: "signals-test".into(),
            version: "0".into(),
        },
    }
}

/// Publishes `value` on the confirmations topic keyed by `identity`, fleet-signed with `secret`.
async fn send<T: serde::Serialize>(env: &TestEnv, identity: &str, value: &T, secret: Option<&str>) {
    let topic = &env.cfg.topics.confirmations;
    let bytes = serde_json::to_vec(value).unwrap();
    let sig = secret.map(|s| {
        revoke_shared::signing::fleet_signature(
            &Secret::new(s),
            topic,
            identity.as_bytes(),
            &bytes,
            &[],
        )
    });
    let headers: Vec<(&str, &str)> = sig
        .iter()
        .map(|s| (revoke_shared::signing::FLEET_SIGNATURE_HEADER, s.as_str()))
        .collect();
    env.publish_raw_to(topic, Some(identity), &bytes, &headers)
        .await;
}

/// The escalations of case `id` on the escalations topic.
async fn escalations_of(env: &TestEnv, id: uuid::Uuid) -> Vec<Escalation> {
    let all: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
    all.into_iter().filter(|e| e.case_id == id).collect()
}

/// Waits up to 20 s until case `id` has `n` escalations on the escalations topic; returns them.
async fn wait_escalations(env: &TestEnv, id: uuid::Uuid, n: usize) -> Vec<Escalation> {
    let mut out = Vec::new();
    for _ in 0..100 {
        out = escalations_of(env, id).await;
        if out.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    out
}

/// Publishes `events` and returns their closed cases.
async fn closed_cases(env: &TestEnv, events: &[HrEvent], mode: Mode) -> Vec<Case> {
    env.publish(events, mode).await;
    let ids: Vec<uuid::Uuid> = events.iter().map(HrEvent::case_id).collect();
    let log = wait_all_in(env, WAIT, &ids, CaseState::Closed).await;
    ids.iter()
        .map(|id| {
            let c = log.latest.get(id).cloned().expect("case recorded");
            assert_eq!(c.state, CaseState::Closed, "[{}] {id}", env.broker);
            c
        })
        .collect()
}

fn case_of(log: &CaseLog, id: &uuid::Uuid) -> Case {
    log.latest[id].clone()
}

#[test]
fn a_finding_and_a_signal_delivery_after_close_are_recorded_and_escalated() {
    let env = TestEnv::new("after-close");
    env.block_on(async {
        let (fleet, metrics, _health) = simulated_fleet(&env.cfg, WAIT).await;
        let events = env.leavers(2);
        let cases = closed_cases(&env, &events, Mode::Structured).await;
        let (ada, bob) = (&cases[0], &cases[1]);

        // Access seen again and a receiver that did not accept in time, after ada's case closed.
        let found = finding(ada, "t1");
        send(&env, &ada.identity_id, &found, None).await;
        let overdue = delivery(ada, DeliveryOutcome::Overdue);
        send(&env, &ada.identity_id, &overdue, None).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&ada.case_id)
                    .is_some_and(|c| !c.findings.is_empty() && !c.signals.is_empty())
            })
            .await;
        let case = case_of(&log, &ada.case_id);
        let text = revoke::cases::render(&case);
        assert_eq!(case.state, CaseState::Escalated, "[{}] {text}", env.broker);
        assert_eq!(case.closed_at, ada.closed_at, "the close stays on record");
        assert_eq!(case.findings, vec![found.clone()]);
        assert_eq!(case.signals.len(), 1);
        assert_eq!(case.signals[0].outcome, DeliveryOutcome::Overdue);
        assert!(
            text.contains("!! ACCESS SEEN AGAIN AFTER CLOSE: 1 finding"),
            "{text}"
        );
        assert!(
            text.contains("read back: account is enabled again"),
            "{text}"
        );
        let escalations = wait_escalations(&env, ada.case_id, 2).await;
        let reasons: Vec<EscalationReason> = escalations.iter().map(|e| e.reason).collect();
        assert_eq!(
            reasons,
            vec![
                EscalationReason::AccessReturned,
                EscalationReason::SignalUndelivered
            ],
            "[{}] {escalations:?}",
            env.broker
        );
        assert_eq!(escalations[0].targets, vec![TargetKind::Directory]);
        assert!(escalations[0].detail.contains("account is enabled again"));
        assert_eq!(escalations[1].owner.name, "crm-team");
        for e in &escalations {
            assert!(case
                .escalations
                .iter()
                .any(|r| r.escalation_id == e.escalation_id));
        }

        // A delivery for bob's case, still closed: recorded, and the case stays closed.
        let to_bob = delivery(bob, DeliveryOutcome::Delivered);
        send(&env, &bob.identity_id, &to_bob, None).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&bob.case_id)
                    .is_some_and(|c| !c.signals.is_empty())
            })
            .await;
        let bob_now = case_of(&log, &bob.case_id);
        assert_eq!(bob_now.state, CaseState::Closed, "[{}]", env.broker);
        assert_eq!(bob_now.signals, vec![to_bob.clone()]);
        assert_eq!(bob_now.revision, bob.revision + 1);
        assert_eq!(bob_now.closed_at, bob.closed_at);
        assert_eq!(log.closed_versions[&bob.case_id], 1, "closed once");

        // The receiver accepts at last: recorded, the case's state unchanged.
        let delivered = delivery(ada, DeliveryOutcome::Delivered);
        send(&env, &ada.identity_id, &delivered, None).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest.get(&ada.case_id).is_some_and(|c| {
                    c.signals
                        .first()
                        .is_some_and(|s| s.outcome == DeliveryOutcome::Delivered)
                })
            })
            .await;
        let case = case_of(&log, &ada.case_id);
        assert_eq!(
            case.signals[0].outcome,
            DeliveryOutcome::Delivered,
            "[{}]",
            env.broker
        );
        assert_eq!(case.state, CaseState::Escalated);

        // Replays change nothing. Then, on the same partitions (same keys), a finding naming
        // bob's case under ada's identity and findings for cases nobody knows: once they are
        // dead-lettered, the replays before them were handled.
        send(&env, &ada.identity_id, &found, None).await;
        send(&env, &ada.identity_id, &overdue, None).await;
        send(&env, &ada.identity_id, &delivered, None).await;
        send(&env, &bob.identity_id, &to_bob, None).await;
        let mut other = finding(bob, "t1");
        other.identity_id = ada.identity_id.clone();
        send(&env, &ada.identity_id, &other, None).await;
        let mut stray = finding(ada, "t2");
        stray.case_id = uuid::Uuid::new_v4();
        send(&env, &ada.identity_id, &stray, None).await;
        let mut stray_bob = finding(bob, "t2");
        stray_bob.case_id = uuid::Uuid::new_v4();
        send(&env, &bob.identity_id, &stray_bob, None).await;
        let letters = env.dead_letters(3).await;
        let mut reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
        reasons.sort_unstable();
        assert_eq!(
            reasons,
            vec!["identity_mismatch", "unknown_case", "unknown_case"],
            "[{}]",
            env.broker
        );
        assert!(letters
            .iter()
            .all(|l| l.source_topic == env.cfg.topics.confirmations));
        let log = env.case_log().await;
        let after = case_of(&log, &ada.case_id);
        assert_eq!(after.revision, case.revision, "a replay publishes nothing");
        assert_eq!(
            case_of(&log, &bob.case_id),
            bob_now,
            "bob's case untouched by ada's"
        );
        assert_eq!(escalations_of(&env, ada.case_id).await.len(), 2);
        assert!(escalations_of(&env, bob.case_id).await.is_empty());
        // Two cases closed, each counted once: a closed case re-published with a delivery is
        // not a second close.
        let closes = |outcome: &str| {
            metrics
                .time_to_close
                .with_label_values(&[outcome])
                .get_sample_count()
        };
        assert_eq!(closes("closed") + closes("closed_after_escalation"), 2);

        fleet.stop().await.expect("graceful stop");
    });
}

/// With `[signing] required`, a finding must carry the fleet's signature: unsigned or forged it
/// is dead-lettered and neither recorded nor escalated; signed, it is.
#[test]
fn with_signing_required_an_unsigned_or_forged_finding_is_dead_lettered() {
    let mut env = TestEnv::new("after-close-signed");
    let dir = std::env::temp_dir().join(format!(
        "revoke-after-close-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, content: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{content}\n")).unwrap();
        Some(p.display().to_string())
    };
    env.cfg.signing.required = true;
    revoke_tests::evidence_kit::use_evidence_key(&mut env.cfg, &dir, [11; 32]);
    env.cfg.signing.fleet_secret_file = file("fleet.secret", FLEET_SECRET);
    env.cfg.signing.keys = vec![revoke_shared::signing::KeyConfig {
        source: "urn:revoke:test-hr".into(),
        key_id: None,
        algorithm: revoke_shared::signing::Algorithm::HmacSha256,
        public_key: None,
        secret_env: None,
        secret_file: file("hr.secret", HR_SECRET),
        private_key_env: None,
        private_key_file: None,
    }];
    env.block_on(async {
        let (fleet, _metrics, _health) = simulated_fleet(&env.cfg, WAIT).await;
        let ev = env.leavers(1).remove(0);
        let mut value = ev.to_structured_json();
        revoke_shared::signing::EventSigner::hmac(Secret::new(HR_SECRET), None)
            .sign(&ev)
            .add_to_structured(&mut value);
        env.publish_raw(Some(&ev.subject), &serde_json::to_vec(&value).unwrap(), &[])
            .await;
        let log = wait_all_in(&env, WAIT, &[ev.case_id()], CaseState::Closed).await;
        let closed = log.latest.get(&ev.case_id()).cloned().expect("case closed");
        assert_eq!(closed.state, CaseState::Closed, "[{}]", env.broker);

        let unsigned = finding(&closed, "unsigned");
        send(&env, &closed.identity_id, &unsigned, None).await;
        let forged = finding(&closed, "forged");
        send(
            &env,
            &closed.identity_id,
            &forged,
            Some("not-the-fleet-secret-but-long-enough-01"),
        )
        .await;
        let letters = env.dead_letters(2).await;
        let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec!["unsigned", "bad_signature"],
            "[{}]",
            env.broker
        );

        // Signed by the fleet, the same kind of record is taken (so the refusals above were
        // about the signature alone).
        let signed = finding(&closed, "signed");
        send(&env, &closed.identity_id, &signed, Some(FLEET_SECRET)).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&closed.case_id)
                    .is_some_and(|c| !c.findings.is_empty())
            })
            .await;
        let case = case_of(&log, &closed.case_id);
        assert_eq!(case.findings, vec![signed], "[{}]", env.broker);
        assert_eq!(case.state, CaseState::Escalated);
        let escalations = wait_escalations(&env, closed.case_id, 1).await;
        assert_eq!(
            escalations.len(),
            1,
            "only the signed finding escalates: {escalations:?}"
        );
        assert_eq!(escalations[0].reason, EscalationReason::AccessReturned);

        fleet.stop().await.expect("graceful stop");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

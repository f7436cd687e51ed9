//! Signed HR events, on the embedded broker (plain `cargo test`) and the real one
//! (`REVOKE_TEST_KAFKA`, the README's test command): with `[signing] required`, the fleet acts
//! only on events signed by a key of their source. Forged, unsigned and unknown-source events go
//! to the DLQ with their reason and revoke nothing; a signed termination closes its case; a
//! replayed signed event changes nothing; a rescind must be signed too; a signed scheduled
//! termination still fires from the due topic; `revoke publish --sign` signs with the configured
//! key; no secret reaches a topic.

use base64::Engine;
use chrono::Utc;
use revoke::cases::CaseLog;
use revoke::fleet::Fleet;
use revoke::hr::{publish_signed, Mode};
use revoke_shared::contract::{CaseState, Confirmation, DeadLetter, HrEvent, Outcome, TargetKind};
use revoke_shared::kafka::{read_to_end, Producer};
use revoke_shared::secret::Secret;
use revoke_shared::signing::{
    ed25519_public_key, Algorithm, EventSigner, KeyConfig, SignatureAttributes,
};
use revoke_tests::fleet_kit::{
    record_topics, rescind_of, simulated_fleet, verifier_dead_letters, wait_all_in,
};
use revoke_tests::{all_in_state, TestEnv};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);
const HMAC_SOURCE: &str = "urn:hr:workday";
const ED_SOURCE: &str = "urn:hr:sap";
/// Seeded into the config (through a file) and searched for in every topic afterwards.
const HMAC_SECRET: &str = "s3cr3t-hmac-key-for-signed-hr-events-0001";
const ED_SEED: [u8; 32] = [42; 32];
/// The fleet's own secret: the verifier signs what it hands to the workers with it.
const FLEET_SECRET: &str = "fleet-secret-shared-by-verifier-and-workers-01";
/// Consumers of `hr.terminations` in the default fleet: five worker groups and the verifier.
const CONSUMERS: usize = 6;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file in a directory of its own, removed with the directory when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "revoke-signing-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn file(&self, name: &str, content: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test namespace with signing required: an HMAC key (id `hr-2026`, secret from a file) for
/// `urn:hr:workday` and an Ed25519 key (public key inline, private key in a file for
/// `revoke publish --sign`) for `urn:hr:sap`.
///
/// The blast-radius guard is off here: every worker group reads `hr.terminations` itself, so
/// each of the six consumers must refuse forged events on its own (with the guard on only the
/// verifier reads them, through the same `parse_hr_input`, and releases only what passed).
fn signing_env(name: &str) -> (TestEnv, TempDir) {
    let mut env = TestEnv::new(name);
    env.cfg.verifier.guard.enabled = false;
    let dir = TempDir::new(name);
    let secret_file = dir.file("hmac.secret", &format!("{HMAC_SECRET}\n"));
    let seed_file = dir.file("ed25519.key", &hex(&ED_SEED));
    env.cfg.signing.required = true;
    revoke_tests::evidence_kit::use_evidence_key(&mut env.cfg, &dir.0, [11; 32]);
    env.cfg.signing.fleet_secret_file =
        Some(dir.file("fleet.secret", &format!("{FLEET_SECRET}\n")));
    env.cfg.signing.keys = vec![
        KeyConfig {
            source: HMAC_SOURCE.into(),
            key_id: Some("hr-2026".into()),
            algorithm: Algorithm::HmacSha256,
            public_key: None,
            secret_env: None,
            secret_file: Some(secret_file),
            private_key_env: None,
            private_key_file: None,
        },
        KeyConfig {
            source: ED_SOURCE.into(),
            key_id: None,
            algorithm: Algorithm::Ed25519,
            public_key: Some(ed25519_public_key(&ED_SEED)),
            secret_env: None,
            secret_file: None,
            private_key_env: None,
            private_key_file: Some(seed_file),
        },
    ];
    (env, dir)
}

fn hmac() -> EventSigner {
    EventSigner::hmac(Secret::new(HMAC_SECRET), Some("hr-2026".into()))
}

fn ed() -> EventSigner {
    EventSigner::ed25519(&ED_SEED, None)
}

/// Leavers with ids unique to this run, from `source`.
fn leavers(env: &TestEnv, n: usize, source: &str) -> Vec<HrEvent> {
    env.leavers(n)
        .into_iter()
        .map(|mut ev| {
            ev.source = source.into();
            ev
        })
        .collect()
}

async fn send(env: &TestEnv, events: &[(HrEvent, Option<SignatureAttributes>)], mode: Mode) {
    send_to(env, &env.cfg.topics.terminations, events, mode).await
}

async fn send_to(
    env: &TestEnv,
    topic: &str,
    events: &[(HrEvent, Option<SignatureAttributes>)],
    mode: Mode,
) {
    let producer = Producer::with_timeout(&env.cfg, Duration::from_secs(60)).expect("producer");
    publish_signed(&producer, topic, events, mode)
        .await
        .expect("publish");
}

/// The dead letters of the record keyed `subject`, by consumer group.
fn letters_of<'a>(all: &'a [DeadLetter], subject: &str) -> BTreeMap<String, &'a DeadLetter> {
    let b64 = base64::engine::general_purpose::STANDARD;
    all.iter()
        .filter(|l| l.key_base64.as_deref() == Some(b64.encode(subject).as_str()))
        .map(|l| (l.rejected_by.clone(), l))
        .collect()
}

/// No target touched anything of `subject`.
/// Waits for case `id` to close, and asserts it did.
async fn wait_closed(env: &TestEnv, id: uuid::Uuid) -> CaseLog {
    let log = wait_all_in(env, WAIT, &[id], CaseState::Closed).await;
    assert_eq!(
        log.latest.get(&id).map(|c| c.state),
        Some(CaseState::Closed)
    );
    log
}

fn untouched(fleet: &Fleet, subject: &str) -> bool {
    TargetKind::ALL
        .iter()
        .all(|k| fleet.simulators[k].actions_for(subject).is_empty())
}

/// Every record of every topic, raw, searched for the seeded secrets.
async fn assert_no_secret_in_any_topic(env: &TestEnv) {
    let cfg = env.cfg.clone();
    let needles = [
        HMAC_SECRET.to_string(),
        FLEET_SECRET.to_string(),
        hex(&ED_SEED),
        base64::engine::general_purpose::STANDARD.encode(ED_SEED),
    ];
    tokio::task::spawn_blocking(move || {
        for topic in record_topics(&cfg.topics) {
            for r in read_to_end(&cfg, &topic, Duration::from_secs(30)).unwrap() {
                let text = format!(
                    "{} {}",
                    String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()),
                    String::from_utf8_lossy(r.payload.as_deref().unwrap_or_default())
                );
                for n in &needles {
                    assert!(!text.contains(n.as_str()), "a signing secret is in {topic}");
                }
            }
        }
    })
    .await
    .unwrap();
}

#[test]
fn forged_unsigned_and_unknown_source_events_revoke_nothing_and_a_replay_changes_nothing() {
    let (env, _dir) = signing_env("signed");
    env.block_on(async {
        let (fleet, metrics, _) = simulated_fleet(&env.cfg, WAIT).await;

        let mut hr = leavers(&env, 6, HMAC_SOURCE);
        let mut sap = leavers(&env, 2, ED_SOURCE);
        sap.iter_mut().for_each(|e| {
            // Distinct identities from the HMAC source's.
            e.subject = format!("S{}", e.subject);
            e.data.identity.employee_id = e.subject.clone();
        });
        let good_hmac = hr[0].clone();
        let good_ed = sap[0].clone();

        // Signed, then the username changed to point the revocation at someone else.
        let redirected_sig = hmac().sign(&hr[1]);
        hr[1].data.identity.username = Some("ceo".into());
        // From a source without a key, signed with a key of its own.
        hr[3].source = "urn:hr:rogue".into();
        let rogue_sig = EventSigner::hmac(Secret::new("rogue-".repeat(8)), None).sign(&hr[3]);
        let bad: Vec<(&str, HrEvent, Option<SignatureAttributes>, Mode)> = vec![
            (
                "bad_signature",
                hr[1].clone(),
                Some(redirected_sig),
                Mode::Structured,
            ),
            ("unsigned", hr[2].clone(), None, Mode::Binary),
            (
                "unknown_source",
                hr[3].clone(),
                Some(rogue_sig),
                Mode::Structured,
            ),
            (
                "bad_signature",
                hr[4].clone(),
                // Right key id, wrong secret.
                Some(
                    EventSigner::hmac(
                        Secret::new("not-the-hmac-secret-but-long-enough-0001"),
                        Some("hr-2026".into()),
                    )
                    .sign(&hr[4]),
                ),
                Mode::Binary,
            ),
            (
                "bad_signature",
                sap[1].clone(),
                // Another Ed25519 key.
                Some(EventSigner::ed25519(&[1; 32], None).sign(&sap[1])),
                Mode::Structured,
            ),
            (
                "wrong_algorithm",
                hr[5].clone(),
                // An Ed25519 signature for a source that has an HMAC key.
                Some(EventSigner::ed25519(&ED_SEED, Some("hr-2026".into())).sign(&hr[5])),
                Mode::Binary,
            ),
        ];
        for (_, ev, sig, mode) in &bad {
            send(&env, &[(ev.clone(), sig.clone())], *mode).await;
        }
        send(
            &env,
            &[(good_hmac.clone(), Some(hmac().sign(&good_hmac)))],
            Mode::Structured,
        )
        .await;
        send(
            &env,
            &[(good_ed.clone(), Some(ed().sign(&good_ed)))],
            Mode::Binary,
        )
        .await;

        let good_ids = [good_hmac.case_id(), good_ed.case_id()];
        let log = wait_all_in(&env, WAIT, &good_ids, CaseState::Closed).await;
        for id in &good_ids {
            assert_eq!(
                log.latest.get(id).map(|c| c.state),
                Some(CaseState::Closed),
                "[{}] a correctly signed termination closes its case",
                env.broker
            );
        }
        for ev in [&good_hmac, &good_ed] {
            for kind in TargetKind::ALL {
                assert!(fleet.simulators[&kind].all_revoked(&ev.subject), "{kind}");
            }
        }

        // Every consumer refused every bad record, with its reason and its original bytes, and
        // nothing was revoked nor any case opened for them.
        let all = env.dead_letters(bad.len() * CONSUMERS).await;
        for (reason, ev, _, _) in &bad {
            let mine = letters_of(&all, &ev.subject);
            assert_eq!(
                mine.len(),
                CONSUMERS,
                "[{}] {reason} ({}): refused by {:?}",
                env.broker,
                ev.subject,
                mine.keys().collect::<Vec<_>>()
            );
            for (consumer, l) in &mine {
                assert_eq!(
                    l.reason, *reason,
                    "{consumer} on {}: {}",
                    ev.subject, l.detail
                );
                assert_eq!(l.source_topic, env.cfg.topics.terminations);
                assert!(l.payload().is_some_and(|p| !p.is_empty()));
                assert!(!l.detail.contains(HMAC_SECRET));
            }
            assert!(
                untouched(&fleet, &ev.subject),
                "{reason}: {} was revoked",
                ev.subject
            );
            assert!(
                !log.latest.contains_key(&ev.case_id()),
                "{reason}: a case was opened for {}",
                ev.subject
            );
        }
        assert!(untouched(&fleet, "ceo"));
        let dlq_signed = verifier_dead_letters(
            &metrics,
            &env.cfg,
            &[
                "bad_signature",
                "unsigned",
                "unknown_source",
                "wrong_algorithm",
            ],
        );
        assert_eq!(dlq_signed, bad.len() as u64, "the verifier's DLQ metric");

        // A replay of the signed event: valid signature, old id. The workers find nothing left
        // to revoke and the verifier absorbs it: no new case version.
        let case_id = good_hmac.case_id();
        let versions = |records: &[serde_json::Value]| {
            records
                .iter()
                .filter(|c| c["case_id"] == case_id.to_string())
                .count()
        };
        let before = versions(
            &env.read_json::<serde_json::Value>(&env.cfg.topics.cases)
                .await,
        );
        let actions_before: Vec<Vec<(String, u32)>> = TargetKind::ALL
            .iter()
            .map(|k| fleet.simulators[k].actions_for(&good_hmac.subject))
            .collect();
        send(
            &env,
            &[(good_hmac.clone(), Some(hmac().sign(&good_hmac)))],
            Mode::Structured,
        )
        .await;
        // Then a new signed termination of the same identity: same key, same partition, so once
        // it closed every consumer is past the replay.
        let mut later = good_hmac.clone();
        later.id = format!("{}-again", good_hmac.id);
        later.time = Utc::now();
        send(
            &env,
            &[(later.clone(), Some(hmac().sign(&later)))],
            Mode::Structured,
        )
        .await;
        let log = wait_closed(&env, later.case_id()).await;
        assert_eq!(
            versions(
                &env.read_json::<serde_json::Value>(&env.cfg.topics.cases)
                    .await
            ),
            before,
            "the replay published a new version of its case"
        );
        assert_eq!(log.closed_versions[&case_id], 1);
        let actions_after: Vec<Vec<(String, u32)>> = TargetKind::ALL
            .iter()
            .map(|k| fleet.simulators[k].actions_for(&good_hmac.subject))
            .collect();
        assert_eq!(actions_before, actions_after, "the replay changed a target");
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        let replayed: Vec<Outcome> = confirmations
            .iter()
            .filter(|c| c.case_id == case_id)
            .map(|c| c.outcome)
            .collect();
        assert_eq!(replayed.len(), 2 * TargetKind::ALL.len(), "{replayed:?}");
        assert!(
            replayed.iter().filter(|o| **o == Outcome::Revoked).count() <= TargetKind::ALL.len(),
            "the replay revoked again: {replayed:?}"
        );

        assert_no_secret_in_any_topic(&env).await;
        fleet.stop().await.expect("graceful stop");
    });
}

#[test]
fn a_rescind_must_be_signed_and_a_signed_scheduled_termination_fires_from_the_due_topic() {
    let (env, _dir) = signing_env("signed-due");
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;

        // A signed termination dated 10 s ahead, and an unsigned rescind of it.
        let mut dated = leavers(&env, 1, HMAC_SOURCE).remove(0);
        dated.time = Utc::now();
        dated.data.effective_at = Some(dated.time + chrono::Duration::seconds(10));
        assert!(dated.is_scheduled());
        let forged_rescind = rescind_of(&dated);
        send(&env, &[(dated.clone(), Some(hmac().sign(&dated)))], Mode::Binary).await;
        send(&env, &[(forged_rescind.clone(), None)], Mode::Structured).await;

        // A signed termination now, then its signed rescind.
        let mut now = leavers(&env, 1, ED_SOURCE).remove(0);
        now.subject = format!("S{}", now.subject);
        now.data.identity.employee_id = now.subject.clone();
        send(&env, &[(now.clone(), Some(ed().sign(&now)))], Mode::Structured).await;
        wait_closed(&env, now.case_id()).await;
        let rescind = rescind_of(&now);
        send(&env, &[(rescind.clone(), Some(ed().sign(&rescind)))], Mode::Binary).await;

        // On the due topic only what the verifier signed with the fleet secret counts: a record
        // with (a stolen) HR signature but none of the fleet's is refused, and so is one whose
        // fleet signature is made up.
        let mut smuggled = leavers(&env, 1, HMAC_SOURCE).remove(0);
        smuggled.subject = format!("D{}", smuggled.subject);
        smuggled.data.identity.employee_id = smuggled.subject.clone();
        let stolen = hmac().sign(&dated);
        send_to(
            &env,
            &env.cfg.topics.due,
            &[(smuggled.clone(), Some(stolen))],
            Mode::Structured,
        )
        .await;
        let mut forged_fleet = leavers(&env, 1, HMAC_SOURCE).remove(0);
        forged_fleet.subject = format!("F{}", forged_fleet.subject);
        forged_fleet.data.identity.employee_id = forged_fleet.subject.clone();
        let made_up = format!("hmac-sha256={}", "ab".repeat(32));
        env.publish_raw_to(
            &env.cfg.topics.due,
            Some(&forged_fleet.subject),
            serde_json::to_vec(&forged_fleet.to_structured_json()).unwrap().as_slice(),
            &[(revoke_shared::signing::FLEET_SIGNATURE_HEADER, made_up.as_str())],
        )
        .await;

        let log = env
            .wait_cases(WAIT, |l| {
                all_in_state(l, &[dated.case_id()], CaseState::Closed)
                    && all_in_state(l, &[now.case_id()], CaseState::Rescinded)
            })
            .await;
        let case = &log.latest[&dated.case_id()];
        assert_eq!(
            case.state,
            CaseState::Closed,
            "[{}] the signed scheduled termination fired from the due topic despite the unsigned rescind",
            env.broker
        );
        assert!(case.rescinded_by.is_none());
        for kind in TargetKind::ALL {
            assert!(fleet.simulators[&kind].all_revoked(&dated.subject), "{kind}");
        }
        let case = &log.latest[&now.case_id()];
        assert_eq!(case.state, CaseState::Rescinded, "the signed rescind applies");
        assert_eq!(case.rescinded_by.as_deref(), Some("hr:people-ops"));

        let all = env.dead_letters(CONSUMERS + 2 * TargetKind::ALL.len()).await;
        let refused = letters_of(&all, &forged_rescind.subject);
        assert_eq!(refused.len(), CONSUMERS, "{:?}", refused.keys().collect::<Vec<_>>());
        for (consumer, l) in &refused {
            assert_eq!(l.reason, "unsigned", "{consumer}: {}", l.detail);
            assert_eq!(l.source_topic, env.cfg.topics.terminations);
        }
        // The due topic is read by the five worker groups only.
        for (who, reason) in [(&smuggled.subject, "unsigned"), (&forged_fleet.subject, "bad_signature")] {
            let refused = letters_of(&all, who);
            assert_eq!(refused.len(), TargetKind::ALL.len(), "{:?}", refused.keys().collect::<Vec<_>>());
            for (consumer, l) in &refused {
                assert_eq!(l.reason, reason, "{consumer}: {}", l.detail);
                assert_eq!(l.source_topic, env.cfg.topics.due);
            }
            assert!(untouched(&fleet, who));
        }
        // The verifier's own (fleet-signed) due record of the scheduled case was never refused.
        let b64 = |s: &str| Some(base64::engine::general_purpose::STANDARD.encode(s));
        assert!(
            all.iter()
                .filter(|l| l.source_topic == env.cfg.topics.due)
                .all(|l| l.key_base64 == b64(&smuggled.subject) || l.key_base64 == b64(&forged_fleet.subject)),
            "a due record was refused"
        );

        assert_no_secret_in_any_topic(&env).await;
        fleet.stop().await.expect("graceful stop");
    });
}

#[test]
fn revoke_publish_signs_with_the_configured_key_and_never_prints_it() {
    let (mut env, dir) = signing_env("signed-cli");
    // As deployed: the guard on, so the workers act only on what the verifier released on the
    // due topic, fleet-signed.
    env.cfg.verifier.guard.enabled = true;
    // The binary reads the same settings from a config file.
    let config = dir.file(
        "revoke.toml",
        &toml::to_string(&env.cfg).expect("the config serialises"),
    );
    env.block_on(async {
        let (fleet, _, _) = simulated_fleet(&env.cfg, WAIT).await;
        let run = |args: &[&str]| {
            let out = std::process::Command::new(revoke_tests::procs::revoke_bin())
                .args(["--config", config.as_str(), "--metrics-listen", ""])
                .args(args)
                .env("REVOKE_LOG", "info")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run revoke");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !text.contains(HMAC_SECRET) && !text.contains(&hex(&ED_SEED)),
                "{text}"
            );
            (out.status.code(), text)
        };
        // Every topic has leaders before anything is published (`revoke publish` waits for its
        // own topic too, bounded): what fails below is about signing, never about a broker still
        // electing leaders after the groups joined.
        let topics: Vec<String> = revoke::topics::topic_specs(&env.cfg)
            .into_iter()
            .map(|s| s.name)
            .collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        revoke_shared::leaders::wait_for_leaders(&env.cfg, &topics, WAIT)
            .expect("every topic has partition leaders");
        let published =
            |n: usize| format!("published {n} events to {}", env.cfg.topics.terminations);

        // Two generated leavers per source, one source in binary mode (blocking this thread is
        // fine: the fleet runs on the runtime's workers).
        for (source, binary) in [(HMAC_SOURCE, false), (ED_SOURCE, true)] {
            let mut args = vec!["publish", "--sign"];
            if binary {
                args.push("--binary");
            }
            args.extend(["--generate", "2", "--source", source]);
            let (code, text) = run(&args);
            assert_eq!(code, Some(0), "{text}");
            assert!(text.contains(&published(2)), "{text}");
        }
        // Without --sign: published, and refused by the fleet.
        let (code, text) = run(&["publish", "--generate", "1", "--source", HMAC_SOURCE]);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains(&published(1)), "{text}");
        // No key to sign with: a usage error, and nothing is sent.
        let (code, text) = run(&[
            "publish",
            "--sign",
            "--generate",
            "1",
            "--source",
            "urn:hr:rogue",
        ]);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("no [[signing.keys]] entry"), "{text}");
        assert!(!text.contains("published"), "{text}");

        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .values()
                    .filter(|c| c.state == CaseState::Closed)
                    .map(|c| 1 + c.joined.len())
                    .sum::<usize>()
                    >= 4
            })
            .await;
        // Both sources' generated leavers are the same two people: a second source's
        // termination arriving while the first's case is live joins it (one person, one case),
        // so count terminations per source over the cases' own and joined ones.
        let mut closed: BTreeMap<String, usize> = BTreeMap::new();
        for c in log.latest.values() {
            assert_eq!(c.state, CaseState::Closed, "{:?}", c.source);
            *closed
                .entry(c.source.clone().unwrap_or_default())
                .or_default() += 1;
            for j in &c.joined {
                *closed.entry(j.source.clone()).or_default() += 1;
            }
        }
        assert_eq!(
            closed,
            BTreeMap::from([(HMAC_SOURCE.to_string(), 2), (ED_SOURCE.to_string(), 2)])
        );
        // With the guard on only the verifier reads the terminations: one dead letter for the
        // unsigned event, and the four signed leavers closed through fleet-signed releases.
        let all = env.dead_letters(1).await;
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(all.iter().all(|l| l.reason == "unsigned"), "{all:?}");
        assert_eq!(all[0].rejected_by, revoke::verifier::group(&env.cfg));
        let due = env
            .read_json::<serde_json::Value>(&env.cfg.topics.due)
            .await;
        // One release per case: a termination that joined a live case is not released again
        // (whether the second source's arrive while the first's cases are live is a race).
        assert_eq!(due.len(), log.latest.len(), "one release per case");
        assert!((2..=4).contains(&due.len()), "{due:?}");
        assert_no_secret_in_any_topic(&env).await;
        fleet.stop().await.expect("graceful stop");
    });
}

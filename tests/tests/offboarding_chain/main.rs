//! Issue 13 end to end, on the real broker against the real peers and the independent SSF
//! receiver: a leaver's sessions die at the identity provider, every app that speaks Shared
//! Signals hears it, and access that comes back afterwards is reported.
//!
//! 1. A leaver and a look-alike bystander (names sharing the leaver's prefix) are seeded at all
//!    five real peers, at Keycloak each signed in online and offline (password grant, an
//!    `offline_access` refresh token), and both sign-ins are shown live with plain HTTP. The
//!    fleet: one worker per kind on its real adapter (the directory as OpenLDAP `ldap` +
//!    Keycloak `sso`), the verifier, and `revoke signals` pushing ES256 SETs to the receiver
//!    (`tests/services/ssf_receiver.py`, PyJWT; it checks every SET itself).
//! 2. The termination closes the case; at Keycloak the leaver's refresh and offline refresh
//!    answer `invalid_grant`, introspection says inactive, a password sign-in fails; the
//!    bystander's sessions still work.
//! 3. The receiver accepted exactly what the evidence owes (CAEP `session-revoked` per
//!    session-bearing target — the directory's for the Keycloak sessions —, `credential-change`
//!    per revoked password or certificate, RISC `account-disabled`), subject the leaver's email,
//!    `txn` the case id; the case on `revoke.cases` lists those jtis as delivered.
//! 4. An administrator re-enables the leaver at Keycloak by hand and the leaver signs in. The
//!    `revoke watch` binary reports it: the case is `escalated` with a sign-in finding from the
//!    `sso` instance, `access_after_departure` goes to the directory's owner, and the receiver
//!    gets one more `session-revoked`. `revoke verify --identity <leaver>` exits 3 and publishes
//!    an `access_returned` finding for the Keycloak account, which the case then lists.
//! 5. Nothing is reported for the bystander: no case, finding, escalation or SET names them.
//!
//! Needs the README's test command (it starts Kafka and the peers and passes their addresses).

#[path = "../peers/mod.rs"]
mod peers;

mod binaries;
mod checks;
mod waits;

use checks::{event_timestamp, jtis, only_the_leaver, recorded_jtis, sets};
use peers::{idp::PASSWORD, termination, Peers};
use revoke::hr::Mode;
use revoke_shared::config::SignalKeyConfig;
use revoke_shared::contract::{
    Case, CaseState, DeliveryOutcome, Escalation, EscalationReason, FindingKind, ObjectOutcome,
    Owner, TargetKind,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::keycloak::Keycloak;
use revoke_tests::ssf_receiver::{
    event_type, expected, got, key_file, receiver, scratch, Rx, SESSION_REVOKED,
};
use revoke_tests::ssf_transmitter::{listener, quick, start};
use revoke_tests::TestEnv;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use waits::until;

/// Bound of each wait for the fleet (closing the case, delivering SETs).
const WAIT: Duration = Duration::from_secs(180);
/// Bound of each wait for the watch: many poll intervals.
const WATCH_WAIT: Duration = Duration::from_secs(60);
pub const RECEIVER: &str = "apps";
const AUD: &str = "https://apps.example";
const TOKEN: &str = "chain-ssf-token-never-print-me";
const SESSION_KINDS: [&str; 4] = ["session", "offline_session", "issued_sessions", "consent"];

fn directory_owner() -> Owner {
    Owner {
        name: "identity-team".into(),
        contact: "identity-team@example.com".into(),
    }
}

#[test]
#[ignore = "needs the real broker, every peer and the SSF receiver: run the README's test command"]
fn sessions_die_receivers_hear_it_and_access_that_comes_back_is_reported() {
    let began = Instant::now();
    let env = TestEnv::new("offboarding-chain");
    assert_eq!(
        env.broker, "kafka",
        "this test proves the real broker: set REVOKE_TEST_KAFKA"
    );
    let dir = scratch("chain");
    env.block_on(async {
        // --- 1. The peers, the fleet, the transmitter and the receiver -------------------------
        let (run, peers, people, bystander) = Peers::seeded_with_idp(1).await;
        let leaver = &people[0];
        let idp = peers.idp().expect("the identity provider is in");
        // Both people's Keycloak sign-ins are live: refresh and offline refresh work, the token
        // introspects active, the sessions are listed, the account is enabled.
        idp.check_untouched(leaver).await;
        idp.check_untouched(&bystander).await;

        let mut cfg = env.cfg.clone();
        cfg.worker.instance = "chain".into();
        cfg.verifier.deadline_secs = 600;
        cfg.verifier
            .owners
            .insert(TargetKind::Directory.as_str().into(), directory_owner());
        peers.configure(&mut cfg);
        let (l, issuer) = listener().await;
        let rx = Rx::start(
            &issuer,
            AUD,
            dir.join("apps.jsonl"),
            &["--token".into(), TOKEN.into()],
        );
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        quick(&mut cfg);
        cfg.signals.issuer = Some(issuer.clone());
        cfg.signals.keys = vec![SignalKeyConfig {
            kid: "chain-es256".into(),
            alg: "ES256".into(),
            private_key_env: None,
            private_key_file: Some(key_file(&dir, "es", "EC")),
        }];
        cfg.signals.receivers = BTreeMap::from([(
            RECEIVER.to_string(),
            receiver(
                "push",
                Some(rx.url()),
                AUD,
                Some(token_file.display().to_string()),
                600,
            ),
        )]);
        let metrics = Metrics::new();
        let health = Health::new();
        let components = peers::start_fleet(&cfg, &metrics, &health).await;
        let tx = start(&cfg, Some(l));

        // --- 2. The termination; the sessions are dead at Keycloak ----------------------------
        let term = termination(&run, leaver, 0);
        let case_id = revoke_tests::case_ids(std::slice::from_ref(&term))[0];
        let published = Instant::now();
        env.publish(&[term], Mode::Structured).await;
        let case: Case = until("the leaver's case closed on revoke.cases", WAIT, || async {
            let log = env.case_log().await;
            match log.latest.get(&case_id) {
                Some(c) if c.state == CaseState::Closed => Ok(c.clone()),
                Some(c) => Err(revoke::cases::render(c)),
                None => Err("no case yet".into()),
            }
        })
        .await;
        let closed_after = published.elapsed();
        assert!(case.escalations.is_empty(), "{:?}", case.escalations);
        for kind in TargetKind::ALL {
            // Every object the evidence names is gone at its peer (at Keycloak: both refresh
            // tokens `invalid_grant`, the access token inactive, no session, user disabled).
            peers
                .check_evidence(kind, leaver, &case.targets[&kind].objects)
                .await;
        }
        let kc = Keycloak::from_env();
        let refused = kc.password_login(&leaver.username, PASSWORD, false).await;
        assert!(
            refused.is_err(),
            "the leaver still signs in with a password at Keycloak: {refused:?}"
        );
        idp.check_untouched(&bystander).await;

        // --- 3. The receiver got exactly what the evidence owes; the case records it ----------
        let directory = &case.targets[&TargetKind::Directory];
        let kc_sessions: Vec<_> = directory
            .objects
            .iter()
            .filter(|o| {
                o.object_id.starts_with("sso:")
                    && SESSION_KINDS.contains(&o.object_kind.as_str())
                    && o.outcome == ObjectOutcome::Revoked
            })
            .collect();
        assert!(
            kc_sessions.iter().any(|o| o.object_kind == "session")
                && kc_sessions.iter().any(|o| o.object_kind == "offline_session"),
            "the directory's evidence holds the revoked Keycloak sessions: {:#?}",
            directory.objects
        );
        let want = expected(std::slice::from_ref(&case));
        let email = leaver.email.clone();
        let txn = case_id.to_string();
        for owed in [
            (SESSION_REVOKED, "the directory's (Keycloak) sessions"),
            (revoke_tests::ssf_receiver::ACCOUNT_DISABLED, "the closed case"),
        ] {
            assert!(
                want.contains(&(owed.0.to_string(), txn.clone(), email.clone())),
                "the evidence owes a {} for {}: {want:?}",
                owed.0,
                owed.1
            );
        }
        let delivered = until("every owed SET at the receiver", WAIT, || async {
            let have = sets(&rx);
            if got(&have).len() >= want.len() {
                Ok(have)
            } else {
                Err(format!(
                    "accepted {:?}, refused {:?}; owed {want:?}",
                    got(&have),
                    rx.refused()
                ))
            }
        })
        .await;
        let all_sets_after = published.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let delivered_now = sets(&rx);
        assert_eq!(got(&delivered_now), want, "exactly the owed SETs");
        assert_eq!(delivered_now.len(), delivered.len(), "nothing more");
        assert_eq!(rx.duplicates(), 0, "a SET delivered twice");
        assert!(rx.refused().is_empty(), "{:?}", rx.refused());
        for a in &delivered_now {
            assert_eq!(a["header"]["alg"], "ES256", "{a}");
            assert_eq!(a["header"]["kid"], "chain-es256", "{a}");
            assert_eq!(a["claims"]["iss"], issuer.as_str(), "{a}");
            assert_eq!(a["claims"]["aud"], AUD, "{a}");
            assert_eq!(a["claims"]["sub_id"]["format"], "email", "{a}");
        }
        // The directory's session-revoked is dated by its latest session removal (docs/signals.md).
        let kc_removed = kc_sessions
            .iter()
            .filter_map(|o| o.removed_at)
            .max()
            .expect("the Keycloak sessions' removal time")
            .timestamp();
        assert!(
            delivered_now.iter().any(|a| event_type(a) == SESSION_REVOKED
                && event_timestamp(a) == Some(kc_removed)),
            "no session-revoked dated {kc_removed} (the Keycloak sessions' removal): {delivered_now:#?}"
        );
        let first_jtis = jtis(&delivered_now);
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for a in &delivered_now {
            *kinds.entry(event_type(a)).or_default() += 1;
        }
        println!("the receiver verified and accepted {kinds:?}");
        until("the case recording every accepted jti as delivered", WAIT, || async {
            let log = env.case_log().await;
            let c = &log.latest[&case_id];
            let entry = c.signals.iter().find(|d| d.receiver == RECEIVER);
            if recorded_jtis(c) == first_jtis
                && entry.is_some_and(|d| d.outcome == DeliveryOutcome::Delivered)
                && c.state == CaseState::Closed
            {
                Ok(())
            } else {
                Err(format!("case {:?} signals {:?}; accepted {first_jtis:?}", c.state, c.signals))
            }
        })
        .await;

        // --- 4. Access comes back: a sign-in after departure, and the account enabled again ---
        let uid = idp.user_id(leaver);
        kc.set_enabled(&uid, true).await;
        kc.password_login(&leaver.username, PASSWORD, false)
            .await
            .unwrap_or_else(|e| panic!("the re-enabled leaver signs in: {e:?}"));
        let signed_in = Instant::now();
        // The look-alike signs in too, after the leaver's departure: never the leaver's sign-in.
        kc.password_login(&bystander.username, PASSWORD, false)
            .await
            .unwrap_or_else(|e| panic!("the bystander signs in: {e:?}"));
        let watch = tokio::task::spawn_blocking({
            let (cfg, dir) = (cfg.clone(), dir.clone());
            move || binaries::spawn_watch(&cfg, &dir)
        })
        .await
        .unwrap();
        let reopened: Case = until(
            "the case escalated with the sign-in after departure",
            WATCH_WAIT,
            || async {
                let log = env.case_log().await;
                let c = &log.latest[&case_id];
                let signed = c
                    .findings
                    .iter()
                    .any(|f| f.kind == FindingKind::SignInAfterDeparture);
                if c.state == CaseState::Escalated && signed {
                    Ok(c.clone())
                } else {
                    Err(format!(
                        "case {:?}, findings {:?}; watch metrics:\n{}",
                        c.state,
                        c.findings,
                        watch.metrics()
                    ))
                }
            },
        )
        .await;
        let reported_after = signed_in.elapsed();
        let sign_in = reopened
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::SignInAfterDeparture)
            .unwrap()
            .clone();
        assert_eq!(
            (sign_in.target.kind, sign_in.target.instance.as_str()),
            (TargetKind::Directory, "sso"),
            "{sign_in:?}"
        );
        assert_eq!(
            (sign_in.identity_id.as_str(), sign_in.object_kind.as_str()),
            (leaver.employee_id.as_str(), "sign_in"),
            "{sign_in:?}"
        );
        assert!(
            sign_in.observed_at.timestamp() >= kc_removed,
            "a sign-in before the removal was reported: {sign_in:?}"
        );
        assert!(reopened.closed_at.is_some(), "closed_at is kept");
        let escalation = until(
            "access_after_departure on revoke.escalations",
            WAIT,
            || async {
                let all: Vec<Escalation> = env.read_json(&cfg.topics.escalations).await;
                all.iter()
                    .find(|e| e.reason == EscalationReason::AccessAfterDeparture)
                    .cloned()
                    .ok_or(format!("escalations: {all:?}"))
            },
        )
        .await;
        assert_eq!(escalation.case_id, case_id);
        assert_eq!(escalation.identity_id, leaver.employee_id);
        assert_eq!(escalation.owner, directory_owner(), "the directory's owner");
        assert_eq!(escalation.targets, vec![TargetKind::Directory]);
        // One more session-revoked for the finding, dated by the sign-in.
        let more = until("the session-revoked owed for the sign-in", WAIT, || async {
            let have = sets(&rx);
            let new: Vec<Value> = have
                .into_iter()
                .filter(|a| !first_jtis.contains(a["claims"]["jti"].as_str().unwrap()))
                .collect();
            if new.is_empty() {
                Err(format!("nothing new; refused {:?}", rx.refused()))
            } else {
                Ok(new)
            }
        })
        .await;
        let resignal_after = signed_in.elapsed();
        assert_eq!(more.len(), 1, "one SET per sign-in finding: {more:#?}");
        let extra = &more[0];
        assert_eq!(event_type(extra), SESSION_REVOKED, "{extra}");
        assert_eq!(extra["claims"]["txn"], txn.as_str(), "{extra}");
        assert_eq!(extra["claims"]["sub_id"]["email"], email.as_str(), "{extra}");
        assert_eq!(
            event_timestamp(extra),
            Some(sign_in.observed_at.timestamp()),
            "{extra}"
        );

        // A few more polls: the bystander's sign-in is never reported, nothing twice.
        tokio::time::sleep(Duration::from_secs(WATCH_POLL_SLACK)).await;
        only_the_leaver(&env, &rx, case_id, leaver, &bystander).await;

        // `revoke verify` for the leaver: the Keycloak account is back.
        let out = tokio::task::spawn_blocking({
            let (cfg, dir, id) = (cfg.clone(), dir.clone(), leaver.employee_id.clone());
            move || binaries::verify(&cfg, &dir, &["--identity", &id])
        })
        .await
        .unwrap();
        let (stdout, stderr) = binaries::text(&out);
        assert_eq!(
            out.status.code(),
            Some(3),
            "revoke verify --identity {}: access returned is exit 3 (the case is {:?}, closed at \
             {:?}, reopened by the sign-in finding)\n{stdout}\n{stderr}",
            leaver.employee_id,
            reopened.state,
            reopened.closed_at
        );
        let account = format!("sso:users/{uid}");
        let returned: Vec<&str> = stdout.lines().filter(|l| l.contains("RETURNED:")).collect();
        assert!(
            returned.len() == 1 && returned[0].contains(&account),
            "exactly the Keycloak account returned:\n{stdout}"
        );
        assert!(!stdout.contains("could not read"), "{stdout}");
        println!("revoke verify --identity {}:\n{stdout}", leaver.employee_id);
        let back = until("the case listing the access_returned finding", WAIT, || async {
            let log = env.case_log().await;
            let c = &log.latest[&case_id];
            c.findings
                .iter()
                .find(|f| f.kind == FindingKind::AccessReturned)
                .cloned()
                .ok_or(format!("findings {:?}", c.findings))
        })
        .await;
        assert_eq!(
            (back.target.kind, back.object_id.as_str()),
            (TargetKind::Directory, account.as_str()),
            "{back:?}"
        );
        let escalations: Vec<Escalation> = until(
            "access_returned on revoke.escalations",
            WAIT,
            || async {
                let all: Vec<Escalation> = env.read_json(&cfg.topics.escalations).await;
                if all.iter().any(|e| e.reason == EscalationReason::AccessReturned) {
                    Ok(all)
                } else {
                    Err(format!("escalations: {all:?}"))
                }
            },
        )
        .await;
        let returned_esc = escalations
            .iter()
            .find(|e| e.reason == EscalationReason::AccessReturned)
            .unwrap();
        assert_eq!(
            (returned_esc.case_id, returned_esc.owner.clone()),
            (case_id, directory_owner()),
            "{returned_esc:?}"
        );
        assert_eq!(returned_esc.targets, vec![TargetKind::Directory]);

        // --- 5. Nothing else: no further SET, nothing about the bystander ----------------------
        tokio::time::sleep(Duration::from_secs(WATCH_POLL_SLACK)).await;
        let final_sets = sets(&rx);
        assert_eq!(
            final_sets.len(),
            delivered_now.len() + 1,
            "an access_returned finding owes no SET, and nothing is sent twice: {final_sets:#?}"
        );
        assert_eq!(rx.duplicates(), 0);
        only_the_leaver(&env, &rx, case_id, leaver, &bystander).await;
        let signed: BTreeSet<_> = checks::findings(&env)
            .await
            .iter()
            .filter(|f| f.kind == FindingKind::SignInAfterDeparture)
            .map(|f| f.finding_id)
            .collect();
        assert_eq!(signed.len(), 1, "one sign-in, one finding: {signed:?}");
        let last = env.case_log().await.latest[&case_id].clone();
        assert_eq!(last.state, CaseState::Escalated);
        assert_eq!(recorded_jtis(&last), jtis(&final_sets), "{:?}", last.signals);
        peers.check_untouched(&bystander).await;

        tokio::task::spawn_blocking(move || watch.sigterm_and_wait())
            .await
            .unwrap();
        tx.stop().await;
        for c in components {
            c.stop().await.expect("graceful stop");
        }
        println!(
            "offboarding chain: case closed {:.1} s after the termination, every owed SET at the \
             receiver after {:.1} s; a sign-in after departure in the case {:.1} s after it \
             happened (watch poll {} s), its session-revoked at the receiver after {:.1} s; \
             whole test {:.1} s",
            closed_after.as_secs_f64(),
            all_sets_after.as_secs_f64(),
            reported_after.as_secs_f64(),
            binaries::WATCH_POLL_SECS,
            resignal_after.as_secs_f64(),
            began.elapsed().as_secs_f64()
        );
    });
    std::fs::remove_dir_all(&dir).ok();
}

/// How long the test keeps watching after the last expected report, for anything more: a few
/// of the watch's poll intervals.
const WATCH_POLL_SLACK: u64 = 3 * binaries::WATCH_POLL_SECS;

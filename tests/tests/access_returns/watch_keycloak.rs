//! The sign-in watch at the real Keycloak: after the fleet closed the leaver's case, an
//! administrator re-enables the user by hand and the leaver signs in with a password grant
//! (plain HTTP) — a path the adapter did not close. The watch, on the adapters the config
//! names, reports that sign-in within a poll interval, and nothing for the other leaver.
//!
//! The Keycloak adapter's `Target::sign_ins_since` reads the realm's login events; an adapter
//! that read no sign-in log would fail this test, saying so.

use crate::fleet::{closed_cases, enable_keycloak, Closed};
use revoke_shared::consume::Stop;
use revoke_shared::contract::{AccessFinding, FindingKind, TargetKind};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::keycloak::Keycloak;
use std::time::{Duration, Instant};

/// The password `peers::idp` seeds every Keycloak user with.
const PASSWORD: &str = "Pw-for-tests-1";

#[test]
#[ignore = "needs the real broker and the peers (slapd, scim2-server, Keycloak): run the README's test command"]
fn keycloak_sign_in_after_departure_is_reported_within_a_poll() {
    let env = crate::fleet::real_broker("watch-keycloak");
    env.block_on(async {
        let Closed {
            mut cfg,
            people,
            cases,
            ..
        } = closed_cases(&env, 2).await;
        let kc = Keycloak::from_env();
        enable_keycloak(&kc, &people[0].username).await;
        let signed_in = Instant::now();
        kc.password_login(&people[0].username, PASSWORD, false)
            .await
            .unwrap_or_else(|e| panic!("the re-enabled leaver signs in: {e:?}"));

        cfg.verifier.watch_secs = 3600;
        cfg.verifier.watch_poll_secs = 2;
        let targets = revoke::watch::configured(&cfg, None)
            .await
            .expect("the adapters");
        let metrics = Metrics::new();
        let stop = Stop::new();
        let handle = {
            let (cfg, metrics, stop) = (cfg.clone(), metrics.clone(), stop.clone());
            tokio::spawn(async move {
                revoke::watch::run_watch(&cfg, targets, metrics, Health::new(), stop).await
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let found: Vec<AccessFinding> = loop {
            let f: Vec<AccessFinding> = env
                .read_raw(&cfg.topics.confirmations)
                .await
                .into_iter()
                .filter_map(|r| serde_json::from_slice(&r.payload?).ok())
                .collect();
            let text = metrics.render();
            assert!(
                !text.contains(r#"revoke_watch_no_sign_in_log{target="directory"} 1"#),
                "the directory (ldap + Keycloak sso) reads no sign-in log: the Keycloak adapter's \
                 sign_ins_since answered None"
            );
            if !f.is_empty() || Instant::now() > deadline {
                break f;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        stop.graceful.cancel();
        handle.await.unwrap().expect("graceful stop");
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(
            (f.kind, f.target.kind),
            (FindingKind::SignInAfterDeparture, TargetKind::Directory)
        );
        assert_eq!(f.target.instance, "sso");
        assert_eq!(f.case_id, cases[0].case_id);
        assert_eq!(f.identity_id, people[0].employee_id);
        assert_eq!(f.object_kind, "sign_in");
        println!(
            "watch: Keycloak sign-in reported {:.1} s after it happened",
            signed_in.elapsed().as_secs_f64()
        );
    });
}

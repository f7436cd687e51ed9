//! The re-verification on a schedule: `revoke watch` with `verifier.reverify_every_secs` (and the
//! sign-in watch off) reads closed cases again by itself and reports what came back — here an
//! LDAP lock removed by hand at slapd after the case closed.

use crate::fleet::{closed_cases, evidence_ids, unlock_ldap, Closed};
use crate::verify::{findings, FLEET, FLEET_ENV};
use revoke::watch::{configured, run_watch};
use revoke_shared::consume::Stop;
use revoke_shared::contract::{FindingKind, TargetKind};
use revoke_shared::metrics::{Health, Metrics};
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs the real broker and the peers (slapd, scim2-server, Keycloak): run the README's test command"]
fn the_watch_re_verifies_closed_cases_on_its_schedule() {
    let env = crate::fleet::real_broker("access-returns-scheduled");
    env.block_on(async {
        let Closed { mut cfg, cases, .. } = closed_cases(&env, 2).await;
        let (back, alone) = (&cases[0], &cases[1]);
        cfg.verifier.watch_secs = 0;
        cfg.verifier.reverify_every_secs = 1;
        std::env::set_var(FLEET_ENV, FLEET);
        cfg.signing.fleet_secret_env = Some(FLEET_ENV.into());

        let targets = configured(&cfg, None).await.expect("the fleet's adapters");
        let stop = Stop::new();
        let watch = tokio::spawn({
            let (cfg, stop) = (cfg.clone(), stop.clone());
            async move { run_watch(&cfg, targets, Metrics::new(), Health::new(), stop).await }
        });

        // A few rounds with nothing back: nothing reported.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            findings(&env, &cfg).await.is_empty(),
            "nothing came back, nothing reported"
        );

        let dn_id = evidence_ids(back, TargetKind::Directory, "account")
            .into_iter()
            .find(|i| i.starts_with("ldap:"))
            .expect("the LDAP account in evidence");
        unlock_ldap(dn_id.strip_prefix("ldap:").unwrap()).await;

        let deadline = Instant::now() + Duration::from_secs(30);
        let found = loop {
            let f = findings(&env, &cfg).await;
            if !f.is_empty() || Instant::now() > deadline {
                break f;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        // Two more periods: the same finding is not published again by this process.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = findings(&env, &cfg).await;
        stop.graceful.cancel();
        tokio::time::timeout(Duration::from_secs(20), watch)
            .await
            .expect("the watch stops when asked")
            .unwrap()
            .expect("the watch ran without error");

        assert_eq!(found.len(), 1, "exactly the unlocked account: {found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::AccessReturned);
        assert_eq!(f.case_id, back.case_id);
        assert_eq!(f.object_id, dn_id);
        assert!(later.iter().all(|l| l.case_id != alone.case_id));
        assert_eq!(later.len(), 1, "reported once per process: {later:#?}");
    });
}

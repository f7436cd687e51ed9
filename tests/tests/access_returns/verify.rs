//! `revoke verify` (the binary) after accounts were re-enabled by hand at three real peers.

use crate::fleet::{
    activate_scim, closed_cases, enable_keycloak, evidence_ids, unlock_ldap, Closed,
};
use revoke_shared::config::Config;
use revoke_shared::contract::{AccessFinding, FindingKind, TargetKind, ACCESS_FINDING_SCHEMA};
use revoke_tests::keycloak::Keycloak;
use revoke_tests::procs::{revoke_bin, targets_table};
use revoke_tests::TestEnv;
use std::collections::BTreeSet;
use std::process::Output;

/// The env var the binary's `[signing] fleet_secret_env` names (a test value, 32+ bytes).
pub const FLEET_ENV: &str = "REVOKE_TEST_AR_FLEET_SECRET";
pub const FLEET: &str = "access-returns-test-fleet-secret-0123456789";

/// Runs `revoke verify <args>` with a config file naming the same adapters as the fleet.
pub fn revoke_verify(cfg: &Config, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("revoke-ar-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut file = toml::Table::new();
    file.insert("targets".into(), targets_table(cfg));
    let mut signing = toml::Table::new();
    signing.insert("fleet_secret_env".into(), FLEET_ENV.into());
    file.insert("signing".into(), toml::Value::Table(signing));
    let path = dir.join("revoke.toml");
    std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
    let out = std::process::Command::new(revoke_bin())
        .args([
            "--config",
            path.to_str().unwrap(),
            "--metrics-listen",
            "",
            "verify",
        ])
        .args(args)
        .env("KAFKA_BROKERS", &cfg.kafka.brokers)
        .env("REVOKE_TOPICS__CASES", &cfg.topics.cases)
        .env("REVOKE_TOPICS__CONFIRMATIONS", &cfg.topics.confirmations)
        .env("REVOKE_KAFKA__GROUP_PREFIX", &cfg.kafka.group_prefix)
        .env(FLEET_ENV, FLEET)
        .env("REVOKE_LOG", "error")
        .output()
        .expect("run revoke verify");
    std::fs::remove_dir_all(&dir).ok();
    out
}

/// The findings on the confirmations topic, each checked: keyed by its identity, fleet-signed.
pub async fn findings(env: &TestEnv, cfg: &Config) -> Vec<AccessFinding> {
    let secret = revoke_shared::secret::Secret::new(FLEET.to_string());
    let mut out = Vec::new();
    for r in env.read_raw(&cfg.topics.confirmations).await {
        let payload = r.payload.unwrap_or_default();
        let Ok(f) = serde_json::from_slice::<AccessFinding>(&payload) else {
            continue;
        };
        assert_eq!(f.schema, ACCESS_FINDING_SCHEMA);
        let key = r.key.unwrap_or_default();
        assert_eq!(key, f.identity_id.as_bytes(), "keyed by identity");
        let sig = r
            .headers
            .iter()
            .find(|(k, _)| k == revoke_shared::signing::FLEET_SIGNATURE_HEADER)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .expect("fleet-signed");
        assert!(
            revoke_shared::signing::fleet_signature_matches(
                &secret,
                &cfg.topics.confirmations,
                &key,
                &payload,
                &sig
            ),
            "the fleet signature verifies"
        );
        out.push(f);
    }
    out
}

/// Every line of `case_id` in the table says still gone or not re-read: nothing returned, new
/// or unreadable.
pub fn assert_still_gone(stdout: &str, case_id: uuid::Uuid) {
    for l in stdout.lines().filter(|l| l.contains(&case_id.to_string())) {
        assert!(
            l.contains("still gone:") || l.contains("not re-read:"),
            "{l}"
        );
    }
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs the real broker and the peers (slapd, scim2-server, Keycloak): run the README's test command"]
fn verify_finds_exactly_the_accounts_re_enabled_by_hand() {
    let env = crate::fleet::real_broker("access-returns");
    env.block_on(async {
        let Closed {
            cfg, people, cases, ..
        } = closed_cases(&env, 2).await;
        let (back, alone) = (&cases[0], &cases[1]);

        // Nothing came back yet: every object read is still gone, exit 0, nothing published.
        let out = tokio::task::spawn_blocking({
            let cfg = cfg.clone();
            move || revoke_verify(&cfg, &[])
        })
        .await
        .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(!stdout.contains("RETURNED:"), "{stdout}");
        assert!(stdout.contains("2 closed cases"), "{stdout}");
        assert!(findings(&env, &cfg).await.is_empty());

        // By hand, at each peer, for the first leaver only: LDAP lock removed, SCIM user active,
        // Keycloak user enabled.
        let dn_id = evidence_ids(back, TargetKind::Directory, "account")
            .into_iter()
            .find(|i| i.starts_with("ldap:"))
            .expect("the LDAP account in evidence");
        unlock_ldap(dn_id.strip_prefix("ldap:").unwrap()).await;
        let scim_id = evidence_ids(back, TargetKind::Saas, "account")
            .pop()
            .expect("SCIM account");
        activate_scim(&scim_id).await;
        let kc = Keycloak::from_env();
        let kc_id = enable_keycloak(&kc, &people[0].username).await;
        let expected: BTreeSet<(String, TargetKind, String)> = [
            (TargetKind::Directory, dn_id.clone()),
            (TargetKind::Saas, scim_id.clone()),
            (TargetKind::Directory, format!("sso:users/{kc_id}")),
        ]
        .into_iter()
        .map(|(k, o)| (people[0].employee_id.clone(), k, o))
        .collect();

        let run = || {
            let cfg = cfg.clone();
            tokio::task::spawn_blocking(move || revoke_verify(&cfg, &[]))
        };
        let out = run().await.unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(3),
            "access returned: exit 3\n{stdout}\n{stderr}"
        );
        println!("revoke verify after re-enabling by hand:\n{stdout}");
        assert!(stderr.contains("access returned"), "{stderr}");
        let returned: Vec<&str> = stdout.lines().filter(|l| l.contains("RETURNED:")).collect();
        assert_eq!(returned.len(), 3, "{stdout}");
        for l in &returned {
            assert!(l.contains(&back.case_id.to_string()), "{l}");
        }
        for (_, _, object) in &expected {
            assert!(
                returned.iter().any(|l| l.contains(object.as_str())),
                "{object} not in\n{stdout}"
            );
        }
        // The other leaver: every line still gone (or not re-read), none could not be read.
        assert_still_gone(&stdout, alone.case_id);
        assert!(!stdout.contains("could not read"), "{stdout}");
        assert!(stdout.contains("3 RETURNED"), "{stdout}");

        let first = findings(&env, &cfg).await;
        let named: BTreeSet<(String, TargetKind, String)> = first
            .iter()
            .map(|f| (f.identity_id.clone(), f.target.kind, f.object_id.clone()))
            .collect();
        assert_eq!(
            named, expected,
            "exactly the re-enabled objects: {first:#?}"
        );
        assert_eq!(first.len(), 3);
        for f in &first {
            assert_eq!(f.kind, FindingKind::AccessReturned);
            assert_eq!(f.case_id, back.case_id);
            assert!(!f.read_back.is_empty() && !f.principal.is_empty(), "{f:?}");
        }

        // Again: the same three findings, by id.
        let out = run().await.unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", text(&out).0);
        let both = findings(&env, &cfg).await;
        assert_eq!(both.len(), 6);
        let ids = |fs: &[AccessFinding]| fs.iter().map(|f| f.finding_id).collect::<BTreeSet<_>>();
        assert_eq!(
            ids(&both),
            ids(&first),
            "a second run reports the same findings"
        );

        // Only the leaver left alone: clean, nothing published.
        let out = tokio::task::spawn_blocking({
            let cfg = cfg.clone();
            let id = alone.identity_id.clone();
            move || revoke_verify(&cfg, &["--identity", &id])
        })
        .await
        .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("1 closed case:") && !stdout.contains(&back.case_id.to_string()),
            "{stdout}"
        );
        assert_eq!(findings(&env, &cfg).await.len(), 6);

        // A target with no adapter here is a usage error, not a clean bill.
        let out = tokio::task::spawn_blocking({
            let cfg = cfg.clone();
            move || revoke_verify(&cfg, &["--target", "cloud"])
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    });
}

#[test]
fn verify_fails_fast_when_the_broker_cannot_be_reached() {
    let started = std::time::Instant::now();
    let out = std::process::Command::new(revoke_bin())
        .args([
            "--brokers",
            "127.0.0.1:1",
            "--metrics-listen",
            "",
            "--timeout",
            "3",
            "verify",
        ])
        .env("REVOKE_LOG", "error")
        .env_remove("REVOKE_CONFIG")
        .output()
        .expect("run revoke verify");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("no Kafka broker answered at 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

//! Secrets never leave the process: a run of the whole fleet on the real broker with all five
//! real adapters, logging at `debug` (revoke's own modules at `trace`), with known secrets
//! seeded — the peers' real credentials plus canaries — and failures provoked where a careless
//! error message would carry a credential: a SaaS instance whose token the server refuses (401 on
//! every call: failed confirmations, escalations with the error), a Vault adapter started with a
//! refused token, and a GitLab one with a refused token. Then every captured log line, every
//! record of every topic (raw, and the base64 the DLQ uses), `/metrics`, `revoke case` and the
//! report are searched for every secret.
//!
//! Needs the README's test command (it starts Kafka and the peers and passes their addresses).

mod peers;

use base64::Engine as _;
use peers::{terminations, Peers};
use revoke::hr::Mode;
use revoke_shared::contract::{CaseState, HrEvent, TargetKind};
use revoke_shared::kafka::read_to_end;
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::record_topics;
use revoke_tests::{case_ids, TestEnv};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LEAVERS: usize = 8;
const WAIT: Duration = Duration::from_secs(240);

/// Canary credentials: distinctive, so that any occurrence is a leak and never a coincidence.
const CANARY_SCIM: &str = "canary-scim-token-7f3a9c1e52d4";
const CANARY_AWS: &str = "canary-aws-secret-0b8e6d2f9a71";
const CANARY_VAULT: &str = "canary-vault-token-4c2d8e1f6a93";
const CANARY_GITLAB: &str = "canary-gitlab-pat-9e1b7c3d5f20";

/// Everything written by `tracing`, at every level enabled.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,revoke=trace,revoke_shared=trace",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test binary");
    captured
}

/// Where each secret was found, as `(secret name, place)`.
fn leaks(haystack: &[u8], place: &str, secrets: &[(&str, String)]) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    secrets
        .iter()
        .filter(|(_, s)| {
            let needles = [s.as_bytes().to_vec(), b64.encode(s).into_bytes()];
            needles
                .iter()
                .any(|n| haystack.windows(n.len()).any(|w| w == n.as_slice()))
        })
        .map(|(name, _)| format!("{name} in {place}"))
        .collect()
}

fn env_var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the README's test command"))
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn no_secret_reaches_logs_topics_metrics_or_evidence() {
    let logs = capture_logs();
    let env = TestEnv::new("secrets");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    env.block_on(async {
        let (run, peers, people, _bystander) = Peers::seeded(LEAVERS).await;

        // moto takes any secret: make the adapter's a canary.
        std::env::set_var(peers::cloud::SECRET_ENV, CANARY_AWS);
        std::env::set_var("REVOKE_TEST_CANARY_SCIM", CANARY_SCIM);
        std::env::set_var("REVOKE_TEST_CANARY_VAULT", CANARY_VAULT);
        std::env::set_var("REVOKE_TEST_CANARY_GITLAB", CANARY_GITLAB);
        let secrets: Vec<(&str, String)> = vec![
            ("scim token", env_var("REVOKE_TEST_SCIM_TOKEN")),
            ("vault token", env_var("REVOKE_TEST_BAO_TOKEN")),
            ("ldap bind password", env_var("REVOKE_TEST_LDAP_BIND_PW")),
            ("gitlab token", env_var(peers::cicd::TOKEN_ENV)),
            ("aws secret (canary)", CANARY_AWS.into()),
            ("refused scim token (canary)", CANARY_SCIM.into()),
            ("refused vault token (canary)", CANARY_VAULT.into()),
            ("refused gitlab token (canary)", CANARY_GITLAB.into()),
        ];

        // The matcher itself finds each secret, raw and base64-encoded (else a pass proves nothing).
        let b64 = base64::engine::general_purpose::STANDARD;
        for (name, s) in &secrets {
            for sample in [format!("a {s} b"), format!("x{}y", b64.encode(s))] {
                assert_eq!(leaks(sample.as_bytes(), "sample", &secrets).len(), 1, "{name}");
            }
        }

        let mut cfg = env.cfg.clone();
        cfg.worker.instance = "secrets".into();
        cfg.verifier.deadline_secs = 600;
        peers.configure(&mut cfg);
        // SaaS as two instances: the real one, and one whose token the server refuses.
        let good: toml::Table = cfg.targets["saas"].clone();
        let mut bad = good.clone();
        bad.insert("token_env".into(), "REVOKE_TEST_CANARY_SCIM".into());
        let mut saas = toml::Table::new();
        saas.insert("main".into(), good.into());
        saas.insert("refused".into(), bad.into());
        cfg.targets.insert("saas".into(), saas);

        // Adapters that check their token at start refuse to start, without saying it.
        for (kind, var) in [
            (TargetKind::Vault, "REVOKE_TEST_CANARY_VAULT"),
            (TargetKind::Cicd, "REVOKE_TEST_CANARY_GITLAB"),
        ] {
            let mut refused = cfg.clone();
            let table = refused.targets.get_mut(kind.as_str()).unwrap();
            table.insert("token_env".into(), var.into());
            let err = match revoke::adapters::from_config(kind, &refused).await {
                Ok(_) => panic!("{kind}: a refused token must stop the adapter at start"),
                Err(e) => e,
            };
            let text = format!("{err} / {err:?} / {:#}", anyhow::anyhow!(err.to_string()));
            tracing::error!(target_kind = %kind, error = %err, "adapter did not start (as the binary logs it)");
            let found = leaks(text.as_bytes(), "the start-up error", &secrets);
            assert!(found.is_empty(), "{found:?}: {text}");
        }

        let metrics = Metrics::new();
        let health = Health::new();
        let components = peers::start_fleet(&cfg, &metrics, &health).await;

        let events: Vec<HrEvent> = terminations(&run, &people);
        env.publish(&events, Mode::Structured).await;
        // A malformed record too: its bytes go to the DLQ.
        env.publish_raw(Some("not-json"), b"{\"specversion\": \"1.0\", oops", &[])
            .await;
        let ids: Vec<uuid::Uuid> = case_ids(&events);
        // The refused SaaS instance fails every case: each ends escalated, naming the error.
        let log = env
            .wait_cases(WAIT, |l| {
                ids.iter().all(|id| {
                    l.latest.get(id).is_some_and(|c| {
                        c.state == CaseState::Escalated
                            && c.targets.get(&TargetKind::Saas).is_some_and(|t| t.error.is_some())
                    })
                })
            })
            .await;
        for id in &ids {
            let c = &log.latest[id];
            assert_eq!(c.state, CaseState::Escalated, "{}", revoke::cases::render(c));
            let err = c.targets[&TargetKind::Saas].error.clone().unwrap_or_default();
            assert!(err.contains("401"), "the refused instance's error: {err}");
        }

        // Search everything.
        let mut found = Vec::new();
        for topic in record_topics(&cfg.topics) {
            let cfg = cfg.clone();
            let name = topic.clone();
            let records = tokio::task::spawn_blocking(move || {
                read_to_end(&cfg, &name, Duration::from_secs(30))
            })
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("reading {topic}: {e}"));
            for r in &records {
                let mut bytes = r.key.clone().unwrap_or_default();
                bytes.extend(r.payload.clone().unwrap_or_default());
                found.extend(leaks(&bytes, &topic, &secrets));
            }
        }
        let rendered: String = ids
            .iter()
            .map(|id| revoke::cases::render(&log.latest[id]))
            .collect();
        found.extend(leaks(rendered.as_bytes(), "revoke case output", &secrets));
        let csv = revoke::report::to_csv(&revoke::report::rows(log.latest.values(), None, None));
        found.extend(leaks(csv.as_bytes(), "the report", &secrets));
        found.extend(leaks(metrics.render().as_bytes(), "/metrics", &secrets));

        for c in components {
            c.stop().await.expect("graceful stop");
        }
        let captured = logs.0.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&captured);
        // The logs really cover the failure paths (else finding nothing proves nothing).
        for expected in ["401", "case escalated", "dead-letter topic", "adapter did not start"] {
            assert!(
                text.contains(expected),
                "the captured logs lack {expected:?} ({} bytes captured)",
                captured.len()
            );
        }
        found.extend(leaks(&captured, "the logs", &secrets));
        println!(
            "secrets: {} secrets searched in {} KiB of logs, 7 topics, {} case renderings, the report and /metrics",
            secrets.len(),
            captured.len() / 1024,
            ids.len()
        );
        assert!(found.is_empty(), "secrets leaked: {found:?}");
    });
}

//! The sign-in watch (`revoke::watch::run_watch`) on the real broker, with test targets whose
//! sign-in logs the test writes: closed cases are read from the cases topic (written here as the
//! verifier writes them, so one can have closed days ago), findings from the confirmations topic.

use async_trait::async_trait;
use chrono::{DateTime, Duration as Span, Utc};
use revoke::adapters::{Holding, ReadBack, RevokeResult, SignIn, Target, TargetError};
use revoke::watch::{run_watch, Targets};
use revoke_shared::config::Config;
use revoke_shared::consume::Stop;
use revoke_shared::contract::{
    AccessFinding, Actor, Case, CaseState, FindingKind, Identity, IdentityKind, ObjectEvidence,
    ObjectOutcome, Outcome, Provenance, TargetKind, TargetState, TargetStatus,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::TestEnv;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A target whose sign-in log is what the test writes; it records who was asked since when.
struct LogTarget {
    kind: TargetKind,
    /// (username, sign-in)
    log: Mutex<Vec<(String, SignIn)>>,
    asked: Mutex<Vec<(String, DateTime<Utc>)>>,
    answer: Answer,
}

#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Log,
    NoLog,
    Fails,
}

impl LogTarget {
    fn new(kind: TargetKind, answer: Answer) -> Arc<LogTarget> {
        Arc::new(LogTarget {
            kind,
            log: Mutex::new(Vec::new()),
            asked: Mutex::new(Vec::new()),
            answer,
        })
    }

    fn sign_in(&self, username: &str, id: &str, at: DateTime<Utc>) {
        self.log.lock().unwrap().push((
            username.into(),
            SignIn {
                event_id: id.into(),
                instance: "main".into(),
                at,
                detail: format!("LOGIN to test-app as {username}"),
            },
        ));
    }

    fn asked_for(&self, username: &str) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|(u, _)| u == username)
            .count()
    }
}

#[async_trait]
impl Target for LogTarget {
    fn kind(&self) -> TargetKind {
        self.kind
    }
    fn instance(&self) -> &str {
        "main"
    }
    fn principal(&self) -> &str {
        "log-reader"
    }
    async fn discover(&self, _: &Identity) -> Result<Vec<Holding>, TargetError> {
        unreachable!("the watch never discovers")
    }
    async fn revoke(&self, _: &Identity, _: &Holding) -> Result<RevokeResult, TargetError> {
        unreachable!("the watch never revokes")
    }
    async fn verify(&self, _: &Identity, _: &Holding) -> Result<ReadBack, TargetError> {
        unreachable!("the sign-in watch does not re-verify (reverify_every_secs = 0)")
    }
    async fn sign_ins_since(
        &self,
        who: &Identity,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<SignIn>>, TargetError> {
        let name = who.username.clone().unwrap_or_default();
        self.asked.lock().unwrap().push((name.clone(), since));
        match self.answer {
            Answer::NoLog => Ok(None),
            Answer::Fails => Err(TargetError::Transient("sign-in log: 503".into())),
            Answer::Log => Ok(Some(
                self.log
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(u, _)| *u == name)
                    .map(|(_, s)| s.clone())
                    .collect(),
            )),
        }
    }
}

fn done(kind: TargetKind, removed_at: DateTime<Utc>) -> TargetStatus {
    TargetStatus {
        state: TargetState::Done,
        outcome: Some(Outcome::Revoked),
        instance: Some("main".into()),
        confirmed_at: Some(removed_at + Span::seconds(1)),
        objects: vec![ObjectEvidence {
            object_kind: "account".into(),
            object_id: format!("{kind}-account"),
            sponsored: false,
            action: "disable".into(),
            outcome: ObjectOutcome::Revoked,
            removed_at: Some(removed_at),
            actor: Actor {
                worker_id: "w".into(),
                principal: "svc".into(),
            },
            verified: true,
            provenance: Provenance::Observed,
            read_back: "disabled".into(),
            error: None,
        }],
        ..TargetStatus::pending()
    }
}

/// `name`'s case, closed at `closed_at`, its access at three targets removed 10 s before.
fn closed(name: &str, closed_at: DateTime<Utc>) -> Case {
    let kinds = vec![TargetKind::Directory, TargetKind::Saas, TargetKind::Vault];
    let mut c = Case::opened(
        uuid::Uuid::new_v4(),
        &format!("E-{name}"),
        kinds.clone(),
        closed_at - Span::seconds(30),
    );
    c.identity = Some(Identity {
        employee_id: format!("E-{name}"),
        email: None,
        username: Some(name.into()),
        kind: IdentityKind::Employee,
    });
    for k in kinds {
        c.targets.insert(k, done(k, closed_at - Span::seconds(10)));
    }
    c.state = CaseState::Closed;
    c.closed_at = Some(closed_at);
    c.revision = 3;
    c
}

async fn publish_case(env: &TestEnv, c: &Case) {
    let p = revoke_shared::kafka::Producer::new(&env.cfg).unwrap();
    p.send_json(&env.cfg.topics.cases, &c.case_id.to_string(), c, None)
        .await
        .expect("case published");
}

async fn findings(env: &TestEnv) -> Vec<AccessFinding> {
    env.read_raw(&env.cfg.topics.confirmations)
        .await
        .into_iter()
        .filter_map(|r| serde_json::from_slice::<AccessFinding>(&r.payload?).ok())
        .collect()
}

/// Waits until the confirmations topic holds `n` findings (at most 30 s), then returns them.
async fn wait_findings(env: &TestEnv, n: usize) -> Vec<AccessFinding> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let f = findings(env).await;
        if f.len() >= n || std::time::Instant::now() > deadline {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn start(
    cfg: &Config,
    targets: Targets,
    metrics: &Metrics,
) -> (Stop, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let stop = Stop::new();
    let (cfg, metrics, s) = (cfg.clone(), metrics.clone(), stop.clone());
    let h = tokio::spawn(async move { run_watch(&cfg, targets, metrics, Health::new(), s).await });
    (stop, h)
}

fn ids(fs: &[AccessFinding]) -> BTreeSet<uuid::Uuid> {
    fs.iter().map(|f| f.finding_id).collect()
}

#[test]
#[ignore = "needs the real broker: run the README's test command"]
fn sign_ins_after_departure_are_reported_once_and_only_for_the_leaver_in_the_window() {
    let env = crate::fleet::real_broker("watch-signins");
    env.block_on(async {
        let now = Utc::now();
        let ada = closed("ada", now - Span::seconds(60));
        let old = closed("old", now - Span::days(3));
        for c in [&ada, &old] {
            publish_case(&env, c).await;
        }
        let removed = now - Span::seconds(70);
        let dir = LogTarget::new(TargetKind::Directory, Answer::Log);
        dir.sign_in("ada", "ev-before", removed - Span::seconds(5));
        dir.sign_in("ada", "ev-after", removed + Span::seconds(30));
        dir.sign_in("old", "ev-old", now - Span::hours(1));
        dir.sign_in("bob", "ev-bob", now - Span::seconds(20));
        let saas = LogTarget::new(TargetKind::Saas, Answer::Fails);
        let vault = LogTarget::new(TargetKind::Vault, Answer::NoLog);
        let targets: Targets = [
            (TargetKind::Directory, dir.clone() as Arc<dyn Target>),
            (TargetKind::Saas, saas.clone() as Arc<dyn Target>),
            (TargetKind::Vault, vault.clone() as Arc<dyn Target>),
        ]
        .into_iter()
        .collect();
        let mut cfg = env.cfg.clone();
        cfg.verifier.watch_secs = 86_400;
        cfg.verifier.watch_poll_secs = 1;
        let metrics = Metrics::new();
        let (stop, handle) = start(&cfg, targets.clone(), &metrics);

        // Ada's sign-in after the removal, and only that one.
        let found = wait_findings(&env, 1).await;
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(
            (f.kind, f.target.kind),
            (FindingKind::SignInAfterDeparture, TargetKind::Directory)
        );
        assert_eq!((f.case_id, f.identity_id.as_str()), (ada.case_id, "E-ada"));
        assert_eq!(
            (f.object_kind.as_str(), f.object_id.as_str()),
            ("sign_in", "ev-after")
        );
        assert_eq!(f.principal, "log-reader");
        // Asked since the earliest removal at that target.
        let since = dir.asked.lock().unwrap()[0].1;
        assert_eq!(since, removed);

        // A case closed after the watch started is followed; a sign-in added later is reported
        // at the next poll; nothing is reported twice over several polls.
        let cy = closed("cy", Utc::now());
        publish_case(&env, &cy).await;
        dir.sign_in("cy", "ev-cy", Utc::now() + Span::seconds(1));
        dir.sign_in("ada", "ev-after-2", Utc::now());
        let found = wait_findings(&env, 3).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let found_later = findings(&env).await;
        assert_eq!(found_later.len(), 3, "{found_later:#?}");
        assert_eq!(ids(&found), ids(&found_later));
        let named: BTreeSet<(String, String)> = found_later
            .iter()
            .map(|f| (f.identity_id.clone(), f.object_id.clone()))
            .collect();
        let expected: BTreeSet<(String, String)> = [
            ("E-ada", "ev-after"),
            ("E-ada", "ev-after-2"),
            ("E-cy", "ev-cy"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            named, expected,
            "never bob's, never before the removal, never the old case's"
        );

        // The case outside the window was never asked about; the failing target was asked at
        // every poll and did not stop the others; the target without a log was asked once.
        assert_eq!(dir.asked_for("old"), 0);
        assert_eq!(saas.asked_for("old") + vault.asked_for("old"), 0);
        assert!(saas.asked_for("ada") >= 3, "{}", saas.asked_for("ada"));
        assert_eq!(
            vault.asked.lock().unwrap().len(),
            1,
            "no log: not asked again"
        );
        let text = metrics.render();
        for series in [
            r#"revoke_watch_no_sign_in_log{target="vault"} 1"#,
            r#"revoke_watch_findings_total{kind="access_after_departure",target="directory"} 3"#,
            "revoke_watch_cases 2",
        ] {
            assert!(text.contains(series), "{series} not in\n{text}");
        }
        let errors = revoke_tests::procs::metric(
            &text,
            r#"revoke_watch_reads_total{read="sign_ins",result="error",target="saas"}"#,
        )
        .expect("saas errors counted");
        assert!(errors >= 3.0, "{errors}");

        stop.graceful.cancel();
        handle.await.unwrap().expect("graceful stop");

        // A restarted watch reports the same sign-ins again under the same ids: the verifier
        // records each once.
        let (stop, handle) = start(&cfg, targets, &Metrics::new());
        let again = wait_findings(&env, 6).await;
        assert_eq!(again.len(), 6, "{again:#?}");
        assert_eq!(ids(&again), ids(&found_later));
        stop.graceful.cancel();
        handle.await.unwrap().expect("graceful stop");
    });
}

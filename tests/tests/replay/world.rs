//! The world of the replay test: people seeded at the real slapd and scim2-server, a fleet of
//! two real workers (directory on LDAP, saas on SCIM) and the verifier with `[signing]
//! required` and `[[people]]` (alice approves, carol attests), the blast-radius guard holding
//! more than three people in ten seconds; the `revoke` binary run as an operator would, and
//! the waits and reads the phases share.

use crate::peers::{directory::Directory, saas::Scim, termination, Person};
use chrono::{DateTime, Utc};
use revoke::cases::CaseLog;
use revoke_shared::config::Role;
use revoke_shared::contract::{Case, CaseState, DeadLetter, HrEvent, TargetKind};
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::signing_kit::{person, publish_ed25519, require_signing, run_revoke, TempDir};
use revoke_tests::TestEnv;
use std::process::Output;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(120);
pub const HR_SOURCE: &str = "urn:hr:replay-test";
const HR_SEED: [u8; 32] = [42; 32];
const FLEET_SECRET: &str = "replay-test-fleet-secret-0123456789abcdef";
pub const ALICE: [u8; 32] = [1; 32];
pub const CAROL: [u8; 32] = [3; 32];
/// Nobody's key.
pub const MALLORY: [u8; 32] = [7; 32];
pub const KINDS: [TargetKind; 2] = [TargetKind::Directory, TargetKind::Saas];
/// The guard's window: short, so that the burst phase can start a fresh one.
pub const WINDOW_SECS: u64 = 10;

pub struct World<'a> {
    pub env: &'a TestEnv,
    /// The fleet's config (the test's namespace, the peers, signing, people, the guard).
    pub cfg: revoke_shared::config::Config,
    pub dir: TempDir,
    pub directory: Directory,
    pub scim: Scim,
    pub people: Vec<Person>,
    pub events: Vec<HrEvent>,
    pub fleet: Vec<revoke::fleet::Component>,
}

impl<'a> World<'a> {
    /// `n` people seeded at both peers, the fleet started on them.
    pub async fn start(env: &'a TestEnv, n: usize) -> World<'a> {
        let run = Uuid::new_v4().simple().to_string()[..8].to_string();
        let dir = TempDir::new("replay");
        let directory = Directory::new(&run).await;
        let scim = Scim::new(&run);
        let people: Vec<Person> = (0..n).map(|i| Person::new(&run, i)).collect();
        let all: Vec<&Person> = people.iter().collect();
        directory.seed(&all).await;
        scim.seed(&all).await;
        let mut w = World {
            env,
            cfg: env.cfg.clone(),
            dir,
            directory,
            scim,
            events: people
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut ev = termination(&run, p, i);
                    ev.source = HR_SOURCE.into();
                    ev
                })
                .collect(),
            people,
            fleet: Vec::new(),
        };
        w.configure();
        w.fleet = w.start_fleet().await;
        w
    }

    fn configure(&mut self) {
        let cfg = &mut self.cfg;
        cfg.worker.instance = "replay".into();
        cfg.verifier.required_targets = KINDS.to_vec();
        cfg.verifier.guard.max_terminations = 3;
        cfg.verifier.guard.window_secs = WINDOW_SECS;
        require_signing(cfg, &self.dir, HR_SOURCE, &HR_SEED, FLEET_SECRET, [12; 32]);
        cfg.people = vec![
            person("alice", &ALICE, vec![Role::Approver], &[]),
            person("carol", &CAROL, vec![Role::Attester], &[]),
        ];
        let table = |text: String| -> toml::Table { text.parse().expect("test table") };
        cfg.targets
            .insert("directory".into(), table(self.directory.table()));
        cfg.targets.insert("saas".into(), table(self.scim.table()));
        cfg.validate().expect("a valid config");
    }

    async fn start_fleet(&self) -> Vec<revoke::fleet::Component> {
        let cfg = &self.cfg;
        let (metrics, health) = (Metrics::new(), Health::new());
        let mut components = Vec::new();
        for kind in KINDS {
            let t = revoke::adapters::from_config(kind, cfg)
                .await
                .unwrap_or_else(|e| panic!("[targets.{kind}]: {e}"));
            assert_ne!(
                t.principal(),
                format!("sim-{kind}-revoker"),
                "real adapters only"
            );
            components.push(revoke::fleet::Process::Worker(t).spawn(
                cfg,
                metrics.clone(),
                health.clone(),
            ));
        }
        components.push(revoke::fleet::Process::Verifier.spawn(cfg, metrics.clone(), health));
        let groups: Vec<String> = KINDS
            .iter()
            .map(|k| revoke::worker::group_for(cfg, *k))
            .chain([revoke::verifier::group(cfg)])
            .collect();
        let deadline = Instant::now() + Duration::from_secs(90);
        while !groups
            .iter()
            .all(|g| metrics.assigned_partitions.with_label_values(&[g]).get() > 0)
        {
            assert!(
                Instant::now() < deadline,
                "consumer groups never got partitions"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        components
    }

    /// The private key file of a person, as `--key-file` takes it.
    pub fn key_file(&self, id: &str, seed: &[u8; 32]) -> String {
        self.dir.key_file(id, seed).display().to_string()
    }

    pub fn case_id(&self, i: usize) -> Uuid {
        self.events[i].case_id()
    }

    /// Publishes `events`, each signed by the HR source's key.
    pub async fn publish(&self, events: &[HrEvent]) {
        publish_ed25519(&self.cfg, events, &HR_SEED).await;
    }

    /// Sends `bytes` to the confirmations topic keyed by `key`, as anyone with write access can.
    pub async fn inject(&self, key: &str, bytes: &[u8]) {
        let producer = Producer::with_timeout(&self.cfg, Duration::from_secs(60)).unwrap();
        producer
            .send_bytes(&self.cfg.topics.confirmations, key, bytes, &[], None)
            .await
            .expect("inject a record");
    }

    /// Runs the `revoke` binary with the fleet's config in a file.
    pub fn revoke(&self, args: &[&str]) -> Output {
        run_revoke(&self.cfg, &self.dir, args)
    }

    /// Waits until `done` holds for the cases topic, and returns it.
    pub async fn cases_until(&self, what: &str, done: impl Fn(&CaseLog) -> bool) -> CaseLog {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.env.case_log().await;
            if done(&log) {
                return log;
            }
            if Instant::now() > deadline {
                let letters: Vec<DeadLetter> = self.env.read_json(&self.cfg.topics.dlq).await;
                let replays: Vec<String> = log
                    .latest
                    .values()
                    .filter(|c| c.replay.is_some())
                    .map(revoke::cases::render)
                    .collect();
                panic!(
                    "waited {WAIT:?} for {what}; dead letters: {:?}; replay cases:\n{}",
                    letters
                        .iter()
                        .map(|l| format!("{} ({})", l.reason, l.detail))
                        .collect::<Vec<_>>(),
                    replays.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The replay cases of case `of`, oldest first.
    pub fn replays_of(log: &CaseLog, of: Uuid) -> Vec<Case> {
        let mut v: Vec<Case> = log
            .latest
            .values()
            .filter(|c| c.replay.as_ref().is_some_and(|r| r.of_case == of))
            .cloned()
            .collect();
        v.sort_by_key(|c| c.opened_at);
        v
    }

    /// The dead letters whose reason is one of `reasons`, once at least `n` are there (and a
    /// little longer, so that a duplicate would show).
    pub async fn letters(&self, reasons: &[&str], n: usize) -> Vec<DeadLetter> {
        let pick = |all: Vec<DeadLetter>| -> Vec<DeadLetter> {
            all.into_iter()
                .filter(|l| reasons.contains(&l.reason.as_str()))
                .collect()
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let got = pick(self.env.read_json(&self.cfg.topics.dlq).await);
            if got.len() >= n || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        pick(self.env.read_json(&self.cfg.topics.dlq).await)
    }

    /// Whether `p` has their access at both peers (binds at slapd, active at SCIM).
    pub async fn access(&self, p: &Person) -> (bool, bool) {
        (self.directory.binds(p).await, self.scim.active(p).await)
    }
}

/// The stdout of a command that must exit with `code`, printed for the log.
#[track_caller]
pub fn expect_exit(out: &Output, code: i32, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("$ revoke {what}\n{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(code), "{what}: {stdout}\n{stderr}");
    stdout
}

/// The state of case `id` on the cases topic.
pub fn state(log: &CaseLog, id: Uuid) -> Option<CaseState> {
    log.latest.get(&id).map(|c| c.state)
}

/// The record-time range every replay here asks for.
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Range {
    pub fn args(&self) -> [String; 4] {
        [
            "--from".into(),
            self.from.to_rfc3339(),
            "--to".into(),
            self.to.to_rfc3339(),
        ]
    }
}

/// `revoke replay <range> <extra>` as alice with her key.
pub fn replay(w: &World<'_>, range: &Range, extra: &[&str], code: i32) -> String {
    let key = w.key_file("alice", &ALICE);
    let mut args: Vec<String> = vec!["replay".into()];
    args.extend(range.args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--by".into(), "alice".into(), "--key-file".into(), key]);
    args.extend([
        "--note".into(),
        "INC-42: LDAP restored from a backup".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_exit(&w.revoke(&args), code, &args.join(" "))
}

/// How many records each topic the fleet writes holds.
pub async fn topic_sizes(w: &World<'_>) -> Vec<usize> {
    let t = &w.cfg.topics;
    let mut out = Vec::new();
    for topic in [&t.confirmations, &t.due, &t.guard, &t.cases, &t.dlq] {
        out.push(w.env.read_raw(topic).await.len());
    }
    out
}

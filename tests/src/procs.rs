//! Running the `revoke` binary as OS processes against a real broker, for the process and fault
//! tests: spawn, `kill -9`, SIGTERM, and reading each process's `/metrics`, `/healthz`, `/livez`
//! and `/readyz`.

use crate::TestEnv;
use revoke::cases::{read_case_log, CaseLog};
use revoke_shared::config::Config;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built `revoke` binary (target/<profile>/revoke, next to the test's own deps folder).
pub fn revoke_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .join("revoke");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build -p revoke` first (the test command does)",
        bin.display()
    );
    bin
}

/// Runs the `revoke` binary as an auditor would: nothing in its environment but the arguments
/// (and `PATH`) — no broker, no config.
pub fn revoke_offline(args: &[&str]) -> std::process::Output {
    std::process::Command::new(revoke_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run revoke")
}

/// The config's `[targets.*]` tables as a config file writes them, for a `revoke` binary that
/// must read the same adapters as the in-process fleet (`revoke verify`, `revoke watch`).
pub fn targets_table(cfg: &Config) -> toml::Value {
    toml::Value::Table(
        cfg.targets
            .clone()
            .into_iter()
            .map(|(k, v)| (k, toml::Value::Table(v)))
            .collect(),
    )
}

/// Starts the `revoke` binary in the background with nothing in its environment but the
/// arguments (and `PATH`), its logging off and its output discarded: a long-running command a
/// test watches from outside (its metrics endpoint, whether it is still running).
pub fn spawn_revoke_offline(args: &[&str]) -> std::process::Child {
    std::process::Command::new(revoke_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("REVOKE_LOG", "off")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start revoke")
}

/// A loopback port nothing listens on, for a child process to bind. Taken below the kernel's
/// ephemeral range (32768–60999 by default), never from it: a port the kernel hands out for
/// `:0` is free again once probed, and any outgoing connection (a Kafka client's) may take it
/// as its local port before the child binds it — a test then loses a worker to "address in
/// use". Ports come from a per-process counter (no two callers in one test binary get the same
/// one), starting at an offset from the pid so concurrent binaries rarely meet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 21_000;
    const SPAN: u32 = 11_000; // 21000..32000: above the services' fixed ports, below ephemeral
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id() * 97) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + SPAN)
}

/// A plain HTTP/1.1 GET on loopback: (status code, body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_secs(2),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The value of a metric line (`name{labels} value`) whose text starts with `prefix`.
pub fn metric(body: &str, prefix: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Processes sharing one set of topics (unique per test) on the real broker.
pub struct ProcFleet {
    pub env: Vec<(String, String)>,
    /// The same settings as a `Config`, for reading topics from the test.
    pub cfg: Config,
}

impl ProcFleet {
    /// Topics named after the harness's unique ones, `partitions` each; creates them with
    /// `revoke topics create` (asserting it works).
    pub fn new(harness: &TestEnv, partitions: i32) -> ProcFleet {
        ProcFleet::with_replication(harness, partitions, 1)
    }

    /// As `new`, with topics replicated `replication_factor` times (a multi-node cluster).
    pub fn with_replication(
        harness: &TestEnv,
        partitions: i32,
        replication_factor: i32,
    ) -> ProcFleet {
        let brokers = std::env::var("REVOKE_TEST_KAFKA")
            .expect("REVOKE_TEST_KAFKA must name the real broker");
        let mut cfg = harness.cfg.clone();
        cfg.kafka.brokers = brokers.clone();
        cfg.topics.partitions = partitions;
        for topic in crate::fleet_kit::record_topics_mut(&mut cfg.topics) {
            *topic = format!("{topic}-p");
        }
        let t = &cfg.topics;
        let env = vec![
            ("KAFKA_BROKERS".into(), brokers),
            ("REVOKE_TOPICS__TERMINATIONS".into(), t.terminations.clone()),
            (
                "REVOKE_TOPICS__CONFIRMATIONS".into(),
                t.confirmations.clone(),
            ),
            ("REVOKE_TOPICS__CASES".into(), t.cases.clone()),
            ("REVOKE_TOPICS__ESCALATIONS".into(), t.escalations.clone()),
            ("REVOKE_TOPICS__DLQ".into(), t.dlq.clone()),
            ("REVOKE_TOPICS__DUE".into(), t.due.clone()),
            ("REVOKE_TOPICS__RESTORES".into(), t.restores.clone()),
            ("REVOKE_TOPICS__GUARD".into(), t.guard.clone()),
            ("REVOKE_TOPICS__PARTITIONS".into(), partitions.to_string()),
            (
                "REVOKE_VERIFIER__GUARD__ENABLED".into(),
                cfg.verifier.guard.enabled.to_string(),
            ),
            (
                "REVOKE_VERIFIER__GUARD__MAX_TERMINATIONS".into(),
                cfg.verifier.guard.max_terminations.to_string(),
            ),
            (
                "REVOKE_VERIFIER__GUARD__WINDOW_SECS".into(),
                cfg.verifier.guard.window_secs.to_string(),
            ),
            (
                "REVOKE_TOPICS__REPLICATION_FACTOR".into(),
                replication_factor.to_string(),
            ),
            (
                "REVOKE_KAFKA__GROUP_PREFIX".into(),
                cfg.kafka.group_prefix.clone(),
            ),
            ("REVOKE_CONSUMER__HEALTH_PROBE_MS".into(), "1000".into()),
            ("REVOKE_LOG".into(), "warn,revoke::adapters=error".into()),
        ];
        let fleet = ProcFleet { env, cfg };
        let out = fleet.run(&["topics", "create"]);
        assert!(
            out.status.success(),
            "topics create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        fleet
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(revoke_bin());
        c.args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run revoke")
    }

    /// Starts `revoke <args>` with `/metrics` and `/healthz` on a free port, and waits (up to
    /// 20 s) until it answers there. A process that exits first (its port taken after all) is
    /// started again on another port, twice at most: a test must not lose a worker silently.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        for _ in 0..3 {
            let port = free_port();
            let listen = format!("127.0.0.1:{port}");
            let mut all = vec!["--metrics-listen", listen.as_str()];
            all.extend_from_slice(args);
            let child = self
                .command(&all)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn revoke");
            let mut p = Proc {
                name: name.to_string(),
                child,
                port,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while p.alive() && p.health().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if p.alive() {
                return p;
            }
            eprintln!(
                "{name} exited at start ({:?}); starting it again on another port",
                p.child.try_wait()
            );
        }
        panic!("{name} ({args:?}) exited at start three times")
    }

    pub fn spawn_worker(&self, kind: &str) -> Proc {
        self.spawn(kind, &["worker", "--target", kind])
    }

    pub fn spawn_all(&self) -> (Vec<Proc>, Proc) {
        let workers = ["directory", "saas", "cloud", "vault", "cicd"]
            .iter()
            .map(|k| self.spawn_worker(k))
            .collect();
        (workers, self.spawn("verifier", &["verifier"]))
    }

    pub fn publish_generated(&self, n: usize) {
        let out = self.run(&[
            "publish",
            "--generate",
            &n.to_string(),
            "--source",
            "urn:test:hr",
        ]);
        assert!(
            out.status.success(),
            "publish: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn case_log(&self) -> CaseLog {
        read_case_log(&self.cfg).expect("read cases")
    }

    /// Polls the cases until `done` or `timeout`. A failed read (a broker being killed under the
    /// test's own reader) is retried, not fatal: the fleet is under test, not the reader.
    pub fn wait_cases(&self, timeout: Duration, done: impl Fn(&CaseLog) -> bool) -> CaseLog {
        let deadline = Instant::now() + timeout;
        let mut last = CaseLog::default();
        loop {
            match read_case_log(&self.cfg) {
                Ok(log) => last = log,
                Err(e) => eprintln!("reading cases failed ({e}); retrying"),
            }
            if done(&last) {
                return last;
            }
            if Instant::now() > deadline {
                eprintln!("{}", unfinished_report(&last));
                return last;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// What a wait that timed out saw: cases per state, and the first few cases not closed with
/// each target's state, so a failure in CI names the stuck cases instead of only a count.
pub fn unfinished_report(log: &CaseLog) -> String {
    use std::collections::BTreeMap;
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for c in log.latest.values() {
        *states.entry(format!("{:?}", c.state)).or_default() += 1;
    }
    let mut out = format!(
        "wait timed out: {} cases, by state {states:?}",
        log.latest.len()
    );
    let mut open: Vec<_> = log
        .latest
        .values()
        .filter(|c| c.state != revoke_shared::contract::CaseState::Closed)
        .collect();
    open.sort_by(|a, b| a.identity_id.cmp(&b.identity_id));
    for c in open.iter().take(5) {
        let targets: Vec<String> = c
            .targets
            .iter()
            .map(|(k, t)| format!("{k:?}={:?}", t.state))
            .collect();
        out.push_str(&format!(
            "\n  {} {:?} revision {} guard {:?} targets [{}] escalations {:?}",
            c.identity_id,
            c.state,
            c.revision,
            c.guard,
            targets.join(", "),
            c.escalations.iter().map(|e| &e.detail).collect::<Vec<_>>()
        ));
    }
    out
}

/// One running `revoke` process.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub port: u16,
}

impl Proc {
    /// `kill -9`: no shutdown, no commit.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn health(&self) -> Option<u16> {
        self.status("/healthz")
    }

    /// The status `path` (`/healthz`, `/livez`, `/readyz`) answers, `None` without an answer.
    pub fn status(&self, path: &str) -> Option<u16> {
        http_get(self.port, path).ok().map(|(s, _)| s)
    }

    /// `/healthz` as a failure message shows it: the status and the components it names.
    pub fn health_text(&self) -> String {
        self.status_text("/healthz")
    }

    /// `path` as a failure message shows it: the status and the parts it names.
    pub fn status_text(&self, path: &str) -> String {
        match http_get(self.port, path) {
            Ok((s, body)) => format!("{s} {}", body.trim()),
            Err(e) => format!("no answer: {e}"),
        }
    }

    pub fn metrics(&self) -> String {
        http_get(self.port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// SIGTERM, then waits up to 30 s; asserts exit code 0.
    pub fn sigterm_and_wait(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(
                    status.code(),
                    Some(0),
                    "{} exit status after SIGTERM",
                    self.name
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{} did not exit within 30 s of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A test that panics must not leave processes behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

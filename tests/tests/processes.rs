//! The `revoke` binary as separate OS processes against a real Kafka broker: topics created
//! through the admin API, five workers and a verifier, HR events published by `revoke publish`,
//! evidence printed by `revoke case`, graceful SIGTERM, and exit codes.
//!
//! Needs a real broker (the embedded one has no CreateTopics API), so it is `#[ignore]`d in plain
//! `cargo test`; the README's test command runs it with `REVOKE_TEST_KAFKA` set.

use revoke_shared::contract::CaseState;
use revoke_tests::TestEnv;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn revoke_bin() -> PathBuf {
    // target/debug/deps/processes-xxxx → target/debug/revoke
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("revoke");
    assert!(bin.exists(), "{} not built: run `cargo build -p revoke` first (the test command does)", bin.display());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Fleet {
    env: Vec<(String, String)>,
}

impl Fleet {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(revoke_bin());
        c.args(args).envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))).env("REVOKE_LOG", "warn");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap()
    }
}

fn sigterm_and_wait(mut child: Child, name: &str) {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "{name} exit status after SIGTERM");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} did not exit within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs a real Kafka broker: run the README's test command (sets REVOKE_TEST_KAFKA)"]
fn fleet_of_processes_on_a_real_broker() {
    let brokers = std::env::var("REVOKE_TEST_KAFKA").expect("REVOKE_TEST_KAFKA must name the real broker");
    // The harness gives unique topic names and group prefix; the processes get them by env.
    let harness = TestEnv::new("procs");
    let cfg = harness.cfg.clone();
    let t = &cfg.topics;
    let fleet = Fleet {
        env: vec![
            ("KAFKA_BROKERS".into(), brokers),
            ("REVOKE_TOPICS__TERMINATIONS".into(), format!("{}-cli", t.terminations)),
            ("REVOKE_TOPICS__CONFIRMATIONS".into(), format!("{}-cli", t.confirmations)),
            ("REVOKE_TOPICS__CASES".into(), format!("{}-cli", t.cases)),
            ("REVOKE_TOPICS__ESCALATIONS".into(), format!("{}-cli", t.escalations)),
            ("REVOKE_TOPICS__DLQ".into(), format!("{}-cli", t.dlq)),
            ("REVOKE_TOPICS__PARTITIONS".into(), "3".into()),
            ("REVOKE_KAFKA__GROUP_PREFIX".into(), cfg.kafka.group_prefix.clone()),
            ("REVOKE_CONSUMER__SESSION_TIMEOUT_MS".into(), "6000".into()),
        ],
    };

    let out = fleet.run(&["topics", "create"]);
    assert!(out.status.success(), "topics create: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches(": created").count(), 5, "{text}");
    let again = fleet.run(&["topics", "create"]);
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).matches(": exists").count(), 5);

    let worker_port = free_port();
    let mut workers = Vec::new();
    for (i, kind) in ["directory", "saas", "cloud", "vault", "cicd"].iter().enumerate() {
        let listen = if i == 0 { format!("127.0.0.1:{worker_port}") } else { String::new() };
        workers.push((kind.to_string(), fleet.spawn(&["--metrics-listen", &listen, "worker", "--target", kind])));
    }
    let verifier_port = free_port();
    let verifier = fleet.spawn(&["--metrics-listen", &format!("127.0.0.1:{verifier_port}"), "verifier"]);

    let out = fleet.run(&["publish", "--generate", "100", "--source", "urn:test:hr"]);
    assert!(out.status.success(), "publish: {}", String::from_utf8_lossy(&out.stderr));

    // Read the cases with the harness, pointed at the processes' topics.
    let mut reader = harness.cfg.clone();
    reader.topics.cases = format!("{}-cli", t.cases);
    let deadline = Instant::now() + Duration::from_secs(120);
    let log = loop {
        let log = revoke::cases::read_case_log(&reader).unwrap();
        if log.count(CaseState::Closed) == 100 || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(log.count(CaseState::Closed), 100, "closed cases");
    assert!(log.closed_versions.values().all(|n| *n == 1), "a case closed twice");

    let out = fleet.run(&["case", "E000007"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["state closed", "requested by hr:people-ops", "target vault", "verified true", "verdict: closed at"] {
        assert!(text.contains(needle), "`revoke case` output lacks {needle:?}:\n{text}");
    }
    let json = fleet.run(&["case", "E000007", "--json"]);
    let case: serde_json::Value = serde_json::from_slice(&json.stdout).expect("case --json is JSON");
    assert_eq!(case["state"], "closed");

    // Every process serves /metrics and /healthz.
    for port in [worker_port, verifier_port] {
        let health = http_get(port, "/healthz");
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        let metrics = http_get(port, "/metrics");
        assert!(metrics.contains("revoke_events_consumed_total"), "{metrics}");
    }

    for (kind, child) in workers {
        sigterm_and_wait(child, &kind);
    }
    sigterm_and_wait(verifier, "verifier");

    // Exit codes: 1 for a failed job, 2 for bad usage or config.
    assert_eq!(fleet.run(&["case", "no-such-identity"]).status.code(), Some(1));
    assert_eq!(fleet.run(&["worker", "--target", "printer"]).status.code(), Some(2));
    assert_eq!(fleet.run(&["--config", "/nonexistent/revoke.toml", "verifier"]).status.code(), Some(2));
    let mut bad = fleet.command(&["publish"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        let stdin = bad.stdin.as_mut().unwrap();
        stdin.write_all(b"{\"subject\":\"E1\",\"specversion\":\"1.0\"}\n").unwrap();
    }
    let out = bad.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

//! One-shot commands against a broker that cannot be reached, through the real binary: a closed
//! loopback port and a plain TCP listener that accepts and never speaks Kafka. Each command
//! ends with exit code 1 and one line naming the address and what to check, well within a
//! generous bound of `--timeout` (a functional bound, not a benchmark) — instead of the minute
//! of waiting and hundreds of librdkafka lines it printed before. The long-running processes
//! are not one-shot: the verifier keeps waiting for the broker past `--timeout`.
//!
//! Needs no broker and no peer; it runs in plain `cargo test` (after `cargo build -p revoke`).

use revoke_tests::procs::revoke_bin;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `--timeout` given to every command.
const TIMEOUT_SECS: &str = "2";
/// How long a command may take in all: start-up, the 2 s wait, the exit (on 2 busy cores).
const BOUND: Duration = Duration::from_secs(15);
/// stderr lines allowed: the one message, and room for one unrelated warning.
const MAX_LINES: usize = 2;

/// Every one-shot command that talks to the broker, with arguments clap accepts.
const ONE_SHOT: &[&[&str]] = &[
    &["case", "E000001"],
    &["case", "E000001", "--verify"],
    &[
        "case",
        "ack",
        "C1",
        "--target",
        "saas",
        "--by",
        "it:ann",
        "--note",
        "removed by hand",
    ],
    &["report"],
    &["guard"],
    &["approve", "B1", "--by", "alice"],
    &["reject", "B1", "--by", "alice"],
    &["review", "C1", "--accept", "--by", "rita", "--digest", "d"],
    &["verify"],
    &["publish", "--generate", "1"],
    &["evidence", "export", "C1"],
    &["topics", "create"],
    &[
        "replay",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-02T00:00:00Z",
        "--by",
        "alice",
        "--dry-run",
    ],
    &["cases", "rebuild", "--check"],
];

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    addr
}

/// A listener that accepts every connection and never answers (kept open by a thread that
/// holds the streams until the test process ends).
fn plain_listener() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    addr
}

fn revoke(brokers: &str, timeout: &str, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let mut all = vec![
        "--brokers",
        brokers,
        "--metrics-listen",
        "",
        "--timeout",
        timeout,
    ];
    all.extend_from_slice(args);
    let out = revoke_tests::procs::revoke_offline(&all);
    (out, started.elapsed())
}

/// Runs every one-shot command against `brokers` (in parallel) and checks each outcome.
fn every_command_fails_fast(brokers: &str, cause: &str) {
    let runs: Vec<_> = ONE_SHOT
        .iter()
        .map(|args| {
            let brokers = brokers.to_string();
            std::thread::spawn(move || (args, revoke(&brokers, TIMEOUT_SECS, args)))
        })
        .collect();
    for run in runs {
        let (args, (out, took)) = run.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let what = format!(
            "revoke {}: took {took:?}, stderr:\n{stderr}",
            args.join(" ")
        );
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert!(took < BOUND, "{what}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(lines.len() <= MAX_LINES, "{} lines: {what}", lines.len());
        let line = lines
            .iter()
            .find(|l| l.starts_with("revoke: no Kafka broker answered at "))
            .unwrap_or_else(|| panic!("no message naming the broker: {what}"));
        assert!(line.contains(brokers), "{what}");
        assert!(line.contains(cause), "cause {cause:?} missing: {what}");
        assert!(
            line.contains("--brokers") && line.contains("--timeout"),
            "{what}"
        );
        assert!(!stderr.contains("librdkafka"), "{what}");
        assert!(stdout.is_empty(), "{what}\nstdout:\n{stdout}");
    }
}

#[test]
fn one_shot_commands_fail_fast_on_a_closed_port() {
    every_command_fails_fast(&closed_port(), "connection refused");
}

#[test]
fn one_shot_commands_fail_fast_on_a_listener_that_is_not_kafka() {
    every_command_fails_fast(&plain_listener(), "does not answer as a Kafka broker");
}

/// `--timeout` is the bound: a longer one waits longer (so the bound is not an accident of
/// librdkafka's own timers), and the default is 10 s.
#[test]
fn the_wait_follows_the_timeout_flag() {
    let addr = plain_listener();
    let (out, took) = revoke(&addr, "5", &["guard"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(took >= Duration::from_secs(5) && took < BOUND, "{took:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("within 5 s"), "{stderr}");
    let help = Command::new(revoke_bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--timeout <TIMEOUT>") && help.contains("[default: 10]"),
        "{help}"
    );
}

/// The verifier is a long-running process: a broker that is not there yet is waited for, not
/// an error (its `/healthz` reports it meanwhile).
#[test]
fn the_verifier_keeps_waiting_for_the_broker() {
    let mut child = revoke_tests::procs::spawn_revoke_offline(&[
        "--brokers",
        &closed_port(),
        "--metrics-listen",
        "",
        "--timeout",
        "1",
        "verifier",
    ]);
    std::thread::sleep(Duration::from_secs(4));
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        still_running,
        "the verifier exited within 4 s of a missing broker"
    );
}

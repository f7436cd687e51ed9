//! CPU per leaver for each process kind, as deployed: the `revoke` binary run as seven OS
//! processes (five workers on simulated targets, the verifier with the blast-radius guard on,
//! nothing held) against a real broker; N leavers published at once with `revoke publish
//! --generate`; each process's user+system CPU (from /proc) read before the publish and once
//! every case closed. Prints CPU seconds, µs per leaver and the share per process. Asserts
//! nothing.
//!
//!   cargo build --release -p revoke
//!   REVOKE_TEST_KAFKA=host:port cargo bench -p revoke-tests --bench cpu_per_leaver -- --leavers 10000

use revoke_shared::contract::CaseState;
use revoke_tests::bench_cases::positive_arg;
use revoke_tests::procs::ProcFleet;
use revoke_tests::TestEnv;
use std::time::{Duration, Instant};

/// User+system CPU seconds of process `pid` so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces, so split after its ')').
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn main() {
    let mut n: usize = 10_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--leavers" => n = positive_arg(&mut args, "--leavers") as usize,
            "--bench" => {}
            other => {
                eprintln!("unknown argument {other}; use --leavers N");
                std::process::exit(2)
            }
        }
    }
    let env = TestEnv::new("cpu-per-leaver");
    let fleet = ProcFleet::new(&env, 6);
    let (mut procs, verifier) = fleet.spawn_all();
    procs.push(verifier);
    // Settled: every group assigned before anything is counted.
    std::thread::sleep(Duration::from_secs(5));
    let before: Vec<f64> = procs.iter().map(|p| cpu_secs(p.child.id())).collect();
    let started = Instant::now();
    fleet.publish_generated(n);
    let log = fleet.wait_cases(Duration::from_secs(1800), |l| {
        l.count(CaseState::Closed) >= n
    });
    let secs = started.elapsed().as_secs_f64();
    let used: Vec<f64> = procs
        .iter()
        .zip(&before)
        .map(|(p, b)| cpu_secs(p.child.id()) - b)
        .collect();
    let total: f64 = used.iter().sum();
    println!(
        "CPU per leaver by process, {n} leavers at once ({} closed in {secs:.1} s), {} broker, release={}",
        log.count(CaseState::Closed),
        env.broker,
        !cfg!(debug_assertions)
    );
    println!(
        "  {:<10} {:>8} {:>14} {:>7}",
        "process", "CPU s", "µs per leaver", "share"
    );
    for (p, u) in procs.iter().zip(&used) {
        println!(
            "  {:<10} {:>8.2} {:>14.0} {:>6.1}%",
            p.name,
            u,
            u * 1e6 / n as f64,
            100.0 * u / total.max(1e-9)
        );
    }
    println!(
        "  {:<10} {:>8.2} {:>14.0}",
        "all",
        total,
        total * 1e6 / n as f64
    );
    for p in procs {
        p.sigterm_and_wait();
    }
}

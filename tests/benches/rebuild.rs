//! The verifier's rebuild from a large changelog on a broker: `--cases N` closed case records
//! (each a copy of one closed case with its own person, event and case id, ~4.4 KB of JSON) are
//! written to a fresh cases topic, then the verifier's own rebuild (`rebuild_partitions`: read,
//! parse, restore, record by record) takes them in, as a verifier taking over every partition
//! does. Prints the time, µs and bytes per case, MB/s, and the process's resident memory before
//! and after (its growth per case: the rebuilt state plus the Kafka client's buffers). Asserts
//! nothing.
//!
//!   REVOKE_TEST_KAFKA=host:port cargo bench -p revoke-tests --bench rebuild -- --cases 1000000
//!   (--property K=V sets a librdkafka property on every client, the reader's included)
//!
//! Target (issue 16): 1,000,000 closed cases rebuilt in <= 30 s on the 2-core machine. The
//! embedded broker keeps its log in memory and stalls on large volumes: use the real one.

use revoke::verifier::{Effect, Input, Verifier};
use revoke_shared::contract::{case_id_for, CaseState, TargetKind};
use revoke_shared::kafka::Producer;
use revoke_tests::bench_cases::{positive_arg, report, t0, termination, SOURCE};
use revoke_tests::TestEnv;
use std::time::{Duration, Instant};

/// Person 0's closed case as JSON: the template every record is made from.
fn template() -> String {
    // The guard off: the case closes on the five reports alone.
    let mut policy = revoke_shared::config::VerifierConfig::default();
    policy.guard.enabled = false;
    let mut v = Verifier::new(policy);
    let ev = termination(0);
    drop(v.apply(Input::Hr(&ev), t0()));
    let mut closed = None;
    for k in TargetKind::ALL {
        for e in v.apply(Input::Confirmation(&report(&ev, k)), t0()) {
            if let Effect::Case(c) = e {
                if c.state == CaseState::Closed {
                    closed = Some(c);
                }
            }
        }
    }
    serde_json::to_string(&closed.expect("the case closes")).unwrap()
}

/// Person `i`'s copy of the template, and its key.
fn record(template: &str, i: usize) -> (String, String) {
    let case = case_id_for(SOURCE, &format!("wd-evt-{i:08}")).to_string();
    let text = template
        .replace(&case_id_for(SOURCE, "wd-evt-00000000").to_string(), &case)
        .replace("00000000", &format!("{i:08}"));
    (case, text)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut n: usize = 100_000;
    let mut properties: Vec<(String, String)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cases" => n = positive_arg(&mut args, "--cases") as usize,
            "--property" => match args.next().as_deref().and_then(|kv| kv.split_once('=')) {
                Some((k, v)) => properties.push((k.into(), v.into())),
                None => {
                    eprintln!("--property takes KEY=VALUE (a librdkafka property)");
                    std::process::exit(2)
                }
            },
            "--bench" => {}
            other => {
                eprintln!("unknown argument {other}; use --cases N --property K=V");
                std::process::exit(2)
            }
        }
    }
    let env = TestEnv::new("rebuild-bench");
    let mut cfg = env.cfg.clone();
    cfg.kafka.properties.extend(properties);
    let template = template();
    println!(
        "rebuild of {n} closed cases on the {} broker ({} partitions), {} B per record",
        env.broker,
        cfg.topics.partitions,
        template.len()
    );
    let written = Instant::now();
    let mut bytes = 0usize;
    env.block_on(async {
        let producer = Producer::with_timeout(&cfg, Duration::from_secs(120)).expect("producer");
        let mut pending = Vec::new();
        for i in 0..n {
            let (key, text) = record(&template, i);
            bytes += text.len();
            pending.push(
                producer
                    .enqueue_bytes_with_headers(&cfg.topics.cases, &key, text.as_bytes(), None, &[])
                    .expect("enqueue"),
            );
            if pending.len() >= 20_000 {
                for p in pending.drain(..) {
                    p.wait().await.expect("delivered");
                }
            }
        }
        for p in pending.drain(..) {
            p.wait().await.expect("delivered");
        }
    });
    let write_s = written.elapsed().as_secs_f64();
    println!(
        "  written: {:.0} MB in {write_s:.1} s ({:.0} MB/s)",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / write_s
    );
    let parts: Vec<i32> = (0..cfg.topics.partitions as i32).collect();
    let rss_before = rss_kib();
    let started = Instant::now();
    let rebuilt =
        revoke::verifier::shell::rebuild_partitions(&cfg, &parts, &cfg.verifier).expect("rebuild");
    let secs = started.elapsed().as_secs_f64();
    let rss_after = rss_kib();
    let closed = (0..n)
        .step_by((n / 1000).max(1))
        .filter(|i| {
            rebuilt
                .machine
                .is_closed(&case_id_for(SOURCE, &format!("wd-evt-{i:08}")))
        })
        .count();
    println!(
        "  rebuilt: {} records in {secs:.1} s ({:.1} µs per case, {:.0} MB/s; target 1,000,000 in <= 30 s: {:.1} s per million, ratio {:.2})",
        rebuilt.records,
        secs * 1e6 / n as f64,
        bytes as f64 / 1e6 / secs,
        secs * 1e6 / n as f64,
        secs * 1e6 / n as f64 / 30.0
    );
    println!(
        "  resident memory {:.0} MiB before, {:.0} MiB after: {:.0} B per case; closed in a sample of {}: {closed}",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / n as f64,
        (0..n).step_by((n / 1000).max(1)).count()
    );
}

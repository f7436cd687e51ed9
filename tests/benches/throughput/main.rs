//! Throughput of the revoke fleet against a raw-rdkafka baseline measured in the same run.
//!
//! ```text
//! cargo bench -p revoke-tests --bench throughput -- [--leavers N] [--repeat K] [--only baseline|revoke]
//! ```
//!
//! - N leavers: `--leavers N`, else `BENCH_LEAVERS`, else 10 000 on a real broker and 2 000 on the
//!   embedded one (librdkafka's mock cluster keeps its log in memory and stalls when it grows too
//!   large).
//! - Broker: `REVOKE_TEST_KAFKA` (fresh topics and group prefix per run, as the tests do), else a
//!   fresh embedded mock cluster per run.
//!
//! Two pipelines move the same leavers:
//!
//! 1. **raw rdkafka** (the baseline): plain `FutureProducer` (acks=all, idempotent, linger.ms=5,
//!    like revoke) and `StreamConsumer`, no revoke logic. N structured CloudEvents are produced;
//!    five consumer groups each read all N and produce one confirmation-sized record per event
//!    (keyed by identity); one group reads the 5N confirmations and produces one case-sized
//!    record per identity once its fifth confirmation arrived. Sends are not awaited one by one:
//!    acknowledgements are collected by a separate task. Timed from the first produce to the
//!    acknowledgement of the last case-sized record.
//! 2. **revoke**: `Fleet::start_simulated` (simulator latency 0) on fresh topics; once every group
//!    has partitions, `publish_events` publishes the N leavers; timed until the verifier has
//!    closed N cases (its in-process `case_updates{state="closed"}` counter, polled every 5 ms).
//!
//! It prints figures and ratios, never asserts on time.

use chrono::Utc;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;
use revoke::fleet::wait_for_groups;
use revoke::fleet::Fleet;
use revoke::hr::{publish_events, synthetic_leaver, Mode};
use revoke_shared::config::Config;
use revoke_shared::contract::{Case, CaseState, CASE_SCHEMA};
use revoke_shared::kafka::{read_to_end, Producer};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::TestEnv;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

mod baseline;
mod measure;
mod options;
mod revoke_run;

use baseline::run_baseline;
use measure::*;
use options::*;
use revoke_run::run_revoke;

/// Payload sizes of the baseline's records. The confirmation size is the brief's ~1 KB; the
/// case size is close to what revoke's closed cases measure (five targets' evidence); both are
/// printed next to revoke's measured averages.
const CONFIRMATION_BYTES: usize = 1024;
const CASE_BYTES: usize = 6 * 1024;
const TARGETS: usize = 5;

/// The same allocator as the `revoke` binary, for the baseline and the fleet alike.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let opts = parse_args();
    let real = std::env::var("REVOKE_TEST_KAFKA")
        .ok()
        .filter(|s| !s.is_empty());
    let (broker, default_n) = match &real {
        Some(b) => (format!("kafka at {b} (REVOKE_TEST_KAFKA)"), 10_000),
        None => (
            "embedded (librdkafka mock cluster, in this process)".to_string(),
            2_000,
        ),
    };
    let n = opts.leavers.unwrap_or(default_n);
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    println!("revoke throughput benchmark (figures only; nothing is asserted)");
    println!("  broker      {broker}");
    println!(
        "  cores       {cores}   load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let why = if opts.leavers.is_some() {
        "given"
    } else if real.is_some() {
        "default"
    } else {
        "embedded default: the mock cluster's in-memory log is bounded (stalls around 40k x 400 B records), so 2000, not 10000"
    };
    println!("  leavers     {n} ({why})");
    println!("  repeat      {}", opts.repeat);
    println!(
        "  baseline    raw rdkafka: N CloudEvents -> 5 groups x N reads, 5N x {CONFIRMATION_BYTES} B confirmations -> 1 group x 5N reads, N x {CASE_BYTES} B cases"
    );
    println!("  revoke      Fleet::start_simulated (latency 0) until N cases closed");
    println!(
        "              evidence keys: {}; verifier.fold_ms = {}",
        if opts.signed {
            "yes (--signed: every case version sealed and signed, every report signed)"
        } else {
            "none (--signed to sign as deployed)"
        },
        opts.fold_ms.map_or_else(
            || format!(
                "{} (default)",
                revoke_shared::config::VerifierConfig::default().fold_ms
            ),
            |m| m.to_string()
        )
    );
    if opts.max_in_flight.is_some() || !opts.properties.is_empty() {
        println!(
            "  EXPERIMENT  revoke runs with{}{} (baseline unchanged)",
            opts.max_in_flight
                .map(|m| format!(" consumer.max_in_flight={m}"))
                .unwrap_or_default(),
            opts.properties
                .iter()
                .map(|(k, v)| format!(" {k}={v}"))
                .collect::<String>()
        );
    }
    println!();

    let mut runs: Vec<(usize, Run, Run)> = Vec::new();
    for i in 1..=opts.repeat {
        let base = if opts.only.as_deref() != Some("revoke") {
            eprintln!(
                "[{i}/{}] raw rdkafka baseline, {n} leavers ...",
                opts.repeat
            );
            let r = run_baseline(n);
            eprintln!("       {:.2} s {}", r.secs, r.note);
            r
        } else {
            Run::default()
        };
        let rev = if opts.only.as_deref() != Some("baseline") {
            eprintln!("[{i}/{}] revoke fleet, {n} leavers ...", opts.repeat);
            let r = run_revoke(n, &opts);
            eprintln!("       {:.2} s {}", r.secs, r.note);
            r
        } else {
            Run::default()
        };
        runs.push((i, base, rev));
    }

    println!(
        "  {:>3}  {:<12} {:>7} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10} {:>10} {:>7} {:>7} {:>9}",
        "run",
        "pipeline",
        "leavers",
        "produced",
        "consumed",
        "moved",
        "MB out",
        "seconds",
        "publish",
        "leavers/s",
        "msgs/s",
        "MB/s",
        "cpu s",
        "broker s"
    );
    for (i, b, r) in &runs {
        for x in [b, r] {
            if !x.pipeline.is_empty() {
                println!("{}", row(*i, x));
            }
        }
    }
    println!("  (moved = records produced + records delivered to the pipeline's groups; MB out = payload bytes produced;");
    println!("   publish = time to get the N HR events acknowledged; cpu s = this process's user+system CPU during the run{};",
        if real.is_some() { ", broker JVM not included" } else { ", embedded broker included" });
    println!("   broker s = CPU of the process BENCH_BROKER_PID names, e.g. the Kafka JVM; '-' when not set)");

    if real.is_none() {
        println!("  note: on the embedded mock cluster wall times come in ~0.5 s steps (observed: the same baseline takes 0.6, 1.1 or");
        println!("        1.6 s), so its ratio says little; compare CPU seconds here and use a real broker (REVOKE_TEST_KAFKA) for the ratio.");
    }
    let ratios: Vec<f64> = runs
        .iter()
        .filter(|(_, b, r)| b.finished && r.finished)
        .map(|(_, b, r)| r.leavers_per_sec() / b.leavers_per_sec())
        .collect();
    println!();
    if !ratios.is_empty() {
        let per = ratios
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "  ratio revoke/baseline throughput (leavers/s): {:.2}{}   (team target on a real broker: >= 0.5)",
            median(ratios.clone()).unwrap_or(f64::NAN),
            if ratios.len() > 1 { format!(" median of [{per}]") } else { String::new() }
        );
        let both = || runs.iter().filter(|(_, b, r)| b.finished && r.finished);
        let cpu: Vec<f64> = both().map(|(_, b, r)| r.cpu_secs / b.cpu_secs).collect();
        let broker: Vec<f64> = both()
            .filter_map(|(_, b, r)| Some(r.broker_cpu_secs? / b.broker_cpu_secs?))
            .collect();
        println!(
            "  ratio revoke/baseline CPU seconds: this process {:.2}{}",
            median(cpu).unwrap_or(f64::NAN),
            median(broker)
                .map(|b| format!(", broker {b:.2}"))
                .unwrap_or_default()
        );
    }
    for (i, _, r) in runs.iter().filter(|(_, _, r)| !r.pipeline.is_empty()) {
        let ms = |v: Option<i64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into());
        let b = |v: Option<u64>| v.map(|v| format!("{v} B")).unwrap_or_else(|| "-".into());
        println!(
            "  revoke run {i}: time to close p50 {}, p99 {} — QUEUEING latency: all {} leavers were published at once, so this is \
             mostly time spent waiting behind the burst, not the latency of one leaver on an idle fleet",
            ms(r.ttc_p50_ms),
            ms(r.ttc_p99_ms),
            r.leavers
        );
        if r.read_back.0 < r.read_back.1 {
            println!(
                "  revoke run {i}: only {} of {} confirmation and case records could be read back: time to close is over those, MB out scaled",
                r.read_back.0, r.read_back.1
            );
        }
        println!(
            "  revoke run {i}: {} case versions published ({:.1} per leaver), avg confirmation {}, avg closed case {} \
             (baseline: {CONFIRMATION_BYTES} B and {CASE_BYTES} B, one case record per leaver)",
            r.case_versions,
            r.case_versions as f64 / r.leavers.max(1) as f64,
            b(r.avg_confirmation_bytes),
            b(r.avg_case_bytes)
        );
    }
}

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
use revoke::cli::demo::wait_for_groups;
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

/// Payload sizes of the baseline's records. The confirmation size is the brief's ~1 KB; the
/// case size is close to what revoke's closed cases measure (five targets' evidence); both are
/// printed next to revoke's measured averages.
const CONFIRMATION_BYTES: usize = 1024;
const CASE_BYTES: usize = 6 * 1024;
const TARGETS: usize = 5;

// ---------------------------------------------------------------------------------------------
// options

#[derive(Debug, Clone)]
struct Options {
    leavers: Option<usize>,
    repeat: usize,
    only: Option<String>,
    /// Experiments on revoke only (the baseline keeps its settings): `consumer.max_in_flight`
    /// and extra librdkafka properties for every revoke client.
    max_in_flight: Option<usize>,
    properties: Vec<(String, String)>,
    /// Print revoke's per-group progress every 250 ms (stderr).
    progress: bool,
}

fn parse_args() -> Options {
    let mut o = Options {
        leavers: None,
        repeat: 1,
        only: None,
        max_in_flight: None,
        properties: Vec::new(),
        progress: false,
    };
    let mut args = std::env::args().skip(1);
    let num = |what: &str, v: Option<String>| -> usize {
        let v = v.unwrap_or_else(|| die(&format!("{what} needs a value")));
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| die(&format!("{what}: not a number: {v}")))
    };
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        match flag.as_str() {
            "--leavers" => o.leavers = Some(num("--leavers", inline.or_else(|| args.next()))),
            "--repeat" => o.repeat = num("--repeat", inline.or_else(|| args.next())).max(1),
            "--only" => {
                let v = inline.or_else(|| args.next()).unwrap_or_default();
                if v != "baseline" && v != "revoke" {
                    die("--only takes `baseline` or `revoke`");
                }
                o.only = Some(v);
            }
            "--max-in-flight" => {
                o.max_in_flight =
                    Some(num("--max-in-flight", inline.or_else(|| args.next())).max(1))
            }
            "--property" => {
                let v = inline.or_else(|| args.next()).unwrap_or_default();
                let (k, v) = v
                    .split_once('=')
                    .unwrap_or_else(|| die("--property takes KEY=VALUE (a librdkafka property)"));
                o.properties.push((k.to_string(), v.to_string()));
            }
            "--progress" => o.progress = true,
            "-h" | "--help" => {
                eprintln!(
                    "usage: throughput [--leavers N] [--repeat K] [--only baseline|revoke] [--progress]\n\
                     \x20                 [--max-in-flight N] [--property KEY=VALUE]...   (the last two change revoke only)\n\
                     env: BENCH_LEAVERS, REVOKE_TEST_KAFKA (a real broker; else the embedded one), BENCH_PROGRESS=1"
                );
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; ignore it and anything else not ours.
            _ => {}
        }
    }
    o.progress |= std::env::var("BENCH_PROGRESS").is_ok_and(|v| !v.is_empty() && v != "0");
    if o.leavers.is_none() {
        if let Ok(v) = std::env::var("BENCH_LEAVERS") {
            o.leavers = Some(num("BENCH_LEAVERS", Some(v)));
        }
    }
    o
}

fn die(msg: &str) -> ! {
    eprintln!("throughput: {msg}");
    std::process::exit(2);
}

// ---------------------------------------------------------------------------------------------
// measurements

#[derive(Debug, Clone, Default)]
struct Run {
    pipeline: &'static str,
    leavers: usize,
    /// Records written to Kafka (acknowledged).
    produced: u64,
    /// Records delivered to the pipeline's consumer groups.
    consumed: u64,
    produced_bytes: u64,
    /// From the first produce to the end condition.
    secs: f64,
    /// How long producing the N HR events took (inside `secs`).
    publish_secs: f64,
    /// CPU time (user + system) of this process over `secs` (with the embedded broker this
    /// includes the broker; a real broker's CPU is not counted).
    cpu_secs: f64,
    /// CPU time of the broker (`BENCH_BROKER_PID`) over `secs`.
    broker_cpu_secs: Option<f64>,
    /// revoke only: time to close (closed_at - effective_at) of the closed cases.
    ttc_p50_ms: Option<i64>,
    ttc_p99_ms: Option<i64>,
    /// revoke only: average record sizes read back from the topics.
    avg_confirmation_bytes: Option<u64>,
    avg_case_bytes: Option<u64>,
    /// revoke only: (confirmation + case records read back, produced).
    read_back: (u64, u64),
    case_versions: u64,
    finished: bool,
    note: String,
}

impl Run {
    fn leavers_per_sec(&self) -> f64 {
        self.leavers as f64 / self.secs
    }
    fn moved(&self) -> u64 {
        self.produced + self.consumed
    }
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_seconds() -> f64 {
    proc_cpu_seconds("self")
}

/// CPU seconds of the broker process named by `BENCH_BROKER_PID` (a real broker's JVM), if set.
fn broker_cpu_seconds() -> Option<f64> {
    let pid = std::env::var("BENCH_BROKER_PID")
        .ok()
        .filter(|p| !p.is_empty())?;
    let s = proc_cpu_seconds(pid.trim());
    s.is_finite().then_some(s)
}

fn proc_cpu_seconds(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux).
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // `rest` starts at field 3 (state), so field 14 is index 11.
    (tick(11) + tick(12)) / 100.0
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[idx.min(sorted.len() - 1)])
}

/// A time limit proportional to the work: generous, only there so a stalled broker ends the run.
fn time_limit(n: usize) -> Duration {
    Duration::from_secs(120 + (n as u64) / 50)
}

// ---------------------------------------------------------------------------------------------
// 1. raw rdkafka baseline

fn raw_producer(cfg: &Config) -> FutureProducer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "120000");
    // Only the embedded broker's metadata refresh (and anything REVOKE_KAFKA__PROPERTIES sets):
    // the same client tuning revoke gets.
    for (k, v) in &cfg.kafka.properties {
        c.set(k, v);
    }
    c.create().expect("raw producer")
}

fn raw_consumer(cfg: &Config, group: &str, topic: &str) -> StreamConsumer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka.brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set(
            "session.timeout.ms",
            cfg.consumer.session_timeout_ms.to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (cfg.consumer.session_timeout_ms / 4).max(100).to_string(),
        );
    for (k, v) in &cfg.kafka.properties {
        c.set(k, v);
    }
    let consumer: StreamConsumer = c.create().expect("raw consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Enqueues a record without waiting for its acknowledgement (waits only if the local queue is
/// full).
async fn enqueue(p: &FutureProducer, topic: &str, key: &[u8], payload: &[u8]) -> DeliveryFuture {
    loop {
        match p.send_result(FutureRecord::to(topic).key(key).payload(payload)) {
            Ok(f) => return f,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err((e, _)) => panic!("produce to {topic}: {e}"),
        }
    }
}

/// Awaits acknowledgements as they are handed over; returns when `expect` were acknowledged.
fn spawn_acks(
    expect: usize,
) -> (
    mpsc::UnboundedSender<DeliveryFuture>,
    tokio::task::JoinHandle<Instant>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<DeliveryFuture>();
    let h = tokio::spawn(async move {
        let mut n = 0;
        while n < expect {
            let Some(f) = rx.recv().await else { break };
            match f.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => panic!("record not acknowledged: {e}"),
                Err(_) => panic!("delivery future cancelled"),
            }
            n += 1;
        }
        Instant::now()
    });
    (tx, h)
}

/// A payload of `size` bytes that looks like a JSON record about `key`.
fn padded(kind: &str, key: &[u8], size: usize) -> Vec<u8> {
    let head = format!(
        "{{\"kind\":\"{kind}\",\"identity\":\"{}\",\"pad\":\"",
        String::from_utf8_lossy(key)
    );
    let mut v = head.into_bytes();
    v.resize(size.saturating_sub(2).max(v.len()), b'x');
    v.extend_from_slice(b"\"}");
    v
}

#[derive(Default)]
struct Progress {
    hr_acked: AtomicU64,
    worker_consumed: AtomicU64,
    confirmations_acked: AtomicU64,
    verifier_consumed: AtomicU64,
    cases_acked: AtomicU64,
}

fn run_baseline(n: usize) -> Run {
    let env = TestEnv::new("bench-raw");
    let cfg = env.cfg.clone();
    env.block_on(async move {
        let progress = Arc::new(Progress::default());
        let t = &cfg.topics;

        // Five "worker" groups and a "verifier" group, each with its own producer (as in revoke).
        let mut consumers = Vec::new();
        let mut workers = Vec::new();
        for w in 0..TARGETS {
            let consumer = Arc::new(raw_consumer(&cfg, &format!("{}raw-worker-{w}", cfg.kafka.group_prefix), &t.terminations));
            consumers.push(consumer.clone());
            let producer = raw_producer(&cfg);
            let out = t.confirmations.clone();
            let progress = progress.clone();
            workers.push(tokio::spawn(async move {
                let (tx, acks) = spawn_acks(n);
                let mut seen = 0;
                while seen < n {
                    let key = match consumer.recv().await {
                        Ok(m) => m.key().unwrap_or_default().to_vec(),
                        Err(e) => {
                            eprintln!("raw worker {w}: {e}");
                            continue;
                        }
                    };
                    seen += 1;
                    progress.worker_consumed.fetch_add(1, Ordering::Relaxed);
                    let payload = padded("confirmation", &key, CONFIRMATION_BYTES);
                    let _ = tx.send(enqueue(&producer, &out, &key, &payload).await);
                }
                let _ = acks.await;
                progress.confirmations_acked.fetch_add(n as u64, Ordering::Relaxed);
            }));
        }
        let vconsumer = Arc::new(raw_consumer(&cfg, &format!("{}raw-verifier", cfg.kafka.group_prefix), &t.confirmations));
        consumers.push(vconsumer.clone());
        let verifier = {
            let producer = raw_producer(&cfg);
            let out = t.cases.clone();
            let progress = progress.clone();
            tokio::spawn(async move {
                let (tx, acks) = spawn_acks(n);
                let mut counts: HashMap<Vec<u8>, usize> = HashMap::with_capacity(n);
                let mut seen = 0;
                while seen < TARGETS * n {
                    let key = match vconsumer.recv().await {
                        Ok(m) => m.key().unwrap_or_default().to_vec(),
                        Err(e) => {
                            eprintln!("raw verifier: {e}");
                            continue;
                        }
                    };
                    seen += 1;
                    progress.verifier_consumed.fetch_add(1, Ordering::Relaxed);
                    let c = counts.entry(key.clone()).or_default();
                    *c += 1;
                    if *c == TARGETS {
                        let payload = padded("case", &key, CASE_BYTES);
                        let _ = tx.send(enqueue(&producer, &out, &key, &payload).await);
                    }
                }
                let end = acks.await.expect("case acks");
                progress.cases_acked.store(n as u64, Ordering::Relaxed);
                end
            })
        };

        // Publish only once every group has its partitions (as revoke's run does).
        let deadline = Instant::now() + Duration::from_secs(120);
        while !consumers.iter().all(|c| c.assignment().map(|a| a.count() > 0).unwrap_or(false)) {
            if Instant::now() > deadline {
                return Run { pipeline: "raw rdkafka", leavers: n, note: "groups never got partitions".into(), ..Default::default() };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let now = Utc::now();
        let events: Vec<_> = (0..n).map(|i| synthetic_leaver(i, "urn:revoke:bench-hr", &run, now)).collect();
        let hr_producer = raw_producer(&cfg);
        let cpu0 = cpu_seconds();
        let broker0 = broker_cpu_seconds();
        let started = Instant::now();
        let mut hr_bytes = 0u64;
        let (tx, acks) = spawn_acks(n);
        for ev in &events {
            let bytes = serde_json::to_vec(&ev.to_structured_json()).expect("json");
            hr_bytes += bytes.len() as u64;
            let _ = tx.send(enqueue(&hr_producer, &t.terminations, ev.subject.as_bytes(), &bytes).await);
        }
        let published = tokio::time::timeout(time_limit(n), acks).await;
        let publish_secs = started.elapsed().as_secs_f64();
        if published.is_ok() {
            progress.hr_acked.store(n as u64, Ordering::Relaxed);
        }
        let ended = tokio::time::timeout(time_limit(n), verifier).await;
        let secs = started.elapsed().as_secs_f64();
        let cpu_secs = cpu_seconds() - cpu0;
        let broker_cpu_secs = broker_cpu_seconds().zip(broker0).map(|(b, a)| b - a);
        let mut r = Run {
            pipeline: "raw rdkafka",
            leavers: n,
            produced: (n + TARGETS * n + n) as u64,
            consumed: (TARGETS * n + TARGETS * n) as u64,
            produced_bytes: hr_bytes + (TARGETS * n * CONFIRMATION_BYTES + n * CASE_BYTES) as u64,
            publish_secs,
            cpu_secs,
            broker_cpu_secs,
            ..Default::default()
        };
        match ended {
            Ok(Ok(end)) => {
                r.secs = (end - started).as_secs_f64();
                r.finished = true;
            }
            _ => {
                r.secs = secs;
                r.note = format!(
                    "did not finish: HR acked {}, worker reads {}/{}, confirmations acked {}, verifier reads {}/{}, cases acked {}",
                    progress.hr_acked.load(Ordering::Relaxed),
                    progress.worker_consumed.load(Ordering::Relaxed),
                    TARGETS * n,
                    progress.confirmations_acked.load(Ordering::Relaxed),
                    progress.verifier_consumed.load(Ordering::Relaxed),
                    TARGETS * n,
                    progress.cases_acked.load(Ordering::Relaxed)
                );
                for w in &workers {
                    w.abort();
                }
                return r;
            }
        }
        for w in workers {
            let _ = w.await;
        }
        r
    })
}

// ---------------------------------------------------------------------------------------------
// 2. the revoke fleet

/// Sum of every series of a metric family, from the Prometheus text the fleet would serve.
fn metric_sum(metrics: &Metrics, name: &str) -> u64 {
    metrics
        .render()
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum::<f64>() as u64
}

fn run_revoke(n: usize, opts: &Options) -> Run {
    let mut env = TestEnv::new("bench-revoke");
    if let Some(m) = opts.max_in_flight {
        env.cfg.consumer.max_in_flight = m;
    }
    for (k, v) in &opts.properties {
        env.cfg.kafka.properties.insert(k.clone(), v.clone());
    }
    let progress = opts.progress;
    env.cfg.simulator.latency_ms = 0;
    env.cfg.simulator.fail_rate = 0.0;
    env.cfg.simulator.flaky_rate = 0.0;
    // Production defaults for what the test harness shortens; no deadline may pass mid-run.
    env.cfg.verifier.tick_ms = 1000;
    env.cfg.verifier.deadline_secs = 24 * 3600;
    let cfg = env.cfg.clone();
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let fleet = Fleet::start_simulated(&cfg, &metrics, &health);
        if !wait_for_groups(&cfg, &metrics, Duration::from_secs(120)).await {
            let stopped = fleet.stopped();
            let _ = fleet.stop().await;
            return Run {
                pipeline: "revoke",
                leavers: n,
                note: format!("groups never got partitions; stopped: {stopped:?}"),
                ..Default::default()
            };
        }
        // Made now, so their effective time is the start of the run (time to close counts from it).
        let events = env.leavers(n);
        let hr_bytes: u64 = events
            .iter()
            .map(|e| {
                serde_json::to_vec(&e.to_structured_json())
                    .expect("json")
                    .len() as u64
            })
            .sum();
        let producer = Producer::new(&cfg).expect("producer");
        let closed = metrics
            .case_updates
            .with_label_values(&[CaseState::Closed.as_str()]);
        let closed_before = closed.get();
        let cpu0 = cpu_seconds();
        let broker0 = broker_cpu_seconds();
        let started = Instant::now();
        let topic = cfg.topics.terminations.clone();
        let publish = async {
            publish_events(&producer, &topic, &events, Mode::Structured)
                .await
                .expect("publish");
            Instant::now()
        };
        let limit = time_limit(n);
        let groups: Vec<String> = revoke_shared::contract::TargetKind::ALL
            .iter()
            .map(|k| revoke::worker::group_for(&cfg, *k))
            .chain([revoke::verifier::group(&cfg)])
            .collect();
        let wait = async {
            let mut last_report = Instant::now();
            if progress {
                eprintln!(
                    "       progress: ms  [handled/in-flight per group: {}]  closed",
                    groups
                        .iter()
                        .map(|g| g.rsplit('.').next().unwrap_or(g))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            loop {
                if progress && last_report.elapsed() >= Duration::from_millis(250) {
                    last_report = Instant::now();
                    let per: Vec<String> = groups
                        .iter()
                        .map(|g| {
                            format!(
                                "{}/{}",
                                metrics.events_handled.with_label_values(&[g]).get(),
                                metrics.in_flight.with_label_values(&[g]).get()
                            )
                        })
                        .collect();
                    eprintln!(
                        "       progress: {:>6}  {}  {}",
                        started.elapsed().as_millis(),
                        per.join(" "),
                        closed.get() - closed_before
                    );
                }
                if closed.get() - closed_before >= n as u64 {
                    return (true, String::new(), Instant::now());
                }
                if started.elapsed() > limit {
                    return (
                        false,
                        format!(
                            "did not finish in {} s: {} of {n} cases closed",
                            limit.as_secs(),
                            closed.get() - closed_before
                        ),
                        Instant::now(),
                    );
                }
                let stopped = fleet.stopped();
                if !stopped.is_empty() {
                    return (
                        false,
                        format!("components stopped early: {stopped:?}"),
                        Instant::now(),
                    );
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let (published_at, (finished, mut note, ended_at)) = tokio::join!(publish, wait);
        let secs = (ended_at - started).as_secs_f64();
        let cpu_secs = cpu_seconds() - cpu0;
        let broker_cpu_secs = broker_cpu_seconds().zip(broker0).map(|(b, a)| b - a);
        let publish_secs = (published_at - started).as_secs_f64();
        let produced = n as u64
            + metric_sum(&metrics, "revoke_revocations_total")
            + metric_sum(&metrics, "revoke_case_updates_total")
            + metric_sum(&metrics, "revoke_escalations_total")
            + metric_sum(&metrics, "revoke_dlq_total");
        let consumed = metric_sum(&metrics, "revoke_events_consumed_total");
        let case_versions = metric_sum(&metrics, "revoke_case_updates_total");
        if let Err(e) = fleet.stop().await {
            note.push_str(&format!(" fleet stop: {e:#}"));
        }

        // After the clock: read the topics back for sizes and time to close.
        let mut r = Run {
            pipeline: "revoke",
            leavers: n,
            produced,
            consumed,
            produced_bytes: hr_bytes,
            secs,
            publish_secs,
            cpu_secs,
            broker_cpu_secs,
            case_versions,
            finished,
            note,
            ..Default::default()
        };
        let read_cfg = cfg.clone();
        let read = tokio::task::spawn_blocking(move || {
            let conf = read_to_end(
                &read_cfg,
                &read_cfg.topics.confirmations,
                Duration::from_secs(120),
            );
            let cases = read_to_end(&read_cfg, &read_cfg.topics.cases, Duration::from_secs(120));
            (conf, cases)
        })
        .await
        .expect("join");
        if let (Ok(conf), Ok(cases)) = read {
            let conf_bytes: u64 = conf
                .iter()
                .map(|r| r.payload.as_ref().map_or(0, |p| p.len() as u64))
                .sum();
            let case_bytes: u64 = cases
                .iter()
                .map(|r| r.payload.as_ref().map_or(0, |p| p.len() as u64))
                .sum();
            // Scaled to what was produced: the embedded mock cluster may not return all of a
            // large topic when read back.
            let confirmations_produced = metric_sum(&metrics, "revoke_revocations_total");
            let scale = |bytes: u64, read: usize, produced: u64| {
                if read == 0 {
                    0
                } else {
                    bytes * produced / read as u64
                }
            };
            r.produced_bytes += scale(conf_bytes, conf.len(), confirmations_produced)
                + scale(case_bytes, cases.len(), case_versions);
            r.read_back = (
                conf.len() as u64 + cases.len() as u64,
                confirmations_produced + case_versions,
            );
            r.avg_confirmation_bytes = (!conf.is_empty()).then(|| conf_bytes / conf.len() as u64);
            let mut closed_sizes = (0u64, 0u64);
            let mut ttc = Vec::with_capacity(n);
            for rec in &cases {
                let Some(p) = &rec.payload else { continue };
                let Ok(c) = serde_json::from_slice::<Case>(p) else {
                    continue;
                };
                if c.schema == CASE_SCHEMA && c.state == CaseState::Closed {
                    closed_sizes.0 += p.len() as u64;
                    closed_sizes.1 += 1;
                    if let Some(ms) = c.time_to_close_ms() {
                        ttc.push(ms);
                    }
                }
            }
            r.avg_case_bytes = (closed_sizes.1 > 0).then(|| closed_sizes.0 / closed_sizes.1);
            ttc.sort_unstable();
            r.ttc_p50_ms = percentile(&ttc, 0.50);
            r.ttc_p99_ms = percentile(&ttc, 0.99);
        } else {
            r.note
                .push_str(" (topics not read back: sizes and time to close unknown)");
        }
        r
    })
}

// ---------------------------------------------------------------------------------------------
// report

fn row(i: usize, r: &Run) -> String {
    if r.secs == 0.0 {
        return format!(
            "  {:>3}  {:<12} {:>7}  {}",
            i, r.pipeline, r.leavers, r.note
        );
    }
    let mark = if r.finished { "" } else { "  (UNFINISHED)" };
    format!(
        "  {:>3}  {:<12} {:>7} {:>9} {:>9} {:>9} {:>8.1} {:>8.2} {:>8.2} {:>10.0} {:>10.0} {:>7.1} {:>7.2} {:>9}{mark}",
        i,
        r.pipeline,
        r.leavers,
        r.produced,
        r.consumed,
        r.moved(),
        r.produced_bytes as f64 / 1e6,
        r.secs,
        r.publish_secs,
        r.leavers_per_sec(),
        r.moved() as f64 / r.secs,
        r.produced_bytes as f64 / 1e6 / r.secs,
        r.cpu_secs,
        r.broker_cpu_secs.map(|c| format!("{c:.2}")).unwrap_or_else(|| "-".into()),
    )
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(v[v.len() / 2])
}

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

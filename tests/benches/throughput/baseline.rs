//! The baseline: the same flow with plain rdkafka producers and consumers, no revoke logic.

use super::*;

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

pub(crate) fn run_baseline(n: usize) -> Run {
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

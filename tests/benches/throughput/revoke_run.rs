//! The revoke pipeline: the simulated fleet on fresh topics, timed until every case closed.

use super::*;

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

pub(crate) fn run_revoke(n: usize, opts: &Options) -> Run {
    let mut env = TestEnv::new("bench-revoke");
    if let Some(m) = opts.max_in_flight {
        env.cfg.consumer.max_in_flight = m;
    }
    for (k, v) in &opts.properties {
        env.cfg.kafka.properties.insert(k.clone(), v.clone());
    }
    let progress = opts.progress;
    // Kept until the run ends: the evidence key's file is read when the fleet starts.
    let _keys = opts.signed.then(|| {
        let dir = revoke_tests::signing_kit::TempDir::new("bench-evidence");
        revoke_tests::evidence_kit::use_evidence_key(&mut env.cfg, &dir.0, [7; 32]);
        dir
    });
    if let Some(ms) = opts.fold_ms {
        env.cfg.verifier.fold_ms = ms;
    }
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

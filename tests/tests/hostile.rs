//! The hostile corpus (`revoke_tests::hostile`) through the whole fleet, on both brokers: five
//! simulated target workers behind recording wrappers and the verifier.
//!
//! Over 10,000 hostile records are published interleaved with valid leavers, the valid-but-weird
//! records, and two leavers whose targets fail for ever (one transiently, one permanently).
//! Asserted: every hostile record is in `revoke.dlq` once per consumer group, with the expected
//! reason, its original key, value and headers, and its source partition and offset; the DLQ
//! metric counts exactly those; every valid leaver's case closes (the weird ones too) and the
//! failing ones escalate after bounded attempts, without holding up the leavers behind them on
//! their partition; no target was asked anything about any identity that was not validly
//! terminated (bystanders named, imitated or wildcarded by hostile records included); no
//! consumer stopped; and every group's committed offset reaches the end of the input topic.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedHeaders, Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use revoke::adapters::sim::Simulator;
use revoke::fleet::wait_for_groups;
use revoke::fleet::Process;
use revoke::hr::synthetic_leaver;
use revoke_shared::config::Config;
use revoke_shared::contract::{
    case_id_for, CaseState, Confirmation, DeadLetter, Escalation, EscalationReason, HrEvent,
    Outcome, TargetKind, TargetState,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::hostile::{Corpus, Expect, RecordingTarget, SOURCE};
use revoke_tests::offsets::group_progress;
use revoke_tests::TestEnv;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `consumer.max_event_bytes` for this test: small, so that the oversize family and the dead
/// letters that copy it stay within the embedded broker's bounded in-memory log.
const LIMIT: usize = 8 * 1024;
const SEED: u64 = 0x7265_766f_6b65;
/// Hostile records on the real broker. The embedded broker keeps only the newest ~5 MB of each
/// partition, and 60,000 dead letters (~1 KB each) are three times that: reading them all depends
/// on the tail keeping up with six groups writing. The embedded pass gets a smaller corpus of the
/// same families, well inside its log, so it proves the same properties without that race.
const REFUSED: usize = 10_000;
const REFUSED_EMBEDDED: usize = 2_000;
const LEAVERS: usize = 100;
const TRANSIENT: &str = "D-TRANSIENT";
const PERMANENT: &str = "D-PERMANENT";
const WAIT: Duration = Duration::from_secs(300);

/// One record to publish, and what it is.
struct Outgoing {
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    what: What,
}

#[derive(Clone, Copy)]
enum What {
    Hostile(usize),
    Leaver(usize),
    Doomed,
}

fn outgoing(ev: &HrEvent, what: What) -> Outgoing {
    Outgoing {
        key: Some(ev.subject.clone().into_bytes()),
        payload: Some(serde_json::to_vec(&ev.to_structured_json()).unwrap()),
        headers: vec![],
        what,
    }
}

/// Headers as a hostile producer may send them: names are bytes on the wire, not necessarily
/// UTF-8 (rdkafka's API takes `&str` names, librdkafka takes bytes).
fn owned_headers(hs: &[(Vec<u8>, Vec<u8>)]) -> Option<OwnedHeaders> {
    if hs.is_empty() {
        return None;
    }
    let mut headers = OwnedHeaders::new_with_capacity(hs.len());
    for (name, value) in hs {
        match std::str::from_utf8(name) {
            Ok(n) => {
                headers = headers.insert(Header {
                    key: n,
                    value: Some(value.as_slice()),
                })
            }
            Err(_) => {
                let ptr = headers.as_borrowed() as *const BorrowedHeaders
                    as *mut rdkafka::bindings::rd_kafka_headers_t;
                // SAFETY: `ptr` is the live, writable header list `headers` owns (rdkafka casts
                // the same way); librdkafka copies name and value.
                let err = unsafe {
                    rdkafka::bindings::rd_kafka_header_add(
                        ptr,
                        name.as_ptr().cast(),
                        name.len() as isize,
                        value.as_ptr().cast(),
                        value.len() as isize,
                    )
                };
                assert_eq!(
                    err,
                    rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
                );
            }
        }
    }
    Some(headers)
}

/// Publishes `records` in order with many in flight; returns each one's (partition, offset).
async fn publish(cfg: &Config, topic: &str, records: &[Outgoing]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = revoke_shared::kafka::producer_config(cfg)
        .set("message.timeout.ms", "120000")
        .create()
        .expect("producer");
    let mut pending: VecDeque<(usize, rdkafka::producer::DeliveryFuture)> = VecDeque::new();
    let mut placed = vec![(-1, -1); records.len()];
    let take = |p: (usize, rdkafka::producer::DeliveryFuture)| async move {
        let (i, fut) = p;
        match fut.await {
            Ok(Ok(d)) => (i, (d.partition, d.offset)),
            other => panic!("record {i} not acknowledged: {other:?}"),
        }
    };
    for (i, r) in records.iter().enumerate() {
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
        if let Some(k) = &r.key {
            rec = rec.key(k.as_slice());
        }
        if let Some(p) = &r.payload {
            rec = rec.payload(p.as_slice());
        }
        if let Some(h) = owned_headers(&r.headers) {
            rec = rec.headers(h);
        }
        loop {
            match producer.send_result(rec) {
                Ok(fut) => {
                    pending.push_back((i, fut));
                    break;
                }
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) => {
                    rec = back;
                    match pending.pop_front() {
                        Some(p) => {
                            let (j, at) = take(p).await;
                            placed[j] = at;
                        }
                        None => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
                Err((e, _)) => panic!("enqueueing record {i}: {e}"),
            }
        }
        if pending.len() >= 2000 {
            let (j, at) = take(pending.pop_front().unwrap()).await;
            placed[j] = at;
        }
    }
    while let Some(p) = pending.pop_front() {
        let (j, at) = take(p).await;
        placed[j] = at;
    }
    placed
}

/// Reads the DLQ topic while the fleet writes it (the embedded broker keeps only the newest
/// ~5 MB per partition, and 60,000 dead letters are more), until `stop`.
fn tail_dlq(cfg: Config, stop: Arc<AtomicBool>, seen: Arc<AtomicUsize>) -> Vec<DeadLetter> {
    let reader: BaseConsumer = revoke_shared::kafka::reader_config(&cfg)
        .create()
        .expect("reader");
    let topic = cfg.topics.dlq.clone();
    let md = reader
        .fetch_metadata(Some(&topic), Duration::from_secs(30))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)
            .unwrap();
    }
    reader.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let mut idle_since: Option<Instant> = None;
    loop {
        match reader.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle_since = None;
                let letter: DeadLetter =
                    serde_json::from_slice(m.payload().expect("a dead letter has a value"))
                        .expect("a dead letter decodes");
                out.push(letter);
                seen.fetch_add(1, Ordering::Relaxed);
            }
            Some(Err(e)) => panic!("reading the DLQ: {e}"),
            None => {
                // Stop only once asked and nothing more has come for a while.
                if stop.load(Ordering::Relaxed) {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(2) {
                        return out;
                    }
                }
            }
        }
    }
}

fn doomed(i: usize, id: &str) -> HrEvent {
    let mut ev = synthetic_leaver(
        900_000 + i,
        "urn:revoke:test-hr",
        "doomed",
        chrono::Utc::now(),
    );
    ev.subject = id.to_string();
    ev.data.identity.employee_id = id.to_string();
    ev
}

#[test]
fn a_hostile_corpus_goes_to_the_dlq_and_revokes_no_one_else() {
    let mut env = TestEnv::new("hostile");
    // The guard off: every worker group reads the terminations as well as the verifier, so all
    // six consumers meet the corpus (with it on, only the verifier reads them).
    env.cfg.verifier.guard.enabled = false;
    env.cfg.consumer.max_event_bytes = LIMIT;
    // The transiently failing leaver is re-driven only after this test (re-drives have their
    // own tests): here its one run's bounded attempts and its escalation are what is checked.
    env.cfg.verifier.redrive_after_secs = vec![3600];
    let want_refused = if env.broker == "embedded" {
        REFUSED_EMBEDDED
    } else {
        REFUSED
    };
    let corpus = Corpus::generate(SEED, want_refused, LIMIT);
    let refused: Vec<usize> = (0..corpus.records.len())
        .filter(|i| matches!(corpus.records[*i].expect, Expect::Dlq(_)))
        .collect();
    assert!(refused.len() >= want_refused);
    println!(
        "[{}] corpus: {} records ({} refused, {} valid-but-weird), {:.1} MB, {} families",
        env.broker,
        corpus.records.len(),
        refused.len(),
        corpus.records.len() - refused.len(),
        corpus.payload_bytes() as f64 / 1e6,
        corpus.count_by_family().len()
    );
    for (family, n) in corpus.count_by_family() {
        println!("  family {family:<22} {n:>5}");
    }

    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let mut targets: BTreeMap<TargetKind, Arc<RecordingTarget>> = BTreeMap::new();
        let mut components = Vec::new();
        for kind in TargetKind::ALL {
            let sim = Arc::new(Simulator::new(kind, env.cfg.simulator.clone()));
            let (transient, permanent): (&[&str], &[&str]) = match kind {
                TargetKind::Vault => (&[TRANSIENT], &[]),
                TargetKind::Cicd => (&[], &[PERMANENT]),
                _ => (&[], &[]),
            };
            let t = Arc::new(RecordingTarget::new(sim, transient, permanent));
            components.push(Process::Worker(t.clone()).spawn(&env.cfg, metrics.clone(), health.clone()));
            targets.insert(kind, t);
        }
        components.push(Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone()));
        assert!(
            wait_for_groups(&env.cfg, &metrics, Duration::from_secs(90)).await,
            "groups never got partitions"
        );

        let stop_tail = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let tail = {
            let (cfg, stop, seen) = (env.cfg.clone(), stop_tail.clone(), seen.clone());
            tokio::task::spawn_blocking(move || tail_dlq(cfg, stop, seen))
        };

        // The two doomed leavers first, then the corpus with the valid leavers spread through it.
        let doomed_events = [doomed(0, TRANSIENT), doomed(1, PERMANENT)];
        let leavers = env.leavers(LEAVERS);
        let mut out: Vec<Outgoing> = doomed_events
            .iter()
            .map(|e| outgoing(e, What::Doomed))
            .collect();
        let every = corpus.records.len() / LEAVERS;
        for (i, r) in corpus.records.iter().enumerate() {
            if i % every == 0 && i / every < LEAVERS {
                out.push(outgoing(&leavers[i / every], What::Leaver(i / every)));
            }
            out.push(Outgoing {
                key: r.key.clone(),
                payload: r.payload.clone(),
                headers: r.headers.clone(),
                what: What::Hostile(i),
            });
        }
        let topic = env.cfg.topics.terminations.clone();
        let started = Instant::now();
        let placed_doomed = publish(&env.cfg, &topic, &out[..2]).await;
        let placed_rest = publish(&env.cfg, &topic, &out[2..]).await;
        let placed: Vec<(i32, i64)> = placed_doomed.into_iter().chain(placed_rest).collect();
        println!(
            "[{}] published {} records in {:.1}s",
            env.broker,
            out.len(),
            started.elapsed().as_secs_f64()
        );
        let mut at_of_hostile: HashMap<usize, (i32, i64)> = HashMap::new();
        let mut at_of_leaver: HashMap<usize, (i32, i64)> = HashMap::new();
        for (o, at) in out.iter().zip(&placed) {
            match o.what {
                What::Hostile(i) => drop(at_of_hostile.insert(i, *at)),
                What::Leaver(i) => drop(at_of_leaver.insert(i, *at)),
                What::Doomed => {}
            }
        }

        // Cases: the leavers and the valid-but-weird close, the doomed escalate.
        let mut closing: Vec<(String, uuid::Uuid)> = leavers
            .iter()
            .map(|e| (e.subject.clone(), case_id_for(&e.source, &e.id)))
            .collect();
        for r in &corpus.records {
            if let Expect::Revokes(id) = &r.expect {
                let evt = r.event_id().expect("accepted records have an id");
                closing.push((id.clone(), case_id_for(SOURCE, &evt)));
            }
        }
        let doomed_ids: Vec<uuid::Uuid> = doomed_events
            .iter()
            .map(|e| case_id_for(&e.source, &e.id))
            .collect();
        let groups: Vec<String> = TargetKind::ALL
            .iter()
            .map(|k| revoke::worker::group_for(&env.cfg, *k))
            .chain([revoke::verifier::group(&env.cfg)])
            .collect();
        let letters_expected = refused.len() * groups.len();
        let settled = |l: &revoke::cases::CaseLog| {
            closing
                .iter()
                .all(|(_, id)| l.latest.get(id).is_some_and(|c| c.state == CaseState::Closed))
                && doomed_ids.iter().all(|id| {
                    l.latest.get(id).is_some_and(|c| {
                        c.state == CaseState::Escalated
                            && c.targets.values().all(|s| s.state != TargetState::Pending)
                    })
                })
        };
        // Wait for both, failing fast if any component stops (a crash on some record).
        let deadline = Instant::now() + WAIT;
        let mut log = env.case_log().await;
        let mut next_progress = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && components.iter().all(|c| !c.is_finished()) {
            if seen.load(Ordering::Relaxed) >= letters_expected {
                log = env.case_log().await;
                if settled(&log) {
                    break;
                }
            }
            if Instant::now() >= next_progress {
                // Where a slow run is, in the test's output (CI shows nothing else of a hang).
                next_progress += Duration::from_secs(15);
                let now_log = env.case_log().await;
                let closed = closing
                    .iter()
                    .filter(|(_, id)| now_log.latest.get(id).is_some_and(|c| c.state == CaseState::Closed))
                    .count();
                println!(
                    "[{}] {:.0}s: {} of {letters_expected} dead letters read, {closed} of {} cases closed",
                    env.broker,
                    started.elapsed().as_secs_f64(),
                    seen.load(Ordering::Relaxed),
                    closing.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "[{}] all cases settled and {} dead letters read {:.1}s after publishing began",
            env.broker,
            seen.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
        // No consumer stopped, and every one still reports healthy.
        let stopped: Vec<&str> = components
            .iter()
            .filter(|c| c.is_finished())
            .map(|c| c.name.as_str())
            .collect();
        assert!(stopped.is_empty(), "components stopped: {stopped:?}");
        assert!(health.report().is_ok(), "{:?}", health.report());
        assert!(
            settled(&log),
            "[{}] not settled: {:?}",
            env.broker,
            closing
                .iter()
                .filter_map(|(who, id)| match log.latest.get(id) {
                    Some(c) if c.state == CaseState::Closed => None,
                    c => Some((who.clone(), c.map(|c| c.state))),
                })
                .take(20)
                .collect::<Vec<_>>()
        );


        // Every hostile record: one dead letter per group, exactly as expected.
        stop_tail.store(true, Ordering::Relaxed);
        let letters = tail.await.unwrap();
        let mut by_place: HashMap<(String, i32, i64), Vec<&DeadLetter>> = HashMap::new();
        for l in &letters {
            assert_eq!(l.source_topic, topic, "dead letter from another topic: {l:?}");
            by_place
                .entry((l.rejected_by.clone(), l.source_partition, l.source_offset))
                .or_default()
                .push(l);
        }
        let mut problems = Vec::new();
        let mut per_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in &refused {
            let r = &corpus.records[i];
            let Expect::Dlq(reason) = r.expect else { unreachable!() };
            let (p, o) = at_of_hostile[&i];
            *per_reason.entry(reason).or_default() += 1;
            for g in &groups {
                let Some(found) = by_place.get(&(g.clone(), p, o)) else {
                    problems.push(format!("{g}: no dead letter for {} record {i} at {p}/{o}", r.family));
                    continue;
                };
                if found.len() != 1 {
                    problems.push(format!("{g}: {} dead letters for record {i}", found.len()));
                }
                let l = found[0];
                // The original record's bytes, encoded as a dead letter encodes them.
                let want = DeadLetter::new(&r.raw(&topic, p, o), reason, String::new(), g);
                if l.reason != reason
                    || l.detail.is_empty()
                    || l.key_base64 != want.key_base64
                    || l.payload_base64 != want.payload_base64
                    || l.headers != want.headers
                {
                    problems.push(format!(
                        "{g}: {} record {i}: expected {reason}, got {} ({}); key {:?}/{:?}, payload same {}, headers {:?}/{:?}",
                        r.family,
                        l.reason,
                        l.detail,
                        l.key_base64,
                        want.key_base64,
                        l.payload_base64 == want.payload_base64,
                        l.headers,
                        want.headers
                    ));
                }
            }
        }
        let hostile_places: BTreeSet<(i32, i64)> =
            refused.iter().map(|i| at_of_hostile[i]).collect();
        let strays: Vec<&DeadLetter> = letters
            .iter()
            .filter(|l| !hostile_places.contains(&(l.source_partition, l.source_offset)))
            .collect();
        assert!(
            strays.is_empty(),
            "valid records were refused: {:?}",
            strays.iter().take(5).map(|l| (&l.reason, &l.detail)).collect::<Vec<_>>()
        );
        assert!(
            problems.is_empty(),
            "[{}] {} problems with dead letters:\n{}",
            env.broker,
            problems.len(),
            problems[..problems.len().min(20)].join("\n")
        );
        assert_eq!(letters.len(), letters_expected);
        println!(
            "[{}] {} hostile records refused by each of {} groups ({} dead letters); per reason:",
            env.broker,
            refused.len(),
            groups.len(),
            letters.len()
        );
        for (reason, n) in &per_reason {
            println!("  {reason:<26} {n:>5}");
        }

        // The metric counts exactly those, per group and reason, and nothing else.
        for g in &groups {
            for (reason, n) in &per_reason {
                assert_eq!(
                    metrics.dlq.with_label_values(&[g.as_str(), reason]).get(),
                    *n as u64,
                    "revoke_dlq_total{{consumer={g}, reason={reason}}}"
                );
            }
        }
        let total: f64 = metrics
            .registry
            .gather()
            .iter()
            .filter(|f| f.name() == "revoke_dlq_total")
            .flat_map(|f| f.get_metric().iter().map(|m| m.get_counter().value()))
            .sum();
        assert_eq!(total as usize, letters_expected, "revoke_dlq_total in all");

        // Zero over-broad revocations: the targets were asked about the valid terminations only.
        let valid: BTreeSet<String> = closing
            .iter()
            .map(|(who, _)| who.clone())
            .chain(doomed_events.iter().map(|e| e.subject.clone()))
            .collect();
        for (kind, t) in &targets {
            let touched = t.touched();
            let extra: Vec<&String> = touched.difference(&valid).collect();
            assert!(extra.is_empty(), "{kind} was asked about {extra:?}");
            assert_eq!(touched, valid, "{kind}: identities acted on");
            for b in &corpus.bystanders {
                assert!(t.sim.actions_for(b).is_empty(), "{kind} changed bystander {b}");
            }
            for (who, _) in &closing {
                for (object, n) in t.sim.actions_for(who) {
                    assert_eq!(n, 1, "{kind} object {object} of {who:?} changed {n} times");
                }
                assert!(t.sim.all_revoked(who), "{kind}: {who:?} not fully revoked");
            }
        }
        for (who, id) in &closing {
            assert_eq!(log.closed_versions[id], 1, "{who:?} closed once");
            assert_eq!(&log.latest[id].identity_id, who);
        }

        // The doomed: bounded attempts, then escalation; later leavers on their partitions closed.
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        let escalations: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
        let max_attempts = env.cfg.worker.max_attempts as u32;
        for (ev, (kind, retried)) in doomed_events
            .iter()
            .zip([(TargetKind::Vault, true), (TargetKind::Cicd, false)])
        {
            let case_id = case_id_for(&ev.source, &ev.id);
            let case = &log.latest[&case_id];
            assert_eq!(case.targets[&kind].state, TargetState::Failed, "{}", ev.subject);
            let c: Vec<&Confirmation> = confirmations
                .iter()
                .filter(|c| c.case_id == case_id && c.target.kind == kind)
                .collect();
            assert_eq!(c.len(), 1, "one confirmation of {} on {kind}", ev.subject);
            assert_eq!(c[0].outcome, Outcome::Failed);
            let calls = targets[&kind].calls_for(&ev.subject);
            if retried {
                assert!(
                    c[0].attempts >= 2 && c[0].attempts <= max_attempts,
                    "a transient failure is retried, boundedly: {} attempts",
                    c[0].attempts
                );
                assert_eq!(calls, c[0].attempts, "calls made on {kind}");
            } else {
                assert_eq!(c[0].attempts, 1, "a permanent failure is not retried");
                assert_eq!(calls, 1);
            }
            let e: Vec<&Escalation> = escalations.iter().filter(|e| e.case_id == case_id).collect();
            assert!(
                e.iter().any(|e| e.reason == EscalationReason::TargetFailed && e.targets == vec![kind]),
                "{} escalated for {kind}: {e:?}",
                ev.subject
            );
            let (p, o) = placed[doomed_events.iter().position(|d| d.id == ev.id).unwrap()];
            let behind: Vec<&HrEvent> = at_of_leaver
                .iter()
                .filter(|(_, at)| at.0 == p && at.1 > o)
                .map(|(i, _)| &leavers[*i])
                .collect();
            assert!(!behind.is_empty(), "no leaver behind {} on partition {p}", ev.subject);
            for l in behind {
                let id = case_id_for(&l.source, &l.id);
                assert_eq!(log.latest[&id].state, CaseState::Closed, "{} behind {}", l.subject, ev.subject);
            }
        }

        for c in components {
            c.stop().await.expect("graceful stop");
        }
        let cfg = env.cfg.clone();
        let groups2 = groups.clone();
        tokio::task::spawn_blocking(move || assert_committed_at_end(&cfg, &groups2))
            .await
            .unwrap();
        println!(
            "[{}] zero crashes, zero over-broad revocations; every group committed to the end",
            env.broker
        );
    });
}

/// Every group's committed offset on the input topic is its end: nothing stuck, nothing left.
fn assert_committed_at_end(cfg: &Config, groups: &[String]) {
    for group in groups {
        let input = [cfg.topics.terminations.clone()];
        for p in group_progress(cfg, group, &input) {
            let high = p.end;
            match p.committed {
                Offset::Offset(at) => assert_eq!(
                    at, high,
                    "{group} {}/{} committed {at}, end is {high}",
                    p.topic, p.partition
                ),
                other => panic!(
                    "{group} {}/{}: nothing committed ({other:?})",
                    p.topic, p.partition
                ),
            }
        }
    }
}

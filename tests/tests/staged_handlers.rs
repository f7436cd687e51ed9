//! The consume loop with a staged handler (`Handler::handle_staged`), on the broker (real with
//! `REVOKE_TEST_KAFKA`): a record applied frees its key for the next record at once, but its
//! offset is committed only once its acknowledgements resolve — and in offset order, so a
//! later record acknowledged first does not carry the commit past an earlier one still
//! waiting. Records waiting for acknowledgements do not count against `max_in_flight`. An
//! acknowledgement that fails stops the loop with the offset uncommitted.

use revoke_shared::consume::{self, Durability, Handler, HandlerError, LoopOptions, Stop};
use revoke_shared::contract::RawMessage;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::TestEnv;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const RECORDS: i64 = 8;

/// Applies records (noting their offsets in order) and leaves each one's acknowledgement to
/// the test: a oneshot per offset, resolved with `Ok` or an error.
#[derive(Default)]
struct Staged {
    applied: Mutex<Vec<i64>>,
    acks: Mutex<HashMap<i64, oneshot::Sender<Result<(), HandlerError>>>>,
}

impl Staged {
    fn ack(&self, offset: i64, outcome: Result<(), HandlerError>) {
        let tx = self.acks.lock().unwrap().remove(&offset).expect("applied");
        let _ = tx.send(outcome);
    }
}

#[async_trait::async_trait]
impl Handler for Staged {
    async fn handle(&self, _msg: &RawMessage) -> Result<(), HandlerError> {
        unreachable!("the loop calls handle_staged")
    }

    async fn handle_staged(&self, msg: &RawMessage) -> Result<Option<Durability>, HandlerError> {
        self.applied.lock().unwrap().push(msg.offset);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().unwrap().insert(msg.offset, tx);
        Ok(Some(Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(HandlerError::Fatal("dropped".into())))
        })))
    }
}

async fn committed(env: &TestEnv, group: &str) -> Option<i64> {
    let (cfg, group) = (env.cfg.clone(), group.to_string());
    let topics = vec![env.cfg.topics.terminations.clone()];
    tokio::task::spawn_blocking(move || {
        revoke_tests::offsets::group_progress(&cfg, &group, &topics)
            .into_iter()
            .find_map(|p| match p.committed {
                rdkafka::Offset::Offset(o) if p.end > 0 => Some(o),
                _ => None,
            })
    })
    .await
    .unwrap()
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the group has committed `offset` (auto-commit every 200 ms).
async fn until_committed(env: &TestEnv, group: &str, offset: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed(env, group).await != Some(offset) {
        assert!(
            Instant::now() < deadline,
            "never committed {offset} (committed: {:?})",
            committed(env, group).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_staged_record_frees_its_key_at_once_and_its_offset_only_when_acknowledged_in_order() {
    let env = TestEnv::new("staged");
    let mut cfg = env.cfg.clone();
    cfg.consumer.commit_interval_ms = 200;
    // Fewer handlers than records: those waiting for acknowledgements must not block reading.
    cfg.consumer.max_in_flight = 2;
    let group = format!("{}staged-test", cfg.kafka.group_prefix);
    let topic = cfg.topics.terminations.clone();
    env.block_on(async {
        let producer = Producer::with_timeout(&cfg, Duration::from_secs(60)).unwrap();
        for _ in 0..RECORDS {
            // One key, one partition: with a plain handler, one at a time.
            producer
                .send_bytes(&topic, "one-person", b"{}", &[], Some(0))
                .await
                .expect("produce");
        }
        let handler = Arc::new(Staged::default());
        let consumer = consume::subscribe(&cfg, &group, &[&topic]).expect("subscribe");
        let opts = LoopOptions::new(&cfg, &group, Metrics::new(), Health::new());
        let stop = Stop::new();
        let run = tokio::spawn(consume::run(consumer, handler.clone(), opts, stop.clone()));

        // Every record of the key applied, in order, none acknowledged yet.
        until("all records applied", || {
            handler.applied.lock().unwrap().len() == RECORDS as usize
        })
        .await;
        assert_eq!(
            *handler.applied.lock().unwrap(),
            (0..RECORDS).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            committed(&env, &group).await,
            None,
            "nothing is committed before its acknowledgement"
        );

        // Acknowledged out of order: the commit follows the first gap.
        handler.ack(1, Ok(()));
        handler.ack(0, Ok(()));
        handler.ack(3, Ok(()));
        until_committed(&env, &group, 2).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            committed(&env, &group).await,
            Some(2),
            "record 3 acknowledged does not carry the commit past record 2, still waiting"
        );
        handler.ack(2, Ok(()));
        until_committed(&env, &group, 4).await;

        // An acknowledgement that fails stops the loop; the offset stays where it was.
        handler.ack(
            4,
            Err(HandlerError::Fatal("the broker refused the write".into())),
        );
        // The later records' writes fail too, as they would after a refused one — with the same
        // refusal, so whichever failure the loop sees first names it. (Dropping their
        // acknowledgements instead raced: a dropped one could be seen first.)
        let later: Vec<i64> = handler.acks.lock().unwrap().keys().copied().collect();
        for offset in later {
            handler.ack(
                offset,
                Err(HandlerError::Fatal("the broker refused the write".into())),
            );
        }
        let result = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the loop stops")
            .unwrap();
        let err = result.expect_err("a failed acknowledgement is fatal");
        assert!(err.to_string().contains("refused the write"), "{err}");
        assert_eq!(committed(&env, &group).await, Some(4));
    });
}

//! Reading the case changelog: `CaseLog`, the latest version of every case, filled by reading
//! the whole topic once (`read_case_log`) or by following it (`follow`, `follow_payloads`).

use revoke_shared::config::Config;
use revoke_shared::contract::{Case, CaseState, CASE_SCHEMA};
use std::collections::HashMap;
use uuid::Uuid;

/// The latest version of every case, and how many records closed each.
#[derive(Debug, Default, Clone)]
pub struct CaseLog {
    pub latest: HashMap<Uuid, Case>,
    /// Per case, how many records closed it (the version that reached `closed`; a closed case
    /// re-published with a Shared Signals delivery is not another close): 1 when it closed
    /// exactly once.
    pub closed_versions: HashMap<Uuid, u32>,
}

impl CaseLog {
    pub fn ingest(&mut self, case: Case) {
        if case.state == CaseState::Closed && case.closed_at == Some(case.updated_at) {
            *self.closed_versions.entry(case.case_id).or_default() += 1;
        }
        match self.latest.get(&case.case_id) {
            Some(old) if old.revision >= case.revision => {}
            _ => {
                self.latest.insert(case.case_id, case);
            }
        }
    }

    pub fn ingest_bytes(&mut self, payload: &[u8]) {
        if let Ok(c) = serde_json::from_slice::<Case>(payload) {
            if c.schema == CASE_SCHEMA {
                self.ingest(c);
            }
        }
    }

    /// Cases whose id is `query`, or whose identity id is `query` (latest first).
    pub fn find(&self, query: &str) -> Vec<&Case> {
        let id = Uuid::parse_str(query).ok();
        let mut out: Vec<&Case> = self
            .latest
            .values()
            .filter(|c| Some(c.case_id) == id || c.identity_id == query)
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.opened_at));
        out
    }

    /// `find`, and for a case id also the replay cases of that case (`revoke replay`; an
    /// identity's already includes them), latest first.
    pub fn find_with_replays(&self, query: &str) -> Vec<&Case> {
        let mut out = self.find(query);
        if let Ok(id) = Uuid::parse_str(query) {
            let mut replays: Vec<&Case> = self
                .latest
                .values()
                .filter(|c| c.replay.as_ref().is_some_and(|r| r.of_case == id))
                .collect();
            replays.sort_by_key(|c| std::cmp::Reverse(c.opened_at));
            out.extend(replays);
        }
        out
    }

    pub fn count(&self, state: CaseState) -> usize {
        self.latest.values().filter(|c| c.state == state).count()
    }
}

/// Reads the whole cases topic (blocking).
pub fn read_case_log(cfg: &Config) -> Result<CaseLog, rdkafka::error::KafkaError> {
    let mut log = CaseLog::default();
    for r in revoke_shared::kafka::read_to_end(
        cfg,
        &cfg.topics.cases,
        std::time::Duration::from_secs(60),
    )? {
        if let Some(p) = r.payload {
            log.ingest_bytes(&p);
        }
    }
    Ok(log)
}

/// Follows the cases topic from the beginning into `log` until `stop` (for the demo and tests).
pub async fn follow(
    cfg: &Config,
    log: std::sync::Arc<std::sync::Mutex<CaseLog>>,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    follow_payloads(cfg, &HashMap::new(), stop, |p| {
        log.lock().expect("case log lock").ingest_bytes(p)
    })
    .await
}

/// Follows the cases topic until `stop`, handing every record's payload to `on_payload`: each
/// partition from the offset `from` names for it, else from the beginning (`revoke watch`
/// starts where its initial read ended).
pub async fn follow_payloads(
    cfg: &Config,
    from: &HashMap<i32, i64>,
    stop: tokio_util::sync::CancellationToken,
    mut on_payload: impl FnMut(&[u8]),
) -> anyhow::Result<()> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::{Message, Offset, TopicPartitionList};
    let mut rc = revoke_shared::kafka::reader_config(cfg);
    rc.set("enable.partition.eof", "false");
    let consumer: StreamConsumer = rc.create()?;
    let md =
        consumer.fetch_metadata(Some(&cfg.topics.cases), std::time::Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name() == cfg.topics.cases) {
        for p in t.partitions() {
            let at = from
                .get(&p.id())
                .map_or(Offset::Beginning, |o| Offset::Offset(*o));
            tpl.add_partition_offset(t.name(), p.id(), at)?;
        }
    }
    consumer.assign(&tpl)?;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            m = consumer.recv() => match m {
                Ok(m) => if let Some(p) = m.payload() { on_payload(p) },
                Err(e) => { tracing::warn!(error = %e, "case follower"); tokio::time::sleep(std::time::Duration::from_millis(100)).await; }
            }
        }
    }
}

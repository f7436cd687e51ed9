//! Reading the case changelog: for `revoke case`, the demo's summary and the tests.

use revoke_shared::config::Config;
use revoke_shared::contract::{Case, CaseState, CASE_SCHEMA};
use std::collections::HashMap;
use uuid::Uuid;

/// The latest version of every case, and how many times each was published as closed.
#[derive(Debug, Default, Clone)]
pub struct CaseLog {
    pub latest: HashMap<Uuid, Case>,
    pub closed_versions: HashMap<Uuid, u32>,
}

impl CaseLog {
    pub fn ingest(&mut self, case: Case) {
        if case.state == CaseState::Closed {
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
        out.sort_by(|a, b| b.opened_at.cmp(&a.opened_at));
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

/// Renders a case and its evidence for people.
pub fn render(case: &Case) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "case {}  identity {}  state {}  (revision {})",
        case.case_id,
        case.identity_id,
        case.state.as_str(),
        case.revision
    );
    if let Some(who) = &case.identity {
        let _ = writeln!(
            s,
            "  identity: {} ({}), username {}, email {}",
            who.employee_id,
            who.kind.as_str(),
            opt(&who.username),
            opt(&who.email)
        );
    }
    let _ = writeln!(
        s,
        "  HR event: {} from {}  reason {}",
        opt(&case.event_id),
        opt(&case.source),
        opt(&case.reason)
    );
    let _ = writeln!(
        s,
        "  requested by {}, approved by {}",
        opt(&case.requested_by),
        opt(&case.approved_by)
    );
    let t = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.to_rfc3339()).unwrap_or_else(|| "-".into())
    };
    let _ = writeln!(
        s,
        "  effective {}  opened {}  deadline {}",
        t(case.effective_at),
        case.opened_at.to_rfc3339(),
        t(case.deadline)
    );
    for (kind, st) in &case.targets {
        let required = if case.required_targets.contains(kind) {
            ""
        } else {
            " (not required)"
        };
        let ttr = st
            .time_to_revoke_ms
            .map(|ms| format!(", time to revoke {ms} ms"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  target {kind}{required}: {:?} outcome {} attempts {}{ttr}",
            st.state,
            st.outcome.map(|o| o.as_str()).unwrap_or("-"),
            st.attempts
        );
        if let Some(w) = &st.worker {
            let _ = writeln!(
                s,
                "    worker {} v{} instance {}",
                w.id,
                w.version,
                opt(&st.instance)
            );
        }
        if let Some(e) = &st.error {
            let _ = writeln!(s, "    error: {e}");
        }
        for o in &st.objects {
            let _ = writeln!(
                s,
                "    - {}{} {}: {} -> {:?}, removed {}, by {} as {}, verified {} ({})",
                o.object_kind,
                if o.sponsored { " [sponsored]" } else { "" },
                o.object_id,
                o.action,
                o.outcome,
                t(o.removed_at),
                o.actor.worker_id,
                o.actor.principal,
                o.verified,
                o.read_back
            );
        }
    }
    for e in &case.escalations {
        let _ = writeln!(
            s,
            "  escalation {} at {}: {} to {} <{}> for {:?}: {}",
            e.escalation_id,
            e.raised_at.to_rfc3339(),
            e.reason.as_str(),
            e.owner.name,
            e.owner.contact,
            e.targets.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            e.detail
        );
    }
    let verdict = match case.state {
        CaseState::Closed => format!(
            "closed at {} — every required target verified",
            t(case.closed_at)
        ),
        other => format!("{} as of {}", other.as_str(), case.updated_at.to_rfc3339()),
    };
    let _ = writeln!(s, "  verdict: {verdict}");
    s
}

/// Follows the cases topic from the beginning into `log` until `stop` (for the demo and tests).
pub async fn follow(
    cfg: &Config,
    log: std::sync::Arc<std::sync::Mutex<CaseLog>>,
    stop: tokio_util::sync::CancellationToken,
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
            tpl.add_partition_offset(t.name(), p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&tpl)?;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            m = consumer.recv() => match m {
                Ok(m) => if let Some(p) = m.payload() { log.lock().expect("case log lock").ingest_bytes(p) },
                Err(e) => { tracing::warn!(error = %e, "case follower"); tokio::time::sleep(std::time::Duration::from_millis(100)).await; }
            }
        }
    }
}

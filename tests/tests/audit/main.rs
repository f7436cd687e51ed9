//! The audit trail on a broker (embedded by default, real with `REVOKE_TEST_KAFKA`): a simulated
//! fleet where some leavers need a person (an ambiguous cloud account) or fail (vault), people
//! acknowledging the manual steps with `revoke case ack`, the cases closing with the
//! acknowledgement as evidence, and `revoke report` (CSV, JSON, HTML) checked field by field
//! against the case log. The last test runs the `revoke` binary for exit codes and output.

use chrono::{Duration as D, Utc};
use revoke::adapters::sim::Simulator;
use revoke::cases::CaseLog;
use revoke::cli::case::ack::AckArgs;
use revoke::cli::error::CommandError;
use revoke::cli::report::ReportArgs;
use revoke::fleet::wait_for_groups;
use revoke::fleet::{Component, Process};
use revoke::hr::Mode;
use revoke::report::{self, Format, Window};
use revoke_shared::config::SimulatorConfig;
use revoke_shared::contract::{
    case_id_for, Case, CaseState, Confirmation, EscalationReason, HrEvent, Owner, Provenance,
    TargetKind, TargetState,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::fleet_kit::wait_all_in;
use revoke_tests::{all_in_state, TestEnv};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod acknowledgements;
mod binary;
mod policy;

const WAIT: Duration = Duration::from_secs(90);

fn print(line: &str) {
    println!("{line}");
}

/// A test environment named `name` whose cloud and vault targets have owners to escalate to.
fn env_with_owners(name: &str) -> TestEnv {
    let mut env = TestEnv::new(name);
    let cfg = &mut env.cfg;
    // These tests are about acknowledgements closing cases and the report; the closure review
    // that attested cases get by default has its own test (`steps_review`).
    cfg.verifier.closure_review = revoke_shared::config::ClosureReview::None;
    cfg.verifier.owners.insert(
        "cloud".into(),
        Owner {
            name: "cloud-platform".into(),
            contact: "cloud-platform@example.com".into(),
        },
    );
    cfg.verifier.owners.insert(
        "vault".into(),
        Owner {
            name: "vault-team".into(),
            contact: "vault-team@example.com".into(),
        },
    );
    env
}

fn ack_args(case: &str, target: TargetKind, by: &str, note: &str, at: Option<String>) -> AckArgs {
    AckArgs {
        case: case.into(),
        target: Some(target),
        step: None,
        by: by.into(),
        note: note.into(),
        removed_at: at,
        key: Default::default(),
    }
}

async fn ack(env: &TestEnv, args: AckArgs) -> Result<(), CommandError> {
    revoke::cli::case::ack::run(&env.cfg, &args, print).await
}

/// A simulator (default settings) per target kind, each passed to `adjust` first.
fn simulators(adjust: impl Fn(TargetKind, &Simulator)) -> Vec<Arc<Simulator>> {
    TargetKind::ALL
        .into_iter()
        .map(|kind| {
            let sim = Simulator::new(kind, SimulatorConfig::default());
            adjust(kind, &sim);
            Arc::new(sim)
        })
        .collect()
}

/// A worker on each of `sims`, then the verifier, started on `env`; returns once every consumer
/// group has partitions.
async fn start_fleet(
    env: &TestEnv,
    metrics: &Metrics,
    health: &Health,
    sims: impl IntoIterator<Item = Arc<Simulator>>,
) -> Vec<Component> {
    let mut fleet: Vec<Component> = sims
        .into_iter()
        .map(|sim| Process::Worker(sim).spawn(&env.cfg, metrics.clone(), health.clone()))
        .collect();
    fleet.push(Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone()));
    assert!(wait_for_groups(&env.cfg, metrics, WAIT).await);
    fleet
}

/// `leavers` leavers published to a fleet on which the first one's cloud account is ambiguous
/// (so that case escalates and waits for a person): the events, the first one's case id and the
/// fleet.
async fn publish_with_ambiguous_cloud(
    env: &TestEnv,
    metrics: &Metrics,
    health: &Health,
    leavers: usize,
) -> (Vec<HrEvent>, uuid::Uuid, Vec<Component>) {
    let events = env.leavers(leavers);
    let id = case_id_for(&events[0].source, &events[0].id);
    let sims = simulators(|kind, sim| {
        if kind == TargetKind::Cloud {
            sim.mark_ambiguous(&events[0].subject);
        }
    });
    let fleet = start_fleet(env, metrics, health, sims).await;
    env.publish(&events, Mode::Structured).await;
    (events, id, fleet)
}

/// Waits until case `id` is in `state`, and asserts it got there (describing the cases if not).
async fn wait_in_state(env: &TestEnv, id: uuid::Uuid, state: CaseState) -> CaseLog {
    let log = wait_all_in(env, WAIT, &[id], state).await;
    assert!(
        all_in_state(&log, &[id], state),
        "{}",
        describe(&log, &[id])
    );
    log
}

/// Stops the workers, then the verifier.
async fn stop_fleet(fleet: Vec<Component>) {
    for component in fleet {
        component.stop().await.unwrap();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "revoke-audit-{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Splits RFC 4180 CSV (CRLF line ends) into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'));
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(record.is_empty() && field.is_empty(), "unterminated CSV");
    records
}

fn describe(log: &CaseLog, ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .map(|id| match log.latest.get(id) {
            None => format!("{id}: no case"),
            Some(c) => format!(
                "{} {}: {:?}",
                c.identity_id,
                c.state.as_str(),
                c.targets
                    .iter()
                    .map(|(k, s)| (k.as_str(), s.state))
                    .collect::<Vec<_>>()
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the simulators make of each leaver.
struct Expect {
    cloud_manual: bool,
    vault_failed: bool,
}

impl Expect {
    fn escalated(&self) -> bool {
        self.cloud_manual || self.vault_failed
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// A report row against its case record, field by field.
fn assert_report_row(row: &report::Row, case: &Case) {
    assert_eq!(row.identity_id, case.identity_id);
    assert_eq!(
        row.identity_kind.as_deref(),
        case.identity.as_ref().map(|i| i.kind.as_str())
    );
    assert_eq!(row.source, case.source);
    assert_eq!(row.event_id, case.event_id);
    assert_eq!(row.requested_by, case.requested_by);
    assert_eq!(row.approved_by, case.approved_by);
    assert_eq!(row.effective_at, case.effective_at);
    assert_eq!(row.opened_at, case.opened_at);
    assert_eq!(row.state, case.state.as_str());
    assert_eq!(row.closed_at, case.closed_at);
    assert_eq!(row.updated_at, case.updated_at);
    assert_eq!(row.time_to_close_ms, case.time_to_close_ms());
    assert_eq!(row.targets.len(), case.targets.len());
    for (kind, st) in &case.targets {
        let t = &row.targets[kind];
        assert_eq!(t.state, revoke::cases::target_state_str(st.state));
        assert_eq!(t.outcome.as_deref(), st.outcome.map(|o| o.as_str()));
        assert_eq!(t.instance.as_deref(), st.instance.as_deref());
        assert_eq!(t.time_to_revoke_ms, st.time_to_revoke_ms);
        assert_eq!(t.objects, st.objects.len());
        assert_eq!(
            t.last_removed_at,
            st.objects.iter().filter_map(|o| o.removed_at).max()
        );
        for o in &st.objects {
            assert!(t
                .actors
                .contains(&format!("{} as {}", o.actor.worker_id, o.actor.principal)));
        }
    }
    assert_eq!(row.escalations.len(), case.escalations.len());
    for (r, e) in row.escalations.iter().zip(&case.escalations) {
        assert_eq!(r.reason, e.reason.as_str());
        assert_eq!(r.owner, e.owner.name);
        assert_eq!(r.owner_contact, e.owner.contact);
        assert_eq!(r.raised_at, e.raised_at);
        assert_eq!(r.open, revoke::cases::escalation_is_open(case, e));
    }
    let acks = revoke::cases::acknowledgements(case);
    assert_eq!(row.acks.len(), acks.len());
    for (r, a) in row.acks.iter().zip(&acks) {
        assert_eq!(
            (r.target.as_str(), &r.by, &r.note),
            (a.target.as_str(), &a.by, &a.note)
        );
    }
}

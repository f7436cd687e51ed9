//! What the fleet tests set up the same way each time: the simulated fleet started and ready,
//! workers with one failing target, the topics that carry records, a rescind, the restore
//! requests on their topic and a wait for cases to reach a state.

use crate::{all_in_state, TestEnv};
use chrono::Utc;
use revoke::adapters::sim::Simulator;
use revoke::cases::CaseLog;
use revoke::fleet::wait_for_groups;
use revoke::fleet::{Component, Fleet, Process};
use revoke_shared::config::{Config, SimulatorConfig, TopicsConfig};
use revoke_shared::contract::{
    CaseState, HrData, HrEvent, HrEventKind, Owner, RestoreRequest, TargetKind,
    RESTORE_REQUEST_SCHEMA,
};
use revoke_shared::metrics::{Health, Metrics};
use std::sync::Arc;
use std::time::Duration;

/// The simulated fleet (five target workers and the verifier) on `cfg`, with its own metrics and
/// health, once every consumer group has its partitions (asserted, within `wait`).
pub async fn simulated_fleet(cfg: &Config, wait: Duration) -> (Fleet, Metrics, Health) {
    let metrics = Metrics::new();
    let health = Health::new();
    let fleet = Fleet::start_simulated(cfg, &metrics, &health);
    assert!(
        wait_for_groups(cfg, &metrics, wait).await,
        "groups never got partitions; stopped: {:?}",
        fleet.stopped()
    );
    (fleet, metrics, health)
}

/// Names the owner the cloud target's failures escalate to: `cloud-platform`.
pub fn own_cloud(cfg: &mut Config) {
    cfg.verifier.owners.insert(
        "cloud".into(),
        Owner {
            name: "cloud-platform".into(),
            contact: "cloud-platform@example.com".into(),
        },
    );
}

/// One simulated worker per target kind, the one of `failing` failing every call.
pub fn workers_with_failing(
    cfg: &Config,
    failing: TargetKind,
    metrics: &Metrics,
    health: &Health,
) -> Vec<Component> {
    TargetKind::ALL
        .into_iter()
        .map(|kind| {
            let fail_rate = if kind == failing { 1.0 } else { 0.0 };
            let sim = Arc::new(Simulator::new(
                kind,
                SimulatorConfig {
                    fail_rate,
                    ..Default::default()
                },
            ));
            Process::Worker(sim).spawn(cfg, metrics.clone(), health.clone())
        })
        .collect()
}

/// Every topic of the fleet, to rename per test.
pub fn all_topics_mut(t: &mut TopicsConfig) -> [&mut String; 9] {
    [
        &mut t.terminations,
        &mut t.confirmations,
        &mut t.cases,
        &mut t.escalations,
        &mut t.dlq,
        &mut t.due,
        &mut t.restores,
        &mut t.restore_claims,
        &mut t.guard,
    ]
}

/// The topics that carry the fleet's records (all but the restore claims), to rename or search.
pub fn record_topics_mut(t: &mut TopicsConfig) -> [&mut String; 8] {
    let [terminations, confirmations, cases, escalations, dlq, due, restores, _claims, guard] =
        all_topics_mut(t);
    [
        terminations,
        confirmations,
        cases,
        escalations,
        dlq,
        due,
        restores,
        guard,
    ]
}

/// The names of `record_topics_mut`'s topics.
pub fn record_topics(t: &TopicsConfig) -> Vec<String> {
    let mut t = t.clone();
    record_topics_mut(&mut t).map(|name| name.clone()).to_vec()
}

/// The rescind of `term` (named), from its own source, as HR sends it.
pub fn rescind_of(term: &HrEvent) -> HrEvent {
    HrEvent {
        id: format!("{}-rescind", term.id),
        source: term.source.clone(),
        subject: term.subject.clone(),
        time: Utc::now(),
        kind: HrEventKind::Rescinded,
        data: HrData {
            identity: term.data.identity.clone(),
            effective_at: None,
            reason: Some("offer accepted after all".into()),
            requested_by: Some("hr:people-ops".into()),
            approved_by: None,
            rescinds: Some(term.id.clone()),
        },
    }
}

/// The restore requests on `revoke.restores` (the topic also carries other records).
pub async fn restore_requests(env: &TestEnv) -> Vec<RestoreRequest> {
    let all: Vec<serde_json::Value> = env.read_json(&env.cfg.topics.restores).await;
    all.into_iter()
        .filter(|v| v["schema"] == RESTORE_REQUEST_SCHEMA)
        .map(|v| serde_json::from_value(v).expect("a restore request"))
        .collect()
}

/// What the verifier's `revoke_dlq_total` counted for `reasons`, summed.
pub fn verifier_dead_letters(metrics: &Metrics, cfg: &Config, reasons: &[&str]) -> u64 {
    let group = revoke::verifier::group(cfg);
    reasons
        .iter()
        .map(|r| metrics.dlq.with_label_values(&[group.as_str(), r]).get())
        .sum()
}

/// Waits up to `wait` for every case of `ids` to be in `state`; returns the last log read.
pub async fn wait_all_in(
    env: &TestEnv,
    wait: Duration,
    ids: &[uuid::Uuid],
    state: CaseState,
) -> CaseLog {
    env.wait_cases(wait, |l| all_in_state(l, ids, state)).await
}

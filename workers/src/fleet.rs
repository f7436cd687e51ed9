//! Running workers, the verifier and the webhook delivery as tasks of one process: the demo and
//! the component tests use this; production runs each as its own process (`revoke worker`,
//! `revoke verifier`, `revoke webhook`). `Process` names which one; `Component` is it running.

use crate::adapters::sim::Simulator;
use crate::adapters::Target;
use revoke_shared::config::Config;
use revoke_shared::consume::Stop;
use revoke_shared::contract::TargetKind;
use revoke_shared::metrics::{Health, Metrics};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// A running component that can be stopped gracefully.
pub struct Component {
    pub name: String,
    stop: Stop,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Component {
    /// Asks it to stop (finish in-flight work, commit) and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.graceful.cancel();
        self.handle.await?
    }

    /// Ends it abruptly, like a crash: work in flight is abandoned and nothing more is stored
    /// or committed. (Its consumer still leaves the group; a killed process's would time out.)
    pub async fn kill(self) {
        self.stop.crash.cancel();
        let _ = self.handle.await;
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Logs a component's failure where it happens (its owner may only look much later).
fn report(name: &str, result: anyhow::Result<()>) -> anyhow::Result<()> {
    if let Err(e) = &result {
        tracing::error!(component = name, error = %format!("{e:#}"), "component stopped with an error");
    }
    result
}

/// A component this process can run as a task: each is one production process
/// (`revoke worker`, `revoke verifier`, `revoke webhook`).
pub enum Process {
    /// The target worker for this target.
    Worker(Arc<dyn Target>),
    /// The verifier.
    Verifier,
    /// The webhook delivery of escalations.
    Webhook,
}

impl Process {
    /// Its consumer group, which also names it in logs and in `Fleet::stopped`.
    pub fn name(&self, cfg: &Config) -> String {
        match self {
            Process::Worker(target) => crate::worker::group_for(cfg, target.kind()),
            Process::Verifier => crate::verifier::group(cfg),
            Process::Webhook => crate::webhook::group(cfg),
        }
    }

    /// Starts it on a task, named by its group; a failure is logged when it happens.
    pub fn spawn(self, cfg: &Config, metrics: Metrics, health: Health) -> Component {
        let stop = Stop::new();
        let name = self.name(cfg);
        let cfg = cfg.clone();
        let s = stop.clone();
        let n = name.clone();
        let handle = tokio::spawn(async move {
            let result = match self {
                Process::Worker(target) => {
                    crate::worker::run_worker(&cfg, target, metrics, health, s).await
                }
                Process::Verifier => crate::verifier::run_verifier(&cfg, metrics, health, s).await,
                Process::Webhook => crate::webhook::run_webhook(&cfg, metrics, health, s).await,
            };
            report(&n, result)
        });
        Component { name, stop, handle }
    }
}

/// Five simulated target workers and a verifier.
pub struct Fleet {
    pub simulators: BTreeMap<TargetKind, Arc<Simulator>>,
    pub workers: Vec<Component>,
    pub verifier: Option<Component>,
}

impl Fleet {
    pub fn start_simulated(cfg: &Config, metrics: &Metrics, health: &Health) -> Fleet {
        let mut simulators = BTreeMap::new();
        let mut workers = Vec::new();
        for kind in TargetKind::ALL {
            let sim = Arc::new(Simulator::new(kind, cfg.simulator.clone()));
            workers.push(Process::Worker(sim.clone()).spawn(cfg, metrics.clone(), health.clone()));
            simulators.insert(kind, sim);
        }
        let verifier = Some(Process::Verifier.spawn(cfg, metrics.clone(), health.clone()));
        Fleet {
            simulators,
            workers,
            verifier,
        }
    }

    /// Names of components that have stopped (they should all be running).
    pub fn stopped(&self) -> Vec<String> {
        self.workers
            .iter()
            .chain(self.verifier.iter())
            .filter(|c| c.is_finished())
            .map(|c| c.name.clone())
            .collect()
    }

    /// Stops everything gracefully; the first error wins.
    pub async fn stop(self) -> anyhow::Result<()> {
        let mut first = Ok(());
        for c in self.workers.into_iter().chain(self.verifier) {
            let name = c.name.clone();
            if let Err(e) = c.stop().await {
                if first.is_ok() {
                    first = Err(e.context(format!("{name} failed")));
                }
            }
        }
        first
    }
}
/// Waits until every group of the fleet has partitions assigned (or `timeout`).
pub async fn wait_for_groups(cfg: &Config, metrics: &Metrics, timeout: Duration) -> bool {
    let groups: Vec<String> = TargetKind::ALL
        .iter()
        .map(|k| crate::worker::group_for(cfg, *k))
        .chain([crate::verifier::group(cfg)])
        .collect();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if groups
            .iter()
            .all(|g| metrics.assigned_partitions.with_label_values(&[g]).get() > 0)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

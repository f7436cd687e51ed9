//! Starting the long-running processes — `revoke worker`, `revoke verifier`, `revoke webhook` —
//! each on its own runtime, with `/metrics`, `/healthz`, `/livez`, `/readyz` and a graceful stop
//! on SIGINT/SIGTERM.

use super::error::CommandError;
use super::shell::runtime;
use clap::Args;
use revoke_shared::config::Config;
use revoke_shared::contract::TargetKind;
use revoke_shared::metrics::{Health, Metrics};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The target kind this worker revokes on.
    #[arg(long, value_parser = super::target::target_kind())]
    pub target: TargetKind,
}

/// A configuration the process cannot run with (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigProblem(String);

/// `revoke worker --target KIND`.
pub fn worker(cfg: &Config, args: WorkerArgs) -> Result<(), CommandError> {
    check_signing_keys(cfg)?;
    check_evidence_key(cfg, revoke_shared::config::EvidenceRole::Worker)?;
    long_running(cfg, |cfg, metrics, health, stop| async move {
        let kind = args.target;
        let target = crate::adapters::from_config(kind, &cfg)
            .await
            .map_err(|e| ConfigProblem(format!("target {kind}: {e}")))?;
        crate::worker::run_worker(&cfg, target, metrics, health, stop).await
    })
}

/// `revoke verifier`.
pub fn verifier(cfg: &Config) -> Result<(), CommandError> {
    check_signing_keys(cfg)?;
    check_evidence_key(cfg, revoke_shared::config::EvidenceRole::Verifier)?;
    long_running(cfg, |cfg, metrics, health, stop| async move {
        crate::verifier::run_verifier(&cfg, metrics, health, stop).await
    })
}

/// `revoke webhook`.
pub fn webhook(cfg: &Config) -> Result<(), CommandError> {
    long_running(cfg, |cfg, metrics, health, stop| async move {
        crate::webhook::run_webhook(&cfg, metrics, health, stop).await
    })
}

/// `revoke signals`: the Shared Signals transmitter, with its metadata, JWKS, poll and
/// verification routes on the metrics listener (which it therefore needs).
pub fn signals(cfg: &Config) -> Result<(), CommandError> {
    if cfg.metrics.listen.is_empty() {
        return Err(CommandError::usage(anyhow::anyhow!(
            "revoke signals serves its SSF metadata, JWKS and poll endpoints on metrics.listen: set it (or --metrics-listen)"
        )));
    }
    long_running_with(
        cfg,
        |cfg, metrics, health| {
            let t = crate::signals::Transmitter::new(cfg, metrics.clone(), health.clone())
                .map_err(CommandError::usage)?;
            let routes = t.routes();
            Ok((t, routes))
        },
        |cfg, t, _metrics, _health, stop| async move { t.run(&cfg, stop).await },
    )
}

/// With `[signing] required`, reads the signing keys before starting: a secret that cannot be
/// read (an unset variable, a missing file) is a configuration error (exit 2), never a failure
/// on the first event. The secrets themselves are never printed.
fn check_signing_keys(cfg: &Config) -> Result<(), CommandError> {
    if cfg.signing.required {
        let keys = cfg
            .signing
            .key_set()
            .map_err(|e| CommandError::usage(anyhow::anyhow!("signing: {e}")))?;
        cfg.signing
            .fleet_secret()
            .map_err(|e| CommandError::usage(anyhow::anyhow!("signing: {e}")))?;
        tracing::info!(sources = ?keys.sources().collect::<Vec<_>>(), "signed HR events required; records for the workers signed by the fleet");
    }
    Ok(())
}

/// The process's evidence key, before anything starts: one that cannot be read, is not listed
/// for `role` in `[[signing.evidence_keys]]`, or is retired is a configuration error (exit 2),
/// never records signed with a key nobody can check.
fn check_evidence_key(
    cfg: &Config,
    role: revoke_shared::config::EvidenceRole,
) -> Result<(), CommandError> {
    let signer = revoke_shared::signing::evidence_signer(&cfg.signing, role)
        .map_err(|e| CommandError::usage(anyhow::anyhow!(e)))?;
    match signer {
        Some(s) => tracing::info!(key_id = s.key_id(), role = role.as_str(), "evidence signed"),
        None => tracing::warn!(
            role = role.as_str(),
            "no evidence key (signing.evidence_key_env / evidence_key_file): records are not signed"
        ),
    }
    Ok(())
}

/// Cancels the token on SIGINT or SIGTERM.
fn on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("signal received: finishing in-flight work, then exiting");
        token.cancel();
    });
}

async fn serve_metrics(
    cfg: &Config,
    metrics: &Metrics,
    health: &Health,
    routes: axum::Router,
) -> Result<(), CommandError> {
    if cfg.metrics.listen.is_empty() {
        return Ok(());
    }
    let addr = revoke_shared::metrics::serve_with(
        &cfg.metrics.listen,
        metrics.clone(),
        health.clone(),
        routes,
    )
    .await
    .map_err(|e| {
        CommandError::usage(anyhow::anyhow!(
            "cannot listen on {} for /metrics: {e} (set --metrics-listen or metrics.listen)",
            cfg.metrics.listen
        ))
    })?;
    tracing::info!(%addr, "serving /metrics, /healthz, /livez and /readyz");
    Ok(())
}

/// Runs a long-running component: its own runtime, `/metrics` + `/healthz`, and a graceful stop
/// on SIGINT/SIGTERM.
pub(super) fn long_running<F, Fut>(cfg: &Config, component: F) -> Result<(), CommandError>
where
    F: FnOnce(Config, Metrics, Health, revoke_shared::consume::Stop) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    long_running_with(
        cfg,
        |_, _, _| Ok(((), axum::Router::new())),
        |cfg, (), metrics, health, stop| component(cfg, metrics, health, stop),
    )
}

/// [`long_running`] for a component that serves its own routes beside `/metrics` and
/// `/healthz`: `setup` (inside the runtime) makes the component's state and its routes.
fn long_running_with<T, S, F, Fut>(cfg: &Config, setup: S, component: F) -> Result<(), CommandError>
where
    S: FnOnce(&Config, &Metrics, &Health) -> Result<(T, axum::Router), CommandError>,
    F: FnOnce(Config, T, Metrics, Health, revoke_shared::consume::Stop) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let rt = runtime()?;
    rt.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new().with_stall_limit(Duration::from_secs(cfg.metrics.stall_secs));
        let (state, routes) = setup(cfg, &metrics, &health)?;
        serve_metrics(cfg, &metrics, &health, routes).await?;
        let stop = revoke_shared::consume::Stop::new();
        on_signal(stop.graceful.clone());
        component(cfg.clone(), state, metrics, health, stop)
            .await
            .map_err(|e| {
                // A client librdkafka refuses to create is a configuration problem.
                let config_problem = e.chain().any(|c| {
                    c.downcast_ref::<ConfigProblem>().is_some()
                        || c.downcast_ref::<revoke_shared::config::ConfigError>()
                            .is_some()
                        || matches!(
                            c.downcast_ref::<revoke_shared::kafka::KafkaError>(),
                            Some(revoke_shared::kafka::KafkaError::Client { .. })
                        )
                });
                if config_problem {
                    CommandError::usage(e)
                } else {
                    CommandError::job(e)
                }
            })
    })
}

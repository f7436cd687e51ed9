//! Starting the verifier: the consumer group, the guard log tail and the tick loop.

use super::guard_log::guard_tail;
use super::rebuild::wait_for_topics;
use super::{State, VerifierHandler};
use crate::verifier::guard::Guard;
use crate::verifier::machine::{Input, Verifier};
use revoke_shared::config::Config;
use revoke_shared::consume::{self, LoopOptions, Stop};
use revoke_shared::dlq::DeadLetters;
use revoke_shared::kafka::Producer;
use revoke_shared::metrics::{CaseCounts, Health, Metrics};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs the verifier until stopped (or a fatal error).
pub async fn run_verifier(
    cfg: &Config,
    metrics: Metrics,
    health: Health,
    stop_on: Stop,
) -> anyhow::Result<()> {
    let shutdown = stop_on.graceful.clone();
    let cfg = cfg.clone();
    {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || wait_for_topics(&cfg)).await??;
    }
    metrics.emit(CaseCounts::default());

    let producer = Producer::new(&cfg)?;
    // Empty until the group assigns partitions (`Handler::assigned` loads their cases).
    let state = Arc::new(Mutex::new(State {
        machine: Verifier::new(cfg.verifier.clone())
            .with_roster(crate::verifier::machine::Roster::from_config(&cfg)),
        guard: Guard::new(cfg.verifier.guard.clone()),
        owned: Default::default(),
        partition_of: HashMap::new(),
        chain: Default::default(),
        unsent: Default::default(),
    }));
    let fleet = cfg
        .signing
        .fleet_secret()
        .map_err(revoke_shared::config::ConfigError::Invalid)?;
    // The evidence key: a key that is configured but not listed (or retired) stops the verifier
    // here rather than writing versions nobody can check.
    let evidence = revoke_shared::signing::evidence_signer(
        &cfg.signing,
        revoke_shared::config::EvidenceRole::Verifier,
    )
    .map_err(revoke_shared::config::ConfigError::Invalid)?
    .map(Arc::new);
    let evidence_keys =
        revoke_shared::signing::EvidenceKeys::from_config(&cfg.signing.evidence_keys)
            .map_err(revoke_shared::config::ConfigError::Invalid)?;
    let handler = Arc::new(VerifierHandler {
        state: state.clone(),
        producer: producer.clone(),
        fleet,
        evidence,
        evidence_keys,
        cfg: cfg.clone(),
        metrics: metrics.clone(),
        dead_letters: DeadLetters::new(
            producer.clone(),
            cfg.topics.dlq.clone(),
            crate::verifier::group(&cfg),
            metrics.clone(),
        ),
        flusher: Default::default(),
    });

    // Deadlines: a tick applies the clock to every open case.
    let stop = CancellationToken::new();
    let tick_failed = CancellationToken::new();
    let ticker = {
        let handler = handler.clone();
        let stop = stop.clone();
        let shutdown = shutdown.clone();
        let tick_failed = tick_failed.clone();
        let period = Duration::from_millis(cfg.verifier.tick_ms.max(10));
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = interval.tick() => {
                        if let Err(e) = handler.apply(Input::Tick, None).await {
                            tracing::error!(error = %e, "deadline tick could not publish; stopping the verifier");
                            tick_failed.cancel();
                            shutdown.cancel();
                            return;
                        }
                    }
                }
            }
        })
    };

    // Case versions held to fold (`fold`): sent one window after the first of a burst.
    let flusher = {
        let handler = handler.clone();
        let window = Duration::from_millis(cfg.verifier.fold_ms);
        let (stop, shutdown, failed) = (stop.clone(), shutdown.clone(), tick_failed.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = handler.flusher.notified() => {}
                }
                tokio::time::sleep(window).await;
                // Sent here, acknowledged in a task of their own: the next window does not wait
                // for this one's round trip. A failed write reaches the records it holds (their
                // handlers fail and the consume loop stops); it stops the verifier here too.
                match handler.send_unsent() {
                    Ok(written) => {
                        let (state, failed, shutdown) =
                            (handler.state.clone(), failed.clone(), shutdown.clone());
                        tokio::spawn(async move {
                            if let Err(e) = super::wait_written(state, written).await {
                                tracing::error!(error = %e, "case versions held to fold could not be written; stopping the verifier");
                                failed.cancel();
                                shutdown.cancel();
                            }
                        });
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "case versions held to fold could not be written; stopping the verifier");
                        failed.cancel();
                        shutdown.cancel();
                        return;
                    }
                }
            }
        })
    };

    // The guard log, judged as it is read; a verdict that cannot be published stops the
    // verifier like a failed tick (the log is read again from its start after the restart).
    let guard_task = cfg.verifier.guard.enabled.then(|| {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let reader = {
            let (cfg, stop) = (cfg.clone(), stop.clone());
            tokio::task::spawn_blocking(move || {
                if let Err(e) = guard_tail(&cfg, tx, stop) {
                    tracing::error!(error = %e, "cannot read the guard log");
                }
            })
        };
        let handler = handler.clone();
        let (stop, shutdown, tick_failed) = (stop.clone(), shutdown.clone(), tick_failed.clone());
        let applier = tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = rx.recv() => next,
                };
                let Some(first) = next else {
                    // The reader ended without being asked to: no verdict would ever come, and
                    // every new case would wait for one. Stop, so that the restart reads again.
                    if !stop.is_cancelled() {
                        tracing::error!("the guard log reader stopped; stopping the verifier");
                        tick_failed.cancel();
                        shutdown.cancel();
                    }
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < 4096 {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                if let Err(e) = handler.on_guard_records(&batch).await {
                    tracing::error!(error = %e, "a guard verdict could not be published; stopping the verifier");
                    tick_failed.cancel();
                    shutdown.cancel();
                    return;
                }
            }
        });
        (reader, applier)
    });

    // Refused decisions of the guard log, dead-lettered once by one member of their own group.
    let refusals_stop = Stop {
        graceful: stop_on.graceful.child_token(),
        crash: stop_on.crash.child_token(),
    };
    let refusals = if cfg.verifier.guard.enabled {
        let rgroup = super::decision_refusals::group(&cfg);
        let consumer = consume::subscribe(&cfg, &rgroup, &[&cfg.topics.guard])?;
        let handler = Arc::new(super::decision_refusals::DecisionRefusals {
            cfg: cfg.clone(),
            dead_letters: DeadLetters::new(
                producer.clone(),
                cfg.topics.dlq.clone(),
                rgroup.clone(),
                metrics.clone(),
            ),
        });
        let opts = LoopOptions::new(&cfg, &rgroup, metrics.clone(), health.clone());
        let (stop, shutdown, failed) =
            (refusals_stop.clone(), shutdown.clone(), tick_failed.clone());
        Some(tokio::spawn(async move {
            if let Err(e) = consume::run(consumer, handler, opts, stop).await {
                tracing::error!(error = %e, "dead-lettering refused guard decisions failed; stopping the verifier");
                failed.cancel();
                shutdown.cancel();
            }
        }))
    } else {
        None
    };

    let group = crate::verifier::group(&cfg);
    let consumer = consume::subscribe(
        &cfg,
        &group,
        &[&cfg.topics.terminations, &cfg.topics.confirmations],
    )?;
    tracing::info!(group = %group, "verifier started");
    let opts = LoopOptions::new(&cfg, &group, metrics, health);
    let result = consume::run(consumer, handler, opts, stop_on).await;
    stop.cancel();
    refusals_stop.graceful.cancel();
    if let Some(refusals) = refusals {
        let _ = refusals.await;
    }
    let _ = ticker.await;
    let _ = flusher.await;
    if let Some((reader, applier)) = guard_task {
        let _ = applier.await;
        let _ = reader.await;
    }
    producer.flush(Duration::from_secs(10));
    tracing::info!("verifier stopped");
    result?;
    if tick_failed.is_cancelled() {
        anyhow::bail!("the verifier stopped because a deadline escalation, a guard verdict or a refused decision's dead letter could not be published, or the guard log could not be read");
    }
    Ok(())
}

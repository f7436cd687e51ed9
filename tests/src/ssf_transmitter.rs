//! `revoke signals` run inside a test (`revoke::signals::Transmitter`, as the binary runs it): its
//! listener bound first, so that the issuer URL is known before the config is, and quick retries.

use revoke::signals::Transmitter;
use revoke_shared::config::Config;
use revoke_shared::consume::Stop;
use revoke_shared::metrics::{Health, Metrics};

/// A running transmitter, and how to stop it.
pub struct Running {
    pub stop: Stop,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub metrics: Metrics,
}

/// Binds the transmitter's listener (so the issuer URL is known before the config is).
pub async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", l.local_addr().unwrap());
    (l, issuer)
}

/// Starts the transmitter on `cfg` (serving its metadata, JWKS, poll and verification routes on
/// `listener` when given).
pub fn start(cfg: &Config, listener: Option<tokio::net::TcpListener>) -> Running {
    let metrics = Metrics::new();
    let health = Health::new();
    let t = Transmitter::new(cfg, metrics.clone(), health.clone()).expect("signals config");
    if let Some(l) = listener {
        revoke_shared::metrics::serve_on(l, metrics.clone(), health, t.routes()).unwrap();
    }
    let stop = Stop::new();
    let (c, s) = (cfg.clone(), stop.clone());
    let handle = tokio::spawn(async move { t.run(&c, s).await });
    Running {
        stop,
        handle,
        metrics,
    }
}

impl Running {
    /// A graceful stop; asserts the transmitter ended cleanly.
    pub async fn stop(self) {
        self.stop.graceful.cancel();
        self.handle.await.unwrap().expect("signals stops cleanly");
    }
}

/// Retries quick enough for a test: 50 ms first backoff, at most 1 s, 5 s per push.
pub fn quick(cfg: &mut Config) {
    cfg.signals.initial_backoff_ms = 50;
    cfg.signals.max_backoff_ms = 1_000;
    cfg.signals.timeout_ms = 5_000;
}

//! The HTTP endpoint every revoke process serves — `/metrics`, `/healthz`, `/livez`, `/readyz` —
//! plus the routes a process adds (`revoke signals`: its SSF metadata, JWKS, poll and
//! verification endpoints).
//!
//! - `/livez`: 200 unless a consume loop has stalled (a supervisor restarts on it);
//! - `/readyz`: 200 while every consumer is assigned and its broker answers (a broker outage
//!   makes every process unready, never restarted); see `probes` for both rules;
//! - `/healthz`: as before both existed — 200 while every component reports healthy.
//!
//! Each answers in plain text naming every part and its state. `/metrics` first sets
//! `revoke_ready` from the same readiness decision, so Prometheus can alert on an unready
//! process.

use super::{Health, Metrics, Readiness, Verdict};
use std::net::SocketAddr;

/// Serves the endpoint on `addr` until the process ends. Returns the bound address (useful with
/// port 0).
pub async fn serve(addr: &str, metrics: Metrics, health: Health) -> std::io::Result<SocketAddr> {
    serve_with(addr, metrics, health, axum::Router::new()).await
}

/// [`serve`] with the process's own `routes` beside ours.
pub async fn serve_with(
    addr: &str,
    metrics: Metrics,
    health: Health,
    routes: axum::Router,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, metrics, health, routes)
}

/// 200 or 503 with the verdict's text.
fn answer(v: Verdict) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    let status = if v.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, v.text)
}

/// [`serve_with`] on a listener already bound (a test that must know the port first).
pub fn serve_on(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    health: Health,
    routes: axum::Router,
) -> std::io::Result<SocketAddr> {
    use axum::{http::StatusCode, routing::get, Router};
    let bound = listener.local_addr()?;
    let (h_metrics, h_health, h_live, h_ready) =
        (health.clone(), health.clone(), health.clone(), health);
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                let h = h_metrics.clone();
                async move {
                    m.emit(Readiness(h.readyz().ok));
                    ([("content-type", "text/plain; version=0.0.4")], m.render())
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let h = h_health.clone();
                async move {
                    match h.report() {
                        Ok(t) => (StatusCode::OK, t),
                        Err(t) => (StatusCode::SERVICE_UNAVAILABLE, t),
                    }
                }
            }),
        )
        .route(
            "/livez",
            get(move || {
                let h = h_live.clone();
                async move { answer(h.livez()) }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let h = h_ready.clone();
                async move { answer(h.readyz()) }
            }),
        )
        .merge(routes);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, out.split_once("\r\n\r\n").unwrap().1.to_string())
    }

    #[tokio::test]
    async fn the_probes_and_revoke_ready_follow_the_loops() {
        let (metrics, health) = (Metrics::new(), Health::new());
        let addr = serve("127.0.0.1:0", metrics, health.clone()).await.unwrap();
        let probe = health.consumer_loop("consumer revoke-vault");
        probe.broker_reporter().report(Ok(()));
        assert_eq!(get(addr, "/livez").await.0, 200);
        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503);
        assert!(body.contains("not yet assigned"), "{body}");
        assert!(get(addr, "/metrics").await.1.contains("\nrevoke_ready 0\n"));
        probe.assigned(6);
        assert_eq!(get(addr, "/readyz").await.0, 200);
        assert!(get(addr, "/metrics").await.1.contains("\nrevoke_ready 1\n"));
        assert_eq!(get(addr, "/healthz").await.0, 200, "/healthz as before");
    }
}

//! The HTTP endpoint every revoke process serves: `/metrics` and `/healthz`, plus the routes a
//! process adds (`revoke signals`: its SSF metadata, JWKS, poll and verification endpoints).

use super::{Health, Metrics};
use std::net::SocketAddr;

/// Serves `/metrics` and `/healthz` on `addr` until the process ends. Returns the bound address
/// (useful with port 0).
pub async fn serve(addr: &str, metrics: Metrics, health: Health) -> std::io::Result<SocketAddr> {
    serve_with(addr, metrics, health, axum::Router::new()).await
}

/// [`serve`] with the process's own `routes` beside `/metrics` and `/healthz`.
pub async fn serve_with(
    addr: &str,
    metrics: Metrics,
    health: Health,
    routes: axum::Router,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, metrics, health, routes)
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
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move { ([("content-type", "text/plain; version=0.0.4")], m.render()) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let h = health.clone();
                async move {
                    match h.report() {
                        Ok(t) => (StatusCode::OK, t),
                        Err(t) => (StatusCode::SERVICE_UNAVAILABLE, t),
                    }
                }
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

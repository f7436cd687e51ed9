//! The HTTP endpoint every revoke process serves: `/metrics` and `/healthz`.

use super::{Health, Metrics};
use std::net::SocketAddr;

/// Serves `/metrics` and `/healthz` on `addr` until the process ends. Returns the bound address
/// (useful with port 0).
pub async fn serve(addr: &str, metrics: Metrics, health: Health) -> std::io::Result<SocketAddr> {
    use axum::{http::StatusCode, routing::get, Router};
    let listener = tokio::net::TcpListener::bind(addr).await?;
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
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    Ok(bound)
}

//! A fault-injecting HTTP proxy for the fault suite: put it between an adapter and its real peer
//! and it forwards every request, except that it
//!
//! - answers a share of requests with a 5xx (`error_rate`, a rotating 500/502/503/504) without
//!   forwarding them;
//! - lets a share of requests hang (`timeout_rate`) for `hang` before answering 504, so the
//!   client's own timeout fires first — half of them *after* forwarding (the peer did the work;
//!   the client does not know), half before;
//! - in a 429 storm (`storm_for`) answers every request 429, with `Retry-After` or without it
//!   (as Microsoft Graph may);
//! - when taken down (`down_for`) stops accepting connections (new ones are refused) and answers
//!   requests on connections already open with 502, until the time is up; then it listens again
//!   on the same port.
//!
//! Which request gets which fault comes from a seeded generator, so a run is reproducible in the
//! faults it injects (not in their timing). `stats()` counts what happened, for the figures.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy injects; change it at any time with `FaultProxy::set_plan`.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Share of requests answered 5xx without forwarding (0.0–1.0).
    pub error_rate: f64,
    /// Share of requests that hang for `hang`, then 504.
    pub timeout_rate: f64,
    pub hang: Duration,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub forwarded: AtomicU64,
    pub injected_5xx: AtomicU64,
    pub injected_timeouts: AtomicU64,
    pub injected_429: AtomicU64,
    pub refused_while_down: AtomicU64,
}

impl Stats {
    pub fn line(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "{} requests: {} forwarded, {} answered 5xx, {} hung (timeouts), {} answered 429, {} refused while down",
            g(&self.requests),
            g(&self.forwarded),
            g(&self.injected_5xx),
            g(&self.injected_timeouts),
            g(&self.injected_429),
            g(&self.refused_while_down)
        )
    }
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    plan: Mutex<FaultPlan>,
    /// Until when every request is answered 429, and whether with `Retry-After`.
    storm: Mutex<Option<(Instant, Option<u64>)>>,
    down_until: Mutex<Option<Instant>>,
    rng: Mutex<u64>,
    stats: Stats,
}

pub struct FaultProxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// splitmix64: small, seeded, good enough to pick faults.
fn next(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
];

impl FaultProxy {
    /// Starts forwarding to `upstream` (a base URL such as `http://127.0.0.1:18080`) on a free
    /// loopback port, with no faults yet.
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
            plan: Mutex::new(FaultPlan::default()),
            storm: Mutex::new(None),
            down_until: Mutex::new(None),
            rng: Mutex::new(seed),
            stats: Stats::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let proxy = FaultProxy {
            addr,
            inner,
            server: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .fallback(forward)
            .with_state(self.inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.server.lock().unwrap() = Some(task);
    }

    /// `http://127.0.0.1:PORT` — use it where the peer's base URL goes (same paths).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_plan(&self, plan: FaultPlan) {
        *self.inner.plan.lock().unwrap() = plan;
    }

    /// Every request answered 429 for `d` (with `Retry-After: secs` when given).
    pub fn storm_for(&self, d: Duration, retry_after_secs: Option<u64>) {
        *self.inner.storm.lock().unwrap() = Some((Instant::now() + d, retry_after_secs));
    }

    /// The peer is unreachable for `d`: connections refused, open ones answered 502. Returns
    /// at once; the proxy listens again on the same port when the time is up.
    pub fn down_for(self: &Arc<Self>, d: Duration) {
        *self.inner.down_until.lock().unwrap() = Some(Instant::now() + d);
        if let Some(task) = self.server.lock().unwrap().take() {
            task.abort(); // drops the listener: new connections are refused
        }
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            // The port was ours a moment ago; tokio sets SO_REUSEADDR, so binding it again works.
            let mut tries = 0;
            let listener = loop {
                match tokio::net::TcpListener::bind(me.addr).await {
                    Ok(l) => break l,
                    Err(e) if tries < 50 => {
                        tries += 1;
                        eprintln!("fault proxy: rebinding {} failed ({e}); retrying", me.addr);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("fault proxy: cannot listen on {} again: {e}", me.addr),
                }
            };
            me.serve(listener);
        });
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }
}

async fn forward(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let s = &inner.stats;
    s.requests.fetch_add(1, Ordering::Relaxed);
    if inner
        .down_until
        .lock()
        .unwrap()
        .is_some_and(|t| Instant::now() < t)
    {
        s.refused_while_down.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::BAD_GATEWAY, "upstream unreachable (injected)").into_response();
    }
    let storm = *inner.storm.lock().unwrap();
    if let Some((until, retry_after)) = storm.filter(|(until, _)| Instant::now() < *until) {
        let _ = until;
        s.injected_429.fetch_add(1, Ordering::Relaxed);
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "rate limited (injected)").into_response();
        if let Some(secs) = retry_after {
            r.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return r;
    }
    let plan = inner.plan.lock().unwrap().clone();
    let (roll, which) = {
        let mut rng = inner.rng.lock().unwrap();
        (next(&mut rng), next(&mut rng))
    };
    if roll < plan.error_rate {
        s.injected_5xx.fetch_add(1, Ordering::Relaxed);
        let status = [500u16, 502, 503, 504][(which * 4.0) as usize % 4];
        return (
            StatusCode::from_u16(status).unwrap(),
            "injected server error",
        )
            .into_response();
    }
    let hang = roll < plan.error_rate + plan.timeout_rate;
    if hang {
        s.injected_timeouts.fetch_add(1, Ordering::Relaxed);
        if which < 0.5 {
            tokio::time::sleep(plan.hang).await;
            return (StatusCode::GATEWAY_TIMEOUT, "injected timeout").into_response();
        }
    }

    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let body: Bytes = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut out = inner
        .http
        .request(parts.method.clone(), format!("{}{path}", inner.upstream))
        .body(body);
    for (name, value) in parts.headers.iter() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let answer = match out.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("upstream: {e}")).into_response(),
    };
    s.forwarded.fetch_add(1, Ordering::Relaxed);
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if hang {
        // The peer did the work; the client will have given up before hearing about it.
        tokio::time::sleep(plan.hang).await;
        return (
            StatusCode::GATEWAY_TIMEOUT,
            "injected timeout after forwarding",
        )
            .into_response();
    }
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    for (name, value) in headers.iter() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "content-length" {
            r.headers_mut().append(name.clone(), value.clone());
        }
    }
    r
}

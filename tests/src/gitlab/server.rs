//! The HTTP server: started on `127.0.0.1:0`, the rate-limit gate with its 429s and request log,
//! and the dispatch from a request to its route.

use super::*;

pub(super) struct Inner {
    pub(super) db: Arc<Mutex<Db>>,
    pub(super) url: String,
    pub(super) admin_token: String,
    pub(super) server: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A running double; clones share it. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct GitlabDouble {
    pub(super) inner: Arc<Inner>,
}

/// Starts a double on `127.0.0.1:0` in the current tokio runtime, with an administrator `root`
/// (user 1) whose token is `admin_token()`.
pub async fn start() -> GitlabDouble {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0 for the GitLab double");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let mut db = Db {
        base_url: url.clone(),
        ..Db::default()
    };
    let root = db.add_user("root", "admin@example.com", true, false);
    let (_, admin_token) = db.add_pat(root, "revoker", "", &["api", "admin_mode"], None);
    let db = Arc::new(Mutex::new(db));
    let app = Router::new()
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(db.clone(), gate))
        .with_state(db.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    GitlabDouble {
        inner: Arc::new(Inner {
            db,
            url,
            admin_token,
            server,
        }),
    }
}

pub(super) type Shared = Arc<Mutex<Db>>;

pub(super) fn lock(db: &Shared) -> MutexGuard<'_, Db> {
    db.lock().unwrap_or_else(|p| p.into_inner())
}

/// Rate limit, then the handler, then the request log.
pub(super) async fn gate(State(db): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let throttled = {
        let mut d = lock(&db);
        let mut throttled = None;
        let now = Instant::now();
        if d.not_before.is_some_and(|t| now < t) {
            d.early += 1;
        }
        if let Some(r) = d.rate.as_mut() {
            if now.duration_since(r.window_start) >= r.limit.window {
                r.window_start = now;
                r.count = 0;
            }
            r.count += 1;
            if r.count > r.limit.limit {
                let left = (r.window_start + r.limit.window).saturating_duration_since(now);
                let reset = Utc::now()
                    + chrono::Duration::from_std(left).unwrap_or_else(|_| chrono::Duration::zero());
                throttled = Some((
                    r.limit.limit,
                    r.count,
                    (left.as_secs_f64().ceil() as u64).max(1),
                    reset,
                ));
            }
        }
        if let Some((_, _, retry_after, _)) = throttled {
            d.throttled += 1;
            if !d.bare_429 {
                let t = now + Duration::from_secs(retry_after);
                d.not_before = Some(d.not_before.map_or(t, |n| n.max(t)));
            }
        }
        (throttled, d.bare_429)
    };
    let (throttled, bare) = throttled;
    let resp = match throttled {
        Some((limit, observed, retry_after, reset)) => {
            let mut resp = (
                StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::CONTENT_TYPE, "text/plain")],
                "Retry later\n",
            )
                .into_response();
            let mut h = HeaderMap::new();
            let mut set = |k: &'static str, v: String| {
                h.insert(k, HeaderValue::from_str(&v).expect("header value"));
            };
            set("retry-after", retry_after.to_string());
            set("ratelimit-name", "throttle_authenticated_api".into());
            set("ratelimit-limit", limit.to_string());
            set("ratelimit-observed", observed.to_string());
            set("ratelimit-remaining", "0".into());
            set("ratelimit-reset", reset.timestamp().to_string());
            set("ratelimit-resettime", http_date(reset));
            if !bare {
                resp.headers_mut().extend(h);
            }
            resp
        }
        None => next.run(req).await,
    };
    lock(&db).log.push(RequestRecord {
        method,
        uri,
        status: resp.status().as_u16(),
    });
    resp
}

pub(super) async fn dispatch(
    State(db): State<Shared>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(rest) = uri.path().strip_prefix("/api/v4/") else {
        return not_found("");
    };
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let q = query_map(&uri);
    let mut d = lock(&db);
    let me = match d.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    handle(&mut d, &me, method.as_str(), &segs, &q, &uri, &body)
}

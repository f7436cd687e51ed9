//! An in-process double of the GitLab REST API v4, small and faithful to GitLab's documented
//! behaviour for what the `cicd` adapter uses: users, personal access tokens, SSH keys, group and
//! project memberships, project/group access tokens (bot users) and deploy tokens.
//!
//! - Served by axum on `127.0.0.1:0` inside the test's runtime (`start().await`); `url()` is the
//!   base URL (the adapter appends `/api/v4`), `admin_token()` an administrator's token.
//! - Authentication by `PRIVATE-TOKEN` (or `Authorization: Bearer`): missing, unknown, revoked or
//!   expired → 401 `{"message":"401 Unauthorized"}`; a blocked user's token → 403; admin-only
//!   endpoints for a non-admin → 403 `{"message":"403 Forbidden"}`. Unknown → 404 `{"message":"404
//!   … Not Found"}`.
//! - Status codes as GitLab's API code has them: 201 on create and on block/unblock (`true`;
//!   blocking an already blocked user answers 201 with `null`, blocking yourself 403), 204 on
//!   DELETE (revoking a revoked personal access token again is 204 too), 409 when adding an
//!   existing member.
//! - Lists are paginated like GitLab's offset pagination: `page`, `per_page` (default 20, at most
//!   100) and the headers `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page`, `X-Total`,
//!   `X-Total-Pages` and `Link` (`prev`, `next`, `first`, `last`).
//! - `GET /users?username=` is exact and case-insensitive (as GitLab's); `set_fuzzy_username(true)`
//!   makes it a substring search, to prove a client re-checks what a server returns.
//! - Optional rate limit (`set_rate_limit`): N requests per fixed window, then 429 `Retry later`
//!   with `Retry-After` (whole seconds) and `RateLimit-Name/Limit/Observed/Remaining/Reset/ResetTime`,
//!   like GitLab's Rack::Attack throttles — or, with `set_bare_429(true)`, a 429 without any of
//!   those headers (as Microsoft Graph may answer). `early_requests()` counts requests that came
//!   before the time an earlier 429's `Retry-After` advertised.
//! - Revoking a project/group access token revokes the bot's token and removes the bot's
//!   membership (GitLab also deletes the bot user later, in the background; the double keeps it).
//!   Deleting a deploy token destroys it (404 afterwards). Removing a group's last human Owner is
//!   403, for administrators too (GitLab's `GroupMemberPolicy`).
//!
//! State is behind one mutex: seed and read it directly from any thread (`seed_person`, `add_*`,
//! `user`, `pat`, `member_level`, …) — never through the adapter. Every request is logged
//! (`requests()`), so a test can assert which writes a run made.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where a membership, access token or deploy token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Group(u64),
    Project(u64),
}

impl Source {
    pub fn id(self) -> u64 {
        match self {
            Source::Group(id) | Source::Project(id) => id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub name: String,
    pub email: String,
    /// `active`, `blocked`, `ldap_blocked`, `deactivated`, `banned`, …
    pub state: String,
    pub is_admin: bool,
    pub bot: bool,
    /// (provider, extern_uid)
    pub identities: Vec<(String, String)>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Pat {
    pub id: u64,
    pub user_id: u64,
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
    pub expires_at: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// The secret value (sent by clients in `PRIVATE-TOKEN`; shown by the API only at creation).
    pub token: String,
    /// For a project/group access token: where, and the bot's access level.
    pub resource: Option<(Source, u32)>,
}

impl Pat {
    pub fn active(&self) -> bool {
        !self.revoked && self.expires_at.is_none_or(|d| d >= Utc::now().date_naive())
    }
}

#[derive(Debug, Clone)]
pub struct SshKey {
    pub id: u64,
    pub user_id: u64,
    pub title: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub source: Source,
    pub user_id: u64,
    pub access_level: u32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DeployToken {
    pub id: u64,
    pub source: Source,
    pub name: String,
    pub username: String,
    pub revoked: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub token: String,
}

/// N requests per fixed window, then 429 until the window ends.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

/// One request as the double saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub status: u16,
}

impl RequestRecord {
    pub fn is_write(&self) -> bool {
        self.method != "GET" && self.method != "HEAD"
    }
}

/// What `seed_person` created for one person.
#[derive(Debug, Clone)]
pub struct SeededPerson {
    pub user_id: u64,
    pub username: String,
    pub email: String,
    /// Two active personal access tokens: (id, secret).
    pub pats: Vec<(u64, String)>,
    pub ssh_keys: Vec<u64>,
    /// The person is Owner (50) here.
    pub group_id: u64,
    /// The person is Maintainer (40) here.
    pub project_id: u64,
    /// A project access token whose description names the person (`owner:<username>`).
    pub project_access_token: (u64, String),
    /// A group access token whose description names the person.
    pub group_access_token: (u64, String),
    /// A project deploy token whose name names the person.
    pub deploy_token: (u64, String),
}

struct RateState {
    limit: RateLimit,
    window_start: Instant,
    count: u32,
}

#[derive(Default)]
struct Db {
    base_url: String,
    last_id: HashMap<&'static str, u64>,
    users: BTreeMap<u64, User>,
    pats: BTreeMap<u64, Pat>,
    keys: BTreeMap<u64, SshKey>,
    groups: BTreeMap<u64, String>,
    projects: BTreeMap<u64, String>,
    members: Vec<Member>,
    deploy_tokens: BTreeMap<u64, DeployToken>,
    rate: Option<RateState>,
    /// 429s carry no Retry-After / RateLimit-* headers.
    bare_429: bool,
    /// No request should come before this: the time the last 429's Retry-After advertised.
    not_before: Option<Instant>,
    early: u64,
    fuzzy_username: bool,
    throttled: u64,
    log: Vec<RequestRecord>,
}

fn now_s(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    )
}

fn msg(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

fn not_found(what: &str) -> Response {
    msg(StatusCode::NOT_FOUND, &format!("404 {what} Not Found"))
}

fn forbidden() -> Response {
    msg(StatusCode::FORBIDDEN, "403 Forbidden")
}

fn unauthorized() -> Response {
    msg(StatusCode::UNAUTHORIZED, "401 Unauthorized")
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn bad_request(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error })),
    )
        .into_response()
}

/// A decimal id in a path or parameter.
fn id(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn truthy(v: Option<&String>) -> Option<bool> {
    v.map(|s| s == "true" || s == "1")
}

const ACCESS_LEVELS: &[u32] = &[5, 10, 15, 20, 30, 40, 50];

impl Db {
    fn next_id(&mut self, table: &'static str) -> u64 {
        let n = self.last_id.entry(table).or_insert(0);
        *n += 1;
        *n
    }

    fn add_user(&mut self, username: &str, email: &str, admin: bool, bot: bool) -> u64 {
        let id = self.next_id("users");
        self.users.insert(
            id,
            User {
                id,
                username: username.to_string(),
                name: username.to_string(),
                email: email.to_string(),
                state: "active".into(),
                is_admin: admin,
                bot,
                identities: Vec::new(),
                created_at: Utc::now(),
            },
        );
        id
    }

    fn add_pat(
        &mut self,
        user_id: u64,
        name: &str,
        description: &str,
        scopes: &[&str],
        resource: Option<(Source, u32)>,
    ) -> (u64, String) {
        let id = self.next_id("pats");
        let token = secret("glpat-");
        self.pats.insert(
            id,
            Pat {
                id,
                user_id,
                name: name.to_string(),
                description: description.to_string(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                revoked: false,
                expires_at: Some(Utc::now().date_naive() + chrono::Days::new(30)),
                created_at: Utc::now(),
                token: token.clone(),
                resource,
            },
        );
        (id, token)
    }

    fn source_exists(&self, s: Source) -> bool {
        match s {
            Source::Group(id) => self.groups.contains_key(&id),
            Source::Project(id) => self.projects.contains_key(&id),
        }
    }

    fn source_name(&self, s: Source) -> String {
        match s {
            Source::Group(id) => self.groups.get(&id).cloned().unwrap_or_default(),
            Source::Project(id) => self.projects.get(&id).cloned().unwrap_or_default(),
        }
    }

    fn member(&self, s: Source, user_id: u64) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.source == s && m.user_id == user_id)
    }

    fn add_member(&mut self, s: Source, user_id: u64, level: u32) -> bool {
        if self.member(s, user_id).is_some() {
            return false;
        }
        self.members.push(Member {
            source: s,
            user_id,
            access_level: level,
            created_at: Utc::now(),
        });
        true
    }

    /// Whether `user_id` is the only human Owner (50) of `s`.
    fn last_owner(&self, s: Source, user_id: u64) -> bool {
        !self.members.iter().any(|m| {
            m.source == s
                && m.user_id != user_id
                && m.access_level >= 50
                && self.users.get(&m.user_id).is_some_and(|u| !u.bot)
        })
    }

    /// The user behind the request's token, or the error answer (boxed: a `Response` is large).
    fn authenticate(&self, headers: &HeaderMap) -> Result<User, Box<Response>> {
        let token = headers
            .get("private-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::to_string)
            })
            .ok_or_else(|| Box::new(unauthorized()))?;
        let pat = self
            .pats
            .values()
            .find(|p| p.token == token)
            .ok_or_else(|| Box::new(unauthorized()))?;
        if !pat.active() {
            return Err(Box::new(unauthorized()));
        }
        let user = self
            .users
            .get(&pat.user_id)
            .ok_or_else(|| Box::new(unauthorized()))?;
        if user.state != "active" {
            return Err(Box::new(msg(
                StatusCode::FORBIDDEN,
                "403 Forbidden - Your account has been blocked.",
            )));
        }
        Ok(user.clone())
    }

    fn user_json(&self, u: &User, admin_view: bool) -> Value {
        let mut v = json!({
            "id": u.id,
            "username": u.username,
            "name": u.name,
            "state": u.state,
            "locked": false,
            "avatar_url": null,
            "web_url": format!("{}/{}", self.base_url, u.username),
        });
        if admin_view {
            let o = v.as_object_mut().expect("object");
            o.insert("email".into(), json!(u.email));
            o.insert("is_admin".into(), json!(u.is_admin));
            o.insert("bot".into(), json!(u.bot));
            o.insert("created_at".into(), json!(now_s(u.created_at)));
            o.insert("external".into(), json!(false));
            o.insert(
                "identities".into(),
                Value::Array(
                    u.identities
                        .iter()
                        .map(|(p, x)| json!({"provider": p, "extern_uid": x, "saml_provider_id": null}))
                        .collect(),
                ),
            );
        }
        v
    }

    fn pat_json(p: &Pat) -> Value {
        let mut v = json!({
            "id": p.id,
            "name": p.name,
            "revoked": p.revoked,
            "created_at": now_s(p.created_at),
            "description": p.description,
            "scopes": p.scopes,
            "user_id": p.user_id,
            "last_used_at": null,
            "active": p.active(),
            "expires_at": p.expires_at.map(|d| d.to_string()),
        });
        if let Some((_, level)) = p.resource {
            v["access_level"] = json!(level);
        }
        v
    }

    fn member_json(&self, m: &Member) -> Option<Value> {
        let u = self.users.get(&m.user_id)?;
        let mut v = self.user_json(u, false);
        v["access_level"] = json!(m.access_level);
        v["created_at"] = json!(now_s(m.created_at));
        v["expires_at"] = Value::Null;
        v["membership_state"] = json!("active");
        Some(v)
    }

    fn deploy_json(t: &DeployToken) -> Value {
        json!({
            "id": t.id,
            "name": t.name,
            "username": t.username,
            "expires_at": t.expires_at.map(now_s),
            "revoked": t.revoked,
            "expired": t.expires_at.is_some_and(|e| e < Utc::now()),
            "scopes": t.scopes,
        })
    }

    /// One page of `items` with GitLab's offset-pagination headers.
    fn paginate(&self, items: Vec<Value>, q: &HashMap<String, String>, uri: &Uri) -> Response {
        let per_page = q
            .get("per_page")
            .and_then(|s| id(s))
            .unwrap_or(20)
            .clamp(1, 100) as usize;
        let page = q
            .get("page")
            .and_then(|s| id(s))
            .filter(|p| *p >= 1)
            .unwrap_or(1) as usize;
        let total = items.len();
        let total_pages = total.div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        let link_to = |p: usize| {
            let mut pairs: Vec<(String, String)> = q
                .iter()
                .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            pairs.sort();
            let mut url =
                reqwest::Url::parse(&format!("{}{}", self.base_url, uri.path())).expect("own URL");
            url.query_pairs_mut()
                .extend_pairs(pairs)
                .append_pair("page", &p.to_string())
                .append_pair("per_page", &per_page.to_string());
            url.to_string()
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
        }
        if page < total_pages {
            links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
        }
        links.push(format!("<{}>; rel=\"first\"", link_to(1)));
        links.push(format!("<{}>; rel=\"last\"", link_to(total_pages)));
        let mut resp = ok(Value::Array(slice));
        let h = resp.headers_mut();
        let mut set = |k: &'static str, v: String| {
            h.insert(k, HeaderValue::from_str(&v).expect("header value"));
        };
        set("x-page", page.to_string());
        set("x-per-page", per_page.to_string());
        set("x-total", total.to_string());
        set("x-total-pages", total_pages.to_string());
        set(
            "x-next-page",
            if page < total_pages {
                (page + 1).to_string()
            } else {
                String::new()
            },
        );
        set(
            "x-prev-page",
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        );
        set("link", links.join(", "));
        resp
    }
}

struct Inner {
    db: Arc<Mutex<Db>>,
    url: String,
    admin_token: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A running double; clones share it. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct GitlabDouble {
    inner: Arc<Inner>,
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

type Shared = Arc<Mutex<Db>>;

fn lock(db: &Shared) -> MutexGuard<'_, Db> {
    db.lock().unwrap_or_else(|p| p.into_inner())
}

/// Rate limit, then the handler, then the request log.
async fn gate(State(db): State<Shared>, req: Request, next: Next) -> Response {
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

fn query_map(uri: &Uri) -> HashMap<String, String> {
    match uri.query() {
        None => HashMap::new(),
        Some(q) => reqwest::Url::parse(&format!("http://q/?{q}"))
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default(),
    }
}

/// A JSON or form body as string pairs.
fn body_map(body: &Bytes) -> HashMap<String, String> {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
        return o
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect();
    }
    let text = String::from_utf8_lossy(body);
    reqwest::Url::parse(&format!("http://q/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

async fn dispatch(
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

fn source_of(kind: &str, sid: &str) -> Option<Source> {
    let sid = id(sid)?;
    match kind {
        "groups" => Some(Source::Group(sid)),
        "projects" => Some(Source::Project(sid)),
        _ => None,
    }
}

fn source_missing(s: Source) -> Response {
    match s {
        Source::Group(_) => not_found("Group"),
        Source::Project(_) => not_found("Project"),
    }
}

fn handle(
    d: &mut Db,
    me: &User,
    method: &str,
    segs: &[&str],
    q: &HashMap<String, String>,
    uri: &Uri,
    body: &Bytes,
) -> Response {
    match (method, segs) {
        ("GET", ["user"]) => {
            let mut v = d.user_json(me, me.is_admin);
            if !me.is_admin {
                if let Some(o) = v.as_object_mut() {
                    o.remove("is_admin");
                }
            }
            ok(v)
        }
        ("GET", ["users"]) => {
            if q.contains_key("extern_uid") != q.contains_key("provider") {
                return bad_request(
                    "extern_uid, provider are missing, exactly two parameters must be provided",
                );
            }
            if q.contains_key("extern_uid") && !me.is_admin {
                return forbidden();
            }
            let fuzzy = d.fuzzy_username;
            let mut users: Vec<&User> = d
                .users
                .values()
                .filter(|u| match q.get("username") {
                    None => true,
                    Some(n) if fuzzy => u.username.to_lowercase().contains(&n.to_lowercase()),
                    Some(n) => u.username.eq_ignore_ascii_case(n),
                })
                .filter(|u| match q.get("search") {
                    None => true,
                    Some(s) => {
                        let s = s.to_lowercase();
                        u.username.to_lowercase().contains(&s)
                            || u.name.to_lowercase().contains(&s)
                            || (me.is_admin && u.email.to_lowercase() == s)
                    }
                })
                .filter(|u| match (q.get("extern_uid"), q.get("provider")) {
                    (Some(x), Some(p)) => u.identities.iter().any(|(ip, ix)| ip == p && ix == x),
                    _ => true,
                })
                .filter(|u| truthy(q.get("blocked")) != Some(true) || u.state == "blocked")
                .filter(|u| truthy(q.get("active")) != Some(true) || u.state == "active")
                .collect();
            users.sort_by_key(|u| std::cmp::Reverse(u.id));
            let items = users.iter().map(|u| d.user_json(u, me.is_admin)).collect();
            d.paginate(items, q, uri)
        }
        ("GET", ["users", uid]) => match id(uid).and_then(|u| d.users.get(&u)) {
            Some(u) => ok(d.user_json(u, me.is_admin)),
            None => not_found("User"),
        },
        ("POST", ["users", uid, action @ ("block" | "unblock")]) => {
            if !me.is_admin {
                return forbidden();
            }
            let Some(u) = id(uid).and_then(|u| d.users.get_mut(&u)) else {
                return not_found("User");
            };
            if u.state == "ldap_blocked" {
                return msg(
                    StatusCode::FORBIDDEN,
                    "LDAP blocked users cannot be modified by the API",
                );
            }
            if *action == "block" {
                if u.id == me.id {
                    return msg(
                        StatusCode::FORBIDDEN,
                        "The API initiating user cannot be blocked by the API",
                    );
                }
                if u.state == "blocked" {
                    return created(Value::Null);
                }
                u.state = "blocked".into();
                created(json!(true))
            } else {
                if u.state == "deactivated" {
                    return msg(
                        StatusCode::FORBIDDEN,
                        "Deactivated users cannot be unblocked by the API",
                    );
                }
                u.state = "active".into();
                created(json!(true))
            }
        }
        ("GET", ["users", uid, "keys"]) => {
            let Some(u) = id(uid).filter(|u| d.users.contains_key(u)) else {
                return not_found("User");
            };
            let items = d
                .keys
                .values()
                .filter(|k| k.user_id == u)
                .map(key_json)
                .collect();
            d.paginate(items, q, uri)
        }
        ("GET" | "DELETE", ["users", uid, "keys", kid]) => {
            let Some(u) = id(uid).filter(|u| d.users.contains_key(u)) else {
                return not_found("User");
            };
            let Some(k) = id(kid).filter(|k| d.keys.get(k).is_some_and(|k| k.user_id == u)) else {
                return not_found("Key");
            };
            if method == "GET" {
                return ok(key_json(&d.keys[&k]));
            }
            if !me.is_admin {
                return forbidden();
            }
            d.keys.remove(&k);
            no_content()
        }
        ("GET", ["users", uid, "memberships"]) => {
            if !me.is_admin {
                return forbidden();
            }
            let Some(u) = id(uid).filter(|u| d.users.contains_key(u)) else {
                return not_found("User");
            };
            let kind = q.get("type").map(String::as_str);
            if kind.is_some_and(|k| k != "Project" && k != "Namespace") {
                return bad_request("type does not have a valid value");
            }
            let items = d
                .members
                .iter()
                .filter(|m| m.user_id == u)
                .filter(|m| {
                    !matches!(
                        (kind, m.source),
                        (Some("Project"), Source::Group(_)) | (Some("Namespace"), Source::Project(_))
                    )
                })
                .map(|m| {
                    json!({
                        "source_id": m.source.id(),
                        "source_name": d.source_name(m.source),
                        "source_type": match m.source { Source::Group(_) => "Namespace", Source::Project(_) => "Project" },
                        "access_level": m.access_level,
                    })
                })
                .collect();
            d.paginate(items, q, uri)
        }
        ("GET", ["personal_access_tokens"]) => {
            let user = match q.get("user_id") {
                None if me.is_admin => None,
                None => Some(me.id),
                Some(u) => match id(u) {
                    Some(u) if me.is_admin || u == me.id => Some(u),
                    _ => return unauthorized(),
                },
            };
            let state = q.get("state").map(String::as_str);
            let items = d
                .pats
                .values()
                .filter(|p| user.is_none_or(|u| p.user_id == u))
                .filter(|p| match state {
                    Some("active") => p.active(),
                    Some("inactive") => !p.active(),
                    _ => true,
                })
                .filter(|p| truthy(q.get("revoked")).is_none_or(|r| p.revoked == r))
                .map(Db::pat_json)
                .collect();
            d.paginate(items, q, uri)
        }
        ("GET" | "DELETE", ["personal_access_tokens", tid]) => {
            let Some(t) = id(tid).filter(|t| {
                d.pats
                    .get(t)
                    .is_some_and(|p| me.is_admin || p.user_id == me.id)
            }) else {
                return not_found("");
            };
            let p = d.pats.get_mut(&t).expect("checked");
            if method == "GET" {
                return ok(Db::pat_json(p));
            }
            p.revoked = true;
            no_content()
        }
        ("GET", [kind, sid, "members"]) | ("GET", [kind, sid, "members", "all"]) => {
            let Some(s) = source_of(kind, sid) else {
                return not_found("");
            };
            if !d.source_exists(s) {
                return source_missing(s);
            }
            let items = d
                .members
                .iter()
                .filter(|m| m.source == s)
                .filter_map(|m| d.member_json(m))
                .collect();
            d.paginate(items, q, uri)
        }
        ("POST", [kind, sid, "members"]) => {
            let Some(s) = source_of(kind, sid) else {
                return not_found("");
            };
            if !me.is_admin {
                return forbidden();
            }
            if !d.source_exists(s) {
                return source_missing(s);
            }
            let b = body_map(body);
            let Some(level) = b.get("access_level").and_then(|l| id(l)) else {
                return bad_request("access_level is missing");
            };
            let Some(u) = b.get("user_id").and_then(|u| id(u)) else {
                return bad_request("user_id is missing");
            };
            if !ACCESS_LEVELS.contains(&(level as u32)) {
                return bad_request("access_level does not have a valid value");
            }
            if !d.users.contains_key(&u) {
                return not_found("User");
            }
            if !d.add_member(s, u, level as u32) {
                return msg(StatusCode::CONFLICT, "Member already exists");
            }
            let m = d.member(s, u).cloned().expect("just added");
            created(d.member_json(&m).unwrap_or(Value::Null))
        }
        ("GET" | "DELETE", [kind, sid, "members", uid]) => {
            let Some(s) = source_of(kind, sid) else {
                return not_found("");
            };
            if !d.source_exists(s) {
                return source_missing(s);
            }
            let Some(m) = id(uid).and_then(|u| d.member(s, u)).cloned() else {
                return not_found("Member");
            };
            if method == "GET" {
                return ok(d.member_json(&m).unwrap_or(Value::Null));
            }
            if !me.is_admin {
                return forbidden();
            }
            // GroupMemberPolicy: nobody, not even an administrator, removes a group's last Owner.
            if matches!(s, Source::Group(_)) && m.access_level >= 50 && d.last_owner(s, m.user_id) {
                return forbidden();
            }
            d.members
                .retain(|x| !(x.source == s && x.user_id == m.user_id));
            no_content()
        }
        ("GET", [kind, sid, "access_tokens"]) => {
            let Some(s) = source_of(kind, sid) else {
                return not_found("");
            };
            if !d.source_exists(s) {
                return source_missing(s);
            }
            if !me.is_admin {
                return forbidden();
            }
            let state = q.get("state").map(String::as_str);
            let items = d
                .pats
                .values()
                .filter(|p| p.resource.is_some_and(|(r, _)| r == s))
                .filter(|p| match state {
                    Some("active") => p.active(),
                    Some("inactive") => !p.active(),
                    _ => true,
                })
                .map(Db::pat_json)
                .collect();
            d.paginate(items, q, uri)
        }
        ("GET" | "DELETE", [kind, sid, "access_tokens", tid]) => {
            let Some(s) = source_of(kind, sid) else {
                return not_found("");
            };
            if !d.source_exists(s) {
                return source_missing(s);
            }
            if !me.is_admin {
                return forbidden();
            }
            let Some(t) = id(tid).filter(|t| {
                d.pats
                    .get(t)
                    .is_some_and(|p| p.resource.is_some_and(|(r, _)| r == s))
            }) else {
                return not_found("");
            };
            if method == "GET" {
                return ok(Db::pat_json(&d.pats[&t]));
            }
            let p = d.pats.get_mut(&t).expect("checked");
            p.revoked = true;
            let bot = p.user_id;
            d.members.retain(|m| !(m.source == s && m.user_id == bot));
            no_content()
        }
        ("GET", ["deploy_tokens"]) | ("GET", [_, _, "deploy_tokens"]) => {
            let s = match segs {
                [kind, sid, _] => match source_of(kind, sid) {
                    Some(s) if d.source_exists(s) => Some(s),
                    Some(s) => return source_missing(s),
                    None => return not_found(""),
                },
                _ => None,
            };
            if !me.is_admin {
                return forbidden();
            }
            let active = truthy(q.get("active"));
            let items = d
                .deploy_tokens
                .values()
                .filter(|t| s.is_none_or(|s| t.source == s))
                .filter(|t| {
                    let live = !t.revoked && t.expires_at.is_none_or(|e| e >= Utc::now());
                    active.is_none_or(|a| a == live)
                })
                .map(Db::deploy_json)
                .collect();
            d.paginate(items, q, uri)
        }
        ("GET" | "DELETE", [kind, sid, "deploy_tokens", tid]) => {
            let Some(s) = source_of(kind, sid) else {
                return not_found("");
            };
            if !d.source_exists(s) {
                return source_missing(s);
            }
            if !me.is_admin {
                return forbidden();
            }
            let Some(t) = id(tid).filter(|t| d.deploy_tokens.get(t).is_some_and(|x| x.source == s))
            else {
                return not_found("");
            };
            if method == "GET" {
                return ok(Db::deploy_json(&d.deploy_tokens[&t]));
            }
            d.deploy_tokens.remove(&t);
            no_content()
        }
        _ => not_found(""),
    }
}

fn key_json(k: &SshKey) -> Value {
    json!({
        "id": k.id,
        "title": k.title,
        "created_at": now_s(k.created_at),
        "expires_at": null,
        "key": k.key,
        "usage_type": "auth_and_signing",
    })
}

impl GitlabDouble {
    fn db(&self) -> MutexGuard<'_, Db> {
        lock(&self.inner.db)
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (the API is under `/api/v4`).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Token of the administrator `root`.
    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    // --- seeding ---------------------------------------------------------------------------

    /// A human user (`active`), named and mailed as given.
    pub fn add_user(&self, username: &str, email: &str) -> u64 {
        self.db().add_user(username, email, false, false)
    }

    /// Another administrator; returns (user id, token with scope `api`).
    pub fn add_admin(&self, username: &str) -> (u64, String) {
        let mut d = self.db();
        let id = d.add_user(username, &format!("{username}@example.com"), true, false);
        let (_, token) = d.add_pat(id, "admin", "", &["api"], None);
        (id, token)
    }

    pub fn add_identity(&self, user_id: u64, provider: &str, extern_uid: &str) {
        if let Some(u) = self.db().users.get_mut(&user_id) {
            u.identities
                .push((provider.to_string(), extern_uid.to_string()));
        }
    }

    pub fn set_user_state(&self, user_id: u64, state: &str) {
        if let Some(u) = self.db().users.get_mut(&user_id) {
            u.state = state.to_string();
        }
    }

    pub fn add_group(&self, name: &str) -> u64 {
        let mut d = self.db();
        let id = d.next_id("groups");
        d.groups.insert(id, name.to_string());
        id
    }

    pub fn add_project(&self, name: &str) -> u64 {
        let mut d = self.db();
        let id = d.next_id("projects");
        d.projects.insert(id, name.to_string());
        id
    }

    /// A direct membership; false when the user already is a member there.
    pub fn add_member(&self, source: Source, user_id: u64, access_level: u32) -> bool {
        self.db().add_member(source, user_id, access_level)
    }

    /// An active personal access token (expires in 30 days): (id, secret).
    pub fn add_pat(&self, user_id: u64, name: &str, scopes: &[&str]) -> (u64, String) {
        self.db().add_pat(user_id, name, "", scopes, None)
    }

    pub fn add_ssh_key(&self, user_id: u64, title: &str) -> u64 {
        let mut d = self.db();
        let id = d.next_id("keys");
        d.keys.insert(
            id,
            SshKey {
                id,
                user_id,
                title: title.to_string(),
                key: format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{id:08} {title}"),
                created_at: Utc::now(),
            },
        );
        id
    }

    /// A project/group access token as GitLab makes one: a bot user (`project_<id>_bot_<hex>`),
    /// its membership at `access_level`, and its token. Returns (token id, bot user id, secret).
    pub fn add_access_token(
        &self,
        source: Source,
        name: &str,
        description: &str,
        access_level: u32,
    ) -> (u64, u64, String) {
        let mut d = self.db();
        let kind = match source {
            Source::Group(_) => "group",
            Source::Project(_) => "project",
        };
        let hex = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let username = format!("{kind}_{}_bot_{hex}", source.id());
        let bot = d.add_user(
            &username,
            &format!("{username}@noreply.example.com"),
            false,
            true,
        );
        d.add_member(source, bot, access_level);
        let (id, token) = d.add_pat(
            bot,
            name,
            description,
            &["api"],
            Some((source, access_level)),
        );
        (id, bot, token)
    }

    /// A deploy token: (id, secret).
    pub fn add_deploy_token(&self, source: Source, name: &str) -> (u64, String) {
        let mut d = self.db();
        let id = d.next_id("deploy_tokens");
        let token = secret("gldt-");
        d.deploy_tokens.insert(
            id,
            DeployToken {
                id,
                source,
                name: name.to_string(),
                username: format!("gitlab+deploy-token-{id}"),
                revoked: false,
                expires_at: None,
                scopes: vec!["read_repository".into()],
                token: token.clone(),
            },
        );
        (id, token)
    }

    /// A person with everything the adapter revokes: the user `<username>` (`<username>@example.com`),
    /// two PATs, an SSH key, Owner of group `<username>-team` (with `root`), Maintainer of project
    /// `<username>-service`, and — sponsored, named by `owner:<username>` — a project access token,
    /// a group access token and a project deploy token.
    pub fn seed_person(&self, username: &str) -> SeededPerson {
        let email = format!("{username}@example.com");
        let user_id = self.add_user(username, &email);
        let pats = vec![
            self.add_pat(user_id, &format!("{username}-laptop"), &["api"]),
            self.add_pat(user_id, &format!("{username}-ci"), &["read_api"]),
        ];
        let ssh_keys = vec![self.add_ssh_key(user_id, &format!("{username}@laptop"))];
        let group_id = self.add_group(&format!("{username}-team"));
        let project_id = self.add_project(&format!("{username}-service"));
        self.add_member(Source::Group(group_id), user_id, 50);
        // The admin who created the group stays an Owner (GitLab refuses to remove a last Owner).
        self.add_member(Source::Group(group_id), 1, 50);
        self.add_member(Source::Project(project_id), user_id, 40);
        let marker = format!("owner:{username}");
        let (pt, _, pt_secret) = self.add_access_token(
            Source::Project(project_id),
            "release-bot",
            &format!("releases ({marker})"),
            40,
        );
        let (gt, _, gt_secret) =
            self.add_access_token(Source::Group(group_id), "sync-bot", &marker, 30);
        let deploy_token =
            self.add_deploy_token(Source::Project(project_id), &format!("k8s pull {marker}"));
        SeededPerson {
            user_id,
            username: username.to_string(),
            email,
            pats,
            ssh_keys,
            group_id,
            project_id,
            project_access_token: (pt, pt_secret),
            group_access_token: (gt, gt_secret),
            deploy_token,
        }
    }

    // --- reading back ----------------------------------------------------------------------

    pub fn user(&self, user_id: u64) -> Option<User> {
        self.db().users.get(&user_id).cloned()
    }

    pub fn user_state(&self, user_id: u64) -> Option<String> {
        self.db().users.get(&user_id).map(|u| u.state.clone())
    }

    pub fn pat(&self, id: u64) -> Option<Pat> {
        self.db().pats.get(&id).cloned()
    }

    /// Whether a token secret would authenticate a request now (active token, active user).
    pub fn token_works(&self, secret: &str) -> bool {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(secret) {
            h.insert("private-token", v);
        }
        self.db().authenticate(&h).is_ok()
    }

    pub fn ssh_keys_of(&self, user_id: u64) -> Vec<u64> {
        self.db()
            .keys
            .values()
            .filter(|k| k.user_id == user_id)
            .map(|k| k.id)
            .collect()
    }

    pub fn member_level(&self, source: Source, user_id: u64) -> Option<u32> {
        self.db().member(source, user_id).map(|m| m.access_level)
    }

    pub fn memberships_of(&self, user_id: u64) -> Vec<(Source, u32)> {
        self.db()
            .members
            .iter()
            .filter(|m| m.user_id == user_id)
            .map(|m| (m.source, m.access_level))
            .collect()
    }

    pub fn deploy_token(&self, id: u64) -> Option<DeployToken> {
        self.db().deploy_tokens.get(&id).cloned()
    }

    // --- behaviour and observation ---------------------------------------------------------

    /// `Some`: at most `limit` requests per `window`, then 429. `None`: no limit.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.db().rate = limit.map(|limit| RateState {
            limit,
            window_start: Instant::now(),
            count: 0,
        });
    }

    /// Requests answered 429 so far.
    pub fn throttled(&self) -> u64 {
        self.db().throttled
    }

    /// `true`: 429s without `Retry-After` or `RateLimit-*` headers (Microsoft Graph style), so
    /// a client cannot know when to come back.
    pub fn set_bare_429(&self, bare: bool) {
        self.db().bare_429 = bare;
    }

    /// Requests that arrived before the time an earlier 429's `Retry-After` advertised.
    pub fn early_requests(&self) -> u64 {
        self.db().early
    }

    /// `GET /users?username=` as a substring search (a server a client must not trust).
    pub fn set_fuzzy_username(&self, fuzzy: bool) {
        self.db().fuzzy_username = fuzzy;
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.db().log.clone()
    }

    /// Requests from index `from` on that were writes (POST/PUT/DELETE/PATCH).
    pub fn writes_since(&self, from: usize) -> Vec<RequestRecord> {
        self.db()
            .log
            .iter()
            .skip(from)
            .filter(|r| r.is_write())
            .cloned()
            .collect()
    }

    pub fn request_count(&self) -> usize {
        self.db().log.len()
    }
}

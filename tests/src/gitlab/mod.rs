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
//!
//! The rooms: `model` (the objects), `db` (the state and its JSON), `wire` (GitLab's conventions),
//! `server` (start, rate-limit gate, dispatch), `routes` (the endpoints), `control` (the test's
//! side: seeding and reading back).

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

mod control;
mod db;
mod model;
mod routes;
mod server;
mod wire;

pub use model::{
    DeployToken, Member, Pat, RateLimit, RequestRecord, SeededPerson, Source, SshKey, User,
};
pub use server::{start, GitlabDouble};

// What the rooms share with each other (each reaches it through `use super::*`).
use db::*;
use routes::*;
use server::*;
use wire::*;

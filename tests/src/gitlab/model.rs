//! The objects GitLab keeps, as the double stores them and hands them to tests: users, tokens,
//! keys, memberships, deploy tokens, the rate limit and the request log.

use super::*;

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

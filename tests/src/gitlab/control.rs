//! The test's side of the double: seeding state and reading it back directly (never over HTTP),
//! the rate limit and the request log.

use super::*;

impl GitlabDouble {
    pub(super) fn db(&self) -> MutexGuard<'_, Db> {
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

    /// A worker's configuration (`instance`) whose only target is `cicd` on this double, as
    /// root: the token is put in the environment variable `token_var`, and `extra` (TOML lines,
    /// e.g. rate limits) is added to the target's table.
    pub fn cicd_config(
        &self,
        instance: &str,
        token_var: &str,
        extra: &str,
    ) -> revoke_shared::config::Config {
        std::env::set_var(token_var, self.admin_token());
        let mut cfg = revoke_shared::config::Config::default();
        cfg.worker.instance = instance.to_string();
        let table = format!(
            "base_url = \"{}\"\ntoken_env = \"{token_var}\"\n{extra}\n",
            self.url()
        );
        cfg.targets.insert("cicd".into(), table.parse().unwrap());
        cfg
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

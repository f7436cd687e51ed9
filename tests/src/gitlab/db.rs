//! The double's state behind its one mutex, and how it answers from it: authentication, GitLab's
//! JSON shapes, offset pagination with its headers.

use super::*;

pub(super) struct RateState {
    pub(super) limit: RateLimit,
    pub(super) window_start: Instant,
    pub(super) count: u32,
}

#[derive(Default)]
pub(super) struct Db {
    pub(super) base_url: String,
    pub(super) last_id: HashMap<&'static str, u64>,
    pub(super) users: BTreeMap<u64, User>,
    pub(super) pats: BTreeMap<u64, Pat>,
    pub(super) keys: BTreeMap<u64, SshKey>,
    pub(super) groups: BTreeMap<u64, String>,
    pub(super) projects: BTreeMap<u64, String>,
    pub(super) members: Vec<Member>,
    pub(super) deploy_tokens: BTreeMap<u64, DeployToken>,
    pub(super) rate: Option<RateState>,
    /// 429s carry no Retry-After / RateLimit-* headers.
    pub(super) bare_429: bool,
    /// No request should come before this: the time the last 429's Retry-After advertised.
    pub(super) not_before: Option<Instant>,
    pub(super) early: u64,
    pub(super) fuzzy_username: bool,
    pub(super) throttled: u64,
    pub(super) log: Vec<RequestRecord>,
}

pub(super) const ACCESS_LEVELS: &[u32] = &[5, 10, 15, 20, 30, 40, 50];

impl Db {
    pub(super) fn next_id(&mut self, table: &'static str) -> u64 {
        let n = self.last_id.entry(table).or_insert(0);
        *n += 1;
        *n
    }

    pub(super) fn add_user(&mut self, username: &str, email: &str, admin: bool, bot: bool) -> u64 {
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

    pub(super) fn add_pat(
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

    pub(super) fn source_exists(&self, s: Source) -> bool {
        match s {
            Source::Group(id) => self.groups.contains_key(&id),
            Source::Project(id) => self.projects.contains_key(&id),
        }
    }

    pub(super) fn source_name(&self, s: Source) -> String {
        match s {
            Source::Group(id) => self.groups.get(&id).cloned().unwrap_or_default(),
            Source::Project(id) => self.projects.get(&id).cloned().unwrap_or_default(),
        }
    }

    pub(super) fn member(&self, s: Source, user_id: u64) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.source == s && m.user_id == user_id)
    }

    pub(super) fn add_member(&mut self, s: Source, user_id: u64, level: u32) -> bool {
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
    pub(super) fn last_owner(&self, s: Source, user_id: u64) -> bool {
        !self.members.iter().any(|m| {
            m.source == s
                && m.user_id != user_id
                && m.access_level >= 50
                && self.users.get(&m.user_id).is_some_and(|u| !u.bot)
        })
    }

    /// The user behind the request's token, or the error answer (boxed: a `Response` is large).
    pub(super) fn authenticate(&self, headers: &HeaderMap) -> Result<User, Box<Response>> {
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

    pub(super) fn user_json(&self, u: &User, admin_view: bool) -> Value {
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

    pub(super) fn pat_json(p: &Pat) -> Value {
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

    pub(super) fn member_json(&self, m: &Member) -> Option<Value> {
        let u = self.users.get(&m.user_id)?;
        let mut v = self.user_json(u, false);
        v["access_level"] = json!(m.access_level);
        v["created_at"] = json!(now_s(m.created_at));
        v["expires_at"] = Value::Null;
        v["membership_state"] = json!("active");
        Some(v)
    }

    pub(super) fn deploy_json(t: &DeployToken) -> Value {
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
    pub(super) fn paginate(
        &self,
        items: Vec<Value>,
        q: &HashMap<String, String>,
        uri: &Uri,
    ) -> Response {
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

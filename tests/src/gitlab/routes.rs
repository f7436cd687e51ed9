//! The REST routes the `cicd` adapter uses, with GitLab's status codes and rules.

use super::*;

pub(super) fn source_of(kind: &str, sid: &str) -> Option<Source> {
    let sid = id(sid)?;
    match kind {
        "groups" => Some(Source::Group(sid)),
        "projects" => Some(Source::Project(sid)),
        _ => None,
    }
}

pub(super) fn source_missing(s: Source) -> Response {
    match s {
        Source::Group(_) => not_found("Group"),
        Source::Project(_) => not_found("Project"),
    }
}

/// The group or project `kind`/`sid` names, or GitLab's 404 when there is no such thing.
pub(super) fn existing_source(d: &Db, kind: &str, sid: &str) -> Result<Source, Box<Response>> {
    let s = source_of(kind, sid).ok_or_else(|| Box::new(not_found("")))?;
    if !d.source_exists(s) {
        return Err(Box::new(source_missing(s)));
    }
    Ok(s)
}

pub(super) fn handle(
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
            let s = match existing_source(d, kind, sid) {
                Ok(s) => s,
                Err(resp) => return *resp,
            };
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
            let s = match existing_source(d, kind, sid) {
                Ok(s) => s,
                Err(resp) => return *resp,
            };
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
            let s = match existing_source(d, kind, sid) {
                Ok(s) => s,
                Err(resp) => return *resp,
            };
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
            let s = match existing_source(d, kind, sid) {
                Ok(s) => s,
                Err(resp) => return *resp,
            };
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
            let s = match existing_source(d, kind, sid) {
                Ok(s) => s,
                Err(resp) => return *resp,
            };
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

pub(super) fn key_json(k: &SshKey) -> Value {
    json!({
        "id": k.id,
        "title": k.title,
        "created_at": now_s(k.created_at),
        "expires_at": null,
        "key": k.key,
        "usage_type": "auth_and_signing",
    })
}

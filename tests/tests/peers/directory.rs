//! OpenLDAP: `ou=e2e-<run>` with a person entry per person (with a password, so a bind proves
//! the lock), a `groupOfNames` and a `posixGroup` holding them all, and a service entry every
//! third person sponsors (a `device` + `simpleSecurityObject` bot whose `owner` is the person).

use super::{env, ids_of, Person};
use ldap3::{Ldap, LdapConnAsync, Scope, SearchEntry};
use revoke_shared::contract::ObjectEvidence;
use std::collections::HashSet;

pub struct Directory {
    url: String,
    base: String,
    bind_dn: String,
    bind_pw: String,
}

fn password(p: &Person) -> String {
    format!("pw-{}", p.employee_id)
}

impl Directory {
    pub async fn new(run: &str) -> Directory {
        let root = env("REVOKE_TEST_LDAP_BASE_DN");
        let l = Directory {
            url: env("REVOKE_TEST_LDAP_URL"),
            base: format!("ou=e2e-{run},{root}"),
            bind_dn: env("REVOKE_TEST_LDAP_BIND_DN"),
            bind_pw: env("REVOKE_TEST_LDAP_BIND_PW"),
        };
        let mut c = l.admin().await;
        let base = l.base.clone();
        add(
            &mut c,
            &base,
            vec![
                ("objectClass", vec!["organizationalUnit"]),
                ("ou", vec![&format!("e2e-{run}")]),
            ],
        )
        .await;
        for ou in ["people", "groups", "services"] {
            add(
                &mut c,
                &format!("ou={ou},{base}"),
                vec![
                    ("objectClass", vec!["organizationalUnit"]),
                    ("ou", vec![ou]),
                ],
            )
            .await;
        }
        l
    }

    async fn connect(&self) -> Ldap {
        let (conn, ldap) = LdapConnAsync::new(&self.url)
            .await
            .expect("slapd reachable");
        ldap3::drive!(conn);
        ldap
    }

    async fn admin(&self) -> Ldap {
        let mut c = self.connect().await;
        c.simple_bind(&self.bind_dn, &self.bind_pw)
            .await
            .unwrap()
            .success()
            .expect("the service account binds");
        c
    }

    pub fn dn(&self, p: &Person) -> String {
        format!("uid={},ou=people,{}", p.username, self.base)
    }

    fn service_dn(&self, p: &Person) -> String {
        format!("cn=bot-{},ou=services,{}", p.username, self.base)
    }

    fn group_dn(&self) -> String {
        format!("cn=staff,ou=groups,{}", self.base)
    }

    fn posix_dn(&self) -> String {
        format!("cn=vpn,ou=groups,{}", self.base)
    }

    /// The person's number (`Person::new`'s `i`); the bystander has none.
    fn index_of(p: &Person) -> Option<usize> {
        p.username.rsplit('-').next().and_then(|s| s.parse().ok())
    }

    pub fn sponsors(i: usize) -> bool {
        i.is_multiple_of(3)
    }

    pub async fn seed(&self, people: &[&Person]) {
        let mut c = self.admin().await;
        for p in people {
            let pw = password(p);
            add(
                &mut c,
                &self.dn(p),
                vec![
                    ("objectClass", vec!["inetOrgPerson"]),
                    ("uid", vec![&p.username]),
                    ("cn", vec![&p.username]),
                    ("sn", vec!["Leaver"]),
                    ("mail", vec![&p.email]),
                    ("employeeNumber", vec![&p.employee_id]),
                    ("userPassword", vec![&pw]),
                ],
            )
            .await;
            if Self::index_of(p).is_some_and(Self::sponsors) {
                let dn = self.dn(p);
                add(
                    &mut c,
                    &self.service_dn(p),
                    vec![
                        ("objectClass", vec!["device", "simpleSecurityObject"]),
                        ("cn", vec![&format!("bot-{}", p.username)]),
                        ("owner", vec![&dn]),
                        ("userPassword", vec!["bot-pw"]),
                    ],
                )
                .await;
            }
        }
        let members: Vec<String> = people.iter().map(|p| self.dn(p)).collect();
        let uids: Vec<String> = people.iter().map(|p| p.username.clone()).collect();
        let m: Vec<&str> = members.iter().map(String::as_str).collect();
        let u: Vec<&str> = uids.iter().map(String::as_str).collect();
        add(
            &mut c,
            &self.group_dn(),
            vec![
                ("objectClass", vec!["groupOfNames"]),
                ("cn", vec!["staff"]),
                ("member", m),
            ],
        )
        .await;
        add(
            &mut c,
            &self.posix_dn(),
            vec![
                ("objectClass", vec!["posixGroup"]),
                ("cn", vec!["vpn"]),
                ("gidNumber", vec!["5000"]),
                ("memberUid", u),
            ],
        )
        .await;
    }

    pub fn table(&self) -> String {
        format!(
            "url = \"{}\"\nbind_dn = \"{}\"\npassword_env = \"REVOKE_TEST_LDAP_BIND_PW\"\nbase_dn = \"{}\"\n",
            self.url, self.bind_dn, self.base
        )
    }

    /// Values of `attr` on `dn` (operational attributes included when named).
    async fn attr(&self, dn: &str, attr: &str) -> Vec<String> {
        let mut c = self.admin().await;
        let (rs, _) = c
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("reading {dn}: {e}"));
        rs.into_iter()
            .next()
            .map(|e| {
                SearchEntry::construct(e)
                    .attrs
                    .remove(attr)
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    async fn can_bind(&self, dn: &str, pw: &str) -> bool {
        let mut c = self.connect().await;
        let ok = c
            .simple_bind(dn, pw)
            .await
            .map(|r| r.rc == 0)
            .unwrap_or(false);
        let _ = c.unbind().await;
        ok
    }

    /// Whether the person binds at slapd with their password (the test's own client).
    pub async fn binds(&self, p: &Person) -> bool {
        self.can_bind(&self.dn(p), &password(p)).await
    }

    /// An administrator removes the person's lock (`pwdAccountLockedTime`) by hand.
    pub async fn unlock(&self, p: &Person) {
        let dn = self.dn(p);
        let mut c = self.admin().await;
        let none: HashSet<&str> = HashSet::new();
        c.modify(&dn, vec![ldap3::Mod::Delete("pwdAccountLockedTime", none)])
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("unlocking {dn}: {e}"));
        let _ = c.unbind().await;
    }

    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let dn = self.dn(p);
        assert!(
            !self.attr(&dn, "pwdAccountLockedTime").await.is_empty(),
            "{dn} not locked at slapd"
        );
        assert!(
            !self.can_bind(&dn, &password(p)).await,
            "{dn} can still bind"
        );
        let members: HashSet<String> = self
            .attr(&self.group_dn(), "member")
            .await
            .into_iter()
            .map(|m| m.to_lowercase())
            .collect();
        assert!(!members.contains(&dn.to_lowercase()), "{dn} still a member");
        assert!(
            !self
                .attr(&self.posix_dn(), "memberUid")
                .await
                .contains(&p.username),
            "{} still a memberUid",
            p.username
        );
        // The evidence names exactly the entry and both group values (`<attr>|<group>|<value>`).
        let own: Vec<String> = objects
            .iter()
            .filter(|o| o.object_kind == "account" && !o.sponsored)
            .map(|o| o.object_id.to_lowercase())
            .collect();
        assert_eq!(own, vec![dn.to_lowercase()], "{dn}: {objects:?}");
        let mut memberships: Vec<String> = ids_of(objects, "group_membership")
            .into_iter()
            .map(|m| m.to_lowercase())
            .collect();
        memberships.sort();
        let mut expected = vec![
            format!("member|{}|{}", self.group_dn(), dn).to_lowercase(),
            format!("memberuid|{}|{}", self.posix_dn(), p.username).to_lowercase(),
        ];
        expected.sort();
        assert_eq!(memberships, expected, "{dn}");
        let sponsored: Vec<&ObjectEvidence> = objects.iter().filter(|o| o.sponsored).collect();
        if Self::index_of(p).is_some_and(Self::sponsors) {
            let svc = self.service_dn(p);
            assert_eq!(sponsored.len(), 1, "{dn}: {objects:?}");
            assert!(
                sponsored[0]
                    .object_id
                    .to_lowercase()
                    .contains(&svc.to_lowercase()),
                "{dn}: {objects:?}"
            );
            assert!(!self.attr(&svc, "pwdAccountLockedTime").await.is_empty());
            assert!(!self.can_bind(&svc, "bot-pw").await, "{svc} can still bind");
        } else {
            assert!(sponsored.is_empty(), "{dn}: {objects:?}");
        }
    }

    pub async fn check_untouched(&self, p: &Person) {
        let dn = self.dn(p);
        assert!(self.attr(&dn, "pwdAccountLockedTime").await.is_empty());
        assert!(self.can_bind(&dn, &password(p)).await, "{dn} cannot bind");
        let members: Vec<String> = self.attr(&self.group_dn(), "member").await;
        assert!(members.iter().any(|m| m.eq_ignore_ascii_case(&dn)));
        assert!(self
            .attr(&self.posix_dn(), "memberUid")
            .await
            .contains(&p.username));
    }
}

async fn add(c: &mut Ldap, dn: &str, attrs: Vec<(&str, Vec<&str>)>) {
    let attrs: Vec<(&str, HashSet<&str>)> = attrs
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect();
    c.add(dn, attrs)
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
}

//! The directory adapter against a real OpenLDAP slapd (`tests/services/slapd.sh start`).
//!
//! Seeds people, groups (groupOfNames, groupOfUniqueNames, posixGroup) and sponsored service
//! accounts directly over LDAP (never through the adapter), revokes a person, asserts by asking
//! slapd (including that the person's and the bots' password binds now fail with 49), runs again
//! (idempotency: no writes, proven by unchanged `entryCSN`s), restores from the first run's
//! evidence (binds work again), and checks that hostile identities and an ambiguous match touch
//! nothing. Each run works in its own `ou=run-<uuid>` under the suffix, so runs never see each
//! other's entries; the run's subtree is deleted at the end.
//!
//! Env: `REVOKE_TEST_LDAP_URL`, `REVOKE_TEST_LDAP_BASE_DN`, `REVOKE_TEST_LDAP_BIND_DN`,
//! `REVOKE_TEST_LDAP_BIND_PW` (the service account slapd.sh creates; the adapter reads the
//! password from `REVOKE_TEST_LDAP_BIND_PW` through `password_env`, the test seeds with it too),
//! `REVOKE_TEST_LDAP_NOLOCK_DN`/`_PW` (a second service account the directory refuses writes to
//! `pwdAccountLockedTime`, for half-failing runs).

use ldap3::{Ldap, LdapConnAsync, Scope, SearchEntry};
use revoke::adapters::ldap::LdapTarget;
use revoke::adapters::{Target, TargetError};
use revoke::restoration::RestoreOutcome;
use revoke::revocation::{revoke_identity_rechecking, RevocationReport};
use revoke_shared::contract::{ObjectEvidence, ObjectOutcome, Outcome, RecheckObject};
use revoke_shared::metrics::Metrics;
use revoke_tests::kit::{self, assert_outcome, employee, object_ids, restore, revoke};
use revoke_tests::quick_retries as policy;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

mod concurrency;
mod connection;
mod half_locked;
mod lifecycle;
mod restore_scope;

const PW_ENV: &str = "REVOKE_TEST_LDAP_BIND_PW";
/// The password of cn=revoker-nolock, the service account the directory refuses the lock.
const NOLOCK_PW_ENV: &str = "REVOKE_TEST_LDAP_NOLOCK_PW";

struct Dir {
    url: String,
    base: String,
    bind_dn: String,
    bind_pw: String,
}

/// Every entry of a subtree with all user and operational attributes, values sorted.
type Snapshot = BTreeMap<String, BTreeMap<String, Vec<String>>>;

impl Dir {
    fn from_env() -> Dir {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: start the peer with tests/services/slapd.sh start (the README's test command does)")
            })
        };
        Dir {
            url: var("REVOKE_TEST_LDAP_URL"),
            base: var("REVOKE_TEST_LDAP_BASE_DN"),
            bind_dn: var("REVOKE_TEST_LDAP_BIND_DN"),
            bind_pw: var(PW_ENV),
        }
    }

    /// A new connection bound as `dn`; the bind's result code.
    async fn bind(&self, dn: &str, pw: &str) -> (Ldap, u32) {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await.expect("slapd answers");
        ldap3::drive!(conn);
        let rc = ldap
            .with_timeout(Duration::from_secs(10))
            .simple_bind(dn, pw)
            .await
            .expect("bind answered")
            .rc;
        (ldap, rc)
    }

    async fn admin(&self) -> Ldap {
        let (l, rc) = self.bind(&self.bind_dn, &self.bind_pw).await;
        assert_eq!(rc, 0, "the service account cannot bind");
        l
    }

    async fn bind_rc(&self, dn: &str, pw: &str) -> u32 {
        let (mut l, rc) = self.bind(dn, pw).await;
        let _ = l.unbind().await;
        rc
    }

    async fn add(&self, l: &mut Ldap, dn: &str, attrs: &[(&str, &[&str])]) {
        let attrs: Vec<(&str, HashSet<&str>)> = attrs
            .iter()
            .map(|(a, vs)| (*a, vs.iter().copied().collect()))
            .collect();
        let r = l.add(dn, attrs).await.expect("add answered");
        assert_eq!(r.rc, 0, "adding {dn}: {r}");
    }

    /// Adds a service account at `dn` (`device` + `simpleSecurityObject`) owned by `owners`.
    async fn add_bot(&self, l: &mut Ldap, dn: &str, cn: &str, owners: &[&str], pw: &str) {
        let attrs: [(&str, &[&str]); 4] = [
            ("objectClass", &["device", "simpleSecurityObject"]),
            ("cn", &[cn]),
            ("owner", owners),
            ("userPassword", &[pw]),
        ];
        self.add(l, dn, &attrs).await;
    }

    /// Adds a `groupOfNames` at `dn` with `members` (at least one value, as the schema wants).
    async fn add_group(&self, l: &mut Ldap, dn: &str, cn: &str, members: &[&str]) {
        let attrs: [(&str, &[&str]); 3] = [
            ("objectClass", &["groupOfNames"]),
            ("cn", &[cn]),
            ("member", members),
        ];
        self.add(l, dn, &attrs).await;
    }

    async fn entry(&self, l: &mut Ldap, dn: &str) -> Option<SearchEntry> {
        let r = l
            .search(dn, Scope::Base, "(objectClass=*)", vec!["*", "+"])
            .await
            .expect("search answered");
        if r.1.rc == 32 {
            return None;
        }
        assert_eq!(r.1.rc, 0, "reading {dn}: {}", r.1);
        r.0.into_iter().next().map(SearchEntry::construct)
    }

    /// The values of `attr` on `dn` (empty when absent); panics if the entry is missing.
    async fn values(&self, l: &mut Ldap, dn: &str, attr: &str) -> Vec<String> {
        let e = self
            .entry(l, dn)
            .await
            .unwrap_or_else(|| panic!("{dn} missing"));
        let mut v: Vec<String> = e
            .attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
            .flat_map(|(_, v)| v.clone())
            .collect();
        v.sort();
        v
    }

    async fn snapshot(&self, l: &mut Ldap, base: &str) -> Snapshot {
        let r = l
            .search(base, Scope::Subtree, "(objectClass=*)", vec!["*", "+"])
            .await
            .expect("search answered")
            .success()
            .expect("snapshot search");
        r.0.into_iter()
            .map(SearchEntry::construct)
            .map(|e| {
                let attrs = e
                    .attrs
                    .into_iter()
                    .map(|(k, mut v)| {
                        v.sort();
                        (k.to_lowercase(), v)
                    })
                    .collect();
                (e.dn.to_lowercase(), attrs)
            })
            .collect()
    }

    /// Deletes a subtree, deepest entries first.
    async fn delete_tree(&self, l: &mut Ldap, base: &str) {
        let r = l
            .search(base, Scope::Subtree, "(objectClass=*)", vec!["1.1"])
            .await
            .expect("search answered");
        let mut dns: Vec<String> =
            r.0.into_iter()
                .map(|e| SearchEntry::construct(e).dn)
                .collect();
        dns.sort_by_key(|d| std::cmp::Reverse(d.matches(',').count()));
        for dn in dns {
            let _ = l.delete(&dn).await;
        }
    }
}

/// The directory from the environment, an administrator's connection to it, and a run subtree of
/// this test's own.
async fn fresh_run() -> (Dir, Ldap, Run) {
    let dir = Dir::from_env();
    let mut l = dir.admin().await;
    let run = Run::create(&dir, &mut l).await;
    (dir, l, run)
}

/// The adapter from a complete config file's `[targets.directory]` table (through
/// `Config::load`, as the binary reads it).
fn ldap_target(table_body: &str, instance: &str) -> LdapTarget {
    LdapTarget::from_table(&kit::target_table("directory", table_body), instance)
        .expect("directory config")
}

/// One run's own subtree: `ou=run-<id>` with people, groups, services and disabled OUs.
struct Run {
    id: String,
    root: String,
}

impl Run {
    async fn create(dir: &Dir, l: &mut Ldap) -> Run {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let root = format!("ou=run-{id},{}", dir.base);
        let ou = format!("run-{id}");
        dir.add(
            l,
            &root,
            &[("objectClass", &["organizationalUnit"]), ("ou", &[&ou])],
        )
        .await;
        let run = Run { id, root };
        for ou in ["people", "groups", "services", "disabled"] {
            dir.add(
                l,
                &run.dn(&format!("ou={ou}")),
                &[("objectClass", &["organizationalUnit"]), ("ou", &[ou])],
            )
            .await;
        }
        run
    }

    fn dn(&self, rdns: &str) -> String {
        format!("{rdns},{}", self.root)
    }

    fn person_dn(&self, uid: &str) -> String {
        self.dn(&format!("uid={uid},ou=people"))
    }

    fn group_dn(&self, cn: &str) -> String {
        self.dn(&format!("cn={cn},ou=groups"))
    }

    async fn add_person(
        &self,
        dir: &Dir,
        l: &mut Ldap,
        uid: &str,
        cn: &str,
        extra: &[(&str, &[&str])],
    ) {
        let mail = format!("{uid}-{}@example.test", self.id);
        let employee = format!("E-{uid}-{}", self.id);
        let pw = format!("{uid}-pw");
        let sn = cn.rsplit(' ').next().unwrap_or(cn);
        let (uid_v, cn_v, sn_v) = ([uid], [cn], [sn]);
        let (mail_v, emp_v, pw_v) = ([mail.as_str()], [employee.as_str()], [pw.as_str()]);
        let mut attrs: Vec<(&str, &[&str])> = vec![
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &uid_v),
            ("cn", &cn_v),
            ("sn", &sn_v),
            ("mail", &mail_v),
            ("employeeNumber", &emp_v),
            ("userPassword", &pw_v),
        ];
        attrs.extend_from_slice(extra);
        dir.add(l, &self.person_dn(uid), &attrs).await;
    }

    fn config(&self, dir: &Dir, extra: &str) -> String {
        format!(
            "url = \"{}\"\nbind_dn = \"{}\"\npassword_env = \"{PW_ENV}\"\nbase_dn = \"{}\"\ngroup_base_dn = \"{}\"\n{extra}",
            dir.url,
            dir.bind_dn,
            self.root,
            self.dn("ou=groups")
        )
    }
}

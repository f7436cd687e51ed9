//! Active Directory (the Samba DC, `tests/services/samba.sh`) as a third directory instance,
//! `[targets.directory.ad] adapter = "active_directory"`: `OU=e2e-<run>` with an enabled user per
//! person (sAMAccountName = username, a password, so a bind proves the disable) and one group
//! holding them all. Every check is the test's own LDAP client at the DC: AD's reason for a
//! refused bind, the group's `member`, the control bits.

use super::{env, ids_of, Person};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use revoke_shared::contract::ObjectEvidence;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Every seeded user's password (AD's complexity rule applies).
const PASSWORD: &str = "E2e-Ad-Test-Pw-1";
/// The env var the `ad` table names for the revoker's password.
const PW_ENV: &str = "REVOKE_TEST_AD_E2E_PW";

pub struct Ad {
    url: String,
    base: String,
    group: String,
    /// username -> objectGUID
    guids: Mutex<HashMap<String, String>>,
}

async fn connect(url: &str, dn: &str, pw: &str) -> (Ldap, ldap3::LdapResult) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The test's own client does not check the DC's certificate: the adapter's check is what
    // the adapter tests prove.
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, url)
        .await
        .expect("the DC answers");
    ldap3::drive!(conn);
    let r = ldap.simple_bind(dn, pw).await.expect("a bind answer");
    (ldap, r)
}

impl Ad {
    pub async fn new(run: &str) -> Ad {
        let base = format!("OU=e2e-{run},{}", env("REVOKE_TEST_AD_BASE_DN"));
        let ad = Ad {
            url: env("REVOKE_TEST_AD_URL"),
            group: format!("CN=e2e-{run},{base}"),
            base,
            guids: Mutex::new(HashMap::new()),
        };
        let mut l = ad.admin().await;
        let r = l
            .add(
                &ad.base,
                vec![("objectClass", HashSet::from(["organizationalUnit"]))],
            )
            .await
            .unwrap();
        assert_eq!(r.rc, 0, "{}: {r}", ad.base);
        ad
    }

    async fn admin(&self) -> Ldap {
        let (l, r) = connect(
            &self.url,
            &env("REVOKE_TEST_AD_ADMIN_DN"),
            &env("REVOKE_TEST_AD_ADMIN_PW"),
        )
        .await;
        assert_eq!(r.rc, 0, "the administrator binds: {r}");
        l
    }

    fn dn(&self, p: &Person) -> String {
        format!("CN={},{}", p.username, self.base)
    }

    /// Each person an enabled user with `PASSWORD`, all of them in one group.
    pub async fn seed(&self, people: &[&Person]) {
        let mut l = self.admin().await;
        let mut dns = Vec::new();
        for p in people {
            let dn = self.dn(p);
            let r = l
                .add(
                    &dn,
                    vec![
                        (
                            "objectClass",
                            HashSet::from(["top", "person", "organizationalPerson", "user"]),
                        ),
                        ("sAMAccountName", HashSet::from([p.username.as_str()])),
                        ("mail", HashSet::from([p.email.as_str()])),
                    ],
                )
                .await
                .unwrap();
            assert_eq!(r.rc, 0, "{dn}: {r}");
            let pw = revoke::adapters::active_directory::syntax::unicode_pwd(PASSWORD);
            let r = l
                .modify(
                    &dn,
                    vec![
                        ldap3::Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([pw])),
                        ldap3::Mod::Replace(
                            b"userAccountControl".to_vec(),
                            HashSet::from([b"512".to_vec()]),
                        ),
                    ],
                )
                .await
                .unwrap();
            assert_eq!(r.rc, 0, "enabling {dn}: {r}");
            let guid = self.guid(&mut l, &dn).await;
            self.guids.lock().unwrap().insert(p.username.clone(), guid);
            dns.push(dn);
        }
        let name = self.group[3..self.group.find(',').unwrap()].to_string();
        let r = l
            .add(
                &self.group,
                vec![
                    ("objectClass", HashSet::from(["top", "group"])),
                    ("sAMAccountName", HashSet::from([name.as_str()])),
                    ("member", dns.iter().map(String::as_str).collect()),
                ],
            )
            .await
            .unwrap();
        assert_eq!(r.rc, 0, "{}: {r}", self.group);
    }

    async fn guid(&self, l: &mut Ldap, dn: &str) -> String {
        let e = self.entry(l, dn, "objectGUID").await;
        let b: [u8; 16] = e.bin_attrs["objectGUID"][0].clone().try_into().unwrap();
        uuid::Uuid::from_bytes_le(b).to_string()
    }

    async fn entry(&self, l: &mut Ldap, dn: &str, attr: &str) -> SearchEntry {
        let (rs, _) = l
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("reading {dn}: {e}"));
        SearchEntry::construct(rs.into_iter().next().unwrap())
    }

    /// The `ad` instance table (the revoker's password by env var, set here).
    pub fn table(&self) -> String {
        std::env::set_var(PW_ENV, env("REVOKE_TEST_AD_BIND_PW"));
        format!(
            "adapter = \"active_directory\"\nurl = {:?}\nca_file = {:?}\nbind_dn = {:?}\n\
             password_env = \"{PW_ENV}\"\nbase_dn = {:?}\nmatch_attribute = \"sAMAccountName\"\n",
            self.url,
            env("REVOKE_TEST_AD_CA_FILE"),
            env("REVOKE_TEST_AD_BIND_DN"),
            self.base
        )
    }

    /// AD's reason a bind as `p` fails, or `None` when it succeeds.
    async fn refusal(&self, p: &Person) -> Option<String> {
        let (mut l, r) = connect(&self.url, &self.dn(p), PASSWORD).await;
        let _ = l.unbind().await;
        (r.rc != 0).then(|| {
            revoke::adapters::active_directory::syntax::bind_refusal(&r.text)
                .map_or_else(|| format!("rc {} {}", r.rc, r.text), str::to_string)
        })
    }

    async fn in_group(&self, p: &Person) -> bool {
        let mut l = self.admin().await;
        let members: HashSet<String> = self
            .entry(&mut l, &self.group, "member")
            .await
            .attrs
            .remove("member")
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.to_lowercase())
            .collect();
        members.contains(&self.dn(p).to_lowercase())
    }

    /// `objects` are the `ad` instance's evidence, its prefix stripped: exactly the person's
    /// account, expiry and membership, all verified; and at the DC the bind is refused as AD
    /// refuses a disabled account, and the group no longer lists them.
    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let guid = self.guids.lock().unwrap()[&p.username].clone();
        let mut l = self.admin().await;
        let group = self.guid(&mut l, &self.group).await;
        assert_eq!(
            ids_of(objects, "account"),
            vec![guid.clone()],
            "{objects:?}"
        );
        let expiry = ids_of(objects, "account_expiry");
        assert!(
            expiry.len() == 1 && expiry[0].starts_with(&format!("{guid}|")),
            "{objects:?}"
        );
        assert_eq!(
            ids_of(objects, "group_membership"),
            vec![format!("{group}|{guid}")],
            "{objects:?}"
        );
        assert_eq!(objects.len(), 3, "{objects:?}");
        assert!(objects.iter().all(|o| o.verified), "{objects:?}");
        assert_eq!(
            self.refusal(p).await.as_deref(),
            Some("account disabled"),
            "{}",
            p.username
        );
        assert!(!self.in_group(p).await, "{} still in the group", p.username);
    }

    /// The bystander still signs in and keeps the group.
    pub async fn check_untouched(&self, p: &Person) {
        assert_eq!(self.refusal(p).await, None, "{} cannot bind", p.username);
        assert!(self.in_group(p).await, "{} left the group", p.username);
    }
}

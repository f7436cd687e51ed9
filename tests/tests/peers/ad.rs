//! Active Directory (the Samba DC, `tests/services/samba.sh`) as a third directory instance,
//! `[targets.directory.ad] adapter = "active_directory"`: `OU=e2e-<run>` with an enabled user per
//! person (sAMAccountName = username, a password, so a bind proves the disable) and one group
//! holding them all. Every check is the test's own LDAP client at the DC: AD's reason for a
//! refused bind, the group's `member`, the control bits.

use super::{env, ids_of, Person};
use revoke_shared::contract::ObjectEvidence;
use revoke_tests::samba_dc::{add, add_enabled_user, add_group, admin, bind_as, guid_of, lists};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Every seeded user's password (AD's complexity rule applies).
const PASSWORD: &str = "E2e-Ad-Test-Pw-1";
/// The env var the `ad` table names for the revoker's password.
const PW_ENV: &str = "REVOKE_TEST_AD_E2E_PW";

pub struct Ad {
    base: String,
    group: String,
    /// username -> objectGUID
    guids: Mutex<HashMap<String, String>>,
}

impl Ad {
    pub async fn new(run: &str) -> Ad {
        let base = format!("OU=e2e-{run},{}", env("REVOKE_TEST_AD_BASE_DN"));
        let mut l = admin().await;
        add(
            &mut l,
            &base,
            vec![("objectClass", HashSet::from(["organizationalUnit"]))],
        )
        .await;
        Ad {
            group: format!("CN=e2e-{run},{base}"),
            base,
            guids: Mutex::new(HashMap::new()),
        }
    }

    fn dn(&self, p: &Person) -> String {
        format!("CN={},{}", p.username, self.base)
    }

    /// Each person an enabled user with `PASSWORD`, all of them in one group.
    pub async fn seed(&self, people: &[&Person]) {
        let mut l = admin().await;
        let mut dns = Vec::new();
        for p in people {
            let dn = add_enabled_user(&mut l, &self.base, &p.username, &p.email, PASSWORD).await;
            let guid = guid_of(&mut l, &dn).await.to_string();
            self.guids.lock().unwrap().insert(p.username.clone(), guid);
            dns.push(dn);
        }
        let name = self.group[3..self.group.find(',').unwrap()].to_string();
        let members: Vec<&str> = dns.iter().map(String::as_str).collect();
        add_group(&mut l, &self.base, &name, &members).await;
    }

    /// The `ad` instance table (the revoker's password by env var, set here).
    pub fn table(&self) -> String {
        std::env::set_var(PW_ENV, env("REVOKE_TEST_AD_BIND_PW"));
        format!(
            "adapter = \"active_directory\"\nurl = {:?}\nca_file = {:?}\nbind_dn = {:?}\n\
             password_env = \"{PW_ENV}\"\nbase_dn = {:?}\nmatch_attribute = \"sAMAccountName\"\n",
            env("REVOKE_TEST_AD_URL"),
            env("REVOKE_TEST_AD_CA_FILE"),
            env("REVOKE_TEST_AD_BIND_DN"),
            self.base
        )
    }

    async fn in_group(&self, p: &Person) -> bool {
        lists(&mut admin().await, &self.group, &self.dn(p)).await
    }
    /// `objects` are the `ad` instance's evidence, its prefix stripped: exactly the person's
    /// account, expiry and membership, all verified; and at the DC the bind is refused as AD
    /// refuses a disabled account, and the group no longer lists them.
    pub async fn check(&self, p: &Person, objects: &[ObjectEvidence]) {
        let guid = self.guids.lock().unwrap()[&p.username].clone();
        let group = guid_of(&mut admin().await, &self.group).await;
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
            bind_as(&self.dn(p), PASSWORD).await,
            Err("account disabled".into()),
            "{}",
            p.username
        );
        assert!(!self.in_group(p).await, "{} still in the group", p.username);
    }

    /// The bystander still signs in and keeps the group.
    pub async fn check_untouched(&self, p: &Person) {
        assert_eq!(
            bind_as(&self.dn(p), PASSWORD).await,
            Ok(()),
            "{}",
            p.username
        );
        assert!(self.in_group(p).await, "{} left the group", p.username);
    }
}

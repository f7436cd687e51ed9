//! The five real peers of the end-to-end test: seeding people at each peer directly (never
//! through the adapters), the `[targets.<kind>]` tables pointing the fleet at them, and checks
//! of a case's evidence against what each peer itself shows. Opt-in (`Peers::seeded_with_idp`):
//! the identity provider as a second directory instance (`[targets.directory.ldap]` and
//! `[targets.directory.sso]`, Keycloak), its evidence ids then carrying the instance prefix; and
//! (`seeded_with_idp_and_ad`) Active Directory as a third (`[targets.directory.ad]`, Samba).

// Shared by several test files; each uses part of it.
#![allow(dead_code)]

pub mod ad;
pub mod cicd;
pub mod cloud;
pub mod directory;
pub mod idp;
pub mod saas;
pub mod vault;

use revoke_shared::config::Config;
use revoke_shared::contract::{
    HrData, HrEvent, HrEventKind, Identity, IdentityKind, ObjectEvidence, TargetKind,
};

/// One seeded person: the same names at every peer.
#[derive(Debug, Clone)]
pub struct Person {
    pub employee_id: String,
    pub username: String,
    pub email: String,
}

impl Person {
    pub fn new(run: &str, i: usize) -> Person {
        let username = format!("e2e-{run}-{i}");
        Person {
            employee_id: format!("E2E-{run}-{i}"),
            email: format!("{username}@example.org"),
            username,
        }
    }

    /// The person as HR names them in an event: an employee.
    pub fn identity(&self) -> Identity {
        Identity {
            employee_id: self.employee_id.clone(),
            email: Some(self.email.clone()),
            username: Some(self.username.clone()),
            kind: IdentityKind::Employee,
        }
    }

    /// Someone whose names start with leaver 0's: a prefix match would catch them.
    pub fn bystander(run: &str) -> Person {
        let username = format!("e2e-{run}-0keep");
        Person {
            employee_id: format!("E2E-{run}-0keep"),
            email: format!("{username}@example.org"),
            username,
        }
    }
}

/// The termination of leaver `i` of run `run`, effective now, as the HR system would send it.
pub fn termination(run: &str, p: &Person, i: usize) -> HrEvent {
    HrEvent {
        id: format!("{run}-{i}"),
        source: "urn:revoke:test-hr".into(),
        subject: p.employee_id.clone(),
        time: chrono::Utc::now(),
        kind: HrEventKind::Termination,
        data: HrData {
            identity: p.identity(),
            effective_at: Some(chrono::Utc::now()),
            reason: Some("resignation".into()),
            requested_by: Some("hr:people-ops".into()),
            approved_by: Some("mgr:line-manager".into()),
            rescinds: None,
        },
    }
}

/// The terminations of `people`, leaver `i` as `termination(run, people[i], i)`.
pub fn terminations(run: &str, people: &[Person]) -> Vec<HrEvent> {
    people
        .iter()
        .enumerate()
        .map(|(i, p)| termination(run, p, i))
        .collect()
}

/// One worker per target kind, each on the adapter its `[targets.<kind>]` table configures (never
/// the simulator), and the verifier; returns once every consumer group has partitions.
pub async fn start_fleet(
    cfg: &Config,
    metrics: &revoke_shared::metrics::Metrics,
    health: &revoke_shared::metrics::Health,
) -> Vec<revoke::fleet::Component> {
    let mut components = Vec::new();
    for kind in TargetKind::ALL {
        let target = revoke::adapters::from_config(kind, cfg)
            .await
            .unwrap_or_else(|e| panic!("[targets.{kind}]: {e}"));
        assert_ne!(
            target.principal(),
            format!("sim-{kind}-revoker"),
            "{kind} must act on the real adapter, not the simulator"
        );
        components.push(revoke::fleet::Process::Worker(target).spawn(
            cfg,
            metrics.clone(),
            health.clone(),
        ));
    }
    components.push(revoke::fleet::Process::Verifier.spawn(cfg, metrics.clone(), health.clone()));
    assert!(
        revoke::fleet::wait_for_groups(cfg, metrics, std::time::Duration::from_secs(90)).await,
        "consumer groups never got partitions"
    );
    components
}

pub struct Peers {
    directory: directory::Directory,
    saas: saas::Scim,
    cloud: cloud::Iam,
    vault: vault::Bao,
    cicd: cicd::Gitlab,
    /// Keycloak as the directory's `sso` instance (LDAP then being `ldap`), when opted in.
    idp: Option<idp::Idp>,
    /// Active Directory (the Samba DC) as the directory's `ad` instance, when opted in (with
    /// the identity provider).
    ad: Option<ad::Ad>,
}

/// The directory's instance names when the identity provider is in.
const LDAP: &str = "ldap";
const SSO: &str = "sso";
const AD: &str = "ad";

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the README's test command"))
}

impl Peers {
    pub async fn start(run: &str) -> Peers {
        Peers {
            directory: directory::Directory::new(run).await,
            saas: saas::Scim::new(run),
            cloud: cloud::Iam::new(run).await,
            vault: vault::Bao::new(run).await,
            cicd: cicd::Gitlab::start(run).await,
            idp: None,
            ad: None,
        }
    }

    /// A fresh run: every peer started, and `leavers` people plus one bystander (who shares a
    /// name prefix with every leaver and must keep everything) seeded at each.
    pub async fn seeded(leavers: usize) -> (String, Peers, Vec<Person>, Person) {
        Self::seeded_opt(leavers, false, false).await
    }

    /// `seeded`, and the same people in Keycloak (the directory's second instance, `sso`), each
    /// signed in online and offline.
    pub async fn seeded_with_idp(leavers: usize) -> (String, Peers, Vec<Person>, Person) {
        Self::seeded_opt(leavers, true, false).await
    }

    /// `seeded_with_idp`, and the same people in Active Directory (the directory's third
    /// instance, `ad`), each an enabled user in one group.
    pub async fn seeded_with_idp_and_ad(leavers: usize) -> (String, Peers, Vec<Person>, Person) {
        Self::seeded_opt(leavers, true, true).await
    }

    async fn seeded_opt(
        leavers: usize,
        idp: bool,
        ad: bool,
    ) -> (String, Peers, Vec<Person>, Person) {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let mut peers = Peers::start(&run).await;
        if idp {
            peers.idp = Some(idp::Idp::new());
        }
        if ad {
            peers.ad = Some(ad::Ad::new(&run).await);
        }
        let people: Vec<Person> = (0..leavers).map(|i| Person::new(&run, i)).collect();
        let bystander = Person::bystander(&run);
        peers.seed(&people, &bystander).await;
        (run, peers, people, bystander)
    }

    /// The GitLab double, for checks through its HTTP API.
    pub fn cicd(&self) -> &cicd::Gitlab {
        &self.cicd
    }

    /// Keycloak, when opted in (`seeded_with_idp`), for checks with plain HTTP.
    pub fn idp(&self) -> Option<&idp::Idp> {
        self.idp.as_ref()
    }

    /// Seeds every leaver and the bystander at every peer.
    pub async fn seed(&self, people: &[Person], bystander: &Person) {
        let all: Vec<&Person> = people.iter().chain(std::iter::once(bystander)).collect();
        self.directory.seed(&all).await;
        self.saas.seed(&all).await;
        self.cloud.seed(&all).await;
        self.vault.seed(&all).await;
        self.cicd.seed(&all).await;
        if let Some(idp) = &self.idp {
            idp.seed(&all).await;
        }
        if let Some(ad) = &self.ad {
            ad.seed(&all).await;
        }
    }

    /// The instance a case's target state names: the worker's own (`worker`), or for the
    /// directory with the identity provider in, its two instances.
    pub fn instance(&self, kind: TargetKind, worker: &str) -> String {
        match (kind, &self.idp) {
            // Named instances in the order of their names.
            (TargetKind::Directory, Some(_)) if self.ad.is_some() => format!("{AD}+{LDAP}+{SSO}"),
            (TargetKind::Directory, Some(_)) => format!("{LDAP}+{SSO}"),
            _ => worker.to_string(),
        }
    }

    /// Writes the five `[targets.<kind>]` tables, as an operator would.
    pub fn configure(&self, cfg: &mut Config) {
        for (kind, table) in [
            (TargetKind::Directory, self.directory.table()),
            (TargetKind::Saas, self.saas.table()),
            (TargetKind::Cloud, self.cloud.table()),
            (TargetKind::Vault, self.vault.table()),
            (TargetKind::Cicd, self.cicd.table()),
        ] {
            let parsed: toml::Table = table
                .parse()
                .unwrap_or_else(|e| panic!("[targets.{kind}] test table: {e}\n{table}"));
            cfg.targets.insert(kind.as_str().to_string(), parsed);
        }
        if let Some(idp) = &self.idp {
            // Two named instances: the LDAP table as `ldap`, Keycloak as `sso`.
            let ldap = cfg.targets.remove(TargetKind::Directory.as_str()).unwrap();
            let table = idp.table();
            let sso: toml::Table = table
                .parse()
                .unwrap_or_else(|e| panic!("[targets.directory.{SSO}] test table: {e}\n{table}"));
            let mut directory = toml::Table::new();
            directory.insert(LDAP.into(), toml::Value::Table(ldap));
            directory.insert(SSO.into(), toml::Value::Table(sso));
            if let Some(ad) = &self.ad {
                let table = ad.table();
                let parsed: toml::Table = table.parse().unwrap_or_else(|e| {
                    panic!("[targets.directory.{AD}] test table: {e}\n{table}")
                });
                directory.insert(AD.into(), toml::Value::Table(parsed));
            }
            cfg.targets
                .insert(TargetKind::Directory.as_str().to_string(), directory);
        }
    }

    /// Every object in the evidence is gone at the peer, and nothing the person held is missing.
    pub async fn check_evidence(&self, kind: TargetKind, p: &Person, objects: &[ObjectEvidence]) {
        match kind {
            TargetKind::Directory if self.idp.is_some() => {
                // Each object id names its instance; each instance's evidence checked as its own.
                let of = |instance: &str| -> Vec<ObjectEvidence> {
                    objects
                        .iter()
                        .filter_map(|o| {
                            let own = o.object_id.strip_prefix(&format!("{instance}:"))?;
                            Some(ObjectEvidence {
                                object_id: own.to_string(),
                                ..o.clone()
                            })
                        })
                        .collect()
                };
                let (ldap, sso, ad) = (of(LDAP), of(SSO), of(AD));
                assert_eq!(
                    ldap.len() + sso.len() + ad.len(),
                    objects.len(),
                    "{}: directory objects of no instance: {objects:?}",
                    p.username
                );
                self.directory.check(p, &ldap).await;
                self.idp.as_ref().unwrap().check(p, &sso).await;
                match &self.ad {
                    Some(dc) => dc.check(p, &ad).await,
                    None => assert!(ad.is_empty(), "{objects:?}"),
                }
            }
            TargetKind::Directory => self.directory.check(p, objects).await,
            TargetKind::Saas => self.saas.check(p, objects).await,
            TargetKind::Cloud => self.cloud.check(p, objects).await,
            TargetKind::Vault => self.vault.check(p, objects).await,
            TargetKind::Cicd => self.cicd.check(p, objects).await,
        }
    }

    /// The bystander keeps everything at every peer.
    pub async fn check_untouched(&self, p: &Person) {
        self.directory.check_untouched(p).await;
        self.saas.check_untouched(p).await;
        self.cloud.check_untouched(p).await;
        self.vault.check_untouched(p).await;
        self.cicd.check_untouched(p).await;
        if let Some(idp) = &self.idp {
            idp.check_untouched(p).await;
        }
        if let Some(ad) = &self.ad {
            ad.check_untouched(p).await;
        }
    }
}

/// The ids of the evidence objects of one kind, sorted.
pub fn ids_of(objects: &[ObjectEvidence], kind: &str) -> Vec<String> {
    let mut v: Vec<String> = objects
        .iter()
        .filter(|o| o.object_kind == kind)
        .map(|o| o.object_id.clone())
        .collect();
    v.sort();
    v
}

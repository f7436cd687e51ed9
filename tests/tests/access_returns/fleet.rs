//! What the peer tests share: people seeded at OpenLDAP, scim2-server and Keycloak, a fleet of
//! two real workers (directory = `ldap` + `sso`, saas) and the verifier that closes their cases,
//! and the hands-on changes an operator of another system makes at each peer.

use crate::peers::{directory::Directory, idp::Idp, saas::Scim, termination, Person};
use revoke::hr::Mode;
use revoke_shared::config::Config;
use revoke_shared::contract::{Case, CaseState, TargetKind};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::keycloak::Keycloak;
use revoke_tests::scim_http::ScimHttp;
use revoke_tests::slapd;
use revoke_tests::TestEnv;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

pub const KINDS: [TargetKind; 2] = [TargetKind::Directory, TargetKind::Saas];

pub struct Closed {
    pub cfg: Config,
    pub people: Vec<Person>,
    pub cases: Vec<Case>,
    /// Seeded beside the leavers, never terminated: their names start with leaver 0's.
    pub bystander: Person,
}

/// `n` leavers and a bystander seeded at the three peers; the fleet closes the leavers' cases
/// (and is stopped again). The config names the adapters as an operator would.
pub async fn closed_cases(env: &TestEnv, n: usize) -> Closed {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let directory = Directory::new(&run).await;
    let scim = Scim::new(&run);
    let idp = Idp::new();
    let people: Vec<Person> = (0..n).map(|i| Person::new(&run, i)).collect();
    let bystander = Person::bystander(&run);
    let all: Vec<&Person> = people.iter().chain([&bystander]).collect();
    directory.seed(&all).await;
    scim.seed(&all).await;
    idp.seed(&all).await;

    let mut cfg = env.cfg.clone();
    cfg.worker.instance = "ar".into();
    cfg.verifier.required_targets = KINDS.to_vec();
    let table = |text: String| -> toml::Table { text.parse().expect("test table") };
    let mut dir = toml::Table::new();
    dir.insert("ldap".into(), toml::Value::Table(table(directory.table())));
    dir.insert("sso".into(), toml::Value::Table(table(idp.table())));
    cfg.targets.insert("directory".into(), dir);
    cfg.targets.insert("saas".into(), table(scim.table()));

    let metrics = Metrics::new();
    let health = Health::new();
    let mut components = Vec::new();
    for kind in KINDS {
        let t = revoke::adapters::from_config(kind, &cfg)
            .await
            .unwrap_or_else(|e| panic!("[targets.{kind}]: {e}"));
        components.push(revoke::fleet::Process::Worker(t).spawn(
            &cfg,
            metrics.clone(),
            health.clone(),
        ));
    }
    components.push(revoke::fleet::Process::Verifier.spawn(&cfg, metrics.clone(), health.clone()));
    // The two workers' groups and the verifier's, each with partitions.
    let groups: Vec<String> = KINDS
        .iter()
        .map(|k| revoke::worker::group_for(&cfg, *k))
        .chain([revoke::verifier::group(&cfg)])
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !groups
        .iter()
        .all(|g| metrics.assigned_partitions.with_label_values(&[g]).get() > 0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "consumer groups never got partitions"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, p)| termination(&run, p, i))
        .collect();
    env.publish(&events, Mode::Structured).await;
    let ids = revoke_tests::case_ids(&events);
    let log = env
        .wait_cases(Duration::from_secs(180), |l| {
            ids.iter()
                .all(|id| l.latest.get(id).is_some_and(|c| c.state.is_final()))
        })
        .await;
    for c in components {
        c.stop().await.expect("graceful stop");
    }
    let cases: Vec<Case> = ids.iter().map(|id| log.latest[id].clone()).collect();
    for c in &cases {
        assert_eq!(c.state, CaseState::Closed, "{}", revoke::cases::render(c));
    }
    Closed {
        cfg,
        people,
        cases,
        bystander,
    }
}

/// The test environment named `name`, on the real broker (these tests prove nothing on another).
pub fn real_broker(name: &str) -> TestEnv {
    let env = TestEnv::new(name);
    assert_eq!(
        env.broker, "kafka",
        "this test proves the real broker: set REVOKE_TEST_KAFKA"
    );
    env
}

/// The ids of `case`'s objects of `object_kind` on `kind`, each on the instance its id names.
pub fn evidence_ids(case: &Case, kind: TargetKind, object_kind: &str) -> Vec<String> {
    case.targets[&kind]
        .objects
        .iter()
        .filter(|o| o.object_kind == object_kind && !o.sponsored)
        .map(|o| o.object_id.clone())
        .collect()
}

/// LDAP: an administrator removes the person's lock (`pwdAccountLockedTime`), with the test's
/// own client.
pub async fn unlock_ldap(dn: &str) {
    let mut ldap = slapd::admin().await;
    let none: HashSet<&str> = HashSet::new();
    ldap.modify(dn, vec![ldap3::Mod::Delete("pwdAccountLockedTime", none)])
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("unlocking {dn}: {e}"));
    let _ = ldap.unbind().await;
}

/// The test's own client of scim2-server.
pub fn scim() -> ScimHttp {
    ScimHttp::new(
        &std::env::var("REVOKE_TEST_SCIM_URL").unwrap(),
        std::env::var("REVOKE_TEST_SCIM_TOKEN").unwrap(),
    )
}

/// SCIM: another provisioning system sets the user active again.
pub async fn activate_scim(user_id: &str) {
    let scim = scim();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": true}],
    });
    let (s, v) = scim
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{user_id}"),
            Some(patch),
        )
        .await;
    assert!((200..300).contains(&s), "PATCH active: {s} {v}");
    assert_eq!(
        scim.get_ok(&format!("/Users/{user_id}")).await["active"],
        json!(true)
    );
}

/// Keycloak: an administrator enables the user again (admin REST API); returns the user's id.
pub async fn enable_keycloak(kc: &Keycloak, username: &str) -> String {
    let (s, found) = kc
        .admin_call(
            reqwest::Method::GET,
            &format!("/users?exact=true&username={username}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{found}");
    let id = found[0]["id"].as_str().expect("the user").to_string();
    kc.set_enabled(&id, true).await;
    id
}

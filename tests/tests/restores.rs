//! Restores are grants (issue 11, "Rescinds and restores"), on the real broker against the real
//! peers (OpenLDAP, scim2-server, moto, OpenBao, the GitLab double): every check of what a person
//! holds is a plain protocol call to the peer, never our adapter.
//!
//! - a rescind replayed byte for byte after the person was terminated again gives nothing back;
//! - a rescind of a termination that a later termination (a correction) stands behind gives
//!   nothing back, and says so (`restore_withheld`, case and escalation);
//! - hand-made restore requests on `revoke.restores` give nothing back: with signing required
//!   they are dead-lettered (`restore_not_ours`, or `unsigned` without the fleet's envelope);
//!   with signing off each adapter re-checks ownership at the peer and answers `refused`;
//! - a genuine, fleet-signed restore request copied after the person was terminated again gives
//!   nothing back: `restore_replayed` (from the worker's memory, then from the fleet's claims
//!   log after a restart), `restore_stale` past the window.
//!
//! The blast-radius guard is on in all of them (TestEnv's default): restores pass it too.

mod peers;

use base64::Engine;
use peers::{termination, Peers, Person};
use revoke_shared::config::Config;
use revoke_shared::contract::{
    case_id_for, CaseState, Confirmation, DeadLetter, Escalation, EscalationReason, HrData,
    HrEvent, HrEventKind, Identity, IdentityKind, ObjectEvidence, RestoreOutcome, RestoreReport,
    RestoreRequest, TargetKind, RESTORE_REQUEST_SCHEMA,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_shared::secret::Secret;
use revoke_tests::TestEnv;
use std::time::{Duration, Instant};

/// Bound of every wait for the fleet to act (cases closing, restores landing).
const WAIT: Duration = Duration::from_secs(60);
/// Bound of a wait for something the fix makes happen and the old code never did.
const SETTLE: Duration = Duration::from_secs(20);
const FLEET_SECRET: &str = "fleet-secret-of-the-restores-test-0001";
const HMAC_SECRET: &str = "hr-secret-of-the-restores-test-000001";
const SOURCE: &str = "urn:revoke:test-hr";

/// One test at a time in this binary: each starts its own GitLab double and hands its admin token
/// to the fleet through one process-wide env var (`peers::cicd::TOKEN_ENV`).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A rescind of `p`, issued now; `rescinds` names the termination's id, or nothing.
fn rescind(p: &Person, id: String, rescinds: Option<String>) -> HrEvent {
    HrEvent {
        id,
        source: SOURCE.into(),
        subject: p.employee_id.clone(),
        time: chrono::Utc::now(),
        kind: HrEventKind::Rescinded,
        data: HrData {
            identity: identity(p),
            effective_at: None,
            reason: Some("offer withdrawn".into()),
            requested_by: Some("hr:people-ops".into()),
            approved_by: None,
            rescinds,
        },
    }
}

fn identity(p: &Person) -> Identity {
    Identity {
        employee_id: p.employee_id.clone(),
        email: Some(p.email.clone()),
        username: Some(p.username.clone()),
        kind: IdentityKind::Employee,
    }
}

/// Publishes `ev` as structured JSON keyed by its subject; returns the exact bytes sent.
async fn publish_exact(env: &TestEnv, ev: &HrEvent) -> Vec<u8> {
    let bytes = serde_json::to_vec(&ev.to_structured_json()).expect("event JSON");
    env.publish_raw(Some(&ev.subject), &bytes, &[]).await;
    bytes
}

async fn wait_state(env: &TestEnv, case: uuid::Uuid, state: CaseState, what: &str) {
    let log = env
        .wait_cases(WAIT, |l| {
            l.latest.get(&case).is_some_and(|c| c.state == state)
        })
        .await;
    let got = log.latest.get(&case);
    assert_eq!(
        got.map(|c| c.state),
        Some(state),
        "{what}: {}",
        got.map(revoke::cases::render).unwrap_or_default()
    );
}

/// Polls `done` until true or `within` passed; fails with `what`.
async fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records of `topic` (JSON), raw values.
async fn records(env: &TestEnv, topic: &str) -> Vec<serde_json::Value> {
    env.read_json(topic).await
}

// --- plain protocol checks at the peers ------------------------------------------------------

/// `dn` binds with `pw` at slapd.
async fn ldap_binds(dn: &str, pw: &str) -> bool {
    let url = std::env::var("REVOKE_TEST_LDAP_URL").expect("REVOKE_TEST_LDAP_URL");
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("slapd");
    ldap3::drive!(conn);
    let ok = ldap.simple_bind(dn, pw).await.is_ok_and(|r| r.rc == 0);
    let _ = ldap.unbind().await;
    ok
}

/// The `member` values of the group `group` at slapd, lower-cased.
async fn ldap_members(group: &str) -> Vec<String> {
    let url = std::env::var("REVOKE_TEST_LDAP_URL").expect("REVOKE_TEST_LDAP_URL");
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("slapd");
    ldap3::drive!(conn);
    ldap.simple_bind(
        &std::env::var("REVOKE_TEST_LDAP_BIND_DN").unwrap(),
        &std::env::var("REVOKE_TEST_LDAP_BIND_PW").unwrap(),
    )
    .await
    .unwrap()
    .success()
    .expect("admin bind");
    let (rs, _) = ldap
        .search(group, ldap3::Scope::Base, "(objectClass=*)", vec!["member"])
        .await
        .unwrap()
        .success()
        .expect("read group");
    rs.into_iter()
        .flat_map(|e| {
            ldap3::SearchEntry::construct(e)
                .attrs
                .remove("member")
                .unwrap_or_default()
        })
        .map(|m| m.to_lowercase())
        .collect()
}

fn person_dn(p: &Person, evidence: &[ObjectEvidence]) -> String {
    evidence
        .iter()
        .find(|o| o.object_kind == "account" && !o.sponsored)
        .map(|o| o.object_id.clone())
        .unwrap_or_else(|| panic!("no LDAP account of {} in {evidence:?}", p.username))
}

/// GET a GitLab API path on the double with the admin token: (status, JSON body).
async fn gitlab_get(base: &str, path: &str) -> (u16, serde_json::Value) {
    let token = std::env::var(peers::cicd::TOKEN_ENV).expect("the double's admin token");
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v4/{path}"))
        .header("PRIVATE-TOKEN", token)
        .send()
        .await
        .expect("GitLab double reachable");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

fn iam_client() -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .endpoint_url(std::env::var("REVOKE_TEST_MOTO_URL").expect("REVOKE_TEST_MOTO_URL"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "restores",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

async fn iam_groups(c: &aws_sdk_iam::Client, user: &str) -> Vec<String> {
    c.list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .expect("ListGroupsForUser")
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect()
}

/// Every target still shows `p` revoked, as `evidence` (one closed case) recorded it.
async fn all_revoked(peers: &Peers, p: &Person, case: &revoke_shared::contract::Case) {
    for kind in TargetKind::ALL {
        peers
            .check_evidence(kind, p, &case.targets[&kind].objects)
            .await;
    }
}

async fn start(
    env: &TestEnv,
    run: &str,
    p: &Person,
) -> (Peers, Config, Metrics, Vec<revoke::fleet::Component>) {
    let peers = Peers::start(run).await;
    let bystander = Person::bystander(run);
    peers.seed(std::slice::from_ref(p), &bystander).await;
    let mut cfg = env.cfg.clone();
    cfg.verifier.deadline_secs = 600;
    peers.configure(&mut cfg);
    let metrics = Metrics::new();
    let components = peers::start_fleet(&cfg, &metrics, &Health::new()).await;
    (peers, cfg, metrics, components)
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn a_replayed_rescind_gives_nothing_back_after_a_new_termination() {
    let _serial = one_at_a_time();
    let env = TestEnv::new("restores-replay");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let p = Person::new(&run, 1);
        let (peers, cfg, metrics, components) = start(&env, &run, &p).await;

        let t1 = termination(&run, &p, 1);
        let c1 = case_id_for(&t1.source, &t1.id);
        env.publish(std::slice::from_ref(&t1), revoke::hr::Mode::Structured).await;
        wait_state(&env, c1, CaseState::Closed, "T1 closes").await;
        let log = env.case_log().await;
        // T1's evidence is the full list of what P held (T2 finds deleted credentials gone).
        let t1_case = log.latest[&c1].clone();
        let dn = person_dn(&p, &log.latest[&c1].targets[&TargetKind::Directory].objects);
        let pw = format!("pw-{}", p.employee_id);
        assert!(!ldap_binds(&dn, &pw).await, "{dn} still binds after T1");

        // R1 names nothing: it applies to T1, issued before it. Access comes back.
        let r1 = rescind(&p, format!("{run}-r1"), None);
        let r1_bytes = publish_exact(&env, &r1).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&c1)
                    .is_some_and(|c| c.state == CaseState::Rescinded && c.restored.len() == 5)
            })
            .await;
        assert_eq!(log.latest[&c1].state, CaseState::Rescinded, "R1 rescinds T1");
        assert!(ldap_binds(&dn, &pw).await, "{dn} binds again after R1");
        let gitlab_uid = log.latest[&c1].targets[&TargetKind::Cicd]
            .objects
            .iter()
            .find(|o| o.object_kind == "account")
            .map(|o| o.object_id.clone())
            .expect("GitLab account in T1's evidence");
        let (_, user) = gitlab_get(peers.cicd().double().url(), &gitlab_uid).await;
        assert_eq!(user["state"], "active", "GitLab {gitlab_uid} unblocked after R1");

        // T2: terminated again, later, under a new id.
        let mut t2 = termination(&run, &p, 2);
        t2.time = chrono::Utc::now();
        let c2 = case_id_for(&t2.source, &t2.id);
        env.publish(std::slice::from_ref(&t2), revoke::hr::Mode::Structured).await;
        wait_state(&env, c2, CaseState::Closed, "T2 closes").await;
        let log = env.case_log().await;
        assert!(log.latest[&c2].escalations.is_empty(), "{:?}", log.latest[&c2].escalations);
        all_revoked(&peers, &p, &t1_case).await;
        let restores_before = records(&env, &cfg.topics.restores).await.len();

        // R1 again, byte for byte: a replay. Nothing may come back.
        env.publish_raw(Some(&r1.subject), &r1_bytes, &[]).await;
        let replayed = metrics
            .verifier_notes
            .with_label_values(&["rescind_replayed"]);
        wait_until(SETTLE, "the verifier notes R1's replay (rescind_replayed)", || {
            replayed.get() >= 1
        })
        .await;
        // The verifier answered the replay; give any restore it might have asked for time to land.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let log = env.case_log().await;
        assert_eq!(
            log.latest[&c2].state,
            CaseState::Closed,
            "T2 stays closed: {}",
            revoke::cases::render(&log.latest[&c2])
        );
        assert!(log.latest[&c2].restored.is_empty(), "{:?}", log.latest[&c2].restored);
        assert_eq!(
            records(&env, &cfg.topics.restores).await.len(),
            restores_before,
            "no restore request after the replay"
        );
        all_revoked(&peers, &p, &t1_case).await;
        assert!(!ldap_binds(&dn, &pw).await, "{dn} binds after the replayed rescind");
        let (_, user) = gitlab_get(peers.cicd().double().url(), &gitlab_uid).await;
        assert_eq!(user["state"], "blocked", "GitLab {gitlab_uid} after the replay");
        println!(
            "restores-replay: replay noted {} time(s); restore requests on the topic: {restores_before}",
            replayed.get()
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn a_rescind_behind_a_correction_is_withheld_and_escalated() {
    let _serial = one_at_a_time();
    let env = TestEnv::new("restores-withheld");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let p = Person::new(&run, 1);
        let (peers, cfg, _metrics, components) = start(&env, &run, &p).await;

        let t1 = termination(&run, &p, 1);
        let c1 = case_id_for(&t1.source, &t1.id);
        env.publish(std::slice::from_ref(&t1), revoke::hr::Mode::Structured)
            .await;
        wait_state(&env, c1, CaseState::Closed, "T1 closes").await;
        let t1_case = env.case_log().await.latest[&c1].clone();
        // A correction: HR terminates the same person again under a new id.
        let mut t2 = termination(&run, &p, 2);
        t2.time = chrono::Utc::now();
        let c2 = case_id_for(&t2.source, &t2.id);
        env.publish(std::slice::from_ref(&t2), revoke::hr::Mode::Structured)
            .await;
        wait_state(&env, c2, CaseState::Closed, "T2 closes").await;

        // Then T1 is rescinded by name: T2 still stands, so nothing may come back.
        let r = rescind(&p, format!("{run}-r1"), Some(t1.id.clone()));
        publish_exact(&env, &r).await;
        let log = env
            .wait_cases(SETTLE, |l| {
                l.latest
                    .get(&c1)
                    .is_some_and(|c| c.restore_withheld.is_some())
            })
            .await;
        let case = &log.latest[&c1];
        assert!(
            case.restore_withheld.is_some(),
            "T1's case records restore_withheld: {}",
            revoke::cases::render(case)
        );
        assert!(case.restored.is_empty(), "{:?}", case.restored);
        let mut withheld = Vec::new();
        let deadline = Instant::now() + SETTLE;
        while withheld.is_empty() && Instant::now() < deadline {
            let all: Vec<Escalation> = env.read_json(&cfg.topics.escalations).await;
            withheld = all
                .into_iter()
                .filter(|e| {
                    e.identity_id == p.employee_id && e.reason == EscalationReason::RestoreWithheld
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            !withheld.is_empty(),
            "no restore_withheld escalation on {}",
            cfg.topics.escalations
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            records(&env, &cfg.topics.restores).await.is_empty(),
            "a restore request was published"
        );
        // At the peers: still revoked everywhere, as T1 left it.
        all_revoked(&peers, &p, &t1_case).await;
        println!(
            "restores-withheld: case {c1}: restore_withheld = {:?}; {} escalation(s)",
            case.restore_withheld,
            withheld.len()
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

/// Signing required: HR's HMAC key for `SOURCE` and the fleet secret, in files under the
/// returned folder (remove it after the test).
fn require_signing(env: &mut TestEnv) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("revoke-restores-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, content: &str| {
        let f = dir.join(name);
        std::fs::write(&f, content).unwrap();
        f.display().to_string()
    };
    env.cfg.signing.required = true;
    env.cfg.signing.fleet_secret_file = Some(file("fleet.secret", FLEET_SECRET));
    env.cfg.signing.keys = vec![revoke_shared::signing::KeyConfig {
        source: SOURCE.into(),
        key_id: Some("hr-2026".into()),
        algorithm: revoke_shared::signing::Algorithm::HmacSha256,
        public_key: None,
        secret_env: None,
        secret_file: Some(file("hmac.secret", HMAC_SECRET)),
        private_key_env: None,
        private_key_file: None,
    }];
    dir
}

/// Publishes `ev` on the terminations topic signed with HR's key.
async fn publish_signed(cfg: &Config, ev: &HrEvent) {
    let signer =
        revoke_shared::signing::EventSigner::hmac(Secret::new(HMAC_SECRET), Some("hr-2026".into()));
    let producer = revoke_shared::kafka::Producer::with_timeout(cfg, WAIT).expect("producer");
    revoke::hr::publish_signed(
        &producer,
        &cfg.topics.terminations,
        &[(ev.clone(), Some(signer.sign(ev)))],
        revoke::hr::Mode::Structured,
    )
    .await
    .expect("publish signed HR event");
}

/// Terminates `p` (HR event number `n`, dated now, signed) and waits for its case to close.
async fn close_signed(
    env: &TestEnv,
    cfg: &Config,
    run: &str,
    p: &Person,
    n: usize,
) -> (HrEvent, uuid::Uuid, revoke_shared::contract::Case) {
    let mut t = termination(run, p, n);
    t.time = chrono::Utc::now();
    let case = case_id_for(&t.source, &t.id);
    publish_signed(cfg, &t).await;
    wait_state(env, case, CaseState::Closed, &format!("signed T{n} closes")).await;
    let record = env.case_log().await.latest[&case].clone();
    (t, case, record)
}

/// A restore request for `p` on `target` naming `objects`, as the verifier would write it.
fn forged_request(
    p: &Person,
    case_id: uuid::Uuid,
    target: TargetKind,
    objects: Vec<ObjectEvidence>,
) -> RestoreRequest {
    RestoreRequest {
        schema: RESTORE_REQUEST_SCHEMA.into(),
        request_id: uuid::Uuid::new_v4(),
        case_id,
        identity_id: p.employee_id.clone(),
        identity: identity(p),
        target,
        rescinded_by: "hr:people-ops".into(),
        objects,
        requested_at: chrono::Utc::now(),
        confirmation: None,
        confirmation_signature: None,
    }
}

/// Dead letters of `group` whose original value is the restore request `id`.
fn letters_for(all: &[DeadLetter], group: &str, id: uuid::Uuid) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    all.iter()
        .filter(|l| l.rejected_by == group)
        .filter(|l| {
            l.payload_base64
                .as_deref()
                .and_then(|p| b64.decode(p).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v["request_id"] == id.to_string())
        })
        .map(|l| l.reason.clone())
        .collect()
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn forged_restore_requests_are_dead_lettered_with_signing_required() {
    let _serial = one_at_a_time();
    let mut env = TestEnv::new("restores-signed");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    let dir = require_signing(&mut env);
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let p = Person::new(&run, 1);
        let (peers, cfg, _metrics, components) = start(&env, &run, &p).await;

        let (_, c1, t1_case) = close_signed(&env, &cfg, &run, &p, 1).await;
        let objects = t1_case.targets[&TargetKind::Directory].objects.clone();
        // The directory worker's real report of T1 (its signature travels in a header only).
        let report: Confirmation = env
            .read_json::<Confirmation>(&cfg.topics.confirmations)
            .await
            .into_iter()
            .find(|c| c.identity_id == p.employee_id && c.target.kind == TargetKind::Directory)
            .expect("the directory worker's report of T1");

        // (1) no fleet envelope at all; (2) the fleet's envelope but no report of the
        // revocation; (3) the fleet's envelope and the real report under a made-up signature.
        let fleet = Secret::new(FLEET_SECRET);
        let bare = forged_request(&p, c1, TargetKind::Directory, objects.clone());
        let no_report = forged_request(&p, c1, TargetKind::Directory, objects.clone());
        let mut made_up = forged_request(&p, c1, TargetKind::Directory, objects.clone());
        made_up.confirmation = Some(report);
        made_up.confirmation_signature = Some(format!("hmac-sha256={}", "ab".repeat(32)));
        // (4) the worker's real signed report with its real signature, one object added (as if
        // the revocation had taken someone else's membership too): the signature no longer fits.
        let (mut grown, real_sig) = t1_case.targets[&TargetKind::Directory]
            .signed_report(&t1_case.identity_id, TargetKind::Directory)
            .expect("the case keeps the directory worker's signed report");
        let mut extra = objects[0].clone();
        extra.object_id = format!("{}-someone-else", extra.object_id);
        grown.objects.push(extra.clone());
        let mut padded = forged_request(
            &p,
            c1,
            TargetKind::Directory,
            [objects.clone(), vec![extra]].concat(),
        );
        padded.confirmation = Some(grown);
        padded.confirmation_signature = Some(real_sig);
        for (req, enveloped) in [
            (&bare, false),
            (&no_report, true),
            (&made_up, true),
            (&padded, true),
        ] {
            let bytes = serde_json::to_vec(req).unwrap();
            let sig = revoke_shared::signing::fleet_signature(
                &fleet,
                &cfg.topics.restores,
                p.employee_id.as_bytes(),
                &bytes,
                &[],
            );
            let headers: Vec<(&str, &str)> = if enveloped {
                vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, sig.as_str())]
            } else {
                Vec::new()
            };
            env.publish_raw_to(&cfg.topics.restores, Some(&p.employee_id), &bytes, &headers)
                .await;
        }
        let group = revoke::worker::group_for(&cfg, TargetKind::Directory);
        let deadline = Instant::now() + SETTLE;
        // (5) restore reports on the confirmations topic that no worker wrote: unsigned, and
        // signed with another secret. The verifier must not record either in the case.
        let fake = |instance: &str| RestoreReport {
            schema: revoke_shared::contract::RESTORE_REPORT_SCHEMA.into(),
            request_id: uuid::Uuid::new_v4(),
            case_id: c1,
            identity_id: p.employee_id.clone(),
            target: revoke_shared::contract::TargetRef {
                kind: TargetKind::Directory,
                instance: instance.into(),
            },
            objects: Vec::new(),
            worker: t1_case.targets[&TargetKind::Directory]
                .worker
                .as_deref()
                .cloned()
                .expect("the worker of T1"),
            started_at: chrono::Utc::now(),
            finished_at: chrono::Utc::now(),
        };
        let (unsigned_report, other_key_report) = (fake("forged"), fake("forged-too"));
        for (r, secret) in [
            (&unsigned_report, None),
            (&other_key_report, Some("not-the-fleet")),
        ] {
            let bytes = serde_json::to_vec(r).unwrap();
            let sig = secret.map(|s| {
                revoke_shared::signing::fleet_signature(
                    &Secret::new(s),
                    &cfg.topics.confirmations,
                    p.employee_id.as_bytes(),
                    &bytes,
                    &[],
                )
            });
            let headers: Vec<(&str, &str)> = sig
                .as_deref()
                .map(|s| vec![(revoke_shared::signing::FLEET_SIGNATURE_HEADER, s)])
                .unwrap_or_default();
            env.publish_raw_to(
                &cfg.topics.confirmations,
                Some(&p.employee_id),
                &bytes,
                &headers,
            )
            .await;
        }
        let verifier_group = revoke::verifier::group(&cfg);
        let (mut r_bare, mut r_none, mut r_made, mut r_padded) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut r_unsigned_report, mut r_other_key) = (Vec::new(), Vec::new());
        while Instant::now() < deadline {
            let all: Vec<DeadLetter> = env.read_json(&cfg.topics.dlq).await;
            r_bare = letters_for(&all, &group, bare.request_id);
            r_none = letters_for(&all, &group, no_report.request_id);
            r_made = letters_for(&all, &group, made_up.request_id);
            r_padded = letters_for(&all, &group, padded.request_id);
            r_unsigned_report = letters_for(&all, &verifier_group, unsigned_report.request_id);
            r_other_key = letters_for(&all, &verifier_group, other_key_report.request_id);
            if [
                &r_bare,
                &r_none,
                &r_made,
                &r_padded,
                &r_unsigned_report,
                &r_other_key,
            ]
            .iter()
            .all(|r| !r.is_empty())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(r_bare, vec!["unsigned".to_string()], "no envelope");
        assert_eq!(
            r_none,
            vec!["restore_not_ours".to_string()],
            "no signed report"
        );
        assert_eq!(
            r_made,
            vec!["restore_not_ours".to_string()],
            "made-up report signature"
        );
        assert_eq!(
            r_padded,
            vec!["restore_not_ours".to_string()],
            "a real signed report with an object added"
        );
        assert_eq!(r_unsigned_report, vec!["unsigned".to_string()]);
        assert_eq!(r_other_key, vec!["bad_signature".to_string()]);
        assert!(
            env.case_log().await.latest[&c1].restored.is_empty(),
            "a forged restore report was recorded"
        );
        // Nothing came back at slapd: still locked, out of its groups, cannot bind.
        tokio::time::sleep(Duration::from_secs(2)).await;
        peers
            .check_evidence(TargetKind::Directory, &p, &objects)
            .await;
        let dn = person_dn(&p, &objects);
        assert!(
            !ldap_binds(&dn, &format!("pw-{}", p.employee_id)).await,
            "{dn} binds"
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn forged_restore_requests_for_other_people_are_refused_at_the_peers_with_signing_off() {
    let _serial = one_at_a_time();
    let env = TestEnv::new("restores-refused");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let p = Person::new(&run, 1);
        let (peers, cfg, _metrics, components) = start(&env, &run, &p).await;
        assert!(!cfg.signing.required);

        let t1 = termination(&run, &p, 1);
        let c1 = case_id_for(&t1.source, &t1.id);
        env.publish(std::slice::from_ref(&t1), revoke::hr::Mode::Structured)
            .await;
        wait_state(&env, c1, CaseState::Closed, "T1 closes").await;
        let case = env.case_log().await.latest[&c1].clone();
        let evidence = |kind: TargetKind| case.targets[&kind].objects.clone();

        // Mallory holds nothing where P was: not in P's LDAP group, no IAM group, no GitLab group.
        let mallory = format!("mallory-{run}");
        let dir_obj = evidence(TargetKind::Directory)
            .into_iter()
            .find(|o| o.object_kind == "group_membership" && o.object_id.starts_with("member|"))
            .expect("P's LDAP member value in the evidence");
        let group_dn = dir_obj.object_id.split('|').nth(1).unwrap().to_string();
        let base = std::env::var("REVOKE_TEST_LDAP_BASE_DN").unwrap();
        let mallory_dn = format!("uid={mallory},ou=people,ou=e2e-{run},{base}");
        let mut ldap_forged = dir_obj.clone();
        ldap_forged.object_id = format!("member|{group_dn}|{mallory_dn}");

        let iam = iam_client();
        iam.create_user()
            .user_name(&mallory)
            .send()
            .await
            .expect("create mallory");
        let iam_obj = evidence(TargetKind::Cloud)
            .into_iter()
            .find(|o| o.object_kind == "group_membership")
            .expect("P's IAM group membership in the evidence");
        let iam_group = iam_obj.object_id.split('/').nth(1).unwrap().to_string();
        let mut iam_forged = iam_obj.clone();
        iam_forged.object_id = format!("group_membership/{iam_group}/{mallory}");

        let gitlab = peers.cicd().double();
        let mallory_id = gitlab.add_user(&mallory, &format!("{mallory}@example.org"));
        let gl_obj = evidence(TargetKind::Cicd)
            .into_iter()
            .find(|o| o.object_id.starts_with("groups/") && o.object_id.contains("/members/"))
            .expect("P's GitLab group membership in the evidence");
        let gid = gl_obj.object_id.split('/').nth(1).unwrap().to_string();
        let mut gl_forged = gl_obj.clone();
        gl_forged.object_id = format!("groups/{gid}/members/{mallory_id}@50");

        let requests = [
            forged_request(&p, c1, TargetKind::Directory, vec![ldap_forged]),
            forged_request(&p, c1, TargetKind::Cloud, vec![iam_forged]),
            forged_request(&p, c1, TargetKind::Cicd, vec![gl_forged]),
        ];
        for req in &requests {
            let bytes = serde_json::to_vec(req).unwrap();
            env.publish_raw_to(&cfg.topics.restores, Some(&p.employee_id), &bytes, &[])
                .await;
        }
        // Each worker answers with a restore report whose object is refused.
        let deadline = Instant::now() + SETTLE;
        let mut reports: Vec<RestoreReport> = Vec::new();
        while Instant::now() < deadline {
            reports = records(&env, &cfg.topics.confirmations)
                .await
                .into_iter()
                .filter(|v| {
                    requests
                        .iter()
                        .any(|r| v["request_id"] == r.request_id.to_string())
                })
                .map(|v| serde_json::from_value(v).expect("a restore report"))
                .collect();
            if reports.len() == requests.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            reports.len(),
            requests.len(),
            "restore reports: {reports:?}"
        );
        for r in &reports {
            assert_eq!(r.objects.len(), 1, "{r:?}");
            assert_eq!(
                r.objects[0].outcome,
                RestoreOutcome::Refused,
                "{}: {}",
                r.target.kind,
                r.objects[0].describe()
            );
            assert!(r.objects[0].restored_at.is_none());
        }

        // At the peers: mallory was added nowhere.
        let members = ldap_members(&group_dn).await;
        assert!(
            !members.contains(&mallory_dn.to_lowercase()),
            "{mallory_dn} added to {group_dn}: {members:?}"
        );
        assert!(
            iam_groups(&iam, &mallory).await.is_empty(),
            "{mallory} in an IAM group"
        );
        let (status, _) =
            gitlab_get(gitlab.url(), &format!("groups/{gid}/members/{mallory_id}")).await;
        assert_eq!(status, 404, "{mallory} is a member of GitLab group {gid}");
        // And P's own access stayed revoked.
        for kind in [TargetKind::Directory, TargetKind::Cloud, TargetKind::Cicd] {
            peers.check_evidence(kind, &p, &evidence(kind)).await;
        }

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
}

/// How long a restore request may wait for its worker in the copied-request test.
const COPY_WINDOW_SECS: u64 = 60;

#[test]
#[ignore = "needs the real broker and every peer: run the README's test command"]
fn a_copied_restore_request_gives_nothing_back_after_a_new_termination() {
    let _serial = one_at_a_time();
    let mut env = TestEnv::new("restores-copied");
    assert_eq!(env.broker, "kafka", "set REVOKE_TEST_KAFKA");
    let dir = require_signing(&mut env);
    env.cfg.worker.restore_max_age_secs = COPY_WINDOW_SECS;
    env.block_on(async {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let p = Person::new(&run, 1);
        let (peers, cfg, metrics, components) = start(&env, &run, &p).await;

        // T1 closes, R1 rescinds it by name: access comes back (the genuine restore).
        let (t1, c1, t1_case) = close_signed(&env, &cfg, &run, &p, 1).await;
        let dn = person_dn(&p, &t1_case.targets[&TargetKind::Directory].objects);
        let pw = format!("pw-{}", p.employee_id);
        publish_signed(&cfg, &rescind(&p, format!("{run}-r1"), Some(t1.id.clone()))).await;
        let log = env
            .wait_cases(WAIT, |l| {
                l.latest
                    .get(&c1)
                    .is_some_and(|c| c.state == CaseState::Rescinded && c.restored.len() == 5)
            })
            .await;
        let restored = log.latest[&c1].restored.clone();
        assert_eq!(
            restored.len(),
            5,
            "{}",
            revoke::cases::render(&log.latest[&c1])
        );
        assert!(ldap_binds(&dn, &pw).await, "{dn} binds again after R1");

        // The verifier's genuine request to the directory workers, exactly as written: value,
        // key, and the fleet signature header. Whoever can write the topic can copy it.
        let genuine = env
            .read_raw(&cfg.topics.restores)
            .await
            .into_iter()
            .find(|r| {
                r.payload
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<RestoreRequest>(b).ok())
                    .is_some_and(|q| q.case_id == c1 && q.target == TargetKind::Directory)
            })
            .expect("the verifier's restore request for the directory");
        let request: RestoreRequest =
            serde_json::from_slice(genuine.payload.as_deref().unwrap()).unwrap();
        assert!(
            genuine
                .headers
                .iter()
                .any(|(k, _)| k == revoke_shared::signing::FLEET_SIGNATURE_HEADER),
            "the genuine request is fleet-signed"
        );
        let copy = || async {
            let headers: Vec<(String, String)> = genuine
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
                .collect();
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let key = genuine
                .key
                .as_deref()
                .map(|k| std::str::from_utf8(k).unwrap());
            env.publish_raw_to(
                &cfg.topics.restores,
                key,
                genuine.payload.as_deref().unwrap(),
                &headers,
            )
            .await;
        };

        // T2: the same person terminated again; the directory locks them again.
        let (_, c2, _) = close_signed(&env, &cfg, &run, &p, 2).await;
        assert!(!ldap_binds(&dn, &pw).await, "{dn} binds after T2");

        let group = revoke::worker::group_for(&cfg, TargetKind::Directory);
        let letters = |want: usize| {
            let env = &env;
            let cfg = &cfg;
            let group = &group;
            async move {
                let deadline = Instant::now() + SETTLE;
                loop {
                    let all: Vec<DeadLetter> = env.read_json(&cfg.topics.dlq).await;
                    let got = letters_for(&all, group, request.request_id);
                    if got.len() >= want || Instant::now() > deadline {
                        return got;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let at_the_peer = |when: &'static str| {
            let (peers, p, t1_case, dn, pw, env) = (&peers, &p, &t1_case, &dn, &pw, &env);
            let restored = &restored;
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                assert!(!ldap_binds(dn, pw).await, "{dn} binds after {when}");
                all_revoked(peers, p, t1_case).await;
                let log = env.case_log().await;
                assert_eq!(log.latest[&c2].state, CaseState::Closed, "T2 after {when}");
                assert_eq!(&log.latest[&c1].restored, restored, "a report for {when}");
            }
        };

        // (1) A copy while the worker that carried out the genuine request still runs.
        copy().await;
        at_the_peer("a copy of the genuine restore request").await;
        assert_eq!(letters(1).await, vec!["restore_replayed".to_string()]);

        // (2) A fresh fleet (nothing in memory), at once: the fleet's claims log still knows.
        for c in components {
            c.stop().await.expect("graceful stop");
        }
        let components = peers::start_fleet(&cfg, &metrics, &Health::new()).await;
        assert!(
            chrono::Utc::now()
                < request.requested_at + chrono::Duration::seconds(COPY_WINDOW_SECS as i64),
            "the test took longer than the window before the restart's copy"
        );
        copy().await;
        at_the_peer("a copy after a restart, within the window").await;
        assert_eq!(letters(2).await, vec!["restore_replayed".to_string(); 2]);

        // (3) Again, once the request is older than the window.
        for c in components {
            c.stop().await.expect("graceful stop");
        }
        let stale_at =
            request.requested_at + chrono::Duration::seconds(COPY_WINDOW_SECS as i64 + 1);
        let wait = (stale_at - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let components = peers::start_fleet(&cfg, &metrics, &Health::new()).await;
        copy().await;
        at_the_peer("a late copy").await;
        let got = letters(3).await;
        assert_eq!(
            got,
            vec![
                "restore_replayed".to_string(),
                "restore_replayed".to_string(),
                "restore_stale".to_string()
            ],
            "past the window"
        );
        println!(
            "restores-copied: request {} copied three times: dead letters {got:?}; {dn} still locked",
            request.request_id
        );

        for c in components {
            c.stop().await.expect("graceful stop");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

//! The cloud (AWS IAM) adapter against a real moto server (`tests/services/moto.sh start`).
//!
//! Seeds through the IAM API directly with its own `aws-sdk-iam` client (never through the
//! adapter), revokes a person, asserts by asking moto, runs again (idempotency), restores from the
//! first run's evidence, and checks that hostile identities revoke nothing. Every name carries a
//! per-run suffix, so runs share one server without resets.
//!
//! Env: `REVOKE_TEST_MOTO_URL` (e.g. http://127.0.0.1:15000). moto accepts any credentials; the
//! tests pass dummy ones to the adapter through the env vars its config names.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::{StatusType, Tag};
use aws_sdk_iam::Client;
use revoke::adapters::iam::IamTarget;
use revoke::adapters::{Target, TargetError};
use revoke::restoration::{restore_identity, RestoreOutcome};
use revoke::revocation::{revoke_identity, RevocationReport};
use revoke_shared::contract::{Identity, IdentityKind, ObjectOutcome, Outcome};
use revoke_shared::metrics::Metrics;
use revoke_tests::quick_retries as policy;
use std::time::Instant;

const KEY_ENV: &str = "REVOKE_TEST_AWS_ACCESS_KEY_ID";
const SECRET_ENV: &str = "REVOKE_TEST_AWS_SECRET_ACCESS_KEY";
const DUMMY_SECRET: &str = "dummy-secret-for-moto";

/// A fixed self-signed test certificate (CN=revoke-test, valid until 2126): IAM (and moto)
/// refuse a signing certificate that is not a parseable X.509 PEM.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIDDzCCAfegAwIBAgIUAyZHa5Y50YiY6WZrpZ8ZfgbvOqswDQYJKoZIhvcNAQEL
BQAwFjEUMBIGA1UEAwwLcmV2b2tlLXRlc3QwIBcNMjYxMTI1MTg0NzIzWhgPMjEy
NjExMDExODQ3MjNaMBYxFDASBgNVBAMMC3Jldm9rZS10ZXN0MIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyXMTv84av8R0Bl6YDNXqzMQziVvbczkU5tyZ
mWz1U+sMfZ8hHLaucjf3VCfL2VpB6nXqkT0dudZ5xcp3a9lF8uib/CZJz6fP+dIB
lxcfEbo3Izm3iI7YiaCizNSDma0Uyu9Twte+LkxwjVmyrD39ltDSWQZQ7uPqPzka
fCMmJLf1Qojk52AdI5F7EF+WFa3MCNIZiRfK7t3bHEwvSoWNa0HKLaV8QRPjfJXq
ZmZO90CL9XHpUn3d1uNtRMze5SVBg87mPK1wV1OmIlrOlIApJFMZUpl+DbKI+tFU
zX5EkTWBMOa65c1Na240jnX1bmmIRM14j/GmdPbxW7Kqqe5etQIDAQABo1MwUTAd
BgNVHQ4EFgQUEfbGPgEYvJHnn2+i7SkCmLMcJDAwHwYDVR0jBBgwFoAUEfbGPgEY
vJHnn2+i7SkCmLMcJDAwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOC
AQEAkoD70QM+TB5GbBqO/9GzBJec7enWgsR07OxnlQ4fRe5JYzjufnlD25fbpdLV
0jjeVhaq9f8Vk8WDtql18yGUmU7e6W2cjNYCnfKHyIe5pXHk+8/T6XxXBb/B//UJ
epizMCL/+UCR2RUW16e8F6ji8umfi4xsL8hF+ChJt+DSTVLCjbdSI2hq2qRzcQuU
D6tVjwULoiYnhTnrNnCHYdjOAOpfcr6RJ1HUIXxZ8pBO1WU/3XYvhycXZsgx6rCX
OEcP1UXelN9mLtYQoWUlR7WfhdDJRwALuIBCbr30Td4yPbWp3CQdXTM1vfs6HgKM
gJHrBpQe2eVGZZV/dmDV6hvPEw==
-----END CERTIFICATE-----
";

/// A fixed RSA public key (public material only).
const TEST_SSH_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDNCMV5yFXzjukhPjvX8jYaB+4jWJDCRH0J0pWIWpJ0jRWKr1rk4++8SudiCVz1BtKeF8x3CFQVAjnRto4b867ItrVyjRLaoHDFfa0QgJ1QXA+zC7Qujo7DYc/amERyWOLFeIvMlSwj7CNButP+CV5hj0rasVDSaBu3/Kit0Li9B1gFl1A7JrMuIDHnznqeoswr9DobCKw9cZhJL3Aps+A682qBRvwJwcfI+YuxaUnPcS+11IVCce8O4OqEJ4BClFLNy4KYPqvz4kXww0iQPycme/1T+A+vIGcHBERJUgC4y20OTPnAwsr8RVEQof+urLsTsM/yCBaB5SGqafirzK01 revoke-test";

/// The test's own view of moto: seeds and asserts, independent of the adapter.
struct Moto {
    url: String,
    iam: Client,
}

impl Moto {
    async fn from_env() -> Moto {
        let url = std::env::var("REVOKE_TEST_MOTO_URL")
            .expect("REVOKE_TEST_MOTO_URL (run tests/services/moto.sh start)");
        std::env::set_var(KEY_ENV, "testing");
        std::env::set_var(SECRET_ENV, DUMMY_SECRET);
        let conf = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .endpoint_url(&url)
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        Moto {
            url: url.trim_end_matches('/').to_string(),
            iam: Client::from_conf(conf),
        }
    }

    async fn user(&self, name: &str, tags: &[(&str, &str)]) {
        let mut req = self.iam.create_user().user_name(name);
        for (k, v) in tags {
            req = req.tags(Tag::builder().key(*k).value(*v).build().unwrap());
        }
        req.send().await.expect("create user");
    }

    /// A new access key: (id, secret). The secret is only kept to prove it never leaks.
    async fn key(&self, user: &str) -> (String, String) {
        let k = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .expect("create access key");
        let k = k.access_key().unwrap();
        (
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        )
    }

    async fn login_profile(&self, user: &str) {
        self.iam
            .create_login_profile()
            .user_name(user)
            .password("Sup3r-secret-pw!")
            .send()
            .await
            .expect("create login profile");
    }

    async fn group(&self, group: &str, members: &[&str]) {
        self.iam
            .create_group()
            .group_name(group)
            .send()
            .await
            .expect("create group");
        for m in members {
            self.iam
                .add_user_to_group()
                .group_name(group)
                .user_name(*m)
                .send()
                .await
                .expect("add user to group");
        }
    }

    /// A virtual MFA device enabled for `user` (moto accepts any codes): its serial number.
    async fn mfa(&self, user: &str) -> String {
        let d = self
            .iam
            .create_virtual_mfa_device()
            .virtual_mfa_device_name(format!("{user}-phone"))
            .send()
            .await
            .expect("create virtual MFA device");
        let serial = d.virtual_mfa_device().unwrap().serial_number().to_string();
        self.iam
            .enable_mfa_device()
            .user_name(user)
            .serial_number(&serial)
            .authentication_code1("123456")
            .authentication_code2("654321")
            .send()
            .await
            .expect("enable MFA device");
        serial
    }

    async fn ssh_key(&self, user: &str) -> String {
        self.iam
            .upload_ssh_public_key()
            .user_name(user)
            .ssh_public_key_body(TEST_SSH_KEY)
            .send()
            .await
            .expect("upload SSH public key")
            .ssh_public_key()
            .unwrap()
            .ssh_public_key_id()
            .to_string()
    }

    async fn cert(&self, user: &str) -> String {
        self.iam
            .upload_signing_certificate()
            .user_name(user)
            .certificate_body(TEST_CERT)
            .send()
            .await
            .expect("upload signing certificate")
            .certificate()
            .unwrap()
            .certificate_id()
            .to_string()
    }

    /// key id -> status, as moto has it.
    async fn keys(&self, user: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .expect("list access keys")
            .access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap().to_string(),
                    k.status().unwrap().as_str().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }

    async fn has_login_profile(&self, user: &str) -> bool {
        match self.iam.get_login_profile().user_name(user).send().await {
            Ok(_) => true,
            Err(e) => {
                let e = e.into_service_error();
                assert!(e.is_no_such_entity_exception(), "{e:?}");
                false
            }
        }
    }

    async fn groups(&self, user: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .iam
            .list_groups_for_user()
            .user_name(user)
            .send()
            .await
            .expect("list groups for user")
            .groups()
            .iter()
            .map(|g| g.group_name().to_string())
            .collect();
        v.sort();
        v
    }

    async fn mfa_serials(&self, user: &str) -> Vec<String> {
        self.iam
            .list_mfa_devices()
            .user_name(user)
            .send()
            .await
            .expect("list MFA devices")
            .mfa_devices()
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect()
    }

    async fn ssh_keys(&self, user: &str) -> Vec<(String, String)> {
        self.iam
            .list_ssh_public_keys()
            .user_name(user)
            .send()
            .await
            .expect("list SSH public keys")
            .ssh_public_keys()
            .iter()
            .map(|k| {
                (
                    k.ssh_public_key_id().to_string(),
                    k.status().as_str().to_string(),
                )
            })
            .collect()
    }

    async fn certs(&self, user: &str) -> Vec<(String, String)> {
        self.iam
            .list_signing_certificates()
            .user_name(user)
            .send()
            .await
            .expect("list signing certificates")
            .certificates()
            .iter()
            .map(|c| {
                (
                    c.certificate_id().to_string(),
                    c.status().as_str().to_string(),
                )
            })
            .collect()
    }

    /// Everything a bystander holds, to compare before and after.
    async fn footprint(&self, user: &str) -> String {
        format!(
            "keys={:?} profile={} groups={:?} mfa={:?} ssh={:?} certs={:?}",
            self.keys(user).await,
            self.has_login_profile(user).await,
            self.groups(user).await,
            self.mfa_serials(user).await,
            self.ssh_keys(user).await,
            self.certs(user).await
        )
    }

    async fn retag(&self, user: &str, key: &str, value: &str) {
        self.iam
            .tag_user()
            .user_name(user)
            .tags(Tag::builder().key(key).value(value).build().unwrap())
            .send()
            .await
            .expect("tag user");
    }
}

/// The adapter from a complete config file's `[targets.cloud]` table (through `Config::load`,
/// as the binary reads it).
async fn iam_target(table_body: &str, instance: &str) -> Result<IamTarget, String> {
    let path =
        std::env::temp_dir().join(format!("revoke-iam-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, format!("[targets.cloud]\n{table_body}\n")).unwrap();
    let cfg = revoke_shared::Config::load(Some(&path), std::iter::empty()).expect("config loads");
    let _ = std::fs::remove_file(&path);
    IamTarget::from_table(&cfg.targets["cloud"], instance).await
}

fn base_table(url: &str) -> String {
    format!("endpoint_url = \"{url}\"\nregion = \"us-east-1\"\naccess_key_id_env = \"{KEY_ENV}\"\nsecret_access_key_env = \"{SECRET_ENV}\"")
}

fn person(employee_id: &str, username: Option<&str>) -> Identity {
    Identity {
        employee_id: employee_id.into(),
        email: None,
        username: username.map(str::to_string),
        kind: IdentityKind::Employee,
    }
}

fn ids(r: &RevocationReport, kind: &str, sponsored: bool) -> Vec<String> {
    let mut v: Vec<String> = r
        .objects
        .iter()
        .filter(|o| o.object_kind == kind && o.sponsored == sponsored)
        .map(|o| o.object_id.clone())
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Runs the hostile identities and asserts they revoked nothing and raised nothing.
async fn hostile_identities_revoke_nothing(target: &IamTarget, run: &str, real: &str) {
    let names = [
        "*".to_string(),
        "a*".to_string(),
        "x)(uid=*".to_string(),
        "\"".to_string(),
        "../".to_string(),
        format!("../{real}"),
        format!("{real}*"),
        format!("{}*", &real[..3]),
        format!("*{}", &real[1..]),
        format!("{real} "),
    ];
    for (i, name) in names.iter().enumerate() {
        let hostile = person(&format!("E-hostile-{i}-{run}"), Some(name));
        let r = revoke_identity(target, &hostile, "w1", &policy(), &Metrics::new()).await;
        assert!(
            r.objects.is_empty(),
            "identity {name:?} held something: {:#?}",
            r.objects
        );
        assert_eq!(r.outcome, Outcome::AlreadyAbsent, "identity {name:?}");
        assert!(r.error.is_none(), "identity {name:?}: {:?}", r.error);
    }
    // The employee id is the fallback name, and is held to the same rules.
    let r = revoke_identity(
        target,
        &person(&format!("../{real}"), None),
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    assert!(r.objects.is_empty(), "{:#?}", r.objects);
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_revokes_a_person_and_what_they_sponsor() {
    let moto = Moto::from_env().await;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let ada = format!("ada-{run}");
    let ada2 = format!("ada-{run}x"); // shares ada's name as a prefix
    let bob = format!("bob-{run}");
    let ada_bot = format!("ada-bot-{run}"); // sponsored by ada, by username
    let ada_ci = format!("ci-{run}"); // sponsored by ada, by employee id
    let bob_bot = format!("bob-bot-{run}"); // sponsored by bob
    let (g1, g2) = (format!("eng-{run}"), format!("ops-{run}"));
    let ada_eid = format!("E-{run}");

    // --- seed, as an operator would, through the IAM API -----------------------------------
    moto.user(&ada, &[("employee_id", &ada_eid)]).await;
    for u in [&ada2, &bob] {
        moto.user(u, &[]).await;
    }
    moto.user(&ada_bot, &[("owner", &ada)]).await;
    moto.user(&ada_ci, &[("owner", &ada_eid), ("team", "ci")])
        .await;
    moto.user(&bob_bot, &[("owner", &bob)]).await;
    let (ak1, ask1) = moto.key(&ada).await;
    let (ak2, ask2) = moto.key(&ada).await;
    let (bot_key, bot_secret) = moto.key(&ada_bot).await;
    let (ci_key, _) = moto.key(&ada_ci).await;
    for u in [&ada2, &bob, &bob_bot] {
        moto.key(u).await;
    }
    for u in [&ada, &ada2, &bob] {
        moto.login_profile(u).await;
    }
    moto.group(&g1, &[&ada, &ada2, &bob]).await;
    moto.group(&g2, &[&ada]).await;
    let serial = moto.mfa(&ada).await;
    moto.mfa(&bob).await;
    let ssh = moto.ssh_key(&ada).await;
    moto.ssh_key(&bob).await;
    let cert = moto.cert(&ada).await;
    moto.cert(&bob).await;
    let mut bystanders = Vec::new();
    for u in [&ada2, &bob, &bob_bot] {
        bystanders.push(moto.footprint(u).await);
    }

    // --- the adapter, configured as in docs/configuration.md (defaults: keys deactivated, SSH keys and
    //     certificates deleted, sponsored users found by the `owner` tag) --------------------
    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let principal = target.principal().to_string();
    assert!(principal.starts_with("arn:aws:iam::"), "{principal}");
    assert!(!principal.contains(DUMMY_SECRET));

    let who = Identity {
        email: Some(format!("ada-{run}@example.com")),
        ..person(&ada_eid, Some(&ada))
    };
    let started = Instant::now();
    let first = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    let took = started.elapsed();
    // A sponsored user needs a new owner: a person must act, so the target is manual_required.
    assert_eq!(
        first.outcome,
        Outcome::ManualRequired,
        "{:?}\n{:#?}",
        first.error,
        first.objects
    );
    assert_eq!(
        ids(&first, "access_key", false),
        sorted(vec![
            format!("access_key/{ada}/{ak1}"),
            format!("access_key/{ada}/{ak2}")
        ])
    );
    assert_eq!(
        ids(&first, "login_profile", false),
        vec![format!("login_profile/{ada}")]
    );
    assert_eq!(
        ids(&first, "group_membership", false),
        sorted(vec![
            format!("group_membership/{g1}/{ada}"),
            format!("group_membership/{g2}/{ada}")
        ])
    );
    assert_eq!(
        ids(&first, "mfa_device", false),
        vec![format!("mfa/{ada}/{serial}")]
    );
    assert_eq!(
        ids(&first, "ssh_key", false),
        vec![format!("ssh_key/{ada}/{ssh}")]
    );
    assert_eq!(
        ids(&first, "signing_cert", false),
        vec![format!("signing_cert/{ada}/{cert}")]
    );
    assert_eq!(
        ids(&first, "access_key", true),
        sorted(vec![
            format!("access_key/{ada_bot}/{bot_key}"),
            format!("access_key/{ada_ci}/{ci_key}")
        ])
    );
    assert_eq!(
        ids(&first, "sponsored_user_ownership", true),
        sorted(vec![
            format!("sponsored_user/{ada_bot}"),
            format!("sponsored_user/{ada_ci}")
        ])
    );
    assert_eq!(
        ids(&first, "issued_sessions", false),
        vec![format!("issued_sessions/{ada}")]
    );
    assert_eq!(first.objects.len(), 13, "{:#?}", first.objects);
    for o in &first.objects {
        assert_eq!(o.actor.principal, principal);
        if o.object_kind == "sponsored_user_ownership" {
            assert_eq!(o.outcome, ObjectOutcome::ManualRequired, "{o:?}");
            assert_eq!(o.action, "transfer_ownership");
            let e = o.error.as_deref().unwrap_or_default();
            assert!(e.contains("needs a new owner"), "{e}");
        } else {
            assert_eq!(o.outcome, ObjectOutcome::Revoked, "{o:?}");
            assert!(o.verified && o.removed_at.is_some(), "{o:?}");
        }
    }
    // The sponsored keys are deactivated before the ownership escalation.
    let pos = |kind: &str| {
        first
            .objects
            .iter()
            .rposition(|o| o.object_kind == kind && o.sponsored)
            .unwrap()
    };
    let first_transfer = first
        .objects
        .iter()
        .position(|o| o.object_kind == "sponsored_user_ownership")
        .unwrap();
    assert!(pos("access_key") < first_transfer);
    let action_of = |id: &str| {
        first
            .objects
            .iter()
            .find(|o| o.object_id == id)
            .map(|o| o.action.clone())
            .unwrap()
    };
    assert_eq!(action_of(&format!("access_key/{ada}/{ak1}")), "deactivate");
    assert_eq!(action_of(&format!("ssh_key/{ada}/{ssh}")), "delete");
    // Evidence names key ids, never secrets.
    let evidence = format!("{:?} {:?}", first.objects, first.error);
    for secret in [&ask1, &ask2, &bot_secret, &DUMMY_SECRET.to_string()] {
        assert!(
            !evidence.contains(secret.as_str()),
            "a secret leaked into evidence"
        );
    }
    eprintln!(
        "iam (authorization_details scan): first run over {} objects took {:?} ({} calls incl. discovery)",
        first.objects.len(),
        took,
        first.attempts
    );

    // --- what moto itself says ---------------------------------------------------------------
    let ada_keys = moto.keys(&ada).await;
    assert_eq!(ada_keys.len(), 2, "deactivated, not deleted: {ada_keys:?}");
    assert!(
        ada_keys.iter().all(|(_, s)| s == "Inactive"),
        "{ada_keys:?}"
    );
    assert!(!moto.has_login_profile(&ada).await, "ada can still sign in");
    assert!(moto.groups(&ada).await.is_empty(), "ada still in groups");
    assert!(
        moto.mfa_serials(&ada).await.is_empty(),
        "ada's MFA still on"
    );
    assert!(
        moto.ssh_keys(&ada).await.is_empty(),
        "ada's SSH key still there"
    );
    assert!(
        moto.certs(&ada).await.is_empty(),
        "ada's certificate still there"
    );
    assert_eq!(
        moto.keys(&ada_bot).await,
        vec![(bot_key.clone(), "Inactive".to_string())]
    );
    assert_eq!(
        moto.keys(&ada_ci).await,
        vec![(ci_key.clone(), "Inactive".to_string())]
    );
    for (u, before) in [&ada2, &bob, &bob_bot].into_iter().zip(&bystanders) {
        assert_eq!(&moto.footprint(u).await, before, "{u} was touched");
    }

    // --- again: nothing new to do, same end state; the ownership transfer still waits ---------
    let second = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        second.outcome,
        Outcome::ManualRequired,
        "{:?}\n{:#?}",
        second.error,
        second.objects
    );
    for o in &second.objects {
        if o.object_kind == "sponsored_user_ownership" {
            assert_eq!(o.outcome, ObjectOutcome::ManualRequired, "{o:?}");
        } else {
            assert!(
                o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none" && o.verified,
                "{o:?}"
            );
        }
    }
    // Deleted things are no longer listed; deactivated keys are (as already absent).
    assert_eq!(
        ids(&second, "access_key", false),
        ids(&first, "access_key", false)
    );
    assert!(ids(&second, "login_profile", false).is_empty());
    assert!(ids(&second, "group_membership", false).is_empty());
    assert!(moto.keys(&ada).await.iter().all(|(_, s)| s == "Inactive"));

    // A person takes the sponsored users over: the escalation resolves.
    moto.retag(&ada_bot, "owner", &bob).await;
    moto.retag(&ada_ci, "owner", &format!("carol-{run}")).await;
    let third = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        third.outcome,
        Outcome::AlreadyAbsent,
        "{:?}\n{:#?}",
        third.error,
        third.objects
    );
    assert!(ids(&third, "sponsored_user_ownership", true).is_empty());

    // --- restore (a rescind) from the first run's evidence -----------------------------------
    let restored = restore_identity(
        &target,
        &who,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    let outcome_of = |kind: &str, sponsored: bool| -> Vec<RestoreOutcome> {
        restored
            .iter()
            .filter(|r| r.object_kind == kind && r.sponsored == sponsored)
            .map(|r| r.outcome)
            .collect()
    };
    assert_eq!(
        outcome_of("access_key", false),
        vec![RestoreOutcome::Restored; 2],
        "{restored:#?}"
    );
    // The sponsored users were taken over by others meanwhile (re-tagged above): their keys are
    // no longer the leaver's to get back, whoever holds them now decides.
    assert_eq!(
        outcome_of("access_key", true),
        vec![RestoreOutcome::Refused; 2],
        "{restored:#?}"
    );
    assert_eq!(
        outcome_of("issued_sessions", false),
        vec![RestoreOutcome::Restored]
    );
    assert_eq!(
        outcome_of("group_membership", false),
        vec![RestoreOutcome::Restored; 2]
    );
    for kind in ["login_profile", "mfa_device", "ssh_key", "signing_cert"] {
        assert_eq!(
            outcome_of(kind, false),
            vec![RestoreOutcome::Irreversible],
            "{kind}: {restored:#?}"
        );
    }
    assert!(
        outcome_of("sponsored_user_ownership", true).is_empty(),
        "a manual step is not restored"
    );
    assert!(restored
        .iter()
        .filter(|r| r.outcome == RestoreOutcome::Irreversible)
        .all(|r| !r.detail.is_empty()));
    assert!(moto.keys(&ada).await.iter().all(|(_, s)| s == "Active"));
    assert_eq!(
        moto.groups(&ada).await,
        sorted(vec![g1.clone(), g2.clone()])
    );
    assert_eq!(
        moto.keys(&ada_bot).await,
        vec![(bot_key.clone(), "Inactive".to_string())],
        "bob's bot now: not re-activated for ada"
    );
    assert!(!moto.has_login_profile(&ada).await);
    assert!(moto.mfa_serials(&ada).await.is_empty());
    let again = restore_identity(
        &target,
        &who,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    for r in &again {
        let expected = match r.object_kind.as_str() {
            "access_key" if r.sponsored => RestoreOutcome::Refused,
            "access_key" | "group_membership" | "issued_sessions" => RestoreOutcome::AlreadyPresent,
            _ => RestoreOutcome::Irreversible,
        };
        assert_eq!(r.outcome, expected, "{r:?}");
    }

    // --- identities that must not reach anyone ------------------------------------------------
    let before_hostile = moto.footprint(&ada).await;
    hostile_identities_revoke_nothing(&target, &run, &bob).await;
    hostile_identities_revoke_nothing(&target, &run, &ada).await;
    assert_eq!(moto.footprint(&ada).await, before_hostile);
    for (u, before) in [&ada2, &bob, &bob_bot].into_iter().zip(&bystanders) {
        assert_eq!(&moto.footprint(u).await, before, "{u} was touched");
    }
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_by_tag_with_delete_policy_and_ambiguity() {
    let moto = Moto::from_env().await;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let eid = format!("E-{run}");
    // The IAM user name differs from the HR username: found by its employee_id tag.
    let user = format!("cy.{run}");
    let other = format!("dee.{run}");
    let g = format!("dev-{run}");
    moto.user(&user, &[("employee_id", &eid)]).await;
    moto.user(&other, &[("employee_id", &format!("{eid}0"))])
        .await;
    let (k1, _) = moto.key(&user).await;
    let (k2, _) = moto.key(&user).await;
    // One key already inactive: deleted all the same (the policy is delete).
    moto.iam
        .update_access_key()
        .user_name(&user)
        .access_key_id(&k2)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    moto.key(&other).await;
    moto.group(&g, &[&user, &other]).await;
    let ssh = moto.ssh_key(&user).await;
    let cert = moto.cert(&user).await;
    let other_before = moto.footprint(&other).await;

    let target = iam_target(
        &format!(
            "{}\nmatch = \"tag\"\ntag_key = \"employee_id\"\naccess_keys = \"delete\"\nssh_keys = \"deactivate\"\nsigning_certs = \"deactivate\"\nuser_scan = \"list_user_tags\"\nprincipal = \"revoke-test\"\ntimeout_ms = 5000",
            base_table(&moto.url)
        ),
        "tagged",
    )
    .await
    .expect("iam config");
    assert_eq!(target.principal(), "revoke-test");
    let who = person(&eid, Some("cy"));
    let started = Instant::now();
    let first = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    eprintln!(
        "iam (tag match, list_user_tags scan): first run over {} objects took {:?}",
        first.objects.len(),
        started.elapsed()
    );
    assert_eq!(
        first.outcome,
        Outcome::Revoked,
        "{:?}\n{:#?}",
        first.error,
        first.objects
    );
    assert_eq!(
        ids(&first, "access_key", false),
        sorted(vec![
            format!("access_key/{user}/{k1}"),
            format!("access_key/{user}/{k2}")
        ])
    );
    assert!(first
        .objects
        .iter()
        .filter(|o| o.object_kind == "access_key")
        .all(|o| o.action == "delete" && o.outcome == ObjectOutcome::Revoked));
    assert!(moto.keys(&user).await.is_empty(), "keys not deleted");
    assert!(moto.groups(&user).await.is_empty());
    assert_eq!(
        moto.ssh_keys(&user).await,
        vec![(ssh.clone(), "Inactive".to_string())]
    );
    assert_eq!(
        moto.certs(&user).await,
        vec![(cert.clone(), "Inactive".to_string())]
    );
    assert_eq!(
        moto.footprint(&other).await,
        other_before,
        "{other} was touched"
    );

    let second = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        second.outcome,
        Outcome::AlreadyAbsent,
        "{:#?}",
        second.objects
    );
    assert!(second
        .objects
        .iter()
        .all(|o| o.outcome == ObjectOutcome::AlreadyAbsent && o.action == "none"));
    assert_eq!(
        second.objects.len(),
        3,
        "the inactive SSH key and certificate, and the deny on older sessions"
    );

    let restored = restore_identity(
        &target,
        &who,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    let by_kind = |kind: &str| -> Vec<RestoreOutcome> {
        restored
            .iter()
            .filter(|r| r.object_kind == kind)
            .map(|r| r.outcome)
            .collect()
    };
    assert_eq!(by_kind("access_key"), vec![RestoreOutcome::Irreversible; 2]);
    assert_eq!(by_kind("group_membership"), vec![RestoreOutcome::Restored]);
    assert_eq!(by_kind("ssh_key"), vec![RestoreOutcome::Restored]);
    assert_eq!(by_kind("signing_cert"), vec![RestoreOutcome::Restored]);
    assert_eq!(
        moto.ssh_keys(&user).await,
        vec![(ssh.clone(), "Active".to_string())]
    );
    assert_eq!(
        moto.certs(&user).await,
        vec![(cert.clone(), "Active".to_string())]
    );
    assert_eq!(moto.groups(&user).await, vec![g.clone()]);

    // Two users carry the same employee id: a person decides, nothing is touched.
    let dup = format!("cy2.{run}");
    moto.user(&dup, &[("employee_id", &eid)]).await;
    moto.key(&dup).await;
    let before = (moto.footprint(&user).await, moto.footprint(&dup).await);
    let r = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::ManualRequired, "{:#?}", r.objects);
    assert!(r.objects.is_empty());
    let e = r.error.unwrap_or_default();
    assert!(e.contains(&user) && e.contains(&dup), "{e}");
    assert_eq!(
        (moto.footprint(&user).await, moto.footprint(&dup).await),
        before
    );

    // Hostile employee ids match no tag exactly.
    for (i, name) in ["*", "a*", "x)(uid=*", "\"", "../", &format!("{eid}*")]
        .into_iter()
        .enumerate()
    {
        let r = revoke_identity(
            &target,
            &person(name, Some(&format!("h{i}"))),
            "w1",
            &policy(),
            &Metrics::new(),
        )
        .await;
        assert!(r.objects.is_empty(), "{name:?}: {:#?}", r.objects);
        assert!(r.error.is_none(), "{name:?}: {:?}", r.error);
    }
    assert_eq!(
        moto.footprint(&other).await,
        other_before,
        "{other} was touched"
    );
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_config_and_connection_errors() {
    let moto = Moto::from_env().await;
    // An endpoint nobody answers: the revoker's credential check fails now, as a config error
    // that names what to check and no secret.
    let e = iam_target(
        "endpoint_url = \"http://127.0.0.1:9\"\naccess_key_id_env = \"REVOKE_TEST_AWS_ACCESS_KEY_ID\"\nsecret_access_key_env = \"REVOKE_TEST_AWS_SECRET_ACCESS_KEY\"\ntimeout_ms = 2000",
        "dead",
    )
    .await
    .err()
    .expect("an unreachable endpoint is refused");
    assert!(e.contains("checking the revoker's credentials"), "{e}");
    assert!(!e.contains(DUMMY_SECRET), "{e}");
    // Static credentials named but not set: refused before any call.
    let e = iam_target(
        &format!(
            "endpoint_url = \"{}\"\naccess_key_id_env = \"REVOKE_TEST_AWS_UNSET_ID\"\nsecret_access_key_env = \"{SECRET_ENV}\"",
            moto.url
        ),
        "unset",
    )
    .await
    .err()
    .expect("a missing credential is refused");
    assert!(e.contains("REVOKE_TEST_AWS_UNSET_ID"), "{e}");
    // A tampered evidence id never reaches IAM.
    let target = iam_target(&base_table(&moto.url), "test").await.unwrap();
    let h = revoke::adapters::Holding {
        object_kind: "access_key".into(),
        object_id: "access_key/*/AKIA1".into(),
        sponsored: false,
        action: "deactivate".into(),
    };
    match target.revoke(&person("E1", Some("x")), &h).await {
        Err(TargetError::Permanent(m)) => assert!(m.contains("not an IAM object"), "{m}"),
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

/// A stand-in that speaks IAM's query protocol just enough: `GetUser` of the caller succeeds,
/// every other action answers the error the test sets (as IAM formats it), so the SDK parses real
/// error responses and the adapter's classification is checked end to end. Needs no moto.
mod double {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use std::sync::{Arc, Mutex};

    pub type Mode = Arc<Mutex<(u16, String)>>;

    async fn handle(State(mode): State<Mode>, body: Bytes) -> Response {
        let body = String::from_utf8_lossy(&body);
        let xml = [("content-type", "text/xml")];
        if body.contains("Action=GetUser&") && !body.contains("UserName=") {
            return (
                StatusCode::OK,
                xml,
                "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult><User><Path>/</Path><UserName>revoker</UserName><UserId>AIDAEXAMPLE</UserId><Arn>arn:aws:iam::123456789012:user/revoker</Arn><CreateDate>2020-01-01T00:00:00Z</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetUserResponse>",
            )
                .into_response();
        }
        let (status, code) = mode.lock().unwrap().clone();
        if status == 200 && body.contains("Action=ListAccessKeys&") {
            // One active key: the id of the credential the adapter itself signs with.
            return (
                StatusCode::OK,
                xml,
                "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccessKeysResult><AccessKeyMetadata><member><UserName>ada</UserName><AccessKeyId>testing</AccessKeyId><Status>Active</Status><CreateDate>2020-01-01T00:00:00Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata></ListAccessKeysResponse>",
            )
                .into_response();
        }
        let status = StatusCode::from_u16(status).unwrap();
        if code.is_empty() {
            return (status, "<html>upstream trouble</html>").into_response();
        }
        (
            status,
            xml,
            format!("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} from the double</Message></Error><RequestId>r2</RequestId></ErrorResponse>"),
        )
            .into_response()
    }

    /// (url, mode, server task)
    pub async fn start() -> (String, Mode, tokio::task::JoinHandle<()>) {
        let mode: Mode = Arc::new(Mutex::new((200, String::new())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(axum::routing::post(handle))
            .with_state(mode.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (url, mode, server)
    }
}

#[tokio::test]
async fn iam_adapter_classifies_sdk_errors() {
    std::env::set_var(KEY_ENV, "testing");
    std::env::set_var(SECRET_ENV, DUMMY_SECRET);
    let (url, mode, server) = double::start().await;
    let target = iam_target(
        &format!("{}\ntimeout_ms = 3000", base_table(&url)),
        "double",
    )
    .await
    .expect("GetUser of the caller works on the double");
    assert_eq!(target.principal(), "arn:aws:iam::123456789012:user/revoker");
    let who = person("E1", Some("ada"));
    let set = |status: u16, code: &str| *mode.lock().unwrap() = (status, code.to_string());

    for (status, code, want) in [
        (400, "Throttling", "transient"),
        (500, "ServiceFailure", "transient"),
        (503, "", "transient"),
        (400, "RequestLimitExceeded", "transient"),
        (403, "AccessDenied", "permanent"),
        (403, "InvalidClientTokenId", "permanent"),
        (400, "ValidationError", "permanent"),
        (403, "SomethingNew", "permanent"),
        (429, "SomethingNew", "transient"),
    ] {
        set(status, code);
        let e = target
            .discover(&who)
            .await
            .expect_err("the double refuses every listing");
        // Throttling comes as `RateLimited`, which is transient: the class decides.
        let class = match e.class() {
            revoke_shared::retry::ErrorClass::Transient => "transient",
            revoke_shared::retry::ErrorClass::Permanent => "permanent",
            revoke_shared::retry::ErrorClass::Ambiguous => "ambiguous",
        };
        assert_eq!(class, want, "{status} {code:?}: {e}");
        let msg = e.to_string();
        assert!(msg.contains("on IAM double"), "{msg}");
        assert!(!msg.contains(DUMMY_SECRET), "{msg}");
        if !code.is_empty() {
            assert!(msg.contains(code), "{msg}");
        }
        if code == "AccessDenied" {
            assert!(msg.contains("IAM policy"), "{msg}");
        }
        if code == "InvalidClientTokenId" {
            assert!(msg.contains("credentials"), "{msg}");
        }
    }

    // NoSuchEntity on revoke is "already absent", on read-back "gone".
    set(404, "NoSuchEntity");
    let profile = revoke::adapters::Holding {
        object_kind: "login_profile".into(),
        object_id: "login_profile/ada".into(),
        sponsored: false,
        action: "delete".into(),
    };
    assert_eq!(
        target.revoke(&who, &profile).await.unwrap(),
        revoke::adapters::RevokeResult::AlreadyAbsent { removed_at: None }
    );
    assert!(target.verify(&who, &profile).await.unwrap().gone);
    let key = revoke::adapters::Holding {
        object_kind: "access_key".into(),
        object_id: "access_key/ada/AKIAEXAMPLE1".into(),
        sponsored: false,
        action: "deactivate".into(),
    };
    assert_eq!(
        target.revoke(&who, &key).await.unwrap(),
        revoke::adapters::RevokeResult::AlreadyAbsent { removed_at: None }
    );
    // The revoker's own key is never deactivated, whatever the evidence says.
    set(200, "");
    let own = revoke::adapters::Holding {
        object_id: "access_key/ada/testing".into(),
        ..key.clone()
    };
    match target.revoke(&who, &own).await {
        Err(TargetError::Permanent(m)) => assert!(m.contains("revoker's own"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // The endpoint goes away after start: a connection failure is transient.
    server.abort();
    let _ = server.await;
    match target.discover(&who).await {
        Err(e @ TargetError::Transient(_)) => {
            let m = e.to_string();
            assert!(m.contains("endpoint_url"), "{m}");
            assert!(!m.contains(DUMMY_SECRET), "{m}");
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
}

// --- policies, the deny on older sessions, and forged restores ---------------------------------

/// RFC 3986 percent-decoding: IAM returns policy documents URL-encoded.
fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The saved copy's name as docs/adapters.md documents it: `revoke-saved-<user>-<first 16 hex digits
/// of SHA-256 over user NUL policy NUL>` (computed here independently of the adapter).
fn saved_name(user: &str, policy: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in [user, policy] {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("revoke-saved-{user}-{hex}")
}

fn doc(run: &str, what: &str) -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["s3:GetObject"], "Resource": format!("arn:aws:s3:::{what}-{run}/*")}]})
}

impl Moto {
    async fn managed(&self, name: &str, document: &serde_json::Value) -> String {
        let p = self
            .iam
            .create_policy()
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .expect("create policy");
        p.policy().unwrap().arn().unwrap().to_string()
    }

    async fn attach(&self, user: &str, arn: &str) {
        self.iam
            .attach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await
            .expect("attach user policy");
    }

    async fn put_inline(&self, user: &str, name: &str, document: &serde_json::Value) {
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .expect("put user policy");
    }

    async fn attached(&self, user: &str) -> Vec<String> {
        let out = self
            .iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("list attached user policies");
        sorted(
            out.attached_policies()
                .iter()
                .map(|p| p.policy_arn().unwrap().to_string())
                .collect(),
        )
    }

    async fn inline_names(&self, user: &str) -> Vec<String> {
        let out = self
            .iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("list user policies");
        sorted(out.policy_names().to_vec())
    }

    async fn inline_doc(&self, user: &str, name: &str) -> Option<serde_json::Value> {
        match self
            .iam
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
        {
            Ok(o) => Some(serde_json::from_str(&pct_decode(o.policy_document())).unwrap()),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("get user policy: {e:?}"),
        }
    }

    /// The policies under /revoke/saved/ whose name is the copy of `user`'s `policy`: (arn, tags,
    /// default version's document, attachment count).
    async fn saved(
        &self,
        user: &str,
        policy: &str,
    ) -> Vec<(String, Vec<(String, String)>, serde_json::Value, i32)> {
        let want = saved_name(user, policy);
        let list = self
            .iam
            .list_policies()
            .path_prefix("/revoke/saved/")
            .max_items(1000)
            .send()
            .await
            .expect("list policies");
        let mut out = Vec::new();
        for p in list
            .policies()
            .iter()
            .filter(|p| p.policy_name() == Some(want.as_str()))
        {
            let arn = p.arn().unwrap().to_string();
            let tags = self
                .iam
                .list_policy_tags()
                .policy_arn(&arn)
                .send()
                .await
                .expect("list policy tags");
            let v = self
                .iam
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(p.default_version_id().unwrap())
                .send()
                .await
                .expect("get policy version");
            let d = pct_decode(v.policy_version().unwrap().document().unwrap());
            out.push((
                arn,
                tags.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                serde_json::from_str(&d).unwrap(),
                p.attachment_count().unwrap_or(0),
            ));
        }
        out
    }

    async fn tag_keys(&self, user: &str) -> Vec<String> {
        let t = self
            .iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .expect("list user tags");
        t.tags().iter().map(|t| t.key().to_string()).collect()
    }
}

/// The deny's `aws:TokenIssueTime` when the document is a deny on everything, else panics.
fn deny_time(d: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    let st = &d["Statement"][0];
    assert_eq!(st["Effect"], "Deny", "{d}");
    assert!(
        st["Action"] == "*" || st["Action"] == serde_json::json!(["*"]),
        "{d}"
    );
    assert!(
        st["Resource"] == "*" || st["Resource"] == serde_json::json!(["*"]),
        "{d}"
    );
    let t = st["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .expect("DateLessThan aws:TokenIssueTime");
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_removes_policies_denies_older_sessions_and_restores_them() {
    let moto = Moto::from_env().await;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let (eve, bob) = (format!("eve-{run}"), format!("bob-{run}"));
    let g = format!("data-{run}");
    for u in [&eve, &bob] {
        moto.user(u, &[]).await;
    }
    let (key, _) = moto.key(&eve).await;
    moto.login_profile(&eve).await;
    moto.group(&g, &[&eve]).await;
    let managed = moto
        .managed(&format!("ro-{run}"), &doc(&run, "reports"))
        .await;
    let inline_doc = doc(&run, "payroll");
    for u in [&eve, &bob] {
        moto.attach(u, &managed).await;
        moto.put_inline(u, "payroll-read", &inline_doc).await;
    }
    let bob_before = (moto.attached(&bob).await, moto.inline_names(&bob).await);

    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let who = person(&format!("E-{run}"), Some(&eve));
    let t0 = chrono::Utc::now();
    let first = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        first.outcome,
        Outcome::Revoked,
        "{:?}\n{:#?}",
        first.error,
        first.objects
    );
    assert!(
        first
            .objects
            .iter()
            .all(|o| o.outcome == ObjectOutcome::Revoked && o.verified),
        "{:#?}",
        first.objects
    );
    assert_eq!(
        ids(&first, "managed_policy", false),
        vec![format!("managed_policy/{eve}/{managed}")]
    );
    assert_eq!(
        ids(&first, "inline_policy", false),
        vec![format!("inline_policy/{eve}/payroll-read")]
    );
    assert_eq!(
        ids(&first, "issued_sessions", false),
        vec![format!("issued_sessions/{eve}")]
    );
    let action = |kind: &str| {
        first
            .objects
            .iter()
            .find(|o| o.object_kind == kind)
            .unwrap()
            .action
            .clone()
    };
    assert_eq!(action("managed_policy"), "detach_policy");
    assert_eq!(action("inline_policy"), "delete_inline_policy");
    assert_eq!(action("issued_sessions"), "deny_older_sessions");
    // The deny goes on once the key and the password are off, before permissions are touched.
    let pos = |kind: &str| {
        first
            .objects
            .iter()
            .position(|o| o.object_kind == kind)
            .unwrap()
    };
    assert!(
        pos("access_key") < pos("issued_sessions") && pos("login_profile") < pos("issued_sessions")
    );
    assert!(pos("issued_sessions") < pos("group_membership"));
    // Evidence carries no policy document.
    let evidence = format!("{:?}", first.objects);
    assert!(
        !evidence.contains(&format!("payroll-{run}/")),
        "a document leaked into evidence"
    );

    // --- at moto -------------------------------------------------------------------------------
    let t1 = chrono::Utc::now();
    assert!(
        moto.attached(&eve).await.is_empty(),
        "managed policy still attached"
    );
    assert_eq!(
        moto.inline_names(&eve).await,
        vec!["AWSRevokeOlderSessions".to_string()]
    );
    let deny = moto
        .inline_doc(&eve, "AWSRevokeOlderSessions")
        .await
        .expect("deny policy");
    let before = deny_time(&deny);
    assert!(
        before >= t0 && before <= t1 + chrono::Duration::seconds(1),
        "{before} not in [{t0}, {t1}]"
    );
    let saved = moto.saved(&eve, "payroll-read").await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    let (saved_arn, tags, saved_doc, attachments) = &saved[0];
    assert!(saved_arn.contains(":policy/revoke/saved/"), "{saved_arn}");
    assert_eq!(saved_doc, &inline_doc);
    assert_eq!(*attachments, 0, "a saved copy is attached to nothing");
    assert!(
        tags.contains(&("revoke:user".into(), eve.clone())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("revoke:inline-policy".into(), "payroll-read".into())),
        "{tags:?}"
    );
    assert_eq!(
        (moto.attached(&bob).await, moto.inline_names(&bob).await),
        bob_before
    );

    // --- again: the deny is found (not renewed), nothing else to do ----------------------------
    let second = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(
        second.outcome,
        Outcome::AlreadyAbsent,
        "{:#?}",
        second.objects
    );
    assert_eq!(
        ids(&second, "issued_sessions", false),
        vec![format!("issued_sessions/{eve}")]
    );
    assert!(
        ids(&second, "inline_policy", false).is_empty(),
        "the deny is not an inline policy to delete"
    );
    assert!(
        second.objects.iter().all(|o| o.verified),
        "{:#?}",
        second.objects
    );
    assert_eq!(
        deny_time(
            &moto
                .inline_doc(&eve, "AWSRevokeOlderSessions")
                .await
                .unwrap()
        ),
        before
    );
    assert_eq!(moto.saved(&eve, "payroll-read").await.len(), 1);

    // The read-back is not fooled: a policy attached again shows as present.
    moto.attach(&eve, &managed).await;
    let h = revoke::adapters::Holding {
        object_kind: "managed_policy".into(),
        object_id: format!("managed_policy/{eve}/{managed}"),
        sponsored: false,
        action: "detach_policy".into(),
    };
    assert!(!target.verify(&who, &h).await.unwrap().gone);
    moto.iam
        .detach_user_policy()
        .user_name(&eve)
        .policy_arn(&managed)
        .send()
        .await
        .unwrap();
    assert!(target.verify(&who, &h).await.unwrap().gone);

    // --- restore (a rescind) from the first run's evidence, twice ------------------------------
    let restored = restore_identity(
        &target,
        &who,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    let outcome_of = |r: &[revoke::restoration::RestoredObject], kind: &str| {
        r.iter().find(|o| o.object_kind == kind).map(|o| o.outcome)
    };
    for kind in ["managed_policy", "inline_policy", "issued_sessions"] {
        assert_eq!(
            outcome_of(&restored, kind),
            Some(RestoreOutcome::Restored),
            "{kind}: {restored:#?}"
        );
    }
    assert_eq!(moto.attached(&eve).await, vec![managed.clone()]);
    assert_eq!(
        moto.inline_names(&eve).await,
        vec!["payroll-read".to_string()],
        "deny lifted, policy back"
    );
    assert_eq!(
        moto.inline_doc(&eve, "payroll-read").await,
        Some(inline_doc.clone())
    );
    assert!(
        moto.saved(&eve, "payroll-read").await.is_empty(),
        "saved copy not cleaned"
    );
    assert!(
        moto.tag_keys(&eve)
            .await
            .iter()
            .all(|k| !k.starts_with("revoke:")),
        "{:?}",
        moto.tag_keys(&eve).await
    );
    let again = restore_identity(
        &target,
        &who,
        &first.objects,
        "w1",
        &policy(),
        &Metrics::new(),
    )
    .await;
    for kind in ["managed_policy", "inline_policy", "issued_sessions"] {
        assert_eq!(
            outcome_of(&again, kind),
            Some(RestoreOutcome::AlreadyPresent),
            "{kind}: {again:#?}"
        );
    }
    assert_eq!(moto.attached(&eve).await, vec![managed.clone()]);
    assert_eq!(
        moto.inline_names(&eve).await,
        vec!["payroll-read".to_string()]
    );
    assert_eq!(
        (moto.attached(&bob).await, moto.inline_names(&bob).await),
        bob_before
    );
    let _ = key;
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_is_not_verified_until_every_policy_is_gone() {
    let moto = Moto::from_env().await;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let fay = format!("fay-{run}");
    moto.user(&fay, &[]).await;
    moto.key(&fay).await;
    let managed = moto.managed(&format!("ops-{run}"), &doc(&run, "ops")).await;
    moto.attach(&fay, &managed).await;
    let inline_doc = doc(&run, "hr");
    moto.put_inline(&fay, "hr-read", &inline_doc).await;
    // Someone else's policy sits where the saved copy must go: the save cannot be proven ours,
    // so the inline policy must not be deleted.
    let squat = moto
        .iam
        .create_policy()
        .policy_name(saved_name(&fay, "hr-read"))
        .path("/revoke/saved/")
        .policy_document(doc(&run, "other").to_string())
        .tags(
            Tag::builder()
                .key("revoke:user")
                .value("mallory")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let squat_arn = squat.policy().unwrap().arn().unwrap().to_string();

    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let who = person(&format!("E-{run}"), Some(&fay));
    let first = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert_eq!(first.outcome, Outcome::Failed, "{:#?}", first.objects);
    let inline = first
        .objects
        .iter()
        .find(|o| o.object_kind == "inline_policy")
        .unwrap();
    assert!(
        !inline.verified && inline.outcome == ObjectOutcome::Failed,
        "{inline:?}"
    );
    assert!(
        inline
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("not tagged"),
        "{inline:?}"
    );
    assert_eq!(
        moto.inline_doc(&fay, "hr-read").await,
        Some(inline_doc.clone()),
        "deleted without a save"
    );
    assert!(moto.attached(&fay).await.is_empty());

    // The squatter is removed: the next run saves, deletes and proves everything.
    moto.iam
        .delete_policy()
        .policy_arn(&squat_arn)
        .send()
        .await
        .unwrap();
    let second = revoke_identity(&target, &who, "w1", &policy(), &Metrics::new()).await;
    assert!(
        matches!(second.outcome, Outcome::Revoked),
        "{:?}\n{:#?}",
        second.error,
        second.objects
    );
    assert!(
        second.objects.iter().all(|o| o.verified),
        "{:#?}",
        second.objects
    );
    assert_eq!(
        moto.inline_names(&fay).await,
        vec!["AWSRevokeOlderSessions".to_string()]
    );
    assert_eq!(moto.saved(&fay, "hr-read").await[0].2, inline_doc);
}

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_refuses_forged_restores() {
    use revoke::adapters::RestoreResult;
    use revoke_shared::contract::{Actor, ObjectEvidence};
    let moto = Moto::from_env().await;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let (amy, ben) = (format!("amy-{run}"), format!("ben-{run}"));
    let admins = format!("admins-{run}");
    for u in [&amy, &ben] {
        moto.user(u, &[]).await;
    }
    moto.group(&admins, &[]).await;
    let (ben_key, _) = moto.key(&ben).await;
    moto.iam
        .update_access_key()
        .user_name(&ben)
        .access_key_id(&ben_key)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let admin_policy = moto
        .managed(&format!("admin-{run}"), &doc(&run, "all"))
        .await;
    let before = (
        moto.footprint(&amy).await,
        moto.footprint(&ben).await,
        moto.attached(&amy).await,
        moto.inline_names(&amy).await,
    );

    let target = iam_target(&base_table(&moto.url), "test")
        .await
        .expect("iam config");
    let who = person(&format!("E-{run}"), Some(&amy));
    let forged = |kind: &str, id: String, action: &str| ObjectEvidence {
        object_kind: kind.into(),
        object_id: id,
        sponsored: false,
        action: action.into(),
        outcome: ObjectOutcome::Revoked,
        removed_at: Some(chrono::Utc::now()),
        actor: Actor {
            worker_id: "w1".into(),
            principal: "forged".into(),
        },
        verified: true,
        provenance: revoke_shared::contract::Provenance::Observed,
        read_back: "forged".into(),
        error: None,
    };
    for ev in [
        forged(
            "group_membership",
            format!("group_membership/{admins}/{ben}"),
            "remove_membership",
        ),
        forged(
            "access_key",
            format!("access_key/{ben}/{ben_key}"),
            "deactivate",
        ),
        forged(
            "access_key",
            format!("access_key/{amy}/{ben_key}"),
            "deactivate",
        ),
        forged(
            "managed_policy",
            format!("managed_policy/{amy}/{admin_policy}"),
            "detach_policy",
        ),
        forged(
            "managed_policy",
            format!("managed_policy/{ben}/{admin_policy}"),
            "detach_policy",
        ),
        forged(
            "inline_policy",
            format!("inline_policy/{amy}/admin"),
            "delete_inline_policy",
        ),
        forged(
            "issued_sessions",
            format!("issued_sessions/{ben}"),
            "deny_older_sessions",
        ),
    ] {
        let r = target.restore(&who, &ev).await.unwrap();
        assert!(
            matches!(r, RestoreResult::Refused { .. }),
            "{}: {r:?}",
            ev.object_id
        );
    }
    let after = (
        moto.footprint(&amy).await,
        moto.footprint(&ben).await,
        moto.attached(&amy).await,
        moto.inline_names(&amy).await,
    );
    assert_eq!(after, before, "a forged restore changed something");
    assert_eq!(
        moto.keys(&ben).await,
        vec![(ben_key, "Inactive".to_string())]
    );
    assert!(moto.groups(&ben).await.is_empty() && moto.groups(&amy).await.is_empty());
}

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
use revoke::restoration::RestoreOutcome;
use revoke::revocation::RevocationReport;
use revoke_shared::contract::{ObjectOutcome, Outcome};
use revoke_tests::kit::{self, assert_outcome, employee, object_ids, restore, revoke, sorted};
use std::time::Instant;

mod errors;
mod lifecycle;
mod policies;

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
        Moto {
            iam: revoke_tests::moto::iam_client(&url, "test"),
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// The server from the environment and a fresh suffix for this run's names.
    async fn with_run() -> (Moto, String) {
        let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        (Moto::from_env().await, run)
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

    /// Deactivates `user`'s access key `key` (seeding a key that is already inactive).
    async fn deactivate_key(&self, user: &str, key: &str) {
        self.iam
            .update_access_key()
            .user_name(user)
            .access_key_id(key)
            .status(StatusType::Inactive)
            .send()
            .await
            .expect("update access key");
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
        let mut v = revoke_tests::moto::group_names(&self.iam, user).await;
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
    IamTarget::from_table(&kit::target_table("cloud", table_body), instance).await
}

/// Evidence of one IAM object the revoker acted on with `action` (not a sponsored one).
fn holding(object_kind: &str, object_id: &str, action: &str) -> revoke::adapters::Holding {
    revoke::adapters::Holding {
        object_kind: object_kind.into(),
        object_id: object_id.into(),
        sponsored: false,
        action: action.into(),
    }
}

/// Asserts, kind by kind, the ids of the objects `report` names that are (or are not) sponsored;
/// each expected list is compared sorted, as [`object_ids`] returns them.
fn assert_object_ids(report: &RevocationReport, expected: Vec<(&str, bool, Vec<String>)>) {
    for (kind, sponsored, ids) in expected {
        assert_eq!(
            object_ids(report, kind, Some(sponsored)),
            sorted(ids),
            "{kind} (sponsored: {sponsored})"
        );
    }
}

/// A listing of (id, status) that holds `id` alone, in `status`.
fn only(id: &str, status: &str) -> Vec<(String, String)> {
    vec![(id.to_string(), status.to_string())]
}

fn base_table(url: &str) -> String {
    format!("endpoint_url = \"{url}\"\nregion = \"us-east-1\"\naccess_key_id_env = \"{KEY_ENV}\"\nsecret_access_key_env = \"{SECRET_ENV}\"")
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
        let hostile = employee(&format!("E-hostile-{i}-{run}"), Some(name), None);
        let r = revoke(target, &hostile).await;
        assert!(
            r.objects.is_empty(),
            "identity {name:?} held something: {:#?}",
            r.objects
        );
        assert_eq!(r.outcome, Outcome::AlreadyAbsent, "identity {name:?}");
        assert!(r.error.is_none(), "identity {name:?}: {:?}", r.error);
    }
    // The employee id is the fallback name, and is held to the same rules.
    let r = revoke(target, &employee(&format!("../{real}"), None, None)).await;
    assert!(r.objects.is_empty(), "{:#?}", r.objects);
}

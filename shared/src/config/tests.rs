//! Unit tests of the config: loading, overrides, defaults and every check.

use super::*;
use crate::contract::{IdentityKind, TargetKind};
use std::path::Path;

/// Loads `text` as the config file (a temporary one, named after `prefix`), with no
/// environment overrides.
fn load_file(prefix: &str, text: &str) -> Result<Config, ConfigError> {
    let path = std::env::temp_dir().join(format!(
        "revoke-{prefix}-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, text).unwrap();
    let r = Config::load(Some(&path), std::iter::empty());
    let _ = std::fs::remove_file(&path);
    r
}

#[test]
fn defaults_are_valid() {
    let c = Config::load(None, Vec::new()).unwrap();
    assert_eq!(c.topics.terminations, "hr.terminations");
    assert_eq!(c.verifier.required_targets.len(), 5);
}

#[test]
fn env_overrides_file() {
    let dir = std::env::temp_dir().join(format!("revoke-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("c.toml");
    std::fs::write(
        &p,
        "[kafka]\nbrokers = \"a:1\"\n[verifier]\ndeadline_secs = 5\n",
    )
    .unwrap();
    let env = vec![
        ("REVOKE_KAFKA__BROKERS".to_string(), "b:2".to_string()),
        (
            "REVOKE_KAFKA__PROPERTIES__SECURITY.PROTOCOL".to_string(),
            "SSL".to_string(),
        ),
        (
            "REVOKE_VERIFIER__REQUIRED_TARGETS".to_string(),
            "[\"vault\"]".to_string(),
        ),
        ("REVOKE_LOG".to_string(), "debug".to_string()),
        ("PATH".to_string(), "/bin".to_string()),
    ];
    let c = Config::load(Some(&p), env).unwrap();
    assert_eq!(c.kafka.brokers, "b:2");
    assert_eq!(c.kafka.properties["security.protocol"], "SSL");
    assert_eq!(c.verifier.deadline_secs, 5);
    assert_eq!(c.verifier.required_targets, vec![TargetKind::Vault]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_keys_and_bad_values_are_errors() {
    let env = vec![("REVOKE_KAFKA__BROKRES".to_string(), "x".to_string())];
    assert!(matches!(
        Config::load(None, env),
        Err(ConfigError::Invalid(_))
    ));
    let env = vec![("REVOKE_TOPICS__PARTITIONS".to_string(), "0".to_string())];
    assert!(matches!(
        Config::load(None, env),
        Err(ConfigError::Invalid(_))
    ));
    // A restore window of 0 refuses every restore; past a day, claims may be gone.
    for secs in ["0", "86401"] {
        let env = vec![(
            "REVOKE_WORKER__RESTORE_MAX_AGE_SECS".to_string(),
            secs.to_string(),
        )];
        assert!(
            matches!(Config::load(None, env), Err(ConfigError::Invalid(m)) if m.contains("restore_max_age_secs")),
            "{secs}"
        );
    }
    let numeric_string = vec![
        ("REVOKE_WORKER__ID".to_string(), "42".to_string()),
        (
            "REVOKE_KAFKA__PROPERTIES__LINGER.MS".to_string(),
            "10".to_string(),
        ),
    ];
    let c = Config::load(None, numeric_string).unwrap();
    assert_eq!(c.worker.id.as_deref(), Some("42"));
    assert_eq!(c.kafka.properties["linger.ms"], "10");
    let missing = Config::load(Some(Path::new("/nonexistent/revoke.toml")), Vec::new());
    assert!(matches!(missing, Err(ConfigError::Read { .. })));
}

#[test]
fn the_documented_example_config_loads() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/revoke.example.toml");
    let c = Config::load(Some(&p), Vec::new()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(c.validate().is_ok());
    let path = c.verifier.escalation_path_of(Some(TargetKind::Directory));
    assert_eq!(
        path.iter().map(|s| s.after_secs).collect::<Vec<_>>(),
        vec![3600, 14400],
        "the example's escalation path"
    );
}

#[test]
fn escalations_section_defaults_env_and_validation() {
    let c = Config::load(None, Vec::new()).unwrap();
    let e = &c.escalations;
    assert_eq!(e.webhook_url, None);
    assert_eq!(
        (
            e.webhook_timeout_ms,
            e.webhook_initial_backoff_ms,
            e.webhook_max_backoff_ms,
            e.webhook_alert_after,
            e.webhook_max_concurrent
        ),
        (5_000, 500, 60_000, 5, 8)
    );
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let c = Config::load(
        None,
        env(&[
            (
                "REVOKE_ESCALATIONS__WEBHOOK_URL",
                "https://tickets.example.com/hooks/revoke?x=1",
            ),
            ("REVOKE_ESCALATIONS__WEBHOOK_ALERT_AFTER", "3"),
            ("REVOKE_ESCALATIONS__WEBHOOK_TOKEN_ENV", "TICKETS_TOKEN"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.escalations.webhook_url.as_deref(),
        Some("https://tickets.example.com/hooks/revoke?x=1")
    );
    assert_eq!(c.escalations.webhook_alert_after, 3);
    assert_eq!(
        c.escalations.webhook_token_env.as_deref(),
        Some("TICKETS_TOKEN")
    );
    for bad in [
        vec![("REVOKE_ESCALATIONS__WEBHOOK_URL", "ftp://x")],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_URL", "https://")],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_URL", "tickets.example.com")],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_ALERT_AFTER", "0")],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_TIMEOUT_MS", "0")],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_MAX_CONCURRENT", "0")],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_MAX_BACKOFF_MS", "100")],
        vec![
            ("REVOKE_ESCALATIONS__WEBHOOK_TOKEN_ENV", "A"),
            ("REVOKE_ESCALATIONS__WEBHOOK_TOKEN_FILE", "/b"),
        ],
        vec![
            ("REVOKE_ESCALATIONS__WEBHOOK_SIGNING_SECRET_ENV", "A"),
            ("REVOKE_ESCALATIONS__WEBHOOK_SIGNING_SECRET_FILE", "/b"),
        ],
        vec![("REVOKE_ESCALATIONS__WEBHOOK_URLL", "https://x")],
    ] {
        assert!(
            matches!(Config::load(None, env(&bad)), Err(ConfigError::Invalid(_))),
            "{bad:?} accepted"
        );
    }
    // An invalid URL is not echoed: it may hold a credential.
    let err = Config::load(
        None,
        env(&[("REVOKE_ESCALATIONS__WEBHOOK_URL", "ftp://user:hunter2@x")]),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn policy_keys_load_and_are_checked() {
    let load = |text: &str| load_file("policy", text);
    let c = load(
        "[verifier]\nprotected_identities = [\"breakglass\"]\n\
         [verifier.required_by_kind]\ncontractor = [\"directory\", \"saas\"]\n\
         [verifier.target_sla_secs]\nvault = 300\n",
    )
    .unwrap();
    assert_eq!(
        c.verifier.required_for(IdentityKind::Contractor),
        vec![TargetKind::Directory, TargetKind::Saas]
    );
    assert_eq!(c.verifier.required_for(IdentityKind::Service).len(), 5);
    assert_eq!(c.verifier.sla_of(TargetKind::Vault), Some(300));
    assert_eq!(c.verifier.sla_of(TargetKind::Saas), None);
    for (bad, says) in [
        (
            "[verifier.required_by_kind]\nintern = [\"saas\"]\n",
            "identity kinds",
        ),
        (
            "[verifier.required_by_kind]\nservice = []\n",
            "at least one target",
        ),
        (
            "[verifier.target_sla_secs]\nmainframe = 10\n",
            "not a target kind",
        ),
        ("[verifier.target_sla_secs]\nvault = 0\n", "at least 1"),
    ] {
        let e = load(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn escalation_paths_load_fall_back_to_default_and_are_checked() {
    let load = |text: &str| load_file("paths", text);
    // A config from before escalation paths: loads, and nothing climbs.
    let c =
        load("[verifier.owners.default]\nname = \"secops\"\ncontact = \"secops@example.com\"\n")
            .unwrap();
    assert!(c.verifier.escalation_paths.is_empty());
    assert!(!c.verifier.has_escalation_paths());
    assert!(c
        .verifier
        .escalation_path_of(Some(TargetKind::Vault))
        .is_empty());

    let c = load(
        "[verifier.owners.directory]\nname = \"iam-team\"\ncontact = \"iam@example.com\"\n\
         [verifier.escalation_paths]\n\
         directory = [ { name = \"iam-lead\", contact = \"iam-lead@example.com\", after_secs = 3600 }, \
                       { name = \"ciso\", contact = \"ciso@example.com\", after_secs = 14400 } ]\n\
         default = [ { name = \"secops-lead\", contact = \"lead@example.com\", after_secs = 600 } ]\n\
         cicd = []\n",
    )
    .unwrap();
    let v = &c.verifier;
    assert!(v.has_escalation_paths());
    let dir = v.escalation_path_of(Some(TargetKind::Directory));
    assert_eq!(
        dir.iter()
            .map(|s| (s.name.as_str(), s.after_secs))
            .collect::<Vec<_>>(),
        vec![("iam-lead", 3600), ("ciso", 14400)]
    );
    assert_eq!(dir[1].owner().contact, "ciso@example.com");
    assert_eq!(
        v.escalation_path_of(Some(TargetKind::Vault))[0].name,
        "secops-lead"
    );
    assert_eq!(v.escalation_path_of(None)[0].name, "secops-lead");
    assert!(
        v.escalation_path_of(Some(TargetKind::Cicd)).is_empty(),
        "explicitly none"
    );

    // An environment override works like for any key.
    let env = vec![(
        "REVOKE_VERIFIER__ESCALATION_PATHS__VAULT".to_string(),
        "[{ name = \"vault-lead\", contact = \"v@example.com\", after_secs = 60 }]".to_string(),
    )];
    let c = Config::load(None, env).unwrap();
    assert_eq!(
        c.verifier.escalation_path_of(Some(TargetKind::Vault))[0].after_secs,
        60
    );

    let step = |after: &str| {
        format!("[verifier.escalation_paths]\nvault = [ {{ name = \"a\", contact = \"a@x\", after_secs = 60 }}, {{ name = \"b\", contact = \"b@x\", after_secs = {after} }} ]\n")
    };
    for (bad, says) in [
        (
            "[verifier.escalation_paths]\nmainframe = []\n".to_string(),
            "not a target kind".to_string(),
        ),
        (step("60"), "larger than the step before".into()),
        (step("30"), "larger than the step before".into()),
        (step("99999999999"), "at most".into()),
        (
            "[verifier.escalation_paths]\nvault = [ { name = \"a\", contact = \"a@x\", after_secs = 0 } ]\n".into(),
            "at least 1".into(),
        ),
        (
            "[verifier.escalation_paths]\nvault = [ { name = \" \", contact = \"a@x\", after_secs = 5 } ]\n".into(),
            "name is empty".into(),
        ),
        (
            "[verifier.escalation_paths]\nvault = [ { name = \"a\", contact = \"a@x\" } ]\n".into(),
            "after_secs".into(),
        ),
        (
            "[verifier.escalation_paths]\nvault = [ { name = \"a\", contact = \"a@x\", after_secs = 5, sms = \"1\" } ]\n".into(),
            "sms".into(),
        ),
        // The shape of the path inside the owner is pointed at the right table.
        (
            "[verifier.owners.directory]\nname = \"iam\"\ncontact = \"iam@x\"\nescalation_path = []\n".into(),
            "[verifier.escalation_paths]".into(),
        ),
        (
            "[verifier.owners.directory]\nname = \"iam\"\ncontcat = \"iam@x\"\n".into(),
            "verifier.owners.directory.contcat: unknown key".into(),
        ),
    ] {
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains(&says), "{bad}: {e}");
    }
}

#[test]
fn owner_falls_back_to_default() {
    let v = VerifierConfig::default();
    assert_eq!(
        v.owner_of(Some(TargetKind::Cloud)).name,
        "security-operations"
    );
}

//! Unit tests of the pure parts: judging answers, backoff, parsing records, the HMAC, the settings.

use super::judge::random_unit;
use super::*;
use revoke_shared::config::EscalationsConfig;
use revoke_shared::contract::RawMessage;

#[test]
fn only_2xx_is_delivered() {
    assert_eq!(judge(200), Ok(()));
    assert_eq!(judge(202), Ok(()));
    assert_eq!(judge(204), Ok(()));
    assert_eq!(judge(500), Err(Failure::Unavailable(500)));
    assert_eq!(judge(503), Err(Failure::Unavailable(503)));
    assert_eq!(judge(429), Err(Failure::Unavailable(429)));
    assert_eq!(judge(408), Err(Failure::Unavailable(408)));
    assert_eq!(judge(400), Err(Failure::Refused(400)));
    assert_eq!(judge(401), Err(Failure::Refused(401)));
    assert_eq!(judge(422), Err(Failure::Refused(422)));
    assert_eq!(judge(302), Err(Failure::Redirected(302)));
    assert_eq!(judge(101), Err(Failure::Unexpected(101)));
    assert!(Failure::Refused(401).check().contains("webhook_token_env"));
    assert!(Failure::Refused(404).check().contains("webhook_url"));
}

#[test]
fn backoff_doubles_is_capped_and_jittered_within_half() {
    let ms = Duration::from_millis;
    let d = |n, j| backoff_delay(n, ms(500), ms(60_000), j);
    assert_eq!(d(1, 1.0), ms(500));
    assert_eq!(d(1, 0.0), ms(250));
    assert_eq!(d(2, 1.0), ms(1000));
    assert_eq!(d(3, 1.0), ms(2000));
    assert_eq!(d(8, 1.0), ms(60_000));
    assert_eq!(d(8, 0.0), ms(30_000));
    // Never above the cap, never overflowing, however long it has been failing.
    for n in [9, 31, 32, 33, 1000, u32::MAX] {
        for j in [0.0, 0.5, 0.999, 7.0, -1.0] {
            let x = d(n, j);
            assert!(x >= ms(30_000) && x <= ms(60_000), "{n} {j} {x:?}");
        }
    }
    for _ in 0..1000 {
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }
}

fn raw(payload: Option<&[u8]>) -> RawMessage {
    RawMessage {
        topic: "revoke.escalations".into(),
        partition: 0,
        offset: 7,
        key: Some(b"E1".to_vec()),
        payload: payload.map(<[u8]>::to_vec),
        headers: vec![],
        timestamp_ms: None,
    }
}

fn escalation_json() -> serde_json::Value {
    serde_json::json!({
        "schema": "revoke.escalation.v1",
        "escalation_id": "1cd94d79-bef7-5f66-8cc8-0a19c9a9d5a7",
        "case_id": "1df57fd9-8a3f-5c48-8fe1-fc24cfc5caed",
        "identity_id": "E1",
        "reason": "target_failed",
        "targets": ["cloud"],
        "owner": { "name": "security-operations", "contact": "secops@example.com" },
        "deadline": "2026-11-24T10:54:38.995519528Z",
        "raised_at": "2026-11-24T09:54:39.022667469Z",
        "detail": "cloud: simulated 403",
        "evidence": ["cloud: failed (simulated 403)"],
        "added_later": true
    })
}

#[test]
fn records_that_are_not_escalations_are_refused_with_a_reason() {
    let ok = serde_json::to_vec(&escalation_json()).unwrap();
    let esc = parse_escalation(&raw(Some(&ok))).unwrap();
    assert_eq!(esc.identity_id, "E1");
    assert_eq!(parse_escalation(&raw(None)).unwrap_err().0, "empty");
    assert_eq!(parse_escalation(&raw(Some(b""))).unwrap_err().0, "empty");
    assert_eq!(
        parse_escalation(&raw(Some(b"not json"))).unwrap_err().0,
        "malformed_escalation"
    );
    let mut v = escalation_json();
    v["reason"] = "bored".into();
    let bytes = serde_json::to_vec(&v).unwrap();
    assert_eq!(
        parse_escalation(&raw(Some(&bytes))).unwrap_err().0,
        "malformed_escalation"
    );
    let mut v = escalation_json();
    v["schema"] = "revoke.escalation.v2".into();
    let bytes = serde_json::to_vec(&v).unwrap();
    let (reason, detail) = parse_escalation(&raw(Some(&bytes))).unwrap_err();
    assert_eq!(reason, "unknown_schema");
    assert!(detail.contains("revoke.escalation.v2"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn hmac_matches_rfc_4231() {
    // Test cases 1, 2 and 6 (a key longer than the block) of RFC 4231.
    assert_eq!(
        hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    assert_eq!(
        signature(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // Test case 7: a key and data both longer than the block.
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size \
              data. The key needs to be hashed before being used by the HMAC algorithm."
        )),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
    );
}

#[test]
fn settings_need_a_url_and_never_show_credentials() {
    let mut c = EscalationsConfig::default();
    let err = Settings::from_config(&c).err().unwrap().to_string();
    assert!(err.contains("escalations.webhook_url"), "{err}");
    c.webhook_url = Some("https://bot:hunter2@hooks.example.com:8443/revoke?token=hunter3".into());
    let s = Settings::from_config(&c).unwrap();
    assert_eq!(s.shown_url(), "https://hooks.example.com:8443/revoke");
    c.webhook_token_env = Some("REVOKE_TEST_WEBHOOK_TOKEN_THAT_IS_NOT_SET".into());
    let err = Settings::from_config(&c).err().unwrap().to_string();
    assert!(
        err.contains("REVOKE_TEST_WEBHOOK_TOKEN_THAT_IS_NOT_SET"),
        "{err}"
    );
    assert!(!err.contains("hunter"), "{err}");
    let dir = std::env::temp_dir().join(format!("revoke-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "s3cr3t-token\n").unwrap();
    c.webhook_token_env = None;
    c.webhook_token_file = Some(file.display().to_string());
    let s = Settings::from_config(&c).unwrap();
    assert_eq!(s.token.as_ref().unwrap().expose(), "s3cr3t-token");
    std::fs::write(&file, "\n").unwrap();
    assert!(Settings::from_config(&c).is_err());
    std::fs::remove_dir_all(dir).ok();
    c.webhook_token_file = None;
    c.webhook_url = Some("mailto:secops@example.com".into());
    assert!(Settings::from_config(&c).is_err());
}

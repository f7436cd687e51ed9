//! Unit tests of signing: the canonical form, signing and verifying, rotation, the fleet
//! signature, admission of HR input, and the `[signing]` settings.

use super::keys::{Key, Material};
use super::*;
use crate::config::{decode_32, verifying_key, Config};
use crate::contract::{
    parse_hr_event, HrData, HrEvent, HrEventKind, Identity, IdentityKind, RawMessage,
};
use crate::secret::Secret;
use base64::Engine;
use chrono::TimeZone;
use std::collections::BTreeMap;
use std::sync::Arc;

const SECRET: &str = "an-hmac-secret-of-at-least-32-bytes!";
const SEED: [u8; 32] = [7; 32];

fn event() -> HrEvent {
    HrEvent {
        id: "evt-1".into(),
        source: "urn:hr:workday".into(),
        subject: "E1".into(),
        time: chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
        kind: HrEventKind::Termination,
        data: HrData {
            identity: Identity {
                employee_id: "E1".into(),
                email: Some("ada@example.com".into()),
                username: Some("ada".into()),
                kind: IdentityKind::Employee,
            },
            effective_at: Some(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()),
            reason: Some("resignation \"final\" \\ ü".into()),
            requested_by: Some("hr:bob".into()),
            approved_by: None,
            rescinds: None,
        },
    }
}

fn hmac_key(source: &str, id: Option<&str>, env: &str) -> KeyConfig {
    KeyConfig {
        source: source.into(),
        key_id: id.map(str::to_string),
        algorithm: Algorithm::HmacSha256,
        public_key: None,
        secret_env: Some(env.into()),
        secret_file: None,
        private_key_env: None,
        private_key_file: None,
    }
}

fn ed_key(source: &str, id: Option<&str>, seed: &[u8; 32]) -> KeyConfig {
    let pk = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key();
    KeyConfig {
        source: source.into(),
        key_id: id.map(str::to_string),
        algorithm: Algorithm::Ed25519,
        public_key: Some(base64::engine::general_purpose::STANDARD.encode(pk.to_bytes())),
        secret_env: None,
        secret_file: None,
        private_key_env: None,
        private_key_file: None,
    }
}

/// A KeySet with HMAC secrets given directly (no environment needed).
fn keys(entries: Vec<(KeyConfig, Option<&str>)>) -> KeySet {
    let mut by_source: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    for (k, secret) in entries {
        let material = match k.algorithm {
            Algorithm::HmacSha256 => Material::Hmac(Secret::new(secret.unwrap())),
            Algorithm::Ed25519 => {
                Material::Ed25519(verifying_key(k.public_key.as_deref().unwrap()).unwrap())
            }
        };
        by_source.entry(k.source.clone()).or_default().push(Key {
            id: k.key_id,
            algorithm: k.algorithm,
            material,
        });
    }
    KeySet { by_source }
}

fn hmac_signer(secret: &str, id: Option<&str>) -> EventSigner {
    EventSigner::hmac(Secret::new(secret), id.map(str::to_string))
}

fn reason(set: &KeySet, ev: &HrEvent, attrs: &SignatureAttributes) -> &'static str {
    set.verify(ev, attrs).unwrap_err().reason()
}

#[test]
fn the_canonical_form_is_fixed() {
    // Other implementations of the signer can check themselves against this.
    assert_eq!(
        String::from_utf8(canonical_bytes(&event())).unwrap(),
        r#"{"data":{"effective_at":"2026-11-24T09:00:00Z","identity":{"email":"ada@example.com","employee_id":"E1","kind":"employee","username":"ada"},"reason":"resignation \"final\" \\ ü","requested_by":"hr:bob"},"id":"evt-1","source":"urn:hr:workday","specversion":"1.0","subject":"E1","time":"2026-11-24T09:00:00Z","type":"identity.termination.v1"}"#
    );
    let mut ev = event();
    ev.time += chrono::Duration::milliseconds(250);
    assert!(String::from_utf8(canonical_bytes(&ev))
        .unwrap()
        .contains(r#""time":"2026-11-24T09:00:00.250Z""#));
}

#[test]
fn known_answers_computed_elsewhere() {
    // HMAC-SHA256 of the canonical form above, computed with Python's hmac module over
    // json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).
    let sig = hmac_signer(SECRET, None).sign(&event());
    assert_eq!(
        sig.signature.as_deref(),
        Some("DWtzqHhwgqjNJ5nTHsjx43d/VmCXZQsgXG7s/As74j8=")
    );
    // A key pair made by `openssl genpkey -algorithm ed25519`, its private key read with
    // `openssl pkey -outform DER | tail -c 32 | base64` and the public key with `-pubout`.
    let seed = decode_32("IcN6PMRRlMbXzwJfpEjzFmRUDVmf791Dddu+d6Z0ulY=").unwrap();
    assert_eq!(
        ed25519_public_key(&seed),
        "5eeqTJMHNkszVbHwinmpsVDaIzscBSq3xDdlTFSsi/s="
    );
}

#[test]
fn hmac_and_ed25519_signatures_verify() {
    let ev = event();
    let set = keys(vec![
        (hmac_key("urn:hr:workday", None, "X"), Some(SECRET)),
        (ed_key("urn:hr:sap", None, &SEED), None),
    ]);
    let attrs = hmac_signer(SECRET, None).sign(&ev);
    assert_eq!(attrs.algorithm.as_deref(), Some("hmac-sha256"));
    assert_eq!(set.verify(&ev, &attrs), Ok(()));

    let mut sap = event();
    sap.source = "urn:hr:sap".into();
    let attrs = EventSigner::ed25519(&SEED, None).sign(&sap);
    assert_eq!(attrs.algorithm.as_deref(), Some("ed25519"));
    assert_eq!(set.verify(&sap, &attrs), Ok(()));
}

type Change = Box<dyn Fn(&mut HrEvent)>;

#[test]
fn tampered_data_subject_time_or_type_do_not_verify() {
    let set = keys(vec![
        (hmac_key("urn:hr:workday", None, "X"), Some(SECRET)),
        (ed_key("urn:hr:sap", None, &SEED), None),
    ]);
    for (source, signer) in [
        ("urn:hr:workday", hmac_signer(SECRET, None)),
        ("urn:hr:sap", EventSigner::ed25519(&SEED, None)),
    ] {
        let mut ev = event();
        ev.source = source.into();
        let attrs = signer.sign(&ev);
        let tampered: Vec<Change> = vec![
            Box::new(|e| e.data.identity.username = Some("bob".into())),
            Box::new(|e| e.data.identity.email = None),
            Box::new(|e| e.data.effective_at = Some(e.time + chrono::Duration::days(1))),
            Box::new(|e| e.data.reason = Some("other".into())),
            Box::new(|e| {
                e.subject = "E2".into();
                e.data.identity.employee_id = "E2".into();
            }),
            Box::new(|e| e.time += chrono::Duration::seconds(1)),
            Box::new(|e| e.id = "evt-2".into()),
            Box::new(|e| e.kind = HrEventKind::Rescinded),
            Box::new(|e| e.data.rescinds = Some("evt-0".into())),
        ];
        for (i, change) in tampered.iter().enumerate() {
            let mut t = ev.clone();
            change(&mut t);
            assert_eq!(
                reason(&set, &t, &attrs),
                "bad_signature",
                "{source} change {i}"
            );
        }
    }
}

#[test]
fn wrong_key_unknown_source_missing_signature_and_wrong_algorithm_are_refused() {
    let ev = event();
    let set = keys(vec![(hmac_key("urn:hr:workday", None, "X"), Some(SECRET))]);
    let other = hmac_signer("another-secret-that-is-32-bytes-long!", None).sign(&ev);
    assert_eq!(reason(&set, &ev, &other), "bad_signature");

    let mut stranger = event();
    stranger.source = "urn:hr:elsewhere".into();
    let attrs = hmac_signer(SECRET, None).sign(&stranger);
    assert_eq!(reason(&set, &stranger, &attrs), "unknown_source");
    // Unknown source wins over a missing signature: the source is the first question.
    assert_eq!(
        reason(&set, &stranger, &SignatureAttributes::default()),
        "unknown_source"
    );

    assert_eq!(
        reason(&set, &ev, &SignatureAttributes::default()),
        "unsigned"
    );

    // An Ed25519 signature where the source has only an HMAC key.
    let ed = EventSigner::ed25519(&SEED, None).sign(&ev);
    assert_eq!(reason(&set, &ev, &ed), "wrong_algorithm");
    let mut unknown_alg = hmac_signer(SECRET, None).sign(&ev);
    unknown_alg.algorithm = Some("rsa-sha1".into());
    assert_eq!(reason(&set, &ev, &unknown_alg), "wrong_algorithm");
    let mut no_alg = hmac_signer(SECRET, None).sign(&ev);
    no_alg.algorithm = None;
    assert_eq!(reason(&set, &ev, &no_alg), "bad_signature");
    let mut garbage = hmac_signer(SECRET, None).sign(&ev);
    garbage.signature = Some("%%%".into());
    assert_eq!(reason(&set, &ev, &garbage), "bad_signature");
    let mut short = hmac_signer(SECRET, None).sign(&ev);
    short.signature = Some("AAAA".into());
    assert_eq!(reason(&set, &ev, &short), "bad_signature");

    // The error never carries the secret nor the tag that would have been valid.
    let good = hmac_signer(SECRET, None).sign(&ev);
    let text = set.verify(&ev, &other).unwrap_err().to_string();
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains(good.signature.as_deref().unwrap()), "{text}");
}

#[test]
fn rotation_old_and_new_keys_overlap() {
    let ev = event();
    let old_secret = "the-old-secret-of-at-least-32-bytes!!";
    let set = keys(vec![
        (
            hmac_key("urn:hr:workday", Some("2026-01"), "X"),
            Some(SECRET),
        ),
        (
            hmac_key("urn:hr:workday", Some("2025-07"), "Y"),
            Some(old_secret),
        ),
        (ed_key("urn:hr:workday", Some("ed-1"), &SEED), None),
    ]);
    // With a key id: that key.
    let new = hmac_signer(SECRET, Some("2026-01")).sign(&ev);
    assert_eq!(set.verify(&ev, &new), Ok(()));
    let old = hmac_signer(old_secret, Some("2025-07")).sign(&ev);
    assert_eq!(set.verify(&ev, &old), Ok(()));
    let ed = EventSigner::ed25519(&SEED, Some("ed-1".into())).sign(&ev);
    assert_eq!(set.verify(&ev, &ed), Ok(()));
    // Without one: any key of the source and algorithm.
    assert_eq!(
        set.verify(&ev, &hmac_signer(old_secret, None).sign(&ev)),
        Ok(())
    );
    // A key id naming the wrong key does not fall back to the others.
    let mislabelled = hmac_signer(old_secret, Some("2026-01")).sign(&ev);
    assert_eq!(reason(&set, &ev, &mislabelled), "bad_signature");
    // A retired key id.
    let retired = hmac_signer(old_secret, Some("2024-01")).sign(&ev);
    assert_eq!(reason(&set, &ev, &retired), "unknown_key");
    // An ed25519 key id with an hmac signature.
    let crossed = hmac_signer(SECRET, Some("ed-1")).sign(&ev);
    assert_eq!(reason(&set, &ev, &crossed), "wrong_algorithm");
}

fn record(ev: &HrEvent, attrs: &SignatureAttributes, binary: bool) -> RawMessage {
    if binary {
        let (mut headers, body) = ev.to_binary();
        attrs.add_to_binary(&mut headers);
        RawMessage {
            topic: "hr.terminations".into(),
            ..RawMessage::binary(Some(ev.subject.as_bytes().to_vec()), headers, body)
        }
    } else {
        let mut v = ev.to_structured_json();
        attrs.add_to_structured(&mut v);
        RawMessage {
            topic: "hr.terminations".into(),
            key: Some(ev.subject.as_bytes().to_vec()),
            payload: Some(serde_json::to_vec(&v).unwrap()),
            ..Default::default()
        }
    }
}

#[test]
fn binary_and_structured_modes_give_the_same_canonical_bytes() {
    let ev = event();
    let attrs = hmac_signer(SECRET, Some("k1")).sign(&ev);
    let structured = record(&ev, &attrs, false);
    let binary = record(&ev, &attrs, true);
    let a = parse_hr_event(&structured, 1 << 20).unwrap();
    let b = parse_hr_event(&binary, 1 << 20).unwrap();
    assert_eq!(canonical_bytes(&a), canonical_bytes(&b));
    assert_eq!(canonical_bytes(&a), canonical_bytes(&ev));
    assert_eq!(SignatureAttributes::of(&structured).unwrap(), attrs);
    assert_eq!(SignatureAttributes::of(&binary).unwrap(), attrs);

    // Written differently, the same event: other key order, white space, an explicit null,
    // a time with an offset. The signature still holds.
    let text = format!(
        r#"{{ "data": {{"requested_by":"hr:bob","approved_by":null,"reason":"resignation \"final\" \\ \u00fc",
                 "effective_at":"2026-11-24T10:00:00+01:00",
                 "identity":{{"kind":"employee","username":"ada","email":"ada@example.com","employee_id":"E1"}}}},
               "time":"2026-11-24T09:00:00.000Z","subject":"E1","id":"evt-1","source":"urn:hr:workday",
               "type":"identity.termination.v1","specversion":"1.0",
               "signaturekeyid":"k1","signaturealg":"hmac-sha256","signature":{:?} }}"#,
        attrs.signature.as_deref().unwrap()
    );
    let msg = RawMessage {
        key: Some(b"E1".to_vec()),
        payload: Some(text.into_bytes()),
        ..Default::default()
    };
    let c = parse_hr_event(&msg, 1 << 20).unwrap();
    assert_eq!(canonical_bytes(&c), canonical_bytes(&ev));
    let set = keys(vec![(
        hmac_key("urn:hr:workday", Some("k1"), "X"),
        Some(SECRET),
    )]);
    assert_eq!(
        set.verify(&c, &SignatureAttributes::of(&msg).unwrap()),
        Ok(())
    );

    // Re-serialised (as the verifier re-publishes): still the same bytes.
    let again = parse_hr_event(
        &RawMessage {
            key: Some(b"E1".to_vec()),
            payload: Some(serde_json::to_vec(&a.to_structured_json()).unwrap()),
            ..Default::default()
        },
        1 << 20,
    )
    .unwrap();
    assert_eq!(canonical_bytes(&again), canonical_bytes(&ev));
}

#[test]
fn attributes_of_the_wrong_type_are_refused() {
    let mut v = event().to_structured_json();
    v["signature"] = 42.into();
    let msg = RawMessage {
        key: Some(b"E1".to_vec()),
        payload: Some(serde_json::to_vec(&v).unwrap()),
        ..Default::default()
    };
    assert_eq!(
        SignatureAttributes::of(&msg).unwrap_err().reason(),
        "bad_signature"
    );
    // A binary record whose `ce_signature` header (the last) is not UTF-8.
    let empty = SignatureAttributes {
        signature: Some(String::new()),
        ..Default::default()
    };
    let mut msg = record(&event(), &empty, true);
    msg.headers.last_mut().unwrap().1 = vec![0xff, 0xfe];
    assert_eq!(
        SignatureAttributes::of(&msg).unwrap_err().reason(),
        "bad_signature"
    );
}

const FLEET: &str = "the-fleet-secret-of-at-least-32-bytes";

fn signing_cfg(keys: Vec<KeyConfig>) -> Config {
    let mut cfg = Config::default();
    cfg.signing.required = true;
    cfg.signing.keys = keys;
    cfg.signing.fleet_secret_file = Some(secret_file(FLEET));
    // Signing required needs an evidence key too (not read by these shape checks).
    cfg.signing.evidence_key_env = Some("NOT_SET_ANYWHERE".into());
    cfg.signing.evidence_keys = vec![crate::config::EvidenceKey {
        public_key: super::ed25519_public_key(&[5; 32]),
        role: crate::config::EvidenceRole::Verifier,
        retired: false,
    }];
    cfg
}

fn secret_file(content: &str) -> String {
    let p = std::env::temp_dir().join(format!(
        "revoke-signing-{}.secret",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&p, format!("{content}\n")).unwrap();
    p.display().to_string()
}

#[test]
fn parse_hr_input_checks_only_when_required_and_due_records_need_the_fleet_signature() {
    let ev = event();
    let mut key = hmac_key("urn:hr:workday", None, "UNUSED");
    key.secret_env = None;
    key.secret_file = Some(secret_file(SECRET));
    let mut cfg = signing_cfg(vec![key]);
    let signed = record(&ev, &hmac_signer(SECRET, None).sign(&ev), false);
    let unsigned = record(&ev, &SignatureAttributes::default(), true);
    let forged = record(
        &ev,
        &hmac_signer("not-the-secret-but-32-bytes-long!!!", None).sign(&ev),
        true,
    );
    assert_eq!(parse_hr_input(&signed, &cfg).unwrap(), ev);
    assert_eq!(
        parse_hr_input(&unsigned, &cfg).unwrap_err().reason(),
        "unsigned"
    );
    assert_eq!(
        parse_hr_input(&forged, &cfg).unwrap_err().reason(),
        "bad_signature"
    );
    // Contract errors come first.
    let mut broken = signed.clone();
    broken.key = Some(b"E2".to_vec());
    assert_eq!(
        parse_hr_input(&broken, &cfg).unwrap_err().reason(),
        "key_mismatch"
    );
    // The due topic: only what the fleet signed passes — not an unsigned record, not one
    // with HR's valid signature, not one signed with another secret or for another topic.
    let fleet = Secret::from_env_or_file(None, cfg.signing.fleet_secret_file.as_deref()).unwrap();
    let on_due = |m: &RawMessage, sign_with: Option<(&Secret, &str)>| {
        let mut m = m.clone();
        m.topic = cfg.topics.due.clone();
        if let Some((secret, topic)) = sign_with {
            let sig = fleet_signature(
                secret,
                topic,
                m.key.as_deref().unwrap_or_default(),
                m.payload.as_deref().unwrap_or_default(),
                &[],
            );
            m.headers
                .push((FLEET_SIGNATURE_HEADER.into(), sig.into_bytes()));
        }
        m
    };
    let due = cfg.topics.due.clone();
    assert_eq!(
        parse_hr_input(&on_due(&unsigned, Some((&fleet, &due))), &cfg).unwrap(),
        ev
    );
    assert_eq!(
        parse_hr_input(&on_due(&unsigned, None), &cfg)
            .unwrap_err()
            .reason(),
        "unsigned"
    );
    assert_eq!(
        parse_hr_input(&on_due(&signed, None), &cfg)
            .unwrap_err()
            .reason(),
        "unsigned"
    );
    let other = Secret::from_env_or_file(
        None,
        Some(&secret_file("another-secret-of-at-least-32-bytes!")),
    )
    .unwrap();
    assert_eq!(
        parse_hr_input(&on_due(&unsigned, Some((&other, &due))), &cfg)
            .unwrap_err()
            .reason(),
        "bad_signature"
    );
    assert_eq!(
        parse_hr_input(&on_due(&unsigned, Some((&fleet, "revoke.restores"))), &cfg)
            .unwrap_err()
            .reason(),
        "bad_signature"
    );
    // A signed record whose value was changed afterwards.
    let mut changed = on_due(&unsigned, Some((&fleet, &due)));
    changed.payload = Some(
        String::from_utf8(changed.payload.unwrap())
            .unwrap()
            .replace("ada", "bob")
            .into_bytes(),
    );
    assert_eq!(
        parse_hr_input(&changed, &cfg).unwrap_err().reason(),
        "bad_signature"
    );
    // The headers that steer a worker are signed too: one added afterwards breaks it, one
    // signed with the record passes.
    let mut steered = on_due(&unsigned, Some((&fleet, &due)));
    steered.headers.push((
        crate::contract::REDRIVE_TARGET_HEADER.into(),
        b"vault".to_vec(),
    ));
    assert_eq!(
        parse_hr_input(&steered, &cfg).unwrap_err().reason(),
        "bad_signature"
    );
    let mut redrive = unsigned.clone();
    redrive.topic = due.clone();
    let hs = [(crate::contract::REDRIVE_TARGET_HEADER, "vault")];
    let sig = fleet_signature(
        &fleet,
        &due,
        redrive.key.as_deref().unwrap_or_default(),
        redrive.payload.as_deref().unwrap_or_default(),
        &hs,
    );
    redrive.headers.push((hs[0].0.into(), b"vault".to_vec()));
    redrive
        .headers
        .push((FLEET_SIGNATURE_HEADER.into(), sig.into_bytes()));
    assert_eq!(parse_hr_input(&redrive, &cfg).unwrap(), ev);
    // The replay mark is signed when present: a signed replay passes; the mark added to a
    // plain re-drive, or taken off a replay, breaks the signature. Records signed before the
    // mark existed (none) verify as they did.
    let replay_id = uuid::Uuid::from_u128(5).to_string();
    let mut replay = unsigned.clone();
    replay.topic = due.clone();
    let hs = [
        (crate::contract::REDRIVE_TARGET_HEADER, "vault"),
        (crate::contract::REPLAY_HEADER, replay_id.as_str()),
    ];
    let sig = fleet_signature(
        &fleet,
        &due,
        replay.key.as_deref().unwrap_or_default(),
        replay.payload.as_deref().unwrap_or_default(),
        &hs,
    );
    for (k, v) in hs {
        replay.headers.push((k.into(), v.as_bytes().to_vec()));
    }
    let mut stripped = replay.clone();
    replay
        .headers
        .push((FLEET_SIGNATURE_HEADER.into(), sig.clone().into_bytes()));
    assert_eq!(parse_hr_input(&replay, &cfg).unwrap(), ev);
    stripped
        .headers
        .retain(|(k, _)| k != crate::contract::REPLAY_HEADER);
    stripped
        .headers
        .push((FLEET_SIGNATURE_HEADER.into(), sig.into_bytes()));
    assert_eq!(
        parse_hr_input(&stripped, &cfg).unwrap_err().reason(),
        "bad_signature"
    );
    let mut marked = redrive.clone();
    marked.headers.push((
        crate::contract::REPLAY_HEADER.into(),
        replay_id.as_bytes().to_vec(),
    ));
    assert_eq!(
        parse_hr_input(&marked, &cfg).unwrap_err().reason(),
        "bad_signature"
    );
    // Off: nothing is checked.
    cfg.signing.required = false;
    assert_eq!(parse_hr_input(&forged, &cfg).unwrap(), ev);
    // Keys that cannot be read are this process's fault, not the record's.
    let cfg = signing_cfg(vec![hmac_key(
        "urn:hr:workday",
        None,
        "REVOKE_TEST_SIGNING_SECRET_THAT_IS_NEVER_SET",
    )]);
    let e = parse_hr_input(&signed, &cfg).unwrap_err();
    assert!(!e.is_dead_letter(), "{e}");
}

#[test]
fn key_set_reads_secrets_once_and_again_when_the_keys_change() {
    let path = secret_file(SECRET);
    let mut key = hmac_key("urn:hr:workday", None, "UNUSED");
    key.secret_env = None;
    key.secret_file = Some(path.clone());
    let mut cfg = signing_cfg(vec![key]);
    let a = cfg.signing.key_set().unwrap();
    std::fs::remove_file(&path).unwrap();
    let b = cfg.clone().signing.key_set().unwrap();
    assert!(Arc::ptr_eq(&a, &b), "read once, shared by clones");
    cfg.signing.keys.push(ed_key("urn:hr:sap", None, &SEED));
    let e = cfg.signing.key_set().unwrap_err();
    assert!(e.contains("cannot read secret file"), "{e}");
    // Short secrets are refused, without saying what they are.
    let mut key = hmac_key("urn:hr:workday", None, "UNUSED");
    key.secret_env = None;
    key.secret_file = Some(secret_file("hunter2"));
    let e = signing_cfg(vec![key]).signing.key_set().unwrap_err();
    assert!(
        e.contains("under the minimum") && !e.contains("hunter2"),
        "{e}"
    );
}

#[test]
fn config_shape_is_checked_without_reading_secrets() {
    let ok = signing_cfg(vec![
        hmac_key("urn:hr:workday", Some("a"), "NOT_SET_ANYWHERE"),
        ed_key("urn:hr:workday", Some("b"), &SEED),
    ]);
    assert_eq!(ok.signing.validate(), Ok(()));
    // The fleet secret: needed with signing required, from one place only, read late.
    let mut no_fleet = ok.clone();
    no_fleet.signing.fleet_secret_file = None;
    let e = no_fleet.signing.validate().unwrap_err();
    assert!(e.contains("fleet_secret_env"), "{e}");
    let mut both = ok.clone();
    both.signing.fleet_secret_env = Some("NOT_SET_ANYWHERE".into());
    assert!(both.signing.validate().unwrap_err().contains("not both"));
    let mut unset = ok.clone();
    unset.signing.fleet_secret_file = None;
    unset.signing.fleet_secret_env = Some("REVOKE_TEST_FLEET_SECRET_NEVER_SET".into());
    assert_eq!(unset.signing.validate(), Ok(()));
    let e = unset.signing.fleet_secret().unwrap_err();
    assert!(e.contains("not set"), "{e}");
    let mut short = ok.clone();
    short.signing.fleet_secret_file = Some(secret_file("too-short"));
    let e = short.signing.fleet_secret().unwrap_err();
    assert!(e.contains("under the minimum"), "{e}");
    let bad = |keys: Vec<KeyConfig>, says: &str| {
        let e = signing_cfg(keys).signing.validate().unwrap_err();
        assert!(e.contains(says), "{e}");
    };
    bad(vec![], "no [[signing.keys]]");
    let mut k = hmac_key("urn:hr:workday", None, "X");
    k.secret_env = None;
    bad(vec![k], "needs secret_env or secret_file");
    let mut k = hmac_key("urn:hr:workday", None, "X");
    k.secret_file = Some("/x".into());
    bad(vec![k], "not both");
    let mut k = ed_key("urn:hr:workday", None, &SEED);
    k.public_key = Some("not a key".into());
    bad(vec![k], "public_key is neither");
    let mut k = ed_key("urn:hr:workday", None, &SEED);
    k.public_key = Some("00".repeat(32));
    bad(vec![k], "public_key is a weak");
    let mut k = ed_key("urn:hr:workday", None, &SEED);
    k.public_key = None;
    bad(vec![k], "needs public_key");
    let mut k = ed_key("urn:hr:workday", None, &SEED);
    k.secret_env = Some("X".into());
    bad(vec![k], "not secret_*");
    bad(
        vec![
            hmac_key("urn:hr:workday", Some("a"), "X"),
            hmac_key("urn:hr:workday", Some("a"), "Y"),
        ],
        "unique per source",
    );
    bad(vec![hmac_key(" ", None, "X")], "source");
    // Off with no keys is the default, and valid.
    assert_eq!(SigningConfig::default().validate(), Ok(()));
}

#[test]
fn the_example_configs_commented_keys_load() {
    // deploy/revoke.example.toml shows [[signing.keys]] commented out; uncommented (and
    // with signing required) they must be a valid configuration.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/revoke.example.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut in_signing = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_signing = line == "[signing]";
        }
        let uncommented = line.strip_prefix("# ").filter(|rest| {
            in_signing
                && (rest.starts_with("[[signing.keys]]")
                    || rest.starts_with("[[signing.evidence_keys]]")
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    }))
        });
        match uncommented {
            Some(rest) => out.push_str(rest),
            None if line == "required = false" && in_signing => out.push_str("required = true"),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    let path = std::env::temp_dir().join(format!(
        "revoke-example-signing-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, out).unwrap();
    let cfg = Config::load(Some(&path), std::iter::empty());
    std::fs::remove_file(&path).ok();
    let cfg = cfg.unwrap();
    assert!(cfg.signing.required);
    assert_eq!(
        cfg.signing
            .keys
            .iter()
            .map(|k| (k.source.as_str(), k.algorithm))
            .collect::<Vec<_>>(),
        vec![
            ("urn:hr:workday", Algorithm::HmacSha256),
            ("urn:hr:sap", Algorithm::Ed25519)
        ]
    );
    assert_eq!(cfg.signing.evidence_keys.len(), 1);
    assert!(cfg.signing.evidence_key_env.is_some());
    // The file as shipped: off, no keys.
    let shipped = Config::load(Some(&p), std::iter::empty()).unwrap();
    assert!(!shipped.signing.required && shipped.signing.keys.is_empty());
}

#[test]
fn signing_is_configured_from_the_environment_too() {
    let env = vec![
        ("REVOKE_SIGNING__REQUIRED".to_string(), "true".to_string()),
        (
            "REVOKE_SIGNING__FLEET_SECRET_ENV".to_string(),
            "REVOKE_FLEET_SECRET".to_string(),
        ),
        (
            "REVOKE_SIGNING__KEYS".to_string(),
            r#"[{ source = "urn:hr:workday", key_id = "k1", algorithm = "hmac-sha256", secret_env = "HR_SECRET" }]"#
                .to_string(),
        ),
        (
            "REVOKE_SIGNING__EVIDENCE_KEY_ENV".to_string(),
            "REVOKE_EVIDENCE_KEY".to_string(),
        ),
        (
            "REVOKE_SIGNING__EVIDENCE_KEYS".to_string(),
            r#"[{ public_key = "DXVQdU4IAKXSN+71gmA1dmubPloVhoqUCrKJlYeI47A=", role = "worker" }]"#
                .to_string(),
        ),
    ];
    let cfg = Config::load(None, env).unwrap();
    assert!(cfg.signing.required);
    assert_eq!(cfg.signing.keys[0].secret_env.as_deref(), Some("HR_SECRET"));
    for (var, value) in [
        ("REVOKE_SIGNING__REQUIRED", "true"),
        (
            "REVOKE_SIGNING__KEYS",
            r#"[{ source = "s", algorithm = "rsa" }]"#,
        ),
        (
            "REVOKE_SIGNING__KEYS",
            r#"[{ source = "s", algorithm = "hmac-sha256", secret = "inline" }]"#,
        ),
        ("REVOKE_SIGNING__REQUIRD", "true"),
    ] {
        let r = Config::load(None, vec![(var.to_string(), value.to_string())]);
        assert!(r.is_err(), "{var}={value} accepted");
        assert!(!r.unwrap_err().to_string().contains("inline"));
    }
}

#[test]
fn keys_decode_from_hex_or_base64() {
    let vk = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key();
    let hex: String = vk.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(vk.to_bytes());
    assert_eq!(verifying_key(&hex).unwrap(), vk);
    assert_eq!(verifying_key(&hex.to_uppercase()).unwrap(), vk);
    assert_eq!(verifying_key(&b64).unwrap(), vk);
    assert_eq!(verifying_key(b64.trim_end_matches('=')).unwrap(), vk);
    assert!(decode_32("AAAA").unwrap_err().contains("3 bytes"));
    assert_eq!(verifying_key(&ed25519_public_key(&SEED)).unwrap(), vk);
}

#[test]
fn signers_come_from_config_and_never_print_their_keys() {
    let seed_hex: String = SEED.iter().map(|b| format!("{b:02x}")).collect();
    let mut ed = ed_key("urn:hr:sap", Some("ed-1"), &SEED);
    ed.private_key_file = Some(secret_file(&seed_hex));
    let mut hm = hmac_key("urn:hr:workday", Some("h-1"), "UNUSED");
    hm.secret_env = None;
    hm.secret_file = Some(secret_file(SECRET));
    let cfg = signing_cfg(vec![ed.clone(), hm, ed_key("urn:hr:other", None, &SEED)]);
    let set = cfg.signing.key_set().unwrap();

    let signer = cfg.signing.signer("urn:hr:sap", None).unwrap();
    let mut ev = event();
    ev.source = "urn:hr:sap".into();
    assert_eq!(set.verify(&ev, &signer.sign(&ev)), Ok(()));
    let printed = format!("{signer:?} {:?} {set:?}", cfg.signing);
    assert!(
        !printed.contains(SECRET) && !printed.contains(&seed_hex),
        "{printed}"
    );

    let signer = cfg.signing.signer("urn:hr:workday", Some("h-1")).unwrap();
    assert_eq!(set.verify(&event(), &signer.sign(&event())), Ok(()));

    let e = cfg.signing.signer("urn:hr:other", None).unwrap_err();
    assert!(e.contains("private_key"), "{e}");
    let e = cfg.signing.signer("urn:hr:nowhere", None).unwrap_err();
    assert!(e.contains("no [[signing.keys]]"), "{e}");
    let e = cfg.signing.signer("urn:hr:sap", Some("ed-9")).unwrap_err();
    assert!(e.contains("no key with key_id"), "{e}");

    // A private key that does not match its public key is refused.
    let mut mismatched = ed;
    mismatched.public_key = ed_key("x", None, &[9; 32]).public_key;
    let e = signing_cfg(vec![mismatched])
        .signing
        .signer("urn:hr:sap", None)
        .unwrap_err();
    assert!(
        e.contains("does not belong") && !e.contains(&seed_hex),
        "{e}"
    );
}

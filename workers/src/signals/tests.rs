//! The pure core: planner, subjects, SET claims, JWS signatures checked with the public JWK,
//! the push answer's judging, the poll queue, the bounded memory and config errors.

use super::judge::{judge, PushFailure};
use super::keys::{jwks, SigningKey};
use super::memory::Delivered;
use super::plan::{jti_for, plan};
use super::poll::{PollAnswer, PollQueue};
use super::set::*;
use super::subject::subject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Utc;
use revoke_shared::config::{Config, ReceiverConfig, ReceiverOwner, SignalKeyConfig};
use revoke_shared::contract::*;
use revoke_shared::secret::Secret;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn es256_pem() -> Secret {
    use p256::pkcs8::EncodePrivateKey;
    let k = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    Secret::new(
        k.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string(),
    )
}

fn eddsa_pem() -> Secret {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let k = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    Secret::new(
        k.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap()
            .to_string(),
    )
}

fn receiver(subject: &str) -> ReceiverConfig {
    ReceiverConfig {
        delivery: "push".into(),
        endpoint_url: Some("https://rp.example/ssf".into()),
        token_env: None,
        token_file: None,
        aud: "https://rp.example".into(),
        subject: subject.into(),
        subject_iss: Some("https://idp.example".into()),
        subject_from: "username".into(),
        events: vec![
            "session-revoked".into(),
            "credential-change".into(),
            "account-disabled".into(),
        ],
        extension_credential_types: false,
        owner: ReceiverOwner {
            name: "rp-team".into(),
            contact: "rp@example.com".into(),
        },
        sla_secs: 60,
    }
}

fn object(kind: &str, id: &str, outcome: ObjectOutcome) -> ObjectEvidence {
    ObjectEvidence {
        object_kind: kind.into(),
        object_id: id.into(),
        sponsored: false,
        action: "revoke".into(),
        outcome,
        removed_at: Some(Utc::now()),
        actor: Actor {
            worker_id: "w".into(),
            principal: "p".into(),
        },
        verified: true,
        provenance: Provenance::Observed,
        read_back: "gone".into(),
        error: None,
    }
}

fn done(objects: Vec<ObjectEvidence>) -> TargetStatus {
    let mut t = TargetStatus::pending();
    t.state = TargetState::Done;
    t.instance = Some("main".into());
    t.confirmed_at = Some(Utc::now());
    t.objects = objects;
    t
}

/// A closed case: SaaS sessions revoked, a cloud access key and login profile revoked, a vault
/// target still pending (its token planned nothing).
fn case(state: CaseState) -> Case {
    let mut c = Case::opened(
        uuid::Uuid::from_u128(42),
        "E-1",
        vec![TargetKind::Saas, TargetKind::Cloud, TargetKind::Vault],
        Utc::now(),
    );
    c.state = state;
    c.identity = Some(Identity {
        employee_id: "E-1".into(),
        email: Some("ada@example.com".into()),
        username: Some("ada".into()),
        kind: IdentityKind::Employee,
    });
    c.targets.insert(
        TargetKind::Saas,
        done(vec![
            object("session", "ada/sessions", ObjectOutcome::Revoked),
            object("account", "scim:ada", ObjectOutcome::Revoked),
        ]),
    );
    c.targets.insert(
        TargetKind::Cloud,
        done(vec![
            object("access_key", "AKIA1", ObjectOutcome::Revoked),
            object("login_profile", "iam-user:ada", ObjectOutcome::Revoked),
            object("ssh_key", "k2", ObjectOutcome::AlreadyAbsent),
        ]),
    );
    c
}

fn receivers(list: &[(&str, ReceiverConfig)]) -> BTreeMap<String, ReceiverConfig> {
    list.iter()
        .map(|(n, r)| (n.to_string(), r.clone()))
        .collect()
}

#[test]
fn a_closed_case_owes_sessions_standard_credentials_and_the_account() {
    let p = plan(
        &case(CaseState::Closed),
        &receivers(&[("app", receiver("email"))]),
    );
    let types: Vec<&str> = p.sets.iter().map(|s| s.event_type).collect();
    assert_eq!(
        types,
        vec![SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED]
    );
    let cred = &p.sets[1];
    assert_eq!(cred.event["credential_type"], "password");
    assert_eq!(cred.event["change_type"], "revoke");
    assert_eq!(cred.event["initiating_entity"], "policy");
    for s in &p.sets {
        assert_eq!(
            s.txn.as_deref(),
            Some(uuid::Uuid::from_u128(42).to_string().as_str())
        );
        assert_eq!(
            s.sub_id,
            json!({"format": "email", "email": "ada@example.com"})
        );
        assert_eq!(s.aud, "https://rp.example");
    }
    assert!(p.skipped.is_empty());
}

#[test]
fn a_replay_case_owes_what_it_revoked_again_and_nothing_when_all_was_still_gone() {
    let mut again = case(CaseState::Closed);
    again.replay = Some(Box::new(revoke_shared::contract::CaseReplay {
        of_case: uuid::Uuid::from_u128(41),
        of_state: CaseState::Closed,
        of_closed_at: Some(Utc::now()),
        skipped: Vec::new(),
        authenticity: revoke_shared::contract::Authenticity::Unauthenticated,
        request: revoke_shared::contract::ReplayRequest {
            schema: revoke_shared::contract::REPLAY_REQUEST_SCHEMA.into(),
            replay_id: uuid::Uuid::from_u128(1),
            case_id: uuid::Uuid::from_u128(41),
            identity_id: "E-1".into(),
            targets: Vec::new(),
            from: Utc::now(),
            to: Utc::now(),
            by: "alice".into(),
            at: Utc::now(),
            note: None,
            signature: None,
        },
    }));
    let rx = receivers(&[("app", receiver("email"))]);
    let types: Vec<&str> = plan(&again, &rx)
        .sets
        .iter()
        .map(|s| s.event_type)
        .collect();
    assert_eq!(
        types,
        vec![SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED],
        "access that came back and went again: the receivers hear it again"
    );
    // An account disabled again is owed too, without sessions or credentials.
    let mut account_only = again.clone();
    account_only.targets.insert(
        TargetKind::Saas,
        done(vec![object("account", "scim:ada", ObjectOutcome::Revoked)]),
    );
    account_only.targets.insert(
        TargetKind::Cloud,
        done(vec![object("ssh_key", "k2", ObjectOutcome::AlreadyAbsent)]),
    );
    let types: Vec<&str> = plan(&account_only, &rx)
        .sets
        .iter()
        .map(|s| s.event_type)
        .collect();
    assert_eq!(types, vec![ACCOUNT_DISABLED]);
    for t in again.targets.values_mut() {
        for o in &mut t.objects {
            o.outcome = ObjectOutcome::AlreadyAbsent;
        }
    }
    assert!(
        plan(&again, &rx).sets.is_empty(),
        "everything still gone: the replayed case already told them"
    );
}

#[test]
fn a_sign_in_after_departure_owes_one_more_session_revoked_per_finding() {
    let mut c = case(CaseState::Escalated);
    let r = receivers(&[("app", receiver("email"))]);
    let before = plan(&c, &r).sets.len();
    let target = TargetRef {
        kind: TargetKind::Directory,
        instance: "sso".into(),
    };
    let finding = |kind, event: &str| AccessFinding {
        schema: ACCESS_FINDING_SCHEMA.into(),
        finding_id: AccessFinding::id_for(c.case_id, kind, &target, "sign_in", event, event),
        case_id: c.case_id,
        identity_id: "E-1".into(),
        kind,
        target: target.clone(),
        object_kind: "sign_in".into(),
        object_id: event.into(),
        observed_at: Utc::now(),
        read_back: "LOGIN".into(),
        worker: WorkerInfo {
            id: "watch".into(),
            version: "test".into(),
        },
        principal: "revoke-admin".into(),
    };
    c.findings
        .push(finding(FindingKind::SignInAfterDeparture, "ev-1"));
    c.findings
        .push(finding(FindingKind::SignInAfterDeparture, "ev-2"));
    // A returned account is reported to its owner, not announced as disabled: no SET.
    c.findings
        .push(finding(FindingKind::AccessReturned, "ev-3"));
    let p = plan(&c, &r);
    let extra: Vec<_> = p.sets[before..].iter().collect();
    assert_eq!(extra.len(), 2, "{:?}", p.sets);
    assert!(extra.iter().all(|s| s.event_type == SESSION_REVOKED));
    assert_ne!(extra[0].jti, extra[1].jti);
    assert_eq!(plan(&c, &r).sets[before].jti, extra[0].jti, "stable jti");
}

#[test]
fn extension_credential_types_only_for_receivers_that_agreed() {
    let mut ext = receiver("opaque");
    ext.extension_credential_types = true;
    let p = plan(&case(CaseState::Open), &receivers(&[("ext", ext)]));
    let creds: Vec<&str> = p
        .sets
        .iter()
        .filter(|s| s.event_type == CREDENTIAL_CHANGE)
        .map(|s| s.event["credential_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        creds,
        vec!["access-key", "password"],
        "the already-absent ssh key owes nothing"
    );
    assert!(
        p.sets.iter().all(|s| s.event_type != ACCOUNT_DISABLED),
        "an open case is not closed"
    );
}

#[test]
fn subscriptions_rescinds_and_recorded_deliveries_limit_the_plan() {
    let mut only_sessions = receiver("email");
    only_sessions.events = vec!["session-revoked".into()];
    let rs = receivers(&[("s", only_sessions)]);
    let p = plan(&case(CaseState::Closed), &rs);
    assert_eq!(p.sets.len(), 1);
    assert_eq!(p.sets[0].event_type, SESSION_REVOKED);
    for state in [
        CaseState::Rescinded,
        CaseState::Rejected,
        CaseState::Held,
        CaseState::Pending,
    ] {
        assert_eq!(plan(&case(state), &rs), Default::default(), "{state:?}");
    }
    let mut c = case(CaseState::Closed);
    c.signals.push(SignalDelivery {
        schema: SIGNAL_DELIVERY_SCHEMA.into(),
        case_id: c.case_id,
        identity_id: c.identity_id.clone(),
        receiver: "s".into(),
        outcome: DeliveryOutcome::Delivered,
        sets: vec![DeliveredSet {
            jti: p.sets[0].jti.clone(),
            event_type: SESSION_REVOKED.into(),
            via: "push".into(),
            delivered_at: Some(Utc::now()),
        }],
        owner: Owner {
            name: "x".into(),
            contact: "y".into(),
        },
        detail: String::new(),
        at: Utc::now(),
        transmitter: WorkerInfo {
            id: "t".into(),
            version: "0".into(),
        },
    });
    assert!(
        plan(&c, &rs).sets.is_empty(),
        "accepted SETs recorded in the case are not planned again"
    );
}

#[test]
fn jtis_are_stable_and_distinct() {
    let c = case(CaseState::Closed);
    let rs = receivers(&[("a", receiver("email")), ("b", receiver("email"))]);
    let p1 = plan(&c, &rs);
    let mut newer = c.clone();
    newer.revision += 3;
    assert_eq!(plan(&newer, &rs), p1, "a newer version plans the same jtis");
    let mut jtis: Vec<&str> = p1.sets.iter().map(|s| s.jti.as_str()).collect();
    jtis.sort();
    jtis.dedup();
    assert_eq!(
        jtis.len(),
        p1.sets.len(),
        "one jti per (receiver, event, object)"
    );
    assert_ne!(
        jti_for(&c, "a", SESSION_REVOKED, "x"),
        jti_for(&c, "b", SESSION_REVOKED, "x")
    );
}

#[test]
fn subject_formats_and_missing_fields() {
    let who = case(CaseState::Closed).identity.unwrap();
    assert_eq!(
        subject(&receiver("email"), Some(&who)).unwrap(),
        json!({"format": "email", "email": "ada@example.com"})
    );
    assert_eq!(
        subject(&receiver("iss_sub"), Some(&who)).unwrap(),
        json!({"format": "iss_sub", "iss": "https://idp.example", "sub": "ada"})
    );
    let mut opaque = receiver("opaque");
    opaque.subject_from = "employee_id".into();
    assert_eq!(
        subject(&opaque, Some(&who)).unwrap(),
        json!({"format": "opaque", "id": "E-1"})
    );
    let mut no_email = who.clone();
    no_email.email = Some("  ".into());
    assert_eq!(
        subject(&receiver("email"), Some(&no_email)),
        Err("no_email")
    );
    assert_eq!(subject(&receiver("email"), None), Err("no_identity"));
    let mut c = case(CaseState::Closed);
    c.identity = Some(no_email);
    let p = plan(
        &c,
        &receivers(&[("app", receiver("email")), ("idp", receiver("iss_sub"))]),
    );
    assert_eq!(p.skipped, vec![("app".to_string(), "no_email")]);
    assert!(
        p.sets.iter().all(|s| s.receiver == "idp"),
        "never sent with a wrong subject"
    );
}

#[test]
fn set_claims_carry_what_rfc_8417_and_ssf_ask() {
    let p = &plan(
        &case(CaseState::Closed),
        &receivers(&[("app", receiver("email"))]),
    )
    .sets[2];
    let c = p.claims("https://revoke.example", 1_700_000_000);
    assert_eq!(c["iss"], "https://revoke.example");
    assert_eq!(c["aud"], "https://rp.example");
    assert_eq!(c["iat"], 1_700_000_000);
    assert_eq!(c["jti"], p.jti.as_str());
    assert_eq!(c["txn"], uuid::Uuid::from_u128(42).to_string());
    assert_eq!(c["sub_id"]["format"], "email");
    assert_eq!(
        c["events"].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec![ACCOUNT_DISABLED]
    );
    assert!(c.get("exp").is_none() && c.get("sub").is_none());
}

fn parts(jws: &str) -> (Value, Value, Vec<u8>, String) {
    let v: Vec<&str> = jws.split('.').collect();
    assert_eq!(v.len(), 3);
    let h = serde_json::from_slice(&B64.decode(v[0]).unwrap()).unwrap();
    let c = serde_json::from_slice(&B64.decode(v[1]).unwrap()).unwrap();
    (
        h,
        c,
        B64.decode(v[2]).unwrap(),
        format!("{}.{}", v[0], v[1]),
    )
}

#[test]
fn es256_and_eddsa_sets_verify_with_the_published_jwk() {
    let es = SigningKey::from_pem("k-es", "ES256", &es256_pem()).unwrap();
    let ed = SigningKey::from_pem("k-ed", "EdDSA", &eddsa_pem()).unwrap();
    let set = json!({"iss": "x", "jti": "1"});
    let doc = jwks(&[es, ed]);
    let es = SigningKey::from_pem("k-es", "ES256", &es256_pem()).unwrap();
    let ed = SigningKey::from_pem("k-ed", "EdDSA", &eddsa_pem()).unwrap();
    assert_eq!(doc["keys"][0]["kid"], "k-es");
    assert_eq!(doc["keys"][1]["kid"], "k-ed");
    assert!(
        doc.to_string().find("\"d\"").is_none(),
        "no private part in the JWKS"
    );

    let (h, c, sig, input) = parts(&super::jws::sign(&es, &set));
    assert_eq!(
        h,
        json!({"typ": "secevent+jwt", "alg": "ES256", "kid": "k-es"})
    );
    assert_eq!(c, set);
    let jwk = &doc["keys"][0];
    let mut point = vec![4u8];
    point.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    use p256::ecdsa::signature::Verifier;
    let s = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    assert!(vk.verify(input.as_bytes(), &s).is_ok());
    assert!(vk.verify(b"tampered", &s).is_err());

    let (h, _, sig, input) = parts(&super::jws::sign(&ed, &set));
    assert_eq!(h["alg"], "EdDSA");
    let x: [u8; 32] = B64
        .decode(doc["keys"][1]["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let s = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    assert!(vk.verify_strict(input.as_bytes(), &s).is_ok());
}

#[test]
fn a_key_of_the_wrong_kind_or_garbage_is_refused_without_echoing_it() {
    let e = SigningKey::from_pem("k", "EdDSA", &es256_pem()).unwrap_err();
    assert!(e.contains("Ed25519"), "{e}");
    let e = SigningKey::from_pem(
        "k",
        "ES256",
        &Secret::new("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----"),
    )
    .unwrap_err();
    assert!(!e.contains("c2VjcmV0"), "{e}");
    let cfg = SignalKeyConfig {
        kid: "k1".into(),
        alg: "ES256".into(),
        private_key_env: Some("REVOKE_TEST_SIGNALS_UNSET_KEY".into()),
        private_key_file: None,
    };
    let e = SigningKey::from_config(0, &cfg).unwrap_err();
    assert!(
        e.starts_with("signals.keys[0] (kid \"k1\")")
            && e.contains("REVOKE_TEST_SIGNALS_UNSET_KEY"),
        "{e}"
    );
}

#[test]
fn push_answers_are_judged_by_rfc_8935_error_code() {
    let body = |err: &str| {
        json!({"err": err, "description": "d"})
            .to_string()
            .into_bytes()
    };
    assert_eq!(judge(202, b""), Ok(()));
    for refused in ["invalid_request", "invalid_issuer", "invalid_audience"] {
        assert_eq!(
            judge(400, &body(refused)),
            Err(PushFailure::Refused(refused.into(), "d".into()))
        );
    }
    for retried in [
        "invalid_key",
        "authentication_failed",
        "access_denied",
        "something_new",
    ] {
        assert!(
            matches!(judge(400, &body(retried)), Err(PushFailure::Retry(_))),
            "{retried}"
        );
    }
    for status in [200, 204, 400, 401, 403, 404, 408, 429, 500, 503, 302] {
        assert!(
            matches!(judge(status, b"not json"), Err(PushFailure::Retry(_))),
            "{status}"
        );
    }
}

#[test]
fn the_poll_queue_offers_acks_and_reoffers_nothing_early() {
    let q = PollQueue::default();
    let mut a = q.offer("j1", "t1".into());
    let _b = q.offer("j2", "t2".into());
    let (sets, more) = q.take(1);
    assert_eq!(
        (sets, more),
        (vec![("j1".to_string(), "t1".to_string())], true)
    );
    let (sets, more) = q.take(10);
    assert_eq!(
        (sets, more),
        (vec![("j2".to_string(), "t2".to_string())], false)
    );
    assert!(
        q.take(10).0.is_empty(),
        "offered SETs wait for an ack before being offered again"
    );
    let now = Utc::now();
    q.answer("j1", PollAnswer::Acked(now));
    q.answer("j1", PollAnswer::Acked(now));
    assert_eq!(a.try_recv().unwrap(), PollAnswer::Acked(now));
}

#[test]
fn memory_is_bounded_oldest_first() {
    let mut m = Delivered::new(2);
    m.insert("r", "1");
    m.insert("r", "2");
    m.insert("r", "2");
    m.insert("r", "3");
    assert!(!m.contains("r", "1") && m.contains("r", "2") && m.contains("r", "3"));
}

#[test]
fn config_errors_name_the_key() {
    let load = |text: &str| {
        toml::from_str::<Config>(text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string()
    };
    let base = "[[signals.keys]]\nkid = \"k1\"\nalg = \"ES256\"\nprivate_key_env = \"K\"\n";
    let rx = "[signals.receivers.app]\ndelivery = \"push\"\naud = \"a\"\nowner = { name = \"n\", contact = \"c\" }\n";
    assert!(load(&format!("{base}{rx}")).contains("signals.receivers.app.endpoint_url"));
    assert!(load(&format!(
        "{base}{rx}endpoint_url = \"https://x\"\nsubject = \"iss_sub\"\n"
    ))
    .contains("signals.receivers.app.subject_iss"));
    assert!(load(&format!(
        "{base}{rx}endpoint_url = \"https://x\"\nevents = [\"nope\"]\n"
    ))
    .contains("signals.receivers.app.events"));
    assert!(load(&rx.replace("push", "poll")).contains("signals.keys"));
    assert!(
        load("[[signals.keys]]\nkid = \"k\"\nalg = \"RS256\"\nprivate_key_env = \"K\"\n")
            .contains("signals.keys[0].alg")
    );
    assert!(load("[signals]\nissuer = \"ftp://x\"\n").contains("signals.issuer"));
}

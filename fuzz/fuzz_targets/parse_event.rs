//! Fuzzes `parse_hr_event` with arbitrary Kafka records: key, headers and value.
//!
//! Input format (the hostile corpus generator writes seeds in it: `revoke_tests::hostile::
//! encode_fuzz_input`): `key_len: u16 LE` (0xFFFF = no key), key bytes, `n_headers: u8`, per
//! header `name_len: u8`, name, `value_len: u16 LE`, value; the rest is the value (an empty rest
//! an empty value). Input too short for its own lengths is cut where it ends.
//!
//! Asserted: no panic, whatever the input; a refusal has a bounded reason code and a message;
//! an accepted event satisfies the contract (docs/contracts/hr-terminations.md): its key is its subject and its
//! `employee_id`, every identity field passes the identity rules, required fields are there and
//! well-formed, and it round-trips through both content modes unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use revoke_shared::contract::{
    check_value, parse_hr_event, HrEvent, HrEventKind, IdentityField, RawMessage,
};

/// The default `consumer.max_event_bytes`, and a small one so the oversize path is reached too.
const LIMITS: [usize; 2] = [256 * 1024, 4096];

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u8(&mut self) -> usize {
        self.take(1).first().copied().unwrap_or(0) as usize
    }
    fn u16(&mut self) -> usize {
        let b = self.take(2);
        match b {
            [lo, hi] => u16::from_le_bytes([*lo, *hi]) as usize,
            [lo] => *lo as usize,
            _ => 0,
        }
    }
}

fn decode(data: &[u8]) -> RawMessage {
    let mut c = Cursor(data);
    let key = match c.u16() {
        0xFFFF => None,
        n => Some(c.take(n).to_vec()),
    };
    let mut headers = Vec::new();
    for _ in 0..c.u8() {
        let name_len = c.u8();
        // Names as the consume loop hands them over: decoded lossily.
        let name = String::from_utf8_lossy(c.take(name_len)).into_owned();
        let value_len = c.u16();
        headers.push((name, c.take(value_len).to_vec()));
    }
    RawMessage {
        topic: "hr.terminations".into(),
        partition: 0,
        offset: 0,
        key,
        payload: Some(c.0.to_vec()),
        headers,
        timestamp_ms: None,
    }
}

fn plain(field: &str, v: &str, max: usize) {
    assert!(!v.trim().is_empty(), "{field} is blank");
    assert!(v.len() <= max, "{field} is {} bytes", v.len());
    assert!(
        !v.chars().any(char::is_control),
        "{field} has a control char"
    );
    assert_eq!(v, v.trim(), "{field} has outer white space");
}

fn check_accepted(msg: &RawMessage, limit: usize, ev: &HrEvent) {
    let payload = msg.payload.as_deref().unwrap_or_default();
    assert!(!payload.is_empty() && payload.len() <= limit);
    // One record speaks for exactly the identity it is keyed by.
    assert_eq!(msg.key.as_deref(), Some(ev.subject.as_bytes()));
    assert_eq!(ev.data.identity.employee_id, ev.subject);
    assert_eq!(check_value(IdentityField::Id, &ev.subject), Ok(()));
    if let Some(u) = &ev.data.identity.username {
        assert_eq!(check_value(IdentityField::Username, u), Ok(()));
    }
    if let Some(e) = &ev.data.identity.email {
        assert_eq!(check_value(IdentityField::Email, e), Ok(()));
        let parts: Vec<&str> = e.split('@').collect();
        assert!(parts.len() == 2 && !parts[0].is_empty() && !parts[1].is_empty());
    }
    plain("id", &ev.id, 256);
    plain("source", &ev.source, 256);
    for (field, v) in [
        ("reason", &ev.data.reason),
        ("requested_by", &ev.data.requested_by),
        ("approved_by", &ev.data.approved_by),
        ("rescinds", &ev.data.rescinds),
    ] {
        if let Some(v) = v {
            assert!(
                v.len() <= 1024 && !v.chars().any(char::is_control),
                "{field}"
            );
        }
    }
    if ev.kind == HrEventKind::Termination {
        assert!(ev.data.effective_at.is_some());
    }
    // What workers and the verifier compute from it must not panic either.
    let _ = ev.case_id();
    let _ = ev.is_scheduled();

    // What revoke itself writes (`revoke publish`, both modes) reads back as the same event.
    let structured = serde_json::to_vec(&ev.to_structured_json()).expect("serialises");
    let again = RawMessage {
        key: msg.key.clone(),
        payload: Some(structured),
        ..RawMessage::default()
    };
    assert_eq!(parse_hr_event(&again, usize::MAX).as_ref(), Ok(ev));
    let (headers, body) = ev.to_binary();
    let again = RawMessage::binary(msg.key.clone(), headers, body);
    assert_eq!(parse_hr_event(&again, usize::MAX).as_ref(), Ok(ev));
}

fuzz_target!(|data: &[u8]| {
    let msg = decode(data);
    for limit in LIMITS {
        match parse_hr_event(&msg, limit) {
            Ok(ev) => check_accepted(&msg, limit, &ev),
            Err(e) => {
                // A bounded reason (a metric label) and a message for the dead letter.
                let r = e.reason();
                assert!(
                    !r.is_empty()
                        && r.len() <= 32
                        && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{r:?}"
                );
                assert!(!e.to_string().is_empty());
            }
        }
    }
});

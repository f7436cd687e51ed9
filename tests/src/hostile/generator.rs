//! The generator: its state, the JSON and binary-mode shapes of an event, and how a record is
//! written down with what the fleet must do with it.

use super::*;

pub(super) struct Gen {
    pub(super) rng: Rng,
    pub(super) n: usize,
    pub(super) limit: usize,
    pub(super) out: Vec<HostileRecord>,
    pub(super) oversize: usize,
}

/// A structured event as JSON, and its parts.
pub(super) fn event(id: &str, evt: &str) -> Value {
    json!({
        "specversion": "1.0",
        "type": "identity.termination.v1",
        "source": SOURCE,
        "id": evt,
        "subject": id,
        "time": TIME,
        "datacontenttype": "application/json",
        "data": {
            "identity": {
                "employee_id": id,
                "email": "someone@example.com",
                "username": "someone",
                "kind": "employee"
            },
            "effective_at": TIME,
            "reason": "resignation",
            "requested_by": "hr:hostile-corpus"
        }
    })
}

pub(super) fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON")
}

/// Binary-mode headers for `v` (a structured event), and its `data` as the body.
pub(super) fn to_binary(v: &Value) -> (RawHeaders, Vec<u8>) {
    let mut headers = Vec::new();
    for (attr, header) in [
        ("specversion", "ce_specversion"),
        ("type", "ce_type"),
        ("source", "ce_source"),
        ("id", "ce_id"),
        ("subject", "ce_subject"),
        ("time", "ce_time"),
        ("datacontenttype", "content-type"),
    ] {
        if let Some(s) = v.get(attr).and_then(Value::as_str) {
            headers.push((header.as_bytes().to_vec(), s.as_bytes().to_vec()));
        }
    }
    (headers, bytes(&v["data"]))
}

pub(super) fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            _ => c,
        })
        .collect()
}

impl Gen {
    pub(super) fn next_n(&mut self) -> usize {
        self.n += 1;
        self.n
    }

    /// A fresh attacker identity and event id; the identity is never accepted (a refused
    /// record's subject) so nothing about it may be touched either.
    pub(super) fn fresh(&mut self) -> (String, String) {
        let n = self.next_n();
        (format!("H{n:05}"), format!("hostile-{n}"))
    }

    pub(super) fn victim(&mut self) -> String {
        bystander(self.rng.below(BYSTANDERS))
    }

    /// A record keyed by `key`, with a payload.
    pub(super) fn keyed(
        &mut self,
        family: &'static str,
        key: &str,
        payload: Vec<u8>,
        headers: RawHeaders,
        expect: Expect,
    ) {
        self.push(family, Some(key.as_bytes()), Some(payload), headers, expect);
    }

    pub(super) fn push(
        &mut self,
        family: &'static str,
        key: Option<&[u8]>,
        payload: Option<Vec<u8>>,
        headers: RawHeaders,
        expect: Expect,
    ) {
        self.out.push(HostileRecord {
            family,
            key: key.map(<[u8]>::to_vec),
            payload,
            headers,
            expect,
        });
    }

    /// A structured record keyed by `key`.
    pub(super) fn structured(
        &mut self,
        family: &'static str,
        key: &str,
        v: &Value,
        reason: &'static str,
    ) {
        self.keyed(family, key, bytes(v), vec![], Dlq(reason));
    }

    /// `v` as a structured or, with equal chance, a binary-mode record, expected in the DLQ with
    /// `reason`: the envelope checks must hold in both modes.
    pub(super) fn either_mode(
        &mut self,
        family: &'static str,
        key: &str,
        v: &Value,
        reason: &'static str,
    ) {
        if self.rng.below(2) == 0 {
            self.structured(family, key, v, reason);
        } else {
            let (h, body) = to_binary(v);
            self.keyed(family, key, body, h, Dlq(reason));
        }
    }
}

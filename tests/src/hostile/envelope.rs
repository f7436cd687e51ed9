//! Families of records whose envelope is wrong: unknown types and spec versions, foreign content
//! types, missing or invalid fields, key problems, binary-mode headers contradicting the body.

use super::*;

impl Gen {
    /// A fresh event whose `field` is one of `values`, in either mode, expected in the DLQ with
    /// `reason`.
    fn field_one_of(
        &mut self,
        family: &'static str,
        field: &str,
        values: &[&'static str],
        reason: &'static str,
    ) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        v[field] = (*self.rng.pick(values)).into();
        self.either_mode(family, &id, &v, reason);
    }

    pub(super) fn unknown_type(&mut self) {
        self.field_one_of(
            "unknown_type",
            "type",
            &[
                "identity.termination.v2",
                "identity.termination.v0",
                "identity.termination",
                "identity.termination.v1.1",
                "IDENTITY.TERMINATION.V1",
                "identity.promotion.v1",
                "identity.termination_rescinded.v2",
                "",
                " identity.termination.v1",
                "identity.termination.v1 ",
                "identity.termination.v1\u{0}",
                "identity.termination.v1\u{200B}",
                "com.example.identity.termination.v1",
                "*",
            ],
            "unknown_type",
        );
    }

    pub(super) fn bad_specversion(&mut self) {
        self.field_one_of(
            "specversion",
            "specversion",
            &[
                "0.3", "1", "1.0.0", "2.0", "", "1.0 ", " 1.0", "1.O", "1,0", "v1.0", "1.0\u{0}",
            ],
            "unsupported_specversion",
        );
    }

    pub(super) fn bad_content_type(&mut self) {
        self.field_one_of(
            "content_type",
            "datacontenttype",
            &[
                "text/plain",
                "application/xml",
                "application/octet-stream",
                "text/json",
                "application/jsonx",
                "",
                "application/cloudevents+xml",
                ";application/json",
                "application/json+xml",
            ],
            "unsupported_content_type",
        );
    }

    pub(super) fn missing_field(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        let obj = v.as_object_mut().expect("object");
        match self.rng.below(10) {
            0 => drop(obj.remove("specversion")),
            1 => drop(obj.remove("type")),
            2 => drop(obj.remove("id")),
            3 => drop(obj.remove("source")),
            4 => drop(obj.remove("subject")),
            5 => drop(obj.remove("time")),
            6 => drop(obj.remove("data")),
            7 => {
                // An attribute that is null counts as missing.
                let attr = *self.rng.pick(&["type", "id", "source", "subject", "time"]);
                obj.insert(attr.into(), Value::Null);
            }
            8 => {
                v["data"]["effective_at"] = Value::Null;
            }
            _ => {
                // Binary mode without one of its headers.
                let (mut h, body) = to_binary(&v);
                let drop_name =
                    *self
                        .rng
                        .pick(&["ce_type", "ce_source", "ce_id", "ce_subject", "ce_time"]);
                h.retain(|(k, _)| k != drop_name.as_bytes());
                self.keyed("missing_field", &id, body, h, Dlq("missing_field"));
                return;
            }
        }
        self.structured("missing_field", &id, &v, "missing_field");
    }

    pub(super) fn invalid_field(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        match self.rng.below(8) {
            0 => {
                v["time"] = (*self.rng.pick(&[
                    "yesterday",
                    "2026-13-01T00:00:00Z",
                    "2026-11-24 09:00:00",
                    "",
                    "2026-11-24T09:00:00",
                    "1732438800",
                    "2026-11-24T25:00:00Z",
                ]))
                .into()
            }
            1 => {
                v["id"] = (*self
                    .rng
                    .pick(&["", "  ", " evt", "evt\u{0}", "ev\nt", "\u{7}"]))
                .into()
            }
            2 => {
                v["source"] = (*self
                    .rng
                    .pick(&["", " urn:hr", "urn:hr\u{0}", "urn:\rhr", "\t"]))
                .into()
            }
            3 => {
                v["data"]["identity"]["email"] = (*self.rng.pick(&[
                    "a@b@example.com",
                    "@example.com",
                    "ada@",
                    "ada",
                    "*@*@example.com",
                ]))
                .into()
            }
            4 => {
                // The identity in `data` is someone else than the subject (and key).
                v["data"]["identity"]["employee_id"] = self.victim().into()
            }
            5 => v["data"]["reason"] = "line one\nline two".into(),
            6 => v["data"]["approved_by"] = "mgr:\u{0}carol".into(),
            _ => v["data"]["rescinds"] = "evt\u{1b}[31m".into(),
        }
        self.structured("invalid_field", &id, &v, "invalid_field");
    }

    pub(super) fn key_problems(&mut self) {
        let (id, evt) = self.fresh();
        let v = event(&id, &evt);
        let b = bytes(&v);
        let victim = self.victim();
        let (key, reason): (Option<Vec<u8>>, &'static str) = match self.rng.below(9) {
            0 | 1 => (None, "missing_key"),
            2 => (Some(Vec::new()), "key_mismatch"),
            3 => (Some(victim.into_bytes()), "key_mismatch"),
            4 => (Some(format!("{id}\0").into_bytes()), "key_mismatch"),
            5 => (Some(id.to_lowercase().into_bytes()), "key_mismatch"),
            6 => (Some([id.as_bytes(), b"\xFF"].concat()), "key_mismatch"),
            7 => (Some(format!("{id} ").into_bytes()), "key_mismatch"),
            _ => (Some(b"*".to_vec()), "key_mismatch"),
        };
        let binary = self.rng.below(2) == 0;
        let (headers, payload) = if binary { to_binary(&v) } else { (vec![], b) };
        self.push("key", key.as_deref(), Some(payload), headers, Dlq(reason));
    }

    pub(super) fn binary_contradictions(&mut self) {
        let (id, evt) = self.fresh();
        let victim = self.victim();
        let v = event(&id, &evt);
        let (mut h, body) = to_binary(&v);
        let set = |h: &mut RawHeaders, name: &str, value: &[u8]| {
            for (k, val) in h.iter_mut() {
                if k == name.as_bytes() {
                    *val = value.to_vec();
                }
            }
        };
        let (key, body, reason): (Vec<u8>, Vec<u8>, &'static str) = match self.rng.below(10) {
            0 => {
                // Header names the victim; key and body name the attacker.
                set(&mut h, "ce_subject", victim.as_bytes());
                (id.clone().into_bytes(), body, "invalid_field")
            }
            1 => {
                // Header and body name the attacker; the key names the victim.
                (victim.clone().into_bytes(), body, "key_mismatch")
            }
            2 => {
                // Key and header name the victim; the body the attacker.
                set(&mut h, "ce_subject", victim.as_bytes());
                (victim.clone().into_bytes(), body, "invalid_field")
            }
            3 => {
                // The whole structured event as the body of a binary record.
                (id.clone().into_bytes(), bytes(&v), "wrong_shape")
            }
            4 => {
                set(&mut h, "ce_specversion", b"0.3");
                (id.clone().into_bytes(), body, "unsupported_specversion")
            }
            5 => {
                set(&mut h, "ce_subject", b"\xFF\xFEB0001");
                (id.clone().into_bytes(), body, "invalid_field")
            }
            6 => {
                set(&mut h, "content-type", b"text/plain");
                (id.clone().into_bytes(), body, "unsupported_content_type")
            }
            7 => {
                // Two subjects: the victim first (the one read), the attacker second.
                set(&mut h, "ce_subject", victim.as_bytes());
                h.push((b"ce_subject".to_vec(), id.clone().into_bytes()));
                (id.clone().into_bytes(), body, "invalid_field")
            }
            8 => {
                // A body that is not JSON.
                (
                    id.clone().into_bytes(),
                    b"employee_id=B0001".to_vec(),
                    "malformed_json",
                )
            }
            _ => {
                // A body that is JSON but not `data`.
                (
                    id.clone().into_bytes(),
                    b"[\"B0001\"]".to_vec(),
                    "wrong_shape",
                )
            }
        };
        self.push(
            "binary_contradiction",
            Some(&key),
            Some(body),
            h,
            Dlq(reason),
        );
    }
}

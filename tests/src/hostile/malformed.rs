//! Families of records broken as bytes or JSON: truncated, garbage, invalid UTF-8, not an object,
//! wrong types, deep nesting, huge strings, oversize, empty.

use super::*;

impl Gen {
    pub(super) fn truncated_json(&mut self) {
        let (id, evt) = self.fresh();
        let b = bytes(&event(&id, &evt));
        let cut = self.rng.range(1, b.len() - 1);
        self.keyed(
            "truncated_json",
            &id,
            b[..cut].to_vec(),
            vec![],
            Dlq("malformed_json"),
        );
    }

    pub(super) fn garbage_json(&mut self) {
        let (id, evt) = self.fresh();
        let good = bytes(&event(&id, &evt));
        let good_s = String::from_utf8(good.clone()).expect("ASCII");
        let junk: String = (0..self.rng.range(1, 200))
            .map(|_| (b'!' + self.rng.below(94) as u8) as char)
            .collect();
        let variants: Vec<Vec<u8>> = vec![
            b"{not json".to_vec(),
            b"{\"specversion\": \"1.0\",}".to_vec(),
            b"{'specversion': '1.0'}".to_vec(),
            b"{\"a\":NaN}".to_vec(),
            b"{\"a\":Infinity}".to_vec(),
            b"{\"a\":\"unterminated}".to_vec(),
            b"// comment\n{}".to_vec(),
            b"{}}".to_vec(),
            b"{} {}".to_vec(),
            b"{\"a\":1e99999}".to_vec(),
            b"{\"a\":\"\\ud800\"}".to_vec(),
            b"{\"a\":\"\\uZZZZ\"}".to_vec(),
            b"{\"a\":\"raw\x01control\"}".to_vec(),
            b"tru".to_vec(),
            b"\"".to_vec(),
            b"<xml/>".to_vec(),
            b"specversion=1.0&type=identity.termination.v1".to_vec(),
            format!("{good_s} trailing").into_bytes(),
            format!("{good_s}{good_s}").into_bytes(),
            [b"\xEF\xBB\xBF".as_slice(), &good].concat(), // UTF-8 BOM first
            format!("{{x{junk}").into_bytes(),
            good_s.replacen("\"data\":", "\"data\"", 1).into_bytes(),
            good_s.replacen('}', "", 1).into_bytes(),
        ];
        let b = self.rng.pick(&variants).clone();
        self.keyed("garbage_json", &id, b, vec![], Dlq("malformed_json"));
    }

    pub(super) fn invalid_utf8(&mut self) {
        let (id, evt) = self.fresh();
        let bad: &[&[u8]] = &[
            b"\xFF",
            b"\xFE\xFF",
            b"\xC0\xAF",         // overlong '/'
            b"\xE0\x80\xAF",     // overlong '/'
            b"\xED\xA0\x80",     // a UTF-16 surrogate encoded in UTF-8
            b"\xE2\x82",         // truncated sequence
            b"\xF4\x90\x80\x80", // above U+10FFFF
            b"\x80",             // lone continuation byte
        ];
        let bad = *self.rng.pick(bad);
        let placeholder = "@@BAD@@";
        let mut v = event(&id, &evt);
        match self.rng.below(4) {
            0 => v["data"]["identity"]["username"] = format!("ada{placeholder}").into(),
            1 => v["data"]["reason"] = format!("x{placeholder}").into(),
            2 => v["subject"] = format!("{id}{placeholder}").into(),
            _ => v["id"] = placeholder.into(),
        }
        let s = String::from_utf8(bytes(&v)).expect("ASCII");
        let (a, b) = s.split_once(placeholder).expect("placeholder");
        let payload = [a.as_bytes(), bad, b.as_bytes()].concat();
        self.keyed("invalid_utf8", &id, payload, vec![], Dlq("malformed_json"));
        // Outside any string: not JSON either.
        if self.rng.below(4) == 0 {
            let s = String::from_utf8(bytes(&event(&id, &evt))).expect("ASCII");
            let payload = [b"{".as_slice(), bad, &s.as_bytes()[1..]].concat();
            self.keyed("invalid_utf8", &id, payload, vec![], Dlq("malformed_json"));
        }
    }

    pub(super) fn not_object(&mut self) {
        let (id, evt) = self.fresh();
        let good = bytes(&event(&id, &evt));
        let variants: Vec<Vec<u8>> = vec![
            b"[]".to_vec(),
            b"[1,2]".to_vec(),
            b"\"identity.termination.v1\"".to_vec(),
            b"42".to_vec(),
            b"-0.5e3".to_vec(),
            b"null".to_vec(),
            b"true".to_vec(),
            [b"[".as_slice(), &good, b"]"].concat(),
            format!(
                "\"{}\"",
                String::from_utf8_lossy(&good).replace('"', "\\\"")
            )
            .into_bytes(),
        ];
        let b = self.rng.pick(&variants).clone();
        self.keyed("not_object", &id, b, vec![], Dlq("wrong_shape"));
    }

    pub(super) fn wrong_value(&mut self) -> Value {
        self.rng
            .pick(&[
                json!(42),
                json!(true),
                json!(false),
                json!(1.5),
                json!([]),
                json!(["identity.termination.v1"]),
                json!({}),
                json!({"value": "1.0"}),
                json!(-1),
            ])
            .clone()
    }

    pub(super) fn wrong_type_attribute(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        let attr = *self.rng.pick(&[
            "specversion",
            "type",
            "source",
            "id",
            "subject",
            "time",
            "datacontenttype",
        ]);
        v[attr] = self.wrong_value();
        self.structured("wrong_type", &id, &v, "wrong_shape");
    }

    pub(super) fn wrong_type_data(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        let wrong = self.wrong_value();
        match self.rng.below(16) {
            0 => v["data"] = wrong,
            1 => v["data"] = json!(null),
            2 => v["data"] = json!("identity"),
            3 => v["data"]["identity"] = wrong,
            4 => v["data"]["identity"] = json!(null),
            5 => v["data"]["identity"]["employee_id"] = wrong,
            6 => v["data"]["identity"]["employee_id"] = json!(null),
            7 => v["data"]["identity"]["username"] = wrong,
            8 => v["data"]["identity"]["email"] = wrong,
            9 => {
                v["data"]["identity"]["kind"] = self
                    .rng
                    .pick(&[json!("robot"), json!(""), json!("EMPLOYEE"), json!(1)])
                    .clone()
            }
            10 => {
                v["data"]["effective_at"] = self
                    .rng
                    .pick(&[
                        json!(123),
                        json!("not a date"),
                        json!([]),
                        json!("2026-11-24"),
                    ])
                    .clone()
            }
            11 => v["data"]["reason"] = wrong,
            12 => v["data"]["requested_by"] = wrong,
            13 => v["data"]["surprise"] = json!(1),
            14 => v["data"]["identity"]["role"] = json!("admin"),
            _ => v["data_base64"] = json!("eyJ9"),
        }
        self.structured("wrong_type", &id, &v, "wrong_shape");
    }

    pub(super) fn deep_nesting(&mut self) {
        let (id, evt) = self.fresh();
        let room = self.limit / 2 - 600;
        let payload = match self.rng.below(4) {
            0 => {
                // Nested arrays as `data.reason`, past serde_json's recursion limit (128).
                let d = self.rng.range(200, room / 2);
                let mut v = event(&id, &evt);
                v["data"]["reason"] = json!(NEST_MARK);
                with_nesting(&v, &format!("{}{}", "[".repeat(d), "]".repeat(d)))
            }
            1 => {
                // Top level, unclosed.
                let open = *self.rng.pick(&["[", "{\"a\":"]);
                let d = self.rng.range(200, room / open.len());
                open.repeat(d).into_bytes()
            }
            2 => {
                // Deep objects as `data.identity.username`.
                let d = self.rng.range(200, room / 6);
                let mut v = event(&id, &evt);
                v["data"]["identity"]["username"] = json!(NEST_MARK);
                with_nesting(&v, &format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d)))
            }
            _ => {
                // Shallow enough to parse: then it is simply the wrong type.
                let d = self.rng.range(2, 100);
                let mut nested = json!("x");
                for _ in 0..d {
                    nested = json!([nested]);
                }
                let mut v = event(&id, &evt);
                v["data"]["reason"] = nested;
                self.structured("deep_nesting", &id, &v, "wrong_shape");
                return;
            }
        };
        self.keyed("deep_nesting", &id, payload, vec![], Dlq("malformed_json"));
    }

    pub(super) fn huge_strings(&mut self) {
        let (id, evt) = self.fresh();
        // A value may appear twice in the event (subject and employee_id): stay under the limit.
        let room = (self.limit - 800) / 2;
        let mut v = event(&id, &evt);
        let big = |rng: &mut Rng, lo: usize| -> String { "A".repeat(rng.range(lo, room)) };
        match self.rng.below(8) {
            0 => {
                // An over-long identity id, consistently in key, subject and employee_id.
                let long = format!("{id}{}", big(&mut self.rng, 200));
                let v = event(&long, &evt);
                self.structured("huge_strings", &long, &v, "invalid_identity");
            }
            1 => {
                v["data"]["identity"]["username"] = big(&mut self.rng, 129).into();
                self.structured("huge_strings", &id, &v, "invalid_identity");
            }
            2 => {
                let local = big(&mut self.rng, 255);
                v["data"]["identity"]["email"] = format!("{local}@example.com").into();
                self.structured("huge_strings", &id, &v, "invalid_identity");
            }
            3 => {
                v["data"]["reason"] = big(&mut self.rng, 1025).into();
                self.structured("huge_strings", &id, &v, "invalid_field");
            }
            4 => {
                v["data"]["requested_by"] = big(&mut self.rng, 1025).into();
                self.structured("huge_strings", &id, &v, "invalid_field");
            }
            5 => {
                v["id"] = big(&mut self.rng, 257).into();
                self.structured("huge_strings", &id, &v, "invalid_field");
            }
            6 => {
                v["source"] = big(&mut self.rng, 257).into();
                self.structured("huge_strings", &id, &v, "invalid_field");
            }
            _ => {
                // A huge *key* next to a valid event: it names no one.
                let key = format!("{id}{}", big(&mut self.rng, 1000));
                self.structured("huge_strings", &key, &v, "key_mismatch");
            }
        }
    }

    pub(super) fn oversize(&mut self) {
        if self.oversize >= MAX_OVERSIZE {
            return;
        }
        self.oversize += 1;
        let (id, evt) = self.fresh();
        let limit = self.limit;
        let size = match self.rng.below(3) {
            0 => limit + 1,
            _ => self.rng.range(limit + 1, limit * 2),
        };
        let payload = match self.rng.below(3) {
            // A valid event padded with white space past the limit: refused unread.
            0 => {
                let mut b = bytes(&event(&id, &evt));
                b.resize(size, b' ');
                b
            }
            // A valid event whose reason is huge.
            1 => {
                let mut v = event(&id, &evt);
                let base = bytes(&v).len();
                v["data"]["reason"] = "x".repeat(size - base + "resignation".len()).into();
                bytes(&v)
            }
            // Binary junk.
            _ => (0..size).map(|_| self.rng.next() as u8).collect(),
        };
        assert!(payload.len() > limit);
        self.keyed("oversize", &id, payload, vec![], Dlq("oversize"));
    }

    pub(super) fn empty(&mut self) {
        let (id, evt) = self.fresh();
        let (headers, _) = to_binary(&event(&id, &evt));
        let (payload, headers) = match self.rng.below(4) {
            0 => (None, vec![]),
            1 => (Some(Vec::new()), vec![]),
            2 => (None, headers),
            _ => (Some(Vec::new()), headers),
        };
        let key = match self.rng.below(3) {
            0 => None,
            _ => Some(id.as_bytes()),
        };
        self.push("empty", key, payload, headers, Dlq("empty"));
    }
}

/// The placeholder a deeply nested value is spliced in for: serde_json cannot build the nesting
/// itself (it stops at its recursion limit), so it goes in as text.
const NEST_MARK: &str = "@@NEST@@";

/// `v` serialised, with the string `NEST_MARK` replaced by the raw text `nesting`.
fn with_nesting(v: &serde_json::Value, nesting: &str) -> Vec<u8> {
    String::from_utf8(bytes(v))
        .expect("ASCII")
        .replace(&format!("\"{NEST_MARK}\""), nesting)
        .into_bytes()
}

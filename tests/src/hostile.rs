//! A generated hostile corpus for `hr.terminations`: deterministic from a seed, every record knowing
//! what the fleet must do with it — refuse it to `revoke.dlq` with a given reason, or (a few
//! valid-but-weird ones) accept it and revoke exactly the identity it is keyed by, nothing else.
//!
//! Families: truncated and invalid JSON, invalid UTF-8, non-object JSON, wrong types for every
//! attribute and `data` field, deep nesting, huge strings, oversize values, empty and null values,
//! unknown `type`s and spec versions, foreign content types, missing fields, binary-mode headers
//! contradicting the body or the key, missing/mismatched/null/garbled keys, identities with NUL,
//! control, bidi, zero-width, full-width, compatibility, mixed-script and whole-script look-alike
//! characters, LDAP/SCIM filter and path metacharacters aimed at other identities, hostile
//! rescinds, and the valid-but-weird (metacharacter identities, size exactly at the limit,
//! duplicate headers or JSON keys, stray `ce_*` headers on a structured event).
//!
//! Expectations are written down by construction, one defect per record, from the contract in
//! docs/contracts/hr-terminations.md — not by running the parser; `corpus_matches_the_contract` below then replays the
//! corpus through `parse_hr_event` to keep the two honest, and the broker test
//! (`tests/tests/hostile.rs`) runs it through the whole fleet. The fuzz target (`fuzz/`) seeds
//! its corpus from here (`write_seed_corpus`).

use crate::hostile::Expect::{Dlq, Revokes};
use async_trait::async_trait;
use revoke::adapters::sim::Simulator;
use revoke::adapters::{Holding, ReadBack, RestoreResult, RevokeResult, Target, TargetError};
use revoke_shared::contract::{Identity, ObjectEvidence, RawMessage, TargetKind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;

/// The `source` of every corpus event.
pub const SOURCE: &str = "urn:revoke:hostile-hr";
/// The event time (and `effective_at`: due at once) of every corpus event.
pub const TIME: &str = "2026-11-24T09:00:00Z";
/// How many oversize records at most: each is up to twice the limit, and every consumer group
/// copies it (base64) into its dead letter.
pub const MAX_OVERSIZE: usize = 48;

/// Kafka headers as bytes, names included.
pub type RawHeaders = Vec<(Vec<u8>, Vec<u8>)>;

/// What the fleet must do with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Every consumer of `hr.terminations` refuses it with this reason.
    Dlq(&'static str),
    /// Accepted: a termination of exactly this identity (the record's key), which must close
    /// and touch nothing of anyone else.
    Revokes(String),
}

#[derive(Debug, Clone)]
pub struct HostileRecord {
    pub family: &'static str,
    pub key: Option<Vec<u8>>,
    /// `None` is a null value (a tombstone).
    pub payload: Option<Vec<u8>>,
    /// Header names are bytes: a hostile producer is not bound to UTF-8 there either.
    pub headers: RawHeaders,
    pub expect: Expect,
}

impl HostileRecord {
    /// The record as a consumer sees it (header names decoded lossily, as the consume loop does).
    pub fn raw(&self, topic: &str, partition: i32, offset: i64) -> RawMessage {
        RawMessage {
            topic: topic.to_string(),
            partition,
            offset,
            key: self.key.clone(),
            payload: self.payload.clone(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.clone()))
                .collect(),
            timestamp_ms: None,
        }
    }

    /// The event id, for records expected to revoke (their case id derives from it).
    pub fn event_id(&self) -> Option<String> {
        let Revokes(_) = &self.expect else {
            return None;
        };
        let header = |name: &[u8]| {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        if header(b"ce_specversion").is_some() {
            return header(b"ce_id");
        }
        let v: Value = serde_json::from_slice(self.payload.as_deref()?).ok()?;
        v.get("id")?.as_str().map(str::to_string)
    }
}

pub struct Corpus {
    pub records: Vec<HostileRecord>,
    /// Identities the hostile records aim at (as key, subject, look-alike or wildcard target)
    /// that are never terminated: nothing of theirs may be touched.
    pub bystanders: Vec<String>,
    pub max_event_bytes: usize,
}

impl Corpus {
    pub fn refused(&self) -> impl Iterator<Item = &HostileRecord> {
        self.records.iter().filter(|r| matches!(r.expect, Dlq(_)))
    }

    /// Identities the accepted records terminate.
    pub fn accepted_identities(&self) -> BTreeSet<String> {
        self.records
            .iter()
            .filter_map(|r| match &r.expect {
                Revokes(id) => Some(id.clone()),
                Dlq(_) => None,
            })
            .collect()
    }

    pub fn count_by_reason(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for r in self.refused() {
            if let Dlq(reason) = r.expect {
                *m.entry(reason).or_default() += 1;
            }
        }
        m
    }

    pub fn count_by_family(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for r in &self.records {
            *m.entry(r.family).or_default() += 1;
        }
        m
    }

    /// Payload bytes in total (to keep the embedded broker's bounded log in mind).
    pub fn payload_bytes(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.payload.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// Writes one file per distinct record for the fuzzer's seed corpus, in the fuzz target's
    /// input format (see `fuzz/fuzz_targets/parse_event.rs`: `encode_fuzz_input`).
    pub fn write_seed_corpus(&self, dir: &std::path::Path) -> std::io::Result<usize> {
        std::fs::create_dir_all(dir)?;
        let mut seen = HashSet::new();
        for r in &self.records {
            let bytes = encode_fuzz_input(r);
            let name = format!("{:016x}", fnv(&bytes));
            if seen.insert(name.clone()) {
                std::fs::write(dir.join(name), bytes)?;
            }
        }
        Ok(seen.len())
    }

    /// At least `min_refused` refused records plus the valid-but-weird ones, for a
    /// `consumer.max_event_bytes` of `max_event_bytes` (≥ 4 KiB), shuffled by `seed`.
    pub fn generate(seed: u64, min_refused: usize, max_event_bytes: usize) -> Corpus {
        assert!(
            max_event_bytes >= 4096,
            "the corpus needs room below the limit"
        );
        let mut g = Gen {
            rng: Rng(seed),
            n: 0,
            limit: max_event_bytes,
            out: Vec::new(),
            oversize: 0,
        };
        g.weird();
        let weird = g.out.len();
        let families: &[fn(&mut Gen)] = &[
            Gen::truncated_json,
            Gen::garbage_json,
            Gen::invalid_utf8,
            Gen::not_object,
            Gen::wrong_type_attribute,
            Gen::wrong_type_data,
            Gen::deep_nesting,
            Gen::huge_strings,
            Gen::oversize,
            Gen::empty,
            Gen::unknown_type,
            Gen::bad_specversion,
            Gen::bad_content_type,
            Gen::missing_field,
            Gen::invalid_field,
            Gen::key_problems,
            Gen::binary_contradictions,
            Gen::identity_characters,
            Gen::identity_characters,
            Gen::identity_characters,
            Gen::metacharacters_aimed_at_others,
            Gen::hostile_rescinds,
        ];
        let mut i = 0;
        while g.out.len() - weird < min_refused {
            families[i % families.len()](&mut g);
            i += 1;
        }
        let mut records = g.out;
        // Fisher–Yates with the same generator: families interleave, as on a real topic.
        for i in (1..records.len()).rev() {
            let j = (g.rng.next() % (i as u64 + 1)) as usize;
            records.swap(i, j);
        }
        Corpus {
            records,
            bystanders: (0..BYSTANDERS).map(bystander).collect(),
            max_event_bytes,
        }
    }
}

/// The fuzz target's input format, so the fuzzer starts from the corpus: `key_len: u16 LE`
/// (0xFFFF = no key), key, `n_headers: u8`, per header `name_len: u8`, name, `value_len: u16
/// LE`, value, then the payload (the rest; an empty rest is an empty payload).
pub fn encode_fuzz_input(r: &HostileRecord) -> Vec<u8> {
    let mut out = Vec::new();
    match &r.key {
        None => out.extend_from_slice(&0xFFFFu16.to_le_bytes()),
        Some(k) => {
            let k = &k[..k.len().min(0xFFFE)];
            out.extend_from_slice(&(k.len() as u16).to_le_bytes());
            out.extend_from_slice(k);
        }
    }
    let headers = &r.headers[..r.headers.len().min(255)];
    out.push(headers.len() as u8);
    for (name, value) in headers {
        let name = &name[..name.len().min(255)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        let value = &value[..value.len().min(0xFFFF)];
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(r.payload.as_deref().unwrap_or_default());
    out
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// SplitMix64: small, seedable, stable across Rust versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const BYSTANDERS: usize = 32;

/// A bystander: an identity that hostile records name or imitate, and that is never terminated.
pub fn bystander(i: usize) -> String {
    format!("B{i:04}")
}

/// Latin letters and their Cyrillic or Greek look-alikes.
const LOOK_ALIKES: &[(char, char)] = &[
    ('a', '\u{0430}'),
    ('e', '\u{0435}'),
    ('o', '\u{043E}'),
    ('p', '\u{0440}'),
    ('c', '\u{0441}'),
    ('x', '\u{0445}'),
    ('y', '\u{0443}'),
    ('i', '\u{0456}'),
    ('B', '\u{0412}'),
    ('H', '\u{041D}'),
    ('o', '\u{03BF}'),
    ('B', '\u{0392}'),
    ('H', '\u{0397}'),
];

/// Characters an identity must never carry, each with what it is.
const FORBIDDEN_CHARS: &[(&str, char)] = &[
    ("nul", '\0'),
    ("control", '\u{01}'),
    ("control", '\t'),
    ("control", '\n'),
    ("control", '\r'),
    ("control", '\u{1B}'),
    ("control", '\u{7F}'),
    ("control", '\u{85}'),
    ("control", '\u{9B}'),
    ("bidi", '\u{202A}'),
    ("bidi", '\u{202B}'),
    ("bidi", '\u{202C}'),
    ("bidi", '\u{202D}'),
    ("bidi", '\u{202E}'),
    ("bidi", '\u{2066}'),
    ("bidi", '\u{2067}'),
    ("bidi", '\u{2068}'),
    ("bidi", '\u{2069}'),
    ("bidi", '\u{200E}'),
    ("bidi", '\u{200F}'),
    ("bidi", '\u{061C}'),
    ("zero_width", '\u{200B}'),
    ("zero_width", '\u{200C}'),
    ("zero_width", '\u{200D}'),
    ("zero_width", '\u{2060}'),
    ("zero_width", '\u{FEFF}'),
    ("zero_width", '\u{00AD}'),
    ("zero_width", '\u{034F}'),
    ("zero_width", '\u{180E}'),
    ("zero_width", '\u{FE0F}'),
    ("zero_width", '\u{E0041}'),
    ("zero_width", '\u{3164}'),
    ("zero_width", '\u{2800}'),
    ("private_use", '\u{E000}'),
    ("private_use", '\u{F8FF}'),
    ("noncharacter", '\u{FFFF}'),
    ("noncharacter", '\u{FDD0}'),
    ("unassigned", '\u{0378}'),
    ("space", '\u{00A0}'),
    ("space", '\u{2028}'),
    ("space", '\u{2029}'),
    ("space", '\u{3000}'),
    ("space", '\u{1680}'),
];

/// Compatibility characters (not NFKC) that read as ASCII.
const COMPAT: &[&str] = &[
    "\u{FB01}",  // ﬁ
    "\u{FB00}",  // ﬀ
    "\u{FB02}",  // ﬂ
    "\u{00B2}",  // ²
    "\u{2168}",  // Ⅸ
    "\u{210C}",  // ℌ
    "\u{212A}",  // K (Kelvin)
    "\u{212B}",  // Å (Angstrom)
    "\u{2460}",  // ①
    "\u{1D400}", // 𝐀
    "e\u{0301}", // decomposed é
];

/// Valid identities that are metacharacter soup: each must revoke itself and nothing else.
const WEIRD_IDS: &[&str] = &[
    "*",
    "a*",
    "B*",
    "*)(uid=*",
    "x)(|(objectClass=*",
    "B0001)(|(uid=*",
    "admin)(&",
    "\\2a",
    "cn=B0001,ou=people,dc=example,dc=com",
    "\" or userName pr \"",
    "x\" or \"1\" eq \"1",
    "B0002\") or (userName eq \"B0003",
    "../",
    "../B0004",
    "..%2f",
    "%2e%2e/",
    "a/../B0005",
    "..\\B0006",
    "%00",
    "B0007%00",
    "a?b#c",
    "~root",
    "$(whoami)",
    "';DROP TABLE users;--",
    "<script>x</script>",
    "{{7*7}}",
];

struct Gen {
    rng: Rng,
    n: usize,
    limit: usize,
    out: Vec<HostileRecord>,
    oversize: usize,
}

/// A structured event as JSON, and its parts.
fn event(id: &str, evt: &str) -> Value {
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

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON")
}

/// Binary-mode headers for `v` (a structured event), and its `data` as the body.
fn to_binary(v: &Value) -> (RawHeaders, Vec<u8>) {
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

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            _ => c,
        })
        .collect()
}

impl Gen {
    fn next_n(&mut self) -> usize {
        self.n += 1;
        self.n
    }

    /// A fresh attacker identity and event id; the identity is never accepted (a refused
    /// record's subject) so nothing about it may be touched either.
    fn fresh(&mut self) -> (String, String) {
        let n = self.next_n();
        (format!("H{n:05}"), format!("hostile-{n}"))
    }

    fn victim(&mut self) -> String {
        bystander(self.rng.below(BYSTANDERS))
    }

    fn push(
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
    fn structured(&mut self, family: &'static str, key: &str, v: &Value, reason: &'static str) {
        self.push(
            family,
            Some(key.as_bytes()),
            Some(bytes(v)),
            vec![],
            Dlq(reason),
        );
    }

    fn truncated_json(&mut self) {
        let (id, evt) = self.fresh();
        let b = bytes(&event(&id, &evt));
        let cut = self.rng.range(1, b.len() - 1);
        self.push(
            "truncated_json",
            Some(id.as_bytes()),
            Some(b[..cut].to_vec()),
            vec![],
            Dlq("malformed_json"),
        );
    }

    fn garbage_json(&mut self) {
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
        self.push(
            "garbage_json",
            Some(id.as_bytes()),
            Some(b),
            vec![],
            Dlq("malformed_json"),
        );
    }

    fn invalid_utf8(&mut self) {
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
        self.push(
            "invalid_utf8",
            Some(id.as_bytes()),
            Some(payload),
            vec![],
            Dlq("malformed_json"),
        );
        // Outside any string: not JSON either.
        if self.rng.below(4) == 0 {
            let s = String::from_utf8(bytes(&event(&id, &evt))).expect("ASCII");
            let payload = [b"{".as_slice(), bad, &s.as_bytes()[1..]].concat();
            self.push(
                "invalid_utf8",
                Some(id.as_bytes()),
                Some(payload),
                vec![],
                Dlq("malformed_json"),
            );
        }
    }

    fn not_object(&mut self) {
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
        self.push(
            "not_object",
            Some(id.as_bytes()),
            Some(b),
            vec![],
            Dlq("wrong_shape"),
        );
    }

    fn wrong_value(&mut self) -> Value {
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

    fn wrong_type_attribute(&mut self) {
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

    fn wrong_type_data(&mut self) {
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

    fn deep_nesting(&mut self) {
        let (id, evt) = self.fresh();
        let room = self.limit / 2 - 600;
        match self.rng.below(4) {
            0 => {
                // Nested arrays as `data.reason`, past serde_json's recursion limit (128).
                let d = self.rng.range(200, room / 2);
                let mut v = event(&id, &evt);
                v["data"]["reason"] = json!("@@NEST@@");
                let s = String::from_utf8(bytes(&v)).expect("ASCII").replace(
                    "\"@@NEST@@\"",
                    &format!("{}{}", "[".repeat(d), "]".repeat(d)),
                );
                self.push(
                    "deep_nesting",
                    Some(id.as_bytes()),
                    Some(s.into_bytes()),
                    vec![],
                    Dlq("malformed_json"),
                );
            }
            1 => {
                // Top level, unclosed.
                let open = *self.rng.pick(&["[", "{\"a\":"]);
                let d = self.rng.range(200, room / open.len());
                self.push(
                    "deep_nesting",
                    Some(id.as_bytes()),
                    Some(open.repeat(d).into_bytes()),
                    vec![],
                    Dlq("malformed_json"),
                );
            }
            2 => {
                // Deep objects as `data.identity.username`.
                let d = self.rng.range(200, room / 6);
                let mut v = event(&id, &evt);
                v["data"]["identity"]["username"] = json!("@@NEST@@");
                let s = String::from_utf8(bytes(&v)).expect("ASCII").replace(
                    "\"@@NEST@@\"",
                    &format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d)),
                );
                self.push(
                    "deep_nesting",
                    Some(id.as_bytes()),
                    Some(s.into_bytes()),
                    vec![],
                    Dlq("malformed_json"),
                );
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
            }
        }
    }

    fn huge_strings(&mut self) {
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

    fn oversize(&mut self) {
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
        self.push(
            "oversize",
            Some(id.as_bytes()),
            Some(payload),
            vec![],
            Dlq("oversize"),
        );
    }

    fn empty(&mut self) {
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

    fn unknown_type(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        v["type"] = (*self.rng.pick(&[
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
        ]))
        .into();
        if self.rng.below(2) == 0 {
            self.structured("unknown_type", &id, &v, "unknown_type");
        } else {
            let (h, body) = to_binary(&v);
            self.push(
                "unknown_type",
                Some(id.as_bytes()),
                Some(body),
                h,
                Dlq("unknown_type"),
            );
        }
    }

    fn bad_specversion(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        v["specversion"] = (*self.rng.pick(&[
            "0.3", "1", "1.0.0", "2.0", "", "1.0 ", " 1.0", "1.O", "1,0", "v1.0", "1.0\u{0}",
        ]))
        .into();
        if self.rng.below(2) == 0 {
            self.structured("specversion", &id, &v, "unsupported_specversion");
        } else {
            let (h, body) = to_binary(&v);
            self.push(
                "specversion",
                Some(id.as_bytes()),
                Some(body),
                h,
                Dlq("unsupported_specversion"),
            );
        }
    }

    fn bad_content_type(&mut self) {
        let (id, evt) = self.fresh();
        let mut v = event(&id, &evt);
        v["datacontenttype"] = (*self.rng.pick(&[
            "text/plain",
            "application/xml",
            "application/octet-stream",
            "text/json",
            "application/jsonx",
            "",
            "application/cloudevents+xml",
            ";application/json",
            "application/json+xml",
        ]))
        .into();
        if self.rng.below(2) == 0 {
            self.structured("content_type", &id, &v, "unsupported_content_type");
        } else {
            let (h, body) = to_binary(&v);
            self.push(
                "content_type",
                Some(id.as_bytes()),
                Some(body),
                h,
                Dlq("unsupported_content_type"),
            );
        }
    }

    fn missing_field(&mut self) {
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
                self.push(
                    "missing_field",
                    Some(id.as_bytes()),
                    Some(body),
                    h,
                    Dlq("missing_field"),
                );
                return;
            }
        }
        self.structured("missing_field", &id, &v, "missing_field");
    }

    fn invalid_field(&mut self) {
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

    fn key_problems(&mut self) {
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

    fn binary_contradictions(&mut self) {
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

    /// An identity value carrying something no identity may carry.
    fn poisoned_identity(&mut self, base: &str) -> (String, &'static str) {
        match self.rng.below(9) {
            0..=3 => {
                let (what, c) = *self.rng.pick(FORBIDDEN_CHARS);
                let at = self.rng.below(base.len() + 1);
                let mut s = base.to_string();
                s.insert(at, c);
                (s, what)
            }
            4 => (full_width(base), "full_width"),
            5 => {
                let compat = *self.rng.pick(COMPAT);
                (format!("{base}{compat}"), "compatibility")
            }
            6 => {
                // One Latin letter swapped for its Cyrillic/Greek twin (base has letters).
                let (latin, twin) = *self.rng.pick(LOOK_ALIKES);
                let s = format!("{}{latin}", base);
                let at = s.rfind(latin).expect("just added");
                let mut out = s.clone();
                out.replace_range(at..at + latin.len_utf8(), &twin.to_string());
                (format!("{out}x"), "mixed_script")
            }
            7 => {
                // Whole-script look-alikes of bystanders and of ASCII words.
                let v = *self.rng.pick(&[
                    "\u{0412}0001",             // "B0001" with a Cyrillic В
                    "\u{0392}0002",             // "B0002" with a Greek Β
                    "\u{0441}\u{0435}\u{043E}", // "ceo"
                    "\u{0440}\u{0430}\u{0443}", // "pay"
                    "\u{0391}\u{0392}\u{0395}", // "ABE" in Greek
                ]);
                (v.to_string(), "confusable")
            }
            _ => {
                let v = *self
                    .rng
                    .pick(&["", " ", "   ", "\u{3000}", " B0001", "B0001 "]);
                (v.to_string(), "blank")
            }
        }
    }

    fn identity_characters(&mut self) {
        let (id, evt) = self.fresh();
        let base = if self.rng.below(2) == 0 {
            self.victim()
        } else {
            id.clone()
        };
        let (bad, _what) = self.poisoned_identity(&base);
        let mut v = event(&id, &evt);
        let key = match self.rng.below(4) {
            // As the identity id: key, subject and employee_id all carry it.
            0 | 1 => {
                v = event(&bad, &evt);
                bad.clone()
            }
            2 => {
                v["data"]["identity"]["username"] = bad.clone().into();
                id.clone()
            }
            _ => {
                // In the email's local part; a blank value as the whole email.
                v["data"]["identity"]["email"] = if bad.trim().is_empty() {
                    bad.clone()
                } else {
                    format!("{bad}@example.com")
                }
                .into();
                id.clone()
            }
        };
        let binary = self.rng.below(3) == 0;
        let (headers, payload) = if binary {
            to_binary(&v)
        } else {
            (vec![], bytes(&v))
        };
        self.push(
            "identity_chars",
            Some(key.as_bytes()),
            Some(payload),
            headers,
            Dlq("invalid_identity"),
        );
    }

    /// Wildcards and injections aimed at other identities, each with one more defect that
    /// keeps it out; the defect decides the reason.
    fn metacharacters_aimed_at_others(&mut self) {
        let (_, evt) = self.fresh();
        let victim = self.victim();
        let meta = *self.rng.pick(&[
            "*",
            "B*",
            "B000*",
            "*)(uid=*",
            "*)(|(uid=*",
            "\" or userName pr \"",
            "B0001\" or userName sw \"B",
            "../",
            "../B0001",
            "%2e%2e/B0001",
            "..%2fB0001",
        ]);
        let (bad, _) = self.poisoned_identity(meta);
        match self.rng.below(4) {
            0 => {
                // The wildcard as key, a victim as subject and identity.
                let v = event(&victim, &evt);
                self.structured("meta_aimed", meta, &v, "key_mismatch");
            }
            1 => {
                // The wildcard as subject and key, the victim as the identity.
                let mut v = event(meta, &evt);
                v["data"]["identity"]["employee_id"] = victim.into();
                self.structured("meta_aimed", meta, &v, "invalid_field");
            }
            2 => {
                // A wildcard with a NUL, bidi or look-alike in it, as the identity id.
                let v = event(&bad, &evt);
                self.structured("meta_aimed", &bad, &v, "invalid_identity");
            }
            _ => {
                // A wildcard username with a poisoned character.
                let (id, _) = self.fresh();
                let mut v = event(&id, &evt);
                v["data"]["identity"]["username"] = bad.into();
                self.structured("meta_aimed", &id, &v, "invalid_identity");
            }
        }
    }

    fn hostile_rescinds(&mut self) {
        let (id, evt) = self.fresh();
        let victim = self.victim();
        let mut v = event(&id, &evt);
        v["type"] = "identity.termination_rescinded.v1".into();
        v["data"]
            .as_object_mut()
            .expect("data")
            .remove("effective_at");
        v["data"]["rescinds"] = "hostile-0".into();
        match self.rng.below(4) {
            0 => {
                let (bad, _) = self.poisoned_identity(&victim);
                let mut w = event(&bad, &evt);
                w["type"] = v["type"].clone();
                w["data"]["rescinds"] = "hostile-0".into();
                self.structured("rescind", &bad, &w, "invalid_identity");
            }
            1 => self.structured("rescind", &victim, &v, "key_mismatch"),
            2 => {
                v["data"]["rescinds"] = "evt\u{0}".into();
                self.structured("rescind", &id, &v, "invalid_field");
            }
            _ => {
                v["data"]["identity"]["employee_id"] = victim.into();
                self.structured("rescind", &id, &v, "invalid_field");
            }
        }
    }

    /// The valid-but-weird: accepted, and each must revoke exactly its own identity.
    fn weird(&mut self) {
        let revokes = |id: &str| Revokes(id.to_string());
        for (i, id) in WEIRD_IDS.iter().enumerate() {
            let mut v = event(id, &format!("weird-id-{i}"));
            v["data"]["identity"]["username"] = (*id).into();
            v["data"]["identity"]["email"] = format!("weird{i}@example.com").into();
            if i % 2 == 0 {
                self.push(
                    "weird_valid",
                    Some(id.as_bytes()),
                    Some(bytes(&v)),
                    vec![],
                    revokes(id),
                );
            } else {
                let (h, body) = to_binary(&v);
                self.push(
                    "weird_valid",
                    Some(id.as_bytes()),
                    Some(body),
                    h,
                    revokes(id),
                );
            }
        }
        // Metacharacter usernames and emails on ordinary ids.
        for (i, name) in [
            "*",
            "B*",
            "*)(uid=*",
            "\" or userName pr \"",
            "../B0001",
            "B0001\\",
        ]
        .iter()
        .enumerate()
        {
            let id = format!("W{i:04}");
            let mut v = event(&id, &format!("weird-name-{i}"));
            v["data"]["identity"]["username"] = (*name).into();
            v["data"]["identity"]["email"] =
                format!("{}@example.com", name.replace(['"', ' ', '\\'], "")).into();
            if name.contains('(') || name.contains('/') {
                v["data"]["identity"]["email"] = format!("w{i}@example.com").into();
            }
            self.push(
                "weird_valid",
                Some(id.as_bytes()),
                Some(bytes(&v)),
                vec![],
                revokes(&id),
            );
        }
        // Legitimate non-ASCII names, single-script and in NFC.
        for (i, name) in ["José", "Müller", "王小明", "Ελένη", "Сергей", "やまだ"]
            .iter()
            .enumerate()
        {
            let id = format!("U{i:04}");
            let mut v = event(&id, &format!("weird-unicode-{i}"));
            v["data"]["identity"]["username"] = (*name).into();
            v["data"]["identity"]["email"] = format!("{name}@example.com").into();
            self.push(
                "weird_valid",
                Some(id.as_bytes()),
                Some(bytes(&v)),
                vec![],
                revokes(&id),
            );
        }
        // Exactly at the size limit (padded with JSON white space): accepted.
        let id = "X0001";
        let mut b = bytes(&event(id, "weird-at-limit"));
        b.resize(self.limit, b' ');
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(b),
            vec![],
            revokes(id),
        );
        // Header names in capitals (matched case-insensitively).
        let id = "X0002";
        let (h, body) = to_binary(&event(id, "weird-caps"));
        let h = h
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect();
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(body),
            h,
            revokes(id),
        );
        // Two ce_subject headers, the first consistent with key and body: only it counts.
        let id = "X0003";
        let (mut h, body) = to_binary(&event(id, "weird-dup-header"));
        h.push((b"ce_subject".to_vec(), bystander(3).into_bytes()));
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(body),
            h,
            revokes(id),
        );
        // A structured event with stray ce_* headers naming a bystander: structured mode reads
        // the body only (no ce_specversion), so the bystander is not touched.
        let id = "X0004";
        let h = vec![
            (b"ce_subject".to_vec(), bystander(4).into_bytes()),
            (b"ce_id".to_vec(), b"forged".to_vec()),
        ];
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(bytes(&event(id, "weird-stray-headers"))),
            h,
            revokes(id),
        );
        // Duplicate JSON keys: the last `subject` wins, and it must match the key.
        let id = "X0005";
        let s = String::from_utf8(bytes(&event(id, "weird-dup-key"))).expect("ASCII");
        let s = s.replacen('{', &format!("{{\"subject\":\"{}\",", bystander(5)), 1);
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(s.into_bytes()),
            vec![],
            revokes(id),
        );
        // An unknown extension attribute with a big value: ignored.
        let id = "X0006";
        let mut v = event(id, "weird-extension");
        v["comexampleblob"] = "Z".repeat(self.limit / 2).into();
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(bytes(&v)),
            vec![],
            revokes(id),
        );
        // `application/cloudevents+json` with parameters.
        let id = "X0007";
        let mut v = event(id, "weird-ct");
        v["datacontenttype"] = "application/cloudevents+json; charset=utf-8".into();
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(bytes(&v)),
            vec![],
            revokes(id),
        );
        // ASCII spelled as \u escapes.
        let id = "X0008";
        let s = String::from_utf8(bytes(&event(id, "weird-escapes"))).expect("ASCII");
        let s = s.replace("\"X0008\"", "\"\\u0058\\u0030\\u0030\\u0030\\u0038\"");
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(s.into_bytes()),
            vec![],
            revokes(id),
        );
        // A header whose *name* is not UTF-8, on a structured event (headers unread).
        let id = "X0009";
        self.push(
            "weird_valid",
            Some(id.as_bytes()),
            Some(bytes(&event(id, "weird-header-name"))),
            vec![(b"x-\xFF\xFEname".to_vec(), b"v".to_vec())],
            revokes(id),
        );
    }
}

/// A `Target` around a simulator that records every identity any call was made for, and that
/// can fail chosen identities for ever: transiently (a 503 on every call) or permanently (403).
pub struct RecordingTarget {
    pub sim: std::sync::Arc<Simulator>,
    touched: Mutex<BTreeSet<String>>,
    transient_forever: HashSet<String>,
    permanent: HashSet<String>,
    /// Calls per identity (discover, revoke, verify, restore).
    calls: Mutex<BTreeMap<String, u32>>,
}

impl RecordingTarget {
    pub fn new(
        sim: std::sync::Arc<Simulator>,
        transient_forever: &[&str],
        permanent: &[&str],
    ) -> RecordingTarget {
        RecordingTarget {
            sim,
            touched: Mutex::new(BTreeSet::new()),
            transient_forever: transient_forever.iter().map(|s| s.to_string()).collect(),
            permanent: permanent.iter().map(|s| s.to_string()).collect(),
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    /// Every identity this target was asked anything about.
    pub fn touched(&self) -> BTreeSet<String> {
        self.touched.lock().unwrap().clone()
    }

    pub fn calls_for(&self, identity: &str) -> u32 {
        self.calls
            .lock()
            .unwrap()
            .get(identity)
            .copied()
            .unwrap_or(0)
    }

    fn record(&self, who: &Identity) -> Result<(), TargetError> {
        self.touched.lock().unwrap().insert(who.employee_id.clone());
        *self
            .calls
            .lock()
            .unwrap()
            .entry(who.employee_id.clone())
            .or_default() += 1;
        if self.transient_forever.contains(&who.employee_id) {
            return Err(TargetError::Transient(format!(
                "simulated 503 from {} (always, for this identity)",
                self.sim.kind()
            )));
        }
        if self.permanent.contains(&who.employee_id) {
            return Err(TargetError::Permanent(format!(
                "simulated 403 from {}: not allowed to modify this account",
                self.sim.kind()
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Target for RecordingTarget {
    fn kind(&self) -> TargetKind {
        self.sim.kind()
    }
    fn instance(&self) -> &str {
        self.sim.instance()
    }
    fn principal(&self) -> &str {
        self.sim.principal()
    }
    async fn discover(&self, who: &Identity) -> Result<Vec<Holding>, TargetError> {
        self.record(who)?;
        self.sim.discover(who).await
    }
    async fn revoke(&self, who: &Identity, what: &Holding) -> Result<RevokeResult, TargetError> {
        self.record(who)?;
        self.sim.revoke(who, what).await
    }
    async fn verify(&self, who: &Identity, what: &Holding) -> Result<ReadBack, TargetError> {
        self.record(who)?;
        self.sim.verify(who, what).await
    }
    async fn restore(
        &self,
        who: &Identity,
        ev: &ObjectEvidence,
    ) -> Result<RestoreResult, TargetError> {
        self.record(who)?;
        self.sim.restore(who, ev).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::contract::{parse_hr_event, HrEventKind};

    /// The corpus through the parser, no broker: every expectation holds, with the test's
    /// small limit and with the default 256 KiB one (the oversize records are then simply
    /// large, so only the records sized against the limit change).
    #[test]
    fn corpus_matches_the_contract() {
        let limit = 8 * 1024;
        let corpus = Corpus::generate(7, 10_000, limit);
        assert!(corpus.refused().count() >= 10_000);
        let families = corpus.count_by_family();
        assert!(families.len() >= 20, "{families:?}");
        let mut wrong = Vec::new();
        for (i, r) in corpus.records.iter().enumerate() {
            let got = parse_hr_event(&r.raw("hr.terminations", 0, i as i64), limit);
            let ok = match (&r.expect, &got) {
                (Dlq(reason), Err(e)) => e.reason() == *reason,
                (Revokes(id), Ok(ev)) => {
                    ev.subject == *id
                        && ev.data.identity.employee_id == *id
                        && r.key.as_deref() == Some(id.as_bytes())
                        && ev.kind == HrEventKind::Termination
                        && !ev.is_scheduled()
                        && r.event_id().as_deref() == Some(ev.id.as_str())
                }
                _ => false,
            };
            if !ok {
                wrong.push(format!(
                    "{} expected {:?}, got {:?}; key {:?} payload {:?}",
                    r.family,
                    r.expect,
                    got.map(|e| e.subject)
                        .map_err(|e| (e.reason(), e.to_string())),
                    r.key
                        .as_ref()
                        .map(|k| String::from_utf8_lossy(k).into_owned()),
                    r.payload
                        .as_ref()
                        .map(|p| String::from_utf8_lossy(&p[..p.len().min(160)]).into_owned()),
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} records not as expected:\n{}",
            wrong.len(),
            corpus.records.len(),
            wrong[..wrong.len().min(20)].join("\n")
        );
        // No accepted record names a bystander, and accepted identities are distinct.
        let accepted: Vec<_> = corpus
            .records
            .iter()
            .filter_map(|r| match &r.expect {
                Revokes(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(accepted.len(), corpus.accepted_identities().len());
        for b in &corpus.bystanders {
            assert!(!corpus.accepted_identities().contains(b));
        }
        // With the default limit every record parses the same, except those sized by the limit.
        for (i, r) in corpus.records.iter().enumerate() {
            let got = parse_hr_event(&r.raw("t", 0, i as i64), 256 * 1024);
            if r.family != "oversize" && r.family != "weird_valid" {
                assert_eq!(
                    got.map(|_| ()).map_err(|e| e.reason()),
                    match r.expect {
                        Dlq(reason) => Err(reason),
                        Revokes(_) => Ok(()),
                    },
                    "{}",
                    r.family
                );
            }
        }
        // And the default limit itself: one byte over 256 KiB is refused unread.
        let big = HostileRecord {
            family: "oversize",
            key: Some(b"E1".to_vec()),
            payload: Some(vec![b' '; 256 * 1024 + 1]),
            headers: vec![],
            expect: Dlq("oversize"),
        };
        assert_eq!(
            parse_hr_event(&big.raw("t", 0, 0), 256 * 1024)
                .unwrap_err()
                .reason(),
            "oversize"
        );
    }

    /// Writes the fuzz target's seed corpus (docs/testing.md, "Fuzzing the event parser") into `REVOKE_FUZZ_CORPUS`:
    /// `REVOKE_FUZZ_CORPUS=fuzz/corpus/parse_event cargo test -p revoke-tests --lib write_fuzz_seed_corpus`.
    /// Without it, into a fresh temporary directory, so that every run proves the writer.
    #[test]
    fn write_fuzz_seed_corpus() {
        let tmp = std::env::temp_dir().join(format!("revoke-seeds-{}", uuid::Uuid::new_v4()));
        let dir = std::env::var_os("REVOKE_FUZZ_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| tmp.clone());
        // The fuzz target parses with a 4 KiB limit too: the oversize family is sized for it.
        let n = Corpus::generate(7, 10_000, 4096)
            .write_seed_corpus(&dir)
            .unwrap();
        println!("{n} seeds in {}", dir.display());
        assert!(n > 1000);
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert!(files >= n, "{files} files for {n} seeds");
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn generation_is_deterministic_and_seeded() {
        let a = Corpus::generate(1, 2_000, 4096);
        let b = Corpus::generate(1, 2_000, 4096);
        let c = Corpus::generate(2, 2_000, 4096);
        let enc =
            |c: &Corpus| -> Vec<Vec<u8>> { c.records.iter().map(encode_fuzz_input).collect() };
        assert_eq!(enc(&a), enc(&b));
        assert_ne!(enc(&a), enc(&c));
    }
}

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
//! docs/contracts/hr-terminations.md — not by running the parser; `corpus_matches_the_contract`
//! (in `tests.rs`) replays the corpus through `parse_hr_event` to keep the two honest, and the
//! broker test (`tests/tests/hostile.rs`) runs it through the whole fleet. The fuzz target
//! (`fuzz/`) seeds its corpus from here (`write_seed_corpus`).
//!
//! The rooms: `generator` (state and record shapes), one file per group of families
//! (`malformed`, `envelope`, `identities`, `weird`), `characters` and `rng` for what they are
//! made of, `recording` for the `Target` the broker test observes the fleet through.

use crate::hostile::Expect::{Dlq, Revokes};
use revoke::adapters::sim::Simulator;
use revoke::adapters::{Target, TargetError};
use revoke_shared::contract::{Identity, RawMessage};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;

mod characters;
mod envelope;
mod generator;
mod identities;
mod malformed;
mod recording;
mod rng;
#[cfg(test)]
mod tests;
mod weird;

pub use characters::bystander;
pub use recording::{Recording, RecordingTarget};

// What the rooms share with each other (each reaches it through `use super::*`).
use characters::*;
use generator::*;
use rng::*;

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

//! Comparing a re-derived case with the version on the cases topic (pure).
//!
//! The re-derivation runs the machine with each input's record time as its clock, while the
//! verifier ran it with its own clock when it handled the input (milliseconds to seconds later,
//! and ticks every `tick_ms`). So what comes from the verifier's clock differs legitimately and
//! is compared only for being there or not:
//! - `opened_at`, `updated_at`, `deadline`, `closed_at`;
//! - `escalations[].raised_at`, and the times written inside `escalations[].detail`;
//! - `guard` and `restore_guard`: `asked_at`, `released_at`, `held_at`;
//! - `joined[].joined_at`, `rescind.applied_at`, `joined[].rescind.applied_at`;
//! - `redrive_at` of targets and steps (and of the reports they replaced);
//! - `review.asked_at`, `replay.of_closed_at`.
//!
//! Not compared at all: `revision` (how many versions the clock's ticks made), `prev_digest`
//! and `signature` (the seal of each version as published: `revoke case --verify` checks those).
//! Everything else — states, targets, objects, evidence, escalation ids, reasons, owners and
//! levels, decisions, restores, findings, signals, replays — must be equal.

use revoke_shared::contract::Case;
use serde_json::Value;

/// One field that differs: its path in the case record, and both values as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: String,
    pub expected: String,
    pub actual: String,
}

/// At most this many differences are listed per case (the rest are counted).
pub const LISTED: usize = 20;

/// How `actual` (on the cases topic) differs from `expected` (re-derived), field by field.
pub fn differences(expected: &Case, actual: &Case) -> Vec<Difference> {
    let (e, a) = (normalized(expected), normalized(actual));
    let mut out = Vec::new();
    diff("", &e, &a, &mut out);
    out
}

/// The case as compared: the verifier's clock reduced to "set" or absent, the seal removed.
pub fn normalized(case: &Case) -> Value {
    let mut v = serde_json::to_value(case).unwrap_or(Value::Null);
    let Some(o) = v.as_object_mut() else {
        return v;
    };
    for k in ["revision", "prev_digest", "signature"] {
        o.remove(k);
    }
    for k in ["opened_at", "updated_at", "deadline", "closed_at"] {
        mark(o.get_mut(k));
    }
    if let Some(list) = o.get_mut("escalations").and_then(Value::as_array_mut) {
        for e in list {
            mark(e.get_mut("raised_at"));
            if let Some(Value::String(d)) = e.get_mut("detail") {
                *d = mask_times(d);
            }
        }
    }
    for g in ["guard", "restore_guard"] {
        if let Some(g) = o.get_mut(g) {
            for k in ["asked_at", "released_at", "held_at"] {
                mark(g.get_mut(k));
            }
        }
    }
    if let Some(list) = o.get_mut("joined").and_then(Value::as_array_mut) {
        for j in list {
            mark(j.get_mut("joined_at"));
            if let Some(r) = j.get_mut("rescind") {
                mark(r.get_mut("applied_at"));
            }
        }
    }
    if let Some(r) = o.get_mut("rescind") {
        mark(r.get_mut("applied_at"));
    }
    for map in ["targets", "steps"] {
        if let Some(m) = o.get_mut(map).and_then(Value::as_object_mut) {
            for status in m.values_mut() {
                mark_redrives(status);
            }
        }
    }
    if let Some(r) = o.get_mut("review") {
        mark(r.get_mut("asked_at"));
    }
    if let Some(r) = o.get_mut("replay") {
        mark(r.get_mut("of_closed_at"));
    }
    v
}

/// A time set by the verifier's clock: only whether it is there counts.
fn mark(v: Option<&mut Value>) {
    if let Some(v) = v {
        if !v.is_null() {
            *v = Value::String("<verifier clock>".into());
        }
    }
}

fn mark_redrives(status: &mut Value) {
    mark(status.get_mut("redrive_at"));
    for k in ["superseded", "late"] {
        if let Some(list) = status.get_mut(k).and_then(Value::as_array_mut) {
            for s in list {
                mark_redrives(s);
            }
        }
    }
}

/// `text` with every RFC 3339 time in it (`2026-11-24T09:00:00.123+00:00`, `…Z`) replaced.
pub fn mask_times(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match time_len(&b[i..]) {
            Some(n) => {
                out.push_str("<time>");
                i += n;
            }
            None => {
                let ch = text[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The length of the RFC 3339 time `b` starts with, if it starts with one.
fn time_len(b: &[u8]) -> Option<usize> {
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < shape.len() {
        return None;
    }
    for (c, s) in b.iter().zip(shape) {
        let ok = if *s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        };
        if !ok {
            return None;
        }
    }
    let mut n = shape.len();
    if b.get(n) == Some(&b'.') {
        n += 1;
        while b.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    match b.get(n) {
        Some(b'Z') => Some(n + 1),
        Some(b'+' | b'-') if b.len() >= n + 6 && b[n + 3] == b':' => Some(n + 6),
        _ => Some(n),
    }
}

fn diff(path: &str, e: &Value, a: &Value, out: &mut Vec<Difference>) {
    match (e, a) {
        (Value::Object(eo), Value::Object(ao)) => {
            let mut keys: Vec<&String> = eo.keys().chain(ao.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &p,
                    eo.get(k).unwrap_or(&Value::Null),
                    ao.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(ea), Value::Array(aa)) if ea.len() == aa.len() => {
            for (i, (x, y)) in ea.iter().zip(aa).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if e == a => {}
        _ => out.push(Difference {
            field: path.to_string(),
            expected: short(e),
            actual: short(a),
        }),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 240 {
        return s;
    }
    let mut cut = 240;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &s[..cut], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::tests::kit::{self, open_and_close};
    use chrono::Duration;
    use revoke_shared::contract::{CaseState, ObjectOutcome, TargetKind};

    fn closed() -> Case {
        let mut v = kit::verifier();
        let (_, mut c) = open_and_close(&mut v, "E1", "evt-1");
        c.escalations
            .push(revoke_shared::contract::EscalationRecord {
                escalation_id: uuid::Uuid::from_u128(1),
                reason: revoke_shared::contract::EscalationReason::DeadlinePassed,
                targets: vec![TargetKind::Vault],
                steps: Vec::new(),
                owner: kit::owner("vault-team"),
                level: 0,
                raised_at: c.updated_at,
                detail: format!("deadline {} passed", c.deadline.unwrap().to_rfc3339()),
            });
        c
    }

    #[test]
    fn the_verifier_s_clock_and_the_seal_are_not_differences() {
        let expected = closed();
        let mut actual = expected.clone();
        let later = |t: &mut chrono::DateTime<chrono::Utc>| *t += Duration::milliseconds(37);
        later(&mut actual.opened_at);
        later(&mut actual.updated_at);
        actual.deadline.as_mut().map(later);
        actual.closed_at.as_mut().map(later);
        later(&mut actual.escalations[0].raised_at);
        actual.escalations[0].detail = format!(
            "deadline {} passed",
            (expected.deadline.unwrap() + Duration::milliseconds(37)).to_rfc3339()
        );
        actual.revision += 2;
        actual.prev_digest = Some("sha256:00".into());
        assert_eq!(differences(&expected, &actual), Vec::new());
    }

    #[test]
    fn what_the_inputs_decide_is_compared_field_by_field() {
        let expected = closed();
        let mut actual = expected.clone();
        actual.state = CaseState::Escalated;
        actual
            .targets
            .get_mut(&TargetKind::Directory)
            .unwrap()
            .objects[0]
            .outcome = ObjectOutcome::AlreadyAbsent;
        actual.closed_at = None;
        let d = differences(&expected, &actual);
        let fields: Vec<&str> = d.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            fields,
            ["closed_at", "state", "targets.directory.objects[0].outcome"],
            "{d:?}"
        );
        assert_eq!(d[1].expected, "\"closed\"");
        assert_eq!(d[1].actual, "\"escalated\"");
        // A text changed around its times is a difference; the times alone are not.
        let mut actual = expected.clone();
        actual.escalations[0].detail = actual.escalations[0].detail.replace("passed", "missed");
        assert_eq!(differences(&expected, &actual).len(), 1);
    }

    #[test]
    fn times_are_masked_in_text() {
        assert_eq!(
            mask_times("due 2026-11-24T09:00:00.123+00:00 and 2026-11-24T09:00:01Z, ok 2026-11"),
            "due <time> and <time>, ok 2026-11"
        );
        assert_eq!(mask_times("ünïcode 2026-11-24T09:00:00"), "ünïcode <time>");
    }
}

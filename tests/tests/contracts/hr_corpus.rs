//! The HR schema and the validator agree on a corpus: every event `parse_hr_event` accepts is
//! valid under the published schemas (structured mode: `hr-termination`; binary mode: the
//! headers under `hr-termination-headers`, the value under `hr-termination-data`), and every
//! event it refuses is refused by them too — except where JSON Schema cannot say the rule, each
//! such gap named below and in docs/contracts/hr-terminations.md.
//!
//! The corpus: synthetic leavers as `revoke publish --generate` makes them (both modes), a
//! rescind, the examples of docs/contracts/hr-terminations.md, and the generated hostile corpus
//! (`revoke_tests::hostile`: malformed, wrong types, unknown types and versions, missing and
//! invalid fields, identities with control, bidi, invisible, look-alike characters, …).

use super::tools::{ajv_verdicts, root};
use chrono::Utc;
use revoke::hr::synthetic_leaver;
use revoke_shared::contract::{
    parse_hr_event, ContractError, HrEventKind, IdentityProblem, RawMessage,
};
use revoke_tests::hostile::Corpus;
use std::collections::BTreeMap;

/// `consumer.max_event_bytes` for the corpus (the generator needs at least 4 KiB).
const MAX_BYTES: usize = 16 * 1024;

/// The headers the contract reads in binary mode (the others are extensions).
const READ_HEADERS: [&str; 7] = [
    "ce_specversion",
    "ce_type",
    "ce_source",
    "ce_id",
    "ce_subject",
    "ce_time",
    "content-type",
];

struct Sample {
    name: String,
    family: String,
    raw: RawMessage,
}

/// What the schemas are given for a record.
enum Doc {
    Structured(Vec<u8>),
    /// The headers as a JSON object (`None`: a header the contract reads is not UTF-8, which no
    /// JSON document can carry) and the value.
    Binary(Option<Vec<u8>>, Vec<u8>),
    /// Nothing a schema can judge: no value, or bytes that are not UTF-8 text.
    Refused,
    /// Larger than the limit: a size in bytes, which JSON Schema does not state.
    TooLarge,
}

fn doc_of(raw: &RawMessage) -> Doc {
    let payload = raw.payload.clone().unwrap_or_default();
    if payload.is_empty() {
        return Doc::Refused;
    }
    if payload.len() > MAX_BYTES {
        return Doc::TooLarge;
    }
    if raw.header("ce_specversion").is_none() {
        return match std::str::from_utf8(&payload) {
            Ok(_) => Doc::Structured(payload),
            Err(_) => Doc::Refused,
        };
    }
    // As the contract reads headers: names case-insensitively, the first of repeated ones.
    let mut headers = serde_json::Map::new();
    let mut representable = true;
    for (name, value) in &raw.headers {
        let name = name.to_ascii_lowercase();
        if headers.contains_key(&name) {
            continue;
        }
        match String::from_utf8(value.clone()) {
            Ok(v) => {
                headers.insert(name, v.into());
            }
            Err(_) if READ_HEADERS.contains(&name.as_str()) => representable = false,
            Err(_) => {}
        }
    }
    let headers = representable.then(|| serde_json::to_vec(&headers).unwrap());
    if std::str::from_utf8(&payload).is_err() {
        return Doc::Refused;
    }
    Doc::Binary(headers, payload)
}

/// Why the schema may accept what the validator refuses: the rules JSON Schema cannot state.
/// `None`: no such reason, so the schema should have refused.
fn gap(err: &ContractError, binary: bool) -> Option<&'static str> {
    use ContractError as E;
    match err {
        E::Oversize { .. } => Some("record size in bytes"),
        E::MissingKey | E::KeyMismatch { .. } => Some("the Kafka key equals subject"),
        E::InvalidField { field, why }
            if *field == "data.identity.employee_id" && why.contains("differs from subject") =>
        {
            Some("employee_id equals subject")
        }
        E::InvalidField { why, .. } if why.contains(" bytes, over ") => Some("length in bytes"),
        E::InvalidIdentity { problem, .. } => match problem {
            IdentityProblem::NotNfkc => Some("identity in NFKC form"),
            IdentityProblem::MixedScript => Some("identity in one script"),
            IdentityProblem::ConfusableWithAscii => Some("identity not an ASCII look-alike"),
            IdentityProblem::TooLong { .. } => Some("length in bytes"),
            _ => None,
        },
        // serde_json says "lone leading surrogate" or, at a string's end, "unexpected end of
        // hex escape".
        E::MalformedJson(m) if m.contains("surrogate") || m.contains("hex escape") => {
            Some("lone surrogate escapes (JSON, but not Unicode text)")
        }
        E::MalformedJson(m) if m.contains("recursion limit") => Some("nesting depth"),
        E::MissingField("data.effective_at") if binary => {
            Some("a termination's effective_at, across headers and value (binary mode)")
        }
        _ => None,
    }
}

fn keyed(
    name: String,
    family: &str,
    key: &str,
    payload: Vec<u8>,
    headers: Vec<(String, String)>,
) -> Sample {
    let mut raw = RawMessage::binary(Some(key.as_bytes().to_vec()), headers, payload);
    raw.topic = "hr.terminations".into();
    Sample {
        name,
        family: family.into(),
        raw,
    }
}

/// Valid events: as `revoke publish --generate` makes them, a rescind, the documented examples.
fn valid_samples() -> Vec<Sample> {
    let mut out = Vec::new();
    let now = Utc::now();
    for i in 0..30 {
        let ev = synthetic_leaver(i, "urn:revoke:generated-hr", "contracts", now);
        if i % 2 == 0 {
            let body = serde_json::to_vec(&ev.to_structured_json()).unwrap();
            out.push(keyed(
                format!("gen{i}"),
                "generated",
                &ev.subject,
                body,
                vec![],
            ));
        } else {
            let (headers, body) = ev.to_binary();
            out.push(keyed(
                format!("gen{i}"),
                "generated",
                &ev.subject,
                body,
                headers,
            ));
        }
    }
    let mut rescind = synthetic_leaver(1000, "urn:revoke:generated-hr", "contracts", now);
    rescind.kind = HrEventKind::Rescinded;
    rescind.data.effective_at = None;
    rescind.data.rescinds = Some("contracts-999".into());
    let body = serde_json::to_vec(&rescind.to_structured_json()).unwrap();
    out.push(keyed(
        "rescind0".into(),
        "generated",
        &rescind.subject,
        body,
        vec![],
    ));
    let (headers, body) = rescind.to_binary();
    out.push(keyed(
        "rescind1".into(),
        "generated",
        &rescind.subject,
        body,
        headers,
    ));

    let page = std::fs::read_to_string(root().join("docs/contracts/hr-terminations.md")).unwrap();
    let mut blocks = 0;
    for (i, block) in page.split("```json").skip(1).enumerate() {
        let json = block.split("```").next().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(json).expect("the page's JSON examples parse");
        let key = v["subject"].as_str().unwrap().to_string();
        out.push(keyed(
            format!("doc{i}"),
            "documented",
            &key,
            json.trim().as_bytes().to_vec(),
            vec![],
        ));
        blocks += 1;
    }
    assert!(blocks >= 2, "the HR page's examples were not found");
    out
}

/// JSON the validator refuses though it is JSON: an extension attribute nested deeper than
/// serde_json reads, and a lone surrogate escape (JSON, but not Unicode text).
fn edge_samples() -> Vec<Sample> {
    let ev = synthetic_leaver(2000, "urn:revoke:generated-hr", "contracts", Utc::now());
    let good = serde_json::to_string(&ev.to_structured_json()).unwrap();
    let deep = format!("{}{}{}", "[".repeat(200), 1, "]".repeat(200));
    let nested = good.replacen('{', &format!("{{\"x_nested\":{deep},"), 1);
    let surrogate = good.replacen("\"resignation\"", "\"resignation \\ud800\"", 1);
    assert_ne!(surrogate, good);
    vec![
        keyed(
            "edge0".into(),
            "edge",
            &ev.subject,
            nested.into_bytes(),
            vec![],
        ),
        keyed(
            "edge1".into(),
            "edge",
            &ev.subject,
            surrogate.into_bytes(),
            vec![],
        ),
    ]
}

fn hostile_samples() -> Vec<Sample> {
    let corpus = Corpus::generate(0x5eed_c0de, 700, MAX_BYTES);
    corpus
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| Sample {
            name: format!("h{i}"),
            family: r.family.to_string(),
            raw: r.raw("hr.terminations", 0, i as i64),
        })
        .collect()
}

/// The schemas' verdict on every sample (one ajv run per schema).
fn schema_verdicts(samples: &[Sample]) -> BTreeMap<String, Option<bool>> {
    let schemas = root().join("docs/contracts/schemas");
    let (mut structured, mut headers, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
    for s in samples {
        match doc_of(&s.raw) {
            Doc::Structured(b) => structured.push((s.name.clone(), b)),
            Doc::Binary(h, b) => {
                if let Some(h) = h {
                    headers.push((s.name.clone(), h));
                }
                bodies.push((s.name.clone(), b));
            }
            Doc::Refused | Doc::TooLarge => {}
        }
    }
    let on_structured = ajv_verdicts(&schemas.join("hr-termination.schema.json"), &structured);
    let on_headers = ajv_verdicts(
        &schemas.join("hr-termination-headers.schema.json"),
        &headers,
    );
    let on_bodies = ajv_verdicts(&schemas.join("hr-termination-data.schema.json"), &bodies);
    samples
        .iter()
        .map(|s| {
            let verdict = match doc_of(&s.raw) {
                Doc::Structured(_) => Some(on_structured[&s.name]),
                Doc::Binary(h, _) => Some(
                    h.is_some() && on_headers.get(&s.name) == Some(&true) && on_bodies[&s.name],
                ),
                Doc::Refused => Some(false),
                Doc::TooLarge => None,
            };
            (s.name.clone(), verdict)
        })
        .collect()
}

#[test]
#[ignore = "needs ajv-cli (npm): run the README's test command"]
fn the_hr_schemas_and_the_validator_agree_on_a_corpus() {
    let mut samples = valid_samples();
    let valid_made = samples.len();
    samples.extend(edge_samples());
    samples.extend(hostile_samples());
    let verdicts = schema_verdicts(&samples);

    let mut wrong = Vec::new();
    let mut both_refuse: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut gaps: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut accepted = 0;
    for s in &samples {
        let binary = s.raw.header("ce_specversion").is_some();
        let said = verdicts[&s.name];
        match (parse_hr_event(&s.raw, MAX_BYTES), said) {
            (Ok(_), Some(true)) => accepted += 1,
            (Ok(_), _) => wrong.push(format!(
                "{} ({}): the validator accepts it, the schema refuses it: {}",
                s.name,
                s.family,
                String::from_utf8_lossy(s.raw.payload.as_deref().unwrap_or_default())
            )),
            (Err(e), Some(false)) => *both_refuse.entry(e.reason()).or_default() += 1,
            (Err(e), _) => match gap(&e, binary) {
                Some(why) => *gaps.entry(why).or_default() += 1,
                None => wrong.push(format!(
                    "{} ({}): refused as {} ({e}), but the schema accepts it",
                    s.name,
                    s.family,
                    e.reason()
                )),
            },
        }
    }
    eprintln!("{} samples: {accepted} accepted by both", samples.len());
    eprintln!("refused by both, by reason: {both_refuse:?}");
    eprintln!("refused by the validator only (rules JSON Schema cannot state): {gaps:?}");
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    for gap in [
        "nesting depth",
        "lone surrogate escapes (JSON, but not Unicode text)",
    ] {
        assert!(
            gaps.contains_key(gap),
            "the edge sample for {gap} was not seen: {gaps:?}"
        );
    }

    // Not vacuous: every valid sample made above was accepted, and the schemas refused records
    // for each kind of rule they state.
    assert!(
        accepted >= valid_made,
        "{accepted} accepted, {valid_made} valid samples made"
    );
    for reason in [
        "malformed_json",
        "wrong_shape",
        "unsupported_specversion",
        "unknown_type",
        "unsupported_content_type",
        "missing_field",
        "invalid_field",
        "invalid_identity",
        "empty",
    ] {
        assert!(
            both_refuse.get(reason).is_some_and(|n| *n > 0),
            "no {reason} refused by both: {both_refuse:?}"
        );
    }
}

//! The published contracts as JSON Schema (draft-07, the dialect AsyncAPI 3 schemas extend),
//! generated from the contract types (`schemars` derives, with hand-written constraints where
//! validation is stricter than the types) and committed in `docs/contracts/schemas/`: `revoke
//! schema --out` writes them; `revoke schema --check` and this module's test fail when the
//! committed files differ.
//!
//! HR input is described as revoke *reads* it (deserialize: what is accepted); revoke's own
//! records as revoke *writes* them (serialize), with `schema` fixed to the version written.
//! revoke's readers ignore unknown fields of its own records, so those schemas allow them.

mod hr;
pub mod patterns;

use crate::contract::{
    AccessFinding, Case, Confirmation, DeadLetter, Escalation, GuardRecord, ReplayRequest,
    RestoreClaim, RestoreReport, RestoreRequest, ReviewRecord, SignalDelivery, StepAttestation,
    ACCESS_FINDING_SCHEMA, CASE_SCHEMA, CONFIRMATION_SCHEMA, DLQ_SCHEMA, ESCALATION_SCHEMA,
    GUARD_SCHEMA, REPLAY_REQUEST_SCHEMA, RESTORE_CLAIM_SCHEMA, RESTORE_REPORT_SCHEMA,
    RESTORE_REQUEST_SCHEMA, REVIEW_SCHEMA, SIGNAL_DELIVERY_SCHEMA, STEP_ATTESTATION_SCHEMA,
};
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::path::{Path, PathBuf};

/// One published schema: its file name stem, the topic its records travel on, and the schema.
pub struct Published {
    pub name: &'static str,
    pub topic: &'static str,
    pub schema: Schema,
}

impl Published {
    /// `<name>.schema.json`.
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.name)
    }

    /// The file's content: pretty JSON, a final newline.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.schema).expect("a schema is JSON");
        text.push('\n');
        text
    }
}

fn reading() -> SchemaGenerator {
    SchemaSettings::draft07()
        .for_deserialize()
        .with_transform(RecursiveTransform(standard_formats))
        .into_generator()
}

fn writing() -> SchemaGenerator {
    SchemaSettings::draft07()
        .for_serialize()
        .with_transform(RecursiveTransform(standard_formats))
        .into_generator()
}

/// `schemars` names Rust's integer widths as formats (`uint32`, …), which JSON Schema does not
/// define (strict validators refuse them): the width becomes bounds where JSON numbers hold
/// them exactly, and the format goes.
fn standard_formats(schema: &mut Schema) {
    let bounds: Option<(i64, i64)> = match schema.get("format").and_then(|f| f.as_str()) {
        Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
        Some("uint8") => Some((0, u8::MAX.into())),
        Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
        Some("uint16") => Some((0, u16::MAX.into())),
        Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
        Some("uint32") => Some((0, u32::MAX.into())),
        Some("int64" | "uint64" | "int" | "uint") => None,
        _ => return,
    };
    schema.remove("format");
    if let Some((min, max)) = bounds {
        schema.insert("minimum".into(), min.into());
        schema.insert("maximum".into(), max.into());
    }
}

/// A record revoke writes, with its `schema` field fixed to `version` and a title.
fn record<T: JsonSchema>(title: &str, version: &str) -> Schema {
    let mut schema = writing().into_root_schema_for::<T>();
    schema.insert("title".into(), format!("{title} ({version})").into());
    if let Some(props) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
        props.insert(
            "schema".into(),
            serde_json::json!({ "type": "string", "const": version }),
        );
    }
    schema
}

/// Every published schema, in a fixed order (the default topic names; `[topics]` may rename).
pub fn published() -> Vec<Published> {
    let p = |name, topic, schema| Published {
        name,
        topic,
        schema,
    };
    vec![
        p(
            "hr-termination",
            "hr.terminations",
            hr::structured(reading()),
        ),
        p(
            "hr-termination-data",
            "hr.terminations",
            hr::data(reading()),
        ),
        p(
            "hr-termination-headers",
            "hr.terminations",
            hr::headers(reading()),
        ),
        p(
            "confirmation",
            "revoke.confirmations",
            record::<Confirmation>("Worker confirmation", CONFIRMATION_SCHEMA),
        ),
        p(
            "step-attestation",
            "revoke.confirmations",
            record::<StepAttestation>("A person's attestation of a step", STEP_ATTESTATION_SCHEMA),
        ),
        p(
            "review",
            "revoke.confirmations",
            record::<ReviewRecord>("Closure review", REVIEW_SCHEMA),
        ),
        p(
            "restore-report",
            "revoke.confirmations",
            record::<RestoreReport>("Restore report", RESTORE_REPORT_SCHEMA),
        ),
        p(
            "access-finding",
            "revoke.confirmations",
            record::<AccessFinding>("Access seen after close", ACCESS_FINDING_SCHEMA),
        ),
        p(
            "signal-delivery",
            "revoke.confirmations",
            record::<SignalDelivery>("Shared Signals delivery", SIGNAL_DELIVERY_SCHEMA),
        ),
        p(
            "replay-request",
            "revoke.confirmations",
            record::<ReplayRequest>("A person's replay request", REPLAY_REQUEST_SCHEMA),
        ),
        p("case", "revoke.cases", record::<Case>("Case", CASE_SCHEMA)),
        p(
            "escalation",
            "revoke.escalations",
            record::<Escalation>("Escalation", ESCALATION_SCHEMA),
        ),
        p(
            "dead-letter",
            "revoke.dlq",
            record::<DeadLetter>("Dead letter", DLQ_SCHEMA),
        ),
        p(
            "guard",
            "revoke.guard",
            record::<GuardRecord>("Guard log record", GUARD_SCHEMA),
        ),
        p(
            "restore-request",
            "revoke.restores",
            record::<RestoreRequest>("Restore request", RESTORE_REQUEST_SCHEMA),
        ),
        p(
            "restore-claim",
            "revoke.restores.claims",
            record::<RestoreClaim>("Restore claim", RESTORE_CLAIM_SCHEMA),
        ),
    ]
}

/// The committed schemas in `dir` that differ from the types (or are missing), and files there
/// that no type produces: empty when everything matches.
pub fn drift(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let all = published();
    for p in &all {
        let path = dir.join(p.file_name());
        match std::fs::read_to_string(&path) {
            Ok(text) if text == p.text() => {}
            Ok(_) => problems.push(format!("{} differs from the types", path.display())),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".schema.json") && !all.iter().any(|p| p.file_name() == name) {
                problems.push(format!("{} is produced by no type", entry.path().display()));
            }
        }
    }
    problems
}

/// Where the schemas are committed, from the root of the repository.
pub const COMMITTED_DIR: &str = "docs/contracts/schemas";

/// `docs/contracts/schemas` of this checkout (for tests).
pub fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(COMMITTED_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed schemas are what the types generate: change a contract type, and this
    /// fails until `revoke schema --out docs/contracts/schemas` is run and the result committed.
    #[test]
    fn the_committed_schemas_match_the_types() {
        let problems = drift(&committed_dir());
        assert!(
            problems.is_empty(),
            "{}\nregenerate: cargo run -p revoke -- schema --out {COMMITTED_DIR}",
            problems.join("\n")
        );
    }

    #[test]
    fn names_are_unique_and_every_record_fixes_its_version() {
        let all = published();
        let mut names: Vec<_> = all.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for p in all.iter().filter(|p| !p.name.starts_with("hr-")) {
            let version = &p.schema.get("properties").unwrap()["schema"]["const"];
            assert!(
                version.as_str().unwrap().starts_with("revoke."),
                "{}",
                p.name
            );
        }
    }
}

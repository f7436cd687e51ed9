//! The committed JSON Schemas are what the types generate, every one is a schema ajv compiles
//! in strict mode, and both checks refuse a broken copy.

use super::tools::{root, run, temp_dir, text};
use revoke_shared::contract::json_schema::published;
use revoke_tests::procs::revoke_bin;
use std::path::Path;
use std::process::Command;

fn schema_check(dir: &Path) -> std::process::Output {
    Command::new(revoke_bin())
        .args(["schema", "--check"])
        .arg(dir)
        .env_remove("REVOKE_CONFIG")
        .output()
        .expect("run revoke schema --check")
}

fn copy_schemas() -> std::path::PathBuf {
    let dir = temp_dir("schemas");
    for entry in std::fs::read_dir(root().join("docs/contracts/schemas")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

/// `revoke schema --check` passes on the committed schemas and fails, naming the file, on a
/// copy where one schema no longer matches the types (a field the type does not have), and on
/// one where a schema is missing.
#[test]
fn the_drift_check_passes_on_the_committed_schemas_and_fails_on_a_stale_one() {
    let committed = root().join("docs/contracts/schemas");
    let out = schema_check(&committed);
    assert!(out.status.success(), "{}", text(&out));

    let stale = copy_schemas();
    let file = stale.join("confirmation.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    schema["properties"]["retired_field"] = serde_json::json!({ "type": "string" });
    std::fs::write(&file, serde_json::to_string_pretty(&schema).unwrap() + "\n").unwrap();
    std::fs::remove_file(stale.join("case.schema.json")).unwrap();
    let out = schema_check(&stale);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("confirmation.schema.json differs from the types"),
        "{said}"
    );
    assert!(said.contains("case.schema.json"), "{said}");
    assert!(!said.contains("review.schema.json"), "{said}");
    let _ = std::fs::remove_dir_all(stale);
}

/// Every committed schema compiles under ajv's strict mode (no unknown keyword or format, no
/// ambiguous type); a schema with a wrong type name does not.
#[test]
#[ignore = "needs ajv-cli (npm): run the README's test command"]
fn every_schema_compiles_in_strict_mode_and_a_broken_one_does_not() {
    let dir = root().join("docs/contracts/schemas");
    for p in published() {
        let path = dir.join(p.file_name()).display().to_string();
        let out = run(
            "ajv",
            &["compile", "-c", "ajv-formats", "--strict=true", "-s", &path],
        );
        assert!(out.status.success(), "{path}: {}", text(&out));
    }
    let broken = copy_schemas();
    let file = broken.join("review.schema.json");
    let bad = std::fs::read_to_string(&file).unwrap().replacen(
        "\"type\": \"string\"",
        "\"type\": \"strnig\"",
        1,
    );
    std::fs::write(&file, bad).unwrap();
    let path = file.display().to_string();
    let out = run(
        "ajv",
        &["compile", "-c", "ajv-formats", "--strict=true", "-s", &path],
    );
    assert!(
        !out.status.success(),
        "ajv compiled a schema with type \"strnig\": {}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(broken);
}

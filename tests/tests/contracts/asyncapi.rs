//! docs/contracts/asyncapi.yaml: `asyncapi validate` accepts it (the document and the JSON
//! Schemas it references), refuses broken copies, and it names every topic and every schema.

use super::tools::{root, run, temp_dir, text};
use revoke::topics::topic_specs;
use revoke_shared::config::Config;
use revoke_shared::contract::json_schema::published;
use std::path::{Path, PathBuf};

fn document() -> String {
    std::fs::read_to_string(root().join("docs/contracts/asyncapi.yaml")).unwrap()
}

fn validate(path: &Path) -> (bool, String) {
    let out = run("asyncapi", &["validate", &path.display().to_string()]);
    (out.status.success(), text(&out))
}

/// A copy of the document and its schemas, with `change` applied to the document and
/// `break_schema` to the schemas' directory.
fn broken_copy(change: impl Fn(&str) -> String, break_schema: impl Fn(&Path)) -> PathBuf {
    let dir = temp_dir("asyncapi");
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    for entry in std::fs::read_dir(root().join("docs/contracts/schemas")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("schemas").join(entry.file_name())).unwrap();
    }
    let path = dir.join("asyncapi.yaml");
    std::fs::write(&path, change(&document())).unwrap();
    break_schema(&dir.join("schemas"));
    path
}

#[test]
#[ignore = "needs @asyncapi/cli (npm): run the README's test command"]
fn the_asyncapi_document_is_valid_and_broken_copies_are_refused() {
    let (ok, said) = validate(&root().join("docs/contracts/asyncapi.yaml"));
    assert!(ok && said.contains("is valid"), "{said}");
    assert!(!said.contains(" error "), "{said}");

    // The same document copied elsewhere is valid too (the copy is a fair test bed).
    let same = broken_copy(|d| d.to_string(), |_| {});
    let (ok, said) = validate(&same);
    assert!(ok, "the unchanged copy: {said}");

    // A field AsyncAPI does not define on a channel.
    let extra = broken_copy(
        |d| {
            d.replacen(
                "    address: revoke.due\n",
                "    address: revoke.due\n    partitions: 6\n",
                1,
            )
        },
        |_| {},
    );
    let (ok, said) = validate(&extra);
    assert!(
        !ok && said.contains("partitions"),
        "an unknown channel field passed: {said}"
    );

    // An operation action AsyncAPI 3 does not have (2.x's `publish`).
    let action = broken_copy(|d| d.replacen("action: send", "action: publish", 1), |_| {});
    let (ok, said) = validate(&action);
    assert!(
        !ok && said.contains("action"),
        "action: publish passed: {said}"
    );

    // A payload schema that is not a schema (a type that does not exist).
    let schema = broken_copy(
        |d| d.to_string(),
        |dir| {
            let file = dir.join("escalation.schema.json");
            let bad = std::fs::read_to_string(&file).unwrap().replacen(
                "\"type\": \"string\"",
                "\"type\": \"strnig\"",
                1,
            );
            std::fs::write(file, bad).unwrap();
        },
    );
    let (ok, said) = validate(&schema);
    assert!(
        !ok && said.contains("escalation.schema.json") && said.contains("allowed values"),
        "a broken payload schema passed: {said}"
    );

    // A message whose payload schema file is gone.
    let missing = broken_copy(
        |d| d.to_string(),
        |dir| std::fs::remove_file(dir.join("dead-letter.schema.json")).unwrap(),
    );
    let (ok, said) = validate(&missing);
    assert!(!ok, "a missing payload schema passed: {said}");

    for path in [same, extra, action, schema, missing] {
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

/// Every topic `revoke topics create` makes has a channel, and every published schema is a
/// message payload (or headers) of the document: a topic or record added without documenting
/// it fails here.
#[test]
fn the_document_names_every_topic_and_every_schema() {
    let doc = document();
    for spec in topic_specs(&Config::default()) {
        assert!(
            doc.contains(&format!("    address: {}\n", spec.name)),
            "no channel for topic {}",
            spec.name
        );
        assert!(
            doc.contains(&format!("        partitions: {}\n", spec.partitions)),
            "{}",
            spec.name
        );
    }
    for p in published() {
        assert!(
            doc.contains(&format!("$ref: './schemas/{}'", p.file_name())),
            "the document does not reference {}",
            p.file_name()
        );
    }
}

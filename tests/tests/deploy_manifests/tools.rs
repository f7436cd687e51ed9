//! The real tools, run as a person would: `kubectl kustomize`, PyPI's `kubernetes-validate`,
//! Debian's `docker-compose`. A tool that is missing fails the test with what to install (the
//! README's test command installs each); it never skips.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Kubernetes version whose schemas `kubernetes-validate` checks against (one it ships; the
/// release of the kubectl the test command installs).
pub const KUBERNETES_VERSION: &str = "1.32.0";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn run(cmd: &mut Command, install: &str) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): install it ({install}; the README's test command does)")
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `kubectl kustomize DIR`: the rendered objects as YAML.
pub fn kustomize(dir: &Path) -> String {
    let out = run(
        Command::new("kubectl").arg("kustomize").arg(dir),
        "kubectl, from the Google Cloud SDK apt repository",
    );
    if !out.status.success() {
        let version = run(
            Command::new("kubectl").args(["version", "--client"]),
            "kubectl",
        );
        panic!(
            "kubectl kustomize {} failed:\n{}\n(kubectl: {}; Debian's own kubernetes-client 1.20 ships a kustomize too old for deploy/k8s)",
            dir.display(),
            text(&out.stderr),
            text(&version.stdout).trim()
        );
    }
    text(&out.stdout)
}

/// The objects of a YAML stream, read by PyYAML (which `kubernetes-validate` depends on).
pub fn objects(yaml: &str, scratch: &Path) -> Vec<Value> {
    let file = scratch.join("objects.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = run(
        Command::new("python3")
            .arg("-c")
            .arg("import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d], sys.stdout)")
            .arg(&file),
        "python3 -m pip install kubernetes-validate (brings PyYAML)",
    );
    assert!(out.status.success(), "PyYAML: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("PyYAML's JSON")
}

/// `kubernetes-validate --strict` (unknown fields refused) of a YAML stream against
/// [`KUBERNETES_VERSION`], offline: (passed, what it printed).
pub fn validate(yaml: &str, scratch: &Path) -> (bool, String) {
    let file = scratch.join("rendered.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = run(
        Command::new("python3")
            .args(["-m", "kubernetes_validate", "--strict", "--quiet", "-k"])
            .arg(KUBERNETES_VERSION)
            .arg(&file),
        "python3 -m pip install kubernetes-validate",
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !said.contains("No module named kubernetes_validate"),
        "kubernetes-validate is not installed: python3 -m pip install kubernetes-validate (the README's test command does)"
    );
    (out.status.success(), said)
}

/// `docker-compose -f FILE config -q` in the file's folder (no Docker engine needed):
/// (valid, what it printed).
pub fn compose_config(file: &Path) -> (bool, String) {
    let out = run(
        Command::new("docker-compose")
            .arg("-f")
            .arg(file)
            .args(["config", "-q"])
            .current_dir(file.parent().unwrap()),
        "apt-get install docker-compose",
    );
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// Copies `from` (a folder) into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Replaces the one occurrence of `from` in `file` with `to` (asserting it is there once).
pub fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} in {}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// A fresh folder under the system's temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "revoke-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

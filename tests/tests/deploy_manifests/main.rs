//! `deploy/k8s/` and `docker-compose.yml` checked with the real tools, offline:
//!
//! - `kubectl kustomize` renders the base and the example overlay; PyPI's `kubernetes-validate`
//!   validates every rendered object against the Kubernetes schemas it ships, strictly (an
//!   unknown field fails); our own checks (`checks`) then hold every workload to the security
//!   context, the `/livez` + `/readyz` probes, resources, one PodDisruptionBudget each, and every
//!   credential to a key of the Secret example;
//! - Debian's `docker-compose config` accepts the compose file (no Docker engine needed);
//! - each tool refuses a broken copy (a typo'd field, a wrong type), so a pass means something.
//!
//! Needs kubectl, kubernetes-validate and docker-compose: `#[ignore]`d in plain `cargo test`; the
//! README's test command installs them and runs these.

mod checks;
mod tools;

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;
use tools::{compose_config, copy_tree, edit, kustomize, objects, repo, validate, Scratch};

const KINDS: [&str; 5] = ["directory", "saas", "cloud", "vault", "cicd"];

/// Credential variables of processes deploy/k8s does not run (`revoke signals` needs an issuer
/// URL and keys of its own): named in the example config, deliberately not wired.
const NOT_DEPLOYED: [&str; 1] = ["CRM_SSF_TOKEN"];

fn count_by_kind(objects: &[Value]) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for o in objects {
        *n.entry(o["kind"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    n
}

fn assert_no_problems(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

/// The checks every rendering passes; returns its objects.
fn render_and_check(dir: &str, scratch: &Scratch) -> Vec<Value> {
    let started = Instant::now();
    let yaml = kustomize(&repo().join(dir));
    let (valid, said) = validate(&yaml, &scratch.0);
    assert!(valid, "kubernetes-validate refused {dir}:\n{said}");
    let objects = objects(&yaml, &scratch.0);
    for (what, problems) in [
        ("security context", checks::security(&objects)),
        ("probes", checks::probes(&objects)),
        ("resources", checks::resources(&objects)),
        ("disruption budgets", checks::disruption_budgets(&objects)),
    ] {
        assert_no_problems(&format!("{dir}: {what}"), problems);
    }
    let kinds = count_by_kind(&objects);
    println!(
        "{dir}: {} objects {kinds:?}, rendered and validated (Kubernetes {}) in {:.2} s",
        objects.len(),
        tools::KUBERNETES_VERSION,
        started.elapsed().as_secs_f64()
    );
    objects
}

fn deployment<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Deployment {name}"))
}

fn args(o: &Value) -> Vec<String> {
    serde_json::from_value(o["spec"]["template"]["spec"]["containers"][0]["args"].clone())
        .unwrap_or_default()
}

/// kustomize reads no file outside the base's folder, so the base carries its own copy of the
/// example config: it must stay the same file.
#[test]
fn the_base_config_is_the_example_config() {
    let example = std::fs::read_to_string(repo().join("deploy/revoke.example.toml")).unwrap();
    let base = std::fs::read_to_string(repo().join("deploy/k8s/base/revoke.toml")).unwrap();
    assert!(
        example == base,
        "deploy/k8s/base/revoke.toml differs from deploy/revoke.example.toml: cp deploy/revoke.example.toml deploy/k8s/base/revoke.toml"
    );
}

#[test]
#[ignore = "needs kubectl and kubernetes-validate: run the README's test command"]
fn the_base_renders_validates_and_runs_every_process_safely() {
    let scratch = Scratch::new("k8s-base");
    let objects = render_and_check("deploy/k8s/base", &scratch);
    let kinds = count_by_kind(&objects);
    assert_eq!(
        kinds.get("Deployment"),
        Some(&7),
        "five workers, verifier, webhook"
    );
    assert_eq!(kinds.get("PodDisruptionBudget"), Some(&7));
    assert_eq!(kinds.get("Job"), Some(&1));
    assert_eq!(kinds.get("ServiceAccount"), Some(&1));
    for kind in KINDS {
        let d = deployment(&objects, &format!("revoke-worker-{kind}"));
        assert!(args(d).ends_with(&["worker".into(), "--target".into(), kind.into()]));
    }
    assert!(args(deployment(&objects, "revoke-verifier")).ends_with(&["verifier".into()]));
    assert!(args(deployment(&objects, "revoke-webhook")).ends_with(&["webhook".into()]));
    let job = objects.iter().find(|o| o["kind"] == "Job").unwrap();
    assert!(args(job).ends_with(&["topics".into(), "create".into()]));
    // The ConfigMap is the example config, and every credential it names reaches the process
    // that reads it from the Secret.
    let example = std::fs::read_to_string(repo().join("deploy/revoke.example.toml")).unwrap();
    let config = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["data"]["revoke.toml"].is_string())
        .expect("the config ConfigMap");
    assert_eq!(config["data"]["revoke.toml"], example.as_str());
    let mut vars = checks::credential_vars(&example);
    vars.retain(|(_, v)| !NOT_DEPLOYED.contains(&v.as_str()));
    assert!(
        vars.len() >= 12,
        "the example names its credentials: {vars:?}"
    );
    assert_no_problems(
        "credentials of deploy/revoke.example.toml",
        checks::credentials_wired(&objects, &vars),
    );
    let sasl = [(
        "kafka.properties".to_string(),
        "REVOKE_KAFKA__PROPERTIES__SASL.PASSWORD".to_string(),
    )];
    assert_no_problems(
        "the Kafka password",
        checks::credentials_wired(&objects, &sasl),
    );
    for (w, var, secret, _) in checks::secret_refs(&objects) {
        assert_eq!(secret, checks::SECRET, "{w}: {var}");
    }
}

#[test]
#[ignore = "needs kubectl and kubernetes-validate: run the README's test command"]
fn the_example_overlay_renders_validates_and_wires_every_credential() {
    let scratch = Scratch::new("k8s-overlay");
    let objects = render_and_check("deploy/k8s/overlays/example", &scratch);
    assert_no_problems("Secret example", checks::secret_keys(&objects));
    let dir = repo().join("deploy/k8s/overlays/example");
    let text = std::fs::read_to_string(dir.join("revoke.toml")).unwrap();
    let vars = checks::credential_vars(&text);
    assert!(vars.len() >= 8, "{vars:?}");
    assert_no_problems(
        "credentials of the overlay's revoke.toml",
        checks::credentials_wired(&objects, &vars),
    );
    // The overlay's config is one revoke loads (keys exist, values valid).
    revoke_shared::config::Config::load(Some(&dir.join("revoke.toml")), Vec::new())
        .unwrap_or_else(|e| panic!("overlays/example/revoke.toml: {e}"));
    for o in &objects {
        if o["kind"] != "Namespace" {
            assert_eq!(
                o["metadata"]["namespace"], "revoke",
                "{}",
                o["metadata"]["name"]
            );
        }
        if let Some(image) = o["spec"]["template"]["spec"]["containers"][0]["image"].as_str() {
            assert_eq!(image, "registry.example.com/security/revoke:0.1.0");
        }
    }
    assert_eq!(
        deployment(&objects, "revoke-worker-vault")["spec"]["replicas"],
        3
    );
}

/// The validation is strict and real: a copy of deploy/k8s with a typo'd container field, then
/// one with a wrong type, renders but is refused.
#[test]
#[ignore = "needs kubectl and kubernetes-validate: run the README's test command"]
fn a_manifest_with_an_invalid_field_or_a_wrong_type_is_refused() {
    for (file, from, to, expected) in [
        (
            "verifier.yaml",
            "          image: revoke\n",
            "          imagee: revoke\n",
            "'imagee' was unexpected",
        ),
        (
            "webhook.yaml",
            "  replicas: 2\n",
            "  replicas: two\n",
            "'two' is not of type 'integer'",
        ),
    ] {
        let scratch = Scratch::new("k8s-broken");
        let k8s = scratch.0.join("k8s");
        copy_tree(&repo().join("deploy/k8s"), &k8s);
        edit(&k8s.join("base").join(file), from, to);
        let yaml = kustomize(&k8s.join("overlays/example"));
        let (valid, said) = validate(&yaml, &scratch.0);
        assert!(
            !valid,
            "kubernetes-validate accepted {file} with {to:?}:\n{said}"
        );
        assert!(said.contains(expected), "{file}: {said}");
        println!("broken {file} refused: {}", said.trim());
    }
}

#[test]
#[ignore = "needs docker-compose: run the README's test command"]
fn the_compose_file_is_valid_for_docker_compose() {
    let started = Instant::now();
    let (valid, said) = compose_config(&repo().join("docker-compose.yml"));
    assert!(
        valid,
        "docker-compose config refused docker-compose.yml:\n{said}"
    );
    println!(
        "docker-compose config: valid in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// A copy with a typo'd service key, then one with a wrong type, is refused.
#[test]
#[ignore = "needs docker-compose: run the README's test command"]
fn a_broken_compose_file_is_refused() {
    for (from, to, expected) in [
        (
            "    command: [\"worker\", \"--target\", \"vault\"]\n",
            "    comand: [\"worker\", \"--target\", \"vault\"]\n",
            "comand",
        ),
        (
            "    restart: \"no\"\n",
            "    restart: [\"no\"]\n",
            "restart",
        ),
    ] {
        let scratch = Scratch::new("compose-broken");
        std::fs::create_dir_all(scratch.0.join("deploy")).unwrap();
        std::fs::copy(
            repo().join("deploy/prometheus.yml"),
            scratch.0.join("deploy/prometheus.yml"),
        )
        .unwrap();
        let file = scratch.0.join("docker-compose.yml");
        std::fs::copy(repo().join("docker-compose.yml"), &file).unwrap();
        edit(&file, from, to);
        let (valid, said) = compose_config(&file);
        assert!(!valid, "docker-compose accepted {to:?}");
        assert!(said.contains(expected), "{to:?}: {said}");
        println!("broken compose file refused: {}", said.trim());
    }
}

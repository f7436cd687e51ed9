//! Our own checks on the rendered Kubernetes objects (kubectl's output as JSON values), beyond
//! what the schemas say: each returns the problems it found, named by object, so a failure says
//! what to fix. Pure: unit tests below feed them small objects.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The Secret every credential is read from.
pub const SECRET: &str = "revoke-credentials";

fn name(o: &Value) -> String {
    format!(
        "{}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn of_kind<'a>(objects: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> {
    objects.iter().filter(move |o| o["kind"] == kind)
}

/// The Deployments and Jobs: the objects that run a `revoke` container.
fn workloads(objects: &[Value]) -> impl Iterator<Item = &Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "Job")
}

fn pod_spec(o: &Value) -> &Value {
    &o["spec"]["template"]["spec"]
}

fn containers(o: &Value) -> Vec<&Value> {
    pod_spec(o)["containers"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Non-root as the image's user, no privilege escalation, read-only root filesystem, every
/// capability dropped, seccomp RuntimeDefault, no service-account token: on every pod and every
/// container.
pub fn security(objects: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for o in workloads(objects) {
        let pod = pod_spec(o);
        let psc = &pod["securityContext"];
        let mut want = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("{}: {what}", name(o)));
            }
        };
        want(psc["runAsNonRoot"] == true, "pod runAsNonRoot is not true");
        want(
            psc["runAsUser"] == 10001,
            "pod runAsUser is not 10001 (the image's user)",
        );
        want(
            psc["seccompProfile"]["type"] == "RuntimeDefault",
            "pod seccompProfile is not RuntimeDefault",
        );
        want(
            pod["automountServiceAccountToken"] == false,
            "the service-account token is mounted",
        );
        want(
            pod["serviceAccountName"] == "revoke",
            "not ServiceAccount revoke",
        );
        let cs = containers(o);
        want(!cs.is_empty(), "no container");
        for c in cs {
            let sc = &c["securityContext"];
            let cname = c["name"].as_str().unwrap_or("?");
            let drops_all = sc["capabilities"]["drop"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == "ALL"));
            for (ok, what) in [
                (sc["runAsNonRoot"] == true, "runAsNonRoot is not true"),
                (
                    sc["allowPrivilegeEscalation"] == false,
                    "allowPrivilegeEscalation is not false",
                ),
                (
                    sc["readOnlyRootFilesystem"] == true,
                    "readOnlyRootFilesystem is not true",
                ),
                (drops_all, "capabilities do not drop ALL"),
            ] {
                want(ok, &format!("container {cname}: {what}"));
            }
        }
    }
    for sa in of_kind(objects, "ServiceAccount") {
        if sa["automountServiceAccountToken"] != false {
            problems.push(format!(
                "{}: automountServiceAccountToken is not false",
                name(sa)
            ));
        }
    }
    problems
}

/// Every long-running container: `/livez` as liveness and `/readyz` as readiness on port 9464
/// (named `metrics`), Prometheus' scrape annotations on the pod, and `/metrics` listening
/// beyond loopback (`REVOKE_METRICS__LISTEN=0.0.0.0:9464` from its env ConfigMap).
pub fn probes(objects: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for o in of_kind(objects, "Deployment") {
        let ann = &o["spec"]["template"]["metadata"]["annotations"];
        if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "9464" {
            problems.push(format!(
                "{}: no prometheus.io scrape annotations for 9464",
                name(o)
            ));
        }
        for c in containers(o) {
            let port_named = |p: &Value| {
                p == 9464
                    || c["ports"].as_array().is_some_and(|ps| {
                        ps.iter()
                            .any(|x| x["name"] == *p && x["containerPort"] == 9464)
                    })
            };
            for (probe, path) in [("livenessProbe", "/livez"), ("readinessProbe", "/readyz")] {
                let get = &c[probe]["httpGet"];
                if get["path"] != path || !port_named(&get["port"]) {
                    problems.push(format!(
                        "{}: {probe} is not GET {path} on port 9464: {}",
                        name(o),
                        c[probe]
                    ));
                }
            }
            if env_value(objects, c, "REVOKE_METRICS__LISTEN").as_deref() != Some("0.0.0.0:9464") {
                problems.push(format!(
                    "{}: REVOKE_METRICS__LISTEN is not 0.0.0.0:9464 (probes and Prometheus reach the pod, not its loopback)",
                    name(o)
                ));
            }
        }
    }
    problems
}

/// A plain environment variable of a container: its own `env`, else its `envFrom` ConfigMaps.
fn env_value(objects: &[Value], c: &Value, var: &str) -> Option<String> {
    if let Some(v) = c["env"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["name"] == var))
    {
        return v["value"].as_str().map(str::to_string);
    }
    c["envFrom"].as_array()?.iter().find_map(|from| {
        let cm = from["configMapRef"]["name"].as_str()?;
        of_kind(objects, "ConfigMap")
            .find(|m| m["metadata"]["name"] == cm)
            .and_then(|m| m["data"][var].as_str().map(str::to_string))
    })
}

/// CPU and memory, requests and limits, on every container.
pub fn resources(objects: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for o in workloads(objects) {
        for c in containers(o) {
            for side in ["requests", "limits"] {
                for res in ["cpu", "memory"] {
                    if c["resources"][side][res].is_null() {
                        problems.push(format!("{}: no {side}.{res}", name(o)));
                    }
                }
            }
        }
    }
    problems
}

/// (workload, environment variable, Secret key) for every variable read from a Secret.
pub fn secret_refs(objects: &[Value]) -> Vec<(String, String, String, String)> {
    let mut refs = Vec::new();
    for o in workloads(objects) {
        for c in containers(o) {
            for e in c["env"].as_array().into_iter().flatten() {
                let r = &e["valueFrom"]["secretKeyRef"];
                if !r.is_null() {
                    refs.push((
                        name(o),
                        e["name"].as_str().unwrap_or("?").to_string(),
                        r["name"].as_str().unwrap_or("?").to_string(),
                        r["key"].as_str().unwrap_or("?").to_string(),
                    ));
                }
            }
        }
    }
    refs
}

/// Every secretKeyRef names a key the Secret has, and every key of the Secret is read by some
/// workload (a key nobody reads is a credential named wrongly somewhere).
pub fn secret_keys(objects: &[Value]) -> Vec<String> {
    let Some(secret) = of_kind(objects, "Secret").find(|s| s["metadata"]["name"] == SECRET) else {
        return vec![format!("no Secret {SECRET}")];
    };
    let keys: BTreeSet<&str> = ["data", "stringData"]
        .iter()
        .filter_map(|f| secret[f].as_object())
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let refs = secret_refs(objects);
    let mut problems: Vec<String> = refs
        .iter()
        .filter(|(_, _, s, k)| s != SECRET || !keys.contains(k.as_str()))
        .map(|(w, var, s, k)| {
            format!("{w}: {var} reads key {k} of Secret {s}, which the example lacks")
        })
        .collect();
    let read: BTreeSet<&str> = refs.iter().map(|(_, _, _, k)| k.as_str()).collect();
    for k in keys.difference(&read) {
        problems.push(format!("Secret {SECRET}: key {k} is read by no workload"));
    }
    problems
}

/// The environment variable names a configuration file gives for credentials: the value of every
/// `*_env = "NAME"` line, commented out or not (the example shows most of them commented), with
/// the TOML table it sits under.
pub fn credential_vars(toml_text: &str) -> Vec<(String, String)> {
    let mut table = String::new();
    let mut out = Vec::new();
    for line in toml_text.lines() {
        let l = line.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
        if l.starts_with('[') {
            if let Some(end) = l.find(']') {
                table = l[..end].trim_start_matches('[').to_string();
            }
            continue;
        }
        let Some((key, rest)) = l.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if !key.ends_with("_env") {
            continue;
        }
        let value = rest.trim().trim_start_matches('"');
        if let Some(end) = value.find('"') {
            out.push((table.clone(), value[..end].to_string()));
        }
    }
    out
}

/// Which workloads a credential named under `table` must reach: a target kind's worker, the
/// webhook for `[escalations]`, any workload otherwise.
pub fn readers_of(table: &str) -> Option<String> {
    if let Some(kind) = table.strip_prefix("targets.") {
        let kind = kind.split('.').next().unwrap_or(kind);
        return Some(format!("Deployment/revoke-worker-{kind}"));
    }
    (table == "escalations").then(|| "Deployment/revoke-webhook".to_string())
}

/// Each credential variable in `vars` is set from the Secret in the workload that reads it.
pub fn credentials_wired(objects: &[Value], vars: &[(String, String)]) -> Vec<String> {
    let refs = secret_refs(objects);
    let mut problems = Vec::new();
    for (table, var) in vars {
        let reader = readers_of(table);
        let wired = refs
            .iter()
            .any(|(w, v, _, _)| v == var && reader.as_ref().is_none_or(|r| r == w));
        if !wired {
            problems.push(format!(
                "[{table}] names {var}, which no Secret reference of {} sets",
                reader.as_deref().unwrap_or("any workload")
            ));
        }
    }
    problems
}

/// Every Deployment has exactly one PodDisruptionBudget selecting its pods.
pub fn disruption_budgets(objects: &[Value]) -> Vec<String> {
    let pdbs: Vec<BTreeMap<String, Value>> = of_kind(objects, "PodDisruptionBudget")
        .map(|p| {
            p["spec"]["selector"]["matchLabels"]
                .as_object()
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default()
        })
        .collect();
    let mut problems = Vec::new();
    for d in of_kind(objects, "Deployment") {
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        let n = pdbs
            .iter()
            .filter(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels[k] == *v))
            .count();
        if n != 1 {
            problems.push(format!(
                "{}: {n} PodDisruptionBudgets select its pods",
                name(d)
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Deployment that passes every check, with its env ConfigMap, PDB and Secret.
    fn good() -> Vec<Value> {
        let container = json!({
            "name": "revoke",
            "envFrom": [{"configMapRef": {"name": "env"}}],
            "env": [{"name": "REVOKE_VAULT_TOKEN", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "vault-token"}}}],
            "ports": [{"name": "metrics", "containerPort": 9464}],
            "livenessProbe": {"httpGet": {"path": "/livez", "port": "metrics"}},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 9464}},
            "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
            "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}
        });
        vec![
            json!({"kind": "Deployment", "metadata": {"name": "revoke-worker-vault"}, "spec": {"template": {
                "metadata": {"labels": {"c": "vault"}, "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9464"}},
                "spec": {"serviceAccountName": "revoke", "automountServiceAccountToken": false,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container]}}}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "env"}, "data": {"REVOKE_METRICS__LISTEN": "0.0.0.0:9464"}}),
            json!({"kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {"selector": {"matchLabels": {"c": "vault"}}}}),
            json!({"kind": "Secret", "metadata": {"name": SECRET}, "stringData": {"vault-token": "x"}}),
            json!({"kind": "ServiceAccount", "metadata": {"name": "revoke"}, "automountServiceAccountToken": false}),
        ]
    }

    fn all(objects: &[Value]) -> Vec<String> {
        [security, probes, resources, secret_keys, disruption_budgets]
            .iter()
            .flat_map(|check| check(objects))
            .collect()
    }

    /// `good()` with one change at a JSON pointer.
    fn with(pointer: &str, value: Value) -> Vec<Value> {
        let mut objects = good();
        let (index, path) = pointer.split_once('/').unwrap();
        *objects[index.parse::<usize>().unwrap()]
            .pointer_mut(&format!("/{path}"))
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        objects
    }

    #[test]
    fn a_complete_deployment_passes() {
        assert_eq!(all(&good()), Vec::<String>::new());
    }

    #[test]
    fn each_missing_guard_is_named() {
        let c = "0/spec/template/spec/containers/0";
        for (pointer, value, expected) in [
            (
                format!("{c}/securityContext/readOnlyRootFilesystem"),
                json!(false),
                "readOnlyRootFilesystem",
            ),
            (
                format!("{c}/securityContext/allowPrivilegeEscalation"),
                json!(true),
                "allowPrivilegeEscalation",
            ),
            (
                format!("{c}/securityContext/capabilities/drop"),
                json!(["NET_RAW"]),
                "drop ALL",
            ),
            (
                "0/spec/template/spec/securityContext/runAsUser".into(),
                json!(0),
                "runAsUser",
            ),
            (
                "0/spec/template/spec/automountServiceAccountToken".into(),
                json!(true),
                "token is mounted",
            ),
            (
                format!("{c}/livenessProbe/httpGet/path"),
                json!("/healthz"),
                "livenessProbe is not GET /livez",
            ),
            (
                format!("{c}/readinessProbe/httpGet/port"),
                json!(8080),
                "readinessProbe is not GET /readyz",
            ),
            (
                format!("{c}/resources/limits"),
                json!({"cpu": "1"}),
                "no limits.memory",
            ),
            (
                "1/data/REVOKE_METRICS__LISTEN".into(),
                json!("127.0.0.1:9464"),
                "REVOKE_METRICS__LISTEN",
            ),
            (
                format!("{c}/env/0/valueFrom/secretKeyRef/key"),
                json!("vault-tokn"),
                "vault-tokn",
            ),
            (
                "2/spec/selector/matchLabels/c".into(),
                json!("saas"),
                "0 PodDisruptionBudgets",
            ),
            (
                "4/automountServiceAccountToken".into(),
                json!(true),
                "ServiceAccount/revoke",
            ),
        ] {
            let problems = all(&with(&pointer, value));
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{pointer}: expected a problem naming {expected:?}, got {problems:?}"
            );
        }
    }

    #[test]
    fn a_secret_key_nobody_reads_is_named() {
        let objects = with(
            "3/stringData",
            json!({"vault-token": "x", "gitlab-tokn": "y"}),
        );
        assert_eq!(
            secret_keys(&objects),
            vec!["Secret revoke-credentials: key gitlab-tokn is read by no workload"]
        );
    }

    #[test]
    fn credential_variables_are_read_from_the_config_text_commented_or_not() {
        let text = "[targets.vault]\n# token_env = \"REVOKE_VAULT_TOKEN\"\n[escalations]\nwebhook_token_env = \"REVOKE_WEBHOOK_TOKEN\"   # bearer\nwebhook_url = \"x\"\n";
        let vars = credential_vars(text);
        assert_eq!(
            vars,
            vec![
                (
                    "targets.vault".to_string(),
                    "REVOKE_VAULT_TOKEN".to_string()
                ),
                (
                    "escalations".to_string(),
                    "REVOKE_WEBHOOK_TOKEN".to_string()
                )
            ]
        );
        let problems = credentials_wired(&good(), &vars);
        assert_eq!(
            problems,
            vec!["[escalations] names REVOKE_WEBHOOK_TOKEN, which no Secret reference of Deployment/revoke-webhook sets"]
        );
        let other_kind = vec![("targets.cicd".to_string(), "REVOKE_VAULT_TOKEN".to_string())];
        assert_eq!(
            credentials_wired(&good(), &other_kind).len(),
            1,
            "wired into the wrong worker"
        );
    }
}

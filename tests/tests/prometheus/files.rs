//! The files under test read as data: the rules (`deploy/prometheus/rules.yml`), their promtool
//! tests (`rules.test.yml`), the dashboard (`deploy/grafana/revoke.json`), and what the docs
//! say (the runbook's anchors, the metrics table of docs/operations.md).

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

pub fn rules_path() -> PathBuf {
    repo_root().join("deploy/prometheus/rules.yml")
}

pub fn rules_test_path() -> PathBuf {
    repo_root().join("deploy/prometheus/rules.test.yml")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[derive(Debug, Deserialize)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub alert: Option<String>,
    pub record: Option<String>,
    pub expr: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl RuleFile {
    pub fn parse(text: &str) -> RuleFile {
        serde_yaml::from_str(text).expect("rules.yml is a Prometheus rule file")
    }

    pub fn load() -> RuleFile {
        RuleFile::parse(&read(&rules_path()))
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.groups.iter().flat_map(|g| g.rules.iter())
    }

    pub fn alerts(&self) -> impl Iterator<Item = &Rule> {
        self.rules().filter(|r| r.alert.is_some())
    }

    pub fn recorded_names(&self) -> BTreeSet<String> {
        self.rules().filter_map(|r| r.record.clone()).collect()
    }
}

#[derive(Debug, Deserialize)]
pub struct TestFile {
    pub rule_files: Vec<String>,
    pub tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
pub struct TestGroup {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
}

#[derive(Debug, Deserialize)]
pub struct AlertTest {
    pub alertname: String,
    pub eval_time: String,
    /// Absent or empty: the alert must not fire at `eval_time`.
    #[serde(default)]
    pub exp_alerts: Vec<serde_yaml::Value>,
}

impl TestFile {
    pub fn parse(text: &str) -> TestFile {
        serde_yaml::from_str(text).expect("rules.test.yml is a promtool test file")
    }

    pub fn load() -> TestFile {
        TestFile::parse(&read(&rules_test_path()))
    }

    pub fn alert_tests(&self) -> impl Iterator<Item = &AlertTest> {
        self.tests.iter().flat_map(|g| g.alert_rule_test.iter())
    }
}

/// The anchors GitHub gives a page's headings: lower case, spaces to `-`, punctuation other
/// than `-` and `_` dropped (headings inside code fences are not headings).
pub fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !t.starts_with('#') {
            continue;
        }
        let text = t.trim_start_matches('#').trim();
        let anchor: String = text
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        out.insert(anchor);
    }
    out
}

/// The metric names a PromQL expression reads: `revoke_*`, recording rules `revoke:*`,
/// `process_*` and `up` (label values in quotes are skipped).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut unquoted = String::new();
    let mut quoted = false;
    for c in expr.chars() {
        if c == '"' {
            quoted = !quoted;
            unquoted.push(' ');
        } else if !quoted {
            unquoted.push(c);
        }
    }
    unquoted
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| {
            t.starts_with("revoke_")
                || t.starts_with("revoke:")
                || t.starts_with("process_")
                || *t == "up"
        })
        .map(str::to_string)
        .collect()
}

/// The metric names in the first column of docs/operations.md's metrics table.
pub fn documented_metrics() -> BTreeSet<String> {
    let text = read(&repo_root().join("docs/operations.md"));
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap_or("");
        for name in first.split('`').skip(1).step_by(2) {
            out.insert(name.to_string());
        }
    }
    out
}

/// A dashboard query: the panel's title, the target's refId and its PromQL.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    pub panel: String,
    pub ref_id: String,
    pub expr: String,
}

pub fn dashboard_path() -> PathBuf {
    repo_root().join("deploy/grafana/revoke.json")
}

pub fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read(&dashboard_path())).expect("the dashboard is JSON")
}

/// Every panel of a dashboard (rows' nested panels included), rows left out.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        if p["type"] == "row" {
            out.extend(p["panels"].as_array().into_iter().flatten());
        } else {
            out.push(p);
        }
    }
    out
}

pub fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<PanelQuery> {
    panels(dashboard)
        .into_iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| PanelQuery {
                    panel: title.clone(),
                    ref_id: t["refId"].as_str().unwrap_or("?").to_string(),
                    expr: t["expr"].as_str().unwrap_or("").to_string(),
                })
        })
        .collect()
}

/// A dashboard query as Prometheus takes it: Grafana's interval variables replaced by a
/// concrete range (1 m: at least four scrapes at the test's 1 s interval, and at Grafana's
/// default 15 s).
pub fn concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m")
}

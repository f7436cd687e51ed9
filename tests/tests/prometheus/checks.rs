//! What the rules, their tests and the dashboard must satisfy, checked without any tool:
//! each check is a function returning the problems it finds, tested on the real files (none)
//! and on broken copies (the problem named), so a check that could never fail would show.

use super::files::*;
use std::collections::{BTreeMap, BTreeSet};

const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

/// Every alert: a `severity` label of critical/warning/info, a summary and a description, a
/// `runbook_url` of `docs/runbook.md#<anchor>` whose anchor is a heading of the runbook; at
/// least one promtool test where it fires and one where it must not; every alert test names
/// an alert that exists. Alert names are unique.
pub fn alert_problems(rules: &RuleFile, tests: &TestFile, runbook: &str) -> Vec<String> {
    let anchors = anchors(runbook);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for rule in rules.alerts() {
        let name = rule.alert.as_deref().unwrap_or_default();
        if !seen.insert(name) {
            problems.push(format!("{name}: defined twice"));
        }
        match rule.labels.get("severity") {
            Some(s) if SEVERITIES.contains(&s.as_str()) => {}
            other => problems.push(format!(
                "{name}: severity {other:?} is not one of {SEVERITIES:?}"
            )),
        }
        for key in ["summary", "description"] {
            if rule
                .annotations
                .get(key)
                .is_none_or(|v| v.trim().is_empty())
            {
                problems.push(format!("{name}: no {key} annotation"));
            }
        }
        match rule
            .annotations
            .get("runbook_url")
            .and_then(|u| u.strip_prefix("docs/runbook.md#"))
        {
            Some(anchor) if anchors.contains(anchor) => {}
            Some(anchor) => problems.push(format!(
                "{name}: runbook_url anchor #{anchor} is not a heading of docs/runbook.md"
            )),
            None => problems.push(format!(
                "{name}: no runbook_url of the form docs/runbook.md#<anchor>"
            )),
        }
    }
    let mut groups = BTreeSet::new();
    for g in &rules.groups {
        if !g.name.starts_with("revoke.") || !groups.insert(&g.name) {
            problems.push(format!(
                "rule group {:?}: not unique or not named revoke.*",
                g.name
            ));
        }
    }
    let mut firing: BTreeMap<&str, usize> = BTreeMap::new();
    let mut silent: BTreeMap<&str, usize> = BTreeMap::new();
    for (group, t) in tests
        .tests
        .iter()
        .flat_map(|g| g.alert_rule_test.iter().map(move |t| (&g.name, t)))
    {
        if !seen.contains(t.alertname.as_str()) {
            problems.push(format!(
                "test {group:?} at {} names {}, which is not an alert of rules.yml",
                t.eval_time, t.alertname
            ));
        }
        let count = if t.exp_alerts.is_empty() {
            &mut silent
        } else {
            &mut firing
        };
        *count.entry(t.alertname.as_str()).or_default() += 1;
    }
    for name in &seen {
        if !firing.contains_key(name) {
            problems.push(format!("{name}: no promtool test where it fires"));
        }
        if !silent.contains_key(name) {
            problems.push(format!("{name}: no promtool test where it does not fire"));
        }
    }
    if tests.rule_files != ["rules.yml"] {
        problems.push(format!(
            "rules.test.yml loads {:?}, not rules.yml",
            tests.rule_files
        ));
    }
    problems
}

/// Every metric the rules and the dashboard read is documented in docs/operations.md's table
/// (a histogram's `_bucket`/`_sum`/`_count` by its name), is a recording rule of rules.yml, is
/// or is Prometheus's `up`: a misspelt name would otherwise just
/// give an empty panel or an alert that never fires.
pub fn metric_problems(
    exprs: &[(String, String)],
    documented: &BTreeSet<String>,
    recorded: &BTreeSet<String>,
) -> Vec<String> {
    let known = |name: &str| {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        name == "up"
            || documented.contains(name)
            || documented.contains(base)
            || recorded.contains(name)
    };
    let mut problems = Vec::new();
    for (whose, expr) in exprs {
        for name in metric_names(expr) {
            if !known(&name) {
                problems.push(format!(
                    "{whose}: {name} is neither in docs/operations.md's metrics table nor a recording rule"
                ));
            }
        }
    }
    problems
}

/// The dashboard: every panel and query on the `datasource` variable (so it imports into any
/// Grafana), that variable a Prometheus data source, every query non-empty, panel ids unique.
pub fn dashboard_problems(dashboard: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let variables = dashboard["templating"]["list"].as_array();
    let has_variable = variables.into_iter().flatten().any(|v| {
        v["name"] == "datasource" && v["type"] == "datasource" && v["query"] == "prometheus"
    });
    if !has_variable {
        problems.push("no `datasource` variable of type datasource (prometheus)".to_string());
    }
    let on_variable = |d: &serde_json::Value| d["uid"] == "${datasource}";
    let mut ids = BTreeSet::new();
    for p in panels(dashboard) {
        let title = p["title"].as_str().unwrap_or("?");
        if !ids.insert(p["id"].as_u64()) {
            problems.push(format!("{title}: panel id {} used twice", p["id"]));
        }
        if !on_variable(&p["datasource"]) {
            problems.push(format!("{title}: datasource is not ${{datasource}}"));
        }
        let targets = p["targets"].as_array().map_or(&[][..], Vec::as_slice);
        if targets.is_empty() {
            problems.push(format!("{title}: no query"));
        }
        for t in targets {
            if !on_variable(&t["datasource"]) {
                problems.push(format!(
                    "{title}: a query's datasource is not ${{datasource}}"
                ));
            }
            if t["expr"].as_str().is_none_or(|e| e.trim().is_empty()) {
                problems.push(format!("{title}: an empty query"));
            }
        }
    }
    problems
}

fn all_exprs(rules: &RuleFile, dashboard: &serde_json::Value) -> Vec<(String, String)> {
    let mut exprs: Vec<(String, String)> = rules
        .rules()
        .map(|r| {
            let name = r.alert.clone().or(r.record.clone()).unwrap_or_default();
            (format!("rules.yml {name}"), r.expr.clone())
        })
        .collect();
    exprs.extend(
        dashboard_queries(dashboard)
            .into_iter()
            .map(|q| (format!("dashboard panel {:?}", q.panel), q.expr)),
    );
    exprs
}

#[test]
fn every_alert_has_severity_annotations_a_runbook_section_and_tests_both_ways() {
    let (rules, tests) = (RuleFile::load(), TestFile::load());
    let runbook = read(&repo_root().join("docs/runbook.md"));
    let problems = alert_problems(&rules, &tests, &runbook);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(rules.alerts().count() >= 10, "the alerts were not read");

    // The check fails when its object breaks: an anchor missing from the runbook, a test removed.
    let runbook_without = runbook.replace("## RevokeHeldBatchWaiting", "## Held batches");
    assert!(alert_problems(&rules, &tests, &runbook_without)
        .iter()
        .any(|p| p.contains("RevokeHeldBatchWaiting: runbook_url anchor #revokeheldbatchwaiting")));
    let mut silent_only = TestFile::load();
    for g in &mut silent_only.tests {
        g.alert_rule_test
            .retain(|t| t.alertname != "RevokeDeadLetters" || t.exp_alerts.is_empty());
    }
    assert_eq!(
        alert_problems(&rules, &silent_only, &runbook),
        ["RevokeDeadLetters: no promtool test where it fires"]
    );
    let mut no_severity = RuleFile::load();
    no_severity.groups[0]
        .rules
        .iter_mut()
        .find(|r| r.alert.is_some())
        .unwrap()
        .labels
        .clear();
    assert!(alert_problems(&no_severity, &tests, &runbook)
        .iter()
        .any(|p| p.contains("severity None")));
}

#[test]
fn rules_and_dashboard_read_only_documented_metrics() {
    let (rules, dashboard) = (RuleFile::load(), dashboard());
    let exprs = all_exprs(&rules, &dashboard);
    let (documented, recorded) = (documented_metrics(), rules.recorded_names());
    let problems = metric_problems(&exprs, &documented, &recorded);
    assert!(problems.is_empty(), "{problems:#?}");
    let read: BTreeSet<String> = exprs.iter().flat_map(|(_, e)| metric_names(e)).collect();
    assert!(read.contains("revoke_consumer_lag") && read.contains("revoke:dlq:increase15m"));

    let misspelt = vec![(
        "x".to_string(),
        "rate(revoke_events_handeld_total[5m])".to_string(),
    )];
    assert_eq!(
        metric_problems(&misspelt, &documented, &recorded).len(),
        1,
        "a misspelt metric is found"
    );
}

#[test]
fn the_dashboard_queries_its_data_source_variable() {
    let dashboard = dashboard();
    let problems = dashboard_problems(&dashboard);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(dashboard_queries(&dashboard).len() >= 20);

    let hard_coded = serde_json::from_str(&read(&dashboard_path()).replacen(
        "${datasource}",
        "P1809F7CD0C75ACF3",
        1,
    ))
    .unwrap();
    assert_eq!(dashboard_problems(&hard_coded).len(), 1);
}

#[test]
fn anchors_follow_github() {
    let a = anchors("# Runbook\n## RevokeDeadLetters\n```\n# not a heading\n```\n## Escalations and other signals\n");
    assert_eq!(
        a,
        [
            "runbook",
            "revokedeadletters",
            "escalations-and-other-signals"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        metric_names(
            r#"sum by (consumer) (rate(revoke_dlq_total{reason="revoke_x"}[5m])) / up and revoke:a:b"#
        ),
        ["revoke_dlq_total", "up", "revoke:a:b"]
            .map(String::from)
            .into()
    );
}

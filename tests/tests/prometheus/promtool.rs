//! `promtool check rules` and `promtool test rules` (Debian's `prometheus` package) on the rules,
//! and on broken copies of them, which they must refuse.

use super::files::*;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `promtool <args>` in `dir`. A missing promtool fails the test: it is never skipped.
fn promtool(dir: &Path, args: &[&str]) -> Output {
    Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): install Debian's `prometheus` package (tests/run does)"
            )
        })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary copy of deploy/prometheus/ with `rules.yml` changed by `edit`; removed on drop.
struct BrokenCopy {
    dir: std::path::PathBuf,
}

impl BrokenCopy {
    fn new(what: &str, edit: impl Fn(&str) -> String) -> BrokenCopy {
        let dir = std::env::temp_dir().join(format!(
            "revoke-promtool-{what}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = read(&rules_path());
        let broken = edit(&rules);
        assert_ne!(broken, rules, "{what}: the edit changed nothing");
        std::fs::write(dir.join("rules.yml"), broken).unwrap();
        std::fs::copy(rules_test_path(), dir.join("rules.test.yml")).unwrap();
        BrokenCopy { dir }
    }
}

impl Drop for BrokenCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs promtool: run the README's test command"]
fn promtool_checks_the_rules_and_runs_their_unit_tests() {
    let dir = rules_path().parent().unwrap().to_path_buf();
    let started = std::time::Instant::now();
    let check = promtool(&dir, &["check", "rules", "rules.yml"]);
    assert!(
        check.status.success(),
        "promtool check rules:\n{}",
        text(&check)
    );
    let rules = RuleFile::load();
    let n = rules.rules().count();
    assert!(
        text(&check).contains(&format!("SUCCESS: {n} rules found")),
        "promtool saw another number of rules than {n}:\n{}",
        text(&check)
    );
    let test = promtool(&dir, &["test", "rules", "rules.test.yml"]);
    assert!(
        test.status.success(),
        "promtool test rules:\n{}",
        text(&test)
    );
    assert!(text(&test).contains("SUCCESS"), "{}", text(&test));
    eprintln!(
        "promtool: {n} rules ({} alerts) checked, {} alert tests passed, in {} ms",
        rules.alerts().count(),
        TestFile::load().alert_tests().count(),
        started.elapsed().as_millis()
    );
}

/// A rule with a syntax error fails `check`; a rule reading a misspelt metric passes `check`
/// (it is valid PromQL) but fails `test`, naming the alert whose tests no longer hold.
#[test]
#[ignore = "needs promtool: run the README's test command"]
fn promtool_refuses_a_broken_rule() {
    let syntax = BrokenCopy::new("syntax", |r| {
        r.replacen(
            "expr: revoke_webhook_stuck > 0",
            "expr: revoke_webhook_stuck > ",
            1,
        )
    });
    let out = promtool(&syntax.dir, &["check", "rules", "rules.yml"]);
    assert!(
        !out.status.success(),
        "a syntax error passed:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("parse error"), "{}", text(&out));
    let out = promtool(&syntax.dir, &["test", "rules", "rules.test.yml"]);
    assert!(!out.status.success(), "{}", text(&out));

    let misspelt = BrokenCopy::new("metric", |r| {
        r.replacen(
            "expr: revoke_webhook_stuck > 0",
            "expr: revoke_webhook_stuk > 0",
            1,
        )
    });
    let out = promtool(&misspelt.dir, &["check", "rules", "rules.yml"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = promtool(&misspelt.dir, &["test", "rules", "rules.test.yml"]);
    assert!(!out.status.success(), "a misspelt metric passed the tests");
    assert!(
        text(&out).contains("alertname: RevokeWebhookDeliveryStuck"),
        "{}",
        text(&out)
    );

    // A threshold moved past what the tests pin: the firing test fails.
    let threshold = BrokenCopy::new("threshold", |r| {
        r.replacen(
            "max(revoke_guard_oldest_held_seconds) > 3600",
            "max(revoke_guard_oldest_held_seconds) > 36000",
            1,
        )
    });
    let out = promtool(&threshold.dir, &["test", "rules", "rules.test.yml"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("alertname: RevokeHeldBatchWaiting"),
        "{}",
        text(&out)
    );
}

//! The contract checkers, as `tests/run` installs them into `tests/tools/node_modules` from the
//! pinned `tests/tools/package-lock.json`: `ajv` (ajv-cli, with ajv-formats) and `asyncapi`
//! (@asyncapi/cli). A missing tool fails the test with what to run; it never skips it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools")
}

/// `tests/tools/node_modules/.bin/<name>`, or a failure saying how to install it.
pub fn tool(name: &str) -> PathBuf {
    let bin = tools_dir().join("node_modules/.bin").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run the README's test command (tests/run installs the contract checkers), or `npm ci --prefix tests/tools`",
        bin.display()
    );
    bin
}

/// Runs a tool from `tests/tools` with analytics off (the AsyncAPI CLI would otherwise write
/// `~/.asyncapi-analytics` and try to send usage data).
pub fn run(name: &str, args: &[&str]) -> Output {
    let settings = std::env::temp_dir().join("revoke-contracts-asyncapi-analytics.json");
    std::fs::write(
        &settings,
        r#"{"analyticsEnabled":"false","infoMessageShown":"true","userID":"revoke-tests"}"#,
    )
    .unwrap();
    Command::new(tool(name))
        .args(args)
        .current_dir(tools_dir())
        .env("ASYNCAPI_METRICS_CONFIG_PATH", &settings)
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"))
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh temporary directory.
pub fn temp_dir(what: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("revoke-contracts-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Which of `docs` (name → bytes) node's `JSON.parse` reads: ajv-cli stops at the first file
/// it cannot parse, so only those go to it. (A JSON Schema judges JSON documents; bytes that
/// are not one are refused before any schema.)
fn parseable(dir: &Path, names: &[String]) -> Vec<String> {
    let script = "const fs = require('fs'); for (const f of process.argv.slice(1)) { try { JSON.parse(fs.readFileSync(f, 'utf8')); console.log(f); } catch (e) {} }";
    let files: Vec<String> = names
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    let out = Command::new("node")
        .arg("-e")
        .arg(script)
        .args(&files)
        .output()
        .expect("node (installed with the contract checkers)");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            Path::new(l)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .collect()
}

/// ajv's verdict (strict mode, formats checked) on each of `docs` against `schema`: `true`
/// valid, `false` invalid or not JSON that node reads.
pub fn ajv_verdicts(schema: &Path, docs: &[(String, Vec<u8>)]) -> BTreeMap<String, bool> {
    let dir = temp_dir("ajv");
    let names: Vec<String> = docs.iter().map(|(n, _)| format!("{n}.json")).collect();
    for ((_, bytes), name) in docs.iter().zip(&names) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let readable = parseable(&dir, &names);
    let mut verdicts: BTreeMap<String, bool> =
        docs.iter().map(|(n, _)| (n.clone(), false)).collect();
    if !readable.is_empty() {
        // Only the readable ones stay in the directory for the glob.
        for name in names.iter().filter(|n| !readable.contains(n)) {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        let glob = dir.join("*.json").display().to_string();
        let schema = schema.display().to_string();
        let out = run(
            "ajv",
            &[
                "validate",
                "-c",
                "ajv-formats",
                "--strict=true",
                "--errors=text",
                "-s",
                &schema,
                "-d",
                &glob,
            ],
        );
        let said = text(&out);
        let mut judged = 0;
        for line in said.lines() {
            let (file, verdict) = match line.rsplit_once(' ') {
                Some((f, "valid")) => (f, true),
                Some((f, "invalid")) => (f, false),
                _ => continue,
            };
            let Some(stem) = Path::new(file).file_stem() else {
                continue;
            };
            if let Some(v) = verdicts.get_mut(stem.to_string_lossy().as_ref()) {
                *v = verdict;
                judged += 1;
            }
        }
        assert_eq!(
            judged,
            readable.len(),
            "ajv judged {judged} of {} files:\n{said}",
            readable.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    verdicts
}

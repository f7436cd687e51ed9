//! What an operator's shell gets from the real binary: `revoke completions bash` is a script
//! bash accepts and that completes a subcommand, `revoke man` renders without a warning, and
//! `revoke --version` and `revoke_build_info` name the commit the binary was built from.
//!
//! Needs no broker; runs in plain `cargo test` (after `cargo build -p revoke`).

use revoke_tests::procs::revoke_bin;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn revoke(args: &[&str]) -> Output {
    let out = revoke_tests::procs::revoke_offline(args);
    assert!(
        out.status.success(),
        "revoke {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("revoke-cli-aids-{}-{name}", uuid::Uuid::new_v4()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs bash's completion of `line` (the words typed so far, the last one being completed)
/// with the script sourced, and returns the candidates.
fn complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let words_q: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n_revoke revoke '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        words_q.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words.get(words.len().wrapping_sub(2)).unwrap_or(&""),
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_is_valid_and_completes_commands() {
    let script = revoke(&["completions", "bash"]).stdout;
    let path = temp_file("revoke.bash", &script);
    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    let got = complete(&path, &["revoke", "ca"]);
    assert_eq!(got, ["case", "cases"], "revoke ca<TAB>");
    let got = complete(&path, &["revoke", "rep"]);
    assert_eq!(got, ["report", "replay"], "revoke rep<TAB>");
    let got = complete(&path, &["revoke", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(
            got.iter().any(|c| c == shell),
            "{shell} not offered: {got:?}"
        );
    }
    let got = complete(&path, &["revoke", "report", "--for"]);
    assert_eq!(got, ["--format"], "revoke report --for<TAB>");

    // A broken copy is refused by the same check, so the check can fail.
    let broken = temp_file("broken.bash", &script[..script.len() / 2]);
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!syntax.status.success(), "bash -n accepted half a script");
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(broken);
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(revoke(&["completions", shell]).stdout).unwrap();
        assert!(
            script.contains("revoke") && script.contains("report"),
            "{shell}"
        );
    }
    let out = Command::new(revoke_bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// groff with every warning on (`-ww`), discarding the output (`-z`): the page must produce no
/// warning. Without groff (a minimal machine), the page's structure is checked instead.
#[test]
fn the_manual_pages_render_without_warnings() {
    for page in [
        &["man"][..],
        &["man", "case"],
        &["man", "report"],
        &["man", "completions"],
    ] {
        let roff = revoke(page).stdout;
        let text = String::from_utf8(roff.clone()).unwrap();
        assert!(text.is_ascii(), "{page:?}");
        for section in [".TH ", ".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS"] {
            assert!(text.contains(section), "{page:?}: {section} missing");
        }
        if Command::new("groff").arg("-v").output().is_err() {
            eprintln!("groff not installed: the page's structure was checked, not its rendering");
            continue;
        }
        let mut groff = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        groff.stdin.take().unwrap().write_all(&roff).unwrap();
        let out = groff.wait_with_output().unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "{page:?}: {warnings}"
        );
    }
    // The check sees a broken page: a raw non-ASCII character is a groff warning.
    if Command::new("groff").arg("-v").output().is_ok() {
        let mut groff = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        groff
            .stdin
            .take()
            .unwrap()
            .write_all(".TH x 1\n.SH NAME\nx \\- a \u{2014} b\n".as_bytes())
            .unwrap();
        let out = groff.wait_with_output().unwrap();
        assert!(
            !out.stderr.is_empty(),
            "groff -ww saw no problem in a broken page"
        );
    }
}

/// The commit `git` says the checkout is at, or `None` outside git.
fn git_head() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `revoke 0.1.0 (abc1234)`, `(abc1234-dirty)` or `(unknown)`: the commit part.
fn commit_of_version() -> String {
    let version = String::from_utf8(revoke(&["--version"]).stdout).unwrap();
    let version = version.trim();
    let rest = version
        .strip_prefix(concat!("revoke ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{version:?} is not `revoke <version> (<commit>)`"));
    rest.to_string()
}

#[test]
fn the_version_names_the_commit() {
    let commit = commit_of_version();
    match git_head() {
        Some(head) => assert!(
            commit == head || commit == format!("{head}-dirty"),
            "--version says {commit}, the checkout is at {head} (is the binary older than HEAD? cargo build -p revoke)"
        ),
        None => assert_eq!(commit, "unknown"),
    }
}

/// A long-running process exports `revoke_build_info{version,commit} 1` (the verifier here,
/// waiting for a broker that is not there).
#[test]
fn the_build_info_metric_names_the_same_commit() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = revoke_tests::procs::spawn_revoke_offline(&[
        "--brokers",
        "127.0.0.1:1",
        "--metrics-listen",
        &listen,
        "verifier",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let got = rt.block_on(async {
            reqwest::get(format!("http://{listen}/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()
        });
        match got {
            Some(b) => break b,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            None => {
                let _ = child.kill();
                panic!("no /metrics on {listen} within 20 s");
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let want = format!(
        "revoke_build_info{{commit=\"{}\",version=\"{}\"}} 1",
        commit_of_version(),
        env!("CARGO_PKG_VERSION")
    );
    assert!(body.contains(&want), "{want} not in:\n{body}");
}

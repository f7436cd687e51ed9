//! `revoke watch` and `revoke verify` run as the operator runs them: the built binary, with a
//! config file naming the same broker, topics and `[targets.*]` tables as the fleet.

use revoke_shared::config::Config;
use revoke_tests::procs::{free_port, revoke_bin, targets_table, Proc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How often the watch asks Keycloak for the leaver's sign-ins.
pub const WATCH_POLL_SECS: u64 = 2;

/// Writes `dir/revoke.toml`: the fleet's `[kafka]`, `[topics]` and `[targets.*]`, and the
/// sign-in watch on (an hour's window, `WATCH_POLL_SECS` between polls).
fn config_file(cfg: &Config, dir: &Path) -> PathBuf {
    let mut file = toml::Table::new();
    file.insert("kafka".into(), toml::Value::try_from(&cfg.kafka).unwrap());
    file.insert("topics".into(), toml::Value::try_from(&cfg.topics).unwrap());
    file.insert("targets".into(), targets_table(cfg));
    let mut verifier = toml::Table::new();
    verifier.insert("watch_secs".into(), toml::Value::Integer(3600));
    verifier.insert(
        "watch_poll_secs".into(),
        toml::Value::Integer(WATCH_POLL_SECS as i64),
    );
    file.insert("verifier".into(), toml::Value::Table(verifier));
    let path = dir.join("revoke.toml");
    std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
    path
}

/// `revoke --config <file> <args>`; the adapters' secrets come from the environment the tables
/// name (inherited from this test).
fn command(cfg: &Config, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(revoke_bin());
    c.arg("--config")
        .arg(config_file(cfg, dir))
        .args(args)
        .env("KAFKA_BROKERS", &cfg.kafka.brokers)
        .env_remove("REVOKE_CONFIG")
        .env("REVOKE_LOG", "warn,revoke::adapters=error")
        .stdin(Stdio::null());
    c
}

/// `revoke verify <args>`, to its end (the binary bounds its own broker waits).
pub fn verify(cfg: &Config, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--metrics-listen", "", "verify"];
    all.extend_from_slice(args);
    command(cfg, dir, &all).output().expect("run revoke verify")
}

/// Starts `revoke watch` with `/metrics` and `/healthz` on a free port; returns once it answers
/// there (at most 20 s). Killed on drop, so a failing test leaves no process behind.
pub fn spawn_watch(cfg: &Config, dir: &Path) -> Proc {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = command(cfg, dir, &["--metrics-listen", &listen, "watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn revoke watch");
    let mut p = Proc {
        name: "watch".into(),
        child,
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.health().is_none() {
        assert!(
            p.alive(),
            "revoke watch exited at start: {:?}",
            p.child.try_wait()
        );
        assert!(
            Instant::now() < deadline,
            "revoke watch did not answer /healthz on {listen} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    p
}

/// stdout and stderr of a finished run, as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

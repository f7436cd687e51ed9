//! Records the commit the binary is built from, for `revoke --version` and the
//! `revoke_build_info` metric: `git rev-parse --short HEAD`, with `-dirty` when tracked files
//! differ from it (as `git describe --dirty`), `unknown` outside a git checkout. A build without
//! `.git` (a source tarball, a container build context) can pass it in `REVOKE_BUILD_COMMIT`.
//!
//! Cargo runs this again when HEAD moves (a commit, a checkout, a reset: HEAD, its reflog, the
//! branch's ref and packed-refs are watched) and when the sources change (so `-dirty` follows an
//! edit).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=REVOKE_BUILD_COMMIT");
    let commit = match std::env::var("REVOKE_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => from_git().unwrap_or_else(|| "unknown".into()),
    };
    println!("cargo:rustc-env=REVOKE_BUILD_COMMIT={commit}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn from_git() -> Option<String> {
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    watch_head();
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// What moves when HEAD does, and the sources an edit marks dirty.
fn watch_head() {
    // A path that does not exist would make cargo run this on every build.
    let watch = |p: &Path| {
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        watch(&Path::new(&dir).join("HEAD"));
        // HEAD's reflog gains a line at every commit, checkout or reset of this checkout, even
        // when the branch's ref is packed (and its loose file, not yet there, cannot be watched).
        watch(&Path::new(&dir).join("logs").join("HEAD"));
    }
    // A worktree keeps its HEAD in its own git dir and the refs in the common one.
    let common = git(&["rev-parse", "--git-common-dir"]).map(|c| {
        let c = PathBuf::from(c);
        if c.is_absolute() {
            c
        } else {
            std::env::current_dir().unwrap_or_default().join(c)
        }
    });
    if let Some(common) = common {
        watch(&common.join("packed-refs"));
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common.join(branch));
        }
    }
    for sources in ["src", "../shared/src", "../Cargo.lock"] {
        watch(Path::new(sources));
    }
}

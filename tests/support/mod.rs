//! Helpers shared by the integration tests: running the binary, and deciding
//! whether tests that need the live kernel can run.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository, where relative `--root` paths and fixtures resolve.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs probedex in `dir` with `global` flags before `args`.
pub fn probedex_in(dir: &Path, global: &[&str], args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_probedex"))
        .current_dir(dir)
        .args(global)
        .args(args)
        .env_remove("PROBEDEX_TRACEFS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run probedex");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "probedex panicked on {args:?}: {stderr}"
    );
    Run {
        code: out.status.code().expect("probedex was killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr,
    }
}

pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The live tracefs directory, when a test that needs root and tracefs can
/// run. Outside CI it skips (returns None) with the reason printed; under
/// `CI=true` these tests must run, so a missing prerequisite fails them.
pub fn live_system_available(what: &str) -> Option<PathBuf> {
    if !is_root() {
        assert!(!is_ci(), "CI=true but not root: cannot test what {what}");
        eprintln!("skipped (needs root for tracefs): {what}");
        return None;
    }
    // probedex mounts tracefs itself when it is missing; make sure it is there.
    let out = probedex_in(&repo_dir(), &[], &["list", "tracepoint:sched:sched_switch"]);
    assert_eq!(out.code, 0, "live list failed: {}", out.stderr);
    for dir in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        if Path::new(dir).join("available_events").is_file() {
            return Some(PathBuf::from(dir));
        }
    }
    panic!("probedex listed tracepoints but no tracefs is visible to the test");
}

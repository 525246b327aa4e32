//! Helpers shared by the integration tests: running the binary from the
//! repository (so relative `--root fixtures/...` paths, and the paths printed
//! in output, are the same on every machine) and capturing what it did.
#![allow(dead_code)]

pub mod attach_json;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary under test.
pub const PROBEDEX: &str = env!("CARGO_BIN_EXE_probedex");

/// The repository root: relative `--root` paths resolve against it.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stderr's lines (without their newlines).
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// A one-paragraph description for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "probedex {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            clip(&self.stdout, 2000),
            clip(&self.stderr, 2000)
        )
    }
}

fn clip(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Runs probedex in the repository with `args`.
pub fn probedex<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(PROBEDEX), &repo_dir(), args, &[])
}

/// Runs probedex in `dir` with `args` and extra environment variables.
pub fn probedex_with<I, S>(dir: &Path, args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(PROBEDEX), dir, args, env)
}

/// Runs `command` (probedex itself, or a wrapper such as `setpriv` that
/// execs it) with `args`. The environment is cleaned of what would change
/// the output: no tracefs override, no colour.
pub fn run<I, S>(mut command: Command, dir: &Path, args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    command
        .current_dir(dir)
        .args(&args)
        .env_remove("PROBEDEX_TRACEFS")
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let run = Run {
        args,
        code: out
            .status
            .code()
            .unwrap_or_else(|| panic!("probedex was killed by a signal: {:?}", out.status)),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "probedex panicked:\n{}",
        run.describe()
    );
    run
}

/// `PROBEDEX_UPDATE=1`: rewrite golden files instead of comparing.
pub fn updating() -> bool {
    std::env::var_os("PROBEDEX_UPDATE").is_some_and(|v| !v.is_empty() && v != "0")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The first line where `expected` and `actual` differ, both sides shown,
/// for failure messages that point at the change rather than dump two files.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.split('\n'), actual.split('\n'));
    let mut number = 1;
    loop {
        match (e.next(), a.next()) {
            (None, None) => return "identical".into(),
            (x, y) if x == y => number += 1,
            (x, y) => {
                return format!(
                    "first difference at line {number}:\n  expected: {}\n  actual:   {}",
                    x.map_or("<end of file>".to_string(), |l| format!("{l:?}")),
                    y.map_or("<end of file>".to_string(), |l| format!("{l:?}")),
                )
            }
        }
    }
}

/// Says why a test did not run: a skipped kernel test must say so rather
/// than pass silently (cargo shows it with `--nocapture`).
#[allow(clippy::print_stderr)]
pub fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

/// Whether a test that loads BPF programs can run: as root. Outside CI it
/// skips with the reason; under `CI=true` not being root fails it.
pub fn can_load_bpf(what: &str) -> bool {
    if !is_root() {
        assert!(!is_ci(), "CI=true but not root: cannot test {what}");
        skip(&format!("needs root to load BPF programs: {what}"));
        return false;
    }
    true
}

pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The live tracefs directory, when a test that needs root and tracefs can
/// run. Outside CI it skips (returns None) with the reason printed; under
/// `CI=true` these tests must run, so a missing prerequisite fails them.
pub fn live_system_available(what: &str) -> Option<PathBuf> {
    if !is_root() {
        assert!(!is_ci(), "CI=true but not root: cannot test what {what}");
        skip(&format!("needs root for tracefs: {what}"));
        return None;
    }
    // probedex mounts tracefs itself when it is missing; make sure it is there.
    let out = probedex(["list", "tracepoint:sched:sched_switch"]);
    assert_eq!(out.code, 0, "live list failed: {}", out.describe());
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .map(PathBuf::from)
        .find(|dir| dir.join("available_events").is_file())
        .or_else(|| panic!("probedex listed tracepoints but no tracefs is visible to the test"))
}

/// Compares (or with PROBEDEX_UPDATE=1 rewrites) `path` against `actual`;
/// an empty stream is recorded as no file.
pub fn check_file(path: &Path, actual: &str, failures: &mut Vec<String>) {
    let expected = fs::read_to_string(path).ok();
    if updating() {
        if actual.is_empty() {
            if expected.is_some() {
                fs::remove_file(path).unwrap();
            }
        } else if expected.as_deref() != Some(actual) {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, actual).unwrap();
        }
        return;
    }
    let shown = path.strip_prefix(repo_dir()).unwrap_or(path).display();
    match expected {
        None if actual.is_empty() => {}
        None => failures.push(format!(
            "{shown}: missing, but the output is not empty (first line: {:?})",
            actual.lines().next().unwrap_or("")
        )),
        Some(expected) if expected == actual => {}
        Some(expected) => failures.push(format!(
            "{shown}: output differs; {}",
            first_difference(&expected, actual)
        )),
    }
}

/// Checks one golden case's run: its exit code (written in the test, so an
/// update cannot bless it) and its stdout and stderr files.
pub fn check_golden_run(
    name: &str,
    run: &Run,
    code: i32,
    [stdout, stderr]: [&Path; 2],
    failures: &mut Vec<String>,
) {
    if run.code != code {
        failures.push(format!(
            "{name}: exit code {} (expected {code})\n{}",
            run.code,
            run.describe()
        ));
    }
    check_file(stdout, &run.stdout, failures);
    check_file(stderr, &run.stderr, failures);
}

/// Fails with every golden mismatch and the command that blesses new output.
pub fn assert_golden(failures: &[String], test: &str) {
    assert!(
        failures.is_empty(),
        "{} golden mismatch(es); if the new output is right, run \
         `PROBEDEX_UPDATE=1 cargo test --test {test}` and review the diff:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Copies the directory tree `from` to `to`, files and directories only.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dest);
        } else {
            fs::copy(&src, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

/// A scratch directory (named PREFIX..., under CARGO_TARGET_TMPDIR) holding
/// `fixtures/kernel-mini` with its BTF built by fixtures/btf/build.sh, so
/// `--root fixtures/kernel-mini` works from it. None (skipped, with the
/// reason printed) when gcc, pahole or objcopy is missing outside CI.
pub fn build_mini_kernel(prefix: &str) -> Option<tempfile::TempDir> {
    if !have_tools(&["gcc", "pahole", "objcopy"], "build the mini kernel's BTF") {
        return None;
    }
    let scratch = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create a directory in CARGO_TARGET_TMPDIR");
    let root = scratch.path().join("fixtures/kernel-mini");
    copy_tree(&repo_dir().join("fixtures/kernel-mini"), &root);
    let out = Command::new("bash")
        .arg(repo_dir().join("fixtures/btf/build.sh"))
        .arg(&root)
        .output()
        .expect("run bash fixtures/btf/build.sh");
    assert!(
        out.status.success(),
        "build.sh failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(scratch)
}

/// The first `name` on PATH that is an executable file.
pub fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// True when every tool is installed; otherwise skips with the reason
/// printed, or under `CI=true` fails.
pub fn have_tools(tools: &[&str], what: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| on_path(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!("{} not installed: cannot {what}", missing.join(", "));
    assert!(!is_ci(), "CI=true but {reason}");
    skip(&reason);
    false
}

/// True when gcc finds the C header `header` (`sys/sdt.h`) on its include
/// path; otherwise skips with the reason printed, or under `CI=true` fails.
/// `package` names what installs it on Debian, for the message. Call it
/// after `have_tools` has checked for gcc.
pub fn have_c_header(header: &str, package: &str, what: &str) -> bool {
    let found = Command::new("gcc")
        .args([
            "-E",
            "-include",
            header,
            "-x",
            "c",
            "/dev/null",
            "-o",
            "/dev/null",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        return true;
    }
    let reason = format!("<{header}> not found ({package} not installed?): cannot {what}");
    assert!(!is_ci(), "CI=true but {reason}");
    skip(&reason);
    false
}

/// `bpftrace ARGS`'s stdout, to compare with. `None` (skip, with the
/// reason printed) when bpftrace cannot run or fails outside CI; under
/// `CI=true` bpftrace is installed and run as root, so failing is a test
/// failure, not a skip.
pub fn bpftrace_output(args: &[&str]) -> Option<String> {
    let why = match Command::new("bpftrace").args(args).output() {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => {
            return Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Ok(out) => format!(
            "bpftrace {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => format!("cannot run bpftrace: {e}"),
    };
    assert!(!is_ci(), "CI=true but {why}");
    skip(&why);
    None
}

/// `compiler -Wall -Wextra FLAGS -o OUTPUT SOURCES` with the sources in
/// `fixtures/src`: how the C and C++ fixtures are built (tests/usdt.rs,
/// tests/attach.rs). Fails the test, with the compiler's messages, when
/// the build fails.
pub fn compile_fixture(compiler: &str, sources: &[&str], output: &Path, flags: &[&str]) {
    let out = Command::new(compiler)
        .args(["-Wall", "-Wextra"])
        .args(flags)
        .arg("-o")
        .arg(output)
        .args(
            sources
                .iter()
                .map(|s| repo_dir().join("fixtures/src").join(s)),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler} {} failed ({}):\n{}",
        sources.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

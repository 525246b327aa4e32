//! How a `probedex attach` run starts, is bounded and ends, on the live
//! kernel: SIGINT/SIGTERM detach and still report, SIGKILL leaves no BPF
//! link or program behind (and the next run removes the killed run's
//! cgroup), the command starts inside its cgroup with no syscall of ours
//! counted as its own, `--duration` stops a command, `--json` keeps the
//! command's output off stdout, and wildcards on raw tracepoints and
//! kprobes. Needs root and BPF; skips with the reason outside CI.
//!
//! Leftovers are checked by the IDs of the links and programs the run
//! itself held (from its /proc/PID/fdinfo), not by counting everything
//! the kernel holds: other processes may load BPF programs meanwhile.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::can_load_bpf as can_run;
use common::{is_ci, probedex_with, skip, Run, PROBEDEX};
use serde_json::Value;

/// The tests count events and BPF objects: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", run.describe()))
        })
        .collect()
}

fn summary(lines: &[Value]) -> &Value {
    let last = lines.last().expect("a summary line");
    assert_eq!(last["type"], "summary", "{last}");
    last
}

fn hits(lines: &[Value], probe: &str) -> u64 {
    lines
        .iter()
        .find(|l| l["probe"] == probe)
        .and_then(|l| l["hits"].as_u64())
        .unwrap_or_else(|| panic!("no {probe} in {lines:?}"))
}

/// The BPF link and program IDs a process holds open.
fn bpf_ids_of(pid: u32) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let mut links = BTreeSet::new();
    let mut progs = BTreeSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fdinfo")).unwrap() {
        let Ok(text) = std::fs::read_to_string(entry.unwrap().path()) else {
            continue;
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let Ok(id) = value.trim().parse() else {
                continue;
            };
            match key {
                "link_id" => links.insert(id),
                "prog_id" => progs.insert(id),
                _ => false,
            };
        }
    }
    (links, progs)
}

/// The IDs of every BPF object of `what` (`link`, `prog`) the kernel holds.
fn live_ids(what: &str) -> BTreeSet<u64> {
    let out = Command::new("bpftool")
        .args(["-j", what, "show"])
        .output()
        .expect("run bpftool (CI installs it)");
    assert!(out.status.success(), "bpftool {what} show failed");
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter().filter_map(|o| o["id"].as_u64()).collect()
}

/// Waits until none of `links` and `progs` exists any more: the kernel
/// frees a program only after RCU grace periods once its last fd closes
/// (over a second here for a raw_tp program on sys_enter).
fn assert_released(links: &BTreeSet<u64>, progs: &BTreeSet<u64>, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left_links: Vec<_> = live_ids("link").intersection(links).copied().collect();
        let left_progs: Vec<_> = live_ids("prog").intersection(progs).copied().collect();
        if left_links.is_empty() && left_progs.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{context}: links {left_links:?} and programs {left_progs:?} are still there"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn have_bpftool(what: &str) -> bool {
    common::have_tools(&["bpftool"], what)
}

/// A probedex run in the background, its stdout and stderr captured.
struct Background {
    child: Child,
    stderr_lines: std::sync::mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Background {
    fn start(dir: &Path, args: &[&str]) -> Background {
        let mut child = Command::new(PROBEDEX)
            .current_dir(dir)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start probedex");
        let stderr = child.stderr.take().unwrap();
        let (send, stderr_lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            stderr_lines,
            stderr_seen: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line containing `text`.
    fn wait_for_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.stderr_seen.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => self.stderr_seen.push(line),
                Err(_) => panic!("no `{text}` on stderr; saw {:?}", self.stderr_seen),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill has no memory-safety preconditions; the pid is our
        // own child's, not yet reaped.
        unsafe { libc::kill(self.pid() as libc::pid_t, signal) };
    }

    /// Waits (at most `limit`) for it to end.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("probedex did not end within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (at most `limit`) for it to end: its exit status, stdout and
    /// stderr (read to their ends: no process of the run may still hold
    /// them).
    fn finish(mut self, limit: Duration) -> (std::process::ExitStatus, String, String) {
        let status = self.wait(limit);
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_millis(200)) {
            self.stderr_seen.push(line);
        }
        (status, stdout, self.stderr_seen.join("\n"))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Without a command probedex counts system-wide until SIGINT (Ctrl-C)
/// or SIGTERM; either detaches everything and still prints the report,
/// with the usual exit code.
#[test]
fn sigint_and_sigterm_detach_and_report() {
    if !can_run("signals to a waiting attach") || !have_bpftool("find leftover BPF objects") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let mut run = Background::start(
            dir.path(),
            &[
                "--json",
                "attach",
                "tracepoint:sched:sched_switch",
                "tracepoint:syscalls:sys_enter_write",
            ],
        );
        run.wait_for_stderr("counting 2 point(s) system-wide");
        let (links, progs) = bpf_ids_of(run.pid());
        assert!(
            links.len() >= 2 && !progs.is_empty(),
            "{name}: links {links:?}, programs {progs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
        run.signal(signal);
        let (status, stdout, stderr) = run.finish(Duration::from_secs(20));
        assert_eq!(status.code(), Some(0), "{name}: {stdout}\n{stderr}");
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 3, "{name}: {stdout}");
        assert_eq!(summary(&lines)["ended_by"], "signal", "{name}: {stdout}");
        assert_eq!(summary(&lines)["filter"], "all", "{name}: {stdout}");
        // 200 ms on a live system: the scheduler switched.
        assert!(
            hits(&lines, "tracepoint:sched:sched_switch") > 0,
            "{name}: {stdout}"
        );
        assert_released(&links, &progs, name);
    }
}

/// A signal while a command runs is passed on to it (SIGTERM); the report
/// says so.
#[test]
fn a_signal_stops_the_command_too() {
    if !can_run("a signal while the command runs") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut run = Background::start(
        dir.path(),
        &[
            "attach",
            "tracepoint:sched:sched_process_exit",
            "--",
            "sh",
            "-c",
            "echo started >&2; exec sleep 30",
        ],
    );
    run.wait_for_stderr("started");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    run.signal(libc::SIGINT);
    let (status, stdout, stderr) = run.finish(Duration::from_secs(20));
    // Well before sleep's 30 s, and without the SIGKILL 2 s later.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}: {stdout}\n{stderr}",
        started.elapsed()
    );
    // The one exit (of sleep, killed) was seen: every point fired.
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "interrupted while the command was running: it was sent SIGTERM (SIGKILL 2 s later if \
             still running); it was ended by SIGTERM."
        ),
        "{stdout}\n{stderr}"
    );
    let row: Vec<&str> = stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        [
            "tracepoint:sched:sched_process_exit",
            "raw_tracepoint",
            "1",
            "fired"
        ],
        "{stdout}"
    );
}

fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

/// SIGKILL cannot be caught: the kernel closes the run's fds, which
/// detaches and frees everything. Only the run's cgroup stays (the kernel
/// never removes a cgroup by itself); the next run removes it once no
/// process is left in it.
#[test]
fn sigkill_leaves_nothing_behind() {
    if !can_run("SIGKILL during attach") || !have_bpftool("find leftover BPF objects") {
        return;
    }
    let Some(mount) = cgroup2_mount() else {
        assert!(!is_ci(), "CI=true but no cgroup2 is mounted");
        skip("no cgroup2 mounted");
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut run = Background::start(
        dir.path(),
        &[
            "attach",
            "tracepoint:sched:sched_switch",
            "tracepoint:syscalls:sys_enter_nanosleep",
            "--",
            "sh",
            "-c",
            "echo started >&2; exec sleep 30",
        ],
    );
    run.wait_for_stderr("started");
    let cgroup = mount.join(format!("probedex-{}", run.pid()));
    let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
    let command: Vec<i32> = procs
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(command.len(), 1, "the command in {}", cgroup.display());
    let (links, progs) = bpf_ids_of(run.pid());
    assert!(links.len() >= 2, "links {links:?}");

    run.signal(libc::SIGKILL);
    // Not `finish`: the orphaned command still holds stdout and stderr.
    let status = run.wait(Duration::from_secs(10));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert_released(&links, &progs, "after SIGKILL");
    // The orphaned command still runs in the cgroup: it stays.
    assert!(cgroup.exists(), "{}", cgroup.display());
    let next = probedex_with(
        dir.path(),
        [
            "attach",
            "tracepoint:sched:sched_process_exec",
            "--",
            "true",
        ],
        &[],
    );
    assert_eq!(next.code, 0, "{}", next.describe());
    assert!(cgroup.exists(), "removed with a process in it");
    // Once the command is gone, the next run removes it.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(command[0], libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{}", command[0])).exists() {
        assert!(
            Instant::now() < deadline,
            "sleep {} did not die",
            command[0]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let next = probedex_with(
        dir.path(),
        [
            "attach",
            "tracepoint:sched:sched_process_exec",
            "--",
            "true",
        ],
        &[],
    );
    assert_eq!(next.code, 0, "{}", next.describe());
    assert!(!cgroup.exists(), "{} is still there", cgroup.display());
}

/// The command starts inside its cgroup (clone3 with CLONE_INTO_CGROUP),
/// so no write of ours to `cgroup.procs` is counted as the command's:
/// `true` writes nothing, `echo` writes once. With --json the command's
/// output goes to stderr and stdout holds only JSON Lines.
#[test]
fn the_command_counts_exactly_its_own_syscalls() {
    if !can_run("exact syscall counts") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let enter = "tracepoint:syscalls:sys_enter_write";
    let exit = "tracepoint:syscalls:sys_exit_write";

    let run = probedex_with(
        dir.path(),
        ["--json", "attach", enter, exit, "--", "/bin/true"],
        &[],
    );
    let lines = json_lines(&run);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(hits(&lines, enter), 0, "{}", run.describe());
    assert_eq!(hits(&lines, exit), 0, "{}", run.describe());

    let run = probedex_with(
        dir.path(),
        ["--json", "attach", enter, exit, "--", "echo", "hello"],
        &[],
    );
    let lines = json_lines(&run);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(hits(&lines, enter), 1, "{}", run.describe());
    assert_eq!(hits(&lines, exit), 1, "{}", run.describe());
    assert_eq!(summary(&lines)["command_exit"], 0);
    assert_eq!(summary(&lines)["ended_by"], "command");
    assert!(run.stderr.contains("hello"), "{}", run.describe());

    // Without --json the command's output is on stdout, before the report.
    let run = probedex_with(dir.path(), ["attach", enter, "--", "echo", "hello"], &[]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(run.stdout.starts_with("hello\nPOINT"), "{}", run.describe());
}

/// A command that cannot be run is one line and exit code 2: before
/// anything is attached when it is not in PATH, from exec otherwise.
#[test]
fn a_command_that_cannot_run_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = probedex_with(
        dir.path(),
        [
            "attach",
            "tracepoint:sched:sched_switch",
            "--",
            "probedex-no-such-command",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.describe());
    assert_eq!(
        run.stderr,
        "probedex: cannot run probedex-no-such-command: command not found in PATH\n",
        "{}",
        run.describe()
    );
    assert_eq!(run.stdout, "");

    if !can_run("a command exec refuses") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let run = probedex_with(
        dir.path(),
        [
            "attach",
            "tracepoint:sched:sched_switch",
            "--",
            "./not-executable",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.describe());
    assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
    assert!(
        run.stderr
            .starts_with("probedex: cannot run ./not-executable: Permission denied"),
        "{}",
        run.describe()
    );
    assert_eq!(run.stdout, "");
}

/// `--duration` bounds a run with a command: the command gets SIGTERM,
/// then SIGKILL after a grace period if it ignores SIGTERM.
#[test]
fn duration_stops_the_command() {
    if !can_run("--duration with a command") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let exit = "tracepoint:sched:sched_process_exit";

    let run = probedex_with(
        dir.path(),
        [
            "--json",
            "attach",
            "--duration",
            "0.3",
            exit,
            "--",
            "sleep",
            "30",
        ],
        &[],
    );
    let lines = json_lines(&run);
    assert_eq!(run.code, 0, "{}", run.describe());
    let end = summary(&lines);
    // Counted from the start of the command to its end.
    let seconds = end["seconds"].as_f64().unwrap();
    assert!((0.3..5.0).contains(&seconds), "{}", run.describe());
    assert_eq!(end["ended_by"], "duration", "{}", run.describe());
    assert_eq!(end["command_signal"], "SIGTERM", "{}", run.describe());
    assert_eq!(end["command_exit"], Value::Null, "{}", run.describe());
    assert_eq!(hits(&lines, exit), 1, "{}", run.describe());

    // Ignoring SIGTERM (sleep inherits the ignored signal): SIGKILL, to
    // every process of the command's cgroup.
    let run = probedex_with(
        dir.path(),
        [
            "--json",
            "attach",
            "--duration",
            "0.3",
            exit,
            "--",
            "sh",
            "-c",
            "trap '' TERM; sleep 30; true",
        ],
        &[],
    );
    let lines = json_lines(&run);
    assert_eq!(run.code, 0, "{}", run.describe());
    let end = summary(&lines);
    let seconds = end["seconds"].as_f64().unwrap();
    assert!((2.3..10.0).contains(&seconds), "{}", run.describe());
    assert_eq!(end["command_signal"], "SIGKILL", "{}", run.describe());
    // sh and sleep: SIGKILL went to every process of the cgroup.
    assert_eq!(hits(&lines, exit), 2, "{}", run.describe());

    // The text report says what happened.
    let run = probedex_with(
        dir.path(),
        [
            "attach",
            "--duration",
            "0.1",
            exit,
            "--",
            "sh",
            "-c",
            "trap '' TERM; sleep 30; true",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(
        run.stdout.contains(
            "--duration ran out while the command was running: it was sent SIGTERM (SIGKILL 2 s \
             later if still running); it was ended by SIGKILL."
        ),
        "{}",
        run.describe()
    );
}

/// Raw tracepoints by wildcard come from BTF, as `list` finds them, and
/// attach quickly; a kprobe wildcard on a kernel without kprobes is one
/// line and exit code 3, not a report of thousands of failures.
#[test]
fn wildcards_on_raw_tracepoints_and_kprobes() {
    if !can_run("raw tracepoint and kprobe wildcards") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = probedex_with(
        dir.path(),
        ["--json", "attach", "rawtracepoint:*", "--", "/bin/true"],
        &[],
    );
    let took = started.elapsed();
    let lines = json_lines(&run);
    // Most never fire for /bin/true.
    assert_eq!(run.code, 1, "{}", run.describe());
    let end = summary(&lines);
    let points = end["points"].as_u64().unwrap();
    assert!(points > 500, "{}", run.describe());
    assert_eq!(end["attached"], points, "{}", run.describe());
    assert_eq!(
        hits(&lines, "rawtracepoint:sched_process_exec"),
        1,
        "{}",
        run.describe()
    );
    // 1,601 points here: 0.7 s on an idle machine.
    assert!(took < Duration::from_secs(20), "took {took:?}");

    let run = probedex_with(
        dir.path(),
        [
            "--json",
            "attach",
            "rawtracepoint:sched_process_*",
            "--",
            "/bin/true",
        ],
        &[],
    );
    let lines = json_lines(&run);
    assert!(lines.len() > 3, "{}", run.describe());
    assert!(
        lines[..lines.len() - 1].iter().all(|l| l["probe"]
            .as_str()
            .unwrap()
            .starts_with("rawtracepoint:sched_process_")),
        "{}",
        run.describe()
    );

    // Raw tracepoints have no category.
    let run = probedex_with(dir.path(), ["attach", "rawtracepoint:sched:*"], &[]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
    assert!(
        run.stderr.contains("rawtracepoint:sched_*"),
        "{}",
        run.describe()
    );

    // fentry wildcards select BTF functions as fentry points, each with
    // the kernel's answer (counted, or this kernel's EPERM in words).
    let run = probedex_with(
        dir.path(),
        ["--json", "attach", "fentry:vfs_rea*", "--duration", "0.05"],
        &[],
    );
    let lines = json_lines(&run);
    let points = &lines[..lines.len().saturating_sub(1)];
    assert!(points.len() >= 2, "{}", run.describe());
    for point in points {
        assert!(
            point["probe"]
                .as_str()
                .unwrap()
                .starts_with("fentry:vfs_rea"),
            "{}",
            run.describe()
        );
        let attached = point["attached"].as_bool().unwrap();
        let reason = point["reason"].as_str().unwrap_or("");
        assert!(
            attached || reason.contains("fentry/fexit"),
            "{}",
            run.describe()
        );
    }

    if !Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        let started = Instant::now();
        let run = probedex_with(dir.path(), ["attach", "kprobe:vfs_*", "--", "true"], &[]);
        assert_eq!(run.code, 3, "{}", run.describe());
        assert_eq!(run.stdout, "", "{}", run.describe());
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
        assert!(run.stderr.contains("CONFIG_KPROBES"), "{}", run.describe());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

/// A 32-bit syscall (int 0x80) has the ia32 table's number on
/// raw_syscalls: ia32 getpid is 20, x86-64's writev. The kernel's own
/// syscalls:* tracepoints skip 32-bit syscalls; so does the shared count,
/// by the task's TS_COMPAT flag (bpftrace 0.17 on the perf_event
/// tracepoint agrees: 0 writev).
#[test]
fn a_32_bit_syscall_is_not_counted_under_a_64_bit_name() {
    if !cfg!(target_arch = "x86_64")
        || !can_run("32-bit syscalls")
        || !common::have_tools(&["gcc"], "build an int 0x80 caller")
    {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("int80.c");
    std::fs::write(
        &source,
        "int main(void) { for (int i = 0; i < 5; i++) { long r; \
         __asm__ volatile(\"int $0x80\" : \"=a\"(r) : \"a\"(20L) : \"memory\"); \
         if (r <= 0) return 1; } return 0; }\n",
    )
    .unwrap();
    let exe = dir.path().join("int80");
    let out = Command::new("gcc")
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A kernel without ia32 emulation kills it (or fails the call).
    if !Command::new(&exe).status().unwrap().success() {
        assert!(!is_ci(), "CI=true but int 0x80 does not work here");
        skip("no ia32 emulation: int 0x80 fails");
        return;
    }
    let exe = exe.to_str().unwrap();
    let writev = "tracepoint:syscalls:sys_enter_writev";
    let writev_exit = "tracepoint:syscalls:sys_exit_writev";
    let exit_group = "tracepoint:syscalls:sys_enter_exit_group";
    let run = probedex_with(
        dir.path(),
        [
            "--json",
            "attach",
            writev,
            writev_exit,
            exit_group,
            "--",
            exe,
        ],
        &[],
    );
    let lines = json_lines(&run);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(hits(&lines, writev), 0, "{}", run.describe());
    assert_eq!(hits(&lines, writev_exit), 0, "{}", run.describe());
    // Its 64-bit syscalls still count.
    assert_eq!(hits(&lines, exit_group), 1, "{}", run.describe());
}

/// Where clone3(CLONE_INTO_CGROUP) is missing (forced here with
/// PROBEDEX_NO_CLONE3), the command writes itself into its cgroup: that
/// one write is counted at sys_exit_write, and a warning says so; the
/// rest works the same (exact entry counts, --json output on stderr,
/// exec errors).
#[test]
fn without_clone3_the_command_still_runs_in_its_cgroup() {
    if !can_run("the fork-and-write fallback") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let env = [("PROBEDEX_NO_CLONE3", "1")];
    let enter = "tracepoint:syscalls:sys_enter_write";
    let exit = "tracepoint:syscalls:sys_exit_write";
    let run = probedex_with(
        dir.path(),
        ["--json", "attach", enter, exit, "--", "echo", "hello"],
        &env,
    );
    let lines = json_lines(&run);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(hits(&lines, enter), 1, "{}", run.describe());
    assert_eq!(hits(&lines, exit), 2, "{}", run.describe());
    assert!(run.stderr.contains("hello"), "{}", run.describe());
    assert!(
        run.stderr
            .contains("warning: clone3(CLONE_INTO_CGROUP) is not available"),
        "{}",
        run.describe()
    );

    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let run = probedex_with(
        dir.path(),
        ["attach", enter, "--", "./not-executable"],
        &env,
    );
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .starts_with("probedex: cannot run ./not-executable: Permission denied"),
        "{}",
        run.describe()
    );
}

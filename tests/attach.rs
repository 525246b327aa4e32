//! `probedex attach` on the live kernel: counts that are exact, the
//! process-tree filter, the no-kprobes refusal, and nothing left behind.
//! Needs root and BPF; skips with the reason outside CI.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use common::{have_tools, is_ci, is_root, probedex_with, skip, Run};
use serde::Deserialize;

/// The tests count system-wide BPF objects and events: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// One JSON line; every field is spelled out (with deny_unknown_fields)
/// so the schema is checked even where a test reads only some of them.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    Point {
        probe: String,
        attached: bool,
        link: Option<String>,
        hits: u64,
        verdict: String,
        reason: Option<String>,
    },
    Summary {
        points: usize,
        attached: usize,
        fired: usize,
        filter: String,
        command_exit: Option<i32>,
        command_signal: Option<String>,
        ended_by: String,
        seconds: f64,
    },
}

fn can_run(what: &str) -> bool {
    if !is_root() {
        assert!(!is_ci(), "CI=true but not root: cannot test {what}");
        skip(&format!("needs root to load BPF programs: {what}"));
        return false;
    }
    true
}

fn attach_json(dir: &Path, args: &[&str]) -> (Run, Vec<Line>) {
    let mut all = vec!["--json", "attach"];
    all.extend_from_slice(args);
    let run = probedex_with(dir, &all, &[]);
    let lines = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{}", run.describe())))
        .collect();
    (run, lines)
}

/// The hits of the one point of a run.
fn only_point(run: &Run, lines: &[Line]) -> (u64, bool, Option<String>) {
    let points: Vec<_> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Point {
                hits,
                attached,
                reason,
                ..
            } => Some((*hits, *attached, reason.clone())),
            Line::Summary { .. } => None,
        })
        .collect();
    assert_eq!(points.len(), 1, "{}", run.describe());
    assert!(
        matches!(lines.last(), Some(Line::Summary { points: 1, .. })),
        "{}",
        run.describe()
    );
    points[0].clone()
}

/// A `sh` loop chmodding `file` outside probedex's cgroup until dropped.
struct Chmodder(std::process::Child);

impl Chmodder {
    fn start(file: &Path) -> Chmodder {
        let child = Command::new("sh")
            .arg("-c")
            .arg("while :; do chmod +x \"$0\"; done")
            .arg(file)
            .stdout(Stdio::null())
            .spawn()
            .expect("start sh");
        Chmodder(child)
    }
}

impl Drop for Chmodder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn fchmodat_counts_the_commands_one_call() {
    if !can_run("counting sys_enter_fchmodat") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    std::fs::write(dir.path().join("other"), "").unwrap();
    let probe = "tracepoint:syscalls:sys_enter_fchmodat";

    let (run, lines) = attach_json(dir.path(), &[probe, "--", "chmod", "+x", "file"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        only_point(&run, &lines),
        (1, true, None),
        "{}",
        run.describe()
    );

    // An unrelated process chmodding all the while: not the command's.
    let _busy = Chmodder::start(&dir.path().join("other"));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (run, lines) = attach_json(dir.path(), &[probe, "--", "chmod", "+x", "file"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(only_point(&run, &lines).0, 1, "{}", run.describe());
    assert!(
        matches!(lines.last(), Some(Line::Summary { filter, command_exit: Some(0), .. }) if filter == "command"),
        "{}",
        run.describe()
    );

    // --all counts it too.
    let (run, lines) = attach_json(
        dir.path(),
        &["--all", probe, "--", "sh", "-c", "chmod +x file; sleep 0.1"],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let hits = only_point(&run, &lines).0;
    assert!(hits > 1, "--all counted {hits}: {}", run.describe());

    // The text view says the same.
    let run = probedex_with(
        dir.path(),
        ["attach", probe, "--", "chmod", "+x", "file"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let row = run.stdout.lines().nth(1).unwrap_or_default();
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        words,
        [probe, "raw_tracepoint:sys_enter", "1", "fired"],
        "{}",
        run.describe()
    );
}

/// Every point of a run: probe → (hits, link).
fn points_of(lines: &[Line]) -> std::collections::BTreeMap<String, (u64, Option<String>)> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Point {
                probe, hits, link, ..
            } => Some((probe.clone(), (*hits, link.clone()))),
            Line::Summary { .. } => None,
        })
        .collect()
}

#[test]
fn an_exit_point_counts_by_syscall_number() {
    if !can_run("counting sys_exit_fchmodat") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let (run, lines) = attach_json(
        dir.path(),
        &[
            "tracepoint:syscalls:sys_exit_fchmodat",
            "--",
            "chmod",
            "+x",
            "file",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        only_point(&run, &lines),
        (1, true, None),
        "{}",
        run.describe()
    );
    if cfg!(target_arch = "x86_64") {
        let points = points_of(&lines);
        assert_eq!(
            points["tracepoint:syscalls:sys_exit_fchmodat"].1.as_deref(),
            Some("raw_tracepoint:sys_exit"),
            "{}",
            run.describe()
        );
    }
}

/// All ~720 syscall tracepoints: two shared raw tracepoint links instead
/// of one perf_event link each (which took 22 s to attach and release).
#[test]
fn every_syscall_tracepoint_at_once() {
    if !can_run("counting tracepoint:syscalls:*") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let started = std::time::Instant::now();
    let (run, lines) = attach_json(
        dir.path(),
        &["tracepoint:syscalls:*", "--", "chmod", "+x", "file"],
    );
    let took = started.elapsed();
    // Not every syscall fires: exit 1 (some never fired).
    assert_eq!(run.code, 1, "{}", run.describe());
    let points = points_of(&lines);
    assert!(points.len() > 100, "{}", run.describe());
    assert_eq!(
        points["tracepoint:syscalls:sys_enter_fchmodat"].0,
        1,
        "{}",
        run.describe()
    );
    assert_eq!(
        points["tracepoint:syscalls:sys_exit_fchmodat"].0,
        1,
        "{}",
        run.describe()
    );
    // exit_group never returns.
    assert_eq!(points["tracepoint:syscalls:sys_enter_exit_group"].0, 1);
    assert_eq!(points["tracepoint:syscalls:sys_exit_exit_group"].0, 0);
    assert!(
        matches!(lines.last(), Some(Line::Summary { points: n, attached: a, .. }) if n == a),
        "{}",
        run.describe()
    );
    // On x86-64 the compiled-in syscall table knows every syscall
    // tracepoint of the running kernel; one it lacks falls back to a
    // perf_event link (still counted, but slow to release).
    if cfg!(target_arch = "x86_64") {
        let slow: Vec<&String> = points
            .iter()
            .filter(|(_, (_, link))| {
                !link
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("raw_tracepoint:sys_")
            })
            .map(|(probe, _)| probe)
            .collect();
        assert!(
            slow.is_empty(),
            "not in src/probes/syscalls.rs (add them from syscall_64.tbl): {slow:?}"
        );
    }
    assert!(
        took.as_secs_f64() < 10.0,
        "took {took:?}: {}",
        run.describe()
    );
}

#[test]
fn a_point_that_never_fires_exits_1() {
    if !can_run("a point that never fires") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (run, lines) = attach_json(
        dir.path(),
        &["tracepoint:syscalls:sys_enter_fchmodat", "--", "true"],
    );
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(only_point(&run, &lines), (0, true, None));
}

#[test]
fn uprobe_counts_every_call_of_getpid() {
    if !can_run("a uprobe on libc's getpid") || !have_tools(&["gcc"], "build a getpid caller") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("getpids.c");
    // Through the PLT, into libc's getpid, exactly 7 times; volatile keeps
    // the calls from being merged.
    std::fs::write(
        &source,
        "#include <unistd.h>\nint main(void) { volatile int s = 0; \
         for (int i = 0; i < 7; i++) s += getpid(); return s == 0; }\n",
    )
    .unwrap();
    let exe = dir.path().join("getpids");
    let out = Command::new("gcc")
        .args(["-O0", "-o"])
        .arg(&exe)
        .arg(&source)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let exe = exe.to_str().unwrap();
    let (run, lines) = attach_json(dir.path(), &["uprobe:libc:getpid", "--", exe]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        only_point(&run, &lines),
        (7, true, None),
        "{}",
        run.describe()
    );

    let (run, lines) = attach_json(dir.path(), &["uretprobe:libc:getpid", "--", exe]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(only_point(&run, &lines).0, 7, "{}", run.describe());
}

#[test]
fn kprobes_follow_the_kernel() {
    if !can_run("a kprobe") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (run, lines) = attach_json(
        dir.path(),
        &[
            "kprobe:vfs_read",
            "--",
            "sh",
            "-c",
            "cat /proc/self/stat >/dev/null",
        ],
    );
    let (hits, attached, reason) = only_point(&run, &lines);
    // libbpf attaches kprobes through the kprobe PMU, which exists exactly
    // when the kernel has CONFIG_KPROBES.
    if Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        assert_eq!(run.code, 0, "{}", run.describe());
        assert!(attached && hits > 0, "{}", run.describe());
    } else {
        assert_eq!(run.code, 3, "{}", run.describe());
        assert!(!attached, "{}", run.describe());
        let reason = reason.unwrap_or_default();
        assert!(reason.contains("CONFIG_KPROBES"), "{}", run.describe());
        assert!(reason.contains("fentry"), "{}", run.describe());
    }
}

/// How many BPF objects of `what` (`link`, `prog`) the kernel holds.
fn bpftool_count(what: &str) -> usize {
    let out = Command::new("bpftool")
        .args(["-j", what, "show"])
        .output()
        .expect("run bpftool");
    assert!(out.status.success(), "bpftool {what} show failed");
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.len()
}

fn run_cgroups() -> usize {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let Some(mount) = mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| f[1].to_string())
    }) else {
        return 0;
    };
    std::fs::read_dir(mount)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("probedex-"))
        })
        .count()
}

#[test]
fn nothing_is_left_behind() {
    if !can_run("what attach leaves behind")
        || !have_tools(&["bpftool"], "count BPF links and programs")
    {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Programs of the tests before this one may still be on their way out
    // (freed after RCU grace periods): wait until the counts settle.
    let now = || (bpftool_count("link"), bpftool_count("prog"), run_cgroups());
    let mut before = now();
    let mut since = std::time::Instant::now();
    let give_up = since + std::time::Duration::from_secs(20);
    while since.elapsed() < std::time::Duration::from_millis(1500)
        && std::time::Instant::now() < give_up
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let current = now();
        if current != before {
            before = current;
            since = std::time::Instant::now();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (run, lines) = attach_json(
        dir.path(),
        &[
            "tracepoint:syscalls:sys_enter_getpid",
            "rawtracepoint:sys_enter",
            "uprobe:libc:getpid",
            "kprobe:vfs_read",
            "--",
            "sh",
            "-c",
            "true",
        ],
    );
    assert!(matches!(run.code, 0 | 1 | 3), "{}", run.describe());
    assert_eq!(lines.len(), 5, "{}", run.describe());
    // With --duration and no command too.
    let (run, _) = attach_json(
        dir.path(),
        &["--duration", "0.1", "rawtracepoint:sys_enter"],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    // The kernel frees a program only after RCU grace periods once its
    // last fd closes; a raw_tp program on sys_enter stayed in `bpftool
    // prog show` for over a second here (Linux 6.18, 2 CPUs).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut after = (bpftool_count("link"), bpftool_count("prog"), run_cgroups());
    while after != before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        after = (bpftool_count("link"), bpftool_count("prog"), run_cgroups());
    }
    assert_eq!(
        before, after,
        "(links, programs, probedex cgroups) before and after"
    );
}

/// A tracepoint outside syscalls is counted on the raw tracepoint of its
/// name: `sh` itself and its two children exec, three hits exactly.
#[test]
fn sched_process_exec_counts_on_its_raw_tracepoint() {
    if !can_run("counting sched:sched_process_exec") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let probe = "tracepoint:sched:sched_process_exec";
    let (run, lines) = attach_json(
        dir.path(),
        &[probe, "--", "sh", "-c", "/bin/true; /bin/true"],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        only_point(&run, &lines),
        (3, true, None),
        "{}",
        run.describe()
    );
    assert_eq!(
        points_of(&lines)[probe].1.as_deref(),
        Some("raw_tracepoint"),
        "{}",
        run.describe()
    );
}

/// Hundreds of non-syscall tracepoints: raw tracepoint links, which
/// close at once, where perf_event links took ~70 ms each to release.
#[test]
fn a_large_tracepoint_wildcard_is_quick() {
    if !can_run("counting sched, irq and timer tracepoints") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (run, lines) = attach_json(
        dir.path(),
        &[
            "tracepoint:sched:*",
            "tracepoint:irq:*",
            "tracepoint:timer:*",
            "--",
            "sh",
            "-c",
            "/bin/true; /bin/true",
        ],
    );
    let took = started.elapsed();
    // Not every point fires: exit 1.
    assert_eq!(run.code, 1, "{}", run.describe());
    let points = points_of(&lines);
    assert!(points.len() > 40, "{}", run.describe());
    assert!(
        matches!(lines.last(), Some(Line::Summary { points: n, attached: a, .. }) if n == a),
        "{}",
        run.describe()
    );
    assert_eq!(
        points["tracepoint:sched:sched_process_exec"],
        (3, Some("raw_tracepoint".to_string())),
        "{}",
        run.describe()
    );
    // Two forks by sh; each child exits, and sh itself.
    assert_eq!(points["tracepoint:sched:sched_process_fork"].0, 2);
    assert_eq!(points["tracepoint:sched:sched_process_exit"].0, 3);
    let raw = points
        .values()
        .filter(|(_, link)| link.as_deref() == Some("raw_tracepoint"))
        .count();
    assert!(
        raw * 10 >= points.len() * 9,
        "only {raw} of {} on raw tracepoints: {}",
        points.len(),
        run.describe()
    );
    assert!(
        took.as_secs_f64() < 5.0,
        "took {took:?}: {}",
        run.describe()
    );
}

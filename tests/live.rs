//! Tests against this machine's real tracefs. They need root; outside CI
//! they skip with a printed reason, under `CI=true` they must run.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{is_ci, live_system_available, probedex, skip, Run};

fn sorted_available_events(tracefs: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(tracefs.join("available_events")).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .map(|l| format!("tracepoint:{}", l.trim()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn lists_exactly_the_available_events() {
    let Some(tracefs) = live_system_available("lists live tracepoints") else {
        return;
    };
    let out = probedex(["list", "tracepoint:*"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(listed, sorted_available_events(&tracefs));
    // The alias and a bare word select the same points.
    let alias = probedex(["list", "t:sched:*"]);
    let full = probedex(["list", "tracepoint:sched:*"]);
    assert_eq!(alias.stdout, full.stdout);
    assert!(full.stdout.lines().count() > 10);
    // A bare word searches every kernel kind: the event is also a raw tracepoint.
    let bare = probedex(["list", "sched_switch"]);
    assert_eq!(
        bare.stdout,
        "rawtracepoint:sched_switch\ntracepoint:sched:sched_switch\n"
    );
}

#[test]
fn verbose_listing_reads_every_format_file() {
    let Some(_) = live_system_available("lists live tracepoint fields") else {
        return;
    };
    let out = probedex(["list", "-v", "tracepoint:*"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "warnings: {}", out.stderr);
    let text = &out.stdout;
    // Fields of well-known tracepoints, as the kernel declares them.
    let sched_switch = text
        .split("tracepoint:sched:sched_switch\n")
        .nth(1)
        .expect("sched_switch listed");
    assert!(sched_switch.starts_with("    char prev_comm[16]\n    pid_t prev_pid\n"));
    assert!(!sched_switch.contains("common_pid"));
}

/// The contract that scripts rely on: the same names and fields as bpftrace.
#[test]
fn same_names_and_fields_as_bpftrace() {
    let Some(_) = live_system_available("compares with bpftrace") else {
        return;
    };
    let Ok(version) = Command::new("bpftrace").arg("--version").output() else {
        assert!(
            !is_ci(),
            "CI=true but bpftrace is not installed (dev/test installs it)"
        );
        skip("bpftrace is not installed (apt-get install bpftrace)");
        return;
    };
    assert!(version.status.success());
    let cases: [(&[&str], &[&str]); 2] = [
        (&["-l", "tracepoint:*"], &["list", "tracepoint:*"]),
        (&["-lv", "tracepoint:*"], &["list", "-v", "tracepoint:*"]),
    ];
    for (args, ours) in cases {
        let theirs = Command::new("bpftrace").args(args).output().unwrap();
        assert!(theirs.status.success(), "bpftrace {args:?} failed");
        let ours = probedex(ours);
        assert_eq!(ours.code, 0);
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        if ours.stdout != theirs {
            let ours_lines: Vec<&str> = ours.stdout.lines().collect();
            let first = theirs
                .lines()
                .zip(&ours_lines)
                .position(|(a, b)| a != *b)
                .unwrap_or(ours_lines.len().min(theirs.lines().count()));
            panic!(
                "bpftrace {args:?} differs from probedex at line {}: bpftrace {:?}, probedex {:?}",
                first + 1,
                theirs.lines().nth(first),
                ours_lines.get(first)
            );
        }
    }
}

#[test]
fn show_on_the_live_system() {
    let Some(_) = live_system_available("shows a live tracepoint") else {
        return;
    };
    let out = probedex(["show", "tracepoint:syscalls:sys_enter_openat"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .contains("/events/syscalls/sys_enter_openat/format"));
    let dfd = out.stdout.lines().find(|l| l.contains(" dfd ")).unwrap();
    assert!(dfd.trim_start().starts_with("16     8"), "{dfd}");
    assert!(dfd.contains("record holds 8"), "{dfd}");

    let missing = probedex(["show", "tracepoint:syscalls:sys_enter_opnat"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("did you mean tracepoint:syscalls:sys_enter_openat"),
        "{}",
        missing.stderr
    );
}

/// Runs `script` in a private mount namespace where tracefs is unmounted, so
/// the test can see what probedex does on a fresh machine without touching
/// the host's mounts.
fn in_namespace_without_tracefs(script: &str) -> Run {
    let bin = env!("CARGO_BIN_EXE_probedex");
    let full = format!(
        "umount -R /sys/kernel/debug 2>/dev/null; \
         while grep -q ' tracefs ' /proc/self/mounts; do \
           umount \"$(awk '$3 == \"tracefs\" {{print $2; exit}}' /proc/self/mounts)\" || exit 99; \
         done; \
         P={bin}; {script}"
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &full])
        .env("NO_COLOR", "1")
        .output()
        .expect("run unshare");
    Run {
        args: vec![script.to_string()],
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn mounts_tracefs_when_root_and_says_so() {
    let Some(_) = live_system_available("mounts tracefs in a private namespace") else {
        return;
    };
    let out = in_namespace_without_tracefs(
        "$P list tracepoint:sched:sched_switch && grep ' tracefs ' /proc/self/mounts",
    );
    assert_eq!(out.code, 0, "stdout {} stderr {}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("probedex: tracefs was not mounted; mounted it at /sys/kernel/tracing"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.starts_with("tracepoint:sched:sched_switch\n"));
    assert!(
        out.stdout.contains("/sys/kernel/tracing tracefs"),
        "{}",
        out.stdout
    );
}

#[test]
fn refuses_clearly_without_root() {
    let Some(_) = live_system_available("runs probedex as nobody") else {
        return;
    };
    let as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups $P list";
    // tracefs not mounted, and nobody may not mount it: asking for
    // tracepoints is one clear error.
    let out = in_namespace_without_tracefs(&format!("{as_nobody} 'tracepoint:*'"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("only root may mount it"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("sudo mount -t tracefs"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());

    // A bare `list` still lists what nobody can read (BTF functions and raw
    // tracepoints, kallsyms names), then ends with the tracefs failure and its
    // exit code: a partial list is never mistaken for a whole one.
    let out = in_namespace_without_tracefs(as_nobody);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stdout.contains("\nfentry:vfs_read\n"),
        "no fentry listed"
    );
    assert!(
        !out.stdout.contains("tracepoint:sched:"),
        "tracepoints listed"
    );
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("only root may mount it"), "{}", out.stderr);

    // tracefs mounted (mode 0700): nobody may not read it.
    let out = in_namespace_without_tracefs(&format!(
        "mount -t tracefs nodev /sys/kernel/tracing && {as_nobody} 'tracepoint:*'"
    ));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("permission denied"), "{}", out.stderr);
    assert!(out.stderr.contains("sudo"), "{}", out.stderr);
}

#[test]
fn closed_pipe_is_not_an_error() {
    let Some(_) = live_system_available("lists into a closed pipe") else {
        return;
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_probedex"))
        .args(["list", "-v", "tracepoint:*"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // Dropping our end of the pipe is what `| head -1` does.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("tracepoint:"));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// vmlinux.h's record structs agree with the format files: every live
/// tracepoint, checked in one run (2,305 on 6.18, ~1 s in a debug build).
#[test]
fn btf_record_structs_agree_with_format_files() {
    let Some(_) = live_system_available("checks BTF record structs") else {
        return;
    };
    let all = probedex(["list", "tracepoint:*"]);
    let sample: Vec<&str> = all.stdout.lines().collect();
    assert!(sample.len() > 1000);
    let mut args = vec!["show", "--json"];
    args.extend(&sample);
    let out = probedex(args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut checked = 0;
    for line in out.stdout.lines() {
        let detail: serde_json::Value = serde_json::from_str(line).unwrap();
        let record = &detail["btf_struct"];
        assert!(
            record["name"].is_string(),
            "{}: no BTF struct found",
            detail["probe"]
        );
        assert_eq!(record["agrees"], true, "{}: {record}", detail["probe"]);
        checked += 1;
    }
    assert_eq!(checked, sample.len());
}

/// uprobe listings name the same functions as bpftrace. bash is compared
/// exactly; libc and node differ only where noted in docs (separate debug
/// files and undefined PLT-canonical symbols, which bcc also lists).
#[test]
fn uprobe_functions_match_bpftrace() {
    let Ok(version) = Command::new("bpftrace").arg("--version").output() else {
        assert!(!is_ci(), "CI=true but bpftrace is not installed");
        skip("bpftrace is not installed");
        return;
    };
    assert!(version.status.success());
    let ours = probedex(["list", "uprobe:/usr/bin/bash:*"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = Command::new("bpftrace")
        .args(["-l", "uprobe:/usr/bin/bash:*"])
        .output()
        .unwrap();
    assert_eq!(ours.stdout, String::from_utf8(theirs.stdout).unwrap());
    assert!(ours.stdout.lines().count() > 1000);

    // Programs on $PATH and libraries resolve as the loader would.
    let program = probedex(["list", "uprobe:bash:readline"]);
    assert_eq!(
        program.stdout, "uprobe:/usr/bin/bash:readline\n",
        "{}",
        program.stderr
    );
    let library = probedex(["list", "uprobe:libc:malloc"]);
    assert!(
        library.stdout.ends_with("libc.so.6:malloc\n"),
        "{}",
        library.stderr
    );
    // libc is stripped; with libc6-dbg installed both also list the local
    // functions of its debug file's .symtab, so the sets still agree.
    let libc = library.stdout.trim_end().strip_prefix("uprobe:").unwrap();
    let libc = libc.strip_suffix(":malloc").unwrap();
    let ours = probedex(["list", &format!("uprobe:{libc}:*")]);
    let theirs = Command::new("bpftrace")
        .args(["-l", &format!("uprobe:{libc}:*")])
        .output()
        .unwrap();
    assert_eq!(
        ours.stdout,
        String::from_utf8(theirs.stdout).unwrap(),
        "uprobe:{libc}:*"
    );

    // Not an ELF file, a missing file, no function part: one clear line, exit 2.
    for (args, needle) in [
        (["list", "uprobe:/etc/passwd:x"], "not an ELF file"),
        (["list", "uprobe:/nonexistent/bin:x"], "no such file"),
        (["list", "uprobe:bash"], "KIND:PATH:FUNC"),
    ] {
        let run = probedex(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

/// USDT probes: the same names as bpftrace (on a copy of libstdc++: bpftrace
/// 0.17's parser rejects `+` in paths), and libstdc++'s known call sites
/// with their parsed operands.
#[test]
fn usdt_probes_of_libstdcxx() {
    let Some(library) = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"]
        .iter()
        .map(|d| std::path::Path::new(d).join("libstdc++.so.6"))
        .find(|p| p.exists())
    else {
        assert!(!is_ci(), "CI=true but libstdc++.so.6 is missing");
        skip("libstdc++.so.6 is not installed");
        return;
    };
    let copy = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libstdcxx-copy.so");
    std::fs::copy(&library, &copy).unwrap();
    let pattern = format!("usdt:{}:*", copy.display());
    let ours = probedex(["list", pattern.as_str()]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let names: Vec<&str> = ours
        .stdout
        .lines()
        .map(|l| l.rsplit(':').next().unwrap())
        .collect();
    assert_eq!(names, ["catch", "rethrow", "throw"]);
    if let Ok(theirs) = Command::new("bpftrace")
        .args(["-l", pattern.as_str()])
        .output()
    {
        assert_eq!(ours.stdout, String::from_utf8(theirs.stdout).unwrap());
    } else {
        assert!(!is_ci(), "CI=true but bpftrace is not installed");
    }

    let show = probedex(["--json", "show", "usdt:libstdc++:libstdcxx:catch"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let probe: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    let site = &probe["sites"][0];
    assert_eq!(site["args_spec"], "8@%rdx 8@-80(%rbx)");
    assert_eq!(site["args"][0]["operand"], "register rdx");
    assert_eq!(site["args"][1]["operand"], "memory at rbx-80");
    assert_eq!(site["address"], site["file_offset"], "{site}");
    assert_eq!(site["semaphore"], 0);
}

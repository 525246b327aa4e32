//! `probedex sec`: libbpf's SEC() rules, checked against the table gathered
//! from libbpf's source (fixtures/reference/libbpf-sections.md, parsed here
//! on its own), and the kernel support it reports against bpftool's dump of
//! the kernel's BTF.

mod common;

use std::process::Command;

use common::{have_tools, probedex, repo_dir};

/// A row of the reference table.
#[derive(Debug)]
struct Row {
    pattern: String,
    prog_type: String,
    attach_type: Option<String>,
}

fn reference() -> Vec<Row> {
    let text =
        std::fs::read_to_string(repo_dir().join("fixtures/reference/libbpf-sections.md")).unwrap();
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | # | `pattern` | rule | type | attach | flags | fn | released |
            if cells.len() < 9 || cells[1].parse::<usize>().is_err() {
                return None;
            }
            Some(Row {
                pattern: cells[2].trim_matches('`').to_string(),
                prog_type: format!("BPF_PROG_TYPE_{}", cells[4]),
                attach_type: (cells[5] != "—").then(|| cells[5].to_string()),
            })
        })
        .collect()
}

/// libbpf's `sec_def_matches()`, as its source documents it.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('+') {
        Some(base) => name == base || name.starts_with(&format!("{base}/")),
        None if pattern.ends_with('/') => name.starts_with(pattern),
        None => name == pattern,
    }
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn every_pattern_of_libbpfs_table() {
    let rows = reference();
    assert_eq!(rows.len(), 116, "the reference table");
    // Each entry's bare name, and with extras for `+` entries: the type and
    // attach type of the first row that matches, in table order.
    let mut names = Vec::new();
    for row in &rows {
        let base = row.pattern.trim_end_matches('+');
        names.push(base.to_string());
        if row.pattern.ends_with('+') {
            // Extras that name nothing checkable keep the run fast.
            names.push(format!("{base}/"));
        }
    }
    let out = probedex(
        ["sec", "--json"]
            .into_iter()
            .map(String::from)
            .chain(names.iter().cloned()),
    );
    assert_eq!(out.code, 0, "{}", out.describe());
    let reports = json_lines(&out.stdout);
    assert_eq!(reports.len(), names.len());
    for (name, report) in names.iter().zip(&reports) {
        let row = rows
            .iter()
            .find(|r| matches(&r.pattern, name))
            .unwrap_or_else(|| panic!("the reference has no entry for {name}"));
        assert_eq!(report["name"], name.as_str());
        assert_eq!(report["pattern"], row.pattern.as_str(), "{name}");
        assert_eq!(report["prog_type"], row.prog_type.as_str(), "{name}");
        assert_eq!(
            report["attach_type"].as_str(),
            row.attach_type.as_deref(),
            "{name}"
        );
    }

    // `--list`: the same entries in the same order.
    let out = probedex(["sec", "--list", "--json"]);
    let listed = json_lines(&out.stdout);
    let patterns: Vec<&str> = listed
        .iter()
        .map(|r| r["pattern"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = rows.iter().map(|r| r.pattern.as_str()).collect();
    assert_eq!(patterns, expected);
}

#[test]
fn names_libbpf_does_not_know() {
    for name in [
        "kprobe.multix",
        "tpx/a/b",
        "xdp.frag",
        "socket/x",
        "kprobes/tcp_v4_connect",
    ] {
        assert!(
            reference().iter().all(|r| !matches(&r.pattern, name)),
            "{name} is a libbpf name"
        );
        let out = probedex(["sec", name]);
        assert_eq!(out.code, 1, "{name}: {}", out.describe());
        assert!(
            out.stderr.contains("failed to guess program type"),
            "{}",
            out.describe()
        );
    }
    let out = probedex(["sec", "kprobes/tcp_v4_connect"]);
    assert!(
        out.stderr.contains("did you mean kprobe/tcp_v4_connect"),
        "{}",
        out.describe()
    );
}

/// Targets that exist and ones that do not, on the live system.
#[test]
fn targets_are_checked_here() {
    if common::live_system_available("check SEC() targets against tracefs").is_none() {
        return;
    }
    let report = |name: &str| {
        let out = probedex(["sec", "--json", name]);
        assert_eq!(out.code, 0, "{}", out.describe());
        json_lines(&out.stdout).remove(0)
    };
    let found = |name: &str| report(name)["target"]["found"].clone();
    assert_eq!(found("tracepoint/syscalls/sys_enter_openat"), true);
    assert_eq!(found("tp/syscalls/sys_enter_no_such_call"), false);
    assert_eq!(found("tp_btf/sched_switch"), true);
    assert_eq!(found("raw_tp/no_such_event"), false);
    assert_eq!(found("uprobe/libc:malloc"), true);
    assert_eq!(found("uprobe/libc:no_such_function_here"), false);
    // The handler and context a tracepoint program takes.
    // The record's vmlinux.h struct: the event's own class, a DEFINE_EVENT
    // template's (include/trace/events/sched.h), the syscall record, and a
    // placeholder when the tracepoint is not there.
    for (name, record) in [
        ("tp/sched/sched_switch", "trace_event_raw_sched_switch"),
        (
            "tp/sched/sched_wakeup",
            "trace_event_raw_sched_wakeup_template",
        ),
        (
            "tracepoint/syscalls/sys_enter_openat",
            "syscall_trace_enter",
        ),
        ("tp/sched/no_such_event", "trace_event_raw_<class>"),
    ] {
        assert_eq!(
            report(name)["handler"],
            format!("int handler(struct {record} *ctx)"),
            "{name}"
        );
    }
    assert_eq!(
        report("kretprobe/vfs_read")["handler"],
        "BPF_KRETPROBE(handler, long ret)"
    );

    // `--for`: the names that reach a tracepoint, each one libbpf's.
    let out = probedex(["sec", "--json", "--for", "tracepoint:sched:sched_switch"]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let sections: Vec<String> = json_lines(&out.stdout)[0]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sec"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sections,
        [
            "tracepoint/sched/sched_switch",
            "tp/sched/sched_switch",
            "raw_tp/sched_switch",
            "tp_btf/sched_switch"
        ]
    );
    let out = probedex(["sec", "--for", "tracepoint:sched:no_such_event"]);
    assert_eq!(out.code, 1, "{}", out.describe());
}

/// Whether the kernel knows a program and attach type, against bpftool's
/// dump of the same BTF.
#[test]
fn kernel_support_agrees_with_bpftool() {
    if common::live_system_available("read the kernel's BTF").is_none() {
        return;
    }
    if !have_tools(&["bpftool"], "dump the kernel's BTF enums") {
        return;
    }
    let dump = Command::new("bpftool")
        .args([
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "raw",
        ])
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout);
    // Enumerator lines: `	'BPF_TRACE_FENTRY' val=24`.
    let known = |name: &str| dump.contains(&format!("'{name}' val="));
    for row in reference() {
        let name = row.pattern.trim_end_matches('+');
        let out = probedex(["sec", "--json", name]);
        let report = &json_lines(&out.stdout)[0];
        if report["pattern"] != row.pattern.as_str() {
            continue; // an earlier entry takes the bare name
        }
        let want = if known(&row.prog_type) { "yes" } else { "no" };
        assert_eq!(report["prog_type_supported"], want, "{name}");
        if let Some(attach) = &row.attach_type {
            let want = if known(attach) { "yes" } else { "no" };
            assert_eq!(report["attach_type_supported"], want, "{name}: {attach}");
        }
    }
}

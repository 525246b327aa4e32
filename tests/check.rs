//! `probedex check` on BPF objects compiled here from
//! fixtures/src/bpf/*.bpf.c: one that must pass, and one with a mistake
//! per program that must be caught. The offsets the wrong struct gets are
//! what clang lays out from the source; the right ones come from the live
//! format file, read here by plain splitting.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have_tools, probedex, repo_dir};

fn compile(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bpf-objects");
    std::fs::create_dir_all(&dir).unwrap();
    let source = repo_dir().join(format!("fixtures/src/bpf/{name}.bpf.c"));
    let object = dir.join(format!("{name}.bpf.o"));
    let out = Command::new("clang")
        .args(["-target", "bpf", "-g", "-O2", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    object
}

fn report(object: &Path) -> (i32, serde_json::Value) {
    let out = probedex(["check", "--json", object.to_str().unwrap()]);
    let value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {}", out.describe()));
    (out.code, value)
}

fn program<'v>(report: &'v serde_json::Value, name: &str) -> &'v serde_json::Value {
    report["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no program {name} in {report}"))
}

/// `(offset, size)` of a field in a live format file, by plain splitting.
fn format_field(category: &str, event: &str, field: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(format!(
        "/sys/kernel/tracing/events/{category}/{event}/format"
    ))
    .unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&format!(" {field};")))
        .unwrap_or_else(|| panic!("no {field} in {category}:{event}"));
    let number = |key: &str| -> u64 {
        line.split(key)
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number("offset:"), number("size:"))
}

#[test]
fn a_good_object_passes() {
    if common::live_system_available("check BPF objects against tracefs").is_none()
        || !have_tools(&["clang"], "compile the BPF objects")
    {
        return;
    }
    let (code, report) = report(&compile("check_good"));
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["license"], "GPL");
    assert_eq!(report["maps"], serde_json::json!(["hits"]));
    assert_eq!(report["failing"], 0);
    for p in report["programs"].as_array().unwrap() {
        assert_eq!(p["verdict"], "ok", "{p}");
    }
    let fchmodat = program(&report, "on_fchmodat");
    assert_eq!(fchmodat["prog_type"], "BPF_PROG_TYPE_TRACEPOINT");
    let context = &fchmodat["context"];
    assert_eq!(context["struct"], "struct fchmodat_args");
    assert_eq!(context["unmatched_members"], serde_json::json!(["unused"]));
    for field in context["fields"].as_array().unwrap() {
        let name = field["field"].as_str().unwrap();
        let (offset, _) = format_field("syscalls", "sys_enter_fchmodat", name);
        assert_eq!(field["format_offset"], offset, "{field}");
        assert_eq!(field["agrees"], true, "{field}");
    }
    assert_eq!(context["fields"].as_array().unwrap().len(), 4);
    // vmlinux.h's spelling: common fields through `ent`, `__data_loc_`.
    let exec = &program(&report, "on_exec")["context"];
    assert_eq!(exec["fields"].as_array().unwrap().len(), 7, "{exec}");
    assert_eq!(
        program(&report, "on_switch")["attach_type"],
        "BPF_TRACE_RAW_TP"
    );
}

#[test]
fn each_mistake_is_caught() {
    if common::live_system_available("check BPF objects against tracefs").is_none()
        || !have_tools(&["clang"], "compile the BPF objects")
    {
        return;
    }
    let (code, report) = report(&compile("check_bad"));
    assert_eq!(code, 1, "{report}");

    let misspelt = program(&report, "misspelt");
    assert_eq!(misspelt["verdict"], "fail");
    assert_eq!(misspelt["target"]["found"], false);
    assert!(misspelt["problems"][0]
        .as_str()
        .unwrap()
        .contains("did you mean tracepoint:syscalls:sys_enter_fchmodat"));

    // Each member clang placed away from the format file's offset, and only
    // those, is a problem.
    let wrong = program(&report, "wrong_offsets");
    assert_eq!(wrong["verdict"], "fail");
    let laid_out = [
        ("__syscall_nr", 8),
        ("dfd", 12),
        ("filename", 16),
        ("mode", 24),
    ];
    for field in wrong["context"]["fields"].as_array().unwrap() {
        let name = field["field"].as_str().unwrap();
        let (offset, _) = format_field("syscalls", "sys_enter_fchmodat", name);
        let ours = laid_out.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(field["member_offset"], ours, "{field}");
        assert_eq!(field["agrees"], ours == offset, "{field}");
    }
    assert_eq!(wrong["problems"].as_array().unwrap().len(), 3, "{wrong}");

    // A kprobe fails exactly where the kernel cannot attach kprobes.
    let has_kprobes = Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || Path::new("/sys/kernel/tracing/kprobe_events").exists();
    let kprobe = program(&report, "on_kprobe");
    assert_eq!(
        kprobe["verdict"],
        if has_kprobes { "ok" } else { "fail" },
        "{kprobe}"
    );

    let unknown = program(&report, "unknown_section");
    assert_eq!(unknown["verdict"], "fail");
    assert!(unknown["problems"][0]
        .as_str()
        .unwrap()
        .contains("libbpf cannot guess the program type"));
    let expected_failing = if has_kprobes { 3 } else { 4 };
    assert_eq!(report["failing"], expected_failing);
}

#[test]
fn not_a_bpf_object_is_one_clear_error() {
    for (file, needle) in [
        ("/etc/passwd".to_string(), "not a valid BPF object file"),
        (
            std::env::current_exe().unwrap().display().to_string(),
            "not BPF (247)",
        ),
        ("/nonexistent.bpf.o".to_string(), "no such file"),
    ] {
        let out = probedex(["check", &file]);
        assert_eq!(out.code, 2, "{file}: {}", out.describe());
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.describe());
        assert!(out.stderr.contains(needle), "{file}: {}", out.describe());
    }
}

//! Golden tests over the fixture trees (see fixtures/README.md): every
//! command's output for each tree is compared with a reviewed file under
//! `fixtures/golden/TREE/`. `PROBEDEX_UPDATE=1 cargo test --test fixtures`
//! rewrites them; read the diff before committing, a golden file records
//! output someone checked by hand.
//!
//! Conventions: `NAME.txt` / `NAME.jsonl` / `NAME.c` hold stdout and
//! `NAME.stderr` holds stderr; a file is absent when that stream is empty.
//! Exit codes are not golden: each case states the code it must exit with,
//! so an update can never bless a new exit code.
//!
//! Also here: the capture lists exactly its `available_events`, every one
//! of its format files parses, and the generated trees are what their
//! scripts generate.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    assert_golden, check_golden_run, first_difference, live_system_available, probedex, repo_dir,
    skip, updating, Run,
};

const CENTOS: &str = "centos8-linux5.10";
const CORNER: &str = "corner";
const CAPTURE: &str = "linux-6.18-x86_64";
const NO_AVAILABLE_EVENTS: &str = "no-available-events";

/// One golden comparison: `probedex --root fixtures/TREE ARGS...`.
#[derive(Debug, Clone)]
struct Case {
    tree: &'static str,
    /// The golden files' stem.
    name: String,
    /// Extension of the stdout file: `txt`, `jsonl` or `c`.
    ext: &'static str,
    args: Vec<String>,
    code: i32,
}

impl Case {
    fn new(tree: &'static str, name: &str, ext: &'static str, args: &[&str], code: i32) -> Case {
        Case {
            tree,
            name: name.to_string(),
            ext,
            args: args.iter().map(|a| a.to_string()).collect(),
            code,
        }
    }

    fn golden_dir(&self) -> PathBuf {
        repo_dir().join("fixtures/golden").join(self.tree)
    }

    fn stdout_path(&self) -> PathBuf {
        self.golden_dir()
            .join(format!("{}.{}", self.name, self.ext))
    }

    fn stderr_path(&self) -> PathBuf {
        self.golden_dir().join(format!("{}.stderr", self.name))
    }

    fn run(&self) -> Run {
        let root = format!("fixtures/{}", self.tree);
        let mut args = vec!["--root".to_string(), root];
        args.extend(self.args.iter().cloned());
        probedex(&args)
    }
}

/// `list` in its four forms over `patterns`, then `show` in its three forms
/// for each of `probes` (each exiting 0 unless listed in `failing`).
fn standard_cases(
    tree: &'static str,
    patterns: &[&str],
    probes: &[&str],
    failing: &[(&str, &str, i32)],
) -> Vec<Case> {
    let mut cases = Vec::new();
    fn with<'a>(first: &[&'a str], patterns: &[&'a str]) -> Vec<&'a str> {
        let mut v = first.to_vec();
        v.extend_from_slice(patterns);
        v
    }
    cases.push(Case::new(
        tree,
        "list",
        "txt",
        &with(&["list"], patterns),
        0,
    ));
    cases.push(Case::new(
        tree,
        "list-v",
        "txt",
        &with(&["list", "-v"], patterns),
        0,
    ));
    cases.push(Case::new(
        tree,
        "list-json",
        "jsonl",
        &with(&["--json", "list"], patterns),
        0,
    ));
    cases.push(Case::new(
        tree,
        "list-v-json",
        "jsonl",
        &with(&["--json", "list", "-v"], patterns),
        0,
    ));
    for probe in probes {
        let stem = probe
            .strip_prefix("tracepoint:")
            .expect("probes are written in full")
            .replace(':', ".");
        let code_for = |form: &str| {
            failing
                .iter()
                .find(|(p, f, _)| p == probe && *f == form)
                .map_or(0, |(_, _, code)| *code)
        };
        cases.push(Case::new(
            tree,
            &format!("show.{stem}"),
            "txt",
            &["show", probe],
            code_for("show"),
        ));
        cases.push(Case::new(
            tree,
            &format!("show-json.{stem}"),
            "jsonl",
            &["--json", "show", probe],
            code_for("show-json"),
        ));
        cases.push(Case::new(
            tree,
            &format!("emit-c.{stem}"),
            "c",
            &["show", "--emit", "c", probe],
            code_for("emit-c"),
        ));
    }
    cases
}

fn centos_cases() -> Vec<Case> {
    let probes = [
        "tracepoint:syscalls:sys_enter_openat",
        "tracepoint:syscalls:sys_enter_fchmodat",
        "tracepoint:syscalls:sys_exit_fchmodat",
    ];
    let mut cases = standard_cases(CENTOS, &[], &probes, &[]);
    // Several probes in one `show`: separated by a blank line in text,
    // one object a line in JSON, one struct after another in C.
    let all = "tracepoint:syscalls:*";
    cases.push(Case::new(CENTOS, "show.all", "txt", &["show", all], 0));
    cases.push(Case::new(
        CENTOS,
        "show-json.all",
        "jsonl",
        &["--json", "show", all],
        0,
    ));
    cases.push(Case::new(
        CENTOS,
        "emit-c.all",
        "c",
        &["show", "--emit", "c", all],
        0,
    ));
    cases
}

fn corner_cases() -> Vec<Case> {
    let probes = [
        "tracepoint:corner:rel_loc",
        "tracepoint:corner:signed_widths",
        "tracepoint:corner:old_kernel_no_signed",
        "tracepoint:corner:array_len_macro",
        "tracepoint:corner:flexible_array",
        "tracepoint:corner:no_fields",
        "tracepoint:corner:long_print_fmt",
        "tracepoint:corner:declared_size_mismatch",
        "tracepoint:corner:data_loc_cpumask",
        "tracepoint:corner:unaligned_u64",
        "tracepoint:corner:pointers",
        // Parses, so `show` works; the C struct is refused (exit 2).
        "tracepoint:broken:overlapping",
    ];
    // The whole tree, broken events included: `list -v` must list them all
    // and warn once per broken file.
    standard_cases(
        CORNER,
        &[],
        &probes,
        &[("tracepoint:broken:overlapping", "emit-c", 2)],
    )
}

fn capture_cases() -> Vec<Case> {
    let probes = [
        "tracepoint:sched:sched_switch",
        "tracepoint:syscalls:sys_enter_openat",
        "tracepoint:syscalls:sys_enter_execve",
        // __data_loc char[]
        "tracepoint:sched:sched_process_exec",
        // __data_loc cpumask_t
        "tracepoint:ipi:ipi_send_cpumask",
        // void __seg_gs *, a 3 KiB print fmt of gfp flags
        "tracepoint:percpu:percpu_alloc_percpu",
        // unsigned long args[6]
        "tracepoint:raw_syscalls:sys_enter",
    ];
    standard_cases(
        CAPTURE,
        &["t:sched:sched_s*", "t:syscalls:sys_*_openat"],
        &probes,
        &[],
    )
}

fn no_available_events_cases() -> Vec<Case> {
    let mut cases = standard_cases(NO_AVAILABLE_EVENTS, &[], &["tracepoint:a:b"], &[]);
    // ftrace/* has format files but is not a tracepoint: the walk skips it.
    cases.push(Case::new(
        NO_AVAILABLE_EVENTS,
        "show.ftrace.function",
        "txt",
        &["show", "tracepoint:ftrace:function"],
        1,
    ));
    cases
}

fn all_cases() -> Vec<Case> {
    let mut cases = centos_cases();
    cases.extend(corner_cases());
    cases.extend(capture_cases());
    cases.extend(no_available_events_cases());
    cases
}

fn check_cases(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let paths = [case.stdout_path(), case.stderr_path()];
        let run = case.run();
        check_golden_run(
            &case.name,
            &run,
            case.code,
            [&paths[0], &paths[1]],
            &mut failures,
        );
    }
    assert_golden(&failures, "fixtures");
}

#[test]
fn golden_centos8_linux5_10() {
    check_cases(&centos_cases());
}

#[test]
fn golden_corner() {
    check_cases(&corner_cases());
}

#[test]
fn golden_linux_6_18_selected_tracepoints() {
    check_cases(&capture_cases());
}

#[test]
fn golden_no_available_events_walks_events_dir() {
    check_cases(&no_available_events_cases());
}

/// Every file under fixtures/golden belongs to a case: a renamed or removed
/// case must not leave a file nobody checks.
#[test]
fn no_stale_golden_files() {
    let expected: BTreeSet<PathBuf> = all_cases()
        .iter()
        .flat_map(|c| [c.stdout_path(), c.stderr_path()])
        .collect();
    let mut stale = Vec::new();
    let golden = repo_dir().join("fixtures/golden");
    let Ok(trees) = fs::read_dir(&golden) else {
        return;
    };
    for tree in trees {
        let tree = tree.unwrap().path();
        // tests/kernel.rs owns kernel-mini's golden files and checks them itself.
        if tree.ends_with("kernel-mini") {
            continue;
        }
        for file in fs::read_dir(&tree).unwrap() {
            let file = file.unwrap().path();
            if !expected.contains(&file) {
                stale.push(file);
            }
        }
    }
    if updating() {
        for file in &stale {
            fs::remove_file(file).unwrap();
        }
        return;
    }
    assert!(
        stale.is_empty(),
        "golden files no case produces: {stale:#?}"
    );
}

fn capture_tracefs() -> PathBuf {
    repo_dir()
        .join("fixtures")
        .join(CAPTURE)
        .join("sys/kernel/tracing")
}

/// `list 'tracepoint:*'` is exactly the capture's `available_events`,
/// prefixed and sorted byte by byte as bpftrace sorts.
#[test]
fn capture_lists_exactly_its_available_events() {
    let text = fs::read_to_string(capture_tracefs().join("available_events")).unwrap();
    let expected: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("tracepoint:{l}"))
        .collect();
    // BTreeSet<String> orders by bytes: the order bpftrace -l uses.
    let expected: String = expected.iter().map(|l| format!("{l}\n")).collect();
    assert!(expected.lines().count() > 2000);

    let root = format!("fixtures/{CAPTURE}");
    let run = probedex(["--root", &root, "list", "tracepoint:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr, "", "{}", run.describe());
    assert!(
        run.stdout == expected,
        "list differs from available_events: {}",
        first_difference(&expected, &run.stdout)
    );
}

/// Every format file of a real 6.18 kernel parses: `list -v` warns about
/// none of them and shows every tracepoint.
#[test]
fn capture_list_v_parses_every_format_file() {
    let root = format!("fixtures/{CAPTURE}");
    let run = probedex(["--root", &root, "list", "-v", "tracepoint:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr, "", "warnings on a real kernel's files");
    let probes = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("tracepoint:"))
        .count();
    let listed = fs::read_to_string(capture_tracefs().join("available_events"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(probes, listed);
    // Every other line is a field declaration, indented as bpftrace does.
    for line in run.stdout.lines().filter(|l| !l.starts_with("tracepoint:")) {
        assert!(
            line.starts_with("    ") && line.len() > 4,
            "odd line {line:?}"
        );
    }

    // The same through JSON: no tracepoint carries an "error".
    let run = probedex(["--root", &root, "--json", "list", "-v", "tracepoint:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout.lines().count(), listed);
    for line in run.stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(value.get("error").is_none(), "{line}");
        assert!(value["fields"].as_array().unwrap().len() >= 4, "{line}");
    }
}

/// The rebuilt CentOS files have the kernel's exact shape: sys_enter_openat
/// and both fchmodat events are, apart from the `ID:` line, byte for byte
/// what Linux 6.18 prints for the same syscalls.
#[test]
fn centos8_files_have_the_kernel_shape() {
    let centos = repo_dir()
        .join("fixtures")
        .join(CENTOS)
        .join("sys/kernel/tracing");
    let without_id = |text: &str| -> String {
        text.split_inclusive('\n')
            .filter(|l| !l.starts_with("ID: "))
            .collect()
    };
    for event in [
        "sys_enter_openat",
        "sys_enter_fchmodat",
        "sys_exit_fchmodat",
    ] {
        let path = format!("events/syscalls/{event}/format");
        let old = fs::read_to_string(centos.join(&path)).unwrap();
        let new = fs::read_to_string(capture_tracefs().join(&path)).unwrap();
        assert_eq!(without_id(&old), without_id(&new), "{event}");
        assert!(old.ends_with("\n") && !old.ends_with("\n\n"), "{event}");
    }
    let listed = fs::read_to_string(centos.join("available_events")).unwrap();
    assert_eq!(
        listed,
        "syscalls:sys_enter_openat\nsyscalls:sys_enter_fchmodat\nsyscalls:sys_exit_fchmodat\n"
    );
}

/// Every regular file under `dir`, relative path → bytes.
fn tree_files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Runs a fixture's generator script from a copy of its directory and
/// checks it writes exactly the committed tree.
fn check_generator(tree: &str, script: &str, args: &[&str]) {
    let committed = repo_dir().join("fixtures").join(tree);
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join(tree);
    fs::create_dir_all(&copy).unwrap();
    fs::copy(committed.join(script), copy.join(script)).unwrap();
    let out = Command::new("sh")
        .arg(copy.join(script))
        .args(args)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = tree_files(&committed.join("sys"));
    let got = tree_files(&copy.join("sys"));
    let names = |m: &std::collections::BTreeMap<PathBuf, Vec<u8>>| -> Vec<PathBuf> {
        m.keys().cloned().collect()
    };
    assert_eq!(names(&got), names(&want), "{tree}: files differ");
    for (path, bytes) in &want {
        assert!(
            &got[path] == bytes,
            "{tree}/sys/{}: the committed file is not what {script} writes",
            path.display()
        );
    }
}

#[test]
fn corner_tree_is_what_generate_sh_writes() {
    check_generator(CORNER, "generate.sh", &[]);
}

#[test]
fn centos8_tree_is_what_rebuild_sh_writes() {
    let reference = repo_dir().join("../shared/reference/centos8-linux5.10-formats.txt");
    if !reference.is_file() {
        skip(&format!(
            "{} is not here to rebuild from",
            reference.display()
        ));
        return;
    }
    check_generator(CENTOS, "rebuild.sh", &[reference.to_str().unwrap()]);
}

/// capture-tracefs.sh on the live system gives a tree probedex lists exactly
/// as it lists the live system. Needs root and tracefs: skips without
/// them outside CI, fails without them under CI=true.
#[test]
fn capture_script_reproduces_the_live_listing() {
    if live_system_available("capture-tracefs.sh reproduces the live listing").is_none() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let dest = scratch.path().join("capture");
    let out = Command::new("sh")
        .arg(repo_dir().join("fixtures/capture-tracefs.sh"))
        .arg(&dest)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "capture-tracefs.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tracing = dest.join("sys/kernel/tracing");
    for unwanted in ["events/header_page", "events/header_event", "events/enable"] {
        assert!(!tracing.join(unwanted).exists(), "{unwanted} was copied");
    }
    assert!(!tracing.join("events/sched/sched_switch/enable").exists());
    let dest = dest.to_str().expect("temp paths are UTF-8");
    let captured = probedex(["--root", dest, "list", "-v", "tracepoint:*"]);
    assert_eq!(captured.code, 0, "{}", captured.describe());
    assert_eq!(captured.stderr, "");
    let live_v = probedex(["list", "-v", "tracepoint:*"]);
    assert!(
        captured.stdout == live_v.stdout,
        "captured tree lists differently: {}",
        first_difference(&live_v.stdout, &captured.stdout)
    );
}

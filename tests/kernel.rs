//! Kernel functions, raw tracepoints and kernel types: fentry/fexit,
//! kprobe/kretprobe, rawtracepoint and `show struct:/union:/enum:`.
//!
//! Offline, on the mini kernel (fixtures/README.md, "a mini kernel with
//! BTF"): each test copies `fixtures/kernel-mini/` to
//! `SCRATCH/fixtures/kernel-mini`, builds its BTF there with
//! `fixtures/btf/build.sh`, and runs probedex in SCRATCH with
//! `--root fixtures/kernel-mini`, so the paths in the output are the ones a
//! run from the repository prints. Golden output is in
//! `fixtures/golden/kernel-mini/`; `PROBEDEX_UPDATE=1 cargo test --test kernel`
//! rewrites it (read the diff: a golden file records reviewed output).
//!
//! Live, as root: this kernel's fentry/fexit signatures, raw tracepoints and
//! counts against what bpftool reads from the same `/sys/kernel/btf` files.
//!
//! Building needs gcc, pahole and objcopy; the live tests need root and
//! bpftool. Outside CI a missing one skips with the reason printed; under
//! `CI=true` it fails.
//!
//! Tests marked `#[ignore]` state behaviour a known bug breaks (the reason
//! says which); `cargo test --test kernel -- --ignored` runs them.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::{
    assert_golden, build_mini_kernel, check_golden_run, copy_tree, have_tools, is_ci,
    live_system_available, probedex, probedex_with, repo_dir, skip, updating, Run,
};

/// Where the mini kernel sits, relative to the directory probedex runs in.
const ROOT: &str = "fixtures/kernel-mini";

// ---------------------------------------------------------------------------
// The mini kernel

/// A scratch directory holding `fixtures/kernel-mini` with its BTF built.
struct MiniKernel {
    scratch: tempfile::TempDir,
}

impl MiniKernel {
    /// None when the build tools are missing (and this is not CI).
    fn build() -> Option<MiniKernel> {
        build_mini_kernel("kernel-mini-").map(|scratch| MiniKernel { scratch })
    }

    fn dir(&self) -> &Path {
        self.scratch.path()
    }

    fn root(&self) -> PathBuf {
        self.dir().join(ROOT)
    }

    /// `probedex --root fixtures/kernel-mini ARGS...`
    fn run(&self, args: &[&str]) -> Run {
        self.run_root(ROOT, args)
    }

    fn run_root(&self, root: &str, args: &[&str]) -> Run {
        let mut all = vec!["--root", root];
        all.extend_from_slice(args);
        probedex_with(self.dir(), &all, &[])
    }

    /// A copy of the built tree at `fixtures/NAME`, changed by `edit`;
    /// returns the `--root` to pass.
    fn variant(&self, name: &str, edit: impl FnOnce(&Path)) -> String {
        let rel = format!("fixtures/{name}");
        let dir = self.dir().join(&rel);
        copy_tree(&self.root(), &dir);
        edit(&dir);
        rel
    }

    /// `show --json PROBE`, parsed.
    fn show_json(&self, probe: &str) -> Value {
        let run = self.run(&["--json", "show", probe]);
        assert_eq!(run.code, 0, "{}", run.describe());
        serde_json::from_str(run.stdout.trim_end())
            .unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
    }
}

fn remove(path: &Path) {
    if path.is_dir() {
        fs::remove_dir_all(path).unwrap();
    } else {
        fs::remove_file(path).unwrap_or_else(|e| panic!("rm {}: {e}", path.display()));
    }
}

fn truncate(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .unwrap_or_else(|e| panic!("truncate {}: {e}", path.display()));
}

/// The probe lines of a listing (`list -v` indents everything else).
fn probe_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| !l.starts_with(' ')).collect()
}

/// Each JSON line of `run`'s stdout.
fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn arg_names(detail: &Value) -> Vec<String> {
    detail["args"]
        .as_array()
        .unwrap_or_else(|| panic!("no args: {detail}"))
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// Golden output

/// One golden comparison: `probedex --root fixtures/kernel-mini ARGS...`.
#[derive(Debug)]
struct Case {
    /// The golden files' stem.
    name: String,
    /// Extension of the stdout file: `txt` or `jsonl`.
    ext: &'static str,
    args: Vec<String>,
    /// Written here, not in a golden file, so an update cannot bless it.
    code: i32,
}

fn case(name: &str, ext: &'static str, args: &[&str], code: i32) -> Case {
    Case {
        name: name.to_string(),
        ext,
        args: args.iter().map(|a| a.to_string()).collect(),
        code,
    }
}

fn golden_dir() -> PathBuf {
    repo_dir().join("fixtures/golden/kernel-mini")
}

impl Case {
    fn stdout_path(&self) -> PathBuf {
        golden_dir().join(format!("{}.{}", self.name, self.ext))
    }

    fn stderr_path(&self) -> PathBuf {
        golden_dir().join(format!("{}.stderr", self.name))
    }
}

/// `show.fentry.vfs_read` for `fentry:vfs_read`.
fn stem(probe: &str) -> String {
    probe.replace(':', ".")
}

fn golden_cases() -> Vec<Case> {
    let mut cases = vec![
        case("list.fentry", "txt", &["list", "fentry:*"], 0),
        case("list-v.fentry", "txt", &["list", "-v", "fentry:*"], 0),
        case("list-v.fexit", "txt", &["list", "-v", "fexit:*"], 0),
        case("list.kprobe", "txt", &["list", "kprobe:*"], 0),
        case("list-v.kprobe", "txt", &["list", "-v", "kprobe:*"], 0),
        case("list.kretprobe", "txt", &["list", "kretprobe:*"], 0),
        case("list-v.kretprobe", "txt", &["list", "-v", "kretprobe:*"], 0),
        case(
            "list-v.rawtracepoint",
            "txt",
            &["list", "-v", "rawtracepoint:*"],
            0,
        ),
        // A bare word: every kernel kind.
        case("list.vfs_read", "txt", &["list", "vfs_read"], 0),
        case(
            "list.fentry.fakemod",
            "txt",
            &["list", "fentry:fakemod:*"],
            0,
        ),
        case(
            "list-json.fentry",
            "jsonl",
            &["--json", "list", "fentry:*"],
            0,
        ),
        case(
            "list-v-json.rawtracepoint",
            "jsonl",
            &["--json", "list", "-v", "rawtracepoint:*"],
            0,
        ),
        case(
            "list-v-json.kprobe",
            "jsonl",
            &["--json", "list", "-v", "kprobe:*"],
            0,
        ),
        // Several points in one show.
        case("show.fentry.vfs_x", "txt", &["show", "fentry:vfs_*"], 0),
        // Nothing matches: exit 1 and a did-you-mean where one is near.
        case(
            "show.struct.no_such_type",
            "txt",
            &["show", "struct:no_such_type"],
            1,
        ),
        case(
            "show.struct.task_strct",
            "txt",
            &["show", "struct:task_strct"],
            1,
        ),
        case(
            "show.fentry.vfs_reed",
            "txt",
            &["show", "fentry:vfs_reed"],
            1,
        ),
        case(
            "list.rawtracepoint.sched_swtch",
            "txt",
            &["list", "rawtracepoint:sched_swtch"],
            1,
        ),
        // C structs are for tracepoint records only.
        case(
            "emit-c.fentry.vfs_read",
            "c",
            &["show", "--emit", "c", "fentry:vfs_read"],
            2,
        ),
    ];
    // `show` as text and as JSON.
    let both = [
        "fentry:vfs_read",
        "fexit:vfs_read",
        // Only a clone in kallsyms; no signature for an .isra copy.
        "kprobe:ftrace_syscall_enter.isra.0",
        // On the kprobe blacklist.
        "kprobe:atomic_notifier_call_chain",
        // Two symbols of one name.
        "kprobe:__list_add",
        "rawtracepoint:sched_switch",
        "rawtracepoint:fakemod:fakemod_xfer",
        "struct:task_struct",
        // CPUHP_INVALID = -1.
        "enum:cpuhp_state",
        "union:bpf_raw_tp_map_sched_switch",
        // In kallsyms and available_filter_functions, not in BTF.
        "kprobe:arch_cpu_idle_dead",
    ];
    let text_only = [
        "kprobe:kallsyms_lookup.constprop.0",
        "kretprobe:vfs_read",
        "fentry:fakemod:fakemod_read",
        "kprobe:fakemod:fakemod_open",
        // BTF has it, ftrace does not list it (only its .isra clone).
        "fentry:ftrace_syscall_enter",
        "fentry:do_sys_open",
        "fexit:do_mmap",
        "fentry:__list_add",
        "enum:task_work_flags64",
        "struct:file",
        "struct:fakemod_dev",
    ];
    let json_only = [
        // notrace: not in available_filter_functions.
        "fentry:sched_clock",
        "fentry:_printk",
        "kretprobe:vfs_read",
        "fexit:fakemod:fakemod_read",
        "enum:task_work_flags64",
        "struct:fakemod_dev",
    ];
    for probe in both.iter().chain(&text_only) {
        cases.push(case(
            &format!("show.{}", stem(probe)),
            "txt",
            &["show", probe],
            0,
        ));
    }
    for probe in both.iter().chain(&json_only) {
        cases.push(case(
            &format!("show-json.{}", stem(probe)),
            "jsonl",
            &["--json", "show", probe],
            0,
        ));
    }
    cases
}

#[test]
fn golden_mini_kernel() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let mut failures = Vec::new();
    for case in golden_cases() {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let paths = [case.stdout_path(), case.stderr_path()];
        let run = mini.run(&args);
        check_golden_run(
            &case.name,
            &run,
            case.code,
            [&paths[0], &paths[1]],
            &mut failures,
        );
    }
    assert_golden(&failures, "kernel");
}

/// Every file in fixtures/golden/kernel-mini belongs to a case.
#[test]
fn no_stale_kernel_mini_golden_files() {
    let expected: BTreeSet<PathBuf> = golden_cases()
        .iter()
        .flat_map(|c| [c.stdout_path(), c.stderr_path()])
        .collect();
    let Ok(files) = fs::read_dir(golden_dir()) else {
        return;
    };
    let stale: Vec<PathBuf> = files
        .map(|f| f.unwrap().path())
        .filter(|f| !expected.contains(f))
        .collect();
    if updating() {
        stale.iter().for_each(|f| fs::remove_file(f).unwrap());
        return;
    }
    assert!(
        stale.is_empty(),
        "golden files no case produces: {stale:#?}"
    );
}

// ---------------------------------------------------------------------------
// What the fixture says, checked without golden files

/// `[ID] FUNC 'name'` names of a bpftool raw dump.
fn raw_func_names(raw: &str) -> BTreeSet<String> {
    raw.lines()
        .filter_map(|l| l.split_once("] FUNC '"))
        .map(|(_, rest)| rest.split('\'').next().unwrap().to_string())
        .collect()
}

/// The mini kernel's BTF FUNCs as `[module:]name`, from the dumps that
/// tests/btf_fixtures.rs holds the build to.
fn fixture_btf_functions() -> BTreeSet<String> {
    let expected = repo_dir().join("fixtures/btf/expected");
    let vmlinux = fs::read_to_string(expected.join("vmlinux.raw.txt")).unwrap();
    let fakemod = fs::read_to_string(expected.join("fakemod.raw.txt")).unwrap();
    let mut all = raw_func_names(&vmlinux);
    all.extend(
        raw_func_names(&fakemod)
            .into_iter()
            .map(|n| format!("fakemod:{n}")),
    );
    all
}

/// `available_filter_functions` of the fixture as `[module:]name`.
fn fixture_ftrace_functions() -> BTreeSet<String> {
    let path = repo_dir()
        .join(ROOT)
        .join("sys/kernel/tracing/available_filter_functions");
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.split_once(" [") {
            Some((name, module)) => format!("{}:{name}", module.trim_end_matches(']')),
            None => l.to_string(),
        })
        .collect()
}

/// Listings are sorted byte by byte by the part after the kind, each name
/// once, and hold functions only: no `.cold` part, no `__pfx_` padding, no
/// pseudo-module (`[bpf]`, `[__builtin__*]`) symbol.
fn check_listing(kind: &str, stdout: &str) {
    let names: Vec<&str> = probe_lines(stdout)
        .iter()
        .map(|l| {
            l.strip_prefix(kind)
                .and_then(|r| r.strip_prefix(':'))
                .unwrap_or_else(|| panic!("{l:?} is not a {kind} point"))
        })
        .collect();
    assert!(!names.is_empty(), "no {kind} points");
    for pair in names.windows(2) {
        assert!(
            pair[0].as_bytes() < pair[1].as_bytes(),
            "{kind}: {:?} listed before {:?}",
            pair[0],
            pair[1]
        );
    }
    for name in &names {
        let function = name.rsplit(':').next().unwrap();
        assert!(!function.contains(".cold"), "{kind}:{name}: a .cold part");
        assert!(!function.starts_with("__pfx_"), "{kind}:{name}: padding");
        assert!(
            !name.starts_with("bpf:") && !name.starts_with("__builtin__"),
            "{kind}:{name}: a pseudo-module"
        );
    }
}

#[test]
fn listings_are_sorted_functions_only_and_module_qualified() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let btf = fixture_btf_functions();
    let ftrace = fixture_ftrace_functions();
    for kind in ["fentry", "fexit", "kprobe", "kretprobe", "rawtracepoint"] {
        for verbose in [false, true] {
            let pattern = format!("{kind}:*");
            let args: Vec<&str> = if verbose {
                vec!["list", "-v", &pattern]
            } else {
                vec!["list", &pattern]
            };
            let run = mini.run(&args);
            assert_eq!(run.code, 0, "{}", run.describe());
            assert_eq!(run.stderr, "", "{}", run.describe());
            check_listing(kind, &run.stdout);
        }
    }

    // fentry/fexit: exactly the BTF functions ftrace can patch, in the
    // byte order a BTreeSet keeps.
    let want: Vec<String> = btf.intersection(&ftrace).cloned().collect();
    for kind in ["fentry", "fexit"] {
        let run = mini.run(&["list", &format!("{kind}:*")]);
        let got: Vec<String> = probe_lines(&run.stdout)
            .iter()
            .map(|l| l[kind.len() + 1..].to_string())
            .collect();
        assert_eq!(got, want, "{kind}: BTF ∩ available_filter_functions");
    }
    // Left out because ftrace does not list them.
    let fentry = mini.run(&["list", "fentry:*"]).stdout;
    for absent in ["sched_clock", "do_syscall_64", "ftrace_syscall_enter"] {
        assert!(
            !fentry.lines().any(|l| l == format!("fentry:{absent}")),
            "fentry:{absent} is not in available_filter_functions"
        );
    }

    // kprobes: at least every function ftrace lists.
    let kprobes = mini.run(&["list", "kprobe:*"]).stdout;
    let listed: BTreeSet<&str> = kprobes
        .lines()
        .map(|l| l.strip_prefix("kprobe:").unwrap())
        .collect();
    for f in &ftrace {
        assert!(listed.contains(f.as_str()), "kprobe:{f} is not listed");
    }

    // fakemod's functions carry their module; vmlinux's do not.
    let fakemod_funcs: Vec<&str> = btf
        .iter()
        .filter_map(|f| f.strip_prefix("fakemod:"))
        .collect();
    assert_eq!(fakemod_funcs.len(), 5, "{fakemod_funcs:?}");
    for kind in ["fentry", "kprobe"] {
        let out = mini.run(&["list", &format!("{kind}:*")]).stdout;
        for f in &fakemod_funcs {
            assert!(
                out.lines().any(|l| l == format!("{kind}:fakemod:{f}")),
                "{kind}:fakemod:{f} missing"
            );
            assert!(
                !out.lines().any(|l| l == format!("{kind}:{f}")),
                "{kind}:{f} listed without its module"
            );
        }
    }
    // fakemod sorts among the f's: after do_*, before find_task_by_vpid.
    let lines: Vec<&str> = fentry.lines().collect();
    let at = |name: &str| lines.iter().position(|l| *l == name).unwrap();
    assert!(at("fentry:do_sys_open") < at("fentry:fakemod:__bpf_trace_fakemod_xfer"));
    assert!(
        at("fentry:fakemod:trace_event_raw_event_fakemod_xfer") < at("fentry:find_task_by_vpid")
    );
}

/// Traceability as the fixture's lists decide it: fentry needs ftrace's
/// list; kprobes need only a text symbol off the blacklist.
#[test]
fn traceability_follows_the_kernel_lists() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let cases: &[(&str, Option<bool>)] = &[
        ("fentry:vfs_read", Some(true)),
        ("fexit:vfs_read", Some(true)),
        ("kprobe:vfs_read", Some(true)),
        ("kretprobe:vfs_read", Some(true)),
        // notrace: fentry cannot, kprobes could (see the ignored test).
        ("fentry:sched_clock", Some(false)),
        ("fexit:sched_clock", Some(false)),
        // noinstr: neither.
        ("fentry:do_syscall_64", Some(false)),
        // Only its .isra clone is a symbol.
        ("fentry:ftrace_syscall_enter", Some(false)),
        ("kprobe:ftrace_syscall_enter.isra.0", Some(true)),
        // NOKPROBE_SYMBOL: ftrace can, kprobes cannot.
        ("fentry:atomic_notifier_call_chain", Some(true)),
        ("kprobe:atomic_notifier_call_chain", Some(false)),
        ("kretprobe:atomic_notifier_call_chain", Some(false)),
        ("fentry:fakemod:fakemod_open", Some(true)),
        ("kprobe:fakemod:fakemod_open", Some(false)),
        ("kprobe:fakemod:fakemod_read", Some(true)),
        ("kprobe:arch_cpu_idle_dead", Some(true)),
        ("rawtracepoint:sched_switch", Some(true)),
        ("rawtracepoint:fakemod:fakemod_xfer", Some(true)),
    ];
    for (probe, want) in cases {
        let detail = mini.show_json(probe);
        assert_eq!(
            detail["traceable"].as_bool(),
            *want,
            "{probe}: {}",
            detail["traceability"]
        );
        assert_eq!(detail["probe"], *probe);
    }
    // Not functions: nothing to show.
    for probe in [
        "kprobe:vfs_write.cold",
        "kprobe:fakemod:fakemod_read.cold",
        "kprobe:__pfx_vfs_read",
        "kprobe:ftrace_trampoline",
        "kprobe:__builtin__ftrace:ftrace_trampoline",
        "kprobe:bpf:bpf_prog_6deef7357e7b4530_sd_fw_egress",
        "fentry:__pfx_vfs_read",
    ] {
        let run = mini.run(&["show", probe]);
        assert_eq!(run.code, 1, "{}", run.describe());
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
    }
}

/// Signatures against vmlinux.c / fakemod.c, argument by argument.
#[test]
fn signatures_match_the_c_sources() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    type Arg<'a> = (&'a str, &'a str, u64);
    let cases: &[(&str, &str, &[Arg<'_>], bool)] = &[
        (
            "fentry:vfs_read",
            "ssize_t",
            &[
                ("file", "struct file *", 8),
                ("buf", "char *", 8),
                ("count", "size_t", 8),
                ("pos", "loff_t *", 8),
            ],
            false,
        ),
        (
            "fentry:do_sys_open",
            "long int",
            &[
                ("dfd", "int", 4),
                ("filename", "const char *", 8),
                ("flags", "int", 4),
                ("mode", "umode_t", 2),
            ],
            false,
        ),
        ("fentry:schedule", "void", &[], false),
        ("fentry:ktime_get", "ktime_t", &[], false),
        ("fentry:_printk", "int", &[("fmt", "const char *", 8)], true),
        (
            "fentry:kallsyms_lookup",
            "const char *",
            &[
                ("addr", "long unsigned int", 8),
                ("symbolsize", "long unsigned int *", 8),
                ("offset", "long unsigned int *", 8),
                ("modname", "char **", 8),
                ("namebuf", "char *", 8),
            ],
            false,
        ),
        (
            "fentry:call_rcu",
            "void",
            &[
                ("head", "struct callback_head *", 8),
                ("func", "rcu_callback_t", 8),
            ],
            false,
        ),
        (
            "fentry:__x64_sys_openat",
            "long int",
            &[("regs", "const struct pt_regs *", 8)],
            false,
        ),
        (
            "fentry:find_task_by_vpid",
            "struct task_struct *",
            &[("nr", "pid_t", 4)],
            false,
        ),
        (
            "fentry:fakemod:fakemod_open",
            "int",
            &[
                ("dev", "struct fakemod_dev *", 8),
                ("task", "struct task_struct *", 8),
            ],
            false,
        ),
        // A raw tracepoint: the __probestub's names, without `void *__data`.
        (
            "rawtracepoint:sched_switch",
            "void",
            &[
                ("preempt", "bool", 1),
                ("prev", "struct task_struct *", 8),
                ("next", "struct task_struct *", 8),
                ("prev_state", "unsigned int", 4),
            ],
            false,
        ),
        (
            "rawtracepoint:sys_enter",
            "void",
            &[("regs", "struct pt_regs *", 8), ("id", "long int", 8)],
            false,
        ),
        (
            "rawtracepoint:fakemod:fakemod_xfer",
            "void",
            &[
                ("dev", "struct fakemod_dev *", 8),
                ("count", "size_t", 8),
                ("ret", "int", 4),
            ],
            false,
        ),
    ];
    for (probe, ret, args, varargs) in cases {
        let d = mini.show_json(probe);
        assert_eq!(d["return_type"], *ret, "{probe}");
        assert_eq!(d["varargs"], *varargs, "{probe}");
        let got: Vec<(String, String, u64)> = d["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["type"].as_str().unwrap().to_string(),
                    a["size"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, String, u64)> = args
            .iter()
            .map(|(n, t, s)| (n.to_string(), t.to_string(), *s))
            .collect();
        assert_eq!(got, want, "{probe}");
    }
    // do_mmap: nine arguments, more than fit in registers.
    assert_eq!(arg_names(&mini.show_json("fentry:do_mmap")).len(), 9);
    // The raw tracepoint's BTF id is the __probestub's FUNC_PROTO (154 in
    // fixtures/btf/expected/vmlinux.raw.txt).
    let raw = fs::read_to_string(repo_dir().join("fixtures/btf/expected/vmlinux.raw.txt")).unwrap();
    let stub = raw
        .lines()
        .find(|l| l.contains("FUNC '__probestub_sched_switch'"))
        .unwrap();
    let proto: u64 = stub
        .split("type_id=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        mini.show_json("rawtracepoint:sched_switch")["btf_id"],
        proto
    );
}

#[test]
fn kernel_types_match_the_c_sources() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let cpuhp = mini.show_json("enum:cpuhp_state");
    assert_eq!(cpuhp["kind"], "enum");
    let values: Vec<(String, i64)> = cpuhp["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().into(),
                v["value"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("CPUHP_INVALID".into(), -1),
            ("CPUHP_OFFLINE".into(), 0),
            ("CPUHP_CREATE_THREADS".into(), 1),
            ("CPUHP_ONLINE".into(), 238)
        ]
    );
    let twf = mini.show_json("enum:task_work_flags64");
    assert_eq!(twf["kind"], "enum64");
    assert_eq!(twf["size"], 8);
    assert_eq!(twf["values"][2]["value"].as_u64(), Some(1 << 40));

    let task = mini.show_json("struct:task_struct");
    assert_eq!(task["size"], 264);
    let member = |name: &str| -> Value {
        task["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no member {name}"))
            .clone()
    };
    assert_eq!(member("prio_bits")["bitfield_size"], 5);
    assert_eq!(member("prio_bits")["bit_offset"], 163);
    assert_eq!(member("comm")["type"], "char[16]");
    assert_eq!(member("comm")["offset"], 112);
    assert_eq!(member("vtime")["size"], 48);
    assert_eq!(member("cpuhp")["type"], "enum cpuhp_state");
    // The module's struct, through vmlinux's types.
    let dev = mini.show_json("struct:fakemod_dev");
    assert_eq!(dev["module"], "fakemod");
    assert_eq!(dev["size"], 80);
    let qualified = mini.show_json("struct:fakemod:fakemod_dev");
    assert_eq!(qualified["probe"], "struct:fakemod:fakemod_dev");
    assert_eq!(qualified["members"], dev["members"]);
    let union = mini.show_json("union:bpf_raw_tp_map_sched_switch");
    assert_eq!(union["kind"], "union");
    assert!(union["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["offset"] == 0));
}

// ---------------------------------------------------------------------------
// Broken and partial systems

#[test]
fn unknown_type_exits_1_with_a_suggestion() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let run = mini.run(&["show", "struct:no_such_type"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(
        run.stderr,
        "probedex: struct:no_such_type: no such type in the kernel's BTF\n"
    );
    let run = mini.run(&["show", "struct:task_strct"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("did you mean struct:task_struct?"),
        "{}",
        run.describe()
    );
    let run = mini.run(&["show", "union:file"]);
    assert_eq!(
        run.code,
        1,
        "struct file is not a union: {}",
        run.describe()
    );
}

#[test]
fn no_btf_is_refused_naming_config_debug_info_btf() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("no-btf", |dir| remove(&dir.join("sys/kernel/btf")));
    for args in [
        &["list", "fentry:*"][..],
        &["list", "-v", "fexit:*"],
        &["list", "rawtracepoint:*"],
        &["show", "fentry:vfs_read"],
        &["show", "struct:task_struct"],
    ] {
        let run = mini.run_root(&root, args);
        assert_eq!(run.code, 3, "{}", run.describe());
        assert_eq!(run.stdout, "", "{}", run.describe());
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
        assert!(
            run.stderr.starts_with("probedex: ") && run.stderr.contains("CONFIG_DEBUG_INFO_BTF"),
            "{}",
            run.describe()
        );
    }
    // kprobes do not need BTF: listed, without signatures.
    let run = mini.run_root(&root, &["list", "vfs_read"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stdout, "kprobe:vfs_read\nkretprobe:vfs_read\n");
    let run = mini.run_root(&root, &["list", "-v", "kprobe:vfs_read"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "kprobe:vfs_read\n"));
}

#[test]
fn no_function_list_is_one_clear_error() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("no-functions", |dir| {
        remove(&dir.join("proc/kallsyms"));
        remove(&dir.join("sys/kernel/tracing/available_filter_functions"));
    });
    for pattern in ["kprobe:*", "kretprobe:*", "kprobe:vfs_read"] {
        let run = mini.run_root(&root, &["list", pattern]);
        assert!(matches!(run.code, 2 | 3), "{}", run.describe());
        assert_eq!(run.stdout, "", "{}", run.describe());
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
        assert!(
            run.stderr.starts_with("probedex: ") && run.stderr.contains("kallsyms"),
            "{}",
            run.describe()
        );
    }
    // fentry needs BTF, not the function list: listed, traceability unknown.
    let run = mini.run_root(&root, &["--json", "list", "-v", "fentry:vfs_read"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(json_lines(&run)[0]["traceable"], Value::Null);
}

#[test]
fn corrupt_vmlinux_btf_is_bad_input_not_a_panic() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let vmlinux = mini.root().join("sys/kernel/btf/vmlinux");
    let bytes = fs::read(&vmlinux).unwrap();
    // Cut short at several places, and with the type section's bytes scrambled.
    let mut variants: Vec<(String, Vec<u8>)> =
        [0usize, 4, 23, 24, 100, bytes.len() / 2, bytes.len() - 1]
            .iter()
            .map(|&n| (format!("cut-{n}"), bytes[..n].to_vec()))
            .collect();
    let mut scrambled = bytes.clone();
    for (i, b) in scrambled.iter_mut().enumerate().skip(24).step_by(7) {
        *b ^= (i % 251) as u8 | 1;
    }
    variants.push(("scrambled".into(), scrambled));
    for (name, content) in &variants {
        let root = mini.variant(&format!("bad-btf-{name}"), |dir| {
            fs::write(dir.join("sys/kernel/btf/vmlinux"), content).unwrap();
        });
        for args in [
            &["list", "fentry:*"][..],
            &["list", "-v", "rawtracepoint:*"],
            &["show", "struct:task_struct"],
            &["--json", "show", "fexit:vfs_read"],
        ] {
            // common::run asserts there was no panic.
            let run = mini.run_root(&root, args);
            if name == "scrambled" && run.code != 2 {
                // Scrambled bytes may still parse (into nonsense that
                // matches nothing); they must not crash.
                assert!(matches!(run.code, 0 | 1), "{}", run.describe());
                continue;
            }
            assert_eq!(run.code, 2, "{name}: {}", run.describe());
            assert_eq!(run.stderr_lines().len(), 1, "{name}: {}", run.describe());
            assert!(
                run.stderr.starts_with("probedex: ")
                    && run.stderr.contains("sys/kernel/btf/vmlinux"),
                "{name}: {}",
                run.describe()
            );
        }
    }
    // The 100-byte cut says what is wrong with the file.
    let root = "fixtures/bad-btf-cut-100";
    let run = mini.run_root(root, &["list", "fentry:*"]);
    assert_eq!(
        run.stderr,
        "probedex: fixtures/bad-btf-cut-100/sys/kernel/btf/vmlinux: not a valid BTF: type \
         section (0+4180) runs past the end of the data (100 bytes)\n"
    );
    // kprobe names need no BTF.
    let run = mini.run_root(root, &["list", "kprobe:vfs_*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stdout, "kprobe:vfs_read\nkprobe:vfs_write\n");
}

#[test]
fn corrupt_module_btf_is_a_warning() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let full = mini.run(&["list", "fentry:*"]);
    let root = mini.variant("bad-module-btf", |dir| {
        truncate(&dir.join("sys/kernel/btf/fakemod"), 100);
    });
    let run = mini.run_root(&root, &["list", "fentry:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        run.stderr_lines(),
        [
            "probedex: warning: fixtures/bad-module-btf/sys/kernel/btf/fakemod: not a valid split \
          BTF: type section (0+476) runs past the end of the data (100 bytes)"
        ],
        "{}",
        run.describe()
    );
    let without_module: String = full
        .stdout
        .lines()
        .filter(|l| !l.starts_with("fentry:fakemod:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(run.stdout, without_module);
    let run = mini.run_root(&root, &["list", "-v", "rawtracepoint:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        probe_lines(&run.stdout),
        ["rawtracepoint:sched_switch", "rawtracepoint:sys_enter"]
    );
    assert_eq!(run.stderr_lines().len(), 1);
    // vmlinux's types still show; the module's kprobes still list.
    let run = mini.run_root(&root, &["show", "struct:file"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let run = mini.run_root(&root, &["list", "kprobe:fakemod:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(run.stdout.contains("kprobe:fakemod:fakemod_read\n"));
}

/// As on this machine: `available_filter_functions` unreadable, so kprobes
/// come from kallsyms and fentry's traceability is unknown.
#[test]
fn without_ftrace_list_kallsyms_is_the_list_and_fentry_is_unknown() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("no-ftrace-list", |dir| {
        remove(&dir.join("sys/kernel/tracing/available_filter_functions"));
    });
    let run = mini.run_root(&root, &["list", "kprobe:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
    assert!(run.stderr.contains("notrace functions are not told apart"));
    check_listing("kprobe", &run.stdout);
    for f in [
        "sched_clock",
        "do_syscall_64",
        "ftrace_syscall_enter.isra.0",
        "fakemod:cleanup_module",
    ] {
        assert!(run.stdout.contains(&format!("kprobe:{f}\n")), "kprobe:{f}");
    }
    // Every BTF function is a fentry point, traceability unknown.
    let run = mini.run_root(&root, &["--json", "list", "-v", "fentry:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
    assert!(run
        .stderr
        .contains("whether each fentry/fexit function can attach is unknown"));
    let details = json_lines(&run);
    assert_eq!(details.len(), fixture_btf_functions().len());
    // Unknown, except what the kernel's function model refuses whatever
    // ftrace says (varargs, structs returned or passed over 16 bytes).
    for d in &details {
        let refused = d["traceability"]
            .as_str()
            .unwrap()
            .contains("btf_distill_func_proto");
        if refused {
            assert_eq!(d["traceable"], false, "{d}");
        } else {
            assert!(d["traceable"].is_null(), "{d}");
        }
    }
    assert!(details
        .iter()
        .any(|d| d["name"] == "_printk" && d["traceable"] == false));
    // kprobes: the blacklist still decides.
    let detail = |probe: &str| {
        let run = mini.run_root(&root, &["--json", "show", probe]);
        assert_eq!(run.code, 0, "{}", run.describe());
        serde_json::from_str::<Value>(run.stdout.trim_end()).unwrap()
    };
    assert_eq!(detail("kprobe:sched_clock")["traceable"], true);
    assert_eq!(detail("kprobe:do_syscall_64")["traceable"], false);
    assert_eq!(detail("kprobe:entry_SYSCALL_64")["traceable"], false);
}

/// As on this machine: no kprobe_events, no kprobe PMU.
#[test]
fn without_config_kprobes_kprobes_are_listed_with_one_warning() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("no-kprobes", |dir| {
        remove(&dir.join("sys/kernel/tracing/kprobe_events"));
        remove(&dir.join("sys/bus/event_source/devices/kprobe"));
    });
    for pattern in ["kprobe:*", "kretprobe:*"] {
        let run = mini.run_root(&root, &["list", pattern]);
        assert_eq!(run.code, 0, "{}", run.describe());
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
        assert!(run.stderr.contains("CONFIG_KPROBES"), "{}", run.describe());
    }
    let run = mini.run_root(&root, &["--json", "show", "kprobe:vfs_read"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let detail: Value = serde_json::from_str(run.stdout.trim_end()).unwrap();
    assert_eq!(detail["traceable"], false);
    assert!(detail["traceability"]
        .as_str()
        .unwrap()
        .contains("CONFIG_KPROBES"));
    // fentry is unaffected.
    let run = mini.run_root(&root, &["list", "fentry:vfs_read"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
}

// ---------------------------------------------------------------------------
// Known bugs: the behaviour these tests state is what should happen.

/// kprobes need only a text address off the blacklist (the rule
/// src/discover/kernel_functions.rs states): a notrace function is a kprobe
/// point even when ftrace's list is readable, and a blacklisted one is shown
/// as not traceable rather than not found.
#[test]
fn kprobe_on_a_notrace_function() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let detail = mini.show_json("kprobe:sched_clock");
    assert_eq!(detail["traceable"], true, "{detail}");
    let detail = mini.show_json("kprobe:do_syscall_64");
    assert_eq!(detail["traceable"], false, "{detail}");
}

/// `_stext`, `_text`, `_etext`, `__entry_text_start` ... are 'T' symbols
/// but section markers, not functions.
#[test]
fn kallsyms_fallback_lists_no_section_markers() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("markers", |dir| {
        remove(&dir.join("sys/kernel/tracing/available_filter_functions"));
    });
    let run = mini.run_root(&root, &["list", "kprobe:*"]);
    for marker in [
        "_stext",
        "_text",
        "_etext",
        "__entry_text_start",
        "__entry_text_end",
        "__noinstr_text_start",
        "__noinstr_text_end",
    ] {
        assert!(
            !run.stdout.contains(&format!("kprobe:{marker}\n")),
            "kprobe:{marker} listed"
        );
    }
}

/// A bare word searches every kernel kind; BTF that fails to parse must not
/// hide the kprobes (the rule of src/commands/sources.rs for a failed
/// source: print what the other kinds found, then fail).
#[test]
fn corrupt_btf_still_lists_kprobes_for_a_bare_word() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("bad-btf-bare", |dir| {
        truncate(&dir.join("sys/kernel/btf/vmlinux"), 100);
    });
    let run = mini.run_root(&root, &["list", "vfs_read"]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert_eq!(run.stdout, "kprobe:vfs_read\nkretprobe:vfs_read\n");
    let run = mini.run_root(&root, &["list", "-v", "kprobe:vfs_read"]);
    assert_eq!(run.stdout, "kprobe:vfs_read\n", "{}", run.describe());
}

/// `list -v --json` and `show --json` print the same object for a point.
/// Without kallsyms (list reads it only for kprobes) the function index is
/// not built, and list says "available_filter_functions was not read" where
/// show says why it could not be read.
#[test]
fn traceability_reason_is_the_same_in_list_and_show() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let root = mini.variant("reason", |dir| {
        remove(&dir.join("sys/kernel/tracing/available_filter_functions"));
    });
    let listed = mini.run_root(&root, &["--json", "list", "-v", "fentry:vfs_read"]);
    let shown = mini.run_root(&root, &["--json", "show", "fentry:vfs_read"]);
    assert_eq!(listed.stdout, shown.stdout);
    assert!(
        listed.stdout.contains("no such file or directory"),
        "{}",
        listed.describe()
    );
}

#[test]
fn kretprobe_of_a_void_function_has_no_ret() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let run = mini.run(&["show", "kretprobe:schedule"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(
        run.stdout
            .contains("SEC(\"kretprobe/schedule\") int BPF_KRETPROBE(handler)\n"),
        "{}",
        run.describe()
    );
}

#[test]
fn function_pointer_parameters_are_c() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let run = mini.run(&["show", "fentry:kthread_create_on_node"]);
    assert!(
        run.stdout.contains("int (*threadfn)(void *)") && !run.stdout.contains("(void *) threadfn"),
        "{}",
        run.describe()
    );
}

#[test]
fn kprobe_typos_get_a_suggestion() {
    let Some(mini) = MiniKernel::build() else {
        return;
    };
    let run = mini.run(&["show", "kprobe:vfs_reed"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("did you mean kprobe:vfs_read"),
        "{}",
        run.describe()
    );
    let run = mini.run(&["list", "kprobe:cleanup_module"]);
    assert!(
        run.stderr.contains("kprobe:fakemod:cleanup_module"),
        "{}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------
// Live: this kernel against bpftool

/// One type of a `bpftool btf dump ... format raw`.
#[derive(Debug)]
struct RawType {
    kind: String,
    name: String,
    /// The rest of the header line: `type_id=5 linkage=static`.
    attrs: String,
    /// The indented lines after it: members, parameters, enumerators.
    lines: Vec<String>,
}

impl RawType {
    fn attr(&self, key: &str) -> Option<u32> {
        self.attrs
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    }
}

/// A parsed bpftool raw dump: type id → type.
struct RawBtf {
    types: HashMap<u32, RawType>,
}

impl RawBtf {
    fn dump(file: &Path, base: Option<&Path>) -> RawBtf {
        let mut command = Command::new("bpftool");
        if let Some(base) = base {
            command.arg("-B").arg(base);
        }
        let out = command
            .args(["btf", "dump", "file"])
            .arg(file)
            .args(["format", "raw"])
            .output()
            .expect("run bpftool");
        assert!(
            out.status.success(),
            "bpftool btf dump file {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        RawBtf::parse(&String::from_utf8(out.stdout).unwrap())
    }

    fn parse(text: &str) -> RawBtf {
        let mut types = HashMap::new();
        let mut current: Option<u32> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix('[') {
                let (id, rest) = rest.split_once("] ").unwrap();
                let (kind, rest) = rest.split_once(" '").unwrap();
                let (name, attrs) = rest.split_once('\'').unwrap();
                let id: u32 = id.parse().unwrap();
                types.insert(
                    id,
                    RawType {
                        kind: kind.to_string(),
                        name: name.to_string(),
                        attrs: attrs.trim().to_string(),
                        lines: Vec::new(),
                    },
                );
                current = Some(id);
            } else if let (Some(id), true) = (current, line.starts_with('\t')) {
                types
                    .get_mut(&id)
                    .unwrap()
                    .lines
                    .push(line.trim().to_string());
            }
        }
        RawBtf { types }
    }

    fn named<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (u32, &'a RawType)> + 'a {
        self.types
            .iter()
            .filter(move |(_, t)| t.kind == kind)
            .map(|(id, t)| (*id, t))
    }

    /// A FUNC_PROTO's `(name, type id)` parameters.
    fn params(&self, proto: u32) -> Vec<(String, u32)> {
        self.types[&proto]
            .lines
            .iter()
            .map(|l| {
                let (name, rest) = l.trim_start_matches('\'').split_once('\'').unwrap();
                let id = rest
                    .trim()
                    .strip_prefix("type_id=")
                    .unwrap()
                    .parse()
                    .unwrap();
                (name.to_string(), id)
            })
            .collect()
    }

    /// The C name of a type as probedex writes it, for the shapes that
    /// have one simple spelling (no arrays, no function pointers, no
    /// type tags); None otherwise.
    fn c_name(&self, id: u32) -> Option<String> {
        if id == 0 {
            return Some("void".into());
        }
        let t = &self.types[&id];
        let target = || t.attr("type_id").unwrap();
        let target_kind = |id: u32| self.types.get(&id).map(|t| t.kind.as_str());
        Some(match t.kind.as_str() {
            "INT" | "FLOAT" | "TYPEDEF" => t.name.clone(),
            "STRUCT" | "UNION" if t.name == "(anon)" => return None,
            "STRUCT" => format!("struct {}", t.name),
            "UNION" => format!("union {}", t.name),
            "ENUM" | "ENUM64" => format!("enum {}", t.name),
            "FWD" if t.attrs.contains("fwd_kind=union") => format!("union {}", t.name),
            "FWD" => format!("struct {}", t.name),
            "PTR" => {
                if matches!(target_kind(target()), Some("FUNC_PROTO" | "ARRAY")) {
                    return None;
                }
                let inner = self.c_name(target())?;
                if inner.ends_with('*') {
                    format!("{inner}*")
                } else {
                    format!("{inner} *")
                }
            }
            "CONST" | "VOLATILE" | "RESTRICT" => {
                let qualifier = t.kind.to_lowercase();
                let inner = self.c_name(target())?;
                if target_kind(target()) == Some("PTR") || t.kind == "RESTRICT" {
                    format!("{inner}{qualifier}")
                } else {
                    format!("{qualifier} {inner}")
                }
            }
            _ => return None,
        })
    }

    /// The innermost named type: what a complex type is built from.
    fn base_name(&self, mut id: u32) -> String {
        for _ in 0..32 {
            let Some(t) = self.types.get(&id) else {
                return "void".into();
            };
            if t.name != "(anon)" {
                return t.name.clone();
            }
            match t.attr("type_id") {
                Some(next) => id = next,
                None => return t.name.clone(),
            }
        }
        panic!("type chain too long at {id}")
    }
}

fn live_btf(what: &str) -> Option<RawBtf> {
    live_system_available(what)?;
    if !Path::new("/sys/kernel/btf/vmlinux").is_file() {
        assert!(
            !is_ci(),
            "CI=true but this kernel has no /sys/kernel/btf/vmlinux"
        );
        skip("this kernel has no BTF");
        return None;
    }
    if !have_tools(&["bpftool"], what) {
        return None;
    }
    Some(RawBtf::dump(Path::new("/sys/kernel/btf/vmlinux"), None))
}

/// Module BTF files of the live kernel, dumped over vmlinux.
fn live_module_btf() -> Vec<(String, RawBtf)> {
    let mut modules = Vec::new();
    for entry in fs::read_dir("/sys/kernel/btf").unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "vmlinux" {
            let dump = RawBtf::dump(&entry.path(), Some(Path::new("/sys/kernel/btf/vmlinux")));
            modules.push((name, dump));
        }
    }
    modules
}

/// Functions across subsystems: VFS, open, net (TCP, UDP, IP, sockets),
/// syscalls, slab, scheduler, timers, process creation, block, mm,
/// security, locking.
const LIVE_FUNCTIONS: [&str; 20] = [
    "vfs_read",
    "vfs_write",
    "do_sys_openat2",
    "do_filp_open",
    "tcp_v4_connect",
    "tcp_sendmsg",
    "udp_sendmsg",
    "ip_rcv",
    "inet_bind",
    "__sys_connect",
    "__x64_sys_write",
    "kmem_cache_alloc_noprof",
    "kfree",
    "wake_up_process",
    "schedule_timeout",
    "copy_process",
    "blk_mq_submit_bio",
    "handle_mm_fault",
    "security_file_open",
    "mutex_lock",
];

#[test]
fn live_fentry_signatures_match_bpftool() {
    let Some(btf) = live_btf("compare fentry signatures with bpftool") else {
        return;
    };
    // name → (FUNC id, FUNC_PROTO id)
    let funcs: HashMap<&str, (u32, u32)> = btf
        .named("FUNC")
        .map(|(id, t)| (t.name.as_str(), (id, t.attr("type_id").unwrap())))
        .collect();
    let present: Vec<&str> = LIVE_FUNCTIONS
        .iter()
        .copied()
        .filter(|f| funcs.contains_key(f))
        .collect();
    assert!(
        present.len() >= 15,
        "only {present:?} of the chosen functions are in this kernel's BTF"
    );
    let mut compared_types = 0;
    for function in present {
        let (func_id, proto) = funcs[function];
        assert_eq!(btf.types[&proto].kind, "FUNC_PROTO", "{function}");
        let mut params = btf.params(proto);
        let varargs = params.last().is_some_and(|(_, id)| *id == 0);
        if varargs {
            params.pop();
        }
        for kind in ["fentry", "fexit"] {
            let probe = format!("{kind}:{function}");
            let run = probedex(["--json", "show", &probe]);
            assert_eq!(run.code, 0, "{}", run.describe());
            let detail: Value = serde_json::from_str(run.stdout.trim_end()).unwrap();
            let what = format!("{probe} (bpftool: {params:?})");
            assert_eq!(detail["btf_id"], func_id, "{what}");
            assert_eq!(detail["varargs"], varargs, "{what}");
            let args = detail["args"].as_array().unwrap();
            let names: Vec<&str> = args.iter().map(|a| a["name"].as_str().unwrap()).collect();
            let want: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, want, "{what}");
            for ((name, id), arg) in params.iter().zip(args) {
                let got = arg["type"].as_str().unwrap();
                match btf.c_name(*id) {
                    Some(c) => {
                        assert_eq!(got, c, "{probe}: argument {name}");
                        compared_types += 1;
                    }
                    None => assert!(
                        got.contains(&btf.base_name(*id)),
                        "{probe}: argument {name}: {got:?} is not built from {}",
                        btf.base_name(*id)
                    ),
                }
                if got.ends_with('*') {
                    assert_eq!(arg["size"], 8, "{probe}: {name}");
                }
            }
            let ret = btf.types[&proto].attr("ret_type_id").unwrap();
            if let Some(c) = btf.c_name(ret) {
                assert_eq!(detail["return_type"], c, "{probe}: return type");
            }
        }
    }
    assert!(compared_types > 40, "only {compared_types} types compared");
}

/// (c) and every function's argument names: `list -v 'fentry:*'` against
/// every FUNC of vmlinux's and the modules' BTF.
#[test]
fn live_fentry_listing_is_every_btf_function() {
    let Some(vmlinux) = live_btf("compare the fentry listing with bpftool") else {
        return;
    };
    let modules = live_module_btf();
    // [module:]name → parameter names (varargs as "...").
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (module, btf) in
        std::iter::once((None, &vmlinux)).chain(modules.iter().map(|(m, b)| (Some(m), b)))
    {
        let mut funcs: Vec<(u32, &RawType)> = btf.named("FUNC").collect();
        funcs.sort_by_key(|(id, _)| *id);
        for (_, t) in funcs {
            let key = match module {
                Some(m) => format!("{m}:{}", t.name),
                None => t.name.clone(),
            };
            let names = btf
                .params(t.attr("type_id").unwrap())
                .into_iter()
                .map(|(n, id)| if id == 0 { "...".to_string() } else { n })
                .collect();
            want.entry(key).or_insert(names);
        }
    }

    let run = probedex(["list", "-v", "fentry:*"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ftrace_known = !run
        .stderr
        .contains("whether each fentry/fexit function can attach is unknown");
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in run.stdout.lines() {
        if let Some(arg) = line.strip_prefix("    ") {
            let name = if arg == "..." {
                arg
            } else {
                arg.rsplit(' ').next().unwrap()
            };
            let function = current.as_ref().expect("an argument before any probe");
            got.get_mut(function).unwrap().push(name.to_string());
        } else {
            let name = line.strip_prefix("fentry:").unwrap().to_string();
            assert!(
                got.insert(name.clone(), Vec::new()).is_none(),
                "{name} twice"
            );
            current = Some(name);
        }
    }
    if ftrace_known {
        // Only what ftrace can patch is listed.
        assert!(got.len() <= want.len());
    } else {
        assert_eq!(
            got.len(),
            want.len(),
            "fentry points vs distinct BTF FUNC names"
        );
    }
    let mut mismatches = Vec::new();
    for (name, args) in &got {
        match want.get(name) {
            None => mismatches.push(format!("{name}: not a BTF FUNC")),
            Some(w) if w != args => mismatches.push(format!("{name}: {args:?} vs bpftool {w:?}")),
            Some(_) => {}
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} functions differ from bpftool, e.g.:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    let run = probedex(["list", "-v", "fexit:*"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// (b) and (e): one raw tracepoint per `btf_trace_` typedef, each with the
/// argument names of its `__probestub_`.
#[test]
fn live_raw_tracepoints_match_bpftool() {
    let Some(vmlinux) = live_btf("compare raw tracepoints with bpftool") else {
        return;
    };
    let modules = live_module_btf();
    let mut typedefs = BTreeSet::new();
    let mut stubs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (module, btf) in
        std::iter::once((None, &vmlinux)).chain(modules.iter().map(|(m, b)| (Some(m), b)))
    {
        let qualify = |n: &str| match module {
            Some(m) => format!("{m}:{n}"),
            None => n.to_string(),
        };
        for (_, t) in btf.named("TYPEDEF") {
            if let Some(event) = t.name.strip_prefix("btf_trace_") {
                typedefs.insert(qualify(event));
            }
        }
        for (_, t) in btf.named("FUNC") {
            if let Some(event) = t.name.strip_prefix("__probestub_") {
                let names: Vec<String> = btf
                    .params(t.attr("type_id").unwrap())
                    .into_iter()
                    .skip(1)
                    .map(|(n, _)| n)
                    .collect();
                stubs.insert(qualify(event), names);
            }
        }
    }
    let run = probedex(["list", "rawtracepoint:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let listed: BTreeSet<String> = run
        .stdout
        .lines()
        .map(|l| l.strip_prefix("rawtracepoint:").unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), run.stdout.lines().count(), "duplicates");
    assert_eq!(
        listed.len(),
        typedefs.len(),
        "raw tracepoints vs btf_trace_ typedefs"
    );
    assert_eq!(listed, typedefs);

    let run = probedex(["--json", "list", "-v", "rawtracepoint:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let mut compared = 0;
    for detail in json_lines(&run) {
        let probe = detail["probe"].as_str().unwrap();
        let event = probe.strip_prefix("rawtracepoint:").unwrap();
        let names = arg_names(&detail);
        assert!(
            names.iter().all(|n| !n.is_empty() && n != "(anon)"),
            "{probe}: {names:?}"
        );
        if let Some(want) = stubs.get(event) {
            assert_eq!(&names, want, "{probe}: names from __probestub_{event}");
            compared += 1;
        }
    }
    assert!(
        compared * 10 >= typedefs.len() * 9,
        "{compared} of {}",
        typedefs.len()
    );
    // The text listing names them the same way.
    let text = probedex(["list", "-v", "rawtracepoint:*"]);
    assert_eq!(text.code, 0, "{}", text.describe());
    assert!(
        !text.stdout.lines().any(|l| l.ends_with(" (anon)")),
        "an unnamed argument"
    );
}

/// (d) kprobes on this kernel: listed with one warning when it has no
/// kprobes, and `show` says they cannot attach.
#[test]
fn live_kprobes_say_whether_the_kernel_has_them() {
    let Some(tracefs) = live_system_available("list kprobes") else {
        return;
    };
    let no_kprobes = !tracefs.join("kprobe_events").exists()
        && !Path::new("/sys/bus/event_source/devices/kprobe").exists();
    let run = probedex(["list", "kprobe:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let warnings = run
        .stderr_lines()
        .iter()
        .filter(|l| l.contains("CONFIG_KPROBES"))
        .count();
    assert_eq!(warnings, usize::from(no_kprobes), "{}", run.describe());
    check_listing("kprobe", &run.stdout);
    assert!(run.stdout.lines().any(|l| l == "kprobe:vfs_read"));

    let run = probedex(["--json", "show", "kprobe:vfs_read"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let detail: Value = serde_json::from_str(run.stdout.trim_end()).unwrap();
    if no_kprobes {
        assert_eq!(detail["traceable"], false, "{detail}");
        let text = probedex(["show", "kprobe:vfs_read"]);
        assert!(
            text.stdout.contains("\n  traceable  no: "),
            "{}",
            text.describe()
        );
    }
    // Arguments from BTF, as fentry has them.
    let fentry = probedex(["--json", "show", "fentry:vfs_read"]);
    let fentry: Value = serde_json::from_str(fentry.stdout.trim_end()).unwrap();
    assert_eq!(detail["args"], fentry["args"]);
}

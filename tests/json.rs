//! The JSON output follows docs/json.md exactly: every object deserialises
//! into the structs below, which reject unknown fields, and the values obey
//! the rules the document states.

mod common;

use serde::Deserialize;

use common::{live_system_available, probedex};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeEntry {
    probe: String,
    kind: String,
    category: String,
    event: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TracepointDetail {
    probe: String,
    kind: String,
    category: String,
    event: String,
    id: Option<u64>,
    format_path: String,
    fixed_size: u64,
    fields: Vec<Field>,
    print_fmt: Option<String>,
    /// `show` only; null in `list -v`.
    btf_struct: Option<RecordJson>,
}

/// The vmlinux.h struct of a tracepoint, checked against its format file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordJson {
    name: Option<String>,
    module: String,
    btf_id: Option<u32>,
    size: Option<u64>,
    found: Option<String>,
    class: Option<String>,
    agrees: bool,
    fields: Vec<FieldCheckJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldCheckJson {
    field: String,
    member: Option<String>,
    format_offset: u64,
    format_size: u64,
    btf_offset: Option<u64>,
    btf_size: Option<u64>,
    agrees: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Field {
    name: String,
    decl: String,
    #[serde(rename = "type")]
    type_text: String,
    base_type: String,
    storage: String,
    array_len: Option<u64>,
    offset: u64,
    size: u64,
    signed: Option<bool>,
    common: bool,
    declared_size: Option<u64>,
}

fn check_entry(entry: &ProbeEntry) {
    assert_eq!(entry.kind, "tracepoint");
    assert_eq!(
        entry.probe,
        format!("tracepoint:{}:{}", entry.category, entry.event)
    );
}

fn check_detail(detail: &TracepointDetail) {
    assert_eq!(detail.kind, "tracepoint");
    assert_eq!(
        detail.probe,
        format!("tracepoint:{}:{}", detail.category, detail.event)
    );
    assert!(detail.format_path.ends_with(&format!(
        "events/{}/{}/format",
        detail.category, detail.event
    )));
    assert!(detail.id.is_some(), "{}: no id", detail.probe);
    assert!(detail.print_fmt.is_some(), "{}: no print fmt", detail.probe);
    let end = detail
        .fields
        .iter()
        .map(|f| f.offset + f.size)
        .max()
        .unwrap_or(0);
    assert_eq!(detail.fixed_size, end, "{}", detail.probe);
    // The common header comes first.
    let first_event_field = detail.fields.iter().position(|f| !f.common);
    if let Some(i) = first_event_field {
        assert!(
            detail.fields[i..].iter().all(|f| !f.common),
            "{}",
            detail.probe
        );
    }
    for f in &detail.fields {
        let what = format!("{} {}", detail.probe, f.decl);
        assert!(f.decl.contains(&f.name), "{what}");
        match f.storage.as_str() {
            "scalar" => {
                assert_eq!(f.type_text, f.base_type, "{what}");
                assert!(f.array_len.is_none(), "{what}");
            }
            "array" => {
                assert!(f.type_text.starts_with(&f.base_type), "{what}");
                assert!(f.type_text.ends_with(']'), "{what}");
                if let Some(n) = f.array_len {
                    assert!(n > 0 && f.size % n == 0, "{what}");
                }
            }
            "flexible_array" => {
                assert_eq!(f.size, 0, "{what}");
                assert!(f.type_text.ends_with("[]"), "{what}");
            }
            "data_loc" | "rel_loc" => {
                assert_eq!(f.size, 4, "{what}");
                assert!(
                    f.type_text.starts_with(&format!("__{}", f.storage)),
                    "{what}"
                );
                assert!(f.array_len.is_none(), "{what}");
            }
            other => panic!("{what}: unknown storage {other}"),
        }
        if let Some(declared) = f.declared_size {
            assert_ne!(declared, f.size, "{what}");
            assert_eq!(f.storage, "scalar", "{what}");
        }
        let _ = f.signed;
    }
    if let Some(record) = &detail.btf_struct {
        check_record(detail, record);
    }
}

fn check_record(detail: &TracepointDetail, r: &RecordJson) {
    let what = format!("{}: {r:?}", detail.probe);
    assert!(!r.module.is_empty(), "{what}");
    match &r.name {
        None => {
            assert!(
                r.btf_id.is_none() && r.size.is_none() && r.found.is_none(),
                "{what}"
            );
            assert!(
                r.class.is_none() && !r.agrees && r.fields.is_empty(),
                "{what}"
            );
        }
        Some(_) => {
            assert!(r.btf_id.is_some() && r.size.is_some(), "{what}");
            let found = r.found.as_deref().expect("a found struct says how");
            assert!(matches!(found, "own_class" | "class" | "syscall"), "{what}");
            assert_eq!(r.class.is_some(), found == "class", "{what}");
            assert_eq!(r.agrees, r.fields.iter().all(|f| f.agrees), "{what}");
            let event_fields: Vec<&str> = detail.fields.iter().map(|f| f.name.as_str()).collect();
            for f in &r.fields {
                assert!(event_fields.contains(&f.field.as_str()), "{what}: {f:?}");
                let format = detail.fields.iter().find(|x| x.name == f.field).unwrap();
                assert_eq!(
                    (f.format_offset, f.format_size),
                    (format.offset, format.size)
                );
                if f.member.is_none() {
                    assert!(f.btf_offset.is_none() && !f.agrees, "{what}: {f:?}");
                }
                if f.agrees {
                    assert_eq!(f.btf_offset, Some(f.format_offset), "{what}: {f:?}");
                    assert_eq!(f.btf_size, Some(f.format_size), "{what}: {f:?}");
                }
            }
        }
    }
}

/// Runs every JSON-producing command over a tree and checks all objects;
/// also checks that `-v --json` carries the same fields `-v` prints.
fn check_tree(global: &[&str]) -> usize {
    let list = probedex(global.iter().chain(&["list", "--json", "tracepoint:*"]));
    assert_eq!(list.code, 0, "{}", list.stderr);
    let entries: Vec<ProbeEntry> = list
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    entries.iter().for_each(check_entry);

    let verbose = probedex(
        global
            .iter()
            .chain(&["list", "-v", "--json", "tracepoint:*"]),
    );
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
    let details: Vec<TracepointDetail> = verbose
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    details.iter().for_each(check_detail);
    // `list -v` does not look for the BTF struct (docs/json.md).
    for d in &details {
        assert!(d.btf_struct.is_none(), "{}: btf_struct in list -v", d.probe);
    }
    let names: Vec<&str> = details.iter().map(|d| d.probe.as_str()).collect();
    let listed: Vec<&str> = entries.iter().map(|e| e.probe.as_str()).collect();
    assert_eq!(names, listed);

    // The JSON's event fields are exactly what the text listing prints.
    let text = probedex(global.iter().chain(&["list", "-v", "tracepoint:*"]));
    let mut from_json = String::new();
    for d in &details {
        from_json.push_str(&d.probe);
        from_json.push('\n');
        for f in d.fields.iter().filter(|f| !f.common) {
            from_json.push_str("    ");
            from_json.push_str(&f.decl);
            from_json.push('\n');
        }
    }
    assert_eq!(from_json, text.stdout);

    // `show --json` prints the same object as `list -v --json`, plus the
    // BTF struct.
    let first = &details[0].probe;
    let show = probedex(global.iter().chain(&["show", "--json", first]));
    assert_eq!(show.code, 0, "{}", show.stderr);
    let mut shown: serde_json::Value = serde_json::from_str(show.stdout.trim_end()).unwrap();
    let listed: serde_json::Value =
        serde_json::from_str(verbose.stdout.lines().next().unwrap()).unwrap();
    let record: Option<RecordJson> = serde_json::from_value(shown["btf_struct"].take()).unwrap();
    assert_eq!(shown, listed);
    if let Some(record) = record {
        let detail: TracepointDetail = serde_json::from_str(show.stdout.trim_end()).unwrap();
        check_record(&detail, &record);
    }
    details.len()
}

#[test]
fn captured_tree_json_follows_the_schema() {
    let count = check_tree(&["--root", "fixtures/linux-6.18-x86_64"]);
    assert!(count > 2000, "{count}");
}

#[test]
fn live_json_follows_the_schema() {
    if live_system_available("checks live JSON output").is_none() {
        return;
    }
    assert!(check_tree(&[]) > 1000);
}

#[test]
fn syscall_arguments_report_their_declared_size() {
    let out = probedex([
        "--root",
        "fixtures/linux-6.18-x86_64",
        "show",
        "--json",
        "tracepoint:syscalls:sys_enter_openat",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let detail: TracepointDetail = serde_json::from_str(out.stdout.trim()).unwrap();
    let dfd = detail.fields.iter().find(|f| f.name == "dfd").unwrap();
    assert_eq!((dfd.offset, dfd.size, dfd.declared_size), (16, 8, Some(4)));
    let filename = detail.fields.iter().find(|f| f.name == "filename").unwrap();
    assert_eq!(filename.type_text, "const char *");
    assert_eq!(filename.declared_size, None);
    assert_eq!(detail.fixed_size, 48);
}

// ---------------------------------------------------------------------------
// Kernel functions, raw tracepoints and kernel types (src/output/json.rs:
// FunctionEntry, FunctionDetail, TypeDetail).

use std::path::Path;

use common::{build_mini_kernel, is_ci, probedex_with, repo_dir, skip};
use serde_json::Value;

/// One line of `list --json` for fentry/fexit/kprobe/kretprobe/rawtracepoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionEntry {
    probe: String,
    kind: String,
    module: String,
    name: String,
}

/// `list -v --json` and `show --json` of a kernel function or raw tracepoint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct FunctionDetail {
    probe: String,
    kind: String,
    module: String,
    name: String,
    btf_id: Option<u32>,
    return_type: Option<String>,
    args: Vec<ArgJson>,
    varargs: bool,
    traceable: Option<bool>,
    traceability: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ArgJson {
    name: String,
    #[serde(rename = "type")]
    type_text: String,
    size: Option<u64>,
}

/// `show --json struct:NAME` (union, enum).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeDetail {
    probe: String,
    kind: String,
    module: String,
    name: Option<String>,
    btf_id: u32,
    size: Option<u32>,
    members: Vec<MemberJson>,
    values: Vec<EnumValueJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberJson {
    name: Option<String>,
    #[serde(rename = "type")]
    type_text: String,
    offset: u64,
    bit_offset: u64,
    size: Option<u64>,
    bitfield_size: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnumValueJson {
    name: Option<String>,
    value: i128,
}

const FUNCTION_ENTRY_FIELDS: &[&str] = &["probe", "kind", "module", "name"];
const FUNCTION_DETAIL_FIELDS: &[&str] = &[
    "probe",
    "kind",
    "module",
    "name",
    "btf_id",
    "return_type",
    "args",
    "varargs",
    "traceable",
    "traceability",
];
const TYPE_DETAIL_FIELDS: &[&str] = &[
    "probe", "kind", "module", "name", "btf_id", "size", "members", "values",
];

/// Parses one JSON line into `T`, first checking it has exactly `fields`:
/// serde fills a missing `Option` with None, and docs/json.md promises that
/// fields are never omitted.
fn strict<T: serde::de::DeserializeOwned>(line: &str, fields: &[&str]) -> T {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line}"))
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = fields.to_vec();
    let mut got = keys.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "fields of {line}");
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// `kind:[module:]name`, vmlinux left out, as bpftrace writes it.
fn function_probe(kind: &str, module: &str, name: &str) -> String {
    if module == "vmlinux" {
        format!("{kind}:{name}")
    } else {
        format!("{kind}:{module}:{name}")
    }
}

fn check_function_entry(e: &FunctionEntry, kind: &str) {
    assert_eq!(e.kind, kind, "{e:?}");
    assert_eq!(
        e.probe,
        function_probe(&e.kind, &e.module, &e.name),
        "{e:?}"
    );
    assert!(!e.name.is_empty() && !e.module.is_empty(), "{e:?}");
}

/// Whether a reason says the verdict cannot be known here. The reasons are
/// not documented; these are the phrases src/discover/kernel_functions.rs
/// and src/commands/kernel.rs use for a null `traceable`.
fn reason_is_unknown(reason: &str) -> bool {
    reason.starts_with("available_filter_functions: ")
        || reason.contains("could not be read")
        || reason.contains("was not read")
        || reason.contains("unknown")
}

fn check_function_detail(d: &FunctionDetail, kind: &str) {
    let what = format!("{d:?}");
    assert_eq!(d.kind, kind, "{what}");
    assert_eq!(
        d.probe,
        function_probe(&d.kind, &d.module, &d.name),
        "{what}"
    );
    assert!(!d.traceability.is_empty(), "{what}");
    assert_eq!(
        d.traceable.is_none(),
        reason_is_unknown(&d.traceability),
        "traceable null iff the reason says it cannot be known: {what}"
    );
    match d.btf_id {
        None => {
            // Only a kprobe may lack BTF; then there is no signature at all.
            assert!(kind == "kprobe" || kind == "kretprobe", "{what}");
            assert!(
                d.return_type.is_none() && d.args.is_empty() && !d.varargs,
                "{what}"
            );
        }
        Some(id) => {
            assert!(id > 0, "{what}");
            let ret = d
                .return_type
                .as_deref()
                .expect("a signature has a return type");
            assert!(!ret.is_empty(), "{what}");
            if kind == "rawtracepoint" {
                assert_eq!(ret, "void", "{what}");
                assert!(!d.varargs, "{what}");
            }
        }
    }
    if kind == "rawtracepoint" {
        assert_eq!(d.traceable, Some(true), "{what}");
    }
    for a in &d.args {
        assert!(!a.name.is_empty(), "{what}");
        assert!(!a.type_text.is_empty(), "{what}");
        if a.type_text.ends_with('*') || a.type_text.ends_with("*const") {
            assert_eq!(a.size, Some(8), "{what}: pointers are 8 bytes on x86_64");
        }
    }
}

fn check_type_detail(t: &TypeDetail) {
    let what = format!("{t:?}");
    let asked = match t.kind.as_str() {
        "struct" | "union" | "enum" => t.kind.as_str(),
        "enum64" => "enum",
        other => panic!("{what}: kind {other}"),
    };
    let name = t
        .name
        .as_deref()
        .expect("named types only can be asked for");
    assert!(
        t.probe == format!("{asked}:{name}") || t.probe == format!("{asked}:{}:{name}", t.module),
        "{what}"
    );
    assert!(t.btf_id > 0, "{what}");
    let size = u64::from(t.size.expect("structs, unions and enums have a size"));
    if asked == "enum" {
        assert!(t.members.is_empty(), "{what}");
        assert!(!t.values.is_empty(), "{what}");
        for v in &t.values {
            assert!(v.name.is_some(), "{what}");
            if t.kind == "enum" {
                assert!(
                    i128::from(i32::MIN) <= v.value && v.value <= i128::from(u32::MAX),
                    "{what}"
                );
            }
        }
    } else {
        assert!(t.values.is_empty(), "{what}");
        for m in &t.members {
            assert_eq!(m.offset, m.bit_offset / 8, "{what}");
            assert!(!m.type_text.is_empty(), "{what}");
            if m.name.is_none() {
                // Only anonymous structs and unions go without a name.
                assert!(
                    m.type_text.starts_with("struct {") || m.type_text.starts_with("union {"),
                    "{m:?} in {what}"
                );
            }
            match m.bitfield_size {
                Some(bits) => assert!(
                    bits > 0 && m.bit_offset + u64::from(bits) <= size * 8,
                    "{what}"
                ),
                None => {
                    assert_eq!(m.bit_offset % 8, 0, "{what}");
                    if let Some(s) = m.size {
                        assert!(m.offset + s <= size, "{m:?} ends past the type in {what}");
                    }
                }
            }
            if t.kind == "union" {
                assert_eq!(m.bit_offset, 0, "{what}");
            }
        }
    }
}

/// `list --json PATTERN` and `list -v --json PATTERN` in `dir`: every
/// object checked, the same probes in the same order as the text listing;
/// returns the details.
fn check_function_listing(dir: &Path, global: &[&str], kind: &str) -> Vec<FunctionDetail> {
    let pattern = format!("{kind}:*");
    let run = |args: &[&str]| {
        let all: Vec<&str> = global.iter().chain(args).copied().collect();
        let run = probedex_with(dir, &all, &[]);
        assert_eq!(run.code, 0, "{}", run.describe());
        run
    };
    let text = run(&["list", &pattern]);
    let entries: Vec<FunctionEntry> = run(&["--json", "list", &pattern])
        .stdout
        .lines()
        .map(|l| strict(l, FUNCTION_ENTRY_FIELDS))
        .collect();
    entries.iter().for_each(|e| check_function_entry(e, kind));
    let details: Vec<FunctionDetail> = run(&["--json", "list", "-v", &pattern])
        .stdout
        .lines()
        .map(|l| strict(l, FUNCTION_DETAIL_FIELDS))
        .collect();
    details.iter().for_each(|d| check_function_detail(d, kind));
    let listed: Vec<&str> = text.stdout.lines().collect();
    let from_entries: Vec<&str> = entries.iter().map(|e| e.probe.as_str()).collect();
    let from_details: Vec<&str> = details.iter().map(|d| d.probe.as_str()).collect();
    assert_eq!(from_entries, listed, "{kind}: list --json vs list");
    assert_eq!(from_details, listed, "{kind}: list -v --json vs list");
    // `list -v` text prints the same arguments (kretprobe: only retval).
    let verbose = run(&["list", "-v", &pattern]);
    let mut from_json = String::new();
    for d in &details {
        from_json.push_str(&d.probe);
        from_json.push('\n');
        if kind != "kretprobe" {
            for a in &d.args {
                from_json.push_str(&format!("    {} {}\n", a.type_text, a.name));
            }
            if d.varargs {
                from_json.push_str("    ...\n");
            }
        }
        if matches!(kind, "fexit" | "kretprobe") {
            if let Some(ret) = d.return_type.as_deref().filter(|r| *r != "void") {
                from_json.push_str(&format!("    {ret} retval\n"));
            }
        }
    }
    assert!(
        from_json == verbose.stdout,
        "{kind}: list -v differs from its JSON: {}",
        common::first_difference(&from_json, &verbose.stdout)
    );
    details
}

/// `show --json PROBE` parsed and checked.
fn show_function(dir: &Path, global: &[&str], probe: &str) -> FunctionDetail {
    let args: Vec<&str> = global
        .iter()
        .chain(&["--json", "show", probe])
        .copied()
        .collect();
    let run = probedex_with(dir, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let detail: FunctionDetail = strict(run.stdout.trim_end(), FUNCTION_DETAIL_FIELDS);
    check_function_detail(&detail, probe.split(':').next().unwrap());
    assert_eq!(
        detail.probe,
        probe.replacen(":vmlinux:", ":", 1),
        "the canonical name leaves vmlinux out"
    );
    detail
}

fn show_type(dir: &Path, global: &[&str], spec: &str) -> TypeDetail {
    let args: Vec<&str> = global
        .iter()
        .chain(&["--json", "show", spec])
        .copied()
        .collect();
    let run = probedex_with(dir, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let detail: TypeDetail = strict(run.stdout.trim_end(), TYPE_DETAIL_FIELDS);
    check_type_detail(&detail);
    assert_eq!(detail.probe, spec);
    detail
}

#[test]
fn mini_kernel_json_follows_the_schema() {
    let Some(scratch) = build_mini_kernel("json-kernel-mini-") else {
        return;
    };
    let dir = scratch.path();
    let root = ["--root", "fixtures/kernel-mini"];
    for kind in ["fentry", "fexit", "kprobe", "kretprobe", "rawtracepoint"] {
        let details = check_function_listing(dir, &root, kind);
        assert!(!details.is_empty(), "{kind}");
        // show --json prints the same object as list -v --json.
        for d in details.iter().step_by(5) {
            assert_eq!(&show_function(dir, &root, &d.probe), d, "{}", d.probe);
        }
    }
    let detail = show_function(dir, &root, "rawtracepoint:fakemod:fakemod_xfer");
    assert_eq!(detail.module, "fakemod");
    let detail = show_function(dir, &root, "fentry:vmlinux:vfs_read");
    assert_eq!(
        detail.probe, "fentry:vfs_read",
        "vmlinux is left out of the name"
    );
    for spec in [
        "struct:task_struct",
        "struct:file",
        "struct:pt_regs",
        "struct:fakemod_dev",
        "struct:fakemod:fakemod_dev",
        "struct:trace_event_raw_sched_switch",
        "struct:syscall_trace_enter",
        "union:bpf_raw_tp_map_sched_switch",
        "enum:pid_type",
        "enum:cpuhp_state",
        "enum:task_work_flags64",
    ] {
        show_type(dir, &root, spec);
    }
    let cpuhp = show_type(dir, &root, "enum:cpuhp_state");
    assert_eq!(cpuhp.values[0].value, -1);
    let flags = show_type(dir, &root, "enum:task_work_flags64");
    assert_eq!(flags.kind, "enum64");
    assert_eq!(flags.values[2].value, 1 << 40);
    let sched_switch = show_type(dir, &root, "struct:trace_event_raw_sched_switch");
    assert_eq!(
        sched_switch.size,
        Some(64),
        "the 6.18 format file's record size"
    );
}

#[test]
fn live_kernel_json_follows_the_schema() {
    if live_system_available("checks live kernel-function JSON").is_none() {
        return;
    }
    if !Path::new("/sys/kernel/btf/vmlinux").is_file() {
        assert!(!is_ci(), "CI=true but this kernel has no BTF");
        skip("this kernel has no /sys/kernel/btf/vmlinux");
        return;
    }
    let dir = repo_dir();
    let fentry = check_function_listing(&dir, &[], "fentry");
    assert!(fentry.len() > 10_000, "{}", fentry.len());
    let raw = check_function_listing(&dir, &[], "rawtracepoint");
    assert!(raw.len() > 500, "{}", raw.len());
    let kprobes = check_function_listing(&dir, &[], "kprobe");
    assert!(kprobes.len() > 10_000, "{}", kprobes.len());
    for probe in [
        "fentry:vfs_read",
        "fexit:vfs_read",
        "kprobe:vfs_read",
        "kretprobe:do_sys_openat2",
        "rawtracepoint:sched_switch",
        "rawtracepoint:sys_enter",
    ] {
        let shown = show_function(&dir, &[], probe);
        let kind = probe.split(':').next().unwrap();
        if let Some(listed) = [&fentry, &raw, &kprobes]
            .iter()
            .flat_map(|v| v.iter())
            .find(|d| d.probe == probe && d.kind == kind)
        {
            // The reason's words may differ (see tests/kernel.rs,
            // traceability_reason_is_the_same_in_list_and_show); the rest not.
            let same_but_reason = FunctionDetail {
                traceability: shown.traceability.clone(),
                ..(*listed).clone()
            };
            assert_eq!(
                shown, same_but_reason,
                "{probe}: show --json vs list -v --json"
            );
        }
    }
    for spec in [
        "struct:task_struct",
        "struct:file",
        "struct:sk_buff",
        "union:bpf_attr",
        "enum:bpf_prog_type",
    ] {
        show_type(&dir, &[], spec);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFunction {
    probe: String,
    kind: String,
    path: String,
    name: String,
    address: u64,
    size: u64,
    file_offset: Option<u64>,
    ifunc: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Usdt {
    probe: String,
    kind: String,
    path: String,
    provider: String,
    name: String,
    sites: Vec<UsdtSite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsdtSite {
    address: u64,
    file_offset: Option<u64>,
    semaphore: u64,
    semaphore_offset: Option<u64>,
    semaphore_in_bss: bool,
    args_spec: String,
    args: Vec<UsdtArg>,
    args_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsdtArg {
    text: String,
    size: u8,
    signed: bool,
    float: bool,
    operand: String,
    libbpf_limitation: Option<String>,
}

/// uprobe and usdt objects follow docs/json.md, on real system files.
#[test]
fn user_space_json_follows_the_schema() {
    let out = probedex(["list", "--json", "uprobe:/usr/bin/bash:*"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut count = 0;
    for line in out.stdout.lines() {
        let f: UserFunction = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(f.kind, "uprobe");
        assert_eq!(f.probe, format!("uprobe:{}:{}", f.path, f.name));
        assert!(f.file_offset.is_some(), "{line}");
        let _ = (f.address, f.size, f.ifunc);
        count += 1;
    }
    assert!(count > 1000);

    let out = probedex(["list", "-v", "--json", "usdt:libstdc++:*"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in out.stdout.lines() {
        let probe: Usdt = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(probe.kind, "usdt");
        assert_eq!(
            probe.probe,
            format!("usdt:{}:{}:{}", probe.path, probe.provider, probe.name)
        );
        assert!(!probe.sites.is_empty());
        for site in &probe.sites {
            assert!(site.args_error.is_none(), "{line}");
            assert_eq!(site.args.len(), site.args_spec.split_whitespace().count());
            for arg in &site.args {
                assert!([1, 2, 4, 8].contains(&arg.size), "{line}");
                assert!(site.args_spec.contains(&arg.text));
                let _ = (arg.signed, arg.float, &arg.operand, &arg.libbpf_limitation);
            }
            let _ = (site.address, site.file_offset, site.semaphore_offset);
            // libstdc++'s probes have no semaphores.
            assert_eq!(
                (site.semaphore, site.semaphore_in_bss),
                (0, false),
                "{line}"
            );
        }
    }
    // Without -v, list keeps the short form.
    let out = probedex(["list", "--json", "usdt:libstdc++:*"]);
    let probe: Usdt = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert!(probe.sites.is_empty());
}

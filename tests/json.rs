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

    // `show --json` prints the same object as `list -v --json`.
    let first = &details[0].probe;
    let show = probedex(global.iter().chain(&["show", "--json", first]));
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(show.stdout.lines().next(), verbose.stdout.lines().next());
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

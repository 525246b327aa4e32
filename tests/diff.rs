//! `probedex diff A B [PATTERN...]` over the snapshot fixtures and captured
//! trees edited by hand. Expected changes are worked out here from the
//! format files themselves, with a parser of the test's own, not from
//! probedex's.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use common::{copy_tree, live_system_available, probedex, repo_dir, Run};

const NEW: &str = "fixtures/snapshots/linux-6.18-x86_64.snap";
const OLD: &str = "fixtures/snapshots/centos8-linux5.10.snap";
const OLD_TREE: &str = "fixtures/centos8-linux5.10";
const EVENTS: &str = "sys/kernel/tracing/events";

// The JSON objects of docs/json.md, "diff"; unknown fields are errors.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TracepointPoint {
    #[serde(rename = "type")]
    object: String,
    probe: String,
    kind: String,
    also: Vec<String>,
    change: String,
    fixed_size: Option<OldNew<u64>>,
    fields: Vec<FieldChange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignaturePoint {
    #[serde(rename = "type")]
    object: String,
    probe: String,
    kind: String,
    also: Vec<String>,
    change: String,
    #[serde(rename = "return")]
    return_value: Option<OldNew<Return>>,
    varargs: Option<OldNew<bool>>,
    args: Vec<ArgChange>,
    /// fentry/fexit only.
    #[serde(default)]
    traceable: Option<OldNew<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionPoint {
    #[serde(rename = "type")]
    object: String,
    probe: String,
    kind: String,
    also: Vec<String>,
    change: String,
    traceable: Option<OldNew<bool>>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone)]
#[serde(deny_unknown_fields)]
struct OldNew<T> {
    old: T,
    new: T,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone)]
#[serde(deny_unknown_fields)]
struct FieldChange {
    name: String,
    change: String,
    old: Option<FieldJson>,
    new: Option<FieldJson>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone)]
#[serde(deny_unknown_fields)]
struct FieldJson {
    #[serde(rename = "type")]
    type_text: String,
    offset: u64,
    size: u64,
    signed: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Return {
    #[serde(rename = "type")]
    type_text: String,
    size: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgChange {
    position: usize,
    change: String,
    old: Option<Arg>,
    new: Option<Arg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arg {
    name: String,
    #[serde(rename = "type")]
    type_text: String,
    size: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    #[serde(rename = "type")]
    object: String,
    old: String,
    new: String,
    differs: bool,
    compared: Vec<Count>,
    not_compared: Vec<NotCompared>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    kinds: Vec<String>,
    added: usize,
    removed: usize,
    changed: usize,
    unchanged: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotCompared {
    kinds: Vec<String>,
    reason: String,
}

/// A diff's JSON Lines, each checked against its schema.
#[derive(Debug, Default)]
struct Report {
    tracepoints: Vec<TracepointPoint>,
    signatures: Vec<SignaturePoint>,
    functions: Vec<FunctionPoint>,
    summary: Option<Summary>,
}

impl Report {
    /// `(probe, change)` of every point, in output order.
    fn changes(&self) -> Vec<(String, String)> {
        let tp = self.tracepoints.iter().map(|p| (&p.probe, &p.change));
        let sig = self.signatures.iter().map(|p| (&p.probe, &p.change));
        let f = self.functions.iter().map(|p| (&p.probe, &p.change));
        tp.chain(sig)
            .chain(f)
            .map(|(p, c)| (p.clone(), c.clone()))
            .collect()
    }
}

/// One line as `T`, or a failure that shows the line and the run.
fn object<T: serde::de::DeserializeOwned>(line: &str, run: &Run) -> T {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}\n{}", run.describe()))
}

fn parse_report(run: &Run) -> Report {
    let mut report = Report::default();
    let lines: Vec<&str> = run.stdout.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {index} is not JSON ({e}): {line}"));
        assert!(report.summary.is_none(), "the summary comes last: {line}");
        match (value["type"].as_str(), value["kind"].as_str()) {
            (Some("summary"), _) => {
                let summary: Summary = object(line, run);
                assert_eq!(summary.object, "summary");
                for skipped in &summary.not_compared {
                    assert!(!skipped.kinds.is_empty() && !skipped.reason.is_empty());
                }
                report.summary = Some(summary);
            }
            (Some("point"), Some("tracepoint")) => {
                let p: TracepointPoint = object(line, run);
                assert_eq!(
                    (p.object.as_str(), p.kind.as_str()),
                    ("point", "tracepoint")
                );
                assert!(p.also.is_empty());
                report.tracepoints.push(p);
            }
            (Some("point"), Some("rawtracepoint" | "fentry" | "fexit")) => {
                let p: SignaturePoint = object(line, run);
                assert_eq!(p.object, "point");
                assert!(p.probe.starts_with(&format!("{}:", p.kind)));
                assert!(
                    p.also.iter().all(|k| k == "fexit") && p.kind != "fexit" || p.also.is_empty()
                );
                if p.change != "changed" {
                    assert!(p.return_value.is_none() && p.varargs.is_none() && p.args.is_empty());
                    assert!(p.traceable.is_none());
                }
                if let Some(r) = &p.return_value {
                    assert!((&r.old.type_text, r.old.size) != (&r.new.type_text, r.new.size));
                }
                for arg in &p.args {
                    let sides = (arg.old.as_ref(), arg.new.as_ref());
                    match (arg.change.as_str(), sides) {
                        ("added", (None, Some(_))) | ("removed", (Some(_), None)) => {}
                        ("changed", (Some(o), Some(n))) => assert!(
                            (&o.name, &o.type_text, o.size) != (&n.name, &n.type_text, n.size)
                        ),
                        other => panic!("argument {} is {other:?}: {line}", arg.position),
                    }
                }
                report.signatures.push(p);
            }
            (Some("point"), Some("kprobe" | "kretprobe")) => {
                let p: FunctionPoint = object(line, run);
                assert_eq!(p.object, "point");
                assert!(p.probe.starts_with(&format!("{}:", p.kind)));
                report.functions.push(p);
            }
            other => panic!("unexpected object {other:?}: {line}"),
        }
    }
    assert!(report.summary.is_some(), "no summary: {}", run.describe());
    report
}

// An independent reader of format files: `field:DECL;\toffset:N;\tsize:N;\tsigned:N;`.

type Layout = BTreeMap<String, FieldJson>;

fn read_layout(path: &Path) -> Layout {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = Layout::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("field:") else {
            continue;
        };
        let parts: Vec<&str> = rest.split(';').map(str::trim).collect();
        let decl = parts[0];
        let number = |key: &str| -> u64 {
            parts
                .iter()
                .find_map(|p| p.strip_prefix(key))
                .unwrap_or_else(|| panic!("{key} missing in {line}"))
                .parse()
                .unwrap()
        };
        // The name is the last identifier before any `[`.
        let before_bracket = decl.split('[').next().unwrap().trim_end();
        let name_start = before_bracket
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &before_bracket[name_start..];
        let type_text = format!(
            "{}{}",
            before_bracket[..name_start].trim_end(),
            decl.find('[').map_or("", |i| &decl[i..])
        );
        let signed = parts
            .iter()
            .find_map(|p| p.strip_prefix("signed:"))
            .map(|s| s == "1");
        fields.insert(
            name.to_string(),
            FieldJson {
                type_text,
                offset: number("offset:"),
                size: number("size:"),
                signed,
            },
        );
    }
    fields
}

/// The field changes between two layouts, by name, sorted by name.
fn expected_field_changes(old: &Layout, new: &Layout) -> Vec<(String, String)> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| match (old.get(name), new.get(name)) {
            (Some(_), None) => Some((name.clone(), "removed".to_string())),
            (None, Some(_)) => Some((name.clone(), "added".to_string())),
            (Some(o), Some(n)) if o != n => Some((name.clone(), "changed".to_string())),
            _ => None,
        })
        .collect()
}

fn capture(snapshot: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let tree = dir.path().join("tree");
    let run = probedex(["capture", "--snapshot", snapshot, tree.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.describe());
    (dir, tree)
}

fn summary_lines_only(run: &Run) {
    for line in run.stdout.lines() {
        let (kinds, counts) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a summary line: {line}\n{}", run.describe()));
        assert!(
            kinds
                .split('/')
                .all(|k| k.chars().all(|c| c.is_ascii_lowercase())),
            "not a summary line: {line}"
        );
        assert!(
            counts.starts_with("0 added, 0 removed, 0 changed, "),
            "{line}\n{}",
            run.describe()
        );
    }
}

#[test]
fn identical_snapshots_differ_in_nothing() {
    let run = probedex(["diff", NEW, NEW]);
    assert_eq!(run.code, 0, "{}", run.describe());
    summary_lines_only(&run);
    // Every kernel family was compared, and the counts are the snapshot's.
    let kinds: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split_once(':').unwrap().0)
        .collect();
    assert_eq!(
        kinds,
        [
            "fentry/fexit",
            "kprobe/kretprobe",
            "rawtracepoint",
            "tracepoint"
        ]
    );
    assert!(run
        .stdout
        .contains("tracepoint: 0 added, 0 removed, 0 changed, 2305 unchanged"));
    assert!(run.stderr.is_empty(), "{}", run.describe());

    let run = probedex(["diff", "--json", NEW, NEW]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let report = parse_report(&run);
    assert!(report.changes().is_empty());
    let summary = report.summary.unwrap();
    assert!(!summary.differs);
    assert!(summary.not_compared.is_empty());
    assert!(summary.new.starts_with(NEW) && summary.old.contains("Linux 6.18"));
    let unchanged: usize = summary.compared.iter().map(|c| c.unchanged).sum();
    assert!(unchanged > 100_000, "{summary:?}");
}

#[test]
fn linux_5_10_against_6_18_syscalls() {
    let (_dir, new_tree) = capture(NEW);
    let events = [
        "sys_enter_openat",
        "sys_enter_fchmodat",
        "sys_exit_fchmodat",
    ];
    let mut expected_changes = Vec::new();
    let mut expected_fields = BTreeMap::new();
    for event in events {
        let format = format!("{EVENTS}/syscalls/{event}/format");
        let old = read_layout(&repo_dir().join(OLD_TREE).join(&format));
        let new = read_layout(&new_tree.join(&format));
        assert!(old.len() >= 6, "the test's parser read {old:?}");
        let fields = expected_field_changes(&old, &new);
        if !fields.is_empty() {
            expected_changes.push((
                format!("tracepoint:syscalls:{event}"),
                "changed".to_string(),
            ));
            expected_fields.insert(format!("tracepoint:syscalls:{event}"), fields);
        }
    }
    let patterns: Vec<String> = events
        .iter()
        .map(|e| format!("tracepoint:syscalls:{e}"))
        .collect();
    let mut args = vec!["diff", "--json", OLD, NEW];
    args.extend(patterns.iter().map(String::as_str));
    let run = probedex(&args);
    let report = parse_report(&run);
    assert_eq!(report.changes(), expected_changes, "{}", run.describe());
    for point in &report.tracepoints {
        let mut fields: Vec<(String, String)> = point
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.change.clone()))
            .collect();
        fields.sort();
        assert_eq!(Some(&fields), expected_fields.get(&point.probe));
    }
    let code = if expected_changes.is_empty() { 0 } else { 1 };
    assert_eq!(run.code, code, "{}", run.describe());
    let summary = report.summary.unwrap();
    assert_eq!(summary.compared.len(), 1);
    assert_eq!(summary.compared[0].unchanged, 3 - expected_changes.len());

    // Every syscall tracepoint: the ones 5.10's capture lacks are added,
    // none removed; 5.10's have no BTF or kallsyms, and only tracepoints
    // were asked for, so nothing else is mentioned.
    let run = probedex(["diff", "--json", OLD, NEW, "tracepoint:syscalls:*"]);
    let report = parse_report(&run);
    let listed = fs::read_to_string(new_tree.join("sys/kernel/tracing/available_events")).unwrap();
    let added: BTreeSet<String> = listed
        .lines()
        .filter_map(|l| l.strip_prefix("syscalls:"))
        .filter(|e| !events.contains(e))
        .map(|e| format!("tracepoint:syscalls:{e}"))
        .collect();
    assert!(added.len() > 600);
    let reported: BTreeSet<String> = report
        .changes()
        .into_iter()
        .filter(|(_, c)| c == "added")
        .map(|(p, _)| p)
        .collect();
    assert_eq!(reported, added);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(run.stderr.is_empty(), "{}", run.describe());

    // With every kind: what 5.10 has no source for is not compared, with
    // one notice per missing source, not tens of thousands of removals.
    let run = probedex(["diff", OLD, NEW]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let notices = run.stderr_lines();
    assert_eq!(notices.len(), 2, "{}", run.describe());
    assert!(
        notices[0].contains("fentry/fexit/rawtracepoint not compared")
            && notices[0].contains("no BTF")
    );
    assert!(notices[1].contains("kprobe/kretprobe not compared"));
    assert!(!run.stdout.lines().any(|l| l.starts_with("- ")));
    assert!(run
        .stdout
        .ends_with("tracepoint: 2302 added, 0 removed, 0 changed, 3 unchanged\n"));
}

/// A capture of 6.18 with one format file's offset changed, one event
/// deleted, one added, and one kernel function taken out of kallsyms.
fn edited_capture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, original) = capture(NEW);
    let edited = dir.path().join("edited");
    copy_tree(&original, &edited);
    let events = edited.join(EVENTS);
    let available = edited.join("sys/kernel/tracing/available_events");

    let switch = events.join("sched/sched_switch/format");
    let text = fs::read_to_string(&switch).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(" prev_state;"))
        .expect("sched_switch has prev_state");
    assert!(line.contains("offset:32;\tsize:8;"), "{line}");
    // Past the last field (next_prio, 60..64): the record grows to 72.
    fs::write(
        &switch,
        text.replace(line, &line.replace("offset:32;", "offset:64;")),
    )
    .unwrap();

    fs::remove_dir_all(events.join("sched/sched_wakeup")).unwrap();
    let added = events.join("sched/sched_probedex_test");
    fs::create_dir_all(&added).unwrap();
    fs::write(
        added.join("format"),
        "name: sched_probedex_test\nID: 9999\nformat:\n\
         \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\
         \tfield:int value;\toffset:8;\tsize:4;\tsigned:1;\n\nprint fmt: \"value=%d\", REC->value\n",
    )
    .unwrap();
    let list = fs::read_to_string(&available).unwrap();
    let list: String = list
        .lines()
        .filter(|l| *l != "sched:sched_wakeup")
        .map(|l| format!("{l}\n"))
        .chain(["sched:sched_probedex_test\n".to_string()])
        .collect();
    fs::write(&available, list).unwrap();

    let kallsyms = edited.join("proc/kallsyms");
    let text = fs::read_to_string(&kallsyms).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.ends_with(" T vfs_fsync_range"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        kept.lines().count() + 1,
        text.lines().count(),
        "one line removed"
    );
    fs::write(&kallsyms, kept).unwrap();
    (dir, original, edited)
}

#[test]
fn hand_edited_capture_shows_exactly_its_edits() {
    let (_dir, original, edited) = edited_capture();
    let (a, b) = (original.to_str().unwrap(), edited.to_str().unwrap());

    let run = probedex(["diff", a, b, "tracepoint:*"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let expected = "\
+ tracepoint:sched:sched_probedex_test
~ tracepoint:sched:sched_switch
    prev_state: offset 32 → 64
    record size: 64 → 72
- tracepoint:sched:sched_wakeup
tracepoint: 1 added, 1 removed, 1 changed, 2303 unchanged
";
    assert_eq!(run.stdout, expected, "{}", run.describe());

    // Every kind, as JSON: the same three, and the function kallsyms lost.
    let run = probedex(["diff", "--json", a, b]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let report = parse_report(&run);
    let changes = report.changes();
    assert_eq!(
        changes,
        [
            (
                "tracepoint:sched:sched_probedex_test".into(),
                "added".into()
            ),
            ("tracepoint:sched:sched_switch".into(), "changed".into()),
            ("tracepoint:sched:sched_wakeup".into(), "removed".into()),
            ("kprobe:vfs_fsync_range".into(), "removed".into()),
        ] as [(String, String); 4]
    );
    let switch = &report.tracepoints[1];
    assert_eq!(switch.fixed_size, Some(OldNew { old: 64, new: 72 }));
    assert_eq!(switch.fields.len(), 1);
    let field = &switch.fields[0];
    assert_eq!(
        (field.name.as_str(), field.change.as_str()),
        ("prev_state", "changed")
    );
    let (old, new) = (field.old.clone().unwrap(), field.new.clone().unwrap());
    assert_eq!((old.offset, new.offset, old.size, new.size), (32, 64, 8, 8));
    assert_eq!(report.functions[0].also, ["kretprobe"]);
    assert_eq!(report.functions[0].traceable, None);
    let summary = report.summary.unwrap();
    assert!(summary.differs);
    let kprobes = summary
        .compared
        .iter()
        .find(|c| c.kinds == ["kprobe", "kretprobe"])
        .unwrap();
    assert_eq!((kprobes.added, kprobes.removed, kprobes.changed), (0, 1, 0));

    // Swapped sides swap additions and removals.
    let run = probedex(["diff", b, a, "tracepoint:sched:sched_*"]);
    assert_eq!(run.code, 1);
    assert!(run
        .stdout
        .contains("- tracepoint:sched:sched_probedex_test\n"));
    assert!(run.stdout.contains("+ tracepoint:sched:sched_wakeup\n"));
    assert!(run.stdout.contains("    prev_state: offset 64 → 32\n"));
}

#[test]
fn a_filter_that_selects_nothing_changed_exits_0() {
    let (_dir, original, edited) = edited_capture();
    let (a, b) = (original.to_str().unwrap(), edited.to_str().unwrap());
    let run = probedex([
        "diff",
        a,
        b,
        "tracepoint:sched:sched_process_*",
        "fentry:vfs_*",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    summary_lines_only(&run);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.describe());
    // A bare word reaches every kernel kind, kprobes included.
    let run = probedex(["diff", a, b, "vfs_fsync_range"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        run.stdout.starts_with("- kprobe:vfs_fsync_range\n"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_renamed_argument_is_a_signature_change() {
    let (dir, original) = capture(NEW);
    let edited = dir.path().join("edited");
    copy_tree(&original, &edited);
    // BTF keeps each string once: renaming "count" (same length) renames
    // every parameter and member of that name, vfs_read's third argument
    // among them.
    let vmlinux = edited.join("sys/kernel/btf/vmlinux");
    let mut bytes = fs::read(&vmlinux).unwrap();
    let (from, to) = (b"\0count\0", b"\0cnt_x\0");
    let at: Vec<usize> = (0..bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(at.len(), 1, "one \"count\" string in BTF");
    bytes[at[0]..at[0] + to.len()].copy_from_slice(to);
    fs::write(&vmlinux, bytes).unwrap();
    let (a, b) = (original.to_str().unwrap(), edited.to_str().unwrap());

    let run = probedex(["diff", a, b, "fentry:vfs_read", "fexit:vfs_read"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let expected = "\
~ fentry:vfs_read
    arg 2 count: name count → cnt_x
fentry/fexit: 0 added, 0 removed, 1 changed, 0 unchanged
";
    assert_eq!(run.stdout, expected, "{}", run.describe());

    let run = probedex(["diff", "--json", a, b, "vfs_read"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let report = parse_report(&run);
    assert_eq!(
        report.changes(),
        [("fentry:vfs_read".to_string(), "changed".to_string())]
    );
    let point = &report.signatures[0];
    assert_eq!(point.also, ["fexit"]);
    assert!(point.return_value.is_none() && point.varargs.is_none());
    assert_eq!(point.args.len(), 1);
    let arg = &point.args[0];
    let (old, new) = (arg.old.as_ref().unwrap(), arg.new.as_ref().unwrap());
    assert_eq!(
        (arg.position, old.name.as_str(), new.name.as_str()),
        (2, "count", "cnt_x")
    );
    assert_eq!((&old.type_text, old.size), (&new.type_text, new.size));
    assert_eq!(old.type_text, "size_t");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        vec!["diff", "fixtures/snapshots/nonexistent.snap", NEW],
        vec!["diff", NEW, "Cargo.toml"],
        vec!["diff", NEW, NEW, "uprobe:/bin/sh:main"],
        vec!["diff", NEW, NEW, "nosuchkind:x"],
    ] {
        let run = probedex(&args);
        assert_eq!(run.code, 2, "{}", run.describe());
        assert!(run.stdout.is_empty(), "{}", run.describe());
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
        assert!(run.stderr.starts_with("probedex: "), "{}", run.describe());
    }
    // A kind named outright that one side cannot have is an error, not an
    // empty comparison.
    let run = probedex(["diff", OLD, NEW, "fentry:vfs_read"]);
    assert_ne!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr_lines().len(), 1, "{}", run.describe());
    assert!(run.stderr.contains("BTF"), "{}", run.describe());
}

#[test]
fn live_against_this_machines_snapshot() {
    if live_system_available("diff live against a snapshot").is_none() {
        return;
    }
    let run = probedex(["diff", NEW, "live", "tracepoint:sched:*"]);
    assert!(matches!(run.code, 0 | 1), "{}", run.describe());
    assert!(
        run.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("tracepoint: ")),
        "{}",
        run.describe()
    );
    let run = probedex(["diff", "--json", "live", NEW]);
    assert!(matches!(run.code, 0 | 1), "{}", run.describe());
    let report = parse_report(&run);
    assert_eq!(report.summary.unwrap().old, "live");
}

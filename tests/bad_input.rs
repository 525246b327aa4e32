//! Bad input of every kind: broken format files (fixtures/corner, category
//! `broken`), bad `--root`/`PROBEDEX_TRACEFS`, unknown kinds, typos, and
//! unreadable files. Each must give the documented exit code and a clear
//! one-line `probedex: ...` message naming what failed and why — never a
//! panic (the helpers in `common` fail any run whose stderr mentions one).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{is_root, probedex, probedex_with, repo_dir, run, skip, Run, PROBEDEX};

const CORNER: &str = "fixtures/corner";

/// `(event, words the reason must contain)` for every file in category
/// `broken` that cannot be read as a format file.
const UNREADABLE: &[(&str, &str)] = &[
    (
        "truncated",
        "line 10: incomplete field line, 'si' is not 'key:value' (file truncated?)",
    ),
    ("empty", "no 'name:' line (empty or not a format file)"),
    ("garbage", "line 1: unexpected line"),
    ("missing_format", "no such file or directory"),
    ("bad_offset", "line 10: offset is not a number: '0x18'"),
    ("format_is_dir", "is a directory"),
];

fn format_path(event: &str) -> String {
    format!("{CORNER}/sys/kernel/tracing/events/broken/{event}/format")
}

/// Exactly one line on stderr, `probedex: ` first, containing every one of
/// `needles`; nothing on stdout.
fn assert_one_line_error(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, code, "{}", run.describe());
    assert_eq!(run.stdout, "", "{}", run.describe());
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "not one line:\n{}", run.describe());
    assert!(run.stderr.ends_with('\n'), "{}", run.describe());
    assert!(
        lines[0].starts_with("probedex: ") && !lines[0].starts_with("probedex: warning"),
        "{}",
        run.describe()
    );
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "stderr lacks {needle:?}:\n{}",
            run.describe()
        );
    }
}

/// No raw control character reaches the terminal (tab and newline aside).
fn assert_no_control_characters(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .collect();
        assert!(
            bad.is_empty(),
            "{name} has raw control characters {bad:?}:\n{}",
            run.describe()
        );
    }
}

#[test]
fn show_on_each_broken_file_names_the_file_and_the_reason() {
    for (event, reason) in UNREADABLE {
        let probe = format!("tracepoint:broken:{event}");
        let path = format_path(event);
        for args in [
            vec!["show", &probe],
            vec!["--json", "show", &probe],
            vec!["show", "--emit", "c", &probe],
        ] {
            let mut full = vec!["--root", CORNER];
            full.extend(args);
            let run = probedex(&full);
            assert_one_line_error(&run, 2, &[&path, reason]);
            assert_no_control_characters(&run);
        }
    }
}

#[test]
fn list_v_lists_every_broken_event_and_warns_once_per_broken_file() {
    let run = probedex(["--root", CORNER, "list", "-v", "tracepoint:broken:*"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let mut names: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("tracepoint:"))
        .collect();
    let mut expected: Vec<String> = UNREADABLE
        .iter()
        .map(|(e, _)| format!("tracepoint:broken:{e}"))
        .chain(["tracepoint:broken:overlapping".to_string()])
        .collect();
    expected.sort();
    assert_eq!(names, expected, "{}", run.describe());
    // The one broken file that parses still shows its fields.
    assert!(
        run.stdout
            .contains("tracepoint:broken:overlapping\n    int a\n    u64 b\n"),
        "{}",
        run.describe()
    );

    let warnings = run.stderr_lines();
    assert_eq!(warnings.len(), UNREADABLE.len(), "{}", run.describe());
    for (event, reason) in UNREADABLE {
        let prefix = format!("probedex: warning: {}: ", format_path(event));
        let matching: Vec<&&str> = warnings.iter().filter(|w| w.starts_with(&prefix)).collect();
        assert_eq!(matching.len(), 1, "{event}:\n{}", run.describe());
        assert!(matching[0].contains(reason), "{event}: {}", matching[0]);
    }
    assert_no_control_characters(&run);

    // JSON: one object per event; the unreadable ones carry the error.
    let run = probedex([
        "--root",
        CORNER,
        "--json",
        "list",
        "-v",
        "tracepoint:broken:*",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.stderr_lines().len(), UNREADABLE.len());
    names = Vec::new();
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for value in &lines {
        names.push(value["probe"].as_str().unwrap());
        let event = value["event"].as_str().unwrap();
        match UNREADABLE.iter().find(|(e, _)| *e == event) {
            Some((_, reason)) => {
                let error = value["error"].as_str().unwrap();
                assert!(error.contains(&format_path(event)), "{error}");
                assert!(error.contains(reason), "{error}");
            }
            None => assert!(value["fields"].is_array(), "{value}"),
        }
    }
    assert_eq!(names, expected);
}

#[test]
fn emit_c_refuses_overlapping_fields() {
    let probe = "tracepoint:broken:overlapping";
    // The layout itself is readable ...
    let run = probedex(["--root", CORNER, "show", probe]);
    assert_eq!(run.code, 0, "{}", run.describe());
    // ... but no C struct can hold it.
    let run = probedex(["--root", CORNER, "show", "--emit", "c", probe]);
    assert_one_line_error(
        &run,
        2,
        &[
            probe,
            "cannot write a C struct",
            "field 'b' at offset 10 overlaps the previous field, which ends at 12",
        ],
    );
}

#[test]
fn root_that_does_not_exist() {
    for command in [&["list"][..], &["show", "t:sched:sched_switch"]] {
        let mut args = vec!["--root", "/nonexistent/probedex-root"];
        args.extend(command);
        let run = probedex(&args);
        assert_one_line_error(
            &run,
            2,
            &["--root /nonexistent/probedex-root", "no such directory"],
        );
    }
}

#[test]
fn root_without_tracefs() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("proc")).unwrap();
    let root = dir.path().to_str().unwrap();
    let run = probedex(["--root", root, "list"]);
    assert_one_line_error(
        &run,
        2,
        &[
            &format!("--root {root}"),
            "no tracefs in this tree",
            "sys/kernel/tracing",
        ],
    );
}

#[test]
fn unknown_kind() {
    for command in ["list", "show"] {
        let run = probedex(["--root", CORNER, command, "foo:bar"]);
        assert_one_line_error(
            &run,
            2,
            &[
                "foo:bar: unknown probe kind 'foo'",
                "kinds are tracepoint",
                "'tracepoint:foo:...'",
            ],
        );
    }
    // A near miss of a kind gets a suggestion.
    let run = probedex(["--root", CORNER, "list", "tracepont:corner:*"]);
    assert_one_line_error(&run, 2, &["did you mean 'tracepoint'"]);
}

#[test]
fn empty_pattern() {
    let run = probedex(["--root", CORNER, "list", ""]);
    assert_one_line_error(&run, 2, &["empty probe pattern"]);
}

#[test]
fn misspelt_tracepoint_suggests_the_right_one() {
    for command in ["list", "show"] {
        let run = probedex(["--root", CORNER, command, "tracepoint:corner:pointer"]);
        assert_one_line_error(
            &run,
            1,
            &[
                "tracepoint:corner:pointer: no tracepoint matches",
                "did you mean tracepoint:corner:pointers",
            ],
        );
        let run = probedex([
            "--root",
            "fixtures/linux-6.18-x86_64",
            command,
            "t:syscalls:sys_enter_opnat",
        ]);
        assert_one_line_error(
            &run,
            1,
            &["did you mean tracepoint:syscalls:sys_enter_openat,"],
        );
        // A bare event name: the suggestion is still the full probe name.
        let run = probedex([
            "--root",
            "fixtures/linux-6.18-x86_64",
            command,
            "sched_swich",
        ]);
        assert_one_line_error(&run, 1, &["did you mean tracepoint:sched:sched_switch"]);
    }
}

/// A wildcard that matches nothing is not a typo: exit 1, no suggestion.
#[test]
fn wildcard_matching_nothing() {
    let run = probedex(["--root", CORNER, "list", "tracepoint:nosuch:*"]);
    assert_one_line_error(&run, 1, &["tracepoint:nosuch:*: no tracepoint matches"]);
    assert!(!run.stderr.contains("did you mean"), "{}", run.describe());
}

#[test]
fn tracefs_override_that_is_not_tracefs() {
    let empty = tempfile::tempdir().unwrap();
    let mut dirs = vec![empty.path().to_path_buf()];
    // The case users hit: PROBEDEX_TRACEFS=/tmp (unless /tmp happens to hold
    // an events/ tree, which would make it look like tracefs).
    let tmp = Path::new("/tmp");
    if !tmp.join("events").exists() && !tmp.join("available_events").exists() {
        dirs.push(tmp.to_path_buf());
    }
    for dir in dirs {
        let shown = dir.to_str().unwrap();
        // The override wins over --root too.
        // Named explicitly: without a pattern, `list` would also list the
        // live kernel's BTF functions before reporting the tracefs failure.
        for args in [&["list", "tracepoint:*"][..], &["--root", CORNER, "list"]] {
            let run = probedex_with(&repo_dir(), args, &[("PROBEDEX_TRACEFS", shown)]);
            assert_one_line_error(
                &run,
                2,
                &[
                    &format!("PROBEDEX_TRACEFS={shown}: not a tracefs directory"),
                    "unset it",
                ],
            );
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [&["show"][..], &["list", "--bogus"], &["frobnicate"]] {
        let run = probedex(args);
        assert_eq!(run.code, 2, "{}", run.describe());
        assert_eq!(run.stdout, "", "{}", run.describe());
        assert!(run.stderr.starts_with("error: "), "{}", run.describe());
    }
}

/// A tree whose event names and paths carry terminal escapes (a hostile or
/// corrupted capture): nothing may reach the terminal unescaped, on stdout
/// or in error messages on stderr.
#[test]
fn hostile_names_are_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let tracing = dir.path().join("sys/kernel/tracing");
    fs::create_dir_all(tracing.join("events")).unwrap();
    fs::write(
        tracing.join("available_events"),
        "evil:x\u{1b}[2Jy\nevil:ok\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    for args in [
        &["list"][..],
        &["list", "-v"],
        &["--json", "list", "-v"],
        &["show", "t:evil:*"],
        &["list", "t:evil:xy"],
    ] {
        let mut full = vec!["--root", root];
        full.extend(args);
        assert_no_control_characters(&probedex(&full));
    }
}

/// Copies a small valid tree into a temporary directory others can read,
/// with `broken:denied` whose format file is mode 000.
fn tree_with_unreadable_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let tracing = dir.path().join("sys/kernel/tracing");
    let source = repo_dir().join(CORNER).join("sys/kernel/tracing/events");
    for (category, event) in [("corner", "no_fields"), ("broken", "denied")] {
        let target = tracing.join("events").join(category).join(event);
        fs::create_dir_all(&target).unwrap();
        let text = fs::read_to_string(source.join("corner/no_fields/format")).unwrap();
        fs::write(target.join("format"), text.replace("no_fields", event)).unwrap();
    }
    fs::write(
        tracing.join("available_events"),
        "corner:no_fields\nbroken:denied\n",
    )
    .unwrap();
    let mut dir_mode = dir.path().to_path_buf();
    for part in ["sys", "kernel", "tracing"] {
        dir_mode.push(part);
        fs::set_permissions(&dir_mode, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(
        tracing.join("events/broken/denied/format"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    dir
}

/// How to run probedex so that file permissions apply: directly when not
/// root; as `nobody` through setpriv when root (root reads mode-000 files).
fn unprivileged() -> Result<Command, String> {
    if !is_root() {
        return Ok(Command::new(PROBEDEX));
    }
    let setpriv = |program: &str| {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            program,
        ]);
        c
    };
    match setpriv("true").status() {
        Ok(s) if s.success() => Ok(setpriv(PROBEDEX)),
        Ok(s) => Err(format!("setpriv cannot drop to nobody here ({s})")),
        Err(e) => Err(format!("setpriv is not available ({e})")),
    }
}

#[test]
fn permission_denied_is_the_system_refusing() {
    let command = match unprivileged() {
        Ok(c) => c,
        Err(reason) => {
            let reason = format!("needs an unprivileged user to make a file unreadable: {reason}");
            assert!(!common::is_ci(), "CI=true but this test {reason}");
            skip(&reason);
            return;
        }
    };
    let tree = tree_with_unreadable_file();
    let root = tree.path().to_str().unwrap();
    let path = format!("{root}/sys/kernel/tracing/events/broken/denied/format");
    let again = || {
        // Command is not Clone; rebuild it with the same program and args.
        let mut c = Command::new(command.get_program());
        c.args(command.get_args());
        c
    };

    // Sanity: the unprivileged user can read the rest of the tree.
    let ok = run(
        again(),
        tree.path(),
        ["--root", root, "show", "t:corner:no_fields"],
        &[],
    );
    assert_eq!(ok.code, 0, "{}", ok.describe());

    let denied = run(
        again(),
        tree.path(),
        ["--root", root, "show", "t:broken:denied"],
        &[],
    );
    assert_one_line_error(&denied, 3, &[&path, "permission denied"]);

    // list -v goes on: the event is listed, one warning names the file.
    let listed = run(again(), tree.path(), ["--root", root, "list", "-v"], &[]);
    assert_eq!(listed.code, 0, "{}", listed.describe());
    assert!(listed.stdout.starts_with("tracepoint:broken:denied\n"));
    let warnings = listed.stderr_lines();
    assert_eq!(warnings.len(), 1, "{}", listed.describe());
    assert!(
        warnings[0].starts_with(&format!("probedex: warning: {path}: permission denied")),
        "{}",
        listed.describe()
    );

    // An unreadable available_events stops everything: exit 3.
    let events = tree.path().join("sys/kernel/tracing/available_events");
    fs::set_permissions(&events, fs::Permissions::from_mode(0o000)).unwrap();
    let run_list = run(again(), tree.path(), ["--root", root, "list"], &[]);
    assert_one_line_error(
        &run_list,
        3,
        &[events.to_str().unwrap(), "permission denied"],
    );
}

/// Files the fuzzer (fuzz/, targets `elf_symbols` and `dwarf_params`)
/// found to crash, exhaust memory or take minutes; each must now give its
/// listing or a clear error, quickly. The test binary is built with
/// overflow checks, which is how most of them failed.
#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = repo_dir().join("fixtures/fuzz-regressions");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for file in &files {
        let pattern = format!("uprobe:{}:*", file.display());
        for args in [
            vec!["list", "-v", "--json", pattern.as_str()],
            vec!["show", pattern.as_str()],
        ] {
            let started = std::time::Instant::now();
            let out = probedex(&args);
            let took = started.elapsed();
            assert!(
                [0, 1, 2].contains(&out.code) && !out.stderr.contains("panicked"),
                "{args:?}: {}",
                out.describe()
            );
            assert!(took.as_secs() < 10, "{args:?} took {took:?}");
        }
    }
    // The one that claimed 3 GiB says so rather than allocating it.
    let out = probedex([
        "show",
        &format!(
            "uprobe:{}:add",
            dir.join("oom-compressed-size-claims-3GiB").display()
        ),
    ]);
    assert!(
        out.stdout.contains("claims 3221225472 bytes uncompressed"),
        "{}",
        out.describe()
    );
}

/// An ELF file the user may not read: the system refusing (exit 3), in one
/// line naming the file, for uprobe and usdt alike.
#[test]
fn an_unreadable_elf_file_is_the_system_refusing() {
    let command = match unprivileged() {
        Ok(c) => c,
        Err(reason) => {
            let reason = format!("needs an unprivileged user to make a file unreadable: {reason}");
            assert!(!common::is_ci(), "CI=true but this test {reason}");
            skip(&reason);
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("secret-program");
    fs::copy(common::on_path("true").unwrap(), &file).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
    for kind in ["uprobe", "usdt"] {
        let mut again = Command::new(command.get_program());
        again.args(command.get_args());
        let denied = run(
            again,
            dir.path(),
            ["list", &format!("{kind}:{}:*", file.display())],
            &[],
        );
        assert_one_line_error(&denied, 3, &[file.to_str().unwrap(), "permission denied"]);
    }
}

/// A `.note.stapsdt` whose descriptor length runs past its section: one
/// clear line naming the file, never a panic. Built from a compiled file by
/// patching the first SDT note's `n_descsz`.
#[test]
fn an_sdt_note_running_past_its_section_is_one_clear_error() {
    let Some(cc) = common::on_path("gcc") else {
        assert!(!common::is_ci(), "CI=true but gcc is missing");
        skip("no gcc to build a file with an SDT note");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("note.c");
    // The note sdt.h would emit, written out so no header is needed.
    fs::write(
        &source,
        r#"int main(void) {
    __asm__ volatile("990: nop\n"
        ".pushsection .note.stapsdt,\"?\",\"note\"\n"
        ".balign 4\n"
        ".4byte 992f-991f, 994f-993f, 3\n"
        "991: .asciz \"stapsdt\"\n"
        "992: .balign 4\n"
        "993: .8byte 990b\n"
        ".8byte 0\n"
        ".8byte 0\n"
        ".asciz \"prov\"\n"
        ".asciz \"name\"\n"
        ".asciz \"-4@$5\"\n"
        "994: .balign 4\n"
        ".popsection\n");
    return 0;
}
"#,
    )
    .unwrap();
    let binary = dir.path().join("note");
    let status = Command::new(cc)
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .unwrap();
    assert!(status.success());
    let good = probedex(["list", &format!("usdt:{}:*", binary.display())]);
    assert_eq!(
        good.stdout,
        format!("usdt:{}:prov:name\n", binary.display()),
        "{}",
        good.describe()
    );
    // n_namesz = 8 ("stapsdt\0"), then n_descsz: make it run far past.
    let mut bytes = fs::read(&binary).unwrap();
    let needle = b"stapsdt\0";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the note's name");
    let descsz = at - 8;
    bytes[descsz..descsz + 4].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let broken = dir.path().join("broken");
    fs::write(&broken, &bytes).unwrap();
    let out = probedex(["list", &format!("usdt:{}:*", broken.display())]);
    assert_one_line_error(&out, 2, &[broken.to_str().unwrap()]);
}

#[test]
fn attach_without_privileges_says_what_it_needs() {
    let command = match unprivileged() {
        Ok(c) => c,
        Err(reason) => {
            let reason = format!("needs an unprivileged user: {reason}");
            assert!(!common::is_ci(), "CI=true but this test {reason}");
            skip(&reason);
            return;
        }
    };
    // A raw tracepoint needs no tracefs: the refusal is the BPF load's.
    let run = run(
        command,
        &common::repo_dir(),
        ["attach", "rawtracepoint:sched_switch", "--duration", "0.1"],
        &[],
    );
    assert_one_line_error(&run, 3, &["needs root", "CAP_BPF"]);
}

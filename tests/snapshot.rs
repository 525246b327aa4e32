//! Snapshots: `snapshot -o` of the live system read back with `--snapshot`
//! prints exactly what the live system printed; `capture` unpacks a
//! snapshot into the tree `--root` reads; bad snapshot files are one-line
//! errors; `check` takes several snapshots.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{first_difference, have_tools, is_ci, live_system_available, probedex, Run};

const FIXTURE: &str = "fixtures/snapshots/linux-6.18-x86_64.snap";
const FIXTURE_5_10: &str = "fixtures/snapshots/centos8-linux5.10.snap";
/// The same, as probedex wrote snapshots before format 2.
const FIXTURE_5_10_V1: &str = "fixtures/snapshots/centos8-linux5.10.v1.snap";

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.describe());
}

fn assert_same(what: &str, live: &Run, snap: &Run) {
    assert_eq!(
        live.code,
        snap.code,
        "{what}: exit codes\n{}",
        snap.describe()
    );
    assert!(
        live.stdout == snap.stdout,
        "{what}: stdout differs: {}",
        first_difference(&live.stdout, &snap.stdout)
    );
    assert!(
        live.stderr == snap.stderr,
        "{what}: stderr differs: {}",
        first_difference(&live.stderr, &snap.stderr)
    );
}

/// Every `step`-th probe name of a listing, as arguments for `show`.
fn every_nth(listing: &str, step: usize) -> Vec<String> {
    listing.lines().step_by(step).map(str::to_string).collect()
}

#[test]
fn a_live_snapshot_reads_back_exactly() {
    if live_system_available("snapshot the live kernel").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.snap");
    let file = file.to_str().unwrap();
    let made = probedex(["snapshot", "-o", file]);
    ok(&made);
    // Every point of every kernel kind, with its layout or signature, in
    // both output forms, through `list -v` and through `show` (which also
    // gives each point's record struct, traceability and kallsyms symbols,
    // and takes kprobes from all of kallsyms). kretprobe and fexit list the
    // same functions as kprobe and fentry.
    let mut listed = Vec::new();
    for pattern in ["tracepoint:*", "rawtracepoint:*", "fentry:*", "kprobe:*"] {
        for command in [["list", "-v"].as_slice(), ["show"].as_slice()] {
            for json in [false, true] {
                let mut args = command.to_vec();
                args.push(pattern);
                if json {
                    args.insert(0, "--json");
                }
                let live = probedex(&args);
                let mut with = args.clone();
                with.extend(["--snapshot", file]);
                let snap = probedex(&with);
                assert!(
                    live.stdout.lines().count() > 1000,
                    "{pattern}: too few points to be a real kernel\n{}",
                    live.describe()
                );
                assert_same(&args.join(" "), &live, &snap);
            }
        }
        listed.push(probedex(["list", pattern]).stdout);
    }
    // `show` by name finds its points another way than by wildcard: every
    // tracepoint and raw tracepoint, each named on its own, and a spread of
    // the functions (56,000 names would be ~2 MB of arguments, about the
    // kernel's limit for one exec).
    for (listing, step) in listed.iter().zip([1, 1, 97, 97]) {
        let mut args = vec!["show".to_string()];
        args.extend(every_nth(listing, step));
        let live = probedex(&args);
        args.extend(["--snapshot".to_string(), file.to_string()]);
        let snap = probedex(&args);
        ok(&live);
        assert_same(&format!("show {} ...", args[1]), &live, &snap);
    }
    let live = probedex(["show", "struct:task_struct", "struct:pt_regs"]);
    let snap = probedex([
        "show",
        "struct:task_struct",
        "struct:pt_regs",
        "--snapshot",
        file,
    ]);
    assert_same("show struct:", &live, &snap);

    // The header names this kernel.
    let header = header_of(Path::new(file));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(header["kernel"]["release"], release.trim());
    assert_eq!(header["format"], "probedex-snapshot");
    assert!(
        header["features"].is_array(),
        "root snapshots try the program kinds"
    );
}

/// The first line of a snapshot, expanded with the zstd tool (not
/// probedex's reader).
fn header_of(path: &Path) -> serde_json::Value {
    let expanded = Command::new("zstd")
        .args(["-dc", path.to_str().unwrap()])
        .output();
    let bytes = match expanded {
        Ok(out) if out.status.success() => out.stdout,
        // Without the tool, the crate's decoder: still not probedex's code.
        _ => zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap(),
    };
    let line = bytes.split(|&b| b == b'\n').next().unwrap();
    serde_json::from_slice(line).unwrap()
}

#[test]
fn a_capture_of_a_snapshot_reads_the_same_through_root() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let tree_arg = tree.to_str().unwrap();
    ok(&probedex(["capture", "--snapshot", FIXTURE, tree_arg]));
    // The kernel's own files, as they were: kallsyms decoded back to text.
    let kallsyms = std::fs::read_to_string(tree.join("proc/kallsyms")).unwrap();
    let first = kallsyms.lines().next().unwrap();
    assert!(
        first.len() > 19 && first.as_bytes()[16] == b' ',
        "kallsyms line: {first:?}"
    );
    for pattern in [
        "tracepoint:sched:*",
        "tracepoint:syscalls:sys_enter_open*",
        "rawtracepoint:sched_*",
        "fentry:vfs_*",
        "kprobe:tcp_*",
    ] {
        let snap = probedex(["list", "-v", pattern, "--snapshot", FIXTURE]);
        let root = probedex(["list", "-v", pattern, "--root", tree_arg]);
        assert!(snap.stdout.lines().count() > 3, "{}", snap.describe());
        assert_eq!(snap.code, root.code);
        assert!(
            snap.stdout == root.stdout,
            "{pattern}: {}",
            first_difference(&snap.stdout, &root.stdout)
        );
    }
    // A capture of a capture's snapshot is the same tree, byte for byte.
    let again = dir.path().join("again.snap");
    ok(&probedex([
        "snapshot",
        "--root",
        tree_arg,
        "-o",
        again.to_str().unwrap(),
    ]));
    let tree2 = dir.path().join("tree2");
    ok(&probedex([
        "capture",
        "--snapshot",
        again.to_str().unwrap(),
        tree2.to_str().unwrap(),
    ]));
    assert_eq!(files_of(&tree), files_of(&tree2));
}

/// `snapshot --snapshot OLD -o NEW` rewrites a format 1 snapshot in the
/// current format: the same files, header and capture time.
#[test]
fn a_format_1_snapshot_rewrites_as_the_current_format() {
    let old = header_of(Path::new(FIXTURE_5_10_V1));
    assert_eq!(old["version"], 1);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    ok(&probedex([
        "snapshot",
        "--snapshot",
        FIXTURE_5_10_V1,
        "-o",
        &path("new.snap"),
    ]));
    let new = header_of(Path::new(&path("new.snap")));
    assert_eq!(new["version"], 2);
    for field in ["captured_unix", "source", "kernel", "features", "files"] {
        assert_eq!(old[field], new[field], "{field}");
    }
    ok(&probedex([
        "capture",
        "--snapshot",
        FIXTURE_5_10_V1,
        &path("old-tree"),
    ]));
    ok(&probedex([
        "capture",
        "--snapshot",
        &path("new.snap"),
        &path("new-tree"),
    ]));
    assert_eq!(
        files_of(Path::new(&path("old-tree"))),
        files_of(Path::new(&path("new-tree")))
    );
}

/// Every file under `root` with its bytes, sorted by path.
fn files_of(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_5_10_snapshot_matches_its_tree() {
    for pattern in ["tracepoint:*", "sys_enter_openat"] {
        let root = probedex([
            "list",
            "-v",
            pattern,
            "--root",
            "fixtures/centos8-linux5.10",
        ]);
        // Format 1 is still read, and reads the same.
        for file in [FIXTURE_5_10, FIXTURE_5_10_V1] {
            let snap = probedex(["list", "-v", pattern, "--snapshot", file]);
            ok(&snap);
            assert_eq!(snap.stdout, root.stdout, "{file}");
        }
    }
    // The snapshot holds no BTF: a kind that needs it is absent, not an
    // error, unless named.
    let fentry = probedex(["list", "fentry:*", "--snapshot", FIXTURE_5_10]);
    assert_ne!(fentry.code, 0, "{}", fentry.describe());
    assert_eq!(fentry.stderr.lines().count(), 1, "{}", fentry.describe());
    assert!(fentry.stderr.contains("BTF"), "{}", fentry.describe());
}

fn one_line_error(run: &Run, code: i32, words: &str) {
    assert_eq!(run.code, code, "{}", run.describe());
    assert!(run.stdout.is_empty(), "{}", run.describe());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.describe());
    assert!(
        run.stderr.contains(words),
        "wanted {words:?}: {}",
        run.describe()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
}

#[test]
fn bad_snapshots_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let list = |file: &str| probedex(["list", "tracepoint:sched:*", "--snapshot", file]);

    one_line_error(&list(&path("missing.snap")), 2, "No such file");
    std::fs::write(path("text.snap"), "tracepoint:sched:sched_switch\n").unwrap();
    one_line_error(&list(&path("text.snap")), 2, "not a probedex snapshot");
    let whole = std::fs::read(FIXTURE).unwrap();
    std::fs::write(path("short.snap"), &whole[..whole.len() / 2]).unwrap();
    one_line_error(&list(&path("short.snap")), 2, "damaged");
    std::fs::write(path("empty.snap"), b"").unwrap();
    one_line_error(&list(&path("empty.snap")), 2, "not a probedex snapshot");

    // A newer format says so rather than "damaged".
    let newer = zstd::encode_all(
        &b"{\"format\":\"probedex-snapshot\",\"version\":99,\"files\":[]}\n"[..],
        3,
    )
    .unwrap();
    std::fs::write(path("newer.snap"), newer).unwrap();
    one_line_error(&list(&path("newer.snap")), 2, "newer probedex");
    // A header whose files run past the data: the header frame, then one
    // data frame of 3 bytes.
    let mut lying = zstd::encode_all(
        &br#"{"format":"probedex-snapshot","version":1,"probedex":"x","captured_unix":0,"source":"live","kernel":{"release":null,"version":null,"machine":null,"build_id":null},"features":null,"frames":[3],"files":[{"path":"/proc/kallsyms","type":"file","stored":999999,"encoding":"raw"}]}
"#[..],
        3,
    )
    .unwrap();
    lying.extend(zstd::encode_all(&b"abc"[..], 3).unwrap());
    std::fs::write(path("lying.snap"), lying).unwrap();
    one_line_error(&list(&path("lying.snap")), 2, "runs past the end");
}

#[test]
fn what_a_snapshot_cannot_answer_is_refused() {
    let refused = [
        (
            vec!["list", "uprobe:/bin/true:*", "--snapshot", FIXTURE],
            "program files themselves",
        ),
        (vec!["list", "-p", "1", "--snapshot", FIXTURE], "-p reads"),
        (
            vec![
                "attach",
                "tracepoint:sched:sched_switch",
                "--snapshot",
                FIXTURE,
            ],
            "attach counts",
        ),
        (
            vec!["list", "--snapshot", FIXTURE, "--snapshot", FIXTURE_5_10],
            "only `check`",
        ),
    ];
    for (args, words) in refused {
        one_line_error(&probedex(&args), 2, words);
    }
    let both = probedex(["list", "--root", "x", "--snapshot", FIXTURE]);
    assert_eq!(both.code, 2, "{}", both.describe());
}

#[test]
fn check_gives_one_verdict_per_kernel() {
    if !have_tools(&["clang"], "compile a BPF object") {
        assert!(!is_ci(), "CI=true: clang is needed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let object = dir.path().join("good.bpf.o");
    let built = Command::new("clang")
        .args(["-target", "bpf", "-g", "-O2", "-c"])
        .arg(common::repo_dir().join("fixtures/src/bpf/check_good.bpf.c"))
        .arg("-o")
        .arg(&object)
        .status()
        .unwrap();
    assert!(built.success());
    let object = object.to_str().unwrap();
    let run = probedex([
        "--json",
        "check",
        object,
        "--snapshot",
        FIXTURE,
        "--snapshot",
        FIXTURE_5_10,
    ]);
    // 5.10's tree has no sched tracepoints: on_exec fails there only.
    assert_eq!(run.code, 1, "{}", run.describe());
    let reports: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "{}", run.describe());
    let verdict = |report: &serde_json::Value, program: &str| {
        report["programs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == program)
            .map(|p| p["verdict"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(reports[0]["kernel"]
        .as_str()
        .unwrap()
        .contains("Linux 6.18"));
    assert_eq!(reports[0]["failing"], 0);
    assert_eq!(verdict(&reports[0], "on_exec"), "ok");
    assert_eq!(verdict(&reports[0], "on_fchmodat"), "ok");
    assert_eq!(verdict(&reports[1], "on_exec"), "fail");
    assert_eq!(verdict(&reports[1], "on_fchmodat"), "ok");
    assert!(
        run.stderr
            .contains("would fail on the kernel of fixtures/snapshots/centos8"),
        "{}",
        run.describe()
    );
}

/// The header as docs/json.md documents it, and nothing else.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DocumentedHeader {
    format: String,
    version: u32,
    probedex: String,
    captured_unix: u64,
    source: String,
    kernel: DocumentedKernel,
    features: Option<Vec<serde_json::Value>>,
    groups: Vec<Vec<u64>>,
    files: Vec<DocumentedFile>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DocumentedKernel {
    release: Option<String>,
    version: Option<String>,
    machine: Option<String>,
    build_id: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentedFile {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    stored: u64,
    encoding: Option<String>,
    digits: Option<usize>,
    errno: Option<i32>,
}

#[test]
fn the_file_format_is_as_documented() {
    let bytes = zstd::decode_all(std::fs::File::open(FIXTURE).unwrap()).unwrap();
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
    let header: DocumentedHeader = serde_json::from_slice(&bytes[..newline]).unwrap();
    assert_eq!(header.format, "probedex-snapshot");
    assert_eq!(header.version, 2);
    // The data part is exactly the stored files, in order.
    let stored: u64 = header.files.iter().map(|f| f.stored).sum();
    assert_eq!(stored as usize, bytes.len() - newline - 1);
    let mut at = newline + 1;
    for file in &header.files {
        match file.kind.as_str() {
            "file" => {
                let data = &bytes[at..at + file.stored as usize];
                if file.path.ends_with("/format") {
                    assert!(data.starts_with(b"name: "), "{}", file.path);
                }
                if file.path == "/sys/kernel/btf/vmlinux" {
                    assert_eq!(&data[..2], &[0x9f, 0xeb], "BTF magic");
                }
                if file.path == "/proc/kallsyms" {
                    assert_eq!(file.encoding.as_deref(), Some("kallsyms-delta-pfx"));
                    assert_eq!(file.digits, Some(16));
                }
                at += file.stored as usize;
            }
            "error" => assert!(file.errno.is_some()),
            "dir" => assert_eq!(file.stored, 0),
            other => panic!("type {other}"),
        }
    }
    // One frame for the header, then each group's; BTF (5.5 MB) in two.
    assert_eq!(
        header.groups.iter().flatten().sum::<u64>(),
        stored,
        "{:?}",
        header.groups
    );
    assert_eq!(
        frame_count(&std::fs::read(FIXTURE).unwrap()),
        1 + header.groups.iter().map(Vec::len).sum::<usize>()
    );
    assert_eq!(
        header.groups.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 2, 1]
    );
    // Grouped as the frames: the rest, then BTF, then kallsyms; sorted
    // within each group.
    let group = |p: &str| match p {
        "/proc/kallsyms" => 2,
        p if p.starts_with("/sys/kernel/btf/") => 1,
        _ => 0,
    };
    let paths: Vec<(i32, &str)> = header
        .files
        .iter()
        .map(|f| (group(&f.path), f.path.as_str()))
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let paths: Vec<&str> = paths.into_iter().map(|(_, p)| p).collect();
    assert!(paths.contains(&"/proc/kallsyms"));
    assert_eq!(
        header.kernel.build_id.as_deref().map(str::len),
        Some(40),
        "a SHA-1 build ID"
    );
}

/// How many zstd frames `bytes` holds.
fn frame_count(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut rest = bytes;
    while !rest.is_empty() {
        let size = zstd::zstd_safe::find_frame_compressed_size(rest).unwrap();
        rest = &rest[size..];
        count += 1;
    }
    count
}

#[test]
fn features_print_what_the_snapshot_recorded() {
    let header = header_of(Path::new(FIXTURE));
    let stored = header["features"].as_array().unwrap();
    let run = probedex(["--json", "features", "--snapshot", FIXTURE]);
    ok(&run);
    let printed: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&printed, stored);
    let text = probedex(["features", "--snapshot", FIXTURE]);
    ok(&text);
    for row in stored {
        let sec = row["sec"].as_str().unwrap();
        let available = if row["available"].as_bool().unwrap() {
            "yes"
        } else {
            "NO"
        };
        assert!(
            text.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{sec} "))
                    && l.split_whitespace().nth(2) == Some(available)),
            "{sec} {available}\n{}",
            text.describe()
        );
    }
    one_line_error(
        &probedex(["features", "--snapshot", FIXTURE_5_10]),
        1,
        "records no features",
    );
}

#[test]
fn snapshot_refuses_bad_targets_and_empty_sources() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = dir.path().join("out.snap");
    one_line_error(
        &probedex([
            "snapshot",
            "--root",
            empty.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]),
        2,
        "holds nothing that describes a kernel",
    );
    assert!(!out.exists() && !dir.path().join("out.snap.partial").exists());
    // A path that cannot be written fails before any work.
    let run = probedex([
        "snapshot",
        "--root",
        "fixtures/centos8-linux5.10",
        "-o",
        "/nonexistent/dir/x.snap",
    ]);
    one_line_error(&run, 2, "cannot write /nonexistent/dir/x.snap");
    // capture will not write into a directory that has files.
    std::fs::write(empty.join("f"), "x").unwrap();
    one_line_error(
        &probedex([
            "capture",
            "--snapshot",
            FIXTURE_5_10,
            empty.to_str().unwrap(),
        ]),
        2,
        "is not empty",
    );
}

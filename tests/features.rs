//! `probedex features`: what it finds by trying, checked against the
//! kernel's own evidence and bpftool's `feature probe`, and the committed
//! BPF object checked against its source.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{have_tools, is_ci, is_root, probedex, repo_dir, skip, PROBEDEX};
use serde::Deserialize;

/// One `features --json` line, exactly as docs/json.md documents it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Feature {
    sec: String,
    prog_type: String,
    attach_type: Option<String>,
    target: Option<String>,
    available: bool,
    tried: String,
    failed_stage: Option<String>,
    errno: Option<i32>,
    errno_name: Option<String>,
    reason: Option<String>,
    log: Option<String>,
}

/// Program types bpftool (libbpf's `libbpf_probe_bpf_prog_type`) judges by
/// one load with a BTF target of its own choosing, as an fentry program:
/// one refused load (EPERM under a lockdown or sandbox that denies fentry)
/// makes it say the whole type is missing. probedex tries each kind, so
/// for these it may rightly say "available" where bpftool says not — e.g.
/// `tracing` when tp_btf or iter work but fentry is refused. For every
/// other type both load a trivial program of the type, and must agree.
const JUDGED_BY_ONE_BTF_LOAD: [&str; 4] = ["tracing", "lsm", "ext", "struct_ops"];

/// Runs `features --json` when the test may: root (under CI=true it must be).
fn features() -> Option<Vec<Feature>> {
    if !is_root() {
        assert!(!is_ci(), "CI=true but not root: cannot load BPF programs");
        skip("needs root to load BPF programs: features");
        return None;
    }
    let out = probedex(["features", "--json"]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let found: Vec<Feature> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(found.len() > 30, "{}", out.describe());
    Some(found)
}

fn find<'f>(found: &'f [Feature], sec: &str) -> &'f Feature {
    found
        .iter()
        .find(|f| f.sec == sec)
        .unwrap_or_else(|| panic!("features did not try {sec}"))
}

#[test]
fn tp_btf_works_and_kprobes_follow_the_kernel() {
    let Some(found) = features() else { return };
    let tp_btf = find(&found, "tp_btf");
    assert!(tp_btf.available, "tp_btf: {tp_btf:?}");
    assert_eq!(tp_btf.tried, "attach");
    assert_eq!(tp_btf.prog_type, "tracing");

    // libbpf attaches kprobes through the kprobe PMU, which exists exactly
    // when the kernel has CONFIG_KPROBES.
    let pmu = Path::new("/sys/bus/event_source/devices/kprobe").exists();
    let kprobe = find(&found, "kprobe");
    assert_eq!(kprobe.available, pmu, "kprobe with PMU {pmu}: {kprobe:?}");
    if !pmu {
        assert_eq!(kprobe.failed_stage.as_deref(), Some("attach"), "{kprobe:?}");
        let reason = kprobe.reason.as_deref().unwrap_or_default();
        assert!(reason.contains("CONFIG_KPROBES"), "{kprobe:?}");
    }
    for f in &found {
        assert_eq!(f.available, f.failed_stage.is_none(), "{f:?}");
        assert_eq!(f.available, f.reason.is_none(), "{f:?}");
        assert_eq!(f.errno.is_some(), f.errno_name.is_some(), "{f:?}");
    }
}

/// bpftool's `eBPF program_type NAME is available` / `is NOT available`.
fn bpftool_prog_types() -> BTreeMap<String, bool> {
    let out = Command::new("bpftool")
        .args(["feature", "probe", "kernel"])
        .output()
        .expect("run bpftool");
    assert!(out.status.success(), "bpftool feature probe kernel failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("eBPF program_type ")?;
            let (name, verdict) = rest.split_once(" is ")?;
            Some((name.to_string(), verdict == "available"))
        })
        .collect()
}

#[test]
fn program_types_agree_with_bpftool() {
    if !have_tools(&["bpftool"], "compare program types with bpftool") {
        return;
    }
    let Some(found) = features() else { return };
    let ours: BTreeMap<&str, bool> = found.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f.prog_type.as_str()).or_insert(false) |= f.available;
        m
    });
    let theirs = bpftool_prog_types();
    assert!(theirs.len() > 20, "bpftool listed {theirs:?}");
    for (name, &bpftool_says) in &theirs {
        let Some(&we_say) = ours.get(name.as_str()) else {
            panic!("features does not try program type {name} (bpftool: {bpftool_says})");
        };
        if we_say == bpftool_says {
            continue;
        }
        assert!(
            JUDGED_BY_ONE_BTF_LOAD.contains(&name.as_str()),
            "program type {name}: probedex says {we_say}, bpftool {bpftool_says}; both load \
             a trivial program of this type, so they must agree"
        );
        // The difference must be probedex seeing a kind work that bpftool
        // never tried, not probedex missing one bpftool saw.
        assert!(
            we_say && !bpftool_says,
            "program type {name}: bpftool finds it available but probedex does not"
        );
        let working: Vec<&str> = found
            .iter()
            .filter(|f| f.prog_type == *name && f.available)
            .map(|f| f.sec.as_str())
            .collect();
        assert!(
            working
                .iter()
                .any(|s| !["fentry", "fexit", "lsm"].contains(s)),
            "{name}: available only through {working:?}"
        );
    }
}

#[test]
fn text_view_says_why() {
    let Some(_) = features() else { return };
    let out = probedex(["features"]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let tp_btf = out
        .stdout
        .lines()
        .find(|l| l.starts_with("tp_btf "))
        .unwrap_or_else(|| panic!("no tp_btf line:\n{}", out.stdout));
    assert!(tp_btf.contains(" yes "), "{tp_btf}");
    assert!(
        out.stdout.contains("program types (available"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.is_empty() || out.stderr.contains("tracefs"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_privilege_it_refuses() {
    // As root, drop to nobody with no capabilities; otherwise run as is.
    let mut command = Command::new("setpriv");
    if is_root() {
        if !have_tools(&["setpriv"], "drop root to test the refusal") {
            return;
        }
        command.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            PROBEDEX,
        ]);
    } else {
        command = Command::new(PROBEDEX);
    }
    let out = common::run(command, &repo_dir(), ["features"], &[]);
    assert_eq!(out.code, 3, "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", out.describe());
    assert!(
        lines[0].contains("sudo") && lines[0].contains("CAP_BPF"),
        "{}",
        lines[0]
    );
}

/// Program sections (name and instruction bytes) and the license of a BPF
/// object: what the kernel receives, whatever the compiler's BTF layout.
fn programs_of(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    use object::{Object, ObjectSection, SectionKind};
    let file = object::File::parse(data).expect("parse the BPF object");
    file.sections()
        .filter(|s| s.kind() == SectionKind::Text || s.name() == Ok("license"))
        .map(|s| (s.name().unwrap().to_string(), s.data().unwrap().to_vec()))
        .collect()
}

#[test]
fn committed_objects_match_their_sources() {
    if !have_tools(&["clang", "llvm-strip"], "rebuild the objects of bpf/") {
        return;
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = Command::new("bash")
        .arg(repo_dir().join("bpf/build.sh"))
        .arg(dir.path())
        .output()
        .expect("run bpf/build.sh");
    assert!(
        out.status.success(),
        "bpf/build.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for object in ["probe.bpf.o", "count.bpf.o", "sample.bpf.o"] {
        let committed = std::fs::read(repo_dir().join("bpf").join(object)).unwrap();
        let fresh = std::fs::read(dir.path().join(object)).unwrap();
        if committed == fresh {
            continue;
        }
        // Another clang may lay out BTF differently; the programs must still
        // be the same, or the object is stale: run bpf/build.sh and commit it.
        let (want, got) = (programs_of(&fresh), programs_of(&committed));
        let names = |p: &[(String, Vec<u8>)]| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&got),
            names(&want),
            "bpf/{object} is stale: run bpf/build.sh"
        );
        for ((name, g), (_, w)) in got.iter().zip(&want) {
            assert_eq!(
                g, w,
                "section {name} of bpf/{object} is stale: run bpf/build.sh"
            );
        }
    }
}

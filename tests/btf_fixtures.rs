//! The BTF fixtures of `fixtures/btf/` (see fixtures/README.md): `build.sh`
//! turns the committed C sources into `sys/kernel/btf/{vmlinux,fakemod}`,
//! raw BTF as the kernel's sysfs serves it. Here: the script writes that
//! shape, twice the same bytes, and bpftool reads the same types from it as
//! `fixtures/btf/expected/*.raw.txt` record. Also that the hand-written text
//! files of `fixtures/kernel-mini/` agree with each other and with the BTF.
//!
//! Needs gcc, pahole (dwarves) and objcopy (binutils) to build, bpftool to
//! compare. Outside CI a missing tool skips with the reason printed; under
//! `CI=true` it fails. `PROBEDEX_UPDATE=1 cargo test --test btf_fixtures`
//! rewrites the expected dumps (read the diff: it is the BTF that changed).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{first_difference, have_tools, on_path, repo_dir, skip, updating};

/// The BTF magic, as the file's first two bytes (little-endian 0xeB9F).
const BTF_MAGIC: [u8; 2] = [0x9f, 0xeb];
/// `sizeof(struct btf_header)` for BTF version 1.
const BTF_HEADER_LEN: u32 = 24;

fn btf_dir() -> PathBuf {
    repo_dir().join("fixtures/btf")
}

fn mini_dir() -> PathBuf {
    repo_dir().join("fixtures/kernel-mini")
}

/// A fresh directory under cargo's per-target scratch space.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("btf-fixtures-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create a directory in CARGO_TARGET_TMPDIR")
}

/// Runs `fixtures/btf/build.sh OUT` and returns the two BTF files' paths.
fn build(out: &Path) -> (PathBuf, PathBuf) {
    let run = Command::new("bash")
        .arg(btf_dir().join("build.sh"))
        .arg(out)
        .output()
        .expect("run bash fixtures/btf/build.sh");
    assert!(
        run.status.success(),
        "build.sh {} failed ({}):\n{}",
        out.display(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let btf = out.join("sys/kernel/btf");
    (btf.join("vmlinux"), btf.join("fakemod"))
}

/// Checks the BTF header: magic, version 1, and that the type and string
/// sections the header describes are exactly the rest of the file, as the
/// kernel's btf_parse_hdr() requires of /sys/kernel/btf files.
fn check_header(path: &Path, bytes: &[u8]) {
    let name = path.display();
    assert!(
        bytes.len() >= BTF_HEADER_LEN as usize,
        "{name}: shorter than a BTF header"
    );
    assert_eq!(bytes[..2], BTF_MAGIC, "{name}: no BTF magic 0xeB9F");
    assert_eq!(bytes[2], 1, "{name}: BTF version");
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let (hdr_len, type_off, type_len, str_off, str_len) =
        (word(4), word(8), word(12), word(16), word(20));
    assert_eq!(hdr_len, BTF_HEADER_LEN, "{name}: hdr_len");
    assert_eq!(type_off, 0, "{name}: types right after the header");
    assert_eq!(str_off, type_len, "{name}: strings right after the types");
    assert!(type_len > 0 && str_len > 0, "{name}: empty section");
    assert_eq!(
        (hdr_len + str_off + str_len) as usize,
        bytes.len(),
        "{name}: sections do not end at the end of the file"
    );
}

#[test]
fn build_sh_writes_sysfs_btf_files_and_the_same_bytes_twice() {
    if !have_tools(&["gcc", "pahole", "objcopy"], "build the BTF fixtures") {
        return;
    }
    let (first, second) = (scratch(), scratch());
    let (vmlinux, fakemod) = build(first.path());
    let again = build(second.path());

    let names: BTreeSet<String> = fs::read_dir(first.path().join("sys/kernel/btf"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["fakemod".into(), "vmlinux".into()]));

    for (path, rebuilt) in [(&vmlinux, &again.0), (&fakemod, &again.1)] {
        let bytes = fs::read(path).unwrap();
        check_header(path, &bytes);
        assert!(
            bytes == fs::read(rebuilt).unwrap(),
            "{}: two builds from the same sources differ",
            path.display()
        );
    }

    // Split BTF: the module's strings do not restart at 0 but continue
    // after vmlinux's, so its first type's name offset is at least the
    // base's string length.
    let base = fs::read(&vmlinux).unwrap();
    let module = fs::read(&fakemod).unwrap();
    let base_str_len = u32::from_le_bytes(base[20..24].try_into().unwrap());
    let first_name_off = u32::from_le_bytes(module[24..28].try_into().unwrap());
    assert!(
        first_name_off >= base_str_len,
        "fakemod is not split BTF over vmlinux: first name_off {first_name_off}, \
         base strings {base_str_len}"
    );
}

#[test]
fn build_sh_names_the_tools_it_misses() {
    let Some(bash) = on_path("bash") else {
        return skip("bash not installed: cannot run build.sh");
    };
    let empty = scratch();
    let run = Command::new(bash)
        .arg(btf_dir().join("build.sh"))
        .arg(empty.path().join("out"))
        .env("PATH", empty.path())
        .output()
        .expect("run build.sh");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing: gcc pahole objcopy"), "{stderr}");
    assert!(!empty.path().join("out").exists());
}

/// `CMD --version`'s first line, for failure messages and versions.txt.
fn version(command: &str, arg: &str) -> String {
    Command::new(command)
        .arg(arg)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| format!("{command}: no version"))
}

fn tool_versions() -> String {
    format!(
        "{}\npahole {}\n{}\n",
        version("gcc", "--version"),
        version("pahole", "--version"),
        version("bpftool", "--version")
    )
}

fn bpftool_raw(args: &[&Path], base: Option<&Path>) -> String {
    let mut command = Command::new("bpftool");
    if let Some(base) = base {
        // bpftool 7 takes split BTF's base as an option, not a keyword.
        command.arg("-B").arg(base);
    }
    command
        .args(["btf", "dump", "file"])
        .args(args)
        .args(["format", "raw"]);
    let out = command.output().expect("run bpftool");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("bpftool prints UTF-8")
}

#[test]
fn bpftool_reads_the_expected_types() {
    if !have_tools(
        &["gcc", "pahole", "objcopy", "bpftool"],
        "compare the BTF fixtures with bpftool's view",
    ) {
        return;
    }
    let out = scratch();
    let (vmlinux, fakemod) = build(out.path());
    let expected = btf_dir().join("expected");
    let dumps = [
        ("vmlinux.raw.txt", bpftool_raw(&[&vmlinux], None)),
        ("fakemod.raw.txt", bpftool_raw(&[&fakemod], Some(&vmlinux))),
    ];
    let versions = tool_versions();
    if updating() {
        for (name, text) in &dumps {
            fs::write(expected.join(name), text).unwrap();
        }
        fs::write(expected.join("versions.txt"), &versions).unwrap();
        return;
    }
    let recorded = fs::read_to_string(expected.join("versions.txt")).unwrap_or_default();
    for (name, text) in &dumps {
        let want = fs::read_to_string(expected.join(name)).unwrap();
        assert!(
            &want == text,
            "fixtures/btf/expected/{name} is not what bpftool prints for a fresh build; \
             {}\n\nexpected made with:\n{recorded}\nthis machine:\n{versions}\n\
             Another gcc, pahole or bpftool can print other (still valid) BTF: review, \
             then PROBEDEX_UPDATE=1 cargo test --test btf_fixtures",
            first_difference(&want, text)
        );
    }
}

// --- fixtures/kernel-mini: the text files agree with each other and the BTF ---

/// `[N] FUNC 'name' ...` lines of a bpftool raw dump.
fn btf_funcs(dump: &str) -> BTreeSet<String> {
    dump.lines()
        .filter_map(|l| l.split_once("] FUNC '"))
        .map(|(_, rest)| rest.split('\'').next().unwrap().to_string())
        .collect()
}

/// /proc/kallsyms: `ADDR TYPE NAME` or `ADDR TYPE NAME\t[MODULE]`.
struct Ksym {
    addr: u64,
    kind: char,
    name: String,
    module: Option<String>,
}

fn kallsyms() -> Vec<Ksym> {
    let text = fs::read_to_string(mini_dir().join("proc/kallsyms")).unwrap();
    text.lines()
        .map(|line| {
            let (sym, module) = match line.split_once('\t') {
                Some((sym, m)) => {
                    let m = m.strip_prefix('[').and_then(|m| m.strip_suffix(']'));
                    (sym, Some(m.expect("module in brackets").to_string()))
                }
                None => (line, None),
            };
            let mut parts = sym.split(' ');
            let (addr, kind, name) = (parts.next(), parts.next(), parts.next());
            assert!(parts.next().is_none(), "kallsyms: extra field: {line:?}");
            let addr = addr.filter(|a| a.len() == 16).expect("16 hex digits");
            let kind = kind.filter(|k| k.len() == 1).expect("one type letter");
            Ksym {
                addr: u64::from_str_radix(addr, 16).expect("hex address"),
                kind: kind.chars().next().unwrap(),
                name: name.expect("a name").to_string(),
                module,
            }
        })
        .collect()
}

/// `name` or `name [module]`, the kernel's `%ps` (available_filter_functions,
/// kprobes/blacklist).
fn split_ps(text: &str) -> (String, Option<String>) {
    match text.split_once(" [") {
        Some((name, m)) => (name.into(), Some(m.strip_suffix(']').unwrap().into())),
        None => (text.into(), None),
    }
}

fn read_mini(path: &str) -> String {
    fs::read_to_string(mini_dir().join(path)).unwrap()
}

#[test]
fn kernel_mini_files_agree_with_each_other_and_the_btf() {
    let syms = kallsyms();
    let known: BTreeSet<(String, Option<String>)> = syms
        .iter()
        .map(|s| (s.name.clone(), s.module.clone()))
        .collect();

    // Core kernel symbols are sorted by address, in the kernel's mapping;
    // then come the modules, in module space, each in one run.
    let core: Vec<&Ksym> = syms.iter().filter(|s| s.module.is_none()).collect();
    assert!(
        core.windows(2).all(|w| w[0].addr <= w[1].addr),
        "core kallsyms not sorted"
    );
    assert!(core
        .iter()
        .all(|s| (0xffff_ffff_8000_0000..0xffff_ffff_c000_0000).contains(&s.addr)));
    let first_module = syms.iter().position(|s| s.module.is_some()).unwrap();
    assert!(syms[first_module..]
        .iter()
        .all(|s| s.module.is_some() && s.addr >= 0xffff_ffff_c000_0000));
    assert!(
        syms.iter().all(|s| "TtWwDdBbRr".contains(s.kind)),
        "unknown type letter"
    );

    // The cases fixtures/README.md promises.
    let count = |name: &str| syms.iter().filter(|s| s.name == name).count();
    assert_eq!(count("__list_add"), 2, "a name at two addresses");
    for clone in [
        "ftrace_syscall_enter.isra.0",
        "kallsyms_lookup.constprop.0",
        "do_mmap.part.0",
        "vfs_write.cold",
        "fakemod_read.cold",
    ] {
        assert_eq!(count(clone), 1, "{clone}");
    }
    assert_eq!(
        count("ftrace_syscall_enter"),
        0,
        "only the clone is in kallsyms"
    );

    // Every C function comes with its 16-byte __pfx_ padding symbol
    // (CONFIG_CALL_PADDING), right before it; .cold parts, section markers,
    // assembly and the pseudo-modules' symbols have none.
    let no_pfx = [
        "_stext",
        "_text",
        "__entry_text_start",
        "entry_SYSCALL_64",
        "entry_SYSCALL_64_safe_stack",
        "entry_SYSCALL_64_after_hwframe",
        "__entry_text_end",
        "__noinstr_text_start",
        "__noinstr_text_end",
        "_etext",
    ];
    for s in syms.iter().filter(|s| "TtWw".contains(s.kind)) {
        let pseudo = s
            .module
            .as_deref()
            .is_some_and(|m| m == "bpf" || m.starts_with("__builtin__"));
        if s.name.starts_with("__pfx_")
            || s.name.ends_with(".cold")
            || no_pfx.contains(&s.name.as_str())
            || pseudo
        {
            continue;
        }
        let pfx = format!("__pfx_{}", s.name);
        assert!(
            syms.iter()
                .any(|p| p.name == pfx && p.module == s.module && p.addr + 16 == s.addr),
            "{} has no {pfx} 16 bytes before it",
            s.name
        );
    }

    // available_filter_functions and the kprobe blacklist name only symbols
    // kallsyms has, with the same module.
    let filter = read_mini("sys/kernel/tracing/available_filter_functions");
    let traceable: Vec<(String, Option<String>)> = filter.lines().map(split_ps).collect();
    for f in &traceable {
        assert!(
            known.contains(f),
            "available_filter_functions: {f:?} not in kallsyms"
        );
    }
    let blacklist = read_mini("sys/kernel/debug/kprobes/blacklist");
    for line in blacklist.lines() {
        let (range, sym) = line.split_once('\t').expect("tab before the symbol");
        let (start, end) = range.split_once('-').expect("START-END");
        let hex = |v: &str| u64::from_str_radix(v.strip_prefix("0x").unwrap(), 16).unwrap();
        let (start, end) = (hex(start), hex(end));
        assert!(start < end, "{line}");
        let (name, module) = split_ps(sym);
        assert!(
            syms.iter()
                .any(|s| s.name == name && s.module == module && s.addr == start),
            "blacklist: {line:?} does not start at its kallsyms symbol"
        );
    }

    // The BTF's functions: each is in kallsyms (under its own name or only
    // as a clone), and the promised gaps are there.
    let vmlinux =
        btf_funcs(&fs::read_to_string(btf_dir().join("expected/vmlinux.raw.txt")).unwrap());
    let fakemod =
        btf_funcs(&fs::read_to_string(btf_dir().join("expected/fakemod.raw.txt")).unwrap());
    // A clone's name is the function's up to the first '.'.
    let in_module = |module: Option<&str>| -> BTreeSet<String> {
        syms.iter()
            .filter(|s| s.module.as_deref() == module)
            .map(|s| s.name.split('.').next().unwrap().to_string())
            .collect()
    };
    let (core_names, module_names) = (in_module(None), in_module(Some("fakemod")));
    for f in &vmlinux {
        assert!(
            core_names.contains(f),
            "BTF FUNC {f} has no kallsyms symbol"
        );
    }
    for f in &fakemod {
        assert!(
            module_names.contains(f),
            "fakemod BTF FUNC {f} not in kallsyms [fakemod]"
        );
    }
    let traced: BTreeSet<&str> = traceable.iter().map(|(n, _)| n.as_str()).collect();
    for notrace in ["sched_clock", "do_syscall_64"] {
        assert!(
            vmlinux.contains(notrace) && !traced.contains(notrace),
            "{notrace}"
        );
    }
    assert!(
        blacklist.contains("\tatomic_notifier_call_chain\n")
            && traced.contains("atomic_notifier_call_chain")
    );
    for not_btf in ["entry_SYSCALL_64", "arch_cpu_idle_dead", "cleanup_module"] {
        assert!(
            !vmlinux.contains(not_btf) && !fakemod.contains(not_btf),
            "{not_btf}"
        );
    }

    // Every event in available_events has its format file, and the ones
    // copied from the 6.18 capture are still byte-identical to it.
    let events = read_mini("sys/kernel/tracing/available_events");
    for event in events.lines() {
        let (system, name) = event.split_once(':').unwrap();
        let format = format!("sys/kernel/tracing/events/{system}/{name}/format");
        let text = read_mini(&format);
        assert!(text.starts_with(&format!("name: {name}\nID: ")), "{format}");
        let capture = repo_dir().join("fixtures/linux-6.18-x86_64").join(&format);
        if system != "fakemod" {
            assert_eq!(text, fs::read_to_string(capture).unwrap(), "{format}");
        }
    }
    assert_eq!(read_mini("sys/kernel/tracing/kprobe_events"), "");
    let kprobe_type = read_mini("sys/bus/event_source/devices/kprobe/type");
    assert!(kprobe_type.trim_end().parse::<u32>().is_ok() && kprobe_type.ends_with('\n'));
}

//! `probedex gen`: the programs it writes compile with clang against
//! libbpf's headers, load, attach, and send the values the probe point
//! really had. The event's layout comes from `gen --json`, whose offsets
//! the generated source also checks with `_Static_assert`.
//!
//! Needs root, the live kernel, clang and libbpf-dev's headers; outside CI
//! the tests skip with a printed reason, under `CI=true` they must run.

mod common;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{have_c_header, have_tools, is_ci, live_system_available, on_path, probedex, skip};
use libbpf_rs::MapCore;
use serde_json::Value;

const LIBBPF_HEADER: &str = "/usr/include/bpf/bpf_helpers.h";

/// Root, tracefs, clang and libbpf's headers; plus whatever `tools` names.
fn prerequisites(what: &str, tools: &[&str]) -> bool {
    if live_system_available(what).is_none() {
        return false;
    }
    let mut all = vec!["clang"];
    all.extend_from_slice(tools);
    if !have_tools(&all, what) {
        return false;
    }
    if !Path::new(LIBBPF_HEADER).is_file() {
        let reason = format!("{LIBBPF_HEADER} missing (libbpf-dev not installed): cannot {what}");
        assert!(!is_ci(), "CI=true but {reason}");
        skip(&reason);
        return false;
    }
    true
}

/// A generated program: its source written to a scratch directory, and the
/// layout `gen --json` gave for its event.
struct Generated {
    dir: tempfile::TempDir,
    source: PathBuf,
    json: Value,
}

impl Generated {
    fn new(probe: &str) -> Generated {
        let run = probedex(["--json", "gen", probe]);
        assert_eq!(run.code, 0, "{}", run.describe());
        let json: Value = serde_json::from_str(&run.stdout).expect("gen --json is JSON");
        let dir = tempfile::Builder::new()
            .prefix("gen-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let source = dir.path().join("prog.bpf.c");
        std::fs::write(&source, json["source"].as_str().expect("source")).unwrap();
        // The text form is the same program.
        let text = probedex(["gen", probe]);
        assert_eq!(text.code, 0, "{}", text.describe());
        assert_eq!(text.stdout, json["source"].as_str().unwrap());
        Generated { dir, source, json }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.source).unwrap()
    }

    /// Compiles the program, writing vmlinux.h first when it includes it.
    fn compile(&self) -> PathBuf {
        self.compile_with(&[])
    }

    /// Compiles with extra `-I` directories searched first.
    fn compile_with(&self, includes: &[PathBuf]) -> PathBuf {
        if self.text().contains("#include \"vmlinux.h\"") {
            let out = Command::new("bpftool")
                .args([
                    "btf",
                    "dump",
                    "file",
                    "/sys/kernel/btf/vmlinux",
                    "format",
                    "c",
                ])
                .output()
                .expect("run bpftool");
            assert!(out.status.success(), "bpftool btf dump failed");
            std::fs::write(self.dir.path().join("vmlinux.h"), out.stdout).unwrap();
        }
        let object = self.dir.path().join("prog.bpf.o");
        let out = Command::new("clang")
            .args(["-target", "bpf", "-D__TARGET_ARCH_x86", "-g", "-O2"])
            .args(includes.iter().map(|dir| format!("-I{}", dir.display())))
            .arg(format!(
                "-I/usr/include/{}-linux-gnu",
                std::env::consts::ARCH
            ))
            .arg("-c")
            .arg(&self.source)
            .arg("-o")
            .arg(&object)
            .output()
            .expect("run clang");
        assert!(
            out.status.success(),
            "clang rejected the generated program:\n{}\n--- source ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.text()
        );
        object
    }

    /// `(offset, size)` of an event member.
    fn slot(&self, name: &str) -> (usize, usize) {
        let slot = self.json["event"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no event member {name}: {}", self.json["event"]));
        (
            slot["offset"].as_u64().unwrap() as usize,
            slot["size"].as_u64().unwrap() as usize,
        )
    }

    fn event_size(&self) -> usize {
        self.json["event_size"].as_u64().unwrap() as usize
    }

    fn u64_of(&self, event: &[u8], name: &str) -> u64 {
        let (offset, size) = self.slot(name);
        let mut bytes = [0u8; 8];
        bytes[..size].copy_from_slice(&event[offset..offset + size]);
        u64::from_ne_bytes(bytes)
    }

    fn string_of(&self, event: &[u8], name: &str) -> String {
        let (offset, size) = self.slot(name);
        let raw = &event[offset..offset + size];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(size);
        String::from_utf8_lossy(&raw[..end]).into_owned()
    }
}

/// Loads `object`, attaches every program by its SEC() name, runs
/// `trigger`, and polls the `events` ring buffer until `wanted` accepts an
/// event or five seconds pass. Returns how many events arrived and whether
/// one was wanted.
fn run_and_watch(
    object: &Path,
    trigger: impl FnOnce() -> u32,
    wanted: impl Fn(&[u8], u32) -> bool,
) -> (usize, bool) {
    let open = libbpf_rs::ObjectBuilder::default()
        .open_file(object)
        .expect("libbpf opens the object");
    let object = open.load().expect("the kernel loads the generated program");
    let links: Vec<libbpf_rs::Link> = object
        .progs_mut()
        .map(|p| p.attach().expect("the program attaches by its SEC() name"))
        .collect();
    assert!(!links.is_empty(), "no program in the object");
    let events: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let map = object
        .maps()
        .find(|m| m.name() == "events")
        .expect("an events map");
    let mut builder = libbpf_rs::RingBufferBuilder::new();
    let sink = Rc::clone(&events);
    builder
        .add(&map, move |data: &[u8]| {
            sink.borrow_mut().push(data.to_vec());
            0
        })
        .unwrap();
    let ring = builder.build().unwrap();
    let pid = trigger();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut count = 0;
    let mut found = false;
    while Instant::now() < deadline && !found {
        ring.poll(Duration::from_millis(100)).unwrap();
        let batch: Vec<Vec<u8>> = events.borrow_mut().drain(..).collect();
        count += batch.len();
        found = batch.iter().any(|e| wanted(e, pid));
    }
    drop(links);
    (count, found)
}

fn run_child(program: &str, args: &[&str]) -> u32 {
    let mut child = Command::new(program)
        .args(args)
        .spawn()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let pid = child.id();
    let status = child.wait().unwrap();
    assert!(status.success(), "{program} {args:?}: {status}");
    pid
}

#[test]
fn syscall_tracepoint_sends_the_user_string_and_mode() {
    if !prerequisites("compile and run gen's fchmodat program", &[]) {
        return;
    }
    let g = Generated::new("tracepoint:syscalls:sys_enter_fchmodat");
    let text = g.text();
    assert!(
        text.contains("SEC(\"tracepoint/syscalls/sys_enter_fchmodat\")"),
        "{text}"
    );
    assert!(text.contains("bpf_probe_read_user_str("), "{text}");
    assert!(!text.contains("#include \"vmlinux.h\""), "{text}");
    let object = g.compile();

    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap().to_string();
    let (count, found) = run_and_watch(
        &object,
        || run_child("chmod", &["0755", &path]),
        |event, _| {
            assert_eq!(event.len(), g.event_size());
            g.string_of(event, "filename") == path && g.u64_of(event, "mode") == 0o755
        },
    );
    assert!(
        found,
        "no event with filename {path} and mode 0755 among {count} events"
    );
}

#[test]
fn data_loc_string_is_read_from_the_record() {
    if !prerequisites("compile and run gen's sched_process_exec program", &[]) {
        return;
    }
    let g = Generated::new("tracepoint:sched:sched_process_exec");
    let object = g.compile();
    let program = on_path("true").expect("true on PATH");
    let program = program.to_str().unwrap().to_string();
    let (count, found) = run_and_watch(
        &object,
        || run_child(&program, &[]),
        |event, pid| {
            g.string_of(event, "filename") == program && g.u64_of(event, "pid") == u64::from(pid)
        },
    );
    assert!(found, "no exec event for {program} among {count} events");
}

#[test]
fn tp_btf_program_gets_typed_arguments() {
    if !prerequisites("compile and run gen's tp_btf program", &["bpftool"]) {
        return;
    }
    let g = Generated::new("rawtracepoint:sched_process_exec");
    let text = g.text();
    assert!(
        text.contains("SEC(\"tp_btf/sched_process_exec\")"),
        "{text}"
    );
    assert!(
        text.contains("BPF_PROG(handle, struct task_struct *p, pid_t old_pid"),
        "{text}"
    );
    let object = g.compile();
    let program = on_path("true").expect("true on PATH");
    let program = program.to_str().unwrap().to_string();
    let (count, found) = run_and_watch(
        &object,
        || run_child(&program, &[]),
        |event, pid| g.u64_of(event, "old_pid") == u64::from(pid) && g.u64_of(event, "p") != 0,
    );
    assert!(
        found,
        "no sched_process_exec event with old_pid of the child among {count}"
    );
}

#[test]
fn uprobe_on_libc_getpid_fires() {
    if !prerequisites(
        "compile and run gen's uprobe program",
        &["bpftool", "python3"],
    ) {
        return;
    }
    let g = Generated::new("uprobe:libc:getpid");
    let text = g.text();
    assert!(text.contains("SEC(\"uprobe/"), "{text}");
    assert!(text.contains(":getpid\")"), "{text}");
    assert!(text.contains("int BPF_UPROBE(handle)"), "{text}");
    let object = g.compile();
    let (count, found) = run_and_watch(
        &object,
        || run_child("python3", &["-c", "import os; os.getpid()"]),
        |event, _| event.len() == g.event_size() && g.u64_of(event, "__none") == 0,
    );
    assert!(
        found,
        "no well-formed event from the uprobe on getpid among {count}"
    );
}

#[test]
fn kernel_function_programs_compile() {
    if !prerequisites("compile gen's fentry and kprobe programs", &["bpftool"]) {
        return;
    }
    // This kernel refuses fentry loads and has no kprobes: compiling is
    // what can be checked here.
    for (probe, head) in [
        ("fentry:vfs_read", "int BPF_PROG(handle, struct file *file, char *buf, size_t count, loff_t *pos)"),
        ("fexit:vfs_read", "int BPF_PROG(handle, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)"),
        ("kprobe:vfs_read", "int BPF_KPROBE(handle, struct file *file, char *buf, size_t count, loff_t *pos)"),
        ("kretprobe:vfs_read", "int BPF_KRETPROBE(handle, ssize_t ret)"),
    ] {
        let g = Generated::new(probe);
        let text = g.text();
        assert!(text.contains(head), "{probe}: no `{head}` in\n{text}");
        let object = g.compile();
        assert!(object.is_file(), "{probe}: no object written");
    }
}

#[test]
fn gen_wants_exactly_one_point() {
    if live_system_available("check gen's errors against the live tracepoints").is_none() {
        return;
    }
    let run = probedex(["gen", "tracepoint:sched:sched_process_e*"]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(run.stderr.contains("exactly one"), "{}", run.describe());
    let run = probedex(["gen", "tracepoint:sched:no_such_event"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("no tracepoint matches"),
        "{}",
        run.describe()
    );
}

#[test]
fn usdt_program_gets_the_arguments() {
    if !prerequisites("compile and run gen's usdt program", &["bpftool", "gcc"])
        || !have_c_header("sys/sdt.h", "systemtap-sdt-dev", "build the USDT program")
    {
        return;
    }
    let scratch = tempfile::Builder::new()
        .prefix("gen-usdt-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let c = scratch.path().join("tick.c");
    // argc makes the first argument a run-time value, not a constant.
    std::fs::write(
        &c,
        "#include <sys/sdt.h>\nint main(int argc, char **argv)\n{\n\tlong a = 41 + argc;\n\tint b = -7;\n\t(void)argv;\n\tDTRACE_PROBE2(probedex, tick, a, b);\n\treturn 0;\n}\n",
    )
    .unwrap();
    let binary = scratch.path().join("tick");
    let out = Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&binary)
        .arg(&c)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = binary.to_str().unwrap().to_string();
    let g = Generated::new(&format!("usdt:{binary}:probedex:tick"));
    let text = g.text();
    assert!(
        text.contains("int BPF_USDT(handle, long arg0, long arg1)"),
        "{text}"
    );
    // usdt.bpf.h and libbpf share the layout of the argument specs libbpf
    // writes into a map, and it changed after 1.1 (Debian 12's libbpf-dev):
    // the program must be built with the headers of the libbpf that loads
    // it, here libbpf-rs's vendored one.
    let object = g.compile_with(&[loader_headers()]);
    let (count, found) = run_and_watch(
        &object,
        || run_child(&binary, &[]),
        |event, _| g.u64_of(event, "arg0") == 42 && g.u64_of(event, "arg1") as i64 == -7,
    );
    assert!(found, "no usdt event with arguments (42, -7) among {count}");
}

/// The include directory of the libbpf this test binary links (libbpf-sys
/// builds it under target/PROFILE/build/libbpf-sys-*/out/include), picked
/// by the version libbpf reports at run time.
fn loader_headers() -> PathBuf {
    // SAFETY: plain getters of compile-time constants.
    let (major, minor) = unsafe {
        (
            libbpf_rs::libbpf_sys::libbpf_major_version(),
            libbpf_rs::libbpf_sys::libbpf_minor_version(),
        )
    };
    let exe = std::env::current_exe().unwrap();
    let build = exe
        .parent()
        .and_then(Path::parent)
        .map(|profile| profile.join("build"))
        .unwrap();
    let wanted = [
        format!("#define LIBBPF_MAJOR_VERSION {major}"),
        format!("#define LIBBPF_MINOR_VERSION {minor}"),
    ];
    std::fs::read_dir(&build)
        .unwrap_or_else(|e| panic!("{}: {e}", build.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("libbpf-sys-"))
        .map(|e| e.path().join("out/include"))
        .find(|dir| {
            std::fs::read_to_string(dir.join("bpf/libbpf_version.h"))
                .is_ok_and(|text| wanted.iter().all(|w| text.contains(w.as_str())))
        })
        .unwrap_or_else(|| {
            panic!(
                "no libbpf {major}.{minor} headers under {}/libbpf-sys-*/out/include",
                build.display()
            )
        })
}

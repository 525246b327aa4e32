//! `-p PID`: user-space kinds over the files a running process maps,
//! checked against that process's own `/proc/PID/maps`, including a process
//! in another mount namespace whose files only exist there.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{have_tools, is_root, probedex, skip};

/// A child that is killed when the test ends, even on panic.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

/// Starts `command` and waits until the kernel shows `wanted` mapped in
/// it (the exec and the loader's mmaps have happened).
fn start(command: &mut Command, wanted: &str) -> Running {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the child process");
    let running = Running(child);
    let maps = format!("/proc/{}/maps", running.pid());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&maps).is_ok_and(|m| m.contains(wanted)) {
        assert!(
            Instant::now() < deadline,
            "{wanted} never appeared in {maps}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    running
}

/// The executable files in `/proc/PID/maps`, by the test's own reading.
fn mapped_code(pid: u32) -> BTreeSet<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(6, ' ').collect();
            let path = fields.get(5)?.trim_start();
            (fields[1].contains('x') && path.starts_with('/')).then(|| path.to_string())
        })
        .collect()
}

fn file_of(line: &str) -> &str {
    // uprobe:/path/to/file:function
    let rest = line.split_once(':').unwrap().1;
    &rest[..rest.find(':').unwrap()]
}

#[test]
fn lists_the_functions_of_every_mapped_file_once() {
    let sleeper = start(Command::new("sleep").arg("60"), "libc");
    let pid = sleeper.pid().to_string();
    let code = mapped_code(sleeper.pid());
    let libc = code
        .iter()
        .find(|p| p.contains("/libc.so") || p.contains("/libc-"))
        .expect("sleep maps libc")
        .clone();

    // A library name resolves among the process's files.
    let out = probedex(["list", "-p", &pid, "uprobe:libc:malloc"]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_eq!(out.stdout, format!("uprobe:{libc}:malloc\n"));
    // No file part: every mapped file, here only libc defines malloc.
    let out = probedex(["list", "-p", &pid, "uprobe:malloc"]);
    assert_eq!(
        out.stdout,
        format!("uprobe:{libc}:malloc\n"),
        "{}",
        out.describe()
    );

    // No pattern: uprobes of the mapped code files and nothing else; the
    // same function of one file never twice.
    let out = probedex(["list", "-p", &pid]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let lines: Vec<&str> = out.stdout.lines().collect();
    let files: BTreeSet<String> = lines.iter().map(|l| file_of(l).to_string()).collect();
    assert!(files.is_subset(&code), "{files:?} not all in {code:?}");
    assert!(files.contains(&libc), "{files:?}");
    let unique: BTreeSet<&&str> = lines.iter().collect();
    assert_eq!(unique.len(), lines.len(), "a point listed twice");
    // libc's own listing, by path, is the same set.
    let direct = probedex(["list", &format!("uprobe:{libc}:*")]);
    let from_process: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| file_of(l) == libc)
        .collect();
    assert_eq!(from_process, direct.stdout.lines().collect::<Vec<_>>());

    // JSON says which process.
    let out = probedex(["list", "--json", "-p", &pid, "uprobe:libc:free"]);
    let object: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(object["pid"], sleeper.pid(), "{object}");
    assert_eq!(object["path"], libc.as_str());

    // A file the process does not map: say what it maps.
    let out = probedex(["list", "-p", &pid, "uprobe:libnosuchlib:f"]);
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(out.stderr.contains("maps no file"), "{}", out.describe());
    assert!(out.stderr.contains(&libc), "{}", out.describe());
}

#[test]
fn a_process_that_is_gone_is_a_clear_error() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id().to_string();
    child.wait().unwrap();
    let out = probedex(["list", "-p", &pid, "uprobe:libc:malloc"]);
    assert_eq!(out.code, 2, "{}", out.describe());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("no process {pid}")),
        "{}",
        out.describe()
    );
}

/// A process in its own mount namespace runs a copy of bash from a tmpfs
/// only it can see: its files must be read through /proc/PID/root and shown
/// by a path that reaches them from here.
#[test]
fn reads_a_process_in_another_mount_namespace() {
    if !is_root() {
        assert!(!common::is_ci(), "CI=true runs as root");
        skip("entering a new mount namespace needs root");
        return;
    }
    if !have_tools(
        &["unshare", "bash"],
        "run a process in its own mount namespace",
    ) {
        return;
    }
    let private = tempfile::tempdir().unwrap();
    let dir = private.path().display().to_string();
    // `; true` keeps bash itself running rather than exec'ing sleep.
    let script = format!(
        "mount -t tmpfs probedex-test {dir} && cp \"$(command -v bash)\" {dir}/hidden-bash \
         && exec {dir}/hidden-bash -c 'sleep 60; true'"
    );
    let shell = start(
        Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]),
        "hidden-bash",
    );
    let pid = shell.pid().to_string();
    // From here the directory is empty: the file is only in its namespace.
    assert!(!private.path().join("hidden-bash").exists());

    let out = probedex(["list", "--json", "-p", &pid, "uprobe:hidden-bash:readline"]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let object: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let path = object["path"].as_str().unwrap();
    assert_eq!(
        path,
        format!("/proc/{pid}/root{dir}/hidden-bash"),
        "{object}"
    );
    assert_eq!(
        object["process_path"],
        format!("{dir}/hidden-bash"),
        "{object}"
    );
    // The shown path reaches the file from here: the same bytes as bash.
    let bash = common::on_path("bash").unwrap();
    assert_eq!(std::fs::read(path).unwrap(), std::fs::read(bash).unwrap());
    // Its libc, too, goes through /proc/PID/root.
    let out = probedex(["list", "-p", &pid, "uprobe:libc:malloc"]);
    assert!(
        out.stdout.starts_with(&format!("uprobe:/proc/{pid}/root/")),
        "{}",
        out.describe()
    );
}

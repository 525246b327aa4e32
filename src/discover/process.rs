//! The ELF objects a running process has mapped, for `-p PID`: what
//! uprobes and USDT probes on that process can attach to.
//!
//! Paths in `/proc/PID/maps` are the process's own, inside its mount
//! namespace. A containerised process's `/usr/lib/libc.so.6` is not ours,
//! so files are opened through `/proc/PID/root`, which the kernel resolves
//! in the process's namespace. When the process shares our mount namespace
//! the plain path names the same file and is what the user can paste into
//! bpftrace or a libbpf program, so that one is shown.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use procfs::process::{MMapPath, Process};
use procfs::ProcError;

use super::DiscoverError;
use crate::system::System;

/// One mapped file with executable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedObject {
    /// As the process sees it (`/proc/PID/maps`).
    pub process_path: PathBuf,
    /// The path that reaches the file from here: the same path when we
    /// share the process's mount namespace, else `/proc/PID/root/...`.
    pub path: PathBuf,
}

/// What `-p PID` found.
#[derive(Debug, Clone)]
pub struct ProcessObjects {
    pub pid: u32,
    /// `comm`, for messages.
    pub command: String,
    /// Each executable file once (by device and inode), in map order: the
    /// program first, then libraries as the loader mapped them.
    pub objects: Vec<MappedObject>,
    /// Executable mappings of files deleted since (an upgraded library
    /// still in use): they cannot be opened by path.
    pub deleted: Vec<String>,
}

/// Why the process could not be read, in the user's terms.
fn process_error(system: &System, pid: u32, e: ProcError) -> DiscoverError {
    let proc_dir = system.path(&format!("/proc/{pid}"));
    let (kind, reason) = match e {
        ProcError::NotFound(_) => (
            io::ErrorKind::NotFound,
            format!("no process {pid} (it exited, or never existed)"),
        ),
        ProcError::PermissionDenied(_) => (
            io::ErrorKind::PermissionDenied,
            format!(
                "reading process {pid}'s memory map is not permitted; run as root or as the \
                 process's owner"
            ),
        ),
        other => (io::ErrorKind::Other, other.to_string()),
    };
    DiscoverError::io(proc_dir, io::Error::new(kind, reason))
}

/// The executable objects mapped by `pid`.
pub fn mapped_objects(system: &System, pid: u32) -> Result<ProcessObjects, DiscoverError> {
    let proc_dir = system.path(&format!("/proc/{pid}"));
    let failed = |e| process_error(system, pid, e);
    let process = Process::new_with_root(proc_dir.clone()).map_err(failed)?;
    let command = process
        .stat()
        .map(|s| s.comm)
        .unwrap_or_else(|_| "?".to_string());
    let maps = process.maps().map_err(failed)?;
    let same_namespace = system.is_live() && shares_mount_namespace(&proc_dir);
    let mut seen: HashSet<(i32, i32, u64)> = HashSet::new();
    let mut objects = Vec::new();
    let mut deleted = Vec::new();
    for map in maps {
        let MMapPath::Path(path) = &map.pathname else {
            continue;
        };
        // Only code: data files (locale-archive, fonts, caches) are mapped
        // without `x`, and every ELF with functions has an executable segment.
        if !map.perms.contains(procfs::process::MMPermissions::EXECUTE) {
            continue;
        }
        if !seen.insert((map.dev.0, map.dev.1, map.inode)) {
            continue;
        }
        let text = path.to_string_lossy();
        if let Some(gone) = text.strip_suffix(" (deleted)") {
            deleted.push(gone.to_string());
            continue;
        }
        let reachable = if !system.is_live() {
            // A captured tree: the process's files are under --root.
            system.path(&text)
        } else if same_namespace {
            path.clone()
        } else {
            proc_dir
                .join("root")
                .join(path.strip_prefix("/").unwrap_or(path))
        };
        objects.push(MappedObject {
            process_path: path.clone(),
            path: reachable,
        });
    }
    Ok(ProcessObjects {
        pid,
        command,
        objects,
        deleted,
    })
}

/// Whether `proc_dir`'s process is in our mount namespace.
fn shares_mount_namespace(proc_dir: &Path) -> bool {
    match (
        std::fs::read_link("/proc/self/ns/mnt"),
        std::fs::read_link(proc_dir.join("ns/mnt")),
    ) {
        (Ok(ours), Ok(theirs)) => ours == theirs,
        // Unknown: go through /proc/PID/root, which is right either way.
        _ => false,
    }
}

impl ProcessObjects {
    /// The objects a pattern's file part names: a wildcard over the
    /// process's paths (`*`, `*libssl*`), a path, or a library or program
    /// name matched against the mapped files' names (`libc` is
    /// `libc.so.6`, `node` is `/usr/bin/node`).
    pub fn select(&self, spec: &str) -> Vec<&MappedObject> {
        let wildcard = crate::probe::Wildcard::new(spec);
        self.objects
            .iter()
            .filter(|object| {
                let full = object.process_path.to_string_lossy();
                let file_name = object
                    .process_path
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                if wildcard.has_wildcard() {
                    wildcard.matches(&full) || wildcard.matches(&file_name)
                } else if spec.contains('/') {
                    full == spec || object.path == Path::new(spec)
                } else {
                    names_library(&file_name, spec)
                }
            })
            .collect()
    }
}

/// `libc` names `libc.so.6` and `libc-2.31.so`; `node` names `node`.
fn names_library(file_name: &str, name: &str) -> bool {
    file_name == name
        || file_name
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(".so") || rest.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names() {
        assert!(names_library("libc.so.6", "libc"));
        assert!(names_library("libc-2.31.so", "libc"));
        assert!(names_library("libc.so.6", "libc.so.6"));
        assert!(!names_library("libcrypto.so.3", "libc"));
        assert!(names_library("node", "node"));
        assert!(!names_library("nodejs", "node"));
    }

    #[test]
    fn this_process_maps_itself_and_libc() {
        let system = System::live();
        let found = mapped_objects(&system, std::process::id()).unwrap();
        let me = std::env::current_exe().unwrap();
        assert_eq!(
            found.objects[0].process_path.canonicalize().unwrap(),
            me.canonicalize().unwrap(),
            "{found:?}"
        );
        assert_eq!(found.select("libc").len(), 1, "{found:?}");
        assert!(!found.select("*").is_empty());
        // Each file once, though each has several executable mappings
        // only rarely; by inode, not path.
        let unique: HashSet<_> = found.objects.iter().map(|o| &o.process_path).collect();
        assert_eq!(unique.len(), found.objects.len());
    }

    #[test]
    fn a_missing_process_is_a_clear_error() {
        let system = System::live();
        // PIDs above pid_max (at most 4,194,304) never exist.
        let e = mapped_objects(&system, 4_194_305).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert!(e.to_string().contains("no process 4194305"), "{e}");
    }
}

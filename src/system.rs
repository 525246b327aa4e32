//! Where things live: the root directory every read goes through (`/`, or a
//! captured tree given with `--root`), and finding (or mounting) tracefs.
//!
//! tracefs is found the way perf finds it: `/sys/kernel/tracing` when tracefs
//! is mounted there, then `/sys/kernel/debug/tracing` (the automount inside
//! debugfs on older setups), then any other tracefs mount point. The
//! environment variable `PROBEDEX_TRACEFS` overrides all of it. When nothing
//! is mounted and we are root, we mount tracefs at `/sys/kernel/tracing`
//! ourselves, as perf does, and tell the user.
//!
//! # Minimum kernel version
//! tracefs exists since Linux 4.1; before that the same files live in
//! debugfs at `/sys/kernel/debug/tracing`, which the second candidate covers.

use std::borrow::Cow;
use std::ffi::CString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::format::mounts::{parse_mounts, Mount};
use crate::snapshot::{SharedBytes, SnapshotFiles};

/// The variable that points probedex at a tracefs directory directly.
pub const TRACEFS_ENV: &str = "PROBEDEX_TRACEFS";

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// The system being described: the running one, a captured tree, or a
/// snapshot file.
#[derive(Debug, Clone)]
pub struct System {
    root: PathBuf,
    live: bool,
    files: Files,
}

/// Where a system's files are read from. Every read of the kernel's
/// descriptions (tracefs, kallsyms, BTF) goes through this, so a snapshot
/// is read by exactly the code that reads the running kernel.
#[derive(Debug, Clone)]
pub enum Files {
    /// The file system (`/`, or a `--root` tree).
    Disk,
    /// A snapshot's files, held in memory under their absolute paths.
    Snapshot(Arc<SnapshotFiles>),
}

impl PartialEq for Files {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Files::Disk, Files::Disk) => true,
            (Files::Snapshot(a), Files::Snapshot(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Files {}

impl Files {
    pub fn read(&self, path: &Path) -> io::Result<Cow<'_, [u8]>> {
        match self {
            Files::Disk => std::fs::read(path).map(Cow::Owned),
            Files::Snapshot(files) => files.read(path),
        }
    }

    /// Like `std::fs::read_to_string`: text that is not UTF-8 is an
    /// `InvalidData` error.
    pub fn read_to_string(&self, path: &Path) -> io::Result<String> {
        match self {
            Files::Disk => std::fs::read_to_string(path),
            Files::Snapshot(files) => {
                let bytes = files.read(path)?.into_owned();
                String::from_utf8(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))
            }
        }
    }

    /// Like [`Files::read`], without copying what a snapshot holds
    /// verbatim: for large files read more than once (BTF).
    pub fn read_shared(&self, path: &Path) -> io::Result<FileBytes> {
        match self {
            Files::Disk => std::fs::read(path).map(FileBytes::Owned),
            Files::Snapshot(files) => SnapshotFiles::read_shared(files, path)
                .map(FileBytes::Shared)
                .or_else(|_| files.read(path).map(|b| FileBytes::Owned(b.into_owned()))),
        }
    }

    pub fn exists(&self, path: &Path) -> bool {
        match self {
            Files::Disk => path.exists(),
            Files::Snapshot(files) => files.exists(path),
        }
    }

    pub fn is_dir(&self, path: &Path) -> bool {
        match self {
            Files::Disk => path.is_dir(),
            Files::Snapshot(files) => files.is_dir(path),
        }
    }

    pub fn is_file(&self, path: &Path) -> bool {
        match self {
            Files::Disk => path.is_file(),
            Files::Snapshot(files) => files.is_file(path),
        }
    }

    /// The names in a directory, each with whether it is a directory, in
    /// no particular order.
    pub fn list_dir(&self, path: &Path) -> io::Result<Vec<(String, bool)>> {
        match self {
            Files::Disk => {
                let mut names = Vec::new();
                for entry in std::fs::read_dir(path)? {
                    let entry = entry?;
                    if let Ok(name) = entry.file_name().into_string() {
                        names.push((name, entry.path().is_dir()));
                    }
                }
                Ok(names)
            }
            Files::Snapshot(files) => files.list_dir(path),
        }
    }

    /// The snapshot these files come from, if any.
    pub fn snapshot(&self) -> Option<&Arc<SnapshotFiles>> {
        match self {
            Files::Disk => None,
            Files::Snapshot(files) => Some(files),
        }
    }
}

/// A file's bytes: read from disk, or shared with the snapshot holding them.
#[derive(Debug, Clone)]
pub enum FileBytes {
    Owned(Vec<u8>),
    Shared(SharedBytes),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Owned(bytes) => bytes,
            FileBytes::Shared(bytes) => bytes,
        }
    }
}

/// A tracefs directory that exists and holds the event tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracefs {
    pub dir: PathBuf,
    /// We mounted it during this run (the caller should say so).
    pub mounted_now: bool,
    /// Where its files are read from.
    pub files: Files,
}

impl Tracefs {
    pub fn available_events(&self) -> PathBuf {
        self.dir.join("available_events")
    }

    pub fn events_dir(&self) -> PathBuf {
        self.dir.join("events")
    }

    pub fn format_path(&self, category: &str, event: &str) -> PathBuf {
        let mut path = self.events_dir();
        path.push(category);
        path.push(event);
        path.push("format");
        path
    }
}

/// Why tracefs could not be found or mounted.
#[derive(Debug)]
pub enum SystemError {
    /// `--root DIR` where DIR does not exist or is not a directory.
    RootMissing(PathBuf),
    /// `--root DIR` holds neither tracefs location.
    NoTracefsInRoot(PathBuf),
    /// A snapshot taken on a system without tracefs.
    NoTracefsInSnapshot,
    /// `PROBEDEX_TRACEFS` names a directory without an `events/` tree.
    BadOverride(PathBuf),
    /// Not mounted, and we may not mount it.
    NotMountedNotRoot,
    /// mount(2) failed.
    MountFailed { target: PathBuf, source: io::Error },
}

impl fmt::Display for SystemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SystemError::RootMissing(dir) => {
                write!(f, "--root {}: no such directory", dir.display())
            }
            SystemError::NoTracefsInRoot(dir) => write!(
                f,
                "--root {}: no tracefs in this tree (looked for {} and {}); a capture needs \
                 sys/kernel/tracing/available_events and events/*/*/format (probedex's \
                 fixtures/capture-tracefs.sh makes one)",
                dir.display(),
                dir.join(&TRACEFS[1..]).display(),
                dir.join(&DEBUGFS_TRACING[1..]).display()
            ),
            SystemError::NoTracefsInSnapshot => f.write_str(
                "the snapshot holds no tracefs: the system it was taken from had none mounted \
                 or readable",
            ),
            SystemError::BadOverride(dir) => write!(
                f,
                "{TRACEFS_ENV}={}: not a tracefs directory (it has no events/ or available_events); \
                 unset it or point it at a mounted tracefs",
                dir.display()
            ),
            SystemError::NotMountedNotRoot => write!(
                f,
                "tracefs is not mounted and only root may mount it; run probedex as root (it mounts \
                 tracefs itself) or run `sudo mount -t tracefs nodev {TRACEFS}`"
            ),
            SystemError::MountFailed { target, source } => {
                write!(f, "could not mount tracefs at {}: {source}", target.display())?;
                match source.raw_os_error() {
                    Some(libc::ENODEV) => {
                        f.write_str("; this kernel was built without tracefs (CONFIG_TRACING)")
                    }
                    Some(libc::EPERM) | Some(libc::EACCES) => f.write_str(
                        "; a container or LSM forbids mounting: mount tracefs on the host and bind it in, \
                         or set PROBEDEX_TRACEFS",
                    ),
                    _ => f.write_str(&format!("; try `mount -t tracefs nodev {TRACEFS}` by hand")),
                }
            }
        }
    }
}

impl std::error::Error for SystemError {}

impl SystemError {
    /// tracefs does not exist here at all (as opposed to being unusable):
    /// a captured tree without it, or a kernel built without it.
    pub fn is_absent(&self) -> bool {
        match self {
            SystemError::NoTracefsInRoot(_) | SystemError::NoTracefsInSnapshot => true,
            SystemError::MountFailed { source, .. } => source.raw_os_error() == Some(libc::ENODEV),
            _ => false,
        }
    }

    /// Whether the system refused (as opposed to the user giving a bad path).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            SystemError::NotMountedNotRoot | SystemError::MountFailed { .. }
        )
    }
}

impl System {
    /// The running system.
    pub fn live() -> System {
        System {
            root: PathBuf::from("/"),
            live: true,
            files: Files::Disk,
        }
    }

    /// A snapshot's kernel: its files answer every read, at the absolute
    /// paths they had on the system they were taken from.
    pub fn from_snapshot(files: Arc<SnapshotFiles>) -> System {
        System {
            root: PathBuf::from("/"),
            live: false,
            files: Files::Snapshot(files),
        }
    }

    /// A captured tree laid out like `/` (only the parts probedex reads).
    pub fn at_root(root: impl Into<PathBuf>) -> Result<System, SystemError> {
        let root = root.into();
        if !root.is_dir() {
            return Err(SystemError::RootMissing(root));
        }
        Ok(System {
            root,
            live: false,
            files: Files::Disk,
        })
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Where this system's files are read from.
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// Whether this system is a snapshot rather than a file tree: only the
    /// kernel's descriptions are in it, no programs or libraries.
    pub fn is_snapshot(&self) -> bool {
        self.files.snapshot().is_some()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `absolute` (e.g. `/proc/kallsyms`) inside this system's root.
    pub fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// Finds tracefs, mounting it when live, unmounted and allowed.
    pub fn tracefs(&self) -> Result<Tracefs, SystemError> {
        if self.is_snapshot() {
            let dir = self.path(TRACEFS);
            return if self.files.is_dir(&dir) {
                Ok(Tracefs {
                    dir,
                    mounted_now: false,
                    files: self.files.clone(),
                })
            } else {
                Err(SystemError::NoTracefsInSnapshot)
            };
        }
        if let Some(dir) = std::env::var_os(TRACEFS_ENV).filter(|v| !v.is_empty()) {
            let dir = PathBuf::from(dir);
            return if looks_like_tracefs(&dir) {
                Ok(Tracefs {
                    dir,
                    mounted_now: false,
                    files: Files::Disk,
                })
            } else {
                Err(SystemError::BadOverride(dir))
            };
        }
        if !self.live {
            return [TRACEFS, DEBUGFS_TRACING]
                .iter()
                .map(|p| self.path(p))
                .find(|p| p.is_dir())
                .map(|dir| Tracefs {
                    dir,
                    mounted_now: false,
                    files: Files::Disk,
                })
                .ok_or_else(|| SystemError::NoTracefsInRoot(self.root.clone()));
        }

        let mounted = || {
            let mounts = std::fs::read_to_string("/proc/self/mounts")
                .map(|text| parse_mounts(&text))
                .unwrap_or_default();
            find_mounted_tracefs(&mounts).map(|dir| Tracefs {
                dir,
                mounted_now: false,
                files: Files::Disk,
            })
        };
        if let Some(tracefs) = mounted() {
            return Ok(tracefs);
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err(SystemError::NotMountedNotRoot);
        }
        match mount_tracefs(Path::new(TRACEFS)) {
            Ok(()) => Ok(Tracefs {
                dir: PathBuf::from(TRACEFS),
                mounted_now: true,
                files: Files::Disk,
            }),
            // Another probedex (or anything) mounting it at the same moment
            // makes ours fail with EBUSY; theirs is as good as ours. Seen
            // when parallel tests each started probedex on an unmounted
            // system.
            Err(e) => mounted().ok_or(e),
        }
    }
}

/// perf's order: the tracefs mount point, debugfs' automount, then any other
/// tracefs mount.
fn find_mounted_tracefs(mounts: &[Mount]) -> Option<PathBuf> {
    let mounted = |point: &str, fs: &str| {
        mounts
            .iter()
            .any(|m| m.mount_point == point && m.fs_type == fs)
    };
    if mounted(TRACEFS, "tracefs") {
        return Some(PathBuf::from(TRACEFS));
    }
    if mounted(DEBUGFS_TRACING, "tracefs")
        || (mounted("/sys/kernel/debug", "debugfs")
            && looks_like_tracefs(Path::new(DEBUGFS_TRACING)))
    {
        return Some(PathBuf::from(DEBUGFS_TRACING));
    }
    mounts
        .iter()
        .find(|m| m.fs_type == "tracefs")
        .map(|m| PathBuf::from(&m.mount_point))
}

fn looks_like_tracefs(dir: &Path) -> bool {
    dir.join("events").is_dir() || dir.join("available_events").is_file()
}

fn mount_tracefs(target: &Path) -> Result<(), SystemError> {
    let failed = |source| SystemError::MountFailed {
        target: target.to_path_buf(),
        source,
    };
    let c_target = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|_| failed(io::Error::from(io::ErrorKind::InvalidInput)))?;
    // SAFETY: all pointers are valid NUL-terminated strings for the duration
    // of the call; tracefs takes no mount data.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            c_target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(failed(io::Error::last_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(point: &str, fs: &str) -> Mount {
        Mount {
            mount_point: point.into(),
            fs_type: fs.into(),
        }
    }

    #[test]
    fn prefers_sys_kernel_tracing() {
        let mounts = [
            mount("/elsewhere", "tracefs"),
            mount("/sys/kernel/tracing", "tracefs"),
        ];
        assert_eq!(
            find_mounted_tracefs(&mounts),
            Some(PathBuf::from("/sys/kernel/tracing"))
        );
        assert_eq!(
            find_mounted_tracefs(&[mount("/elsewhere", "tracefs")]),
            Some(PathBuf::from("/elsewhere"))
        );
        assert_eq!(find_mounted_tracefs(&[mount("/sys", "sysfs")]), None);
    }

    #[test]
    fn root_paths_stay_inside_the_root() {
        let dir = std::env::temp_dir();
        let system = System::at_root(&dir).unwrap();
        assert_eq!(system.path("/proc/kallsyms"), dir.join("proc/kallsyms"));
        assert!(!system.is_live());
        assert!(matches!(
            System::at_root("/nonexistent/probedex"),
            Err(SystemError::RootMissing(_))
        ));
    }
}

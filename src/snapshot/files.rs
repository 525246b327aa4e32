//! A snapshot's files in memory, answering reads at the absolute paths they
//! had on the system they came from (see [`crate::system::Files`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::{archive, kallsyms_delta};

/// How one file's bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stored {
    /// Verbatim, at this range of this group's expanded bytes.
    Raw(usize, Range<usize>),
    /// kallsyms with each address written as the difference from the one
    /// before (see [`kallsyms_delta`]); decoded on read.
    Kallsyms {
        group: usize,
        range: Range<usize>,
        encoding: KallsymsEncoding,
        digits: usize,
    },
    /// Reading it failed on the captured system with this errno (ftrace's
    /// list answers EPERM on some kernels): reads fail the same way here.
    Error(i32),
}

/// The spellings of kallsyms in [`kallsyms_delta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KallsymsEncoding {
    /// `kallsyms-delta`, snapshot format 1.
    Delta,
    /// `kallsyms-delta-pfx`, format 2.
    DeltaPfx,
}

/// One zstd frame of the snapshot file.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// Where it is in the file.
    pub compressed: Range<usize>,
    /// Its expanded size, from the header.
    pub size: usize,
}

/// One group of files: frames whose expanded bytes, one after another,
/// are the group's files. A file may span frames of its group.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub frames: Vec<Frame>,
    /// The frames' expanded sizes added up.
    pub size: usize,
}

/// The snapshot file's bytes: mapped, or (in tests) in memory.
#[derive(Debug)]
pub(super) enum RawFile {
    Mapped(memmap2::Mmap),
    Bytes(Vec<u8>),
}

impl std::ops::Deref for RawFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            RawFile::Mapped(map) => map,
            RawFile::Bytes(bytes) => bytes,
        }
    }
}

/// Every file of one snapshot.
#[derive(Debug)]
pub struct SnapshotFiles {
    /// The snapshot file.
    raw: RawFile,
    groups: Vec<Group>,
    /// Each group expanded, the first time one of its files is read.
    expanded: Vec<OnceLock<Result<Vec<u8>, String>>>,
    files: BTreeMap<String, Stored>,
    /// Every directory: the ones recorded as such and every file's parents.
    dirs: BTreeSet<String>,
}

/// The map key for `path`: its text without a trailing `/` (`Path`
/// ignores one too).
fn key(path: &Path) -> io::Result<&str> {
    let text = path
        .to_str()
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    let trimmed = text.trim_end_matches('/');
    Ok(if trimmed.is_empty() { "/" } else { trimmed })
}

impl SnapshotFiles {
    pub(super) fn new(raw: RawFile, groups: Vec<Group>) -> SnapshotFiles {
        SnapshotFiles {
            raw,
            expanded: groups.iter().map(|_| OnceLock::new()).collect(),
            groups,
            files: BTreeMap::new(),
            dirs: BTreeSet::from(["/".to_string()]),
        }
    }

    /// Expands the group holding `path` now, so that a later read finds it
    /// ready: called on another thread for what nearly every command reads.
    pub fn prefetch(&self, path: &str) {
        if let Some(Stored::Raw(group, _) | Stored::Kallsyms { group, .. }) = self.files.get(path) {
            let _ = self.expanded_group(*group);
        }
    }

    fn expanded_group(&self, group: usize) -> &Result<Vec<u8>, String> {
        self.expanded[group].get_or_init(|| archive::expand(&self.raw, &self.groups[group]))
    }

    /// A file's bytes without copying them, where it is stored verbatim:
    /// BTF is read several times per command, 5.5 MB each.
    pub fn read_shared(files: &Arc<SnapshotFiles>, path: &Path) -> io::Result<SharedBytes> {
        let key = key(path)?;
        match files.files.get(key) {
            Some(Stored::Raw(group, range)) => {
                files.bytes(*group, range)?;
                Ok(SharedBytes {
                    files: Arc::clone(files),
                    group: *group,
                    range: range.clone(),
                })
            }
            _ => Err(io::Error::from(io::ErrorKind::Unsupported)),
        }
    }

    /// `range` of group `group`, expanding it if this is its first use.
    fn bytes(&self, group: usize, range: &Range<usize>) -> io::Result<&[u8]> {
        if range.is_empty() {
            return Ok(&[]);
        }
        let expanded = self.expanded_group(group);
        match expanded {
            Ok(bytes) => Ok(&bytes[range.clone()]),
            Err(why) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the snapshot is damaged ({why})"),
            )),
        }
    }

    pub(super) fn add_file(&mut self, path: &str, stored: Stored) {
        self.add_parents(path);
        self.files.insert(path.to_string(), stored);
    }

    pub(super) fn add_dir(&mut self, path: &str) {
        self.add_parents(path);
        self.dirs.insert(path.to_string());
    }

    fn add_parents(&mut self, path: &str) {
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind('/') {
            let parent = if slash == 0 { "/" } else { &path[..slash] };
            if !self.dirs.insert(parent.to_string()) {
                break;
            }
            end = slash;
        }
    }

    /// A file's bytes, as reading it on the captured system gave them.
    pub fn read(&self, path: &Path) -> io::Result<Cow<'_, [u8]>> {
        let path = key(path)?;
        match self.files.get(path) {
            Some(Stored::Raw(group, range)) => self.bytes(*group, range).map(Cow::Borrowed),
            Some(Stored::Kallsyms {
                group,
                range,
                encoding,
                digits,
            }) => {
                let encoded = self.bytes(*group, range)?;
                match encoding {
                    KallsymsEncoding::Delta => kallsyms_delta::decode_v1(encoded, *digits),
                    KallsymsEncoding::DeltaPfx => kallsyms_delta::decode(encoded, *digits),
                }
                .map(Cow::Owned)
            }
            Some(Stored::Error(errno)) => Err(io::Error::from_raw_os_error(*errno)),
            None if self.dirs.contains(path) => Err(io::Error::from_raw_os_error(libc::EISDIR)),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    pub fn exists(&self, path: &Path) -> bool {
        key(path).is_ok_and(|p| self.files.contains_key(p) || self.dirs.contains(p))
    }

    pub fn is_dir(&self, path: &Path) -> bool {
        key(path).is_ok_and(|p| self.dirs.contains(p))
    }

    pub fn is_file(&self, path: &Path) -> bool {
        key(path).is_ok_and(|p| self.files.contains_key(p))
    }

    /// The names directly inside `path`, each with whether it is a
    /// directory.
    pub fn list_dir(&self, path: &Path) -> io::Result<Vec<(String, bool)>> {
        let path = key(path)?;
        if !self.dirs.contains(path) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        let prefix = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        let child = |full: &str| -> Option<String> {
            let rest = full.strip_prefix(&prefix)?;
            (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
        };
        let mut names: Vec<(String, bool)> = self
            .dirs
            .range(prefix.clone()..)
            .take_while(|d| d.starts_with(&prefix))
            .filter_map(|d| child(d).map(|n| (n, true)))
            .collect();
        names.extend(
            self.files
                .range(prefix.clone()..)
                .take_while(|(f, _)| f.starts_with(&prefix))
                .filter_map(|(f, _)| child(f).map(|n| (n, false))),
        );
        Ok(names)
    }

    /// Every file's path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> + '_ {
        self.files.keys().map(String::as_str)
    }
}

/// A file's bytes inside a snapshot's expanded group, shared rather than
/// copied.
#[derive(Debug, Clone)]
pub struct SharedBytes {
    files: Arc<SnapshotFiles>,
    group: usize,
    range: Range<usize>,
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // The group expanded without error when this was made (read_shared).
        match self.files.expanded[self.group].get() {
            Some(Ok(bytes)) => &bytes[self.range.clone()],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> SnapshotFiles {
        // One group of two frames, a file spanning them.
        let mut raw = zstd::bulk::compress(b"abcd", 3).unwrap();
        let first = 0..raw.len();
        raw.extend(zstd::bulk::compress(b"ef", 3).unwrap());
        let group = Group {
            frames: vec![
                Frame {
                    compressed: first.clone(),
                    size: 4,
                },
                Frame {
                    compressed: first.end..raw.len(),
                    size: 2,
                },
            ],
            size: 6,
        };
        let mut files = SnapshotFiles::new(RawFile::Bytes(raw), vec![group]);
        files.add_file("/sys/kernel/tracing/available_events", Stored::Raw(0, 0..3));
        files.add_file(
            "/sys/kernel/tracing/events/sched/x/format",
            Stored::Raw(0, 3..6),
        );
        files.add_file(
            "/sys/kernel/tracing/available_filter_functions",
            Stored::Error(libc::EPERM),
        );
        files.add_dir("/sys/bus/event_source/devices/kprobe");
        files
    }

    #[test]
    fn reads_answer_like_the_file_system() {
        let files = files();
        let read = |p: &str| files.read(Path::new(p));
        assert_eq!(
            &*read("/sys/kernel/tracing/available_events").unwrap(),
            b"abc"
        );
        assert_eq!(
            &*read("/sys/kernel/tracing/events/sched/x/format").unwrap(),
            b"def"
        );
        assert_eq!(
            read("/sys/kernel/tracing/available_filter_functions")
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EPERM)
        );
        assert_eq!(read("/nope").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(
            read("/sys/kernel/tracing").unwrap_err().raw_os_error(),
            Some(libc::EISDIR)
        );
        assert!(files.is_dir(Path::new("/sys/kernel/tracing/events/sched")));
        assert!(files.is_dir(Path::new("/sys/bus/event_source/devices/kprobe")));
        assert!(files.exists(Path::new("/sys/bus")));
        assert!(!files.is_file(Path::new("/sys/bus")));
    }

    #[test]
    fn lists_directories_one_level_deep() {
        let files = files();
        let mut names = files.list_dir(Path::new("/sys/kernel/tracing")).unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                ("available_events".to_string(), false),
                ("available_filter_functions".to_string(), false),
                ("events".to_string(), true)
            ]
        );
        assert_eq!(
            files
                .list_dir(Path::new("/sys/kernel/tracing/events/"))
                .unwrap(),
            [("sched".to_string(), true)]
        );
        assert!(files.list_dir(Path::new("/proc")).is_err());
    }
}

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
    /// Verbatim, at this range of this part's expanded bytes.
    Raw(usize, Range<usize>),
    /// kallsyms with each address written as the difference from the one
    /// before (see [`kallsyms_delta`]); decoded on read.
    KallsymsDelta {
        frame: usize,
        range: Range<usize>,
        digits: usize,
    },
    /// Reading it failed on the captured system with this errno (ftrace's
    /// list answers EPERM on some kernels): reads fail the same way here.
    Error(i32),
}

/// One group of files: a zstd frame of the snapshot file.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// Where the frame is in the file.
    pub compressed: Range<usize>,
    /// Its expanded size, from the header.
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
    parts: Vec<Part>,
    /// Each part expanded, the first time one of its files is read.
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
    pub(super) fn new(raw: RawFile, parts: Vec<Part>) -> SnapshotFiles {
        SnapshotFiles {
            raw,
            expanded: parts.iter().map(|_| OnceLock::new()).collect(),
            parts,
            files: BTreeMap::new(),
            dirs: BTreeSet::from(["/".to_string()]),
        }
    }

    pub(super) fn frame_count(&self) -> usize {
        self.parts.len()
    }

    pub(super) fn frame_len(&self, frame: usize) -> usize {
        self.parts[frame].size
    }

    /// Expands the part holding `path` now, so that a later read finds it
    /// ready: called on another thread for what nearly every command reads.
    pub fn prefetch(&self, path: &str) {
        if let Some(Stored::Raw(frame, _) | Stored::KallsymsDelta { frame, .. }) =
            self.files.get(path)
        {
            let _ = self.expanded_part(*frame);
        }
    }

    fn expanded_part(&self, frame: usize) -> &Result<Vec<u8>, String> {
        let part = &self.parts[frame];
        self.expanded[frame]
            .get_or_init(|| archive::expand(&self.raw[part.compressed.clone()], part.size))
    }

    /// A file's bytes without copying them, where it is stored verbatim:
    /// BTF is read several times per command, 5.5 MB each.
    pub fn read_shared(files: &Arc<SnapshotFiles>, path: &Path) -> io::Result<SharedBytes> {
        let key = key(path)?;
        match files.files.get(key) {
            Some(Stored::Raw(frame, range)) => {
                files.bytes(*frame, range)?;
                Ok(SharedBytes {
                    files: Arc::clone(files),
                    frame: *frame,
                    range: range.clone(),
                })
            }
            _ => Err(io::Error::from(io::ErrorKind::Unsupported)),
        }
    }

    /// `range` of part `frame`, expanding the part if this is its first use.
    fn bytes(&self, frame: usize, range: &Range<usize>) -> io::Result<&[u8]> {
        if range.is_empty() {
            return Ok(&[]);
        }
        let expanded = self.expanded_part(frame);
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
            Some(Stored::Raw(frame, range)) => self.bytes(*frame, range).map(Cow::Borrowed),
            Some(Stored::KallsymsDelta {
                frame,
                range,
                digits,
            }) => kallsyms_delta::decode(self.bytes(*frame, range)?, *digits).map(Cow::Owned),
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

/// A file's bytes inside a snapshot's expanded part, shared rather than
/// copied.
#[derive(Debug, Clone)]
pub struct SharedBytes {
    files: Arc<SnapshotFiles>,
    frame: usize,
    range: Range<usize>,
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // The part expanded without error when this was made (read_shared).
        match self.files.expanded[self.frame].get() {
            Some(Ok(bytes)) => &bytes[self.range.clone()],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> SnapshotFiles {
        let raw = zstd::bulk::compress(b"abcdef", 3).unwrap();
        let part = Part {
            compressed: 0..raw.len(),
            size: 6,
        };
        let mut files = SnapshotFiles::new(RawFile::Bytes(raw), vec![part]);
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

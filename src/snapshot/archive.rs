//! The snapshot file: zstd frames that expand, one after another, to one
//! line of JSON (the header: what was captured, and an index of the files)
//! and then the files' bytes in the index's order. docs/json.md documents
//! it.
//!
//! The header is a frame of its own, and each group of files a command may
//! not need (BTF, kallsyms, the rest) has frames of its own: a reader
//! expands a group the first time one of its files is read, so `check
//! --snapshot` never spends time on kallsyms. A large group is cut into
//! several frames, expanded at once on several cores straight into one
//! buffer: BTF (5.5 MB) is what `check --snapshot` waits for. `zstd -dc
//! FILE` still gives the whole stream.
//!
//! Format 1 (probedex before the frames were cut) had one frame per group
//! and the older kallsyms encoding; it is still read.
//!
//! The files are the kernel's own descriptions, verbatim (tracefs format
//! files, BTF, kallsyms, ftrace's function list): every command reads a
//! snapshot through the parsers that read the running kernel, which is
//! what makes `list --snapshot` print exactly what `list` printed there,
//! and lets a newer probedex read an old snapshot with its newer parsers.

use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::files::{Frame, Group, KallsymsEncoding, RawFile, SnapshotFiles, Stored};
use super::kallsyms_delta;

/// The format's name in every header.
pub const FORMAT: &str = "probedex-snapshot";
/// The layout this probedex writes.
pub const VERSION: u32 = 2;
/// The oldest layout it reads.
const OLDEST: u32 = 1;

/// zstd level 9: 2.1 MB for Linux 6.18, BTF 1.6 MB of it. BTF gains little
/// below level 18 (1.51 MB at 16 in 1.4 s, 1.43 MB at 18 in 2 s; 0.14 s at
/// 9); long-distance matching saved nothing.
const LEVEL: i32 = 9;
/// A group larger than this is cut into frames (of equal size) no larger:
/// BTF's 5.5 MB into two, for the two cores of the machines measured. In a
/// fresh process BTF expanded in ~7.5 ms as one frame; each half takes ~4
/// ms alone, ~6 ms beside the other (the VM's two vCPUs do not give twice
/// the work). Each cut costs ~0.5% of the group's compressed size.
const FRAME_BYTES: usize = 3 << 20;
/// A snapshot expands to ~12 MB; anything claiming more than this is not
/// one of ours, and must not exhaust memory.
const MAX_EXPANDED: u64 = 1 << 30;

/// The `encoding` names of kallsyms (see [`kallsyms_delta`]).
const KALLSYMS_DELTA: &str = "kallsyms-delta";
const KALLSYMS_DELTA_PFX: &str = "kallsyms-delta-pfx";

/// What the header says about the kernel.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KernelInfo {
    /// `uname -r`.
    pub release: Option<String>,
    /// `uname -v`.
    pub version: Option<String>,
    /// `uname -m`.
    pub machine: Option<String>,
    /// The GNU build ID of vmlinux, from `/sys/kernel/notes`, in hex.
    pub build_id: Option<String>,
}

/// One file in the index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    /// `file` (its bytes follow), `dir` (it existed: a marker such as the
    /// kprobe PMU), or `error` (reading it failed with `errno`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Bytes stored in the blob (after `encoding`).
    #[serde(default)]
    pub stored: u64,
    /// `raw`, `kallsyms-delta-pfx`, or (format 1) `kallsyms-delta` (see
    /// `snapshot::kallsyms_delta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// For the kallsyms encodings: the width of the addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
}

/// The first line of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The probedex version that wrote it.
    pub probedex: String,
    /// Seconds since 1970 (UTC).
    pub captured_unix: u64,
    /// `live`, or the `--root` directory it was made from.
    pub source: String,
    pub kernel: KernelInfo,
    /// `probedex features --json`'s objects, when taken live as root.
    pub features: Option<Vec<serde_json::Value>>,
    /// Format 1: the expanded size of each data frame after the header's,
    /// in order, one frame per group of files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<u64>,
    /// Format 2: for each group of files, in order, the expanded sizes of
    /// its frames (which follow the header's, in the same order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Vec<u64>>,
    pub files: Vec<FileEntry>,
}

/// A file to put in a snapshot.
#[derive(Debug)]
pub enum Content {
    File(Vec<u8>),
    Dir,
    Error(i32),
}

/// Why a snapshot could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    NotSnapshot,
    Damaged(String),
    NewerVersion(u32),
}

impl From<Vec<u8>> for RawFile {
    fn from(bytes: Vec<u8>) -> RawFile {
        RawFile::Bytes(bytes)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotSnapshot => f.write_str(
                "not a probedex snapshot (it is not zstd-compressed); make one with \
                 `probedex snapshot -o FILE`",
            ),
            ReadError::Damaged(why) => write!(
                f,
                "the snapshot is damaged ({why}); take it again with `probedex snapshot -o FILE`"
            ),
            ReadError::NewerVersion(v) => write!(
                f,
                "snapshot format {v} was written by a newer probedex; this one reads formats \
                 {OLDEST} to {VERSION}: upgrade probedex"
            ),
        }
    }
}

/// Which frame a file's bytes go in: BTF and kallsyms are each most of a
/// snapshot and needed by only some commands.
fn group(path: &str) -> usize {
    if path.starts_with("/sys/kernel/btf/") {
        1
    } else if path == "/proc/kallsyms" {
        2
    } else {
        0
    }
}

/// The expanded sizes of the frames a group of `size` bytes is cut into,
/// none larger than `most`.
fn frame_sizes(size: usize, most: usize) -> Vec<usize> {
    let count = size.div_ceil(most).max(1);
    (0..count)
        .map(|i| size * (i + 1) / count - size * i / count)
        .collect()
}

/// Writes `files` with `header`'s fields (its `files` and `groups` are
/// rebuilt) in the current format.
pub fn write(out: impl Write, header: Header, files: Vec<(String, Content)>) -> io::Result<()> {
    write_framed(out, header, files, FRAME_BYTES)
}

/// [`write`], with frames of at most `frame_bytes` (tests cut small ones).
fn write_framed(
    out: impl Write,
    mut header: Header,
    mut files: Vec<(String, Content)>,
    frame_bytes: usize,
) -> io::Result<()> {
    files.sort_by(|a, b| (group(&a.0), &a.0).cmp(&(group(&b.0), &b.0)));
    let mut groups: Vec<Vec<u8>> = vec![Vec::new(); 3];
    header.files.clear();
    for (path, content) in files {
        let mut entry = FileEntry {
            path,
            kind: "file".into(),
            stored: 0,
            encoding: None,
            digits: None,
            errno: None,
        };
        match content {
            Content::File(bytes) => {
                let bytes = if entry.path == "/proc/kallsyms" {
                    let (encoded, digits) = kallsyms_delta::encode(&bytes);
                    entry.encoding = Some(KALLSYMS_DELTA_PFX.into());
                    entry.digits = Some(digits);
                    encoded
                } else {
                    bytes
                };
                entry.encoding.get_or_insert_with(|| "raw".into());
                entry.stored = bytes.len() as u64;
                groups[group(&entry.path)].extend_from_slice(&bytes);
            }
            Content::Dir => entry.kind = "dir".into(),
            Content::Error(errno) => {
                entry.kind = "error".into();
                entry.errno = Some(errno);
            }
        }
        header.files.push(entry);
    }
    groups.retain(|g| !g.is_empty());
    let mut frames: Vec<&[u8]> = Vec::new();
    header.frames.clear();
    header.groups.clear();
    for group in &groups {
        let mut rest = group.as_slice();
        let mut sizes = Vec::new();
        for size in frame_sizes(group.len(), frame_bytes) {
            let (frame, after) = rest.split_at(size);
            frames.push(frame);
            sizes.push(size as u64);
            rest = after;
        }
        header.groups.push(sizes);
    }
    header.version = VERSION;
    let mut line = serde_json::to_vec(&header).map_err(io::Error::from)?;
    line.push(b'\n');
    let mut out = out;
    // Each frame compressed on a thread of its own.
    let compressed: Vec<io::Result<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = std::iter::once(line.as_slice())
            .chain(frames.iter().copied())
            .map(|frame| scope.spawn(move || zstd::bulk::compress(frame, LEVEL)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("compression failed")))
            })
            .collect()
    });
    for frame in compressed {
        out.write_all(&frame?)?;
    }
    out.flush()
}

/// Reads a snapshot: its header and its files. Only the header is
/// expanded now; each group of files when first read.
pub fn read(path: &Path) -> Result<(Header, SnapshotFiles), ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    // SAFETY: the map is read-only; a snapshot changed underneath us while
    // it is read gives wrong bytes (caught as damage by zstd's checks and
    // the sizes) rather than undefined behaviour in safe code we call.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(ReadError::Io)?;
    parse(RawFile::Mapped(map))
}

/// The frames of a snapshot file, as ranges of it.
fn frames(raw: &[u8]) -> Result<Vec<Range<usize>>, ReadError> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let size = zstd::zstd_safe::find_frame_compressed_size(&raw[at..])
            .map_err(|_| ReadError::Damaged("a zstd frame is cut short".into()))?;
        frames.push(at..at + size);
        at += size;
    }
    Ok(frames)
}

/// A part of a buffer that zstd fills: uninitialized until it has.
struct Region<'a> {
    bytes: &'a mut [MaybeUninit<u8>],
    filled: usize,
}

// SAFETY: `as_slice` covers only what zstd reported it wrote
// (`filled_until`), and the pointer and capacity are those of `bytes`.
unsafe impl zstd::zstd_safe::WriteBuf for Region<'_> {
    fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `filled` bytes were written (filled_until).
        unsafe { std::slice::from_raw_parts(self.bytes.as_ptr().cast(), self.filled) }
    }
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr().cast()
    }
    unsafe fn filled_until(&mut self, n: usize) {
        self.filled = n;
    }
}

/// At most this many threads expand one group besides the caller's: the
/// writer cuts BTF in two; more frames come from a hand-made file.
const MAX_HELPERS: usize = 3;

/// Expands a group's frames (ranges of `raw`) into one buffer, each frame
/// straight into its part of it, on as many threads as it has frames (up
/// to `MAX_HELPERS` more than the caller's). Every frame must expand to
/// exactly its size.
pub(super) fn expand(raw: &[u8], group: &Group) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(group.size);
    {
        // Not zero-filled: zstd writes every byte (checked below).
        let mut spare = &mut out.spare_capacity_mut()[..group.size];
        let mut work = Vec::with_capacity(group.frames.len());
        for frame in &group.frames {
            let (bytes, rest) = std::mem::take(&mut spare).split_at_mut(frame.size);
            work.push((&raw[frame.compressed.clone()], Region { bytes, filled: 0 }));
            spare = rest;
        }
        let work = Mutex::new(work.into_iter());
        let expand_some = || -> Result<(), String> {
            let mut zstd = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
            loop {
                let next = work.lock().map_err(|_| "a thread failed")?.next();
                let Some((compressed, mut region)) = next else {
                    return Ok(());
                };
                let size = zstd
                    .decompress_to_buffer(compressed, &mut region)
                    .map_err(|e| e.to_string())?;
                if size != region.bytes.len() {
                    return Err(format!(
                        "a frame expands to {size} bytes, not {}",
                        region.bytes.len()
                    ));
                }
            }
        };
        let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
            // No helper (a thread limit) only means this thread does it all.
            let helpers: Vec<_> = (1..group.frames.len().min(MAX_HELPERS + 1))
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .spawn_scoped(scope, expand_some)
                        .ok()
                })
                .collect();
            let mut results = vec![expand_some()];
            results.extend(
                helpers
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("a thread failed".into()))),
            );
            results
        });
        results.into_iter().collect::<Result<(), String>>()?;
    }
    // SAFETY: the frames' regions are the first `group.size` bytes of the
    // spare capacity, each written whole by zstd (its size was checked),
    // and every frame was taken and expanded without error.
    unsafe { out.set_len(group.size) };
    Ok(out)
}

/// Splits a snapshot file into its header and files.
fn parse(raw: impl Into<RawFile>) -> Result<(Header, SnapshotFiles), ReadError> {
    let raw: RawFile = raw.into();
    if !raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(ReadError::NotSnapshot);
    }
    let damaged = |why: &str| ReadError::Damaged(why.to_string());
    let frames = frames(&raw)?;
    let mut header_bytes = Vec::new();
    zstd::stream::read::Decoder::new(&raw[frames[0].clone()])
        .and_then(|d| {
            use std::io::Read as _;
            d.take(MAX_EXPANDED).read_to_end(&mut header_bytes)
        })
        .map_err(|e| ReadError::Damaged(e.to_string()))?;
    let newline = header_bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| damaged("no header line"))?;
    // The version first, so a newer layout gets "upgrade", not "damaged".
    #[derive(Deserialize)]
    struct Version {
        format: Option<String>,
        version: Option<u64>,
    }
    let line = &header_bytes[..newline];
    let version: Version =
        serde_json::from_slice(line).map_err(|e| ReadError::Damaged(format!("header: {e}")))?;
    if version.format.as_deref() != Some(FORMAT) {
        return Err(damaged(
            "the header does not name the probedex-snapshot format",
        ));
    }
    match version.version {
        Some(v) if (u64::from(OLDEST)..=u64::from(VERSION)).contains(&v) => {}
        Some(v) if v > u64::from(VERSION) => {
            return Err(ReadError::NewerVersion(
                u32::try_from(v).unwrap_or(u32::MAX),
            ))
        }
        _ => return Err(damaged("the header has no valid version")),
    }
    let header: Header =
        serde_json::from_slice(line).map_err(|e| ReadError::Damaged(format!("header: {e}")))?;
    if header_bytes.len() != newline + 1 {
        return Err(damaged("data after the header line in its frame"));
    }
    // Each group's frames' sizes: format 1 had one frame per group.
    let layout: Vec<Vec<u64>> = match header.version {
        1 if header.groups.is_empty() => header.frames.iter().map(|&f| vec![f]).collect(),
        2 if header.frames.is_empty() => header.groups.clone(),
        _ => return Err(damaged("the header's frames are not of its format")),
    };
    if layout.iter().map(Vec::len).sum::<usize>() + 1 != frames.len() {
        return Err(damaged("the header's frame count does not match the file"));
    }
    let mut groups = Vec::new();
    let mut compressed = frames[1..].iter();
    let mut expanded = 0u64;
    for sizes in &layout {
        if sizes.is_empty() {
            return Err(damaged("a group has no frames"));
        }
        let mut group = Group {
            frames: Vec::new(),
            size: 0,
        };
        for (&size, range) in sizes.iter().zip(&mut compressed) {
            expanded = expanded
                .checked_add(size)
                .filter(|&e| e <= MAX_EXPANDED)
                .ok_or_else(|| damaged("the frames claim too many bytes"))?;
            // Not above MAX_EXPANDED, which fits.
            let size = size as usize;
            group.size += size;
            group.frames.push(Frame {
                compressed: range.clone(),
                size,
            });
        }
        groups.push(group);
    }
    let mut files = SnapshotFiles::new(raw, groups.clone());
    // Files are in data order; each lies in one group (perhaps across its
    // frames), and together they are all of each group's bytes.
    let (mut group, mut at) = (0usize, 0usize);
    for entry in &header.files {
        if !entry.path.starts_with('/') {
            return Err(ReadError::Damaged(format!(
                "file path {:?} is not absolute",
                entry.path
            )));
        }
        match entry.kind.as_str() {
            "file" => {
                let size = usize::try_from(entry.stored)
                    .map_err(|_| damaged("a file runs past the end"))?;
                // Skip groups used up.
                while size > 0 && group < groups.len() && at == groups[group].size {
                    group += 1;
                    at = 0;
                }
                let end = at
                    .checked_add(size)
                    .filter(|&end| size == 0 || (group < groups.len() && end <= groups[group].size))
                    .ok_or_else(|| damaged("a file runs past the end"))?;
                let kallsyms = |encoding| Stored::Kallsyms {
                    group,
                    range: at..end,
                    encoding,
                    digits: entry.digits.unwrap_or(16).min(32),
                };
                let stored = match entry.encoding.as_deref() {
                    None | Some("raw") => Stored::Raw(group, at..end),
                    Some(KALLSYMS_DELTA) => kallsyms(KallsymsEncoding::Delta),
                    Some(KALLSYMS_DELTA_PFX) => kallsyms(KallsymsEncoding::DeltaPfx),
                    Some(other) => {
                        return Err(ReadError::Damaged(format!("unknown encoding {other:?}")))
                    }
                };
                files.add_file(&entry.path, stored);
                at = end;
            }
            "dir" => files.add_dir(&entry.path),
            "error" => files.add_file(&entry.path, Stored::Error(entry.errno.unwrap_or(libc::EIO))),
            other => return Err(ReadError::Damaged(format!("unknown file type {other:?}"))),
        }
    }
    let covered = groups.get(group).is_none_or(|g| at == g.size)
        && groups.iter().skip(group + 1).all(|g| g.size == 0);
    if !covered {
        return Err(damaged("the files do not fill the data"));
    }
    Ok((header, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            probedex: "test".into(),
            captured_unix: 0,
            source: "live".into(),
            kernel: KernelInfo::default(),
            features: None,
            frames: Vec::new(),
            groups: Vec::new(),
            files: Vec::new(),
        }
    }

    fn written(files: Vec<(String, Content)>) -> Vec<u8> {
        written_in_frames_of(FRAME_BYTES, files)
    }

    fn written_in_frames_of(frame_bytes: usize, files: Vec<(String, Content)>) -> Vec<u8> {
        let mut out = Vec::new();
        write_framed(&mut out, header(), files, frame_bytes).unwrap();
        out
    }

    fn frame(text: &[u8]) -> Vec<u8> {
        zstd::bulk::compress(text, 3).unwrap()
    }

    #[test]
    fn files_come_back() {
        let bytes = written(vec![
            (
                "/proc/kallsyms".into(),
                Content::File(b"ffffffff81000000 T x\n".to_vec()),
            ),
            ("/a/b".into(), Content::File(b"hello".to_vec())),
            (
                "/sys/kernel/btf/vmlinux".into(),
                Content::File(b"btf".to_vec()),
            ),
            ("/d".into(), Content::Dir),
            ("/e".into(), Content::Error(libc::EPERM)),
            ("/empty".into(), Content::File(Vec::new())),
        ]);
        let (header, files) = parse(bytes).unwrap();
        let paths: Vec<&str> = header.files.iter().map(|f| f.path.as_str()).collect();
        // Grouped: the rest, BTF, kallsyms.
        assert_eq!(
            paths,
            [
                "/a/b",
                "/d",
                "/e",
                "/empty",
                "/sys/kernel/btf/vmlinux",
                "/proc/kallsyms"
            ]
        );
        assert_eq!(header.version, 2);
        assert!(header.frames.is_empty());
        // kallsyms: the row `ffffffff81000000 T`, the empty row, the name.
        assert_eq!(header.groups, [[5], [3], [22]]);
        assert_eq!(
            header.files[5].encoding.as_deref(),
            Some("kallsyms-delta-pfx")
        );
        assert_eq!(&*files.read(Path::new("/a/b")).unwrap(), b"hello");
        assert_eq!(&*files.read(Path::new("/empty")).unwrap(), b"");
        assert_eq!(
            &*files.read(Path::new("/sys/kernel/btf/vmlinux")).unwrap(),
            b"btf"
        );
        assert_eq!(
            &*files.read(Path::new("/proc/kallsyms")).unwrap(),
            b"ffffffff81000000 T x\n"
        );
        assert!(files.is_dir(Path::new("/d")));
        assert_eq!(
            files.read(Path::new("/e")).unwrap_err().raw_os_error(),
            Some(libc::EPERM)
        );
    }

    #[test]
    fn files_span_the_frames_of_their_group() {
        assert_eq!(frame_sizes(10, 4), [3, 3, 4]);
        assert_eq!(frame_sizes(8, 4), [4, 4]);
        assert_eq!(frame_sizes(3, 4), [3]);
        let btf: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let bytes = written_in_frames_of(
            64,
            vec![
                ("/a/b".into(), Content::File(b"hello world".repeat(10))),
                ("/a/c".into(), Content::File(b"bye".to_vec())),
                ("/sys/kernel/btf/vmlinux".into(), Content::File(btf.clone())),
            ],
        );
        let (header, files) = parse(bytes).unwrap();
        assert_eq!(header.groups[0], [56, 57]);
        assert_eq!(header.groups[1].len(), 16);
        assert_eq!(header.groups[1].iter().sum::<u64>(), 1000);
        let files = std::sync::Arc::new(files);
        assert_eq!(
            &*files.read(Path::new("/a/b")).unwrap(),
            b"hello world".repeat(10)
        );
        assert_eq!(&*files.read(Path::new("/a/c")).unwrap(), b"bye");
        let shared =
            SnapshotFiles::read_shared(&files, Path::new("/sys/kernel/btf/vmlinux")).unwrap();
        assert!(*shared == btf[..]);
    }

    /// Format 1: one frame per group, kallsyms as `kallsyms-delta`.
    #[test]
    fn format_1_is_read() {
        let line = br#"{"format":"probedex-snapshot","version":1,"probedex":"0.1.0","captured_unix":0,"source":"live","kernel":{"release":null,"version":null,"machine":null,"build_id":null},"features":null,"frames":[5,21],"files":[{"path":"/a","type":"file","stored":5,"encoding":"raw"},{"path":"/proc/kallsyms","type":"file","stored":21,"encoding":"kallsyms-delta","digits":16}]}
"#;
        let mut bytes = frame(line);
        bytes.extend(frame(b"hello"));
        bytes.extend(frame(b"ffffffff81000000 T x\n"));
        let (header, files) = parse(bytes).unwrap();
        assert_eq!(header.version, 1);
        assert_eq!(&*files.read(Path::new("/a")).unwrap(), b"hello");
        assert_eq!(
            &*files.read(Path::new("/proc/kallsyms")).unwrap(),
            b"ffffffff81000000 T x\n"
        );
    }

    /// Headers whose layout contradicts the data.
    #[test]
    fn layouts_that_do_not_fit_are_damage() {
        let with = |layout: &str, data: &[&[u8]]| {
            let line = format!(
                r#"{{"format":"probedex-snapshot","version":2,"probedex":"x","captured_unix":0,"source":"live","kernel":{{}},"features":null,{layout},"files":[{{"path":"/a","type":"file","stored":5}}]}}"#
            );
            let mut bytes = frame(format!("{line}\n").as_bytes());
            for part in data {
                bytes.extend(frame(part));
            }
            parse(bytes)
        };
        assert!(with(r#""groups":[[2,3]]"#, &[b"he", b"llo"]).is_ok());
        for (layout, data, why) in [
            (r#""frames":[5]"#, &[&b"hello"[..]][..], "not of its format"),
            (
                r#""groups":[[5]],"frames":[5]"#,
                &[b"hello"],
                "not of its format",
            ),
            (r#""groups":[[5],[]]"#, &[b"hello"], "no frames"),
            (r#""groups":[[2,3]]"#, &[b"hello"], "frame count"),
            (
                r#""groups":[[2],[3]]"#,
                &[b"he", b"llo"],
                "runs past the end",
            ),
            (r#""groups":[[5],[3]]"#, &[b"hello", b"bye"], "do not fill"),
            (r#""groups":[[6]]"#, &[b"hello!"], "do not fill"),
            (
                r#""groups":[[1073741824,1]]"#,
                &[b"hello", b"!"],
                "too many bytes",
            ),
        ] {
            match with(layout, data) {
                Err(ReadError::Damaged(message)) => {
                    assert!(message.contains(why), "{layout}: {message}")
                }
                other => panic!("{layout}: {other:?}"),
            }
        }
        // Frames that expand to other sizes than the header's fail on read.
        let (_, files) = with(r#""groups":[[3,2]]"#, &[b"he", b"llo"]).unwrap();
        let message = files.read(Path::new("/a")).unwrap_err().to_string();
        assert!(message.contains("damaged"), "{message}");
    }

    #[test]
    fn damage_and_newer_versions_are_told_apart() {
        let bytes = written(vec![("/a".into(), Content::File(b"hello".to_vec()))]);
        let cut = bytes[..bytes.len() - 2].to_vec();
        assert!(matches!(parse(cut), Err(ReadError::Damaged(_))));
        // A data frame that does not expand to its size fails when read.
        let mut wrong = bytes.clone();
        let last = wrong.len() - 6;
        wrong[last] ^= 0xff;
        if let Ok((_, files)) = parse(wrong) {
            assert!(files.read(Path::new("/a")).is_err());
        }

        let newer = format!(
            "{}\n",
            serde_json::json!({"format": FORMAT, "version": VERSION + 1, "files": []})
        );
        assert!(matches!(
            parse(frame(newer.as_bytes())),
            Err(ReadError::NewerVersion(v)) if v == VERSION + 1
        ));
        assert!(matches!(parse(frame(b"{}\n")), Err(ReadError::Damaged(_))));
        assert!(matches!(
            parse(frame(b"no newline")),
            Err(ReadError::Damaged(_))
        ));
        assert!(matches!(
            parse(b"plain text".to_vec()),
            Err(ReadError::NotSnapshot)
        ));
    }

    /// Damage anywhere: a flipped byte or a cut at any point gives an
    /// error (at open, or when the damaged part is read), never a panic.
    #[test]
    fn damage_anywhere_is_an_error_not_a_panic() {
        // Groups of several frames, files across them, a folded pair.
        let bytes = written_in_frames_of(
            100,
            vec![
                ("/a/b".into(), Content::File(b"hello world".repeat(20))),
                (
                    "/sys/kernel/btf/vmlinux".into(),
                    Content::File(vec![7; 300]),
                ),
                (
                    "/proc/kallsyms".into(),
                    Content::File(
                        b"ffffffff81000000 T x\nffffffff81000010 t __pfx_y\n\
                          ffffffff81000020 t y\n"
                            .to_vec(),
                    ),
                ),
                ("/e".into(), Content::Error(libc::EPERM)),
            ],
        );
        let read_all = |files: &SnapshotFiles| {
            for path in [
                "/a/b",
                "/sys/kernel/btf/vmlinux",
                "/proc/kallsyms",
                "/e",
                "/x",
            ] {
                let _ = files.read(Path::new(path));
            }
        };
        for at in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                if let Ok((_, files)) = parse(damaged) {
                    read_all(&files);
                }
            }
            if let Ok((_, files)) = parse(bytes[..at].to_vec()) {
                read_all(&files);
            }
        }
    }
}

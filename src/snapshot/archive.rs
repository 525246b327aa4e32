//! The snapshot file: zstd frames that expand, one after another, to one
//! line of JSON (the header: what was captured, and an index of the files)
//! and then the files' bytes in the index's order. docs/json.md documents
//! it.
//!
//! The header is a frame of its own, and so is each group of files a
//! command may not need (BTF, kallsyms, the rest): a reader expands a group
//! the first time one of its files is read, so `check --snapshot` never
//! spends time on kallsyms. `zstd -dc FILE` still gives the whole stream.
//!
//! The files are the kernel's own descriptions, verbatim (tracefs format
//! files, BTF, kallsyms, ftrace's function list): every command reads a
//! snapshot through the parsers that read the running kernel, which is
//! what makes `list --snapshot` print exactly what `list` printed there,
//! and lets a newer probedex read an old snapshot with its newer parsers.

use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::files::{Part, RawFile, SnapshotFiles, Stored};
use super::kallsyms_delta;

/// The format's name in every header.
pub const FORMAT: &str = "probedex-snapshot";
/// The layout this probedex writes and reads.
pub const VERSION: u32 = 1;

/// zstd level 9: 2.3 MB for Linux 6.18 in ~0.3 s. Level 19 saves 8% more
/// and takes 8 s; long-distance matching saved nothing.
const LEVEL: i32 = 9;
/// A snapshot expands to ~12 MB; anything claiming more than this is not
/// one of ours, and must not exhaust memory.
const MAX_EXPANDED: u64 = 1 << 30;

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
    /// `raw`, or `kallsyms-delta` (see `snapshot::kallsyms_delta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// For `kallsyms-delta`: the width of the addresses.
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
    /// The expanded size of each data frame after the header's, in order:
    /// the files' bytes, cut into groups read independently.
    #[serde(default)]
    pub frames: Vec<u64>,
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
                "snapshot format {v} was written by a newer probedex; this one reads format \
                 {VERSION}: upgrade probedex"
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

/// Writes `files` with `header`'s fields (its `files` and `frames` are
/// rebuilt).
pub fn write(
    out: impl Write,
    mut header: Header,
    mut files: Vec<(String, Content)>,
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
                    match kallsyms_delta::encode(&bytes) {
                        Some((encoded, digits)) => {
                            entry.encoding = Some("kallsyms-delta".into());
                            entry.digits = Some(digits);
                            encoded
                        }
                        None => bytes,
                    }
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
    header.frames = groups.iter().map(|g| g.len() as u64).collect();
    let mut line = serde_json::to_vec(&header).map_err(io::Error::from)?;
    line.push(b'\n');
    let mut out = out;
    // Each part a frame of its own; the two large ones on their own threads.
    let compressed: Vec<io::Result<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = std::iter::once(&line)
            .chain(groups.iter())
            .map(|part| scope.spawn(move || zstd::bulk::compress(part, LEVEL)))
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

/// Expands one frame, refusing more than `limit` bytes.
pub(super) fn expand(frame: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(limit.min(MAX_EXPANDED as usize));
    zstd::stream::read::Decoder::new(frame)
        .and_then(|d| {
            use std::io::Read as _;
            d.take(limit as u64 + 1).read_to_end(&mut out)
        })
        .map_err(|e| e.to_string())?;
    if out.len() != limit {
        return Err(format!(
            "a part expands to {} bytes, not {limit}",
            out.len()
        ));
    }
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
        Some(v) if v == u64::from(VERSION) => {}
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
    if header.frames.len() + 1 != frames.len() {
        return Err(damaged("the header's frame count does not match the file"));
    }
    let mut parts = Vec::new();
    for (range, size) in frames[1..].iter().zip(&header.frames) {
        let size = usize::try_from(*size)
            .ok()
            .filter(|&s| s as u64 <= MAX_EXPANDED)
            .ok_or_else(|| damaged("a part claims too many bytes"))?;
        parts.push(Part {
            compressed: range.clone(),
            size,
        });
    }
    let mut files = SnapshotFiles::new(raw, parts);
    let (mut frame, mut at) = (0usize, 0usize);
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
                // A file lies wholly in one frame; skip frames used up.
                while size > 0 && frame < files.frame_count() && at == files.frame_len(frame) {
                    frame += 1;
                    at = 0;
                }
                let end = at
                    .checked_add(size)
                    .filter(|&end| {
                        size == 0 || (frame < files.frame_count() && end <= files.frame_len(frame))
                    })
                    .ok_or_else(|| damaged("a file runs past the end"))?;
                let stored = match entry.encoding.as_deref() {
                    None | Some("raw") => Stored::Raw(frame, at..end),
                    Some("kallsyms-delta") => Stored::KallsymsDelta {
                        frame,
                        range: at..end,
                        digits: entry.digits.unwrap_or(16).min(32),
                    },
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
            files: Vec::new(),
        }
    }

    fn written(files: Vec<(String, Content)>) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, header(), files).unwrap();
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
        // Grouped by frame: the rest, BTF, kallsyms.
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
        assert_eq!(header.frames, [5, 3, 21]);
        assert_eq!(header.files[5].encoding.as_deref(), Some("kallsyms-delta"));
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
        let bytes = written(vec![
            ("/a/b".into(), Content::File(b"hello world".repeat(20))),
            (
                "/sys/kernel/btf/vmlinux".into(),
                Content::File(vec![7; 300]),
            ),
            (
                "/proc/kallsyms".into(),
                Content::File(b"ffffffff81000000 T x\nffffffff81000010 t y\n".to_vec()),
            ),
            ("/e".into(), Content::Error(libc::EPERM)),
        ]);
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

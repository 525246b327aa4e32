//! The snapshot file: a zstd stream holding one line of JSON (the header:
//! what was captured, and an index of the files) and then the files' bytes,
//! one after another in the index's order. docs/json.md documents it.
//!
//! The files are the kernel's own descriptions, verbatim (tracefs format
//! files, BTF, kallsyms, ftrace's function list): every command reads a
//! snapshot through the parsers that read the running kernel, which is
//! what makes `list --snapshot` print exactly what `list` printed there,
//! and lets a newer probedex read an old snapshot with its newer parsers.

use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::files::{SnapshotFiles, Stored};
use super::kallsyms_delta;

/// The format's name in every header.
pub const FORMAT: &str = "probedex-snapshot";
/// The layout this probedex writes and reads.
pub const VERSION: u32 = 1;

/// zstd level 9 with long-distance matching: 2.3 MB for Linux 6.18 in
/// ~0.3 s. Level 19 saves 8% more and takes 8 s.
const LEVEL: i32 = 9;
const WINDOW_LOG: u32 = 27;
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

/// Writes `files` with `header`'s fields (its `files` index is rebuilt).
pub fn write(out: impl Write, mut header: Header, files: Vec<(String, Content)>) -> io::Result<()> {
    let mut blobs: Vec<Vec<u8>> = Vec::new();
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
                blobs.push(bytes);
            }
            Content::Dir => entry.kind = "dir".into(),
            Content::Error(errno) => {
                entry.kind = "error".into();
                entry.errno = Some(errno);
            }
        }
        header.files.push(entry);
    }
    let mut encoder = zstd::Encoder::new(out, LEVEL)?;
    encoder.long_distance_matching(true)?;
    encoder.window_log(WINDOW_LOG)?;
    serde_json::to_writer(&mut encoder, &header).map_err(io::Error::from)?;
    encoder.write_all(b"\n")?;
    for blob in &blobs {
        encoder.write_all(blob)?;
    }
    encoder.finish()?.flush()
}

/// Reads a snapshot: its header and its files.
pub fn read(path: &Path) -> Result<(Header, SnapshotFiles), ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut magic = [0u8; 4];
    (&file)
        .read_exact(&mut magic)
        .map_err(|_| ReadError::NotSnapshot)?;
    if magic != [0x28, 0xb5, 0x2f, 0xfd] {
        return Err(ReadError::NotSnapshot);
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut decoder = zstd::Decoder::new(file).map_err(ReadError::Io)?;
    decoder
        .window_log_max(WINDOW_LOG)
        .map_err(|e| ReadError::Damaged(e.to_string()))?;
    let mut expanded = Vec::with_capacity(16 << 20);
    decoder
        .take(MAX_EXPANDED)
        .read_to_end(&mut expanded)
        .map_err(|e| ReadError::Damaged(e.to_string()))?;
    parse(expanded)
}

/// Splits an expanded snapshot into its header and files.
fn parse(mut expanded: Vec<u8>) -> Result<(Header, SnapshotFiles), ReadError> {
    let damaged = |why: &str| ReadError::Damaged(why.to_string());
    let newline = expanded
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| damaged("no header line"))?;
    // The version first, so a newer layout gets "upgrade", not "damaged".
    let version: serde_json::Value = serde_json::from_slice(&expanded[..newline])
        .map_err(|e| ReadError::Damaged(format!("header: {e}")))?;
    if version.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(damaged(
            "the header does not name the probedex-snapshot format",
        ));
    }
    match version.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) if v > u64::from(VERSION) => {
            return Err(ReadError::NewerVersion(
                u32::try_from(v).unwrap_or(u32::MAX),
            ))
        }
        _ => return Err(damaged("the header has no valid version")),
    }
    let header: Header =
        serde_json::from_value(version).map_err(|e| ReadError::Damaged(format!("header: {e}")))?;
    let blob = expanded.split_off(newline + 1);
    let mut files = SnapshotFiles::new(blob);
    let mut at = 0usize;
    for entry in &header.files {
        if !entry.path.starts_with('/') {
            return Err(ReadError::Damaged(format!(
                "file path {:?} is not absolute",
                entry.path
            )));
        }
        match entry.kind.as_str() {
            "file" => {
                let end = usize::try_from(entry.stored)
                    .ok()
                    .and_then(|n| at.checked_add(n))
                    .filter(|&end| end <= files.blob_len())
                    .ok_or_else(|| damaged("a file runs past the end"))?;
                let stored = match entry.encoding.as_deref() {
                    None | Some("raw") => Stored::Raw(at..end),
                    Some("kallsyms-delta") => Stored::KallsymsDelta {
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
            files: Vec::new(),
        }
    }

    fn written(files: Vec<(String, Content)>) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, header(), files).unwrap();
        out
    }

    fn expand(bytes: &[u8]) -> Vec<u8> {
        zstd::decode_all(bytes).unwrap()
    }

    #[test]
    fn files_come_back() {
        let bytes = written(vec![
            ("/a/b".into(), Content::File(b"hello".to_vec())),
            (
                "/proc/kallsyms".into(),
                Content::File(b"ffffffff81000000 T x\n".to_vec()),
            ),
            ("/d".into(), Content::Dir),
            ("/e".into(), Content::Error(libc::EPERM)),
        ]);
        let (header, files) = parse(expand(&bytes)).unwrap();
        assert_eq!(header.files.len(), 4);
        assert_eq!(header.files[1].encoding.as_deref(), Some("kallsyms-delta"));
        assert_eq!(&*files.read(Path::new("/a/b")).unwrap(), b"hello");
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
        let mut expanded = expand(&bytes);
        expanded.truncate(expanded.len() - 2);
        assert!(matches!(parse(expanded), Err(ReadError::Damaged(_))));

        let newer = format!(
            "{}\n",
            serde_json::json!({"format": FORMAT, "version": VERSION + 1, "files": []})
        );
        assert!(matches!(
            parse(newer.into_bytes()),
            Err(ReadError::NewerVersion(v)) if v == VERSION + 1
        ));
        assert!(matches!(
            parse(b"{}\n".to_vec()),
            Err(ReadError::Damaged(_))
        ));
        assert!(matches!(
            parse(b"no newline".to_vec()),
            Err(ReadError::Damaged(_))
        ));
    }
}

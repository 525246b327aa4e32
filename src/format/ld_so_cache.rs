//! `/etc/ld.so.cache`: the dynamic loader's index from library names
//! (sonames) to files, written by `ldconfig`. Pure and zero-copy: takes the
//! file's bytes, and every name and path borrows from them. Also the rules
//! for turning a name given in a probe (`uprobe:libc:malloc`) into one of
//! those files, and the directories the loader searches when the cache has
//! no answer.
//!
//! # Layout
//!
//! From glibc's `sysdeps/generic/dl-cache.h` (the format), `elf/cache.c`
//! (`save_cache()`, the writer) and `elf/dl-cache.c`
//! (`_dl_load_cache_lookup()`, the loader's reader). All integers are in
//! the writing machine's byte order.
//!
//! ```text
//! struct cache_file_new {            48 bytes
//!     char     magic[17];            "glibc-ld.so.cache"
//!     char     version[3];           "1.1"
//!     uint32_t nlibs;                at 20
//!     uint32_t len_strings;          at 24
//!     uint8_t  flags;                at 28: byte order, 0 unset, 1 invalid, 2 little, 3 big
//!     uint8_t  padding[3];
//!     uint32_t extension_offset;     at 32: from the start of the FILE
//!     uint32_t unused[3];
//! };
//! struct file_entry_new {            24 bytes, nlibs of them, then the strings
//!     int32_t  flags;                FLAG_ELF_LIBC6 | an ABI bit, see below
//!     uint32_t key, value;           soname, path: from the start of THIS HEADER
//!     uint32_t osversion_unused;
//!     uint64_t hwcap;                0, or bit 62 + an index for glibc-hwcaps/ entries
//! };
//! ```
//!
//! Since glibc 2.32 `ldconfig` writes only that by default (`-c new`).
//! Before, it wrote the libc5-era format first (`-c compat`):
//! `"ld.so-1.7.0"`, a pad byte, `nlibs`, then 12-byte `{flags, key, value}` entries whose
//! offsets count from the end of those entries, and the new header hidden
//! in that old string table at the next 8-byte boundary. Either way the new
//! format's `key`/`value` count from the new header, not from the file:
//! `save_cache()` adds the header and entries' size to every string offset
//! ("the string table always begins at the beginning of the new cache
//! struct") and `_dl_load_cache_lookup()` reads them from `cache_new`. The
//! extension directory, by contrast, is at a file offset.
//!
//! What is read and what is not:
//! - Strings are checked as the loader checks them: in the file and
//!   NUL-terminated (the loader bounds them by the file size, not by
//!   `len_strings`). `ldconfig` shares string tails, so a soname usually
//!   points into the middle of its own path.
//! - The byte order comes from `flags`. Caches written before glibc 2.33
//!   leave it 0; then the order under which `nlibs` fits in the file wins,
//!   little-endian first. A cache `ldconfig` marked invalid is an error.
//! - The extension directory (the generator string and the glibc-hwcaps
//!   subdirectory names) is not followed: choosing among glibc-hwcaps
//!   entries needs the CPU's ISA level, which a parser of bytes cannot
//!   know. (Its string indices are ambiguous anyway: `write_extensions()`
//!   counts them from the new header, the loader and `ldconfig -p` from the
//!   file, so in a compat-format cache `ldconfig -p` prints `hwcap: ""`.)
//! - An old-format-only cache (glibc 2.1 and earlier, or `-c old`) is read
//!   too, as the loader still does.
//! - Entries whose soname or path is not UTF-8 are left out, so that the
//!   rest of the cache stays usable (probes name libraries as text): a
//!   library under a non-UTF-8 directory is not found through the cache.

use std::cmp::Ordering;
use std::fmt;

/// The old (libc5, glibc 2.0/2.1) format's magic, `CACHEMAGIC`.
pub const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
/// The new format's magic and version, `CACHEMAGIC_VERSION_NEW`.
pub const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";

/// `sizeof (struct cache_file)`: 11 magic bytes, a pad byte, `nlibs`.
const OLD_HEADER_LEN: usize = 16;
/// `sizeof (struct file_entry)`.
const OLD_ENTRY_LEN: usize = 12;
/// `sizeof (struct cache_file_new)`, a `_Static_assert` in dl-cache.h.
const NEW_HEADER_LEN: usize = 48;
/// `sizeof (struct file_entry_new)`.
const NEW_ENTRY_LEN: usize = 24;
/// `ALIGN_CACHE`: the new header follows the old entries at this alignment.
const NEW_HEADER_ALIGN: usize = 8;

// The entry flags, from glibc's `sysdeps/generic/ldconfig.h`. The low byte
// is the library type, the high byte the ABI the library needs.

/// Mask of the library-type byte.
pub const FLAG_TYPE_MASK: i32 = 0x00ff;
/// An ELF library of unknown libc (`ldconfig -p` says "ELF"); the generic
/// `_dl_cache_check_flags` (i386 and other 32-bit ports) accepts it.
pub const FLAG_ELF: i32 = 0x0001;
/// An ELF library linked against glibc ("libc6").
pub const FLAG_ELF_LIBC6: i32 = 0x0003;
/// Mask of the ABI byte.
pub const FLAG_REQUIRED_MASK: i32 = 0xff00;
/// x86_64's 64-bit ABI ("x86-64").
pub const FLAG_X8664_LIB64: i32 = 0x0300;
/// x86_64's x32 ABI ("x32").
pub const FLAG_X8664_LIBX32: i32 = 0x0800;
/// AArch64's 64-bit ABI ("AArch64").
pub const FLAG_AARCH64_LIB64: i32 = 0x0a00;

/// The `hwcap` bit that marks an entry from a `glibc-hwcaps/` subdirectory
/// (`DL_CACHE_HWCAP_EXTENSION`); the low 32 bits then index the extension
/// section of subdirectory names, bits 32..42 hold the ISA level.
const HWCAP_EXTENSION: u64 = 1 << 62;
/// `DL_CACHE_HWCAP_ISA_LEVEL_MASK`.
const HWCAP_ISA_LEVEL_MASK: u64 = (1 << 10) - 1;

/// One library in the cache: what `ldconfig -p` prints as
/// `NAME (FLAGS) => PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheEntry<'a> {
    /// The soname (`libc.so.6`), or a development link's name (`libz.so`),
    /// which `ldconfig` lists too when it points at an ELF file.
    pub name: &'a str,
    /// The file, as an absolute path on the system the cache describes.
    pub path: &'a str,
    /// Library type and ABI: `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64` (0x0303) for
    /// x86_64 and so on; pick entries with [`Arch::accepts`].
    pub flags: i32,
    /// 0 for an ordinary entry; see [`CacheEntry::in_glibc_hwcaps`]. Other
    /// non-zero values are the legacy hwcap bits, ignored since glibc 2.37.
    /// Always 0 in an old-format cache.
    pub hwcap: u64,
}

impl CacheEntry<'_> {
    /// Whether this is a build from a `glibc-hwcaps/` subdirectory
    /// (`x86-64-v3`, ...), which the loader prefers over the ordinary entry
    /// of the same name only when the CPU supports that ISA level
    /// (`dl_cache_hwcap_extension()` in dl-cache.h).
    pub fn in_glibc_hwcaps(&self) -> bool {
        (self.hwcap >> 32) & !HWCAP_ISA_LEVEL_MASK == HWCAP_EXTENSION >> 32
    }
}

/// Why bytes are not a readable `ld.so.cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LdSoCacheError {
    /// Neither `glibc-ld.so.cache1.1` nor `ld.so-1.7.0` at the start.
    BadMagic,
    /// The file ends inside its header or entry table.
    Truncated {
        /// What was being read: "old-format header", "new-format entries", ...
        what: &'static str,
        /// Bytes the file would need to hold it.
        needed: u64,
        /// Bytes it has.
        len: usize,
    },
    /// `ldconfig` set the header's byte-order flags to "invalid"
    /// (`cache_file_new_flags_endian_invalid`); the loader ignores such a
    /// cache.
    MarkedInvalid,
    /// An entry's soname or path offset points past the end of the file.
    OffsetPastEnd {
        /// The entry's 0-based index in the file.
        entry: u32,
        /// "name" or "path".
        field: &'static str,
        /// The offset from the file's start.
        offset: u64,
        len: usize,
    },
    /// An entry's soname or path runs to the end of the file without a NUL.
    Unterminated {
        entry: u32,
        field: &'static str,
        offset: u64,
    },
}

impl fmt::Display for LdSoCacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LdSoCacheError::BadMagic => f.write_str(
                "not an ld.so cache: it starts with neither 'glibc-ld.so.cache1.1' nor 'ld.so-1.7.0'",
            ),
            LdSoCacheError::Truncated { what, needed, len } => write!(
                f,
                "truncated: the {what} need {needed} bytes, the file has {len}"
            ),
            LdSoCacheError::MarkedInvalid => {
                f.write_str("ldconfig marked this cache invalid (byte-order flags 1)")
            }
            LdSoCacheError::OffsetPastEnd {
                entry,
                field,
                offset,
                len,
            } => write!(
                f,
                "entry {entry}: the {field} is at byte {offset}, past the end of the file ({len} bytes)"
            ),
            LdSoCacheError::Unterminated {
                entry,
                field,
                offset,
            } => write!(
                f,
                "entry {entry}: the {field} at byte {offset} runs to the end of the file without a NUL"
            ),
        }
    }
}

impl std::error::Error for LdSoCacheError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

fn read_u32(data: &[u8], at: usize, endian: Endian) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(match endian {
        Endian::Little => u32::from_le_bytes(bytes),
        Endian::Big => u32::from_be_bytes(bytes),
    })
}

fn read_u64(data: &[u8], at: usize, endian: Endian) -> Option<u64> {
    let bytes: [u8; 8] = data.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(match endian {
        Endian::Little => u64::from_le_bytes(bytes),
        Endian::Big => u64::from_be_bytes(bytes),
    })
}

/// `start + count * size` as a u64, which cannot overflow for u32 counts.
fn table_end(start: usize, count: u32, size: usize) -> u64 {
    start as u64 + u64::from(count) * size as u64
}

/// The byte order under which the `u32` count at `at` describes a table of
/// `entry_len`-byte entries from `table_start` that fits in the file; little
/// first. `None` when it fits under neither.
fn guess_endian(data: &[u8], at: usize, table_start: usize, entry_len: usize) -> Option<Endian> {
    [Endian::Little, Endian::Big].into_iter().find(|&endian| {
        read_u32(data, at, endian)
            .is_some_and(|count| table_end(table_start, count, entry_len) <= data.len() as u64)
    })
}

/// Parses an `ld.so.cache` into its entries, in file order. `ldconfig`
/// sorts them by soname, highest version first (see [`resolve_library`]).
pub fn parse_ld_so_cache(data: &[u8]) -> Result<Vec<CacheEntry<'_>>, LdSoCacheError> {
    if data.starts_with(NEW_MAGIC) {
        return parse_new(data, 0);
    }
    if !data.starts_with(OLD_MAGIC) {
        return Err(LdSoCacheError::BadMagic);
    }
    if data.len() < OLD_HEADER_LEN {
        return Err(LdSoCacheError::Truncated {
            what: "old-format header",
            needed: OLD_HEADER_LEN as u64,
            len: data.len(),
        });
    }
    let Some(endian) = guess_endian(data, 12, OLD_HEADER_LEN, OLD_ENTRY_LEN) else {
        let nlibs = read_u32(data, 12, Endian::Little).unwrap_or(0);
        return Err(LdSoCacheError::Truncated {
            what: "old-format entries",
            needed: table_end(OLD_HEADER_LEN, nlibs, OLD_ENTRY_LEN),
            len: data.len(),
        });
    };
    let nlibs = read_u32(data, 12, endian).unwrap_or(0);
    // Fits in the file (guess_endian checked), so fits in usize.
    let old_end = table_end(OLD_HEADER_LEN, nlibs, OLD_ENTRY_LEN) as usize;
    // The loader's test: the new header starts at the next ALIGN_CACHE
    // boundary and must fit whole.
    let new_start = old_end.next_multiple_of(NEW_HEADER_ALIGN);
    let hidden_new = data
        .get(new_start..)
        .is_some_and(|rest| rest.len() >= NEW_HEADER_LEN && rest.starts_with(NEW_MAGIC));
    if hidden_new {
        return parse_new(data, new_start);
    }
    // Old format only: no hwcap, offsets count from the end of the entries.
    let mut entries = Vec::with_capacity(nlibs as usize);
    for index in 0..nlibs {
        let at = OLD_HEADER_LEN + index as usize * OLD_ENTRY_LEN;
        let word = |field: usize| read_u32(data, at + field, endian).unwrap_or(0);
        if let Some(entry) = entry(data, old_end, index, word(0) as i32, word(4), word(8), 0)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// The new format, its header at `start` (0, or after an old-format block).
fn parse_new(data: &[u8], start: usize) -> Result<Vec<CacheEntry<'_>>, LdSoCacheError> {
    let entries_start = start + NEW_HEADER_LEN;
    if data.len() < entries_start {
        return Err(LdSoCacheError::Truncated {
            what: "new-format header",
            needed: entries_start as u64,
            len: data.len(),
        });
    }
    let endian = match data[start + 28] & 3 {
        1 => return Err(LdSoCacheError::MarkedInvalid),
        2 => Endian::Little,
        3 => Endian::Big,
        _ => guess_endian(data, start + 20, entries_start, NEW_ENTRY_LEN).unwrap_or(Endian::Little),
    };
    let nlibs = read_u32(data, start + 20, endian).unwrap_or(0);
    let needed = table_end(entries_start, nlibs, NEW_ENTRY_LEN);
    if needed > data.len() as u64 {
        return Err(LdSoCacheError::Truncated {
            what: "new-format entries",
            needed,
            len: data.len(),
        });
    }
    let mut entries = Vec::with_capacity(nlibs as usize);
    for index in 0..nlibs {
        let at = entries_start + index as usize * NEW_ENTRY_LEN;
        let word = |field: usize| read_u32(data, at + field, endian).unwrap_or(0);
        let hwcap = read_u64(data, at + 16, endian).unwrap_or(0);
        if let Some(entry) = entry(data, start, index, word(0) as i32, word(4), word(8), hwcap)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// One entry, its strings at `base + key` and `base + value`; `None` when
/// one of them is not UTF-8.
fn entry(
    data: &[u8],
    base: usize,
    index: u32,
    flags: i32,
    key: u32,
    value: u32,
    hwcap: u64,
) -> Result<Option<CacheEntry<'_>>, LdSoCacheError> {
    let name = c_string(data, base, key, index, "name")?;
    let path = c_string(data, base, value, index, "path")?;
    let (Ok(name), Ok(path)) = (std::str::from_utf8(name), std::str::from_utf8(path)) else {
        return Ok(None);
    };
    Ok(Some(CacheEntry {
        name,
        path,
        flags,
        hwcap,
    }))
}

/// The NUL-terminated string at `base + offset`, without its NUL.
fn c_string<'a>(
    data: &'a [u8],
    base: usize,
    offset: u32,
    entry: u32,
    field: &'static str,
) -> Result<&'a [u8], LdSoCacheError> {
    let at = base as u64 + u64::from(offset);
    let rest = usize::try_from(at)
        .ok()
        .and_then(|at| data.get(at..))
        .filter(|rest| !rest.is_empty())
        .ok_or(LdSoCacheError::OffsetPastEnd {
            entry,
            field,
            offset: at,
            len: data.len(),
        })?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(LdSoCacheError::Unterminated {
            entry,
            field,
            offset: at,
        })?;
    Ok(&rest[..end])
}

/// The architectures whose cache flags and library directories are known
/// here. A cache lists every ABI `ldconfig` found (on a Debian x86_64 with
/// `libc6-i386`, `libc.so.6` appears twice: x86-64 and plain libc6), so a
/// lookup must say which one it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    /// 32-bit x86.
    I386,
    Aarch64,
}

impl Arch {
    /// The architecture probedex was built for, if it is one of these.
    pub const fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::I386)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// Whether that architecture's loader uses a cache entry with these
    /// flags: its `_dl_cache_check_flags`.
    pub fn accepts(self, flags: i32) -> bool {
        match self {
            Arch::X86_64 => is_x86_64(flags),
            Arch::I386 => is_i386(flags),
            Arch::Aarch64 => is_aarch64(flags),
        }
    }

    /// Directories to search, in order, when the cache has no answer.
    ///
    /// The loader's own list is fixed when glibc is built. Measured with
    /// `ld.so --help` on Debian 12 (glibc 2.36): x86_64 searches
    /// `/lib/x86_64-linux-gnu`, `/usr/lib/x86_64-linux-gnu`, `/lib`,
    /// `/usr/lib`; the `libc6-i386` loader `/lib32`, `/usr/lib32`, `/lib`,
    /// `/usr/lib`. Upstream glibc's default for x86_64 and AArch64 is
    /// `lib64` (`LIBC_SLIBDIR_RTLDDIR([lib64], ...)` in their
    /// `sysdeps/unix/sysv/linux/*/configure.ac`), which Fedora, RHEL and
    /// SUSE keep. No one system has both families populated (Debian's
    /// `/lib64` holds only the loader's symlink), so this is the union in
    /// that order. The catch: where `/lib` and `/usr/lib` hold 32-bit
    /// libraries (Fedora x86_64), a file found there may be the wrong
    /// class, so the caller checks the ELF header.
    pub const fn standard_dirs(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib",
            ],
            Arch::I386 => &[
                "/lib/i386-linux-gnu",
                "/usr/lib/i386-linux-gnu",
                "/lib32",
                "/usr/lib32",
                "/lib",
                "/usr/lib",
            ],
            Arch::Aarch64 => &[
                "/lib/aarch64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib",
            ],
        }
    }
}

/// The loader's search directories on x86_64 (see [`Arch::standard_dirs`]).
pub const STANDARD_DIRS: &[&str] = Arch::X86_64.standard_dirs();

/// x86_64's `_dl_cache_check_flags` (sysdeps/x86_64/dl-cache.h): exactly
/// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64`, 0x0303.
pub fn is_x86_64(flags: i32) -> bool {
    flags == FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
}

/// The generic `_dl_cache_check_flags` (sysdeps/generic/dl-cache.h) that
/// i386 uses: `FLAG_ELF` or `FLAG_ELF_LIBC6` with no ABI bits.
pub fn is_i386(flags: i32) -> bool {
    flags == FLAG_ELF || flags == FLAG_ELF_LIBC6
}

/// AArch64's `_dl_cache_check_flags`
/// (sysdeps/unix/sysv/linux/aarch64/dl-cache.h): exactly
/// `FLAG_AARCH64_LIB64 | FLAG_ELF_LIBC6`, 0x0a03.
pub fn is_aarch64(flags: i32) -> bool {
    flags == FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64
}

/// How well a file or soname `candidate` answers `wanted`; lower is
/// better, `None` is no match. The three shapes of `wanted`:
///
/// - versioned, `libc.so.6`: that name (0), else a longer version of it,
///   `libc.so.6.1` (1);
/// - bare, `libc`: that exact name (0; a soname without `.so` is rare but
///   legal), else `libc.so.VERSION` (1), else the unversioned `libc.so` (2);
/// - unversioned, `libc.so`: `libc.so.VERSION` (1), else `libc.so` itself
///   (2), because on Debian that name is the development link, and for
///   libc a linker script rather than a library.
fn match_rank(wanted: &str, candidate: &str) -> Option<u8> {
    if let Some(stem) = wanted.strip_suffix(".so") {
        return unversioned_rank(stem, candidate);
    }
    if candidate == wanted {
        return Some(0);
    }
    if wanted.contains(".so.") {
        return candidate
            .strip_prefix(wanted)
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|version| !version.is_empty())
            .map(|_| 1);
    }
    unversioned_rank(wanted, candidate)
}

/// `STEM.so.VERSION` (1) or `STEM.so` (2).
fn unversioned_rank(stem: &str, candidate: &str) -> Option<u8> {
    let rest = candidate.strip_prefix(stem)?.strip_prefix(".so")?;
    match rest.strip_prefix('.') {
        None if rest.is_empty() => Some(2),
        Some(version) if !version.is_empty() => Some(1),
        _ => None,
    }
}

/// Names no library lookup answers: paths and wildcards, which bpftrace
/// also leaves alone.
fn is_library_name(wanted: &str) -> bool {
    !wanted.is_empty() && !wanted.contains(['/', '*', '\0'])
}

/// The file the cache gives for `wanted` (`libc`, `libc.so`, `libc.so.6`),
/// among entries `arch_flags_ok` accepts (usually [`Arch::accepts`]).
/// `None` for a name with `/` or `*` in it, and when nothing matches; the
/// caller then tries [`STANDARD_DIRS`] with [`directory_candidates`].
///
/// bpftrace (`uprobe_parser()` in src/ast/passes/attachpoint_passes.cpp)
/// hands any target starting with `lib` and without a wildcard to BCC's
/// `bcc_procutils_which_so()` (src/cc/bcc_proc.c) minus the `lib`, which
/// looks for `lib` + NAME + `.so` when NAME has no `.so` in it and for
/// `lib` + NAME otherwise, as a prefix of an entry's soname, and takes the
/// first such entry in file order whose flags are libc6 with the host's
/// word size. This keeps that outcome for `libc`, `libc.so` and
/// `libc.so.6` and differs only where a bare prefix goes wrong:
/// - an exact soname wins over a longer one, and a version continues only
///   at a dot: BCC's prefix `libfoo.so.1` also takes `libfoo.so.10`, which
///   sorts before it, and its `libfoo.so` takes `libfoo.sox`;
/// - the flags must be this architecture's (BCC takes any 64-bit ABI);
/// - an ordinary entry wins over a `glibc-hwcaps/` build of the same name,
///   which is what the loader picks on a CPU below that ISA level, and the
///   only answer that does not depend on the CPU (see
///   [`CacheEntry::in_glibc_hwcaps`]);
/// - any name is looked up, not only `lib*` ones, because the loader looks
///   up `ld-linux-x86-64.so.2` the same way; a program name (`bash`)
///   matches nothing.
///
/// Among several versions (`libssl.so.3`, `libssl.so.1.1`) the first in
/// the file wins, as in BCC: `ldconfig` writes entries sorted by
/// `_dl_cache_libcmp()` descending (`compare()` in elf/cache.c swaps its
/// arguments), which compares digit runs as numbers, so the highest version
/// comes first; equal names are ordered by flags, highest first, then
/// glibc-hwcaps builds before the ordinary one. Which version a given
/// program loads is its own `DT_NEEDED`, which only `-p PID` can answer.
pub fn resolve_library<'a>(
    wanted: &str,
    entries: &[CacheEntry<'a>],
    arch_flags_ok: impl Fn(i32) -> bool,
) -> Option<&'a str> {
    if !is_library_name(wanted) {
        return None;
    }
    entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| arch_flags_ok(entry.flags))
        .filter_map(|(index, entry)| {
            let rank = match_rank(wanted, entry.name)?;
            Some(((rank, entry.hwcap != 0, index), entry.path))
        })
        .min_by_key(|&(key, _)| key)
        .map(|(_, path)| path)
}

/// The files in one directory that may be `wanted`, best first, from that
/// directory's listing: the exact name, then versioned names with the
/// highest version first and, within one version, the shortest
/// (`libstdc++.so.6` before its target `libstdc++.so.6.0.30`, since the
/// soname link is what programs load), then an unversioned `libX.so`
/// (which may be a linker script: the caller checks for ELF). Empty for a
/// name with `/` or `*` in it.
pub fn directory_candidates<'n>(
    wanted: &str,
    file_names: impl IntoIterator<Item = &'n str>,
) -> Vec<&'n str> {
    if !is_library_name(wanted) {
        return Vec::new();
    }
    let mut ranked: Vec<(u8, &str)> = file_names
        .into_iter()
        .filter_map(|name| Some((match_rank(wanted, name)?, name)))
        .collect();
    ranked.sort_by(|(rank_a, a), (rank_b, b)| {
        rank_a
            .cmp(rank_b)
            .then_with(|| compare_versions(version_of(b), version_of(a)))
            .then_with(|| a.cmp(b))
    });
    ranked.dedup();
    ranked.into_iter().map(|(_, name)| name).collect()
}

/// What follows the first `.so.`, or "" without one.
fn version_of(name: &str) -> &str {
    name.find(".so.").map_or("", |at| &name[at + 4..])
}

/// Orders versions dot-component by component, digit runs as numbers like
/// `_dl_cache_libcmp()`; where one is a prefix of the other (`6` and
/// `6.0.30`), the shorter is the greater, so it sorts first when descending.
fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut a_parts = a.split('.');
    let mut b_parts = b.split('.');
    loop {
        match (a_parts.next(), b_parts.next()) {
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (None, None) => return Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mutate::mutations;

    // A real cache: `ldconfig -r ROOT -C /etc/ld.so.cache` from Debian 12
    // (GLIBC 2.36-9+deb12u14) over a root holding copies of this machine's
    // /lib/x86_64-linux-gnu/{libc.so.6, ld-linux-x86-64.so.2, libz.so.1.2.13}
    // (plus the `libz.so` development link), the same libz in
    // glibc-hwcaps/x86-64-v3/, and /lib32/libc.so.6 (listed in ROOT's
    // /etc/ld.so.conf). Layout: header, 6 entries, strings (sonames share
    // their paths' tails), extension directory, hwcaps names, generator.
    // `ldconfig -p -C` on it prints:
    //
    //   libz.so.1 (libc6,x86-64, hwcap: "x86-64-v3") => /lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13
    //   libz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1
    //   libz.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so
    //   libc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6
    //   libc.so.6 (libc6) => /lib32/libc.so.6
    //   ld-linux-x86-64.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
    const REAL_NEW: &[u8] = b"glibc-ld.so.cache1.1\
\x06\0\0\0\xe0\0\0\0\x02\0\0\0\xa0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0\x96\x01\0\0\x19\x01\0\0\0\0\0\0\0\0\0\0\0\0\0@\
\x03\x03\0\0\x96\x01\0\0\x80\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0\xd6\0\0\0\xc0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0\x05\x01\0\0\xde\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\0\0\0\x05\x01\0\0\xfe\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0k\x01\0\0U\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
/lib/x86_64-linux-gnu/libz.so\0\
/lib/x86_64-linux-gnu/libc.so.6\0\
/lib32/libc.so.6\0\
x86-64-v3\0\
/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13\0\
/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\0\
/lib/x86_64-linux-gnu/libz.so.1\0\
t!\xa4\xea\x02\0\0\0\
\0\0\0\0\0\0\0\0\xcc\x01\0\0C\0\0\0\
\x01\0\0\0\0\0\0\0\xc8\x01\0\0\x04\0\0\0\
\x0f\x01\0\0\
ldconfig (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36";

    // The same root with `ldconfig -c compat`: the old-format block (6
    // entries, an even count, so no padding) with the new format hidden in
    // its string table at byte 88. The new entries' offsets are the same
    // as above: they count from the new header. The extension offsets
    // (0x1f8, 0x224, 0x220) count from the file.
    const REAL_COMPAT: &[u8] = b"ld.so-1.7.0\
\0\x06\0\0\0\
\x03\x03\0\0\x96\x01\0\0\x19\x01\0\0\
\x03\x03\0\0\x96\x01\0\0\x80\x01\0\0\
\x03\x03\0\0\xd6\0\0\0\xc0\0\0\0\
\x03\x03\0\0\x05\x01\0\0\xde\0\0\0\
\x03\0\0\0\x05\x01\0\0\xfe\0\0\0\
\x03\x03\0\0k\x01\0\0U\x01\0\0\
glibc-ld.so.cache1.1\
\x06\0\0\0\xe0\0\0\0\x02\0\0\0\xf8\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0\x96\x01\0\0\x19\x01\0\0\0\0\0\0\0\0\0\0\0\0\0@\
\x03\x03\0\0\x96\x01\0\0\x80\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0\xd6\0\0\0\xc0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0\x05\x01\0\0\xde\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\0\0\0\x05\x01\0\0\xfe\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
\x03\x03\0\0k\x01\0\0U\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
/lib/x86_64-linux-gnu/libz.so\0\
/lib/x86_64-linux-gnu/libc.so.6\0\
/lib32/libc.so.6\0\
x86-64-v3\0\
/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13\0\
/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\0\
/lib/x86_64-linux-gnu/libz.so.1\0\
t!\xa4\xea\x02\0\0\0\
\0\0\0\0\0\0\0\0$\x02\0\0C\0\0\0\
\x01\0\0\0\0\0\0\0 \x02\0\0\x04\0\0\0\
\x0f\x01\0\0\
ldconfig (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36";

    const X86_64: i32 = FLAG_ELF_LIBC6 | FLAG_X8664_LIB64;
    const AARCH64: i32 = FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64;
    const HWCAPS_V3: u64 = HWCAP_EXTENSION;

    fn real_entries() -> Vec<CacheEntry<'static>> {
        let entry = |name, path, flags, hwcap| CacheEntry {
            name,
            path,
            flags,
            hwcap,
        };
        vec![
            entry(
                "libz.so.1",
                "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13",
                X86_64,
                HWCAPS_V3,
            ),
            entry("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", X86_64, 0),
            entry("libz.so", "/lib/x86_64-linux-gnu/libz.so", X86_64, 0),
            entry("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", X86_64, 0),
            entry("libc.so.6", "/lib32/libc.so.6", FLAG_ELF_LIBC6, 0),
            entry(
                "ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                X86_64,
                0,
            ),
        ]
    }

    /// Which on-disk format [`Builder`] writes (`ldconfig -c`).
    #[derive(Clone, Copy)]
    enum Format {
        New,
        Compat,
        Old,
    }

    /// Writes a cache with the exact layout of dl-cache.h, entries in the
    /// order given, each string stored once (no tail sharing), an extension
    /// directory with a generator section after the strings.
    struct Builder {
        format: Format,
        endian: Endian,
        /// The header's flags byte; `None` writes the one for `endian`.
        endian_flag: Option<u8>,
        entries: Vec<(i32, &'static str, &'static str, u64)>,
    }

    impl Builder {
        fn new(entries: &[(i32, &'static str, &'static str)]) -> Builder {
            Builder {
                format: Format::New,
                endian: Endian::Little,
                endian_flag: None,
                entries: entries
                    .iter()
                    .map(|&(flags, name, path)| (flags, name, path, 0))
                    .collect(),
            }
        }

        fn u32(&self, out: &mut Vec<u8>, value: u32) {
            out.extend(match self.endian {
                Endian::Little => value.to_le_bytes(),
                Endian::Big => value.to_be_bytes(),
            });
        }

        fn u64(&self, out: &mut Vec<u8>, value: u64) {
            out.extend(match self.endian {
                Endian::Little => value.to_le_bytes(),
                Endian::Big => value.to_be_bytes(),
            });
        }

        /// The string table and each entry's (key, value) within it.
        fn strings(&self) -> (Vec<u8>, Vec<(u32, u32)>) {
            let mut table = Vec::new();
            let mut offsets = Vec::new();
            for &(_, name, path, _) in &self.entries {
                let key = table.len() as u32;
                table.extend(name.as_bytes());
                table.push(0);
                let value = table.len() as u32;
                table.extend(path.as_bytes());
                table.push(0);
                offsets.push((key, value));
            }
            (table, offsets)
        }

        fn build(&self) -> Vec<u8> {
            let (table, offsets) = self.strings();
            let n = self.entries.len();
            let mut out = Vec::new();
            if let Format::Old | Format::Compat = self.format {
                // save_cache() pads the old block to an even entry count
                // by repeating the last entry, so the new header that
                // follows is 8-aligned with no padding.
                let old_count = match self.format {
                    Format::Compat => (n + 1) & !1,
                    _ => n,
                };
                let shift = match self.format {
                    Format::Compat => (NEW_HEADER_LEN + n * NEW_ENTRY_LEN) as u32,
                    _ => 0,
                };
                out.extend(OLD_MAGIC);
                out.push(0);
                self.u32(&mut out, old_count as u32);
                for i in 0..old_count {
                    let i = i.min(n.saturating_sub(1));
                    let (flags, ..) = self.entries[i];
                    let (key, value) = offsets[i];
                    self.u32(&mut out, flags as u32);
                    self.u32(&mut out, shift + key);
                    self.u32(&mut out, shift + value);
                }
                if let Format::Old = self.format {
                    out.extend(&table);
                    return out;
                }
            }
            let start = out.len();
            let flag = self.endian_flag.unwrap_or(match self.endian {
                Endian::Little => 2,
                Endian::Big => 3,
            });
            let strings_at = (NEW_HEADER_LEN + n * NEW_ENTRY_LEN) as u32;
            let extension_at = (start + strings_at as usize + table.len()).next_multiple_of(4);
            out.extend(NEW_MAGIC);
            self.u32(&mut out, n as u32);
            self.u32(&mut out, table.len() as u32);
            out.extend([flag, 0, 0, 0]);
            self.u32(&mut out, extension_at as u32);
            out.extend([0; 12]);
            for (&(flags, _, _, hwcap), &(key, value)) in self.entries.iter().zip(&offsets) {
                self.u32(&mut out, flags as u32);
                self.u32(&mut out, strings_at + key);
                self.u32(&mut out, strings_at + value);
                self.u32(&mut out, 0);
                self.u64(&mut out, hwcap);
            }
            out.extend(&table);
            out.resize(extension_at, 0);
            let generator = b"probedex test builder";
            self.u32(&mut out, 0xeaa4_2174); // cache_extension_magic
            self.u32(&mut out, 1);
            self.u32(&mut out, 0); // cache_extension_tag_generator
            self.u32(&mut out, 0);
            self.u32(&mut out, (extension_at + 24) as u32);
            self.u32(&mut out, generator.len() as u32);
            out.extend(generator);
            out
        }
    }

    /// Entries as `ldconfig` would order them: descending by
    /// `_dl_cache_libcmp`, so higher versions first.
    const VERSIONS: &[(i32, &str, &str)] = &[
        (X86_64, "libssl3.so", "/usr/lib/x86_64-linux-gnu/libssl3.so"),
        (
            X86_64,
            "libssl.so.3",
            "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        ),
        (X86_64, "libssl.so.1.1", "/opt/old/libssl.so.1.1"),
        (X86_64, "libssl.so", "/usr/lib/x86_64-linux-gnu/libssl.so"),
        (X86_64, "libfoo.so.10", "/opt/foo/libfoo.so.10"),
        (X86_64, "libfoo.so.1", "/opt/foo/libfoo.so.1"),
        (X86_64, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
        (X86_64, "libc.so", "/usr/lib/x86_64-linux-gnu/libc.so"),
        (
            AARCH64,
            "libbar.so.2",
            "/usr/lib/aarch64-linux-gnu/libbar.so.2",
        ),
        (
            X86_64,
            "libbar.so.1",
            "/usr/lib/x86_64-linux-gnu/libbar.so.1",
        ),
    ];

    #[test]
    fn parses_real_new_format() {
        assert_eq!(REAL_NEW.len(), 527, "the capture is byte-exact");
        let entries = parse_ld_so_cache(REAL_NEW).unwrap();
        assert_eq!(entries, real_entries());
        assert!(entries[0].in_glibc_hwcaps());
        assert!(entries[1..].iter().all(|e| !e.in_glibc_hwcaps()));
    }

    #[test]
    fn parses_real_compat_format_through_the_old_block() {
        assert_eq!(REAL_COMPAT.len(), 615, "the capture is byte-exact");
        assert_eq!(parse_ld_so_cache(REAL_COMPAT).unwrap(), real_entries());
    }

    #[test]
    fn resolves_like_the_loader_on_the_real_cache() {
        let entries = parse_ld_so_cache(REAL_NEW).unwrap();
        let x86_64 = |name| resolve_library(name, &entries, is_x86_64);
        for name in ["libc", "libc.so", "libc.so.6"] {
            assert_eq!(
                x86_64(name),
                Some("/lib/x86_64-linux-gnu/libc.so.6"),
                "{name}"
            );
        }
        // The ordinary libz, not the x86-64-v3 build listed before it.
        for name in ["libz", "libz.so", "libz.so.1"] {
            assert_eq!(
                x86_64(name),
                Some("/lib/x86_64-linux-gnu/libz.so.1"),
                "{name}"
            );
        }
        assert_eq!(
            x86_64("ld-linux-x86-64.so.2"),
            Some("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        );
        let i386 = |name| resolve_library(name, &entries, |flags| Arch::I386.accepts(flags));
        assert_eq!(i386("libc"), Some("/lib32/libc.so.6"));
        assert_eq!(i386("libz"), None);
        assert_eq!(resolve_library("libc", &entries, is_aarch64), None);
        for name in [
            "libc.so.7",
            "libc.so.6.1",
            "lib",
            "c",
            "bash",
            "libz.so.1.2",
        ] {
            assert_eq!(x86_64(name), None, "{name}");
        }
        // Paths and wildcards are not library names.
        for name in [
            "",
            "/lib/x86_64-linux-gnu/libc.so.6",
            "./libc",
            "libc*",
            "lib*",
        ] {
            assert_eq!(x86_64(name), None, "{name:?}");
        }
    }

    #[test]
    fn resolver_takes_exact_sonames_then_the_highest_version() {
        let data = Builder::new(VERSIONS).build();
        let entries = parse_ld_so_cache(&data).unwrap();
        assert_eq!(entries.len(), VERSIONS.len());
        let find = |name| resolve_library(name, &entries, is_x86_64);
        // Bare and unversioned names take the first (highest) version, never
        // libssl3.so (NSS) and never the libssl.so development link first.
        assert_eq!(
            find("libssl"),
            Some("/usr/lib/x86_64-linux-gnu/libssl.so.3")
        );
        assert_eq!(
            find("libssl.so"),
            Some("/usr/lib/x86_64-linux-gnu/libssl.so.3")
        );
        assert_eq!(find("libssl.so.1.1"), Some("/opt/old/libssl.so.1.1"));
        assert_eq!(find("libssl.so.1"), Some("/opt/old/libssl.so.1.1"));
        assert_eq!(
            find("libssl3"),
            Some("/usr/lib/x86_64-linux-gnu/libssl3.so")
        );
        // BCC's prefix match would answer .so.10 here: it sorts first.
        assert_eq!(find("libfoo.so.1"), Some("/opt/foo/libfoo.so.1"));
        assert_eq!(find("libfoo"), Some("/opt/foo/libfoo.so.10"));
        assert_eq!(find("libc.so"), Some("/lib/x86_64-linux-gnu/libc.so.6"));
        // Another architecture's newer version is not a candidate.
        assert_eq!(
            find("libbar"),
            Some("/usr/lib/x86_64-linux-gnu/libbar.so.1")
        );
        assert_eq!(
            resolve_library("libbar", &entries, is_aarch64),
            Some("/usr/lib/aarch64-linux-gnu/libbar.so.2")
        );
        // A development link alone is still an answer.
        let only_link = [(X86_64, "libonly.so", "/usr/lib/libonly.so")];
        let data = Builder::new(&only_link).build();
        let entries = parse_ld_so_cache(&data).unwrap();
        assert_eq!(
            resolve_library("libonly", &entries, is_x86_64),
            Some("/usr/lib/libonly.so")
        );
    }

    #[test]
    fn glibc_hwcaps_builds_are_a_last_resort() {
        let mut builder = Builder::new(&[]);
        builder.entries = vec![
            (
                X86_64,
                "libq.so.1",
                "/usr/lib/glibc-hwcaps/x86-64-v3/libq.so.1",
                HWCAPS_V3,
            ),
            (X86_64, "libq.so.1", "/usr/lib/libq.so.1", 0),
            (
                X86_64,
                "libr.so.1",
                "/usr/lib/glibc-hwcaps/x86-64-v2/libr.so.1",
                HWCAPS_V3 | 1,
            ),
        ];
        let data = builder.build();
        let entries = parse_ld_so_cache(&data).unwrap();
        assert_eq!(
            resolve_library("libq", &entries, is_x86_64),
            Some("/usr/lib/libq.so.1")
        );
        assert_eq!(
            resolve_library("libr", &entries, is_x86_64),
            Some("/usr/lib/glibc-hwcaps/x86-64-v2/libr.so.1")
        );
        // ISA level bits (32..42) still mean glibc-hwcaps; bit 63 does not.
        let level = |hwcap| CacheEntry {
            name: "x",
            path: "/x",
            flags: X86_64,
            hwcap,
        };
        assert!(level(HWCAP_EXTENSION | (3 << 32) | 7).in_glibc_hwcaps());
        assert!(!level(HWCAP_EXTENSION | (1 << 63)).in_glibc_hwcaps());
        assert!(!level(0).in_glibc_hwcaps());
        assert!(!level(1 << 12).in_glibc_hwcaps());
    }

    #[test]
    fn every_format_and_byte_order_reads_the_same() {
        let reference = Builder::new(VERSIONS).build();
        let expected = parse_ld_so_cache(&reference).unwrap();
        for format in [Format::New, Format::Compat, Format::Old] {
            for endian in [Endian::Little, Endian::Big] {
                // Some(0): written before glibc 2.33, byte order unset.
                for endian_flag in [None, Some(0)] {
                    let builder = Builder {
                        format,
                        endian,
                        endian_flag,
                        ..Builder::new(VERSIONS)
                    };
                    let data = builder.build();
                    let entries = parse_ld_so_cache(&data).unwrap();
                    assert_eq!(entries, expected, "{endian:?} {endian_flag:?}");
                }
            }
        }
        // An odd count: the compat block repeats its last entry, the new
        // part has the real count.
        let odd = &VERSIONS[..3];
        let builder = Builder {
            format: Format::Compat,
            ..Builder::new(odd)
        };
        assert_eq!(parse_ld_so_cache(&builder.build()).unwrap().len(), 3);
        // No entries at all.
        for format in [Format::New, Format::Compat, Format::Old] {
            let builder = Builder {
                format,
                ..Builder::new(&[])
            };
            assert_eq!(parse_ld_so_cache(&builder.build()).unwrap(), []);
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(parse_ld_so_cache(b""), Err(LdSoCacheError::BadMagic));
        assert_eq!(parse_ld_so_cache(b"\x7fELF"), Err(LdSoCacheError::BadMagic));
        assert_eq!(
            parse_ld_so_cache(b"glibc-ld.so.cache1.0\0\0\0\0"),
            Err(LdSoCacheError::BadMagic)
        );

        let header = parse_ld_so_cache(&REAL_NEW[..40]).unwrap_err();
        assert_eq!(
            header,
            LdSoCacheError::Truncated {
                what: "new-format header",
                needed: 48,
                len: 40
            }
        );
        assert_eq!(
            header.to_string(),
            "truncated: the new-format header need 48 bytes, the file has 40"
        );
        // Cut inside the entries: 48 + 6 * 24 = 192 bytes needed.
        let entries = parse_ld_so_cache(&REAL_NEW[..100]).unwrap_err();
        assert!(
            matches!(entries, LdSoCacheError::Truncated { needed: 192, .. }),
            "{entries}"
        );
        // Cut inside the strings: the last entry's path is now past the end.
        let strings = parse_ld_so_cache(&REAL_NEW[..0x150]).unwrap_err();
        assert!(
            matches!(strings, LdSoCacheError::OffsetPastEnd { .. }),
            "{strings}"
        );
        assert!(
            strings
                .to_string()
                .contains("past the end of the file (336 bytes)"),
            "{strings}"
        );
        // Cut inside a string: no NUL before the end.
        let cut = parse_ld_so_cache(&REAL_NEW[..0x19a]).unwrap_err();
        assert_eq!(
            cut,
            LdSoCacheError::Unterminated {
                entry: 0,
                field: "name",
                offset: 0x196
            }
        );
        assert!(
            cut.to_string().starts_with("entry 0: the name at byte 406"),
            "{cut}"
        );
        // An absurd entry count.
        let mut huge = REAL_NEW.to_vec();
        huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        let huge = parse_ld_so_cache(&huge).unwrap_err();
        assert!(matches!(
            huge,
            LdSoCacheError::Truncated {
                needed: 103_079_215_128,
                ..
            }
        ));
        // A key offset past the end.
        let mut key = REAL_NEW.to_vec();
        key[52..56].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        assert_eq!(
            parse_ld_so_cache(&key),
            Err(LdSoCacheError::OffsetPastEnd {
                entry: 0,
                field: "name",
                offset: 0x8000_0000,
                len: 527
            })
        );
        // Marked invalid by ldconfig.
        let mut invalid = REAL_NEW.to_vec();
        invalid[28] = 1;
        assert_eq!(
            parse_ld_so_cache(&invalid),
            Err(LdSoCacheError::MarkedInvalid)
        );
        assert!(LdSoCacheError::MarkedInvalid
            .to_string()
            .contains("invalid"));
        // Old format: header cut short, then an entry table that does not fit.
        let old = parse_ld_so_cache(&REAL_COMPAT[..14]).unwrap_err();
        assert!(
            matches!(old, LdSoCacheError::Truncated { needed: 16, .. }),
            "{old}"
        );
        let old = parse_ld_so_cache(&REAL_COMPAT[..50]).unwrap_err();
        assert!(
            matches!(
                old,
                LdSoCacheError::Truncated {
                    what: "old-format entries",
                    needed: 88,
                    ..
                }
            ),
            "{old}"
        );
    }

    #[test]
    fn compat_block_without_a_new_header_reads_the_old_entries() {
        // The old block of REAL_COMPAT, its "new header" cut to 47 bytes:
        // the loader would then read the old entries, whose offsets count
        // from byte 88, where the strings are no longer complete.
        let result = parse_ld_so_cache(&REAL_COMPAT[..88 + 47]);
        assert!(
            matches!(result, Err(LdSoCacheError::OffsetPastEnd { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn non_utf8_entries_are_left_out() {
        let mut builder = Builder::new(&[
            (X86_64, "libok.so.1", "/usr/lib/libok.so.1"),
            (X86_64, "libbad.so.1", "/usr/lib/caf\u{e9}/libbad.so.1"),
        ]);
        let mut data = builder.build();
        // Turn the é (0xc3 0xa9) into Latin-1's lone 0xe9 plus a filler.
        let at = data.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
        data[at] = 0xe9;
        data[at + 1] = b'_';
        let entries = parse_ld_so_cache(&data).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "libok.so.1");
        builder.entries.clear();
        assert!(parse_ld_so_cache(&builder.build()).unwrap().is_empty());
    }

    #[test]
    fn arch_flags_match_glibc() {
        assert_eq!(X86_64, 0x0303);
        assert_eq!(AARCH64, 0x0a03);
        assert!(is_x86_64(0x0303) && !is_x86_64(0x0003) && !is_x86_64(0x0803));
        assert!(is_aarch64(0x0a03) && !is_aarch64(0x0303));
        assert!(is_i386(FLAG_ELF) && is_i386(FLAG_ELF_LIBC6) && !is_i386(0x0303));
        assert!(!Arch::X86_64.accepts(FLAG_ELF_LIBC6 | FLAG_X8664_LIBX32));
        for arch in [Arch::X86_64, Arch::I386, Arch::Aarch64] {
            let dirs = arch.standard_dirs();
            assert_eq!(dirs.len(), 6);
            assert!(dirs.ends_with(&["/lib", "/usr/lib"]));
            assert!(dirs.iter().all(|d| d.starts_with('/') && !d.ends_with('/')));
        }
        assert_eq!(STANDARD_DIRS[0], "/lib/x86_64-linux-gnu");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(Arch::host(), Some(Arch::X86_64));
        }
    }

    #[test]
    fn directory_candidates_best_first() {
        // Library names in Debian 12's /lib/x86_64-linux-gnu (ls, excerpt).
        let listing = [
            "libc.a",
            "libc.so",
            "libc.so.6",
            "libc_malloc_debug.so",
            "libc_malloc_debug.so.0",
            "libpython3.11.a",
            "libpython3.11.so",
            "libpython3.11.so.1",
            "libpython3.11.so.1.0",
            "libssl.a",
            "libssl.so",
            "libssl.so.3",
            "libssl3.so",
            "libstdc++.so.6",
            "libstdc++.so.6.0.30",
            "libz.a",
            "libz.so",
            "libz.so.1",
            "libz.so.1.2.13",
        ];
        let cases: &[(&str, &[&str])] = &[
            ("libc", &["libc.so.6", "libc.so"]),
            ("libc.so", &["libc.so.6", "libc.so"]),
            ("libc.so.6", &["libc.so.6"]),
            ("libstdc++", &["libstdc++.so.6", "libstdc++.so.6.0.30"]),
            ("libz", &["libz.so.1", "libz.so.1.2.13", "libz.so"]),
            ("libz.so.1", &["libz.so.1", "libz.so.1.2.13"]),
            (
                "libpython3.11",
                &[
                    "libpython3.11.so.1",
                    "libpython3.11.so.1.0",
                    "libpython3.11.so",
                ],
            ),
            ("libssl", &["libssl.so.3", "libssl.so"]),
            ("libssl3", &["libssl3.so"]),
            (
                "libc_malloc_debug",
                &["libc_malloc_debug.so.0", "libc_malloc_debug.so"],
            ),
            ("libz.so.2", &[]),
            ("libc*", &[]),
            ("/lib/libc.so.6", &[]),
        ];
        for &(wanted, expected) in cases {
            assert_eq!(directory_candidates(wanted, listing), expected, "{wanted}");
        }
        // Highest version first, shorter within a version; a name listed twice once.
        let versions = [
            "libv.so.1.10",
            "libv.so.2",
            "libv.so.1.2",
            "libv.so.1",
            "libv.so.2",
        ];
        assert_eq!(
            directory_candidates("libv", versions),
            ["libv.so.2", "libv.so.1", "libv.so.1.10", "libv.so.1.2"]
        );
    }

    #[test]
    fn mutated_caches_never_panic() {
        let big_endian = Builder {
            format: Format::Compat,
            endian: Endian::Big,
            ..Builder::new(VERSIONS)
        }
        .build();
        let alphabet = b"\0\x01\x02\x03\x06\x0a\xff\x80/.lsoc@\xc3\xa9";
        for original in [REAL_NEW, REAL_COMPAT, big_endian.as_slice()] {
            for bytes in mutations(original, alphabet, 4000) {
                let Ok(entries) = parse_ld_so_cache(&bytes) else {
                    continue;
                };
                assert!(entries.len() * OLD_ENTRY_LEN <= bytes.len());
                for entry in &entries {
                    assert!(!entry.name.contains('\0') && !entry.path.contains('\0'));
                    let _ = entry.in_glibc_hwcaps();
                }
                for wanted in ["libc", "libc.so", "libc.so.6", "libz", "libssl.so.1"] {
                    if let Some(path) = resolve_library(wanted, &entries, |_| true) {
                        assert!(entries.iter().any(|e| e.path == path));
                    }
                }
                let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
                let _ = directory_candidates("libz", names);
            }
        }
    }

    /// The one test here that reads a file: this machine's own cache, so the
    /// parser meets whatever ldconfig wrote here. Skips where there is none
    /// (musl, some containers).
    #[test]
    #[allow(clippy::print_stderr)]
    fn parses_this_machines_cache() {
        let path = "/etc/ld.so.cache";
        let data = match std::fs::read(path) {
            Ok(data) => data,
            Err(err) => {
                eprintln!("skipping: cannot read {path}: {err}");
                return;
            }
        };
        let entries = parse_ld_so_cache(&data).unwrap();
        assert!(!entries.is_empty());
        let Some(arch) = Arch::host() else {
            eprintln!("skipping the lookup: no cache flags known for this architecture");
            return;
        };
        let libc = resolve_library("libc", &entries, |flags| arch.accepts(flags));
        assert_eq!(
            libc,
            resolve_library("libc.so.6", &entries, |flags| arch.accepts(flags))
        );
        let libc = libc.expect("libc.so.6 in the cache");
        assert!(libc.ends_with("/libc.so.6"), "{libc}");
        // Debian 12 x86_64, where this was written:
        // /lib/x86_64-linux-gnu/libc.so.6. Elsewhere one of the standard
        // directories (Fedora /lib64, Arch /usr/lib).
        let multiarch = entries
            .iter()
            .any(|e| arch.accepts(e.flags) && e.path.starts_with("/lib/x86_64-linux-gnu/"));
        if arch == Arch::X86_64 && multiarch {
            assert_eq!(libc, "/lib/x86_64-linux-gnu/libc.so.6");
        } else {
            assert!(
                arch.standard_dirs()
                    .iter()
                    .any(|dir| libc.strip_suffix("/libc.so.6") == Some(dir)),
                "{libc}"
            );
        }
    }
}

//! Which files describe a kernel's probe points, and reading them from a
//! system (the running one or a `--root` tree): what `snapshot` packs and
//! `capture` writes out. Anything a command reads about the kernel must be
//! in this list, or a snapshot would answer differently from the system.

use std::io;
use std::path::Path;

use super::archive::{Content, KernelInfo};
use crate::discover::btf::BTF_DIR;
use crate::discover::kernel_functions::{BLACKLIST, KALLSYMS, KPROBE_PMU};
use crate::discover::tracepoints;
use crate::discover::DiscoverError;
use crate::parallel;
use crate::system::{Files, System, SystemError, Tracefs};

/// Where tracefs' files are kept in a snapshot or capture, wherever they
/// were found.
pub const TRACEFS: &str = "/sys/kernel/tracing";
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
const VERSION: &str = "/proc/sys/kernel/version";
/// Linux 6.1+ (`uname -m`); older kernels lack it.
const ARCH: &str = "/proc/sys/kernel/arch";
/// vmlinux's ELF notes, which hold its build ID.
const NOTES: &str = "/sys/kernel/notes";

/// A system's kernel description, read.
#[derive(Debug, Default)]
pub struct Collected {
    /// Absolute paths as the snapshot keeps them, sorted.
    pub files: Vec<(String, Content)>,
    pub kernel: KernelInfo,
    /// What could not be read, for the user.
    pub warnings: Vec<String>,
}

/// Why nothing could be collected.
#[derive(Debug)]
pub enum CollectError {
    Tracefs(SystemError),
    Discover(DiscoverError),
}

impl Collected {
    /// Records `path` as read from `from`: its bytes, the error the read
    /// gave (so the snapshot fails the same way), or nothing when it does
    /// not exist.
    fn add(&mut self, files: &Files, from: &Path, path: &str) {
        match files.read(from) {
            Ok(bytes) => self
                .files
                .push((path.to_string(), Content::File(bytes.into_owned()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => match e.raw_os_error() {
                Some(errno) => {
                    self.warnings.push(format!(
                        "{}: {e}; the snapshot records the refusal",
                        from.display()
                    ));
                    self.files.push((path.to_string(), Content::Error(errno)))
                }
                None => self
                    .warnings
                    .push(format!("{}: {e}; left out of the snapshot", from.display())),
            },
        }
    }

    fn text(&self, path: &str) -> Option<String> {
        self.files.iter().find_map(|(p, c)| match c {
            Content::File(bytes) if p == path => {
                Some(String::from_utf8_lossy(bytes).trim_end().to_string())
            }
            _ => None,
        })
    }
}

/// Reads every file that describes `system`'s kernel.
pub fn collect(system: &System) -> Result<Collected, CollectError> {
    let mut collected = Collected::default();
    let files = system.files();
    match system.tracefs() {
        Ok(tracefs) => collect_tracefs(&tracefs, &mut collected)?,
        Err(e) if e.is_absent() => collected
            .warnings
            .push(format!("{e}: the snapshot has no tracepoints")),
        Err(e) => return Err(CollectError::Tracefs(e)),
    }
    for path in [KALLSYMS, BLACKLIST, OSRELEASE, VERSION, ARCH, NOTES] {
        collected.add(files, &system.path(path), path);
    }
    if files.is_dir(&system.path(KPROBE_PMU)) {
        collected.files.push((KPROBE_PMU.to_string(), Content::Dir));
    }
    let btf_dir = system.path(BTF_DIR);
    if let Ok(mut names) = files.list_dir(&btf_dir) {
        names.sort();
        for (name, is_dir) in names {
            if !is_dir {
                collected.add(files, &btf_dir.join(&name), &format!("{BTF_DIR}/{name}"));
            }
        }
    }
    collected.files.sort_by(|a, b| a.0.cmp(&b.0));
    collected.kernel = KernelInfo {
        release: collected.text(OSRELEASE),
        version: collected.text(VERSION),
        machine: collected
            .text(ARCH)
            .or_else(|| system.is_live().then(uname_machine)),
        build_id: collected.files.iter().find_map(|(p, c)| match c {
            Content::File(bytes) if p == NOTES => gnu_build_id(bytes),
            _ => None,
        }),
    };
    Ok(collected)
}

fn collect_tracefs(tracefs: &Tracefs, collected: &mut Collected) -> Result<(), CollectError> {
    let files = &tracefs.files;
    let at = |name: &str| tracefs.dir.join(name);
    collected.add(
        files,
        &at("available_events"),
        &format!("{TRACEFS}/available_events"),
    );
    collected.add(
        files,
        &at("available_filter_functions"),
        &format!("{TRACEFS}/available_filter_functions"),
    );
    // Only whether it exists matters (the kernel has kprobes); what it
    // holds is whoever's kprobes are defined at the moment.
    if files.exists(&at("kprobe_events")) {
        collected.files.push((
            format!("{TRACEFS}/kprobe_events"),
            Content::File(Vec::new()),
        ));
    }
    let ids = tracepoints::list(tracefs).map_err(CollectError::Discover)?;
    // Format files are generated on read: thousands of small reads, spread
    // over threads as `list -v` does.
    let chunks = parallel::render_chunks(
        &ids,
        || (),
        |_, chunk: &mut Collected, id| {
            let from = tracefs.format_path(&id.category, &id.event);
            let path = format!("{TRACEFS}/events/{}/{}/format", id.category, id.event);
            chunk.add(files, &from, &path);
        },
    );
    for chunk in chunks {
        collected.files.extend(chunk.files);
        collected.warnings.extend(chunk.warnings);
    }
    Ok(())
}

fn uname_machine() -> String {
    // SAFETY: uname fills the struct it is given and cannot fail with a
    // valid pointer.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut name) } != 0 {
        return String::new();
    }
    // SAFETY: the kernel NUL-terminates every field.
    unsafe { std::ffi::CStr::from_ptr(name.machine.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The GNU build ID in a sequence of ELF notes (`/sys/kernel/notes`, in
/// the machine's byte order), in hex.
pub fn gnu_build_id(notes: &[u8]) -> Option<String> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(notes.get(at..at + 4)?.try_into().ok()?))
    };
    let padded = |n: usize| n.checked_add(3).map(|n| n & !3);
    let mut at = 0;
    while at + 12 <= notes.len() {
        let name_size = word(at)? as usize;
        let desc_size = word(at + 4)? as usize;
        let kind = word(at + 8)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(padded(name_size)?)?;
        let end = desc_at.checked_add(padded(desc_size)?)?;
        let name = notes.get(name_at..name_at + name_size)?;
        if kind == NT_GNU_BUILD_ID && name == b"GNU\0" {
            let desc = notes.get(desc_at..desc_at + desc_size)?;
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        at = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(name.len() as u32).to_ne_bytes());
        out.extend_from_slice(&(desc.len() as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(name);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(desc);
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    #[test]
    fn finds_the_build_id_after_other_notes() {
        let mut notes = note(b"Xen\0", 5, &[1, 2, 3]);
        notes.extend(note(b"GNU\0", 3, &[0xab, 0xcd, 0x01]));
        assert_eq!(gnu_build_id(&notes).as_deref(), Some("abcd01"));
        assert_eq!(gnu_build_id(&notes[..notes.len() - 4]), None);
        assert_eq!(gnu_build_id(&note(b"GNU\0", 1, &[1])), None);
        assert_eq!(gnu_build_id(&[0xff; 12]), None);
    }

    #[test]
    fn the_live_kernel_has_a_build_id_when_notes_are_readable() {
        // Cross-checked against `readelf -n` in tests/snapshot.rs; here only
        // that the parser finds one in the real file.
        if let Ok(notes) = std::fs::read(NOTES) {
            let id = gnu_build_id(&notes).expect("a build ID in /sys/kernel/notes");
            assert!(id.len() >= 16 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}

//! A compiled BPF object (`clang -target bpf`): its programs (the
//! executable sections other than `.text`, with the global functions in
//! them), license, maps and BTF — what `probedex check` looks at.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind, SymbolKind};

use super::DiscoverError;

/// `EM_BPF`.
const EM_BPF: u16 = 247;

/// A mapped BPF object file.
#[derive(Debug)]
pub struct BpfObject {
    pub path: PathBuf,
    map: Mmap,
}

/// One program: a global function in an executable section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpfProgram {
    /// The function's name (what `bpftool prog` shows).
    pub name: String,
    /// The ELF section: the `SEC()` name.
    pub section: String,
    /// Bytes of instructions (8 per instruction).
    pub size: u64,
}

/// What `check` reads from the object.
#[derive(Debug, Clone)]
pub struct ObjectContents<'a> {
    pub programs: Vec<BpfProgram>,
    /// The `license` section's string, if any.
    pub license: Option<String>,
    /// Map names: symbols in `.maps` (BTF-defined) or `maps` (legacy).
    pub maps: Vec<String>,
    /// The `.BTF` section, borrowed from the map.
    pub btf: Option<std::borrow::Cow<'a, [u8]>>,
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> DiscoverError {
    DiscoverError::parse(path, "BPF object file", reason)
}

impl BpfObject {
    pub fn open(path: &Path) -> Result<BpfObject, DiscoverError> {
        let file = File::open(path).map_err(|e| DiscoverError::io(path, e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(invalid(path, "is a directory"));
        }
        // SAFETY: read-only map, read through bounds-checked accessors.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| DiscoverError::io(path, e))?;
        Ok(BpfObject {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn contents(&self) -> Result<ObjectContents<'_>, DiscoverError> {
        let file = object::File::parse(&*self.map).map_err(|e| invalid(&self.path, e))?;
        let machine = match &file {
            object::File::Elf64(elf) => elf.elf_header().e_machine.get(elf.endian()),
            object::File::Elf32(elf) => elf.elf_header().e_machine.get(elf.endian()),
            _ => 0,
        };
        if machine != EM_BPF {
            return Err(invalid(
                &self.path,
                format_args!(
                    "ELF machine {machine}, not BPF ({EM_BPF}); compile with clang -target bpf"
                ),
            ));
        }
        let executable = |section: &object::Section<'_, '_>| match section.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0,
            _ => section.kind() == SectionKind::Text,
        };
        let mut programs = Vec::new();
        for symbol in file.symbols() {
            if symbol.kind() != SymbolKind::Text || !symbol.is_global() {
                continue;
            }
            let Some(index) = symbol.section_index() else {
                continue;
            };
            let Ok(section) = file.section_by_index(index) else {
                continue;
            };
            let Ok(section_name) = section.name() else {
                continue;
            };
            // `.text` holds subprograms (called, not loaded on their own).
            if !executable(&section) || section_name == ".text" {
                continue;
            }
            programs.push(BpfProgram {
                name: symbol.name().unwrap_or("?").to_string(),
                section: section_name.to_string(),
                size: symbol.size(),
            });
        }
        programs.sort_by(|a, b| (&a.section, &a.name).cmp(&(&b.section, &b.name)));
        let license = file
            .section_by_name("license")
            .and_then(|s| s.data().ok())
            .map(|d| {
                let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
                String::from_utf8_lossy(&d[..end]).into_owned()
            });
        let mut maps: Vec<String> = file
            .symbols()
            .filter(|s| {
                s.section_index()
                    .and_then(|i| file.section_by_index(i).ok())
                    .and_then(|sec| sec.name().ok().map(|n| n == ".maps" || n == "maps"))
                    .unwrap_or(false)
            })
            .filter_map(|s| s.name().ok().map(str::to_string))
            .filter(|n| !n.is_empty())
            .collect();
        maps.sort();
        let btf = match file.section_by_name(".BTF") {
            Some(section) => Some(
                section
                    .uncompressed_data()
                    .map_err(|e| invalid(&self.path, format_args!(".BTF: {e}")))?,
            ),
            None => None,
        };
        Ok(ObjectContents {
            programs,
            license,
            maps,
            btf,
        })
    }
}

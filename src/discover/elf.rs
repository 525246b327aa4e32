//! ELF files for uprobes and USDT: function symbols (`.symtab` and
//! `.dynsym`), SystemTap SDT notes (`.note.stapsdt`, `.stapsdt.base`), and
//! the virtual-address to file-offset mapping the kernel's uprobe API wants.
//!
//! Files are memory-mapped and read in place through `object`, so listing
//! the 150,000 symbols of a 98 MB binary copies no section. A file that is
//! truncated while mapped can still fault; every ELF reader shares that risk.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{Endianness, Object, ObjectSection};

use super::DiscoverError;

/// Sorts by name, `.symtab` before `.dynsym` for equal names. Mangled C++
/// names share long prefixes, so comparing them is most of listing a big
/// binary (node: 150,000 symbols); large tables are split around the median
/// in place and the halves sorted on two threads, with no extra memory.
fn sort_by_name(functions: &mut [ElfFunction<'_>]) {
    fn order(a: &ElfFunction<'_>, b: &ElfFunction<'_>) -> std::cmp::Ordering {
        a.name.cmp(b.name).then(a.from_dynsym.cmp(&b.from_dynsym))
    }
    const PARALLEL_FROM: usize = 20_000;
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if functions.len() < PARALLEL_FROM || !two_cores {
        functions.sort_unstable_by(order);
        return;
    }
    let middle = functions.len() / 2;
    functions.select_nth_unstable_by(middle, order);
    let (low, high) = functions.split_at_mut(middle);
    std::thread::scope(|scope| {
        scope.spawn(|| low.sort_unstable_by(order));
        high.sort_unstable_by(order);
    });
}

/// A mapped ELF file.
#[derive(Debug)]
pub struct ElfImage {
    pub path: PathBuf,
    map: Mmap,
    /// `(vaddr, filesz, memsz, offset)` of each `PT_LOAD`, read once: mapping
    /// 85,000 symbol addresses re-parsing the headers each time cost more
    /// than reading the symbols.
    loads: Vec<(u64, u64, u64, u64)>,
}

/// A function symbol: what `uprobe:PATH:NAME` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfFunction<'a> {
    pub name: &'a str,
    pub address: u64,
    pub size: u64,
    /// `STT_GNU_IFUNC`: the symbol is a resolver that picks the real
    /// implementation at load time, so a uprobe on it fires once per
    /// resolution, not per call.
    pub ifunc: bool,
    /// Read from `.dynsym` (else `.symtab`).
    pub from_dynsym: bool,
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> DiscoverError {
    DiscoverError::parse(path, "ELF file", what)
}

impl ElfImage {
    /// Maps `path` and checks that it is a 64-bit ELF file.
    pub fn open(path: &Path) -> Result<ElfImage, DiscoverError> {
        let file = File::open(path).map_err(|e| DiscoverError::io(path, e))?;
        let metadata = file.metadata().map_err(|e| DiscoverError::io(path, e))?;
        if metadata.is_dir() {
            return Err(DiscoverError::io(
                path,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "is a directory, not an ELF file",
                ),
            ));
        }
        // SAFETY: the map is only read, through bounds-checked accessors;
        // the file changing underneath is the one risk, as for any reader.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| DiscoverError::io(path, e))?;
        let mut image = ElfImage {
            path: path.to_path_buf(),
            map,
            loads: Vec::new(),
        };
        match image.map.get(..5) {
            Some([0x7f, b'E', b'L', b'F', 2]) => {}
            Some([0x7f, b'E', b'L', b'F', 1]) => {
                return Err(invalid(
                    path,
                    "a 32-bit ELF file; probedex reads 64-bit ELF files only",
                ))
            }
            _ => return Err(invalid(path, "no ELF magic: not an ELF file")),
        }
        let loads = {
            let file = image.parse()?;
            let endian = file.endian();
            file.elf_program_headers()
                .iter()
                .filter(|p| p.p_type(endian) == elf::PT_LOAD)
                .map(|p| {
                    (
                        p.p_vaddr(endian),
                        p.p_filesz(endian),
                        p.p_memsz(endian),
                        p.p_offset(endian),
                    )
                })
                .collect()
        };
        image.loads = loads;
        Ok(image)
    }

    fn parse(&self) -> Result<ElfFile64<'_, Endianness>, DiscoverError> {
        ElfFile64::parse(&*self.map).map_err(|e| invalid(&self.path, e))
    }

    pub fn big_endian(&self) -> bool {
        self.parse().is_ok_and(|f| f.endian() == Endianness::Big)
    }

    /// `e_machine`: `elf::EM_X86_64`, `elf::EM_AARCH64`, ...
    pub fn machine(&self) -> u16 {
        self.parse()
            .map_or(0, |f| f.elf_header().e_machine(f.endian()))
    }

    /// Every defined FUNC and IFUNC symbol of `.symtab` and `.dynsym`, one
    /// per name (`.symtab`'s first), sorted by name.
    pub fn functions(&self) -> Result<Vec<ElfFunction<'_>>, DiscoverError> {
        self.functions_matching(|_| true)
    }

    /// [`Self::functions`] whose name `keep` accepts. Filtering before
    /// collecting makes an exact name one pass over the symbol tables, with
    /// nothing to sort (node: 150,000 symbols).
    pub fn functions_matching(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<ElfFunction<'_>>, DiscoverError> {
        let file = self.parse()?;
        let endian = file.endian();
        let data: &[u8] = &self.map;
        let sections = file.elf_section_table();
        let mut functions = Vec::new();
        // `.dynsym`'s functions are mostly `.symtab`'s again (node: 67,000
        // of them); leaving out the names `.symtab` already gave halves the
        // sort. By name, not address: `.symtab` may spell a versioned
        // symbol `memcpy@@GLIBC_2.14` where `.dynsym` says `memcpy`.
        let mut from_symtab: HashSet<&str> = HashSet::new();
        for table_type in [elf::SHT_SYMTAB, elf::SHT_DYNSYM] {
            if table_type == elf::SHT_DYNSYM {
                from_symtab = functions.iter().map(|f: &ElfFunction<'_>| f.name).collect();
            }
            let table = sections
                .symbols(endian, data, table_type)
                .map_err(|e| invalid(&self.path, e))?;
            for symbol in table.symbols() {
                let kind = symbol.st_type();
                if !(kind == elf::STT_FUNC || kind == elf::STT_GNU_IFUNC)
                    || symbol.st_shndx(endian) == elf::SHN_UNDEF
                {
                    continue;
                }
                let Ok(name) = table.symbol_name(endian, symbol) else {
                    continue;
                };
                let Ok(name) = std::str::from_utf8(name) else {
                    continue;
                };
                if name.is_empty() || !keep(name) || from_symtab.contains(name) {
                    continue;
                }
                functions.push(ElfFunction {
                    from_dynsym: table_type == elf::SHT_DYNSYM,
                    name,
                    address: symbol.st_value(endian),
                    size: symbol.st_size(endian),
                    ifunc: kind == elf::STT_GNU_IFUNC,
                });
            }
        }
        // In place: a keyed copy for faster comparisons cost 12 MB of peak
        // memory on node for little time. For a name in both tables,
        // `.symtab`'s entry sorts first and survives the dedup.
        sort_by_name(&mut functions);
        functions.dedup_by(|a, b| a.name == b.name);
        Ok(functions)
    }

    /// The descriptors of every SystemTap SDT note (owner `stapsdt`, type 3).
    pub fn stapsdt_notes(&self) -> Result<Vec<&[u8]>, DiscoverError> {
        const NT_STAPSDT: u32 = 3;
        let file = self.parse()?;
        let endian = file.endian();
        let data: &[u8] = &self.map;
        let mut notes = Vec::new();
        for section in file.elf_section_table().iter() {
            let Some(iter) = section
                .notes(endian, data)
                .map_err(|e| invalid(&self.path, e))?
            else {
                continue;
            };
            let mut iter = iter;
            while let Some(note) = iter.next().map_err(|e| invalid(&self.path, e))? {
                if note.name() == b"stapsdt" && note.n_type(endian) == NT_STAPSDT {
                    notes.push(note.desc());
                }
            }
        }
        Ok(notes)
    }

    /// The address of `.stapsdt.base`, which SDT notes' addresses are
    /// relative to when the file was prelinked.
    pub fn stapsdt_base(&self) -> Option<u64> {
        let file = self.parse().ok()?;
        let endian = file.endian();
        let (_, section) = file
            .elf_section_table()
            .section_by_name(endian, b".stapsdt.base")?;
        Some(section.sh_addr(endian))
    }

    /// The file offset of virtual address `address` (what the kernel's
    /// uprobe API and `uprobe_events` take), from the `PT_LOAD` segments.
    pub fn file_offset(&self, address: u64) -> Option<u64> {
        // Checked: a corrupt header may put a segment's offset near u64::MAX.
        self.loads.iter().find_map(|&(start, size, _, offset)| {
            (start..start.saturating_add(size))
                .contains(&address)
                .then(|| (address - start).checked_add(offset))
                .flatten()
        })
    }

    /// The offset the kernel's `ref_ctr_offset` wants for a USDT semaphore
    /// at `address`: like [`Self::file_offset`], but anywhere in a segment's
    /// memory, since a semaphore may be in `.bss`, past the segment's bytes
    /// in the file. The kernel maps it back through the segment's mapping,
    /// as libbpf computes it (`p_memsz`, not `p_filesz`).
    pub fn memory_file_offset(&self, address: u64) -> Option<u64> {
        self.loads.iter().find_map(|&(start, _, memory, offset)| {
            (start..start.saturating_add(memory))
                .contains(&address)
                .then(|| (address - start).checked_add(offset))
                .flatten()
        })
    }

    /// The contents of section `name`, decompressed when it is compressed
    /// (`SHF_COMPRESSED`, or GNU's older `.zdebug_*` for a `.debug_*` name);
    /// `None` when the file has no such section. Uncompressed sections are
    /// borrowed from the map.
    pub fn section_data(&self, name: &str) -> Result<Option<Cow<'_, [u8]>>, DiscoverError> {
        let file = self.parse()?;
        let Some(section) = file.section_by_name(name) else {
            return Ok(None);
        };
        // The header's uncompressed size is allocated up front; a corrupt
        // one claimed 3 GiB for a few bytes (found by the fuzzer). Neither
        // zlib nor zstd expands more than about 1,032 times.
        if let Ok(range) = section.compressed_file_range() {
            let limit = range
                .compressed_size
                .saturating_mul(1100)
                .saturating_add(4096);
            if range.format != object::CompressionFormat::None && range.uncompressed_size > limit {
                return Err(invalid(
                    &self.path,
                    format_args!(
                        "section {name} claims {} bytes uncompressed from {} compressed",
                        range.uncompressed_size, range.compressed_size
                    ),
                ));
            }
        }
        section
            .uncompressed_data()
            .map(Some)
            .map_err(|e| invalid(&self.path, format_args!("section {name}: {e}")))
    }

    /// The GNU build ID (`NT_GNU_BUILD_ID` note): what names the file's
    /// separate debug file under `/usr/lib/debug/.build-id/`.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.parse().ok()?.build_id().ok().flatten()
    }

    /// `.gnu_debuglink`: the separate debug file's name and the CRC-32 of
    /// its contents.
    pub fn debuglink(&self) -> Option<(&[u8], u32)> {
        self.parse().ok()?.gnu_debuglink().ok().flatten()
    }

    /// Whether the file has a section of this name, with contents in the
    /// file (not `NOBITS`); nothing is read or decompressed.
    pub fn has_section(&self, name: &str) -> bool {
        self.parse().is_ok_and(|file| {
            file.section_by_name(name)
                .is_some_and(|s| s.kind() != object::SectionKind::UninitializedData)
        })
    }

    /// Whether the file still has its full symbol table (`strip` removes
    /// it and leaves only `.dynsym`'s exported functions).
    pub fn has_symtab(&self) -> bool {
        self.parse().is_ok_and(|file| {
            file.elf_section_table()
                .iter()
                .any(|s| s.sh_type(file.endian()) == elf::SHT_SYMTAB)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("probedex-elf-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn reads_this_test_binary() {
        // The running test executable is a 64-bit ELF with a .symtab.
        let me = std::env::current_exe().unwrap();
        let image = ElfImage::open(&me).unwrap();
        let functions = image.functions().unwrap();
        assert!(functions.len() > 100);
        assert!(functions.windows(2).all(|w| w[0].name < w[1].name));
        let main = functions.iter().find(|f| f.name == "main").unwrap();
        let offset = image.file_offset(main.address).unwrap();
        assert!(offset > 0 && offset < std::fs::metadata(&me).unwrap().len());
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let text = scratch("text", b"#!/bin/sh\necho hi\n");
        let err = ElfImage::open(&text).unwrap_err().to_string();
        assert!(err.contains("not an ELF file"), "{err}");
        let mut elf32 = vec![0x7f, b'E', b'L', b'F', 1, 1, 1];
        elf32.resize(64, 0);
        let path32 = scratch("elf32", &elf32);
        assert!(ElfImage::open(&path32)
            .unwrap_err()
            .to_string()
            .contains("32-bit"));
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let truncated = scratch("truncated", &me[..200]);
        let err = ElfImage::open(&truncated).map(|i| i.functions().map(|f| f.len()));
        assert!(
            !matches!(err, Ok(Ok(n)) if n > 0),
            "a 200-byte ELF has no symbols"
        );
        let dir = std::env::temp_dir();
        assert!(ElfImage::open(&dir)
            .unwrap_err()
            .to_string()
            .contains("directory"));
        for p in [text, path32, truncated] {
            let _ = std::fs::remove_file(p);
        }
    }
}

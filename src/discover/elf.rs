//! ELF files for uprobes and USDT: function symbols (`.symtab` and
//! `.dynsym`), SystemTap SDT notes (`.note.stapsdt`, `.stapsdt.base`), and
//! the virtual-address to file-offset mapping the kernel's uprobe API wants.
//!
//! Files are memory-mapped and read in place through `object`, so listing
//! the 150,000 symbols of a 98 MB binary copies no section. A file that is
//! truncated while mapped can still fault; every ELF reader shares that risk.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{Endianness, Object, ObjectSection};

use super::DiscoverError;

type SymbolTable<'data> = object::read::elf::SymbolTable<'data, elf::FileHeader64<Endianness>>;

/// The defined FUNC and IFUNC symbols of `table` whose name `keep`
/// accepts and `skip` (by address and the name's offset in the string
/// table) does not. `skip` is asked before the name is read: for `.dynsym`
/// it skips most symbols. `text` is the string table as text, if it is all
/// UTF-8 (see [`as_text`]).
fn read_functions<'data>(
    table: &SymbolTable<'data>,
    endian: Endianness,
    from_dynsym: bool,
    keep: &impl Fn(&str) -> bool,
    skip: impl Fn(u64, u32) -> bool,
    text: Option<&'data str>,
) -> Vec<ElfFunction<'data>> {
    table
        .symbols()
        .iter()
        .filter_map(|symbol| {
            let kind = symbol.st_type();
            if !(kind == elf::STT_FUNC || kind == elf::STT_GNU_IFUNC)
                || symbol.st_shndx(endian) == elf::SHN_UNDEF
            {
                return None;
            }
            let address = symbol.st_value(endian);
            let offset = symbol.st_name(endian);
            if skip(address, offset) {
                return None;
            }
            let name = table.symbol_name(endian, symbol).ok()?;
            let name = as_text(text, offset, name)?;
            if name.is_empty() || !keep(name) {
                return None;
            }
            Some(ElfFunction {
                name,
                address,
                size: symbol.st_size(endian),
                ifunc: kind == elf::STT_GNU_IFUNC,
                from_dynsym,
            })
        })
        .collect()
}

/// The string table of `table`: the names, each ended by a NUL. Empty if
/// it cannot be read (then `table.symbol_name` fails too).
fn string_table<'data>(
    file: &ElfFile64<'data, Endianness>,
    table: &SymbolTable<'data>,
) -> &'data [u8] {
    let sections = file.elf_section_table();
    sections
        .section(table.string_section())
        .and_then(|section| section.data(file.endian(), file.data()))
        .unwrap_or_default()
}

/// `name`, read at `offset` of a string table, as a `&str`: sliced out of
/// `text`, that whole table already checked, when `name` is its bytes at
/// `offset`; else checked on its own. A name that starts inside a
/// multi-byte character is not text either way.
fn as_text<'data>(text: Option<&'data str>, offset: u32, name: &'data [u8]) -> Option<&'data str> {
    let sliced = text.and_then(|text| {
        let start = usize::try_from(offset).ok()?;
        let at = text.as_bytes().get(start..)?;
        // The very bytes `name` is, not merely equal ones.
        std::ptr::eq(at.as_ptr(), name.as_ptr()).then_some(())?;
        text.get(start..start + name.len())
    });
    sliced.or_else(|| std::str::from_utf8(name).ok())
}

/// `.symtab`'s functions by address, for `.dynsym`'s to be looked up in
/// by address and name: an open-addressing table (linear probing, at most a
/// third full) of `(low 32 bits of the address, index into the function
/// list)`. Eight bytes a slot keep it at 2 MB for node's 85,000 functions,
/// where a `HashSet` of (address, name) entries was 3.2 MB and took 3.9 ms
/// to build, most of it cache misses; the address bits spare a visit to the
/// function list for every slot passed.
#[derive(Debug)]
struct ByAddress<'f, 'data> {
    functions: &'f [ElfFunction<'data>],
    slots: Vec<(u32, u32)>,
}

impl<'f, 'data> ByAddress<'f, 'data> {
    const EMPTY: u32 = u32::MAX;

    /// `None` for a list too long for `u32` indices (then nothing is left
    /// out before sorting; the dedup after it still is exact).
    fn new(functions: &'f [ElfFunction<'data>]) -> Option<ByAddress<'f, 'data>> {
        let count = u32::try_from(functions.len())
            .ok()
            .filter(|&n| n < Self::EMPTY)?;
        let size = functions
            .len()
            .checked_mul(3)?
            .checked_next_power_of_two()?
            .max(16);
        let mut table = ByAddress {
            functions,
            slots: vec![(0, Self::EMPTY); size],
        };
        for index in 0..count {
            let address = functions[index as usize].address;
            let mut at = table.home(address);
            while table.slots[at].1 != Self::EMPTY {
                at = (at + 1) & (size - 1);
            }
            table.slots[at] = (address as u32, index);
        }
        Some(table)
    }

    /// The first slot to look at: the high bits of a multiplicative hash,
    /// which spread 16-byte-aligned addresses over the whole table.
    fn home(&self, address: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (address.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }

    /// Whether a function at `address` has the name that starts at
    /// `offset` of `strings` (a string table). Compared in place: finding
    /// where each `.dynsym` name ends first, then comparing, cost node 4 ms
    /// more, all of it waiting for memory (`.dynsym` names are in hash
    /// order, so every one is a cache miss). Aliases (C++'s C1/C2
    /// constructors) share an address and sit in neighbouring slots.
    fn contains(&self, address: u64, strings: &[u8], offset: u32) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = self.home(address);
        loop {
            let (low, index) = self.slots[at];
            if index == Self::EMPTY {
                return false;
            }
            if low == address as u32 {
                let function = &self.functions[index as usize];
                let name = function.name.as_bytes();
                // The name, then the NUL that ends it.
                let there = usize::try_from(offset)
                    .ok()
                    .and_then(|start| strings.get(start..)?.get(..=name.len()));
                if function.address == address
                    && there.is_some_and(|t| t.starts_with(name) && t.ends_with(&[0]))
                {
                    return true;
                }
            }
            at = (at + 1) & mask;
        }
    }
}

/// Sorts by name, `.symtab` before `.dynsym` for equal names, then by
/// address, so that which of two same-named functions the dedup keeps does
/// not depend on the sort. Large tables are split around the median in
/// place and the halves sorted on two threads, with no extra memory.
///
/// Mangled C++ names share long prefixes (node: 85,000 names, neighbours
/// share 43 bytes on average), but `memcmp` gets past them in a couple of
/// vector steps, and the time goes to cache misses on the names: on node,
/// sorting in one thread measured 12.5 ms of CPU this way, 13-14 ms as an
/// MSD radix sort on 8-byte chunks, the same with an 8-byte big-endian
/// prefix compared first, and 17 ms sorting `(prefix, index)` pairs.
fn sort_by_name(functions: &mut [ElfFunction<'_>]) {
    fn order(a: &ElfFunction<'_>, b: &ElfFunction<'_>) -> std::cmp::Ordering {
        a.name
            .cmp(b.name)
            .then(a.from_dynsym.cmp(&b.from_dynsym))
            .then(a.address.cmp(&b.address))
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
        self.functions_matching_as(keep, |f| f)
    }

    /// [`Self::functions_matching`], each function turned into a `T` by
    /// `make` as the sorted list is built: a caller that keeps its own type
    /// gets it without a second list (node: 85,000 points).
    pub fn functions_matching_as<'a, T>(
        &'a self,
        keep: impl Fn(&str) -> bool,
        mut make: impl FnMut(ElfFunction<'a>) -> T,
    ) -> Result<Vec<T>, DiscoverError> {
        let file = self.parse()?;
        let endian = file.endian();
        let data: &'a [u8] = &self.map;
        let sections = file.elf_section_table();
        let table = |table_type| {
            sections
                .symbols(endian, data, table_type)
                .map_err(|e| invalid(&self.path, e))
        };
        self.populate_symbol_tables(&file);
        let symtab = table(elf::SHT_SYMTAB)?;
        // Checked as UTF-8 in one go, which makes each name a `&str` by
        // slicing: checking node's 86,000 `.symtab` function names one by
        // one cost 2.2 ms more than checking its 7.5 MB string table.
        let text = std::str::from_utf8(string_table(&file, &symtab)).ok();
        let mut functions = read_functions(&symtab, endian, false, &keep, |_, _| false, text);
        // `.dynsym`'s functions are mostly `.symtab`'s again (node: 67,000
        // of them); leaving them out here halves the sort. Found by address,
        // then name: a `HashSet` of names hashed every name twice (SipHash)
        // and cost more than the rest of the two tables' reading. A name
        // `.dynsym` has at another address (or a versioned
        // `memcpy@@GLIBC_2.14` in `.symtab`, `memcpy` in `.dynsym`) gets
        // past this to the dedup after sorting.
        let from_dynsym = {
            let dynsym = table(elf::SHT_DYNSYM)?;
            let dynstr = string_table(&file, &dynsym);
            let from_symtab = ByAddress::new(&functions);
            let in_symtab = |address, offset| {
                from_symtab
                    .as_ref()
                    .is_some_and(|symtab| symtab.contains(address, dynstr, offset))
            };
            // Names checked one by one: most are skipped before that.
            read_functions(&dynsym, endian, true, &keep, in_symtab, None)
        };
        functions.extend(from_dynsym);
        sort_by_name(&mut functions);
        // One per name: the first, so `.symtab`'s.
        let mut sorted = Vec::with_capacity(functions.len());
        let mut previous: Option<&str> = None;
        for function in functions {
            if previous != Some(function.name) {
                previous = Some(function.name);
                sorted.push(make(function));
            }
        }
        Ok(sorted)
    }

    /// Maps the symbol tables and their string tables in one `madvise`
    /// each (`MADV_POPULATE_READ`, Linux 5.14) rather than a page fault per
    /// 64 KiB read: node's are 17 MB. Only a hint: where the kernel refuses,
    /// the pages fault in as they are read.
    fn populate_symbol_tables(&self, file: &ElfFile64<'_, Endianness>) {
        let endian = file.endian();
        let sections = file.elf_section_table();
        for section in sections.iter() {
            let kind = section.sh_type(endian);
            if kind != elf::SHT_SYMTAB && kind != elf::SHT_DYNSYM {
                continue;
            }
            let strings = sections.section(object::SectionIndex(section.sh_link(endian) as usize));
            for range in std::iter::once(section)
                .chain(strings.ok())
                .filter_map(|s| s.file_range(endian))
            {
                let (Ok(offset), Ok(len)) = (usize::try_from(range.0), usize::try_from(range.1))
                else {
                    continue;
                };
                if offset
                    .checked_add(len)
                    .is_some_and(|end| end <= self.map.len())
                {
                    let _ = self
                        .map
                        .advise_range(memmap2::Advice::PopulateRead, offset, len);
                }
            }
        }
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

    /// Whether `address` lies in a section with no bytes in the file
    /// (`SHT_NOBITS`: `.bss`), by the section headers.
    pub fn in_nobits_section(&self, address: u64) -> bool {
        self.parse().is_ok_and(|file| {
            let endian = file.endian();
            file.elf_section_table().iter().any(|s| {
                let start = s.sh_addr(endian);
                s.sh_type(endian) == elf::SHT_NOBITS
                    && s.sh_flags(endian) & u64::from(elf::SHF_ALLOC) != 0
                    && (start..start.saturating_add(s.sh_size(endian))).contains(&address)
            })
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

    fn function(name: &str, address: u64) -> ElfFunction<'_> {
        ElfFunction {
            name,
            address,
            size: 1,
            ifunc: false,
            from_dynsym: false,
        }
    }

    #[test]
    fn dynsym_names_are_looked_up_by_address_and_whole_name() {
        let functions = [
            function("foo", 0x10),
            function("_ZC1", 0x20),
            function("_ZC2", 0x20),
            function("bar", 0x30),
        ];
        // Offsets: foo 1, _ZC2 5, _ZC3 10, ba 15, bar 18, food 22.
        let strings = b"\0foo\0_ZC2\0_ZC3\0ba\0bar\0food\0";
        let table = ByAddress::new(&functions).unwrap();
        assert!(table.contains(0x10, strings, 1));
        assert!(table.contains(0x20, strings, 5), "the second alias");
        assert!(table.contains(0x30, strings, 18));
        assert!(!table.contains(0x20, strings, 10), "not a name at 0x20");
        assert!(!table.contains(0x30, strings, 15), "a prefix of bar");
        assert!(
            !table.contains(0x10, strings, 22),
            "foo is a prefix of food"
        );
        assert!(!table.contains(0x40, strings, 18), "bar, but elsewhere");
        assert!(!table.contains(0x30, strings, 1000), "past the table");
        assert!(!ByAddress::new(&[]).unwrap().contains(0x10, strings, 1));
    }

    #[test]
    fn names_are_text_by_slicing_only_where_that_is_exact() {
        let table = "\0caf\u{e9}\0x\0";
        let bytes = table.as_bytes();
        let name = |start: usize, len: usize| &bytes[start..start + len];
        assert_eq!(as_text(Some(table), 1, name(1, 5)), Some("caf\u{e9}"));
        // Starting inside the two-byte \u{e9}: not text, either way.
        assert_eq!(as_text(Some(table), 5, name(5, 1)), None);
        assert_eq!(as_text(None, 5, name(5, 1)), None);
        // Bytes from elsewhere are checked on their own.
        let copy = b"x".to_vec();
        assert_eq!(as_text(Some(table), 7, &copy), Some("x"));
        assert_eq!(as_text(None, 0, b"\xff"), None);
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

//! DWARF for uprobes: a function's parameters and return type as C
//! declarations, the way `bpftrace -lv 'uprobe:PATH:FUNC'` prints them.
//!
//! The debug info is the file's own or a separate debug file found the way
//! gdb finds it: by build ID under `/usr/lib/debug/.build-id/`, then by
//! `.gnu_debuglink` beside the file, in its `.debug/` directory and under
//! `/usr/lib/debug/`. Compressed sections (`SHF_COMPRESSED`, `.zdebug_*`)
//! are decompressed by `object`.
//!
//! Reading is lazy: only the compilation units that cover the function's
//! address are parsed (found through `.debug_aranges`, or the units' own
//! ranges when a producer such as clang emits no aranges), plus any unit a
//! type reference crosses into. Node's 1 MB of libuv DWARF is never walked
//! whole to name one function. Split DWARF (`.dwo`) and type units
//! (`DW_FORM_ref_sig8`) are not followed: such types print as
//! `<unknown type>`, as bpftrace prints what it cannot name.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use gimli::{constants, AttributeValue, DebugInfoOffset, EndianSlice, RunTimeEndian, UnitOffset};

use super::elf::ElfImage;
use super::DiscoverError;

type Slice<'a> = EndianSlice<'a, RunTimeEndian>;

/// What bpftrace prints for a type it cannot name.
const UNKNOWN: &str = "<unknown type>";

/// Deeper type chains than this are treated as broken (a reference cycle).
const MAX_DEPTH: usize = 48;
/// Type references followed for one function's signature; real ones take
/// tens (node's largest: a few hundred).
const MAX_TYPE_STEPS: usize = 20_000;

/// A function's signature from DWARF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwarfFunction {
    /// `(name, C type)` of each `DW_TAG_formal_parameter`, in order; the
    /// name is empty for an unnamed parameter. C++ methods start with the
    /// artificial `this`, as the registers do.
    pub params: Vec<(String, String)>,
    /// `void` when the function returns nothing.
    pub return_type: String,
    /// No code instance of the function starts at the symbol's address in
    /// the DWARF; the signature is that of a code-less definition of the
    /// same name: inlined everywhere, or folded by the compiler into
    /// identical code (GCC's `-fipa-icf`; libuv's `uv_rwlock_wrunlock` in
    /// node shares `uv_rwlock_rdunlock`'s code). The arguments are the
    /// source's; for a folded function they are also the code's.
    pub inlined_only: bool,
}

/// The function `name` whose symbol is at `address` in `image`, from the
/// file's DWARF or its separate debug file; `None` when there is no debug
/// info or it does not describe that function.
pub fn function_params(
    image: &ElfImage,
    name: &str,
    address: u64,
) -> Result<Option<DwarfFunction>, DiscoverError> {
    Ok(with_dwarf(image, Path::new("/"), |dwarf| dwarf.function(name, address))?.flatten())
}

/// The separate debug file of `image` on the live system.
pub fn debug_file_for(image: &ElfImage) -> Option<PathBuf> {
    debug_file_under(image, Path::new("/"))
}

/// The separate debug file of `image`, looking under `root` for the
/// system-wide debug directory (`--root`, `/proc/PID/root`).
pub fn debug_file_under(image: &ElfImage, root: &Path) -> Option<PathBuf> {
    let under = |absolute: &Path| root.join(absolute.strip_prefix("/").unwrap_or(absolute));
    let own_id = image.build_id().filter(|id| id.len() >= 2);
    let fits = |candidate: &Path| -> bool {
        if candidate == image.path || !candidate.is_file() {
            return false;
        }
        let Ok(debug) = ElfImage::open(candidate) else {
            return false;
        };
        // The CRC-32 of .gnu_debuglink would mean reading the whole debug
        // file (hundreds of MB for some programs); equal build IDs say the
        // same thing for every file built in the last fifteen years.
        let same_build = match (own_id, debug.build_id()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        // Whether the section is there, not its contents: libc6-dbg's
        // .debug_info is 2.3 MB compressed, and reading it only to check
        // would be done again by the caller.
        same_build && (debug.has_section(".debug_info") || debug.has_section(".zdebug_info"))
    };
    if let Some(id) = own_id {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let path = under(Path::new(&format!(
            "/usr/lib/debug/.build-id/{}/{}.debug",
            &hex[..2],
            &hex[2..]
        )));
        if fits(&path) {
            return Some(path);
        }
    }
    let (link, _crc) = image.debuglink()?;
    let link = std::str::from_utf8(link)
        .ok()
        .filter(|l| !l.contains('/'))?;
    let dir = image.path.parent()?;
    let in_system = dir.strip_prefix(root).map_or(dir, |d| d);
    [
        dir.join(link),
        dir.join(".debug").join(link),
        under(Path::new("/usr/lib/debug"))
            .join(in_system.strip_prefix("/").unwrap_or(in_system))
            .join(link),
    ]
    .into_iter()
    .find(|p| fits(p))
}

/// Runs `query` over the DWARF of `image` (its own, else its separate debug
/// file under `root`); `None` when neither has any.
pub fn with_dwarf<T>(
    image: &ElfImage,
    root: &Path,
    query: impl FnOnce(&DwarfReader<'_>) -> Result<T, DiscoverError>,
) -> Result<Option<T>, DiscoverError> {
    if let Some(sections) = DwarfSections::load(image)? {
        return query(&sections.reader()).map(Some);
    }
    let Some(path) = debug_file_under(image, root) else {
        return Ok(None);
    };
    let debug = ElfImage::open(&path)?;
    match DwarfSections::load(&debug)? {
        Some(sections) => query(&sections.reader()).map(Some),
        None => Ok(None),
    }
}

/// The DWARF sections of one file, borrowed from its map or decompressed.
#[derive(Debug)]
pub struct DwarfSections<'a> {
    path: &'a Path,
    big_endian: bool,
    sections: Vec<(gimli::SectionId, Cow<'a, [u8]>)>,
}

impl<'a> DwarfSections<'a> {
    /// `None` when the file has no (or an empty) `.debug_info`. Location
    /// lists and frame info are not read: naming parameters needs neither,
    /// and decompressing them would be much of the cost. `.debug_line` is,
    /// because gimli parses a unit's line program header with the unit.
    pub fn load(image: &'a ElfImage) -> Result<Option<DwarfSections<'a>>, DiscoverError> {
        use gimli::SectionId as Id;
        let Some(info) = image.section_data(".debug_info")? else {
            return Ok(None);
        };
        if info.is_empty() {
            return Ok(None);
        }
        let mut sections = vec![(Id::DebugInfo, info)];
        for id in [
            Id::DebugAbbrev,
            Id::DebugAddr,
            Id::DebugAranges,
            Id::DebugLine,
            Id::DebugLineStr,
            Id::DebugRanges,
            Id::DebugRngLists,
            Id::DebugStr,
            Id::DebugStrOffsets,
        ] {
            if let Some(data) = image.section_data(id.name())? {
                sections.push((id, data));
            }
        }
        Ok(Some(DwarfSections {
            path: &image.path,
            big_endian: image.big_endian(),
            sections,
        }))
    }

    pub fn reader(&self) -> DwarfReader<'_> {
        let endian = if self.big_endian {
            RunTimeEndian::Big
        } else {
            RunTimeEndian::Little
        };
        let dwarf = gimli::Dwarf::load(|id| -> Result<Slice<'_>, gimli::Error> {
            let data = self
                .sections
                .iter()
                .find(|(i, _)| *i == id)
                .map_or(&[][..], |(_, d)| &d[..]);
            Ok(EndianSlice::new(data, endian))
        })
        .expect("loading borrowed slices cannot fail");
        DwarfReader {
            path: self.path,
            dwarf,
            aranges: OnceCell::new(),
            unit_ranges: OnceCell::new(),
            unit_starts: OnceCell::new(),
            units: RefCell::new(HashMap::new()),
            type_steps: std::cell::Cell::new(0),
        }
    }
}

/// Queries over one file's DWARF; parsed units are kept for the next query.
pub struct DwarfReader<'a> {
    path: &'a Path,
    dwarf: gimli::Dwarf<Slice<'a>>,
    /// `(start, end, unit)` from `.debug_aranges`, sorted.
    aranges: OnceCell<Vec<(u64, u64, DebugInfoOffset)>>,
    /// The same from the ranges of units `.debug_aranges` leaves out.
    unit_ranges: OnceCell<Vec<(u64, u64, DebugInfoOffset)>>,
    /// Every unit's start, sorted: for references into other units.
    unit_starts: OnceCell<Vec<DebugInfoOffset>>,
    units: RefCell<HashMap<DebugInfoOffset, Rc<UnitIndex<'a>>>>,
    /// Types named for the current function. A type graph may branch
    /// (a pointer to member names its class and its member type; a function
    /// type each parameter), so depth alone does not bound the work: the
    /// fuzzer built a file whose one parameter type took minutes.
    type_steps: std::cell::Cell<usize>,
}

impl std::fmt::Debug for DwarfReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DwarfReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One parsed compilation unit.
struct UnitIndex<'a> {
    unit: gimli::Unit<Slice<'a>>,
    /// C++ (and other languages with namespaces) names types without
    /// `struct` and qualified by their enclosing scopes.
    cplusplus: bool,
    /// Each entry's parent, for qualified names; empty for C.
    parents: HashMap<UnitOffset, UnitOffset>,
    /// `(entry address, subprogram)` of every out-of-line function, sorted.
    functions: Vec<(u64, UnitOffset)>,
}

/// A DIE: its unit and offset there.
type Die<'a> = (Rc<UnitIndex<'a>>, UnitOffset);

impl<'a> DwarfReader<'a> {
    /// The file the DWARF came from.
    pub fn path(&self) -> &Path {
        self.path
    }

    fn broken(&self, e: impl std::fmt::Display) -> DiscoverError {
        DiscoverError::parse(self.path, "DWARF", e)
    }

    /// The function `name` whose code starts at `address`.
    pub fn function(
        &self,
        name: &str,
        address: u64,
    ) -> Result<Option<DwarfFunction>, DiscoverError> {
        self.type_steps.set(0);
        let units = self.units_covering(address)?;
        let mut indexes = Vec::with_capacity(units.len());
        for offset in units {
            indexes.push(self.unit(offset)?);
        }
        for index in &indexes {
            let first = index.functions.partition_point(|&(a, _)| a < address);
            let candidates: Vec<UnitOffset> = index.functions[first..]
                .iter()
                .take_while(|&&(a, _)| a == address)
                .map(|&(_, o)| o)
                .collect();
            // Folded or aliased functions share an address; the symbol's
            // own name decides between them.
            let chosen = candidates
                .iter()
                .find(|&&o| self.names(index, o).iter().any(|n| n == name))
                .or(candidates.first());
            if let Some(&offset) = chosen {
                return self.signature(index, offset, false).map(Some);
            }
        }
        for index in &indexes {
            if let Some(offset) = self.inline_definition(index, name)? {
                return self.signature(index, offset, true).map(Some);
            }
        }
        Ok(None)
    }

    fn units_covering(&self, address: u64) -> Result<Vec<DebugInfoOffset>, DiscoverError> {
        let aranges = match self.aranges.get() {
            Some(a) => a,
            None => {
                let built = self.read_aranges()?;
                self.aranges.get_or_init(|| built)
            }
        };
        let mut found = covering(aranges, address);
        if found.is_empty() {
            let ranges = match self.unit_ranges.get() {
                Some(r) => r,
                None => {
                    let listed: HashSet<DebugInfoOffset> = aranges.iter().map(|r| r.2).collect();
                    let built = self.read_unit_ranges(&listed)?;
                    self.unit_ranges.get_or_init(|| built)
                }
            };
            found = covering(ranges, address);
        }
        Ok(found)
    }

    fn read_aranges(&self) -> Result<Vec<(u64, u64, DebugInfoOffset)>, DiscoverError> {
        let mut table = Vec::new();
        let mut headers = self.dwarf.debug_aranges.headers();
        while let Some(header) = headers.next().map_err(|e| self.broken(e))? {
            let unit = header.debug_info_offset();
            let mut entries = header.entries();
            while let Some(entry) = entries.next().map_err(|e| self.broken(e))? {
                let range = entry.range();
                if range.end > range.begin {
                    table.push((range.begin, range.end, unit));
                }
            }
        }
        table.sort_unstable();
        Ok(table)
    }

    fn read_unit_ranges(
        &self,
        skip: &HashSet<DebugInfoOffset>,
    ) -> Result<Vec<(u64, u64, DebugInfoOffset)>, DiscoverError> {
        let mut table = Vec::new();
        let mut headers = self.dwarf.units();
        while let Some(header) = headers.next().map_err(|e| self.broken(e))? {
            let Some(offset) = header.offset().as_debug_info_offset() else {
                continue;
            };
            if skip.contains(&offset) {
                continue;
            }
            let unit = self.dwarf.unit(header).map_err(|e| self.broken(e))?;
            let mut ranges = self.dwarf.unit_ranges(&unit).map_err(|e| self.broken(e))?;
            while let Some(range) = ranges.next().map_err(|e| self.broken(e))? {
                if range.end > range.begin {
                    table.push((range.begin, range.end, offset));
                }
            }
        }
        table.sort_unstable();
        Ok(table)
    }

    fn unit(&self, offset: DebugInfoOffset) -> Result<Rc<UnitIndex<'a>>, DiscoverError> {
        if let Some(index) = self.units.borrow().get(&offset) {
            return Ok(Rc::clone(index));
        }
        let header = self
            .dwarf
            .debug_info
            .header_from_offset(offset)
            .map_err(|e| self.broken(e))?;
        let unit = self.dwarf.unit(header).map_err(|e| self.broken(e))?;
        let index = Rc::new(self.index_unit(unit)?);
        self.units.borrow_mut().insert(offset, Rc::clone(&index));
        Ok(index)
    }

    fn index_unit(&self, unit: gimli::Unit<Slice<'a>>) -> Result<UnitIndex<'a>, DiscoverError> {
        let mut parents = HashMap::new();
        let mut functions = Vec::new();
        let mut cplusplus = false;
        {
            let mut stack: Vec<UnitOffset> = Vec::new();
            let mut depth: isize = 0;
            let mut cursor = unit.entries();
            while let Some((delta, entry)) = cursor.next_dfs().map_err(|e| self.broken(e))? {
                depth += delta;
                stack.truncate(depth.max(0) as usize);
                match entry.tag() {
                    constants::DW_TAG_compile_unit | constants::DW_TAG_partial_unit => {
                        if let Some(AttributeValue::Language(language)) =
                            entry.attr_value(constants::DW_AT_language).ok().flatten()
                        {
                            cplusplus = language != constants::DW_LANG_C
                                && language != constants::DW_LANG_C89
                                && language != constants::DW_LANG_C99
                                && language != constants::DW_LANG_C11
                                && language != constants::DW_LANG_C17;
                        }
                    }
                    constants::DW_TAG_subprogram => {
                        if let Some(address) = self.entry_address(&unit, entry)? {
                            functions.push((address, entry.offset()));
                        }
                    }
                    _ => {}
                }
                if cplusplus {
                    if let Some(&parent) = stack.last() {
                        parents.insert(entry.offset(), parent);
                    }
                }
                stack.push(entry.offset());
            }
        }
        functions.sort_unstable();
        Ok(UnitIndex {
            unit,
            cplusplus,
            parents,
            functions,
        })
    }

    /// Where a concrete subprogram is entered: `DW_AT_entry_pc`, else
    /// `DW_AT_low_pc`, else the first of its `DW_AT_ranges` (GCC lists the
    /// hot part before the `.cold` one).
    fn entry_address(
        &self,
        unit: &gimli::Unit<Slice<'a>>,
        entry: &gimli::DebuggingInformationEntry<'_, '_, Slice<'a>>,
    ) -> Result<Option<u64>, DiscoverError> {
        for at in [constants::DW_AT_entry_pc, constants::DW_AT_low_pc] {
            if let Some(value) = entry.attr_value(at).map_err(|e| self.broken(e))? {
                if let Ok(Some(address)) = self.dwarf.attr_address(unit, value) {
                    if address != 0 {
                        return Ok(Some(address));
                    }
                }
            }
        }
        if entry.attr(constants::DW_AT_ranges).ok().flatten().is_some() {
            let mut ranges = self
                .dwarf
                .die_ranges(unit, entry)
                .map_err(|e| self.broken(e))?;
            if let Some(range) = ranges.next().map_err(|e| self.broken(e))? {
                if range.begin != 0 {
                    return Ok(Some(range.begin));
                }
            }
        }
        Ok(None)
    }

    /// A subprogram of `index` named `name` (linkage or plain name) with no
    /// code of its own: an abstract inline definition, or a function GCC's
    /// identical-code folding (`-fipa-icf`) merged into another, whose
    /// symbol points at the other's code. A definition wins over a mere
    /// declaration, whose parameters often have no names.
    fn inline_definition(
        &self,
        index: &Rc<UnitIndex<'a>>,
        name: &str,
    ) -> Result<Option<UnitOffset>, DiscoverError> {
        let mut declaration = None;
        let mut cursor = index.unit.entries();
        while let Some((_, entry)) = cursor.next_dfs().map_err(|e| self.broken(e))? {
            if entry.tag() != constants::DW_TAG_subprogram
                || self.entry_address(&index.unit, entry)?.is_some()
            {
                continue;
            }
            let declared_only = entry
                .attr(constants::DW_AT_declaration)
                .ok()
                .flatten()
                .is_some();
            if declared_only && declaration.is_some() {
                continue;
            }
            let offset = entry.offset();
            if self.names(index, offset).iter().any(|n| n == name) {
                if !declared_only {
                    return Ok(Some(offset));
                }
                declaration = Some(offset);
            }
        }
        Ok(declaration)
    }

    /// The names a subprogram answers to: its linkage and plain names,
    /// through `DW_AT_specification` and `DW_AT_abstract_origin`.
    fn names(&self, index: &Rc<UnitIndex<'a>>, offset: UnitOffset) -> Vec<String> {
        [
            constants::DW_AT_linkage_name,
            constants::DW_AT_MIPS_linkage_name,
            constants::DW_AT_name,
        ]
        .into_iter()
        .filter_map(|at| self.string_through(index, offset, at))
        .collect()
    }

    fn signature(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
        inlined_only: bool,
    ) -> Result<DwarfFunction, DiscoverError> {
        let return_type = match self.attr_through(index, offset, constants::DW_AT_type, 0) {
            Some((unit, value)) => self.type_name(&unit, value, String::new(), 0),
            None => "void".to_string(),
        };
        // A concrete out-of-line instance lists its parameters with
        // DW_AT_abstract_origin; one that lists none leaves them to the
        // definition it points at.
        let mut die: Die<'a> = (Rc::clone(index), offset);
        let mut params = Vec::new();
        for _ in 0..4 {
            params = self.parameters(&die.0, die.1)?;
            if !params.is_empty() {
                break;
            }
            let next = [
                constants::DW_AT_abstract_origin,
                constants::DW_AT_specification,
            ]
            .into_iter()
            .find_map(|at| {
                let value = self.attr(&die.0, die.1, at)?;
                self.reference(&die.0, value)
            });
            match next {
                Some(next) => die = next,
                None => break,
            }
        }
        Ok(DwarfFunction {
            params,
            return_type,
            inlined_only,
        })
    }

    fn parameters(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
    ) -> Result<Vec<(String, String)>, DiscoverError> {
        let mut params = Vec::new();
        let mut tree = index
            .unit
            .entries_tree(Some(offset))
            .map_err(|e| self.broken(e))?;
        let root = tree.root().map_err(|e| self.broken(e))?;
        let mut children = root.children();
        while let Some(child) = children.next().map_err(|e| self.broken(e))? {
            let entry = child.entry();
            if entry.tag() != constants::DW_TAG_formal_parameter {
                continue;
            }
            let at = entry.offset();
            let name = self
                .string_through(index, at, constants::DW_AT_name)
                .unwrap_or_default();
            let ty = match self.attr_through(index, at, constants::DW_AT_type, 0) {
                Some((unit, value)) => self.type_name(&unit, value, String::new(), 0),
                None => UNKNOWN.to_string(),
            };
            params.push((name, ty));
        }
        Ok(params)
    }

    fn attr(
        &self,
        index: &UnitIndex<'a>,
        offset: UnitOffset,
        at: constants::DwAt,
    ) -> Option<AttributeValue<Slice<'a>>> {
        index.unit.entry(offset).ok()?.attr_value(at).ok().flatten()
    }

    /// `at` of the DIE, or of the DIE its `DW_AT_abstract_origin` or
    /// `DW_AT_specification` names (C++ out-of-line members, inlined and
    /// cloned functions), with the unit the value belongs to.
    fn attr_through(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
        at: constants::DwAt,
        depth: usize,
    ) -> Option<(Rc<UnitIndex<'a>>, AttributeValue<Slice<'a>>)> {
        if let Some(value) = self.attr(index, offset, at) {
            return Some((Rc::clone(index), value));
        }
        if depth > 8 {
            return None;
        }
        [
            constants::DW_AT_abstract_origin,
            constants::DW_AT_specification,
        ]
        .into_iter()
        .find_map(|link| {
            let value = self.attr(index, offset, link)?;
            let (unit, target) = self.reference(index, value)?;
            self.attr_through(&unit, target, at, depth + 1)
        })
    }

    fn string_through(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
        at: constants::DwAt,
    ) -> Option<String> {
        let (unit, value) = self.attr_through(index, offset, at, 0)?;
        self.string(&unit, value)
    }

    fn string(&self, index: &UnitIndex<'a>, value: AttributeValue<Slice<'a>>) -> Option<String> {
        let text = self.dwarf.attr_string(&index.unit, value).ok()?;
        Some(String::from_utf8_lossy(text.slice()).into_owned())
    }

    /// The DIE a reference attribute names, in this unit or another.
    fn reference(
        &self,
        index: &Rc<UnitIndex<'a>>,
        value: AttributeValue<Slice<'a>>,
    ) -> Option<Die<'a>> {
        match value {
            AttributeValue::UnitRef(offset) => Some((Rc::clone(index), offset)),
            AttributeValue::DebugInfoRef(target) => {
                if let Some(offset) = target.to_unit_offset(&index.unit.header) {
                    return Some((Rc::clone(index), offset));
                }
                let starts = self.unit_starts.get_or_init(|| {
                    let mut starts = Vec::new();
                    let mut headers = self.dwarf.units();
                    while let Ok(Some(header)) = headers.next() {
                        if let Some(o) = header.offset().as_debug_info_offset() {
                            starts.push(o);
                        }
                    }
                    starts
                });
                let at = starts.partition_point(|s| s.0 <= target.0).checked_sub(1)?;
                let unit = self.unit(starts[at]).ok()?;
                let offset = target.to_unit_offset(&unit.unit.header)?;
                Some((unit, offset))
            }
            _ => None,
        }
    }

    /// The C type a `DW_AT_type` value names, around the declarator
    /// `inner` built so far (`*`, `(*)(int)`, `[4]` ...).
    fn type_name(
        &self,
        index: &Rc<UnitIndex<'a>>,
        value: AttributeValue<Slice<'a>>,
        inner: String,
        depth: usize,
    ) -> String {
        let steps = self.type_steps.get() + 1;
        self.type_steps.set(steps);
        match self.reference(index, value) {
            Some((unit, offset)) if depth < MAX_DEPTH && steps <= MAX_TYPE_STEPS => {
                self.declare(&unit, offset, inner, depth + 1)
            }
            _ => join(UNKNOWN, &inner),
        }
    }

    /// The type a type DIE's `DW_AT_type` names, or `void` when it has none.
    fn target(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
        inner: String,
        depth: usize,
    ) -> String {
        match self.attr(index, offset, constants::DW_AT_type) {
            Some(value) => self.type_name(index, value, inner, depth),
            None => join("void", &inner),
        }
    }

    fn declare(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
        inner: String,
        depth: usize,
    ) -> String {
        let Ok(entry) = index.unit.entry(offset) else {
            return join(UNKNOWN, &inner);
        };
        let name = || {
            entry
                .attr_value(constants::DW_AT_name)
                .ok()
                .flatten()
                .and_then(|v| self.string(index, v))
        };
        match entry.tag() {
            constants::DW_TAG_base_type | constants::DW_TAG_unspecified_type => {
                join(&name().unwrap_or_else(|| UNKNOWN.into()), &inner)
            }
            constants::DW_TAG_typedef => {
                let plain = name().unwrap_or_else(|| UNKNOWN.into());
                join(&self.qualified(index, offset, plain), &inner)
            }
            tag @ (constants::DW_TAG_structure_type
            | constants::DW_TAG_class_type
            | constants::DW_TAG_union_type
            | constants::DW_TAG_enumeration_type) => {
                let keyword = match tag {
                    constants::DW_TAG_union_type => "union",
                    constants::DW_TAG_enumeration_type => "enum",
                    constants::DW_TAG_class_type => "class",
                    _ => "struct",
                };
                let named = match name() {
                    Some(plain) if index.cplusplus => self.qualified(index, offset, plain),
                    Some(plain) => format!("{keyword} {plain}"),
                    None => format!("{keyword} (anonymous)"),
                };
                join(&named, &inner)
            }
            constants::DW_TAG_pointer_type => {
                self.target(index, offset, format!("*{inner}"), depth)
            }
            constants::DW_TAG_reference_type => {
                self.target(index, offset, format!("&{inner}"), depth)
            }
            constants::DW_TAG_rvalue_reference_type => {
                self.target(index, offset, format!("&&{inner}"), depth)
            }
            constants::DW_TAG_ptr_to_member_type => {
                let class = self
                    .attr(index, offset, constants::DW_AT_containing_type)
                    .map_or_else(
                        || UNKNOWN.to_string(),
                        |v| self.type_name(index, v, String::new(), depth),
                    );
                self.target(index, offset, format!(" {class}::*{inner}"), depth)
            }
            tag @ (constants::DW_TAG_const_type
            | constants::DW_TAG_volatile_type
            | constants::DW_TAG_restrict_type
            | constants::DW_TAG_atomic_type) => {
                let qualifier = match tag {
                    constants::DW_TAG_const_type => "const",
                    constants::DW_TAG_volatile_type => "volatile",
                    constants::DW_TAG_restrict_type => "restrict",
                    _ => "_Atomic",
                };
                // A qualified pointer puts the qualifier after its `*`
                // (`char* const`); anything else before the type.
                let of_pointer = self
                    .attr(index, offset, constants::DW_AT_type)
                    .and_then(|v| self.reference(index, v))
                    .and_then(|(unit, target)| unit.unit.entry(target).ok().map(|e| e.tag()))
                    .is_some_and(|t| {
                        matches!(
                            t,
                            constants::DW_TAG_pointer_type
                                | constants::DW_TAG_reference_type
                                | constants::DW_TAG_rvalue_reference_type
                                | constants::DW_TAG_ptr_to_member_type
                        )
                    });
                if of_pointer {
                    let spaced = if inner.is_empty() || inner.starts_with(['*', '&', '[', '(']) {
                        inner
                    } else {
                        format!(" {inner}")
                    };
                    self.target(index, offset, format!(" {qualifier}{spaced}"), depth)
                } else {
                    let named = self.target(index, offset, String::new(), depth);
                    join(&format!("{qualifier} {named}"), &inner)
                }
            }
            constants::DW_TAG_array_type => {
                let dims = self.dimensions(index, offset);
                let inner = if inner.starts_with(['*', '&']) {
                    format!("({inner}){dims}")
                } else {
                    format!("{inner}{dims}")
                };
                self.target(index, offset, inner, depth)
            }
            constants::DW_TAG_subroutine_type => {
                let params = self.subroutine_params(index, offset, depth);
                let inner = if inner.is_empty() {
                    format!("({params})")
                } else {
                    format!("({inner})({params})")
                };
                self.target(index, offset, inner, depth)
            }
            _ => join(UNKNOWN, &inner),
        }
    }

    /// `[N]` per `DW_TAG_subrange_type`; `[]` when the bound is unknown.
    fn dimensions(&self, index: &Rc<UnitIndex<'a>>, offset: UnitOffset) -> String {
        let mut dims = String::new();
        let Ok(mut tree) = index.unit.entries_tree(Some(offset)) else {
            return dims;
        };
        let Ok(root) = tree.root() else { return dims };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            if entry.tag() != constants::DW_TAG_subrange_type {
                continue;
            }
            let number = |at| {
                entry
                    .attr_value(at)
                    .ok()
                    .flatten()
                    .and_then(|v: AttributeValue<Slice<'a>>| v.udata_value())
            };
            let count = number(constants::DW_AT_count)
                .or_else(|| number(constants::DW_AT_upper_bound).and_then(|u| u.checked_add(1)));
            match count {
                Some(n) => dims.push_str(&format!("[{n}]")),
                None => dims.push_str("[]"),
            }
        }
        if dims.is_empty() {
            dims.push_str("[]");
        }
        dims
    }

    fn subroutine_params(
        &self,
        index: &Rc<UnitIndex<'a>>,
        offset: UnitOffset,
        depth: usize,
    ) -> String {
        let mut params = Vec::new();
        let mut prototyped = index.cplusplus;
        if let Ok(entry) = index.unit.entry(offset) {
            if let Ok(Some(AttributeValue::Flag(true))) =
                entry.attr_value(constants::DW_AT_prototyped)
            {
                prototyped = true;
            }
        }
        if let Ok(mut tree) = index.unit.entries_tree(Some(offset)) {
            if let Ok(root) = tree.root() {
                let mut children = root.children();
                while let Ok(Some(child)) = children.next() {
                    let entry = child.entry();
                    match entry.tag() {
                        constants::DW_TAG_formal_parameter => params.push(
                            match entry.attr_value(constants::DW_AT_type).ok().flatten() {
                                Some(v) => self.type_name(index, v, String::new(), depth),
                                None => UNKNOWN.to_string(),
                            },
                        ),
                        constants::DW_TAG_unspecified_parameters => params.push("...".into()),
                        _ => {}
                    }
                }
            }
        }
        if params.is_empty() && prototyped && !index.cplusplus {
            return "void".into();
        }
        params.join(", ")
    }

    /// `ns::Outer::name` for a C++ entity; C names are already whole.
    fn qualified(&self, index: &Rc<UnitIndex<'a>>, offset: UnitOffset, name: String) -> String {
        if !index.cplusplus {
            return name;
        }
        let mut scopes = Vec::new();
        let mut at = offset;
        while let Some(&parent) = index.parents.get(&at) {
            let Ok(entry) = index.unit.entry(parent) else {
                break;
            };
            let scope_name = || {
                entry
                    .attr_value(constants::DW_AT_name)
                    .ok()
                    .flatten()
                    .and_then(|v| self.string(index, v))
            };
            match entry.tag() {
                constants::DW_TAG_namespace => {
                    scopes.push(scope_name().unwrap_or_else(|| "(anonymous namespace)".into()))
                }
                constants::DW_TAG_structure_type
                | constants::DW_TAG_class_type
                | constants::DW_TAG_union_type => {
                    scopes.push(scope_name().unwrap_or_else(|| "(anonymous)".into()))
                }
                _ => break,
            }
            at = parent;
        }
        scopes.reverse();
        scopes.push(name);
        scopes.join("::")
    }
}

/// The units whose ranges contain `address`, each once.
fn covering(table: &[(u64, u64, DebugInfoOffset)], address: u64) -> Vec<DebugInfoOffset> {
    let end = table.partition_point(|r| r.0 <= address);
    let mut units: Vec<DebugInfoOffset> = table[..end]
        .iter()
        .filter(|r| address < r.1)
        .map(|r| r.2)
        .collect();
    units.dedup();
    units
}

/// A type name and the declarator around it: `char` + `*` is `char*`, as
/// bpftrace prints it; `void` + `(*)(int)` is `void (*)(int)`.
fn join(name: &str, inner: &str) -> String {
    if inner.is_empty() || inner.starts_with(['*', '&', '[', ' ']) {
        format!("{name}{inner}")
    } else {
        format!("{name} {inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarators_join_like_bpftrace() {
        assert_eq!(join("char", "*"), "char*");
        assert_eq!(join("void", "(*)(int)"), "void (*)(int)");
        assert_eq!(join("int", "[4]"), "int[4]");
        assert_eq!(join("char", "* const"), "char* const");
        assert_eq!(join("int", ""), "int");
    }

    #[test]
    fn covering_finds_every_unit_once() {
        let table = vec![
            (0x10, 0x20, DebugInfoOffset(0)),
            (0x18, 0x40, DebugInfoOffset(7)),
            (0x50, 0x60, DebugInfoOffset(0)),
        ];
        assert_eq!(
            covering(&table, 0x1c),
            vec![DebugInfoOffset(0), DebugInfoOffset(7)]
        );
        assert_eq!(covering(&table, 0x20), vec![DebugInfoOffset(7)]);
        assert!(covering(&table, 0x40).is_empty());
        assert_eq!(covering(&table, 0x5f), vec![DebugInfoOffset(0)]);
    }

    #[test]
    fn this_test_binary_has_no_surprises() {
        // The test binary is built with debug info; a Rust function's
        // DWARF must at least not break the reader.
        let me = std::env::current_exe().unwrap();
        let image = ElfImage::open(&me).unwrap();
        let main = image
            .functions()
            .unwrap()
            .into_iter()
            .find(|f| f.name == "main")
            .unwrap();
        let _ = function_params(&image, main.name, main.address).unwrap();
    }
}

//! USDT probes and uprobes end to end, checked against binutils and the
//! fixture sources rather than against anything probedex computes.
//!
//! `fixtures/src/usdt_probes.c` with `usdt_guarded.c` (the probes that have
//! semaphores) is built with gcc as a PIE and a non-PIE program at -O0 and
//! -O2, and as a shared library, which is then moved by
//! `objcopy --change-addresses` the way prelink moves one (sections and
//! symbols shift, the notes keep their link-time addresses).
//! `fixtures/src/overloads.cpp` is built with g++ for mangled uprobe names
//! and a USDT probe in a function template.
//!
//! The truth: `readelf -n` for every note (provider, name, location, base,
//! semaphore, argument string), `readelf -S` and `readelf -l` for file
//! offsets, `nm` and `readelf -s` for symbols, and the sources' comments for
//! argument sizes, signedness and call-site counts.
#![cfg(target_arch = "x86_64")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use common::{compile_fixture as compile, have_c_header, have_tools, probedex};

// ---------------------------------------------------------------------------
// The JSON of docs/json.md ("User space"), field for field.

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct UsdtJson {
    probe: String,
    kind: String,
    path: String,
    provider: String,
    name: String,
    sites: Vec<SiteJson>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct SiteJson {
    address: u64,
    file_offset: Option<u64>,
    semaphore: u64,
    semaphore_offset: Option<u64>,
    semaphore_in_bss: bool,
    args_spec: String,
    args: Vec<ArgJson>,
    args_error: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ArgJson {
    text: String,
    size: u8,
    signed: bool,
    float: bool,
    operand: String,
    libbpf_limitation: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFunctionJson {
    probe: String,
    kind: String,
    path: String,
    name: String,
    address: u64,
    size: u64,
    file_offset: Option<u64>,
    ifunc: bool,
    demangled: Option<String>,
    /// `show` and `list -v` only.
    signature: Option<serde_json::Value>,
}

fn json_lines<T: DeserializeOwned>(text: &str) -> Vec<T> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not the schema: {line}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Building.

fn can_build(compiler: &str) -> bool {
    have_tools(
        &[compiler, "readelf", "nm", "objcopy", "strip"],
        "build and inspect the USDT fixtures",
    ) && have_c_header("sys/sdt.h", "systemtap-sdt-dev", "build the USDT fixtures")
}

/// A fresh `CARGO_TARGET_TMPDIR/usdt-NAME`, kept afterwards for a look.
fn build_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("usdt-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

/// `program` with `input` on stdin, its stdout.
fn tool_with_input(program: &str, input: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("build paths are UTF-8")
}

/// Runs a built fixture program with a count; it must exit 0.
fn runs(binary: &Path) {
    let status = Command::new(binary)
        .arg("3")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    assert!(status.success(), "{} 3: {status}", binary.display());
}

// ---------------------------------------------------------------------------
// What binutils says.

/// One `.note.stapsdt` entry as `readelf -n` prints it.
#[derive(Debug, Clone)]
struct Note {
    provider: String,
    name: String,
    location: u64,
    base: u64,
    semaphore: u64,
    args: String,
}

fn hex(text: &str) -> u64 {
    let digits = text.trim().trim_start_matches("0x");
    u64::from_str_radix(digits, 16).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// readelf's size column: decimal, or hex with 0x when large.
fn size_number(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(digits) => u64::from_str_radix(digits, 16).unwrap(),
        None => text.parse().unwrap(),
    }
}

/// Every stapsdt note, in file order. With `--wide` readelf puts
/// `Provider:` on the note's header line (after a tab); the rest come one
/// per line:
///
/// ```text
///   stapsdt   0x00000042 <TAB> NT_STAPSDT (SystemTap probe descriptors) <TAB>    Provider: fixture
///     Name: globals
///     Location: 0x0000000000401260, Base: 0x000000000040201c, Semaphore: 0x0000000000000000
///     Arguments: -8@counter(%rip) -8@hidden_total(%rip) 8f@ratio(%rip) -4@table+12(%rip)
/// ```
fn readelf_notes(binary: &Path) -> Vec<Note> {
    let output = tool("readelf", &["-n", "--wide", text(binary)]);
    let mut notes = Vec::new();
    let mut in_stapsdt = false;
    let (mut provider, mut name, mut addresses) = (None, None, None);
    for line in output.lines() {
        if let Some(section) = line.strip_prefix("Displaying notes found in: ") {
            in_stapsdt = section.trim() == ".note.stapsdt";
            continue;
        }
        if !in_stapsdt {
            continue;
        }
        let field = line.trim_start();
        if let Some((_, value)) = line.split_once("Provider: ") {
            provider = Some(value.to_string());
        } else if let Some(value) = field.strip_prefix("Name: ") {
            name = Some(value.to_string());
        } else if let Some(value) = field.strip_prefix("Location: ") {
            let parts: Vec<&str> = value.split(", ").collect();
            assert_eq!(parts.len(), 3, "{line}");
            addresses = Some((
                hex(parts[0]),
                hex(parts[1].strip_prefix("Base: ").unwrap()),
                hex(parts[2].strip_prefix("Semaphore: ").unwrap()),
            ));
        } else if let Some(value) = field.strip_prefix("Arguments:") {
            let (location, base, semaphore) = addresses.take().expect("Location before Arguments");
            notes.push(Note {
                provider: provider.take().expect("Provider before Arguments"),
                name: name.take().expect("Name before Arguments"),
                location,
                base,
                semaphore,
                args: value.strip_prefix(' ').unwrap_or(value).to_string(),
            });
        }
    }
    notes
}

#[derive(Debug)]
struct Section {
    name: String,
    addr: u64,
    offset: u64,
    size: u64,
    /// `SHF_ALLOC`: part of the program's memory image.
    alloc: bool,
    /// `NOBITS` (`.bss`): memory with no bytes in the file.
    nobits: bool,
}

/// `readelf -SW`: `  [26] .probes  PROGBITS  00000000004040a0 0030a0 000004 00  WA  0   0  2`
/// (the flags column is empty for sections that are not `SHF_ALLOC`).
fn readelf_sections(binary: &Path) -> Vec<Section> {
    tool("readelf", &["-SW", text(binary)])
        .lines()
        .filter(|line| line.trim_start().starts_with('['))
        .filter_map(|line| {
            let (_, rest) = line.split_once(']')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            if fields.len() < 5 || fields[0] == "Name" || fields[0] == "NULL" {
                return None;
            }
            Some(Section {
                name: fields[0].to_string(),
                addr: hex(fields[2]),
                offset: hex(fields[3]),
                size: hex(fields[4]),
                alloc: fields.len() >= 10 && fields[6].contains('A'),
                nobits: fields[1] == "NOBITS",
            })
        })
        .collect()
}

fn section<'a>(sections: &'a [Section], name: &str) -> &'a Section {
    sections
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} section"))
}

/// A `PT_LOAD` program header.
#[derive(Debug, Clone, Copy)]
struct Load {
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

/// `readelf -lW`: `  LOAD  0x002df8 0x0000000000403df8 0x0000000000403df8 0x0002ac 0x0002c8 RW  0x1000`.
fn readelf_loads(binary: &Path) -> Vec<Load> {
    tool("readelf", &["-lW", text(binary)])
        .lines()
        .filter(|line| line.trim_start().starts_with("LOAD "))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Load {
                offset: hex(fields[1]),
                vaddr: hex(fields[2]),
                filesz: hex(fields[4]),
                memsz: hex(fields[5]),
            }
        })
        .collect()
}

/// Where `address` is in the file: through the `PT_LOAD` that maps it
/// from the file (not its zero-filled tail).
fn file_offset(loads: &[Load], address: u64) -> Option<u64> {
    loads
        .iter()
        .find(|l| (l.vaddr..l.vaddr + l.filesz).contains(&address))
        .map(|l| l.offset + (address - l.vaddr))
}

/// `readelf -h`'s `Type:` word: `EXEC` or `DYN`.
fn elf_type(binary: &Path) -> String {
    tool("readelf", &["-hW", text(binary)])
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("Type:"))
        .and_then(|value| value.split_whitespace().next())
        .expect("readelf -h prints Type:")
        .to_string()
}

/// `nm --defined-only`: every defined symbol's value.
fn nm_symbols(binary: &Path) -> BTreeMap<String, u64> {
    tool("nm", &["--defined-only", text(binary)])
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (value, _kind, name) = (fields.next()?, fields.next()?, fields.next()?);
            Some((name.to_string(), hex(value)))
        })
        .collect()
}

/// Defined `FUNC`/`IFUNC` symbols of `.symtab` and `.dynsym` (`readelf -sW`),
/// name to (value, size).
fn readelf_functions(binary: &Path) -> BTreeMap<String, (u64, u64)> {
    tool("readelf", &["-sW", text(binary)])
        .lines()
        .filter_map(|line| {
            // Num: Value Size Type Bind Vis Ndx Name
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 || !fields[0].ends_with(':') {
                return None;
            }
            if !matches!(fields[3], "FUNC" | "IFUNC") || fields[6] == "UND" {
                return None;
            }
            let name = fields[7].split('@').next().unwrap();
            Some((name.to_string(), (hex(fields[1]), size_number(fields[2]))))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// What an argument must look like, from its text alone.

/// The 64-bit register of an x86-64 register name (`edi` → `rdi`,
/// `r10b` → `r10`).
fn full_register(name: &str) -> String {
    const LEGACY: [[&str; 4]; 8] = [
        ["rax", "eax", "ax", "al"],
        ["rbx", "ebx", "bx", "bl"],
        ["rcx", "ecx", "cx", "cl"],
        ["rdx", "edx", "dx", "dl"],
        ["rsi", "esi", "si", "sil"],
        ["rdi", "edi", "di", "dil"],
        ["rbp", "ebp", "bp", "bpl"],
        ["rsp", "esp", "sp", "spl"],
    ];
    if let Some(row) = LEGACY.iter().find(|row| row.contains(&name)) {
        return row[0].to_string();
    }
    if name == "rip" {
        return name.to_string();
    }
    let numbered = name.trim_end_matches(['d', 'w', 'b']);
    assert!(
        numbered.len() >= 2
            && numbered.starts_with('r')
            && numbered[1..]
                .parse::<u8>()
                .is_ok_and(|n| (8..=15).contains(&n)),
        "the fixture produced a register the test does not know: %{name}"
    );
    numbered.to_string()
}

/// How an x86-64 operand as gcc prints it is described (docs/json.md:
/// `register rdx`, `memory at rbx-80`, `constant 5`, and the register's
/// own name in parentheses when it is not the full register), and whether
/// libbpf 1.7 reads it (constants, registers, and memory with a base
/// register and no symbol).
fn expected_operand(operand: &str) -> (String, bool) {
    if let Some(value) = operand.strip_prefix('$') {
        let value: i64 = value.parse().expect("a constant");
        return (format!("constant {value}"), true);
    }
    if let Some(name) = operand.strip_prefix('%') {
        let full = full_register(name);
        let description = if full == name {
            format!("register {full}")
        } else {
            format!("register {full} ({name})")
        };
        return (description, true);
    }
    // DISPLACEMENT(BASE,INDEX,SCALE): gcc writes the displacement as
    // `-20`, `counter`, `table+12` (non-PIC) or `12+table` (PIC).
    let (displacement, registers) = match operand.split_once('(') {
        Some((d, r)) => (d, r.strip_suffix(')').expect("operand ends with ')'")),
        None => (operand, ""),
    };
    let (mut symbol, mut offset) = (None, 0i64);
    for term in displacement.split('+').filter(|t| !t.is_empty()) {
        match term.parse::<i64>() {
            Ok(number) => offset += number,
            Err(_) => {
                assert!(
                    symbol.is_none() && !term.contains('-'),
                    "the fixture produced a displacement the test does not know: {operand}"
                );
                symbol = Some(term);
            }
        }
    }
    let mut parts: Vec<&str> = registers.split(',').collect();
    parts.resize(3, "");
    let base = parts[0].strip_prefix('%');
    let index = parts[1].strip_prefix('%');
    let rip_relative = base == Some("rip") && symbol.is_some();
    let mut terms: Vec<String> = symbol.iter().map(|s| s.to_string()).collect();
    if let Some(base) = base.filter(|_| !rip_relative) {
        terms.push(base.to_string());
    }
    if let Some(index) = index {
        match parts[2] {
            "" | "1" => terms.push(index.to_string()),
            scale => terms.push(format!("{index}*{scale}")),
        }
    }
    let mut description = format!("memory at {}", terms.join("+"));
    match offset {
        0 if !terms.is_empty() => {}
        n if terms.is_empty() => description.push_str(&n.to_string()),
        n if n < 0 => description.push_str(&n.to_string()),
        n => description.push_str(&format!("+{n}")),
    }
    if rip_relative {
        description.push_str(" (rip-relative)");
    }
    (description, base.is_some() && symbol.is_none())
}

/// The kinds of operand a build must keep producing, so the fixture goes
/// on exercising what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Form {
    /// `$5`
    Constant,
    /// `$-1`
    NegativeConstant,
    /// `%rdi`
    Register64,
    /// `%r8d`, `%edi`
    Register32,
    /// `%dx`
    Register16,
    /// `%dil`, `%r10b`
    Register8,
    /// `-20(%rbp)`: base register and offset
    BaseOffset,
    /// `(%rax)`
    BaseOnly,
    /// `counter(%rip)`
    RipSymbol,
    /// `table+12(%rip)`, `12+table(%rip)`
    RipSymbolOffset,
    /// `(%rax,%rdx,4)`
    Indexed,
    /// `table(,%rax,4)`: a symbol and an index, no base
    SymbolIndexed,
    /// `8f@...`
    Float,
}

fn forms(arg: &str) -> Vec<Form> {
    let (size, operand) = arg.split_once('@').unwrap();
    let mut found = Vec::new();
    if size.ends_with('f') {
        found.push(Form::Float);
    }
    found.push(if let Some(value) = operand.strip_prefix('$') {
        if value.starts_with('-') {
            Form::NegativeConstant
        } else {
            Form::Constant
        }
    } else if let Some(name) = operand.strip_prefix('%') {
        match full_register(name) {
            full if full == name => Form::Register64,
            _ if name.starts_with('e') || name.ends_with('d') => Form::Register32,
            _ if name.ends_with('l') || name.ends_with('b') => Form::Register8,
            _ => Form::Register16,
        }
    } else if operand.ends_with("(%rip)") {
        if operand.contains('+') {
            Form::RipSymbolOffset
        } else {
            Form::RipSymbol
        }
    } else if operand.contains("(,") {
        Form::SymbolIndexed
    } else if operand.contains(',') {
        Form::Indexed
    } else if operand.starts_with('(') {
        Form::BaseOnly
    } else {
        Form::BaseOffset
    });
    found
}

// ---------------------------------------------------------------------------
// The checks.

/// Size, signedness and float of each argument, as the source declares them.
type Widths = &'static [(u8, bool, bool)];

const S1: (u8, bool, bool) = (1, true, false);
const U1: (u8, bool, bool) = (1, false, false);
const S2: (u8, bool, bool) = (2, true, false);
const U2: (u8, bool, bool) = (2, false, false);
const S4: (u8, bool, bool) = (4, true, false);
const U4: (u8, bool, bool) = (4, false, false);
const S8: (u8, bool, bool) = (8, true, false);
const U8: (u8, bool, bool) = (8, false, false);
const F4: (u8, bool, bool) = (4, false, true);
const F8: (u8, bool, bool) = (8, false, true);

/// usdt_probes.c and usdt_guarded.c, from their comments: each probe, its
/// number of call sites and its arguments.
const C_FIXTURE: &[(&str, usize, Widths)] = &[
    ("fixture:nothing", 1, &[]),
    ("fixture:widths", 1, &[S1, U1, S2, U2, S4, U4, S8, U8]),
    ("fixture:constants", 1, &[S4, S4, U8, S1]),
    ("fixture:globals", 1, &[S8, S8, F8, S4]),
    ("fixture:indexed", 1, &[S4, S8]),
    ("fixture:floats", 1, &[F4, F8]),
    ("fixture:stack", 1, &[S4, U8]),
    (
        "fixture:many",
        1,
        &[S8, S8, S8, S8, S8, S8, S8, U1, S8, S8, S8, S8],
    ),
    ("fixture:sites", 3, &[S4]),
    ("fixture:guarded", 2, &[S8, S8]),
    ("fixture:spare", 1, &[S4]),
    ("fixture:bss", 1, &[U2]),
];

/// The semaphore variable of each guarded probe (usdt_guarded.c) and the
/// section it is in.
const SEMAPHORES: &[(&str, &str, &str)] = &[
    ("fixture:guarded", "fixture_guarded_semaphore", ".probes"),
    ("fixture:spare", "fixture_spare_semaphore", ".probes"),
    ("fixture:bss", "fixture_bss_semaphore", ".bss"),
];

/// What probedex says about every USDT probe of `binary`, checked against
/// `readelf -n`: `list` names each provider:name once, `list -v --json` and
/// `show --json` give every site in note order with its address and file
/// offset, semaphore and its file offset, and arguments. Returns the probes
/// by `provider:name` and every argument text seen.
fn check_against_readelf(binary: &Path) -> (BTreeMap<String, UsdtJson>, BTreeSet<String>) {
    let notes = readelf_notes(binary);
    assert!(
        !notes.is_empty(),
        "readelf finds no stapsdt notes in {binary:?}"
    );
    let sections = readelf_sections(binary);
    let loads = readelf_loads(binary);
    let base_section = section(&sections, ".stapsdt.base").addr;
    let symbols = nm_symbols(binary);
    let shown = binary.display().to_string();
    let pattern = format!("usdt:{shown}:*");

    // `list`: each provider:name once, sorted, however many sites it has.
    let names: BTreeSet<String> = notes
        .iter()
        .map(|n| format!("{}:{}", n.provider, n.name))
        .collect();
    let wanted: Vec<String> = names.iter().map(|n| format!("usdt:{shown}:{n}")).collect();
    let out = probedex(["list", &pattern]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        wanted,
        "{}",
        out.describe()
    );

    let out = probedex(["--json", "list", &pattern]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let short: Vec<UsdtJson> = json_lines(&out.stdout);
    assert_eq!(
        short.iter().map(|p| p.probe.clone()).collect::<Vec<_>>(),
        wanted
    );
    assert!(short.iter().all(|p| p.sites.is_empty()), "{}", out.stdout);

    let detailed = probedex(["--json", "list", "-v", &pattern]);
    assert_eq!(detailed.code, 0, "{}", detailed.describe());
    let shown_json = probedex(["--json", "show", &pattern]);
    assert_eq!(shown_json.code, 0, "{}", shown_json.describe());
    let probes: Vec<UsdtJson> = json_lines(&detailed.stdout);
    assert_eq!(
        json_lines::<UsdtJson>(&shown_json.stdout),
        probes,
        "show --json and list -v --json differ"
    );
    assert_eq!(
        probes.iter().map(|p| p.probe.clone()).collect::<Vec<_>>(),
        wanted
    );

    let mut texts = BTreeSet::new();
    let mut by_name = BTreeMap::new();
    for probe in probes {
        let full = format!("{}:{}", probe.provider, probe.name);
        assert_eq!(probe.kind, "usdt");
        assert_eq!(probe.path, shown);
        let sites: Vec<&Note> = notes
            .iter()
            .filter(|n| n.provider == probe.provider && n.name == probe.name)
            .collect();
        assert_eq!(probe.sites.len(), sites.len(), "{full}: sites");
        for (n, (site, note)) in probe.sites.iter().zip(&sites).enumerate() {
            let what = format!("{full} site {n} ({note:?})");
            // libbpf's prelink rule: move by however far .stapsdt.base moved.
            let shift = if note.base != 0 && base_section != 0 {
                base_section.wrapping_sub(note.base)
            } else {
                0
            };
            let address = note.location.wrapping_add(shift);
            assert_eq!(site.address, address, "{what}: address");
            let offset = file_offset(&loads, address);
            assert!(offset.is_some(), "{what}: {address:#x} is in no PT_LOAD");
            assert_eq!(site.file_offset, offset, "{what}: file offset");
            if note.semaphore == 0 {
                assert_eq!(site.semaphore, 0, "{what}: semaphore");
                assert_eq!(site.semaphore_offset, None, "{what}: semaphore offset");
                assert!(!site.semaphore_in_bss, "{what}");
            } else {
                let semaphore = note.semaphore.wrapping_add(shift);
                assert_eq!(site.semaphore, semaphore, "{what}: semaphore");
                let holder = sections
                    .iter()
                    .find(|s| s.alloc && (s.addr..s.addr + s.size).contains(&semaphore))
                    .unwrap_or_else(|| panic!("{what}: {semaphore:#x} is in no section"));
                if let Some((_, variable, name)) = SEMAPHORES.iter().find(|(p, ..)| *p == full) {
                    assert_eq!(holder.name, *name, "{what}: the semaphore's section");
                    // A stripped file has no symbols to compare with.
                    if !symbols.is_empty() {
                        assert_eq!(
                            symbols.get(*variable),
                            Some(&semaphore),
                            "{what}: nm's {variable}"
                        );
                    }
                }
                // A semaphore in .bss has no bytes in the file: its offset
                // goes through the segment's memory, as libbpf computes it.
                // readelf's section type says whether it is .bss-like.
                assert_eq!(site.semaphore_in_bss, holder.nobits, "{what}: in .bss");
                if holder.nobits {
                    let load = loads
                        .iter()
                        .find(|l| (l.vaddr..l.vaddr + l.memsz).contains(&semaphore))
                        .unwrap_or_else(|| panic!("{what}: no PT_LOAD holds {semaphore:#x}"));
                    assert_eq!(
                        site.semaphore_offset,
                        Some(semaphore - load.vaddr + load.offset),
                        "{what}: .bss semaphore offset"
                    );
                } else {
                    // sh_offset + (address - sh_addr) of the section.
                    let expected = holder.offset + (semaphore - holder.addr);
                    assert_eq!(
                        site.semaphore_offset,
                        Some(expected),
                        "{what}: semaphore offset (in {})",
                        holder.name
                    );
                    assert_eq!(file_offset(&loads, semaphore), Some(expected), "{what}");
                }
            }
            assert_eq!(site.args_spec, note.args, "{what}: args_spec");
            assert_eq!(site.args_error, None, "{what}: args_error");
            let args: Vec<&str> = note.args.split_whitespace().collect();
            assert_eq!(
                site.args
                    .iter()
                    .map(|a| a.text.as_str())
                    .collect::<Vec<_>>(),
                args,
                "{what}: argument texts"
            );
            for arg in &site.args {
                check_arg(&what, arg);
                texts.insert(arg.text.clone());
            }
        }
        by_name.insert(full, probe);
    }
    (by_name, texts)
}

/// One argument against its own text: size, sign and float from
/// `[-]SIZE[f]@`, the operand from what follows.
fn check_arg(what: &str, arg: &ArgJson) {
    let (size, operand) = arg.text.split_once('@').expect("SIZE@OPERAND");
    let float = size.ends_with('f');
    let size = size.trim_end_matches('f');
    let signed = size.starts_with('-');
    let bytes: u8 = size.trim_start_matches('-').parse().unwrap();
    let what = format!("{what}: {}", arg.text);
    assert_eq!(
        (arg.size, arg.signed, arg.float),
        (bytes, signed, float),
        "{what}"
    );
    let (description, libbpf_reads) = expected_operand(operand);
    assert_eq!(arg.operand, description, "{what}");
    // libbpf 1.7 knows no `f` marker and no symbols in operands.
    assert_eq!(
        arg.libbpf_limitation.is_none(),
        libbpf_reads && !float,
        "{what}: libbpf_limitation {:?}",
        arg.libbpf_limitation
    );
}

/// The sources' facts about each probe: how many sites, and each
/// argument's size, signedness and float.
fn check_facts(probes: &BTreeMap<String, UsdtJson>, facts: &[(&str, usize, Widths)]) {
    assert_eq!(
        probes.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        facts.iter().map(|(name, ..)| *name).collect(),
        "the probes of the source"
    );
    for (name, count, widths) in facts {
        let probe = &probes[*name];
        assert_eq!(probe.sites.len(), *count, "{name}: sites");
        for (n, site) in probe.sites.iter().enumerate() {
            let got: Vec<(u8, bool, bool)> = site
                .args
                .iter()
                .map(|a| (a.size, a.signed, a.float))
                .collect();
            assert_eq!(got, *widths, "{name} site {n}: {}", site.args_spec);
            let guarded = SEMAPHORES.iter().any(|(p, ..)| p == name);
            assert_eq!(site.semaphore != 0, guarded, "{name} site {n}: semaphore");
        }
    }
    // Constants are immediates at any optimisation level.
    let constants = &probes["fixture:constants"].sites[0];
    assert_eq!(constants.args_spec, "-4@$5 -4@$-1 8@$42 -1@$120");
    assert_eq!(
        constants
            .args
            .iter()
            .map(|a| a.operand.as_str())
            .collect::<Vec<_>>(),
        ["constant 5", "constant -1", "constant 42", "constant 120"]
    );
    let nothing = &probes["fixture:nothing"].sites[0];
    assert_eq!(nothing.args_spec, "");
    // One semaphore per probe, shared by its sites.
    let guarded = &probes["fixture:guarded"].sites;
    assert_eq!(guarded[0].semaphore, guarded[1].semaphore);
    assert_ne!(
        guarded[0].semaphore,
        probes["fixture:spare"].sites[0].semaphore
    );
}

/// Every form in `wanted` occurs among `texts`.
fn check_forms(what: &str, texts: &BTreeSet<String>, wanted: &[Form]) {
    let seen: BTreeSet<Form> = texts.iter().flat_map(|t| forms(t)).collect();
    let missing: Vec<&Form> = wanted.iter().filter(|f| !seen.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "{what}: the fixture no longer produces {missing:?}; it produced {texts:?}"
    );
}

/// `show` in text: the site count, and each guarded site's semaphore with
/// the file offset the kernel's ref_ctr_offset takes.
fn check_show_text(binary: &Path, probes: &BTreeMap<String, UsdtJson>) {
    let shown = binary.display();
    for name in ["fixture:guarded", "fixture:many"] {
        let out = probedex(["show", &format!("usdt:{shown}:{name}")]);
        assert_eq!(out.code, 0, "{}", out.describe());
        let sites = &probes[name].sites;
        assert!(
            out.stdout
                .contains(&format!("\n  sites      {}\n", sites.len())),
            "{}",
            out.describe()
        );
        for site in sites {
            let mut lines = vec![format!(
                "address {:#x}, file offset {:#x}",
                site.address,
                site.file_offset.unwrap()
            )];
            if site.semaphore != 0 {
                lines.push(format!(
                    "semaphore {:#x}, file offset {:#x}",
                    site.semaphore,
                    site.semaphore_offset.unwrap()
                ));
            }
            for line in lines {
                assert!(
                    out.stdout.contains(&line),
                    "no {line:?}\n{}",
                    out.describe()
                );
            }
        }
    }
    // Twelve arguments: BPF_USDT takes all of them.
    let out = probedex(["show", &format!("usdt:{shown}:fixture:many")]);
    let handler: Vec<String> = (0..12).map(|n| format!("long arg{n}")).collect();
    assert!(
        out.stdout
            .contains(&format!("BPF_USDT(handler, {})", handler.join(", "))),
        "{}",
        out.describe()
    );
    // A name without its provider finds the probe too.
    let out = probedex(["list", &format!("usdt:{shown}:sites")]);
    assert_eq!(out.stdout, format!("usdt:{shown}:fixture:sites\n"));
}

/// `bpftrace -l PATTERN` lists what probedex lists, when bpftrace runs
/// (it wants root).
fn check_like_bpftrace(pattern: &str) {
    if !have_tools(&["bpftrace"], "compare the fixture listings with bpftrace") {
        return;
    }
    let Some(peer) = common::bpftrace_output(&["-l", pattern]) else {
        return;
    };
    let out = probedex(["list", pattern]);
    assert_eq!(
        out.stdout,
        peer,
        "{}",
        common::first_difference(&peer, &out.stdout)
    );
}

/// Builds usdt_probes.c + usdt_guarded.c with `flags` and checks it.
fn c_fixture(name: &str, flags: &[&str], elf: &str, wanted: &[Form]) -> Option<PathBuf> {
    if !can_build("gcc") {
        return None;
    }
    let dir = build_dir(name);
    let library = flags.contains(&"-shared");
    let binary = dir.join(if library {
        "libusdt_probes.so"
    } else {
        "usdt_probes"
    });
    compile("gcc", &["usdt_probes.c", "usdt_guarded.c"], &binary, flags);
    assert_eq!(elf_type(&binary), elf, "{name}: ELF type");
    if !library {
        runs(&binary);
    }
    let (probes, texts) = check_against_readelf(&binary);
    check_facts(&probes, C_FIXTURE);
    check_forms(name, &texts, wanted);
    check_show_text(&binary, &probes);
    Some(binary)
}

/// What every build of the C fixture produces, whatever the flags.
const ALWAYS: &[Form] = &[
    Form::Constant,
    Form::NegativeConstant,
    Form::Register64,
    Form::Register32,
    Form::Register8,
    Form::Float,
];

#[test]
fn usdt_pie_o0() {
    // -O0: arguments in the frame, `-4@-20(%rbp)`.
    let Some(binary) = c_fixture(
        "pie-O0",
        &["-O0"],
        "DYN",
        &[ALWAYS, &[Form::BaseOffset]].concat(),
    ) else {
        return;
    };
    // `-p PID` on the running program: the same probes, found through its
    // mappings with no file part in the pattern.
    let mut child = Command::new(&binary)
        .args(["1", "wait"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&maps).is_ok_and(|m| m.contains("libc")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the fixture never mapped libc"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let by_file = probedex(["list", &format!("usdt:{}:*", binary.display())]);
    let by_process = probedex(["list", "-p", &child.id().to_string(), "usdt:*"]);
    drop(child.stdin.take());
    child.wait().unwrap();
    assert_eq!(by_process.code, 0, "{}", by_process.describe());
    assert_eq!(by_process.stdout, by_file.stdout);
}

#[test]
fn usdt_pie_o2() {
    let wanted = [
        ALWAYS,
        &[
            Form::Register16,
            Form::BaseOffset,
            Form::RipSymbol,
            Form::RipSymbolOffset,
            Form::Indexed,
        ],
    ]
    .concat();
    let Some(binary) = c_fixture("pie-O2", &["-O2"], "DYN", &wanted) else {
        return;
    };
    check_like_bpftrace(&format!("usdt:{}:*", binary.display()));

    // Stripped of its symbols, the file keeps its notes: the same probes.
    let stripped = binary.with_file_name("usdt_probes.stripped");
    tool("strip", &["-o", text(&stripped), text(&binary)]);
    assert!(nm_symbols(&stripped).is_empty(), "strip left symbols");
    let (probes, _) = check_against_readelf(&stripped);
    check_facts(&probes, C_FIXTURE);
}

/// libbpf's `collect_usdt_targets()` turns a semaphore's address into the
/// kernel's `ref_ctr_offset` through the `PT_LOAD` whose memory
/// (`p_vaddr .. p_vaddr + p_memsz`) holds it: `address - p_vaddr +
/// p_offset`, also for a semaphore in `.bss`, past the segment's bytes in
/// the file. The kernel raises such a counter in a running process (its
/// page is still the file's mapping). probedex once reported null here
/// ("not in a PT_LOAD segment"), mapping addresses through `p_filesz` only.
#[test]
fn bss_semaphore_offset_as_libbpf_computes_it() {
    if !can_build("gcc") {
        return;
    }
    let binary = build_dir("bss-semaphore").join("usdt_probes");
    compile(
        "gcc",
        &["usdt_probes.c", "usdt_guarded.c"],
        &binary,
        &["-O2"],
    );
    let semaphore = nm_symbols(&binary)["fixture_bss_semaphore"];
    let load = readelf_loads(&binary)
        .into_iter()
        .find(|l| (l.vaddr..l.vaddr + l.memsz).contains(&semaphore))
        .expect("a PT_LOAD holds the semaphore");
    assert!(
        semaphore >= load.vaddr + load.filesz,
        "the semaphore is not in the zero-filled part: {load:?}"
    );
    let out = probedex([
        "--json",
        "show",
        &format!("usdt:{}:fixture:bss", binary.display()),
    ]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let probes: Vec<UsdtJson> = json_lines(&out.stdout);
    let site = &probes[0].sites[0];
    assert_eq!(site.semaphore, semaphore);
    assert_eq!(
        site.semaphore_offset,
        Some(semaphore - load.vaddr + load.offset),
        "libbpf's ref_ctr_offset"
    );
}

#[test]
fn usdt_non_pie_o0() {
    c_fixture(
        "nopie-O0",
        &["-O0", "-fno-pie", "-no-pie"],
        "EXEC",
        &[ALWAYS, &[Form::BaseOffset]].concat(),
    );
}

#[test]
fn usdt_non_pie_o2() {
    // Absolute addresses: `table(,%rax,4)` has a symbol and an index but
    // no base register.
    let wanted = [
        ALWAYS,
        &[
            Form::BaseOffset,
            Form::RipSymbol,
            Form::RipSymbolOffset,
            Form::SymbolIndexed,
        ],
    ]
    .concat();
    c_fixture("nopie-O2", &["-O2", "-fno-pie", "-no-pie"], "EXEC", &wanted);
}

#[test]
fn usdt_shared_library_and_prelinked() {
    // -fPIC reaches exported globals through the GOT: `-8@(%rax)`,
    // `-4@12(%rcx)`; the static one stays `hidden_total(%rip)`.
    let wanted = [
        ALWAYS,
        &[
            Form::BaseOnly,
            Form::BaseOffset,
            Form::RipSymbol,
            Form::Indexed,
        ],
    ]
    .concat();
    let Some(library) = c_fixture("shared-O2", &["-O2", "-shared", "-fPIC"], "DYN", &wanted) else {
        return;
    };

    // What prelink did: move every section and symbol by one amount and
    // leave the notes' link-time addresses alone. Each site must come out
    // at its note's location plus the move, at the same file offset as
    // before, and the semaphores where nm now puts them.
    const MOVE: u64 = 0x10_0000;
    let moved = library.with_file_name("libusdt_probes.moved.so");
    tool(
        "objcopy",
        &[
            &format!("--change-addresses={MOVE:#x}"),
            text(&library),
            text(&moved),
        ],
    );
    let notes = readelf_notes(&moved);
    let base = section(&readelf_sections(&moved), ".stapsdt.base").addr;
    assert!(
        notes.iter().all(|n| base == n.base + MOVE),
        "objcopy did not move .stapsdt.base past the notes' base"
    );
    let (moved_probes, _) = check_against_readelf(&moved);
    check_facts(&moved_probes, C_FIXTURE);
    let (probes, _) = check_against_readelf(&library);
    for (name, probe) in &probes {
        for (before, after) in probe.sites.iter().zip(&moved_probes[name].sites) {
            assert_eq!(after.address, before.address + MOVE, "{name}");
            assert_eq!(after.file_offset, before.file_offset, "{name}");
            if before.semaphore != 0 {
                assert_eq!(after.semaphore, before.semaphore + MOVE, "{name}");
                assert_eq!(after.semaphore_offset, before.semaphore_offset, "{name}");
            }
        }
    }
}

/// The mangled names overloads.cpp's comment lists.
const MANGLED: &[&str] = &[
    "_Z3addii",
    "_Z3adddd",
    "_Z3addlll",
    "_ZN2ns5Shape4areaEv",
    "_ZNK2ns5Shape5widthEv",
    "_ZN2ns5ShapeC1Edd",
    "_ZN2ns5ShapeC2Edd",
    "_ZN2ns6Circle4areaEv",
    "_ZN2nsplERKNS_5ShapeES2_",
    "_Z7maximumIiET_S0_S0_",
    "_Z7maximumIdET_S0_S0_",
    "_ZN2ns3BoxIlE3getEv",
    "plain_c_function",
];

#[test]
fn cxx_mangled_uprobes_and_template_usdt() {
    if !can_build("g++") {
        return;
    }
    let dir = build_dir("cxx");
    let binary = dir.join("overloads");
    compile("g++", &["overloads.cpp"], &binary, &["-g", "-O2"]);
    runs(&binary);
    let shown = binary.display().to_string();
    let pattern = format!("uprobe:{shown}:*");

    // `list`: every defined function symbol, once, sorted.
    let functions = readelf_functions(&binary);
    let wanted: Vec<String> = functions
        .keys()
        .map(|name| format!("uprobe:{shown}:{name}"))
        .collect();
    let out = probedex(["list", &pattern]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        wanted,
        "{}",
        out.describe()
    );
    for name in MANGLED {
        assert!(functions.contains_key(*name), "g++ made no {name}");
    }

    // `list --json`: nm's address, readelf's size, the PT_LOAD file offset.
    let symbols = nm_symbols(&binary);
    let loads = readelf_loads(&binary);
    let out = probedex(["--json", "list", &pattern]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let points: Vec<UserFunctionJson> = json_lines(&out.stdout);
    assert_eq!(points.len(), functions.len());
    for point in &points {
        let what = &point.probe;
        assert_eq!(point.probe, format!("uprobe:{shown}:{}", point.name));
        assert_eq!(
            (point.kind.as_str(), point.path.as_str()),
            ("uprobe", shown.as_str())
        );
        assert_eq!(Some(&point.address), symbols.get(&point.name), "{what}: nm");
        assert_eq!(point.size, functions[&point.name].1, "{what}: size");
        assert_eq!(
            point.file_offset,
            file_offset(&loads, point.address),
            "{what}"
        );
        assert!(!point.ifunc, "{what}");
    }

    // Demangled names: c++filt's, for every mangled symbol; none for the
    // `extern "C"` one.
    let mangled: Vec<&str> = points
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| n.starts_with("_Z"))
        .collect();
    let filtered = tool_with_input("c++filt", &mangled.join("\n"));
    for (name, gnu) in mangled.iter().zip(filtered.lines()) {
        let point = points.iter().find(|p| p.name == *name).unwrap();
        assert_eq!(point.demangled.as_deref(), Some(gnu), "{name}");
    }
    for point in points.iter().filter(|p| !p.name.starts_with("_Z")) {
        assert_eq!(point.demangled, None, "{}", point.name);
    }
    // `--demangle` prints them, sorted as printed.
    let out = probedex(["list", "--demangle", &pattern]);
    let mut wanted: Vec<String> = points
        .iter()
        .map(|p| {
            format!(
                "uprobe:{shown}:{}",
                p.demangled.as_deref().unwrap_or(&p.name)
            )
        })
        .collect();
    wanted.sort();
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), wanted);
    // Demangled-form patterns select by the demangled name: whole, or
    // without the parameter list (every overload), with no --demangle.
    let selects = |pattern: &str| -> Vec<String> {
        let out = probedex(["--json", "list", &format!("uprobe:{shown}:{pattern}")]);
        let found: Vec<UserFunctionJson> = json_lines(&out.stdout);
        found.into_iter().map(|p| p.name).collect()
    };
    assert_eq!(selects("add(double, double)"), ["_Z3adddd"]);
    assert_eq!(selects("ns::Shape::area"), ["_ZN2ns5Shape4areaEv"]);
    let every_add: Vec<String> = points
        .iter()
        .filter(|p| {
            p.demangled
                .as_deref()
                .is_some_and(|d| d.starts_with("add("))
        })
        .map(|p| p.name.clone())
        .collect();
    assert!(every_add.len() >= 2, "{every_add:?}");
    assert_eq!(selects("add(*"), every_add);
    // A plain pattern stays a symbol match unless --demangle asks.
    assert!(selects("add").is_empty());

    // `show --json` on one overload: one object, nm's address.
    for name in ["_Z3addii", "_Z3adddd", "_ZN2ns5Shape4areaEv"] {
        let out = probedex(["--json", "show", &format!("uprobe:{shown}:{name}")]);
        assert_eq!(out.code, 0, "{}", out.describe());
        let shown_points: Vec<UserFunctionJson> = json_lines(&out.stdout);
        assert_eq!(shown_points.len(), 1, "{}", out.describe());
        assert_eq!(shown_points[0].name, *name);
        // `show` reads the DWARF: g++ -g describes every overload.
        let signature = shown_points[0]
            .signature
            .as_ref()
            .expect("show has a signature");
        assert_eq!(signature["known"], true, "{name}: {signature}");
        assert_eq!(Some(&shown_points[0].address), symbols.get(name), "{name}");
    }

    // The overloads' DWARF parameters, as the source declares them.
    let out = probedex([
        "list",
        "-v",
        &format!("uprobe:{shown}:_Z3adddd"),
        &format!("uprobe:{shown}:_Z3addlll"),
    ]);
    assert_eq!(
        out.stdout,
        format!(
            "uprobe:{shown}:_Z3adddd\n    double a\n    double b\n\
             uprobe:{shown}:_Z3addlll\n    long int a\n    long int b\n    long int c\n"
        ),
        "{}",
        out.describe()
    );
    check_like_bpftrace(&pattern);

    // overloads:maximum: one probe, a site in each instantiation (COMDAT
    // groups until the link), with int and with double arguments.
    let (probes, _) = check_against_readelf(&binary);
    assert_eq!(probes.keys().collect::<Vec<_>>(), ["overloads:maximum"]);
    let mut kinds: Vec<Vec<(u8, bool, bool)>> = probes["overloads:maximum"]
        .sites
        .iter()
        .map(|site| {
            site.args
                .iter()
                .map(|a| (a.size, a.signed, a.float))
                .collect()
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, [vec![S4, S4, S4], vec![F8, F8, F8]]);
}

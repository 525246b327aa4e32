//! USDT probes as SystemTap's `<sys/sdt.h>` records them: the `.note.stapsdt`
//! descriptor of one call site, and its argument spec (`-4@%edi 8@-80(%rbx)`)
//! parsed into typed operands. Pure: takes the descriptor's bytes or the
//! spec's text, never reads a file; provider, name, argument text and
//! register spellings borrow from the input. Needs no kernel support.
//!
//! `_SDT_ASM_BODY` in sdt.h emits one ELF note per call site, owner
//! `stapsdt`, type 3, whose descriptor is
//!
//! ```text
//! ADDR  location       the nop the probe sits on (link-time address)
//! ADDR  base           link-time address of `.stapsdt.base`
//! ADDR  semaphore      address of the `unsigned short` enable counter, or 0
//! provider\0 name\0 args\0
//! ```
//!
//! with `ADDR` 8 bytes in 64-bit objects and 4 in 32-bit ones, in the
//! object's byte order. `args` is one `[-]SIZE[f]@OPERAND` per argument,
//! separated by spaces: `-` marks a signed value, `SIZE` is its width in
//! bytes, `f` marks a floating-point value (the sdt.h of SystemTap 4.8,
//! Debian 12's, writes it), and `OPERAND` is
//! the operand exactly as the compiler printed it in the inline `asm`
//! (constraint `nor`: a constant, a register or a memory reference). An
//! aarch64 memory operand has a space inside its brackets (`8@[sp, 16]`),
//! so arguments split on spaces outside brackets only.
//!
//! The rules here follow libbpf's `src/usdt.c` (read at v1.7.0-78-gf7081a6),
//! which is what `SEC("usdt/...")` programs run through:
//!
//! - `parse_usdt_note()` rejects a descriptor shorter than three addresses
//!   plus three empty strings, an unterminated provider or name, an empty
//!   name and a missing argument string; an empty provider is accepted, and
//!   an argument string starting with `:` counts as none. Bytes after the
//!   argument string's NUL are ignored. This parser also wants the
//!   argument string's own NUL, and UTF-8 in all three strings.
//! - `collect_usdt_targets()` applies the prelink adjustment only when the
//!   file has `.stapsdt.base` and the note records a base, and adjusts the
//!   location but not the semaphore (see [`adjusted_location`],
//!   [`adjusted_semaphore`]).
//! - `parse_usdt_spec()` takes at most [`LIBBPF_MAX_ARGS`] arguments, and
//!   sizes 1, 2, 4 and 8 only; a size with no `@` is rejected (SystemTap
//!   itself accepts operands without `SIZE@` from hand-written assembly).
//! - `parse_usdt_arg()` knows, on x86-64, `$N`, `%reg`, `N(%reg)`, `(%reg)`
//!   and (since 1.7) `[N](%base,%index[,scale])`, with the register names of
//!   its `calc_pt_regs_off()` table; on aarch64, `N`, `xN`/`sp`, `[reg]` and
//!   `[reg, N]`. Operands outside that set still parse here, since they are
//!   what the compiler emitted and tell a reader where the value lives;
//!   [`UsdtArg::libbpf_limitation`] says which ones libbpf would refuse.
//!   Its `sscanf` patterns also misread some specs this parser reads
//!   correctly: on x86-64, a `(%reg)` or `N(%reg)` argument followed within
//!   15 characters by an indexed one (gcc's `-8@(%rsi) -4@-4(%rdx,%rcx,4)`)
//!   is taken as one bad indexed operand; on aarch64, `[x0, x1]` passes as
//!   `[x0]` with an unset length.

use std::fmt;
use std::num::IntErrorKind;

use super::kallsyms::clip;

/// The note type of a SystemTap probe descriptor (`NT_STAPSDT`).
pub const NOTE_TYPE: u32 = 3;
/// The note owner name of a SystemTap probe descriptor.
pub const NOTE_OWNER: &str = "stapsdt";
/// The section whose address the notes record as `base`.
pub const BASE_SECTION: &str = ".stapsdt.base";
/// `USDT_MAX_ARG_CNT` in libbpf's usdt.c (and `BPF_USDT_MAX_ARG_CNT` in
/// usdt.bpf.h): libbpf refuses to attach to a site with more arguments.
/// sdt.h's macros stop at `STAP_PROBE12`, so only hand-written notes exceed it.
pub const LIBBPF_MAX_ARGS: usize = 12;

/// One `.note.stapsdt` descriptor: one call site of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtNote<'a> {
    /// Link-time address of the probe's nop, before any prelink adjustment
    /// (see [`adjusted_location`]).
    pub location: u64,
    /// Link-time address of `.stapsdt.base` when the note was written; 0 in
    /// an object file or when the assembler had no base.
    pub base: u64,
    /// Address of the probe's semaphore, 0 when it has none.
    pub semaphore: u64,
    /// May be empty (libbpf accepts that).
    pub provider: &'a str,
    /// Never empty.
    pub name: &'a str,
    /// The argument spec, `""` for none; parse it with [`parse_args`].
    pub args: &'a str,
}

/// Parses one stapsdt note descriptor (the note's `desc` bytes, without the
/// note header or owner name). `address_size` is 8 for ELFCLASS64 objects
/// and 4 for ELFCLASS32 ones; `big_endian` is the object's byte order.
pub fn parse_stapsdt(
    desc: &[u8],
    address_size: usize,
    big_endian: bool,
) -> Result<UsdtNote<'_>, UsdtError> {
    if address_size != 4 && address_size != 8 {
        return Err(note_error(format!(
            "address size {address_size} is not 4 (ELFCLASS32) or 8 (ELFCLASS64)"
        )));
    }
    let minimum = 3 * address_size + 3;
    if desc.len() < minimum {
        return Err(note_error(format!(
            "descriptor is {} bytes, shorter than the {minimum} of three \
             {address_size}-byte addresses and three NUL-terminated strings",
            desc.len()
        )));
    }
    let (addresses, strings) = desc.split_at(3 * address_size);
    let address = |index: usize| {
        let bytes = &addresses[index * address_size..(index + 1) * address_size];
        bytes.iter().enumerate().fold(0u64, |value, (i, &byte)| {
            let shift = if big_endian { address_size - 1 - i } else { i };
            value | u64::from(byte) << (8 * shift)
        })
    };
    let (provider, rest) = c_string(strings, "provider")?;
    if rest.is_empty() {
        return Err(note_error("no probe name after the provider".to_string()));
    }
    let (name, rest) = c_string(rest, "probe name")?;
    if name.is_empty() {
        return Err(note_error(format!(
            "empty probe name (provider '{}')",
            clip(provider)
        )));
    }
    if rest.is_empty() {
        return Err(note_error(format!(
            "no argument string after the probe name '{}'",
            clip(name)
        )));
    }
    let (args, _trailing) = c_string(rest, "argument string")?;
    // parse_usdt_note() does the same; sdt.h never writes one.
    let args = if args.starts_with(':') { "" } else { args };
    Ok(UsdtNote {
        location: address(0),
        base: address(1),
        semaphore: address(2),
        provider,
        name,
        args,
    })
}

/// The NUL-terminated UTF-8 string at the start of `bytes`, and what follows
/// its NUL.
fn c_string<'a>(bytes: &'a [u8], what: &str) -> Result<(&'a str, &'a [u8]), UsdtError> {
    let Some(end) = bytes.iter().position(|&b| b == 0) else {
        return Err(note_error(format!(
            "{what} is not NUL-terminated: the descriptor ends inside it"
        )));
    };
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| {
        note_error(format!(
            "{what} is not UTF-8: '{}'",
            clip(&String::from_utf8_lossy(&bytes[..end]))
        ))
    })?;
    Ok((text, &bytes[end + 1..]))
}

/// Where the probe's nop is in the file as it is now: `location` moved by
/// however far `.stapsdt.base` moved since the note was written (prelink
/// relocates sections but not notes). `actual_stapsdt_base` is the address
/// of the file's `.stapsdt.base` section, `None` when it has none.
///
/// As libbpf's `collect_usdt_targets()`: nothing moves unless both the
/// section and the note's `base` are non-zero (libbpf before 1.6 also
/// adjusted notes that record no base, by the whole section address).
/// Arithmetic wraps, as libbpf's `long` does, so a hostile note cannot panic.
pub fn adjusted_location(note: &UsdtNote<'_>, actual_stapsdt_base: Option<u64>) -> u64 {
    note.location
        .wrapping_add(prelink_shift(note, actual_stapsdt_base))
}

/// The semaphore's address moved by the same prelink shift as
/// [`adjusted_location`], as SystemTap's `sdt_query` does; 0 (no semaphore)
/// stays 0. libbpf's `collect_usdt_targets()` does not adjust the semaphore:
/// it looks the note's value up in the program headers as it is. The two
/// agree whenever the file was not prelinked (the shift is 0), which is
/// every file since prelink was retired.
pub fn adjusted_semaphore(note: &UsdtNote<'_>, actual_stapsdt_base: Option<u64>) -> u64 {
    if note.semaphore == 0 {
        return 0;
    }
    note.semaphore
        .wrapping_add(prelink_shift(note, actual_stapsdt_base))
}

fn prelink_shift(note: &UsdtNote<'_>, actual_stapsdt_base: Option<u64>) -> u64 {
    match actual_stapsdt_base {
        Some(actual) if actual != 0 && note.base != 0 => actual.wrapping_sub(note.base),
        _ => 0,
    }
}

/// The instruction set an argument spec is written for: the operand syntax
/// and register names differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// AT&T syntax: `%rdi`, `-80(%rbx)`, `$5`.
    X86_64,
    /// `x0`, `[sp, 16]`, `5`.
    Aarch64,
}

impl Arch {
    /// The architecture of an ELF `e_machine` (`EM_X86_64` 62,
    /// `EM_AARCH64` 183); `None` for any other.
    pub fn from_elf_machine(machine: u16) -> Option<Arch> {
        match machine {
            62 => Some(Arch::X86_64),
            183 => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

/// One argument of a spec: `-4@%edi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArg<'a> {
    /// The argument as written, `-4@%edi`.
    pub text: &'a str,
    /// Bytes of the value: 1, 2, 4 or 8. When the operand names a register
    /// of another width, this size is what counts (sdt.h, after gdb PR24541).
    pub size: u8,
    /// A `-` before the size: the value is signed, sign-extend it.
    pub signed: bool,
    /// An `f` after the size: the value is a `float`/`double` (its bits,
    /// wherever the compiler put them). The sdt.h of SystemTap 4.8 writes
    /// the marker; libbpf does not know it.
    pub float: bool,
    pub operand: Operand<'a>,
}

impl UsdtArg<'_> {
    /// Why libbpf 1.7's `parse_usdt_arg()` would not attach to a site with
    /// this argument, or `None` when it reads it (libbpf before 1.7 also
    /// refuses indexed x86-64 operands). bpftrace and bcc have parsers of
    /// their own, with other gaps.
    pub fn libbpf_limitation(&self, arch: Arch) -> Option<&'static str> {
        if self.float {
            return Some("libbpf does not accept the floating-point 'f' size suffix");
        }
        match (arch, &self.operand) {
            (_, Operand::Constant(_)) | (Arch::X86_64, Operand::Register(_)) => None,
            (Arch::Aarch64, Operand::Register(register)) if register.width != 8 => {
                Some("libbpf knows only x0-x30 and sp, not 32-bit w registers")
            }
            (Arch::Aarch64, Operand::Register(_)) => None,
            (
                Arch::X86_64,
                Operand::Memory {
                    symbol: Some(_), ..
                },
            ) => Some("libbpf does not resolve symbols in arguments"),
            (Arch::X86_64, Operand::Memory { base: None, .. }) => {
                Some("libbpf needs a base register in a memory operand")
            }
            (Arch::Aarch64, Operand::Memory { index: Some(_), .. }) => {
                Some("libbpf reads only [reg] and [reg, offset] memory operands")
            }
            (_, Operand::Memory { .. }) => None,
        }
    }
}

/// Where an argument's value is at the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand<'a> {
    /// The value itself (`$5`, `5`).
    Constant(i64),
    /// In a register.
    Register(Register<'a>),
    /// In memory at `symbol + base + index * scale + offset`. A base of
    /// `rip` with a symbol is the usual rip-relative global: `symbol+8(%rip)`
    /// means the address of `symbol` plus 8, not `rip` plus anything.
    Memory {
        base: Option<Register<'a>>,
        offset: i64,
        index: Option<Register<'a>>,
        /// 1, 2, 4 or 8; 1 without an index.
        scale: u8,
        symbol: Option<&'a str>,
    },
}

impl Operand<'_> {
    fn is_rip_relative_symbol(&self) -> bool {
        matches!(
            self,
            Operand::Memory {
                base: Some(base),
                symbol: Some(_),
                ..
            } if base.full == "rip"
        )
    }

    /// "register rdi", "memory at rbx-80", "constant 5": the description
    /// without its parenthesised notes.
    fn write_location(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Constant(value) => write!(f, "constant {value}"),
            Operand::Register(register) => write!(f, "register {}", register.full),
            Operand::Memory {
                base,
                offset,
                index,
                scale,
                symbol,
            } => {
                f.write_str("memory at ")?;
                let mut empty = true;
                if let Some(symbol) = symbol {
                    f.write_str(symbol)?;
                    empty = false;
                }
                if let Some(base) = base.filter(|_| !self.is_rip_relative_symbol()) {
                    if !empty {
                        f.write_str("+")?;
                    }
                    f.write_str(base.spelling)?;
                    empty = false;
                }
                if let Some(index) = index {
                    if !empty {
                        f.write_str("+")?;
                    }
                    f.write_str(index.spelling)?;
                    if *scale != 1 {
                        write!(f, "*{scale}")?;
                    }
                    empty = false;
                }
                match (*offset, empty) {
                    (0, false) => Ok(()),
                    (offset, true) => write!(f, "{offset}"),
                    (offset, false) if offset < 0 => write!(f, "-{}", offset.unsigned_abs()),
                    (offset, false) => write!(f, "+{offset}"),
                }
            }
        }
    }

    /// What goes in parentheses after the location: the register's own
    /// spelling when it is not the full register, or "rip-relative".
    fn note(&self) -> Option<&str> {
        match self {
            Operand::Register(register) if register.spelling != register.full => {
                Some(register.spelling)
            }
            _ if self.is_rip_relative_symbol() => Some("rip-relative"),
            _ => None,
        }
    }
}

/// "register rdi (edi)", "memory at rbx-80", "constant 5",
/// "memory at global_pair+8 (rip-relative)".
impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_location(f)?;
        match self.note() {
            Some(note) => write!(f, " ({note})"),
            None => Ok(()),
        }
    }
}

/// "register rdi (edi, 4 bytes, signed)", "memory at rbx-80 (8 bytes,
/// unsigned)", "memory at global_int (rip-relative, 4 bytes, signed)".
impl fmt::Display for UsdtArg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.operand.write_location(f)?;
        f.write_str(" (")?;
        if let Some(note) = self.operand.note() {
            write!(f, "{note}, ")?;
        }
        let unit = if self.size == 1 { "byte" } else { "bytes" };
        let kind = match (self.float, self.signed) {
            (true, _) => "floating point",
            (false, true) => "signed",
            (false, false) => "unsigned",
        };
        write!(f, "{} {unit}, {kind})", self.size)
    }
}

/// A register as the spec names it, and the 64-bit register it is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register<'a> {
    /// As written, without AT&T's `%`: `edi`, `r8d`, `al`, `w0`, `sp`.
    pub spelling: &'a str,
    /// The full register: `rdi`, `r8`, `rax`, `x0`, `sp`. On x86-64 this
    /// is the name libbpf's `calc_pt_regs_off()` maps the spelling to.
    pub full: &'static str,
    /// Bytes the spelling names: 8, 4, 2 or 1.
    pub width: u8,
}

/// Parses an argument spec such as `8@%rdx 8@-80(%rbx)` (a note's `args`)
/// into its arguments, in order. An empty or all-blank spec has none. More
/// than [`LIBBPF_MAX_ARGS`] arguments parse; the caller decides whether to
/// warn. The first malformed argument fails the whole spec, as in libbpf.
pub fn parse_args(spec: &str, arch: Arch) -> Result<Vec<UsdtArg<'_>>, UsdtError> {
    split_args(spec)
        .enumerate()
        .map(|(index, text)| {
            parse_arg(text, arch).map_err(|reason| UsdtError::Arg {
                number: index + 1,
                text: clip(text),
                reason,
            })
        })
        .collect()
}

/// The arguments of a spec: runs of non-blank text, where blanks inside
/// `[...]` or `(...)` do not split (aarch64's `8@[sp, 16]`).
fn split_args(spec: &str) -> impl Iterator<Item = &str> {
    let bytes = spec.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos == bytes.len() {
            return None;
        }
        let start = pos;
        let mut depth = 0usize;
        while pos < bytes.len() {
            match bytes[pos] {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                byte if byte.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            pos += 1;
        }
        // Both ends sit next to ASCII bytes or the ends of the text.
        Some(&spec[start..pos])
    })
}

fn parse_arg(text: &str, arch: Arch) -> Result<UsdtArg<'_>, String> {
    let Some((size_text, operand_text)) = text.split_once('@') else {
        return Err(format!(
            "no SIZE@ before the operand (libbpf needs one, as in '8@{}')",
            clip(text)
        ));
    };
    let (size_text, float) = match size_text.strip_suffix('f') {
        Some(size) => (size, true),
        None => (size_text, false),
    };
    let size: i64 = size_text
        .parse()
        .map_err(|_| format!("size '{}' is not a number", clip(size_text)))?;
    let signed = size < 0;
    let size = match size.unsigned_abs() {
        bytes @ (1 | 2 | 4 | 8) => bytes as u8,
        bytes => return Err(format!("size {bytes} is not 1, 2, 4 or 8 bytes")),
    };
    if operand_text.is_empty() {
        return Err("nothing after the '@'".to_string());
    }
    let operand = match arch {
        Arch::X86_64 => x86_64_operand(operand_text)?,
        Arch::Aarch64 => aarch64_operand(operand_text)?,
    };
    Ok(UsdtArg {
        text,
        size,
        signed,
        float,
        operand,
    })
}

/// A signed decimal number, as libbpf's `%ld` reads them.
fn number(text: &str) -> Result<i64, String> {
    text.parse().map_err(|err: std::num::ParseIntError| {
        if matches!(
            err.kind(),
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow
        ) {
            format!("'{}' does not fit in 64 bits", clip(text))
        } else {
            format!("'{}' is not a decimal number", clip(text))
        }
    })
}

/// x86-64 general registers as libbpf's `calc_pt_regs_off()` lists them:
/// the 64-, 32-, 16- and 8-bit names of each, "" where there is none. The
/// high-byte registers (`%ah`) are not there: a value in them does not start
/// at bit 0, so reading the full register and truncating would be wrong.
const X86_64_REGISTERS: [[&str; 4]; 17] = [
    ["rip", "eip", "", ""],
    ["rax", "eax", "ax", "al"],
    ["rbx", "ebx", "bx", "bl"],
    ["rcx", "ecx", "cx", "cl"],
    ["rdx", "edx", "dx", "dl"],
    ["rsi", "esi", "si", "sil"],
    ["rdi", "edi", "di", "dil"],
    ["rbp", "ebp", "bp", "bpl"],
    ["rsp", "esp", "sp", "spl"],
    ["r8", "r8d", "r8w", "r8b"],
    ["r9", "r9d", "r9w", "r9b"],
    ["r10", "r10d", "r10w", "r10b"],
    ["r11", "r11d", "r11w", "r11b"],
    ["r12", "r12d", "r12w", "r12b"],
    ["r13", "r13d", "r13w", "r13b"],
    ["r14", "r14d", "r14w", "r14b"],
    ["r15", "r15d", "r15w", "r15b"],
];

const WIDTHS: [u8; 4] = [8, 4, 2, 1];

/// `%NAME` (with the `%`).
fn x86_64_register(text: &str) -> Result<Register<'_>, String> {
    let Some(spelling) = text.strip_prefix('%') else {
        return Err(format!("expected a %register, found '{}'", clip(text)));
    };
    X86_64_REGISTERS
        .iter()
        .find_map(|names| {
            let column = names
                .iter()
                .position(|name| !name.is_empty() && *name == spelling)?;
            Some(Register {
                spelling,
                full: names[0],
                width: WIDTHS[column],
            })
        })
        .ok_or_else(|| format!("unknown x86-64 register '{}'", clip(text)))
}

fn x86_64_operand(text: &str) -> Result<Operand<'_>, String> {
    if let Some(value) = text.strip_prefix('$') {
        if value.starts_with(is_symbol_start) {
            return Err(format!(
                "constant '{}' is a symbol's address, not a number",
                clip(text)
            ));
        }
        return number(value).map(Operand::Constant);
    }
    if text.starts_with('%') {
        return x86_64_register(text).map(Operand::Register);
    }
    // [DISPLACEMENT][(BASE[,INDEX[,SCALE]])]
    let (displacement, registers) = match text.find('(') {
        None => (text, None),
        Some(open) => {
            let Some(inner) = text[open + 1..].strip_suffix(')') else {
                return Err(format!(
                    "memory operand '{}' does not end with ')'",
                    clip(text)
                ));
            };
            (&text[..open], Some(inner))
        }
    };
    let (symbol, offset) = displacement_terms(displacement)?;
    let (mut base, mut index, mut scale) = (None, None, 1u8);
    if let Some(inner) = registers {
        let parts: Vec<&str> = inner.split(',').map(str::trim_ascii).collect();
        if parts.len() > 3 || parts.iter().any(|part| part.contains(['(', ')'])) {
            return Err(format!(
                "expected (BASE), (BASE,INDEX) or (BASE,INDEX,SCALE), found '({}'",
                clip(inner)
            ));
        }
        if !parts[0].is_empty() {
            base = Some(address_register(parts[0])?);
        } else if parts.len() == 1 {
            return Err("empty '()' in a memory operand".to_string());
        }
        if let Some(&part) = parts.get(1) {
            let register = address_register(part)?;
            if register.full == "rip" || register.full == "rsp" {
                return Err(format!(
                    "%{} cannot be an index register",
                    register.spelling
                ));
            }
            index = Some(register);
        }
        if let Some(&part) = parts.get(2) {
            scale = match part {
                "1" => 1,
                "2" => 2,
                "4" => 4,
                "8" => 8,
                _ => return Err(format!("scale '{}' is not 1, 2, 4 or 8", clip(part))),
            };
        }
    } else if displacement.is_empty() {
        return Err("empty operand".to_string());
    }
    Ok(Operand::Memory {
        base,
        offset,
        index,
        scale,
        symbol,
    })
}

/// A register that can form an address: 64-bit, or 32-bit with the
/// address-size prefix.
fn address_register(text: &str) -> Result<Register<'_>, String> {
    let register = x86_64_register(text)?;
    if register.width < 4 {
        return Err(format!(
            "%{} is too narrow to address memory",
            register.spelling
        ));
    }
    Ok(register)
}

fn is_symbol_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

fn is_symbol_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')
}

/// A displacement: numbers and at most one symbol joined by `+`/`-`, as
/// GCC prints them: `-80`, `global_pair`, `global_pair+8` (non-PIC), and
/// `8+global_pair` (PIC, number first). The empty text is offset 0.
fn displacement_terms(text: &str) -> Result<(Option<&str>, i64), String> {
    let mut symbol = None;
    let mut offset = 0i64;
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() {
        let negative = match rest.as_bytes()[0] {
            b'+' => false,
            b'-' => true,
            _ if first => false,
            _ => {
                return Err(format!(
                    "expected '+' or '-' before '{}' in displacement '{}'",
                    clip(rest),
                    clip(text)
                ))
            }
        };
        if rest.starts_with(['+', '-']) {
            rest = &rest[1..];
        }
        first = false;
        let end = rest
            .find(|c: char| !is_symbol_char(c))
            .unwrap_or(rest.len());
        let term = &rest[..end];
        rest = &rest[end..];
        if term.starts_with(|c: char| c.is_ascii_digit()) {
            let value = number(term)?;
            let value = if negative {
                value.checked_neg()
            } else {
                Some(value)
            };
            offset = value
                .and_then(|value| offset.checked_add(value))
                .ok_or_else(|| format!("displacement '{}' does not fit in 64 bits", clip(text)))?;
        } else if term.starts_with(is_symbol_start) {
            if negative || symbol.is_some() {
                return Err(format!(
                    "displacement '{}' is not one symbol plus or minus numbers",
                    clip(text)
                ));
            }
            symbol = Some(term);
        } else {
            return Err(format!(
                "unexpected '{}' in displacement '{}'",
                clip(if term.is_empty() { rest } else { term }),
                clip(text)
            ));
        }
    }
    Ok((symbol, offset))
}

/// `x0`..`x30`, for [`Register::full`].
const AARCH64_X: [&str; 31] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28", "x29", "x30",
];

fn aarch64_register(text: &str) -> Result<Register<'_>, String> {
    if text == "sp" {
        return Ok(Register {
            spelling: text,
            full: "sp",
            width: 8,
        });
    }
    let register_number = |digits: &str| -> Option<usize> {
        let canonical = digits == "0" || !digits.starts_with('0');
        let n: usize = digits.parse().ok().filter(|_| canonical)?;
        (n <= 30 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(n)
    };
    let (width, digits) = match text.as_bytes().first() {
        Some(b'x') => (8, &text[1..]),
        Some(b'w') => (4, &text[1..]),
        Some(b'v' | b'q' | b'd' | b's' | b'h' | b'b')
            if text.len() > 1 && text[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            return Err(format!(
                "'{}' is a SIMD/floating-point register; only x0-x30, w0-w30 and sp \
                 can be read",
                clip(text)
            ))
        }
        _ => return Err(format!("unknown aarch64 register '{}'", clip(text))),
    };
    match register_number(digits) {
        Some(n) => Ok(Register {
            spelling: text,
            full: AARCH64_X[n],
            width,
        }),
        None => Err(format!("unknown aarch64 register '{}'", clip(text))),
    }
}

fn aarch64_operand(text: &str) -> Result<Operand<'_>, String> {
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return number(text).map(Operand::Constant);
    }
    let Some(inner) = text.strip_prefix('[') else {
        return aarch64_register(text).map(Operand::Register);
    };
    let Some(inner) = inner.strip_suffix(']') else {
        return Err(format!(
            "memory operand '{}' does not end with ']'",
            clip(text)
        ));
    };
    let parts: Vec<&str> = inner.split(',').map(str::trim_ascii).collect();
    let base = aarch64_register(parts[0])?;
    if base.width != 8 {
        return Err(format!("{} cannot be a base register", base.spelling));
    }
    let (mut offset, mut index, mut scale) = (0, None, 1u8);
    match parts[1..] {
        [] => {}
        [second] if second.starts_with('#') => {
            return Err(format!(
                "offset '{}' is an assembler expression (relocation), not a number",
                clip(second)
            ))
        }
        [second] if second.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
            offset = number(second)?;
        }
        [second, ..] => {
            let register = aarch64_register(second)?;
            if register.width != 8 || register.full == "sp" {
                return Err(format!("{} cannot be an index register", register.spelling));
            }
            index = Some(register);
            if let Some(&shift) = parts.get(2) {
                scale = match shift.strip_prefix("lsl").map(str::trim_ascii) {
                    Some("0") => 1,
                    Some("1") => 2,
                    Some("2") => 4,
                    Some("3") => 8,
                    _ => {
                        return Err(format!(
                            "index shift '{}' is not 'lsl 0' to 'lsl 3'",
                            clip(shift)
                        ))
                    }
                };
            }
            if parts.len() > 3 {
                return Err(format!("too many parts in '{}'", clip(text)));
            }
        }
    }
    Ok(Operand::Memory {
        base: Some(base),
        offset,
        index,
        scale,
        symbol: None,
    })
}

/// A malformed note descriptor or argument spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsdtError {
    /// The `.note.stapsdt` descriptor is not what sdt.h writes.
    Note { reason: String },
    /// Argument `number` (counting from 1) of a spec; `text` as written,
    /// clipped for display.
    Arg {
        number: usize,
        text: String,
        reason: String,
    },
}

fn note_error(reason: String) -> UsdtError {
    UsdtError::Note { reason }
}

impl fmt::Display for UsdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsdtError::Note { reason } => write!(f, "stapsdt note: {reason}"),
            UsdtError::Arg {
                number,
                text,
                reason,
            } => write!(f, "argument {number} '{text}': {reason}"),
        }
    }
}

impl std::error::Error for UsdtError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mutate::mutations;

    // The first `.note.stapsdt` descriptor of Debian 12's libstdc++.so.6.0.30
    // (libstdc++6 12.2.0-14+deb12u1, x86_64), taken with `objcopy
    // --dump-section .note.stapsdt=...` and cut at n_descsz (0x3b). readelf -n:
    //   Provider: libstdcxx  Name: catch
    //   Location: 0x00000000000a7f05, Base: 0x00000000001c5973, Semaphore: 0x0000000000000000
    //   Arguments: 8@%rdx 8@-80(%rbx)
    // `readelf -S` puts its .stapsdt.base at 0x1c5973, the same as the note.
    const LIBSTDCXX_CATCH: &[u8] =
        b"\x05\x7f\x0a\x00\x00\x00\x00\x00\x73\x59\x1c\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00libstdcxx\0catch\08@%rdx 8@-80(%rbx)\0";

    // The other two notes of that libstdc++, from `readelf -n`.
    const LIBSTDCXX_THROW: &str = "8@%rdi 8@%rsi";
    const LIBSTDCXX_RETHROW: &str = "8@%rdx 8@%rax";

    // gcc 12.2 -O2 -fPIE -pie on Debian 12 x86_64, sdt.h from
    // systemtap-sdt-dev 4.8-2, a probe guarded by a semaphore:
    //   #define _SDT_HAS_SEMAPHORES 1
    //   unsigned short probedex_sema_semaphore __attribute__((section(".probes")));
    //   if (__builtin_expect(probedex_sema_semaphore, 0)) DTRACE_PROBE1(probedex, sema, v);
    // readelf -n: Location 0x12a0, Base 0x2040, Semaphore 0x4030, Arguments -8@%rdi;
    // .stapsdt.base is at 0x2040, .probes at 0x4030.
    const GCC_SEMAPHORE: &[u8] =
        b"\xa0\x12\x00\x00\x00\x00\x00\x00\x40\x20\x00\x00\x00\x00\x00\x00\
\x30\x40\x00\x00\x00\x00\x00\x00probedex\0sema\0-8@%rdi\0";

    // The same source built by clang 14 -O2 -fPIC --target=... -c and
    // linked by ld.lld 14 -shared, one note each (readelf -x .note.stapsdt):
    // i386 (ELFCLASS32, little endian): Location 0x11f2, Base 0x1cc, Semaphore 0x324c.
    const CLANG_I386: &[u8] =
        b"\xf2\x11\x00\x00\xcc\x01\x00\x00\x4c\x32\x00\x00probedex\0sema\0-4@(%esp)\0";
    // mips (ELFCLASS32, big endian): Location 0x1026c, Base 0x23e, Semaphore 0x20278.
    const CLANG_MIPS: &[u8] =
        b"\x00\x01\x02\x6c\x00\x00\x02\x3e\x00\x02\x02\x78probedex\0sema\0-4@4($sp)\0";
    // aarch64_be (ELFCLASS64, big endian): Location 0x102f8, Base 0x2c8, Semaphore 0x303b0.
    const CLANG_AARCH64_BE: &[u8] =
        b"\x00\x00\x00\x00\x00\x01\x02\xf8\x00\x00\x00\x00\x00\x00\x02\xc8\
\x00\x00\x00\x00\x00\x03\x03\xb0probedex\0sema\0-8@[x9]\0";

    // Argument specs gcc 12.2 (Debian 12, x86_64, sdt.h 4.8) wrote for
    // DTRACE_PROBEn calls, from `readelf -n` on the binaries. -O2 -fPIE:
    //   DTRACE_PROBE2(p, indexed, base[i], ints[j - 1])     long *base, int *ints
    const GCC_INDEXED: &str = "-8@(%rsi) -4@-4(%rdx,%rcx,4)";
    //   DTRACE_PROBE3(p, globals, global_pair.b, global_int, global_pair.a)
    const GCC_GLOBALS_PIE: &str = "-8@8+global_pair(%rip) -4@global_int(%rip) -8@global_pair(%rip)";
    //   DTRACE_PROBE3(p, constants, 5, -1, (char)-3)
    const GCC_CONSTANTS: &str = "-4@$5 -4@$-1 -1@$-3";
    //   DTRACE_PROBE5(p, widths, c, s, i, l, uc)    char, short, int, long, unsigned char
    const GCC_WIDTHS: &str = "-1@%dil -2@%si -4@%edx -8@%rcx 1@%r8b";
    //   DTRACE_PROBE8(p, stack, x[0], x[3], g, h, a + e, b * f, c, d)   spilled arguments
    const GCC_STACK: &str =
        "-8@-40(%rsp) -8@-16(%rsp) -8@8(%rsp) -8@16(%rsp) -8@%rax -8@%rsi -8@%rdx -8@%rcx";
    //   STAP_PROBE12(p, twelve, a, b, c, d, e, f, a, b, c, d, e, f)
    const GCC_TWELVE: &str = "-8@%rdi -8@%rsi -8@%rdx -8@%rcx -8@%r8 -8@%r9 \
                              -8@%rdi -8@%rsi -8@%rdx -8@%rcx -8@%r8 -8@%r9";
    //   DTRACE_PROBE1(p, table, table[i])    long table[16], a global
    const GCC_TABLE_PIE: &str = "-8@(%rax,%rdi,8)";
    // The same with -O2 -fno-pie -no-pie:
    const GCC_GLOBALS_NO_PIE: &str =
        "-8@global_pair+8(%rip) -4@global_int(%rip) -8@global_pair(%rip)";
    const GCC_TABLE_NO_PIE: &str = "-8@table(,%rdi,8)";
    // -O0, the widths probe:
    const GCC_WIDTHS_O0: &str = "-1@-4(%rbp) -2@-8(%rbp) -4@-12(%rbp) -8@-24(%rbp) 1@-16(%rbp)";
    // -O2, DTRACE_PROBE3(p, floats, d, f, l) with double d, float f, long l,
    // and DTRACE_PROBE1(p, fglobal, gd) with a global double: sdt.h 4.8
    // marks floating-point values with 'f' after the size.
    const GCC_FLOATS: &str = "8f@%rdx 4f@%eax -8@%rdi";
    const GCC_FLOAT_GLOBAL: &str = "8f@gd(%rip)";

    // aarch64 specs seen in the wild:
    // readelf -n of a C++ .so on aarch64, in bcc issue #3649:
    const AARCH64_BCC_3649: &str = "8@x25 -4@[x22] 8@x3 2@[x22, 20] -4@[sp, 128] 2@[sp, 132]";
    // an OpenJDK probe on aarch64, in bcc pull request #2790:
    const AARCH64_OPENJDK: &str = "8@x22 8@x20 8@x23 8@x0 8@x26 8@x27 8@[sp, 112] 8@[sp, 120]";
    // readelf -n of an arm64 ELF in Leo Yan's perf patch "perf probe: Fixup
    // Arm64 SDT arguments" (linux-kernel, December 2020):
    const AARCH64_PERF: &str = "-4@[sp, 12] -4@[sp, 8] -4@[sp, 4]";
    // clang 14 -O2 --target=aarch64-linux-gnu on this machine (the indexed and
    // constants probes above): clang puts "nor" operands in memory.
    const AARCH64_CLANG_INDEXED: &str = "-8@[x13] -4@[x12]";
    const AARCH64_CLANG_CONSTANTS: &str = "-4@5 -4@-1 1@-3";
    // bpftrace's usdt_args test built by gcc on aarch64, in bcc pull
    // request #3991 (base plus index register):
    const AARCH64_INDEX: &str = "-1@[x0, x1]";

    fn x86(spec: &str) -> Vec<UsdtArg<'_>> {
        parse_args(spec, Arch::X86_64).unwrap()
    }

    fn aarch64(spec: &str) -> Vec<UsdtArg<'_>> {
        parse_args(spec, Arch::Aarch64).unwrap()
    }

    fn described(args: &[UsdtArg<'_>]) -> Vec<String> {
        args.iter().map(ToString::to_string).collect()
    }

    fn reg(spelling: &'static str, full: &'static str, width: u8) -> Register<'static> {
        Register {
            spelling,
            full,
            width,
        }
    }

    fn note_reason(result: Result<UsdtNote<'_>, UsdtError>) -> String {
        match result {
            Err(UsdtError::Note { reason }) => reason,
            other => panic!("expected a note error, got {other:?}"),
        }
    }

    fn arg_error(spec: &str, arch: Arch) -> (usize, String, String) {
        match parse_args(spec, arch) {
            Err(UsdtError::Arg {
                number,
                text,
                reason,
            }) => (number, text, reason),
            other => panic!("expected an argument error for {spec:?}, got {other:?}"),
        }
    }

    #[test]
    fn libstdcxx_catch_note() {
        let note = parse_stapsdt(LIBSTDCXX_CATCH, 8, false).unwrap();
        assert_eq!(
            note,
            UsdtNote {
                location: 0xa7f05,
                base: 0x1c5973,
                semaphore: 0,
                provider: "libstdcxx",
                name: "catch",
                args: "8@%rdx 8@-80(%rbx)",
            }
        );
        // Not prelinked: the section is where the note says.
        assert_eq!(adjusted_location(&note, Some(0x1c5973)), 0xa7f05);
        assert_eq!(adjusted_semaphore(&note, Some(0x1c5973)), 0);
        let args = x86(note.args);
        assert_eq!(args.len(), 2);
        assert_eq!(
            args[0],
            UsdtArg {
                text: "8@%rdx",
                size: 8,
                signed: false,
                float: false,
                operand: Operand::Register(reg("rdx", "rdx", 8)),
            }
        );
        assert_eq!(
            args[1].operand,
            Operand::Memory {
                base: Some(reg("rbx", "rbx", 8)),
                offset: -80,
                index: None,
                scale: 1,
                symbol: None,
            }
        );
        assert_eq!(
            described(&args),
            [
                "register rdx (8 bytes, unsigned)",
                "memory at rbx-80 (8 bytes, unsigned)"
            ]
        );
        assert_eq!(args[1].operand.to_string(), "memory at rbx-80");
        assert!(args
            .iter()
            .all(|a| a.libbpf_limitation(Arch::X86_64).is_none()));
    }

    #[test]
    fn libstdcxx_throw_and_rethrow() {
        let throw = x86(LIBSTDCXX_THROW);
        assert_eq!(
            described(&throw),
            [
                "register rdi (8 bytes, unsigned)",
                "register rsi (8 bytes, unsigned)"
            ]
        );
        let rethrow = x86(LIBSTDCXX_RETHROW);
        assert_eq!(rethrow[1].operand, Operand::Register(reg("rax", "rax", 8)));
        assert_eq!(rethrow[1].text, "8@%rax");
    }

    #[test]
    fn semaphore_note_and_prelink_adjustment() {
        let note = parse_stapsdt(GCC_SEMAPHORE, 8, false).unwrap();
        assert_eq!(
            (note.location, note.base, note.semaphore),
            (0x12a0, 0x2040, 0x4030)
        );
        assert_eq!(
            (note.provider, note.name, note.args),
            ("probedex", "sema", "-8@%rdi")
        );
        // No .stapsdt.base section, or one where the note says: nothing moves.
        assert_eq!(adjusted_location(&note, None), 0x12a0);
        assert_eq!(adjusted_location(&note, Some(0x2040)), 0x12a0);
        assert_eq!(adjusted_semaphore(&note, None), 0x4030);
        // Prelinked 0x10000 higher: the section header moved, the note did not.
        assert_eq!(adjusted_location(&note, Some(0x12040)), 0x112a0);
        assert_eq!(adjusted_semaphore(&note, Some(0x12040)), 0x14030);
        // ... or lower.
        assert_eq!(adjusted_location(&note, Some(0x1040)), 0x2a0);
        // A section at 0 is treated as absent, as libbpf does.
        assert_eq!(adjusted_location(&note, Some(0)), 0x12a0);
        // A note that records no base is never moved (libbpf 69d85c5f).
        let unbased = UsdtNote { base: 0, ..note };
        assert_eq!(adjusted_location(&unbased, Some(0x2040)), 0x12a0);
        // No semaphore stays no semaphore.
        let catch = parse_stapsdt(LIBSTDCXX_CATCH, 8, false).unwrap();
        assert_eq!(adjusted_semaphore(&catch, Some(0x2c5973)), 0);
        assert_eq!(adjusted_location(&catch, Some(0x2c5973)), 0x1a7f05);
        // Hostile values wrap instead of overflowing.
        let hostile = UsdtNote {
            location: u64::MAX,
            base: 1,
            semaphore: u64::MAX,
            ..note
        };
        assert_eq!(adjusted_location(&hostile, Some(u64::MAX)), u64::MAX - 2);
        let _ = adjusted_semaphore(&hostile, Some(u64::MAX));
    }

    #[test]
    fn thirty_two_bit_and_big_endian_notes() {
        let i386 = parse_stapsdt(CLANG_I386, 4, false).unwrap();
        assert_eq!(
            (i386.location, i386.base, i386.semaphore, i386.args),
            (0x11f2, 0x1cc, 0x324c, "-4@(%esp)")
        );
        let mips = parse_stapsdt(CLANG_MIPS, 4, true).unwrap();
        assert_eq!(
            (mips.location, mips.base, mips.semaphore, mips.name),
            (0x1026c, 0x23e, 0x20278, "sema")
        );
        let be = parse_stapsdt(CLANG_AARCH64_BE, 8, true).unwrap();
        assert_eq!(
            (be.location, be.base, be.semaphore, be.args),
            (0x102f8, 0x2c8, 0x303b0, "-8@[x9]")
        );
        assert_eq!(
            described(&aarch64(be.args)),
            ["memory at x9 (8 bytes, signed)"]
        );
        // The wrong byte order reads other numbers, but still a note.
        let swapped = parse_stapsdt(CLANG_AARCH64_BE, 8, false).unwrap();
        assert_eq!(swapped.location, 0xf802_0100_0000_0000);
        // The wrong address size eats into the strings: provider "a" (the
        // end of "sema"), name "-4@(%esp)", and no argument string.
        let reason = note_reason(parse_stapsdt(CLANG_I386, 8, false));
        assert!(
            reason.contains("after the probe name '-4@(%esp)'"),
            "{reason}"
        );
    }

    #[test]
    fn gcc_x86_64_operand_shapes() {
        let indexed = x86(GCC_INDEXED);
        assert_eq!(
            indexed[1].operand,
            Operand::Memory {
                base: Some(reg("rdx", "rdx", 8)),
                offset: -4,
                index: Some(reg("rcx", "rcx", 8)),
                scale: 4,
                symbol: None,
            }
        );
        assert_eq!(
            described(&indexed),
            [
                "memory at rsi (8 bytes, signed)",
                "memory at rdx+rcx*4-4 (4 bytes, signed)"
            ]
        );

        let globals = x86(GCC_GLOBALS_PIE);
        assert_eq!(
            globals[0].operand,
            Operand::Memory {
                base: Some(reg("rip", "rip", 8)),
                offset: 8,
                index: None,
                scale: 1,
                symbol: Some("global_pair"),
            }
        );
        assert_eq!(
            described(&globals),
            [
                "memory at global_pair+8 (rip-relative, 8 bytes, signed)",
                "memory at global_int (rip-relative, 4 bytes, signed)",
                "memory at global_pair (rip-relative, 8 bytes, signed)",
            ]
        );
        assert_eq!(
            globals[0].operand.to_string(),
            "memory at global_pair+8 (rip-relative)"
        );
        // Non-PIC code writes the offset after the symbol; same operand.
        let no_pie = x86(GCC_GLOBALS_NO_PIE);
        assert_eq!(no_pie[0].operand, globals[0].operand);
        assert_eq!(no_pie[0].text, "-8@global_pair+8(%rip)");

        assert_eq!(
            described(&x86(GCC_CONSTANTS)),
            [
                "constant 5 (4 bytes, signed)",
                "constant -1 (4 bytes, signed)",
                "constant -3 (1 byte, signed)"
            ]
        );
        assert_eq!(x86(GCC_CONSTANTS)[1].operand, Operand::Constant(-1));

        let widths = x86(GCC_WIDTHS);
        let registers: Vec<_> = widths
            .iter()
            .map(|a| match a.operand {
                Operand::Register(r) => (r.spelling, r.full, r.width, a.size, a.signed),
                _ => panic!("{a:?}"),
            })
            .collect();
        assert_eq!(
            registers,
            [
                ("dil", "rdi", 1, 1, true),
                ("si", "rsi", 2, 2, true),
                ("edx", "rdx", 4, 4, true),
                ("rcx", "rcx", 8, 8, true),
                ("r8b", "r8", 1, 1, false),
            ]
        );
        assert_eq!(widths[0].to_string(), "register rdi (dil, 1 byte, signed)");
        assert_eq!(widths[2].to_string(), "register rdx (edx, 4 bytes, signed)");
        assert_eq!(widths[2].operand.to_string(), "register rdx (edx)");

        let stack = x86(GCC_STACK);
        assert_eq!(stack.len(), 8);
        assert_eq!(stack[0].to_string(), "memory at rsp-40 (8 bytes, signed)");
        assert_eq!(stack[2].to_string(), "memory at rsp+8 (8 bytes, signed)");

        assert_eq!(
            x86(GCC_TABLE_PIE)[0].to_string(),
            "memory at rax+rdi*8 (8 bytes, signed)"
        );
        let table = x86(GCC_TABLE_NO_PIE);
        assert_eq!(
            table[0].operand,
            Operand::Memory {
                base: None,
                offset: 0,
                index: Some(reg("rdi", "rdi", 8)),
                scale: 8,
                symbol: Some("table"),
            }
        );
        assert_eq!(
            table[0].to_string(),
            "memory at table+rdi*8 (8 bytes, signed)"
        );

        let o0 = x86(GCC_WIDTHS_O0);
        assert_eq!(o0[0].to_string(), "memory at rbp-4 (1 byte, signed)");
        assert_eq!(o0[4].to_string(), "memory at rbp-16 (1 byte, unsigned)");
    }

    #[test]
    fn floating_point_arguments() {
        let floats = x86(GCC_FLOATS);
        assert!(floats[0].float && floats[1].float && !floats[2].float);
        assert_eq!((floats[0].size, floats[0].signed), (8, false));
        assert_eq!(
            described(&floats),
            [
                "register rdx (8 bytes, floating point)",
                "register rax (eax, 4 bytes, floating point)",
                "register rdi (8 bytes, signed)"
            ]
        );
        assert!(floats[0]
            .libbpf_limitation(Arch::X86_64)
            .unwrap()
            .contains("'f'"));
        assert_eq!(
            x86(GCC_FLOAT_GLOBAL)[0].to_string(),
            "memory at gd (rip-relative, 8 bytes, floating point)"
        );
    }

    #[test]
    fn twelve_arguments_and_more() {
        let twelve = x86(GCC_TWELVE);
        assert_eq!(twelve.len(), LIBBPF_MAX_ARGS);
        assert_eq!(twelve[6].text, "-8@%rdi");
        // Hand-written notes can have more; they parse, the caller warns.
        let thirteen = format!("{GCC_TWELVE} 4@$1");
        assert_eq!(x86(&thirteen).len(), 13);
    }

    #[test]
    fn blanks_between_arguments() {
        assert!(x86("").is_empty());
        assert!(x86("  \t ").is_empty());
        assert!(aarch64("").is_empty());
        let args = x86("  8@%rdx\t\t8@-80(%rbx)  ");
        assert_eq!(
            args.iter().map(|a| a.text).collect::<Vec<_>>(),
            ["8@%rdx", "8@-80(%rbx)"]
        );
        // Blanks inside parentheses do not split an argument.
        assert_eq!(
            x86("8@-4(%rbp, %rax, 4)")[0].operand,
            x86("8@-4(%rbp,%rax,4)")[0].operand
        );
        // An argument string starting with ':' is no arguments (libbpf).
        let mut desc = LIBSTDCXX_CATCH[..40].to_vec();
        desc.extend_from_slice(b":old\0");
        assert_eq!(parse_stapsdt(&desc, 8, false).unwrap().args, "");
    }

    #[test]
    fn aarch64_specs_from_the_wild() {
        let args = aarch64(AARCH64_BCC_3649);
        assert_eq!(args.len(), 6);
        assert_eq!(args[0].operand, Operand::Register(reg("x25", "x25", 8)));
        assert_eq!(
            args[3].operand,
            Operand::Memory {
                base: Some(reg("x22", "x22", 8)),
                offset: 20,
                index: None,
                scale: 1,
                symbol: None,
            }
        );
        assert_eq!(
            described(&args),
            [
                "register x25 (8 bytes, unsigned)",
                "memory at x22 (4 bytes, signed)",
                "register x3 (8 bytes, unsigned)",
                "memory at x22+20 (2 bytes, unsigned)",
                "memory at sp+128 (4 bytes, signed)",
                "memory at sp+132 (2 bytes, unsigned)",
            ]
        );
        assert_eq!(args[4].text, "-4@[sp, 128]");
        assert!(args
            .iter()
            .all(|a| a.libbpf_limitation(Arch::Aarch64).is_none()));

        let openjdk = aarch64(AARCH64_OPENJDK);
        assert_eq!(openjdk.len(), 8);
        assert_eq!(
            openjdk[7].to_string(),
            "memory at sp+120 (8 bytes, unsigned)"
        );
        let perf = aarch64(AARCH64_PERF);
        assert_eq!(perf.len(), 3);
        assert_eq!(perf[2].operand.to_string(), "memory at sp+4");

        assert_eq!(
            described(&aarch64(AARCH64_CLANG_INDEXED)),
            [
                "memory at x13 (8 bytes, signed)",
                "memory at x12 (4 bytes, signed)"
            ]
        );
        let constants = aarch64(AARCH64_CLANG_CONSTANTS);
        assert_eq!(
            constants.iter().map(|a| a.operand).collect::<Vec<_>>(),
            [
                Operand::Constant(5),
                Operand::Constant(-1),
                Operand::Constant(-3)
            ]
        );

        // The forms in libbpf's parse_usdt_arg() comments for aarch64.
        assert_eq!(
            aarch64("-8@x4")[0].to_string(),
            "register x4 (8 bytes, signed)"
        );
        assert_eq!(aarch64("4@5")[0].operand, Operand::Constant(5));
        assert_eq!(aarch64("-4@[sp]")[0].operand.to_string(), "memory at sp");
        assert_eq!(
            aarch64("-4@[sp, 96]")[0].operand.to_string(),
            "memory at sp+96"
        );
        assert_eq!(
            aarch64("-8@[x2, -8]")[0].operand.to_string(),
            "memory at x2-8"
        );
    }

    #[test]
    fn aarch64_forms_libbpf_cannot_read() {
        let index = aarch64(AARCH64_INDEX);
        assert_eq!(
            index[0].operand,
            Operand::Memory {
                base: Some(reg("x0", "x0", 8)),
                offset: 0,
                index: Some(reg("x1", "x1", 8)),
                scale: 1,
                symbol: None,
            }
        );
        assert_eq!(index[0].to_string(), "memory at x0+x1 (1 byte, signed)");
        assert!(index[0].libbpf_limitation(Arch::Aarch64).is_some());
        let shifted = aarch64("8@[x0, x1, lsl 3]");
        assert_eq!(shifted[0].operand.to_string(), "memory at x0+x1*8");
        // A 32-bit view of x0, as LLVM names 32-bit operands (constructed).
        let w0 = aarch64("-4@w0");
        assert_eq!(w0[0].operand, Operand::Register(reg("w0", "x0", 4)));
        assert_eq!(w0[0].to_string(), "register x0 (w0, 4 bytes, signed)");
        assert!(w0[0]
            .libbpf_limitation(Arch::Aarch64)
            .unwrap()
            .contains("w registers"));
        assert_eq!(
            aarch64("8@x30")[0].operand,
            Operand::Register(reg("x30", "x30", 8))
        );
    }

    #[test]
    fn x86_64_forms_libbpf_cannot_read() {
        let globals = x86(GCC_GLOBALS_PIE);
        assert!(globals[0]
            .libbpf_limitation(Arch::X86_64)
            .unwrap()
            .contains("symbol"));
        let absolute = x86("4@1234");
        assert_eq!(absolute[0].operand.to_string(), "memory at 1234");
        assert!(absolute[0].libbpf_limitation(Arch::X86_64).is_some());
        // Forms libbpf reads: register, deref, SIB with and without offset
        // and scale, constants, rip with a number.
        for spec in [
            "8@%rax",
            "8@(%rsp)",
            "-4@-20(%rbp)",
            "1@-96(%rbp,%rax,8)",
            "1@(%rbp,%rax)",
            "4@$71",
            "8@16(%rip)",
        ] {
            let arg = x86(spec)[0];
            assert_eq!(arg.libbpf_limitation(Arch::X86_64), None, "{spec}");
        }
        assert_eq!(x86("8@16(%rip)")[0].operand.to_string(), "memory at rip+16");
    }

    #[test]
    fn malformed_notes() {
        assert!(note_reason(parse_stapsdt(LIBSTDCXX_CATCH, 2, false)).contains("address size 2"));
        let short = note_reason(parse_stapsdt(&LIBSTDCXX_CATCH[..26], 8, false));
        assert!(
            short.contains("26 bytes") && short.contains("27"),
            "{short}"
        );
        assert!(parse_stapsdt(&[0; 14], 4, false).is_err());
        assert!(parse_stapsdt(&[0; 15], 4, false).is_err()); // empty name
                                                             // The descriptor ends inside the provider.
        let cut = note_reason(parse_stapsdt(&LIBSTDCXX_CATCH[..30], 8, false));
        assert!(cut.contains("provider is not NUL-terminated"), "{cut}");
        // Provider, then nothing.
        let no_name = note_reason(parse_stapsdt(&LIBSTDCXX_CATCH[..34], 8, false));
        assert!(no_name.contains("no probe name"), "{no_name}");
        let cut_name = note_reason(parse_stapsdt(&LIBSTDCXX_CATCH[..37], 8, false));
        assert!(
            cut_name.contains("probe name is not NUL-terminated"),
            "{cut_name}"
        );
        let no_args = note_reason(parse_stapsdt(&LIBSTDCXX_CATCH[..40], 8, false));
        assert!(no_args.contains("no argument string"), "{no_args}");
        let cut_args = note_reason(parse_stapsdt(&LIBSTDCXX_CATCH[..58], 8, false));
        assert!(
            cut_args.contains("argument string is not NUL"),
            "{cut_args}"
        );
        // An empty name.
        let mut empty_name = LIBSTDCXX_CATCH[..34].to_vec();
        empty_name.extend_from_slice(b"\0\0");
        let reason = note_reason(parse_stapsdt(&empty_name, 8, false));
        assert!(reason.contains("empty probe name"), "{reason}");
        // An empty provider is accepted, as libbpf does.
        let mut no_provider = LIBSTDCXX_CATCH[..24].to_vec();
        no_provider.extend_from_slice(b"\0catch\0\0");
        let note = parse_stapsdt(&no_provider, 8, false).unwrap();
        assert_eq!((note.provider, note.name, note.args), ("", "catch", ""));
        // Bytes after the argument string's NUL are ignored.
        let mut padded = LIBSTDCXX_CATCH.to_vec();
        padded.extend_from_slice(&[0, 0, 0xff]);
        assert_eq!(
            parse_stapsdt(&padded, 8, false).unwrap(),
            parse_stapsdt(LIBSTDCXX_CATCH, 8, false).unwrap()
        );
        // Not UTF-8.
        let mut latin1 = LIBSTDCXX_CATCH.to_vec();
        latin1[34] = 0xe9; // the 'c' of "catch"
        let reason = note_reason(parse_stapsdt(&latin1, 8, false));
        assert!(reason.contains("probe name is not UTF-8"), "{reason}");
        let mut latin1 = LIBSTDCXX_CATCH.to_vec();
        latin1[24] = 0xe9;
        assert!(note_reason(parse_stapsdt(&latin1, 8, false)).contains("provider is not UTF-8"));
        let mut latin1 = LIBSTDCXX_CATCH.to_vec();
        latin1[45] = 0xe9;
        assert!(note_reason(parse_stapsdt(&latin1, 8, false)).contains("argument string"));
        let err = parse_stapsdt(&[], 8, false).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("stapsdt note: descriptor is 0 bytes"));
    }

    #[test]
    fn malformed_arguments() {
        let x = Arch::X86_64;
        let a = Arch::Aarch64;
        for (spec, arch, number, needle) in [
            // Old SystemTap wrote bare operands; libbpf refuses them.
            ("%rdi", x, 1, "no SIZE@"),
            ("8@%rdi %rsi", x, 2, "no SIZE@"),
            ("3@%rax", x, 1, "size 3"),
            ("0@%rax", x, 1, "size 0"),
            ("-16@%rax", x, 1, "size 16"),
            ("q@%rax", x, 1, "size 'q'"),
            ("@%rax", x, 1, "size ''"),
            ("8@", x, 1, "nothing after"),
            ("8@%ah", x, 1, "unknown x86-64 register '%ah'"),
            ("8@%xmm0", x, 1, "unknown x86-64 register"),
            ("8@%rax,", x, 1, "unknown x86-64 register"),
            ("8@$sym", x, 1, "symbol's address"),
            ("8@$0x10", x, 1, "not a decimal number"),
            ("8@$99999999999999999999", x, 1, "does not fit in 64 bits"),
            ("8@-8(%rax", x, 1, "does not end with ')'"),
            ("8@()", x, 1, "empty '()'"),
            ("8@(%rax,%rbx,3)", x, 1, "scale '3'"),
            ("8@(%rax,%rbx,8,1)", x, 1, "expected (BASE)"),
            ("8@(%rax,%rip)", x, 1, "cannot be an index"),
            ("8@(%ax)", x, 1, "too narrow"),
            ("8@(rax)", x, 1, "expected a %register"),
            ("8@a+b(%rip)", x, 1, "one symbol"),
            ("8@-sym(%rip)", x, 1, "one symbol"),
            ("8@sym*2(%rip)", x, 1, "before '*2'"),
            ("8@99999999999999999999(%rax)", x, 1, "does not fit"),
            ("8@9223372036854775807+1(%rax)", x, 1, "does not fit"),
            ("8@x31", a, 1, "unknown aarch64 register 'x31'"),
            ("8@xzr", a, 1, "unknown aarch64 register"),
            ("8@x01", a, 1, "unknown aarch64 register"),
            // libbpf issue #796: a double in a SIMD register.
            ("-8@v0", a, 1, "SIMD/floating-point"),
            // bcc issue #4185, bash on aarch64: a relocation as the offset.
            ("8@x0 4@[x21, #:lo12:.LANCHOR2]", a, 2, "relocation"),
            ("8@[x0, 8", a, 1, "does not end with ']'"),
            ("8@[w0]", a, 1, "cannot be a base"),
            ("8@[x0, sp]", a, 1, "cannot be an index"),
            ("8@[x0, x1, lsl 4]", a, 1, "lsl 0"),
            ("8@[x0, x1, lsl 1, 2]", a, 1, "too many parts"),
            ("8@[]", a, 1, "unknown aarch64 register ''"),
            ("8@%rax", a, 1, "unknown aarch64 register '%rax'"),
        ] {
            let (got_number, text, reason) = arg_error(spec, arch);
            assert_eq!(got_number, number, "{spec}: {reason}");
            assert!(reason.contains(needle), "{spec}: {reason}");
            assert!(spec.contains(text.as_str()), "{spec}: {text}");
        }
        let err = parse_args("8@%rdi 3@%rax", Arch::X86_64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument 2 '3@%rax': size 3 is not 1, 2, 4 or 8 bytes"
        );
    }

    #[test]
    fn elf_machines() {
        assert_eq!(Arch::from_elf_machine(62), Some(Arch::X86_64));
        assert_eq!(Arch::from_elf_machine(183), Some(Arch::Aarch64));
        assert_eq!(Arch::from_elf_machine(3), None);
        assert_eq!(Arch::Aarch64.to_string(), "aarch64");
    }

    /// What every parsed argument must satisfy, whatever the input.
    fn check_args(spec: &str, arch: Arch) {
        let Ok(args) = parse_args(spec, arch) else {
            return;
        };
        for arg in &args {
            assert!(matches!(arg.size, 1 | 2 | 4 | 8), "{arg:?}");
            assert!(!arg.text.is_empty() && arg.text.contains('@'));
            assert!(spec.contains(arg.text));
            assert!(!arg.to_string().is_empty());
            let _ = arg.libbpf_limitation(arch);
            if let Operand::Memory { scale, .. } = arg.operand {
                assert!(matches!(scale, 1 | 2 | 4 | 8));
            }
        }
    }

    #[test]
    fn mutated_notes_never_panic() {
        let alphabet = b"\0\x01\xff\xe9@%$()[],+-: 0123456789abfrsxw";
        for (original, size, big) in [
            (LIBSTDCXX_CATCH, 8, false),
            (GCC_SEMAPHORE, 8, false),
            (CLANG_I386, 4, false),
            (CLANG_MIPS, 4, true),
            (CLANG_AARCH64_BE, 8, true),
        ] {
            for bytes in mutations(original, alphabet, 3000) {
                for (size, big) in [(size, big), (12 - size, !big)] {
                    let Ok(note) = parse_stapsdt(&bytes, size, big) else {
                        continue;
                    };
                    assert!(!note.name.is_empty());
                    assert!(bytes.len() >= 3 * size + 3);
                    let _ = adjusted_location(&note, Some(0x1234));
                    let _ = adjusted_semaphore(&note, Some(u64::MAX));
                    check_args(note.args, Arch::X86_64);
                    check_args(note.args, Arch::Aarch64);
                }
            }
        }
    }

    #[test]
    fn mutated_specs_never_panic() {
        let alphabet = b" \t%$@()[],+-:#f.x_0123456789abdeilprsw\xc3\xa9";
        let specs = [
            "8@%rdx 8@-80(%rbx)",
            GCC_INDEXED,
            GCC_GLOBALS_PIE,
            GCC_GLOBALS_NO_PIE,
            GCC_CONSTANTS,
            GCC_WIDTHS,
            GCC_TABLE_NO_PIE,
            GCC_FLOATS,
            AARCH64_BCC_3649,
            AARCH64_INDEX,
            "8@x0 4@[x21, #:lo12:.LANCHOR2] 8@[x0, x1, lsl 3]",
        ];
        for spec in specs {
            for bytes in mutations(spec.as_bytes(), alphabet, 3000) {
                let text = String::from_utf8_lossy(&bytes);
                check_args(&text, Arch::X86_64);
                check_args(&text, Arch::Aarch64);
            }
        }
    }
}

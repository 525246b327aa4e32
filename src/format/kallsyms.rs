//! `/proc/kallsyms`: every symbol the kernel knows, one per line. Pure
//! parser over the file's text, zero-copy: names and modules borrow from the
//! input, and no line allocates unless it is malformed.
//!
//! The kernel writes each line in `s_show()` (kernel/kallsyms.c):
//!
//! ```text
//! seq_printf(m, "%px %c %s\n", value, type, name);              built-in symbols
//! seq_printf(m, "%px %c %s\t[%s]\n", value, type, name, module); everything else
//! ```
//!
//! - `%px` is the address as zero-padded hex, 16 digits on 64-bit kernels and
//!   8 on 32-bit ones. When `kallsyms_show_value()` says no, the kernel
//!   prints NULL, so every address reads as zero (see [`addresses_hidden`]).
//!   It says yes with `kptr_restrict` 0 and `perf_event_paranoid` <= 1, else
//!   only to openers holding `CAP_SYSLOG`, and never with `kptr_restrict` 2.
//! - The type is `nm`'s letter. For built-in symbols it is what the linker
//!   saw (`T`/`t` text, `W`/`w` weak, `D`/`d` data, `R`/`r` read-only,
//!   `B`/`b` bss, ...). For module symbols `s_show()` rewrites the case:
//!   uppercase means exported (`EXPORT_SYMBOL`), lowercase not exported.
//! - The `[module]` part is a loadable module's name, or one of the pseudo
//!   modules the kernel uses for code it generated at run time (see
//!   [`PSEUDO_MODULES`]): `get_ksymbol_bpf()` names JITed programs,
//!   trampolines and dispatchers `[bpf]`, `get_ksymbol_ftrace_mod()` names
//!   ftrace trampolines `[__builtin__ftrace]`, and `get_ksymbol_kprobe()`
//!   names kprobe instruction pages `[__builtin__kprobes]`.
//! - Symbols with an empty name are skipped by the kernel, so every line has one.
//!
//! Blank lines are skipped (a hand-edited capture may have them); a
//! malformed line is an error for that line only, and iteration goes on.
//!
//! The hex, `[module]` and error-quoting helpers here are shared with the
//! sibling parsers of other kernel-printed symbol lists
//! ([`super::ftrace_functions`], [`super::kprobe_blacklist`]).

use std::borrow::Borrow;
use std::fmt;

/// Module names the kernel prints in `[...]` for code that is not in any
/// loadable module: `bpf` (JITed BPF programs, trampolines, dispatchers),
/// `__builtin__ftrace` (ftrace trampolines), `__builtin__kprobes` (kprobe
/// instruction slots). None of them can be named as `kprobe:MODULE:FUNC`.
pub const PSEUDO_MODULES: [&str; 3] = ["bpf", "__builtin__ftrace", "__builtin__kprobes"];

/// Whether a `[module]` name is one of [`PSEUDO_MODULES`] rather than a
/// loadable module.
pub fn is_pseudo_module(module: &str) -> bool {
    PSEUDO_MODULES.contains(&module)
}

/// One line of `/proc/kallsyms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSymbol<'a> {
    /// The symbol's address; 0 for every symbol when the reader may not see
    /// addresses (see [`addresses_hidden`]).
    pub address: u64,
    /// The type letter exactly as printed: `b'T'`, `b't'`, `b'W'`, `b'D'`, ...
    pub kind: u8,
    pub name: &'a str,
    /// The `[module]` name without brackets; `None` for the core kernel.
    /// May be a pseudo module such as `bpf` (see [`is_pseudo_module`]).
    pub module: Option<&'a str>,
}

impl KernelSymbol<'_> {
    /// Code: `T`/`t` (text) or `W`/`w` (weak, which kallsyms only shows for
    /// functions; weak objects are `V`/`v`).
    pub fn is_text(&self) -> bool {
        matches!(self.kind, b'T' | b't' | b'W' | b'w')
    }

    /// Uppercase type letter. For the core kernel this is the linker's
    /// global binding; for module symbols the kernel uses it to mean
    /// "exported", so a global but unexported module function reads as local.
    pub fn is_global(&self) -> bool {
        self.kind.is_ascii_uppercase()
    }
}

/// Whether the reader was shown NULL for every address (`kptr_restrict`, or
/// not root): true when there is at least one symbol and all addresses are
/// 0. One zero proves nothing: x86_64 kernels built with `CONFIG_KALLSYMS_ALL`
/// list a zero-based per-CPU section, starting at address 0. The check stops
/// at the first non-zero address, which comes within the first lines of a
/// real file.
pub fn addresses_hidden<'s, I>(symbols: I) -> bool
where
    I: IntoIterator,
    I::Item: Borrow<KernelSymbol<'s>>,
{
    let mut any = false;
    for symbol in symbols {
        if symbol.borrow().address != 0 {
            return false;
        }
        any = true;
    }
    any
}

/// A line that is not `ADDRESS TYPE NAME[\t[MODULE]]`, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KallsymsError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for KallsymsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for KallsymsError {}

/// Parses `/proc/kallsyms` lazily, one symbol per non-blank line, in file order.
pub fn parse_kallsyms(text: &str) -> impl Iterator<Item = Result<KernelSymbol<'_>, KallsymsError>> {
    Symbols {
        text,
        pos: 0,
        line: 0,
    }
}

/// The iterator behind [`parse_kallsyms`]. Lines as the kernel writes them
/// go through [`fast_line`], one pass over their bytes; anything else
/// (blank lines, `\r\n`, a space before `[MODULE]`, malformed lines) falls
/// back to [`parse_line`], which also words the errors. The file is
/// ~5 MB, so this matters: over the 122k lines of 6.18 x86_64 (release
/// build), `split('\n')` plus [`parse_line`] took 12 ms, the fast path
/// 4.5 ms, and a bare `split('\n')` alone 3.7 ms.
struct Symbols<'a> {
    text: &'a str,
    /// Byte offset of the next line.
    pos: usize,
    /// Number of the line last read.
    line: usize,
}

impl<'a> Iterator for Symbols<'a> {
    type Item = Result<KernelSymbol<'a>, KallsymsError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.text.len() {
            self.line += 1;
            if let Some((symbol, next)) = fast_line(self.text, self.pos) {
                self.pos = next;
                return Some(Ok(symbol));
            }
            let rest = &self.text[self.pos..];
            let (line, consumed) = match rest.as_bytes().iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], end + 1),
                None => (rest, rest.len()),
            };
            self.pos += consumed;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim_ascii().is_empty() {
                continue;
            }
            let line_number = self.line;
            return Some(parse_line(line).map_err(|reason| KallsymsError {
                line: line_number,
                reason,
            }));
        }
        None
    }
}

/// Hex digit values; 0xff for anything else.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The exact shape `s_show()` prints, `HEX TYPE NAME` then `\n`, end of
/// text, or `\t[MODULE]\n`, parsed in one pass from byte `start`. Returns
/// the symbol and where the next line starts, or `None` for anything else,
/// which [`parse_line`] then handles: for every line this accepts, it
/// returns what [`parse_line`] would.
fn fast_line(text: &str, start: usize) -> Option<(KernelSymbol<'_>, usize)> {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut address = 0u64;
    // At most 16 digits, then the space.
    let limit = bytes.len().min(start + 17);
    loop {
        let byte = *bytes.get(i).filter(|_| i < limit)?;
        if byte == b' ' {
            break;
        }
        let digit = HEX_VALUE[usize::from(byte)];
        if digit == 0xff {
            return None;
        }
        address = (address << 4) | u64::from(digit);
        i += 1;
    }
    if i == start {
        return None;
    }
    let kind = *bytes.get(i + 1)?;
    if !kind.is_ascii_graphic() || *bytes.get(i + 2)? != b' ' {
        return None;
    }
    let name_start = i + 3;
    let end = name_end(bytes, name_start);
    if end == name_start {
        return None;
    }
    // Both ends sit next to ASCII bytes (or the end), so they are
    // character boundaries.
    let name = &text[name_start..end];
    let (module, next) = match bytes.get(end) {
        None => (None, end),
        Some(b'\n') => (None, end + 1),
        Some(b'\t') if bytes.get(end + 1) == Some(&b'[') => {
            let module_start = end + 2;
            let mut close = module_start;
            while close < bytes.len()
                && !(bytes[close].is_ascii_whitespace() || matches!(bytes[close], b'[' | b']'))
            {
                close += 1;
            }
            if close == module_start || bytes.get(close) != Some(&b']') {
                return None;
            }
            let next = match bytes.get(close + 1) {
                None => close + 1,
                Some(b'\n') => close + 2,
                Some(_) => return None,
            };
            (Some(&text[module_start..close]), next)
        }
        Some(_) => return None,
    };
    Some((
        KernelSymbol {
            address,
            kind,
            name,
            module,
        },
        next,
    ))
}

fn parse_line(line: &str) -> Result<KernelSymbol<'_>, String> {
    let bytes = line.as_bytes();
    let Some(address_end) = bytes.iter().position(|&b| b == b' ') else {
        return Err(format!(
            "expected 'ADDRESS TYPE NAME', found '{}'",
            clip(line)
        ));
    };
    let address = parse_hex(&bytes[..address_end]).ok_or_else(|| {
        format!(
            "address is not 1 to 16 hex digits: '{}'",
            clip(&line[..address_end])
        )
    })?;
    // `TYPE NAME`: one byte, one space, then the name.
    let kind = match &bytes[address_end + 1..] {
        [kind, ..] if !kind.is_ascii_graphic() => {
            return Err(format!(
                "symbol type is not a letter: '{}'",
                clip(&line[address_end + 1..])
            ))
        }
        [kind, b' ', _, ..] => *kind,
        [_, b' '] | [_] | [] => {
            return Err(format!(
                "no symbol name after the type (line truncated?): '{}'",
                clip(line)
            ))
        }
        [_, ..] => {
            return Err(format!(
                "symbol type is more than one letter: '{}'",
                clip(&line[address_end + 1..])
            ))
        }
    };
    // The type byte is ASCII and followed by a space, so byte 2 of the rest
    // is a character boundary.
    let tail = &line[address_end + 3..];
    let (name, module) = match tail.find(['\t', ' ']) {
        None => (tail, None),
        Some(end) => (&tail[..end], Some(module_tag(&tail[end + 1..])?)),
    };
    if name.is_empty() {
        return Err(format!("empty symbol name: '{}'", clip(line)));
    }
    Ok(KernelSymbol {
        address,
        kind,
        name,
        module,
    })
}

/// The first `\n`, `\t`, ` ` or `\r` at or after `from`, or the length.
/// Names average ~25 bytes, so 8 at a time are skipped while none of them is
/// below 0x21 (the bit trick is "hasless(x, 0x21)" from Bit Twiddling Hacks:
/// it never misses such a byte), then the exact stop is found byte by byte.
fn name_end(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if word.wrapping_sub(ONES * 0x21) & !word & HIGH_BITS != 0 {
            break;
        }
        i += 8;
    }
    while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\t' | b' ' | b'\r') {
        i += 1;
    }
    i
}

/// Non-blank lines with their 1-based numbers, a trailing `\r` removed.
pub(super) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().filter_map(|(index, line)| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        (!line.trim_ascii().is_empty()).then_some((index + 1, line))
    })
}

/// Hex digits without a prefix, as `%px` and `%lx` print them. At most 16
/// digits, so the value always fits in a `u64`; a 32-bit kernel prints 8.
pub(super) fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut value = 0u64;
    for &digit in digits {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            b'A'..=b'F' => digit - b'A' + 10,
            _ => return None,
        };
        value = (value << 4) | u64::from(nibble);
    }
    Some(value)
}

/// `[MODULE]`, possibly after more separators, with nothing following it.
pub(super) fn module_tag(text: &str) -> Result<&str, String> {
    let tag = text.trim_start_matches(['\t', ' ']);
    tag.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .filter(|module| is_module_name(module))
        .ok_or_else(|| format!("expected '[MODULE]' after the name, found '{}'", clip(text)))
}

/// A non-empty module name with no whitespace or brackets in it.
fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'[' || b == b']')
}

/// Whether a whole word is a `[MODULE]` tag.
pub(super) fn is_module_tag(word: &str) -> bool {
    word.strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .is_some_and(is_module_name)
}

/// Keeps quoted input short in messages (80 characters). Control characters
/// stay: the printers escape them for terminals, JSON escapes them itself.
pub(super) fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mutate::mutations;

    // /proc/kallsyms as root, Linux 6.18 x86_64 (no modules loaded): the
    // first lines, a weak function with its __pfx_ padding, compiler clones,
    // a data symbol, and the last line, an ftrace trampoline in a pseudo module.
    const ROOT: &str = "ffffffff81000000 T srso_alias_untrain_ret
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81000138 t syscall_return_via_sysret
ffffffff81200220 t calibrate_delay.cold
ffffffff81207600 W __pfx_abort
ffffffff81207610 W abort
ffffffff8127adc0 t kvm_get_stat_per_vcpu.part.0.constprop.0
ffffffff816b8230 T vfs_read
ffffffff82400000 D __start_rodata
ffffffff83783000 B __init_begin
ffffffff83b266f0 R __stop_runtime_ptr_USER_PTR_MAX
ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]
";

    // The same machine read as uid 65534 (perf_event_paranoid 2): every
    // address is printed as NULL.
    const UNPRIVILEGED: &str = "0000000000000000 T srso_alias_untrain_ret
0000000000000000 T _stext
0000000000000000 T _text
0000000000000000 R __stop_runtime_ptr_USER_PTR_MAX
0000000000000000 t ftrace_trampoline\t[__builtin__ftrace]
";

    // Shapes from s_show(): a module symbol (case = exported or not), a
    // JITed BPF program and trampoline (get_ksymbol_bpf), a kprobe insn
    // page (get_ksymbol_kprobe), and a 32-bit kernel's 8-digit address.
    const MODULES: &str = "ffffffffc0a1b010 T ext4_fill_super\t[ext4]
ffffffffc0a1b200 t ext4_journal_commit_callback\t[ext4]
ffffffffc02b4e2c t bpf_prog_6deef7357e7b4530_sd_fw_ingress\t[bpf]
ffffffffc0203000 t bpf_trampoline_6442493772\t[bpf]
ffffffffc0205000 t kprobe_insn_page\t[__builtin__kprobes]
c1000000 T _text
";

    fn all(text: &str) -> Vec<KernelSymbol<'_>> {
        parse_kallsyms(text).collect::<Result<_, _>>().unwrap()
    }

    /// The plain line-by-line parser the fast path must agree with.
    fn line_by_line(text: &str) -> Vec<Result<KernelSymbol<'_>, KallsymsError>> {
        numbered_lines(text)
            .map(|(line, text)| parse_line(text).map_err(|reason| KallsymsError { line, reason }))
            .collect()
    }

    #[test]
    fn parses_root_view() {
        let symbols = all(ROOT);
        assert_eq!(symbols.len(), 13);
        assert_eq!(
            symbols[0],
            KernelSymbol {
                address: 0xffff_ffff_8100_0000,
                kind: b'T',
                name: "srso_alias_untrain_ret",
                module: None,
            }
        );
        let abort = symbols.iter().find(|s| s.name == "abort").unwrap();
        assert!(abort.is_text() && abort.is_global());
        let cold = symbols.iter().find(|s| s.name.ends_with(".cold")).unwrap();
        assert!(cold.is_text() && !cold.is_global());
        let data = symbols.iter().find(|s| s.name == "__start_rodata").unwrap();
        assert!(!data.is_text() && data.is_global());
        let trampoline = symbols.last().unwrap();
        assert_eq!(trampoline.address, 0xffff_ffff_c020_1000);
        assert_eq!(trampoline.name, "ftrace_trampoline");
        assert_eq!(trampoline.module, Some("__builtin__ftrace"));
        assert!(is_pseudo_module(trampoline.module.unwrap()));
        assert!(!is_pseudo_module("ext4"));
        assert!(!addresses_hidden(&symbols));
    }

    #[test]
    fn unprivileged_addresses_are_zero_and_detected() {
        let symbols = all(UNPRIVILEGED);
        assert_eq!(symbols.len(), 5);
        assert!(symbols.iter().all(|s| s.address == 0));
        assert!(addresses_hidden(&symbols));
        // Owned items work too, straight from the parser.
        assert!(addresses_hidden(parse_kallsyms(UNPRIVILEGED).flatten()));
        assert!(!addresses_hidden(Vec::<KernelSymbol>::new()));
    }

    #[test]
    fn modules_bpf_and_32_bit() {
        let text = MODULES;
        let symbols = all(text);
        assert_eq!(symbols[0].module, Some("ext4"));
        assert!(symbols[0].is_global());
        assert!(!symbols[1].is_global());
        assert_eq!(symbols[2].module, Some("bpf"));
        assert_eq!(symbols[4].module, Some("__builtin__kprobes"));
        assert_eq!(symbols[5].address, 0xc100_0000);
    }

    #[test]
    fn trailing_newline_blank_lines_and_crlf() {
        let without = "ffffffff816b8230 T vfs_read";
        let with = "ffffffff816b8230 T vfs_read\n";
        assert_eq!(all(without), all(with));
        assert_eq!(all(with).len(), 1);
        assert!(all("").is_empty());
        assert!(all("\n\n  \n").is_empty());
        let crlf = "ffffffff816b8230 T vfs_read\r\n\r\nffffffff816b8240 t x\t[m]\r\n";
        let symbols = all(crlf);
        assert_eq!(symbols[0].name, "vfs_read");
        assert_eq!(symbols[1].module, Some("m"));
    }

    #[test]
    fn malformed_lines_are_numbered_errors() {
        let text = "ffffffff816b8230 T vfs_read
\nffffffff816b8230
zzzzzzzzzzzzzzzz T x
ffffffff816b8230 T
ffffffff816b8230 TT x
ffffffff816b8230 T vfs_read [ext4
ffffffff816b8230 T vfs_read\t[]
ffffffff816b8230 T vfs_read\t[ext4] extra
1ffffffff816b8230 T too_long
ffffffff816b8230 \u{e9} x
ffffffff816b8230 T vfs_read\t[ext4]
";
        let results: Vec<_> = parse_kallsyms(text).collect();
        assert!(results[0].is_ok());
        let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert!(
            errors[0].reason.contains("ADDRESS TYPE NAME"),
            "{}",
            errors[0]
        );
        assert!(errors[1].reason.contains("hex"), "{}", errors[1]);
        assert!(errors[2].reason.contains("truncated"), "{}", errors[2]);
        assert!(errors[3].reason.contains("more than one"), "{}", errors[3]);
        assert!(errors[4].reason.contains("[MODULE]"), "{}", errors[4]);
        assert!(errors[7].reason.contains("16 hex"), "{}", errors[7]);
        assert!(errors[8].reason.contains("not a letter"), "{}", errors[8]);
        assert_eq!(
            errors[0].to_string(),
            format!("line 3: {}", errors[0].reason)
        );
        // Parsing goes on after errors.
        assert_eq!(
            results.last().unwrap().as_ref().unwrap().module,
            Some("ext4")
        );
    }

    #[test]
    fn name_scan_stops_exactly() {
        // Stops only at the four separators, whether within the first 8
        // bytes, after whole words, or past other control bytes and UTF-8.
        for (name, end) in [
            ("abc\n", 3),
            ("abcdefghij\tx", 10),
            ("abcdefghijklmnopq r", 17),
            ("a\x0bbcdefghijk\r", 12),
            ("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9} ", 10),
            ("no_stop_at_all", 14),
            ("", 0),
        ] {
            assert_eq!(name_end(name.as_bytes(), 0), end, "{name:?}");
        }
        let line = "ffffffff816b8230 T a\x0bb_with_a_vertical_tab\n";
        assert_eq!(all(line)[0].name, "a\x0bb_with_a_vertical_tab");
    }

    #[test]
    fn long_input_is_clipped_in_errors() {
        let line = format!("nothex {}", "x".repeat(500));
        let err = parse_kallsyms(&line).next().unwrap().unwrap_err();
        assert!(err.reason.chars().count() < 120, "{err}");
        let wide = "é".repeat(100);
        assert_eq!(clip(&wide).chars().count(), 81);
    }

    #[test]
    fn mutated_files_never_panic() {
        let alphabet = b"\t\n\r\x0b []0123456789abcdefTtWw._xyz\xc3\xa9";
        for original in [ROOT, UNPRIVILEGED, MODULES] {
            for bytes in mutations(original.as_bytes(), alphabet, 4000) {
                let text = String::from_utf8_lossy(&bytes);
                let results: Vec<_> = parse_kallsyms(&text).collect();
                assert_eq!(results, line_by_line(&text), "{text:?}");
                let mut symbols = Vec::new();
                for result in results {
                    match result {
                        Ok(symbol) => {
                            assert!(!symbol.name.is_empty());
                            assert!(!symbol.name.contains(['\t', ' ', '\n']));
                            assert!(symbol.module.is_none_or(|m| !m.is_empty()));
                            let _ = (symbol.is_text(), symbol.is_global());
                            symbols.push(symbol);
                        }
                        Err(err) => assert!(err.line >= 1 && !err.reason.is_empty()),
                    }
                }
                let _ = addresses_hidden(&symbols);
            }
        }
    }
}

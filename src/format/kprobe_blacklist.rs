//! debugfs/tracefs `kprobes/blacklist`: the address ranges kprobes refuse
//! to probe. Pure, zero-copy parser over the file's text.
//!
//! The kernel writes each line in `kprobe_blacklist_seq_show()`
//! (kernel/kprobes.c):
//!
//! ```text
//! seq_printf(m, "0x%px-0x%px\t%ps\n", start, end, start);
//! ```
//!
//! - Both addresses are `%px` behind `0x`: zero-padded hex, 16 digits on
//!   64-bit kernels. When `kallsyms_show_value()` says no, as for
//!   `/proc/kallsyms`, both are printed as NULL (`0x0000000000000000`).
//! - The name is `%ps` of the start address: `NAME`, or `NAME [MODULE]` for
//!   entries `add_module_kprobe_blacklist()` added from a module's
//!   `_kprobe_blacklist`, `.kprobes.text` or `.noinstr.text`; `0x...` when
//!   no symbol covers the address.
//! - An entry is one function (`NOKPROBE_SYMBOL`, from
//!   `kprobe_add_ksym_blacklist()`) or, on current kernels, a whole area
//!   (`kprobe_add_area_blacklist()`: `.kprobes.text`, `.noinstr.text`, the
//!   entry text) named after its first symbol. So a function can be
//!   blacklisted without a line of its own: compare addresses against the
//!   ranges ([`BlacklistEntry::contains`]), and fall back to names only when
//!   the addresses are hidden.
//!
//! Blank lines are skipped; a malformed line is an error for that line only.

use std::fmt;

use super::kallsyms::{clip, module_tag, numbered_lines, parse_hex};

/// One blacklisted range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlacklistEntry<'a> {
    /// First blacklisted address; 0 when addresses are hidden.
    pub start: u64,
    /// One past the last blacklisted address; 0 when addresses are hidden.
    pub end: u64,
    /// The symbol at `start`, clone suffixes included.
    pub name: &'a str,
    /// The loadable module, without brackets; `None` for the core kernel.
    pub module: Option<&'a str>,
}

impl BlacklistEntry<'_> {
    /// The kernel printed NULL for both addresses: the reader may not see them.
    pub fn addresses_hidden(&self) -> bool {
        self.start == 0 && self.end == 0
    }

    /// Whether `address` falls inside the range. Always false when the
    /// addresses are hidden.
    pub fn contains(&self, address: u64) -> bool {
        (self.start..self.end).contains(&address)
    }
}

/// A line that is not `0xSTART-0xEND\tNAME [MODULE]`, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlacklistError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for BlacklistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for BlacklistError {}

/// Parses `kprobes/blacklist` lazily, one entry per non-blank line.
pub fn parse_kprobe_blacklist(
    text: &str,
) -> impl Iterator<Item = Result<BlacklistEntry<'_>, BlacklistError>> {
    numbered_lines(text)
        .map(|(line, text)| parse_line(text).map_err(|reason| BlacklistError { line, reason }))
}

fn parse_line(line: &str) -> Result<BlacklistEntry<'_>, String> {
    let mut words = line.split_ascii_whitespace();
    let range = words.next().unwrap_or_default();
    let Some(name) = words.next() else {
        return Err(format!(
            "expected '0xSTART-0xEND<TAB>NAME', found '{}'",
            clip(line)
        ));
    };
    let module = words.next();
    if words.next().is_some() {
        return Err(format!(
            "too many fields, expected '0xSTART-0xEND<TAB>NAME [MODULE]': '{}'",
            clip(line)
        ));
    }
    let (start, end) = range
        .split_once('-')
        .ok_or_else(|| format!("expected '0xSTART-0xEND', found '{}'", clip(range)))?;
    let (start, end) = (address(start)?, address(end)?);
    if end < start {
        return Err(format!("range ends before it starts: '{}'", clip(range)));
    }
    if name.starts_with('[') {
        return Err(format!("no symbol name before '{}'", clip(name)));
    }
    let module = module.map(module_tag).transpose()?;
    Ok(BlacklistEntry {
        start,
        end,
        name,
        module,
    })
}

/// `0x` and up to 16 hex digits, as `0x%px` prints them.
fn address(text: &str) -> Result<u64, String> {
    text.strip_prefix("0x")
        .and_then(|digits| parse_hex(digits.as_bytes()))
        .ok_or_else(|| format!("address is not 0x and 1 to 16 hex digits: '{}'", clip(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mutate::mutations;

    // Linux 6.18 x86_64 here is built without CONFIG_KPROBES, so there is no
    // blacklist file; these lines follow kprobe_blacklist_seq_show() with
    // NOKPROBE_SYMBOL functions and their kallsyms ranges (start of the
    // function to the next symbol) from that machine's /proc/kallsyms, the
    // x86 entry-text area (__entry_text_start to __entry_text_end, same
    // source) as one entry named after its first symbol, and a module entry
    // (no modules are loaded there, so its address is invented).
    const ROOT: &str = "0xffffffff821f0680-0xffffffff821f0790\texc_int3
0xffffffff81393e50-0xffffffff81393ed0\tnotify_die
0xffffffff81393890-0xffffffff813938f0\tatomic_notifier_call_chain
0xffffffff81000010-0xffffffff81001a87\t__entry_text_start
0xffffffffc0a40000-0xffffffffc0a40120\tkvm_spurious_fault [kvm]
";

    // The same entries as a reader without CAP_SYSLOG sees them.
    const HIDDEN: &str = "0x0000000000000000-0x0000000000000000\texc_int3
0x0000000000000000-0x0000000000000000\tnotify_die
0x0000000000000000-0x0000000000000000\tkvm_spurious_fault [kvm]
";

    fn all(text: &str) -> Vec<BlacklistEntry<'_>> {
        parse_kprobe_blacklist(text)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn parses_ranges_names_and_modules() {
        let entries = all(ROOT);
        assert_eq!(entries.len(), 5);
        assert_eq!(
            entries[0],
            BlacklistEntry {
                start: 0xffff_ffff_821f_0680,
                end: 0xffff_ffff_821f_0790,
                name: "exc_int3",
                module: None,
            }
        );
        assert!(!entries[0].addresses_hidden());
        // A function inside the entry-text area has no line of its own
        // (entry_SYSCALL_64 is at ffffffff81000080 on that machine).
        assert!(entries[3].contains(0xffff_ffff_8100_0080));
        assert!(!entries[3].contains(0xffff_ffff_8100_1a87));
        assert_eq!(entries[4].name, "kvm_spurious_fault");
        assert_eq!(entries[4].module, Some("kvm"));
    }

    #[test]
    fn hidden_addresses() {
        let entries = all(HIDDEN);
        assert_eq!(entries.len(), 3);
        assert!(entries.iter().all(BlacklistEntry::addresses_hidden));
        assert!(!entries[0].contains(0));
        assert_eq!(entries[2].module, Some("kvm"));
    }

    #[test]
    fn empty_and_newline_variants() {
        assert!(all("").is_empty());
        assert!(all("\n").is_empty());
        let line = "0xffffffff81393e50-0xffffffff81393ed0\tnotify_die";
        assert_eq!(all(line), all(&format!("{line}\n")));
        assert_eq!(all(&format!("{line}\r\n"))[0].name, "notify_die");
        // 32-bit kernels print 8 digits.
        assert_eq!(all("0xc1000000-0xc1000010\tx")[0].end, 0xc100_0010);
    }

    #[test]
    fn malformed_lines_are_numbered_errors() {
        let text = "0xffffffff81393e50-0xffffffff81393ed0\tnotify_die
0xffffffff81393e50-0xffffffff81393ed0
0xffffffff81393e50\tnotify_die
ffffffff81393e50-0xffffffff81393ed0\tnotify_die
0xffffffff81393ed0-0xffffffff81393e50\tnotify_die
0xffffffff81393e50-0x1ffffffff81393ed0\tnotify_die
0xffffffff81393e50-0xffffffff81393ed0\t[kvm]
0xffffffff81393e50-0xffffffff81393ed0\tnotify_die kvm
0xffffffff81393e50-0xffffffff81393ed0\tnotify_die [kvm] x
0x-0x\tnotify_die
";
        let results: Vec<_> = parse_kprobe_blacklist(text).collect();
        assert!(results[0].is_ok());
        let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert!(errors[0].reason.contains("NAME"), "{}", errors[0]);
        assert!(errors[1].reason.contains("0xSTART-0xEND"), "{}", errors[1]);
        assert!(errors[2].reason.contains("0x and"), "{}", errors[2]);
        assert!(errors[3].reason.contains("ends before"), "{}", errors[3]);
        assert!(errors[4].reason.contains("16 hex"), "{}", errors[4]);
        assert!(errors[5].reason.contains("no symbol name"), "{}", errors[5]);
        assert!(errors[6].reason.contains("[MODULE]"), "{}", errors[6]);
        assert!(errors[7].reason.contains("too many"), "{}", errors[7]);
        assert!(errors[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn mutated_files_never_panic() {
        let alphabet = b"\t\n\r -[]0123456789abcdefx_kvm\xc3\xa9";
        for original in [ROOT, HIDDEN] {
            for bytes in mutations(original.as_bytes(), alphabet, 4000) {
                let text = String::from_utf8_lossy(&bytes);
                for result in parse_kprobe_blacklist(&text) {
                    match result {
                        Ok(entry) => {
                            assert!(entry.start <= entry.end);
                            assert!(!entry.name.is_empty() && !entry.name.starts_with('['));
                            assert!(entry.module.is_none_or(|m| !m.is_empty()));
                            let _ = (entry.addresses_hidden(), entry.contains(entry.start));
                        }
                        Err(err) => assert!(err.line >= 1 && !err.reason.is_empty()),
                    }
                }
            }
        }
    }
}

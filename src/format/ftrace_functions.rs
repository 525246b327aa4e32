//! tracefs `available_filter_functions` and `available_filter_functions_addrs`:
//! the functions ftrace can attach to, which is what kprobes and fentry can
//! attach to by name. Pure, zero-copy parser over the file's text.
//!
//! Both files come from `t_show()` (kernel/trace/ftrace.c), one line per
//! `dyn_ftrace` record:
//!
//! ```text
//! if (iter->flags & FTRACE_ITER_ADDRS)        _addrs file only (Linux 6.5+)
//!         seq_printf(m, "%lx ", rec->ip);
//! print_rec(m, rec->ip);                      "%ps": NAME, or NAME [MODULE]
//! seq_putc(m, '\n');
//! ```
//!
//! - The address is `%lx`: lowercase hex without `0x` or zero padding. It is
//!   the patch site (`rec->ip`), which may sit a few bytes past the
//!   `/proc/kallsyms` address (after an `endbr64` with IBT).
//! - `%ps` appends ` [MODULE]` (a space, not kallsyms' tab) for module
//!   functions, via `__sprint_symbol()` in kernel/kallsyms.c.
//! - Kernels with `FTRACE_MCOUNT_MAX_OFFSET` (x86 and powerpc since 5.19,
//!   still present on 6.18) print `__ftrace_invalid_address___OFFSET` for a
//!   record whose address no longer falls inside its function (an overridden
//!   weak function). The record is disabled and cannot be traced, but it
//!   keeps its line: `set_ftrace_filter` accepts 1-based line numbers as
//!   indexes into this file. See [`FtraceFunction::is_invalid_placeholder`].
//!
//! Each line is read on its own, so one parser serves both files and a
//! concatenation of them. Blank lines are skipped; a malformed line is an
//! error for that line only.

use std::fmt;

use super::kallsyms::{clip, is_module_tag, module_tag, numbered_lines, parse_hex};

/// The name ftrace prints for a record it disabled (see the module docs).
const INVALID_PLACEHOLDER: &str = "__ftrace_invalid_address__";

/// One line: a function ftrace can trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FtraceFunction<'a> {
    /// As `%ps` prints it, clone suffixes included (`show_regs.part.0`).
    pub name: &'a str,
    /// The loadable module, without brackets; `None` for the core kernel.
    pub module: Option<&'a str>,
    /// The patch-site address, only in `available_filter_functions_addrs`.
    pub address: Option<u64>,
}

impl FtraceFunction<'_> {
    /// `__ftrace_invalid_address___OFFSET`: a disabled record that keeps its
    /// line so that index-based filters still count right. Not a function.
    pub fn is_invalid_placeholder(&self) -> bool {
        self.name.starts_with(INVALID_PLACEHOLDER)
    }
}

/// A line that is neither `NAME [MODULE]` nor `ADDRESS NAME [MODULE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtraceFunctionsError {
    /// 1-based, which is also the index `set_ftrace_filter` would use.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for FtraceFunctionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for FtraceFunctionsError {}

/// Parses either file lazily, deciding per line whether it carries an address.
pub fn parse_available_filter_functions(
    text: &str,
) -> impl Iterator<Item = Result<FtraceFunction<'_>, FtraceFunctionsError>> {
    numbered_lines(text).map(|(line, text)| {
        parse_line(text).map_err(|reason| FtraceFunctionsError { line, reason })
    })
}

fn parse_line(line: &str) -> Result<FtraceFunction<'_>, String> {
    let mut words = line.split_ascii_whitespace();
    // `numbered_lines` yields no blank lines, so there is a first word.
    let first = words.next().unwrap_or_default();
    let (second, third) = (words.next(), words.next());
    if words.next().is_some() {
        return Err(format!(
            "too many fields, expected 'NAME [MODULE]' or 'ADDRESS NAME [MODULE]': '{}'",
            clip(line)
        ));
    }
    // A bracketed last word is the module; a leading word before the name
    // must then be the address. Names never start with '[', so a name that
    // happens to be valid hex (`add`, `dec`) is not mistaken for an address
    // when it is followed by its module.
    let (address, name, module) = match (second, third) {
        (None, _) => (None, first, None),
        (Some(module), None) if is_module_tag(module) => (None, first, Some(module)),
        (Some(name), module) => {
            let address = parse_hex(first.as_bytes()).ok_or_else(|| {
                format!(
                    "expected 'NAME [MODULE]' or 'ADDRESS NAME', but '{}' is not a hex \
                     address and '{}' not a '[MODULE]' tag",
                    clip(first),
                    clip(name)
                )
            })?;
            (Some(address), name, module)
        }
    };
    if name.starts_with('[') {
        return Err(format!("no function name before '{}'", clip(name)));
    }
    let module = module.map(module_tag).transpose()?;
    Ok(FtraceFunction {
        name,
        module,
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mutate::mutations;

    // available_filter_functions answers EPERM on the Linux 6.18 x86_64
    // machine here, so these follow t_show()'s format with names and
    // addresses from that machine's /proc/kallsyms. The placeholder
    // sequence is trace-cmd `list -f` output from a 6.x x86_64 kernel.
    const PLAIN: &str = "wait_for_initramfs
__ftrace_invalid_address___64
calibration_delay_done
calibrate_delay
show_regs.part.0
vfs_read
ext4_fill_super [ext4]
";

    const ADDRS: &str = "ffffffff81202d30 show_regs.part.0
ffffffff8120fd60 test_for_valid_rec.isra.0
ffffffff816b8230 vfs_read
ffffffffc0a1b010 ext4_fill_super [ext4]
";

    fn all(text: &str) -> Vec<FtraceFunction<'_>> {
        parse_available_filter_functions(text)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn plain_form() {
        let functions = all(PLAIN);
        assert_eq!(functions.len(), 7);
        assert_eq!(
            functions[0],
            FtraceFunction {
                name: "wait_for_initramfs",
                module: None,
                address: None
            }
        );
        assert!(functions[1].is_invalid_placeholder());
        assert!(!functions[0].is_invalid_placeholder());
        assert_eq!(functions[4].name, "show_regs.part.0");
        assert_eq!(functions[6].name, "ext4_fill_super");
        assert_eq!(functions[6].module, Some("ext4"));
    }

    #[test]
    fn addrs_form() {
        let functions = all(ADDRS);
        assert_eq!(functions.len(), 4);
        assert_eq!(functions[2].address, Some(0xffff_ffff_816b_8230));
        assert_eq!(functions[2].name, "vfs_read");
        assert_eq!(functions[2].module, None);
        assert_eq!(functions[3].address, Some(0xffff_ffff_c0a1_b010));
        assert_eq!(functions[3].module, Some("ext4"));
    }

    #[test]
    fn forms_are_told_apart_per_line() {
        // A hex-looking name with a module is a name; a hex word before a
        // name is an address; %lx drops leading zeros; placeholders may carry
        // an address too.
        let text =
            "add [m]\nbad\nabc def\n1000 f [m]\nffffffff81000000 __ftrace_invalid_address___4\n";
        let functions = all(text);
        assert_eq!((functions[0].name, functions[0].address), ("add", None));
        assert_eq!(functions[0].module, Some("m"));
        assert_eq!((functions[1].name, functions[1].address), ("bad", None));
        assert_eq!(
            (functions[2].name, functions[2].address),
            ("def", Some(0xabc))
        );
        assert_eq!(functions[3].address, Some(0x1000));
        assert_eq!(functions[3].module, Some("m"));
        assert!(functions[4].is_invalid_placeholder());
        assert!(functions[4].address.is_some());
    }

    #[test]
    fn empty_and_newline_variants() {
        assert!(all("").is_empty());
        assert!(all("\n\n").is_empty());
        assert_eq!(all("vfs_read"), all("vfs_read\n"));
        assert_eq!(all("vfs_read\r\n")[0].name, "vfs_read");
    }

    #[test]
    fn malformed_lines_are_numbered_errors() {
        let text = "vfs_read
vfs_read ext4
xyz vfs_read
ffffffff816b8230 vfs_read ext4
ffffffff816b8230 vfs_read [ext4] more
[ext4]
ffffffff816b8230 [ext4] [ext4]
ffffffff816b8230 vfs_read []
1ffffffff816b8230 vfs_read
vfs_read [ext4]
";
        let results: Vec<_> = parse_available_filter_functions(text).collect();
        let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9]);
        assert!(
            errors[0].reason.contains("not a hex address"),
            "{}",
            errors[0]
        );
        assert!(errors[2].reason.contains("[MODULE]"), "{}", errors[2]);
        assert!(errors[3].reason.contains("too many"), "{}", errors[3]);
        assert!(
            errors[4].reason.contains("no function name"),
            "{}",
            errors[4]
        );
        assert!(
            errors[5].reason.contains("no function name"),
            "{}",
            errors[5]
        );
        assert!(errors[0].to_string().starts_with("line 2: "));
        assert_eq!(
            results.last().unwrap().as_ref().unwrap().module,
            Some("ext4")
        );
    }

    #[test]
    fn mutated_files_never_panic() {
        let alphabet = b"\t\n\r []0123456789abcdef._xyz\xc3\xa9";
        for original in [PLAIN, ADDRS] {
            for bytes in mutations(original.as_bytes(), alphabet, 4000) {
                let text = String::from_utf8_lossy(&bytes);
                for result in parse_available_filter_functions(&text) {
                    match result {
                        Ok(function) => {
                            assert!(!function.name.is_empty());
                            assert!(!function.name.starts_with('['));
                            assert!(function.module.is_none_or(|m| !m.is_empty()));
                            let _ = function.is_invalid_placeholder();
                        }
                        Err(err) => assert!(err.line >= 1 && !err.reason.is_empty()),
                    }
                }
            }
        }
    }
}

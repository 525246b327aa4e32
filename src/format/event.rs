//! The tracefs `events/CATEGORY/EVENT/format` file, parsed into a typed
//! record layout. Pure: takes the file's text, never touches the disk.
//!
//! The kernel writes the file in `trace_format_show()` (kernel/trace/trace_events.c):
//!
//! ```text
//! name: sched_switch
//! ID: 372
//! format:
//! \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
//! ...                                  (common fields, then one blank line)
//! \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
//! ...
//!
//! print fmt: "prev_comm=%s ...", REC->prev_comm, ...
//! ```
//!
//! Forms seen in the wild and handled here: pointers with any spacing
//! (`const char * filename`, `const void* p`, `void __seg_gs * addr`,
//! `const struct x *const y`), fixed arrays (`char comm[16]`), arrays whose
//! length is a macro on old kernels (`char comm[TASK_COMM_LEN]`), flexible
//! arrays (`unsigned long args[]`, size 0), `__data_loc char[] name` and
//! `__data_loc cpumask_t mask`, `__rel_loc` (Linux 5.17+), `signed:` missing
//! (kernels before 2.6.32), `field special:` (2.6.3x), declared types whose
//! size disagrees with `size:` (syscall arguments are stored as 8 bytes
//! whatever their C type), and events with no fields of their own.

use std::fmt;

use super::ctype::{is_pointer, known_scalar, POINTER_SIZE};

/// The record a tracepoint hands a BPF program, exactly as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointLayout {
    /// The `name:` line: the event name (without category).
    pub name: String,
    /// The `ID:` line: the perf event id, `perf_event_attr.config` for attaching.
    pub id: Option<u64>,
    /// Every field, common ones first, in file order.
    pub fields: Vec<Field>,
    /// The `print fmt:` text, verbatim (it may be very long).
    pub print_fmt: Option<String>,
}

impl TracepointLayout {
    /// Fields other than the common header (`common_type`, `common_pid`, ...).
    pub fn event_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| !f.common)
    }

    /// Where the last field ends: the fixed part of the record. Dynamic
    /// (`__data_loc`) payloads follow it at run time.
    pub fn fixed_size(&self) -> u64 {
        self.fields.iter().map(Field::end).max().unwrap_or(0)
    }
}

/// One `field:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The declaration as written, e.g. `const char * filename`, `char comm[16]`.
    pub decl: String,
    pub name: String,
    /// The C type without the name or array suffix, spacing as written:
    /// `const char *`, `char` (for `char comm[16]`), `char` (for `__data_loc char[]`).
    pub c_type: String,
    pub storage: Storage,
    pub offset: u64,
    pub size: u64,
    /// `None` when the line has no `signed:` (very old kernels).
    pub signed: Option<bool>,
    /// Part of the common header every event record starts with.
    pub common: bool,
}

impl Field {
    /// One past the last byte; saturating, since a hostile file may say
    /// `offset:18446744073709551615`.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.size)
    }

    /// The type as one would write it without the name: `char[16]`,
    /// `__data_loc char[]`, `const char *`.
    pub fn type_text(&self) -> String {
        match &self.storage {
            Storage::Scalar => self.c_type.clone(),
            Storage::Array(ArrayLen::Fixed(n)) => format!("{}[{n}]", self.c_type),
            Storage::Array(ArrayLen::Symbolic(s)) => format!("{}[{s}]", self.c_type),
            Storage::Array(ArrayLen::Flexible) => format!("{}[]", self.c_type),
            Storage::Dynamic {
                kind,
                element_is_array,
            } => {
                let suffix = if *element_is_array { "[]" } else { "" };
                format!("{} {}{suffix}", kind.keyword(), self.c_type)
            }
        }
    }

    pub fn is_dynamic(&self) -> bool {
        matches!(self.storage, Storage::Dynamic { .. })
    }

    /// The element count of an inline array; for a length the kernel left as
    /// a macro (`comm[TASK_COMM_LEN]`), derived from the size when the
    /// element type's size is known.
    pub fn array_len(&self) -> Option<u64> {
        match &self.storage {
            Storage::Array(ArrayLen::Fixed(n)) => Some(*n),
            Storage::Array(ArrayLen::Symbolic(_)) => {
                let element = known_scalar(&self.c_type)?.size;
                (self.size % element == 0).then_some(self.size / element)
            }
            _ => None,
        }
    }

    /// The size the declared type implies, when it is known and differs from
    /// what the record holds (syscall arguments: `int dfd` stored in 8 bytes).
    pub fn declared_size_mismatch(&self) -> Option<u64> {
        if !matches!(self.storage, Storage::Scalar) {
            return None;
        }
        let declared = if is_pointer(&self.c_type) {
            POINTER_SIZE
        } else {
            known_scalar(&self.c_type)?.size
        };
        (declared != self.size).then_some(declared)
    }
}

/// How a field holds its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A single value of `c_type`.
    Scalar,
    /// `c_type name[LEN]`: `size` bytes inline.
    Array(ArrayLen),
    /// A 32-bit word locating variable-length data elsewhere in the record:
    /// low 16 bits offset, high 16 bits length in bytes.
    Dynamic {
        kind: DynamicKind,
        /// Written as `char[]` rather than a bare type such as `cpumask_t`.
        element_is_array: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayLen {
    Fixed(u64),
    /// A macro name the kernel did not expand (`TASK_COMM_LEN` on old kernels).
    Symbolic(String),
    /// `[]`: a trailing flexible array, size 0.
    Flexible,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicKind {
    /// `__data_loc`: the offset counts from the start of the record.
    DataLoc,
    /// `__rel_loc` (Linux 5.17+): the offset counts from the end of this field.
    RelLoc,
}

impl DynamicKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DynamicKind::DataLoc => "__data_loc",
            DynamicKind::RelLoc => "__rel_loc",
        }
    }
}

/// Why a format file could not be read, with the 1-based line it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

impl std::error::Error for FormatError {}

fn error(line: usize, reason: impl Into<String>) -> FormatError {
    FormatError {
        line,
        reason: reason.into(),
    }
}

/// Parses one format file.
pub fn parse_format(text: &str) -> Result<TracepointLayout, FormatError> {
    let mut name = None;
    let mut id = None;
    let mut fields = Vec::new();
    let mut print_fmt = None;
    let mut seen_format = false;
    // The kernel separates the common header from the event's own fields
    // with one blank line; until we pass it, fields are common.
    let mut in_common = true;

    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    while let Some((number, raw)) = lines.next() {
        let line = raw.trim();
        if let Some(rest) = raw.strip_prefix("print fmt:") {
            // The rest of the file is the print format (one line in practice;
            // keep any further lines rather than guess).
            let mut fmt_text = rest.trim_start().to_string();
            for (_, more) in lines.by_ref() {
                if !more.is_empty() {
                    fmt_text.push('\n');
                    fmt_text.push_str(more);
                }
            }
            print_fmt = Some(fmt_text.trim_end().to_string());
            break;
        }
        if line.is_empty() {
            if seen_format && !fields.is_empty() {
                in_common = false;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("name:") {
            name = Some(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("ID:") {
            let value = rest.trim();
            id = Some(
                value
                    .parse()
                    .map_err(|_| error(number, format!("ID is not a number: '{value}'")))?,
            );
        } else if line == "format:" {
            seen_format = true;
        } else if line.starts_with("field:") || line.starts_with("field special:") {
            if !seen_format {
                return Err(error(number, "field line before 'format:'"));
            }
            let mut field = parse_field_line(line).map_err(|reason| error(number, reason))?;
            // Files without the blank separator still name their header fields common_*.
            field.common = in_common && field.name.starts_with("common_");
            if !field.common {
                in_common = false;
            }
            fields.push(field);
        } else {
            return Err(error(number, format!("unexpected line: '{}'", clip(line))));
        }
    }

    let name = name.ok_or_else(|| error(0, "no 'name:' line (empty or not a format file)"))?;
    if !seen_format {
        return Err(error(0, "no 'format:' section (file truncated?)"));
    }
    if print_fmt.is_none() {
        // The kernel always ends the file with `print fmt:`; without it the
        // field list may be cut short too, so the layout cannot be trusted.
        return Err(error(0, "no 'print fmt:' line: the file is truncated"));
    }
    Ok(TracepointLayout {
        name,
        id,
        fields,
        print_fmt,
    })
}

/// `field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;` (trimmed).
fn parse_field_line(line: &str) -> Result<Field, String> {
    let body = line
        .strip_prefix("field special:")
        .or_else(|| line.strip_prefix("field:"))
        .expect("caller checked the prefix");
    let mut parts = body.split(';').map(str::trim);
    let decl = parts.next().unwrap_or("").trim();
    if decl.is_empty() {
        return Err("field has no declaration".into());
    }
    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in parts.filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(|| {
            format!(
                "incomplete field line, '{}' is not 'key:value' (file truncated?)",
                clip(part)
            )
        })?;
        let number = || -> Result<u64, String> {
            value
                .trim()
                .parse()
                .map_err(|_| format!("{key} is not a number: '{}'", clip(value)))
        };
        match key.trim() {
            "offset" => offset = Some(number()?),
            "size" => size = Some(number()?),
            "signed" => signed = Some(number()? != 0),
            // Unknown keys are tolerated: future kernels may add some.
            _ => {}
        }
    }
    let offset = offset.ok_or_else(|| format!("field '{decl}' has no offset (line truncated?)"))?;
    let size = size.ok_or_else(|| format!("field '{decl}' has no size (line truncated?)"))?;
    let decl_parts = parse_declaration(decl)?;
    Ok(Field {
        decl: decl.to_string(),
        name: decl_parts.name,
        c_type: decl_parts.c_type,
        storage: decl_parts.storage,
        offset,
        size,
        signed,
        common: false,
    })
}

struct Declaration {
    name: String,
    c_type: String,
    storage: Storage,
}

/// Splits `TYPE NAME[LEN]` into its parts.
fn parse_declaration(decl: &str) -> Result<Declaration, String> {
    let (dynamic, rest) = if let Some(rest) = decl.strip_prefix("__data_loc ") {
        (Some(DynamicKind::DataLoc), rest.trim_start())
    } else if let Some(rest) = decl.strip_prefix("__rel_loc ") {
        (Some(DynamicKind::RelLoc), rest.trim_start())
    } else {
        (None, decl)
    };

    // An array suffix belongs to the name for fixed arrays (`comm[16]`) and to
    // the type for dynamic ones (`char[] name`).
    let (before_suffix, array) = match rest.strip_suffix(']') {
        Some(inner) => {
            let open = inner
                .rfind('[')
                .ok_or_else(|| format!("unbalanced ']' in '{decl}'"))?;
            (&inner[..open], Some(inner[open + 1..].trim()))
        }
        None => (rest, None),
    };
    let name_start = before_suffix
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let name = &before_suffix[name_start..];
    let c_type = before_suffix[..name_start].trim_end();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("no field name in '{decl}'"));
    }
    if c_type.is_empty() {
        return Err(format!("no type in '{decl}'"));
    }

    let storage = match (dynamic, array) {
        (Some(kind), None) => {
            // `__data_loc char[] name`: the `[]` sits on the type.
            let (elem, is_array) = match c_type.strip_suffix("[]") {
                Some(e) => (e.trim_end(), true),
                None => (c_type, false),
            };
            return Ok(Declaration {
                name: name.to_string(),
                c_type: elem.to_string(),
                storage: Storage::Dynamic {
                    kind,
                    element_is_array: is_array,
                },
            });
        }
        (Some(_), Some(_)) => return Err(format!("dynamic field with an array name in '{decl}'")),
        (None, None) => Storage::Scalar,
        (None, Some("")) => Storage::Array(ArrayLen::Flexible),
        (None, Some(len)) => Storage::Array(match len.parse() {
            Ok(n) => ArrayLen::Fixed(n),
            Err(_) => ArrayLen::Symbolic(len.to_string()),
        }),
    };
    Ok(Declaration {
        name: name.to_string(),
        c_type: c_type.to_string(),
        storage,
    })
}

/// Keeps quoted input short in messages. Control characters stay as they
/// are: the printers escape them for terminals, JSON escapes them itself.
fn clip(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mutate::mutations;

    // Captured from /sys/kernel/tracing/events/sched/sched_switch/format, Linux 6.18 x86_64.
    const SCHED_SWITCH: &str = "name: sched_switch\nID: 372\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
\n\
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\
\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\
\n\
print fmt: \"prev_comm=%s prev_pid=%d\", REC->prev_comm, REC->prev_pid\n";

    // Captured from events/syscalls/sys_enter_openat/format, Linux 6.18 x86_64:
    // `int dfd` is stored in 8 bytes, like every syscall argument.
    const SYS_ENTER_OPENAT: &str = "name: sys_enter_openat\nID: 782\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\
\n\
print fmt: \"dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx\", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))\n";

    fn field<'a>(layout: &'a TracepointLayout, name: &str) -> &'a Field {
        layout.fields.iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn sched_switch() {
        let layout = parse_format(SCHED_SWITCH).unwrap();
        assert_eq!(layout.name, "sched_switch");
        assert_eq!(layout.id, Some(372));
        assert_eq!(layout.fields.len(), 11);
        assert_eq!(layout.fields.iter().filter(|f| f.common).count(), 4);
        let comm = field(&layout, "prev_comm");
        assert_eq!(comm.c_type, "char");
        assert_eq!(comm.storage, Storage::Array(ArrayLen::Fixed(16)));
        assert_eq!((comm.offset, comm.size, comm.signed), (8, 16, Some(false)));
        assert_eq!(comm.type_text(), "char[16]");
        let pid = field(&layout, "next_pid");
        assert_eq!(
            (pid.c_type.as_str(), pid.offset, pid.signed),
            ("pid_t", 56, Some(true))
        );
        assert_eq!(layout.fixed_size(), 64);
        assert!(layout.print_fmt.unwrap().starts_with("\"prev_comm=%s"));
    }

    #[test]
    fn syscall_arguments_wider_than_their_type() {
        let layout = parse_format(SYS_ENTER_OPENAT).unwrap();
        let dfd = field(&layout, "dfd");
        assert_eq!(
            (dfd.c_type.as_str(), dfd.size, dfd.signed),
            ("int", 8, Some(false))
        );
        let filename = field(&layout, "filename");
        assert_eq!(filename.c_type, "const char *");
        assert_eq!(filename.decl, "const char * filename");
        assert_eq!(layout.event_fields().count(), 5);
    }

    #[test]
    fn declarations_of_every_shape() {
        let cases: &[(&str, &str, &str, Storage)] = &[
            ("const void* p", "p", "const void*", Storage::Scalar),
            (
                "void __seg_gs * addr",
                "addr",
                "void __seg_gs *",
                Storage::Scalar,
            ),
            (
                "const struct landlock_ruleset_attr *const attr",
                "attr",
                "const struct landlock_ruleset_attr *const",
                Storage::Scalar,
            ),
            (
                "unsigned long args[]",
                "args",
                "unsigned long",
                Storage::Array(ArrayLen::Flexible),
            ),
            (
                "char comm[TASK_COMM_LEN]",
                "comm",
                "char",
                Storage::Array(ArrayLen::Symbolic("TASK_COMM_LEN".into())),
            ),
            (
                "__data_loc char[] name",
                "name",
                "char",
                Storage::Dynamic {
                    kind: DynamicKind::DataLoc,
                    element_is_array: true,
                },
            ),
            (
                "__data_loc cpumask_t mask",
                "mask",
                "cpumask_t",
                Storage::Dynamic {
                    kind: DynamicKind::DataLoc,
                    element_is_array: false,
                },
            ),
            (
                "__rel_loc u8[] buf",
                "buf",
                "u8",
                Storage::Dynamic {
                    kind: DynamicKind::RelLoc,
                    element_is_array: true,
                },
            ),
            (
                "unsigned int x[10]",
                "x",
                "unsigned int",
                Storage::Array(ArrayLen::Fixed(10)),
            ),
        ];
        for (decl, name, ty, storage) in cases {
            let d = parse_declaration(decl).unwrap();
            assert_eq!((d.name.as_str(), d.c_type.as_str()), (*name, *ty), "{decl}");
            assert_eq!(&d.storage, storage, "{decl}");
        }
        for bad in ["int", "x]", "int 5", "__data_loc char[] x[3]"] {
            assert!(parse_declaration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn type_text_round_trips_dynamic_fields() {
        let text = "name: x\nID: 1\nformat:\n\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:__rel_loc cpumask_t m;\toffset:12;\tsize:4;\tsigned:0;\n\nprint fmt: \"\"\n";
        let layout = parse_format(text).unwrap();
        assert_eq!(layout.fields[0].type_text(), "__data_loc char[]");
        assert_eq!(layout.fields[1].type_text(), "__rel_loc cpumask_t");
        // No blank line before them and no common_ prefix: event fields.
        assert!(layout.fields.iter().all(|f| !f.common));
    }

    #[test]
    fn old_kernels_without_signed_and_with_field_special() {
        // Shape of Linux 2.6.31 files: `field special:` for the header, no `signed:`.
        let text = "name: sched_switch\nID: 29\nformat:\n\
\tfield special:unsigned short common_type;\toffset:0;\tsize:2;\n\
\tfield special:int common_pid;\toffset:4;\tsize:4;\n\
\n\
\tfield:char prev_comm[TASK_COMM_LEN];\toffset:12;\tsize:16;\n\
\n\
print fmt: \"task %s\", REC->prev_comm\n";
        let layout = parse_format(text).unwrap();
        assert_eq!(layout.fields.len(), 3);
        assert!(layout.fields[0].common);
        assert_eq!(layout.fields[0].signed, None);
        assert_eq!(
            layout.fields[2].storage,
            Storage::Array(ArrayLen::Symbolic("TASK_COMM_LEN".into()))
        );
    }

    #[test]
    fn event_without_fields_of_its_own() {
        let text = "name: cpu_idle_miss\nID: 9\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\n\
print fmt: \"%s\", \"\"\n";
        let layout = parse_format(text).unwrap();
        assert_eq!(layout.event_fields().count(), 0);
        assert_eq!(layout.fields.len(), 1);
    }

    #[test]
    fn multi_line_print_fmt_is_kept() {
        let text = "name: a\nID: 1\nformat:\n\nprint fmt: \"x\",\n  REC->y\n";
        let layout = parse_format(text).unwrap();
        assert_eq!(layout.print_fmt.as_deref(), Some("\"x\",\n  REC->y"));
    }

    /// Thousands of deterministic mutations of real files (byte flips,
    /// truncations, spliced lines): the parser must return, never panic, and
    /// whatever it accepts must be self-consistent. The cargo-fuzz target in
    /// fuzz/ explores further; this keeps the property checked in every run.
    #[test]
    fn mutated_files_never_panic() {
        let alphabet = b"\t\n :;[]*0123456789-_abcfieldoffsetsignedprint fmt:__data_loc";
        for original in [SCHED_SWITCH, SYS_ENTER_OPENAT] {
            for bytes in mutations(original.as_bytes(), alphabet, 4000) {
                let text = String::from_utf8_lossy(&bytes);
                if let Ok(layout) = parse_format(&text) {
                    for field in &layout.fields {
                        assert!(!field.name.is_empty() && !field.c_type.is_empty());
                        let _ = (
                            field.type_text(),
                            field.array_len(),
                            field.declared_size_mismatch(),
                        );
                    }
                    let _ = layout.fixed_size();
                }
            }
        }
    }

    #[test]
    fn broken_files_are_errors_not_panics() {
        // Cut in the middle of a field line, as a short read would leave it.
        let truncated = &SCHED_SWITCH[..SCHED_SWITCH.find("prev_pid").unwrap() + 12];
        let err = parse_format(truncated).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let cut_after_decl = &SCHED_SWITCH[..SCHED_SWITCH.find("prev_pid").unwrap() + 9];
        let err = parse_format(cut_after_decl).unwrap_err();
        assert!(err.to_string().contains("no offset"), "{err}");

        let no_print = SCHED_SWITCH.split("print fmt").next().unwrap();
        assert!(parse_format(no_print)
            .unwrap_err()
            .to_string()
            .contains("truncated"));

        assert!(parse_format("")
            .unwrap_err()
            .to_string()
            .contains("no 'name:'"));
        assert!(parse_format("\u{0}\u{1}garbage")
            .unwrap_err()
            .to_string()
            .contains("unexpected line"));
        let bad_offset = SCHED_SWITCH.replace("offset:24", "offset:x4");
        let err = parse_format(&bad_offset).unwrap_err();
        assert_eq!(err.line, 10);
        assert!(err.reason.contains("offset is not a number"), "{err}");
        let huge =
            SCHED_SWITCH.replace("offset:60;\tsize:4", "offset:18446744073709551615;\tsize:4");
        assert_eq!(parse_format(&huge).unwrap().fixed_size(), u64::MAX);
        let bad_id = SCHED_SWITCH.replace("ID: 372", "ID: -1");
        assert!(parse_format(&bad_id).is_err());
        let early = "name: a\n\tfield:int x;\toffset:0;\tsize:4;\tsigned:1;\n";
        assert!(parse_format(early)
            .unwrap_err()
            .reason
            .contains("before 'format:'"));
    }
}

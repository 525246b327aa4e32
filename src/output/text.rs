//! Human and bpftrace-compatible text. `list` output must stay byte-for-byte
//! what `bpftrace -l`/`-lv` print, so scripts written for bpftrace keep working.

use std::borrow::Cow;
use std::io::{self, Write};

use super::Style;
use crate::format::btf_c::Signature;
use crate::format::event::{DynamicKind, Field, Storage, TracepointLayout};
use crate::format::record_btf::{FieldCheck, Found, RecordStruct};
use crate::probe::{ProbeKind, TracepointId};

/// Replaces control characters so that a hostile name in a captured tree
/// cannot move the cursor or rewrite the terminal.
pub fn printable(text: &str) -> Cow<'_, str> {
    if has_control(text) {
        Cow::Owned(
            text.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether `text` holds a control character (what [`printable`] escapes).
/// Only a C0 control byte, DEL, or 0xC2 (which starts the C1 controls
/// U+0080..U+009F) can begin one, so the bytes are scanned first, without
/// stopping early so the loop vectorizes; decoding chars for every name was
/// 11% of listing node's 85,000 uprobes.
pub fn has_control(text: &str) -> bool {
    let suspect = text.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == 0x7f) | (b == 0xc2)
    });
    suspect && text.chars().any(char::is_control)
}

/// `tracepoint:CATEGORY:EVENT`
pub fn write_probe(out: &mut dyn Write, id: &TracepointId) -> io::Result<()> {
    writeln!(
        out,
        "tracepoint:{}:{}",
        printable(&id.category),
        printable(&id.event)
    )
}

/// `bpftrace -lv`: the probe, then each event field's declaration as the
/// format file writes it, indented four spaces; common fields left out.
pub fn write_probe_verbose(
    out: &mut dyn Write,
    id: &TracepointId,
    layout: &TracepointLayout,
) -> io::Result<()> {
    write_probe(out, id)?;
    for field in layout.event_fields() {
        writeln!(out, "    {}", printable(&field.decl))?;
    }
    Ok(())
}

/// A kernel function or raw tracepoint under `list -v`, as `bpftrace -lv`
/// prints fentry: one `TYPE NAME` line per argument the program receives,
/// and `TYPE retval` where the return value is available (fexit,
/// kretprobe; kretprobe gets only that).
pub fn write_signature_lines(
    out: &mut dyn Write,
    kind: ProbeKind,
    signature: &Signature,
) -> io::Result<()> {
    if kind != ProbeKind::Kretprobe {
        for arg in &signature.params {
            writeln!(
                out,
                "    {} {}",
                printable(&arg.type_name),
                printable(&arg.name)
            )?;
        }
        if signature.varargs {
            writeln!(out, "    ...")?;
        }
    }
    if matches!(kind, ProbeKind::Fexit | ProbeKind::Kretprobe) && signature.return_type != "void" {
        writeln!(out, "    {} retval", printable(&signature.return_type))?;
    }
    Ok(())
}

/// The rich view of one tracepoint.
pub fn write_show(
    out: &mut dyn Write,
    id: &TracepointId,
    layout: &TracepointLayout,
    format_path: &str,
    record: Option<&RecordCheck<'_>>,
    style: Style,
) -> io::Result<()> {
    writeln!(out, "{}", style.bold(&printable(&id.probe_name())))?;
    if let Some(n) = layout.id {
        writeln!(
            out,
            "  id        {n}   (perf_event_attr.config for PERF_TYPE_TRACEPOINT)"
        )?;
    }
    writeln!(out, "  format    {}", printable(format_path))?;
    let common_end = layout
        .fields
        .iter()
        .filter(|f| f.common)
        .map(Field::end)
        .max()
        .unwrap_or(0);
    let fixed = layout.fixed_size();
    let dynamic = layout.fields.iter().filter(|f| f.is_dynamic()).count();
    write!(
        out,
        "  record    {fixed} bytes fixed ({common_end} common header + {} event)",
        fixed.saturating_sub(common_end)
    )?;
    if dynamic > 0 {
        write!(out, ", then the data of {dynamic} dynamic field(s)")?;
    }
    writeln!(out)?;
    writeln!(out)?;

    let rows = rows(id, layout);
    let type_width = rows
        .iter()
        .map(|r| r.type_text.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let name_width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "{:>6} {:>5}  {:<6}  {:<type_width$}  {:<name_width$}  NOTE",
            "OFFSET", "SIZE", "SIGNED", "TYPE", "NAME"
        ))
    )?;
    for row in &rows {
        let line = format!(
            "{:>6} {:>5}  {:<6}  {:<type_width$}  {:<name_width$}  {}",
            row.offset,
            row.size,
            row.signed,
            printable(&row.type_text),
            printable(&row.name),
            row.note
        );
        let line = line.trim_end();
        if row.is_padding || row.common {
            writeln!(out, "  {}", style.dim(line))?;
        } else {
            writeln!(out, "  {line}")?;
        }
    }
    if let Some(record) = record {
        writeln!(out)?;
        write_record_check(out, record)?;
    }
    if let Some(print_fmt) = &layout.print_fmt {
        writeln!(out)?;
        writeln!(out, "  print fmt: {}", printable(print_fmt))?;
    }
    Ok(())
}

/// What BTF says about the record, for `show`: the struct vmlinux.h users
/// take as the context (None when BTF has none that matches), and where it
/// came from.
#[derive(Debug)]
pub struct RecordCheck<'a> {
    pub record: Option<&'a RecordStruct>,
    pub module: &'a str,
}

fn write_record_check(out: &mut dyn Write, check: &RecordCheck<'_>) -> io::Result<()> {
    let Some(record) = check.record else {
        return writeln!(
            out,
            "  vmlinux.h  no struct trace_event_raw_* in BTF matches these fields: declare the \
             context yourself (`probedex show --emit c`)"
        );
    };
    let bad: Vec<&FieldCheck> = record.fields.iter().filter(|f| !f.agrees()).collect();
    let verdict = if bad.is_empty() {
        format!(
            "all {} fields at the same offsets and sizes",
            record.fields.len()
        )
    } else {
        format!(
            "{} of {} fields DISAGREE with the format file",
            bad.len(),
            record.fields.len()
        )
    };
    // vmlinux.h holds vmlinux's types; a module's come from its own BTF.
    let label = if check.module == "vmlinux" {
        "vmlinux.h"
    } else {
        "BTF      "
    };
    writeln!(
        out,
        "  {label}  struct {} ({}, {} bytes): {verdict}",
        printable(&record.name),
        printable(check.module),
        record.size
    )?;
    match &record.found {
        Found::Class(class) => writeln!(
            out,
            "             the struct of this event's class `{}`",
            printable(class)
        )?,
        Found::Syscall => {
            let args: Vec<String> = record
                .fields
                .iter()
                .filter(|f| f.member.as_deref().is_some_and(|m| m.starts_with("args[")))
                .map(|f| format!("{} = {}", f.field, f.member.as_deref().unwrap_or("")))
                .collect();
            if !args.is_empty() {
                writeln!(out, "             {}", printable(&args.join(", ")))?;
            }
            let side = if record.name.ends_with("exit") {
                "exit"
            } else {
                "enter"
            };
            writeln!(
                out,
                "             (vmlinux.h's trace_event_raw_sys_{side} reads the same record, but \
                 its `long id` is 8 bytes where this record holds a 4-byte nr)"
            )?;
        }
        Found::OwnClass | Found::Given => {}
    }
    for f in bad {
        let btf = match (f.btf_offset, f.btf_size) {
            (Some(offset), Some(size)) => format!("offset {offset}, size {size}"),
            (Some(offset), None) => format!("offset {offset}"),
            _ => "no such member".to_string(),
        };
        writeln!(
            out,
            "             {}: format offset {}, size {}; BTF {} {btf}",
            printable(&f.field),
            f.format_offset,
            f.format_size,
            printable(f.member.as_deref().unwrap_or("-"))
        )?;
    }
    Ok(())
}

struct Row {
    offset: u64,
    size: u64,
    signed: &'static str,
    type_text: String,
    name: String,
    note: String,
    common: bool,
    is_padding: bool,
}

fn rows(id: &TracepointId, layout: &TracepointLayout) -> Vec<Row> {
    let mut rows = Vec::with_capacity(layout.fields.len() + 4);
    let mut cursor = 0;
    for field in &layout.fields {
        if field.offset > cursor {
            rows.push(Row {
                offset: cursor,
                size: field.offset - cursor,
                signed: "",
                type_text: String::new(),
                name: String::new(),
                note: "(padding)".into(),
                common: false,
                is_padding: true,
            });
        }
        let overlaps = field.offset < cursor;
        let mut note = note(id, field);
        if overlaps {
            // Never in a kernel-written file; a corrupted capture can say so.
            let warning = format!("OVERLAPS the previous field (which ends at {cursor})");
            note = if note.is_empty() {
                warning
            } else {
                format!("{warning}; {note}")
            };
        }
        cursor = cursor.max(field.end());
        rows.push(Row {
            offset: field.offset,
            size: field.size,
            signed: match field.signed {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            },
            type_text: field.type_text(),
            name: field.name.clone(),
            note,
            common: field.common,
            is_padding: false,
        });
    }
    rows
}

/// What a BPF program author needs to know to read this field correctly.
fn note(id: &TracepointId, field: &Field) -> String {
    if field.common {
        return "common header".into();
    }
    match &field.storage {
        Storage::Dynamic { kind, .. } => {
            let base = match kind {
                DynamicKind::DataLoc => "record".to_string(),
                DynamicKind::RelLoc => format!("record + {}", field.end()),
            };
            format!("u32 locator: data at {base} + (v & 0xffff), length v >> 16 bytes")
        }
        Storage::Array(_) => match field.array_len() {
            Some(n) if n > 0 => format!("{n} x {} bytes inline", field.size / n),
            _ if field.size == 0 => "flexible array: the rest of the record".into(),
            _ => String::new(),
        },
        Storage::Scalar => {
            let mut notes = Vec::new();
            if let Some(declared) = field.declared_size_mismatch() {
                notes.push(format!(
                    "{} is {declared} bytes but the record holds {}: cast to ({})",
                    field.c_type, field.size, field.c_type
                ));
            }
            if crate::format::ctype::is_pointer(&field.c_type) {
                if field.c_type.contains("__seg_gs") || field.c_type.contains("__percpu") {
                    // An offset into the per-CPU area, not an address.
                    notes.push("per-CPU pointer: bpf_per_cpu_ptr / bpf_this_cpu_ptr".into());
                } else if id.category == "syscalls" {
                    // sys_enter_* arguments are the user's syscall arguments.
                    notes.push("user pointer: bpf_probe_read_user".into());
                } else {
                    notes.push("kernel pointer: bpf_probe_read_kernel".into());
                }
            }
            notes.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::event::parse_format;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        // C1 controls are two bytes, 0xC2 then 0x80..0x9F; other 0xC2
        // characters (U+00A0..U+00BF) are not controls.
        assert!(has_control("a\u{85}b") && has_control("\u{7f}") && has_control("\t"));
        assert!(!has_control("caf\u{e9} \u{a0}\u{bf} \u{ff}"));
        assert!(matches!(printable("\u{a9}"), Cow::Borrowed(_)));
    }

    #[test]
    fn show_marks_padding_widening_and_data_loc() {
        // Shape of Linux 6.18's syscalls/sys_enter_openat plus one __data_loc field.
        let text = "name: sys_enter_x\nID: 5\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:__data_loc char[] name;\toffset:32;\tsize:4;\tsigned:0;\n\n\
print fmt: \"%d\", REC->dfd\n";
        let layout = parse_format(text).unwrap();
        let id = TracepointId::new("syscalls", "sys_enter_x");
        let mut out = Vec::new();
        write_show(&mut out, &id, &layout, "F", None, Style::plain()).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("record    36 bytes fixed (8 common header + 28 event)"),
            "{out}"
        );
        let padding = out
            .lines()
            .find(|l| l.trim_start().starts_with("12 "))
            .unwrap();
        assert!(padding.trim_start().starts_with("12     4"), "{padding}");
        assert!(padding.ends_with("(padding)"), "{padding}");
        assert!(
            out.contains("int is 4 bytes but the record holds 8"),
            "{out}"
        );
        assert!(out.contains("user pointer"), "{out}");
        assert!(out.contains("data at record + (v & 0xffff)"), "{out}");
        assert!(out.contains("print fmt: \"%d\", REC->dfd"), "{out}");
    }
}

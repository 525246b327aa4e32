//! `show --emit c`: a C struct a BPF program can take as a tracepoint's
//! context, laid out byte for byte as the format file says.
//!
//! Rules, each for a reason:
//! * Members are spelled so the struct compiles with `<linux/types.h>` alone
//!   as well as with vmlinux.h: C's own types, `__u8`..`__s64`, and pointers
//!   to them or to struct/union/enum tags. A kernel typedef (`pid_t`,
//!   `xfs_ino_t`) becomes the fixed-width integer of the field's size and
//!   signedness, with the declared type in a comment.
//! * The field's `size:` wins over its declared type: syscall tracepoints
//!   declare `int dfd` but store 8 bytes, so the member is `__u64` and the
//!   comment says to read it as `(int)`.
//! * Holes become explicit `__u8 __pad_OFFSET[N]` members, so nothing relies
//!   on the compiler's padding agreeing with the kernel's.
//! * A field at an offset its member type could not have under natural
//!   alignment gets `__attribute__((packed))` on that member alone.
//! * `__data_loc`/`__rel_loc` fields are the `__u32` locator word the record
//!   really holds; the comment says how to find the data.

use std::fmt;
use std::fmt::Write as _;

use crate::format::ctype::{fixed_width_name, is_pointer, known_scalar, pointer_is_portable};
use crate::format::event::{ArrayLen, DynamicKind, Field, Storage, TracepointLayout};
use crate::probe::TracepointId;

/// Why a layout cannot be written as a C struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitError {
    pub reason: String,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for EmitError {}

/// The struct's tag: `tp_CATEGORY__EVENT`, with anything that is not an
/// identifier character replaced by `_` (categories such as `9p` are fine
/// after the prefix).
pub fn struct_name(id: &TracepointId) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    format!("tp_{}__{}", clean(&id.category), clean(&id.event))
}

struct Member {
    /// The declaration without the semicolon: `const char *filename`.
    decl: String,
    offset: u64,
    size: u64,
    note: Option<String>,
}

/// The whole C text for one tracepoint: a comment header and the struct.
pub fn c_struct(
    id: &TracepointId,
    layout: &TracepointLayout,
    source: &str,
) -> Result<String, EmitError> {
    let mut members = Vec::new();
    let mut cursor = 0u64;
    let mut names = std::collections::HashSet::new();
    let last = layout.fields.len().saturating_sub(1);
    for (index, field) in layout.fields.iter().enumerate() {
        if !names.insert(field.name.as_str()) {
            return Err(EmitError {
                reason: format!("field '{}' appears twice", field.name),
            });
        }
        if field.offset < cursor {
            return Err(EmitError {
                reason: format!(
                    "field '{}' at offset {} overlaps the previous field, which ends at {cursor}",
                    field.name, field.offset
                ),
            });
        }
        if field.offset > cursor {
            members.push(Member {
                decl: format!("__u8 __pad_{cursor}[{}]", field.offset - cursor),
                offset: cursor,
                size: field.offset - cursor,
                note: Some("padding".into()),
            });
        }
        members.push(member(field, index == last));
        cursor = field.end();
    }

    let name = struct_name(id);
    let mut text = String::new();
    let _ = writeln!(text, "/*");
    let _ = writeln!(
        text,
        " * {}{}",
        id,
        layout.id.map(|n| format!(" (ID {n})")).unwrap_or_default()
    );
    let _ = writeln!(text, " * from {source}");
    let _ = writeln!(
        text,
        " * fixed part of the record: {} bytes; needs <linux/types.h> or vmlinux.h",
        layout.fixed_size()
    );
    let _ = writeln!(
        text,
        " * SEC(\"tracepoint/{}/{}\") int prog(struct {name} *ctx)",
        id.category, id.event
    );
    let _ = writeln!(text, " */");
    let _ = writeln!(text, "struct {name} {{");
    let width = members.iter().map(|m| m.decl.len() + 1).max().unwrap_or(0);
    for m in &members {
        let statement = format!("{};", m.decl);
        let _ = write!(
            text,
            "\t{statement:<width$} /* offset {:>3}, size {}",
            m.offset, m.size
        );
        if let Some(note) = &m.note {
            let _ = write!(text, ": {}", note.replace("*/", "* /"));
        }
        let _ = writeln!(text, " */");
    }
    let _ = writeln!(text, "}};");
    Ok(text)
}

fn member(field: &Field, is_last: bool) -> Member {
    let (decl, natural_align, note) = member_decl(field, is_last);
    let packed = natural_align > 1 && field.offset % natural_align != 0;
    let decl = if packed {
        format!("{decl} __attribute__((packed))")
    } else {
        decl
    };
    let note = match (note, packed) {
        (note, false) => note,
        (Some(n), true) => Some(format!("{n}; unaligned in the record")),
        (None, true) => Some("unaligned in the record".into()),
    };
    Member {
        decl,
        offset: field.offset,
        size: field.size,
        note,
    }
}

/// `(declaration, natural alignment, note)` for one field.
fn member_decl(field: &Field, is_last: bool) -> (String, u64, Option<String>) {
    let name = &field.name;
    let signed = field.signed;
    let bytes = || {
        (
            format!("__u8 {name}[{}]", field.size),
            1,
            Some(format!(
                "declared '{}'; no portable type of {} bytes",
                field.decl, field.size
            )),
        )
    };
    match &field.storage {
        Storage::Dynamic { kind, .. } => {
            if field.size != 4 {
                return bytes();
            }
            let from = match kind {
                DynamicKind::DataLoc => "the record start",
                DynamicKind::RelLoc => "the end of this field",
            };
            (
                format!("__u32 {name}"),
                4,
                Some(format!(
                    "{}: data at ({} & 0xffff) from {from}, length ({} >> 16)",
                    field.type_text(),
                    name,
                    name
                )),
            )
        }
        Storage::Scalar if is_pointer(&field.c_type) => {
            let ty = normalise_pointer(&field.c_type);
            if field.size == 8 && pointer_is_portable(&field.c_type) {
                (join(&ty, name), 8, None)
            } else {
                match fixed_width_name(field.size, false) {
                    Some(fixed) => (
                        format!("{fixed} {name}"),
                        field.size,
                        Some(format!("declared '{}'", field.c_type)),
                    ),
                    None => bytes(),
                }
            }
        }
        Storage::Scalar => match known_scalar(&field.c_type) {
            Some(k) if k.size == field.size && k.portable => {
                (format!("{} {name}", collapse(&field.c_type)), k.size, None)
            }
            known => {
                let signed = signed.or(known.map(|k| k.signed)).unwrap_or(false);
                let Some(fixed) = fixed_width_name(field.size, signed) else {
                    return bytes();
                };
                let note = match known {
                    Some(k) if k.size != field.size => format!(
                        "declared '{}' ({} bytes) but the record holds {}: read it as ({})",
                        field.c_type, k.size, field.size, field.c_type
                    ),
                    _ => format!("declared '{}'", field.c_type),
                };
                (format!("{fixed} {name}"), field.size, Some(note))
            }
        },
        Storage::Array(len) => {
            let elements = match len {
                ArrayLen::Flexible => None,
                _ => field.array_len().filter(|&n| n > 0),
            };
            let known = known_scalar(&field.c_type);
            let suffix = |n: Option<u64>| match n {
                Some(n) => format!("[{n}]"),
                // C allows `[]` only as the last member; GNU C's `[0]` anywhere.
                None if is_last => "[]".to_string(),
                None => "[0]".to_string(),
            };
            let element_size = match (elements, known) {
                (Some(n), _) if field.size % n == 0 => Some(field.size / n),
                (None, Some(k)) => Some(k.size),
                _ => None,
            };
            match (element_size, known) {
                (Some(es), Some(k)) if k.portable && k.size == es => (
                    format!("{} {name}{}", collapse(&field.c_type), suffix(elements)),
                    es,
                    None,
                ),
                (Some(es), _) => {
                    let elem_signed = signed.or(known.map(|k| k.signed)).unwrap_or(false);
                    match fixed_width_name(es, elem_signed) {
                        Some(fixed) => (
                            format!("{fixed} {name}{}", suffix(elements)),
                            es,
                            Some(format!("declared '{}'", field.decl)),
                        ),
                        None if elements.is_some() => bytes(),
                        None => (
                            format!("__u8 {name}{}", suffix(None)),
                            1,
                            Some(format!("declared '{}'", field.decl)),
                        ),
                    }
                }
                (None, _) if elements.is_none() => (
                    format!("__u8 {name}{}", suffix(None)),
                    1,
                    Some(format!("declared '{}'", field.decl)),
                ),
                (None, _) => bytes(),
            }
        }
    }
}

/// `const void*` → `const void *`, `struct x * *` → `struct x **`.
fn normalise_pointer(c_type: &str) -> String {
    let spaced = collapse(&c_type.replace('*', " * "));
    let mut out = spaced.replace("* *", "**");
    while out.contains("* *") {
        out = out.replace("* *", "**");
    }
    out
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn join(pointer_type: &str, name: &str) -> String {
    if pointer_type.ends_with('*') {
        format!("{pointer_type}{name}")
    } else {
        format!("{pointer_type} {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::event::parse_format;

    fn emit(fields: &str) -> String {
        let text = format!("name: e\nID: 7\nformat:\n{fields}\nprint fmt: \"\"\n");
        let layout = parse_format(&text).unwrap();
        c_struct(&TracepointId::new("cat", "e"), &layout, "test").unwrap()
    }

    #[test]
    fn syscall_argument_widened_with_a_note() {
        let c = emit("\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n");
        assert!(c.contains("struct tp_cat__e {"), "{c}");
        assert!(c.contains("__u8 __pad_0[8];"), "{c}");
        assert!(c.contains("int __syscall_nr;"), "{c}");
        assert!(c.contains("__u8 __pad_12[4];"), "{c}");
        assert!(c.contains("__u64 dfd;"), "{c}");
        assert!(c.contains("read it as (int)"), "{c}");
        assert!(c.contains("const char *filename;"), "{c}");
    }

    #[test]
    fn typedefs_arrays_and_dynamic_fields() {
        let c = emit("\tfield:pid_t pid;\toffset:0;\tsize:4;\tsigned:1;\n\tfield:u8 addr[16];\toffset:4;\tsize:16;\tsigned:0;\n\tfield:__data_loc char[] name;\toffset:20;\tsize:4;\tsigned:0;\n\tfield:enum xfs_group_type t;\toffset:24;\tsize:1;\tsigned:0;\n\tfield:unsigned long args[];\toffset:32;\tsize:0;\tsigned:0;\n");
        assert!(c.contains("__s32 pid;"), "{c}");
        assert!(c.contains("declared 'pid_t'"), "{c}");
        assert!(c.contains("__u8 addr[16];"), "{c}");
        assert!(c.contains("__u32 name;"), "{c}");
        assert!(c.contains("(name & 0xffff) from the record start"), "{c}");
        assert!(c.contains("__u8 t;"), "{c}");
        assert!(c.contains("__u8 __pad_25[7];"), "{c}");
        assert!(c.contains("unsigned long args[];"), "{c}");
    }

    #[test]
    fn unaligned_members_are_packed() {
        let c = emit("\tfield:u8 a;\toffset:0;\tsize:1;\tsigned:0;\n\tfield:u64 b;\toffset:1;\tsize:8;\tsigned:0;\n");
        assert!(c.contains("__u64 b __attribute__((packed));"), "{c}");
    }

    #[test]
    fn overlapping_fields_are_refused() {
        let text = "name: e\nID: 7\nformat:\n\tfield:int a;\toffset:0;\tsize:4;\tsigned:1;\n\tfield:int b;\toffset:2;\tsize:4;\tsigned:1;\n\nprint fmt: \"\"\n";
        let layout = parse_format(text).unwrap();
        let err = c_struct(&TracepointId::new("c", "e"), &layout, "t").unwrap_err();
        assert!(err.reason.contains("overlaps"), "{err}");
    }

    #[test]
    fn pointer_spelling() {
        assert_eq!(normalise_pointer("const void*"), "const void *");
        assert_eq!(normalise_pointer("struct iocb * *"), "struct iocb **");
        assert_eq!(join("const char *", "f"), "const char *f");
        assert_eq!(struct_name(&TracepointId::new("9p", "a-b")), "tp_9p__a_b");
    }
}

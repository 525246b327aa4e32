//! A tracepoint record's bytes, decoded with the point's parsed layout
//! into typed field values; and the syscall records `attach --sample`
//! rebuilds from registers. Pure: bytes in, values out.
//!
//! How a field's bytes are read:
//! - a scalar takes its declared C type's size and signedness when the
//!   record stores it wider (syscall arguments are 8-byte slots whatever
//!   their type: `int dfd` is the low 4 bytes, signed, so AT_FDCWD reads
//!   -100, as bpftrace shows it), else the format's `size:` and `signed:`;
//! - a pointer is its address, unless a user-space string was read behind
//!   it at the event (syscall `const char *` arguments);
//! - `char` arrays and `__data_loc char[]` / `__rel_loc char[]` fields are
//!   strings, cut at the first NUL; other arrays are lists of elements
//!   (bytes when the element type is unknown).
//!
//! Records are in the machine's byte order: they are read on the machine
//! that wrote them.

use super::ctype::{is_pointer, known_scalar};
use super::event::{DynamicKind, Field, Storage, TracepointLayout};

/// One decoded record with the task that was running when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The thread group id (what user space calls the pid).
    pub pid: u32,
    pub tid: u32,
    /// The task's name (`comm`), raw bytes up to the first NUL.
    pub comm: Vec<u8>,
    pub fields: Vec<DecodedField>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedField {
    pub name: String,
    /// The C type as the format file writes it (`umode_t`, `const char *`).
    pub c_type: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Signed(i64),
    Unsigned(u64),
    Pointer(u64),
    /// A string: its bytes up to the first NUL (not necessarily UTF-8).
    Text(Vec<u8>),
    /// An array's elements (bytes, as `Unsigned`, when their type is unknown).
    List(Vec<Value>),
    /// The field's bytes are not in what was copied (a `__data_loc` past
    /// the copy, a flexible array), or the layout is inconsistent.
    Missing,
}

/// Fields of syscall records the point's name already says: not shown.
const HIDDEN: &[&str] = &["__syscall_nr"];

/// Decodes every event field of `record` (common fields are left out; the
/// sample carries the task). `user_strings` gives, by field name, strings
/// read behind pointer fields when the event happened.
pub fn decode(
    layout: &TracepointLayout,
    record: &[u8],
    user_strings: &[(String, Vec<u8>)],
) -> Vec<DecodedField> {
    layout
        .event_fields()
        .filter(|f| !HIDDEN.contains(&f.name.as_str()))
        .map(|field| {
            let user = user_strings
                .iter()
                .find(|(name, _)| *name == field.name)
                .map(|(_, text)| text);
            DecodedField {
                name: field.name.clone(),
                c_type: field.c_type.clone(),
                value: match user {
                    Some(text) if is_pointer(&field.c_type) => Value::Text(until_nul(text)),
                    _ => decode_field(field, record),
                },
            }
        })
        .collect()
}

fn decode_field(field: &Field, record: &[u8]) -> Value {
    match &field.storage {
        Storage::Scalar => match bytes_at(record, field.offset, field.size) {
            Some(bytes) if is_pointer(&field.c_type) => match integer(bytes, false) {
                Some(Value::Unsigned(address)) => Value::Pointer(address),
                _ => Value::Missing,
            },
            Some(bytes) => scalar(field, bytes),
            None => Value::Missing,
        },
        Storage::Array(_) => {
            let Some(bytes) = bytes_at(record, field.offset, field.size) else {
                return Value::Missing;
            };
            if field.size == 0 {
                // A flexible array: its length is not in the layout.
                return Value::Missing;
            }
            if is_char(&field.c_type) {
                return Value::Text(until_nul(bytes));
            }
            let element = field
                .array_len()
                .filter(|&n| n > 0 && field.size % n == 0)
                .map(|n| field.size / n);
            elements(&field.c_type, field.signed, element, bytes)
        }
        Storage::Dynamic {
            kind,
            element_is_array,
        } => {
            let Some(word) = bytes_at(record, field.offset, 4) else {
                return Value::Missing;
            };
            let word = u32::from_ne_bytes(word.try_into().unwrap_or([0; 4]));
            let mut start = u64::from(word & 0xffff);
            let len = u64::from(word >> 16);
            if *kind == DynamicKind::RelLoc {
                // Counted from the end of the field itself.
                start += field.end();
            }
            let Some(bytes) = bytes_at(record, start, len) else {
                return Value::Missing;
            };
            if *element_is_array && is_char(&field.c_type) {
                return Value::Text(until_nul(bytes));
            }
            let element = known_scalar(&field.c_type).map(|s| s.size);
            elements(&field.c_type, None, element, bytes)
        }
    }
}

/// A list of `element`-byte values; bytes when the element size is unknown
/// or not an integer's.
fn elements(c_type: &str, signed: Option<bool>, element: Option<u64>, bytes: &[u8]) -> Value {
    let (size, signed, pointer) = match element {
        Some(8) if is_pointer(c_type) => (8, false, true),
        Some(size @ (1 | 2 | 4 | 8)) if !is_pointer(c_type) => {
            let signed = known_scalar(c_type).map(|s| s.signed).or(signed);
            (size, signed.unwrap_or(false), false)
        }
        _ => (1, false, false),
    };
    Value::List(
        bytes
            .chunks_exact(size as usize)
            .map(|chunk| match integer(chunk, signed) {
                Some(Value::Unsigned(address)) if pointer => Value::Pointer(address),
                Some(value) => value,
                None => Value::Missing,
            })
            .collect(),
    )
}

fn scalar(field: &Field, bytes: &[u8]) -> Value {
    let (size, signed) = match known_scalar(&field.c_type) {
        // Stored wider than declared (syscall arguments): the declared
        // type's own bytes, the low ones.
        Some(k) if k.size < field.size => (k.size, k.signed),
        Some(k) => (field.size, field.signed.unwrap_or(k.signed)),
        None => (field.size, field.signed.unwrap_or(false)),
    };
    let low = if cfg!(target_endian = "little") {
        &bytes[..size as usize]
    } else {
        &bytes[bytes.len() - size as usize..]
    };
    integer(low, signed).unwrap_or_else(|| {
        // Not an integer's size (a struct stored inline): its bytes.
        Value::List(
            bytes
                .iter()
                .map(|b| Value::Unsigned(u64::from(*b)))
                .collect(),
        )
    })
}

fn integer(bytes: &[u8], signed: bool) -> Option<Value> {
    let value = match bytes.len() {
        1 => (u64::from(bytes[0]), i64::from(bytes[0] as i8)),
        2 => {
            let v = u16::from_ne_bytes(bytes.try_into().ok()?);
            (u64::from(v), i64::from(v as i16))
        }
        4 => {
            let v = u32::from_ne_bytes(bytes.try_into().ok()?);
            (u64::from(v), i64::from(v as i32))
        }
        8 => {
            let v = u64::from_ne_bytes(bytes.try_into().ok()?);
            (v, v as i64)
        }
        _ => return None,
    };
    Some(if signed {
        Value::Signed(value.1)
    } else {
        Value::Unsigned(value.0)
    })
}

fn is_char(c_type: &str) -> bool {
    let words: Vec<&str> = c_type
        .split_whitespace()
        .filter(|w| !matches!(*w, "const" | "volatile"))
        .collect();
    words == ["char"]
}

fn bytes_at(record: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    record.get(start..end)
}

fn until_nul(bytes: &[u8]) -> Vec<u8> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].to_vec()
}

/// The arguments of a `syscalls:sys_enter_*` layout, in the order the
/// syscall takes them (the event fields after `__syscall_nr`).
pub fn syscall_arguments(layout: &TracepointLayout) -> impl Iterator<Item = &Field> {
    layout
        .event_fields()
        .filter(|f| !HIDDEN.contains(&f.name.as_str()))
}

/// Argument positions (bit i: the i-th argument, up to 6) holding
/// user-space strings to read at entry: the `const char *` arguments,
/// except those that are data buffers rather than NUL-terminated strings
/// (`write`'s `buf`, `mq_timedsend`'s message).
pub fn syscall_string_arguments(layout: &TracepointLayout) -> u32 {
    const NOT_STRINGS: &[&str] = &["buf", "u_msg_ptr"];
    syscall_arguments(layout)
        .take(6)
        .enumerate()
        .filter(|(_, f)| {
            matches!(f.storage, Storage::Scalar)
                && f.c_type.split_whitespace().collect::<Vec<_>>() == ["const", "char", "*"]
                && !NOT_STRINGS.contains(&f.name.as_str())
        })
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// A syscall record as the kernel would have written it for `layout`
/// (`sys_enter_*`: the arguments; `sys_exit_*`: `ret`), from the syscall
/// number and the values in argument order. The common header is left
/// zero: [`decode`] does not read it.
pub fn syscall_record(layout: &TracepointLayout, nr: u64, values: &[u64]) -> Vec<u8> {
    let mut record = vec![0u8; usize::try_from(layout.fixed_size()).unwrap_or(0).min(4096)];
    let mut put = |field: &Field, value: u64| {
        let size = field.size.min(8) as usize;
        let bytes = value.to_ne_bytes();
        let bytes = if cfg!(target_endian = "little") {
            &bytes[..size]
        } else {
            &bytes[8 - size..]
        };
        let start = usize::try_from(field.offset).unwrap_or(usize::MAX);
        if let Some(slot) = start
            .checked_add(size)
            .and_then(|end| record.get_mut(start..end))
        {
            slot.copy_from_slice(bytes);
        }
    };
    if let Some(field) = layout.event_fields().find(|f| f.name == "__syscall_nr") {
        put(field, nr);
    }
    for (field, value) in syscall_arguments(layout).zip(values) {
        put(field, *value);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::event::parse_format;

    /// Format files of the Linux 6.18 x86-64 capture (fixtures/README.md).
    macro_rules! captured {
        ($path:literal) => {
            parse_format(include_str!(concat!(
                "../../fixtures/linux-6.18-x86_64/sys/kernel/tracing/events/",
                $path,
                "/format"
            )))
            .unwrap()
        };
    }

    fn field<'a>(fields: &'a [DecodedField], name: &str) -> &'a Value {
        &fields.iter().find(|f| f.name == name).unwrap().value
    }

    fn put(record: &mut [u8], offset: usize, bytes: &[u8]) {
        record[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn fchmodat_entry_from_registers() {
        let layout = captured!("syscalls/sys_enter_fchmodat");
        // AT_FDCWD as glibc passes it: -100 in edi, the upper half zero.
        let args = [0xffff_ff9c, 0x7ffd_1234_5678, 0o755, 0xdead, 0, 0];
        let record = syscall_record(&layout, 268, &args);
        assert_eq!(record.len(), 40);
        assert_eq!(&record[8..12], &268i32.to_ne_bytes());
        let strings = [("filename".to_string(), b"/tmp/x/f\0junk".to_vec())];
        let fields = decode(&layout, &record, &strings);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["dfd", "filename", "mode"]);
        assert_eq!(field(&fields, "dfd"), &Value::Signed(-100));
        assert_eq!(
            field(&fields, "filename"),
            &Value::Text(b"/tmp/x/f".to_vec())
        );
        // umode_t is 2 bytes: the stray upper bits of the register go.
        assert_eq!(field(&fields, "mode"), &Value::Unsigned(0o755));
        assert_eq!(fields[2].c_type, "umode_t");

        // Without the string, the pointer.
        let fields = decode(&layout, &record, &[]);
        assert_eq!(
            field(&fields, "filename"),
            &Value::Pointer(0x7ffd_1234_5678)
        );
        assert_eq!(syscall_string_arguments(&layout), 0b10);
    }

    #[test]
    fn exit_records_carry_the_signed_return_value() {
        let layout = captured!("syscalls/sys_exit_fchmodat");
        let record = syscall_record(&layout, 268, &[(-2i64) as u64]);
        let fields = decode(&layout, &record, &[]);
        assert_eq!(fields.len(), 1);
        assert_eq!(field(&fields, "ret"), &Value::Signed(-2));
        assert_eq!(syscall_string_arguments(&layout), 0);
    }

    #[test]
    fn string_arguments_skip_data_buffers() {
        let rename = captured!("syscalls/sys_enter_renameat2");
        // olddfd, oldname, newdfd, newname, flags.
        assert_eq!(syscall_string_arguments(&rename), 0b1010);
        assert_eq!(
            syscall_string_arguments(&captured!("syscalls/sys_enter_write")),
            0
        );
        assert_eq!(
            syscall_string_arguments(&captured!("syscalls/sys_enter_execve")),
            0b1
        );
    }

    #[test]
    fn data_loc_string_of_sched_process_exec() {
        let layout = captured!("sched/sched_process_exec");
        let mut record = vec![0u8; 40];
        let path = b"/usr/bin/chmod\0";
        // filename: 15 bytes at offset 20, right after the fixed part.
        let loc = (path.len() as u32) << 16 | 20;
        put(&mut record, 8, &loc.to_ne_bytes());
        put(&mut record, 12, &4242i32.to_ne_bytes());
        put(&mut record, 16, &(-1i32).to_ne_bytes());
        put(&mut record, 20, path);
        let fields = decode(&layout, &record, &[]);
        assert_eq!(
            field(&fields, "filename"),
            &Value::Text(b"/usr/bin/chmod".to_vec())
        );
        assert_eq!(field(&fields, "pid"), &Value::Signed(4242));
        assert_eq!(field(&fields, "old_pid"), &Value::Signed(-1));

        // Past what was copied: missing, not garbage or a panic.
        let cut = &record[..25];
        assert_eq!(
            field(&decode(&layout, cut, &[]), "filename"),
            &Value::Missing
        );
        let short = &record[..10];
        assert_eq!(field(&decode(&layout, short, &[]), "pid"), &Value::Missing);
    }

    #[test]
    fn arrays_are_strings_or_lists() {
        let switch = captured!("sched/sched_switch");
        let mut record = vec![0u8; 64];
        put(&mut record, 8, b"kworker/0:1\0\0\0\0\0");
        put(&mut record, 40, b"chmod\0");
        put(&mut record, 32, &1i64.to_ne_bytes());
        let fields = decode(&switch, &record, &[]);
        assert_eq!(
            field(&fields, "prev_comm"),
            &Value::Text(b"kworker/0:1".to_vec())
        );
        assert_eq!(field(&fields, "next_comm"), &Value::Text(b"chmod".to_vec()));
        assert_eq!(field(&fields, "prev_state"), &Value::Signed(1));

        let enter = captured!("raw_syscalls/sys_enter");
        let mut record = vec![0u8; 64];
        put(&mut record, 8, &268i64.to_ne_bytes());
        for (i, arg) in [u64::MAX, 2, 3, 4, 5, 6].iter().enumerate() {
            put(&mut record, 16 + 8 * i, &arg.to_ne_bytes());
        }
        let fields = decode(&enter, &record, &[]);
        assert_eq!(field(&fields, "id"), &Value::Signed(268));
        assert_eq!(
            field(&fields, "args"),
            &Value::List(
                [u64::MAX, 2, 3, 4, 5, 6]
                    .iter()
                    .map(|v| Value::Unsigned(*v))
                    .collect()
            )
        );
    }

    #[test]
    fn rel_loc_counts_from_the_end_of_its_field() {
        let layout = parse_format(include_str!(
            "../../fixtures/corner/sys/kernel/tracing/events/corner/rel_loc/format"
        ))
        .unwrap();
        let mut record = vec![0u8; 48];
        // foo at 24: relative to the end of foo's word (offset 12).
        put(&mut record, 8, &(4u32 << 16 | 12).to_ne_bytes());
        put(&mut record, 24, b"abc\0");
        put(&mut record, 12, &(-7i32).to_ne_bytes());
        // bitmask: two unsigned longs at 32 (the word ends at 20).
        put(&mut record, 16, &(16u32 << 16 | 12).to_ne_bytes());
        put(&mut record, 32, &5u64.to_ne_bytes());
        put(&mut record, 40, &u64::MAX.to_ne_bytes());
        // cpumask: an unknown type, so bytes; empty here.
        put(&mut record, 20, &24u32.to_ne_bytes());
        let fields = decode(&layout, &record, &[]);
        assert_eq!(field(&fields, "foo"), &Value::Text(b"abc".to_vec()));
        assert_eq!(field(&fields, "bar"), &Value::Signed(-7));
        assert_eq!(
            field(&fields, "bitmask"),
            &Value::List(vec![Value::Unsigned(5), Value::Unsigned(u64::MAX)])
        );
        assert_eq!(field(&fields, "cpumask"), &Value::List(vec![]));
    }

    #[test]
    fn hostile_records_never_panic() {
        let layouts = [
            captured!("sched/sched_process_exec"),
            captured!("sched/sched_switch"),
            captured!("syscalls/sys_enter_fchmodat"),
        ];
        for layout in &layouts {
            for len in 0..80 {
                for fill in [0u8, 0xff, 0x41] {
                    let record = vec![fill; len];
                    let _ = decode(layout, &record, &[]);
                }
            }
        }
        // A layout claiming absurd offsets.
        let huge = parse_format(
            "name: x\nID: 1\nformat:\n\tfield:int a;\toffset:18446744073709551615;\tsize:4;\tsigned:1;\n\tfield:char b[3];\toffset:0;\tsize:18446744073709551615;\tsigned:0;\n\nprint fmt: \"\"\n",
        )
        .unwrap();
        let fields = decode(&huge, &[0; 16], &[]);
        assert!(fields.iter().all(|f| f.value == Value::Missing));
        assert!(syscall_record(&huge, 1, &[1, 2]).len() <= 4096);
    }
}

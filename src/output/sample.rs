//! `attach --sample`'s decoded records: one indented text line per record
//! under its point (`chmod[4242]: dfd=-100 filename="f" mode=0755`), or a
//! JSON array of records in the point's object.
//!
//! Text follows bpftrace and `perf trace` where they agree: integers in
//! decimal (file modes, `umode_t`, in octal as `chmod` takes them),
//! pointers in hex, strings quoted with C escapes, arrays as `[1,2,3]`.

use std::io::{self, Write};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::format::record_decode::{DecodedField, Sample, Value};

/// Writes `samples` one per line, each indented by `indent`.
pub fn write_text(out: &mut dyn Write, indent: &str, samples: &[Sample]) -> io::Result<()> {
    for sample in samples {
        writeln!(out, "{indent}{}", sample_line(sample))?;
    }
    Ok(())
}

/// `comm[pid]: name=value ...` (`comm[pid/tid]` in a thread other than
/// the main one).
pub fn sample_line(sample: &Sample) -> String {
    let mut line = escaped(&sample.comm);
    if sample.pid == sample.tid {
        line.push_str(&format!("[{}]:", sample.pid));
    } else {
        line.push_str(&format!("[{}/{}]:", sample.pid, sample.tid));
    }
    for field in &sample.fields {
        line.push(' ');
        line.push_str(&field.name);
        line.push('=');
        line.push_str(&field_text(field));
    }
    line
}

fn field_text(field: &DecodedField) -> String {
    match &field.value {
        Value::Unsigned(0) if is_mode(&field.c_type) => "0".into(),
        Value::Unsigned(mode) if is_mode(&field.c_type) => format!("0{mode:o}"),
        value => value_text(value),
    }
}

/// File permission bits: `umode_t` in the kernel, `mode_t` in libc.
fn is_mode(c_type: &str) -> bool {
    c_type
        .split_whitespace()
        .any(|w| w == "umode_t" || w == "mode_t")
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Signed(v) => v.to_string(),
        Value::Unsigned(v) => v.to_string(),
        Value::Pointer(p) => format!("{p:#x}"),
        Value::Text(bytes) => format!("\"{}\"", escaped(bytes)),
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", items.join(","))
        }
        Value::Missing => "?".into(),
    }
}

/// C escapes for quotes, backslashes, control characters and bytes that
/// are not UTF-8 (`\xNN`); other characters as they are.
fn escaped(bytes: &[u8]) -> String {
    let mut text = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => text.push_str("\\\""),
                '\\' => text.push_str("\\\\"),
                '\n' => text.push_str("\\n"),
                '\t' => text.push_str("\\t"),
                '\r' => text.push_str("\\r"),
                c if c.is_control() => text.push_str(&format!("\\x{:02x}", c as u32)),
                c => text.push(c),
            }
        }
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02x}"));
        }
    }
    text
}

/// One record in JSON: `{"pid", "tid", "comm", "fields": {name: value}}`,
/// the fields in record order.
#[derive(Debug, Serialize)]
pub struct SampleJson<'a> {
    pid: u32,
    tid: u32,
    comm: String,
    fields: FieldsJson<'a>,
}

impl<'a> SampleJson<'a> {
    pub fn new(sample: &'a Sample) -> SampleJson<'a> {
        SampleJson {
            pid: sample.pid,
            tid: sample.tid,
            comm: String::from_utf8_lossy(&sample.comm).into_owned(),
            fields: FieldsJson(&sample.fields),
        }
    }
}

#[derive(Debug)]
struct FieldsJson<'a>(&'a [DecodedField]);

impl Serialize for FieldsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for field in self.0 {
            map.serialize_entry(&field.name, &ValueJson(&field.value))?;
        }
        map.end()
    }
}

/// Integers as numbers, pointers as `"0x..."` strings, strings as strings
/// (not UTF-8: replacement characters), arrays as arrays, missing as null.
struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Signed(v) => serializer.serialize_i64(*v),
            Value::Unsigned(v) => serializer.serialize_u64(*v),
            Value::Pointer(p) => serializer.serialize_str(&format!("{p:#x}")),
            Value::Text(bytes) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&ValueJson(item))?;
                }
                seq.end()
            }
            Value::Missing => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, c_type: &str, value: Value) -> DecodedField {
        DecodedField {
            name: name.into(),
            c_type: c_type.into(),
            value,
        }
    }

    fn fchmodat() -> Sample {
        Sample {
            pid: 4242,
            tid: 4242,
            comm: b"chmod".to_vec(),
            fields: vec![
                field("dfd", "int", Value::Signed(-100)),
                field(
                    "filename",
                    "const char *",
                    Value::Text(b"a \"b\"\n\xff".to_vec()),
                ),
                field("mode", "umode_t", Value::Unsigned(0o755)),
                field("buf", "void *", Value::Pointer(0x7ffd_0000_1234)),
                field(
                    "args",
                    "unsigned long",
                    Value::List(vec![Value::Unsigned(1), Value::Missing]),
                ),
            ],
        }
    }

    #[test]
    fn text_like_bpftrace() {
        assert_eq!(
            sample_line(&fchmodat()),
            "chmod[4242]: dfd=-100 filename=\"a \\\"b\\\"\\n\\xff\" mode=0755 \
             buf=0x7ffd00001234 args=[1,?]"
        );
        let thread = Sample {
            tid: 4243,
            fields: vec![field("mode", "umode_t", Value::Unsigned(0))],
            ..fchmodat()
        };
        assert_eq!(sample_line(&thread), "chmod[4242/4243]: mode=0");
    }

    #[test]
    fn json_keeps_field_order_and_types() {
        let sample = fchmodat();
        let json = serde_json::to_string(&SampleJson::new(&sample)).unwrap();
        assert_eq!(
            json,
            "{\"pid\":4242,\"tid\":4242,\"comm\":\"chmod\",\"fields\":{\"dfd\":-100,\
             \"filename\":\"a \\\"b\\\"\\n\u{fffd}\",\"mode\":493,\"buf\":\"0x7ffd00001234\",\
             \"args\":[1,null]}}"
        );
    }
}

//! The JSON schema (docs/json.md), as output structs separate from the
//! internal model so that refactoring the model cannot change the contract.

use serde::Serialize;

use crate::format::event::{ArrayLen, DynamicKind, Field, Storage, TracepointLayout};
use crate::probe::TracepointId;

/// One line of `list --json` without `-v`.
#[derive(Debug, Serialize)]
pub struct ProbeEntry<'a> {
    pub probe: String,
    pub kind: &'static str,
    pub category: &'a str,
    pub event: &'a str,
}

impl<'a> ProbeEntry<'a> {
    pub fn tracepoint(id: &'a TracepointId) -> Self {
        ProbeEntry {
            probe: id.probe_name(),
            kind: "tracepoint",
            category: &id.category,
            event: &id.event,
        }
    }
}

/// A tracepoint with its layout: `show --json`, and `list -v --json`.
#[derive(Debug, Serialize)]
pub struct TracepointDetail<'a> {
    pub probe: String,
    pub kind: &'static str,
    pub category: &'a str,
    pub event: &'a str,
    /// The perf event id (`ID:` line).
    pub id: Option<u64>,
    pub format_path: String,
    /// End of the last field: the fixed part of every record.
    pub fixed_size: u64,
    pub fields: Vec<FieldJson<'a>>,
    pub print_fmt: Option<&'a str>,
}

/// A tracepoint whose format file could not be read (`list -v --json`).
#[derive(Debug, Serialize)]
pub struct TracepointError<'a> {
    pub probe: String,
    pub kind: &'static str,
    pub category: &'a str,
    pub event: &'a str,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct FieldJson<'a> {
    pub name: &'a str,
    /// The declaration as the format file writes it.
    pub decl: &'a str,
    /// The type without the name: `char[16]`, `const char *`, `__data_loc char[]`.
    #[serde(rename = "type")]
    pub type_text: String,
    /// The element type for arrays and dynamic fields, else the type.
    pub base_type: &'a str,
    pub storage: &'static str,
    pub array_len: Option<u64>,
    pub offset: u64,
    pub size: u64,
    pub signed: Option<bool>,
    pub common: bool,
    /// Size of the declared C type when known and different from `size`.
    pub declared_size: Option<u64>,
}

impl<'a> TracepointDetail<'a> {
    pub fn new(id: &'a TracepointId, layout: &'a TracepointLayout, format_path: String) -> Self {
        TracepointDetail {
            probe: id.probe_name(),
            kind: "tracepoint",
            category: &id.category,
            event: &id.event,
            id: layout.id,
            format_path,
            fixed_size: layout.fixed_size(),
            fields: layout.fields.iter().map(FieldJson::new).collect(),
            print_fmt: layout.print_fmt.as_deref(),
        }
    }
}

impl<'a> FieldJson<'a> {
    fn new(field: &'a Field) -> Self {
        let (storage, array_len) = match &field.storage {
            Storage::Scalar => ("scalar", None),
            Storage::Array(ArrayLen::Fixed(n)) => ("array", Some(*n)),
            Storage::Array(ArrayLen::Symbolic(_)) => ("array", field.array_len()),
            Storage::Array(ArrayLen::Flexible) => ("flexible_array", None),
            Storage::Dynamic {
                kind: DynamicKind::DataLoc,
                ..
            } => ("data_loc", None),
            Storage::Dynamic {
                kind: DynamicKind::RelLoc,
                ..
            } => ("rel_loc", None),
        };
        FieldJson {
            name: &field.name,
            decl: &field.decl,
            type_text: field.type_text(),
            base_type: &field.c_type,
            storage,
            array_len,
            offset: field.offset,
            size: field.size,
            signed: field.signed,
            common: field.common,
            declared_size: field.declared_size_mismatch(),
        }
    }
}

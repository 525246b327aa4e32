//! The JSON schema (docs/json.md), as output structs separate from the
//! internal model so that refactoring the model cannot change the contract.

use serde::Serialize;

use crate::discover::kernel_functions::Traceability;
use crate::format::btf::Btf;
use crate::format::btf_c::{self, Signature};
use crate::format::event::{ArrayLen, DynamicKind, Field, Storage, TracepointLayout};
use crate::format::record_btf::{Found, RecordStruct};
use crate::probe::{ProbeKind, TracepointId};

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
    /// `show` only (null in `list -v`): the BTF struct vmlinux.h users take
    /// as the context, checked field by field.
    pub btf_struct: Option<RecordJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct RecordJson<'a> {
    /// Null when BTF has no struct that matches the fields.
    pub name: Option<&'a str>,
    pub module: &'a str,
    pub btf_id: Option<u32>,
    pub size: Option<u64>,
    /// `own_class`, `class` or `syscall`; null when not found.
    pub found: Option<&'static str>,
    /// The class, for `class`.
    pub class: Option<&'a str>,
    pub agrees: bool,
    pub fields: Vec<FieldCheckJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct FieldCheckJson<'a> {
    pub field: &'a str,
    pub member: Option<&'a str>,
    pub format_offset: u64,
    pub format_size: u64,
    pub btf_offset: Option<u64>,
    pub btf_size: Option<u64>,
    pub agrees: bool,
}

impl<'a> RecordJson<'a> {
    pub fn new(record: Option<&'a RecordStruct>, module: &'a str) -> Self {
        let Some(r) = record else {
            return RecordJson {
                name: None,
                module,
                btf_id: None,
                size: None,
                found: None,
                class: None,
                agrees: false,
                fields: Vec::new(),
            };
        };
        RecordJson {
            name: Some(&r.name),
            module,
            btf_id: Some(r.type_id),
            size: Some(r.size),
            found: Some(match r.found {
                Found::OwnClass => "own_class",
                Found::Class(_) => "class",
                Found::Syscall => "syscall",
                Found::Given => "given",
            }),
            class: match &r.found {
                Found::Class(c) => Some(c),
                _ => None,
            },
            agrees: r.agrees(),
            fields: r
                .fields
                .iter()
                .map(|f| FieldCheckJson {
                    field: &f.field,
                    member: f.member.as_deref(),
                    format_offset: f.format_offset,
                    format_size: f.format_size,
                    btf_offset: f.btf_offset,
                    btf_size: f.btf_size,
                    agrees: f.agrees(),
                })
                .collect(),
        }
    }
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
            btf_struct: None,
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

/// One line of `list --json` for a kernel function or raw tracepoint.
#[derive(Debug, Serialize)]
pub struct FunctionEntry<'a> {
    pub probe: String,
    pub kind: &'static str,
    /// `vmlinux` or the module's name.
    pub module: &'a str,
    pub name: &'a str,
}

/// A kernel function or raw tracepoint with its BTF signature
/// (`list -v --json`, `show --json`).
#[derive(Debug, Serialize)]
pub struct FunctionDetail<'a> {
    pub probe: String,
    pub kind: &'static str,
    pub module: &'a str,
    pub name: &'a str,
    /// The BTF type id of the FUNC (functions) or FUNC_PROTO (raw
    /// tracepoints); null for a kprobe on a function BTF does not describe.
    pub btf_id: Option<u32>,
    pub return_type: Option<String>,
    pub args: Vec<ArgJson>,
    pub varargs: bool,
    /// Whether this kind can attach to it; null when that cannot be known here.
    pub traceable: Option<bool>,
    /// Why, in words.
    pub traceability: std::borrow::Cow<'static, str>,
}

#[derive(Debug, Serialize)]
pub struct ArgJson {
    pub name: String,
    #[serde(rename = "type")]
    pub type_text: String,
    /// Bytes; null for types without a size.
    pub size: Option<u64>,
}

impl<'a> FunctionDetail<'a> {
    pub fn new(
        probe: String,
        kind: ProbeKind,
        module: &'a str,
        name: &'a str,
        btf_id: Option<u32>,
        signature: Option<&Signature>,
        traceability: &Traceability,
    ) -> Self {
        FunctionDetail {
            probe,
            kind: kind.name(),
            module,
            name,
            btf_id,
            return_type: signature.map(|s| s.return_type.clone()),
            args: signature
                .map(|s| {
                    s.params
                        .iter()
                        .map(|a| ArgJson {
                            name: a.name.clone(),
                            type_text: a.type_name.clone(),
                            size: a.size,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            varargs: signature.is_some_and(|s| s.varargs),
            traceable: traceability.traceable,
            traceability: traceability.reason.clone(),
        }
    }
}

/// `show --json struct:NAME` (also union, enum).
#[derive(Debug, Serialize)]
pub struct TypeDetail<'a> {
    /// As asked: `struct:task_struct`.
    pub probe: &'a str,
    /// `struct`, `union`, `enum` or `enum64`.
    pub kind: &'static str,
    pub module: &'a str,
    pub name: Option<&'a str>,
    pub btf_id: u32,
    pub size: Option<u32>,
    /// Struct and union members, anonymous members not expanded.
    pub members: Vec<MemberJson>,
    /// Enumerators; values as JSON numbers (enum64 values may exceed 2^53).
    pub values: Vec<EnumValueJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct MemberJson {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub type_text: String,
    /// Byte offset (bit offset / 8, rounded down for bitfields).
    pub offset: u64,
    pub bit_offset: u64,
    /// Bytes; null when unknown.
    pub size: Option<u64>,
    /// Bits, for bitfields; else null.
    pub bitfield_size: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct EnumValueJson<'a> {
    pub name: Option<&'a str>,
    pub value: i128,
}

impl<'a> TypeDetail<'a> {
    pub fn new(probe: &'a str, btf: &'a Btf<'a>, id: u32, module: &'a str) -> Self {
        let t = btf.get(id);
        TypeDetail {
            probe,
            kind: t.map_or("void", |t| t.kind.name()),
            module,
            name: t.and_then(|t| t.name()),
            btf_id: id,
            size: t.and_then(|t| t.size()),
            members: t
                .map(|t| {
                    t.members()
                        .map(|m| MemberJson {
                            name: m.name.map(str::to_string),
                            type_text: btf_c::type_name(btf, m.type_id),
                            offset: u64::from(m.bit_offset / 8),
                            bit_offset: u64::from(m.bit_offset),
                            size: btf_c::size_of(btf, m.type_id),
                            bitfield_size: (m.bitfield_size > 0).then_some(m.bitfield_size),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            values: t
                .map(|t| {
                    t.enumerators()
                        .map(|(name, value)| EnumValueJson { name, value })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A user-space function point: `list --json` (without the address
/// fields' meaning changing) and `list -v --json` / `show --json`.
#[derive(Debug, Serialize)]
pub struct UserFunctionJson<'a> {
    pub probe: String,
    pub kind: &'static str,
    /// The resolved file.
    pub path: &'a str,
    /// The symbol, as the file spells it (mangled for C++ and Rust).
    pub name: &'a str,
    /// The demangled name, for mangled C++ and Rust symbols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demangled: Option<&'a str>,
    /// The symbol's value (virtual address).
    pub address: u64,
    pub size: u64,
    /// Where the kernel's uprobe API attaches: the file offset of `address`.
    pub file_offset: Option<u64>,
    /// An IFUNC resolver rather than the function itself.
    pub ifunc: bool,
    /// `list -v` and `show`: the parameters from DWARF, or why not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<UserSignatureJson<'a>>,
    /// `-p`: the process whose mappings named the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// `-p`: the file's path inside the process (`path` reaches it from
    /// here, through `/proc/PID/root` for another mount namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_path: Option<&'a str>,
}

/// A user-space function's DWARF signature.
#[derive(Debug, Serialize)]
pub struct UserSignatureJson<'a> {
    /// Whether debug info describes the function; the rest is empty if not.
    pub known: bool,
    pub return_type: Option<&'a str>,
    /// `{"name", "type"}` in order; `name` is empty for an unnamed parameter.
    pub args: Vec<UserArgJson<'a>>,
    /// No out-of-line copy starts at the symbol: the source's parameters.
    pub inlined_only: bool,
    /// The file the DWARF was read from (the ELF itself or its debug file).
    pub debug_info: Option<&'a str>,
    /// Why the signature is not known.
    pub reason: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct UserArgJson<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub type_text: &'a str,
}

/// A USDT probe: `list --json` (sites empty unless `-v`), `list -v --json`
/// and `show --json` (every site).
#[derive(Debug, Serialize)]
pub struct UsdtJson<'a> {
    pub probe: String,
    pub kind: &'static str,
    pub path: &'a str,
    pub provider: &'a str,
    pub name: &'a str,
    pub sites: Vec<UsdtSiteJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct UsdtSiteJson<'a> {
    /// Adjusted for `.stapsdt.base`.
    pub address: u64,
    pub file_offset: Option<u64>,
    /// 0 when the probe has no semaphore.
    pub semaphore: u64,
    /// The file offset of the semaphore: the kernel's `ref_ctr_offset`.
    pub semaphore_offset: Option<u64>,
    /// The semaphore is in `.bss` (see docs/json.md).
    pub semaphore_in_bss: bool,
    /// The argument string as the note writes it.
    pub args_spec: &'a str,
    pub args: Vec<UsdtArgJson<'a>>,
    /// Why the argument string does not parse; null when it does.
    pub args_error: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct UsdtArgJson<'a> {
    pub text: &'a str,
    pub size: u8,
    pub signed: bool,
    pub float: bool,
    /// The operand in words: `register rdi (edi)`, `memory at rbx-80`.
    pub operand: &'a str,
    /// Why libbpf would not read it; null when it would.
    pub libbpf_limitation: Option<&'a str>,
}

//! Kernel points that BTF describes: fentry/fexit (BTF FUNCs) and raw
//! tracepoints (`btf_trace_<name>` typedefs), in vmlinux and in modules.

use std::collections::HashMap;

use crate::discover::btf::KernelTypes;
use crate::format::btf::{Btf, Kind, TypeId};
use crate::format::btf_c::{self, Signature};
use crate::probe::{ProbeKind, ProbePattern};

/// The typedef prefix the kernel's `DEFINE_EVENT` machinery gives every
/// tracepoint's raw-tracepoint prototype (include/trace/bpf_probe.h).
pub const RAW_TRACEPOINT_TYPEDEF: &str = "btf_trace_";

/// One point whose arguments BTF describes.
#[derive(Debug, Clone, Copy)]
pub struct BtfPoint<'k> {
    pub kind: ProbeKind,
    /// None for vmlinux.
    pub module: Option<&'k str>,
    pub name: &'k str,
    pub btf: &'k Btf<'k>,
    /// The FUNC for functions; the FUNC_PROTO for raw tracepoints.
    pub type_id: TypeId,
}

impl BtfPoint<'_> {
    /// `fentry:vfs_read`, `fentry:ext4:ext4_file_open`.
    pub fn probe_name(&self) -> String {
        match self.module {
            Some(m) => format!("{}:{m}:{}", self.kind, self.name),
            None => format!("{}:{}", self.kind, self.name),
        }
    }

    /// The bytes of the name after the kind (`MODULE:NAME` or `NAME`),
    /// which listings sort by; an iterator, so 60,000 sorts allocate nothing.
    pub fn sort_key(&self) -> impl Iterator<Item = u8> + '_ {
        let module = self.module.map(str::as_bytes).unwrap_or_default();
        let colon: &[u8] = if self.module.is_some() { b":" } else { b"" };
        module.iter().chain(colon).chain(self.name.as_bytes()).copied()
    }

    /// Writes the probe name without building a String.
    pub fn write_probe_name(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self.module {
            Some(m) => write!(out, "{}:{m}:{}", self.kind, self.name),
            None => write!(out, "{}:{}", self.kind, self.name),
        }
    }

    /// What the program receives. A raw tracepoint's prototype starts with
    /// the tracepoint's `void *__data` context, which the program never
    /// sees: BPF gets only the arguments after it.
    pub fn signature(&self) -> Option<Signature> {
        let mut signature = Signature::of(self.btf, self.type_id)?;
        if self.kind == ProbeKind::RawTracepoint && !signature.params.is_empty() {
            signature.params.remove(0);
        }
        Some(signature)
    }

    pub fn module_name(&self) -> &str {
        self.module.unwrap_or("vmlinux")
    }
}

/// The points of `kind` (fentry, fexit or rawtracepoint) any pattern
/// selects, sorted by probe name, one per name.
pub fn btf_points<'k>(
    types: &'k KernelTypes<'k>,
    kind: ProbeKind,
    patterns: &[ProbePattern],
) -> Vec<BtfPoint<'k>> {
    let mut points = Vec::new();
    for (module, btf) in types.all() {
        let named_protos = if kind == ProbeKind::RawTracepoint {
            named_raw_tracepoint_protos(btf)
        } else {
            HashMap::new()
        };
        for t in btf.own_types() {
            let Some(name) = t.name() else { continue };
            let point = match kind {
                ProbeKind::Fentry | ProbeKind::Fexit if t.kind == Kind::Func => BtfPoint {
                    kind,
                    module,
                    name,
                    btf,
                    type_id: t.id,
                },
                ProbeKind::RawTracepoint if t.kind == Kind::Typedef => {
                    let Some(event) = name.strip_prefix(RAW_TRACEPOINT_TYPEDEF) else {
                        continue;
                    };
                    let Some(proto) = named_protos
                        .get(event)
                        .copied()
                        .or_else(|| raw_tracepoint_proto(btf, t.referenced().unwrap_or(0)))
                    else {
                        continue;
                    };
                    BtfPoint {
                        kind,
                        module,
                        name: event,
                        btf,
                        type_id: proto,
                    }
                }
                _ => continue,
            };
            if patterns.iter().any(|p| p.matches(kind, module, point.name)) {
                points.push(point);
            }
        }
    }
    points.sort_by(|a, b| a.sort_key().cmp(b.sort_key()));
    // Static functions of the same name in several files are several BTF
    // FUNCs; a probe name can only say which one by address, so list it once.
    points.dedup_by(|a, b| a.module == b.module && a.name == b.name);
    points
}

/// The `btf_trace_<event>` typedefs name no parameters, but the kernel also
/// emits a function per event with the same prototype and named parameters:
/// `__probestub_<event>` (Linux 6.4+) or, per event class, `__bpf_trace_<class>`
/// (which matches the event's name for events that are their own class).
/// Event name → that function's FUNC_PROTO.
fn named_raw_tracepoint_protos<'b>(btf: &'b Btf<'b>) -> HashMap<&'b str, TypeId> {
    let mut protos = HashMap::new();
    for t in btf.own_types().filter(|t| t.kind == Kind::Func) {
        let Some(name) = t.name() else { continue };
        let Some(proto) = t.referenced() else { continue };
        if let Some(event) = name.strip_prefix("__probestub_") {
            protos.insert(event, proto);
        } else if let Some(event) = name.strip_prefix("__bpf_trace_") {
            protos.entry(event).or_insert(proto);
        }
    }
    protos
}

/// `btf_trace_X` is a pointer to a FUNC_PROTO.
fn raw_tracepoint_proto(btf: &Btf<'_>, pointer: TypeId) -> Option<TypeId> {
    let ptr = btf.get(btf_c::resolve(btf, pointer))?;
    if ptr.kind != Kind::Ptr {
        return None;
    }
    let proto = btf_c::resolve(btf, ptr.referenced()?);
    (btf.get(proto)?.kind == Kind::FuncProto).then_some(proto)
}

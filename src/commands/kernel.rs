//! Kernel points other than tracepoints: fentry/fexit (BTF FUNCs), raw
//! tracepoints (`btf_trace_<name>` typedefs), and kprobe/kretprobe (the
//! kernel's function list, with BTF signatures where BTF has the function),
//! in vmlinux and in modules.

use std::collections::HashMap;

use crate::discover::btf::KernelTypes;
use crate::discover::kernel_functions::{
    sort_for_listing, FunctionIndex, FunctionName, Traceability,
};
use crate::format::btf::{Btf, Kind, TypeId};
use crate::format::btf_c::{self, Signature};
use crate::format::symbol_name::split_clone_suffix;
use crate::probe::{ProbeKind, ProbePattern};

/// The typedef prefix the kernel's `DEFINE_EVENT` machinery gives every
/// tracepoint's raw-tracepoint prototype (include/trace/bpf_probe.h).
pub const RAW_TRACEPOINT_TYPEDEF: &str = "btf_trace_";

/// One kernel point, with its BTF description when there is one.
#[derive(Debug, Clone, Copy)]
pub struct KernelPoint<'k> {
    pub kind: ProbeKind,
    /// None for vmlinux.
    pub module: Option<&'k str>,
    /// As the kernel names it; kprobes may carry a clone suffix (`.isra.0`).
    pub name: &'k str,
    /// The FUNC for functions, the FUNC_PROTO for raw tracepoints; None for
    /// a kprobe on a function BTF does not describe.
    pub btf: Option<(&'k Btf<'k>, TypeId)>,
}

impl KernelPoint<'_> {
    /// `fentry:vfs_read`, `fentry:ext4:ext4_file_open`.
    pub fn probe_name(&self) -> String {
        match self.module {
            Some(m) => format!("{}:{m}:{}", self.kind, self.name),
            None => format!("{}:{}", self.kind, self.name),
        }
    }

    /// Appends the probe name as bytes: listing 60,000 names through
    /// `write!` cost more than producing them.
    pub fn push_probe_name(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.kind.name().as_bytes());
        out.push(b':');
        if let Some(module) = self.module {
            out.extend_from_slice(module.as_bytes());
            out.push(b':');
        }
        out.extend_from_slice(self.name.as_bytes());
    }

    /// What the program receives. A raw tracepoint's prototype starts with
    /// the tracepoint's `void *__data` context, which the program never
    /// sees: BPF gets only the arguments after it.
    pub fn signature(&self) -> Option<Signature> {
        let (btf, id) = self.btf?;
        let mut signature = Signature::of(btf, id)?;
        if self.kind == ProbeKind::RawTracepoint && !signature.params.is_empty() {
            signature.params.remove(0);
        }
        Some(signature)
    }

    pub fn module_name(&self) -> &str {
        self.module.unwrap_or("vmlinux")
    }

    pub fn function_name(&self) -> FunctionName<'_> {
        FunctionName {
            module: self.module,
            name: self.name,
        }
    }
}

/// Whether the point can attach, as far as the kernel's lists tell.
pub fn traceability(point: &KernelPoint<'_>, index: Option<&FunctionIndex<'_>>) -> Traceability {
    let unknown = |reason: &'static str| Traceability {
        traceable: None,
        reason: reason.into(),
    };
    match (point.kind, index) {
        (ProbeKind::RawTracepoint, _) => Traceability {
            traceable: Some(true),
            reason: "raw tracepoints attach to any tracepoint the kernel defines".into(),
        },
        (kind, Some(index)) if kind.is_kprobe() => index.kprobe(&point.function_name()),
        (kind, Some(index)) if kind.is_fentry() => {
            let listed = index.fentry(&point.function_name());
            match (listed.traceable, fentry_model_problem(point)) {
                (Some(false), _) | (_, None) => listed,
                (_, Some(problem)) => Traceability {
                    traceable: Some(false),
                    reason: problem.into(),
                },
            }
        }
        (kind, None) if kind.is_fentry() => unknown("available_filter_functions was not read"),
        _ => unknown("the kernel's function list could not be read"),
    }
}

/// The points of `kind` (fentry, fexit or rawtracepoint) any pattern
/// selects, sorted by probe name, one per name.
pub fn btf_points<'k>(
    types: &'k KernelTypes<'k>,
    kind: ProbeKind,
    patterns: &[ProbePattern],
) -> Vec<KernelPoint<'k>> {
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
                ProbeKind::Fentry | ProbeKind::Fexit if t.kind == Kind::Func => KernelPoint {
                    kind,
                    module,
                    name,
                    btf: Some((btf, t.id)),
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
                    KernelPoint {
                        kind,
                        module,
                        name: event,
                        btf: Some((btf, proto)),
                    }
                }
                _ => continue,
            };
            if patterns.iter().any(|p| p.matches(kind, module, point.name)) {
                points.push(point);
            }
        }
    }
    sort_for_listing(&mut points, |p| (p.module, p.name));
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
        let Some(proto) = t.referenced() else {
            continue;
        };
        if let Some(event) = name.strip_prefix("__probestub_") {
            protos.insert(event, proto);
        } else if let Some(event) = name.strip_prefix("__bpf_trace_") {
            protos.entry(event).or_insert(proto);
        }
    }
    protos
}

/// What the kernel's function model refuses for fentry/fexit, by the rules
/// of `btf_distill_func_proto()` (kernel/bpf/btf.c): more than
/// MAX_BPF_FUNC_ARGS (12) arguments, a struct or union returned by value,
/// varargs, an argument larger than 16 bytes.
fn fentry_model_problem(point: &KernelPoint<'_>) -> Option<String> {
    let (btf, id) = point.btf?;
    let proto = btf.get(btf.get(id)?.referenced()?)?;
    let params: Vec<_> = proto.params().collect();
    let refused = |why: String| {
        Some(format!(
            "{why}: the kernel's BTF function model (btf_distill_func_proto) refuses it"
        ))
    };
    if params.len() > 12 {
        return refused(format!("{} arguments, more than 12", params.len()));
    }
    let ret = btf.get(btf_c::resolve(btf, proto.referenced().unwrap_or(0)))?;
    if matches!(ret.kind, Kind::Struct | Kind::Union) {
        return refused("returns a struct or union by value".into());
    }
    for (index, param) in params.iter().enumerate() {
        if param.type_id == 0 {
            return refused("takes variable arguments".into());
        }
        if let Some(size) = btf_c::size_of(btf, param.type_id).filter(|s| *s > 16) {
            return refused(format!(
                "argument {index} is {size} bytes (at most 16 are supported)"
            ));
        }
    }
    None
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

/// BTF FUNCs by `(module, name)`, for kprobe signatures.
pub type FunctionTypes<'k> = HashMap<(Option<&'k str>, &'k str), (&'k Btf<'k>, TypeId)>;

pub fn function_types<'k>(types: &'k KernelTypes<'k>) -> FunctionTypes<'k> {
    let mut map = HashMap::new();
    for (module, btf) in types.all() {
        for t in btf.own_types().filter(|t| t.kind == Kind::Func) {
            if let Some(name) = t.name() {
                map.entry((module, name)).or_insert((btf, t.id));
            }
        }
    }
    map
}

/// The kprobe (or kretprobe) points any pattern selects, from the kernel's
/// function list, with the BTF signature when the name (or the function a
/// signature-keeping clone was made from) is in BTF.
///
/// Listings take the functions a listing shows (ftrace's when readable, as
/// bpftrace lists kprobes); `every` takes all of kallsyms, so that `show`
/// can explain a notrace or blacklisted function instead of not finding it.
pub fn kprobe_points<'k>(
    index: &FunctionIndex<'k>,
    kind: ProbeKind,
    patterns: &[ProbePattern],
    signatures: Option<&FunctionTypes<'k>>,
    every: bool,
) -> Vec<KernelPoint<'k>> {
    let functions = if every {
        index.every_function()
    } else {
        index.functions()
    };
    // Sized up front: growing a 61,000-point vector by doubling cost more
    // page faults than the filtering itself.
    let mut points = Vec::with_capacity(index.len_hint());
    points.extend(
        functions
            .filter(|f| patterns.iter().any(|p| p.matches(kind, f.module, f.name)))
            .map(|f| KernelPoint {
                kind,
                module: f.module,
                name: f.name,
                btf: signatures.and_then(|map| signature_source(map, f.module, f.name)),
            }),
    );
    points
}

/// BTF knows `show_regs`, not `show_regs.part.0`. Only a `.llvm` copy is
/// sure to keep the original's signature; `.isra`, `.constprop` and `.part`
/// copies get whatever arguments the compiler chose to pass.
fn signature_source<'k>(
    map: &FunctionTypes<'k>,
    module: Option<&'k str>,
    name: &'k str,
) -> Option<(&'k Btf<'k>, TypeId)> {
    let split = split_clone_suffix(name);
    if split.clone_kind().is_some_and(|k| k.may_change_signature()) {
        return None;
    }
    map.get(&(module, split.base)).copied()
}

/// The kernel points one pattern names, for the commands that take single
/// points (`show`, `gen`): tracepoints, and every kernel function of the
/// function kinds (kprobes from all of kallsyms, so a notrace function is
/// explained rather than missing). Nothing at all is the "did you mean"
/// error.
pub(super) fn points_named<'k>(
    sources: &super::sources::Sources,
    kinds: &[ProbeKind],
    index: Option<&FunctionIndex<'k>>,
    types: Option<&'k KernelTypes<'k>>,
    signatures: Option<&FunctionTypes<'k>>,
    text: &str,
    pattern: &ProbePattern,
) -> Result<(Vec<crate::probe::TracepointId>, Vec<KernelPoint<'k>>), crate::error::Error> {
    let one = std::slice::from_ref(pattern);
    let selected = sources
        .tracepoints()
        .map(|(_, all)| super::select_tracepoints(all, one))
        .unwrap_or_default();
    let mut points = Vec::new();
    for &kind in kinds {
        if kind.is_kprobe() {
            if let Some(index) = index {
                points.extend(kprobe_points(index, kind, one, signatures, true));
            }
        } else if let (true, Some(types)) = (super::sources::Sources::needs_btf(kind), types) {
            points.extend(btf_points(types, kind, one));
        }
    }
    if selected.is_empty() && points.is_empty() {
        let all = super::list::candidates(sources, kinds, types);
        return Err(crate::error::Error::nothing_matched(
            super::no_match_message(text, pattern, &all),
        ));
    }
    Ok((selected, points))
}

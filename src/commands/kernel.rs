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
use crate::probe::{ProbeKind, ProbePattern, TracepointId};

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
    each_btf_point(types, kind, |point| {
        if patterns
            .iter()
            .any(|p| p.matches(kind, point.module, point.name))
        {
            points.push(point);
        }
    });
    sort_and_dedup(&mut points);
    points
}

/// Every point of `kind` (fentry, fexit or rawtracepoint) in BTF order:
/// module by module, type id by type id.
fn each_btf_point<'k>(
    types: &'k KernelTypes<'k>,
    kind: ProbeKind,
    mut found: impl FnMut(KernelPoint<'k>),
) {
    for (module, btf) in types.all() {
        let named_protos = if kind == ProbeKind::RawTracepoint {
            named_raw_tracepoint_protos(btf)
        } else {
            HashMap::new()
        };
        // The kind first: most of vmlinux's ~125,000 types are neither
        // FUNCs nor typedefs, and looking up their names is wasted.
        let wanted = match kind {
            ProbeKind::RawTracepoint => Kind::Typedef,
            _ => Kind::Func,
        };
        for t in btf.own_types().filter(|t| t.kind == wanted) {
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
            found(point);
        }
    }
}

/// Orders BTF points, gathered in BTF order, as listings print them: by
/// probe name, one per name.
fn sort_and_dedup(points: &mut Vec<KernelPoint<'_>>) {
    sort_for_listing(points, |p| (p.module, p.name));
    // Static functions of the same name in several files are several BTF
    // FUNCs; a probe name can only say which one by address, so list it once.
    points.dedup_by(|a, b| a.module == b.module && a.name == b.name);
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
/// These are the functions a listing shows (ftrace's when readable, as
/// bpftrace lists kprobes); `show` takes all of kallsyms instead (see
/// [`points_named_each`]), to explain a notrace or blacklisted function
/// rather than not find it.
pub fn kprobe_points<'k>(
    index: &FunctionIndex<'k>,
    kind: ProbeKind,
    patterns: &[ProbePattern],
    signatures: Option<&FunctionTypes<'k>>,
) -> Vec<KernelPoint<'k>> {
    let functions = index.functions();
    // Sized up front: growing a 61,000-point vector by doubling cost more
    // page faults than the filtering itself.
    let mut points = Vec::with_capacity(index.len_hint());
    points.extend(
        functions
            .filter(|f| patterns.iter().any(|p| p.matches(kind, f.module, f.name)))
            .map(|f| kprobe_point(kind, f, signatures)),
    );
    points
}

fn kprobe_point<'k>(
    kind: ProbeKind,
    function: FunctionName<'k>,
    signatures: Option<&FunctionTypes<'k>>,
) -> KernelPoint<'k> {
    let FunctionName { module, name } = function;
    KernelPoint {
        kind,
        module,
        name,
        btf: signatures.and_then(|map| signature_source(map, module, name)),
    }
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
) -> Result<NamedPoints<'k>, crate::error::Error> {
    let one = std::slice::from_ref(pattern);
    let named = points_named_each(sources, kinds, index, types, signatures, one)
        .pop()
        .expect("one result per pattern");
    if named.is_empty() {
        return Err(nothing_named(sources, kinds, types, text, pattern));
    }
    Ok(named)
}

/// What one pattern names: its tracepoints, then its other kernel points
/// kind by kind (in `kinds`' order), each kind sorted by probe name.
#[derive(Debug, Default)]
pub(super) struct NamedPoints<'k> {
    pub tracepoints: Vec<TracepointId>,
    pub points: Vec<KernelPoint<'k>>,
}

impl NamedPoints<'_> {
    pub fn is_empty(&self) -> bool {
        self.tracepoints.is_empty() && self.points.is_empty()
    }
}

/// [`points_named`] for many patterns at once, one result per pattern, empty
/// ones included (see [`nothing_named`]). Each source is walked once for
/// all of them: looking 1,601 raw tracepoints up one by one walked vmlinux's
/// 150,000 BTF types 1,601 times (12 s).
pub(super) fn points_named_each<'k>(
    sources: &super::sources::Sources,
    kinds: &[ProbeKind],
    index: Option<&FunctionIndex<'k>>,
    types: Option<&'k KernelTypes<'k>>,
    signatures: Option<&FunctionTypes<'k>>,
    patterns: &[ProbePattern],
) -> Vec<NamedPoints<'k>> {
    let mut named: Vec<NamedPoints<'k>> = patterns.iter().map(|_| NamedPoints::default()).collect();
    if let Some((_, all)) = sources.tracepoints() {
        // As `select_tracepoints`: only patterns that can name a tracepoint.
        let set = PatternSet::new(patterns, |p| p.covers_kind(ProbeKind::Tracepoint));
        if !set.is_empty() {
            // `all` is sorted and unique, so each pattern's share is too.
            for id in all {
                set.each_match(ProbeKind::Tracepoint, Some(&id.category), &id.event, |i| {
                    named[i].tracepoints.push(id.clone())
                });
            }
        }
    }
    let set = PatternSet::new(patterns, |_| true);
    for &kind in kinds {
        if kind.is_kprobe() {
            let Some(index) = index else { continue };
            // Every kallsyms function, in listing order (see `kprobe_points`).
            for f in index.every_function() {
                set.each_match(kind, f.module, f.name, |i| {
                    named[i].points.push(kprobe_point(kind, f, signatures))
                });
            }
        } else if let (true, Some(types)) = (super::sources::Sources::needs_btf(kind), types) {
            let mut found: Vec<Vec<KernelPoint<'k>>> =
                patterns.iter().map(|_| Vec::new()).collect();
            each_btf_point(types, kind, |point| {
                set.each_match(kind, point.module, point.name, |i| found[i].push(point))
            });
            // As `btf_points`, pattern by pattern.
            for (named, mut points) in named.iter_mut().zip(found) {
                sort_and_dedup(&mut points);
                named.points.extend(points);
            }
        }
    }
    named
}

/// The "did you mean" error for a pattern that names nothing.
pub(super) fn nothing_named(
    sources: &super::sources::Sources,
    kinds: &[ProbeKind],
    types: Option<&KernelTypes<'_>>,
    text: &str,
    pattern: &ProbePattern,
) -> crate::error::Error {
    let all = super::list::candidates(sources, kinds, types);
    crate::error::Error::nothing_matched(super::no_match_message(text, pattern, &all))
}

/// Many patterns matched in one walk over a source. A pattern without a
/// wildcard can only select a point whose name is its whole text or what
/// follows one of its colons (`fentry:ext4:ext4_file_open` names
/// `ext4_file_open`; a bare `vfs_read` names `vfs_read`), so it is asked
/// only about points of those names; the rest are asked about every point.
/// [`ProbePattern::matches`] has the last word either way.
struct PatternSet<'p> {
    patterns: &'p [ProbePattern],
    /// Patterns without a wildcard, by each name they could select.
    exact: HashMap<&'p str, Vec<usize>>,
    wildcards: Vec<usize>,
}

impl<'p> PatternSet<'p> {
    /// The set of the patterns `wanted` keeps, answering with their indexes
    /// into `patterns`.
    fn new(patterns: &'p [ProbePattern], wanted: impl Fn(&ProbePattern) -> bool) -> Self {
        let mut set = PatternSet {
            patterns,
            exact: HashMap::new(),
            wildcards: Vec::new(),
        };
        for (i, pattern) in patterns.iter().enumerate().filter(|(_, p)| wanted(p)) {
            if !pattern.is_exact() {
                set.wildcards.push(i);
                continue;
            }
            let text = match pattern {
                ProbePattern::Kind { rest, .. } => rest.text(),
                ProbePattern::BareName(w) | ProbePattern::FullName(w) => w.text(),
            };
            let after_colons = text.match_indices(':').map(|(at, _)| &text[at + 1..]);
            for name in std::iter::once(text).chain(after_colons) {
                set.exact.entry(name).or_default().push(i);
            }
        }
        set
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcards.is_empty()
    }

    /// Calls `found` with the index of each pattern that selects
    /// `KIND:[SCOPE:]NAME` (once each: a pattern's names differ in length).
    fn each_match(
        &self,
        kind: ProbeKind,
        scope: Option<&str>,
        name: &str,
        mut found: impl FnMut(usize),
    ) {
        let exact = self.exact.get(name).map_or(&[][..], Vec::as_slice);
        for &i in exact.iter().chain(&self.wildcards) {
            if self.patterns[i].matches(kind, scope, name) {
                found(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of `patterns` select `KIND:[SCOPE:]NAME`, through a set and
    /// one by one: the two must agree.
    fn matching(patterns: &[&str], kind: ProbeKind, scope: Option<&str>, name: &str) -> Vec<usize> {
        let patterns: Vec<ProbePattern> = patterns
            .iter()
            .map(|p| ProbePattern::parse(p).unwrap())
            .collect();
        let set = PatternSet::new(&patterns, |_| true);
        let mut found = Vec::new();
        set.each_match(kind, scope, name, |i| found.push(i));
        found.sort_unstable();
        let one_by_one: Vec<usize> = (0..patterns.len())
            .filter(|&i| patterns[i].matches(kind, scope, name))
            .collect();
        assert_eq!(found, one_by_one, "{patterns:?} on {kind}:{scope:?}:{name}");
        found
    }

    #[test]
    fn a_pattern_set_finds_what_each_pattern_finds() {
        let patterns = [
            "fentry:vfs_read",
            "fentry:vmlinux:vfs_write",
            "fentry:ext4:ext4_file_open",
            "vfs_read",
            "kprobe:vfs_*",
            "*:ext4_*",
            "tracepoint:sched:sched_switch",
            "sched_switch",
            "fentry:vfs_read",
        ];
        let f = ProbeKind::Fentry;
        assert_eq!(matching(&patterns, f, None, "vfs_read"), [0, 3, 8]);
        assert_eq!(matching(&patterns, f, None, "vfs_write"), [1]);
        assert_eq!(
            matching(&patterns, f, Some("ext4"), "ext4_file_open"),
            [2, 5]
        );
        assert_eq!(matching(&patterns, f, None, "ext4_file_open"), [5]);
        assert_eq!(matching(&patterns, f, Some("ext4"), "vfs_read"), [3]);
        let k = ProbeKind::Kprobe;
        assert_eq!(matching(&patterns, k, None, "vfs_read"), [3, 4]);
        let t = ProbeKind::Tracepoint;
        assert_eq!(
            matching(&patterns, t, Some("sched"), "sched_switch"),
            [6, 7]
        );
        assert_eq!(
            matching(&patterns, t, Some("sched"), "sched_wakeup"),
            [0usize; 0]
        );
        // A name with a colon of its own is still found.
        assert_eq!(matching(&["fentry:a:b"], f, None, "a:b"), [0]);
    }
}

//! `probedex show`: the rich view of probe points (text, JSON, or a C
//! struct for tracepoints), and of kernel types (`struct:NAME`).

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use super::kernel::{
    function_types, nothing_named, points_named_each, traceability, KernelPoint, NamedPoints,
};
use super::sources::{Needs, Sources};
use super::user::{self, UserPoint};
use super::{check_supported, selected_kinds, Context, Io, Outcome, RunError};
use crate::cli::EmitFormat;
use crate::discover::btf::KernelTypes;
use crate::discover::kernel_functions::{symbols_named, FunctionIndex, SymbolSite, Traceability};
use crate::discover::tracepoints;
use crate::error::Error;
use crate::format::btf::Kind;
use crate::format::event::TracepointLayout;
use crate::format::record_btf::{RecordNames, RecordStruct};
use crate::format::symbol_name::split_clone_suffix;
use crate::output::kernel::{self as kernel_view, FunctionView};
use crate::output::user as user_view;
use crate::output::{c, json, text};
use crate::probe::{ProbeKind, ProbePattern, TracepointId};

/// `struct:NAME`, `union:NAME`, `enum:NAME`, optionally `KIND:MODULE:NAME`.
struct TypeSpec<'t> {
    text: &'t str,
    kinds: &'static [Kind],
    module: Option<&'t str>,
    name: &'t str,
}

impl<'t> TypeSpec<'t> {
    fn parse(text: &'t str) -> Option<TypeSpec<'t>> {
        let (head, rest) = text.split_once(':')?;
        let kinds: &'static [Kind] = match head {
            "struct" => &[Kind::Struct],
            "union" => &[Kind::Union],
            "enum" => &[Kind::Enum, Kind::Enum64],
            _ => return None,
        };
        let (module, name) = match rest.split_once(':') {
            Some((m, n)) => (Some(m), n),
            None => (None, rest),
        };
        Some(TypeSpec {
            text,
            kinds,
            module,
            name,
        })
    }
}

/// One thing to show, in the order asked.
enum Target<'t> {
    Type(TypeSpec<'t>),
    Probe(&'t str, ProbePattern),
}

pub(super) fn run(
    ctx: &Context,
    texts: &[String],
    emit: Option<EmitFormat>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let targets: Vec<Target<'_>> = texts
        .iter()
        .map(|t| match TypeSpec::parse(t) {
            Some(spec) => Ok(Target::Type(spec)),
            None => ProbePattern::parse(t)
                .map(|p| Target::Probe(t, p))
                .map_err(Error::from),
        })
        .collect::<Result<_, _>>()?;
    let patterns: Vec<ProbePattern> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Probe(_, p) => Some(p.clone()),
            Target::Type(_) => None,
        })
        .collect();
    check_supported(&patterns)?;
    let kinds = selected_kinds(&patterns);
    let types_wanted = targets.iter().any(|t| matches!(t, Target::Type(_)));
    let needs = Needs {
        types: types_wanted,
        kprobe_signatures: true,
        function_details: true,
        record_structs: true,
    };
    let sources = Sources::load(ctx, &patterns, &kinds, needs, io)?;
    let vmlinux = sources.vmlinux(ctx)?;
    let types = sources.kernel_types(vmlinux.as_ref(), io);
    let index = sources.function_index();
    let signatures = match &types {
        Some(types) if kinds.iter().any(|k| k.is_kprobe()) => Some(function_types(types)),
        _ => None,
    };

    // Every kernel pattern is looked up in one walk over each source, and
    // the facts shown per point are gathered once for all of them.
    let kernel_patterns: Vec<ProbePattern> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Probe(_, p) if is_kernel_target(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let named = points_named_each(
        &sources,
        &kinds,
        index.as_ref(),
        types.as_ref(),
        signatures.as_ref(),
        &kernel_patterns,
    );
    let facts = Facts {
        sources: &sources,
        index: index.as_ref(),
        types: types.as_ref(),
        record_names: OnceCell::new(),
        // Only the text view lists a function's symbols.
        symbols: SymbolsByName::new(&sources, if ctx.json { &[] } else { &named }),
    };
    let mut named = named.into_iter();

    let mut shown = 0usize;
    for target in &targets {
        match target {
            Target::Type(spec) => {
                let types = types.as_ref().expect("BTF loaded for type views");
                if shown > 0 && !ctx.json {
                    writeln!(io.out)?;
                }
                show_type(ctx, types, spec, io)?;
                shown += 1;
            }
            Target::Probe(text, pattern) if pattern.kind() == Some(ProbeKind::Usdt) => {
                let probes = user::usdt_probes(ctx, text, pattern)?;
                if probes.is_empty() {
                    return Err(Error::nothing_matched(format!(
                        "{text}: no such USDT probe in the file's .note.stapsdt"
                    ))
                    .into());
                }
                for probe in &probes {
                    if shown > 0 && !ctx.json {
                        writeln!(io.out)?;
                    }
                    if ctx.json {
                        serde_json::to_writer(&mut *io.out, &probe.to_json(true))
                            .map_err(std::io::Error::from)?;
                        writeln!(io.out)?;
                    } else {
                        let sites: Vec<_> = probe.sites.iter().map(|s| s.view()).collect();
                        user_view::write_usdt(
                            io.out,
                            &probe.probe_name(),
                            &probe.path,
                            &probe.provider,
                            &probe.name,
                            &sites,
                            ctx.style,
                        )?;
                    }
                    shown += 1;
                }
            }
            Target::Probe(text, pattern) if pattern.kind().is_some_and(|k| k.is_user()) => {
                let kind = pattern.kind().expect("a user kind");
                // `show` names one function: let `.part.N` pieces through.
                let targets = user::open_targets(ctx, kind, text, pattern)?;
                // `show` always says both names.
                let names = user::Names::for_output(ctx.demangle, true);
                let points = user::named_functions(&targets, names, text)?;
                for point in &points {
                    if shown > 0 && !ctx.json {
                        writeln!(io.out)?;
                    }
                    show_user_point(ctx, point, io)?;
                    shown += 1;
                }
            }
            Target::Probe(text, pattern) => {
                let found = named.next().expect("one lookup per kernel pattern");
                if found.is_empty() {
                    let types = types.as_ref();
                    return Err(nothing_named(&sources, &kinds, types, text, pattern).into());
                }
                // Kinds print in name order, as listings do.
                let mut order: Vec<(String, Shown<'_, '_>)> = found
                    .tracepoints
                    .iter()
                    .map(|id| (id.probe_name(), Shown::Tracepoint(id)))
                    .chain(
                        found
                            .points
                            .iter()
                            .map(|p| (p.probe_name(), Shown::Point(p))),
                    )
                    .collect();
                order.sort_by(|a, b| a.0.cmp(&b.0));
                for (probe, item) in order {
                    if shown > 0 && !ctx.json {
                        writeln!(io.out)?;
                    }
                    match item {
                        Shown::Tracepoint(id) => show_tracepoint(ctx, &facts, id, emit, io)?,
                        Shown::Point(point) => show_point(ctx, &facts, point, &probe, emit, io)?,
                    }
                    shown += 1;
                }
            }
        }
    }
    Ok(Outcome::Matched)
}

enum Shown<'a, 'k> {
    Tracepoint(&'a TracepointId),
    Point(&'a KernelPoint<'k>),
}

/// Whether `show` looks the pattern up among kernel points.
fn is_kernel_target(pattern: &ProbePattern) -> bool {
    !pattern.kind().is_some_and(|k| k.is_user())
}

/// What the kernel points' views are made from, read and indexed once per run.
struct Facts<'a, 'k> {
    sources: &'a Sources,
    index: Option<&'a FunctionIndex<'k>>,
    types: Option<&'a KernelTypes<'k>>,
    /// One per BTF of `types`, in the same order, once a tracepoint is shown.
    record_names: OnceCell<Vec<RecordNames<'a>>>,
    symbols: SymbolsByName<'a>,
}

impl<'a> Facts<'a, '_> {
    /// The tracepoint's record struct, from the first BTF that has it, with
    /// that BTF's module (vmlinux when none has it). None without BTF.
    fn record_struct(
        &self,
        id: &TracepointId,
        layout: &TracepointLayout,
    ) -> Option<(&'a str, Option<RecordStruct>)> {
        let types = self.types?;
        let names = self
            .record_names
            .get_or_init(|| types.all().map(|(_, btf)| RecordNames::new(btf)).collect());
        let found = types
            .all()
            .zip(names)
            .find_map(|((module, _), names)| {
                names
                    .record_struct(&id.category, &id.event, layout)
                    .map(|r| (module.unwrap_or("vmlinux"), r))
            })
            .map_or(("vmlinux", None), |(module, r)| (module, Some(r)));
        Some(found)
    }
}

/// The kallsyms symbols that bear the names of the functions shown, found
/// in one pass over kallsyms (see [`symbols_named`]).
struct SymbolsByName<'t> {
    /// Whether kallsyms could be read (so an absent name is news).
    read: bool,
    symbols: HashMap<&'t str, Vec<SymbolSite<'t>>>,
}

impl<'t> SymbolsByName<'t> {
    fn new(sources: &'t Sources, named: &[NamedPoints<'_>]) -> SymbolsByName<'t> {
        let kallsyms = match sources.function_texts().and_then(|t| t.kallsyms.as_ref()) {
            Some(Ok(kallsyms)) => Some(kallsyms),
            _ => None,
        };
        let mut by_name = SymbolsByName {
            read: kallsyms.is_some(),
            symbols: HashMap::new(),
        };
        let wanted: HashSet<&str> = named
            .iter()
            .flat_map(|n| &n.points)
            .filter(|p| p.kind != ProbeKind::RawTracepoint)
            .map(|p| p.name)
            .collect();
        if let Some(kallsyms) = kallsyms.filter(|_| !wanted.is_empty()) {
            by_name.symbols = symbols_named(kallsyms, &wanted);
        }
        by_name
    }

    /// Every symbol of `name`, in kallsyms' order.
    fn named(&self, name: &str) -> &[SymbolSite<'t>] {
        self.symbols.get(name).map_or(&[], Vec::as_slice)
    }
}

fn show_tracepoint(
    ctx: &Context,
    facts: &Facts<'_, '_>,
    id: &TracepointId,
    emit: Option<EmitFormat>,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    let (tracefs, _) = facts
        .sources
        .tracepoints()
        .expect("tracepoints were listed");
    let layout = tracepoints::layout(tracefs, id).map_err(|e| ctx.discover_error(&e))?;
    let path = tracefs
        .format_path(&id.category, &id.event)
        .display()
        .to_string();
    match (emit, ctx.json) {
        (Some(EmitFormat::C), _) => {
            let source = c::c_struct(id, &layout, &path).map_err(|e| {
                Error::bad_input(format!("{id}: cannot write a C struct from {path}: {e}"))
            })?;
            io.out.write_all(source.as_bytes())?;
        }
        (None, json) => {
            // Module tracepoints' structs are in their module's BTF.
            let found = facts.record_struct(id, &layout);
            if json {
                let mut detail = json::TracepointDetail::new(id, &layout, path);
                detail.btf_struct = found
                    .as_ref()
                    .map(|(module, record)| json::RecordJson::new(record.as_ref(), module));
                serde_json::to_writer(&mut *io.out, &detail).map_err(std::io::Error::from)?;
                writeln!(io.out)?;
            } else {
                let check = found.as_ref().map(|(module, record)| text::RecordCheck {
                    record: record.as_ref(),
                    module,
                });
                text::write_show(io.out, id, &layout, &path, check.as_ref(), ctx.style)?;
            }
        }
    }
    Ok(())
}

fn show_point(
    ctx: &Context,
    facts: &Facts<'_, '_>,
    point: &KernelPoint<'_>,
    probe: &str,
    emit: Option<EmitFormat>,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    if emit.is_some() {
        return Err(Error::bad_input(format!(
            "{probe}: --emit c writes tracepoint record structs; {} programs receive \
             their arguments directly (see `probedex show {probe}`)",
            point.kind
        ))
        .into());
    }
    let signature = point.signature();
    let traceable = traceability(point, facts.index);
    if ctx.json {
        let detail = json::FunctionDetail::new(
            probe.to_string(),
            point.kind,
            point.module_name(),
            point.name,
            point.btf.map(|(_, id)| id),
            signature.as_ref(),
            &traceable,
        );
        serde_json::to_writer(&mut *io.out, &detail).map_err(std::io::Error::from)?;
        writeln!(io.out)?;
        return Ok(());
    }
    let btf_path = match point.btf {
        Some(_) => facts.sources.btf_path(point.module),
        None => String::new(),
    };
    let notes = function_notes(&facts.symbols, point, &traceable);
    let view = FunctionView {
        probe,
        kind: point.kind,
        module: point.module_name(),
        name: point.name,
        btf_path: &btf_path,
        btf_id: point.btf.map(|(_, id)| id),
        signature: signature.as_ref(),
        notes: &notes,
    };
    kernel_view::write_function(io.out, &view, ctx.style)?;
    Ok(())
}

/// What else a BPF author should know before attaching to a function:
/// whether it can attach, what a clone suffix means, which symbols bear the name.
fn function_notes(
    symbols: &SymbolsByName<'_>,
    point: &KernelPoint<'_>,
    traceable: &Traceability,
) -> Vec<String> {
    let verdict = match traceable.traceable {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    let mut notes = vec![format!("traceable  {verdict}: {}", traceable.reason)];
    if point.kind == ProbeKind::RawTracepoint {
        return notes;
    }
    let split = split_clone_suffix(point.name);
    if let (Some(suffix), Some(kind)) = (split.suffix, split.clone_kind()) {
        notes.push(format!(
            "clone      of {} ({suffix}: {}){}",
            split.base,
            kind.describe(),
            if point.btf.is_none() && kind.may_change_signature() {
                "; its arguments may differ from the source's, so no signature is shown"
            } else {
                ""
            }
        ));
    }
    if point.btf.is_none() && split.suffix.is_none() {
        notes.push(
            "btf        none: BTF does not describe this function (assembly, or not in this \
             kernel's BTF); arguments are arg0.. only"
                .into(),
        );
    }
    let bearing: Vec<_> = symbols
        .named(point.name)
        .iter()
        .filter(|(_, _, module)| *module == point.module)
        .collect();
    for (address, letter, _) in &bearing {
        notes.push(format!("kallsyms   {address:016x} {letter}"));
    }
    if bearing.len() > 1 {
        notes.push(format!(
            "several    {} symbols share this name (static functions in different files); \
             a probe by name attaches to the first, use an address to pick another",
            bearing.len()
        ));
    }
    if bearing.is_empty() && symbols.read {
        notes.push(
            "kallsyms   not present: inlined everywhere or removed, so nothing can attach".into(),
        );
    }
    notes
}

fn show_user_point(ctx: &Context, point: &UserPoint<'_>, io: &mut Io<'_>) -> Result<(), RunError> {
    let params = user::function_params(&ctx.system, std::slice::from_ref(point));
    if ctx.json {
        let entry = point.to_json(params.first());
        serde_json::to_writer(&mut *io.out, &entry).map_err(std::io::Error::from)?;
        writeln!(io.out)?;
        return Ok(());
    }
    let probe = point.probe_name();
    let params = match &params[0] {
        user::UserParams::Known { function, from } => user_view::ParamsView::Known {
            return_type: &function.return_type,
            params: &function.params,
            inlined_only: function.inlined_only,
            from,
        },
        user::UserParams::Unknown(why) => user_view::ParamsView::Unknown(why),
    };
    let view = user_view::UserFunctionView {
        probe: &probe,
        kind: point.kind,
        path: point.path,
        name: point.name,
        demangled: point.demangled.as_deref(),
        address: point.address,
        size: point.size,
        file_offset: point.file_offset,
        ifunc: point.ifunc,
        params,
    };
    user_view::write_user_function(io.out, &view, ctx.style)?;
    Ok(())
}

fn show_type(
    ctx: &Context,
    types: &KernelTypes<'_>,
    spec: &TypeSpec<'_>,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    let found = types
        .all()
        .filter(|(module, _)| {
            spec.module
                .is_none_or(|m| Some(m) == *module || (m == "vmlinux" && module.is_none()))
        })
        .find_map(|(module, btf)| {
            btf.own_types()
                .find(|t| spec.kinds.contains(&t.kind) && t.name() == Some(spec.name))
                .map(|t| (module, btf, t.id))
        });
    let Some((module, btf, id)) = found else {
        let names: Vec<String> = types
            .all()
            .flat_map(|(_, btf)| {
                btf.own_types()
                    .filter(|t| spec.kinds.contains(&t.kind))
                    .filter_map(|t| t.name().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect();
        let near = crate::suggest::nearest(spec.name, names.iter(), 3);
        let mut message = format!("{}: no such type in the kernel's BTF", spec.text);
        if !near.is_empty() {
            let kind = spec.text.split(':').next().unwrap_or("struct");
            let near: Vec<String> = near.iter().map(|n| format!("{kind}:{n}")).collect();
            message.push_str(&format!("; did you mean {}?", near.join(", ")));
        }
        return Err(Error::nothing_matched(message).into());
    };
    let module = module.unwrap_or("vmlinux");
    if ctx.json {
        let detail = json::TypeDetail::new(spec.text, btf, id, module);
        serde_json::to_writer(&mut *io.out, &detail).map_err(std::io::Error::from)?;
        writeln!(io.out)?;
    } else {
        kernel_view::write_type(io.out, btf, id, module, ctx.style)?;
    }
    Ok(())
}

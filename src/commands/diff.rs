//! `probedex diff A B [PATTERN...]`: the probe points of two kernels, each
//! `live`, a snapshot file or a captured tree, compared point by point.
//!
//! Each side is read by the code `list` uses ([`Sources::load`],
//! [`btf_points`], [`kprobe_points`], [`FormatReader`]) into an
//! [`Inventory`], on a thread of its own: opening a snapshot (decompressing
//! it) and parsing its BTF is most of the work, and the sides share nothing.
//! [`inventory::compare`] does the rest.
//!
//! A family whose source one side lacks altogether (a kernel without BTF)
//! is not compared, with one notice, rather than reported as 56,000
//! functions removed. A source that exists but failed (permission denied)
//! ends the run with its error after the comparison of the rest, as `list`
//! does.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::kernel::{btf_points, kprobe_points, KernelPoint};
use super::sources::{Needs, Sources};
use super::{
    check_supported, parse_patterns, select_tracepoints, selected_kinds, snapshot, Context, Io,
    Outcome, RunError,
};
use crate::discover::btf;
use crate::discover::kernel_functions::{
    listing_order, sort_for_listing, FtraceSet, FunctionIndex,
};
use crate::discover::tracepoints::FormatReader;
use crate::error::Error;
use crate::format::btf::{Btf, Kind, TypeId};
use crate::format::btf_c;
use crate::output::diff as diff_view;
use crate::output::Style;
use crate::parallel;
use crate::probe::{ProbeKind, ProbePattern};
use crate::snapshot::inventory::{
    self, FieldShape, FunctionShape, Inventory, Point, Points, SignatureText, SignatureWriter,
    TracepointShape,
};

pub(super) fn run(
    ctx: &Context,
    old: &str,
    new: &str,
    pattern_texts: &[String],
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let patterns = parse_patterns(pattern_texts)?;
    check_supported(&patterns)?;
    if let Some((text, _)) = pattern_texts
        .iter()
        .zip(&patterns)
        .find(|(_, p)| p.kind().is_some_and(ProbeKind::is_user))
    {
        return Err(Error::bad_input(format!(
            "{text}: diff compares kernels; user-space points belong to a file, not to a kernel"
        ))
        .into());
    }
    let kinds: Vec<ProbeKind> = selected_kinds(&patterns)
        .into_iter()
        .filter(|k| k.is_kernel())
        .collect();
    if kinds.is_empty() {
        return Err(Error::bad_input(format!(
            "{}: selects no kernel probe points to compare",
            pattern_texts.join(" ")
        ))
        .into());
    }
    let (json, style) = (ctx.json, ctx.style);
    let (old_side, new_side) = std::thread::scope(|scope| {
        let old_side = scope.spawn(|| load_side(old, &patterns, &kinds, json, style));
        let new_side = load_side(new, &patterns, &kinds, json, style);
        let old_side = old_side
            .join()
            .unwrap_or_else(|_| Err(Error::bad_input(format!("diff: {old}: reading it failed"))));
        (old_side, new_side)
    });
    let (old_side, new_side) = (old_side?, new_side?);
    io.err.write_all(&old_side.notices)?;
    io.err.write_all(&new_side.notices)?;

    let comparison = inventory::compare(
        &old_side.inventory,
        &new_side.inventory,
        &kinds,
        &old_side.label,
        &new_side.label,
    );
    // One notice per reason: a kernel without BTF has neither fentry nor
    // raw tracepoints to compare.
    let mut reasons: Vec<(&str, Vec<ProbeKind>)> = Vec::new();
    for skipped in &comparison.not_compared {
        match reasons.iter_mut().find(|(r, _)| *r == skipped.reason) {
            Some((_, kinds)) => kinds.extend(&skipped.kinds),
            None => reasons.push((&skipped.reason, skipped.kinds.clone())),
        }
    }
    for (reason, kinds) in reasons {
        io.notice(&format!(
            "{} not compared: {reason}",
            diff_view::kinds_words(&kinds)
        ));
    }
    for (probe, why) in &comparison.unreadable {
        io.warn(&format!("{probe}: layouts not compared: {why}"));
    }
    if ctx.json {
        diff_view::write_json(io.out, &comparison, &old_side.label, &new_side.label)?;
    } else {
        diff_view::write_text(io.out, &comparison, ctx.style)?;
    }
    if let Some(failure) = old_side.failure.or(new_side.failure) {
        return Err(failure.into());
    }
    Ok(if comparison.differs() {
        Outcome::NothingMatched
    } else {
        Outcome::Matched
    })
}

/// One side, read.
struct Side {
    label: String,
    inventory: Inventory,
    /// Notices and warnings reading it printed, replayed in order.
    notices: Vec<u8>,
    /// A source that exists but could not be read.
    failure: Option<Error>,
}

/// `diff: LABEL: why`, once.
fn on_side(label: &str, mut e: Error) -> Error {
    if !e.message.starts_with("diff: ") {
        e.message = format!("diff: {label}: {}", e.message);
    }
    e
}

fn load_side(
    name: &str,
    patterns: &[ProbePattern],
    kinds: &[ProbeKind],
    json: bool,
    style: Style,
) -> Result<Side, Error> {
    let (system, header, label) = snapshot::side(name)?;
    let ctx = Context {
        system,
        snapshot_header: header.map(Arc::new),
        kernel_label: Some(label.clone()),
        process: None,
        json,
        demangle: false,
        style,
    };
    let mut out = Vec::new();
    let mut notices = Vec::new();
    let mut io = Io {
        out: &mut out,
        err: &mut notices,
    };
    let sources = Sources::load(&ctx, patterns, kinds, Needs::default(), &mut io)
        .map_err(|e| on_side(&label, e))?;
    let wants = |family: &[ProbeKind]| family.iter().any(|k| kinds.contains(k));

    let tracepoints = if !wants(&[ProbeKind::Tracepoint]) {
        Points::NotSelected
    } else {
        match sources.tracepoints() {
            Some((tracefs, all)) => {
                let selected = select_tracepoints(all, patterns);
                let chunks = parallel::render_chunks(
                    &selected,
                    FormatReader::new,
                    |reader, out: &mut Vec<Point<TracepointShape>>, id| {
                        let shape = match reader.layout(tracefs, id) {
                            Ok(layout) => TracepointShape::Layout {
                                fixed_size: layout.fixed_size(),
                                fields: layout
                                    .fields
                                    .iter()
                                    .map(|f| FieldShape {
                                        name: f.name.clone(),
                                        type_text: f.type_text(),
                                        offset: f.offset,
                                        size: f.size,
                                        signed: f.signed,
                                    })
                                    .collect(),
                            },
                            Err(e) => TracepointShape::Unreadable(e.to_string()),
                        };
                        out.push(Point {
                            kind: ProbeKind::Tracepoint,
                            also: None,
                            scope: Some(id.category.clone()),
                            name: id.event.clone(),
                            shape,
                        });
                    },
                );
                Points::found(chunks.into_iter().flatten().collect())
            }
            None => Points::Missing(why_no_tracepoints(&ctx)),
        }
    };

    let vmlinux = sources.vmlinux(&ctx).map_err(|e| on_side(&label, e))?;
    let types = sources.kernel_types(vmlinux.as_ref(), &mut io);
    let index = sources.function_index();

    let raw_tracepoints = match (&types, wants(&[ProbeKind::RawTracepoint])) {
        (_, false) => Points::NotSelected,
        (None, true) => Points::Missing(why_no_btf(&ctx)),
        (Some(types), true) => {
            // One cache for all: each new one sizes itself to vmlinux's
            // ~125,000 type ids.
            let mut names = TypeNames::default();
            Points::found(
                btf_points(types, ProbeKind::RawTracepoint, patterns)
                    .iter()
                    .filter_map(|p| Some(point(p, None, signature_text(p, &mut names)?)))
                    .collect(),
            )
        }
    };

    let fentry_kinds = [ProbeKind::Fentry, ProbeKind::Fexit];
    let functions = match (&types, wants(&fentry_kinds)) {
        (_, false) => Points::NotSelected,
        (None, true) => Points::Missing(why_no_btf(&ctx)),
        (Some(types), true) => {
            let merged = family_points(&fentry_kinds, kinds, patterns, |kind| {
                btf_points(types, kind, patterns)
            });
            // Rendering 56,000 signatures is the bulk of a side's work.
            let chunks = parallel::render_chunks(
                &merged,
                TypeNames::default,
                |names, out: &mut Vec<Point<FunctionShape>>, (p, also)| {
                    let shape = FunctionShape {
                        signature: signature_text(p, names),
                        traceable: fentry_traceable(index.as_ref(), p),
                    };
                    out.push(point(p, *also, shape));
                },
            );
            Points::found(chunks.into_iter().flatten().collect())
        }
    };

    let kprobe_kinds = [ProbeKind::Kprobe, ProbeKind::Kretprobe];
    let function_list = sources
        .function_texts()
        .map(|t| t.check_list().map_err(|e| e.to_string()));
    let kprobes = match (&index, function_list, wants(&kprobe_kinds)) {
        (_, _, false) => Points::NotSelected,
        (Some(index), Some(Ok(())), true) => {
            let merged = family_points(&kprobe_kinds, kinds, patterns, |kind| {
                kprobe_points(index, kind, patterns, None)
            });
            Points::found(
                merged
                    .iter()
                    .map(|(p, also)| point(p, *also, kprobe_traceable(index, p)))
                    .collect(),
            )
        }
        (_, Some(Err(why)), true) => {
            Points::Missing(format!("has no list of kernel functions ({why})"))
        }
        (_, _, true) => Points::Missing("has no list of kernel functions".into()),
    };

    let failure = sources.ending(1).map(|e| on_side(&label, e));
    Ok(Side {
        label,
        inventory: Inventory {
            tracepoints,
            raw_tracepoints,
            functions,
            kprobes,
        },
        notices,
        failure,
    })
}

fn point<T>(p: &KernelPoint<'_>, also: Option<ProbeKind>, shape: T) -> Point<T> {
    Point {
        kind: p.kind,
        also,
        scope: p.module.map(str::to_string),
        name: p.name.to_string(),
        shape,
    }
}

/// C type names and sizes already rendered, by `(BTF, type id)`: 56,000
/// signatures name ~10 times fewer distinct types than they have
/// arguments, and rendering a name walks the BTF.
#[derive(Default)]
struct TypeNames {
    /// vmlinux's type ids (dense: nearly every argument's type is one of
    /// them) → 1 + the index of the type's rendering, 0 when not rendered
    /// yet. Four bytes an id: the ~125,000 ids of a 6.18 kernel would be
    /// 5 MB of empty slots as `Option<Rendered>`, touched page by page.
    vmlinux: Vec<u32>,
    rendered: Vec<Rendered>,
    /// A module's own types, by the module's BTF address and id.
    modules: HashMap<(usize, TypeId), Rendered>,
}

/// A type's C name and size.
type Rendered = (String, Option<u64>);

impl TypeNames {
    fn get(&mut self, btf: &Btf<'_>, id: TypeId) -> &Rendered {
        let render = || (btf_c::type_name(btf, id), btf_c::size_of(btf, id));
        if btf.is_split() && id >= btf.first_id() {
            let owner = std::ptr::from_ref(btf) as usize;
            return self.modules.entry((owner, id)).or_insert_with(render);
        }
        let index = id as usize;
        if index >= self.vmlinux.len() {
            self.vmlinux
                .resize(index.max(btf.last_id() as usize) + 1, 0);
        }
        if self.vmlinux[index] == 0 {
            self.rendered.push(render());
            self.vmlinux[index] = self.rendered.len() as u32;
        }
        &self.rendered[self.vmlinux[index] as usize - 1]
    }
}

/// What [`KernelPoint::signature`] describes, as a [`SignatureText`],
/// rendered through `names`. A raw tracepoint's leading `void *__data` is
/// left out, as there.
fn signature_text(p: &KernelPoint<'_>, names: &mut TypeNames) -> Option<SignatureText> {
    let (btf, id) = p.btf?;
    let t = btf.get(id)?;
    let proto = match t.kind {
        Kind::Func => btf.get(t.referenced()?)?,
        Kind::FuncProto => t,
        _ => return None,
    };
    if proto.kind != Kind::FuncProto {
        return None;
    }
    let skip = usize::from(p.kind == ProbeKind::RawTracepoint);
    let ret = proto.referenced().unwrap_or(0);
    let (return_type, return_size) = names.get(btf, ret);
    let mut writer = SignatureWriter::new(return_type, *return_size);
    let mut varargs = false;
    for (index, param) in proto.params().enumerate() {
        // `...` is a parameter of type void; the skipped `__data` is not.
        if param.type_id == 0 {
            varargs = true;
            continue;
        }
        if index < skip {
            continue;
        }
        let (type_text, size) = names.get(btf, param.type_id);
        match param.name {
            Some(name) => writer.arg(name, type_text, *size),
            None => writer.arg(&format!("arg{index}"), type_text, *size),
        }
    }
    let text = writer.finish(varargs);
    // The cache must not change what the signature says.
    debug_assert_eq!(
        Some(&text),
        p.signature().map(|s| SignatureText::new(&s)).as_ref()
    );
    Some(text)
}

/// Whether ftrace lists the function, where its list could be read. The
/// rest of [`super::kernel::traceability`] (what the BTF function model
/// refuses) follows from the signature, which is compared already; and
/// skipping it, with the reason texts nobody reads here, halves the cost of
/// a side's functions.
fn fentry_traceable(index: Option<&FunctionIndex<'_>>, p: &KernelPoint<'_>) -> Option<bool> {
    let index = index?;
    match &index.ftrace {
        FtraceSet::Readable(_) => index.fentry(&p.function_name()).traceable,
        FtraceSet::Unknown(_) => None,
    }
}

fn kprobe_traceable(index: &FunctionIndex<'_>, p: &KernelPoint<'_>) -> Option<bool> {
    index.kprobe(&p.function_name()).traceable
}

/// The points of a family the patterns select, each once (see
/// [`merge_family`]).
fn family_points<'k>(
    family: &[ProbeKind],
    kinds: &[ProbeKind],
    patterns: &[ProbePattern],
    points: impl Fn(ProbeKind) -> Vec<KernelPoint<'k>>,
) -> Vec<(KernelPoint<'k>, Option<ProbeKind>)> {
    let selected: Vec<ProbeKind> = family
        .iter()
        .copied()
        .filter(|k| kinds.contains(k))
        .collect();
    // A bare word (and no pattern at all, which is `*`) matches names
    // whatever the kind: the second kind's list is the first's.
    if selected.len() > 1
        && patterns
            .iter()
            .all(|p| matches!(p, ProbePattern::BareName(_)))
    {
        let also = Some(selected[1]);
        return points(selected[0]).into_iter().map(|p| (p, also)).collect();
    }
    merge_family(selected.into_iter().map(points).collect())
}

/// One family's points, each function once: under the first kind that
/// selects it, with the second when that selects it too. fentry and fexit
/// (kprobe and kretprobe) differ only in when they run, not in what they
/// attach to.
fn merge_family<'k>(
    mut lists: Vec<Vec<KernelPoint<'k>>>,
) -> Vec<(KernelPoint<'k>, Option<ProbeKind>)> {
    let order = |a: &KernelPoint<'_>, b: &KernelPoint<'_>| {
        listing_order((a.module, a.name), (b.module, b.name))
    };
    for list in &mut lists {
        if !list.is_sorted_by(|a, b| order(a, b) != Ordering::Greater) {
            sort_for_listing(list, |p| (p.module, p.name));
        }
        list.dedup_by(|a, b| order(a, b) == Ordering::Equal);
    }
    let second = if lists.len() > 1 {
        lists.pop().unwrap_or_default()
    } else {
        Vec::new()
    };
    let first = lists.pop().unwrap_or_default();
    let also = second.first().map(|p| p.kind);
    let mut merged = Vec::with_capacity(first.len().max(second.len()));
    let (mut i, mut j) = (0, 0);
    while i < first.len() || j < second.len() {
        let ord = match (first.get(i), second.get(j)) {
            (Some(a), Some(b)) => order(a, b),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                merged.push((first[i], None));
                i += 1;
            }
            Ordering::Greater => {
                merged.push((second[j], None));
                j += 1;
            }
            Ordering::Equal => {
                merged.push((first[i], also));
                i += 1;
                j += 1;
            }
        }
    }
    merged
}

/// Why a side that was asked for tracepoints has none to compare.
fn why_no_tracepoints(ctx: &Context) -> String {
    match ctx.system.tracefs() {
        Err(e) => format!("has no tracefs ({e})"),
        Ok(tracefs) => match ctx.tracepoints(&tracefs) {
            Err(e) => format!("lists no tracepoints ({e})"),
            Ok(_) => "lists no tracepoints".into(),
        },
    }
}

fn why_no_btf(ctx: &Context) -> String {
    match btf::read(&ctx.system) {
        Err(e) => format!("has no BTF ({e})"),
        Ok(_) => "has no usable BTF".into(),
    }
}

//! `probedex list`: probe names, one a line, sorted, like `bpftrace -l`;
//! with `-v` each point's fields or arguments under it, like `bpftrace -lv`.
//!
//! Each kind is a section; sections print in the order of their kind names,
//! which is also the order of a global sort by probe name (no kind name is a
//! prefix of another before the `:`).

use super::kernel::{btf_points, function_types, kprobe_points, KernelPoint};
use super::sources::{Needs, Sources};
use super::user::{self, UsdtProbe, UserPoint};
use super::{
    check_supported, no_match_message, parse_patterns, select_tracepoints, selected_kinds,
    Candidate, Context, Io, Outcome, RunError,
};
use crate::discover::kernel_functions::{FunctionIndex, KprobeSupport};
use crate::discover::tracepoints::FormatReader;
use crate::error::Error;
use crate::output::{json, text, user as user_view};
use crate::parallel;
use crate::probe::{ProbeKind, ProbePattern, TracepointId};

pub(super) fn run(
    ctx: &Context,
    pattern_texts: &[String],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    // `-p PID` alone: everything user-space in that process.
    let for_process = ["uprobe:*:*".to_string(), "usdt:*:*".to_string()];
    let pattern_texts = match (&ctx.process, pattern_texts) {
        (Some(_), []) => &for_process[..],
        _ => pattern_texts,
    };
    let patterns = parse_patterns(pattern_texts)?;
    check_supported(&patterns)?;
    let kinds = selected_kinds(&patterns);
    let needs = Needs {
        kprobe_signatures: verbose,
        ..Needs::default()
    };
    let sources = Sources::load(ctx, &patterns, &kinds, needs, io)?;

    let tracepoints: Vec<TracepointId> = sources
        .tracepoints()
        .map(|(_, all)| select_tracepoints(all, &patterns))
        .unwrap_or_default();
    let vmlinux = sources.vmlinux(ctx)?;
    let types = sources.kernel_types(vmlinux.as_ref(), io);
    let index = sources.function_index();
    let signatures = match (&types, verbose) {
        (Some(types), true) if kinds.iter().any(|k| k.is_kprobe()) => Some(function_types(types)),
        _ => None,
    };
    let sections: Vec<(ProbeKind, Vec<KernelPoint<'_>>)> = kinds
        .iter()
        .filter_map(|&kind| {
            let points = if kind.is_kprobe() {
                kprobe_points(index.as_ref()?, kind, &patterns, signatures.as_ref())
            } else if Sources::needs_btf(kind) {
                let mut points = btf_points(types.as_ref()?, kind, &patterns);
                if kind.is_fentry() {
                    // Where ftrace's list is known, fentry can only attach to
                    // what it lists (as bpftrace lists fentry).
                    if let Some(index) = &index {
                        points
                            .retain(|p| index.fentry(&p.function_name()).traceable != Some(false));
                    }
                }
                points
            } else {
                return None;
            };
            Some((kind, points))
        })
        .collect();
    let mut usdt: Vec<UsdtProbe> = Vec::new();
    // The files stay open (mapped) while their points borrow names from them.
    let mut targets = Vec::new();
    for (text, pattern) in pattern_texts.iter().zip(&patterns) {
        let Some(kind) = pattern.kind().filter(|k| k.is_user()) else {
            continue;
        };
        if kind == ProbeKind::Usdt {
            usdt.extend(user::usdt_probes(ctx, text, pattern)?);
            continue;
        }
        targets.extend(user::open_targets(ctx, kind, text, pattern)?);
    }
    let mut user_sections: Vec<(ProbeKind, Vec<UserPoint<'_>>)> = Vec::new();
    for target in &targets {
        let kind = target.kind;
        let points =
            user::function_points(target, user::Names::for_output(ctx.demangle, ctx.json))?;
        match user_sections.iter_mut().find(|(k, _)| *k == kind) {
            // A second pattern of the same kind: merge, then re-sort.
            Some((_, existing)) => {
                existing.extend(points);
                existing.sort_by(|a, b| {
                    (&a.path, a.shown_name(), &a.name).cmp(&(&b.path, b.shown_name(), &b.name))
                });
                existing.dedup_by(|a, b| a.path == b.path && a.name == b.name);
            }
            // One file's points come sorted by name.
            None => user_sections.push((kind, points)),
        }
    }
    usdt.sort_by(|a, b| (&a.path, &a.provider, &a.name).cmp(&(&b.path, &b.provider, &b.name)));
    usdt.dedup_by(|a, b| a.path == b.path && a.provider == b.provider && a.name == b.name);
    let total = usdt.len()
        + tracepoints.len()
        + sections.iter().map(|(_, p)| p.len()).sum::<usize>()
        + user_sections.iter().map(|(_, p)| p.len()).sum::<usize>();

    // An exact name that matched nothing is almost always a typo: say so
    // even when other patterns matched.
    for (text, pattern) in pattern_texts.iter().zip(&patterns) {
        // A user-space pattern names one file; whether its kind found
        // anything there is what counts.
        let matched = user_sections
            .iter()
            .any(|(k, p)| Some(*k) == pattern.kind() && !p.is_empty())
            || (pattern.kind() == Some(ProbeKind::Usdt) && !usdt.is_empty())
            || tracepoints.iter().any(|id| pattern.matches_tracepoint(id))
            || sections.iter().any(|(kind, points)| {
                points
                    .iter()
                    .any(|p| pattern.matches(*kind, p.module, p.name))
            });
        if pattern.is_exact() && !matched {
            let candidates = candidates(&sources, &kinds, types.as_ref());
            let message = no_match_message(text, pattern, &candidates);
            if total == 0 {
                return Err(Error::nothing_matched(message).into());
            }
            io.warn(&message);
        }
    }
    if total == 0 {
        if let Some(e) = sources.ending(0) {
            return Err(e.into());
        }
        let shown = if pattern_texts.is_empty() {
            "*".to_string()
        } else {
            pattern_texts.join(" ")
        };
        let what = match patterns.as_slice() {
            [only] => super::kind_words(only.kind()),
            _ => super::kind_words(None),
        };
        return Err(Error::nothing_matched(format!("{shown}: no {what} matches")).into());
    }

    warn_traceability(&sections, &sources, index.as_ref(), io);
    for kind in &kinds {
        if *kind == ProbeKind::Tracepoint {
            if let Some((tracefs, _)) = sources.tracepoints() {
                write_tracepoints(ctx, tracefs, &tracepoints, verbose, io)?;
            }
        } else if let Some((_, points)) = sections.iter().find(|(k, _)| k == kind) {
            write_kernel_points(ctx, points, index.as_ref(), verbose, io)?;
        } else if let Some((_, points)) = user_sections.iter().find(|(k, _)| k == kind) {
            write_user_points(ctx, points, verbose, io)?;
        } else if *kind == ProbeKind::Usdt {
            write_usdt(ctx, &usdt, verbose, io)?;
        }
    }
    match sources.ending(total) {
        Some(e) => Err(e.into()),
        None => Ok(Outcome::Matched),
    }
}

/// Every name of the searched kinds, for "did you mean".
pub(super) fn candidates(
    sources: &Sources,
    kinds: &[ProbeKind],
    types: Option<&crate::discover::btf::KernelTypes<'_>>,
) -> Vec<Candidate> {
    let mut all = Vec::new();
    if let Some((_, ids)) = sources.tracepoints() {
        all.extend(ids.iter().map(Candidate::tracepoint));
    }
    if let Some(index) = sources.function_index() {
        for &kind in kinds.iter().filter(|k| k.is_kprobe()) {
            for f in index.every_function() {
                let point = KernelPoint {
                    kind,
                    module: f.module,
                    name: f.name,
                    btf: None,
                };
                all.push(Candidate {
                    scope: f.module.map(str::to_string),
                    name: f.name.to_string(),
                    probe: point.probe_name(),
                });
            }
        }
    }
    if let Some(types) = types {
        let everything = [ProbePattern::parse("*").expect("valid pattern")];
        for &kind in kinds.iter().filter(|k| Sources::needs_btf(**k)) {
            for point in btf_points(types, kind, &everything) {
                all.push(Candidate {
                    scope: point.module.map(str::to_string),
                    name: point.name.to_string(),
                    probe: point.probe_name(),
                });
            }
        }
    }
    all
}

fn write_tracepoints(
    ctx: &Context,
    tracefs: &crate::system::Tracefs,
    selected: &[TracepointId],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    if !verbose {
        for id in selected {
            if ctx.json {
                serde_json::to_writer(&mut *io.out, &json::ProbeEntry::tracepoint(id))
                    .map_err(std::io::Error::from)?;
                writeln!(io.out)?;
            } else {
                text::write_probe(io.out, id)?;
            }
        }
        return Ok(());
    }
    let json = ctx.json;
    let chunks = parallel::render_chunks(
        selected,
        FormatReader::new,
        |reader, chunk: &mut Rendered, id| {
            let layout = reader.layout(tracefs, id);
            // Writing into a Vec cannot fail; the results are ignored for that reason.
            let out = &mut chunk.bytes;
            match layout {
                Ok(layout) if json => {
                    let path = tracefs.format_path(&id.category, &id.event);
                    let detail =
                        json::TracepointDetail::new(id, &layout, path.display().to_string());
                    let _ = serde_json::to_writer(&mut *out, &detail);
                    out.push(b'\n');
                }
                Ok(layout) => {
                    let _ = text::write_probe_verbose(out, id, &layout);
                }
                Err(e) => {
                    // One bad file must not hide the others: list the probe, warn, go on.
                    if json {
                        let entry = json::TracepointError {
                            probe: id.probe_name(),
                            kind: "tracepoint",
                            category: &id.category,
                            event: &id.event,
                            error: e.to_string(),
                        };
                        let _ = serde_json::to_writer(&mut *out, &entry);
                        out.push(b'\n');
                    } else {
                        let _ = text::write_probe(out, id);
                    }
                    chunk.warnings.push(e.to_string());
                }
            }
        },
    );
    write_chunks(chunks, io)
}

/// Says, once per run, when the listed functions may not all attach: the
/// kernel has no kprobes, or ftrace's list (which decides fentry and tells
/// notrace functions apart) could not be read.
fn warn_traceability(
    sections: &[(ProbeKind, Vec<KernelPoint<'_>>)],
    sources: &Sources,
    index: Option<&FunctionIndex<'_>>,
    io: &mut Io<'_>,
) {
    let listed = |wanted: fn(ProbeKind) -> bool| {
        sections
            .iter()
            .any(|(kind, points)| wanted(*kind) && !points.is_empty())
    };
    let ftrace_unknown = sources.ftrace_unreadable();
    if listed(ProbeKind::is_kprobe) {
        if let Some(index) = index {
            if index.kprobes == KprobeSupport::Missing {
                io.warn(&format!(
                    "kprobes cannot attach on this kernel: it was built without CONFIG_KPROBES \
                     (no kprobe_events in tracefs, no kprobe PMU); these functions are listed \
                     from {} for reference, and fentry:FUNC or a tracepoint may work instead",
                    index.listed_from
                ));
            } else if let Some(why) = &ftrace_unknown {
                io.warn(&format!(
                    "listed every text symbol of /proc/kallsyms: available_filter_functions \
                     could not be read ({why}), so notrace functions are not told apart"
                ));
            }
        }
    }
    if listed(ProbeKind::is_fentry) {
        if let Some(why) = &ftrace_unknown {
            io.warn(&format!(
                "whether each fentry/fexit function can attach is unknown: \
                 available_filter_functions could not be read ({why}); listed every BTF function"
            ));
        }
    }
}

fn write_kernel_points(
    ctx: &Context,
    points: &[KernelPoint<'_>],
    index: Option<&FunctionIndex<'_>>,
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    let json = ctx.json;
    // Kernel names are C identifiers; a captured file's may not be, so names
    // with control characters take the escaping path.
    let write_name = |point: &KernelPoint<'_>, out: &mut Vec<u8>| {
        let plain = !text::has_control(point.name) && !point.module.is_some_and(text::has_control);
        if plain {
            point.push_probe_name(out);
            out.push(b'\n');
        } else {
            let _ = writeln!(out, "{}", text::printable(&point.probe_name()));
        }
    };
    if !json && !verbose {
        // Names only: cheaper to write here than to hand to worker threads.
        let mut out = Vec::with_capacity(64 * 1024);
        for point in points {
            write_name(point, &mut out);
            if out.len() >= 60 * 1024 {
                io.out.write_all(&out)?;
                out.clear();
            }
        }
        io.out.write_all(&out)?;
        return Ok(());
    }
    let chunks = parallel::render_chunks(
        points,
        || (),
        |_, chunk: &mut Rendered, point| {
            let out = &mut chunk.bytes;
            let write_name = |out: &mut Vec<u8>| write_name(point, out);
            match (json, verbose) {
                (false, false) => unreachable!("names only are written above"),
                (false, true) => {
                    write_name(out);
                    if let Some(signature) = point.signature() {
                        let _ = text::write_signature_lines(out, point.kind, &signature);
                    }
                }
                (true, false) => {
                    let entry = json::FunctionEntry {
                        probe: point.probe_name(),
                        kind: point.kind.name(),
                        module: point.module_name(),
                        name: point.name,
                    };
                    let _ = serde_json::to_writer(&mut *out, &entry);
                    out.push(b'\n');
                }
                (true, true) => {
                    let signature = point.signature();
                    let detail = json::FunctionDetail::new(
                        point.probe_name(),
                        point.kind,
                        point.module_name(),
                        point.name,
                        point.btf.map(|(_, id)| id),
                        signature.as_ref(),
                        &super::kernel::traceability(point, index),
                    );
                    let _ = serde_json::to_writer(&mut *out, &detail);
                    out.push(b'\n');
                }
            }
        },
    );
    write_chunks(chunks, io)
}

/// USDT probes, once each as bpftrace lists them; `-v` adds each call site.
fn write_usdt(
    ctx: &Context,
    probes: &[UsdtProbe],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    for probe in probes {
        if ctx.json {
            serde_json::to_writer(&mut *io.out, &probe.to_json(verbose))
                .map_err(std::io::Error::from)?;
            writeln!(io.out)?;
            continue;
        }
        writeln!(io.out, "{}", text::printable(&probe.probe_name()))?;
        if verbose {
            for site in &probe.sites {
                let semaphore = if site.semaphore != 0 {
                    format!(", semaphore {:#x}", site.semaphore)
                } else {
                    String::new()
                };
                let args = if site.args_spec.is_empty() {
                    "no arguments".to_string()
                } else {
                    text::printable(&site.args_spec).into_owned()
                };
                writeln!(io.out, "    site {:#x}{semaphore}: {args}", site.address)?;
            }
        }
    }
    Ok(())
}

fn write_user_points(
    ctx: &Context,
    points: &[UserPoint<'_>],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    // DWARF only for `-v`: plain listing stays a symbol-table read.
    let params = if verbose {
        user::function_params(&ctx.system, points)
    } else {
        Vec::new()
    };
    if ctx.json {
        for (index, point) in points.iter().enumerate() {
            let entry = point.to_json(params.get(index));
            serde_json::to_writer(&mut *io.out, &entry).map_err(std::io::Error::from)?;
            writeln!(io.out)?;
        }
        return Ok(());
    }
    // Node: 85,000 lines. Built as bytes in a local buffer rather than six
    // `write_all`s a line through `dyn Write`, and handed on at least 64 KiB
    // at a time, which `BufWriter` passes straight to stdout instead of
    // copying again. With the byte check for control characters (decoding
    // every name to chars was 11% of the listing), writing node's list went
    // from ~15 ms to ~5.5 ms.
    let mut out = Vec::with_capacity(128 * 1024);
    for (index, point) in points.iter().enumerate() {
        let name = point.shown_name();
        if text::has_control(name) || text::has_control(point.path) {
            writeln!(out, "{}", text::printable(&point.probe_name()))?;
        } else {
            out.extend_from_slice(point.kind.name().as_bytes());
            out.push(b':');
            out.extend_from_slice(point.path.as_bytes());
            out.push(b':');
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
        }
        if let Some(user::UserParams::Known { function, .. }) = params.get(index) {
            user_view::write_params_verbose(&mut out, &function.params)?;
        }
        if out.len() >= 64 * 1024 {
            io.out.write_all(&out)?;
            out.clear();
        }
    }
    io.out.write_all(&out)?;
    Ok(())
}

fn write_chunks(chunks: Vec<Rendered>, io: &mut Io<'_>) -> Result<(), RunError> {
    for chunk in chunks {
        for warning in &chunk.warnings {
            io.warn(warning);
        }
        io.out.write_all(&chunk.bytes)?;
    }
    Ok(())
}

/// What a worker thread renders for a run of points.
#[derive(Default)]
struct Rendered {
    bytes: Vec<u8>,
    warnings: Vec<String>,
}

use std::io::Write as _;

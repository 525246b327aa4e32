//! `probedex list`: probe names, one a line, sorted, like `bpftrace -l`;
//! with `-v` each point's fields or arguments under it, like `bpftrace -lv`.
//!
//! Each kind is a section; sections print in the order of their kind names,
//! which is also the order of a global sort by probe name (no kind name is a
//! prefix of another before the `:`).

use super::kernel::{btf_points, BtfPoint};
use super::sources::Sources;
use super::{
    check_supported, no_match_message, parse_patterns, select_tracepoints, selected_kinds,
    Candidate, Context, Io, Outcome, RunError,
};
use crate::discover::tracepoints::FormatReader;
use crate::error::Error;
use crate::output::{json, text};
use crate::parallel;
use crate::probe::{ProbeKind, ProbePattern, TracepointId};

pub(super) fn run(
    ctx: &Context,
    pattern_texts: &[String],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let patterns = parse_patterns(pattern_texts)?;
    check_supported(&patterns)?;
    let kinds = selected_kinds(&patterns);
    let sources = Sources::load(ctx, &patterns, &kinds, false, io)?;

    let tracepoints: Vec<TracepointId> = sources
        .tracepoints()
        .map(|(_, all)| select_tracepoints(all, &patterns))
        .unwrap_or_default();
    let vmlinux = sources.vmlinux(ctx)?;
    let types = sources.kernel_types(vmlinux.as_ref(), io);
    let btf_sections: Vec<(ProbeKind, Vec<BtfPoint<'_>>)> = match &types {
        Some(types) => kinds
            .iter()
            .filter(|k| Sources::needs_btf(**k))
            .map(|&k| (k, btf_points(types, k, &patterns)))
            .collect(),
        None => Vec::new(),
    };
    let total = tracepoints.len() + btf_sections.iter().map(|(_, p)| p.len()).sum::<usize>();

    // An exact name that matched nothing is almost always a typo: say so
    // even when other patterns matched.
    for (text, pattern) in pattern_texts.iter().zip(&patterns) {
        let matched = tracepoints.iter().any(|id| pattern.matches_tracepoint(id))
            || btf_sections.iter().any(|(kind, points)| {
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
        let kinds_named: Vec<_> = patterns.iter().map(|p| p.kind()).collect();
        let what = match kinds_named.as_slice() {
            [Some(ProbeKind::Tracepoint)] => "tracepoint".to_string(),
            [Some(kind)] => format!("{kind} point"),
            _ => "probe point".to_string(),
        };
        return Err(Error::nothing_matched(format!("{shown}: no {what} matches")).into());
    }

    for kind in &kinds {
        if *kind == ProbeKind::Tracepoint {
            if let Some((tracefs, _)) = sources.tracepoints() {
                write_tracepoints(ctx, tracefs, &tracepoints, verbose, io)?;
            }
        } else if let Some((_, points)) = btf_sections.iter().find(|(k, _)| k == kind) {
            write_btf_points(ctx, points, verbose, io)?;
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

fn write_btf_points(
    ctx: &Context,
    points: &[BtfPoint<'_>],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<(), RunError> {
    let json = ctx.json;
    let chunks = parallel::render_chunks(
        points,
        || (),
        |_, chunk: &mut Rendered, point| {
            let out = &mut chunk.bytes;
            // BTF names are C identifiers the kernel checked when it loaded
            // them; a captured file is not, so hostile ones get the escaping path.
            let plain = !point.name.contains(char::is_control)
                && !point.module.is_some_and(|m| m.contains(char::is_control));
            let write_name = |out: &mut Vec<u8>| {
                if plain {
                    let _ = point.write_probe_name(out);
                    out.push(b'\n');
                } else {
                    let _ = writeln!(out, "{}", text::printable(&point.probe_name()));
                }
            };
            match (json, verbose) {
                (false, false) => write_name(out),
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
                        point.type_id,
                        signature.as_ref(),
                    );
                    let _ = serde_json::to_writer(&mut *out, &detail);
                    out.push(b'\n');
                }
            }
        },
    );
    write_chunks(chunks, io)
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

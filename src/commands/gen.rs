//! `probedex gen PROBE`: a ready-to-compile libbpf program for exactly one
//! probe point. Finding the point is `show`'s work; writing the program is
//! `output::gen`'s.

use std::path::Path;

use super::kernel::{function_types, points_named};
use super::sources::{Needs, Sources};
use super::user;
use super::{check_supported, selected_kinds, Context, Io, Outcome, RunError};
use crate::discover::tracepoints;
use crate::error::Error;
use crate::output::gen::{self, Program};
use crate::probe::{ProbeKind, ProbePattern};

pub(super) fn run(
    ctx: &Context,
    text: &str,
    output: Option<&Path>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let pattern = ProbePattern::parse(text).map_err(Error::from)?;
    check_supported(std::slice::from_ref(&pattern))?;
    let mut programs = match pattern.kind() {
        Some(ProbeKind::Usdt) => usdt_programs(ctx, text, &pattern)?,
        Some(kind) if kind.is_user() => user_programs(ctx, kind, text, &pattern)?,
        _ => kernel_programs(ctx, text, &pattern, io)?,
    };
    if programs.len() > 1 {
        return Err(more_than_one(text, programs.into_iter().map(|p| p.probe)).into());
    }
    let program = programs.pop().expect("one program");
    let generated = gen::render(&program);
    let mut written = Vec::new();
    if ctx.json {
        serde_json::to_writer(&mut written, &generated).map_err(std::io::Error::from)?;
        written.push(b'\n');
    } else {
        written.extend_from_slice(generated.source.as_bytes());
    }
    match output {
        Some(path) => std::fs::write(path, &written).map_err(|e| {
            Error::bad_input(format!("{}: cannot write the program: {e}", path.display()))
        })?,
        None => io.out.write_all(&written)?,
    }
    Ok(Outcome::Matched)
}

/// `gen` writes one program: a pattern naming several points is an error
/// that lists some of them.
fn more_than_one(text: &str, probes: impl Iterator<Item = String>) -> Error {
    let mut names: Vec<String> = probes.collect();
    names.sort();
    let shown = names.len().min(5);
    Error::bad_input(format!(
        "{text}: names {} probe points ({}{}); gen writes a program for exactly one",
        names.len(),
        names[..shown].join(", "),
        if names.len() > shown { ", ..." } else { "" }
    ))
}

fn usdt_programs(
    ctx: &Context,
    text: &str,
    pattern: &ProbePattern,
) -> Result<Vec<Program>, RunError> {
    let probes = user::usdt_probes(ctx, text, pattern)?;
    if probes.is_empty() {
        return Err(Error::nothing_matched(format!(
            "{text}: no such USDT probe in the file's .note.stapsdt"
        ))
        .into());
    }
    Ok(probes
        .iter()
        .map(|probe| {
            let sizes: Vec<(u8, bool)> = probe
                .sites
                .first()
                .map(|site| site.args.iter().map(|a| (a.size, a.signed)).collect())
                .unwrap_or_default();
            gen::usdt(
                &probe.probe_name(),
                &probe.path,
                &probe.provider,
                &probe.name,
                &sizes,
            )
        })
        .collect())
}

fn user_programs(
    ctx: &Context,
    kind: ProbeKind,
    text: &str,
    pattern: &ProbePattern,
) -> Result<Vec<Program>, RunError> {
    let targets = user::open_targets(ctx, kind, text, pattern)?;
    let names = user::Names::for_output(ctx.demangle, true);
    let points = user::named_functions(&targets, names, text)?;
    let params = user::function_params(&ctx.system, &points);
    Ok(points
        .iter()
        .zip(&params)
        .map(|(point, params)| {
            let known = match params {
                user::UserParams::Known { function, .. } => Some(function.params.as_slice()),
                user::UserParams::Unknown(_) => None,
            };
            gen::user(
                point.kind,
                &point.probe_name(),
                point.path,
                point.name,
                known,
            )
        })
        .collect())
}

fn kernel_programs(
    ctx: &Context,
    text: &str,
    pattern: &ProbePattern,
    io: &mut Io<'_>,
) -> Result<Vec<Program>, RunError> {
    let patterns = std::slice::from_ref(pattern);
    let kinds = selected_kinds(patterns);
    let needs = Needs {
        types: false,
        kprobe_signatures: true,
        function_details: false,
        record_structs: false,
    };
    let sources = Sources::load(ctx, patterns, &kinds, needs, io)?;
    let vmlinux = sources.vmlinux(ctx)?;
    let types = sources.kernel_types(vmlinux.as_ref(), io);
    let index = sources.function_index();
    let signatures = match &types {
        Some(types) if kinds.iter().any(|k| k.is_kprobe()) => Some(function_types(types)),
        _ => None,
    };
    let named = points_named(
        &sources,
        &kinds,
        index.as_ref(),
        types.as_ref(),
        signatures.as_ref(),
        text,
        pattern,
    )?;
    let (selected, points) = (named.tracepoints, named.points);
    if selected.len() + points.len() > 1 {
        // Too many: say which, without building each program.
        let probes = selected
            .iter()
            .map(|id| id.probe_name())
            .chain(points.iter().map(|p| p.probe_name()));
        return Err(more_than_one(text, probes).into());
    }
    if let Some(id) = selected.first() {
        let (tracefs, _) = sources.tracepoints().expect("tracepoints were listed");
        let layout = tracepoints::layout(tracefs, id).map_err(|e| ctx.discover_error(&e))?;
        let path = tracefs
            .format_path(&id.category, &id.event)
            .display()
            .to_string();
        let program = gen::tracepoint(id, &layout, &path).map_err(|e| {
            Error::bad_input(format!("{id}: cannot write a program from {path}: {e}"))
        })?;
        return Ok(vec![program]);
    }
    let point = &points[0];
    let probe = point.probe_name();
    let Some(signature) = point.signature() else {
        return Err(Error::bad_input(format!(
            "{probe}: BTF does not describe its arguments, so gen cannot type them"
        ))
        .into());
    };
    Ok(vec![gen::kernel(
        point.kind, &probe, point.name, &signature,
    )])
}

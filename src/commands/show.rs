//! `probedex show`: the rich view of probe points, as text, JSON or C.

use super::{
    check_supported, no_match_message, parse_patterns, select_tracepoints, Context, Io, Outcome,
    RunError,
};
use crate::cli::EmitFormat;
use crate::discover::tracepoints;
use crate::error::Error;
use crate::output::{c, json, text};

pub(super) fn run(
    ctx: &Context,
    probe_texts: &[String],
    emit: Option<EmitFormat>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let patterns = parse_patterns(probe_texts)?;
    check_supported(&patterns)?;
    let tracefs = ctx.tracefs(io)?;
    let all = ctx.tracepoints(&tracefs)?;

    // Every probe asked for must exist: `show` is about specific points.
    let mut selected = Vec::new();
    for (text, pattern) in probe_texts.iter().zip(&patterns) {
        let matched = select_tracepoints(&all, std::slice::from_ref(pattern));
        if matched.is_empty() {
            return Err(Error::nothing_matched(no_match_message(text, pattern, &all)).into());
        }
        selected.extend(matched);
    }
    selected.sort();
    selected.dedup();

    for (index, id) in selected.iter().enumerate() {
        let layout = tracepoints::layout(&tracefs, id).map_err(|e| ctx.discover_error(&e))?;
        let path = tracefs
            .format_path(&id.category, &id.event)
            .display()
            .to_string();
        if index > 0 && !ctx.json {
            writeln!(io.out)?;
        }
        match (emit, ctx.json) {
            (Some(EmitFormat::C), _) => {
                let source = c::c_struct(id, &layout, &path).map_err(|e| {
                    Error::bad_input(format!("{id}: cannot write a C struct from {path}: {e}"))
                })?;
                io.out.write_all(source.as_bytes())?;
            }
            (None, true) => {
                let detail = json::TracepointDetail::new(id, &layout, path);
                serde_json::to_writer(&mut *io.out, &detail).map_err(std::io::Error::from)?;
                writeln!(io.out)?;
            }
            (None, false) => text::write_show(io.out, id, &layout, &path, ctx.style)?,
        }
    }
    Ok(Outcome::Matched)
}

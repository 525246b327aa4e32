//! `probedex list`: probe names, one a line, like `bpftrace -l`; with `-v`
//! each tracepoint's fields under it, like `bpftrace -lv`.

use super::{
    check_supported, no_match_message, parse_patterns, select_tracepoints, Context, Io, Outcome,
    RunError,
};
use crate::discover::tracepoints::FormatReader;
use crate::error::Error;
use crate::output::{json, text};
use crate::parallel;

pub(super) fn run(
    ctx: &Context,
    pattern_texts: &[String],
    verbose: bool,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let patterns = parse_patterns(pattern_texts)?;
    check_supported(&patterns)?;
    let tracefs = ctx.tracefs(io)?;
    let all = ctx.tracepoints(&tracefs)?;
    let selected = select_tracepoints(&all, &patterns);

    // An exact name that matched nothing is almost always a typo: say so
    // even when other patterns matched.
    for (text, pattern) in pattern_texts.iter().zip(&patterns) {
        if pattern.is_exact() && !all.iter().any(|id| pattern.matches_tracepoint(id)) {
            let message = no_match_message(text, pattern, &all);
            if selected.is_empty() {
                return Err(Error::nothing_matched(message).into());
            }
            io.warn(&message);
        }
    }
    if selected.is_empty() {
        let shown = if pattern_texts.is_empty() {
            "*".to_string()
        } else {
            pattern_texts.join(" ")
        };
        return Err(Error::nothing_matched(format!("{shown}: no tracepoint matches")).into());
    }

    if !verbose {
        for id in &selected {
            if ctx.json {
                serde_json::to_writer(&mut *io.out, &json::ProbeEntry::tracepoint(id))
                    .map_err(std::io::Error::from)?;
                writeln!(io.out)?;
            } else {
                text::write_probe(io.out, id)?;
            }
        }
        return Ok(Outcome::Matched);
    }

    let json = ctx.json;
    let chunks = parallel::render_chunks(
        &selected,
        FormatReader::new,
        |reader, chunk: &mut Rendered, id| {
            let layout = reader.layout(&tracefs, id);
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
    for chunk in chunks {
        for warning in &chunk.warnings {
            io.warn(warning);
        }
        io.out.write_all(&chunk.bytes)?;
    }
    Ok(Outcome::Matched)
}

/// What a worker thread renders for a run of tracepoints.
#[derive(Default)]
struct Rendered {
    bytes: Vec<u8>,
    warnings: Vec<String>,
}

//! The glue between the command line, discovery and output: each command
//! resolves its patterns, asks `discover` for what it needs, and hands the
//! results to a renderer.

mod list;
mod show;

use std::io::{self, Write};

use crate::cli::{Cli, Command};
use crate::discover::tracepoints;
use crate::error::Error;
use crate::output::text::printable;
use crate::output::Style;
use crate::probe::{ProbeKind, ProbePattern, TracepointId};
use crate::suggest;
use crate::system::{System, Tracefs};

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Printed at least one result.
    Matched,
    /// Ran fine; nothing matched (exit code 1).
    NothingMatched,
}

/// Where a command writes: results to `out`, warnings and notices to `err`.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl std::fmt::Debug for Io<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Io")
    }
}

impl Io<'_> {
    /// One `probedex: warning: ...` line. A failure to write a warning is not
    /// worth failing the command for.
    pub fn warn(&mut self, message: &str) {
        let _ = writeln!(self.err, "probedex: warning: {}", printable(message));
    }

    pub fn notice(&mut self, message: &str) {
        let _ = writeln!(self.err, "probedex: {}", printable(message));
    }
}

/// A failure to write results: a closed pipe ends the command quietly.
#[derive(Debug)]
pub enum RunError {
    Failed(Error),
    Output(io::Error),
}

impl From<Error> for RunError {
    fn from(e: Error) -> Self {
        RunError::Failed(e)
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Output(e)
    }
}

/// Runs the command `cli` describes.
pub fn run(cli: &Cli, io: &mut Io<'_>) -> Result<Outcome, RunError> {
    let system = match &cli.root {
        Some(root) => System::at_root(root).map_err(Error::from)?,
        None => System::live(),
    };
    let ctx = Context {
        system,
        json: cli.json,
        style: if cli.json {
            Style::plain()
        } else {
            Style::detect(cli.color)
        },
    };
    match &cli.command {
        Command::List { verbose, patterns } => list::run(&ctx, patterns, *verbose, io),
        Command::Show { emit, probes } => show::run(&ctx, probes, *emit, io),
    }
}

struct Context {
    system: System,
    json: bool,
    style: Style,
}

impl Context {
    /// Every tracepoint, sorted.
    fn tracepoints(&self, tracefs: &Tracefs) -> Result<Vec<TracepointId>, Error> {
        tracepoints::list(tracefs).map_err(|e| self.discover_error(&e))
    }

    fn discover_error(&self, e: &crate::discover::DiscoverError) -> Error {
        Error::from_discover(e, self.system.is_live())
    }

    fn tracefs(&self, io: &mut Io<'_>) -> Result<Tracefs, Error> {
        let tracefs = self.system.tracefs()?;
        if tracefs.mounted_now {
            io.notice(&format!(
                "tracefs was not mounted; mounted it at {}",
                tracefs.dir.display()
            ));
        }
        Ok(tracefs)
    }
}

/// Parses patterns; none means "everything".
fn parse_patterns(patterns: &[String]) -> Result<Vec<ProbePattern>, Error> {
    if patterns.is_empty() {
        return Ok(vec![ProbePattern::parse("*")?]);
    }
    patterns
        .iter()
        .map(|p| ProbePattern::parse(p).map_err(Error::from))
        .collect()
}

/// Kinds probedex cannot discover yet: asking for them explicitly is an
/// error rather than an empty list that would look like "none exist".
fn check_supported(patterns: &[ProbePattern]) -> Result<(), Error> {
    for pattern in patterns {
        if let Some(kind) = pattern.kind() {
            if kind != ProbeKind::Tracepoint {
                return Err(Error::bad_input(format!(
                    "{kind}: probedex does not discover {kind} probe points yet; only tracepoints \
                     (tracepoint:CATEGORY:EVENT) are supported in this version"
                )));
            }
        }
    }
    Ok(())
}

/// The tracepoints any pattern selects, sorted and unique.
fn select_tracepoints(all: &[TracepointId], patterns: &[ProbePattern]) -> Vec<TracepointId> {
    if !patterns
        .iter()
        .any(|p| p.covers_kind(ProbeKind::Tracepoint))
    {
        return Vec::new();
    }
    // `all` is sorted and unique, so filtering keeps it so.
    all.iter()
        .filter(|id| patterns.iter().any(|p| p.matches_tracepoint(id)))
        .cloned()
        .collect()
}

/// "no such tracepoint" with the nearest names, for exact patterns.
fn no_match_message(pattern_text: &str, pattern: &ProbePattern, all: &[TracepointId]) -> String {
    let mut message = format!("{pattern_text}: no tracepoint matches");
    if !pattern.is_exact() {
        return message;
    }
    let (wanted, bare) = match pattern {
        ProbePattern::Kind { rest, .. } => (rest.text(), false),
        ProbePattern::BareName(w) => (w.text(), true),
        ProbePattern::FullName(w) => (w.text(), false),
    };
    let category = (!bare).then(|| wanted.split_once(':')).flatten();
    if let Some(("ftrace", _)) = category {
        message.push_str(
            "; ftrace/* are the function tracer's internal record formats, not tracepoints, \
             and cannot be attached to",
        );
        return message;
    }
    let near: Vec<&TracepointId> = match category {
        // The category is right: only the event name can be misspelt, and
        // comparing whole names would rate every event of the category close.
        Some((cat, event)) if all.iter().any(|id| id.category == cat) => {
            let events = all.iter().filter(|id| id.category == cat);
            suggest::nearest_by(event, events, |id| &id.event, 3)
        }
        Some(_) => {
            let full: Vec<(String, &TracepointId)> = all
                .iter()
                .map(|id| (format!("{}:{}", id.category, id.event), id))
                .collect();
            suggest::nearest_by(wanted, full.iter(), |(name, _)| name, 3)
                .into_iter()
                .map(|(_, id)| *id)
                .collect()
        }
        None => suggest::nearest_by(wanted, all.iter(), |id| &id.event, 3),
    };
    if !near.is_empty() {
        let names: Vec<String> = near.iter().map(|id| id.probe_name()).collect();
        message.push_str(&format!("; did you mean {}?", names.join(", ")));
    }
    message
}

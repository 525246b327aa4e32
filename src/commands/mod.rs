//! The glue between the command line, discovery and output: each command
//! resolves its patterns, asks `discover` for what it needs, and hands the
//! results to a renderer.

mod list;
mod show;

use std::io::{self, Write};

use crate::cli::{Cli, Command};
use crate::discover::tracepoints;
use crate::error::Error;
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
        let _ = writeln!(self.err, "probedex: warning: {message}");
    }

    pub fn notice(&mut self, message: &str) {
        let _ = writeln!(self.err, "probedex: {message}");
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
    if pattern.is_exact() {
        let wanted = match pattern {
            ProbePattern::Kind { rest, .. } => rest.text().to_string(),
            ProbePattern::BareName(w) | ProbePattern::FullName(w) => w.text().to_string(),
        };
        let bare = matches!(pattern, ProbePattern::BareName(_));
        let names: Vec<(String, String)> = all
            .iter()
            .map(|id| {
                let key = if bare {
                    id.event.clone()
                } else {
                    format!("{}:{}", id.category, id.event)
                };
                (key, id.probe_name())
            })
            .collect();
        let near = suggest::nearest(&wanted, names.iter().map(|(k, _)| k.as_str()), 3);
        if !near.is_empty() {
            let full: Vec<&str> = near
                .iter()
                .filter_map(|k| {
                    names
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, n)| n.as_str())
                })
                .collect();
            message.push_str(&format!("; did you mean {}?", full.join(", ")));
        }
    }
    message
}

fn list_tracepoints(tracefs: &Tracefs) -> Result<Vec<TracepointId>, Error> {
    Ok(tracepoints::list(tracefs)?)
}

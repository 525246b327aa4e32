//! The glue between the command line, discovery and output: each command
//! resolves its patterns, asks `discover` for what it needs, and hands the
//! results to a renderer.

mod attach;
mod attach_kinds;
mod attach_sample;
mod check;
mod diff;
mod features;
mod gen;
mod kernel;
mod list;
mod sec;
mod show;
mod snapshot;
mod sources;
mod user;

use std::io::{self, Write};

use crate::cli::{Cli, Command};
use crate::discover::process::{self, ProcessObjects};
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
    /// Ran fine; nothing matched (exit code 1). `attach`: some point never
    /// fired.
    NothingMatched,
    /// `attach`: printed its report, but some point could not be attached
    /// (exit code 3).
    Refused,
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
    let opened: Vec<snapshot::Opened> = cli
        .snapshot
        .iter()
        .map(|path| snapshot::open(path))
        .collect::<Result<_, _>>()?;
    if !opened.is_empty() {
        refuse_with_snapshot(cli, opened.len())?;
    }
    if let (Command::Check { object }, true) = (&cli.command, opened.len() > 1) {
        return check_each(cli, object, opened, io);
    }
    let (system, header, label) = match (opened.into_iter().next(), &cli.root) {
        (Some(opened), _) => (
            System::from_snapshot(opened.files),
            Some(std::sync::Arc::new(opened.header)),
            Some(opened.label),
        ),
        (None, Some(root)) => (System::at_root(root).map_err(Error::from)?, None, None),
        (None, None) => (System::live(), None, None),
    };
    let ctx = Context::new(cli, system, header, label)?;
    match &cli.command {
        Command::List { verbose, patterns } => list::run(&ctx, patterns, *verbose, io),
        Command::Show { emit, probes } => show::run(&ctx, probes, *emit, io),
        Command::Gen { output, probe } => gen::run(&ctx, probe, output.as_deref(), io),
        Command::Check { object } => check::run(&ctx, object, io),
        Command::Sec {
            list,
            for_probe,
            names,
        } => sec::run(&ctx, names, *list, for_probe.as_deref(), io),
        Command::Snapshot { output } => snapshot::run_snapshot(&ctx, output, io),
        Command::Capture { dir } => snapshot::run_capture(&ctx, dir, io),
        Command::Diff { old, new, patterns } => diff::run(&ctx, old, new, patterns, io),
        Command::Features => features::run(&ctx, io),
        Command::Attach {
            duration,
            all,
            sample,
            probes,
            command,
        } => attach::run(
            &ctx,
            probes,
            &attach::Workload {
                command,
                duration: *duration,
                all: *all,
                sample: *sample,
            },
            io,
        ),
    }
}

/// What a snapshot cannot answer: running processes and programs, and the
/// running kernel's attachments.
fn refuse_with_snapshot(cli: &Cli, count: usize) -> Result<(), Error> {
    if cli.pid.is_some() {
        return Err(Error::bad_input(
            "-p reads a running process's files; a snapshot holds only a kernel's probe points: \
             drop --snapshot",
        ));
    }
    let refused = match &cli.command {
        Command::Attach { .. } => Some("attach counts events on the running kernel"),
        Command::Diff { .. } => Some("diff takes its two sides as arguments (`diff A B`)"),
        _ => None,
    };
    if let Some(why) = refused {
        return Err(Error::bad_input(format!(
            "--snapshot: {why}; drop --snapshot"
        )));
    }
    if count > 1 && !matches!(cli.command, Command::Check { .. }) {
        return Err(Error::bad_input(
            "--snapshot: only `check` takes more than one (one verdict per kernel); compare two \
             kernels with `probedex diff A B`",
        ));
    }
    Ok(())
}

/// `check OBJECT --snapshot A --snapshot B ...`: one report per kernel;
/// exit 1 when any program fails on any of them.
fn check_each(
    cli: &Cli,
    object: &std::path::Path,
    opened: Vec<snapshot::Opened>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let mut failed = false;
    for (index, opened) in opened.into_iter().enumerate() {
        if index > 0 && !cli.json {
            writeln!(io.out)?;
        }
        let system = System::from_snapshot(opened.files);
        let ctx = Context::new(
            cli,
            system,
            Some(std::sync::Arc::new(opened.header)),
            Some(opened.label),
        )?;
        match check::run(&ctx, object, io) {
            Ok(_) => {}
            Err(RunError::Failed(e)) if e.status == crate::error::ExitStatus::NothingMatched => {
                io.notice(&e.message);
                failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if failed {
        Outcome::NothingMatched
    } else {
        Outcome::Matched
    })
}

struct Context {
    system: System,
    /// `--snapshot`: the snapshot's header (its kernel, its features).
    snapshot_header: Option<std::sync::Arc<crate::snapshot::archive::Header>>,
    /// How to name the kernel described, when it is not this one.
    kernel_label: Option<String>,
    /// `-p PID`: the executable files that process maps.
    process: Option<ProcessObjects>,
    json: bool,
    /// `--demangle`: user-space names shown (and matched) demangled.
    demangle: bool,
    style: Style,
}

impl Context {
    fn new(
        cli: &Cli,
        system: System,
        snapshot_header: Option<std::sync::Arc<crate::snapshot::archive::Header>>,
        kernel_label: Option<String>,
    ) -> Result<Context, Error> {
        let process = match cli.pid {
            Some(pid) => Some(
                process::mapped_objects(&system, pid)
                    .map_err(|e| Error::from_discover(&e, system.is_live()))?,
            ),
            None => None,
        };
        Ok(Context {
            process,
            system,
            snapshot_header,
            kernel_label,
            json: cli.json,
            demangle: cli.demangle,
            style: if cli.json {
                Style::plain()
            } else {
                Style::detect(cli.color)
            },
        })
    }

    /// "this kernel", or the snapshot's.
    fn kernel_words(&self) -> String {
        match &self.kernel_label {
            Some(label) => format!("the kernel of {label}"),
            None => "this kernel".to_string(),
        }
    }

    /// Every tracepoint, sorted.
    fn tracepoints(&self, tracefs: &Tracefs) -> Result<Vec<TracepointId>, Error> {
        tracepoints::list(tracefs).map_err(|e| self.discover_error(&e))
    }

    fn discover_error(&self, e: &crate::discover::DiscoverError) -> Error {
        Error::from_discover(e, self.system.is_live())
    }

    /// Tells the user when finding tracefs meant mounting it.
    fn announce_mount(&self, tracefs: &Tracefs, io: &mut Io<'_>) {
        if tracefs.mounted_now {
            io.notice(&format!(
                "tracefs was not mounted; mounted it at {}",
                tracefs.dir.display()
            ));
        }
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

/// Kinds `list` and `show` can discover today.
const DISCOVERABLE: [ProbeKind; 9] = [
    ProbeKind::Fentry,
    ProbeKind::Fexit,
    ProbeKind::Kprobe,
    ProbeKind::Kretprobe,
    ProbeKind::RawTracepoint,
    ProbeKind::Tracepoint,
    ProbeKind::Uprobe,
    ProbeKind::Uretprobe,
    ProbeKind::Usdt,
];

/// Kinds probedex cannot discover yet: asking for them explicitly is an
/// error rather than an empty list that would look like "none exist".
fn check_supported(patterns: &[ProbePattern]) -> Result<(), Error> {
    for pattern in patterns {
        if let Some(kind) = pattern.kind() {
            if !DISCOVERABLE.contains(&kind) {
                let names: Vec<&str> = DISCOVERABLE.iter().map(|k| k.name()).collect();
                return Err(Error::bad_input(format!(
                    "{kind}: probedex does not discover {kind} probe points yet; this version \
                     lists {}",
                    names.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// The discoverable kinds any pattern can select, sorted by name (the
/// order listings print them in).
fn selected_kinds(patterns: &[ProbePattern]) -> Vec<ProbeKind> {
    let mut kinds: Vec<ProbeKind> = DISCOVERABLE
        .into_iter()
        .filter(|k| patterns.iter().any(|p| p.covers_kind(*k)))
        .collect();
    kinds.sort_by_key(|k| k.name());
    kinds
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

/// What to call the points a pattern looks for, in messages.
pub(super) fn kind_words(kind: Option<ProbeKind>) -> String {
    match kind {
        Some(ProbeKind::Tracepoint) => "tracepoint".to_string(),
        Some(ProbeKind::RawTracepoint) => "raw tracepoint".to_string(),
        Some(kind) => format!("{kind} point"),
        None => "probe point".to_string(),
    }
}

/// A name "did you mean" may suggest.
pub(super) struct Candidate {
    /// A tracepoint's category or a function's module (None for vmlinux).
    pub scope: Option<String>,
    pub name: String,
    pub probe: String,
}

impl Candidate {
    fn tracepoint(id: &TracepointId) -> Candidate {
        Candidate {
            scope: Some(id.category.clone()),
            name: id.event.clone(),
            probe: id.probe_name(),
        }
    }

    fn scoped_name(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{scope}:{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// "no such probe point" with the nearest names, for exact patterns.
fn no_match_message(pattern_text: &str, pattern: &ProbePattern, all: &[Candidate]) -> String {
    let what = kind_words(pattern.kind());
    let mut message = format!("{pattern_text}: no {what} matches");
    if !pattern.is_exact() {
        return message;
    }
    let (wanted, bare) = match pattern {
        ProbePattern::Kind { rest, .. } => (rest.text(), false),
        ProbePattern::BareName(w) => (w.text(), true),
        ProbePattern::FullName(w) => (w.text(), false),
    };
    let scope = (!bare).then(|| wanted.split_once(':')).flatten();
    if pattern.kind() == Some(ProbeKind::Tracepoint) {
        if let Some(("ftrace", _)) = scope {
            message.push_str(
                "; ftrace/* are the function tracer's internal record formats, not tracepoints, \
                 and cannot be attached to",
            );
            return message;
        }
    }
    let near: Vec<&Candidate> = match scope {
        // The scope is right: only the name can be misspelt, and comparing
        // whole names would rate everything in the scope close.
        Some((scope, name)) if all.iter().any(|c| c.scope.as_deref() == Some(scope)) => {
            let in_scope = all.iter().filter(|c| c.scope.as_deref() == Some(scope));
            suggest::nearest_by(name, in_scope, |c| &c.name, 3)
        }
        Some(_) => {
            let keyed: Vec<(String, &Candidate)> =
                all.iter().map(|c| (c.scoped_name(), c)).collect();
            suggest::nearest_by(wanted, keyed.iter(), |(key, _)| key, 3)
                .into_iter()
                .map(|(_, c)| *c)
                .collect()
        }
        None => suggest::nearest_by(wanted, all.iter(), |c| &c.name, 3),
    };
    let mut probes: Vec<&str> = near.iter().map(|c| c.probe.as_str()).collect();
    probes.dedup();
    if !probes.is_empty() {
        message.push_str(&format!("; did you mean {}?", probes.join(", ")));
    }
    message
}

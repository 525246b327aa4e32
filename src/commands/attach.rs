//! `probedex attach PROBE... [-- COMMAND ARGS...]`: attaches a counting
//! program to every selected point, runs the command (or waits for
//! `--duration`, or a signal), detaches, and reports each point's hits.
//!
//! By default only the command's process tree counts: the command is
//! started inside a cgroup v2 made for this run (children inherit it), and
//! the programs compare `bpf_get_current_cgroup_id()` with its id. `--all`
//! or no command counts system-wide. Needs root and a mounted cgroup2 for
//! the filter. See [`crate::probes::workload`] for how the command is
//! started, stopped and cleaned up after.
//!
//! A run ends when the command exits, when `--duration` runs out (a
//! command still running then gets SIGTERM, and SIGKILL after
//! [`workload::GRACE`]), or at SIGINT/SIGTERM (passed on to the command the
//! same way). In every case the points are detached and the report is
//! printed, with the usual exit code: being interrupted is how a run
//! without a command normally ends. A command that cannot be started
//! (not in `PATH`, not executable) is a one-line error, exit code 2,
//! before anything is attached where it can be told that early.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::attach_kinds;
use super::sources::{Needs, Sources};
use super::{attach_sample, kernel, user};
use super::{
    no_match_message, parse_patterns, select_tracepoints, Candidate, Context, Io, Outcome, RunError,
};
use crate::error::{Error, ExitStatus};
use crate::output::attach::{self as view, AttachSummary, PointReport};
use crate::output::progress::Progress;
use crate::probe::{ProbeKind, ProbePattern};
use crate::probes::count::{AttachFailure, CountTarget, CountingSession, LoadError};
use crate::probes::features::kernel_has_kprobes;
use crate::probes::workload::{
    self, CgroupError, CommandEnd, CommandLine, CommandStdout, RunCgroup, SpawnError, Stop,
};

/// What `attach` was asked to do besides the probes.
#[derive(Debug)]
pub(super) struct Workload<'a> {
    pub command: &'a [String],
    pub duration: Option<f64>,
    pub all: bool,
    /// `--sample N`: the first N records of each tracepoint point.
    pub sample: Option<u32>,
}

pub(super) fn run(
    ctx: &Context,
    pattern_texts: &[String],
    workload: &Workload<'_>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let patterns = parse_patterns(pattern_texts)?;
    let limit = workload
        .duration
        .map(|s| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                Error::bad_input(format!(
                    "--duration {s}: give a number of seconds, 0 or more (0.5, 10)"
                ))
            })
        })
        .transpose()?;
    // Found first: a mistyped command fails before anything is attached.
    let command = if workload.command.is_empty() {
        None
    } else {
        Some(CommandLine::resolve(workload.command).map_err(spawn_error)?)
    };
    let mut points = resolve(ctx, pattern_texts, &patterns, command.is_some(), io)?;
    points.dedup_by(|a, b| a.0 == b.0);
    let filtered = !workload.all && command.is_some();
    // From here on SIGINT and SIGTERM end the run with its report, even
    // while attaching (the command is then not started).
    STOP.store(false, Ordering::SeqCst);
    install_signal_handlers();
    let cgroup = if filtered {
        Some(RunCgroup::create().map_err(cgroup_error)?)
    } else {
        None
    };
    // USDT probes whose semaphore is in .bss are attached once the command
    // has exec'd (stopped there, as bpftrace does): attached before, the
    // kernel raises the semaphore when the file is mapped and the loader
    // then clears it with the rest of .bss.
    let late: Vec<usize> = if command.is_some() {
        (0..points.len())
            .filter(|&i| points[i].1.needs_exec_stop())
            .collect()
    } else {
        Vec::new()
    };
    let targets: Vec<CountTarget> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| !late.contains(i))
        .map(|(_, (_, t))| t.clone())
        .collect();
    let show_progress = std::io::stderr().is_terminal();
    let attached = {
        let mut bar = Progress::new(&mut *io.err, "attaching", targets.len(), Instant::now());
        CountingSession::attach_observed(
            &targets,
            cgroup.as_ref().map_or(0, |c| c.id),
            &mut |done| {
                if show_progress {
                    bar.update(done, Instant::now());
                }
            },
        )
    };
    let mut session = attached.map_err(|e| {
        let hint = match e.errno {
            Some(libc::EPERM | libc::EACCES) => "; needs root (or CAP_BPF and CAP_PERFMON)",
            _ => "",
        };
        Error::new(
            ExitStatus::Refused,
            format!("cannot load the counting programs: {}{hint}", e.message),
        )
    })?;

    let sampling = match workload.sample {
        Some(limit) => Some(attach_sample::start(
            ctx,
            &points,
            cgroup.as_ref().map_or(0, |c| c.id),
            limit,
            io,
        )?),
        None => None,
    };
    let started = Instant::now();
    // A limit too far to represent is no limit.
    let deadline = limit.and_then(|d| started.checked_add(d));
    let mut command_end = None;
    let mut late_session = None;
    let ended_by = if STOP.load(Ordering::SeqCst) {
        Some(Stop::Signal)
    } else if let Some(line) = &command {
        // With --json, stdout is for JSON Lines only.
        let stdout = if ctx.json {
            CommandStdout::Stderr
        } else {
            CommandStdout::Inherit
        };
        let child = workload::spawn(line, cgroup.as_ref(), stdout, !late.is_empty())
            .map_err(spawn_error)?;
        if !late.is_empty() {
            let late_targets: Vec<CountTarget> =
                late.iter().map(|&i| points[i].1.clone()).collect();
            let cgroup_id = cgroup.as_ref().map_or(0, |c| c.id);
            late_session = Some(
                child
                    .resume_after_exec(|| {
                        CountingSession::attach_observed(&late_targets, cgroup_id, &mut |_| {})
                    })
                    .map_err(|e| Error::bad_input(format!("starting {}: {e}", line.name)))?,
            );
        }
        if cgroup.is_some() && !child.into_cgroup {
            io.warn(
                "clone3(CLONE_INTO_CGROUP) is not available here (Linux before 5.7, or a \
                 seccomp filter): the command joined its cgroup by writing to cgroup.procs, \
                 and that write(2) counts as its own at sys_exit_write",
            );
        }
        let (end, stop) = child
            .wait(cgroup.as_ref(), deadline, &STOP)
            .map_err(|e| Error::bad_input(format!("waiting for {}: {e}", line.name)))?;
        command_end = Some(end);
        stop
    } else {
        if deadline.is_none() {
            let _ = writeln!(
                io.err,
                "probedex: counting {} point(s) system-wide; stop with Ctrl-C or SIGTERM",
                points.len()
            );
        }
        Some(workload::wait_idle(deadline, &STOP))
    };
    let seconds = started.elapsed().as_secs_f64();
    {
        let mut bar = Progress::new(&mut *io.err, "releasing", targets.len(), Instant::now());
        session.detach_observed(&mut |done, total| {
            if show_progress && total > 0 {
                // Links, not points: syscall points share two.
                bar.update(done * targets.len() / total, Instant::now());
            }
        });
    }
    let mut samples = match sampling {
        Some(sampling) => attach_sample::finish(sampling, &points, io)?,
        None => Vec::new(),
    };
    let hits = session
        .hits()
        .map_err(|e| Error::new(ExitStatus::Refused, e.message))?;
    let (attachments, hits) = merge_late(
        points.len(),
        &late,
        (session.attachments(), hits),
        late_session.as_mut(),
    )?;
    drop(cgroup);

    let mut reports: Vec<PointReport> = points
        .iter()
        .zip(&attachments)
        .zip(hits)
        .enumerate()
        .map(|(index, (((probe, target), attached), hits))| PointReport {
            probe: probe.clone(),
            link: attached.as_ref().ok().copied(),
            hits,
            reason: attached
                .as_ref()
                .err()
                .map(|f| attach_kinds::failure_reason(ctx, target, f, io)),
            samples: samples.get_mut(index).and_then(Option::take),
        })
        .collect();
    drop(session);
    view::sort(&mut reports);
    let summary = AttachSummary {
        kind: "summary",
        points: reports.len(),
        attached: reports.iter().filter(|p| p.link.is_some()).count(),
        fired: reports.iter().filter(|p| p.hits > 0).count(),
        filter: if filtered { "command" } else { "all" },
        command_exit: match command_end {
            Some(CommandEnd::Exited(code)) => Some(code),
            _ => None,
        },
        command_signal: match command_end {
            Some(CommandEnd::Signaled(signal)) => Some(workload::signal_name(signal)),
            _ => None,
        },
        ended_by: match ended_by {
            None => "command",
            Some(Stop::Duration) => "duration",
            Some(Stop::Signal) => "signal",
        },
        seconds,
    };
    if ctx.json {
        view::write_json(io.out, &reports, &summary)?;
    } else {
        view::write_text(io.out, &reports, &summary)?;
    }
    Ok(if summary.attached < summary.points {
        Outcome::Refused
    } else if command.is_some() && summary.fired < summary.points {
        Outcome::NothingMatched
    } else {
        Outcome::Matched
    })
}

fn spawn_error(e: SpawnError) -> Error {
    Error::bad_input(e.to_string())
}

fn cgroup_error(e: CgroupError) -> Error {
    match e {
        CgroupError::NoCgroup2 => Error::new(
            ExitStatus::Refused,
            "no cgroup2 is mounted, so the command's processes cannot be told apart; mount one \
             (mount -t cgroup2 none /sys/fs/cgroup/unified) or count system-wide with --all",
        ),
        CgroupError::Create(dir, e) => Error::new(
            ExitStatus::Refused,
            format!(
                "cannot create the cgroup {} for the command: {e}; needs root, or count \
                 system-wide with --all",
                dir.display()
            ),
        ),
    }
}

/// Every point the patterns select, as `(probe name, target)`.
fn resolve(
    ctx: &Context,
    texts: &[String],
    patterns: &[ProbePattern],
    with_command: bool,
    io: &mut Io<'_>,
) -> Result<Vec<(String, CountTarget)>, Error> {
    let mut points = Vec::new();
    let tracepoint_patterns: Vec<ProbePattern> = patterns
        .iter()
        .filter(|p| p.kind() == Some(ProbeKind::Tracepoint))
        .cloned()
        .collect();
    let sources = if tracepoint_patterns.is_empty() {
        None
    } else {
        Some(Sources::load(
            ctx,
            &tracepoint_patterns,
            &[ProbeKind::Tracepoint],
            Needs::default(),
            io,
        )?)
    };
    let all_tracepoints = sources
        .as_ref()
        .and_then(|s| s.tracepoints())
        .map_or(&[][..], |(_, all)| all);
    for (text, pattern) in texts.iter().zip(patterns) {
        let before = points.len();
        let kind = pattern.kind();
        match kind {
            Some(ProbeKind::Tracepoint) => {
                for id in select_tracepoints(all_tracepoints, std::slice::from_ref(pattern)) {
                    points.push((
                        id.probe_name(),
                        CountTarget::Tracepoint {
                            category: id.category,
                            event: id.event,
                        },
                    ));
                }
            }
            Some(
                kind @ (ProbeKind::Kprobe
                | ProbeKind::Kretprobe
                | ProbeKind::RawTracepoint
                | ProbeKind::Fentry
                | ProbeKind::Fexit),
            ) => {
                let ProbePattern::Kind { rest, .. } = pattern else {
                    unreachable!("a pattern with a kind")
                };
                let name = rest.text();
                if name.contains('*') || name.contains(':') {
                    points.extend(kernel_points(ctx, kind, text, pattern, io)?);
                } else if name.is_empty() {
                    return Err(Error::bad_input(format!(
                        "{text}: name a function or raw tracepoint after {kind}:"
                    )));
                } else {
                    points.push((format!("{kind}:{name}"), kernel_target(kind, name)));
                }
            }
            Some(kind @ (ProbeKind::Uprobe | ProbeKind::Uretprobe)) => {
                for target in user::open_targets(ctx, kind, text, pattern)? {
                    for point in user::function_points(&target, user::Names::Symbols)? {
                        let Some(offset) = point.file_offset else {
                            io.warn(&format!(
                                "{}: not in a loaded segment of the file; skipped",
                                point.probe_name()
                            ));
                            continue;
                        };
                        points.push((
                            point.probe_name(),
                            CountTarget::Uprobe {
                                path: target.shown.clone(),
                                offset,
                                ret: kind == ProbeKind::Uretprobe,
                            },
                        ));
                    }
                }
            }
            Some(ProbeKind::Usdt) => {
                points.extend(attach_kinds::usdt_points(
                    ctx,
                    text,
                    pattern,
                    with_command,
                    io,
                )?);
            }
            Some(kind @ (ProbeKind::Software | ProbeKind::Hardware)) => {
                points.extend(attach_kinds::perf_event_points(kind, text, pattern)?);
            }
            None => {
                return Err(Error::bad_input(format!(
                    "{text}: attach needs the kind named (tracepoint:CATEGORY:EVENT, \
                     rawtracepoint:NAME, kprobe:FUNC, fentry:FUNC, uprobe:PATH:FUNC, \
                     usdt:PATH:PROVIDER:NAME, software:EVENT, ...)"
                )))
            }
        }
        if points.len() == before && kind == Some(ProbeKind::Tracepoint) {
            let candidates: Vec<Candidate> =
                all_tracepoints.iter().map(Candidate::tracepoint).collect();
            return Err(Error::nothing_matched(no_match_message(
                text,
                pattern,
                &candidates,
            )));
        }
        if points.len() == before {
            return Err(Error::nothing_matched(format!(
                "{text}: no {} point matches",
                kind.map_or("probe".into(), |k| k.to_string())
            )));
        }
    }
    points.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(points)
}

/// The points a wildcard (or module-qualified) rawtracepoint, kprobe or
/// kretprobe pattern selects: raw tracepoints from BTF (as `list` finds
/// them), functions from the kernel's function list. A kernel without
/// kprobes refuses a kprobe pattern at once, in one line, rather than
/// once per function.
/// How each point attached (its link type, or why not).
type Attachments = Vec<Result<&'static str, AttachFailure>>;

/// Every point's attachment and hits in `points` order, from the main
/// session (every point but `late`) and the one attached after exec.
fn merge_late(
    count: usize,
    late: &[usize],
    (early_attached, early_hits): (&[Result<&'static str, AttachFailure>], Vec<u64>),
    late_session: Option<&mut Result<CountingSession, LoadError>>,
) -> Result<(Attachments, Vec<u64>), Error> {
    if late.is_empty() {
        return Ok((early_attached.to_vec(), early_hits));
    }
    let (late_attached, late_hits): (Vec<_>, Vec<u64>) = match late_session {
        Some(Ok(session)) => {
            session.detach_observed(&mut |_, _| {});
            let hits = session
                .hits()
                .map_err(|e| Error::new(ExitStatus::Refused, e.message))?;
            (session.attachments().to_vec(), hits)
        }
        Some(Err(e)) => {
            let failure = AttachFailure {
                errno: e.errno,
                reason: e.message.clone(),
            };
            (vec![Err(failure); late.len()], vec![0; late.len()])
        }
        // The command never started (a signal during attach).
        None => {
            let failure = AttachFailure {
                errno: None,
                reason: "not attached: the run ended before the command started".into(),
            };
            (vec![Err(failure); late.len()], vec![0; late.len()])
        }
    };
    let (mut early_a, mut early_h) = (early_attached.iter(), early_hits.into_iter());
    let (mut late_a, mut late_h) = (late_attached.into_iter(), late_hits.into_iter());
    let mut attached = Vec::with_capacity(count);
    let mut hits = Vec::with_capacity(count);
    for index in 0..count {
        if late.contains(&index) {
            attached.push(late_a.next().unwrap_or_else(|| Err(missing())));
            hits.push(late_h.next().unwrap_or(0));
        } else {
            attached.push(early_a.next().cloned().unwrap_or_else(|| Err(missing())));
            hits.push(early_h.next().unwrap_or(0));
        }
    }
    Ok((attached, hits))
}

fn missing() -> AttachFailure {
    AttachFailure {
        errno: None,
        reason: "not attached".into(),
    }
}

/// What a kernel point of `kind` named `name` is attached to.
fn kernel_target(kind: ProbeKind, name: &str) -> CountTarget {
    match kind {
        ProbeKind::RawTracepoint => CountTarget::RawTracepoint { name: name.into() },
        ProbeKind::Fentry | ProbeKind::Fexit => CountTarget::Fentry {
            function: name.into(),
            ret: kind == ProbeKind::Fexit,
        },
        _ => CountTarget::Kprobe {
            function: name.into(),
            ret: kind == ProbeKind::Kretprobe,
        },
    }
}

fn kernel_points(
    ctx: &Context,
    kind: ProbeKind,
    text: &str,
    pattern: &ProbePattern,
    io: &mut Io<'_>,
) -> Result<Vec<(String, CountTarget)>, Error> {
    let one = std::slice::from_ref(pattern);
    if kind.is_kprobe() && !kernel_has_kprobes() {
        return Err(Error::new(
            ExitStatus::Refused,
            format!(
                "{text}: this kernel was built without CONFIG_KPROBES (no kprobe PMU, no \
                 kprobe_events in tracefs), so no {kind} can be attached; fentry/fexit or a \
                 tracepoint may work instead"
            ),
        ));
    }
    let sources = Sources::load(ctx, one, &[kind], Needs::default(), io)?;
    let mut points = Vec::new();
    if kind == ProbeKind::RawTracepoint || kind.is_fentry() {
        let vmlinux = sources.vmlinux(ctx)?;
        if let Some(types) = sources.kernel_types(vmlinux.as_ref(), io) {
            for point in kernel::btf_points(&types, kind, one) {
                points.push((point.probe_name(), kernel_target(kind, point.name)));
            }
        }
        if kind == ProbeKind::RawTracepoint && points.is_empty() && text.matches(':').count() > 1 {
            return Err(Error::nothing_matched(format!(
                "{text}: no raw tracepoint matches; raw tracepoints have no category (in \
                 rawtracepoint:A:B, A is a kernel module): rawtracepoint:sched_* selects the \
                 scheduler's"
            )));
        }
    } else if let Some(index) = sources.function_index() {
        for point in kernel::kprobe_points(&index, kind, one, None) {
            points.push((point.probe_name(), kernel_target(kind, point.name)));
        }
    }
    Ok(points)
}

/// Set by SIGINT or SIGTERM: stop waiting, detach and report.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}

//! `probedex attach PROBE... [-- COMMAND ARGS...]`: attaches a counting
//! program to every selected point, runs the command (or waits for
//! `--duration`, or a signal), detaches, and reports each point's hits.
//!
//! By default only the command's process tree counts: the command is
//! started inside a cgroup v2 made for this run (children inherit it), and
//! the programs compare `bpf_get_current_cgroup_id()` with its id. `--all`
//! or no command counts system-wide. Needs root and a mounted cgroup2 for
//! the filter.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::sources::{Needs, Sources};
use super::user;
use super::{parse_patterns, select_tracepoints, Context, Io, Outcome, RunError};
use crate::error::{Error, ExitStatus};
use crate::output::attach::{self as view, AttachSummary, PointReport};
use crate::probe::{ProbeKind, ProbePattern};
use crate::probes::count::{CountTarget, CountingSession};

/// What `attach` was asked to do besides the probes.
#[derive(Debug)]
pub(super) struct Workload<'a> {
    pub command: &'a [String],
    pub duration: Option<f64>,
    pub all: bool,
}

pub(super) fn run(
    ctx: &Context,
    pattern_texts: &[String],
    workload: &Workload<'_>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    let patterns = parse_patterns(pattern_texts)?;
    let mut points = resolve(ctx, pattern_texts, &patterns, io)?;
    points.dedup_by(|a, b| a.0 == b.0);
    let filtered = !workload.all && !workload.command.is_empty();
    let cgroup = if filtered {
        Some(RunCgroup::create()?)
    } else {
        None
    };
    let targets: Vec<CountTarget> = points.iter().map(|(_, t)| t.clone()).collect();
    let mut session = CountingSession::attach(&targets, cgroup.as_ref().map_or(0, |c| c.id))
        .map_err(|e| {
            let hint = match e.errno {
                Some(libc::EPERM | libc::EACCES) => "; needs root (or CAP_BPF and CAP_PERFMON)",
                _ => "",
            };
            Error::new(
                ExitStatus::Refused,
                format!("cannot load the counting programs: {}{hint}", e.message),
            )
        })?;

    STOP.store(false, Ordering::SeqCst);
    install_signal_handlers();
    let started = Instant::now();
    let command_exit = if workload.command.is_empty() {
        let until = workload
            .duration
            .map(|s| started + Duration::from_secs_f64(s.max(0.0)));
        while !STOP.load(Ordering::SeqCst) && until.is_none_or(|t| Instant::now() < t) {
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    } else {
        let status = run_command(workload.command, cgroup.as_ref());
        match status {
            Ok(status) => status.code(),
            Err(e) => {
                return Err(
                    Error::bad_input(format!("cannot run {}: {e}", workload.command[0])).into(),
                );
            }
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    session.detach();
    let hits = session
        .hits()
        .map_err(|e| Error::new(ExitStatus::Refused, e.message))?;
    drop(cgroup);

    let mut reports: Vec<PointReport> = points
        .iter()
        .zip(session.attachments())
        .zip(hits)
        .map(|(((probe, _), attached), hits)| PointReport {
            probe: probe.clone(),
            link: attached.as_ref().ok().copied(),
            hits,
            reason: attached.as_ref().err().map(|f| f.reason.clone()),
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
        command_exit,
        seconds,
    };
    if ctx.json {
        view::write_json(io.out, &reports, &summary)?;
    } else {
        view::write_text(io.out, &reports, &summary)?;
    }
    Ok(if summary.attached < summary.points {
        Outcome::Refused
    } else if !workload.command.is_empty() && summary.fired < summary.points {
        Outcome::NothingMatched
    } else {
        Outcome::Matched
    })
}

/// Every point the patterns select, as `(probe name, target)`.
fn resolve(
    ctx: &Context,
    texts: &[String],
    patterns: &[ProbePattern],
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
            Some(kind @ (ProbeKind::Kprobe | ProbeKind::Kretprobe | ProbeKind::RawTracepoint)) => {
                let ProbePattern::Kind { rest, .. } = pattern else {
                    unreachable!("a pattern with a kind")
                };
                let name = rest.text();
                if name.contains('*') || name.contains(':') || name.is_empty() {
                    return Err(Error::bad_input(format!(
                        "{text}: attach takes one function or raw tracepoint by its exact name \
                         for {kind} (no wildcards or modules yet)"
                    )));
                }
                let target = match kind {
                    ProbeKind::RawTracepoint => CountTarget::RawTracepoint { name: name.into() },
                    _ => CountTarget::Kprobe {
                        function: name.into(),
                        ret: kind == ProbeKind::Kretprobe,
                    },
                };
                points.push((format!("{kind}:{name}"), target));
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
            _ => {
                return Err(Error::bad_input(format!(
                    "{text}: attach counts tracepoint, rawtracepoint, kprobe, kretprobe, uprobe \
                     and uretprobe points so far; name the kind (tracepoint:CATEGORY:EVENT)"
                )))
            }
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

/// Runs the command (in `cgroup` when given) to its end. A signal to
/// probedex is passed on to it (Ctrl-C reaches it anyway, through the
/// terminal's process group).
fn run_command(
    command: &[String],
    cgroup: Option<&RunCgroup>,
) -> io::Result<std::process::ExitStatus> {
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    // Opened before forking: the child only writes to it, which is
    // async-signal-safe (no allocation between fork and exec).
    let procs = match cgroup {
        Some(c) => Some(
            fs::OpenOptions::new()
                .write(true)
                .open(c.dir.join("cgroup.procs"))?,
        ),
        None => None,
    };
    if let Some(procs) = &procs {
        let fd = procs.as_raw_fd();
        // SAFETY: the closure makes one write(2) call and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // "0" is the writing process itself.
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn()?;
    drop(procs);
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if STOP.load(Ordering::SeqCst) && !forwarded {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            forwarded = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The cgroup v2 this run's command lives in: `probedex-PID` under the
/// cgroup2 mount. Its id (what `bpf_get_current_cgroup_id` returns) is
/// the inode number of its directory.
#[derive(Debug)]
struct RunCgroup {
    dir: PathBuf,
    id: u64,
}

/// Where cgroup2 is mounted, from /proc/self/mounts (`/sys/fs/cgroup` on
/// unified systems, `/sys/fs/cgroup/unified` on hybrid ones).
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let dir = fields.nth(1)?;
        (fields.next()? == "cgroup2").then(|| PathBuf::from(dir.replace("\\040", " ")))
    })
}

impl RunCgroup {
    fn create() -> Result<RunCgroup, Error> {
        let mount = cgroup2_mount().ok_or_else(|| {
            Error::new(
                ExitStatus::Refused,
                "no cgroup2 is mounted, so the command's processes cannot be told apart; mount \
                 one (mount -t cgroup2 none /sys/fs/cgroup/unified) or count system-wide with \
                 --all",
            )
        })?;
        let dir = mount.join(format!("probedex-{}", std::process::id()));
        let made = fs::create_dir(&dir).or_else(|e| match e.kind() {
            // Left by an earlier run whose pid this one reuses.
            io::ErrorKind::AlreadyExists => Ok(()),
            _ => Err(e),
        });
        let id = made.and_then(|()| fs::metadata(&dir)).map(|m| m.ino());
        match id {
            Ok(id) => Ok(RunCgroup { dir, id }),
            Err(e) => Err(Error::new(
                ExitStatus::Refused,
                format!(
                    "cannot create the cgroup {} for the command: {e}; needs root, or count \
                     system-wide with --all",
                    dir.display()
                ),
            )),
        }
    }
}

impl Drop for RunCgroup {
    /// Removes the cgroup, on every path out of `attach`. Processes the
    /// command left running would keep it busy (EBUSY): they are moved to
    /// the parent first.
    fn drop(&mut self) {
        if let (Ok(procs), Some(parent)) = (
            fs::read_to_string(self.dir.join("cgroup.procs")),
            self.dir.parent(),
        ) {
            for pid in procs.split_whitespace() {
                let _ = fs::write(parent.join("cgroup.procs"), pid);
            }
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

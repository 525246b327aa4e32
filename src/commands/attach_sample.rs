//! `attach --sample N`: reads the layouts of the tracepoint points, runs a
//! [`SamplingSession`] beside the counting one, and hands back each
//! point's decoded records for the report.

use super::{Context, Io};
use crate::discover::tracepoints;
use crate::error::{Error, ExitStatus};
use crate::format::record_decode::Sample;
use crate::probe::TracepointId;
use crate::probes::count::{CountTarget, LoadError};
use crate::probes::sample::{SampleTarget, SamplingSession};

/// Loads and attaches the sampling programs for the tracepoint points
/// among `points` (others are only counted: said once on stderr).
pub(super) fn start(
    ctx: &Context,
    points: &[(String, CountTarget)],
    cgroup: u64,
    limit: u32,
    io: &mut Io<'_>,
) -> Result<SamplingSession, Error> {
    let tracefs = ctx.system.tracefs().ok();
    let mut others = 0;
    let mut targets = Vec::with_capacity(points.len());
    for (probe, target) in points {
        let CountTarget::Tracepoint { category, event } = target else {
            others += 1;
            targets.push(None);
            continue;
        };
        let id = TracepointId::new(category.clone(), event.clone());
        let layout = tracefs.as_ref().map(|t| tracepoints::layout(t, &id));
        match layout {
            Some(Ok(layout)) => targets.push(Some(SampleTarget {
                category: category.clone(),
                event: event.clone(),
                layout,
            })),
            Some(Err(e)) => {
                io.warn(&format!("{probe}: not sampled: {e}"));
                targets.push(None);
            }
            None => targets.push(None),
        }
    }
    if others > 0 {
        io.warn(&format!(
            "--sample decodes tracepoint records only; {others} point(s) of other kinds are \
             counted without samples"
        ));
    }
    let session = SamplingSession::attach(&targets, cgroup, limit).map_err(refused)?;
    for ((probe, _), failure) in points.iter().zip(session.failures()) {
        if let Some(reason) = failure {
            io.warn(&format!("{probe}: not sampled: {reason}"));
        }
    }
    // The kernel releases a tracepoint's perf_event after an RCU grace
    // period under its event_mutex: one at a time, ~70 ms each here, so
    // closing them on many threads does not help (1,600 took 112 s).
    let slow = session.perf_event_links();
    if slow > SLOW_RELEASE {
        io.notice(&format!(
            "sampling {slow} tracepoints needs a perf_event link each, and the kernel \
             releases them one at a time (~70 ms each): expect about {} s at the end; a \
             narrower pattern is faster (syscall tracepoints share two fast links)",
            slow * 70 / 1000
        ));
    }
    Ok(session)
}

/// More perf_event links than this take over a second to release.
const SLOW_RELEASE: usize = 15;

/// Detaches the sampling programs and decodes what they sent: per point,
/// its records, or None when it was not sampled.
pub(super) fn finish(
    mut session: SamplingSession,
    points: &[(String, CountTarget)],
    io: &mut Io<'_>,
) -> Result<Vec<Option<Vec<Sample>>>, Error> {
    session.detach();
    let collected = session.collect().map_err(refused)?;
    if collected.lost > 0 {
        io.warn(&format!(
            "{} record(s) did not fit the ring buffer and are not shown; a smaller --sample \
             or fewer points keeps them",
            collected.lost
        ));
    }
    Ok(points
        .iter()
        .zip(collected.samples)
        .map(|((_, target), samples)| {
            matches!(target, CountTarget::Tracepoint { .. }).then_some(samples)
        })
        .collect())
}

fn refused(e: LoadError) -> Error {
    let hint = match e.errno {
        Some(libc::EPERM | libc::EACCES) => "; needs root (or CAP_BPF and CAP_PERFMON)",
        _ => "",
    };
    Error::new(
        ExitStatus::Refused,
        format!("cannot load the sampling programs: {}{hint}", e.message),
    )
}

//! `attach`'s points of the kinds beyond tracepoints, kprobes and uprobes:
//! usdt (every call site of every probe the pattern selects, found the way
//! `list` finds them), software and hardware perf events (bpftrace's
//! names, aliases and default periods) and fentry/fexit.

use super::sources::{Needs, Sources};
use super::{list, user, Context, Io};
use crate::error::Error;
use crate::format::perf_event::{parse_perf_event, PerfEventError, PerfFamily};
use crate::output::user::BSS_SEMAPHORE;
use crate::probe::{ProbeKind, ProbePattern, Wildcard};
use crate::probes::attach_kinds::UsdtSiteTarget;
use crate::probes::count::{AttachFailure, CountTarget};
use crate::suggest;

/// Every USDT probe a pattern selects, as one point each (all its sites).
pub(super) fn usdt_points(
    ctx: &Context,
    text: &str,
    pattern: &ProbePattern,
    with_command: bool,
    io: &mut Io<'_>,
) -> Result<Vec<(String, CountTarget)>, Error> {
    let probes = user::usdt_probes(ctx, text, pattern)?;
    if probes.is_empty() && pattern.is_exact() {
        return Err(Error::nothing_matched(no_usdt_probe(ctx, text, pattern)));
    }
    let mut points = Vec::new();
    for probe in probes {
        let name = probe.probe_name();
        let mut sites = Vec::with_capacity(probe.sites.len());
        for site in &probe.sites {
            let Some(offset) = site.file_offset else {
                io.warn(&format!(
                    "{name}: the site at {:#x} is in no loaded segment of the file; skipped",
                    site.address
                ));
                continue;
            };
            sites.push(UsdtSiteTarget {
                offset,
                semaphore_offset: site.semaphore_offset.unwrap_or(0),
                semaphore_in_bss: site.semaphore_in_bss,
            });
        }
        // Sites of one probe share its semaphore: one warning each.
        if let Some(site) = probe
            .sites
            .iter()
            .find(|s| s.semaphore != 0 && s.semaphore_offset.is_none())
        {
            io.warn(&format!(
                "{name}: its semaphore at {:#x} is in no loaded segment of the file, so the \
                 kernel cannot raise it and code it guards will not run",
                site.semaphore
            ));
        }
        // With a command, such probes are attached after its exec, which
        // keeps the semaphore (see commands::attach); system-wide, a process
        // started later may lose it.
        if !with_command && probe.sites.iter().any(|s| s.semaphore_in_bss) {
            io.warn(&format!("{name}: {BSS_SEMAPHORE}"));
        }
        if sites.is_empty() {
            continue;
        }
        let path = probe.path.to_string();
        points.push((name, CountTarget::Usdt { path, sites }));
    }
    Ok(points)
}

/// "no such USDT probe", with the file's nearest probes.
fn no_usdt_probe(ctx: &Context, text: &str, pattern: &ProbePattern) -> String {
    let message = format!("{text}: no such USDT probe in the file's .note.stapsdt");
    let Ok((path, name)) = user::split_target(text, pattern, ctx.process.is_some()) else {
        return message;
    };
    let Ok(every) = ProbePattern::parse(&format!("usdt:{path}:*")) else {
        return message;
    };
    let all = user::usdt_probes(ctx, text, &every).unwrap_or_default();
    let full = name.text().contains(':');
    let keyed: Vec<(String, String)> = all
        .iter()
        .map(|p| {
            let key = if full {
                format!("{}:{}", p.provider, p.name)
            } else {
                p.name.clone()
            };
            (key, p.probe_name())
        })
        .collect();
    let near: Vec<&str> = suggest::nearest_by(name.text(), keyed.iter(), |(key, _)| key, 3)
        .into_iter()
        .map(|(_, probe)| probe.as_str())
        .collect();
    if near.is_empty() {
        message
    } else {
        format!("{message}; did you mean {}?", near.join(", "))
    }
}

/// The perf events a `software:` or `hardware:` pattern names: one
/// `EVENT[:PERIOD]`, or a wildcard over the event names (default periods).
pub(super) fn perf_event_points(
    kind: ProbeKind,
    text: &str,
    pattern: &ProbePattern,
) -> Result<Vec<(String, CountTarget)>, Error> {
    let family = match kind {
        ProbeKind::Hardware => PerfFamily::Hardware,
        _ => PerfFamily::Software,
    };
    let rest = match pattern {
        ProbePattern::Kind { rest, .. } => rest.text(),
        _ => "",
    };
    if rest.contains('*') {
        let (names, period) = rest.split_once(':').unwrap_or((rest, ""));
        let wanted = Wildcard::new(names);
        return family
            .counters()
            .iter()
            .filter(|c| wanted.matches(c.name) || c.alias.is_some_and(|a| wanted.matches(a)))
            .map(|c| {
                let spec = if period.is_empty() {
                    c.name.to_string()
                } else {
                    format!("{}:{period}", c.name)
                };
                parse_perf_event(family, &spec)
                    .map(|spec| (spec.probe_name(), CountTarget::PerfEvent(spec)))
                    .map_err(|e| Error::bad_input(format!("{text}: {e}")))
            })
            .collect();
    }
    match parse_perf_event(family, rest) {
        Ok(spec) => Ok(vec![(spec.probe_name(), CountTarget::PerfEvent(spec))]),
        Err(PerfEventError::Unknown { name }) => {
            let names = family
                .counters()
                .iter()
                .flat_map(|c| std::iter::once(c.name).chain(c.alias));
            let near = suggest::nearest(&name, names, 3);
            let hint = if near.is_empty() {
                let all: Vec<&str> = family.counters().iter().map(|c| c.name).collect();
                format!("; the {family} events are {}", all.join(", "))
            } else {
                let near: Vec<String> = near.iter().map(|n| format!("{family}:{n}")).collect();
                format!("; did you mean {}?", near.join(", "))
            };
            Err(Error::nothing_matched(format!(
                "{text}: no {family} event {name:?}{hint}"
            )))
        }
        Err(e) => Err(Error::bad_input(format!(
            "{text}: {e}; write {family}:EVENT or {family}:EVENT:PERIOD"
        ))),
    }
}

/// Why a point did not attach, in full: for a fentry/fexit function or a
/// raw tracepoint the kernel's BTF lacks, with the nearest names that it
/// has. BTF is read only when such a point failed.
pub(super) fn failure_reason(
    ctx: &Context,
    target: &CountTarget,
    failure: &AttachFailure,
    io: &mut Io<'_>,
) -> String {
    let (kind, name) = match (target, failure.errno) {
        (CountTarget::Fentry { function, ret }, Some(libc::ESRCH | libc::ENOENT)) => (
            if *ret {
                ProbeKind::Fexit
            } else {
                ProbeKind::Fentry
            },
            function,
        ),
        (CountTarget::RawTracepoint { name }, Some(libc::ENOENT)) => {
            (ProbeKind::RawTracepoint, name)
        }
        _ => return failure.reason.clone(),
    };
    let near = nearest_btf_names(ctx, kind, name, io);
    if near.is_empty() {
        failure.reason.clone()
    } else {
        format!("{}; did you mean {}?", failure.reason, near.join(", "))
    }
}

fn nearest_btf_names(ctx: &Context, kind: ProbeKind, name: &str, io: &mut Io<'_>) -> Vec<String> {
    let Ok(pattern) = ProbePattern::parse(&format!("{kind}:*")) else {
        return Vec::new();
    };
    let Ok(sources) = Sources::load(ctx, &[pattern], &[kind], Needs::default(), io) else {
        return Vec::new();
    };
    let Ok(Some(vmlinux)) = sources.vmlinux(ctx) else {
        return Vec::new();
    };
    let Some(types) = sources.kernel_types(Some(&vmlinux), io) else {
        return Vec::new();
    };
    let all = list::candidates(&sources, &[kind], Some(&types));
    let mut near: Vec<String> = suggest::nearest_by(name, all.iter(), |c| &c.name, 3)
        .into_iter()
        .map(|c| c.probe.clone())
        .collect();
    near.dedup();
    near
}

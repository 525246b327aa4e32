//! The points `attach` counts with more than one attachment, or with a
//! program loaded for them alone; all share `count.bpf.c`'s `hits` and
//! count under the point's cookie like every other point.
//!
//! - uprobe and usdt: a uprobe at each call site (a USDT probe may have
//!   several), each with the probe's semaphore as its `ref_ctr_offset`, so
//!   the kernel raises the semaphore while attached and semaphore-guarded
//!   code runs (Linux 4.20). All the sites of one file share one
//!   uprobe_multi link (Linux 6.6), which releases in one sync where a
//!   perf_event link per site takes ~90 ms each
//!   (`attach_uprobe_batches`); else one perf_event link per site.
//! - software / hardware: one perf event per online CPU (pid -1, so every
//!   task; the cgroup filter is the program's), each sample a hit.
//! - fentry / fexit: the program's target is fixed at load (its BTF id),
//!   so each point loads `count_fentry`/`count_fexit` in an object of its
//!   own whose `hits` is the main object's map. Cookies need Linux 5.19.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::ptr::NonNull;

use libbpf_rs::{AsRawLibbpf, Link, MapCore, ObjectBuilder};

use super::count::{errno_of, failure, AttachFailure, CountTarget, COUNT_OBJECT};
use super::features::errno_name;
use crate::format::perf_event::{parse_cpu_list, PerfEventSpec, PerfFamily};

/// One USDT call site as the kernel's uprobe API takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtSiteTarget {
    /// The call site's file offset.
    pub offset: u64,
    /// The semaphore's file offset (`ref_ctr_offset`); 0 when the probe
    /// has none.
    pub semaphore_offset: u64,
    /// The semaphore lies in `.bss`, past the file's bytes: the loader
    /// clears what the kernel raised when the file was mapped, so for a
    /// command it is attached after the command's exec (see
    /// `commands::attach`).
    pub semaphore_in_bss: bool,
}

/// Attaches the kinds this module owns; None for any other kind.
pub(super) fn attach(
    object: &libbpf_rs::Object,
    target: &CountTarget,
    cookie: u64,
    cgroup: u64,
) -> Option<Result<Vec<Link>, AttachFailure>> {
    Some(match target {
        CountTarget::Usdt { path, sites } => attach_usdt(object, target, path, sites, cookie),
        CountTarget::PerfEvent(spec) => attach_perf_event(object, spec, cookie),
        CountTarget::Fentry { function, .. } => {
            attach_fentry(object, target, function, cookie, cgroup)
        }
        _ => return None,
    })
}

fn program<'o>(
    object: &'o libbpf_rs::Object,
    name: &str,
) -> Result<libbpf_rs::ProgramMut<'o>, AttachFailure> {
    object
        .progs_mut()
        .find(|p| p.name() == name)
        .ok_or_else(|| AttachFailure {
            errno: None,
            reason: format!("count.bpf.o has no program {name}"),
        })
}

fn attach_usdt(
    object: &libbpf_rs::Object,
    target: &CountTarget,
    path: &str,
    sites: &[UsdtSiteTarget],
    cookie: u64,
) -> Result<Vec<Link>, AttachFailure> {
    let prog = program(object, target.program())?;
    // All sites or none: a probe counted at some of its sites would
    // report fewer hits than it has.
    sites
        .iter()
        .map(|site| {
            prog.attach_uprobe_with_opts(
                -1,
                path,
                site.offset as usize,
                libbpf_rs::UprobeOpts {
                    ref_ctr_offset: site.semaphore_offset as usize,
                    cookie,
                    ..Default::default()
                },
            )
            .map_err(|e| failure(target, &e))
        })
        .collect()
}

/// `perf_event_open(2)`'s `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Opens the event on one CPU for every task; the fd, or the errno.
fn open_perf_event(spec: &PerfEventSpec, cpu: u32) -> Result<OwnedFd, i32> {
    let mut attr = libbpf_rs::libbpf_sys::perf_event_attr {
        type_: spec.family.perf_type(),
        size: std::mem::size_of::<libbpf_rs::libbpf_sys::perf_event_attr>() as u32,
        config: spec.counter.config,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = spec.period;
    // SAFETY: `attr` is a perf_event_attr of the size it states, alive for
    // the call; the other arguments are plain integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_rs::libbpf_sys::perf_event_attr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL));
    }
    // SAFETY: the kernel just returned this fd, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn online_cpus() -> Result<Vec<u32>, AttachFailure> {
    let path = "/sys/devices/system/cpu/online";
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| parse_cpu_list(&text))
        .filter(|cpus| !cpus.is_empty())
        .ok_or_else(|| AttachFailure {
            errno: None,
            reason: format!("cannot read the online CPUs from {path}"),
        })
}

fn attach_perf_event(
    object: &libbpf_rs::Object,
    spec: &PerfEventSpec,
    cookie: u64,
) -> Result<Vec<Link>, AttachFailure> {
    let prog = program(object, CountTarget::PerfEvent(*spec).program())?;
    let mut links = Vec::new();
    for cpu in online_cpus()? {
        let fd = open_perf_event(spec, cpu).map_err(|errno| perf_open_failure(spec, errno))?;
        let opts = libbpf_rs::PerfEventOpts {
            cookie,
            ..Default::default()
        };
        match prog.attach_perf_event_with_opts(fd.as_raw_fd(), opts) {
            Ok(link) => {
                // The link owns the event now: libbpf closes it on detach.
                let _ = OwnedFd::into_raw_fd(fd);
                links.push(link);
            }
            Err(e) => {
                let errno = errno_of(&e);
                return Err(AttachFailure {
                    errno,
                    reason: format!(
                        "the perf event opened but the program did not attach to it: {}",
                        errno.map_or_else(|| format!("{e:#}"), errno_words)
                    ),
                });
            }
        }
    }
    Ok(links)
}

fn errno_words(errno: i32) -> String {
    format!(
        "{} ({})",
        errno_name(errno),
        std::io::Error::from_raw_os_error(errno)
    )
}

/// Whether the kernel has a CPU PMU: `cpu` on x86 (`cpu_core` and
/// `cpu_atom` on hybrid Intel parts), `armv8_pmuv3*` and the like on Arm.
fn has_cpu_pmu() -> bool {
    std::fs::read_dir("/sys/bus/event_source/devices").is_ok_and(|dir| {
        dir.flatten().any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name == "cpu" || name.starts_with("cpu_") || name.starts_with("arm")
        })
    })
}

fn perf_open_failure(spec: &PerfEventSpec, errno: i32) -> AttachFailure {
    let reason = match (spec.family, errno) {
        (PerfFamily::Hardware, libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV | libc::EINVAL)
            if !has_cpu_pmu() =>
        {
            "this machine has no hardware PMU (no /sys/bus/event_source/devices/cpu); a VM may \
             not expose one"
                .to_string()
        }
        (PerfFamily::Hardware, libc::ENOENT | libc::EOPNOTSUPP) => format!(
            "the CPU's PMU does not count {} here (perf_event_open: {})",
            spec.counter.name,
            errno_name(errno)
        ),
        (_, libc::EACCES | libc::EPERM) => {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| format!(" (kernel.perf_event_paranoid is {})", s.trim()))
                .unwrap_or_default();
            format!(
                "perf_event_open refused a system-wide event: needs root or CAP_PERFMON{paranoid}"
            )
        }
        (_, libc::EMFILE) => "perf_event_open: too many open files (raise ulimit -n)".into(),
        _ => format!("perf_event_open failed: {}", errno_words(errno)),
    };
    AttachFailure {
        errno: Some(errno),
        reason,
    }
}

/// `count.bpf.o` opened again with only `programs` to load, sharing the
/// main object's `hits` (so cookies index the same counters) and set to
/// the same cgroup: for programs whose load needs something per point (a
/// BTF target) or may fail where the main object's do not.
fn open_sharing_hits(
    main: &libbpf_rs::Object,
    cgroup: u64,
    programs: &[&str],
) -> Result<libbpf_rs::OpenObject, AttachFailure> {
    let setup = |e: libbpf_rs::Error| AttachFailure {
        errno: errno_of(&e),
        reason: format!("could not set the counting program up: {e:#}"),
    };
    let hits = main
        .maps()
        .find(|m| m.name() == "hits")
        .ok_or_else(|| AttachFailure {
            errno: None,
            reason: "count.bpf.o has no map hits".into(),
        })?;
    let mut open = ObjectBuilder::default()
        .open_memory(COUNT_OBJECT)
        .map_err(setup)?;
    for mut prog in open.progs_mut() {
        let wanted = programs.iter().any(|p| prog.name() == *p);
        prog.set_autoload(wanted);
    }
    for mut map in open.maps_mut() {
        let map_name = map.name().to_string_lossy().into_owned();
        if map_name == "hits" {
            map.reuse_fd(hits.as_fd()).map_err(setup)?;
        } else if map_name.ends_with(".rodata") {
            if let Some(data) = map.initial_value_mut() {
                data[..8].copy_from_slice(&cgroup.to_ne_bytes());
            }
        }
    }
    Ok(open)
}

fn attach_fentry(
    main: &libbpf_rs::Object,
    target: &CountTarget,
    function: &str,
    cookie: u64,
    cgroup: u64,
) -> Result<Vec<Link>, AttachFailure> {
    let name = target.program();
    let mut open = open_sharing_hits(main, cgroup, &[name])?;
    for mut prog in open.progs_mut() {
        if prog.name() == name {
            // libbpf looks the function up in the kernel's BTF here.
            prog.set_attach_target(0, Some(function.to_string()))
                .map_err(|e| fentry_load_failure(function, &e))?;
        }
    }
    let object = open.load().map_err(|e| fentry_load_failure(function, &e))?;
    let prog = program(&object, name)?;
    let opts = libbpf_rs::libbpf_sys::bpf_trace_opts {
        sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_trace_opts>() as _,
        cookie,
    };
    // SAFETY: the program pointer is valid while `object` lives, and opts
    // is a bpf_trace_opts of the size it states.
    let link = unsafe {
        libbpf_rs::libbpf_sys::bpf_program__attach_trace_opts(
            prog.as_libbpf_object().as_ptr(),
            &opts,
        )
    };
    match NonNull::new(link) {
        // SAFETY: libbpf made this link and hands it over; the link keeps
        // the program alive in the kernel after `object` is dropped.
        Some(link) => Ok(vec![unsafe { Link::from_ptr(link) }]),
        None => {
            let errno = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL);
            Err(failure(target, &libbpf_rs::Error::from_raw_os_error(errno)))
        }
    }
}

fn fentry_load_failure(function: &str, e: &libbpf_rs::Error) -> AttachFailure {
    let errno = errno_of(e);
    let reason = match errno {
        Some(libc::EPERM | libc::EACCES) => {
            "the kernel refused to load the fentry/fexit program: a policy (lockdown, an LSM or \
             a sandbox) denies tracing programs here; a tracepoint or rawtracepoint may work \
             instead"
                .to_string()
        }
        Some(libc::ESRCH | libc::ENOENT) => {
            format!("the kernel's BTF has no function {function}")
        }
        Some(errno) => format!(
            "the kernel did not load the fentry/fexit program for {function}: {}",
            errno_words(errno)
        ),
        None => format!("the fentry/fexit program for {function} did not load: {e:#}"),
    };
    AttachFailure { errno, reason }
}

/// The uprobe and USDT points attached as one `uprobe_multi` link per
/// file and direction: per point, the link type when it is counted so,
/// and the links. Closing a perf_event uprobe link waits for the uprobe's
/// unregistration to sync (~90 ms each here, one after another even from
/// parallel threads: 12 USDT probes took 1.6 s to release), where a
/// uprobe_multi link syncs once for all its uprobes. A point left out
/// (None) is attached one link per site: when the kernel has no
/// uprobe_multi (before 6.6), or its file's link fails, which then
/// tells which point is at fault.
pub(super) fn attach_uprobe_batches(
    main: &libbpf_rs::Object,
    targets: &[CountTarget],
    cgroup: u64,
) -> (Vec<Option<&'static str>>, Vec<Link>) {
    let mut batched = vec![None; targets.len()];
    let mut links = Vec::new();
    // For tests: the one-link-per-site way kernels before 6.6 take.
    if std::env::var_os("PROBEDEX_NO_UPROBE_MULTI").is_some() {
        return (batched, links);
    }
    // (path, return probe) → every point's (index, sites).
    let mut batches: Vec<((&str, bool), Vec<PointSites>)> = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let (path, ret, sites): (&str, bool, Vec<UsdtSiteTarget>) = match target {
            CountTarget::Uprobe { path, offset, ret } => (
                path,
                *ret,
                vec![UsdtSiteTarget {
                    offset: *offset,
                    semaphore_offset: 0,
                    semaphore_in_bss: false,
                }],
            ),
            CountTarget::Usdt { path, sites } => (path, false, sites.clone()),
            _ => continue,
        };
        match batches.iter_mut().find(|(key, _)| *key == (path, ret)) {
            Some((_, points)) => points.push((index, sites)),
            None => batches.push(((path, ret), vec![(index, sites)])),
        }
    }
    if batches.is_empty() {
        return (batched, links);
    }
    let programs = ["count_uprobe_multi", "count_uretprobe_multi"];
    let Ok(object) = open_sharing_hits(main, cgroup, &programs).and_then(|open| {
        open.load().map_err(|e| AttachFailure {
            errno: errno_of(&e),
            reason: format!("{e:#}"),
        })
    }) else {
        return (batched, links);
    };
    for ((path, ret), points) in batches {
        let Ok(prog) = program(&object, programs[usize::from(ret)]) else {
            continue;
        };
        let mut batch = MultiBatch {
            prog: &prog,
            path,
            ret,
            // libc's 7,264 functions, 27 of them refused: 13 s here.
            failures_left: 64 + (points.len() / 4) as u32,
            links: &mut links,
            batched: &mut batched,
        };
        batch.attach(&points);
    }
    (batched, links)
}

/// A point's index and its sites (a uprobe's one, a USDT probe's every).
type PointSites = (usize, Vec<UsdtSiteTarget>);

/// One file's uprobe_multi links in the making.
struct MultiBatch<'a, 'o> {
    prog: &'a libbpf_rs::ProgramMut<'o>,
    path: &'a str,
    ret: bool,
    /// Failed attempts still allowed: each registers and rolls back every
    /// uprobe of the attempt in every process that maps the file (~20 ms
    /// for libc's functions in one process here).
    failures_left: u32,
    links: &'a mut Vec<Link>,
    batched: &'a mut [Option<&'static str>],
}

impl MultiBatch<'_, '_> {
    /// Attaches `points` as one link. The kernel refuses the whole link
    /// when it refuses one site (ENOTSUPP, 524, for an instruction uprobes
    /// cannot step over: 27 of libc's 7,264 function entries here, AVX2
    /// string functions; EINVAL for a semaphore offset that differs from
    /// another tool's uprobe at the same place), so on failure the halves
    /// are tried, down to the points at fault, which are left to the
    /// one-link-per-site path to report.
    fn attach(&mut self, points: &[PointSites]) {
        if points.is_empty() || self.failures_left == 0 {
            return;
        }
        let sites = points
            .iter()
            .flat_map(|(index, sites)| sites.iter().map(move |site| (*index as u64, site)));
        let mut opts = libbpf_rs::UprobeMultiOpts {
            retprobe: self.ret,
            ..Default::default()
        };
        for (cookie, site) in sites {
            opts.offsets.push(site.offset as usize);
            opts.ref_ctr_offsets.push(site.semaphore_offset as usize);
            opts.cookies.push(cookie);
        }
        match self
            .prog
            .attach_uprobe_multi_with_opts(-1, self.path, "", opts)
        {
            Ok(link) => {
                self.links.push(link);
                for (index, _) in points {
                    self.batched[*index] = Some("uprobe_multi");
                }
            }
            Err(e) => {
                self.failures_left -= 1;
                // Only a site can be at fault for these; anything else
                // (EPERM, ENOENT, ENOMEM) would fail every half too.
                let per_site = matches!(errno_of(&e), Some(libc::EINVAL | 524));
                if per_site && points.len() > 1 {
                    let (first, second) = points.split_at(points.len() / 2);
                    self.attach(first);
                    self.attach(second);
                }
            }
        }
    }
}

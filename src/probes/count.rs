//! `probedex attach`'s counting: loads `bpf/count.bpf.c`, attaches its
//! program of the right kind to every point with the point's index as the
//! BPF cookie, and reads each point's per-CPU counter. Everything made is
//! fd-based (perf_event, raw_tracepoint, uprobe_multi and tracing links);
//! dropping a [`CountingSession`] detaches it all, and nothing is left in
//! tracefs. uprobes, USDT probes, perf events and fentry are attached by
//! [`super::attach_kinds`].
//!
//! `tracepoint:syscalls:sys_enter_*` and `sys_exit_*` points are the
//! exception to one link per point: all of them share one raw tracepoint
//! link on `sys_enter` and one on `sys_exit`, counting per syscall number
//! (see [`super::syscalls`]). Closing a perf_event link waits for an RCU
//! grace period (~70 ms), so 720 of them took 22 s to attach and detach;
//! two raw tracepoint links close at once. A syscall tracepoint the table
//! does not know, or any when the shared link cannot be made, is attached
//! the perf_event way. A 32-bit syscall (ia32 emulation: its number is the
//! ia32 table's) is not counted, by the task's TS_COMPAT flag, as the
//! kernel's own syscall tracepoints skip it too.
//!
//! Every other tracepoint point is counted by `count_raw_tp` on the raw
//! tracepoint of the event's name (`sched:sched_switch` on
//! `sched_switch`), which fires exactly when the event does; closing such
//! a link takes ~0.15 ms where a perf_event link's takes ~70 ms, so the
//! 1,585 non-syscall tracepoints here went from 97 s to 0.8 s. An event
//! with no raw tracepoint of its name (ENOENT: one whose name differs from
//! its tracepoint's, a user event), a dynamic event (kprobe, uprobe,
//! synthetic, fprobe events: never tried, as a tracepoint of the same name
//! would count something else) and any point on a kernel whose raw_tp
//! programs cannot take a cookie (before 6.10) is attached the
//! perf_event way.
//!
//! Needs root (or CAP_BPF with CAP_PERFMON) and bpf_get_attach_cookie:
//! Linux 5.15 for tracepoints, kprobes and uprobes, 6.10 for raw
//! tracepoints.

use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::{Link, MapCore, MapFlags, ObjectBuilder, PrintLevel};

use super::attach_kinds::{self, UsdtSiteTarget};
use super::features::{errno_name, kernel_has_kprobes};
use super::syscalls::{self, Direction};
use crate::format::perf_event::PerfEventSpec;

/// `bpf/count.bpf.o`, compiled from `bpf/count.bpf.c` by `bpf/build.sh`.
pub static COUNT_OBJECT: &[u8] = include_bytes!("../../bpf/count.bpf.o");

/// What one point is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountTarget {
    Tracepoint {
        category: String,
        event: String,
    },
    RawTracepoint {
        name: String,
    },
    Kprobe {
        function: String,
        ret: bool,
    },
    /// A function of an ELF file, at its file offset.
    Uprobe {
        path: String,
        offset: u64,
        ret: bool,
    },
    /// A USDT probe: a uprobe at each call site (see [`attach_kinds`]).
    Usdt {
        path: String,
        sites: Vec<UsdtSiteTarget>,
    },
    /// A software or hardware perf event on every online CPU.
    PerfEvent(PerfEventSpec),
    /// A kernel function, through a program loaded for it alone.
    Fentry {
        function: String,
        ret: bool,
    },
}

impl CountTarget {
    /// A USDT probe whose semaphore is in `.bss`: for a command, it must be
    /// attached once the command has exec'd, or the loader clears the
    /// semaphore the kernel raised at exec and guarded code never runs.
    pub fn needs_exec_stop(&self) -> bool {
        matches!(self, CountTarget::Usdt { sites, .. } if sites.iter().any(|s| s.semaphore_in_bss))
    }

    /// The program of `bpf/count.bpf.c` that counts this kind.
    pub(super) fn program(&self) -> &'static str {
        match self {
            CountTarget::Tracepoint { .. } => "count_tracepoint",
            CountTarget::RawTracepoint { .. } => "count_raw_tp",
            CountTarget::Kprobe { ret: false, .. } => "count_kprobe",
            CountTarget::Kprobe { ret: true, .. } => "count_kretprobe",
            CountTarget::Uprobe { ret: false, .. } => "count_uprobe",
            CountTarget::Uprobe { ret: true, .. } => "count_uretprobe",
            // Not count_usdt: libbpf loads SEC("usdt") programs for
            // uprobe_multi links where the kernel has them, and a perf_event
            // uprobe link then fails with EINVAL.
            CountTarget::Usdt { .. } => "count_uprobe",
            CountTarget::PerfEvent(_) => "count_perf_event",
            CountTarget::Fentry { ret: false, .. } => "count_fentry",
            CountTarget::Fentry { ret: true, .. } => "count_fexit",
        }
    }
}

/// Why one point could not be attached, in the user's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachFailure {
    pub errno: Option<i32>,
    pub reason: String,
}

/// Why nothing could be counted at all.
#[derive(Debug)]
pub struct LoadError {
    pub errno: Option<i32>,
    pub message: String,
}

/// The loaded object and one link per point that attached.
#[derive(Debug)]
pub struct CountingSession {
    object: libbpf_rs::Object,
    /// Per point, in the order given: its link type, or why it has none.
    attached: Vec<Result<&'static str, AttachFailure>>,
    /// Per point: where its counter is.
    counters: Vec<Counter>,
    links: Vec<Link>,
}

/// Where a point's hits are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    /// `hits`, at the point's index (its cookie).
    Own(u32),
    /// `sys_enter_hits` or `sys_exit_hits`, at the syscall number.
    Syscall(u32, Direction),
}

impl Counter {
    fn map(self) -> &'static str {
        match self {
            Counter::Own(_) => "hits",
            Counter::Syscall(_, Direction::Enter) => "sys_enter_hits",
            Counter::Syscall(_, Direction::Exit) => "sys_exit_hits",
        }
    }

    fn key(self) -> u32 {
        match self {
            Counter::Own(key) | Counter::Syscall(key, _) => key,
        }
    }
}

impl Direction {
    fn program(self) -> &'static str {
        match self {
            Direction::Enter => "count_sys_enter",
            Direction::Exit => "count_sys_exit",
        }
    }

    fn raw_tracepoint(self) -> &'static str {
        match self {
            Direction::Enter => "sys_enter",
            Direction::Exit => "sys_exit",
        }
    }

    /// How a point counted this way is reported: the link's type and the
    /// raw tracepoint it is on.
    fn link_name(self) -> &'static str {
        match self {
            Direction::Enter => "raw_tracepoint:sys_enter",
            Direction::Exit => "raw_tracepoint:sys_exit",
        }
    }
}

/// The syscall number and direction a point can be counted by, if it is
/// a syscall tracepoint the table knows.
fn syscall_of(target: &CountTarget) -> Option<(u32, Direction)> {
    match target {
        CountTarget::Tracepoint { category, event } if category == "syscalls" => {
            syscalls::lookup(event)
        }
        _ => None,
    }
}

/// The byte offset of `orig_ax` (the syscall number at sys_exit) in the
/// running kernel's `struct pt_regs`, from its BTF; None without BTF or
/// off x86-64 (where the number is elsewhere).
fn orig_ax_offset(btf: Option<&libbpf_rs::btf::Btf<'static>>) -> Option<u64> {
    use libbpf_rs::btf::types::{MemberAttr, Struct};
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let btf = btf?;
    let regs = btf.type_by_name::<Struct<'_>>("pt_regs")?;
    let member = regs
        .iter()
        .find(|m| m.name.is_some_and(|n| n == "orig_ax"))?;
    match member.attr {
        MemberAttr::Normal { offset } if offset % 64 == 0 => Some(u64::from(offset / 8)),
        _ => None,
    }
}

/// The byte offset of `thread_info.status` (where x86-64 keeps
/// TS_COMPAT, set while a task makes a 32-bit syscall) in the running
/// kernel's `struct task_struct`, from its BTF; None without BTF or off
/// x86-64 (then 32-bit syscalls are counted under their 64-bit numbers'
/// names). Read per counted syscall: one helper call and four bytes.
fn compat_status_offset(btf: Option<&libbpf_rs::btf::Btf<'static>>) -> Option<u64> {
    use libbpf_rs::btf::types::{MemberAttr, Struct};
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let btf = btf?;
    let offset_of = |strukt: &str, field: &str| {
        let s = btf.type_by_name::<Struct<'_>>(strukt)?;
        let member = s.iter().find(|m| m.name.is_some_and(|n| n == field))?;
        match member.attr {
            MemberAttr::Normal { offset } if offset % 8 == 0 => Some(u64::from(offset / 8)),
            _ => None,
        }
    };
    let status = offset_of("task_struct", "thread_info")? + offset_of("thread_info", "status")?;
    // 0 means "do not check" to the program; thread_info.status is never
    // at 0 (flags comes first).
    (status > 0).then_some(status)
}

/// The bpf_link type of a link, in bpftool's words (`perf_event`,
/// `raw_tracepoint`), from the kernel's own `bpf_link_info`.
fn link_type(link: &Link) -> Option<&'static str> {
    let mut info = libbpf_rs::libbpf_sys::bpf_link_info::default();
    let mut len = std::mem::size_of_val(&info) as u32;
    // SAFETY: `info` is a valid bpf_link_info of `len` bytes and the fd is
    // the link's, open for the duration of the call.
    let ret = unsafe {
        libbpf_rs::libbpf_sys::bpf_link_get_info_by_fd(
            link.as_fd().as_raw_fd(),
            &mut info,
            &mut len,
        )
    };
    if ret != 0 {
        return None;
    }
    // enum bpf_link_type of include/uapi/linux/bpf.h.
    Some(match info.type_ {
        1 => "raw_tracepoint",
        2 => "tracing",
        7 => "perf_event",
        8 => "kprobe_multi",
        12 => "uprobe_multi",
        _ => "other",
    })
}

/// The errno inside a libbpf-rs error (its chain ends in an `io::Error`).
pub(super) fn errno_of(e: &libbpf_rs::Error) -> Option<i32> {
    let text = format!("{e:#}");
    let start = text.rfind("(os error ")? + "(os error ".len();
    text[start..].split(')').next()?.parse().ok()
}

pub(super) fn failure(target: &CountTarget, e: &libbpf_rs::Error) -> AttachFailure {
    let errno = errno_of(e);
    let reason = match (target, errno) {
        (CountTarget::Kprobe { .. }, _) if !kernel_has_kprobes() => {
            "this kernel was built without CONFIG_KPROBES, so no kprobe or kretprobe can be \
             attached; use fentry/fexit or a tracepoint instead"
                .to_string()
        }
        (_, Some(libc::EPERM | libc::EACCES)) => {
            "the kernel refused the attach: a security policy (lockdown, an LSM or a sandbox) \
             denies it"
                .to_string()
        }
        (CountTarget::Kprobe { function, .. }, Some(libc::ENOENT | libc::EINVAL)) => {
            format!("{function} cannot be probed here (not a traceable kernel function)")
        }
        (CountTarget::RawTracepoint { name }, Some(libc::ENOENT)) => {
            format!("the kernel has no raw tracepoint {name}")
        }
        // ENOTSUPP, the kernel-internal 524, from the uprobe instruction
        // decoder; said only when a process maps the file at attach time
        // (the decoder runs when a breakpoint is first put in).
        (CountTarget::Uprobe { .. } | CountTarget::Usdt { .. }, Some(524)) => {
            "the kernel's uprobes cannot step over the instruction there (on x86 a lock prefix \
             or a VEX-encoded instruction, as at the start of libc's AVX2 string functions)"
                .to_string()
        }
        (CountTarget::Tracepoint { .. }, Some(libc::ENOENT)) => {
            "the tracepoint's id is not readable in tracefs".to_string()
        }
        (_, Some(errno)) => format!(
            "attach failed: {} ({})",
            errno_name(errno),
            std::io::Error::from_raw_os_error(errno)
        ),
        (_, None) => format!("attach failed: {e:#}"),
    };
    AttachFailure { errno, reason }
}

fn quiet(_level: PrintLevel, _message: String) {}

impl CountingSession {
    /// Loads the counting programs the targets need and attaches one link
    /// per target; a target that cannot attach is reported, not fatal.
    /// `cgroup` is the cgroup v2 id whose tasks count (0: every task).
    pub fn attach(targets: &[CountTarget], cgroup: u64) -> Result<CountingSession, LoadError> {
        Self::attach_observed(targets, cgroup, &mut |_| {})
    }

    /// [`attach`](Self::attach), telling `attached` how many targets are
    /// through after each one (for a progress bar).
    pub fn attach_observed(
        targets: &[CountTarget],
        cgroup: u64,
        attached_so_far: &mut dyn FnMut(usize),
    ) -> Result<CountingSession, LoadError> {
        let load_error = |e: libbpf_rs::Error| LoadError {
            errno: errno_of(&e),
            message: format!("{e:#}"),
        };
        // libbpf's warnings would repeat what the report says per point.
        libbpf_rs::set_print(Some((PrintLevel::Warn, quiet)));
        // Syscall tracepoints counted per number, by direction; an exit
        // needs orig_ax's offset, which only the kernel's BTF gives.
        let mut by_number: Vec<Option<(u32, Direction)>> = targets.iter().map(syscall_of).collect();
        // Parsed once (tens of ms), and only for syscall points.
        let vmlinux = std::cell::OnceCell::new();
        let vmlinux = || {
            vmlinux
                .get_or_init(|| libbpf_rs::btf::Btf::from_vmlinux().ok())
                .as_ref()
        };
        let offset = if by_number
            .iter()
            .flatten()
            .any(|(_, d)| *d == Direction::Exit)
        {
            orig_ax_offset(vmlinux())
        } else {
            None
        };
        if offset.is_none() {
            for slot in &mut by_number {
                if slot.is_some_and(|(_, d)| d == Direction::Exit) {
                    *slot = None;
                }
            }
        }
        let compat_status = if by_number.iter().any(Option::is_some) {
            compat_status_offset(vmlinux())
        } else {
            None
        };
        let uses = |direction| by_number.iter().flatten().any(|(_, d)| *d == direction);
        // Tracepoints to try on the raw tracepoint of their event's name.
        let dynamic = dynamic_events();
        let mut by_raw: Vec<bool> = targets
            .iter()
            .zip(&by_number)
            .map(|(target, number)| {
                number.is_none()
                    && matches!(target, CountTarget::Tracepoint { category, event }
                        if !dynamic.iter().any(|(c, e)| c == category && e == event))
            })
            .collect();
        let wanted_programs: Vec<&str> = targets
            .iter()
            // fentry/fexit programs load per point, with their target.
            .filter(|t| !matches!(t, CountTarget::Fentry { .. }))
            .map(CountTarget::program)
            .chain(
                [Direction::Enter, Direction::Exit]
                    .into_iter()
                    .filter(|d| uses(*d))
                    .map(Direction::program),
            )
            .collect();
        let load = |extra: Option<&str>| -> Result<libbpf_rs::Object, LoadError> {
            let mut open = ObjectBuilder::default()
                .open_memory(COUNT_OBJECT)
                .map_err(load_error)?;
            for mut prog in open.progs_mut() {
                let wanted = wanted_programs
                    .iter()
                    .copied()
                    .chain(extra)
                    .any(|p| prog.name() == p);
                prog.set_autoload(wanted);
            }
            for mut map in open.maps_mut() {
                let name = map.name().to_string_lossy().into_owned();
                if name == "hits" {
                    map.set_max_entries(targets.len().max(1) as u32)
                        .map_err(load_error)?;
                } else if name.ends_with(".rodata") {
                    // `config`: the target cgroup, then orig_ax's offset.
                    let data = map.initial_value_mut().ok_or_else(|| LoadError {
                        errno: None,
                        message: "count.bpf.o has no initial .rodata".into(),
                    })?;
                    data[..8].copy_from_slice(&cgroup.to_ne_bytes());
                    data[8..16].copy_from_slice(&offset.unwrap_or(0).to_ne_bytes());
                    if let Some(compat) = data.get_mut(16..24) {
                        compat.copy_from_slice(&compat_status.unwrap_or(0).to_ne_bytes());
                    }
                }
            }
            open.load().map_err(load_error)
        };
        let raw_tp = "count_raw_tp";
        let object = if by_raw.contains(&true) && !wanted_programs.contains(&raw_tp) {
            // Before 6.10 a raw_tp program cannot read its cookie and does
            // not load: then those tracepoints go the perf_event way.
            match load(Some(raw_tp)) {
                Ok(object) => object,
                Err(_) => {
                    by_raw.fill(false);
                    load(None)?
                }
            }
        } else {
            load(None)?
        };
        let mut links = Vec::new();
        // The shared links, made at the first point that needs each; a
        // failure sends that direction's points the perf_event way.
        let mut shared: Vec<(Direction, bool)> = Vec::new();
        let mut attached = Vec::with_capacity(targets.len());
        let mut counters = Vec::with_capacity(targets.len());
        let (mut batched, batch_links) =
            attach_kinds::attach_uprobe_batches(&object, targets, cgroup);
        links.extend(batch_links);
        for (index, target) in targets.iter().enumerate() {
            attached_so_far(index);
            if let Some((nr, direction)) = by_number[index] {
                let ok = match shared.iter().find(|(d, _)| *d == direction) {
                    Some((_, ok)) => *ok,
                    None => {
                        let ok = attach_shared(&object, direction)
                            .map(|link| links.push(link))
                            .is_some();
                        shared.push((direction, ok));
                        ok
                    }
                };
                if ok {
                    attached.push(Ok(direction.link_name()));
                    counters.push(Counter::Syscall(nr, direction));
                    continue;
                }
            }
            counters.push(Counter::Own(index as u32));
            if let Some(kind) = batched[index].take() {
                attached.push(Ok(kind));
                continue;
            }
            if let Some(made) = attach_kinds::attach(&object, target, index as u64, cgroup) {
                attached.push(made.map(|made| {
                    let kind = made.first().and_then(link_type).unwrap_or("unknown");
                    links.extend(made);
                    kind
                }));
                continue;
            }
            if by_raw[index] {
                if let Some(link) = attach_raw(&object, target, index as u64) {
                    attached.push(Ok(link_type(&link).unwrap_or("unknown")));
                    links.push(link);
                    continue;
                }
            }
            attached.push(attach_one(&object, target, index as u64).map(|link| {
                let kind = link_type(&link).unwrap_or("unknown");
                links.push(link);
                kind
            }));
        }
        libbpf_rs::set_print(None);
        Ok(CountingSession {
            object,
            attached,
            counters,
            links,
        })
    }

    /// Per point: the link type it attached with, or why it did not.
    pub fn attachments(&self) -> &[Result<&'static str, AttachFailure>] {
        &self.attached
    }

    /// Per point: the hits summed over CPUs.
    pub fn hits(&self) -> Result<Vec<u64>, LoadError> {
        self.counters
            .iter()
            .map(|counter| {
                let map = self
                    .object
                    .maps()
                    .find(|m| m.name() == counter.map())
                    .ok_or_else(|| LoadError {
                        errno: None,
                        message: format!("count.bpf.o has no map `{}`", counter.map()),
                    })?;
                let per_cpu = map
                    .lookup_percpu(&counter.key().to_ne_bytes(), MapFlags::ANY)
                    .map_err(|e| LoadError {
                        errno: errno_of(&e),
                        message: format!("reading the counters: {e:#}"),
                    })?
                    .unwrap_or_default();
                Ok(per_cpu
                    .iter()
                    .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap_or([0; 8])))
                    .sum())
            })
            .collect()
    }

    /// Detaches every link (closing a link detaches it); the counters
    /// stay readable until `self` drops.
    ///
    /// Closing a perf_event link waits for an RCU grace period (tens of
    /// ms); one after another, the 720 links of `tracepoint:syscalls:*`
    /// took 52 s to detach here. Closed on many threads the waits overlap.
    pub fn detach(&mut self) {
        self.detach_observed(&mut |_, _| {});
    }

    /// [`detach`](Self::detach), telling `released` `(links released,
    /// links)` every few milliseconds while it waits (for a progress bar).
    pub fn detach_observed(&mut self, released: &mut dyn FnMut(usize, usize)) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let links = std::mem::take(&mut self.links);
        let total = links.len();
        let per_thread = total.div_ceil(64).max(1);
        let done = AtomicUsize::new(0);
        let mut links = links.into_iter();
        std::thread::scope(|scope| {
            loop {
                let chunk: Vec<Link> = links.by_ref().take(per_thread).collect();
                if chunk.is_empty() {
                    break;
                }
                let done = &done;
                scope.spawn(move || {
                    for link in chunk {
                        drop(link);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            loop {
                let now = done.load(Ordering::Relaxed);
                released(now, total);
                if now >= total {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
}

/// The raw tracepoint link counting every syscall of one direction.
fn attach_shared(object: &libbpf_rs::Object, direction: Direction) -> Option<Link> {
    let prog = object
        .progs_mut()
        .find(|p| p.name() == direction.program())?;
    prog.attach_raw_tracepoint(direction.raw_tracepoint()).ok()
}

/// A tracepoint point on the raw tracepoint of its event's name, with
/// its cookie; None when there is none (ENOENT), or the kernel cannot give
/// a raw_tp its cookie (EINVAL before 6.10), or anything else fails: the
/// point is then attached the perf_event way, which reports its own
/// failure if it has one.
fn attach_raw(object: &libbpf_rs::Object, target: &CountTarget, cookie: u64) -> Option<Link> {
    let CountTarget::Tracepoint { event, .. } = target else {
        return None;
    };
    let raw = CountTarget::RawTracepoint {
        name: event.clone(),
    };
    attach_one(object, &raw, cookie).ok()
}

/// The dynamic events (kprobe, uprobe, synthetic, eprobe, fprobe and
/// tracepoint-probe events) as `(group, event)`, from tracefs's
/// `dynamic_events` (`p:kprobes/name symbol`, `s:synthetic/name fields`).
/// They are not tracepoints: a raw tracepoint of the same name, if any,
/// is something else.
fn dynamic_events() -> Vec<(String, String)> {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .find_map(|dir| std::fs::read_to_string(format!("{dir}/dynamic_events")).ok())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let head = line.split_whitespace().next()?;
            let (group, event) = head.split_once(':')?.1.split_once('/')?;
            Some((group.to_string(), event.to_string()))
        })
        .collect()
}

fn attach_one(
    object: &libbpf_rs::Object,
    target: &CountTarget,
    cookie: u64,
) -> Result<Link, AttachFailure> {
    let prog = object
        .progs_mut()
        .find(|p| p.name() == target.program())
        .ok_or_else(|| AttachFailure {
            errno: None,
            reason: format!("count.bpf.o has no program {}", target.program()),
        })?;
    let result = match target {
        CountTarget::Tracepoint { category, event } => prog.attach_tracepoint_with_opts(
            libbpf_rs::TracepointCategory::Custom(category.clone()),
            event,
            libbpf_rs::TracepointOpts {
                cookie,
                ..Default::default()
            },
        ),
        CountTarget::RawTracepoint { name } => prog.attach_raw_tracepoint_with_opts(
            name,
            libbpf_rs::RawTracepointOpts {
                cookie,
                ..Default::default()
            },
        ),
        CountTarget::Kprobe { function, ret } => prog.attach_kprobe_with_opts(
            *ret,
            function,
            libbpf_rs::KprobeOpts {
                cookie,
                ..Default::default()
            },
        ),
        CountTarget::Uprobe { path, offset, ret } => prog.attach_uprobe_with_opts(
            -1,
            path,
            *offset as usize,
            libbpf_rs::UprobeOpts {
                cookie,
                retprobe: *ret,
                ..Default::default()
            },
        ),
        // More than one link, or a load of their own: `attach_kinds`,
        // which `CountingSession::attach` tries first.
        CountTarget::Usdt { .. } | CountTarget::PerfEvent(_) | CountTarget::Fentry { .. } => {
            return Err(AttachFailure {
                errno: None,
                reason: format!("{} is attached by attach_kinds", target.program()),
            });
        }
    };
    result.map_err(|e| failure(target, &e))
}

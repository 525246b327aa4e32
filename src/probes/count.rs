//! `probedex attach`'s counting: loads `bpf/count.bpf.c`, attaches its
//! program of the right kind to every point with the point's index as the
//! BPF cookie, and reads each point's per-CPU counter. Everything made is
//! fd-based (perf_event and raw_tracepoint links); dropping a
//! [`CountingSession`] detaches it all, and nothing is left in tracefs.
//!
//! Needs root (or CAP_BPF with CAP_PERFMON) and bpf_get_attach_cookie:
//! Linux 5.15 for tracepoints, kprobes and uprobes, 6.10 for raw
//! tracepoints.

use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::{Link, MapCore, MapFlags, ObjectBuilder, PrintLevel};

use super::features::{errno_name, kernel_has_kprobes};

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
}

impl CountTarget {
    /// The program of `bpf/count.bpf.c` that counts this kind.
    fn program(&self) -> &'static str {
        match self {
            CountTarget::Tracepoint { .. } => "count_tracepoint",
            CountTarget::RawTracepoint { .. } => "count_raw_tp",
            CountTarget::Kprobe { ret: false, .. } => "count_kprobe",
            CountTarget::Kprobe { ret: true, .. } => "count_kretprobe",
            CountTarget::Uprobe { ret: false, .. } => "count_uprobe",
            CountTarget::Uprobe { ret: true, .. } => "count_uretprobe",
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
    links: Vec<Link>,
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
fn errno_of(e: &libbpf_rs::Error) -> Option<i32> {
    let text = format!("{e:#}");
    let start = text.rfind("(os error ")? + "(os error ".len();
    text[start..].split(')').next()?.parse().ok()
}

fn failure(target: &CountTarget, e: &libbpf_rs::Error) -> AttachFailure {
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
        let load_error = |e: libbpf_rs::Error| LoadError {
            errno: errno_of(&e),
            message: format!("{e:#}"),
        };
        // libbpf's warnings would repeat what the report says per point.
        libbpf_rs::set_print(Some((PrintLevel::Warn, quiet)));
        let mut open = ObjectBuilder::default()
            .open_memory(COUNT_OBJECT)
            .map_err(load_error)?;
        for mut prog in open.progs_mut() {
            let wanted = targets.iter().any(|t| prog.name() == t.program());
            prog.set_autoload(wanted);
        }
        for mut map in open.maps_mut() {
            let name = map.name().to_string_lossy().into_owned();
            if name == "hits" {
                map.set_max_entries(targets.len().max(1) as u32)
                    .map_err(load_error)?;
            } else if name.ends_with(".rodata") {
                // `target_cgroup` is the only constant: .rodata is its 8 bytes.
                let data = map.initial_value_mut().ok_or_else(|| LoadError {
                    errno: None,
                    message: "count.bpf.o has no initial .rodata".into(),
                })?;
                data[..8].copy_from_slice(&cgroup.to_ne_bytes());
            }
        }
        let object = open.load().map_err(load_error)?;
        let mut links = Vec::new();
        let mut attached = Vec::with_capacity(targets.len());
        for (index, target) in targets.iter().enumerate() {
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
            links,
        })
    }

    /// Per point: the link type it attached with, or why it did not.
    pub fn attachments(&self) -> &[Result<&'static str, AttachFailure>] {
        &self.attached
    }

    /// Per point: the hits summed over CPUs.
    pub fn hits(&self) -> Result<Vec<u64>, LoadError> {
        let map = self
            .object
            .maps()
            .find(|m| m.name() == "hits")
            .ok_or_else(|| LoadError {
                errno: None,
                message: "count.bpf.o has no map `hits`".into(),
            })?;
        (0..self.attached.len() as u32)
            .map(|key| {
                let per_cpu = map
                    .lookup_percpu(&key.to_ne_bytes(), MapFlags::ANY)
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
        let links = std::mem::take(&mut self.links);
        let per_thread = links.len().div_ceil(64).max(1);
        let mut links = links.into_iter();
        std::thread::scope(|scope| loop {
            let chunk: Vec<Link> = links.by_ref().take(per_thread).collect();
            if chunk.is_empty() {
                break;
            }
            scope.spawn(move || drop(chunk));
        });
    }
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
    };
    result.map_err(|e| failure(target, &e))
}

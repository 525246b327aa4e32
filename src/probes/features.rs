//! `probedex features`: which program types and attach kinds really work on
//! this kernel, found by trying them. For each kind one trivial program of
//! the embedded object (`bpf/probe.bpf.c`) is loaded; kinds that need a
//! target are attached to a real one and detached again (the link is
//! dropped).
//!
//! Trying is what makes this right where probing by a single load is not:
//! a kernel may refuse fentry (EPERM under a lockdown or sandbox) while
//! tp_btf, the same program type, works; and a kprobe program loads on a
//! kernel built without CONFIG_KPROBES, where no kprobe can be attached.
//!
//! Needs root (or CAP_BPF with CAP_PERFMON, and CAP_NET_ADMIN for the
//! networking types). The BTF-attached kinds need the kernel's BTF
//! (`/sys/kernel/btf/vmlinux`, Linux 5.5+).

use std::cell::RefCell;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use libbpf_rs::{ObjectBuilder, OpenObject, PrintLevel, ProgramType};

/// `bpf/probe.bpf.o`, compiled from `bpf/probe.bpf.c` by `bpf/build.sh`.
pub static PROBE_OBJECT: &[u8] = include_bytes!("../../bpf/probe.bpf.o");

/// How a kind is tried after its program loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// No natural target: the load decides.
    LoadOnly,
    /// `bpf_program__attach()`: the BTF target set before loading.
    Btf,
    /// A tracefs tracepoint, `(category, event)`.
    Tracepoint(&'static str, &'static str),
    RawTracepoint(&'static str),
    Kprobe(&'static str),
    KprobeMulti(&'static str),
    /// A function of a library, found the way the dynamic loader would.
    Uprobe(&'static str, &'static str),
    UprobeMulti(&'static str, &'static str),
    /// freplace: the target is a function of another loaded BPF program.
    Freplace,
}

/// One kind `features` tries.
#[derive(Debug)]
pub struct Kind {
    /// The SEC() name, as libbpf spells it.
    pub sec: &'static str,
    /// The function of `bpf/probe.bpf.c` that has this SEC().
    pub program: &'static str,
    /// bpftool's name for the program type (`enum bpf_prog_type` without
    /// `BPF_PROG_TYPE_`, lower case).
    pub prog_type: &'static str,
    /// `enum bpf_attach_type` without `BPF_`, lower case, when libbpf sets one.
    pub attach_type: Option<&'static str>,
    /// The kernel function, tracepoint or iterator a BTF-attached program
    /// names before loading (libbpf adds the `bpf_lsm_`, `btf_trace_` or
    /// `bpf_iter_` prefix).
    pub btf_target: Option<&'static str>,
    pub attach: Attach,
}

const fn kind(
    sec: &'static str,
    program: &'static str,
    prog_type: &'static str,
    attach_type: Option<&'static str>,
    btf_target: Option<&'static str>,
    attach: Attach,
) -> Kind {
    Kind {
        sec,
        program,
        prog_type,
        attach_type,
        btf_target,
        attach,
    }
}

/// Every kind tried, in the order of the report: tracing kinds first, then
/// the types judged by load alone in `enum bpf_prog_type` order.
///
/// Targets are ones every kernel with the kind has: `vfs_read` (traceable,
/// not inlined), `security_file_open` (fmod_ret only takes `security_*` and
/// error-injectable functions), `sched_switch`, `getpid` of libc.
pub static KINDS: [Kind; 38] = [
    kind(
        "kprobe",
        "kprobe_probe",
        "kprobe",
        None,
        None,
        Attach::Kprobe("vfs_read"),
    ),
    kind(
        "kprobe.multi",
        "kprobe_multi_probe",
        "kprobe",
        Some("trace_kprobe_multi"),
        None,
        Attach::KprobeMulti("vfs_read"),
    ),
    kind(
        "uprobe",
        "uprobe_probe",
        "kprobe",
        None,
        None,
        Attach::Uprobe("libc.so.6", "getpid"),
    ),
    kind(
        "uprobe.multi",
        "uprobe_multi_probe",
        "kprobe",
        Some("trace_uprobe_multi"),
        None,
        Attach::UprobeMulti("libc.so.6", "getpid"),
    ),
    kind(
        "tracepoint",
        "tracepoint_probe",
        "tracepoint",
        None,
        None,
        Attach::Tracepoint("sched", "sched_switch"),
    ),
    kind(
        "raw_tp",
        "raw_tp_probe",
        "raw_tracepoint",
        None,
        None,
        Attach::RawTracepoint("sched_switch"),
    ),
    kind(
        "raw_tp.w",
        "raw_tp_w_probe",
        "raw_tracepoint_writable",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "tp_btf",
        "tp_btf_probe",
        "tracing",
        Some("trace_raw_tp"),
        Some("sched_switch"),
        Attach::Btf,
    ),
    kind(
        "fentry",
        "fentry_probe",
        "tracing",
        Some("trace_fentry"),
        Some("vfs_read"),
        Attach::Btf,
    ),
    kind(
        "fexit",
        "fexit_probe",
        "tracing",
        Some("trace_fexit"),
        Some("vfs_read"),
        Attach::Btf,
    ),
    kind(
        "fmod_ret",
        "fmod_ret_probe",
        "tracing",
        Some("modify_return"),
        Some("security_file_open"),
        Attach::Btf,
    ),
    kind(
        "iter",
        "iter_probe",
        "tracing",
        Some("trace_iter"),
        Some("task"),
        Attach::Btf,
    ),
    kind(
        "lsm",
        "lsm_probe",
        "lsm",
        Some("lsm_mac"),
        Some("file_open"),
        Attach::Btf,
    ),
    kind(
        "freplace",
        "freplace_probe",
        "ext",
        None,
        None,
        Attach::Freplace,
    ),
    kind(
        "perf_event",
        "perf_event_probe",
        "perf_event",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "syscall",
        "syscall_probe",
        "syscall",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "socket",
        "socket_probe",
        "socket_filter",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "tc",
        "sched_cls_probe",
        "sched_cls",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "action",
        "sched_act_probe",
        "sched_act",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "xdp",
        "xdp_probe",
        "xdp",
        Some("xdp"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "cgroup_skb/ingress",
        "cgroup_skb_probe",
        "cgroup_skb",
        Some("cgroup_inet_ingress"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "cgroup/sock_create",
        "cgroup_sock_probe",
        "cgroup_sock",
        Some("cgroup_inet_sock_create"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "lwt_in",
        "lwt_in_probe",
        "lwt_in",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "lwt_out",
        "lwt_out_probe",
        "lwt_out",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "lwt_xmit",
        "lwt_xmit_probe",
        "lwt_xmit",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "sockops",
        "sockops_probe",
        "sock_ops",
        Some("cgroup_sock_ops"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "sk_skb",
        "sk_skb_probe",
        "sk_skb",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "cgroup/dev",
        "cgroup_device_probe",
        "cgroup_device",
        Some("cgroup_device"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "sk_msg",
        "sk_msg_probe",
        "sk_msg",
        Some("sk_msg_verdict"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "cgroup/connect4",
        "cgroup_sock_addr_probe",
        "cgroup_sock_addr",
        Some("cgroup_inet4_connect"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "lwt_seg6local",
        "lwt_seg6local_probe",
        "lwt_seg6local",
        None,
        None,
        Attach::LoadOnly,
    ),
    kind(
        "lirc_mode2",
        "lirc_mode2_probe",
        "lirc_mode2",
        Some("lirc_mode2"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "sk_reuseport",
        "sk_reuseport_probe",
        "sk_reuseport",
        Some("sk_reuseport_select"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "flow_dissector",
        "flow_dissector_probe",
        "flow_dissector",
        Some("flow_dissector"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "cgroup/sysctl",
        "cgroup_sysctl_probe",
        "cgroup_sysctl",
        Some("cgroup_sysctl"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "cgroup/getsockopt",
        "cgroup_sockopt_probe",
        "cgroup_sockopt",
        Some("cgroup_getsockopt"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "sk_lookup",
        "sk_lookup_probe",
        "sk_lookup",
        Some("sk_lookup"),
        None,
        Attach::LoadOnly,
    ),
    kind(
        "netfilter",
        "netfilter_probe",
        "netfilter",
        Some("netfilter"),
        None,
        Attach::LoadOnly,
    ),
];

/// Program types with no kind above: judged as bpftool judges them.
/// struct_ops programs only load as members of a struct_ops map whose
/// layout is a kernel struct, which the embedded object does not carry.
pub const PROBED_ONLY: [(&str, ProgramType); 1] = [("struct_ops", ProgramType::StructOps)];

/// Where a kind failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the embedded object or setting the BTF target.
    Prepare,
    Load,
    Attach,
    /// libbpf's own probe (`libbpf_probe_bpf_prog_type`), for types not tried.
    Probe,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prepare => "prepare",
            Stage::Load => "load",
            Stage::Attach => "attach",
            Stage::Probe => "probe",
        }
    }
}

/// What trying one kind found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub sec: &'static str,
    pub prog_type: &'static str,
    pub attach_type: Option<&'static str>,
    /// What the program was attached to, or named as its BTF target.
    pub target: Option<String>,
    /// The last stage tried: `Attach` for kinds with a target, else `Load`.
    pub tried: Stage,
    /// None when it worked.
    pub failure: Option<Failure>,
}

impl Finding {
    pub fn available(&self) -> bool {
        self.failure.is_none()
    }
}

/// Why a kind is not available.
#[derive(Debug, Clone)]
pub struct Failure {
    pub stage: Stage,
    /// The kernel's (or libbpf's) errno.
    pub errno: Option<i32>,
    /// What that means here, in words.
    pub reason: String,
    /// libbpf's most telling log line (the verifier's when there is one).
    pub log: Option<String>,
}

thread_local! {
    /// libbpf's messages on this thread since the last `take_log`: each
    /// kind is tried on one thread, so its messages are its own.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn collect_log(_level: PrintLevel, message: String) {
    LOG.with(|log| log.borrow_mut().push(message));
}

fn take_log() -> Vec<String> {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// The errno inside a libbpf-rs error: its chain ends in an `io::Error`,
/// whose text ends in `(os error N)`.
fn errno_of(e: &libbpf_rs::Error) -> Option<i32> {
    let text = format!("{e:#}");
    let start = text.rfind("(os error ")? + "(os error ".len();
    text[start..].split(')').next()?.parse().ok()
}

/// The symbolic name of an errno the bpf() and perf_event_open() calls give.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EPROTO => "EPROTO",
        libc::EBADMSG => "EBADMSG",
        // The kernel-internal ENOTSUPP, which leaks out of bpf().
        524 => "ENOTSUPP",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

/// The line of libbpf's log worth showing: the verifier's first complaint
/// when it printed a log, else libbpf's first warning.
fn telling_line(log: &[String]) -> Option<String> {
    let lines: Vec<&str> = log
        .iter()
        .flat_map(|m| m.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let verifier = lines
        .iter()
        .skip_while(|l| !l.contains("-- BEGIN PROG LOAD LOG --"))
        .nth(1)
        .filter(|l| !l.contains("-- END PROG LOAD LOG --"));
    let line = verifier.or(lines.first())?;
    let mut line = line.to_string();
    if line.len() > 160 {
        let cut = (0..=157)
            .rev()
            .find(|&i| line.is_char_boundary(i))
            .unwrap_or(0);
        line.truncate(cut);
        line.push_str("...");
    }
    Some(line)
}

/// What `features` found: one finding per kind, then the types only probed.
#[derive(Debug)]
pub struct Features {
    pub findings: Vec<Finding>,
}

/// Why `features` could not run at all.
#[derive(Debug)]
pub enum FeaturesError {
    /// Neither CAP_BPF nor CAP_SYS_ADMIN is effective: with unprivileged
    /// BPF allowed a socket filter would still load, and every other kind
    /// would look unavailable for a reason that is not the kernel's.
    NoCapability,
    /// Even a socket filter does not load: no permission to use bpf().
    NoPermission(i32),
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// Whether this process may load any BPF program type: CAP_BPF (Linux
/// 5.8+) or CAP_SYS_ADMIN in its effective set (`CapEff:` of
/// /proc/self/status). None when that cannot be read.
fn may_use_bpf() -> Option<bool> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    let caps = u64::from_str_radix(hex, 16).ok()?;
    Some(caps & (1 << CAP_BPF | 1 << CAP_SYS_ADMIN) != 0)
}

/// Tries every kind, each on its own thread.
pub fn try_all() -> Result<Features, FeaturesError> {
    if may_use_bpf() == Some(false) {
        return Err(FeaturesError::NoCapability);
    }
    libbpf_rs::set_print(Some((PrintLevel::Warn, collect_log)));
    // The simplest type first: if it is refused, so is everything.
    let socket = KINDS
        .iter()
        .find(|k| k.sec == "socket")
        .expect("socket is a kind");
    let first = try_kind(socket);
    if let Some(failure) = &first.failure {
        if let Some(errno @ (libc::EPERM | libc::EACCES)) = failure.errno {
            return Err(FeaturesError::NoPermission(errno));
        }
    }
    // One thread per kind: most of the time goes to the kernel detaching
    // (closing a tracepoint's or uprobe's link waits for an RCU grace
    // period, up to ~170 ms here). Waits on separate threads overlap and
    // share grace periods, and sleeping threads cost no CPU; tried one
    // after another on two workers the run took ~250 ms, this way ~170 ms.
    let mut findings: Vec<Finding> = std::thread::scope(|scope| {
        let workers: Vec<_> = KINDS
            .iter()
            .filter(|k| k.sec != "socket")
            .map(|kind| scope.spawn(move || try_kind(kind)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a features worker panicked"))
            .collect()
    });
    findings.push(first);
    for (name, prog_type) in PROBED_ONLY {
        findings.push(probe_type(name, prog_type));
    }
    findings.sort_by_key(|f| {
        KINDS
            .iter()
            .position(|k| k.sec == f.sec)
            .unwrap_or(KINDS.len())
    });
    libbpf_rs::set_print(None);
    Ok(Features { findings })
}

/// libbpf's probe of a program type (what bpftool runs), for the types no
/// kind here tries.
fn probe_type(name: &'static str, prog_type: ProgramType) -> Finding {
    let result = prog_type.is_supported();
    take_log();
    let failure = match result {
        Ok(true) => None,
        Ok(false) => Some(Failure {
            stage: Stage::Probe,
            errno: None,
            reason: "libbpf's probe load was refused (not tried for real: struct_ops programs \
                     need a struct_ops map)"
                .into(),
            log: None,
        }),
        Err(e) => Some(Failure {
            stage: Stage::Probe,
            errno: errno_of(&e),
            reason: format!("libbpf could not probe it: {e}"),
            log: None,
        }),
    };
    Finding {
        sec: name,
        prog_type: name,
        attach_type: None,
        target: None,
        tried: Stage::Probe,
        failure,
    }
}

fn try_kind(kind: &Kind) -> Finding {
    take_log();
    let target = target_words(kind);
    let tried = if kind.attach == Attach::LoadOnly {
        Stage::Load
    } else {
        Stage::Attach
    };
    let failure = attempt(kind).err().map(|(stage, e)| {
        let errno = e.as_ref().and_then(errno_of);
        let log = take_log();
        Failure {
            stage,
            errno,
            reason: reason(kind, stage, errno, e.as_ref()),
            log: telling_line(&log),
        }
    });
    take_log();
    Finding {
        sec: kind.sec,
        prog_type: kind.prog_type,
        attach_type: kind.attach_type,
        target,
        tried,
        failure,
    }
}

fn target_words(kind: &Kind) -> Option<String> {
    match kind.attach {
        Attach::LoadOnly => None,
        Attach::Btf => kind.btf_target.map(str::to_string),
        Attach::Tracepoint(category, event) => Some(format!("{category}/{event}")),
        Attach::RawTracepoint(name) | Attach::Kprobe(name) | Attach::KprobeMulti(name) => {
            Some(name.to_string())
        }
        Attach::Uprobe(file, func) | Attach::UprobeMulti(file, func) => {
            Some(format!("{file}:{func}"))
        }
        Attach::Freplace => Some("socket_probe, a loaded socket filter".into()),
    }
}

type Attempt = Result<(), (Stage, Option<libbpf_rs::Error>)>;

/// Opens the embedded object with only `program` to be loaded.
fn open_only(program: &str) -> Result<OpenObject, libbpf_rs::Error> {
    let mut open = ObjectBuilder::default().open_memory(PROBE_OBJECT)?;
    for mut prog in open.progs_mut() {
        let wanted = prog.name() == program;
        prog.set_autoload(wanted);
    }
    Ok(open)
}

fn attempt(kind: &Kind) -> Attempt {
    let prepare = |e| (Stage::Prepare, Some(e));
    let load = |e| (Stage::Load, Some(e));
    let attach = |e| (Stage::Attach, Some(e));

    // freplace needs a loaded BPF program to replace a function of.
    let target_object = if kind.attach == Attach::Freplace {
        Some(
            open_only("socket_probe")
                .and_then(|o| o.load())
                .map_err(prepare)?,
        )
    } else {
        None
    };
    let mut open = open_only(kind.program).map_err(prepare)?;
    for mut prog in open.progs_mut() {
        if prog.name() != kind.program {
            continue;
        }
        if let Some(target) = kind.btf_target {
            prog.set_attach_target(0, Some(target.to_string()))
                .map_err(prepare)?;
        }
        if let Some(object) = &target_object {
            let socket = object
                .progs_mut()
                .find(|p| p.name() == "socket_probe")
                .ok_or((Stage::Prepare, None))?;
            prog.set_attach_target(socket.as_fd().as_raw_fd(), Some("socket_probe".to_string()))
                .map_err(prepare)?;
        }
    }
    let object = open.load().map_err(load)?;
    let prog = object
        .progs_mut()
        .find(|p| p.name() == kind.program)
        .ok_or((Stage::Load, None))?;
    let link = match kind.attach {
        Attach::LoadOnly => return Ok(()),
        Attach::Btf | Attach::Freplace => prog.attach(),
        Attach::Tracepoint(category, event) => prog.attach_tracepoint(
            libbpf_rs::TracepointCategory::Custom(category.to_string()),
            event,
        ),
        Attach::RawTracepoint(name) => prog.attach_raw_tracepoint(name),
        Attach::Kprobe(func) => prog.attach_kprobe(false, func),
        Attach::KprobeMulti(func) => prog.attach_kprobe_multi(false, vec![func]),
        Attach::Uprobe(file, func) => prog.attach_uprobe_with_opts(
            std::process::id() as i32,
            file,
            0,
            libbpf_rs::UprobeOpts {
                func_name: Some(func.to_string()),
                ..Default::default()
            },
        ),
        Attach::UprobeMulti(file, func) => {
            prog.attach_uprobe_multi(std::process::id() as i32, file, func, false, false)
        }
    };
    // Dropping the link detaches.
    drop(link.map_err(attach)?);
    Ok(())
}

const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";
const UPROBE_PMU: &str = "/sys/bus/event_source/devices/uprobe";

/// Whether tracefs (mounted at either place) has `file`.
fn tracefs_has(file: &str) -> bool {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .any(|dir| Path::new(dir).join(file).exists())
}

/// Whether the kernel can make kprobes: libbpf uses the kprobe PMU, or
/// kprobe_events on kernels before 4.17; both come with CONFIG_KPROBES.
pub fn kernel_has_kprobes() -> bool {
    Path::new(KPROBE_PMU).exists() || tracefs_has("kprobe_events")
}

/// What a failure means, in words, from the kind, the stage and the errno.
fn reason(kind: &Kind, stage: Stage, errno: Option<i32>, e: Option<&libbpf_rs::Error>) -> String {
    let what = match kind.attach {
        Attach::LoadOnly => format!("{} programs", kind.prog_type),
        _ => format!("{} programs", kind.sec),
    };
    match (stage, errno) {
        (Stage::Attach, _) if matches!(kind.attach, Attach::Kprobe(_)) && !kernel_has_kprobes() => {
            format!(
                "this kernel was built without CONFIG_KPROBES: no kprobe PMU ({KPROBE_PMU}) and \
                 no kprobe_events in tracefs; the program loads, but nothing can attach it"
            )
        }
        (Stage::Attach, _)
            if matches!(kind.attach, Attach::Uprobe(..))
                && !Path::new(UPROBE_PMU).exists()
                && !tracefs_has("uprobe_events") =>
        {
            format!(
                "this kernel was built without CONFIG_UPROBES: no uprobe PMU ({UPROBE_PMU}) and \
                 no uprobe_events in tracefs"
            )
        }
        (Stage::Attach, Some(libc::EOPNOTSUPP | 524)) if kind.sec == "kprobe.multi" => {
            "the kernel cannot attach kprobe.multi (needs CONFIG_FPROBE, Linux 5.18+)".into()
        }
        (Stage::Attach, Some(libc::EOPNOTSUPP | 524)) if kind.sec == "uprobe.multi" => {
            "the kernel cannot attach uprobe.multi (Linux 6.6+)".into()
        }
        (Stage::Attach, Some(libc::ENOENT)) if matches!(kind.attach, Attach::Tracepoint(..)) => {
            "the tracepoint's id is not readable: tracefs is not mounted or lacks it".into()
        }
        (Stage::Prepare, Some(libc::ENOENT | libc::ESRCH)) if kind.btf_target.is_some() => {
            format!(
                "the kernel's BTF has no {} to attach to (no /sys/kernel/btf/vmlinux, or the \
                 function is not in it)",
                kind.btf_target.unwrap_or_default()
            )
        }
        (Stage::Prepare, _) => format!(
            "could not set the program up: {}",
            e.map_or_else(
                || "program missing from the object".into(),
                |e| format!("{e:#}")
            )
        ),
        (Stage::Load, Some(libc::EPERM | libc::EACCES)) => format!(
            "the kernel refused to load {what} although a socket filter loads: a security \
             policy (kernel lockdown, an LSM, or a sandbox) denies this program type"
        ),
        (Stage::Load, Some(libc::EINVAL)) => format!(
            "the kernel rejected {what}: it does not know the program or attach type (built \
             without the option that provides it) or the verifier refused the program"
        ),
        (Stage::Load, Some(libc::E2BIG)) => "the kernel is too old for this program's \
                                             load attributes"
            .into(),
        (Stage::Load, Some(libc::EOPNOTSUPP | 524)) => {
            format!("the kernel does not support {what} here")
        }
        (Stage::Attach, Some(libc::EPERM | libc::EACCES)) => {
            format!("the kernel refused to attach {what}: a security policy denies it")
        }
        (Stage::Attach, Some(libc::ENOENT)) => format!(
            "the attach target does not exist here: {}",
            target_words(kind).unwrap_or_default()
        ),
        (Stage::Attach, Some(libc::EOPNOTSUPP | 524 | libc::EINVAL)) => {
            format!("the kernel loads {what} but cannot attach them")
        }
        (stage, Some(errno)) => format!(
            "{} failed: {}",
            stage.name(),
            std::io::Error::from_raw_os_error(errno)
        ),
        (stage, None) => format!(
            "{} failed: {}",
            stage.name(),
            e.map_or_else(|| "unknown error".into(), |e| format!("{e:#}"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_from_libbpf_rs_errors() {
        let e = libbpf_rs::Error::from_raw_os_error(libc::EPERM);
        assert_eq!(errno_of(&e), Some(libc::EPERM));
        assert_eq!(errno_name(libc::EOPNOTSUPP), "EOPNOTSUPP");
        assert_eq!(errno_name(524), "ENOTSUPP");
        assert_eq!(errno_name(4095), "errno 4095");
    }

    #[test]
    fn the_verifier_line_wins() {
        // libbpf v1.7.0 printing a failed load (captured on Linux 6.18).
        let log = vec![
            "libbpf: prog 'x': BPF program load failed: Invalid argument\n".to_string(),
            "libbpf: prog 'x': -- BEGIN PROG LOAD LOG --\nR0 !read_ok\n-- END PROG LOAD LOG --\n"
                .to_string(),
        ];
        assert_eq!(telling_line(&log).as_deref(), Some("R0 !read_ok"));
        assert_eq!(
            telling_line(&log[..1]).as_deref(),
            Some("libbpf: prog 'x': BPF program load failed: Invalid argument")
        );
        assert_eq!(telling_line(&[]), None);
    }

    #[test]
    fn every_kind_has_its_program_in_the_object() {
        let open = ObjectBuilder::default().open_memory(PROBE_OBJECT).unwrap();
        let names: Vec<String> = open
            .progs()
            .map(|p| p.name().to_string_lossy().into_owned())
            .collect();
        for kind in &KINDS {
            assert!(names.iter().any(|n| n == kind.program), "{}", kind.program);
            let prog = open.progs().find(|p| p.name() == kind.program).unwrap();
            assert_eq!(prog.section(), kind.sec, "{}", kind.program);
        }
        assert_eq!(
            names.len(),
            KINDS.len(),
            "a program no kind tries: {names:?}"
        );
    }
}

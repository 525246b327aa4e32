//! libbpf's `SEC()` names: which program type, expected attach type and
//! flags a section name gives, by libbpf's own rules (`section_defs[]` in
//! libbpf.c, HEAD of 2026-07-30 and release v1.7.0), and what each program
//! type receives as its context.
//!
//! The table is data about libbpf, kept in libbpf's order: the first entry
//! that matches wins (`sk_reuseport/migrate` before `sk_reuseport`,
//! `xdp.frags/devmap` before `xdp`). Matching (`sec_def_matches`): a
//! pattern ending in `+` matches the bare name or `name/extras`; one ending
//! in `/` is a prefix; any other is compared exactly. Sloppy prefix matching
//! ended with libbpf 1.0.

/// `enum sec_def_flags`.
pub const F_NONE: u32 = 0;
/// The expected attach type is dropped on kernels without it.
pub const F_EXP_ATTACH_OPT: u32 = 1;
/// Attachable through `bpf_prog_attach()` (legacy; for listing).
pub const F_ATTACHABLE: u32 = 2;
pub const F_ATTACHABLE_OPT: u32 = F_ATTACHABLE | F_EXP_ATTACH_OPT;
/// The target is found by BTF ID from the extras (`fentry/func`).
pub const F_ATTACH_BTF: u32 = 4;
/// Loaded with `BPF_F_SLEEPABLE`.
pub const F_SLEEPABLE: u32 = 8;
/// Loaded with `BPF_F_XDP_HAS_FRAGS`.
pub const F_XDP_FRAGS: u32 = 16;
/// A USDT program (attach type switched to uprobe_multi where supported).
pub const F_USDT: u32 = 32;

/// One `SEC_DEF()` of libbpf's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecDef {
    /// As libbpf writes it: `kprobe+`, `sk_reuseport/migrate`, `socket`.
    pub pattern: &'static str,
    /// `BPF_PROG_TYPE_` + this.
    pub prog_type: &'static str,
    /// `enum bpf_attach_type` name, when libbpf sets one.
    pub attach_type: Option<&'static str>,
    pub flags: u32,
    /// libbpf's auto-attach function, when `bpf_program__attach()` works.
    pub auto_attach: Option<&'static str>,
    /// In the v1.7.0 release (else only on libbpf's master).
    pub released: bool,
}

const fn def(
    pattern: &'static str,
    prog_type: &'static str,
    attach_type: Option<&'static str>,
    flags: u32,
    auto_attach: Option<&'static str>,
    released: bool,
) -> SecDef {
    SecDef {
        pattern,
        prog_type,
        attach_type,
        flags,
        auto_attach,
        released,
    }
}

/// libbpf's `section_defs[]`, in order.
pub static SECTION_DEFS: [SecDef; 116] = [
    def("socket", "SOCKET_FILTER", None, F_NONE, None, true),
    def(
        "sk_reuseport/migrate",
        "SK_REUSEPORT",
        Some("BPF_SK_REUSEPORT_SELECT_OR_MIGRATE"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "sk_reuseport",
        "SK_REUSEPORT",
        Some("BPF_SK_REUSEPORT_SELECT"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "kprobe+",
        "KPROBE",
        None,
        F_NONE,
        Some("attach_kprobe"),
        true,
    ),
    def(
        "uprobe+",
        "KPROBE",
        None,
        F_NONE,
        Some("attach_uprobe"),
        true,
    ),
    def(
        "uprobe.s+",
        "KPROBE",
        None,
        F_SLEEPABLE,
        Some("attach_uprobe"),
        true,
    ),
    def(
        "kretprobe+",
        "KPROBE",
        None,
        F_NONE,
        Some("attach_kprobe"),
        true,
    ),
    def(
        "uretprobe+",
        "KPROBE",
        None,
        F_NONE,
        Some("attach_uprobe"),
        true,
    ),
    def(
        "uretprobe.s+",
        "KPROBE",
        None,
        F_SLEEPABLE,
        Some("attach_uprobe"),
        true,
    ),
    def(
        "kprobe.multi+",
        "KPROBE",
        Some("BPF_TRACE_KPROBE_MULTI"),
        F_NONE,
        Some("attach_kprobe_multi"),
        true,
    ),
    def(
        "kretprobe.multi+",
        "KPROBE",
        Some("BPF_TRACE_KPROBE_MULTI"),
        F_NONE,
        Some("attach_kprobe_multi"),
        true,
    ),
    def(
        "kprobe.session+",
        "KPROBE",
        Some("BPF_TRACE_KPROBE_SESSION"),
        F_NONE,
        Some("attach_kprobe_session"),
        true,
    ),
    def(
        "uprobe.multi+",
        "KPROBE",
        Some("BPF_TRACE_UPROBE_MULTI"),
        F_NONE,
        Some("attach_uprobe_multi"),
        true,
    ),
    def(
        "uretprobe.multi+",
        "KPROBE",
        Some("BPF_TRACE_UPROBE_MULTI"),
        F_NONE,
        Some("attach_uprobe_multi"),
        true,
    ),
    def(
        "uprobe.session+",
        "KPROBE",
        Some("BPF_TRACE_UPROBE_SESSION"),
        F_NONE,
        Some("attach_uprobe_multi"),
        true,
    ),
    def(
        "uprobe.multi.s+",
        "KPROBE",
        Some("BPF_TRACE_UPROBE_MULTI"),
        F_SLEEPABLE,
        Some("attach_uprobe_multi"),
        true,
    ),
    def(
        "uretprobe.multi.s+",
        "KPROBE",
        Some("BPF_TRACE_UPROBE_MULTI"),
        F_SLEEPABLE,
        Some("attach_uprobe_multi"),
        true,
    ),
    def(
        "uprobe.session.s+",
        "KPROBE",
        Some("BPF_TRACE_UPROBE_SESSION"),
        F_SLEEPABLE,
        Some("attach_uprobe_multi"),
        true,
    ),
    def(
        "ksyscall+",
        "KPROBE",
        None,
        F_NONE,
        Some("attach_ksyscall"),
        true,
    ),
    def(
        "kretsyscall+",
        "KPROBE",
        None,
        F_NONE,
        Some("attach_ksyscall"),
        true,
    ),
    def("usdt+", "KPROBE", None, F_USDT, Some("attach_usdt"), true),
    def(
        "usdt.s+",
        "KPROBE",
        None,
        F_USDT | F_SLEEPABLE,
        Some("attach_usdt"),
        true,
    ),
    def(
        "tc/ingress",
        "SCHED_CLS",
        Some("BPF_TCX_INGRESS"),
        F_NONE,
        None,
        true,
    ),
    def(
        "tc/egress",
        "SCHED_CLS",
        Some("BPF_TCX_EGRESS"),
        F_NONE,
        None,
        true,
    ),
    def(
        "tcx/ingress",
        "SCHED_CLS",
        Some("BPF_TCX_INGRESS"),
        F_NONE,
        None,
        true,
    ),
    def(
        "tcx/egress",
        "SCHED_CLS",
        Some("BPF_TCX_EGRESS"),
        F_NONE,
        None,
        true,
    ),
    def("tc", "SCHED_CLS", None, F_NONE, None, true),
    def("classifier", "SCHED_CLS", None, F_NONE, None, true),
    def("action", "SCHED_ACT", None, F_NONE, None, true),
    def(
        "netkit/primary",
        "SCHED_CLS",
        Some("BPF_NETKIT_PRIMARY"),
        F_NONE,
        None,
        true,
    ),
    def(
        "netkit/peer",
        "SCHED_CLS",
        Some("BPF_NETKIT_PEER"),
        F_NONE,
        None,
        true,
    ),
    def(
        "tracepoint+",
        "TRACEPOINT",
        None,
        F_NONE,
        Some("attach_tp"),
        true,
    ),
    def("tp+", "TRACEPOINT", None, F_NONE, Some("attach_tp"), true),
    def(
        "tracepoint.s+",
        "TRACEPOINT",
        None,
        F_SLEEPABLE,
        Some("attach_tp"),
        false,
    ),
    def(
        "tp.s+",
        "TRACEPOINT",
        None,
        F_SLEEPABLE,
        Some("attach_tp"),
        false,
    ),
    def(
        "raw_tracepoint+",
        "RAW_TRACEPOINT",
        None,
        F_NONE,
        Some("attach_raw_tp"),
        true,
    ),
    def(
        "raw_tp+",
        "RAW_TRACEPOINT",
        None,
        F_NONE,
        Some("attach_raw_tp"),
        true,
    ),
    def(
        "raw_tracepoint.s+",
        "RAW_TRACEPOINT",
        None,
        F_SLEEPABLE,
        Some("attach_raw_tp"),
        false,
    ),
    def(
        "raw_tp.s+",
        "RAW_TRACEPOINT",
        None,
        F_SLEEPABLE,
        Some("attach_raw_tp"),
        false,
    ),
    def(
        "raw_tracepoint.w+",
        "RAW_TRACEPOINT_WRITABLE",
        None,
        F_NONE,
        Some("attach_raw_tp"),
        true,
    ),
    def(
        "raw_tp.w+",
        "RAW_TRACEPOINT_WRITABLE",
        None,
        F_NONE,
        Some("attach_raw_tp"),
        true,
    ),
    def(
        "tp_btf+",
        "TRACING",
        Some("BPF_TRACE_RAW_TP"),
        F_ATTACH_BTF,
        Some("attach_trace"),
        true,
    ),
    def(
        "tp_btf.s+",
        "TRACING",
        Some("BPF_TRACE_RAW_TP"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_trace"),
        false,
    ),
    def(
        "fentry+",
        "TRACING",
        Some("BPF_TRACE_FENTRY"),
        F_ATTACH_BTF,
        Some("attach_trace"),
        true,
    ),
    def(
        "fmod_ret+",
        "TRACING",
        Some("BPF_MODIFY_RETURN"),
        F_ATTACH_BTF,
        Some("attach_trace"),
        true,
    ),
    def(
        "fexit+",
        "TRACING",
        Some("BPF_TRACE_FEXIT"),
        F_ATTACH_BTF,
        Some("attach_trace"),
        true,
    ),
    def(
        "fentry.s+",
        "TRACING",
        Some("BPF_TRACE_FENTRY"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_trace"),
        true,
    ),
    def(
        "fmod_ret.s+",
        "TRACING",
        Some("BPF_MODIFY_RETURN"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_trace"),
        true,
    ),
    def(
        "fexit.s+",
        "TRACING",
        Some("BPF_TRACE_FEXIT"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_trace"),
        true,
    ),
    def(
        "fsession+",
        "TRACING",
        Some("BPF_TRACE_FSESSION"),
        F_ATTACH_BTF,
        Some("attach_trace"),
        true,
    ),
    def(
        "fsession.s+",
        "TRACING",
        Some("BPF_TRACE_FSESSION"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_trace"),
        true,
    ),
    def(
        "fsession.multi+",
        "TRACING",
        Some("BPF_TRACE_FSESSION_MULTI"),
        F_NONE,
        Some("attach_tracing_multi"),
        false,
    ),
    def(
        "fsession.multi.s+",
        "TRACING",
        Some("BPF_TRACE_FSESSION_MULTI"),
        F_SLEEPABLE,
        Some("attach_tracing_multi"),
        false,
    ),
    def(
        "fentry.multi+",
        "TRACING",
        Some("BPF_TRACE_FENTRY_MULTI"),
        F_NONE,
        Some("attach_tracing_multi"),
        false,
    ),
    def(
        "fexit.multi+",
        "TRACING",
        Some("BPF_TRACE_FEXIT_MULTI"),
        F_NONE,
        Some("attach_tracing_multi"),
        false,
    ),
    def(
        "fentry.multi.s+",
        "TRACING",
        Some("BPF_TRACE_FENTRY_MULTI"),
        F_SLEEPABLE,
        Some("attach_tracing_multi"),
        false,
    ),
    def(
        "fexit.multi.s+",
        "TRACING",
        Some("BPF_TRACE_FEXIT_MULTI"),
        F_SLEEPABLE,
        Some("attach_tracing_multi"),
        false,
    ),
    def(
        "freplace+",
        "EXT",
        None,
        F_ATTACH_BTF,
        Some("attach_trace"),
        true,
    ),
    def(
        "lsm+",
        "LSM",
        Some("BPF_LSM_MAC"),
        F_ATTACH_BTF,
        Some("attach_lsm"),
        true,
    ),
    def(
        "lsm.s+",
        "LSM",
        Some("BPF_LSM_MAC"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_lsm"),
        true,
    ),
    def(
        "lsm_cgroup+",
        "LSM",
        Some("BPF_LSM_CGROUP"),
        F_ATTACH_BTF,
        None,
        true,
    ),
    def(
        "iter+",
        "TRACING",
        Some("BPF_TRACE_ITER"),
        F_ATTACH_BTF,
        Some("attach_iter"),
        true,
    ),
    def(
        "iter.s+",
        "TRACING",
        Some("BPF_TRACE_ITER"),
        F_ATTACH_BTF | F_SLEEPABLE,
        Some("attach_iter"),
        true,
    ),
    def("syscall", "SYSCALL", None, F_SLEEPABLE, None, true),
    def(
        "xdp.frags/devmap",
        "XDP",
        Some("BPF_XDP_DEVMAP"),
        F_XDP_FRAGS,
        None,
        true,
    ),
    def(
        "xdp/devmap",
        "XDP",
        Some("BPF_XDP_DEVMAP"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "xdp.frags/cpumap",
        "XDP",
        Some("BPF_XDP_CPUMAP"),
        F_XDP_FRAGS,
        None,
        true,
    ),
    def(
        "xdp/cpumap",
        "XDP",
        Some("BPF_XDP_CPUMAP"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def("xdp.frags", "XDP", Some("BPF_XDP"), F_XDP_FRAGS, None, true),
    def("xdp", "XDP", Some("BPF_XDP"), F_ATTACHABLE_OPT, None, true),
    def("perf_event", "PERF_EVENT", None, F_NONE, None, true),
    def("lwt_in", "LWT_IN", None, F_NONE, None, true),
    def("lwt_out", "LWT_OUT", None, F_NONE, None, true),
    def("lwt_xmit", "LWT_XMIT", None, F_NONE, None, true),
    def("lwt_seg6local", "LWT_SEG6LOCAL", None, F_NONE, None, true),
    def(
        "sockops",
        "SOCK_OPS",
        Some("BPF_CGROUP_SOCK_OPS"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "sk_skb/stream_parser",
        "SK_SKB",
        Some("BPF_SK_SKB_STREAM_PARSER"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "sk_skb/stream_verdict",
        "SK_SKB",
        Some("BPF_SK_SKB_STREAM_VERDICT"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "sk_skb/verdict",
        "SK_SKB",
        Some("BPF_SK_SKB_VERDICT"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def("sk_skb", "SK_SKB", None, F_NONE, None, true),
    def(
        "sk_msg",
        "SK_MSG",
        Some("BPF_SK_MSG_VERDICT"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "lirc_mode2",
        "LIRC_MODE2",
        Some("BPF_LIRC_MODE2"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "flow_dissector",
        "FLOW_DISSECTOR",
        Some("BPF_FLOW_DISSECTOR"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "cgroup_skb/ingress",
        "CGROUP_SKB",
        Some("BPF_CGROUP_INET_INGRESS"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "cgroup_skb/egress",
        "CGROUP_SKB",
        Some("BPF_CGROUP_INET_EGRESS"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def("cgroup/skb", "CGROUP_SKB", None, F_NONE, None, true),
    def(
        "cgroup/sock_create",
        "CGROUP_SOCK",
        Some("BPF_CGROUP_INET_SOCK_CREATE"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/sock_release",
        "CGROUP_SOCK",
        Some("BPF_CGROUP_INET_SOCK_RELEASE"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/sock",
        "CGROUP_SOCK",
        Some("BPF_CGROUP_INET_SOCK_CREATE"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def(
        "cgroup/post_bind4",
        "CGROUP_SOCK",
        Some("BPF_CGROUP_INET4_POST_BIND"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/post_bind6",
        "CGROUP_SOCK",
        Some("BPF_CGROUP_INET6_POST_BIND"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/bind4",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET4_BIND"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/bind6",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET6_BIND"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/connect4",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET4_CONNECT"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/connect6",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET6_CONNECT"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/connect_unix",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UNIX_CONNECT"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/sendmsg4",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UDP4_SENDMSG"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/sendmsg6",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UDP6_SENDMSG"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/sendmsg_unix",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UNIX_SENDMSG"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/recvmsg4",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UDP4_RECVMSG"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/recvmsg6",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UDP6_RECVMSG"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/recvmsg_unix",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UNIX_RECVMSG"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getpeername4",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET4_GETPEERNAME"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getpeername6",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET6_GETPEERNAME"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getpeername_unix",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UNIX_GETPEERNAME"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getsockname4",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET4_GETSOCKNAME"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getsockname6",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_INET6_GETSOCKNAME"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getsockname_unix",
        "CGROUP_SOCK_ADDR",
        Some("BPF_CGROUP_UNIX_GETSOCKNAME"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/sysctl",
        "CGROUP_SYSCTL",
        Some("BPF_CGROUP_SYSCTL"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/getsockopt",
        "CGROUP_SOCKOPT",
        Some("BPF_CGROUP_GETSOCKOPT"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/setsockopt",
        "CGROUP_SOCKOPT",
        Some("BPF_CGROUP_SETSOCKOPT"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "cgroup/dev",
        "CGROUP_DEVICE",
        Some("BPF_CGROUP_DEVICE"),
        F_ATTACHABLE_OPT,
        None,
        true,
    ),
    def("struct_ops+", "STRUCT_OPS", None, F_NONE, None, true),
    def("struct_ops.s+", "STRUCT_OPS", None, F_SLEEPABLE, None, true),
    def(
        "sk_lookup",
        "SK_LOOKUP",
        Some("BPF_SK_LOOKUP"),
        F_ATTACHABLE,
        None,
        true,
    ),
    def(
        "netfilter",
        "NETFILTER",
        Some("BPF_NETFILTER"),
        F_NONE,
        None,
        true,
    ),
];

impl SecDef {
    /// The name without the `+`: what the user writes before `/extras`.
    pub fn base(&self) -> &'static str {
        self.pattern.trim_end_matches('+')
    }

    /// Whether libbpf's `sec_def_matches()` accepts `name` for this entry.
    pub fn matches(&self, name: &str) -> bool {
        if let Some(base) = self.pattern.strip_suffix('+') {
            return name == base
                || name
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with('/'));
        }
        if self.pattern.ends_with('/') {
            return name.starts_with(self.pattern);
        }
        name == self.pattern
    }

    /// What follows `base/` in `name`, for `+` entries (`tcp_v4_connect` of
    /// `kprobe/tcp_v4_connect`); `None` for the bare name.
    pub fn extras<'n>(&self, name: &'n str) -> Option<&'n str> {
        let base = self.pattern.strip_suffix('+')?;
        name.strip_prefix(base)?.strip_prefix('/')
    }

    /// The flags in words.
    pub fn flag_words(&self) -> Vec<&'static str> {
        let mut words = Vec::new();
        if self.flags & F_SLEEPABLE != 0 {
            words.push("sleepable");
        }
        if self.flags & F_ATTACH_BTF != 0 {
            words.push("BTF-attached (target by BTF ID)");
        }
        if self.flags & F_USDT != 0 {
            words.push("USDT");
        }
        if self.flags & F_XDP_FRAGS != 0 {
            words.push("XDP frags (multi-buffer)");
        }
        if self.flags & F_EXP_ATTACH_OPT != 0 {
            words.push("expected attach type optional");
        }
        if self.flags & F_ATTACHABLE != 0 {
            words.push("attachable with bpf_prog_attach");
        }
        words
    }
}

/// The entry libbpf picks for `name`: the first that matches, with its
/// index in the table.
pub fn find(name: &str) -> Option<(usize, &'static SecDef)> {
    SECTION_DEFS
        .iter()
        .enumerate()
        .find(|(_, def)| def.matches(name))
}

/// What a program type receives, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgTypeInfo {
    pub prog_type: &'static str,
    /// The kernel release that introduced it.
    pub since: &'static str,
    /// The context the program's argument points to.
    pub context: &'static str,
}

/// From the eBPF Docs program-type pages and the kernel's
/// `struct bpf_ctx_convert`.
pub static PROG_TYPES: &[ProgTypeInfo] = &[
    info("SOCKET_FILTER", "3.19", "struct __sk_buff * (restricted fields)"),
    info("KPROBE", "4.1", "struct pt_regs * (read arguments with BPF_KPROBE / PT_REGS_PARMn)"),
    info("SCHED_CLS", "4.1", "struct __sk_buff *"),
    info("SCHED_ACT", "4.1", "struct __sk_buff *"),
    info("TRACEPOINT", "4.7", "the event's record: struct trace_event_raw_<class> * (the format file's layout)"),
    info("XDP", "4.8", "struct xdp_md *"),
    info("PERF_EVENT", "4.9", "struct bpf_perf_event_data * (regs, sample_period, addr)"),
    info("CGROUP_SKB", "4.10", "struct __sk_buff *"),
    info("CGROUP_SOCK", "4.10", "struct bpf_sock *"),
    info("LWT_IN", "4.10", "struct __sk_buff *"),
    info("LWT_OUT", "4.10", "struct __sk_buff *"),
    info("LWT_XMIT", "4.10", "struct __sk_buff *"),
    info("SOCK_OPS", "4.13", "struct bpf_sock_ops *"),
    info("SK_SKB", "4.14", "struct __sk_buff *"),
    info("CGROUP_DEVICE", "4.15", "struct bpf_cgroup_dev_ctx * (access_type, major, minor)"),
    info("SK_MSG", "4.17", "struct sk_msg_md *"),
    info("RAW_TRACEPOINT", "4.17", "struct bpf_raw_tracepoint_args * (u64 args[], as the btf_trace_<event> prototype)"),
    info("CGROUP_SOCK_ADDR", "4.17", "struct bpf_sock_addr *"),
    info("LWT_SEG6LOCAL", "4.18", "struct __sk_buff *"),
    info("LIRC_MODE2", "4.18", "u32 * (a sample: upper 8 bits type, lower 24 payload)"),
    info("SK_REUSEPORT", "4.19", "struct sk_reuseport_md * (read-only)"),
    info("FLOW_DISSECTOR", "4.20", "struct __sk_buff * (data, data_end, flow_keys only)"),
    info("CGROUP_SYSCTL", "5.2", "struct bpf_sysctl * (write, file_pos)"),
    info("RAW_TRACEPOINT_WRITABLE", "5.2", "u64 args[]; arg 0 is the writable buffer"),
    info("CGROUP_SOCKOPT", "5.3", "struct bpf_sockopt *"),
    info("TRACING", "5.5", "u64 array of the target's arguments (+ the return value for fexit and fmod_ret); iterators: struct bpf_iter__<target> *"),
    info("STRUCT_OPS", "5.6", "u64 arguments of the implemented operation"),
    info("EXT", "5.6", "that of the replaced global function"),
    info("LSM", "5.7", "u64 array of the hook's arguments"),
    info("SK_LOOKUP", "5.9", "struct bpf_sk_lookup *"),
    info("SYSCALL", "5.14", "any struct agreed with user space (run with BPF_PROG_RUN)"),
    info("NETFILTER", "6.4", "struct bpf_nf_ctx * (state, skb; read-only)"),
];

const fn info(prog_type: &'static str, since: &'static str, context: &'static str) -> ProgTypeInfo {
    ProgTypeInfo {
        prog_type,
        since,
        context,
    }
}

pub fn prog_type_info(prog_type: &str) -> Option<&'static ProgTypeInfo> {
    PROG_TYPES.iter().find(|t| t.prog_type == prog_type)
}

/// What the extras of a `+` entry name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extras {
    /// `kprobe/<func>[+<offset>]`.
    KernelFunction,
    /// `kprobe.multi/<glob>`.
    KernelGlob,
    /// `ksyscall/<syscall>`: libbpf adds the architecture's prefix.
    Syscall,
    /// `uprobe/<path>:<func>[+<offset>]`.
    UserFunction,
    /// `uprobe.multi/<path>:<glob>`.
    UserGlob,
    /// `usdt/<path>:<provider>:<name>`.
    Usdt,
    /// `tracepoint/<category>/<name>`.
    Tracepoint,
    /// `raw_tp/<name>`, `tp_btf/<name>`.
    RawTracepoint,
    /// `fentry/[<module>:]<func>`.
    BtfFunction,
    /// `fentry.multi/<glob>`.
    BtfGlob,
    /// `lsm/<hook>`.
    LsmHook,
    /// `iter/<target>`.
    Iterator,
    /// `freplace/<func>`: a global function of another BPF program.
    ReplacedFunction,
    /// `struct_ops/<op>`.
    StructOp,
}

impl Extras {
    /// The form libbpf's attach code expects.
    pub fn format(self) -> &'static str {
        match self {
            Extras::KernelFunction => "<function>[+<offset>]",
            Extras::KernelGlob => "<glob> (* and ?)",
            Extras::Syscall => "<syscall> (without the __x64_sys_ prefix)",
            Extras::UserFunction => "<path>:<function>[+<offset>]",
            Extras::UserGlob => "<path>:<glob>",
            Extras::Usdt => "<path>:<provider>:<name>",
            Extras::Tracepoint => "<category>/<name>",
            Extras::RawTracepoint => "<tracepoint name>",
            Extras::BtfFunction => "[<module>:]<function>",
            Extras::BtfGlob => "<glob>",
            Extras::LsmHook => "<LSM hook> (bpf_lsm_<hook> in BTF)",
            Extras::Iterator => "<iterator target> (bpf_iter_<target> in BTF)",
            Extras::ReplacedFunction => "<global function of the program to extend>",
            Extras::StructOp => "<operation of the struct_ops map>",
        }
    }
}

/// The entry's base without the `.s`, `.w` variants: the family that
/// decides the extras and the handler macro.
fn family(def: &SecDef) -> &'static str {
    let base = def.base();
    base.strip_suffix(".s")
        .or_else(|| base.strip_suffix(".w"))
        .unwrap_or(base)
}

/// What a `+` entry's extras name, if anything.
pub fn extras_kind(def: &SecDef) -> Option<Extras> {
    if !def.pattern.ends_with('+') {
        return None;
    }
    Some(match family(def) {
        "kprobe" | "kretprobe" => Extras::KernelFunction,
        "kprobe.multi" | "kretprobe.multi" | "kprobe.session" => Extras::KernelGlob,
        "ksyscall" | "kretsyscall" => Extras::Syscall,
        "uprobe" | "uretprobe" => Extras::UserFunction,
        "uprobe.multi" | "uretprobe.multi" | "uprobe.session" | "uprobe.multi.s"
        | "uretprobe.multi.s" | "uprobe.session.s" => Extras::UserGlob,
        "usdt" => Extras::Usdt,
        "tracepoint" | "tp" => Extras::Tracepoint,
        "raw_tracepoint" | "raw_tp" | "tp_btf" => Extras::RawTracepoint,
        "fentry" | "fexit" | "fmod_ret" | "fsession" => Extras::BtfFunction,
        "fentry.multi" | "fexit.multi" | "fsession.multi" | "fentry.multi.s" | "fexit.multi.s"
        | "fsession.multi.s" => Extras::BtfGlob,
        "lsm" | "lsm_cgroup" => Extras::LsmHook,
        "iter" => Extras::Iterator,
        "freplace" => Extras::ReplacedFunction,
        "struct_ops" => Extras::StructOp,
        _ => return None,
    })
}

/// The probedex probe that names what the extras point at, so `sec` can
/// check it exists here; `syscall_prefix` is the architecture's
/// (`__x64_sys_`). `None` when nothing on this system can say (a
/// `freplace` target lives in another BPF program).
pub fn target_probe(kind: Extras, extras: &str, syscall_prefix: &str) -> Option<String> {
    let without_offset = |text: &str| match text.rsplit_once('+') {
        Some((name, offset)) if offset.chars().all(|c| c.is_ascii_hexdigit() || c == 'x') => {
            name.to_string()
        }
        _ => text.to_string(),
    };
    Some(match kind {
        Extras::KernelFunction => format!("kprobe:{}", without_offset(extras)),
        Extras::KernelGlob => format!("kprobe:{}", extras.replace('?', "*")),
        Extras::Syscall => format!("kprobe:{syscall_prefix}{extras}"),
        Extras::UserFunction => format!("uprobe:{}", without_offset(extras)),
        Extras::UserGlob => format!("uprobe:{}", extras.replace('?', "*")),
        Extras::Usdt => format!("usdt:{extras}"),
        Extras::Tracepoint => format!("tracepoint:{}", extras.replacen('/', ":", 1)),
        Extras::RawTracepoint => format!("rawtracepoint:{extras}"),
        Extras::BtfFunction => format!("fentry:{extras}"),
        Extras::BtfGlob => format!("fentry:{}", extras.replace('?', "*")),
        Extras::LsmHook => format!("fentry:bpf_lsm_{extras}"),
        Extras::Iterator => format!("fentry:bpf_iter_{extras}"),
        Extras::ReplacedFunction | Extras::StructOp => return None,
    })
}

/// The libbpf handler macro (bpf_tracing.h) or plain signature to write.
pub fn handler(def: &SecDef) -> String {
    let context = || {
        prog_type_info(def.prog_type)
            .map_or("void *ctx", |t| t.context)
            .split(" (")
            .next()
            .unwrap_or("void *")
            .to_string()
    };
    match family(def) {
        "kprobe" | "kprobe.multi" | "kprobe.session" => "BPF_KPROBE(handler, args...)".into(),
        "kretprobe" | "kretprobe.multi" | "kretsyscall" => {
            "BPF_KRETPROBE(handler, long ret)".into()
        }
        "ksyscall" => "BPF_KSYSCALL(handler, args...)".into(),
        "uprobe" | "uprobe.multi" | "uprobe.session" | "uprobe.multi.s" | "uprobe.session.s" => {
            "BPF_UPROBE(handler, args...)".into()
        }
        "uretprobe" | "uretprobe.multi" | "uretprobe.multi.s" => {
            "BPF_URETPROBE(handler, long ret)".into()
        }
        "usdt" => "BPF_USDT(handler, args...)".into(),
        "tracepoint" | "tp" => "int handler(struct trace_event_raw_<class> *ctx)".into(),
        "iter" => "int handler(struct bpf_iter__<target> *ctx)".into(),
        "raw_tracepoint" | "raw_tp" | "tp_btf" | "fentry" | "fexit" | "fmod_ret" | "fsession"
        | "fentry.multi" | "fexit.multi" | "fsession.multi" | "fentry.multi.s"
        | "fexit.multi.s" | "fsession.multi.s" | "lsm" | "lsm_cgroup" | "struct_ops"
        | "freplace" => "BPF_PROG(handler, args...)".into(),
        _ => format!(
            "int handler({})",
            context().trim_end_matches('*').trim_end().to_string() + " *ctx"
        ),
    }
}

/// The names nearest to an unknown `name`: each entry as written (`+`
/// entries as `base/...` when the name has a `/`).
pub fn nearest(name: &str) -> Vec<String> {
    let head = name.split('/').next().unwrap_or(name);
    let mut scored: Vec<(f64, String)> = SECTION_DEFS
        .iter()
        .map(|def| {
            let shown = if def.pattern.ends_with('+') && name.contains('/') {
                format!(
                    "{}/{}",
                    def.base(),
                    name.split_once('/').map_or("", |(_, r)| r)
                )
            } else {
                def.base().to_string()
            };
            let score = strsim::jaro_winkler(head, def.base().split('/').next().unwrap_or(""))
                .max(strsim::jaro_winkler(name, def.base()));
            (score, shown)
        })
        .filter(|(score, _)| *score > 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry's own name resolves to it (or to an earlier entry that
    /// libbpf would pick first), and `+` entries take extras.
    #[test]
    fn every_entry_matches_its_own_name() {
        for (index, def) in SECTION_DEFS.iter().enumerate() {
            let (found, _) = find(def.base()).unwrap();
            assert!(found <= index, "{}", def.pattern);
            if def.pattern.ends_with('+') {
                let with = format!("{}/x", def.base());
                let (found, hit) = find(&with).unwrap();
                assert_eq!(hit.base(), def.base(), "{with}");
                assert!(found <= index);
                assert_eq!(hit.extras(&with), Some("x"));
            }
        }
    }

    #[test]
    fn table_order_and_exact_names() {
        let kind = |name: &str| find(name).map(|(_, d)| (d.prog_type, d.attach_type));
        assert_eq!(kind("kprobe/tcp_v4_connect"), Some(("KPROBE", None)));
        assert_eq!(kind("kprobe"), Some(("KPROBE", None)));
        assert_eq!(
            kind("fentry/tcp_v4_connect"),
            Some(("TRACING", Some("BPF_TRACE_FENTRY")))
        );
        assert_eq!(
            kind("tp_btf/sched_wakeup"),
            Some(("TRACING", Some("BPF_TRACE_RAW_TP")))
        );
        assert_eq!(
            kind("tracepoint/sock/inet_sock_set_state"),
            Some(("TRACEPOINT", None))
        );
        assert_eq!(
            kind("cgroup/connect4"),
            Some(("CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET4_CONNECT")))
        );
        assert_eq!(
            kind("sk_reuseport/migrate"),
            Some(("SK_REUSEPORT", Some("BPF_SK_REUSEPORT_SELECT_OR_MIGRATE")))
        );
        assert_eq!(
            kind("xdp.frags/devmap"),
            Some(("XDP", Some("BPF_XDP_DEVMAP")))
        );
        assert_eq!(kind("socket"), Some(("SOCKET_FILTER", None)));
        // Not libbpf names: no sloppy prefixes since 1.0.
        for name in [
            "kprobe.multix",
            "tpx/a/b",
            "xdp.frag",
            "socket/x",
            "xdp/foo",
            "kprobex/f",
            "cgroup/connect",
            "tc/ingres",
        ] {
            assert_eq!(find(name), None, "{name}");
        }
    }

    #[test]
    fn targets_and_handlers() {
        let def = |name: &str| find(name).unwrap().1;
        let target = |name: &str| {
            let d = def(name);
            target_probe(
                extras_kind(d).unwrap(),
                d.extras(name).unwrap(),
                "__x64_sys_",
            )
        };
        assert_eq!(
            target("kprobe/tcp_v4_connect+0x10").as_deref(),
            Some("kprobe:tcp_v4_connect")
        );
        assert_eq!(
            target("ksyscall/openat").as_deref(),
            Some("kprobe:__x64_sys_openat")
        );
        assert_eq!(
            target("tp/sched/sched_switch").as_deref(),
            Some("tracepoint:sched:sched_switch")
        );
        assert_eq!(
            target("tp_btf/sched_wakeup").as_deref(),
            Some("rawtracepoint:sched_wakeup")
        );
        assert_eq!(
            target("lsm/file_open").as_deref(),
            Some("fentry:bpf_lsm_file_open")
        );
        assert_eq!(
            target("usdt/libc:libc:setjmp").as_deref(),
            Some("usdt:libc:libc:setjmp")
        );
        assert_eq!(target("freplace/f"), None);
        assert_eq!(
            handler(def("kretprobe/f")),
            "BPF_KRETPROBE(handler, long ret)"
        );
        assert_eq!(handler(def("usdt.s/x")), "BPF_USDT(handler, args...)");
        assert_eq!(handler(def("fentry.s/f")), "BPF_PROG(handler, args...)");
        assert_eq!(handler(def("xdp")), "int handler(struct xdp_md *ctx)");
        assert_eq!(handler(def("socket")), "int handler(struct __sk_buff *ctx)");
    }

    #[test]
    fn near_misses_get_suggestions() {
        assert!(nearest("kprobes/tcp_v4_connect").contains(&"kprobe/tcp_v4_connect".to_string()));
        assert!(nearest("tracepoin/a/b").contains(&"tracepoint/a/b".to_string()));
    }

    #[test]
    fn every_program_type_of_the_table_is_described() {
        for def in &SECTION_DEFS {
            assert!(prog_type_info(def.prog_type).is_some(), "{}", def.prog_type);
        }
    }
}

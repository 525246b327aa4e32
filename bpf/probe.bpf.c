// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// The programs `probedex features` loads, one per SEC() kind it tries.
// Each only returns 0: no maps, no helpers, no kernel struct layouts, so
// the object needs no vmlinux.h and its result depends on nothing but
// whether the kernel takes the program type (and, for kinds with a
// target, the attach). BTF-attached kinds (tp_btf, fentry, fexit,
// fmod_ret, lsm, iter, freplace) carry no target here: probedex sets it
// with bpf_program__set_attach_target() before loading.
//
// Regenerate bpf/probe.bpf.o with bpf/build.sh; tests/features.rs checks
// that the committed object matches this source.

#define SEC(name) __attribute__((section(name), used))

char LICENSE[] SEC("license") = "GPL";

/* Judged by load only: no natural target to attach to. */
SEC("socket") int socket_probe(void *ctx) { return 0; }
SEC("sk_reuseport") int sk_reuseport_probe(void *ctx) { return 0; }
SEC("kprobe") int kprobe_probe(void *ctx) { return 0; }
SEC("kprobe.multi") int kprobe_multi_probe(void *ctx) { return 0; }
SEC("uprobe") int uprobe_probe(void *ctx) { return 0; }
SEC("uprobe.multi") int uprobe_multi_probe(void *ctx) { return 0; }
SEC("tc") int sched_cls_probe(void *ctx) { return 0; }
SEC("action") int sched_act_probe(void *ctx) { return 0; }
SEC("tracepoint") int tracepoint_probe(void *ctx) { return 0; }
SEC("raw_tp") int raw_tp_probe(void *ctx) { return 0; }
SEC("raw_tp.w") int raw_tp_w_probe(void *ctx) { return 0; }
SEC("tp_btf") int tp_btf_probe(void *ctx) { return 0; }
SEC("fentry") int fentry_probe(void *ctx) { return 0; }
SEC("fmod_ret") int fmod_ret_probe(void *ctx) { return 0; }
SEC("fexit") int fexit_probe(void *ctx) { return 0; }
SEC("freplace") int freplace_probe(void *ctx) { return 0; }
SEC("lsm") int lsm_probe(void *ctx) { return 0; }
SEC("iter") int iter_probe(void *ctx) { return 0; }
SEC("syscall") int syscall_probe(void *ctx) { return 0; }
SEC("xdp") int xdp_probe(void *ctx) { return 0; }
SEC("perf_event") int perf_event_probe(void *ctx) { return 0; }
SEC("lwt_in") int lwt_in_probe(void *ctx) { return 0; }
SEC("lwt_out") int lwt_out_probe(void *ctx) { return 0; }
SEC("lwt_xmit") int lwt_xmit_probe(void *ctx) { return 0; }
SEC("lwt_seg6local") int lwt_seg6local_probe(void *ctx) { return 0; }
SEC("sockops") int sockops_probe(void *ctx) { return 0; }
SEC("sk_skb") int sk_skb_probe(void *ctx) { return 0; }
SEC("sk_msg") int sk_msg_probe(void *ctx) { return 0; }
SEC("lirc_mode2") int lirc_mode2_probe(void *ctx) { return 0; }
SEC("flow_dissector") int flow_dissector_probe(void *ctx) { return 0; }
SEC("cgroup_skb/ingress") int cgroup_skb_probe(void *ctx) { return 0; }
SEC("cgroup/sock_create") int cgroup_sock_probe(void *ctx) { return 0; }
SEC("cgroup/connect4") int cgroup_sock_addr_probe(void *ctx) { return 0; }
SEC("cgroup/dev") int cgroup_device_probe(void *ctx) { return 0; }
SEC("cgroup/sysctl") int cgroup_sysctl_probe(void *ctx) { return 0; }
SEC("cgroup/getsockopt") int cgroup_sockopt_probe(void *ctx) { return 0; }
SEC("sk_lookup") int sk_lookup_probe(void *ctx) { return 0; }
SEC("netfilter") int netfilter_probe(void *ctx) { return 0; }

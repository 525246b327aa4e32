// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// The programs `probedex attach` loads: one per SEC() kind it attaches,
// all with the same body. The BPF cookie of the attachment (set by
// probedex to the point's index) selects a counter in `hits`, a per-CPU
// array whose size probedex sets before loading, so one program serves
// every point of its kind and no two CPUs contend for a counter.
//
// `target_cgroup` (set before loading) is the cgroup v2 id of the
// command's own cgroup: only events of its process tree count. 0 counts
// everything.
//
// count_sys_enter and count_sys_exit serve every syscalls:sys_enter_* and
// syscalls:sys_exit_* point at once: each is one raw tracepoint link (on
// raw_syscalls' sys_enter or sys_exit) counting per syscall number into
// `sys_enter_hits` / `sys_exit_hits`. One link instead of one perf_event
// link per syscall: closing a perf_event link waits for an RCU grace
// period (~70 ms here), closing a raw tracepoint link does not. The raw
// arguments are (struct pt_regs *regs, long id) at entry and
// (struct pt_regs *regs, long ret) at exit, where the number is
// regs->orig_ax: `orig_ax_offset` (set before loading, from the kernel's
// BTF) is its offset in struct pt_regs.
//
// No kernel struct layouts and no libbpf headers: the few helpers are
// declared by their numbers from include/uapi/linux/bpf.h. Needs
// bpf_get_attach_cookie (Linux 5.15 for kprobes/uprobes/tracepoints and
// perf events, 5.19 for fentry/fexit, 6.10 for raw_tp).
//
// Regenerate bpf/count.bpf.o with bpf/build.sh; tests/features.rs checks
// that the committed object matches this source.

#define SEC(name) __attribute__((section(name), used))

typedef unsigned int __u32;
typedef unsigned long long __u64;

#define BPF_MAP_TYPE_PERCPU_ARRAY 6

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static __u64 (*bpf_get_attach_cookie)(void *ctx) = (void *)174;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static __u64 (*bpf_get_current_task)(void) = (void *)35;

char LICENSE[] SEC("license") = "GPL";

struct {
	int (*type)[BPF_MAP_TYPE_PERCPU_ARRAY];
	int (*max_entries)[1];
	__u32 *key;
	__u64 *value;
} hits SEC(".maps");

/* Syscall numbers counted per direction: x86-64's are below 1024. */
#define SYSCALLS 1024

struct {
	int (*type)[BPF_MAP_TYPE_PERCPU_ARRAY];
	int (*max_entries)[SYSCALLS];
	__u32 *key;
	__u64 *value;
} sys_enter_hits SEC(".maps");

struct {
	int (*type)[BPF_MAP_TYPE_PERCPU_ARRAY];
	int (*max_entries)[SYSCALLS];
	__u32 *key;
	__u64 *value;
} sys_exit_hits SEC(".maps");

/* One struct, so .rodata's layout is fixed: probedex writes it as three
 * native-endian u64s.
 *
 * compat_status_offset: where `thread_info.status` is in the running
 * kernel's struct task_struct (from its BTF, like orig_ax_offset); 0 when
 * unknown. A task making a 32-bit syscall (int 0x80, an ia32 program) has
 * TS_COMPAT set there, and its raw_syscalls numbers are the ia32 table's
 * (20 is getpid there, writev here): such syscalls are not counted, as
 * the kernel's own syscalls:* tracepoints skip them
 * (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS). */
volatile const struct {
	__u64 target_cgroup;
	__u64 orig_ax_offset;
	__u64 compat_status_offset;
} config = {};

/* arch/x86/include/asm/thread_info.h */
#define TS_COMPAT 0x0002

static __attribute__((always_inline)) int count(void *ctx)
{
	if (config.target_cgroup && bpf_get_current_cgroup_id() != config.target_cgroup)
		return 0;
	__u32 point = (__u32)bpf_get_attach_cookie(ctx);
	__u64 *n = bpf_map_lookup_elem(&hits, &point);
	if (n)
		*n += 1;
	return 0;
}

SEC("tracepoint") int count_tracepoint(void *ctx) { return count(ctx); }
SEC("raw_tp") int count_raw_tp(void *ctx) { return count(ctx); }
SEC("kprobe") int count_kprobe(void *ctx) { return count(ctx); }
SEC("kretprobe") int count_kretprobe(void *ctx) { return count(ctx); }
SEC("uprobe") int count_uprobe(void *ctx) { return count(ctx); }
SEC("uretprobe") int count_uretprobe(void *ctx) { return count(ctx); }
SEC("usdt") int count_usdt(void *ctx) { return count(ctx); }
/* uprobe and usdt points, one uprobe_multi link per file (Linux 6.6): a
 * cookie per offset. Loaded apart, so an older kernel loads the rest. */
SEC("uprobe.multi") int count_uprobe_multi(void *ctx) { return count(ctx); }
SEC("uretprobe.multi") int count_uretprobe_multi(void *ctx) { return count(ctx); }
/* software:/hardware: events, one perf event per CPU, each sample a hit. */
SEC("perf_event") int count_perf_event(void *ctx) { return count(ctx); }
/* fentry/fexit need their target's BTF id at load: probedex loads these
 * once per point, in an object of their own that shares `hits`. */
SEC("fentry") int count_fentry(void *ctx) { return count(ctx); }
SEC("fexit") int count_fexit(void *ctx) { return count(ctx); }

static __attribute__((always_inline)) int count_syscall(void *map, __u64 nr)
{
	if (config.target_cgroup && bpf_get_current_cgroup_id() != config.target_cgroup)
		return 0;
	/* Also drops -1 (no syscall) and x32's numbers (bit 30 set). */
	if (nr >= SYSCALLS)
		return 0;
	if (config.compat_status_offset) {
		__u32 status = 0;
		char *task = (char *)bpf_get_current_task();
		if (bpf_probe_read_kernel(&status, sizeof(status), task + config.compat_status_offset))
			return 0;
		if (status & TS_COMPAT)
			return 0;
	}
	__u32 key = (__u32)nr;
	__u64 *n = bpf_map_lookup_elem(map, &key);
	if (n)
		*n += 1;
	return 0;
}

SEC("raw_tp/sys_enter") int count_sys_enter(__u64 *ctx)
{
	return count_syscall(&sys_enter_hits, ctx[1]);
}

SEC("raw_tp/sys_exit") int count_sys_exit(__u64 *ctx)
{
	__u64 nr = -1;
	if (bpf_probe_read_kernel(&nr, sizeof(nr), (char *)ctx[0] + config.orig_ax_offset))
		return 0;
	return count_syscall(&sys_exit_hits, nr);
}

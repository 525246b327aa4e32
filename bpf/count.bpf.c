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
// No kernel struct layouts and no libbpf headers: the few helpers are
// declared by their numbers from include/uapi/linux/bpf.h. Needs
// bpf_get_attach_cookie (Linux 5.15 for kprobes/uprobes/tracepoints,
// 6.10 for raw_tp).
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

char LICENSE[] SEC("license") = "GPL";

struct {
	int (*type)[BPF_MAP_TYPE_PERCPU_ARRAY];
	int (*max_entries)[1];
	__u32 *key;
	__u64 *value;
} hits SEC(".maps");

volatile const __u64 target_cgroup = 0;

static __attribute__((always_inline)) int count(void *ctx)
{
	if (target_cgroup && bpf_get_current_cgroup_id() != target_cgroup)
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

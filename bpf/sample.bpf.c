// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// The programs `probedex attach --sample N` loads beside the counting ones
// (bpf/count.bpf.c): they send the first N records of every sampled point
// through the ring buffer `samples`, for probedex to decode with the
// point's format file. `taken` counts per point (its slot) how many were
// sent, so a busy point stops costing ring buffer space after N.
//
// sample_tracepoint is attached (perf_event link) to each ordinary
// tracepoint; its context is the record itself. The cookie carries the
// point's slot in its low 32 bits and how many bytes of the record to copy
// in its high 32 bits (the fixed part from the format file, or up to
// RECORD_MAX when there are __data_loc fields whose payload follows it).
// The record sits at the start of the kernel's per-CPU perf_trace_buf
// (PERF_MAX_TRACE_SIZE, 8 KiB), so copying past its end reads that buffer,
// never unmapped memory; bpf_probe_read_kernel fails safely regardless.
//
// sample_sys_enter and sample_sys_exit serve every syscalls:sys_enter_* /
// sys_exit_* point on one raw tracepoint link each, as the counting
// programs do (closing a perf_event link costs an RCU grace period). They
// rebuild the syscall record from pt_regs: `config.arg_offset` holds the
// offsets in struct pt_regs of the six argument registers, computed by
// probedex from the kernel's BTF (no kernel struct layout here). Per
// syscall number, `sys_enter_config` / `sys_exit_config` say which slot
// it feeds (0: not sampled) and which arguments are user-space strings;
// those are read with bpf_probe_read_user_str at the event, since the
// memory may be gone by the time probedex reads the record.
//
// `target_cgroup` filters as in count.bpf.c. No libbpf headers: helpers
// are declared by their numbers from include/uapi/linux/bpf.h. Needs the
// ring buffer (5.8), BPF atomics with fetch (5.12, -mcpu=v3) and
// bpf_get_attach_cookie for tracepoints (5.15).
//
// Regenerate bpf/sample.bpf.o with bpf/build.sh; tests/features.rs checks
// that the committed object matches this source.

#define SEC(name) __attribute__((section(name), used))

typedef int __s32;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_RINGBUF 27

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static __u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *src) = (void *)114;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;
static __u64 (*bpf_get_attach_cookie)(void *ctx) = (void *)174;

char LICENSE[] SEC("license") = "GPL";

/* Bytes of a tracepoint record copied at most. */
#define RECORD_MAX 2048
/* Bytes of one user-space string argument read at most, with its NUL. */
#define STRING_MAX 256
#define ARGS 6
#define SYSCALLS 1024

/* probedex sets max_entries (a power of two of pages) before loading. */
struct {
	int (*type)[BPF_MAP_TYPE_RINGBUF];
	int (*max_entries)[1 << 16];
} samples SEC(".maps");

/* Per slot: records claimed so far; probedex sets max_entries. */
struct {
	int (*type)[BPF_MAP_TYPE_ARRAY];
	int (*max_entries)[1];
	__u32 *key;
	__u64 *value;
} taken SEC(".maps");

/* Records the ring buffer had no room for, at index 0. */
struct {
	int (*type)[BPF_MAP_TYPE_ARRAY];
	int (*max_entries)[1];
	__u32 *key;
	__u64 *value;
} lost SEC(".maps");

struct syscall_config {
	__u32 slot_plus_one;
	__u32 string_args;
};

struct {
	int (*type)[BPF_MAP_TYPE_ARRAY];
	int (*max_entries)[SYSCALLS];
	__u32 *key;
	struct syscall_config *value;
} sys_enter_config SEC(".maps");

struct {
	int (*type)[BPF_MAP_TYPE_ARRAY];
	int (*max_entries)[SYSCALLS];
	__u32 *key;
	struct syscall_config *value;
} sys_exit_config SEC(".maps");

/* probedex writes it as nine native-endian u64s. */
volatile const struct {
	__u64 target_cgroup;
	__u64 limit;
	__u64 orig_ax_offset;
	__u64 arg_offset[ARGS];
} config = {};

#define KIND_RECORD 0
#define KIND_SYS_ENTER 1
#define KIND_SYS_EXIT 2

/* What every sample starts with; probedex reads it at these offsets. */
struct header {
	__u32 slot;
	__u32 kind;
	__u64 pid_tgid;
	char comm[16];
};

struct record_sample {
	struct header h;
	__u32 size; /* bytes of `data` copied, 0 when the copy failed */
	__u32 pad;
	char data[RECORD_MAX];
};

struct syscall_sample {
	struct header h;
	__u64 nr;
	__u64 args[ARGS]; /* at exit, args[0] is the return value */
	__s32 string_len[ARGS]; /* bpf_probe_read_user_str's result, 0: not read */
	char strings[ARGS][STRING_MAX];
};

static __attribute__((always_inline)) int wanted(void)
{
	return !config.target_cgroup || bpf_get_current_cgroup_id() == config.target_cgroup;
}

/* Claims one of the slot's N records; false once N were claimed. */
static __attribute__((always_inline)) int take(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&taken, &slot);
	if (!n || *n >= config.limit)
		return 0;
	return __sync_fetch_and_add(n, 1) < config.limit;
}

static __attribute__((always_inline)) void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __attribute__((always_inline)) void fill_header(struct header *h, __u32 slot, __u32 kind)
{
	h->slot = slot;
	h->kind = kind;
	h->pid_tgid = bpf_get_current_pid_tgid();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

SEC("tracepoint") int sample_tracepoint(void *ctx)
{
	if (!wanted())
		return 0;
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = (__u32)cookie;
	__u32 size = (__u32)(cookie >> 32);
	if (!take(slot))
		return 0;
	struct record_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		count_lost();
		return 0;
	}
	fill_header(&s->h, slot, KIND_RECORD);
	if (size > RECORD_MAX)
		size = RECORD_MAX;
	s->size = bpf_probe_read_kernel(s->data, size, ctx) ? 0 : size;
	bpf_ringbuf_submit(s, 0);
	return 0;
}

static __attribute__((always_inline)) struct syscall_sample *
start_syscall(void *config_map, __u64 nr, __u32 kind, __u32 *string_args)
{
	if (!wanted())
		return 0;
	/* Also drops -1 (no syscall) and x32's numbers (bit 30 set). */
	if (nr >= SYSCALLS)
		return 0;
	__u32 key = (__u32)nr;
	struct syscall_config *c = bpf_map_lookup_elem(config_map, &key);
	if (!c || !c->slot_plus_one)
		return 0;
	__u32 slot = c->slot_plus_one - 1;
	*string_args = c->string_args;
	if (!take(slot))
		return 0;
	struct syscall_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		count_lost();
		return 0;
	}
	fill_header(&s->h, slot, kind);
	s->nr = nr;
	return s;
}

SEC("raw_tp/sys_enter") int sample_sys_enter(__u64 *ctx)
{
	__u32 string_args = 0;
	struct syscall_sample *s = start_syscall(&sys_enter_config, ctx[1], KIND_SYS_ENTER, &string_args);
	if (!s)
		return 0;
	char *regs = (char *)ctx[0];
#pragma unroll
	for (int i = 0; i < ARGS; i++) {
		s->args[i] = 0;
		bpf_probe_read_kernel(&s->args[i], sizeof(__u64), regs + config.arg_offset[i]);
		s->string_len[i] = 0;
		if (string_args & (1u << i))
			s->string_len[i] = bpf_probe_read_user_str(s->strings[i], STRING_MAX,
								   (const void *)s->args[i]);
	}
	bpf_ringbuf_submit(s, 0);
	return 0;
}

SEC("raw_tp/sys_exit") int sample_sys_exit(__u64 *ctx)
{
	__u64 nr = -1;
	if (bpf_probe_read_kernel(&nr, sizeof(nr), (char *)ctx[0] + config.orig_ax_offset))
		return 0;
	__u32 string_args = 0;
	struct syscall_sample *s = start_syscall(&sys_exit_config, nr, KIND_SYS_EXIT, &string_args);
	if (!s)
		return 0;
#pragma unroll
	for (int i = 0; i < ARGS; i++) {
		s->args[i] = 0;
		s->string_len[i] = 0;
	}
	s->args[0] = ctx[1];
	bpf_ringbuf_submit(s, 0);
	return 0;
}

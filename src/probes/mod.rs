//! Attach-and-verify: the only code that loads BPF programs into the kernel
//! and attaches them (through libbpf-rs). Every kernel object made here is
//! fd-based (bpf_link, perf_event fds), so a killed probedex leaves nothing
//! behind.

pub mod attach_kinds;
pub mod count;
pub mod features;
pub mod sample;
pub mod syscalls;
pub mod workload;

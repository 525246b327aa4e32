//! Pure parsers over `&str` / `&[u8]`: no file access here, so every parser
//! is unit-tested on captured text and safe to fuzz.

pub mod btf;
pub mod btf_c;
pub mod ctype;
pub mod demangle;
pub mod event;
pub mod ftrace_functions;
pub mod kallsyms;
pub mod kprobe_blacklist;
pub mod ld_so_cache;
pub mod mounts;
#[cfg(test)]
pub(crate) mod mutate;
pub mod perf_event;
pub mod record_btf;
pub mod record_decode;
pub mod symbol_name;
pub mod usdt;

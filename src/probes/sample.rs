//! `probedex attach --sample N`: loads `bpf/sample.bpf.c` beside the
//! counting programs (which it leaves alone) and collects the first N
//! records of every tracepoint point through a ring buffer, decoded with
//! the point's format file.
//!
//! An ordinary tracepoint gets a perf_event link of `sample_tracepoint`,
//! whose context is the record itself: the cookie holds the point's slot
//! and how many bytes to copy. `syscalls:sys_enter_*` / `sys_exit_*`
//! points share one raw tracepoint link per direction, as the counting
//! does (a perf_event link costs ~70 ms to close, 720 of them 52 s): the
//! record is rebuilt from the syscall's registers, whose offsets in
//! `struct pt_regs` come from the kernel's BTF, and the `const char *`
//! arguments' user-space strings are read at the event. A syscall point
//! the table does not know, or any when BTF is missing, is sampled the
//! perf_event way.
//!
//! Needs root (or CAP_BPF with CAP_PERFMON), the BPF ring buffer (Linux
//! 5.8), BPF atomics (5.12) and tracepoint cookies (5.15); syscall
//! registers as on x86-64.

use libbpf_rs::{Link, MapCore, MapFlags, ObjectBuilder, PrintLevel};

use super::count::LoadError;
use super::syscalls::{self, Direction};
use crate::format::event::TracepointLayout;
use crate::format::record_decode::{
    decode, syscall_arguments, syscall_record, syscall_string_arguments, Sample,
};

/// `bpf/sample.bpf.o`, compiled from `bpf/sample.bpf.c` by `bpf/build.sh`.
pub static SAMPLE_OBJECT: &[u8] = include_bytes!("../../bpf/sample.bpf.o");

/// Bytes of a record copied at most (`RECORD_MAX` in sample.bpf.c).
const RECORD_MAX: u64 = 2048;
/// The ring buffer space one sample takes: the larger of sample.bpf.c's
/// two sample structs, with the ring buffer's 8-byte header.
const SAMPLE_SPACE: u64 = 8 + 40 + RECORD_MAX;
/// Ring buffer bounds: at least 16 pages, at most 64 MiB of kernel memory.
const RING_MIN: u64 = 64 * 1024;
const RING_MAX: u64 = 64 * 1024 * 1024;

/// A tracepoint point to sample, with its layout.
#[derive(Debug, Clone)]
pub struct SampleTarget {
    pub category: String,
    pub event: String,
    pub layout: TracepointLayout,
}

/// How a point's records arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Copied from the tracepoint's own record (perf_event link).
    Record,
    /// Rebuilt from the registers on the shared raw_syscalls link.
    Syscall(u32, Direction),
}

/// The loaded sampling programs and their links.
#[derive(Debug)]
pub struct SamplingSession {
    object: libbpf_rs::Object,
    links: Vec<Link>,
    /// Per point: its layout and route; None when it is not sampled.
    points: Vec<Option<(TracepointLayout, Route)>>,
    /// Per point: why it could not be sampled.
    failures: Vec<Option<String>>,
    limit: u32,
}

/// What the ring buffer held, per point in the order given.
#[derive(Debug, Default)]
pub struct Collected {
    pub samples: Vec<Vec<Sample>>,
    /// Records the ring buffer had no room for.
    pub lost: u64,
}

/// The offsets in the running kernel's `struct pt_regs` of the six
/// syscall argument registers and of `orig_ax` (the syscall number), from
/// its BTF; None without BTF or off x86-64.
fn syscall_register_offsets() -> Option<([u64; 6], u64)> {
    use libbpf_rs::btf::types::{MemberAttr, Struct};
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let btf = libbpf_rs::btf::Btf::from_vmlinux().ok()?;
    let regs = btf.type_by_name::<Struct<'_>>("pt_regs")?;
    let offset = |name: &str| {
        let member = regs.iter().find(|m| m.name.is_some_and(|n| n == name))?;
        match member.attr {
            MemberAttr::Normal { offset } if offset % 64 == 0 => Some(u64::from(offset / 8)),
            _ => None,
        }
    };
    // The x86-64 syscall ABI: arguments in rdi, rsi, rdx, r10, r8, r9.
    let mut args = [0; 6];
    for (slot, name) in args.iter_mut().zip(["di", "si", "dx", "r10", "r8", "r9"]) {
        *slot = offset(name)?;
    }
    Some((args, offset("orig_ax")?))
}

/// The errno inside a libbpf-rs error (its chain ends in an `io::Error`).
fn errno_of(e: &libbpf_rs::Error) -> Option<i32> {
    let text = format!("{e:#}");
    let start = text.rfind("(os error ")? + "(os error ".len();
    text[start..].split(')').next()?.parse().ok()
}

fn load_error(e: libbpf_rs::Error) -> LoadError {
    LoadError {
        errno: errno_of(&e),
        message: format!("{e:#}"),
    }
}

/// How many bytes of a record to copy: the fixed part, and room for the
/// payload of `__data_loc` fields after it.
fn copy_len(layout: &TracepointLayout) -> u64 {
    if layout.fields.iter().any(|f| f.is_dynamic()) {
        RECORD_MAX
    } else {
        layout.fixed_size().min(RECORD_MAX)
    }
}

fn quiet(_level: PrintLevel, _message: String) {}

impl SamplingSession {
    /// Loads the sampling programs the points need and attaches them;
    /// `limit` records per point at most, from tasks of cgroup `cgroup`
    /// (0: every task). A point that cannot be sampled is reported by
    /// [`Self::failures`], not fatal.
    pub fn attach(
        targets: &[Option<SampleTarget>],
        cgroup: u64,
        limit: u32,
    ) -> Result<SamplingSession, LoadError> {
        libbpf_rs::set_print(Some((PrintLevel::Warn, quiet)));
        let registers = if targets.iter().flatten().any(|t| t.category == "syscalls") {
            syscall_register_offsets()
        } else {
            None
        };
        let routes: Vec<Option<Route>> = targets
            .iter()
            .map(|t| {
                let t = t.as_ref()?;
                Some(match (registers, t.category == "syscalls") {
                    (Some(_), true) => match syscalls::lookup(&t.event) {
                        Some((nr, direction)) => Route::Syscall(nr, direction),
                        None => Route::Record,
                    },
                    _ => Route::Record,
                })
            })
            .collect();
        let uses = |wanted: &dyn Fn(Route) -> bool| routes.iter().flatten().any(|r| wanted(*r));
        let wanted_programs: Vec<&str> = [
            (uses(&|r| r == Route::Record), "sample_tracepoint"),
            (
                uses(&|r| matches!(r, Route::Syscall(_, Direction::Enter))),
                "sample_sys_enter",
            ),
            (
                uses(&|r| matches!(r, Route::Syscall(_, Direction::Exit))),
                "sample_sys_exit",
            ),
        ]
        .into_iter()
        .filter_map(|(used, name)| used.then_some(name))
        .collect();
        let sampled = routes.iter().flatten().count() as u64;
        let ring = (sampled * u64::from(limit))
            .saturating_mul(SAMPLE_SPACE)
            .clamp(RING_MIN, RING_MAX)
            .next_power_of_two();

        let mut open = ObjectBuilder::default()
            .open_memory(SAMPLE_OBJECT)
            .map_err(load_error)?;
        for mut prog in open.progs_mut() {
            let wanted = wanted_programs.iter().any(|p| prog.name() == *p);
            prog.set_autoload(wanted);
        }
        for mut map in open.maps_mut() {
            let name = map.name().to_string_lossy().into_owned();
            if name == "samples" {
                map.set_max_entries(ring as u32).map_err(load_error)?;
            } else if name == "taken" {
                map.set_max_entries(targets.len().max(1) as u32)
                    .map_err(load_error)?;
            } else if name.ends_with(".rodata") {
                // `config`: cgroup, limit, orig_ax's offset, the argument
                // registers' offsets; nine native-endian u64s.
                let data = map.initial_value_mut().ok_or_else(|| LoadError {
                    errno: None,
                    message: "sample.bpf.o has no initial .rodata".into(),
                })?;
                let (args, orig_ax) = registers.unwrap_or(([0; 6], 0));
                let words = [cgroup, u64::from(limit), orig_ax]
                    .into_iter()
                    .chain(args)
                    .enumerate();
                for (i, word) in words {
                    if let Some(slot) = data.get_mut(i * 8..i * 8 + 8) {
                        slot.copy_from_slice(&word.to_ne_bytes());
                    }
                }
            }
        }
        let object = open.load().map_err(load_error)?;

        // Which slot each syscall number feeds, and which of its arguments
        // are strings to read.
        for (index, (target, route)) in targets.iter().zip(&routes).enumerate() {
            let (Some(target), Some(Route::Syscall(nr, direction))) = (target, route) else {
                continue;
            };
            let map_name = match direction {
                Direction::Enter => "sys_enter_config",
                Direction::Exit => "sys_exit_config",
            };
            let strings = match direction {
                Direction::Enter => syscall_string_arguments(&target.layout),
                Direction::Exit => 0,
            };
            let mut value = (index as u32 + 1).to_ne_bytes().to_vec();
            value.extend_from_slice(&strings.to_ne_bytes());
            let map = object
                .maps()
                .find(|m| m.name() == map_name)
                .ok_or_else(|| LoadError {
                    errno: None,
                    message: format!("sample.bpf.o has no map `{map_name}`"),
                })?;
            map.update(&nr.to_ne_bytes(), &value, MapFlags::ANY)
                .map_err(load_error)?;
        }

        let mut links = Vec::new();
        let mut failures = vec![None; targets.len()];
        let mut shared: Vec<(Direction, Result<(), String>)> = Vec::new();
        for (index, (target, route)) in targets.iter().zip(&routes).enumerate() {
            let (Some(target), Some(route)) = (target, route) else {
                continue;
            };
            let result = match route {
                Route::Syscall(_, direction) => match shared.iter().find(|(d, _)| d == direction) {
                    Some((_, result)) => result.clone(),
                    None => {
                        let (program, raw) = match direction {
                            Direction::Enter => ("sample_sys_enter", "sys_enter"),
                            Direction::Exit => ("sample_sys_exit", "sys_exit"),
                        };
                        let result = attach_program(&object, program, |prog| {
                            prog.attach_raw_tracepoint(raw)
                        })
                        .map(|link| links.push(link));
                        shared.push((*direction, result.clone()));
                        result
                    }
                },
                Route::Record => {
                    let cookie = index as u64 | copy_len(&target.layout) << 32;
                    attach_program(&object, "sample_tracepoint", |prog| {
                        prog.attach_tracepoint_with_opts(
                            libbpf_rs::TracepointCategory::Custom(target.category.clone()),
                            &target.event,
                            libbpf_rs::TracepointOpts {
                                cookie,
                                ..Default::default()
                            },
                        )
                    })
                    .map(|link| links.push(link))
                }
            };
            failures[index] = result.err();
        }
        libbpf_rs::set_print(None);
        let points = targets
            .iter()
            .zip(routes)
            .zip(&failures)
            .map(
                |((target, route), failure)| match (target, route, failure) {
                    (Some(t), Some(route), None) => Some((t.layout.clone(), route)),
                    _ => None,
                },
            )
            .collect();
        Ok(SamplingSession {
            object,
            links,
            points,
            failures,
            limit,
        })
    }

    /// Per point: why it could not be sampled, if it could not.
    pub fn failures(&self) -> &[Option<String>] {
        &self.failures
    }

    /// How many points are sampled through a perf_event link of their own.
    pub fn perf_event_links(&self) -> usize {
        self.points
            .iter()
            .flatten()
            .filter(|(_, route)| *route == Route::Record)
            .count()
    }

    /// Detaches every link, on many threads: closing a perf_event link
    /// waits for an RCU grace period (~70 ms), and the waits overlap.
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

    /// Drains the ring buffer and decodes every record, per point.
    pub fn collect(&self) -> Result<Collected, LoadError> {
        let find = |name: &str| {
            self.object
                .maps()
                .find(|m| m.name() == name)
                .ok_or_else(|| LoadError {
                    errno: None,
                    message: format!("sample.bpf.o has no map `{name}`"),
                })
        };
        let ring = find("samples")?;
        let mut raw: Vec<Vec<u8>> = Vec::new();
        {
            let mut builder = libbpf_rs::RingBufferBuilder::new();
            builder
                .add(&ring, |data: &[u8]| {
                    raw.push(data.to_vec());
                    0
                })
                .map_err(load_error)?;
            let ring = builder.build().map_err(load_error)?;
            ring.consume().map_err(load_error)?;
        }
        let mut samples = vec![Vec::new(); self.points.len()];
        for bytes in &raw {
            if let Some((slot, sample)) = self.parse_entry(bytes) {
                if let Some(list) = samples.get_mut(slot) {
                    if list.len() < self.limit as usize {
                        list.push(sample);
                    }
                }
            }
        }
        let lost = find("lost")?
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(load_error)?
            .and_then(|v| Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?)))
            .unwrap_or(0);
        Ok(Collected { samples, lost })
    }

    /// One ring buffer entry: sample.bpf.c's `struct record_sample` or
    /// `struct syscall_sample`, as `(slot, sample)`.
    fn parse_entry(&self, bytes: &[u8]) -> Option<(usize, Sample)> {
        let u32_at = |at: usize| Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        let u64_at = |at: usize| Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
        let slot = u32_at(0)? as usize;
        let kind = u32_at(4)?;
        let pid_tgid = u64_at(8)?;
        let comm = bytes.get(16..32)?;
        let comm = comm[..comm.iter().position(|&b| b == 0).unwrap_or(16)].to_vec();
        let (layout, _) = self.points.get(slot)?.as_ref()?;
        let fields = match kind {
            // KIND_RECORD
            0 => {
                let size = u32_at(32)? as usize;
                decode(layout, bytes.get(40..40 + size)?, &[])
            }
            // KIND_SYS_ENTER, KIND_SYS_EXIT
            1 | 2 => {
                let nr = u64_at(32)?;
                let mut args = [0u64; 6];
                for (i, arg) in args.iter_mut().enumerate() {
                    *arg = u64_at(40 + 8 * i)?;
                }
                let values = if kind == 1 { &args[..] } else { &args[..1] };
                let record = syscall_record(layout, nr, values);
                let mut strings = Vec::new();
                if kind == 1 {
                    for (i, field) in syscall_arguments(layout).take(6).enumerate() {
                        let len = u32_at(88 + 4 * i)? as i32;
                        if len > 0 {
                            let start = 112 + 256 * i;
                            let text = bytes.get(start..start + (len as usize).min(256))?;
                            strings.push((field.name.clone(), text.to_vec()));
                        }
                    }
                }
                decode(layout, &record, &strings)
            }
            _ => return None,
        };
        Some((
            slot,
            Sample {
                pid: (pid_tgid >> 32) as u32,
                tid: pid_tgid as u32,
                comm,
                fields,
            },
        ))
    }
}

/// Attaches program `name` of the object with `how`; the failure in words.
fn attach_program(
    object: &libbpf_rs::Object,
    name: &str,
    how: impl FnOnce(&libbpf_rs::ProgramMut<'_>) -> libbpf_rs::Result<Link>,
) -> Result<Link, String> {
    let prog = object
        .progs_mut()
        .find(|p| p.name() == name)
        .ok_or_else(|| format!("sample.bpf.o has no program {name}"))?;
    how(&prog).map_err(|e| match errno_of(&e) {
        Some(errno) => format!(
            "cannot attach the sampling program: {}",
            std::io::Error::from_raw_os_error(errno)
        ),
        None => format!("cannot attach the sampling program: {e:#}"),
    })
}

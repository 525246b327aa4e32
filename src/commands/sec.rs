//! `probedex sec`: what libbpf makes of a `SEC()` name on this system —
//! program type, expected attach type, flags, context, handler macro —
//! whether the kernel knows the type and attach type (its own BTF enums),
//! and whether the target the extras name exists here.

use std::collections::HashSet;

use super::{list, Context, Io, Outcome, RunError};
use crate::discover::btf;
use crate::error::Error;
use crate::format::btf::Kind;
use crate::output::sec as sec_view;
use crate::secdef::{self, Extras, SecDef, SECTION_DEFS};

/// The names the running kernel's BTF gives `enum bpf_prog_type` and
/// `enum bpf_attach_type`: what it can load and attach, whatever libbpf
/// knows. `Err` says why that is unknown.
pub(super) struct KernelEnums {
    pub prog_types: HashSet<String>,
    pub attach_types: HashSet<String>,
}

pub(super) fn kernel_enums(files: &btf::BtfFiles) -> Result<KernelEnums, String> {
    let vmlinux = btf::parse_vmlinux(files).map_err(|e| e.to_string())?;
    let mut enums = KernelEnums {
        prog_types: HashSet::new(),
        attach_types: HashSet::new(),
    };
    for ty in vmlinux.own_types() {
        if !matches!(ty.kind, Kind::Enum | Kind::Enum64) {
            continue;
        }
        let into = match ty.name() {
            Some("bpf_prog_type") => &mut enums.prog_types,
            Some("bpf_attach_type") => &mut enums.attach_types,
            _ => continue,
        };
        into.extend(ty.enumerators().filter_map(|(n, _)| n.map(str::to_string)));
    }
    if enums.prog_types.is_empty() {
        return Err("the kernel's BTF has no enum bpf_prog_type".into());
    }
    Ok(enums)
}

/// The architecture's prefix of syscall entry points, which libbpf adds
/// to `ksyscall/NAME`.
pub(super) fn syscall_prefix() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "__x64_sys_",
        "aarch64" => "__arm64_sys_",
        "s390x" => "__s390x_sys_",
        "riscv64" => "__riscv_sys_",
        _ => "__se_sys_",
    }
}

pub(super) fn run(
    ctx: &Context,
    names: &[String],
    table: bool,
    for_probe: Option<&str>,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    if table {
        sec_view::write_table(io.out, &SECTION_DEFS, ctx.json)?;
        return Ok(Outcome::Matched);
    }
    if let Some(probe) = for_probe {
        return for_probe_names(ctx, probe, io);
    }
    if names.is_empty() {
        return Err(Error::bad_input(
            "sec: give a SEC() name (kprobe/tcp_v4_connect), --list, or --for PROBE",
        )
        .into());
    }
    // Read once: the enums and every tracepoint's record struct come from it.
    let vmlinux = btf::read_vmlinux(&ctx.system);
    let enums = match &vmlinux {
        Ok(files) => kernel_enums(files),
        Err(e) => Err(e.to_string()),
    };
    let mut all_known = true;
    for (index, name) in names.iter().enumerate() {
        let Some((position, def)) = secdef::find(name) else {
            all_known = false;
            let nearest = secdef::nearest(name);
            let also = if nearest.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", nearest.join(", "))
            };
            // libbpf's own words (libbpf_prog_type_by_name), then ours.
            io.warn(&format!(
                "SEC(\"{name}\"): libbpf: failed to guess program type from ELF section \
                 '{name}' (-ESRCH){also}"
            ));
            continue;
        };
        let report = describe(ctx, name, position, def, &enums, vmlinux.as_ref().ok());
        if index > 0 && !ctx.json {
            writeln!(io.out)?;
        }
        sec_view::write_report(io.out, &report, ctx.json, ctx.style)?;
    }
    if all_known {
        Ok(Outcome::Matched)
    } else {
        Err(Error::nothing_matched("some names are not libbpf SEC() names").into())
    }
}

fn describe<'d>(
    ctx: &Context,
    name: &'d str,
    position: usize,
    def: &'d SecDef,
    enums: &Result<KernelEnums, String>,
    vmlinux: Option<&btf::BtfFiles>,
) -> sec_view::SecReport<'d> {
    let info = secdef::prog_type_info(def.prog_type);
    let prog_type = format!("BPF_PROG_TYPE_{}", def.prog_type);
    let support =
        |name: Option<&str>, set: fn(&KernelEnums) -> &HashSet<String>| match (name, enums) {
            (None, _) => sec_view::Support::NotNeeded,
            (Some(n), Ok(e)) if set(e).contains(n) => sec_view::Support::Yes,
            (Some(_), Ok(_)) => sec_view::Support::No,
            (Some(_), Err(why)) => sec_view::Support::Unknown(why.clone()),
        };
    let extras_kind = secdef::extras_kind(def);
    let extras = def.extras(name);
    let target = match (extras_kind, extras) {
        (Some(kind), Some(extras)) if !extras.is_empty() => {
            match secdef::target_probe(kind, extras, syscall_prefix()) {
                Some(probe) => Some(check_target(ctx, probe)),
                None => Some(sec_view::Target {
                    probe: None,
                    found: None,
                    detail: "not checked: the target is outside this system's probe points".into(),
                }),
            }
        }
        _ => None,
    };
    let mut handler = secdef::handler(def);
    if let (Some(Extras::Tracepoint), Some(extras), Some(true)) =
        (extras_kind, extras, target.as_ref().and_then(|t| t.found))
    {
        if let Some(record) = vmlinux.and_then(|files| record_struct_name(ctx, files, extras)) {
            handler = format!("int handler(struct {record} *ctx)");
        }
    }
    sec_view::SecReport {
        name,
        pattern: def.pattern,
        index: position,
        prog_type,
        prog_type_supported: support(Some(&format!("BPF_PROG_TYPE_{}", def.prog_type)), |e| {
            &e.prog_types
        }),
        attach_type: def.attach_type,
        attach_type_supported: support(def.attach_type, |e| &e.attach_types),
        flags: def.flag_words(),
        context: info.map_or("unknown", |i| i.context),
        since: info.map_or("?", |i| i.since),
        handler,
        extras_format: extras_kind.map(|k| k.format()),
        extras,
        needs_extras: def.flags & secdef::F_ATTACH_BTF != 0,
        target,
        auto_attach: def.auto_attach,
        released: def.released,
    }
}

/// vmlinux.h's struct for a tracepoint's record (`trace_event_raw_<class>`,
/// or `syscall_trace_enter`), checked member by member against the live
/// format file; `None` when it cannot be found or does not agree.
fn record_struct_name(ctx: &Context, files: &btf::BtfFiles, extras: &str) -> Option<String> {
    let (category, event) = extras.split_once('/')?;
    let tracefs = ctx.system.tracefs().ok()?;
    let layout = crate::discover::tracepoints::layout(
        &tracefs,
        &crate::probe::TracepointId::new(category, event),
    )
    .ok()?;
    let vmlinux = btf::parse_vmlinux(files).ok()?;
    let record = crate::format::record_btf::record_struct(&vmlinux, category, event, &layout)?;
    record.agrees().then_some(record.name)
}

/// Runs `list PROBE` quietly: does the point exist here, and what did the
/// listing warn about (no kprobes in this kernel, unknown traceability).
pub(super) fn check_target(ctx: &Context, probe: String) -> sec_view::Target {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut io = Io {
        out: &mut out,
        err: &mut err,
    };
    let json = Context {
        system: ctx.system.clone(),
        snapshot_header: ctx.snapshot_header.clone(),
        kernel_label: ctx.kernel_label.clone(),
        process: None,
        json: false,
        demangle: false,
        style: ctx.style,
    };
    let result = list::run(&json, std::slice::from_ref(&probe), false, &mut io);
    let listed = String::from_utf8_lossy(&out).lines().count();
    let warnings: Vec<String> = String::from_utf8_lossy(&err)
        .lines()
        .map(|l| l.trim_start_matches("probedex: ").to_string())
        .collect();
    // Messages start with the probe, which the view prints already.
    let prefix = format!("{probe}: ");
    let own = |message: &str| message.strip_prefix(&prefix).unwrap_or(message).to_string();
    let (found, mut detail) = match result {
        Ok(Outcome::Matched) if listed == 1 => (Some(true), "exists here".to_string()),
        Ok(Outcome::Matched) => (Some(true), format!("{listed} points match")),
        Ok(Outcome::NothingMatched) => (Some(false), "does not exist here".to_string()),
        // Only `attach` refuses; `list` never does.
        Ok(Outcome::Refused) => (None, "cannot tell".to_string()),
        Err(RunError::Failed(e)) if e.status == crate::error::ExitStatus::NothingMatched => {
            (Some(false), own(&e.message))
        }
        Err(RunError::Failed(e)) => (None, format!("cannot tell: {}", own(&e.message))),
        Err(RunError::Output(e)) => (None, format!("cannot tell: {e}")),
    };
    for warning in warnings {
        detail.push_str("; ");
        detail.push_str(&warning);
    }
    sec_view::Target {
        probe: Some(probe),
        found,
        detail,
    }
}

/// `sec --for PROBE`: the SEC() names that reach a probe point.
fn for_probe_names(ctx: &Context, probe: &str, io: &mut Io<'_>) -> Result<Outcome, RunError> {
    let pattern = crate::probe::ProbePattern::parse(probe).map_err(Error::from)?;
    let Some(kind) = pattern.kind() else {
        return Err(Error::bad_input(format!(
            "{probe}: name the kind (tracepoint:CAT:NAME, kprobe:FUNC, ...)"
        ))
        .into());
    };
    let checked = check_target(ctx, probe.to_string());
    if checked.found == Some(false) {
        return Err(Error::nothing_matched(checked.detail).into());
    }
    let rest = probe.split_once(':').map_or("", |(_, r)| r);
    let choices = sec_view::names_for(kind, rest);
    sec_view::write_for(io.out, probe, &choices, ctx.json)?;
    Ok(Outcome::Matched)
}

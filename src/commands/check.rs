//! `probedex check OBJECT.bpf.o`: will this kernel take each program of a
//! compiled BPF object? For every program: SEC name → libbpf's program
//! type and attach type → does this kernel know them → does the target the
//! name gives exist here (and can this kind attach) → for tracepoint
//! programs whose context struct is in the object's BTF, do its members sit
//! where the live format file puts the fields.

use std::path::Path;

use serde::Serialize;

use super::sec::{check_target, kernel_enums, syscall_prefix, KernelEnums};
use super::{Context, Io, Outcome, RunError};
use crate::discover::bpf_object::{BpfObject, BpfProgram};
use crate::discover::tracepoints;
use crate::error::{Error, ExitStatus};
use crate::format::btf::{Btf, Kind, TypeId};
use crate::format::{btf_c, record_btf};
use crate::output::sec::Target;
use crate::output::text::printable;
use crate::probe::TracepointId;
use crate::secdef::{self, Extras};

/// A context member checked against the record.
#[derive(Debug, Serialize)]
struct FieldJson {
    field: String,
    member: Option<String>,
    format_offset: u64,
    format_size: u64,
    member_offset: Option<u64>,
    member_size: Option<u64>,
    agrees: bool,
}

#[derive(Debug, Serialize)]
struct ContextJson {
    #[serde(rename = "struct")]
    name: String,
    fields: Vec<FieldJson>,
    /// Members that name no field of the record (padding, or a typo).
    unmatched_members: Vec<String>,
}

/// The verdict on one program.
#[derive(Debug, Serialize)]
struct ProgramReport {
    name: String,
    section: String,
    prog_type: Option<String>,
    attach_type: Option<&'static str>,
    /// `ok`, `fail` (this kernel would not take it), or `unknown`.
    verdict: &'static str,
    problems: Vec<String>,
    notes: Vec<String>,
    target: Option<Target>,
    context: Option<ContextJson>,
}

#[derive(Debug, Serialize)]
struct ObjectReport<'a> {
    object: &'a str,
    /// `--snapshot`: the snapshot checked against (`FILE (Linux RELEASE)`);
    /// absent for the running kernel.
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<&'a str>,
    license: Option<&'a str>,
    maps: &'a [String],
    programs: &'a [ProgramReport],
    /// Programs that would fail on this kernel.
    failing: usize,
}

pub(super) fn run(ctx: &Context, path: &Path, io: &mut Io<'_>) -> Result<Outcome, RunError> {
    let failed = |e: crate::discover::DiscoverError| Error::from_discover(&e, ctx.system.is_live());
    let object = BpfObject::open(path).map_err(failed)?;
    let contents = object.contents().map_err(failed)?;
    let shown = path.display().to_string();
    if contents.programs.is_empty() {
        return Err(Error::nothing_matched(format!(
            "{shown}: no BPF programs (no global function in an executable section other than \
             .text)"
        ))
        .into());
    }
    let btf = match contents.btf.as_deref().map(|data| Btf::parse(data, None)) {
        Some(Ok(btf)) => Some(btf),
        Some(Err(e)) => {
            io.warn(&format!(
                "{shown}: .BTF is not readable ({e}); context structs are not checked"
            ));
            None
        }
        None => None,
    };
    let enums = match crate::discover::btf::read_vmlinux(&ctx.system) {
        Ok(files) => kernel_enums(&files),
        Err(e) => Err(e.to_string()),
    };
    let reports: Vec<ProgramReport> = contents
        .programs
        .iter()
        .map(|program| check_program(ctx, program, btf.as_ref(), &enums))
        .collect();
    let failing = reports.iter().filter(|r| r.verdict == "fail").count();
    if ctx.json {
        let report = ObjectReport {
            object: &shown,
            kernel: ctx.kernel_label.as_deref(),
            license: contents.license.as_deref(),
            maps: &contents.maps,
            programs: &reports,
            failing,
        };
        serde_json::to_writer(&mut *io.out, &report).map_err(std::io::Error::from)?;
        writeln!(io.out)?;
    } else {
        write_text(io, &shown, ctx.kernel_label.as_deref(), &contents, &reports)?;
    }
    if failing > 0 {
        return Err(Error::new(
            ExitStatus::NothingMatched,
            format!(
                "{shown}: {failing} of {} programs would fail on {}",
                reports.len(),
                ctx.kernel_words()
            ),
        )
        .into());
    }
    Ok(Outcome::Matched)
}

fn check_program(
    ctx: &Context,
    program: &BpfProgram,
    btf: Option<&Btf<'_>>,
    enums: &Result<KernelEnums, String>,
) -> ProgramReport {
    let mut report = ProgramReport {
        name: program.name.clone(),
        section: program.section.clone(),
        prog_type: None,
        attach_type: None,
        verdict: "ok",
        problems: Vec::new(),
        notes: Vec::new(),
        target: None,
        context: None,
    };
    let Some((_, def)) = secdef::find(&program.section) else {
        let nearest = secdef::nearest(&program.section);
        report.problems.push(format!(
            "libbpf cannot guess the program type from SEC(\"{}\"){}",
            program.section,
            if nearest.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", nearest.join(", "))
            }
        ));
        report.verdict = "fail";
        return report;
    };
    let prog_type = format!("BPF_PROG_TYPE_{}", def.prog_type);
    report.attach_type = def.attach_type;
    match enums {
        Ok(enums) => {
            if !enums.prog_types.contains(&prog_type) {
                report
                    .problems
                    .push(format!("{} has no {prog_type}", ctx.kernel_words()));
            }
            if let Some(attach) = def.attach_type.filter(|a| !enums.attach_types.contains(*a)) {
                report.problems.push(format!(
                    "{} has no attach type {attach}",
                    ctx.kernel_words()
                ));
            }
        }
        Err(why) => report
            .notes
            .push(format!("kernel support not checked: {why}")),
    }
    report.prog_type = Some(prog_type);
    let kind = secdef::extras_kind(def);
    let extras = def.extras(&program.section).filter(|e| !e.is_empty());
    if let (Some(kind), Some(extras)) = (kind, extras) {
        if let Some(probe) = secdef::target_probe(kind, extras, syscall_prefix()) {
            let target = check_target(ctx, probe.clone());
            // The listing's words already name the probe.
            let warnings = target
                .detail
                .split_once("; ")
                .map_or(target.detail.as_str(), |(_, w)| w)
                .trim_start_matches("warning: ");
            match target.found {
                Some(false) if target.detail.starts_with(&probe) => {
                    report.problems.push(target.detail.clone())
                }
                Some(false) => report.problems.push(format!("{probe}: {}", target.detail)),
                Some(true) if target.detail.contains("cannot attach") => report
                    .problems
                    .push(format!("{probe} exists, but {warnings}")),
                Some(true) => {}
                None => report.notes.push(format!("{probe}: {}", target.detail)),
            }
            if kind == Extras::Tracepoint && target.found == Some(true) {
                if let Some(btf) = btf {
                    report.context = check_context(
                        ctx,
                        btf,
                        program,
                        extras,
                        &mut report.problems,
                        &mut report.notes,
                    );
                }
            }
            report.target = Some(target);
        }
    } else if def.flags & secdef::F_ATTACH_BTF != 0 {
        report.notes.push(
            "no target in the SEC() name: the loader must call bpf_program__set_attach_target()"
                .into(),
        );
    }
    if !report.problems.is_empty() {
        report.verdict = "fail";
    } else if !report.notes.is_empty() && report.target.as_ref().is_some_and(|t| t.found.is_none())
    {
        report.verdict = "unknown";
    }
    report
}

/// The struct a program's first argument points to, from the object's BTF.
fn context_struct(btf: &Btf<'_>, program: &str) -> Option<TypeId> {
    let func = btf
        .own_types()
        .find(|t| t.kind == Kind::Func && t.name() == Some(program))?;
    let proto = btf.get(func.referenced()?)?;
    let first = proto.params().next()?;
    let pointer = btf.get(btf_c::resolve(btf, first.type_id))?;
    if pointer.kind != Kind::Ptr {
        return None;
    }
    let target = btf_c::resolve(btf, pointer.referenced()?);
    (btf.get(target)?.kind == Kind::Struct).then_some(target)
}

fn check_context(
    ctx: &Context,
    btf: &Btf<'_>,
    program: &BpfProgram,
    extras: &str,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<ContextJson> {
    let Some(id) = context_struct(btf, &program.name) else {
        notes.push(
            "the context is not a pointer to a struct in the object's BTF: layout not checked"
                .into(),
        );
        return None;
    };
    let (category, event) = extras.split_once('/')?;
    let tracefs = ctx.system.tracefs().ok()?;
    let layout = tracepoints::layout(&tracefs, &TracepointId::new(category, event)).ok()?;
    let (record, unmatched) = record_btf::check_given(btf, id, category == "syscalls", &layout);
    for field in record.fields.iter().filter(|f| !f.agrees()) {
        problems.push(format!(
            "{}: member {} is at offset {} ({} bytes); the record has {} at offset {} ({} bytes)",
            record.name,
            field.member.as_deref().unwrap_or("?"),
            field.btf_offset.map_or("?".into(), |o| o.to_string()),
            field.btf_size.map_or("?".into(), |o| o.to_string()),
            field.field,
            field.format_offset,
            field.format_size,
        ));
    }
    if record.fields.is_empty() {
        notes.push(format!(
            "{}: names none of the record's fields",
            record.name
        ));
    }
    Some(ContextJson {
        name: record.name.clone(),
        fields: record
            .fields
            .iter()
            .map(|f| FieldJson {
                field: f.field.clone(),
                member: f.member.clone(),
                format_offset: f.format_offset,
                format_size: f.format_size,
                member_offset: f.btf_offset,
                member_size: f.btf_size,
                agrees: f.agrees(),
            })
            .collect(),
        unmatched_members: unmatched,
    })
}

fn write_text(
    io: &mut Io<'_>,
    shown: &str,
    kernel: Option<&str>,
    contents: &crate::discover::bpf_object::ObjectContents<'_>,
    reports: &[ProgramReport],
) -> std::io::Result<()> {
    match kernel {
        Some(kernel) => writeln!(io.out, "{} against {}", printable(shown), printable(kernel))?,
        None => writeln!(io.out, "{}", printable(shown))?,
    }
    writeln!(
        io.out,
        "  license {}; maps: {}",
        contents.license.as_deref().map_or("none".into(), printable),
        if contents.maps.is_empty() {
            "none".to_string()
        } else {
            contents.maps.join(", ")
        }
    )?;
    for report in reports {
        writeln!(io.out)?;
        writeln!(
            io.out,
            "  {:<7} {}  SEC(\"{}\")  {}{}",
            report.verdict.to_uppercase(),
            printable(&report.name),
            printable(&report.section),
            report.prog_type.as_deref().unwrap_or("?"),
            report
                .attach_type
                .map_or(String::new(), |a| format!(" / {a}")),
        )?;
        if let Some(context) = &report.context {
            let agreeing = context.fields.iter().filter(|f| f.agrees).count();
            writeln!(
                io.out,
                "          context {}: {agreeing} of {} fields where the format file puts them",
                context.name,
                context.fields.len()
            )?;
            if !context.unmatched_members.is_empty() {
                writeln!(
                    io.out,
                    "          members that name no record field: {}",
                    context.unmatched_members.join(", ")
                )?;
            }
        }
        for problem in &report.problems {
            writeln!(io.out, "          problem: {}", printable(problem))?;
        }
        for note in &report.notes {
            writeln!(io.out, "          note: {}", printable(note))?;
        }
    }
    Ok(())
}

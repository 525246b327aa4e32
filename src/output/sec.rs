//! Views of `probedex sec`: one SEC() name explained, libbpf's whole table,
//! and the SEC() names that reach a probe point.

use std::io::{self, Write};

use serde::Serialize;

use super::text::printable;
use super::Style;
use crate::probe::ProbeKind;
use crate::secdef::{self, SecDef};

/// Whether the running kernel knows a program or attach type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    Yes,
    No,
    /// No type to check (libbpf sets no expected attach type).
    NotNeeded,
    /// Why it cannot be told (no BTF).
    Unknown(String),
}

impl Support {
    fn words(&self) -> String {
        match self {
            Support::Yes => "this kernel has it".into(),
            Support::No => "NOT in this kernel's BTF enums: the kernel cannot load it".into(),
            Support::NotNeeded => String::new(),
            Support::Unknown(why) => format!("unknown here ({why})"),
        }
    }
}

/// What the extras point at, checked on this system.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The probedex probe name checked (`kprobe:tcp_v4_connect`).
    pub probe: Option<String>,
    /// Whether it exists; null when that cannot be told.
    pub found: Option<bool>,
    pub detail: String,
}

/// Everything `sec NAME` says.
#[derive(Debug, Serialize)]
pub struct SecReport<'d> {
    pub name: &'d str,
    /// The libbpf table entry that matched (`kprobe+`).
    pub pattern: &'static str,
    /// Its index in libbpf's `section_defs[]`.
    pub index: usize,
    pub prog_type: String,
    pub prog_type_supported: Support,
    pub attach_type: Option<&'static str>,
    pub attach_type_supported: Support,
    pub flags: Vec<&'static str>,
    pub context: &'static str,
    /// The kernel release that introduced the program type.
    pub since: &'static str,
    pub handler: String,
    /// The form the extras take, for entries that take them.
    pub extras_format: Option<&'static str>,
    pub extras: Option<&'d str>,
    /// A BTF-attached type: without extras the load fails unless the
    /// program sets its target with bpf_program__set_attach_target().
    pub needs_extras: bool,
    pub target: Option<Target>,
    pub auto_attach: Option<&'static str>,
    /// In libbpf's v1.7.0 release (else only on its master branch).
    pub released: bool,
}

pub fn write_report(
    out: &mut dyn Write,
    report: &SecReport<'_>,
    json: bool,
    style: Style,
) -> io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, report)?;
        return writeln!(out);
    }
    writeln!(
        out,
        "{}",
        style.bold(&format!("SEC(\"{}\")", printable(report.name)))
    )?;
    writeln!(
        out,
        "  libbpf entry  {} (section_defs[{}]{})",
        report.pattern,
        report.index,
        if report.released {
            ""
        } else {
            "; libbpf master only, not in v1.7.0"
        }
    )?;
    writeln!(
        out,
        "  program type  {} (Linux {}+): {}",
        report.prog_type,
        report.since,
        report.prog_type_supported.words()
    )?;
    match report.attach_type {
        Some(attach) => writeln!(
            out,
            "  attach type   {attach}: {}",
            report.attach_type_supported.words()
        )?,
        None => writeln!(
            out,
            "  attach type   none (libbpf sets no expected attach type)"
        )?,
    }
    let flags = if report.flags.is_empty() {
        "none".to_string()
    } else {
        report.flags.join(", ")
    };
    writeln!(out, "  flags         {flags}")?;
    writeln!(out, "  context       {}", report.context)?;
    writeln!(out, "  handler       {}", report.handler)?;
    match (report.extras_format, report.extras) {
        (Some(format), Some(extras)) if !extras.is_empty() => {
            writeln!(out, "  extras        {} as {format}", printable(extras))?
        }
        (Some(format), _) if report.needs_extras => writeln!(
            out,
            "  extras        none: give {format}, or the load fails unless the program calls \
             bpf_program__set_attach_target()"
        )?,
        (Some(format), _) => writeln!(
            out,
            "  extras        none: libbpf cannot auto-attach; give {format} or attach by hand"
        )?,
        (None, _) => {}
    }
    if let Some(target) = &report.target {
        let verdict = match target.found {
            // The listing's warning says why (no CONFIG_KPROBES here).
            Some(true) if target.detail.contains("cannot attach") => "exists, CANNOT ATTACH",
            Some(true) => "ok",
            Some(false) => "MISSING",
            None => "unknown",
        };
        match &target.probe {
            Some(probe) => writeln!(
                out,
                "  target        {verdict}: {}: {}",
                printable(probe),
                printable(&target.detail)
            )?,
            None => writeln!(out, "  target        {}", printable(&target.detail))?,
        }
    }
    match report.auto_attach {
        Some(function) => writeln!(out, "  auto-attach   yes (libbpf's {function})")?,
        None => writeln!(
            out,
            "  auto-attach   no: attach with the program type's own API"
        )?,
    }
    Ok(())
}

/// One row of `sec --list --json`.
#[derive(Debug, Serialize)]
struct TableRow<'d> {
    index: usize,
    pattern: &'d str,
    rule: &'static str,
    prog_type: String,
    attach_type: Option<&'d str>,
    flags: Vec<&'static str>,
    auto_attach: Option<&'d str>,
    released: bool,
}

/// `sec --list`: libbpf's table in its order, the order that decides.
pub fn write_table(out: &mut dyn Write, defs: &[SecDef], json: bool) -> io::Result<()> {
    for (index, def) in defs.iter().enumerate() {
        let rule = if def.pattern.ends_with('+') {
            "name or name/extras"
        } else if def.pattern.ends_with('/') {
            "prefix"
        } else {
            "exact"
        };
        if json {
            let row = TableRow {
                index,
                pattern: def.pattern,
                rule,
                prog_type: format!("BPF_PROG_TYPE_{}", def.prog_type),
                attach_type: def.attach_type,
                flags: def.flag_words(),
                auto_attach: def.auto_attach,
                released: def.released,
            };
            serde_json::to_writer(&mut *out, &row)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:<3} {:<24} {:<24} {:<40} {}{}",
                index,
                def.pattern,
                def.prog_type,
                def.attach_type.unwrap_or("-"),
                def.flag_words().join(", "),
                if def.released { "" } else { " [master only]" }
            )?;
        }
    }
    Ok(())
}

/// A SEC() name that reaches a probe point, with its trade-off.
#[derive(Debug, Serialize)]
pub struct Choice {
    pub sec: String,
    pub why: &'static str,
}

/// The SEC() names for a probe of `kind` whose text after `KIND:` is `rest`.
pub fn names_for(kind: ProbeKind, rest: &str) -> Vec<Choice> {
    let choice = |sec: String, why| Choice { sec, why };
    match kind {
        ProbeKind::Tracepoint => {
            let (category, event) = rest.split_once(':').unwrap_or(("", rest));
            vec![
                choice(
                    format!("tracepoint/{category}/{event}"),
                    "the record as the format file lays it out; stable across kernels",
                ),
                choice(format!("tp/{category}/{event}"), "the same, shorter"),
                choice(
                    format!("raw_tp/{event}"),
                    "the tracepoint's C arguments (u64 each), before the record is built: cheaper; not for syscalls (use raw_syscalls)",
                ),
                choice(
                    format!("tp_btf/{event}"),
                    "the C arguments typed by BTF, read directly (5.5+): cheapest and CO-RE friendly",
                ),
            ]
        }
        ProbeKind::RawTracepoint => vec![
            choice(format!("raw_tp/{rest}"), "u64 arguments; works on 4.17+"),
            choice(format!("tp_btf/{rest}"), "BTF-typed arguments, direct reads (5.5+)"),
        ],
        ProbeKind::Kprobe => vec![
            choice(format!("kprobe/{rest}"), "any traceable function, any offset; needs CONFIG_KPROBES"),
            choice(format!("fentry/{rest}"), "BTF-typed arguments, lower overhead (5.5+); needs BTF and ftrace"),
            choice(format!("kprobe.multi/{rest}"), "many functions in one link (5.18+)"),
        ],
        ProbeKind::Kretprobe => vec![
            choice(format!("kretprobe/{rest}"), "the return value; needs CONFIG_KPROBES"),
            choice(format!("fexit/{rest}"), "arguments and the return value, typed (5.5+)"),
        ],
        ProbeKind::Fentry => vec![
            choice(format!("fentry/{rest}"), "BTF-typed arguments (5.5+)"),
            choice(format!("kprobe/{rest}"), "where BTF or ftrace cannot reach; needs CONFIG_KPROBES"),
        ],
        ProbeKind::Fexit => vec![
            choice(format!("fexit/{rest}"), "arguments and the return value (5.5+)"),
            choice(format!("kretprobe/{rest}"), "the return value only; needs CONFIG_KPROBES"),
        ],
        ProbeKind::Uprobe => vec![
            choice(format!("uprobe/{rest}"), "one function; auto-attach resolves the path"),
            choice(format!("uprobe.multi/{rest}"), "many functions in one link (6.6+)"),
        ],
        ProbeKind::Uretprobe => vec![choice(format!("uretprobe/{rest}"), "the return value")],
        ProbeKind::Usdt => vec![choice(
            format!("usdt/{rest}"),
            "libbpf reads the note and the arguments (BPF_USDT); it raises semaphores",
        )],
        _ => Vec::new(),
    }
    .into_iter()
    // Only names libbpf really has.
    .filter(|c| secdef::find(&c.sec).is_some())
    .collect()
}

pub fn write_for(
    out: &mut dyn Write,
    probe: &str,
    choices: &[Choice],
    json: bool,
) -> io::Result<()> {
    if json {
        #[derive(Serialize)]
        struct For<'a> {
            probe: &'a str,
            sections: &'a [Choice],
        }
        serde_json::to_writer(
            &mut *out,
            &For {
                probe,
                sections: choices,
            },
        )?;
        return writeln!(out);
    }
    writeln!(out, "{}", printable(probe))?;
    for choice in choices {
        writeln!(out, "  SEC(\"{}\")", printable(&choice.sec))?;
        writeln!(out, "      {}", choice.why)?;
    }
    Ok(())
}

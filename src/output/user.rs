//! Rich text views of user-space points (`show uprobe:...`, `show usdt:...`).

use std::io::{self, Write};

use super::text::printable;
use super::Style;
use crate::probe::ProbeKind;

/// What `show` knows about a user-space function.
#[derive(Debug)]
pub struct UserFunctionView<'a> {
    pub probe: &'a str,
    pub kind: ProbeKind,
    pub path: &'a str,
    pub name: &'a str,
    /// The C++/Rust demangled name, if the symbol is mangled.
    pub demangled: Option<&'a str>,
    pub address: u64,
    pub size: u64,
    pub file_offset: Option<u64>,
    pub ifunc: bool,
    pub params: ParamsView<'a>,
}

/// A user-space function's parameters, as far as DWARF tells.
#[derive(Debug, Clone, Copy)]
pub enum ParamsView<'a> {
    Known {
        return_type: &'a str,
        /// `(name, C type)` in order.
        params: &'a [(String, String)],
        inlined_only: bool,
        /// The file the DWARF came from.
        from: &'a str,
    },
    /// Why they are not known.
    Unknown(&'a str),
}

/// `list -v`: one `    TYPE NAME` line per parameter, as `bpftrace -lv`
/// prints a uprobe's DWARF arguments.
pub fn write_params_verbose(out: &mut dyn Write, params: &[(String, String)]) -> io::Result<()> {
    for (name, ty) in params {
        if name.is_empty() {
            writeln!(out, "    {}", printable(ty))?;
        } else {
            writeln!(out, "    {} {}", printable(ty), printable(name))?;
        }
    }
    Ok(())
}

/// `show uprobe:PATH:FUNC`: where the function is and how to attach.
pub fn write_user_function(
    out: &mut dyn Write,
    point: &UserFunctionView<'_>,
    style: Style,
) -> io::Result<()> {
    writeln!(out, "{}", style.bold(&printable(point.probe)))?;
    writeln!(out, "  file         {}", printable(point.path))?;
    writeln!(out, "  symbol       {}", printable(point.name))?;
    if let Some(demangled) = point.demangled {
        writeln!(out, "  demangled    {}", printable(demangled))?;
    }
    writeln!(
        out,
        "  address      {:#x} ({} bytes)",
        point.address, point.size
    )?;
    match point.file_offset {
        Some(offset) => writeln!(
            out,
            "  file offset  {offset:#x}   (what the kernel's uprobe API attaches to)"
        )?,
        None => writeln!(
            out,
            "  file offset  none: the address is in no PT_LOAD segment, so nothing can attach"
        )?,
    }
    if point.ifunc {
        writeln!(
            out,
            "  ifunc        an IFUNC resolver: it runs once when the symbol is bound, not on \
             every call; probe the implementation it picks instead"
        )?;
    }
    match point.params {
        ParamsView::Known {
            return_type,
            params,
            inlined_only,
            from,
        } => {
            writeln!(out, "  returns      {}", printable(return_type))?;
            if params.is_empty() {
                writeln!(out, "  arguments    none")?;
            }
            for (index, (name, ty)) in params.iter().enumerate() {
                let label = if index == 0 { "arguments" } else { "" };
                writeln!(out, "  {label:<12} {} {}", printable(ty), printable(name))?;
            }
            writeln!(out, "  debug info   {}", printable(from))?;
            if inlined_only {
                writeln!(
                    out,
                    "  inlined      no out-of-line copy starts here in the DWARF; these are the \
                     source's parameters, which the compiled code may not receive as arguments"
                )?;
            }
        }
        ParamsView::Unknown(why) => writeln!(
            out,
            "  arguments    not known: {} (arg0.. in bpftrace, PT_REGS_PARMn in libbpf)",
            printable(why)
        )?,
    }
    writeln!(out)?;
    let (section, handler) = match point.kind {
        ProbeKind::Uretprobe => ("uretprobe", "BPF_URETPROBE(handler, long ret)"),
        _ => ("uprobe", "BPF_UPROBE(handler)"),
    };
    writeln!(
        out,
        "  SEC(\"{section}/{}:{}\") int {handler}",
        printable(point.path),
        printable(point.name)
    )?;
    Ok(())
}

/// Why a `.bss` semaphore is worth a warning. The page holding it is the
/// last, partly file-backed page of the data segment; the kernel raises the
/// counter when that page is mapped, then the dynamic loader zeroes the
/// `.bss` part of the page. Measured on Linux 6.18 through uprobe_events: a
/// process already running when the probe was attached had the counter at
/// 1 and the probe fired; one started afterwards kept it at 0.
pub const BSS_SEMAPHORE: &str = "the semaphore is in .bss: a process started after the probe \
     is attached may have it cleared by the loader, so the guarded code may not run there \
     (processes already running are fine); declare it in .probes as dtrace -G does";

/// One USDT call site, for `show`.
#[derive(Debug)]
pub struct UsdtSiteView<'a> {
    pub address: u64,
    pub file_offset: Option<u64>,
    pub semaphore: u64,
    pub semaphore_offset: Option<u64>,
    pub semaphore_in_bss: bool,
    pub args_spec: &'a str,
    /// `(text, description, libbpf limitation)` per argument.
    pub args: Vec<(&'a str, String, Option<&'a str>)>,
    pub args_error: Option<&'a str>,
}

/// `show usdt:PATH:PROVIDER:NAME`: every site, with the addresses libbpf
/// and the kernel need and each argument's operand.
pub fn write_usdt(
    out: &mut dyn Write,
    probe: &str,
    path: &str,
    provider: &str,
    name: &str,
    sites: &[UsdtSiteView<'_>],
    style: Style,
) -> io::Result<()> {
    writeln!(out, "{}", style.bold(&printable(probe)))?;
    writeln!(out, "  file       {}", printable(path))?;
    writeln!(out, "  sites      {}", sites.len())?;
    let max_args = sites.iter().map(|s| s.args.len()).max().unwrap_or(0);
    for (index, site) in sites.iter().enumerate() {
        writeln!(out)?;
        let offset = site
            .file_offset
            .map_or("none (not in a PT_LOAD segment)".to_string(), |o| {
                format!("{o:#x}")
            });
        writeln!(
            out,
            "  site {index}     address {:#x}, file offset {offset}",
            site.address
        )?;
        if site.semaphore != 0 {
            let ref_ctr = site
                .semaphore_offset
                .map_or("not in a PT_LOAD segment".to_string(), |o| {
                    format!("{o:#x}")
                });
            writeln!(
                out,
                "             semaphore {:#x}, file offset {ref_ctr} (ref_ctr_offset: the kernel \
                 raises it while a uprobe is attached, so guarded code runs)",
                site.semaphore
            )?;
            if site.semaphore_in_bss {
                writeln!(out, "             {BSS_SEMAPHORE}")?;
            }
        }
        if let Some(error) = site.args_error {
            writeln!(
                out,
                "             args {}: {}",
                printable(site.args_spec),
                printable(error)
            )?;
        }
        for (n, (text, description, libbpf)) in site.args.iter().enumerate() {
            write!(
                out,
                "             arg{n}  {:<16} {}",
                printable(text),
                printable(description)
            )?;
            if let Some(why) = libbpf {
                write!(out, "; libbpf cannot read it: {}", printable(why))?;
            }
            writeln!(out)?;
        }
    }
    writeln!(out)?;
    if max_args > 12 {
        writeln!(
            out,
            "  libbpf reads at most 12 USDT arguments; this probe has {max_args}"
        )?;
    }
    let args: Vec<String> = (0..max_args.min(12))
        .map(|n| format!("long arg{n}"))
        .collect();
    let mut handler = vec!["handler".to_string()];
    handler.extend(args);
    writeln!(
        out,
        "  SEC(\"usdt/{}:{}:{}\") int BPF_USDT({})",
        printable(path),
        printable(provider),
        printable(name),
        handler.join(", ")
    )?;
    Ok(())
}

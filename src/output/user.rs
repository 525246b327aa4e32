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
    pub address: u64,
    pub size: u64,
    pub file_offset: Option<u64>,
    pub ifunc: bool,
}

/// `show uprobe:PATH:FUNC`: where the function is and how to attach.
pub fn write_user_function(
    out: &mut dyn Write,
    point: &UserFunctionView<'_>,
    style: Style,
) -> io::Result<()> {
    writeln!(out, "{}", style.bold(&printable(point.probe)))?;
    writeln!(out, "  file         {}", printable(point.path))?;
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
    writeln!(
        out,
        "  arguments    not known: DWARF is not read yet (arg0.. in bpftrace, PT_REGS_PARMn in libbpf)"
    )?;
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

/// One USDT call site, for `show`.
#[derive(Debug)]
pub struct UsdtSiteView<'a> {
    pub address: u64,
    pub file_offset: Option<u64>,
    pub semaphore: u64,
    pub semaphore_offset: Option<u64>,
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

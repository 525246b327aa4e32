//! Rich text views of kernel functions, raw tracepoints and BTF types
//! (`show fentry:vfs_read`, `show struct:task_struct`).

use std::io::{self, Write};

use super::text::printable;
use super::Style;
use crate::format::btf::{Btf, Kind, TypeId};
use crate::format::btf_c::{self, Signature};
use crate::probe::ProbeKind;

/// What `show` knows about a kernel function or raw tracepoint.
#[derive(Debug)]
pub struct FunctionView<'a> {
    pub probe: &'a str,
    pub kind: ProbeKind,
    pub module: &'a str,
    pub name: &'a str,
    /// Empty when BTF does not describe it.
    pub btf_path: &'a str,
    pub btf_id: Option<TypeId>,
    pub signature: Option<&'a Signature>,
    /// Extra facts, one line each (traceability, clones, ...).
    pub notes: &'a [String],
}

pub fn write_function(
    out: &mut dyn Write,
    view: &FunctionView<'_>,
    style: Style,
) -> io::Result<()> {
    writeln!(out, "{}", style.bold(&printable(view.probe)))?;
    writeln!(out, "  module     {}", printable(view.module))?;
    if let Some(id) = view.btf_id {
        writeln!(
            out,
            "  btf        {} (type id {id})",
            printable(view.btf_path)
        )?;
    }
    let Some(signature) = view.signature else {
        for note in view.notes {
            writeln!(out, "  {}", printable(note))?;
        }
        return Ok(());
    };
    let what = if view.kind == ProbeKind::RawTracepoint {
        "arguments"
    } else {
        "signature"
    };
    let shown = if view.kind == ProbeKind::RawTracepoint {
        format!("void {}({})", view.name, arg_list(signature))
    } else {
        signature.c_prototype(view.name)
    };
    writeln!(out, "  {what:<9}  {}", printable(&shown))?;
    for note in view.notes {
        writeln!(out, "  {}", printable(note))?;
    }
    writeln!(out)?;

    let receives_args = view.kind != ProbeKind::Kretprobe;
    let receives_ret = matches!(view.kind, ProbeKind::Fexit | ProbeKind::Kretprobe)
        && signature.return_type != "void";
    let name_width = signature
        .params
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let type_width = signature
        .params
        .iter()
        .map(|a| a.type_name.len())
        .chain([signature.return_type.len(), 4])
        .max()
        .unwrap_or(4);
    let has_rows =
        (receives_args && (!signature.params.is_empty() || signature.varargs)) || receives_ret;
    if has_rows {
        writeln!(
            out,
            "  {}",
            style.bold(&format!(
                "{:<5} {:<name_width$}  {:<type_width$}  {:>4}",
                "ARG", "NAME", "TYPE", "SIZE"
            ))
        )?;
    } else {
        writeln!(out, "  (no arguments)")?;
    }
    let size = |s: Option<u64>| s.map_or("?".to_string(), |n| n.to_string());
    if receives_args {
        for (index, arg) in signature.params.iter().enumerate() {
            let register = match view.kind {
                // bpftrace names kprobe arguments by position.
                ProbeKind::Kprobe => format!("arg{index}"),
                _ => index.to_string(),
            };
            writeln!(
                out,
                "  {register:<5} {:<name_width$}  {:<type_width$}  {:>4}",
                printable(&arg.name),
                printable(&arg.type_name),
                size(arg.size)
            )?;
        }
        if signature.varargs {
            writeln!(out, "  {:<5} ...", "")?;
        }
    }
    if receives_ret {
        writeln!(
            out,
            "  {:<5} {:<name_width$}  {:<type_width$}  {:>4}",
            "ret",
            "retval",
            printable(&signature.return_type),
            size(signature.return_size)
        )?;
    }
    writeln!(out)?;
    for line in sec_lines(view, signature) {
        writeln!(out, "  {}", printable(&line))?;
    }
    Ok(())
}

/// The arguments as C declarations, for a prototype (`...` kept).
fn arg_list(signature: &Signature) -> String {
    let mut args: Vec<&str> = signature
        .params
        .iter()
        .map(|a| a.declaration.as_str())
        .collect();
    if signature.varargs {
        args.push("...");
    }
    args.join(", ")
}

/// How a libbpf program declares this point: the SEC() line and handler.
/// The handler macros name each argument, so a varargs function's `...`
/// has no place there (and fentry cannot attach to one anyway).
fn sec_lines(view: &FunctionView<'_>, signature: &Signature) -> Vec<String> {
    let mut args: Vec<String> = signature
        .params
        .iter()
        .map(|a| a.declaration.clone())
        .collect();
    let ret = (signature.return_type != "void").then(|| {
        if signature.return_type.ends_with('*') {
            format!("{}ret", signature.return_type)
        } else {
            format!("{} ret", signature.return_type)
        }
    });
    let handler = |macro_name: &str, args: &[String]| {
        let mut all = vec!["handler".to_string()];
        all.extend(args.iter().cloned());
        format!("{macro_name}({})", all.join(", "))
    };
    let name = view.name;
    match view.kind {
        ProbeKind::Fentry => vec![format!(
            "SEC(\"fentry/{name}\") int {}",
            handler("BPF_PROG", &args)
        )],
        ProbeKind::Fexit => {
            args.extend(ret);
            vec![format!(
                "SEC(\"fexit/{name}\") int {}",
                handler("BPF_PROG", &args)
            )]
        }
        ProbeKind::RawTracepoint => vec![
            format!("SEC(\"tp_btf/{name}\") int {}", handler("BPF_PROG", &args)),
            format!("SEC(\"raw_tp/{name}\") int {}", handler("BPF_PROG", &args)),
        ],
        ProbeKind::Kprobe => vec![format!(
            "SEC(\"kprobe/{name}\") int {}",
            handler("BPF_KPROBE", &args)
        )],
        ProbeKind::Kretprobe => vec![format!(
            "SEC(\"kretprobe/{name}\") int {}",
            handler("BPF_KRETPROBE", &ret.into_iter().collect::<Vec<_>>())
        )],
        _ => Vec::new(),
    }
}

/// `show struct:NAME`: members with offsets and sizes, like pahole;
/// anonymous struct and union members are expanded in place.
pub fn write_type(
    out: &mut dyn Write,
    btf: &Btf<'_>,
    id: TypeId,
    module: &str,
    style: Style,
) -> io::Result<()> {
    let Some(t) = btf.get(id) else {
        return Ok(());
    };
    let title = btf_c::type_name(btf, id);
    match t.size() {
        Some(size) => writeln!(
            out,
            "{}  ({module}, type id {id}, {size} bytes)",
            style.bold(&printable(&title))
        )?,
        None => writeln!(
            out,
            "{}  ({module}, type id {id})",
            style.bold(&printable(&title))
        )?,
    }
    if matches!(t.kind, Kind::Enum | Kind::Enum64) {
        for (name, value) in t.enumerators() {
            writeln!(
                out,
                "  {:<40} = {value}",
                printable(name.unwrap_or("<anon>"))
            )?;
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    member_rows(btf, id, 0, 0, &mut rows);
    let type_width = rows
        .iter()
        .map(|r| r.type_text.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "{:>8} {:>6}  {:<type_width$}  NAME",
            "OFFSET", "SIZE", "TYPE"
        ))
    )?;
    for row in rows {
        let line = format!(
            "  {:>8} {:>6}  {:<type_width$}  {}{}",
            row.offset,
            row.size,
            printable(&row.type_text),
            "  ".repeat(row.depth),
            printable(&row.name)
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

struct MemberRow {
    offset: String,
    size: String,
    type_text: String,
    name: String,
    depth: usize,
}

fn member_rows(btf: &Btf<'_>, id: TypeId, base_bits: u64, depth: usize, rows: &mut Vec<MemberRow>) {
    let Some(t) = btf.get(id) else { return };
    if depth > 16 {
        return;
    }
    for member in t.members() {
        let bits = base_bits + u64::from(member.bit_offset);
        let resolved = btf.get(btf_c::resolve(btf, member.type_id));
        let anonymous_aggregate = member.name.is_none()
            && resolved.is_some_and(|r| matches!(r.kind, Kind::Struct | Kind::Union));
        let (offset, size) = if member.bitfield_size > 0 {
            (
                format!("{}:{}", bits / 8, bits % 8),
                format!("{}b", member.bitfield_size),
            )
        } else {
            (
                (bits / 8).to_string(),
                btf_c::size_of(btf, member.type_id).map_or("?".into(), |s| s.to_string()),
            )
        };
        rows.push(MemberRow {
            offset,
            size,
            type_text: btf_c::type_name(btf, member.type_id),
            name: member.name.unwrap_or("").to_string(),
            depth,
        });
        if anonymous_aggregate {
            member_rows(
                btf,
                btf_c::resolve(btf, member.type_id),
                bits,
                depth + 1,
                rows,
            );
        }
    }
}

//! `probedex gen`: a ready-to-compile libbpf program for one probe point.
//!
//! Every program has the same shape: includes, the context (for a
//! tracepoint, the exact struct `show --emit c` writes), a `struct event`
//! with one member per field or argument, a ring buffer `events`, and a
//! handler that reserves an event, fills it and submits it.
//!
//! The event's layout is computed here, member by member under natural
//! alignment, printed as `_Static_assert`s in the source (so clang checks
//! the layout this module claims) and, with `--json`, as data a reader of
//! the ring buffer can use.

use std::fmt::Write as _;

use serde::Serialize;

use super::c::{self, EmitError};
use crate::format::btf_c::Signature;
use crate::format::ctype::{fixed_width_name, is_pointer};
use crate::format::event::{DynamicKind, Field, Storage, TracepointLayout};
use crate::probe::{ProbeKind, TracepointId};

/// Bytes kept of each string (user strings, `__data_loc` strings).
pub const STRING_BYTES: u64 = 256;

/// The event pointer's name in the handler; starts with `__` so no
/// argument's name can clash with it.
const EV: &str = "__ev";

/// One `struct event` member and how the handler fills it.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// The element type: `__u64`, `__s32`, `char`.
    pub c_type: String,
    /// `Some(n)` for an array of `n` elements.
    pub array: Option<u64>,
    pub size: u64,
    pub align: u64,
    /// The C statement(s) that fill it, using `__ev`.
    pub fill: String,
    pub comment: Option<String>,
}

impl Member {
    fn scalar(name: &str, size: u64, signed: bool, value: String, comment: Option<String>) -> Self {
        let c_type = fixed_width_name(size, signed)
            .unwrap_or("__u64")
            .to_string();
        Member {
            name: name.to_string(),
            c_type,
            array: None,
            size,
            align: size,
            fill: format!("{EV}->{name} = {value};"),
            comment,
        }
    }

    fn u64_of(name: &str, expr: &str, comment: Option<String>) -> Self {
        Member::scalar(name, 8, false, format!("(__u64){expr}"), comment)
    }

    fn bytes(name: &str, c_type: &str, len: u64, fill: String, comment: Option<String>) -> Self {
        Member {
            name: name.to_string(),
            c_type: c_type.to_string(),
            array: Some(len),
            size: len,
            align: 1,
            fill,
            comment,
        }
    }
}

/// Everything a generated program is made of.
#[derive(Debug, Clone)]
pub struct Program {
    pub probe: String,
    pub sec: String,
    /// `#include` lines, in order.
    pub includes: Vec<String>,
    /// C text between the includes and `struct event`: the context struct,
    /// compatibility macros.
    pub preamble: String,
    /// `int handle(struct x *ctx)` or `int BPF_PROG(handle, ...)`.
    pub head: String,
    pub members: Vec<Member>,
    /// Comment lines at the top of the file.
    pub notes: Vec<String>,
}

/// One member's place in `struct event`, for `--json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    #[serde(rename = "type")]
    pub c_type: String,
    pub offset: u64,
    pub size: u64,
}

/// The program's text and the layout of its event.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub probe: String,
    pub sec: String,
    pub event_size: u64,
    pub event: Vec<Slot>,
    pub source: String,
}

fn align_up(n: u64, align: u64) -> u64 {
    n.div_ceil(align.max(1)) * align.max(1)
}

/// Lays out the event and writes the program.
pub fn render(program: &Program) -> Generated {
    // An event with nothing to record still says that the point fired.
    let none = [Member::scalar(
        "__none",
        1,
        false,
        "0".into(),
        Some("nothing to record: the event says the point fired".into()),
    )];
    let members: &[Member] = if program.members.is_empty() {
        &none
    } else {
        &program.members
    };
    let mut slots = Vec::new();
    let mut cursor = 0u64;
    let mut max_align = 1u64;
    for m in members {
        let offset = align_up(cursor, m.align);
        let c_type = match m.array {
            Some(n) => format!("{}[{n}]", m.c_type),
            None => m.c_type.clone(),
        };
        slots.push(Slot {
            name: m.name.clone(),
            c_type,
            offset,
            size: m.size,
        });
        cursor = offset + m.size;
        max_align = max_align.max(m.align);
    }
    let event_size = align_up(cursor, max_align);

    let mut s = String::new();
    let _ = writeln!(s, "// SPDX-License-Identifier: GPL-2.0");
    let _ = writeln!(s, "/*");
    let _ = writeln!(s, " * {} — written by probedex gen", program.probe);
    for note in &program.notes {
        let _ = writeln!(s, " * {}", note.replace("*/", "* /"));
    }
    let _ = writeln!(s, " */");
    for include in &program.includes {
        let _ = writeln!(s, "#include {include}");
    }
    let _ = writeln!(s);
    if !program.preamble.is_empty() {
        let _ = writeln!(s, "{}", program.preamble.trim_end());
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "struct event {{");
    for m in members {
        let decl = match m.array {
            Some(n) => format!("{} {}[{n}];", m.c_type, m.name),
            None => format!("{} {};", m.c_type, m.name),
        };
        match &m.comment {
            Some(c) => {
                let _ = writeln!(s, "\t{decl} /* {} */", c.replace("*/", "* /"));
            }
            None => {
                let _ = writeln!(s, "\t{decl}");
            }
        }
    }
    let _ = writeln!(s, "}};");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "/* The layout `probedex gen --json` reports; clang checks it. */"
    );
    let _ = writeln!(
        s,
        "_Static_assert(sizeof(struct event) == {event_size}, \"struct event size\");"
    );
    for slot in &slots {
        let _ = writeln!(
            s,
            "_Static_assert(__builtin_offsetof(struct event, {}) == {}, \"{} offset\");",
            slot.name, slot.offset, slot.name
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "struct {{");
    let _ = writeln!(s, "\t__uint(type, BPF_MAP_TYPE_RINGBUF);");
    let _ = writeln!(s, "\t__uint(max_entries, 256 * 1024);");
    let _ = writeln!(s, "}} events SEC(\".maps\");");
    let _ = writeln!(s);
    let _ = writeln!(s, "SEC(\"{}\")", program.sec);
    let _ = writeln!(s, "{}", program.head);
    let _ = writeln!(s, "{{");
    let _ = writeln!(s, "\tstruct event *{EV};");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "\t{EV} = bpf_ringbuf_reserve(&events, sizeof(*{EV}), 0);"
    );
    let _ = writeln!(s, "\tif (!{EV})");
    let _ = writeln!(s, "\t\treturn 0;");
    for m in members {
        for line in m.fill.lines() {
            let _ = writeln!(s, "\t{line}");
        }
    }
    let _ = writeln!(s, "\tbpf_ringbuf_submit({EV}, 0);");
    let _ = writeln!(s, "\treturn 0;");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
    let _ = writeln!(s, "char LICENSE[] SEC(\"license\") = \"GPL\";");

    Generated {
        probe: program.probe.clone(),
        sec: program.sec.clone(),
        event_size,
        event: slots,
        source: s,
    }
}

const COMPILE_PLAIN: &str =
    "build: clang -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(uname -m)-linux-gnu -g -O2 -c FILE.bpf.c";
const COMPILE_VMLINUX: &str =
    "build: bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h; clang -target bpf -D__TARGET_ARCH_x86 -g -O2 -c FILE.bpf.c";

fn vmlinux_includes(usdt: bool) -> Vec<String> {
    let mut v = vec![
        "\"vmlinux.h\"".to_string(),
        "<bpf/bpf_helpers.h>".to_string(),
        "<bpf/bpf_tracing.h>".to_string(),
        "<bpf/bpf_core_read.h>".to_string(),
    ];
    if usdt {
        v.push("<bpf/usdt.bpf.h>".to_string());
    }
    v
}

fn is_char(c_type: &str) -> bool {
    let words: Vec<&str> = c_type
        .split(|c: char| c.is_whitespace() || c == '*')
        .filter(|w| !w.is_empty() && *w != "const" && *w != "volatile")
        .collect();
    matches!(
        words.as_slice(),
        ["char"] | ["signed", "char"] | ["unsigned", "char"]
    )
}

/// The program for a tracepoint: the `--emit c` struct as the context.
pub fn tracepoint(
    id: &TracepointId,
    layout: &TracepointLayout,
    source: &str,
) -> Result<Program, EmitError> {
    let context = c::c_struct(id, layout, source)?;
    let ctx_name = c::struct_name(id);
    let user_strings = id.category == "syscalls";
    let members = layout
        .event_fields()
        .filter_map(|f| tracepoint_member(f, user_strings))
        .collect();
    let mut notes = vec![
        format!("context: the record as {source} lays it out (probedex show --emit c)"),
        COMPILE_PLAIN.to_string(),
    ];
    if user_strings {
        notes.push(
            "syscall arguments that are `const char *` point into user memory: read with \
             bpf_probe_read_user_str"
                .into(),
        );
    }
    Ok(Program {
        probe: id.probe_name(),
        sec: format!("tracepoint/{}/{}", id.category, id.event),
        includes: vec![
            "<linux/types.h>".into(),
            "<linux/bpf.h>".into(),
            "<bpf/bpf_helpers.h>".into(),
            "<bpf/bpf_core_read.h>".into(),
        ],
        preamble: context,
        head: format!("int handle(struct {ctx_name} *ctx)"),
        members,
        notes,
    })
}

fn tracepoint_member(field: &Field, user_strings: bool) -> Option<Member> {
    let name = field.name.as_str();
    let declared = Some(field.decl.clone());
    match &field.storage {
        Storage::Dynamic { kind, .. } if field.size == 4 && is_char(&field.c_type) => {
            let at = match kind {
                DynamicKind::DataLoc => format!("(void *)ctx + (ctx->{name} & 0xffff)"),
                DynamicKind::RelLoc => {
                    format!("(void *)&ctx->{name} + sizeof(ctx->{name}) + (ctx->{name} & 0xffff)")
                }
            };
            Some(Member::bytes(
                name,
                "char",
                STRING_BYTES,
                format!("bpf_probe_read_kernel_str({EV}->{name}, sizeof({EV}->{name}), {at});"),
                declared,
            ))
        }
        // A dynamic array of something else: its locator word.
        Storage::Dynamic { .. } if field.size == 4 => Some(Member::scalar(
            name,
            4,
            false,
            format!("ctx->{name}"),
            Some(format!(
                "{}: offset (& 0xffff) and length (>> 16)",
                field.decl
            )),
        )),
        Storage::Dynamic { .. } => None,
        Storage::Scalar if is_pointer(&field.c_type) => {
            if user_strings && is_char(&field.c_type) {
                Some(Member::bytes(
                    name,
                    "char",
                    STRING_BYTES,
                    format!(
                        "bpf_probe_read_user_str({EV}->{name}, sizeof({EV}->{name}), (const void *)ctx->{name});"
                    ),
                    Some(format!("{}: a user string", field.decl)),
                ))
            } else {
                Some(Member::u64_of(name, &format!("ctx->{name}"), declared))
            }
        }
        Storage::Scalar if matches!(field.size, 1 | 2 | 4 | 8) => Some(Member::scalar(
            name,
            field.size,
            field.signed.unwrap_or(false),
            format!("ctx->{name}"),
            declared,
        )),
        // Flexible arrays hold nothing in the fixed part.
        _ if field.size == 0 => None,
        _ => {
            let elem = if matches!(field.storage, Storage::Array(_)) && is_char(&field.c_type) {
                "char"
            } else {
                "__u8"
            };
            Some(Member::bytes(
                name,
                elem,
                field.size,
                format!("bpf_probe_read_kernel({EV}->{name}, sizeof({EV}->{name}), &ctx->{name});"),
                declared,
            ))
        }
    }
}

/// Each argument as its declaration for the handler macro and the event
/// member recording it (none for a struct or union passed by value), plus
/// notes on what is not recorded.
fn typed_args(signature: &Signature) -> (Vec<(String, Option<Member>)>, Vec<String>) {
    let mut args = Vec::new();
    let mut notes = Vec::new();
    for (i, arg) in signature.params.iter().enumerate() {
        let mut name = if arg.name.is_empty() {
            format!("arg{i}")
        } else {
            arg.name.clone()
        };
        let mut decl = arg.declaration.clone();
        // BPF_PROG and friends name their own context `ctx`.
        if name == "ctx" {
            name = "ctx_".into();
            decl = rename_last(&decl, "ctx", &name);
        }
        let by_value = !is_pointer(&arg.type_name)
            && (arg.type_name.starts_with("struct ") || arg.type_name.starts_with("union "));
        let member = if by_value {
            notes.push(format!(
                "{name}: a {} passed by value is not recorded",
                arg.type_name
            ));
            None
        } else {
            Some(Member::u64_of(&name, &name, Some(arg.declaration.clone())))
        };
        args.push((decl, member));
    }
    (args, notes)
}

fn rename_last(decl: &str, old: &str, new: &str) -> String {
    match decl.rfind(old) {
        Some(at) => format!("{}{new}{}", &decl[..at], &decl[at + old.len()..]),
        None => decl.to_string(),
    }
}

fn ret_decl(signature: &Signature) -> Option<String> {
    let ty = &signature.return_type;
    (ty != "void").then(|| {
        if ty.ends_with('*') {
            format!("{ty}ret")
        } else {
            format!("{ty} ret")
        }
    })
}

/// BPF_KPROBE can name this many arguments on x86-64 (PT_REGS_PARM1..5).
const KPROBE_ARGS: usize = 5;

/// The program for a kernel function or raw tracepoint, typed by BTF.
pub fn kernel(kind: ProbeKind, probe: &str, name: &str, signature: &Signature) -> Program {
    let (mut typed, mut notes) = typed_args(signature);
    notes.insert(0, COMPILE_VMLINUX.to_string());
    let (sec, macro_name) = match kind {
        ProbeKind::RawTracepoint => (format!("tp_btf/{name}"), "BPF_PROG"),
        ProbeKind::Fentry => (format!("fentry/{name}"), "BPF_PROG"),
        ProbeKind::Fexit => (format!("fexit/{name}"), "BPF_PROG"),
        ProbeKind::Kprobe => (format!("kprobe/{name}"), "BPF_KPROBE"),
        _ => (format!("kretprobe/{name}"), "BPF_KRETPROBE"),
    };
    match kind {
        ProbeKind::Kprobe if typed.len() > KPROBE_ARGS => {
            notes.push(format!(
                "BPF_KPROBE names at most {KPROBE_ARGS} arguments; the rest are not recorded"
            ));
            typed.truncate(KPROBE_ARGS);
        }
        ProbeKind::Fexit | ProbeKind::Kretprobe => {
            if kind == ProbeKind::Kretprobe {
                typed.clear();
            }
            if let Some(ret) = ret_decl(signature) {
                let member = Member::u64_of("ret", "ret", Some(ret.clone()));
                typed.push((ret, Some(member)));
            }
        }
        _ => {}
    }
    let mut args = vec!["handle".to_string()];
    let mut members = Vec::new();
    for (decl, member) in typed {
        args.push(decl);
        members.extend(member);
    }
    Program {
        probe: probe.to_string(),
        sec,
        includes: vmlinux_includes(false),
        preamble: String::new(),
        head: format!("int {macro_name}({})", args.join(", ")),
        members,
        notes,
    }
}

/// The program for a uprobe or uretprobe: `long` arguments, DWARF types
/// (when known) in comments.
pub fn user(
    kind: ProbeKind,
    probe: &str,
    path: &str,
    name: &str,
    params: Option<&[(String, String)]>,
) -> Program {
    let mut notes = vec![COMPILE_VMLINUX.to_string()];
    let preamble = "/* BPF_UPROBE and BPF_URETPROBE arrived in libbpf 1.2; older headers spell them BPF_KPROBE. */\n\
                    #ifndef BPF_UPROBE\n#define BPF_UPROBE BPF_KPROBE\n#endif\n\
                    #ifndef BPF_URETPROBE\n#define BPF_URETPROBE BPF_KRETPROBE\n#endif\n"
        .to_string();
    let mut args = vec!["handle".to_string()];
    let mut members = Vec::new();
    let (sec, macro_name) = if kind == ProbeKind::Uretprobe {
        args.push("long ret".into());
        members.push(Member::u64_of("ret", "ret", None));
        (format!("uretprobe/{path}:{name}"), "BPF_URETPROBE")
    } else {
        match params {
            Some(params) => {
                for (i, (pname, ty)) in params.iter().enumerate().take(KPROBE_ARGS) {
                    let arg = format!("arg{i}");
                    let what = if pname.is_empty() {
                        ty.clone()
                    } else {
                        format!("{ty} {pname}")
                    };
                    args.push(format!("long {arg} /* {} */", what.replace("*/", "* /")));
                    members.push(Member::u64_of(&arg, &arg, Some(format!("DWARF: {what}"))));
                }
                if params.len() > KPROBE_ARGS {
                    notes.push(format!(
                        "only the first {KPROBE_ARGS} arguments are in registers BPF_UPROBE names"
                    ));
                }
            }
            None => notes.push("no DWARF parameters known: no arguments recorded".into()),
        }
        (format!("uprobe/{path}:{name}"), "BPF_UPROBE")
    };
    Program {
        probe: probe.to_string(),
        sec,
        includes: vmlinux_includes(false),
        preamble,
        head: format!("int {macro_name}({})", args.join(", ")),
        members,
        notes,
    }
}

/// The program for a USDT probe: one `long` per argument of its first site.
pub fn usdt(
    probe: &str,
    path: &str,
    provider: &str,
    name: &str,
    arg_sizes: &[(u8, bool)],
) -> Program {
    let mut args = vec!["handle".to_string()];
    let mut members = Vec::new();
    for (i, &(size, signed)) in arg_sizes.iter().enumerate() {
        let arg = format!("arg{i}");
        args.push(format!("long {arg}"));
        let sign = if signed { "signed" } else { "unsigned" };
        members.push(Member::u64_of(
            &arg,
            &arg,
            Some(format!("{sign}, {size} bytes at the probe site")),
        ));
    }
    Program {
        probe: probe.to_string(),
        sec: format!("usdt/{path}:{provider}:{name}"),
        includes: vmlinux_includes(true),
        preamble: String::new(),
        head: format!("int BPF_USDT({})", args.join(", ")),
        members,
        notes: vec![
            COMPILE_VMLINUX.to_string(),
            "usdt.bpf.h must come from the libbpf that loads this program: the two share \
             the layout of the argument specs (it changed after libbpf 1.1)"
                .to_string(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::event::parse_format;

    // From 6.18's events/syscalls/sys_enter_fchmodat/format.
    const FCHMODAT: &str = "name: sys_enter_fchmodat\nID: 700\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:umode_t mode;\toffset:32;\tsize:8;\tsigned:0;\n\nprint fmt: \"\"\n";

    #[test]
    fn syscall_strings_are_user_reads_and_layout_is_natural() {
        let layout = parse_format(FCHMODAT).unwrap();
        let id = TracepointId::new("syscalls", "sys_enter_fchmodat");
        let generated = render(&tracepoint(&id, &layout, "format").unwrap());
        let src = &generated.source;
        assert!(
            src.contains("SEC(\"tracepoint/syscalls/sys_enter_fchmodat\")"),
            "{src}"
        );
        assert!(
            src.contains("int handle(struct tp_syscalls__sys_enter_fchmodat *ctx)"),
            "{src}"
        );
        assert!(
            src.contains("bpf_probe_read_user_str(__ev->filename"),
            "{src}"
        );
        let names: Vec<(&str, u64, u64)> = generated
            .event
            .iter()
            .map(|s| (s.name.as_str(), s.offset, s.size))
            .collect();
        assert_eq!(
            names,
            [
                ("__syscall_nr", 0, 4),
                ("dfd", 8, 8),
                ("filename", 16, 256),
                ("mode", 272, 8)
            ]
        );
        assert_eq!(generated.event_size, 280);
    }

    #[test]
    fn data_loc_strings_are_kernel_reads() {
        let text = "name: e\nID: 7\nformat:\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;\n\nprint fmt: \"\"\n";
        let layout = parse_format(text).unwrap();
        let g = render(&tracepoint(&TracepointId::new("sched", "e"), &layout, "f").unwrap());
        assert!(g.source.contains("bpf_probe_read_kernel_str(__ev->filename, sizeof(__ev->filename), (void *)ctx + (ctx->filename & 0xffff));"), "{}", g.source);
        assert!(g.source.contains("__s32 pid;"), "{}", g.source);
        assert!(g.source.contains("char comm[16];"), "{}", g.source);
        assert!(
            g.source.contains("bpf_probe_read_kernel(__ev->comm"),
            "{}",
            g.source
        );
    }

    #[test]
    fn kernel_handlers_use_the_right_macros() {
        use crate::format::btf_c::Arg;
        let arg = |name: &str, ty: &str, decl: &str| Arg {
            name: name.into(),
            type_name: ty.into(),
            declaration: decl.into(),
            type_id: 0,
            size: Some(8),
        };
        let signature = Signature {
            return_type: "ssize_t".into(),
            return_type_id: 0,
            return_size: Some(8),
            params: vec![
                arg("file", "struct file *", "struct file *file"),
                arg("ctx", "void *", "void *ctx"),
                arg("w", "struct wide", "struct wide w"),
            ],
            varargs: false,
        };
        let fexit = render(&kernel(ProbeKind::Fexit, "fexit:f", "f", &signature));
        assert!(
            fexit.source.contains(
                "int BPF_PROG(handle, struct file *file, void *ctx_, struct wide w, ssize_t ret)"
            ),
            "{}",
            fexit.source
        );
        let names: Vec<&str> = fexit.event.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["file", "ctx_", "ret"]);
        let kret = render(&kernel(
            ProbeKind::Kretprobe,
            "kretprobe:f",
            "f",
            &signature,
        ));
        assert!(
            kret.source
                .contains("SEC(\"kretprobe/f\")\nint BPF_KRETPROBE(handle, ssize_t ret)"),
            "{}",
            kret.source
        );
        let usdt = render(&usdt(
            "usdt:/b:p:n",
            "/b",
            "p",
            "n",
            &[(8, true), (4, false)],
        ));
        assert!(
            usdt.source
                .contains("SEC(\"usdt//b:p:n\")\nint BPF_USDT(handle, long arg0, long arg1)"),
            "{}",
            usdt.source
        );
        assert_eq!(usdt.event_size, 16);
    }
}

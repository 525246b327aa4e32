//! The BTF struct that describes a tracepoint's record, and whether it
//! agrees with the format file field by field. Pure, over [`Btf`] and a
//! parsed [`TracepointLayout`].
//!
//! People declare a tracepoint program's context two ways: vmlinux.h's
//! `struct trace_event_raw_<class>` or a struct written from the format file.
//! The struct is named after the event's *class*: events made with
//! `DEFINE_EVENT` share their template's struct (`sched_wakeup` uses
//! `trace_event_raw_sched_wakeup_template`). BTF does not record the class,
//! but the kernel's `__probestub_<event>` function has the same prototype
//! as the class's `__bpf_trace_<class>`, which names it; member names
//! confirm the match. Syscall events are not made with TRACE_EVENT: their
//! records are `struct syscall_trace_enter` (`int nr`, then
//! `unsigned long args[]`, one per argument) and `struct syscall_trace_exit`.
//!
//! In `trace_event_raw_*` structs the common fields are one member
//! `struct trace_entry ent`, and a `__data_loc` field `name` is a `u32`
//! member `__data_loc_name`.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use super::btf::{Btf, Kind, TypeId};
use super::btf_c;
use super::event::{DynamicKind, Field, Storage, TracepointLayout};

/// How the struct was found, which says how much to trust the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// `trace_event_raw_<event>`: the event is its own class.
    OwnClass,
    /// `trace_event_raw_<class>` for a `DEFINE_EVENT` event.
    Class(String),
    /// `syscall_trace_enter` / `syscall_trace_exit`.
    Syscall,
    /// A BPF program's own context struct (`probedex check`).
    Given,
}

/// One format field checked against the struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCheck {
    pub field: String,
    pub format_offset: u64,
    pub format_size: u64,
    /// The member the field corresponds to (`ent.pid`, `args[1]`), if any.
    pub member: Option<String>,
    pub btf_offset: Option<u64>,
    pub btf_size: Option<u64>,
}

impl FieldCheck {
    pub fn agrees(&self) -> bool {
        self.btf_offset == Some(self.format_offset)
            && (self.btf_size == Some(self.format_size)
                // A flexible array member has no size of its own.
                || (self.format_size == 0 && self.btf_size.is_some()))
    }
}

/// The record struct and the result of checking every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStruct {
    pub name: String,
    pub type_id: TypeId,
    pub size: u64,
    pub found: Found,
    pub fields: Vec<FieldCheck>,
}

impl RecordStruct {
    pub fn agrees(&self) -> bool {
        self.fields.iter().all(FieldCheck::agrees)
    }
}

/// Finds the record struct of `category:event` and checks `layout` against it.
pub fn record_struct(
    btf: &Btf<'_>,
    category: &str,
    event: &str,
    layout: &TracepointLayout,
) -> Option<RecordStruct> {
    RecordNames::new(btf).record_struct(category, event, layout)
}

/// The names [`record_struct`] looks for in one BTF, gathered as they are
/// first needed and kept. Looking each up by scanning the 6.18 vmlinux's
/// 150,000 types took ~3 ms a tracepoint (`show 'tracepoint:*'`: 6.8 s);
/// build this once and ask it for every tracepoint. Structs are read only
/// as far as the first lookups need, so a single event whose struct comes
/// early costs no more than a direct search.
#[derive(Debug)]
pub struct RecordNames<'b> {
    btf: &'b Btf<'b>,
    structs: RefCell<RecordStructs<'b>>,
    /// Gathered only when an event is not its own class: reading the names
    /// of vmlinux's 55,000 FUNCs costs more than reading its structs.
    prototypes: OnceCell<Prototypes<'b>>,
}

/// The record structs read so far.
#[derive(Debug)]
struct RecordStructs<'b> {
    /// The next type id to read (past the last one when all are read).
    next: TypeId,
    /// `trace_event_raw_<class>` structs by class, the first of each name.
    by_class: HashMap<&'b str, TypeId>,
    /// The same structs, every one in id order, for the fallback.
    in_order: Vec<(&'b str, TypeId)>,
    syscall_enter: Option<TypeId>,
    syscall_exit: Option<TypeId>,
}

impl<'b> RecordStructs<'b> {
    /// Reads structs until `found` holds after one is recorded, or there
    /// are no more.
    fn read_until(&mut self, btf: &'b Btf<'b>, found: impl Fn(&Self) -> bool) {
        while self.next <= btf.last_id() {
            let id = self.next;
            self.next += 1;
            let Some(t) = btf.get(id).filter(|t| t.kind == Kind::Struct) else {
                continue;
            };
            let Some(name) = t.name() else { continue };
            if let Some(class) = name.strip_prefix("trace_event_raw_") {
                self.by_class.entry(class).or_insert(id);
                self.in_order.push((class, id));
            } else if name == "syscall_trace_enter" {
                self.syscall_enter.get_or_insert(id);
            } else if name == "syscall_trace_exit" {
                self.syscall_exit.get_or_insert(id);
            } else {
                continue;
            }
            if found(self) {
                return;
            }
        }
    }
}

/// What ties an event to its class: the prototype they share.
#[derive(Debug, Default)]
struct Prototypes<'b> {
    /// `__probestub_<event>` by event: the prototype of the first FUNC of
    /// that name (None when it has none).
    stubs: HashMap<&'b str, Option<TypeId>>,
    /// Prototype → the classes of the `__bpf_trace_<class>` FUNCs that
    /// have it, in id order.
    classes: HashMap<TypeId, Vec<&'b str>>,
}

impl<'b> RecordNames<'b> {
    pub fn new(btf: &'b Btf<'b>) -> RecordNames<'b> {
        RecordNames {
            btf,
            structs: RefCell::new(RecordStructs {
                next: btf.first_id(),
                by_class: HashMap::new(),
                in_order: Vec::new(),
                syscall_enter: None,
                syscall_exit: None,
            }),
            prototypes: OnceCell::new(),
        }
    }

    /// The first `trace_event_raw_<class>` struct.
    fn raw_struct(&self, class: &str) -> Option<TypeId> {
        let mut structs = self.structs.borrow_mut();
        if !structs.by_class.contains_key(class) {
            structs.read_until(self.btf, |s| s.by_class.contains_key(class));
        }
        structs.by_class.get(class).copied()
    }

    /// The first `syscall_trace_enter` (or `_exit`) struct.
    fn syscall_struct(&self, enter: bool) -> Option<TypeId> {
        let mut structs = self.structs.borrow_mut();
        let which = |s: &RecordStructs<'_>| {
            if enter {
                s.syscall_enter
            } else {
                s.syscall_exit
            }
        };
        if which(&structs).is_none() {
            structs.read_until(self.btf, |s| which(s).is_some());
        }
        which(&structs)
    }

    fn prototypes(&self) -> &Prototypes<'b> {
        self.prototypes.get_or_init(|| {
            let mut prototypes = Prototypes::default();
            for t in self.btf.own_types().filter(|t| t.kind == Kind::Func) {
                let Some(name) = t.name() else { continue };
                if let Some(event) = name.strip_prefix("__probestub_") {
                    prototypes.stubs.entry(event).or_insert(t.referenced());
                } else if let (Some(class), Some(proto)) =
                    (name.strip_prefix("__bpf_trace_"), t.referenced())
                {
                    prototypes.classes.entry(proto).or_default().push(class);
                }
            }
            prototypes
        })
    }

    /// [`record_struct`], through the names gathered.
    pub fn record_struct(
        &self,
        category: &str,
        event: &str,
        layout: &TracepointLayout,
    ) -> Option<RecordStruct> {
        let btf = self.btf;
        if category == "syscalls" {
            let (name, enter) = if event.starts_with("sys_enter_") {
                ("syscall_trace_enter", true)
            } else if event.starts_with("sys_exit_") {
                ("syscall_trace_exit", false)
            } else {
                return None;
            };
            let id = self.syscall_struct(enter)?;
            return Some(check(btf, name, id, Found::Syscall, layout));
        }
        let own = self
            .raw_struct(event)
            .filter(|&id| members_match(btf, id, layout));
        if let Some(id) = own {
            let name = format!("trace_event_raw_{event}");
            return Some(check(btf, &name, id, Found::OwnClass, layout));
        }
        for class in self.classes_sharing_prototype(event) {
            let found = self
                .raw_struct(class)
                .filter(|&id| members_match(btf, id, layout));
            if let Some(id) = found {
                let name = format!("trace_event_raw_{class}");
                return Some(check(
                    btf,
                    &name,
                    id,
                    Found::Class(class.to_string()),
                    layout,
                ));
            }
        }
        // BTF dedup does not always merge the two prototypes (on 6.18,
        // __probestub_dma_sync_sg_for_cpu's differs from __bpf_trace_dma_sync_sg's):
        // fall back to the struct whose members are the event's fields.
        let mut structs = self.structs.borrow_mut();
        structs.read_until(btf, |_| false);
        structs
            .in_order
            .iter()
            .find(|(_, id)| members_match(btf, *id, layout))
            .map(|&(class, id)| {
                let name = format!("trace_event_raw_{class}");
                check(btf, &name, id, Found::Class(class.to_string()), layout)
            })
    }

    /// Classes whose `__bpf_trace_<class>` has `__probestub_<event>`'s prototype.
    fn classes_sharing_prototype(&self, event: &str) -> &[&'b str] {
        let prototypes = self.prototypes();
        prototypes
            .stubs
            .get(event)
            .copied()
            .flatten()
            .and_then(|proto| prototypes.classes.get(&proto))
            .map_or(&[], Vec::as_slice)
    }
}

/// The struct's member names are the format's event fields (prototypes
/// are shared by unrelated classes with the same arguments).
fn members_match(btf: &Btf<'_>, id: TypeId, layout: &TracepointLayout) -> bool {
    let Some(t) = btf.get(id) else { return false };
    let members: Vec<&str> = t
        .members()
        .filter_map(|m| m.name)
        .filter(|n| *n != "ent" && *n != "__data")
        .collect();
    let fields: Vec<String> = layout.event_fields().map(member_name).collect();
    members.len() == fields.len() && members.iter().zip(&fields).all(|(m, f)| m == f)
}

/// The member a format field becomes in `trace_event_raw_*`.
fn member_name(field: &Field) -> String {
    match field.storage {
        Storage::Dynamic {
            kind: DynamicKind::DataLoc,
            ..
        } => format!("__data_loc_{}", field.name),
        Storage::Dynamic {
            kind: DynamicKind::RelLoc,
            ..
        } => format!("__rel_loc_{}", field.name),
        _ => field.name.clone(),
    }
}

/// `(bit offset, type)` of a member by name.
fn member(btf: &Btf<'_>, id: TypeId, name: &str) -> Option<(u64, TypeId)> {
    btf.get(id)?
        .members()
        .find(|m| m.name == Some(name))
        .map(|m| (u64::from(m.bit_offset), m.type_id))
}

fn check(
    btf: &Btf<'_>,
    name: &str,
    id: TypeId,
    found: Found,
    layout: &TracepointLayout,
) -> RecordStruct {
    let size = btf.get(id).and_then(|t| t.size()).map_or(0, u64::from);
    let mut event_index = 0usize;
    let fields = layout
        .fields
        .iter()
        .map(|field| {
            let located = if field.common {
                common_member(btf, id, field)
            } else if found == Found::Syscall {
                let located = syscall_member(btf, id, field, event_index);
                if field.name != "__syscall_nr" {
                    event_index += 1;
                }
                located
            } else {
                let name = member_name(field);
                member(btf, id, &name).map(|(bits, ty)| (name, bits / 8, btf_c::size_of(btf, ty)))
            };
            FieldCheck {
                field: field.name.clone(),
                format_offset: field.offset,
                format_size: field.size,
                member: located.as_ref().map(|(m, _, _)| m.clone()),
                btf_offset: located.as_ref().map(|(_, offset, _)| *offset),
                btf_size: located.and_then(|(_, _, size)| size),
            }
        })
        .collect();
    RecordStruct {
        name: name.to_string(),
        type_id: id,
        size,
        found,
        fields,
    }
}

/// A BPF program's own context struct `id` against the record: every
/// format field the struct names (as vmlinux.h does — `ent.pid`,
/// `__data_loc_name`, `args[n]` — or as the format file does) must sit
/// where the format file puts it. Fields the struct leaves out are not
/// checked: a program reads what it declares. The second value lists the
/// members that name no field (padding such as `unused`, or a misspelling).
pub fn check_given(
    btf: &Btf<'_>,
    id: TypeId,
    syscall: bool,
    layout: &TracepointLayout,
) -> (RecordStruct, Vec<String>) {
    let name = btf.get(id).and_then(|t| t.name()).map_or_else(
        || "(anonymous struct)".to_string(),
        |n| format!("struct {n}"),
    );
    let size = btf.get(id).and_then(|t| t.size()).map_or(0, u64::from);
    let plain = |name: &str| {
        member(btf, id, name)
            .map(|(bits, ty)| (name.to_string(), bits / 8, btf_c::size_of(btf, ty)))
    };
    let has_args = member(btf, id, "args").is_some();
    let mut event_index = 0usize;
    let mut fields = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for field in &layout.fields {
        let located = if field.common {
            common_member(btf, id, field).or_else(|| plain(&field.name))
        } else if syscall && field.name == "__syscall_nr" {
            plain("nr")
                .or_else(|| plain("__syscall_nr"))
                .or_else(|| plain("syscall_nr"))
        } else if syscall && has_args {
            let located = syscall_member(btf, id, field, event_index);
            event_index += 1;
            located
        } else {
            plain(&member_name(field)).or_else(|| plain(&field.name))
        };
        let Some((member, offset, member_size)) = located else {
            continue;
        };
        used.push(
            member
                .split(['.', '['])
                .next()
                .unwrap_or(&member)
                .to_string(),
        );
        fields.push(FieldCheck {
            field: field.name.clone(),
            format_offset: field.offset,
            format_size: field.size,
            member: Some(member),
            btf_offset: Some(offset),
            btf_size: member_size,
        });
    }
    let unmatched = btf
        .get(id)
        .map(|t| {
            t.members()
                .filter_map(|m| m.name)
                .filter(|n| !used.iter().any(|u| u == n) && *n != "__data")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let record = RecordStruct {
        name,
        type_id: id,
        size,
        found: Found::Given,
        fields,
    };
    (record, unmatched)
}

/// `common_pid` is `ent.pid` (struct trace_entry's `type`, `flags`,
/// `preempt_count`, `pid`).
fn common_member(btf: &Btf<'_>, id: TypeId, field: &Field) -> Option<(String, u64, Option<u64>)> {
    let (ent_bits, ent_type) = member(btf, id, "ent")?;
    let inner = field.name.strip_prefix("common_")?;
    let (bits, ty) = member(btf, btf_c::resolve(btf, ent_type), inner)?;
    Some((
        format!("ent.{inner}"),
        (ent_bits + bits) / 8,
        btf_c::size_of(btf, ty),
    ))
}

/// `__syscall_nr` is `nr`; on the enter side the n-th argument is
/// `args[n]` whatever its name (futex_wake has an argument called `nr`),
/// and on the exit side `ret` is `ret`.
fn syscall_member(
    btf: &Btf<'_>,
    id: TypeId,
    field: &Field,
    index: usize,
) -> Option<(String, u64, Option<u64>)> {
    if field.name == "__syscall_nr" {
        let (bits, ty) = member(btf, id, "nr")?;
        return Some(("nr".into(), bits / 8, btf_c::size_of(btf, ty)));
    }
    let Some((bits, ty)) = member(btf, id, "args") else {
        let (bits, ty) = member(btf, id, &field.name)?;
        return Some((field.name.clone(), bits / 8, btf_c::size_of(btf, ty)));
    };
    let array = btf.get(btf_c::resolve(btf, ty))?.array()?;
    let element = btf_c::size_of(btf, array.element)?;
    Some((
        format!("args[{index}]"),
        bits / 8 + element * index as u64,
        Some(element),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::btf::tests::Builder;
    use crate::format::event::parse_format;

    /// A miniature of the 6.18 kernel's types: trace_entry, a sched_wakeup
    /// template class with its probestub and __bpf_trace functions, and
    /// syscall_trace_enter.
    fn kernel() -> Vec<u8> {
        let mut b = Builder::new();
        b.add(1, "unsigned short", 0, false, 2, &[16]); // 1
        b.add(1, "unsigned char", 0, false, 1, &[8]); // 2
        b.add(1, "int", 0, false, 4, &[(1 << 24) | 32]); // 3
        b.add(1, "char", 0, false, 1, &[(2 << 24) | 8]); // 4
        let n = ["type", "flags", "preempt_count", "pid"].map(|s| b.string(s));
        b.add(
            4,
            "trace_entry",
            4,
            false,
            8,
            &[n[0], 1, 0, n[1], 2, 16, n[2], 2, 24, n[3], 3, 32],
        ); // 5
        b.add(3, "", 0, false, 0, &[4, 3, 16]); // 6 char[16]
        let m = ["ent", "comm", "pid", "prio"].map(|s| b.string(s));
        b.add(
            4,
            "trace_event_raw_wake_template",
            4,
            false,
            32,
            &[m[0], 5, 0, m[1], 6, 64, m[2], 3, 192, m[3], 3, 224],
        ); // 7
        b.add(13, "", 0, false, 0, &[]); // 8 proto
        b.add(12, "__bpf_trace_wake_template", 0, false, 8, &[]); // 9
        b.add(12, "__probestub_wake", 0, false, 8, &[]); // 10
        b.add(1, "unsigned long", 0, false, 8, &[64]); // 11
        b.add(3, "", 0, false, 0, &[11, 3, 0]); // 12 unsigned long[]
        let s = ["ent", "nr", "args"].map(|s| b.string(s));
        b.add(
            4,
            "syscall_trace_enter",
            3,
            false,
            16,
            &[s[0], 5, 0, s[1], 3, 64, s[2], 12, 128],
        ); // 13
        b.build()
    }

    const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

    fn layout(name: &str, fields: &str) -> TracepointLayout {
        parse_format(&format!(
            "name: {name}\nID: 1\nformat:\n{COMMON}{fields}\nprint fmt: \"\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn class_found_through_the_shared_prototype() {
        let data = kernel();
        let btf = Btf::parse(&data, None).unwrap();
        let wake = layout(
            "wake",
            "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n",
        );
        let record = record_struct(&btf, "sched", "wake", &wake).unwrap();
        assert_eq!(record.name, "trace_event_raw_wake_template");
        assert_eq!(record.found, Found::Class("wake_template".into()));
        assert!(record.agrees(), "{record:?}");
        assert_eq!(record.fields[3].member.as_deref(), Some("ent.pid"));

        // A record whose format puts prio elsewhere is reported, not hidden.
        let moved = layout(
            "wake",
            "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:32;\tsize:4;\tsigned:1;\n",
        );
        let record = record_struct(&btf, "sched", "wake", &moved).unwrap();
        assert!(!record.agrees());
        let prio = record.fields.iter().find(|f| f.field == "prio").unwrap();
        assert_eq!((prio.format_offset, prio.btf_offset), (32, Some(28)));
    }

    #[test]
    fn syscall_arguments_are_args_n() {
        let data = kernel();
        let btf = Btf::parse(&data, None).unwrap();
        let openat = layout(
            "sys_enter_openat",
            // Like sys_enter_futex_wake, an argument is called `nr`.
            "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:int nr;\toffset:24;\tsize:8;\tsigned:0;\n",
        );
        let record = record_struct(&btf, "syscalls", "sys_enter_openat", &openat).unwrap();
        assert_eq!(record.name, "syscall_trace_enter");
        assert!(record.agrees(), "{record:?}");
        let members: Vec<_> = record
            .fields
            .iter()
            .filter_map(|f| f.member.clone())
            .collect();
        assert_eq!(members[4..], ["nr", "args[0]", "args[1]"]);
        assert!(record_struct(&btf, "sched", "no_such_event", &openat).is_none());
    }

    #[test]
    fn one_index_answers_every_event() {
        let data = kernel();
        let btf = Btf::parse(&data, None).unwrap();
        let names = RecordNames::new(&btf);
        let fields = "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n";
        let wake = layout("wake", fields);
        let record = names.record_struct("sched", "wake", &wake).unwrap();
        assert_eq!(record, record_struct(&btf, "sched", "wake", &wake).unwrap());
        // No __probestub_ names the class: the struct is found by its members.
        let waking = layout("waking", fields);
        let record = names.record_struct("sched", "waking", &waking).unwrap();
        assert_eq!(record.found, Found::Class("wake_template".into()));
        let openat = layout(
            "sys_enter_openat",
            "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n",
        );
        let record = names.record_struct("syscalls", "sys_enter_openat", &openat);
        assert_eq!(record.unwrap().name, "syscall_trace_enter");
        // No syscall_trace_exit in this BTF.
        assert!(names
            .record_struct("syscalls", "sys_exit_openat", &openat)
            .is_none());
        // Structs are read as far as needed: in another order, the same answers.
        let names = RecordNames::new(&btf);
        let record = names.record_struct("sched", "waking", &waking).unwrap();
        assert_eq!(record.found, Found::Class("wake_template".into()));
        let record = names.record_struct("syscalls", "sys_enter_openat", &openat);
        assert_eq!(record.unwrap().name, "syscall_trace_enter");
        assert_eq!(
            names.record_struct("sched", "wake", &wake).unwrap(),
            record_struct(&btf, "sched", "wake", &wake).unwrap()
        );
    }
}

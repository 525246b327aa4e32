//! A kernel's probe inventory as `diff` compares it, and the comparison.
//! Pure: the inventory is built by `commands::diff` from the same discovery
//! code `list` uses; here it is only held and compared.
//!
//! What is compared, per kind family:
//! * tracepoints: the record layout (every field's type, offset, size and
//!   signedness, common fields included, and the fixed size);
//! * raw tracepoints, fentry/fexit: the BTF signature (return type and
//!   size, each argument's name, type and size, varargs); for fentry/fexit
//!   also whether the function is traceable, where both sides know;
//! * kprobe/kretprobe: that the function exists, and whether it is
//!   traceable, where both sides know.
//!
//! fentry and fexit see the same function with the same signature, and
//! kprobe and kretprobe the same function list, so each family is computed
//! and reported once per function, under the first kind of the family the
//! patterns select (`fentry:vfs_read`); the other kind it also covers is
//! carried along (`also`).
//!
//! Signatures are held as one compact string each (see [`SignatureText`]):
//! comparing 56,000 of them is then one string comparison each, and only
//! the few that differ are taken apart.

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::discover::kernel_functions::listing_order;
use crate::format::btf_c::Signature;
use crate::probe::ProbeKind;

/// The families of kinds `diff` compares, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Fentry,
    Kprobe,
    RawTracepoint,
    Tracepoint,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Fentry,
        Family::Kprobe,
        Family::RawTracepoint,
        Family::Tracepoint,
    ];

    pub fn of(kind: ProbeKind) -> Option<Family> {
        match kind {
            ProbeKind::Fentry | ProbeKind::Fexit => Some(Family::Fentry),
            ProbeKind::Kprobe | ProbeKind::Kretprobe => Some(Family::Kprobe),
            ProbeKind::RawTracepoint => Some(Family::RawTracepoint),
            ProbeKind::Tracepoint => Some(Family::Tracepoint),
            _ => None,
        }
    }

    /// The kinds of the family, in the order they are preferred for naming.
    pub fn kinds(self) -> &'static [ProbeKind] {
        match self {
            Family::Fentry => &[ProbeKind::Fentry, ProbeKind::Fexit],
            Family::Kprobe => &[ProbeKind::Kprobe, ProbeKind::Kretprobe],
            Family::RawTracepoint => &[ProbeKind::RawTracepoint],
            Family::Tracepoint => &[ProbeKind::Tracepoint],
        }
    }
}

/// One probe point of a family on one kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point<T> {
    /// The kind it is reported under: the family's first selected kind.
    pub kind: ProbeKind,
    /// The family's other kind, when the patterns select it too.
    pub also: Option<ProbeKind>,
    /// A tracepoint's category, a function's module (None for vmlinux).
    pub scope: Option<String>,
    pub name: String,
    pub shape: T,
}

impl<T> Point<T> {
    /// `tracepoint:sched:sched_switch`, `fentry:vfs_read`, `kprobe:ext4:ext4_sync_fs`.
    pub fn probe_name(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{}:{scope}:{}", self.kind, self.name),
            None => format!("{}:{}", self.kind, self.name),
        }
    }

    fn order(&self, other: &Self) -> Ordering {
        listing_order(
            (self.scope.as_deref(), &self.name),
            (other.scope.as_deref(), &other.name),
        )
    }
}

/// A tracepoint's record as the format file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TracepointShape {
    Layout {
        fixed_size: u64,
        fields: Vec<FieldShape>,
    },
    /// The format file could not be read or parsed: why.
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldShape {
    pub name: String,
    /// `char[16]`, `__data_loc char[]`, `const char *`.
    pub type_text: String,
    pub offset: u64,
    pub size: u64,
    pub signed: Option<bool>,
}

/// A BTF signature in one string: the return type and size, varargs, then
/// each argument's name, type and size, separated by control characters no
/// C type or identifier contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureText(String);

const UNIT: char = '\u{1f}';
const RECORD: char = '\u{1e}';

impl SignatureText {
    pub fn new(signature: &Signature) -> SignatureText {
        let mut writer = SignatureWriter::new(&signature.return_type, signature.return_size);
        for arg in &signature.params {
            writer.arg(&arg.name, &arg.type_name, arg.size);
        }
        writer.finish(signature.varargs)
    }

    /// Taken apart again, for the few signatures that differ.
    pub fn parts(&self) -> SignatureParts {
        let mut records = self.0.split(RECORD);
        let head: Vec<&str> = records.next().unwrap_or_default().split(UNIT).collect();
        let size = |s: Option<&&str>| s.and_then(|s| s.parse().ok());
        let args = records
            .enumerate()
            .map(|(position, record)| {
                let units: Vec<&str> = record.split(UNIT).collect();
                ArgShape {
                    position,
                    name: units.first().copied().unwrap_or_default().to_string(),
                    type_text: units.get(1).copied().unwrap_or_default().to_string(),
                    size: size(units.get(2)),
                }
            })
            .collect();
        SignatureParts {
            return_type: head.first().copied().unwrap_or_default().to_string(),
            return_size: size(head.get(1)),
            varargs: head.get(2) == Some(&"1"),
            args,
        }
    }
}

/// Builds a [`SignatureText`] piece by piece, for callers that have the
/// parts at hand without a [`Signature`]. Whether it takes varargs is said
/// last, so a caller can learn it while walking the arguments once.
#[derive(Debug)]
pub struct SignatureWriter {
    text: String,
    /// Where the varargs flag is: written `0`, set by `finish`.
    varargs_at: usize,
}

impl SignatureWriter {
    pub fn new(return_type: &str, return_size: Option<u64>) -> SignatureWriter {
        let mut text = String::with_capacity(128);
        text.push_str(return_type);
        text.push(UNIT);
        push_size(&mut text, return_size);
        text.push(UNIT);
        let varargs_at = text.len();
        text.push('0');
        SignatureWriter { text, varargs_at }
    }

    pub fn arg(&mut self, name: &str, type_text: &str, size: Option<u64>) {
        self.text.push(RECORD);
        self.text.push_str(name);
        self.text.push(UNIT);
        self.text.push_str(type_text);
        self.text.push(UNIT);
        push_size(&mut self.text, size);
    }

    pub fn finish(mut self, varargs: bool) -> SignatureText {
        if varargs {
            self.text
                .replace_range(self.varargs_at..self.varargs_at + 1, "1");
        }
        SignatureText(self.text)
    }
}

fn push_size(text: &mut String, size: Option<u64>) {
    if let Some(size) = size {
        let _ = write!(text, "{size}");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParts {
    pub return_type: String,
    pub return_size: Option<u64>,
    pub varargs: bool,
    pub args: Vec<ArgShape>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgShape {
    /// 0-based, among the arguments the program receives.
    pub position: usize,
    pub name: String,
    pub type_text: String,
    pub size: Option<u64>,
}

/// A BTF function as fentry/fexit see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionShape {
    pub signature: Option<SignatureText>,
    /// None when this kernel's lists cannot tell.
    pub traceable: Option<bool>,
}

/// A family's points on one kernel, or why there are none to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Points<T> {
    /// The patterns select no kind of this family.
    NotSelected,
    /// The kernel lacks the family's source (no BTF, no tracefs): why.
    Missing(String),
    /// Sorted by `[scope:]name`, each once.
    Found(Vec<Point<T>>),
}

impl<T> Points<T> {
    /// Sorts and drops repeated names, keeping the first.
    pub fn found(mut points: Vec<Point<T>>) -> Points<T> {
        if !points.is_sorted_by(|a, b| a.order(b) != Ordering::Greater) {
            points.sort_by(Point::order);
        }
        points.dedup_by(|a, b| a.order(b) == Ordering::Equal);
        Points::Found(points)
    }
}

/// One kernel's inventory, as far as the patterns select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub tracepoints: Points<TracepointShape>,
    pub raw_tracepoints: Points<SignatureText>,
    pub functions: Points<FunctionShape>,
    pub kprobes: Points<Option<bool>>,
}

/// What happened to one point between the two kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// An old and a new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair<T> {
    pub old: T,
    pub new: T,
}

impl<T: PartialEq> Pair<T> {
    fn differing(old: T, new: T) -> Option<Pair<T>> {
        (old != new).then_some(Pair { old, new })
    }
}

/// One field added, removed or changed: `old` is None when added, `new`
/// when removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub name: String,
    pub old: Option<FieldShape>,
    pub new: Option<FieldShape>,
}

impl FieldChange {
    pub fn kind(&self) -> ChangeKind {
        match (&self.old, &self.new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgChange {
    pub position: usize,
    pub old: Option<ArgShape>,
    pub new: Option<ArgShape>,
}

impl ArgChange {
    pub fn kind(&self) -> ChangeKind {
        match (&self.old, &self.new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        }
    }
}

/// How a changed point changed. Empty for points added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detail {
    /// Tracepoints: the fixed part of the record.
    pub fixed_size: Option<Pair<u64>>,
    pub fields: Vec<FieldChange>,
    /// Signatures: `(type, size)` of the return value.
    pub return_value: Option<Pair<(String, Option<u64>)>>,
    pub varargs: Option<Pair<bool>>,
    pub args: Vec<ArgChange>,
    /// Functions: both kernels know whether it attaches, and they disagree.
    pub traceable: Option<Pair<bool>>,
}

impl Detail {
    fn is_empty(&self) -> bool {
        *self == Detail::default()
    }
}

/// One point that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointChange {
    pub family: Family,
    pub kind: ProbeKind,
    pub also: Option<ProbeKind>,
    pub probe: String,
    pub change: ChangeKind,
    /// How it changed; None for points added or removed (see
    /// [`Self::detail`]). Boxed: two kernels differ in tens of thousands
    /// of points, nearly all added or removed, and an inline `Detail` made
    /// each change five times larger.
    pub changed: Option<Box<Detail>>,
}

impl PointChange {
    /// How the point changed: empty for points added or removed.
    pub fn detail(&self) -> &Detail {
        static EMPTY: Detail = Detail {
            fixed_size: None,
            fields: Vec::new(),
            return_value: None,
            varargs: None,
            args: Vec::new(),
            traceable: None,
        };
        self.changed.as_deref().unwrap_or(&EMPTY)
    }
}

/// Counts for one family that was compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyCount {
    pub family: Family,
    /// The family's kinds the patterns selected.
    pub kinds: Vec<ProbeKind>,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// A family that was selected but could not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCompared {
    pub family: Family,
    pub kinds: Vec<ProbeKind>,
    pub reason: String,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comparison {
    pub changes: Vec<PointChange>,
    pub counts: Vec<FamilyCount>,
    pub not_compared: Vec<NotCompared>,
    /// Points whose format file one side could not read: `(probe, why)`.
    pub unreadable: Vec<(String, String)>,
}

impl Comparison {
    pub fn differs(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// Compares two inventories built with the same patterns. `kinds` are the
/// kinds the patterns select; `old_label`/`new_label` name the sides in
/// reasons.
pub fn compare(
    old: &Inventory,
    new: &Inventory,
    kinds: &[ProbeKind],
    old_label: &str,
    new_label: &str,
) -> Comparison {
    let selected: Vec<(Family, Vec<ProbeKind>)> = Family::ALL
        .into_iter()
        .map(|family| {
            let kinds: Vec<ProbeKind> = family
                .kinds()
                .iter()
                .copied()
                .filter(|k| kinds.contains(k))
                .collect();
            (family, kinds)
        })
        .filter(|(_, kinds)| !kinds.is_empty())
        .collect();
    // The families share nothing, and fentry's and kprobe's 60,000 points
    // each are most of the work: compare them on threads of their own.
    let parts: Vec<Comparison> = std::thread::scope(|scope| {
        let handles: Vec<_> = selected
            .iter()
            .map(|(family, kinds)| {
                scope.spawn(move || compare_family(*family, kinds, old, new, old_label, new_label))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("comparison thread panicked"))
            .collect()
    });
    let mut comparison = Comparison::default();
    for part in parts {
        comparison.changes.extend(part.changes);
        comparison.counts.extend(part.counts);
        comparison.not_compared.extend(part.not_compared);
        comparison.unreadable.extend(part.unreadable);
    }
    comparison
}

/// One family's part of the comparison.
fn compare_family(
    family: Family,
    kinds: &[ProbeKind],
    old: &Inventory,
    new: &Inventory,
    old_label: &str,
    new_label: &str,
) -> Comparison {
    let mut comparison = Comparison::default();
    let mut out = Sink {
        family,
        comparison: &mut comparison,
        count: FamilyCount {
            family,
            kinds: kinds.to_vec(),
            added: 0,
            removed: 0,
            changed: 0,
            unchanged: 0,
        },
    };
    let missing = match family {
        Family::Tracepoint => join(&old.tracepoints, &new.tracepoints, &mut out, |o, n, d| {
            tracepoint_detail(o, n, d)
        }),
        Family::RawTracepoint => join(
            &old.raw_tracepoints,
            &new.raw_tracepoints,
            &mut out,
            |o, n, d| {
                signature_detail(Some(o), Some(n), d);
                Ok(())
            },
        ),
        Family::Fentry => join(&old.functions, &new.functions, &mut out, |o, n, d| {
            signature_detail(o.signature.as_ref(), n.signature.as_ref(), d);
            d.traceable = traceable_change(o.traceable, n.traceable);
            Ok(())
        }),
        Family::Kprobe => join(&old.kprobes, &new.kprobes, &mut out, |o, n, d| {
            d.traceable = traceable_change(*o, *n);
            Ok(())
        }),
    };
    let Sink { count, .. } = out;
    let reason = |label: &str, why: &str| NotCompared {
        family,
        kinds: kinds.to_vec(),
        reason: format!("{label} {why}"),
    };
    match missing {
        None => comparison.counts.push(count),
        Some(Side::Old(why)) => comparison.not_compared.push(reason(old_label, why)),
        Some(Side::New(why)) => comparison.not_compared.push(reason(new_label, why)),
    }
    comparison
}

enum Side<'a> {
    Old(&'a str),
    New(&'a str),
}

struct Sink<'c> {
    family: Family,
    comparison: &'c mut Comparison,
    count: FamilyCount,
}

impl Sink<'_> {
    fn push<T>(&mut self, point: &Point<T>, change: ChangeKind, detail: Option<Detail>) {
        match change {
            ChangeKind::Added => self.count.added += 1,
            ChangeKind::Removed => self.count.removed += 1,
            ChangeKind::Changed => self.count.changed += 1,
        }
        self.comparison.changes.push(PointChange {
            family: self.family,
            kind: point.kind,
            also: point.also,
            probe: point.probe_name(),
            change,
            changed: detail.map(Box::new),
        });
    }
}

/// Walks two sorted point lists together; `detail` fills in how a point
/// present on both sides changed, or says (Err) why it cannot tell.
fn join<'a, T>(
    old: &'a Points<T>,
    new: &'a Points<T>,
    out: &mut Sink<'_>,
    detail: impl Fn(&T, &T, &mut Detail) -> Result<(), String>,
) -> Option<Side<'a>> {
    let (old, new) = match (old, new) {
        (Points::Missing(why), _) => return Some(Side::Old(why)),
        (_, Points::Missing(why)) => return Some(Side::New(why)),
        (Points::Found(old), Points::Found(new)) => (old, new),
        // Both sides are built from the same patterns.
        _ => return None,
    };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => o.order(n),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.push(&old[i], ChangeKind::Removed, None);
                i += 1;
            }
            Ordering::Greater => {
                out.push(&new[j], ChangeKind::Added, None);
                j += 1;
            }
            Ordering::Equal => {
                let (o, n) = (&old[i], &new[j]);
                let mut d = Detail::default();
                match detail(&o.shape, &n.shape, &mut d) {
                    Ok(()) if d.is_empty() => out.count.unchanged += 1,
                    Ok(()) => out.push(n, ChangeKind::Changed, Some(d)),
                    Err(why) => {
                        out.count.unchanged += 1;
                        out.comparison.unreadable.push((n.probe_name(), why));
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    None
}

fn traceable_change(old: Option<bool>, new: Option<bool>) -> Option<Pair<bool>> {
    Pair::differing(old?, new?)
}

fn tracepoint_detail(
    old: &TracepointShape,
    new: &TracepointShape,
    detail: &mut Detail,
) -> Result<(), String> {
    let (
        TracepointShape::Layout {
            fixed_size: old_size,
            fields: old_fields,
        },
        TracepointShape::Layout {
            fixed_size: new_size,
            fields: new_fields,
        },
    ) = (old, new)
    else {
        return Err(match (old, new) {
            (TracepointShape::Unreadable(why), _) | (_, TracepointShape::Unreadable(why)) => {
                why.clone()
            }
            _ => unreachable!("one side is unreadable"),
        });
    };
    if old_fields == new_fields {
        return Ok(());
    }
    detail.fixed_size = Pair::differing(*old_size, *new_size);
    // Fields are matched by name: programs name them (bpftrace's args.NAME)
    // or reach them at an offset, and a moved field shows as its offset.
    let mut changes: Vec<(u64, FieldChange)> = Vec::new();
    for o in old_fields {
        match new_fields.iter().find(|n| n.name == o.name) {
            None => changes.push((
                o.offset,
                FieldChange {
                    name: o.name.clone(),
                    old: Some(o.clone()),
                    new: None,
                },
            )),
            Some(n) if n != o => changes.push((
                n.offset,
                FieldChange {
                    name: o.name.clone(),
                    old: Some(o.clone()),
                    new: Some(n.clone()),
                },
            )),
            Some(_) => {}
        }
    }
    for n in new_fields {
        if !old_fields.iter().any(|o| o.name == n.name) {
            changes.push((
                n.offset,
                FieldChange {
                    name: n.name.clone(),
                    old: None,
                    new: Some(n.clone()),
                },
            ));
        }
    }
    changes.sort_by_key(|(offset, _)| *offset);
    detail.fields = changes.into_iter().map(|(_, c)| c).collect();
    Ok(())
}

fn signature_detail(old: Option<&SignatureText>, new: Option<&SignatureText>, detail: &mut Detail) {
    let (old, new) = match (old, new) {
        (Some(o), Some(n)) if o != n => (o.parts(), n.parts()),
        _ => return,
    };
    detail.return_value = Pair::differing(
        (old.return_type.clone(), old.return_size),
        (new.return_type.clone(), new.return_size),
    );
    detail.varargs = Pair::differing(old.varargs, new.varargs);
    // Arguments are matched by position: that is how the program receives
    // them (ctx[0], ctx[1], ...), whatever their names.
    for position in 0..old.args.len().max(new.args.len()) {
        let (o, n) = (old.args.get(position), new.args.get(position));
        if o != n {
            detail.args.push(ArgChange {
                position,
                old: o.cloned(),
                new: n.cloned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::btf_c::Arg;

    fn field(name: &str, type_text: &str, offset: u64, size: u64) -> FieldShape {
        FieldShape {
            name: name.into(),
            type_text: type_text.into(),
            offset,
            size,
            signed: Some(false),
        }
    }

    fn tracepoint(event: &str, fields: Vec<FieldShape>) -> Point<TracepointShape> {
        Point {
            kind: ProbeKind::Tracepoint,
            also: None,
            scope: Some("sched".into()),
            name: event.into(),
            shape: TracepointShape::Layout {
                fixed_size: fields.iter().map(|f| f.offset + f.size).max().unwrap_or(0),
                fields,
            },
        }
    }

    fn inventory(tracepoints: Points<TracepointShape>) -> Inventory {
        Inventory {
            tracepoints,
            raw_tracepoints: Points::NotSelected,
            functions: Points::NotSelected,
            kprobes: Points::NotSelected,
        }
    }

    #[test]
    fn layouts_compare_field_by_field() {
        // sched_switch's prev_state as Linux 5.10 and 6.18 print it, plus a
        // field each side has alone.
        let old = inventory(Points::found(vec![
            tracepoint("sched_old", vec![]),
            tracepoint(
                "sched_switch",
                vec![
                    field("prev_state", "long", 24, 8),
                    field("gone", "int", 32, 4),
                ],
            ),
        ]));
        let new = inventory(Points::found(vec![
            tracepoint(
                "sched_switch",
                vec![
                    field("prev_state", "unsigned int", 32, 4),
                    field("fresh", "int", 24, 4),
                ],
            ),
            tracepoint("sched_new", vec![]),
        ]));
        let c = compare(&old, &new, &[ProbeKind::Tracepoint], "A", "B");
        let changes: Vec<(&str, ChangeKind)> = c
            .changes
            .iter()
            .map(|p| (p.probe.as_str(), p.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("tracepoint:sched:sched_new", ChangeKind::Added),
                ("tracepoint:sched:sched_old", ChangeKind::Removed),
                ("tracepoint:sched:sched_switch", ChangeKind::Changed),
            ]
        );
        let detail = c.changes[2].detail();
        assert_eq!(detail.fixed_size, None);
        let fields: Vec<(&str, ChangeKind)> = detail
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.kind()))
            .collect();
        assert_eq!(
            fields,
            [
                ("fresh", ChangeKind::Added),
                ("prev_state", ChangeKind::Changed),
                ("gone", ChangeKind::Removed),
            ]
        );
        assert_eq!(c.counts[0].added, 1);
        assert_eq!(c.counts[0].unchanged, 0);
    }

    #[test]
    fn a_missing_source_is_not_compared() {
        let old = inventory(Points::Missing("has no tracefs".into()));
        let new = inventory(Points::found(vec![tracepoint("x", vec![])]));
        let c = compare(&old, &new, &[ProbeKind::Tracepoint], "A", "B");
        assert!(!c.differs());
        assert_eq!(c.not_compared[0].reason, "A has no tracefs");
    }

    #[test]
    fn signatures_round_trip_and_compare_by_position() {
        let arg = |name: &str, type_name: &str, size| Arg {
            name: name.into(),
            type_name: type_name.into(),
            declaration: String::new(),
            type_id: 1,
            size: Some(size),
        };
        // vfs_read as Linux 6.18's BTF has it.
        let old = Signature {
            return_type: "ssize_t".into(),
            return_type_id: 1,
            return_size: Some(8),
            params: vec![arg("file", "struct file *", 8), arg("count", "size_t", 8)],
            varargs: false,
        };
        let mut new = old.clone();
        new.params[1] = arg("len", "unsigned int", 4);
        new.params.push(arg("flags", "int", 4));
        new.return_size = None;
        let parts = SignatureText::new(&old).parts();
        assert_eq!(parts.return_type, "ssize_t");
        assert_eq!(parts.args[1].size, Some(8));
        let mut detail = Detail::default();
        signature_detail(
            Some(&SignatureText::new(&old)),
            Some(&SignatureText::new(&new)),
            &mut detail,
        );
        assert_eq!(
            detail.return_value,
            Some(Pair {
                old: ("ssize_t".to_string(), Some(8)),
                new: ("ssize_t".to_string(), None)
            })
        );
        let kinds: Vec<(usize, ChangeKind)> =
            detail.args.iter().map(|a| (a.position, a.kind())).collect();
        assert_eq!(kinds, [(1, ChangeKind::Changed), (2, ChangeKind::Added)]);
    }
}

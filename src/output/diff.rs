//! `diff`'s report: a line per point added (`+`), removed (`-`) or changed
//! (`~`) with the changes indented under it, then a summary line per kind
//! family; or JSON Lines (docs/json.md, "diff").

use std::io::{self, Write};

use serde::Serialize;

use super::text::printable;
use super::Style;
use crate::probe::ProbeKind;
use crate::snapshot::inventory::{ArgShape, ChangeKind, Comparison, FieldShape, Pair, PointChange};

/// `fentry/fexit`, `tracepoint`.
pub fn kinds_words(kinds: &[ProbeKind]) -> String {
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join("/")
}

fn size_words(size: Option<u64>) -> String {
    size.map_or_else(|| "?".into(), |s| s.to_string())
}

fn signed_words(signed: Option<bool>) -> &'static str {
    match signed {
        Some(true) => "signed",
        Some(false) => "unsigned",
        None => "signedness unknown",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn field_words(f: &FieldShape) -> String {
    format!(
        "offset {}, size {}, type {}, {}",
        f.offset,
        f.size,
        f.type_text,
        signed_words(f.signed)
    )
}

fn field_change_words(old: &FieldShape, new: &FieldShape) -> String {
    let mut parts = Vec::new();
    if old.offset != new.offset {
        parts.push(format!("offset {} → {}", old.offset, new.offset));
    }
    if old.size != new.size {
        parts.push(format!("size {} → {}", old.size, new.size));
    }
    if old.type_text != new.type_text {
        parts.push(format!("type {} → {}", old.type_text, new.type_text));
    }
    if old.signed != new.signed {
        parts.push(format!(
            "{} → {}",
            signed_words(old.signed),
            signed_words(new.signed)
        ));
    }
    parts.join(", ")
}

fn arg_words(a: &ArgShape) -> String {
    format!("type {}, size {}", a.type_text, size_words(a.size))
}

fn arg_change_words(old: &ArgShape, new: &ArgShape) -> String {
    let mut parts = Vec::new();
    if old.name != new.name {
        parts.push(format!("name {} → {}", old.name, new.name));
    }
    if old.type_text != new.type_text {
        parts.push(format!("type {} → {}", old.type_text, new.type_text));
    }
    if old.size != new.size {
        parts.push(format!(
            "size {} → {}",
            size_words(old.size),
            size_words(new.size)
        ));
    }
    parts.join(", ")
}

fn mark(change: ChangeKind) -> char {
    match change {
        ChangeKind::Added => '+',
        ChangeKind::Removed => '-',
        ChangeKind::Changed => '~',
    }
}

/// The text report. Names come from the kernels' files, so they are
/// printed escaped.
pub fn write_text(out: &mut dyn Write, comparison: &Comparison, style: Style) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(64 * 1024);
    for change in &comparison.changes {
        write_point(&mut buffer, change, style)?;
        if buffer.len() >= 60 * 1024 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
    for count in &comparison.counts {
        writeln!(
            out,
            "{}: {} added, {} removed, {} changed, {} unchanged",
            kinds_words(&count.kinds),
            count.added,
            count.removed,
            count.changed,
            count.unchanged
        )?;
    }
    Ok(())
}

fn write_point(out: &mut Vec<u8>, change: &PointChange, style: Style) -> io::Result<()> {
    let head = format!("{} {}", mark(change.change), printable(&change.probe));
    writeln!(out, "{}", style.bold(&head))?;
    let d = change.detail();
    for field in &d.fields {
        let name = printable(&field.name);
        match (&field.old, &field.new) {
            (Some(o), Some(n)) => writeln!(out, "    {name}: {}", field_change_words(o, n))?,
            (None, Some(n)) => writeln!(out, "    + {name}: {}", printable(&field_words(n)))?,
            (Some(o), None) => writeln!(out, "    - {name}: {}", printable(&field_words(o)))?,
            (None, None) => {}
        }
    }
    if let Some(Pair { old, new }) = d.fixed_size {
        writeln!(out, "    record size: {old} → {new}")?;
    }
    if let Some(Pair { old, new }) = &d.return_value {
        let mut parts = Vec::new();
        if old.0 != new.0 {
            parts.push(format!("type {} → {}", old.0, new.0));
        }
        if old.1 != new.1 {
            parts.push(format!(
                "size {} → {}",
                size_words(old.1),
                size_words(new.1)
            ));
        }
        writeln!(out, "    return: {}", printable(&parts.join(", ")))?;
    }
    for arg in &d.args {
        let position = arg.position;
        match (&arg.old, &arg.new) {
            (Some(o), Some(n)) => writeln!(
                out,
                "    arg {position} {}: {}",
                printable(&o.name),
                printable(&arg_change_words(o, n))
            )?,
            (None, Some(n)) => writeln!(
                out,
                "    + arg {position} {}: {}",
                printable(&n.name),
                printable(&arg_words(n))
            )?,
            (Some(o), None) => writeln!(
                out,
                "    - arg {position} {}: {}",
                printable(&o.name),
                printable(&arg_words(o))
            )?,
            (None, None) => {}
        }
    }
    if let Some(Pair { old, new }) = d.varargs {
        writeln!(out, "    varargs: {} → {}", yes_no(old), yes_no(new))?;
    }
    if let Some(Pair { old, new }) = d.traceable {
        writeln!(out, "    traceable: {} → {}", yes_no(old), yes_no(new))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct OldNew<T> {
    old: T,
    new: T,
}

impl<T: Clone> OldNew<T> {
    fn of(pair: &Pair<T>) -> OldNew<T> {
        OldNew {
            old: pair.old.clone(),
            new: pair.new.clone(),
        }
    }
}

#[derive(Serialize)]
struct FieldJson<'a> {
    #[serde(rename = "type")]
    type_text: &'a str,
    offset: u64,
    size: u64,
    signed: Option<bool>,
}

impl<'a> FieldJson<'a> {
    fn of(f: &'a FieldShape) -> FieldJson<'a> {
        FieldJson {
            type_text: &f.type_text,
            offset: f.offset,
            size: f.size,
            signed: f.signed,
        }
    }
}

#[derive(Serialize)]
struct FieldChangeJson<'a> {
    name: &'a str,
    change: &'static str,
    old: Option<FieldJson<'a>>,
    new: Option<FieldJson<'a>>,
}

#[derive(Serialize)]
struct ArgJson<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_text: &'a str,
    size: Option<u64>,
}

impl<'a> ArgJson<'a> {
    fn of(a: &'a ArgShape) -> ArgJson<'a> {
        ArgJson {
            name: &a.name,
            type_text: &a.type_text,
            size: a.size,
        }
    }
}

#[derive(Serialize)]
struct ArgChangeJson<'a> {
    position: usize,
    change: &'static str,
    old: Option<ArgJson<'a>>,
    new: Option<ArgJson<'a>>,
}

#[derive(Serialize)]
struct ReturnJson<'a> {
    #[serde(rename = "type")]
    type_text: &'a str,
    size: Option<u64>,
}

/// One point's object. Which detail keys it has depends on its kind.
#[derive(Serialize)]
struct PointJson<'a> {
    #[serde(rename = "type")]
    object: &'static str,
    probe: &'a str,
    kind: &'static str,
    also: Vec<&'static str>,
    change: &'static str,
    #[serde(flatten)]
    tracepoint: Option<TracepointJson<'a>>,
    #[serde(flatten)]
    signature: Option<SignatureJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traceable: Option<Option<OldNew<bool>>>,
}

#[derive(Serialize)]
struct TracepointJson<'a> {
    fixed_size: Option<OldNew<u64>>,
    fields: Vec<FieldChangeJson<'a>>,
}

#[derive(Serialize)]
struct SignatureJson<'a> {
    #[serde(rename = "return")]
    return_value: Option<OldNew<ReturnJson<'a>>>,
    varargs: Option<OldNew<bool>>,
    args: Vec<ArgChangeJson<'a>>,
}

#[derive(Serialize)]
struct CountJson {
    kinds: Vec<&'static str>,
    added: usize,
    removed: usize,
    changed: usize,
    unchanged: usize,
}

#[derive(Serialize)]
struct NotComparedJson<'a> {
    kinds: Vec<&'static str>,
    reason: &'a str,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    #[serde(rename = "type")]
    object: &'static str,
    old: &'a str,
    new: &'a str,
    differs: bool,
    compared: Vec<CountJson>,
    not_compared: Vec<NotComparedJson<'a>>,
}

fn names(kinds: &[ProbeKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.name()).collect()
}

/// JSON Lines: one object per point that differs, then the summary.
pub fn write_json(
    out: &mut dyn Write,
    comparison: &Comparison,
    old_label: &str,
    new_label: &str,
) -> io::Result<()> {
    use crate::snapshot::inventory::Family;
    let mut buffer = Vec::with_capacity(64 * 1024);
    for change in &comparison.changes {
        let d = change.detail();
        let tracepoint = (change.family == Family::Tracepoint).then(|| TracepointJson {
            fixed_size: d.fixed_size.as_ref().map(OldNew::of),
            fields: d
                .fields
                .iter()
                .map(|f| FieldChangeJson {
                    name: &f.name,
                    change: f.kind().word(),
                    old: f.old.as_ref().map(FieldJson::of),
                    new: f.new.as_ref().map(FieldJson::of),
                })
                .collect(),
        });
        let signature =
            matches!(change.family, Family::Fentry | Family::RawTracepoint).then(|| {
                SignatureJson {
                    return_value: d.return_value.as_ref().map(|p| OldNew {
                        old: ReturnJson {
                            type_text: &p.old.0,
                            size: p.old.1,
                        },
                        new: ReturnJson {
                            type_text: &p.new.0,
                            size: p.new.1,
                        },
                    }),
                    varargs: d.varargs.as_ref().map(OldNew::of),
                    args: d
                        .args
                        .iter()
                        .map(|a| ArgChangeJson {
                            position: a.position,
                            change: a.kind().word(),
                            old: a.old.as_ref().map(ArgJson::of),
                            new: a.new.as_ref().map(ArgJson::of),
                        })
                        .collect(),
                }
            });
        let traceable = matches!(change.family, Family::Fentry | Family::Kprobe)
            .then(|| d.traceable.as_ref().map(OldNew::of));
        let object = PointJson {
            object: "point",
            probe: &change.probe,
            kind: change.kind.name(),
            also: change.also.iter().map(|k| k.name()).collect(),
            change: change.change.word(),
            tracepoint,
            signature,
            traceable,
        };
        serde_json::to_writer(&mut buffer, &object)?;
        buffer.push(b'\n');
        if buffer.len() >= 60 * 1024 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
    let summary = SummaryJson {
        object: "summary",
        old: old_label,
        new: new_label,
        differs: comparison.differs(),
        compared: comparison
            .counts
            .iter()
            .map(|c| CountJson {
                kinds: names(&c.kinds),
                added: c.added,
                removed: c.removed,
                changed: c.changed,
                unchanged: c.unchanged,
            })
            .collect(),
        not_compared: comparison
            .not_compared
            .iter()
            .map(|n| NotComparedJson {
                kinds: names(&n.kinds),
                reason: &n.reason,
            })
            .collect(),
    };
    serde_json::to_writer(&mut *out, &summary)?;
    writeln!(out)
}

//! The view of `probedex features`: one line per kind tried, the reason
//! under each that failed, then the program types in one summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::text::printable;
use super::Style;
use crate::probes::features::{errno_name, Finding};

/// One kind tried: a `features --json` line (see docs/json.md), and what
/// the text view is drawn from, so a snapshot's stored lines print as the
/// live run did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureRow {
    pub sec: String,
    pub prog_type: String,
    pub attach_type: Option<String>,
    pub target: Option<String>,
    pub available: bool,
    pub tried: String,
    pub failed_stage: Option<String>,
    pub errno: Option<i32>,
    pub errno_name: Option<String>,
    pub reason: Option<String>,
    pub log: Option<String>,
}

/// The rows of what `features` found.
pub fn rows(findings: &[Finding]) -> Vec<FeatureRow> {
    findings
        .iter()
        .map(|f| {
            let failure = f.failure.as_ref();
            FeatureRow {
                sec: f.sec.to_string(),
                prog_type: f.prog_type.to_string(),
                attach_type: f.attach_type.map(str::to_string),
                target: f.target.clone(),
                available: f.available(),
                tried: f.tried.name().to_string(),
                failed_stage: failure.map(|x| x.stage.name().to_string()),
                errno: failure.and_then(|x| x.errno),
                errno_name: failure.and_then(|x| x.errno).map(errno_name),
                reason: failure.map(|x| x.reason.clone()),
                log: failure.and_then(|x| x.log.clone()),
            }
        })
        .collect()
}

/// Program types in first-seen order, each available when any kind of it is.
pub fn prog_types(rows: &[FeatureRow]) -> Vec<(&str, bool)> {
    let mut order = Vec::new();
    let mut available: BTreeMap<&str, bool> = BTreeMap::new();
    for row in rows {
        let entry = available.entry(row.prog_type.as_str()).or_insert_with(|| {
            order.push(row.prog_type.as_str());
            false
        });
        *entry |= row.available;
    }
    order.into_iter().map(|t| (t, available[t])).collect()
}

pub fn write(out: &mut dyn Write, rows: &[FeatureRow], json: bool, style: Style) -> io::Result<()> {
    if json {
        for row in rows {
            serde_json::to_writer(&mut *out, row)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{:<19} {:<38} {:<9} {}",
            "SEC", "PROGRAM TYPE / ATTACH TYPE", "AVAILABLE", "TRIED"
        ))
    )?;
    for f in rows {
        let types = match &f.attach_type {
            Some(attach) => format!("{}/{attach}", f.prog_type),
            None => f.prog_type.clone(),
        };
        let errno = f
            .errno
            .map_or_else(String::new, |e| format!(": {}", errno_name(e)));
        let how = match (f.failed_stage.as_deref(), f.target.as_deref()) {
            (None, Some(target)) if f.tried == "attach" => {
                format!("loaded, attached to {target}, detached")
            }
            (None, _) if f.tried == "probe" => "libbpf's probe load (as bpftool)".into(),
            (None, _) => "loaded".into(),
            (Some("attach"), Some(target)) => format!("attach to {target} failed{errno}"),
            (Some(stage), Some(target)) if f.tried == "attach" => {
                format!("{stage} failed{errno} (target {target})")
            }
            (Some(stage), _) => format!("{stage} failed{errno}"),
        };
        let yes_no = if f.available { "yes" } else { "NO" };
        writeln!(
            out,
            "{:<19} {:<38} {:<9} {}",
            f.sec,
            types,
            yes_no,
            printable(&how)
        )?;
        if !f.available {
            if let Some(reason) = &f.reason {
                writeln!(out, "    {}", printable(reason))?;
            }
            if let Some(log) = &f.log {
                writeln!(out, "    {}", style.dim(&printable(log)))?;
            }
        }
    }
    let types = prog_types(rows);
    let names = |want: bool| -> String {
        let list: Vec<&str> = types
            .iter()
            .filter(|(_, a)| *a == want)
            .map(|(t, _)| *t)
            .collect();
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        }
    };
    writeln!(out)?;
    writeln!(
        out,
        "program types (available when any kind of the type works):"
    )?;
    writeln!(out, "  available:     {}", names(true))?;
    writeln!(out, "  NOT available: {}", names(false))?;
    Ok(())
}

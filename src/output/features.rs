//! The view of `probedex features`: one line per kind tried, the reason
//! under each that failed, then the program types in one summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::text::printable;
use super::Style;
use crate::probes::features::{errno_name, Finding};

/// One `features --json` line (see docs/json.md).
#[derive(Debug, Serialize)]
struct FeatureJson<'f> {
    sec: &'f str,
    prog_type: &'f str,
    attach_type: Option<&'f str>,
    target: Option<&'f str>,
    available: bool,
    tried: &'f str,
    failed_stage: Option<&'f str>,
    errno: Option<i32>,
    errno_name: Option<String>,
    reason: Option<&'f str>,
    log: Option<&'f str>,
}

/// Program types in first-seen order, each available when any kind of it is.
pub fn prog_types(findings: &[Finding]) -> Vec<(&'static str, bool)> {
    let mut order = Vec::new();
    let mut available: BTreeMap<&str, bool> = BTreeMap::new();
    for f in findings {
        let entry = available.entry(f.prog_type).or_insert_with(|| {
            order.push(f.prog_type);
            false
        });
        *entry |= f.available();
    }
    order.into_iter().map(|t| (t, available[t])).collect()
}

pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    json: bool,
    style: Style,
) -> io::Result<()> {
    if json {
        for f in findings {
            let failure = f.failure.as_ref();
            let line = FeatureJson {
                sec: f.sec,
                prog_type: f.prog_type,
                attach_type: f.attach_type,
                target: f.target.as_deref(),
                available: f.available(),
                tried: f.tried.name(),
                failed_stage: failure.map(|x| x.stage.name()),
                errno: failure.and_then(|x| x.errno),
                errno_name: failure.and_then(|x| x.errno).map(errno_name),
                reason: failure.map(|x| x.reason.as_str()),
                log: failure.and_then(|x| x.log.as_deref()),
            };
            serde_json::to_writer(&mut *out, &line)?;
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
    for f in findings {
        let types = match f.attach_type {
            Some(attach) => format!("{}/{attach}", f.prog_type),
            None => f.prog_type.to_string(),
        };
        let how = match (&f.failure, f.target.as_deref()) {
            (None, Some(target)) if f.tried.name() == "attach" => {
                format!("loaded, attached to {target}, detached")
            }
            (None, _) if f.tried.name() == "probe" => "libbpf's probe load (as bpftool)".into(),
            (None, _) => "loaded".into(),
            (Some(failure), target) => {
                let errno = failure
                    .errno
                    .map_or_else(String::new, |e| format!(": {}", errno_name(e)));
                match (failure.stage.name(), target) {
                    ("attach", Some(target)) => format!("attach to {target} failed{errno}"),
                    (stage, Some(target)) if f.tried.name() == "attach" => {
                        format!("{stage} failed{errno} (target {target})")
                    }
                    (stage, _) => format!("{stage} failed{errno}"),
                }
            }
        };
        let yes_no = if f.available() { "yes" } else { "NO" };
        writeln!(
            out,
            "{:<19} {:<38} {:<9} {}",
            f.sec,
            types,
            yes_no,
            printable(&how)
        )?;
        if let Some(failure) = &f.failure {
            writeln!(out, "    {}", printable(&failure.reason))?;
            if let Some(log) = &failure.log {
                writeln!(out, "    {}", style.dim(&printable(log)))?;
            }
        }
    }
    let types = prog_types(findings);
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

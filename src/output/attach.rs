//! `probedex attach`'s report: a table sorted by hits, or JSON Lines (one
//! object per point, then a summary object).

use std::io::{self, Write};

use serde::Serialize;

use super::sample::{self, SampleJson};
use super::text::printable;
use crate::format::record_decode::Sample;

/// What happened at one point.
#[derive(Debug, Clone)]
pub struct PointReport {
    pub probe: String,
    /// The bpf_link type (`perf_event`, `raw_tracepoint`) when it attached;
    /// `raw_tracepoint:sys_enter` / `raw_tracepoint:sys_exit` for a syscall
    /// tracepoint counted by number on the link it shares with the others.
    pub link: Option<&'static str>,
    pub hits: u64,
    /// Why it did not attach.
    pub reason: Option<String>,
    /// `--sample`: its first records, decoded; None when not sampled.
    pub samples: Option<Vec<Sample>>,
}

impl PointReport {
    pub fn verdict(&self) -> &'static str {
        match (self.link, self.hits) {
            (None, _) => "not attached",
            (Some(_), 0) => "never fired",
            (Some(_), _) => "fired",
        }
    }
}

/// The run as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct AttachSummary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub points: usize,
    pub attached: usize,
    pub fired: usize,
    /// `command` (the command's process tree) or `all`.
    pub filter: &'static str,
    /// The command's exit code; None without a command or when a signal
    /// ended it.
    pub command_exit: Option<i32>,
    /// The signal that ended the command (`SIGTERM`), when one did.
    pub command_signal: Option<String>,
    /// What ended the counting: `command` (it exited), `duration`
    /// (`--duration` ran out; a command still running was sent SIGTERM,
    /// then SIGKILL) or `signal` (SIGINT or SIGTERM to probedex, passed on
    /// to the command the same way).
    pub ended_by: &'static str,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
struct PointJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    probe: &'a str,
    attached: bool,
    link: Option<&'static str>,
    /// Null when the point did not attach: nothing was counted, which is
    /// not the same as counting zero (as the text view's `-` says).
    hits: Option<u64>,
    verdict: &'static str,
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples: Option<Vec<SampleJson<'a>>>,
}

/// Sorts by hits, most first, then by name.
pub fn sort(points: &mut [PointReport]) {
    points.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.probe.cmp(&b.probe)));
}

pub fn write_json(
    out: &mut dyn Write,
    points: &[PointReport],
    summary: &AttachSummary,
) -> io::Result<()> {
    for p in points {
        let json = PointJson {
            kind: "point",
            probe: &p.probe,
            attached: p.link.is_some(),
            link: p.link,
            hits: p.link.map(|_| p.hits),
            verdict: p.verdict(),
            reason: p.reason.as_deref(),
            samples: p
                .samples
                .as_ref()
                .map(|s| s.iter().map(SampleJson::new).collect()),
        };
        serde_json::to_writer(&mut *out, &json)?;
        writeln!(out)?;
    }
    serde_json::to_writer(&mut *out, summary)?;
    writeln!(out)
}

pub fn write_text(
    out: &mut dyn Write,
    points: &[PointReport],
    summary: &AttachSummary,
) -> io::Result<()> {
    let width = points
        .iter()
        .map(|p| p.probe.chars().count())
        .max()
        .unwrap_or(0)
        .max("POINT".len());
    let link_width = points
        .iter()
        .map(|p| p.link.map_or(1, str::len))
        .max()
        .unwrap_or(0)
        .max("LINK".len());
    writeln!(
        out,
        "{:<width$}  {:<link_width$}  {:>10}  VERDICT",
        "POINT", "LINK", "HITS"
    )?;
    for p in points {
        let verdict = match &p.reason {
            Some(reason) => format!("{}: {}", p.verdict(), reason),
            None => p.verdict().to_string(),
        };
        let hits = if p.link.is_some() {
            p.hits.to_string()
        } else {
            "-".to_string()
        };
        writeln!(
            out,
            "{:<width$}  {:<link_width$}  {:>10}  {}",
            printable(&p.probe),
            p.link.unwrap_or("-"),
            hits,
            printable(&verdict)
        )?;
        if let Some(samples) = &p.samples {
            sample::write_text(out, "    ", samples)?;
        }
    }
    writeln!(
        out,
        "{} point(s): {} attached, {} fired; counted {} for {:.3} s",
        summary.points,
        summary.attached,
        summary.fired,
        if summary.filter == "all" {
            "system-wide"
        } else {
            "the command's process tree"
        },
        summary.seconds
    )?;
    if let Some(note) = ending_note(summary) {
        writeln!(out, "{note}")?;
    }
    Ok(())
}

/// How a run that did not end with its command ended, in words; None
/// when the command ended it, or nothing needs saying.
fn ending_note(summary: &AttachSummary) -> Option<String> {
    let ran_command = summary.command_exit.is_some() || summary.command_signal.is_some();
    let cause = match summary.ended_by {
        "duration" if ran_command => "--duration ran out while the command was running",
        "signal" if ran_command => "interrupted while the command was running",
        "signal" if summary.filter == "command" => "interrupted before the command was started",
        _ => return None,
    };
    let end = match (&summary.command_signal, summary.command_exit) {
        (Some(signal), _) => format!("it was ended by {signal}"),
        (None, Some(code)) => format!("it exited with {code}"),
        (None, None) => return Some(format!("{cause}.")),
    };
    Some(format!(
        "{cause}: it was sent SIGTERM (SIGKILL {} s later if still running); {end}.",
        crate::probes::workload::GRACE.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_a_run_ended_in_words() {
        let summary = |ended_by, command_exit, command_signal: Option<&str>| AttachSummary {
            kind: "summary",
            points: 1,
            attached: 1,
            fired: 1,
            filter: "command",
            command_exit,
            command_signal: command_signal.map(String::from),
            ended_by,
            seconds: 0.3,
        };
        assert_eq!(ending_note(&summary("command", Some(0), None)), None);
        assert_eq!(
            ending_note(&summary("duration", None, Some("SIGKILL"))).as_deref(),
            Some(
                "--duration ran out while the command was running: it was sent SIGTERM \
                 (SIGKILL 2 s later if still running); it was ended by SIGKILL."
            )
        );
        // A command that caught SIGTERM and exited.
        assert_eq!(
            ending_note(&summary("signal", Some(130), None)).as_deref(),
            Some(
                "interrupted while the command was running: it was sent SIGTERM (SIGKILL 2 s \
                 later if still running); it exited with 130."
            )
        );
        assert_eq!(
            ending_note(&summary("signal", None, None)).as_deref(),
            Some("interrupted before the command was started.")
        );
        // Without a command, being interrupted is the normal end.
        let mut system_wide = summary("signal", None, None);
        system_wide.filter = "all";
        assert_eq!(ending_note(&system_wide), None);
    }

    #[test]
    fn sorted_by_hits_then_name() {
        let point = |probe: &str, hits| PointReport {
            probe: probe.into(),
            link: Some("perf_event"),
            hits,
            reason: None,
            samples: None,
        };
        let mut points = vec![point("b", 1), point("a", 1), point("c", 5), point("d", 0)];
        sort(&mut points);
        let order: Vec<&str> = points.iter().map(|p| p.probe.as_str()).collect();
        assert_eq!(order, ["c", "a", "b", "d"]);
        assert_eq!(points[3].verdict(), "never fired");
    }
}

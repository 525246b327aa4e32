//! `probedex snapshot -o FILE`, `probedex capture DIR`, and opening the
//! snapshots `--snapshot FILE` names.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{Context, Io, Outcome, RunError};
use crate::error::{Error, ExitStatus};
use crate::output::features as features_view;
use crate::output::Style;
use crate::probes::features;
use crate::snapshot::archive::{self, Content, Header, KernelInfo, ReadError};
use crate::snapshot::collect::{self, CollectError, Collected};
use crate::snapshot::SnapshotFiles;
use crate::system::System;

/// A snapshot named on the command line, opened.
#[derive(Debug)]
pub(super) struct Opened {
    pub header: Header,
    pub files: Arc<SnapshotFiles>,
    /// How to name its kernel to the user: `FILE (Linux RELEASE)`.
    pub label: String,
}

pub(super) fn open(path: &Path) -> Result<Opened, Error> {
    let (header, files) = archive::read(path).map_err(|e| {
        let status = match &e {
            ReadError::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                ExitStatus::Refused
            }
            _ => ExitStatus::BadInput,
        };
        Error::new(status, format!("--snapshot {}: {e}", path.display()))
    })?;
    let label = match &header.kernel.release {
        Some(release) => format!("{} (Linux {release})", path.display()),
        None => path.display().to_string(),
    };
    let files = Arc::new(files);
    // Nearly every command reads BTF and tracefs: expand them on another
    // core meanwhile (a read that comes first waits for it, or does it).
    let ahead = Arc::clone(&files);
    std::thread::spawn(move || {
        ahead.prefetch("/sys/kernel/btf/vmlinux");
        ahead.prefetch("/sys/kernel/tracing/available_events");
    });
    Ok(Opened {
        header,
        files,
        label,
    })
}

fn collect_error(ctx: &Context, e: CollectError) -> Error {
    match e {
        CollectError::Tracefs(e) => Error::from(e),
        CollectError::Discover(e) => ctx.discover_error(&e),
    }
}

/// What `probedex features` finds, as the JSON objects it prints; `None`
/// when it cannot run here (not live, or not root).
fn features_found(ctx: &Context, io: &mut Io<'_>) -> Option<Vec<serde_json::Value>> {
    if ctx.system.is_snapshot() {
        return ctx
            .snapshot_header
            .as_ref()
            .and_then(|h| h.features.clone());
    }
    // SAFETY: geteuid has no preconditions.
    if !ctx.system.is_live() || unsafe { libc::geteuid() } != 0 {
        io.notice(
            "program kinds were not tried (that needs root on the live system); the snapshot \
             records no features",
        );
        return None;
    }
    let found = features::try_all().ok()?;
    let mut lines = Vec::new();
    features_view::write(
        &mut lines,
        &features_view::rows(&found.findings),
        true,
        Style::plain(),
    )
    .ok()?;
    lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).ok())
        .collect()
}

#[derive(Debug, Serialize)]
struct Written<'a> {
    snapshot: String,
    bytes: u64,
    files: usize,
    tracepoints: usize,
    kernel: &'a KernelInfo,
    features: bool,
}

pub(super) fn run_snapshot(
    ctx: &Context,
    output: &Path,
    io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    // Written next to the target and renamed, so an interrupted run never
    // leaves half a snapshot under the name. Opened first: a bad path
    // fails before the work.
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let file = std::fs::File::create(&partial).map_err(|e| cannot_write(output, &e))?;
    if let Ok(tracefs) = ctx.system.tracefs() {
        ctx.announce_mount(&tracefs, io);
    }
    let collected = match collect::collect(&ctx.system) {
        Ok(collected) if collected.files.is_empty() => Err(Error::bad_input(format!(
            "snapshot: {} holds nothing that describes a kernel (no tracefs, BTF or kallsyms)",
            source_words(ctx)
        ))),
        Ok(collected) => Ok(collected),
        Err(e) => Err(collect_error(ctx, e)),
    };
    let collected = match collected {
        Ok(collected) => collected,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    for warning in &collected.warnings {
        io.warn(warning);
    }
    let features = features_found(ctx, io);
    let Collected { files, kernel, .. } = collected;
    let tracepoints = files.iter().filter(|(p, _)| p.ends_with("/format")).count();
    let file_count = files.len();
    let header = Header {
        format: archive::FORMAT.into(),
        version: archive::VERSION,
        probedex: env!("CARGO_PKG_VERSION").into(),
        // A snapshot of a snapshot (rewriting one in the current format)
        // describes the system when it was first captured.
        captured_unix: match &ctx.snapshot_header {
            Some(h) if ctx.system.is_snapshot() => h.captured_unix,
            _ => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        },
        source: if ctx.system.is_live() {
            "live".into()
        } else if ctx.system.is_snapshot() {
            ctx.snapshot_header
                .as_ref()
                .map_or_else(|| "snapshot".into(), |h| h.source.clone())
        } else {
            ctx.system.root().display().to_string()
        },
        kernel: kernel.clone(),
        features: features.clone(),
        frames: Vec::new(),
        groups: Vec::new(),
        files: Vec::new(),
    };
    let written = {
        let mut out = std::io::BufWriter::new(file);
        archive::write(&mut out, header, files)
            .and_then(|()| out.flush())
            .and_then(|()| std::fs::rename(&partial, output))
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(cannot_write(output, &e).into());
    }
    let bytes = std::fs::metadata(output).map_or(0, |m| m.len());
    let report = Written {
        snapshot: output.display().to_string(),
        bytes,
        files: file_count,
        tracepoints,
        kernel: &kernel,
        features: features.is_some(),
    };
    if ctx.json {
        serde_json::to_writer(&mut *io.out, &report).map_err(std::io::Error::from)?;
        writeln!(io.out)?;
    } else {
        let machine = kernel
            .machine
            .as_deref()
            .map_or(String::new(), |m| format!(" {m}"));
        writeln!(
            io.out,
            "{}: Linux {}{machine}, {} tracepoints, {} files, {:.1} MB{}",
            report.snapshot,
            kernel.release.as_deref().unwrap_or("(release unknown)"),
            tracepoints,
            file_count,
            bytes as f64 / 1e6,
            if report.features {
                ", program kinds tried"
            } else {
                ""
            }
        )?;
    }
    Ok(Outcome::Matched)
}

pub(super) fn run_capture(ctx: &Context, dir: &Path, io: &mut Io<'_>) -> Result<Outcome, RunError> {
    if dir
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(Error::bad_input(format!(
            "capture: {} exists and is not empty; name a new directory",
            dir.display()
        ))
        .into());
    }
    if let Ok(tracefs) = ctx.system.tracefs() {
        ctx.announce_mount(&tracefs, io);
    }
    let collected = collect::collect(&ctx.system).map_err(|e| collect_error(ctx, e))?;
    for warning in &collected.warnings {
        io.warn(warning);
    }
    let mut written = 0usize;
    for (path, content) in &collected.files {
        let target = dir.join(path.trim_start_matches('/'));
        let result = match content {
            Content::File(bytes) => target
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&target, bytes)),
            Content::Dir => std::fs::create_dir_all(&target),
            // A tree cannot say "reading this failed with EPERM": leave the
            // file out, as a system without it would.
            Content::Error(_) => continue,
        };
        result.map_err(|e| {
            Error::new(
                ExitStatus::BadInput,
                format!("capture: cannot write {}: {e}", target.display()),
            )
        })?;
        written += 1;
    }
    if ctx.json {
        serde_json::to_writer(
            &mut *io.out,
            &serde_json::json!({"capture": dir.display().to_string(), "files": written,
                                "kernel": collected.kernel}),
        )
        .map_err(std::io::Error::from)?;
        writeln!(io.out)?;
    } else {
        writeln!(
            io.out,
            "{}: {written} files of Linux {}; read it with --root {}",
            dir.display(),
            collected
                .kernel
                .release
                .as_deref()
                .unwrap_or("(release unknown)"),
            dir.display()
        )?;
    }
    Ok(Outcome::Matched)
}

fn cannot_write(output: &Path, e: &std::io::Error) -> Error {
    Error::new(
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            ExitStatus::Refused
        } else {
            ExitStatus::BadInput
        },
        format!("snapshot: cannot write {}: {e}", output.display()),
    )
}

/// "this system", "--root DIR" or "the snapshot", for messages.
fn source_words(ctx: &Context) -> String {
    if ctx.system.is_live() {
        "this system".into()
    } else if ctx.system.is_snapshot() {
        "the snapshot".into()
    } else {
        format!("--root {}", ctx.system.root().display())
    }
}

/// The system a `diff` side names: `live`, a snapshot file, or a tree.
pub(super) fn side(name: &str) -> Result<(System, Option<Header>, String), Error> {
    if name == "live" {
        return Ok((System::live(), None, "live".into()));
    }
    let path = Path::new(name);
    if path.is_dir() {
        return Ok((System::at_root(path)?, None, name.to_string()));
    }
    let opened = open(path).map_err(|mut e| {
        e.message = e.message.replacen("--snapshot ", "diff: ", 1);
        e
    })?;
    Ok((
        System::from_snapshot(opened.files),
        Some(opened.header),
        opened.label,
    ))
}

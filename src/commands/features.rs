//! `probedex features`: which program types and attach kinds work on the
//! running kernel, by trying each (see `probes::features`).

use super::{Context, Io, Outcome, RunError};
use crate::error::{Error, ExitStatus};
use crate::output::features as view;
use crate::probes::features::{self, errno_name, FeaturesError};

pub(super) fn run(ctx: &Context, io: &mut Io<'_>) -> Result<Outcome, RunError> {
    if ctx.system.is_snapshot() {
        return from_snapshot(ctx, io);
    }
    if !ctx.system.is_live() {
        return Err(Error::bad_input(
            "features: tries the running kernel by loading programs; --root does not apply",
        )
        .into());
    }
    // Tracepoint attach reads the event id from tracefs: mount it first,
    // as every other command does, and say so.
    if let Ok(tracefs) = ctx.system.tracefs() {
        ctx.announce_mount(&tracefs, io);
    }
    let found = features::try_all().map_err(|e| match e {
        FeaturesError::NoCapability => Error::new(
            ExitStatus::Refused,
            "features: loading BPF programs needs root: run probedex with sudo, or give it \
             CAP_BPF and CAP_PERFMON (and CAP_NET_ADMIN for the networking types)",
        ),
        FeaturesError::NoPermission(errno) => Error::new(
            ExitStatus::Refused,
            format!(
                "features: the kernel refused to load even a socket filter ({}): run probedex \
                 as root (sudo), or give it CAP_BPF and CAP_PERFMON (and CAP_NET_ADMIN for the \
                 networking types)",
                errno_name(errno)
            ),
        ),
    })?;
    view::write(io.out, &view::rows(&found.findings), ctx.json, ctx.style)?;
    Ok(Outcome::Matched)
}

/// What `features` found when the snapshot was taken.
fn from_snapshot(ctx: &Context, io: &mut Io<'_>) -> Result<Outcome, RunError> {
    let label = ctx.kernel_label.as_deref().unwrap_or("the snapshot");
    let stored = ctx
        .snapshot_header
        .as_ref()
        .and_then(|h| h.features.as_ref())
        .ok_or_else(|| {
            Error::nothing_matched(format!(
                "features: {label} records no features: program kinds are tried only when a \
                 snapshot is taken live, as root"
            ))
        })?;
    let rows: Vec<view::FeatureRow> = stored
        .iter()
        .map(|value| serde_json::from_value(value.clone()))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            Error::bad_input(format!(
                "features: {label}: a stored feature is damaged: {e}"
            ))
        })?;
    view::write(io.out, &rows, ctx.json, ctx.style)?;
    Ok(Outcome::Matched)
}

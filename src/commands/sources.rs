//! What a command reads from the system, loaded once per run and only for
//! the kinds its patterns select.
//!
//! A kind the user named (`fentry:*`) must have its source: a missing or
//! unusable one is an error that says what the kernel lacks. A kind only
//! implied (a bare word searches every kernel kind) is
//! * left out quietly when its source is *absent* (no BTF on this kernel, no
//!   tracefs in a captured tree): such a kernel simply has no such points;
//! * left out when its source *failed* (permission denied, a bad
//!   `PROBEDEX_TRACEFS`), but the failure is kept: the command still prints
//!   what the other kinds found, then reports it with its exit code, so
//!   neither a person nor a script mistakes a partial list for a whole one.

use super::{Context, Io};
use crate::discover::btf::{self, BtfFiles, KernelTypes};
use crate::error::{Error, ExitStatus};
use crate::format::btf::Btf;
use crate::probe::{ProbeKind, ProbePattern, TracepointId};
use crate::system::Tracefs;

pub(super) struct Sources {
    tracepoints: Option<(Tracefs, Vec<TracepointId>)>,
    btf: Option<BtfFiles>,
    /// Why implied kinds were left out: their source does not exist here.
    absent: Vec<Error>,
    /// Why implied kinds were left out: their source exists but failed.
    failed: Vec<Error>,
}

impl Sources {
    /// Kinds whose points come from BTF.
    pub fn needs_btf(kind: ProbeKind) -> bool {
        matches!(
            kind,
            ProbeKind::Fentry | ProbeKind::Fexit | ProbeKind::RawTracepoint
        )
    }

    /// Loads the sources of `kinds`; `types_wanted` also loads BTF, as a
    /// named source, for `show struct:NAME`.
    pub fn load(
        ctx: &Context,
        patterns: &[ProbePattern],
        kinds: &[ProbeKind],
        types_wanted: bool,
        io: &mut Io<'_>,
    ) -> Result<Sources, Error> {
        let named = |wanted: &dyn Fn(ProbeKind) -> bool| {
            patterns.iter().any(|p| p.kind().is_some_and(wanted))
        };
        let mut absent = Vec::new();
        let mut failed = Vec::new();

        let mut tracepoints = None;
        if kinds.contains(&ProbeKind::Tracepoint) {
            let explicit = named(&|k| k == ProbeKind::Tracepoint);
            match ctx.system.tracefs() {
                Ok(tracefs) => {
                    ctx.announce_mount(&tracefs, io);
                    match ctx.tracepoints(&tracefs) {
                        Ok(all) => tracepoints = Some((tracefs, all)),
                        Err(e) if explicit => return Err(e),
                        Err(e) => failed.push(e),
                    }
                }
                Err(e) => {
                    let is_absent = e.is_absent();
                    let error = Error::from(e);
                    if explicit {
                        return Err(error);
                    }
                    if is_absent {
                        absent.push(error);
                    } else {
                        failed.push(error);
                    }
                }
            }
        }

        let mut btf = None;
        if types_wanted || kinds.iter().any(|k| Self::needs_btf(*k)) {
            match btf::read(&ctx.system) {
                Ok(files) => btf = Some(files),
                Err(e) => {
                    let is_absent = e.is_not_found();
                    let error = if is_absent {
                        Error::new(
                            ExitStatus::Refused,
                            format!(
                                "{e}: this kernel has no BTF (built without \
                                 CONFIG_DEBUG_INFO_BTF, or older than 5.4); fentry, fexit and \
                                 raw tracepoint signatures and kernel types come from it"
                            ),
                        )
                    } else {
                        ctx.discover_error(&e)
                    };
                    if types_wanted || named(&Self::needs_btf) {
                        return Err(error);
                    }
                    if is_absent {
                        absent.push(error);
                    } else {
                        failed.push(error);
                    }
                }
            }
        }
        Ok(Sources {
            tracepoints,
            btf,
            absent,
            failed,
        })
    }

    pub fn tracepoints(&self) -> Option<(&Tracefs, &[TracepointId])> {
        self.tracepoints.as_ref().map(|(t, all)| (t, all.as_slice()))
    }

    /// vmlinux's BTF, when a selected kind needs it.
    pub fn vmlinux(&self, ctx: &Context) -> Result<Option<Btf<'_>>, Error> {
        self.btf
            .as_ref()
            .map(|files| btf::parse_vmlinux(files).map_err(|e| ctx.discover_error(&e)))
            .transpose()
    }

    /// The modules' BTF on top of `vmlinux`; a broken module is a warning.
    pub fn kernel_types<'a>(
        &'a self,
        vmlinux: Option<&'a Btf<'a>>,
        io: &mut Io<'_>,
    ) -> Option<KernelTypes<'a>> {
        let (files, vmlinux) = (self.btf.as_ref()?, vmlinux?);
        let (types, errors) = KernelTypes::parse(files, vmlinux);
        for e in errors {
            io.warn(&e.to_string());
        }
        Some(types)
    }

    /// The BTF file a module's (or vmlinux's) types came from, for display.
    pub fn btf_path(&self, module: Option<&str>) -> String {
        let Some(files) = &self.btf else {
            return String::new();
        };
        match module {
            None => files.vmlinux_path.display().to_string(),
            Some(m) => files
                .modules
                .iter()
                .find(|(name, _, _)| name == m)
                .map(|(_, path, _)| path.display().to_string())
                .unwrap_or_default(),
        }
    }

    /// How a run that found `total` points ends: the first failure of an
    /// implied kind (after printing what was found), or, when nothing was
    /// found because every source is absent, the first absence.
    pub fn ending(&self, total: usize) -> Option<Error> {
        if let Some(first) = self.failed.first() {
            return Some(first.clone());
        }
        let nothing_loaded = self.tracepoints.is_none() && self.btf.is_none();
        (total == 0 && nothing_loaded)
            .then(|| self.absent.first().cloned())
            .flatten()
    }
}

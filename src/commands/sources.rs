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
use crate::discover::kernel_functions::{self, FunctionIndex, FunctionTexts};
use crate::error::{Error, ExitStatus};
use crate::format::btf::Btf;
use crate::probe::{ProbeKind, ProbePattern, TracepointId};
use crate::system::{SystemError, Tracefs};

/// What the command will do with the sources beyond listing names.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Needs {
    /// `show struct:NAME`: BTF is required.
    pub types: bool,
    /// Signatures of kprobes (`-v`, `show`): BTF if there is any.
    pub kprobe_signatures: bool,
    /// Per-function facts (`show`): kallsyms even for fentry.
    pub function_details: bool,
    /// The BTF view of tracepoint records (`show`): BTF if there is any.
    pub record_structs: bool,
}

pub(super) struct Sources {
    tracefs: Option<Tracefs>,
    tracepoints: Option<Vec<TracepointId>>,
    btf: Option<BtfFiles>,
    functions: Option<FunctionTexts>,
    /// A kprobe kind was selected and a list of functions could be had.
    function_list: bool,
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

    pub fn load(
        ctx: &Context,
        patterns: &[ProbePattern],
        kinds: &[ProbeKind],
        needs: Needs,
        io: &mut Io<'_>,
    ) -> Result<Sources, Error> {
        let named = |wanted: &dyn Fn(ProbeKind) -> bool| {
            patterns.iter().any(|p| p.kind().is_some_and(wanted))
        };
        let wants = |wanted: &dyn Fn(ProbeKind) -> bool| kinds.iter().any(|k| wanted(*k));
        let mut sources = Sources {
            tracefs: None,
            tracepoints: None,
            btf: None,
            functions: None,
            function_list: false,
            absent: Vec::new(),
            failed: Vec::new(),
        };

        // tracefs: tracepoints live there, and ftrace's list of functions.
        let mut tracefs_error: Option<SystemError> = None;
        if wants(&|k| k == ProbeKind::Tracepoint || k.is_kprobe() || k.is_fentry()) {
            match ctx.system.tracefs() {
                Ok(tracefs) => {
                    ctx.announce_mount(&tracefs, io);
                    sources.tracefs = Some(tracefs);
                }
                Err(e) => tracefs_error = Some(e),
            }
        }

        if kinds.contains(&ProbeKind::Tracepoint) {
            let explicit = named(&|k| k == ProbeKind::Tracepoint);
            match (&sources.tracefs, tracefs_error) {
                (Some(tracefs), _) => match ctx.tracepoints(tracefs) {
                    Ok(all) => sources.tracepoints = Some(all),
                    Err(e) if explicit => return Err(e),
                    Err(e) => sources.failed.push(e),
                },
                (None, Some(e)) => {
                    let is_absent = e.is_absent();
                    let error = Error::from(e);
                    if explicit {
                        return Err(error);
                    }
                    if is_absent {
                        sources.absent.push(error);
                    } else {
                        sources.failed.push(error);
                    }
                }
                (None, None) => unreachable!("tracefs was looked for"),
            }
        }

        let btf_required = needs.types || wants(&Self::needs_btf);
        let btf_optional = (needs.kprobe_signatures && wants(&ProbeKind::is_kprobe))
            || (needs.record_structs && wants(&|k| k == ProbeKind::Tracepoint));
        if btf_required || btf_optional {
            // Parsing vmlinux's BTF once here (~2 ms) sorts a corrupt file
            // into the same bins as a missing one: fatal when BTF was asked
            // for, a recorded failure when it was only implied.
            match btf::read(&ctx.system).and_then(|files| {
                btf::parse_vmlinux(&files)?;
                Ok(files)
            }) {
                Ok(files) => sources.btf = Some(files),
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
                    if needs.types || named(&Self::needs_btf) {
                        return Err(error);
                    }
                    // kprobes list without signatures when BTF is absent.
                    if is_absent {
                        if btf_required {
                            sources.absent.push(error);
                        }
                    } else {
                        sources.failed.push(error);
                    }
                }
            }
        }

        if wants(&|k| k.is_kprobe() || k.is_fentry()) {
            let with_kallsyms = wants(&ProbeKind::is_kprobe) || needs.function_details;
            let texts =
                kernel_functions::read(&ctx.system, sources.tracefs.as_ref(), with_kallsyms);
            if wants(&ProbeKind::is_kprobe) {
                if let Err(e) = texts.check_list() {
                    let error = ctx.discover_error(&e);
                    if named(&ProbeKind::is_kprobe) {
                        return Err(error);
                    }
                    if e.is_not_found() {
                        sources.absent.push(error);
                    } else {
                        sources.failed.push(error);
                    }
                }
            }
            sources.function_list = wants(&ProbeKind::is_kprobe) && texts.check_list().is_ok();
            sources.functions = Some(texts);
        }
        Ok(sources)
    }

    pub fn tracepoints(&self) -> Option<(&Tracefs, &[TracepointId])> {
        Some((self.tracefs.as_ref()?, self.tracepoints.as_deref()?))
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

    pub fn function_texts(&self) -> Option<&FunctionTexts> {
        self.functions.as_ref()
    }

    /// The kernel's functions, when a kprobe kind was selected and a list of
    /// functions could be had.
    pub fn function_index(&self) -> Option<FunctionIndex<'_>> {
        Some(FunctionIndex::build(self.functions.as_ref()?))
    }

    /// Why ftrace's list of functions could not be read, when it could not.
    pub fn ftrace_unreadable(&self) -> Option<String> {
        match &self.functions.as_ref()?.ftrace {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.to_string()),
            None => Some("there is no tracefs".into()),
        }
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
        let nothing_loaded =
            self.tracepoints.is_none() && self.btf.is_none() && !self.function_list;
        (total == 0 && nothing_loaded)
            .then(|| self.absent.first().cloned())
            .flatten()
    }
}

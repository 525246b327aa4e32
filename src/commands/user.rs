//! User-space points: `uprobe:PATH:FUNC` and `uretprobe:` (ELF function
//! symbols), `usdt:PATH:PROVIDER:NAME` (SystemTap SDT notes). Each pattern
//! names one file, resolved as the loader would.

use std::path::PathBuf;
use std::rc::Rc;

use crate::discover::dwarf::{self, DwarfFunction};
use crate::discover::elf::{ElfFunction, ElfImage};
use crate::discover::target::{self, Resolved};
use crate::error::Error;
use crate::format::demangle::{demangle, without_parameters, Prefilter};
use crate::format::usdt::{adjusted_location, adjusted_semaphore, parse_args, parse_stapsdt, Arch};
use crate::output::{json, user as user_view};
use crate::probe::{ProbeKind, ProbePattern, Wildcard};
use crate::system::System;

use super::Context;

/// A user-space function point; names borrow from the mapped file, since
/// node has 85,000 of them (owning each cost time and a tenth of the
/// listing's peak memory).
#[derive(Debug, Clone)]
pub struct UserPoint<'t> {
    pub kind: ProbeKind,
    /// The resolved file, as printed.
    pub path: &'t str,
    pub name: &'t str,
    pub address: u64,
    pub size: u64,
    pub ifunc: bool,
    /// Where the function starts in the file: what a uprobe attaches to.
    pub file_offset: Option<u64>,
    /// The C++/Rust demangled name, when asked for and the name is mangled.
    /// (Boxed, and `process` borrowed: node lists 85,000 points, and each
    /// word here was 0.7 MB of the listing's peak memory.)
    pub demangled: Option<Box<str>>,
    /// Print the demangled name rather than the symbol (`--demangle`).
    pub show_demangled: bool,
    /// `-p`: the process and the file's path inside it.
    pub process: Option<&'t (u32, String)>,
}

impl UserPoint<'_> {
    /// The name as printed: demangled when that was asked for and possible.
    pub fn shown_name(&self) -> &str {
        match &self.demangled {
            Some(text) if self.show_demangled => text,
            _ => self.name,
        }
    }

    pub fn probe_name(&self) -> String {
        format!("{}:{}:{}", self.kind, self.path, self.shown_name())
    }

    /// The JSON object of `list --json` and `show --json`; `params` for
    /// `-v` and `show`.
    pub fn to_json<'s>(&'s self, params: Option<&'s UserParams>) -> json::UserFunctionJson<'s> {
        json::UserFunctionJson {
            probe: self.probe_name(),
            kind: self.kind.name(),
            path: self.path,
            name: self.name,
            demangled: self.demangled.as_deref(),
            address: self.address,
            size: self.size,
            file_offset: self.file_offset,
            ifunc: self.ifunc,
            signature: params.map(UserParams::to_json),
            pid: self.process.map(|(pid, _)| *pid),
            process_path: self.process.map(|(_, path)| path.as_str()),
        }
    }
}

/// `PATH` and the name part of a user-space pattern (`uprobe:PATH:NAME`).
/// With `-p`, the file part may be a wildcard or left out (`uprobe:malloc`
/// means `uprobe:*:malloc`): the process's mappings bound the search.
pub fn split_target<'p>(
    text: &str,
    pattern: &'p ProbePattern,
    in_process: bool,
) -> Result<(&'p str, Wildcard), Error> {
    let ProbePattern::Kind { rest, .. } = pattern else {
        unreachable!("user kinds are only selected by KIND:... patterns")
    };
    let (path, name) = match rest.text().split_once(':') {
        Some(parts) => parts,
        None if in_process => ("*", rest.text()),
        None => {
            return Err(Error::bad_input(format!(
                "{text}: a user-space probe names a file and a function: KIND:PATH:FUNC \
                 (uprobe:/bin/bash:readline, uprobe:libc:malloc), or with -p PID just the \
                 function"
            )))
        }
    };
    if path.contains('*') && !in_process {
        return Err(Error::bad_input(format!(
            "{text}: wildcards in the file part need -p PID (the files that process maps); \
             otherwise name one file (a path, a program on $PATH, or a library such as libc)"
        )));
    }
    let name = if name.is_empty() { "*" } else { name };
    Ok((path, Wildcard::new(name)))
}

/// A file a pattern names: the path to open and show, and with `-p` its
/// path inside the process.
struct PatternFile {
    path: PathBuf,
    process_path: Option<String>,
}

/// The files a user-space pattern names, and its name part. Without `-p`,
/// one file, resolved as the loader would; with `-p`, the process's mapped
/// files the file part selects.
fn pattern_files(
    ctx: &Context,
    text: &str,
    pattern: &ProbePattern,
) -> Result<(Vec<PatternFile>, Wildcard), Error> {
    // Paths would resolve on this machine, not the snapshot's.
    if ctx.system.is_snapshot() {
        return Err(Error::bad_input(format!(
            "{text}: a snapshot holds a kernel's probe points only; uprobes and USDT probes are \
             read from the program files themselves: drop --snapshot"
        )));
    }
    let (spec, name) = split_target(text, pattern, ctx.process.is_some())?;
    let Some(process) = &ctx.process else {
        let (path, _how): (PathBuf, Resolved) = target::resolve(&ctx.system, spec)
            .map_err(|e| Error::from_discover(&e, ctx.system.is_live()))?;
        let file = PatternFile {
            path,
            process_path: None,
        };
        return Ok((vec![file], name));
    };
    let selected: Vec<PatternFile> = process
        .select(spec)
        .into_iter()
        .map(|object| PatternFile {
            path: object.path.clone(),
            process_path: Some(object.process_path.display().to_string()),
        })
        .collect();
    if selected.is_empty() {
        let mapped: Vec<String> = process
            .objects
            .iter()
            .take(6)
            .map(|o| o.process_path.display().to_string())
            .collect();
        return Err(Error::nothing_matched(format!(
            "{text}: process {} ({}) maps no file that {spec:?} names; it maps {}{}",
            process.pid,
            process.command,
            mapped.join(", "),
            if process.objects.len() > mapped.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    Ok((selected, name))
}

/// Opens a file a pattern named. With `-p`, a failure after the process
/// exited says so, rather than blaming the file, and a mapped file that is
/// not ELF is `None`: a process maps more than ELF files with code (a JIT's
/// executable file-backed buffers), and those have no symbols to list.
fn open_image(ctx: &Context, path: &std::path::Path) -> Result<Option<ElfImage>, Error> {
    let opened = ElfImage::open(path);
    if opened.is_err() && ctx.process.is_some() && !looks_like_elf(path) {
        return Ok(None);
    }
    opened.map(Some).map_err(|e| {
        if let Some(process) = &ctx.process {
            let proc_dir = ctx.system.path(&format!("/proc/{}", process.pid));
            if ctx.system.is_live() && !proc_dir.exists() {
                return Error::bad_input(format!(
                    "process {} ({}) exited while its files were being read",
                    process.pid, process.command
                ));
            }
        }
        Error::from_discover(&e, ctx.system.is_live())
    })
}

/// Whether a pattern's name part is written in demangled form, so it must
/// be matched against demangled names even without `--demangle`.
/// Demangling every symbol of a big C++ binary costs more than listing it,
/// so plain patterns (`*`, `uv_*`, `_ZN2v8*`) match mangled names only.
fn looks_demangled(pattern: &str) -> bool {
    pattern.contains("::") || pattern.contains('(') || pattern.contains('<')
}

/// Whether `name`'s demangled form matches: whole (`add(int, int)`) or
/// without its parameter list (`add`, naming every overload).
fn demangled_matches(pattern: &Wildcard, name: &str) -> bool {
    demangle(name)
        .is_some_and(|text| pattern.matches(&text) || pattern.matches(without_parameters(&text)))
}

/// `NAME.part.N`. Most names have no `.` (node: 97%), so a byte check comes
/// first, one that does not stop early and so vectorizes: on node's 86,000
/// `.symtab` functions it costs 1.8 ms against 2.4 ms for
/// `contains(&b'.')`, and a substring search per name cost 7% of the
/// listing.
fn is_part_piece(name: &str) -> bool {
    let dot = name.bytes().fold(false, |seen, b| seen | (b == b'.'));
    dot && name.contains(".part.")
}

/// One file a uprobe pattern names, opened, with the name part to match.
#[derive(Debug)]
pub struct UserTarget {
    pub kind: ProbeKind,
    pub image: ElfImage,
    /// The resolved path, as printed.
    pub shown: String,
    pub name: Wildcard,
    /// Match the name part against demangled names too, for the mangled
    /// names this filter lets through.
    pub match_demangled: Option<Prefilter>,
    /// `-p`: the process and the file's path inside it.
    pub process: Option<(u32, String)>,
    /// The separate debug file of a stripped file: its `.symtab` names the
    /// local functions `strip` removed (libc6-dbg: 4,600 more for libc),
    /// as bpftrace lists them.
    pub debug: Option<ElfImage>,
}

/// Resolves and opens the files of a `uprobe:PATH:NAME` pattern.
pub fn open_targets(
    ctx: &Context,
    kind: ProbeKind,
    text: &str,
    pattern: &ProbePattern,
) -> Result<Vec<UserTarget>, Error> {
    let (files, name) = pattern_files(ctx, text, pattern)?;
    let match_demangled =
        (ctx.demangle || looks_demangled(name.text())).then(|| Prefilter::new(name.text()));
    let mut targets = Vec::with_capacity(files.len());
    for PatternFile { path, process_path } in files {
        let Some(image) = open_image(ctx, &path)? else {
            continue;
        };
        targets.push(UserTarget {
            kind,
            shown: path.display().to_string(),
            name: name.clone(),
            match_demangled: match_demangled.clone(),
            process: ctx.process.as_ref().map(|p| p.pid).zip(process_path),
            debug: stripped_symbols(ctx, &image),
            image,
        });
    }
    Ok(targets)
}

/// The debug file whose `.symtab` restores a stripped file's functions.
fn stripped_symbols(ctx: &Context, image: &ElfImage) -> Option<ElfImage> {
    if image.has_symtab() {
        return None;
    }
    let path = dwarf::debug_file_under(image, ctx.system.root())?;
    ElfImage::open(&path).ok().filter(ElfImage::has_symtab)
}

/// Whether the file starts with the ELF magic (false when unreadable).
fn looks_like_elf(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"\x7fELF")
}

/// Which names of user-space functions are worked out and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Symbols only: plain listing, where demangling would be most of the cost.
    Symbols,
    /// Demangled forms too, for JSON; order and display stay the symbols'.
    AlsoDemangled,
    /// `--demangle`: demangled names shown and sorted by.
    Demangled,
}

impl Names {
    /// What a command with these flags needs.
    pub fn for_output(demangle: bool, json: bool) -> Names {
        match (demangle, json) {
            (true, _) => Names::Demangled,
            (false, true) => Names::AlsoDemangled,
            (false, false) => Names::Symbols,
        }
    }
}

/// The uprobe/uretprobe points of one target, sorted by name (by the
/// demangled name for [`Names::Demangled`]).
/// Every function of `targets` the pattern `text` names, for commands
/// that need at least one (`show`, `gen`): none is "no such function".
pub fn named_functions<'t>(
    targets: &'t [UserTarget],
    names: Names,
    text: &str,
) -> Result<Vec<UserPoint<'t>>, Error> {
    let mut points = Vec::new();
    for target in targets {
        points.extend(function_points(target, names)?);
    }
    if points.is_empty() {
        return Err(Error::nothing_matched(format!(
            "{text}: no such function in the file's symbol tables"
        )));
    }
    Ok(points)
}

pub fn function_points<'t>(
    target: &'t UserTarget,
    names: Names,
) -> Result<Vec<UserPoint<'t>>, Error> {
    let name = &target.name;
    let wildcard = name.has_wildcard();
    // bpftrace leaves out GCC's `.part.N` pieces of partially inlined
    // functions (probe_matcher.cpp); listing the same set keeps scripts
    // that compare with it working. `show` still finds them by name.
    // Checked while the symbol tables are read, when each name is still in
    // cache from finding its end, rather than in a second pass in sorted
    // order (node: 2.5 ms).
    let keep = |f: &str| {
        (name.matches(f)
            || target
                .match_demangled
                .as_ref()
                .is_some_and(|filter| filter.may_match(f) && demangled_matches(name, f)))
            && !(wildcard && is_part_piece(f))
    };
    let make = |f: ElfFunction<'t>| UserPoint {
        kind: target.kind,
        path: &target.shown,
        name: f.name,
        address: f.address,
        size: f.size,
        ifunc: f.ifunc,
        file_offset: target.image.file_offset(f.address),
        demangled: match names {
            Names::Symbols => None,
            Names::AlsoDemangled | Names::Demangled => demangle(f.name).map(Into::into),
        },
        show_demangled: names == Names::Demangled,
        process: target.process.as_ref(),
    };
    let failed = |e: crate::discover::DiscoverError| Error::from_discover(&e, true);
    let mut points = match &target.debug {
        // The common case: sorted points straight from one pass.
        None => target
            .image
            .functions_matching_as(keep, make)
            .map_err(failed)?,
        // A stripped file with a debug file: its symbols have the stripped
        // file's addresses (one link made both). One that cannot be read
        // only loses the extra names.
        Some(debug) => {
            let mut functions = target.image.functions_matching(keep).map_err(failed)?;
            if let Ok(extra) = debug.functions_matching(keep) {
                let known: std::collections::HashSet<&str> =
                    functions.iter().map(|f| f.name).collect();
                let extra: Vec<_> = extra
                    .into_iter()
                    .filter(|f| !known.contains(f.name))
                    .collect();
                if !extra.is_empty() {
                    functions.extend(extra);
                    functions.sort_unstable_by(|a, b| a.name.cmp(b.name));
                }
            }
            functions.into_iter().map(make).collect()
        }
    };
    if names == Names::Demangled {
        points.sort_by(|a, b| a.shown_name().cmp(b.shown_name()).then(a.name.cmp(b.name)));
    }
    Ok(points)
}

/// Where a point's parameters come from: its DWARF signature, or why
/// there is none.
#[derive(Debug, Clone)]
pub enum UserParams {
    Known {
        function: DwarfFunction,
        /// The file the DWARF was read from (the point's own, or its
        /// separate debug file).
        from: String,
    },
    /// Why not: no debug info, or the debug info does not describe it.
    Unknown(String),
}

impl UserParams {
    fn to_json(&self) -> json::UserSignatureJson<'_> {
        match self {
            UserParams::Known { function, from } => json::UserSignatureJson {
                known: true,
                return_type: Some(&function.return_type),
                args: function
                    .params
                    .iter()
                    .map(|(name, ty)| json::UserArgJson {
                        name,
                        type_text: ty,
                    })
                    .collect(),
                inlined_only: function.inlined_only,
                debug_info: Some(from),
                reason: None,
            },
            UserParams::Unknown(why) => json::UserSignatureJson {
                known: false,
                return_type: None,
                args: Vec::new(),
                inlined_only: false,
                debug_info: None,
                reason: Some(why),
            },
        }
    }
}

/// The DWARF parameters of each point, in order. Points of one file share
/// one read of its DWARF, and only the compilation units that cover them
/// are parsed. A file whose DWARF cannot be read gives `Unknown` with the
/// reason rather than failing the listing.
pub fn function_params(system: &System, points: &[UserPoint<'_>]) -> Vec<UserParams> {
    let mut params = Vec::with_capacity(points.len());
    let mut start = 0;
    while start < points.len() {
        let path = points[start].path;
        let end = start
            + points[start..]
                .iter()
                .take_while(|p| p.path == path)
                .count();
        let group = &points[start..end];
        let read = ElfImage::open(std::path::Path::new(path)).and_then(|image| {
            dwarf::with_dwarf(&image, system.root(), |reader| {
                let from = reader.path().display().to_string();
                Ok(group
                    .iter()
                    .map(|point| match reader.function(point.name, point.address) {
                        Ok(Some(function)) => UserParams::Known {
                            function,
                            from: from.clone(),
                        },
                        Ok(None) => UserParams::Unknown(format!(
                            "{from} has DWARF, but none for a function at {:#x}",
                            point.address
                        )),
                        Err(e) => UserParams::Unknown(e.to_string()),
                    })
                    .collect::<Vec<_>>())
            })
        });
        match read {
            Ok(Some(found)) => params.extend(found),
            Ok(None) => params.extend(group.iter().map(|_| {
                UserParams::Unknown(
                    "no DWARF in the file, and no separate debug file (by build ID or \
                     .gnu_debuglink)"
                        .into(),
                )
            })),
            Err(e) => params.extend(group.iter().map(|_| UserParams::Unknown(e.to_string()))),
        }
        start = end;
    }
    params
}

/// One USDT probe: `provider:name` in one file, with every call site.
#[derive(Debug, Clone)]
pub struct UsdtProbe {
    pub path: Rc<str>,
    pub provider: String,
    pub name: String,
    pub sites: Vec<UsdtSite>,
}

impl UsdtProbe {
    pub fn probe_name(&self) -> String {
        format!("usdt:{}:{}:{}", self.path, self.provider, self.name)
    }
}

/// A call site, with addresses already adjusted for `.stapsdt.base`.
#[derive(Debug, Clone)]
pub struct UsdtSite {
    pub address: u64,
    pub file_offset: Option<u64>,
    /// 0 when the probe has no semaphore.
    pub semaphore: u64,
    /// What the kernel's `ref_ctr_offset` needs.
    pub semaphore_offset: Option<u64>,
    /// The semaphore is in `.bss`: see [`crate::output::user::BSS_SEMAPHORE`].
    pub semaphore_in_bss: bool,
    pub args_spec: String,
    /// Each argument: its text, then a description or why it does not parse.
    pub args: Vec<UsdtArgView>,
    /// Why the whole spec does not parse, if it does not.
    pub args_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UsdtArgView {
    pub text: String,
    pub size: u8,
    pub signed: bool,
    pub float: bool,
    pub description: String,
    /// Why libbpf would refuse it, if it would.
    pub libbpf: Option<String>,
}

/// The USDT probes of one pattern (`usdt:PATH:PROVIDER:NAME`, or
/// `usdt:PATH:NAME` matching the name alone), sorted, sites in file order.
pub fn usdt_probes(
    ctx: &Context,
    text: &str,
    pattern: &ProbePattern,
) -> Result<Vec<UsdtProbe>, Error> {
    let (files, wanted) = pattern_files(ctx, text, pattern)?;
    let mut probes = Vec::new();
    for PatternFile { path, .. } in files {
        let Some(image) = open_image(ctx, &path)? else {
            continue;
        };
        probes.extend(file_usdt_probes(ctx, &image, &wanted)?);
    }
    Ok(probes)
}

/// The USDT probes of one file that `wanted` selects.
fn file_usdt_probes(
    ctx: &Context,
    image: &ElfImage,
    wanted: &Wildcard,
) -> Result<Vec<UsdtProbe>, Error> {
    let failed = |e: crate::discover::DiscoverError| Error::from_discover(&e, ctx.system.is_live());
    let shown: Rc<str> = Rc::from(image.path.display().to_string());
    let base = image.stapsdt_base();
    let arch = Arch::from_elf_machine(image.machine());
    let big_endian = image.big_endian();
    let mut probes: Vec<UsdtProbe> = Vec::new();
    for desc in image.stapsdt_notes().map_err(failed)? {
        let note = parse_stapsdt(desc, 8, big_endian).map_err(|e| {
            Error::bad_input(format!("{}: a .note.stapsdt entry is broken: {e}", shown))
        })?;
        let full = format!("{}:{}", note.provider, note.name);
        let selected = if wanted.text().contains(':') || wanted.has_wildcard() {
            wanted.matches(&full)
        } else {
            wanted.matches(note.name)
        };
        if !selected {
            continue;
        }
        let address = adjusted_location(&note, base);
        let semaphore = adjusted_semaphore(&note, base);
        let (args, args_error) = match arch.map(|a| (a, parse_args(note.args, a))) {
            Some((arch, Ok(parsed))) => (
                parsed
                    .iter()
                    .map(|a| UsdtArgView {
                        text: a.text.to_string(),
                        size: a.size,
                        signed: a.signed,
                        float: a.float,
                        description: a.operand.to_string(),
                        libbpf: a.libbpf_limitation(arch).map(str::to_string),
                    })
                    .collect(),
                None,
            ),
            Some((_, Err(e))) => (Vec::new(), Some(e.to_string())),
            None => (
                Vec::new(),
                Some("arguments of this architecture are not parsed".into()),
            ),
        };
        let site = UsdtSite {
            address,
            file_offset: image.file_offset(address),
            semaphore,
            semaphore_offset: (semaphore != 0)
                .then(|| image.memory_file_offset(semaphore))
                .flatten(),
            semaphore_in_bss: semaphore != 0 && image.in_nobits_section(semaphore),
            args_spec: note.args.to_string(),
            args,
            args_error,
        };
        match probes
            .iter_mut()
            .find(|p| p.provider == note.provider && p.name == note.name)
        {
            Some(probe) => probe.sites.push(site),
            None => probes.push(UsdtProbe {
                path: Rc::clone(&shown),
                provider: note.provider.to_string(),
                name: note.name.to_string(),
                sites: vec![site],
            }),
        }
    }
    probes.sort_by(|a, b| (&a.provider, &a.name).cmp(&(&b.provider, &b.name)));
    Ok(probes)
}

impl UsdtProbe {
    /// The JSON object; `with_sites` false gives the short form of `list`.
    pub fn to_json(&self, with_sites: bool) -> json::UsdtJson<'_> {
        json::UsdtJson {
            probe: self.probe_name(),
            kind: "usdt",
            path: &self.path,
            provider: &self.provider,
            name: &self.name,
            sites: if with_sites {
                self.sites.iter().map(UsdtSite::to_json).collect()
            } else {
                Vec::new()
            },
        }
    }
}

impl UsdtSite {
    fn to_json(&self) -> json::UsdtSiteJson<'_> {
        json::UsdtSiteJson {
            address: self.address,
            file_offset: self.file_offset,
            semaphore: self.semaphore,
            semaphore_offset: self.semaphore_offset,
            semaphore_in_bss: self.semaphore_in_bss,
            args_spec: &self.args_spec,
            args: self
                .args
                .iter()
                .map(|a| json::UsdtArgJson {
                    text: &a.text,
                    size: a.size,
                    signed: a.signed,
                    float: a.float,
                    operand: &a.description,
                    libbpf_limitation: a.libbpf.as_deref(),
                })
                .collect(),
            args_error: self.args_error.as_deref(),
        }
    }

    pub fn view(&self) -> user_view::UsdtSiteView<'_> {
        user_view::UsdtSiteView {
            address: self.address,
            file_offset: self.file_offset,
            semaphore: self.semaphore,
            semaphore_offset: self.semaphore_offset,
            semaphore_in_bss: self.semaphore_in_bss,
            args_spec: &self.args_spec,
            args: self
                .args
                .iter()
                .map(|a| {
                    let width = format!(
                        "{} bytes{}",
                        a.size,
                        match (a.float, a.signed) {
                            (true, _) => ", float",
                            (false, true) => ", signed",
                            (false, false) => "",
                        }
                    );
                    (
                        a.text.as_str(),
                        format!("{} ({width})", a.description),
                        a.libbpf.as_deref(),
                    )
                })
                .collect(),
            args_error: self.args_error.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_part_piece;

    #[test]
    fn part_pieces_are_told_by_their_suffix() {
        assert!(is_part_piece("do_mmap.part.0"));
        assert!(is_part_piece("_ZN4node9AsyncWrap11EmitDestroyEb.part.0"));
        assert!(is_part_piece("f.constprop.0.part.1"));
        for other in ["do_mmap", "f.cold", "f.isra.0", "part.0", "f.parts.0", ""] {
            assert!(!is_part_piece(other), "{other}");
        }
    }
}
